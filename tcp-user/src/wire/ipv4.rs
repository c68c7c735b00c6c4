//! IPv4 packets (RFC 791): a zero-copy view, checks, and emission of a 20-byte header.
//!
//! The stack does not reassemble fragments and never sends options. Received options are
//! skipped by IHL.

use super::checksum;
use crate::stats::DropReason;

/// Length of a header without options (IHL = 5).
pub const HEADER_LEN: usize = 20;

/// Byte offsets of the header fields.
mod field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
}

/// Don't Fragment flag in the flags/offset word.
const FLAG_DF: u16 = 0x4000;
/// More Fragments flag in the flags/offset word.
const FLAG_MF: u16 = 0x2000;
/// Fragment offset mask (units of 8 bytes).
const OFFSET_MASK: u16 = 0x1fff;

/// A zero-copy view of an IPv4 packet.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps a buffer without checks; accessors may panic on a short buffer.
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wraps a buffer after the length checks of RFC 791 section 3.1, so accessors
    /// cannot panic: version 4, `5 <= IHL`, header within `total_length`, and
    /// `total_length` within the buffer. The buffer may be longer than `total_length`
    /// (Ethernet pads short frames); [`payload`](Ipv4Packet::payload) stops at
    /// `total_length`. Does not verify the checksum or look at fragmentation.
    pub fn new_checked(buffer: T) -> Result<Self, DropReason> {
        let len = buffer.as_ref().len();
        let packet = Ipv4Packet { buffer };
        if len < HEADER_LEN {
            return Err(DropReason::TruncatedIpv4);
        }
        if packet.version() != 4 {
            return Err(DropReason::BadIpVersion);
        }
        let header_len = packet.header_len();
        if header_len < HEADER_LEN || header_len > len {
            return Err(DropReason::BadIpv4HeaderLength);
        }
        let total_len = packet.total_len() as usize;
        if total_len < header_len {
            return Err(DropReason::BadIpv4HeaderLength);
        }
        if total_len > len {
            return Err(DropReason::TruncatedIpv4);
        }
        Ok(packet)
    }

    /// The wrapped buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Version field (4 for a checked packet).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL * 4), options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        (self.buffer.as_ref()[field::VER_IHL] & 0x0f) as usize * 4
    }

    /// DSCP and ECN byte.
    #[inline]
    pub fn dscp_ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN]
    }

    /// Total length: header plus payload, in bytes.
    #[inline]
    pub fn total_len(&self) -> u16 {
        self.read_u16(field::LENGTH.start)
    }

    /// Identification field.
    #[inline]
    pub fn ident(&self) -> u16 {
        self.read_u16(field::IDENT.start)
    }

    /// Don't Fragment flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        self.read_u16(field::FLG_OFF.start) & FLAG_DF != 0
    }

    /// More Fragments flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.read_u16(field::FLG_OFF.start) & FLAG_MF != 0
    }

    /// Fragment offset in bytes.
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (self.read_u16(field::FLG_OFF.start) & OFFSET_MASK) << 3
    }

    /// True when this is part of a fragmented datagram: MF set or a non-zero offset
    /// (RFC 791 section 3.2). Only the first fragment has a TCP header, and we do not
    /// reassemble, so every fragment is dropped.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.read_u16(field::FLG_OFF.start) & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Protocol of the payload (6 is TCP).
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    /// Header checksum as carried.
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM.start)
    }

    /// Source address, host order.
    #[inline]
    pub fn src_addr(&self) -> u32 {
        self.read_u32(field::SRC_ADDR.start)
    }

    /// Destination address, host order.
    #[inline]
    pub fn dst_addr(&self) -> u32 {
        self.read_u32(field::DST_ADDR.start)
    }

    /// True when the header checksum (over IHL * 4 bytes, options included) verifies.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(&self.buffer.as_ref()[..self.header_len()])
    }

    #[inline]
    fn read_u16(&self, at: usize) -> u16 {
        super::bytes::read_u16(self.buffer.as_ref(), at)
    }

    #[inline]
    fn read_u32(&self, at: usize) -> u32 {
        super::bytes::read_u32(self.buffer.as_ref(), at)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv4Packet<&'a T> {
    /// The payload: from the end of the header (options skipped) to `total_length`;
    /// link-layer padding after it is excluded.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        let end = self.total_len() as usize;
        &self.buffer.as_ref()[self.header_len()..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Sets version 4 and the header length in bytes (a multiple of 4).
    #[inline]
    pub fn set_version_and_header_len(&mut self, header_len: usize) {
        self.buffer.as_mut()[field::VER_IHL] = 0x40 | ((header_len / 4) as u8 & 0x0f);
    }

    /// Sets the DSCP and ECN byte.
    #[inline]
    pub fn set_dscp_ecn(&mut self, value: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = value;
    }

    /// Sets the total length.
    #[inline]
    pub fn set_total_len(&mut self, value: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the identification field.
    #[inline]
    pub fn set_ident(&mut self, value: u16) {
        self.buffer.as_mut()[field::IDENT].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets DF and clears MF and the fragment offset.
    #[inline]
    pub fn set_dont_frag_only(&mut self) {
        self.buffer.as_mut()[field::FLG_OFF].copy_from_slice(&FLAG_DF.to_be_bytes());
    }

    /// Sets the time to live.
    #[inline]
    pub fn set_ttl(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value;
    }

    /// Sets the payload protocol.
    #[inline]
    pub fn set_protocol(&mut self, value: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = value;
    }

    /// Sets the source address (host order).
    #[inline]
    pub fn set_src_addr(&mut self, addr: u32) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.to_be_bytes());
    }

    /// Sets the destination address (host order).
    #[inline]
    pub fn set_dst_addr(&mut self, addr: u32) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.to_be_bytes());
    }

    /// Computes and writes the header checksum over the header bytes (IHL * 4).
    #[inline]
    pub fn fill_checksum(&mut self) {
        let header_len = self.header_len();
        let buf = self.buffer.as_mut();
        buf[field::CHECKSUM].copy_from_slice(&[0, 0]);
        let sum = checksum::checksum(&buf[..header_len]);
        buf[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
    }
}

