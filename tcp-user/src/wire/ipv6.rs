//! IPv6 packets (RFC 8200): a zero-copy view of the fixed header, the walk over the
//! extension headers a TCP segment may follow, and emission of a 40-byte header.
//!
//! Extension headers are skipped, never acted on, as RFC 8200 section 4 lets a node that is
//! not named in a Routing header do: hop-by-hop, routing and destination options are
//! length-checked and stepped over, at most [`MAX_EXTENSION_HEADERS`] of them, so a hostile
//! chain cannot make the walk long. A Fragment header (the stack does not reassemble) and
//! anything unknown end the walk with their own answer. A Routing header with segments left
//! is not stepped over: the packet is not yet at its final destination (RFC 8200 section
//! 4.4), and a host that is not a router drops it.

use crate::stats::DropReason;

/// Why a packet is not a well-formed IPv6 packet; each is a counted [`DropReason`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipv6Error {
    /// Shorter than the fixed header, or the payload length runs past the buffer.
    Truncated,
    /// The version field is not 6.
    BadVersion,
    /// An extension header runs past the payload, Hop-by-Hop is not first, or a Routing
    /// header has segments left.
    BadExtensionHeader,
    /// More extension headers than [`MAX_EXTENSION_HEADERS`].
    TooManyExtensionHeaders,
}

impl From<Ipv6Error> for DropReason {
    fn from(e: Ipv6Error) -> DropReason {
        match e {
            Ipv6Error::Truncated => DropReason::TruncatedIpv6,
            Ipv6Error::BadVersion => DropReason::BadIpVersion,
            Ipv6Error::BadExtensionHeader => DropReason::BadIpv6ExtensionHeader,
            Ipv6Error::TooManyExtensionHeaders => DropReason::TooManyIpv6ExtensionHeaders,
        }
    }
}

/// Length of the fixed header.
pub const HEADER_LEN: usize = 40;
/// Extension headers walked at most before giving up. RFC 8200 sets no limit; this bound is
/// ours, far above what a real TCP segment carries (RFC 8200 section 4.1 recommends each
/// header at most once, Destination Options at most twice), so a chain of thousands of
/// tiny headers costs a bounded walk.
pub const MAX_EXTENSION_HEADERS: usize = 8;

/// Next Header values (IANA "Assigned Internet Protocol Numbers").
pub mod next_header {
    /// Hop-by-Hop Options (RFC 8200 section 4.3); only directly after the fixed header.
    pub const HOP_BY_HOP: u8 = 0;
    /// TCP.
    pub const TCP: u8 = 6;
    /// Routing (RFC 8200 section 4.4).
    pub const ROUTING: u8 = 43;
    /// Fragment (RFC 8200 section 4.5).
    pub const FRAGMENT: u8 = 44;
    /// ICMPv6 (RFC 4443).
    pub const ICMPV6: u8 = 58;
    /// No Next Header (RFC 8200 section 4.7).
    pub const NONE: u8 = 59;
    /// Destination Options (RFC 8200 section 4.6).
    pub const DESTINATION: u8 = 60;
}

/// Byte offsets of the fixed header's fields.
mod field {
    use core::ops::Range;
    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const PAYLOAD_LEN: Range<usize> = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Range<usize> = 8..24;
    pub const DST_ADDR: Range<usize> = 24..40;
}

/// What follows the extension headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpperLayer {
    /// An upper-layer protocol (`next_header`) starting `offset` bytes into the payload.
    Protocol {
        /// The protocol number.
        next_header: u8,
        /// Where its header starts, from the start of the IPv6 payload.
        offset: usize,
    },
    /// A Fragment header at `offset`: the first fragment (offset 0) still names the
    /// protocol after it.
    Fragment {
        /// Where the Fragment header starts, from the start of the IPv6 payload.
        offset: usize,
        /// The fragment offset field is zero (the first fragment).
        first: bool,
    },
}

