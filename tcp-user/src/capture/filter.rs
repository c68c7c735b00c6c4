//! Capture filters: the subset of tcpdump's expression language (pcap-filter(7)) that
//! applies to what the daemon sees, IPv4 and IPv6 TCP on Ethernet, evaluated on each frame
//! the worker receives or sends while a capture runs.
//!
//! ```text
//! expr := term { ("or" | "||") term }
//! term := unary { ("and" | "&&") unary }
//! unary := ("not" | "!") unary | "(" expr ")" | primitive
//! primitive := [ip | ip6] [src | dst] host ADDR | [ip | ip6] [src | dst] net ADDR/LEN
//!            | [tcp] [src | dst] port N | [tcp] [src | dst] portrange N-M
//!            | ip | ip6 | tcp
//!            | syn | fin | rst    (TCP frames with that flag set)
//! ADDR := an IPv4 address (10.0.0.1) or an IPv6 address (2001:db8::1, fe80::1)
//! LEN := 0-32 after an IPv4 address, 0-128 after an IPv6 one
//! ```
//! An empty expression takes every frame. Errors name the token that is wrong.
//!
//! As in tcpdump, an address is of one family and so is the primitive naming it: `host
//! 10.0.0.1` and `net 10.0.0.0/8` pass only IPv4 frames, `host 2001:db8::1` and `net
//! 2001:db8::/32` only IPv6 ones; `ip` means IPv4 and `ip6` IPv6, and an `ip`/`ip6` before
//! `host` or `net` must agree with the address. `::ffff:a.b.c.d` is an IPv6 address here (in
//! tcpdump too): it matches an IPv6 header that carries it, which `parse_frame` drops, but a
//! capture sees received frames before they are parsed. `tcp`, `port`, `portrange` and the
//! flags look at TCP over either family; over IPv6 at the header after the extension
//! headers, found by the walk of [`wire::ipv6`](crate::wire::ipv6), and as over IPv4 also in
//! a first fragment, not in a later one.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::wire::checksum::PROTOCOL_TCP;
use crate::wire::ipv6::{next_header, walk_extension_headers, Ipv6Error, UpperLayer};
use crate::wire::{
    Addr, EthernetFrame, Family, Ipv4Packet, Ipv6Packet, TcpPacket, ETHERTYPE_IPV4, ETHERTYPE_IPV6,
};

/// Which end of a frame a primitive looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    Src,
    Dst,
    Either,
}

/// A parsed filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Every frame.
    All,
    /// IPv4 frames.
    Ip,
    /// IPv6 frames.
    Ip6,
    /// TCP frames, over IPv4 or IPv6.
    Tcp,
    /// An address (`host`) or prefix (`net`) of one family.
    Net(DirSel, Prefix),
    /// A TCP port range, inclusive.
    Ports(DirSel, u16, u16),
    /// TCP frames with any of these flag bits set.
    Flags(u8),
    /// Both.
    And(Box<Filter>, Box<Filter>),
    /// Either.
    Or(Box<Filter>, Box<Filter>),
    /// Not.
    Not(Box<Filter>),
}

/// The end a primitive is about (`src`, `dst`, or either when not said).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirSel(Dir);

/// An address prefix of one family over 128 bits: an IPv4 address as its v4-mapped form
/// ([`Addr`]'s), its mask covering the 96 bits of the mapped prefix too. The family is a
/// tag of its own rather than read off the address, because an IPv6 header may carry a
/// v4-mapped address (module docs) and that must not pass an IPv4 primitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefix {
    family: Family,
    /// The address with the bits past the prefix cleared.
    addr: u128,
    mask: u128,
}

impl Prefix {
    /// The first `len` bits (at most 32 for IPv4, 128 for IPv6) of `octets`, an address
    /// in [`Addr`]'s 16-byte form.
    fn new(family: Family, octets: [u8; 16], len: u32) -> Prefix {
        let bits = match family {
            Family::V4 => 96 + len,
            Family::V6 => len,
        };
        let mask = u128::MAX.checked_shl(128 - bits.min(128)).unwrap_or(0);
        Prefix {
            family,
            addr: u128::from_be_bytes(octets) & mask,
            mask,
        }
    }