/// What this stack puts in the header of a packet it sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Source address, host order.
    pub src_addr: u32,
    /// Destination address, host order.
    pub dst_addr: u32,
    /// Payload protocol.
    pub protocol: u8,
    /// Time to live.
    pub ttl: u8,
    /// Identification field. With DF set it identifies nothing (RFC 6864 section 4.1), but
    /// a changing value helps captures.
    pub ident: u16,
    /// Payload length in bytes (the header adds 20).
    pub payload_len: u16,
}

impl Ipv4Repr {
    /// Writes a 20-byte header (no options, DF set, DSCP/ECN zero) with its checksum into
    /// the first [`HEADER_LEN`] bytes of `buf`. Returns `None` if `buf` is shorter or the
    /// total length does not fit 16 bits.
    pub fn emit(&self, buf: &mut [u8]) -> Option<()> {
        let total_len = (self.payload_len as usize + HEADER_LEN).try_into().ok()?;
        let mut packet = Ipv4Packet::new_unchecked(buf.get_mut(..HEADER_LEN)?);
        packet.set_version_and_header_len(HEADER_LEN);
        packet.set_dscp_ecn(0);
        packet.set_total_len(total_len);
        packet.set_ident(self.ident);
        // We never fragment; path MTU discovery (RFC 1191) relies on DF.
        packet.set_dont_frag_only();
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
        Some(())
    }
}