/// A zero-copy view of an IPv6 packet.
#[derive(Debug, Clone)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wraps a buffer without checks; accessors may panic on a short buffer.
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv6Packet { buffer }
    }

    /// Wraps a buffer after the checks of RFC 8200 section 3 that keep accessors from
    /// panicking: a whole fixed header, version 6, and the payload length within the buffer
    /// (which may be longer: Ethernet pads short frames; [`payload`](Self::payload) stops at
    /// the payload length). A payload length of 0 with a Hop-by-Hop header would be a
    /// jumbogram (RFC 2675), which no Ethernet frame carries: it is truncated here.
    pub fn new_checked(buffer: T) -> Result<Self, Ipv6Error> {
        let len = buffer.as_ref().len();
        let packet = Ipv6Packet { buffer };
        if len < HEADER_LEN {
            return Err(Ipv6Error::Truncated);
        }
        if packet.version() != 6 {
            return Err(Ipv6Error::BadVersion);
        }
        if HEADER_LEN + usize::from(packet.payload_len()) > len {
            return Err(Ipv6Error::Truncated);
        }
        Ok(packet)
    }

    fn word(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::VER_TC_FLOW];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The version field (6).
    #[inline]
    pub fn version(&self) -> u8 {
        (self.word() >> 28) as u8
    }

    /// Traffic class (DSCP and ECN).
    #[inline]
    pub fn traffic_class(&self) -> u8 {
        (self.word() >> 20) as u8
    }

    /// The 20-bit flow label (RFC 6437).
    #[inline]
    pub fn flow_label(&self) -> u32 {
        self.word() & 0xf_ffff
    }

    /// Bytes after the fixed header, extension headers included.
    #[inline]
    pub fn payload_len(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::PAYLOAD_LEN];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// The type of the header after the fixed one.
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }

    /// Hop limit.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> [u8; 16] {
        self.buffer.as_ref()[field::SRC_ADDR]
            .try_into()
            .expect("16 bytes")
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> [u8; 16] {
        self.buffer.as_ref()[field::DST_ADDR]
            .try_into()
            .expect("16 bytes")
    }

    /// The payload (extension headers and upper layer), cut at the payload length.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &self.buffer.as_ref()[HEADER_LEN..end]
    }

    /// Walks the extension headers to the upper-layer header (see the module docs).
    pub fn upper_layer(&self) -> Result<UpperLayer, Ipv6Error> {
        walk_extension_headers(self.next_header(), self.payload())
    }
}

/// Steps over hop-by-hop, routing and destination options headers from `first` (the fixed
/// header's Next Header) through `payload`. Each is `next header, length in 8-octet units
/// not counting the first 8, ...` (RFC 8200 sections 4.3-4.6).
pub fn walk_extension_headers(first: u8, payload: &[u8]) -> Result<UpperLayer, Ipv6Error> {
    let mut next = first;
    let mut offset = 0usize;
    for seen in 0..=MAX_EXTENSION_HEADERS {
        match next {
            next_header::HOP_BY_HOP | next_header::ROUTING | next_header::DESTINATION => {
                // RFC 8200 section 4.1: Hop-by-Hop only right after the fixed header.
                if next == next_header::HOP_BY_HOP && seen > 0 {
                    return Err(Ipv6Error::BadExtensionHeader);
                }
                if seen == MAX_EXTENSION_HEADERS {
                    return Err(Ipv6Error::TooManyExtensionHeaders);
                }
                let header = payload
                    .get(offset..offset + 2)
                    .ok_or(Ipv6Error::BadExtensionHeader)?;
                let len = (usize::from(header[1]) + 1) * 8;
                if offset + len > payload.len() {
                    return Err(Ipv6Error::BadExtensionHeader);
                }
                // Routing: byte 3 is Segments Left (at least 8 bytes are there).
                if next == next_header::ROUTING && payload[offset + 3] != 0 {
                    return Err(Ipv6Error::BadExtensionHeader);
                }
                next = header[0];
                offset += len;
            }
            next_header::FRAGMENT => {
                let header = payload
                    .get(offset..offset + 8)
                    .ok_or(Ipv6Error::BadExtensionHeader)?;
                let frag_offset = u16::from_be_bytes([header[2], header[3]]) >> 3;
                return Ok(UpperLayer::Fragment {
                    offset,
                    first: frag_offset == 0,
                });
            }
            protocol => {
                return Ok(UpperLayer::Protocol {
                    next_header: protocol,
                    offset,
                })
            }
        }
    }
    Err(Ipv6Error::TooManyExtensionHeaders)
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    /// Writes version 6, `traffic_class` and `flow_label` (its low 20 bits).
    #[inline]
    pub fn set_version_class_flow(&mut self, traffic_class: u8, flow_label: u32) {
        let w = (6u32 << 28) | (u32::from(traffic_class) << 20) | (flow_label & 0xf_ffff);
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&w.to_be_bytes());
    }

    /// Writes the payload length.
    #[inline]
    pub fn set_payload_len(&mut self, len: u16) {
        self.buffer.as_mut()[field::PAYLOAD_LEN].copy_from_slice(&len.to_be_bytes());
    }

    /// Writes the next header.
    #[inline]
    pub fn set_next_header(&mut self, value: u8) {
        self.buffer.as_mut()[field::NEXT_HEADER] = value;
    }

    /// Writes the hop limit.
    #[inline]
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = value;
    }

    /// Writes the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: &[u8; 16]) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(addr);
    }

    /// Writes the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: &[u8; 16]) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(addr);
    }
}