    #[inline]
    fn contains(&self, family: Family, addr: u128) -> bool {
        family == self.family && addr & self.mask == self.addr
    }
}

/// The headers of a frame a filter reads.
#[derive(Clone, Copy, Debug, Default)]
struct Headers {
    /// The family and the source and destination addresses (IPv4 v4-mapped).
    ip: Option<(Family, u128, u128)>,
    tcp: Option<(u16, u16, u8)>,
}

impl Headers {
    fn of(frame: &[u8]) -> Headers {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return Headers::default();
        };
        match eth.ethertype() {
            ETHERTYPE_IPV4 => {
                let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
                    return Headers::default();
                };
                let v4 = |a: u32| u128::from_be_bytes(*Addr::v4(a).octets());
                let later_fragment = ip.is_fragment() && ip.frag_offset() != 0;
                let tcp = (ip.protocol() == PROTOCOL_TCP && !later_fragment).then(|| ip.payload());
                Headers {
                    ip: Some((Family::V4, v4(ip.src_addr()), v4(ip.dst_addr()))),
                    tcp: tcp.and_then(tcp_fields),
                }
            }
            ETHERTYPE_IPV6 => {
                let Ok(ip) = Ipv6Packet::new_checked(eth.payload()) else {
                    return Headers::default();
                };
                let (src, dst) = (ip.src_addr(), ip.dst_addr());
                Headers {
                    ip: Some((
                        Family::V6,
                        u128::from_be_bytes(src),
                        u128::from_be_bytes(dst),
                    )),
                    tcp: v6_tcp(ip.upper_layer(), ip.payload()).and_then(tcp_fields),
                }
            }
            _ => Headers::default(),
        }
    }
}

/// Ports and flags of a TCP header.
fn tcp_fields(tcp: &[u8]) -> Option<(u16, u16, u8)> {
    let t = TcpPacket::new_checked(tcp).ok()?;
    Some((t.src_port(), t.dst_port(), t.flags().0))
}

/// The TCP bytes of an IPv6 payload, given where the walk over its extension headers
/// ended: the upper layer, or a first fragment's Fragment header, past which the same
/// bounded walk of the wire module goes on.
fn v6_tcp(walked: Result<UpperLayer, Ipv6Error>, payload: &[u8]) -> Option<&[u8]> {
    let (next, offset, rest) = match walked.ok()? {
        UpperLayer::Protocol {
            next_header,
            offset,
        } => (next_header, offset, payload),
        UpperLayer::Fragment {
            offset,
            first: true,
        } => {
            // The Fragment header is 8 bytes, its first byte the Next Header (RFC 8200
            // section 4.5); the walk checked that all 8 are there.
            let after = payload.get(offset + 8..)?;
            match walk_extension_headers(*payload.get(offset)?, after).ok()? {
                UpperLayer::Protocol {
                    next_header,
                    offset,
                } => (next_header, offset, after),
                UpperLayer::Fragment { .. } => return None,
            }
        }
        UpperLayer::Fragment { .. } => return None,
    };
    if next != next_header::TCP {
        return None;
    }
    rest.get(offset..)
}

impl Filter {
    /// True when `frame` (an Ethernet frame) passes.
    pub fn matches(&self, frame: &[u8]) -> bool {
        if *self == Filter::All {
            return true;
        }
        self.eval(&Headers::of(frame))
    }

    fn eval(&self, h: &Headers) -> bool {
        let pick = |d: DirSel, src: bool, dst: bool| match d.0 {
            Dir::Src => src,
            Dir::Dst => dst,
            Dir::Either => src || dst,
        };
        match self {
            Filter::All => true,
            Filter::Ip => h.ip.is_some_and(|(f, _, _)| f == Family::V4),
            Filter::Ip6 => h.ip.is_some_and(|(f, _, _)| f == Family::V6),
            Filter::Tcp => h.tcp.is_some(),
            Filter::Net(d, p) => {
                h.ip.is_some_and(|(f, s, t)| pick(*d, p.contains(f, s), p.contains(f, t)))
            }
            Filter::Ports(d, lo, hi) => h.tcp.is_some_and(|(s, t, _)| {
                let r = *lo..=*hi;
                pick(*d, r.contains(&s), r.contains(&t))
            }),
            Filter::Flags(bits) => h.tcp.is_some_and(|(_, _, f)| f & bits != 0),
            Filter::And(a, b) => a.eval(h) && b.eval(h),
            Filter::Or(a, b) => a.eval(h) || b.eval(h),
            Filter::Not(a) => !a.eval(h),
        }
    }

