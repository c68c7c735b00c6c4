//! Capture filters: the subset of tcpdump's expression language (pcap-filter(7)) that
//! applies to what the daemon sees, IPv4 TCP on Ethernet, evaluated on each frame the
//! worker receives or sends while a capture runs.
//!
//! ```text
//! expr := term { ("or" | "||") term }
//! term := unary { ("and" | "&&") unary }
//! unary := ("not" | "!") unary | "(" expr ")" | primitive
//! primitive := [src | dst] host ADDR | [src | dst] net ADDR/LEN | [src | dst] port N
//!            | [src | dst] portrange N-M | tcp [port N] | ip
//!            | syn | fin | rst    (frames with that TCP flag set)
//! ```
//! An empty expression takes every frame. Errors name the token that is wrong.

use std::net::Ipv4Addr;

use crate::wire::{EthernetFrame, Ipv4Packet, TcpPacket, ETHERTYPE_IPV4};

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
    /// IPv4 TCP frames.
    Tcp,
    /// An address (`host`) or prefix (`net`): the address, the mask.
    Net(DirSel, u32, u32),
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

/// The headers of a frame a filter reads.
#[derive(Clone, Copy, Debug, Default)]
struct Headers {
    ip: Option<(u32, u32)>,
    tcp: Option<(u16, u16, u8)>,
}

impl Headers {
    fn of(frame: &[u8]) -> Headers {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return Headers::default();
        };
        if eth.ethertype() != ETHERTYPE_IPV4 {
            return Headers::default();
        }
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
            return Headers::default();
        };
        let addrs = Some((ip.src_addr(), ip.dst_addr()));
        if ip.protocol() != 6 || ip.is_fragment() && ip.frag_offset() != 0 {
            return Headers {
                ip: addrs,
                tcp: None,
            };
        }
        let tcp = TcpPacket::new_checked(ip.payload())
            .ok()
            .map(|t| (t.src_port(), t.dst_port(), t.flags().0));
        Headers { ip: addrs, tcp }
    }
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
            Filter::Ip => h.ip.is_some(),
            Filter::Tcp => h.tcp.is_some(),
            Filter::Net(d, addr, mask) => {
                h.ip.is_some_and(|(s, t)| pick(*d, s & mask == *addr, t & mask == *addr))
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
                let addr: Ipv4Addr = a
                    .parse()
                    .map_err(|_| format!("'{a}' is not an IPv4 address"))?;
                Ok(Filter::Net(d, u32::from(addr), u32::MAX))
            }
            "net" => {
                let a = self.next("a prefix ADDR/LEN")?;
                parse_net(a).map(|(addr, mask)| Filter::Net(d, addr, mask))
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
            "ip" => Ok(Filter::Ip),
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
                 syn, fin, rst, src, dst, and, or, not)"
            )),
        }
    }
}

fn parse_port(s: &str) -> Result<u16, String> {
    s.parse::<u16>()
        .map_err(|_| format!("'{s}' is not a TCP port (0-65535)"))
}

fn parse_net(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("'{s}' is not a prefix ADDR/LEN");
    let (a, len) = s.split_once('/').ok_or_else(bad)?;
    let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
    let len: u32 = len.parse().map_err(|_| bad())?;
    if len > 32 {
        return Err(bad());
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Ok((u32::from(addr) & mask, mask))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::{Segment, SeqNum, TcpFlags};
    use crate::wire::{emit_frame, FrameHeader, MacAddr};

    fn frame(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, flags: TcpFlags) -> Vec<u8> {
        let hdr = FrameHeader {
            src_mac: MacAddr([2, 0, 0, 0, 0, 1]),
            dst_mac: MacAddr([2, 0, 0, 0, 0, 2]),
            src_addr: Ipv4Addr::from(src).into(),
            dst_addr: Ipv4Addr::from(dst).into(),
            ttl: 64,
            ip_id: 0,
            flow_label: 0,
        };
        let seg = Segment {
            src_port: sport,
            dst_port: dport,
            seq: SeqNum(1),
            flags,
            window: 1000,
            ..Default::default()
        };
        let mut buf = vec![0u8; 256];
        let n = emit_frame(&mut buf, &hdr, &seg).expect("fits");
        buf.truncate(n);
        buf
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
}