/// The fields of a header we send: no extension headers, TCP next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Repr {
    /// Source address.
    pub src_addr: [u8; 16],
    /// Destination address.
    pub dst_addr: [u8; 16],
    /// The flow label (RFC 6437: one per connection, kept for its life).
    pub flow_label: u32,
    /// Hop limit.
    pub hop_limit: u8,
    /// Bytes after the header.
    pub payload_len: u16,
}

impl Ipv6Repr {
    /// Writes the 40-byte header into `buf`; `None` if it is too short.
    pub fn emit(&self, buf: &mut [u8]) -> Option<()> {
        let mut p = Ipv6Packet::new_unchecked(buf.get_mut(..HEADER_LEN)?);
        p.set_version_class_flow(0, self.flow_label);
        p.set_payload_len(self.payload_len);
        p.set_next_header(next_header::TCP);
        p.set_hop_limit(self.hop_limit);
        p.set_src_addr(&self.src_addr);
        p.set_dst_addr(&self.dst_addr);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn addr(s: &str) -> [u8; 16] {
        s.parse::<Ipv6Addr>().unwrap().octets()
    }

    fn packet(first: u8, payload: &[u8]) -> Vec<u8> {
        let repr = Ipv6Repr {
            src_addr: addr("2001:db8::2"),
            dst_addr: addr("2001:db8::1"),
            flow_label: 0xabcde,
            hop_limit: 64,
            payload_len: payload.len() as u16,
        };
        let mut buf = vec![0u8; HEADER_LEN + payload.len()];
        repr.emit(&mut buf).unwrap();
        buf[6] = first;
        buf[HEADER_LEN..].copy_from_slice(payload);
        buf
    }

    #[test]
    fn emit_and_parse_round_trip() {
        let mut buf = packet(next_header::TCP, &[1, 2, 3, 4]);
        buf.extend_from_slice(&[0; 6]); // Ethernet padding is not payload
        let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0);
        assert_eq!(p.flow_label(), 0xabcde);
        assert_eq!(p.payload_len(), 4);
        assert_eq!(p.hop_limit(), 64);
        assert_eq!(p.src_addr(), addr("2001:db8::2"));
        assert_eq!(p.dst_addr(), addr("2001:db8::1"));
        assert_eq!(p.payload(), &[1, 2, 3, 4]);
        assert_eq!(
            p.upper_layer(),
            Ok(UpperLayer::Protocol {
                next_header: next_header::TCP,
                offset: 0
            })
        );
    }

    #[test]
    fn short_wrong_version_and_overlong_payload_length_are_dropped() {
        assert_eq!(
            Ipv6Packet::new_checked(&[0x60u8; 39][..]).unwrap_err(),
            Ipv6Error::Truncated
        );
        let mut buf = packet(next_header::TCP, &[0; 8]);
        buf[0] = 0x45;
        assert_eq!(
            Ipv6Packet::new_checked(&buf[..]).unwrap_err(),
            Ipv6Error::BadVersion
        );
        let mut buf = packet(next_header::TCP, &[0; 8]);
        buf[5] = 9; // claims 9 bytes, 8 present
        assert_eq!(
            Ipv6Packet::new_checked(&buf[..]).unwrap_err(),
            Ipv6Error::Truncated
        );
    }