/// True when `addr` (host order) may be the source of a TCP segment: not 0.0.0.0,
/// not limited broadcast 255.255.255.255, not multicast 224.0.0.0/4. RFC 9293 section
/// 3.10.7.1: a SYN from a broadcast or multicast address must be discarded; TCP is unicast
/// only, so we apply it to every segment. 127.0.0.0/8 is not rejected here: whether it is
/// martian depends on the interface, which the wire layer does not know.
#[inline]
pub fn is_unicast_addr(addr: u32) -> bool {
    addr != 0 && addr != u32::MAX && (addr >> 28) != 0xe
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64-byte buffer starting with an emitted header (10.9.0.1 -> 10.9.0.2, `payload`
    /// bytes of payload) whose total length is then set to `total_len`; bytes after it
    /// play the role of Ethernet padding.
    fn packet(total_len: u16, payload: usize) -> [u8; 64] {
        let mut b = [0u8; 64];
        let repr = Ipv4Repr {
            src_addr: 0x0a09_0001,
            dst_addr: 0x0a09_0002,
            protocol: 6,
            ttl: 64,
            ident: 0x4e0c,
            payload_len: payload as u16,
        };
        assert!(repr.emit(&mut b).is_some());
        if total_len as usize != HEADER_LEN + payload {
            let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
            p.set_total_len(total_len);
            p.fill_checksum();
        }
        b
    }

    #[test]
    fn emitted_header_matches_linux_capture() {
        let b = packet(60, 40);
        let linux = [
            0x45, 0x00, 0x00, 0x3c, 0x4e, 0x0c, 0x40, 0x00, 0x40, 0x06, 0xd8, 0x9b, 0x0a, 0x09,
            0x00, 0x01, 0x0a, 0x09, 0x00, 0x02,
        ];
        assert_eq!(&b[..20], &linux);
    }

    #[test]
    fn checked_packet_exposes_fields_and_verifies() {
        let b = packet(60, 40);
        let p = Ipv4Packet::new_checked(&b[..]).expect("valid");
        assert!(p.verify_checksum());
        assert!(p.dont_frag() && !p.is_fragment());
        assert_eq!((p.ttl(), p.protocol(), p.ident()), (64, 6, 0x4e0c));
        assert_eq!((p.src_addr(), p.dst_addr()), (0x0a09_0001, 0x0a09_0002));
        assert_eq!(p.payload().len(), 40);
    }

    #[test]
    fn padding_after_total_length_is_not_payload() {
        let b = packet(26, 6);
        let p = Ipv4Packet::new_checked(&b[..]).expect("valid");
        assert_eq!(p.payload().len(), 6);
    }

    #[test]
    fn shorter_than_20_bytes_is_truncated() {
        let b = packet(20, 0);
        for len in 0..HEADER_LEN {
            assert_eq!(
                Ipv4Packet::new_checked(&b[..len]).err(),
                Some(DropReason::TruncatedIpv4)
            );
        }
    }

    #[test]
    fn total_length_beyond_buffer_is_truncated() {
        let b = packet(60, 40);
        assert_eq!(
            Ipv4Packet::new_checked(&b[..59]).err(),
            Some(DropReason::TruncatedIpv4)
        );
    }

    #[test]
    fn version_other_than_4_is_rejected() {
        let mut b = packet(20, 0);
        b[0] = 0x65;
        assert_eq!(
            Ipv4Packet::new_checked(&b[..]).err(),
            Some(DropReason::BadIpVersion)
        );
    }

    #[test]
    fn ihl_below_5_is_rejected() {
        for ihl in 0..5u8 {
            let mut b = packet(20, 0);
            b[0] = 0x40 | ihl;
            assert_eq!(
                Ipv4Packet::new_checked(&b[..]).err(),
                Some(DropReason::BadIpv4HeaderLength)
            );
        }
    }

    #[test]
    fn ihl_beyond_buffer_or_total_length_is_rejected() {
        let mut b = packet(24, 4);
        b[0] = 0x4f; // 60-byte header
        assert_eq!(
            Ipv4Packet::new_checked(&b[..40]).err(),
            Some(DropReason::BadIpv4HeaderLength)
        );
        assert_eq!(
            Ipv4Packet::new_checked(&b[..]).err(),
            Some(DropReason::BadIpv4HeaderLength),
            "header longer than total_length"
        );
    }

    #[test]
    fn options_are_skipped_by_ihl() {
        let mut b = packet(28, 4);
        b[0] = 0x46; // 24-byte header: 4 bytes of options (NOPs), then 4 bytes of payload
        b[20..24].copy_from_slice(&[1, 1, 1, 0]);
        b[24..28].copy_from_slice(&[9, 8, 7, 6]);
        let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
        p.fill_checksum();
        let p = Ipv4Packet::new_checked(&b[..]).expect("valid");
        assert!(p.verify_checksum());
        assert_eq!(p.payload(), &[9, 8, 7, 6]);
    }

    #[test]
    fn corrupted_header_fails_checksum() {
        let mut b = packet(20, 0);
        b[8] ^= 0x01;
        assert!(!Ipv4Packet::new_checked(&b[..])
            .expect("valid")
            .verify_checksum());
    }

    #[test]
    fn more_fragments_or_offset_is_a_fragment() {
        let mut b = packet(20, 0);
        b[6] = 0x20; // MF
        assert!(Ipv4Packet::new_checked(&b[..])
            .expect("valid")
            .is_fragment());
        b[6] = 0x40;
        b[7] = 0x01; // DF with offset 8: contradictory, still a fragment
        let p = Ipv4Packet::new_checked(&b[..]).expect("valid");
        assert!(p.is_fragment());
        assert_eq!(p.frag_offset(), 8);
    }

    #[test]
    fn broadcast_multicast_and_zero_are_not_unicast() {
        assert!(is_unicast_addr(0x0a00_0001));
        assert!(!is_unicast_addr(0));
        assert!(!is_unicast_addr(0xffff_ffff));
        assert!(!is_unicast_addr(0xe000_0001));
        assert!(!is_unicast_addr(0xefff_ffff));
        assert!(
            is_unicast_addr(0xf000_0001),
            "class E is reserved, not multicast"
        );
    }
}
