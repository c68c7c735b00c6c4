//! Whole frames, Ethernet + IPv4 + TCP: the two calls the worker's hot path makes, one to
//! turn a received frame into a [`Segment`] and one to write a segment into a TX frame.
//! No allocation and no panic on any input.

use super::checksum::PROTOCOL_TCP;
use super::ethernet::{self, EthernetFrame, MacAddr, ETHERTYPE_IPV4};
use super::ipv4::{self, is_unicast_addr, Ipv4Packet, Ipv4Repr};
use super::tcp::{self, parse_segment, TcpPacket};
use crate::stats::DropReason;
use crate::tcp::Segment;

/// Bytes before the TCP header in every frame we send (Ethernet + option-less IPv4).
const HEADERS_LEN: usize = ethernet::HEADER_LEN + ipv4::HEADER_LEN;

/// A received frame taken apart: link and network addresses, and the TCP segment with its
/// payload borrowed from the frame. Addresses in host order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedFrame<'a> {
    /// Source Ethernet address.
    pub src_mac: MacAddr,
    /// Destination Ethernet address.
    pub dst_mac: MacAddr,
    /// Source IPv4 address (host order).
    pub src_addr: u32,
    /// Destination IPv4 address (host order).
    pub dst_addr: u32,
    /// IPv4 time to live.
    pub ttl: u8,
    /// The TCP segment.
    pub segment: Segment<'a>,
}

/// Link and network header values for a frame to send. Addresses in host order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Source Ethernet address.
    pub src_mac: MacAddr,
    /// Destination Ethernet address.
    pub dst_mac: MacAddr,
    /// Source IPv4 address (host order).
    pub src_addr: u32,
    /// Destination IPv4 address (host order).
    pub dst_addr: u32,
    /// IPv4 time to live.
    pub ttl: u8,
    /// IPv4 identification (DF is always set, so any value will do).
    pub ip_id: u16,
}

/// Parses and validates a received frame: Ethernet II carrying IPv4 (header checksum
/// verified, fragments rejected, unicast source) carrying TCP (checksum verified with the
/// pseudo-header over exactly the IP total length, options parsed). Trailing link-layer
/// padding is ignored. Every rejection names its [`DropReason`].
pub fn parse_frame(frame: &[u8]) -> Result<ParsedFrame<'_>, DropReason> {
    let eth = EthernetFrame::new_checked(frame)?;
    if eth.ethertype() != ETHERTYPE_IPV4 {
        return Err(DropReason::NotIpv4);
    }
    let src_mac = eth.src_addr();
    if !src_mac.is_unicast() {
        return Err(DropReason::BadAddress);
    }

    let ip = Ipv4Packet::new_checked(eth.payload())?;
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

    let tcp = TcpPacket::new_checked(ip.payload())?;
    if !tcp.verify_checksum(src_addr, dst_addr) {
        return Err(DropReason::BadTcpChecksum);
    }
    Ok(ParsedFrame {
        src_mac,
        dst_mac: eth.dst_addr(),
        src_addr,
        dst_addr,
        ttl: ip.ttl(),
        segment: parse_segment(&tcp)?,
    })
}

/// Bytes [`emit_frame`] writes for `seg`: headers, TCP options and payload, padded up to
/// the 60-byte Ethernet minimum.
#[inline]
pub fn frame_len(seg: &Segment) -> usize {
    (HEADERS_LEN + tcp::segment_len(seg)).max(ethernet::MIN_FRAME_LEN)
}

/// Writes a whole frame for `seg` into the start of `buf`: Ethernet II, a 20-byte IPv4
/// header with DF, TCP header and options, payload, both checksums, and zero padding to
/// 60 bytes. Returns the frame length ([`frame_len`]); `None` if `buf` is too short or
/// the IP packet would exceed 65535 bytes.
pub fn emit_frame(buf: &mut [u8], hdr: &FrameHeader, seg: &Segment) -> Option<usize> {
    let len = frame_len(seg);
    let out = buf.get_mut(..len)?;
    let tcp_len = tcp::segment_len(seg);
    let ip_repr = Ipv4Repr {
        src_addr: hdr.src_addr,
        dst_addr: hdr.dst_addr,
        protocol: PROTOCOL_TCP,
        ttl: hdr.ttl,
        ident: hdr.ip_id,
        payload_len: u16::try_from(tcp_len).ok()?,
    };
    let (eth_buf, rest) = out.split_at_mut(ethernet::HEADER_LEN);
    let (ip_buf, tcp_buf) = rest.split_at_mut(ipv4::HEADER_LEN);
    let mut eth = EthernetFrame::new_unchecked(eth_buf);
    eth.set_dst_addr(hdr.dst_mac);
    eth.set_src_addr(hdr.src_mac);
    eth.set_ethertype(ETHERTYPE_IPV4);
    ip_repr.emit(ip_buf)?;
    let written = tcp::emit_segment(tcp_buf, hdr.src_addr, hdr.dst_addr, seg)?;
    // Zero the padding so stale bytes of a reused UMEM frame never reach the wire.
    tcp_buf[written..].fill(0);
    Some(len)
}