    #[test]
    fn extension_headers_are_stepped_over_to_tcp() {
        // Hop-by-hop (8 bytes) -> destination options (16 bytes) -> routing (8) -> TCP.
        let mut payload = vec![next_header::DESTINATION, 0, 1, 4, 0, 0, 0, 0];
        payload.extend_from_slice(&[next_header::ROUTING, 1]);
        payload.extend_from_slice(&[0; 14]);
        payload.extend_from_slice(&[next_header::TCP, 0, 0, 0, 0, 0, 0, 0]);
        payload.extend_from_slice(&[0xaa; 20]);
        let buf = packet(next_header::HOP_BY_HOP, &payload);
        let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(
            p.upper_layer(),
            Ok(UpperLayer::Protocol {
                next_header: next_header::TCP,
                offset: 32
            })
        );
    }

    #[test]
    fn fragments_and_other_protocols_end_the_walk() {
        let frag = [next_header::TCP, 0, 0, 0, 0, 0, 0, 1];
        let p = packet(next_header::FRAGMENT, &frag);
        let p = Ipv6Packet::new_checked(&p[..]).unwrap();
        assert_eq!(
            p.upper_layer(),
            Ok(UpperLayer::Fragment {
                offset: 0,
                first: true
            })
        );
        let later = [next_header::TCP, 0, 0x05, 0x00, 0, 0, 0, 1]; // offset 160 bytes
        let p = packet(next_header::FRAGMENT, &later);
        let p = Ipv6Packet::new_checked(&p[..]).unwrap();
        assert!(matches!(
            p.upper_layer(),
            Ok(UpperLayer::Fragment { first: false, .. })
        ));
        let p = packet(next_header::ICMPV6, &[128, 0, 0, 0]);
        let p = Ipv6Packet::new_checked(&p[..]).unwrap();
        assert_eq!(
            p.upper_layer(),
            Ok(UpperLayer::Protocol {
                next_header: next_header::ICMPV6,
                offset: 0
            })
        );
    }

    #[test]
    fn malformed_and_endless_chains_are_counted_drops() {
        // An extension header whose length runs past the payload.
        let p = packet(
            next_header::DESTINATION,
            &[next_header::TCP, 3, 0, 0, 0, 0, 0, 0],
        );
        let p = Ipv6Packet::new_checked(&p[..]).unwrap();
        assert_eq!(p.upper_layer(), Err(Ipv6Error::BadExtensionHeader));
        // Truncated: one byte of a header.
        let p = packet(next_header::ROUTING, &[next_header::TCP]);
        let p = Ipv6Packet::new_checked(&p[..]).unwrap();
        assert_eq!(p.upper_layer(), Err(Ipv6Error::BadExtensionHeader));
        // Hop-by-hop anywhere but first.
        let p = packet(
            next_header::DESTINATION,
            &[
                next_header::HOP_BY_HOP,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                6,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ],
        );
        let p = Ipv6Packet::new_checked(&p[..]).unwrap();
        assert_eq!(p.upper_layer(), Err(Ipv6Error::BadExtensionHeader));
        // More destination options headers than the bound, each valid.
        let mut chain = Vec::new();
        for _ in 0..=MAX_EXTENSION_HEADERS {
            chain.extend_from_slice(&[next_header::DESTINATION, 0, 0, 0, 0, 0, 0, 0]);
        }
        let p = packet(next_header::DESTINATION, &chain);
        let p = Ipv6Packet::new_checked(&p[..]).unwrap();
        assert_eq!(p.upper_layer(), Err(Ipv6Error::TooManyExtensionHeaders));
        // A Routing header with a segment left: we are not its final destination.
        let p = packet(
            next_header::ROUTING,
            &[next_header::TCP, 0, 4, 1, 0, 0, 0, 0],
        );
        let p = Ipv6Packet::new_checked(&p[..]).unwrap();
        assert_eq!(p.upper_layer(), Err(Ipv6Error::BadExtensionHeader));
        // A truncated fragment header.
        let p = packet(next_header::FRAGMENT, &[6, 0, 0]);
        let p = Ipv6Packet::new_checked(&p[..]).unwrap();
        assert_eq!(p.upper_layer(), Err(Ipv6Error::BadExtensionHeader));
    }
}
