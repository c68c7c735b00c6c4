//! Whole frames, Ethernet + IPv4 or IPv6 + TCP: the two calls the worker's hot path makes,
//! one to turn a received frame into a [`Segment`] and one to write a segment into a TX
//! frame. No allocation and no panic on any input.

use super::addr::{is_v4_mapped, Addr, Family};
use super::checksum::PROTOCOL_TCP;
use super::ethernet::{self, EthernetFrame, MacAddr, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use super::ipv4::{self, is_unicast_addr, Ipv4Packet, Ipv4Repr};
use super::ipv6::{self, next_header, Ipv6Packet, Ipv6Repr, UpperLayer};
use super::tcp::{self, parse_segment, TcpPacket};
use crate::stats::DropReason;
use crate::tcp::Segment;

/// A received frame taken apart: link and network addresses, and the TCP segment with its
/// payload borrowed from the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedFrame<'a> {
    /// Source Ethernet address.
    pub src_mac: MacAddr,
    /// Destination Ethernet address.
    pub dst_mac: MacAddr,
    /// Source address (the family of the IP header).
    pub src_addr: Addr,
    /// Destination address.
    pub dst_addr: Addr,
    /// IPv4 time to live, or IPv6 hop limit.
    pub ttl: u8,
    /// The TCP segment.
    pub segment: Segment<'a>,
}

/// Link and network header values for a frame to send. Both addresses of one family, which
/// chooses the IP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Source Ethernet address.
    pub src_mac: MacAddr,
    /// Destination Ethernet address.
    pub dst_mac: MacAddr,
    /// Source address.
    pub src_addr: Addr,
    /// Destination address.
    pub dst_addr: Addr,
    /// IPv4 time to live, or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification (DF is always set, so any value will do). Unused for IPv6.
    pub ip_id: u16,
    /// IPv6 flow label (RFC 6437: the connection's, 20 bits). Unused for IPv4.
    pub flow_label: u32,
}

/// Parses and validates a received frame: Ethernet II carrying IPv4 (header checksum
/// verified, fragments rejected, unicast addresses) or IPv6 (extension headers walked,
/// fragments rejected, unicast and not v4-mapped addresses) carrying TCP (checksum verified
/// with the family's pseudo-header over exactly the upper-layer length, options parsed).
/// Trailing link-layer padding is ignored. Every rejection names its [`DropReason`].
pub fn parse_frame(frame: &[u8]) -> Result<ParsedFrame<'_>, DropReason> {
    let eth = EthernetFrame::new_checked(frame)?;
    let ethertype = eth.ethertype();
    if ethertype != ETHERTYPE_IPV4 && ethertype != ETHERTYPE_IPV6 {
        return Err(DropReason::NotIpv4);
    }
    let src_mac = eth.src_addr();
    if !src_mac.is_unicast() {
        return Err(DropReason::BadAddress);
    }
    let network = frame
        .get(ethernet::HEADER_LEN..)
        .ok_or(DropReason::TruncatedEthernet)?;
    let ip = if ethertype == ETHERTYPE_IPV4 {
        parse_ipv4(network)?
    } else {
        parse_ipv6(network)?
    };
    let tcp = TcpPacket::new_checked(ip.tcp)?;
    if !tcp.verify_checksum(ip.src_addr, ip.dst_addr) {
        return Err(DropReason::BadTcpChecksum);
    }
    Ok(ParsedFrame {
        src_mac,
        dst_mac: eth.dst_addr(),
        src_addr: ip.src_addr,
        dst_addr: ip.dst_addr,
        ttl: ip.ttl,
        segment: parse_segment(&tcp)?,
    })
}

/// What the IP layer of a received frame yields: addresses, TTL or hop limit, and the TCP
/// bytes (exactly the upper-layer packet).
struct IpLayer<'a> {
    src_addr: Addr,
    dst_addr: Addr,
    ttl: u8,
    tcp: &'a [u8],
}

fn parse_ipv4(packet: &[u8]) -> Result<IpLayer<'_>, DropReason> {
    let ip = Ipv4Packet::new_checked(packet)?;
    if !ip.verify_checksum() {
        return Err(DropReason::BadIpv4Checksum);
    }
    if ip.is_fragment() {
        return Err(DropReason::Ipv4Fragment);
    }
    if ip.protocol() != PROTOCOL_TCP {
        return Err(DropReason::NotTcp);
    }
    let (src_addr, dst_addr) = (ip.src_addr(), ip.dst_addr());
    // RFC 9293 section 3.10.7.1 / RFC 1122 section 4.2.3.10: TCP is unicast only; a
    // segment from or to a broadcast/multicast address is discarded without reply.
    if !is_unicast_addr(src_addr) || !is_unicast_addr(dst_addr) {
        return Err(DropReason::BadAddress);
    }
    Ok(IpLayer {
        src_addr: Addr::v4(src_addr),
        dst_addr: Addr::v4(dst_addr),
        ttl: ip.ttl(),
        tcp: ip.payload(),
    })
}