    /// Parses a tcpdump-style expression (see the module docs).
    pub fn parse(text: &str) -> Result<Filter, String> {
        let spaced = text.replace('(', " ( ").replace(')', " ) ");
        let tokens: Vec<&str> = spaced.split_whitespace().collect();
        if tokens.is_empty() {
            return Ok(Filter::All);
        }
        let mut p = Parser { tokens, at: 0 };
        let f = p.expr()?;
        match p.peek() {
            None => Ok(f),
            Some(t) => Err(format!("unexpected '{t}' in the filter")),
        }
    }
}

struct Parser<'a> {
    tokens: Vec<&'a str>,
    at: usize,
}

/// Deepest nesting of parentheses and `not`: a hostile expression cannot overflow the stack.
const MAX_DEPTH: usize = 64;

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.tokens.get(self.at).copied()
    }

    fn next(&mut self, what: &str) -> Result<&'a str, String> {
        let t = self
            .peek()
            .ok_or_else(|| format!("the filter ends where {what} was expected"))?;
        self.at += 1;
        Ok(t)
    }

    /// True when `host` or `net` comes next, possibly after `src` or `dst`.
    fn address_follows(&self) -> bool {
        let at = |i: usize| self.tokens.get(self.at + i).copied();
        match at(0) {
            Some("host" | "net") => true,
            Some("src" | "dst") => matches!(at(1), Some("host" | "net")),
            _ => false,
        }
    }

    fn expr(&mut self) -> Result<Filter, String> {
        self.expr_at(0)
    }

    fn expr_at(&mut self, depth: usize) -> Result<Filter, String> {
        let mut f = self.term(depth)?;
        while matches!(self.peek(), Some("or" | "||")) {
            self.at += 1;
            f = Filter::Or(Box::new(f), Box::new(self.term(depth)?));
        }
        Ok(f)
    }

    fn term(&mut self, depth: usize) -> Result<Filter, String> {
        let mut f = self.unary(depth)?;
        while matches!(self.peek(), Some("and" | "&&")) {
            self.at += 1;
            f = Filter::And(Box::new(f), Box::new(self.unary(depth)?));
        }
        Ok(f)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, String> {
        if depth > MAX_DEPTH {
            return Err("the filter nests too deeply".into());
        }
        match self.peek() {
            Some("not" | "!") => {
                self.at += 1;
                Ok(Filter::Not(Box::new(self.unary(depth + 1)?)))
            }
            Some("(") => {
                self.at += 1;
                let f = self.expr_at(depth + 1)?;
                match self.next("')'")? {
                    ")" => Ok(f),
                    t => Err(format!("expected ')' in the filter, found '{t}'")),
                }
            }
            _ => self.primitive(),
        }
    }

    fn primitive(&mut self) -> Result<Filter, String> {
        let mut t = self.next("a primitive (host, net, port, tcp, ...)")?;
        let dir = match t {
            "src" => Dir::Src,
            "dst" => Dir::Dst,
            _ => Dir::Either,
        };
        if dir != Dir::Either {
            t = self.next("host, net, port or portrange")?;
        }
        let d = DirSel(dir);
        let flag = |bit: u8| Ok(Filter::Flags(bit));
        match t {
            "host" => {
                let a = self.next("an address")?;
                parse_host(a).map(|p| Filter::Net(d, p))
            }
            "net" => {
                let a = self.next("a prefix ADDR/LEN")?;
                parse_net(a).map(|p| Filter::Net(d, p))
            }
            "port" => {
                let p = self.next("a port")?;
                let port = parse_port(p)?;
                Ok(Filter::Ports(d, port, port))
            }
            "portrange" => {
                let r = self.next("a port range N-M")?;
                let bad = || format!("'{r}' is not a port range N-M");
                let (a, b) = r.split_once('-').ok_or_else(bad)?;
                let (a, b) = (parse_port(a)?, parse_port(b)?);
                if a > b {
                    return Err(bad());
                }
                Ok(Filter::Ports(d, a, b))
            }
            _ if dir != Dir::Either => Err(format!(
                "'{t}' after src/dst: expected host, net, port or portrange"
            )),
            // `ip6 host A`, `ip src net A/N`: the qualifier repeats the address's family,
            // and must not contradict it.
            "ip" | "ip6" if self.address_follows() => {
                let want = if t == "ip" { Family::V4 } else { Family::V6 };
                let f = self.primitive()?;
                // The token just read is the address or prefix.
                let a = self.tokens.get(self.at - 1).copied().unwrap_or_default();
                match &f {
                    Filter::Net(_, p) if p.family == want => Ok(f),
                    Filter::Net(_, p) => Err(format!(
                        "'{a}' is an {} address, which '{t}' does not take",
                        family_name(p.family)
                    )),
                    _ => Err(format!("'{t}' qualifies host or net, not '{a}'")), // not reached
                }
            }
            "ip" => Ok(Filter::Ip),
            "ip6" => Ok(Filter::Ip6),
            // `tcp port 80` as tcpdump writes it: the protocol qualifier adds nothing for
            // frames that are all TCP, but is accepted.
            "tcp" if matches!(self.peek(), Some("port" | "portrange" | "src" | "dst")) => {
                self.primitive()
            }
            "tcp" => Ok(Filter::Tcp),
            "fin" => flag(0x01),
            "syn" => flag(0x02),
            "rst" => flag(0x04),
            other => Err(format!(
                "'{other}' is not a filter primitive (host, net, port, portrange, tcp, ip, \
                 ip6, syn, fin, rst, src, dst, and, or, not)"
            )),
        }
    }
}