fn parse_ipv6(packet: &[u8]) -> Result<IpLayer<'_>, DropReason> {
    let ip = Ipv6Packet::new_checked(packet)?;
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    // Inside the stack a v4-mapped address is the IPv4 address (`wire::addr`): one in an
    // IPv6 header would pose as an IPv4 peer or reach our IPv4 address over IPv6. Linux's
    // tcp_v6_conn_request drops a v4-mapped source for the same reason.
    if is_v4_mapped(&src) || is_v4_mapped(&dst) {
        return Err(DropReason::V4MappedOnV6);
    }
    if !is_unicast_v6(&src) || !is_unicast_v6(&dst) {
        return Err(DropReason::BadAddress);
    }
    // RFC 8200 section 3: a node discards a packet whose hop limit reaches zero rather than
    // forward it, so hop limit 0 on arrival means a sender that set it so or a path that
    // broke the rule. Linux (ip6_rcv_core) would deliver it; we drop and count it, as a
    // crafted segment rather than one of a real peer's (no IPv6 stack sends 0 by default).
    if ip.hop_limit() == 0 {
        return Err(DropReason::Ipv6HopLimitZero);
    }
    let offset = match ip.upper_layer()? {
        UpperLayer::Protocol {
            next_header: next_header::TCP,
            offset,
        } => offset,
        UpperLayer::Protocol { .. } => return Err(DropReason::NotTcp),
        UpperLayer::Fragment { .. } => return Err(DropReason::Ipv6Fragment),
    };
    // RFC 8200 section 8.1: the upper-layer length is the payload length less the
    // extension headers; the walk kept `offset` within the payload.
    let end = ipv6::HEADER_LEN + usize::from(ip.payload_len());
    let tcp = packet
        .get(ipv6::HEADER_LEN + offset..end)
        .ok_or(DropReason::TruncatedIpv6)?;
    Ok(IpLayer {
        src_addr: Addr::v6(src),
        dst_addr: Addr::v6(dst),
        ttl: ip.hop_limit(),
        tcp,
    })
}

/// RFC 9293 section 3.10.7.1 over IPv6: TCP is unicast only. Multicast (`ff00::/8`, also
/// never a source, RFC 4291 section 2.7) and the unspecified address `::` are refused;
/// `::1` is left to the interface, as 127.0.0.0/8 is for IPv4.
#[inline]
fn is_unicast_v6(addr: &[u8; 16]) -> bool {
    addr[0] != 0xff && *addr != [0; 16]
}

/// Bytes before the TCP header in every frame we send: Ethernet and an option-less IP
/// header of `family`.
#[inline]
fn headers_len(family: Family) -> usize {
    ethernet::HEADER_LEN
        + match family {
            Family::V4 => ipv4::HEADER_LEN,
            Family::V6 => ipv6::HEADER_LEN,
        }
}

/// Bytes [`emit_frame`] writes for `seg` under `hdr`: headers, TCP options and payload,
/// padded up to the 60-byte Ethernet minimum.
#[inline]
pub fn frame_len(hdr: &FrameHeader, seg: &Segment) -> usize {
    (headers_len(hdr.src_addr.family()) + tcp::segment_len(seg)).max(ethernet::MIN_FRAME_LEN)
}

/// Writes a whole frame for `seg` into the start of `buf`: Ethernet II, a 20-byte IPv4
/// header with DF or a 40-byte IPv6 header with the flow label, TCP header and options,
/// payload, the checksums, and zero padding to 60 bytes. Returns the frame length
/// ([`frame_len`]); `None` if `buf` is too short, the IP packet would exceed 65535 bytes,
/// or the two addresses are of different families.
pub fn emit_frame(buf: &mut [u8], hdr: &FrameHeader, seg: &Segment) -> Option<usize> {
    let family = hdr.src_addr.family();
    if hdr.dst_addr.family() != family {
        return None;
    }
    let len = frame_len(hdr, seg);
    let out = buf.get_mut(..len)?;
    let tcp_len = u16::try_from(tcp::segment_len(seg)).ok()?;
    let (eth_buf, rest) = out.split_at_mut(ethernet::HEADER_LEN);
    let mut eth = EthernetFrame::new_unchecked(eth_buf);
    eth.set_dst_addr(hdr.dst_mac);
    eth.set_src_addr(hdr.src_mac);
    let tcp_buf = match (hdr.src_addr.to_v4(), hdr.dst_addr.to_v4()) {
        (Some(src_addr), Some(dst_addr)) => {
            eth.set_ethertype(ETHERTYPE_IPV4);
            let (ip_buf, tcp_buf) = rest.split_at_mut(ipv4::HEADER_LEN);
            let repr = Ipv4Repr {
                src_addr,
                dst_addr,
                protocol: PROTOCOL_TCP,
                ttl: hdr.ttl,
                ident: hdr.ip_id,
                payload_len: tcp_len,
            };
            repr.emit(ip_buf)?;
            tcp_buf
        }
        _ => {
            eth.set_ethertype(ETHERTYPE_IPV6);
            let (ip_buf, tcp_buf) = rest.split_at_mut(ipv6::HEADER_LEN);
            let repr = Ipv6Repr {
                src_addr: *hdr.src_addr.octets(),
                dst_addr: *hdr.dst_addr.octets(),
                flow_label: hdr.flow_label,
                hop_limit: hdr.ttl,
                payload_len: tcp_len,
            };
            repr.emit(ip_buf)?;
            tcp_buf
        }
    };
    let written = tcp::emit_segment(tcp_buf, hdr.src_addr, hdr.dst_addr, seg)?;
    // Zero the padding so stale bytes of a reused UMEM frame never reach the wire.
    tcp_buf[written..].fill(0);
    Some(len)
}