fn parse_port(s: &str) -> Result<u16, String> {
    s.parse::<u16>()
        .map_err(|_| format!("'{s}' is not a TCP port (0-65535)"))
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
    }
}

/// An address as `host` takes it: IPv6 if it has a colon, IPv4 otherwise.
fn parse_addr(a: &str) -> Result<(Family, [u8; 16]), String> {
    if a.contains(':') {
        let v6: Ipv6Addr = a
            .parse()
            .map_err(|_| format!("'{a}' is not an IPv6 address"))?;
        Ok((Family::V6, v6.octets()))
    } else {
        let v4: Ipv4Addr = a
            .parse()
            .map_err(|_| format!("'{a}' is not an IPv4 address"))?;
        Ok((Family::V4, *Addr::from(v4).octets()))
    }
}

fn parse_host(a: &str) -> Result<Prefix, String> {
    let (family, octets) = parse_addr(a)?;
    Ok(Prefix::new(family, octets, max_len(family)))
}

fn max_len(f: Family) -> u32 {
    match f {
        Family::V4 => 32,
        Family::V6 => 128,
    }
}

fn parse_net(s: &str) -> Result<Prefix, String> {
    let bad = |why: String| format!("'{s}' is not a prefix ADDR/LEN: {why}");
    let (a, len) = s.split_once('/').ok_or_else(|| bad("no '/LEN'".into()))?;
    let (family, octets) = parse_addr(a).map_err(bad)?;
    let max = max_len(family);
    let len = len
        .parse::<u32>()
        .ok()
        .filter(|&l| l <= max)
        .ok_or_else(|| {
            bad(format!(
                "an {} prefix is 0 to {max} bits long",
                family_name(family)
            ))
        })?;
    Ok(Prefix::new(family, octets, len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::{Segment, SeqNum, TcpFlags};
    use crate::wire::parse_frame;
    use crate::wire::test_vectors::frame_between;

    fn frame_of(src: Addr, sport: u16, dst: Addr, dport: u16, flags: TcpFlags) -> Vec<u8> {
        let seg = Segment {
            src_port: sport,
            dst_port: dport,
            seq: SeqNum(1),
            flags,
            window: 1000,
            ..Default::default()
        };
        frame_between(src, dst, &seg)
    }

    fn frame(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, flags: TcpFlags) -> Vec<u8> {
        let (src, dst) = (Ipv4Addr::from(src).into(), Ipv4Addr::from(dst).into());
        frame_of(src, sport, dst, dport, flags)
    }

    fn v6(a: &str) -> Ipv6Addr {
        a.parse().expect("an IPv6 address")
    }

    fn frame6(src: &str, sport: u16, dst: &str, dport: u16, flags: TcpFlags) -> Vec<u8> {
        frame_of(v6(src).into(), sport, v6(dst).into(), dport, flags)
    }

    /// Inserts `ext` (a chain of extension headers, its last one naming what follows)
    /// between the IPv6 header of `frame` and its TCP header; `first` becomes the fixed
    /// header's Next Header and the payload length grows by `ext`.
    fn with_extension_headers(frame: &[u8], first: u8, ext: &[u8]) -> Vec<u8> {
        const IP6: usize = 14;
        let mut f = frame[..IP6 + 40].to_vec();
        f[IP6 + 6] = first;
        let len = u16::from_be_bytes([f[IP6 + 4], f[IP6 + 5]]) + ext.len() as u16;
        f[IP6 + 4..IP6 + 6].copy_from_slice(&len.to_be_bytes());
        f.extend_from_slice(ext);
        f.extend_from_slice(&frame[IP6 + 40..]);
        f
    }

    fn passes(filter: &str, f: &[u8]) -> bool {
        Filter::parse(filter).expect("parses").matches(f)
    }

    #[test]
    fn primitives_match_the_headers_they_name() {
        let syn = frame([10, 0, 0, 2], 40000, [10, 0, 0, 1], 7, TcpFlags::SYN);
        assert!(passes("", &syn));
        assert!(passes("tcp", &syn));
        assert!(passes("ip", &syn));
        assert!(passes("host 10.0.0.1", &syn));
        assert!(passes("src host 10.0.0.2", &syn));
        assert!(!passes("src host 10.0.0.1", &syn));
        assert!(passes("dst host 10.0.0.1", &syn));
        assert!(passes("net 10.0.0.0/24", &syn));
        assert!(!passes("net 10.0.1.0/24", &syn));
        assert!(passes("port 7", &syn));
        assert!(passes("tcp port 40000", &syn));
        assert!(passes("dst port 7", &syn));
        assert!(!passes("src port 7", &syn));
        assert!(passes("portrange 1-10", &syn));
        assert!(passes("syn", &syn));
        assert!(!passes("rst or fin", &syn));
    }

    #[test]
    fn operators_combine_with_tcpdump_precedence() {
        let f = frame([10, 0, 0, 2], 40000, [10, 0, 0, 1], 80, TcpFlags::ACK);
        assert!(passes("port 80 and host 10.0.0.2", &f));
        assert!(!passes("port 81 and host 10.0.0.2", &f));
        assert!(passes("port 81 or host 10.0.0.2", &f));
        assert!(passes("not port 81", &f));
        assert!(passes("! ( port 81 || syn ) && tcp", &f));
        assert!(!passes("not (port 80)", &f));
        // and binds tighter than or: (port 81 and syn) or host ...
        assert!(passes("port 81 and syn or host 10.0.0.2", &f));
    }

    #[test]
    fn frames_that_are_not_tcp_match_only_all_and_not() {
        let junk = [0u8; 10];
        assert!(passes("", &junk));
        assert!(!passes("tcp", &junk));
        assert!(!passes("host 10.0.0.1", &junk));
        assert!(passes("not port 7", &junk));
    }

    #[test]
    fn bad_filters_say_which_token_is_wrong() {
        let err = |s: &str| Filter::parse(s).unwrap_err();
        assert!(err("port").contains("the filter ends where a port was expected"));
        assert!(err("port 70000").contains("'70000' is not a TCP port"));
        assert!(err("host 10.0.0.300").contains("'10.0.0.300' is not an IPv4 address"));
        assert!(err("udp").contains("'udp' is not a filter primitive"));
        assert!(err("port 7 port 8").contains("unexpected 'port'"));
        assert!(err("(port 7").contains("')'"));
        assert!(err("src syn").contains("after src/dst"));
        assert!(err("net 10.0.0.0/33").contains("not a prefix"));
        assert!(err("portrange 9-1").contains("not a port range"));
        let deep = format!("{}port 7", "not ".repeat(10_000));
        assert!(err(&deep).contains("nests too deeply"));
    }

    #[test]
    fn v6_primitives_match_the_headers_they_name() {
        let syn = frame6("2001:db8::2", 40000, "2001:db8::1", 7, TcpFlags::SYN);
        assert!(passes("", &syn));
        assert!(passes("ip6", &syn));
        assert!(passes("tcp", &syn));
        assert!(passes("host 2001:db8::1", &syn));
        assert!(passes("host 2001:0db8:0:0::0001", &syn));
        assert!(passes("src host 2001:db8::2", &syn));
        assert!(!passes("src host 2001:db8::1", &syn));
        assert!(passes("dst host 2001:db8::1", &syn));
        assert!(!passes("host fe80::1", &syn));
        assert!(passes("net 2001:db8::/64", &syn));
        assert!(passes("net 2001:db8::/32", &syn));
        assert!(passes("net ::/0", &syn));
        assert!(!passes("net 2001:db9::/32", &syn));
        assert!(passes("dst net 2001:db8::1/128", &syn));
        // Not on a byte boundary: 2001:db8::3/127 is ::2 and ::3.
        assert!(passes("src net 2001:db8::3/127", &syn));
        assert!(!passes("dst net 2001:db8::3/127", &syn));
        assert!(passes("port 7", &syn));
        assert!(passes("tcp port 40000", &syn));
        assert!(passes("dst port 7", &syn));
        assert!(!passes("src port 7", &syn));
        assert!(passes("portrange 1-10", &syn));
        assert!(!passes("portrange 8-39999", &syn));
        assert!(passes("syn", &syn));
        assert!(!passes("rst or fin", &syn));
        let rst = frame6(
            "fe80::1",
            80,
            "fe80::2",
            40000,
            TcpFlags::RST | TcpFlags::ACK,
        );
        assert!(passes("src host fe80::1 and rst and src port 80", &rst));
        assert!(passes("fin or rst", &rst));
        assert!(!passes("syn", &rst));
        assert!(passes("ip6 host fe80::2 && ip6 src net fe80::/10", &rst));
        assert!(passes("not ip and ip6", &rst));
    }

    #[test]
    fn a_primitive_of_one_family_never_matches_a_frame_of_the_other() {
        let f4 = frame([10, 0, 0, 2], 40000, [10, 0, 0, 1], 80, TcpFlags::ACK);
        let f6 = frame6("2001:db8::2", 40000, "2001:db8::1", 80, TcpFlags::ACK);
        for f in [&f4, &f6] {
            assert!(passes("tcp and port 80 and portrange 1-100", f));
        }
        for v4 in ["ip", "host 10.0.0.1", "net 0.0.0.0/0", "src net 10.0.0.0/8"] {
            assert!(passes(v4, &f4), "{v4}");
            assert!(!passes(v4, &f6), "{v4} on IPv6");
        }
        for v6 in [
            "ip6",
            "host 2001:db8::1",
            "net ::/0",
            "src net 2001:db8::/32",
        ] {
            assert!(passes(v6, &f6), "{v6}");
            assert!(!passes(v6, &f4), "{v6} on IPv4");
        }
        // A v4-mapped address is an IPv6 one to the filter, as to tcpdump: it matches only
        // an IPv6 header carrying it (which `parse_frame` drops, but a capture sees).
        let mut mapped = f6.clone();
        mapped[14 + 8..14 + 24].copy_from_slice(&v6("::ffff:10.0.0.2").octets());
        assert!(passes("src host ::ffff:10.0.0.2", &mapped));
        assert!(passes("net ::ffff:0:0/96", &mapped));
        assert!(!passes("src host 10.0.0.2", &mapped));
        assert!(!passes("net 0.0.0.0/0", &mapped));
        assert!(!passes("host ::ffff:10.0.0.2", &f4));
        assert!(!passes("net ::ffff:0:0/96", &f4));
    }

    #[test]
    fn tcp_behind_v6_extension_headers_and_in_a_first_fragment_still_matches() {
        let plain = frame6("2001:db8::2", 40000, "2001:db8::1", 443, TcpFlags::SYN);
        // Hop-by-hop with a PadN option (8 bytes), then TCP.
        let hbh = with_extension_headers(&plain, 0, &[6, 0, 1, 4, 0, 0, 0, 0]);
        assert!(
            parse_frame(&hbh).is_ok(),
            "a frame the stack itself accepts"
        );
        // Hop-by-hop, then destination options (16 bytes), then TCP.
        let mut chain = vec![60, 0, 1, 4, 0, 0, 0, 0, 6, 1, 1, 12];
        chain.extend_from_slice(&[0; 12]);
        let two = with_extension_headers(&plain, 0, &chain);
        assert!(parse_frame(&two).is_ok());
        // A first fragment (offset 0, more fragments) of TCP, and a later one.
        let first = with_extension_headers(&plain, 44, &[6, 0, 0, 1, 0, 0, 0, 9]);
        let later = with_extension_headers(&plain, 44, &[6, 0, 0x05, 0, 0, 0, 0, 9]);
        for f in [&hbh, &two, &first] {
            assert!(passes("port 443", f));
            assert!(passes("tcp and syn and src port 40000", f));
            assert!(passes("ip6 and host 2001:db8::1", f));
        }
        assert!(passes("ip6 and host 2001:db8::1", &later));
        assert!(!passes("tcp", &later));
        assert!(!passes("port 443", &later));
        // A broken chain: the addresses are still there, the TCP header is not.
        let broken = with_extension_headers(&plain, 0, &[6, 9, 1, 4, 0, 0, 0, 0]);
        assert!(passes("host 2001:db8::2", &broken));
        assert!(!passes("tcp or port 443", &broken));
        // ICMPv6 is not TCP.
        let icmp = with_extension_headers(&plain, 0, &[58, 0, 1, 4, 0, 0, 0, 0]);
        assert!(passes("ip6", &icmp));
        assert!(!passes("tcp", &icmp));
    }

    #[test]
    fn bad_v6_filters_say_which_token_is_wrong() {
        let err = |s: &str| Filter::parse(s).unwrap_err();
        assert!(err("host 2001:db8::zz").contains("'2001:db8::zz' is not an IPv6 address"));
        assert!(err("host fe80::1%eth0").contains("'fe80::1%eth0' is not an IPv6 address"));
        assert!(err("src host 1:2:3:4:5:6:7:8:9").contains("not an IPv6 address"));
        let e = err("net 2001:db8::/129");
        assert!(e.contains("'2001:db8::/129' is not a prefix"), "{e}");
        assert!(e.contains("0 to 128 bits"), "{e}");
        assert!(err("net 10.0.0.0/33").contains("0 to 32 bits"));
        let e = err("net 2001:db8::zz/64");
        assert!(e.contains("'2001:db8::zz' is not an IPv6 address"), "{e}");
        assert!(err("net 2001:db8::").contains("'2001:db8::' is not a prefix ADDR/LEN"));
        assert!(err("net 2001:db8::/-1").contains("not a prefix"));
        let e = err("ip6 host 10.0.0.1");
        assert!(e.contains("'10.0.0.1' is an IPv4 address"), "{e}");
        let e = err("ip src net 2001:db8::/32");
        assert!(e.contains("'2001:db8::/32' is an IPv6 address"), "{e}");
        assert!(err("ip6 src port 80").contains("unexpected 'src'"));
        assert!(err("ip6 host").contains("ends where an address was expected"));
        assert!(err("ip7").contains("'ip7' is not a filter primitive"));
    }

    #[test]
    fn ip_and_ip6_before_host_or_net_agree_with_the_address() {
        let f4 = frame([10, 0, 0, 2], 40000, [10, 0, 0, 1], 80, TcpFlags::ACK);
        let f6 = frame6("2001:db8::2", 40000, "2001:db8::1", 80, TcpFlags::ACK);
        assert!(passes("ip host 10.0.0.1", &f4));
        assert!(passes("ip src net 10.0.0.0/24", &f4));
        assert!(passes("ip6 dst host 2001:db8::1", &f6));
        assert!(!passes("ip6 dst host 2001:db8::1", &f4));
        assert_eq!(
            Filter::parse("ip6 host 2001:db8::1"),
            Filter::parse("host 2001:db8::1")
        );
    }
}
