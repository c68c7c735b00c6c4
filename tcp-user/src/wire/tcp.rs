//! TCP headers (RFC 9293 section 3.1): a zero-copy view, conversion to the engine's
//! [`Segment`], and emission of a segment into a buffer.

use super::addr::Addr;
use super::checksum;
use super::tcp_options::{emit_options, options_len, parse_options};
use crate::stats::DropReason;
use crate::tcp::{Segment, SeqNum, TcpFlags};

/// Length of a header without options (data offset 5).
pub const HEADER_LEN: usize = 20;

/// Byte offsets of the header fields.
mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ_NUM: Range<usize> = 4..8;
    pub const ACK_NUM: Range<usize> = 8..12;
    /// Data offset in the high nibble; the low nibble is reserved (and AE, RFC 3540/9768).
    pub const DATA_OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
    pub const OPTIONS: usize = 20;
}

/// A zero-copy view of a TCP segment: header, options and payload. The buffer must be
/// exactly the IP payload, since the checksum covers all of it.
#[derive(Debug, Clone)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps a buffer without checks; accessors may panic on a short buffer.
    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        TcpPacket { buffer }
    }

    /// Wraps a buffer after checking that it holds the fixed header and that the data
    /// offset is at least 5 words and within the buffer; accessors then cannot panic.
    pub fn new_checked(buffer: T) -> Result<Self, DropReason> {
        let len = buffer.as_ref().len();
        let packet = TcpPacket { buffer };
        if len < HEADER_LEN {
            return Err(DropReason::TruncatedTcp);
        }
        let header_len = packet.header_len();
        if header_len < HEADER_LEN || header_len > len {
            return Err(DropReason::BadTcpDataOffset);
        }
        Ok(packet)
    }

    /// The wrapped buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        self.read_u16(field::SRC_PORT.start)
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        self.read_u16(field::DST_PORT.start)
    }

    /// Sequence number.
    #[inline]
    pub fn seq_number(&self) -> SeqNum {
        SeqNum(self.read_u32(field::SEQ_NUM.start))
    }

    /// Acknowledgment number (meaningful only with ACK).
    #[inline]
    pub fn ack_number(&self) -> SeqNum {
        SeqNum(self.read_u32(field::ACK_NUM.start))
    }

    /// Header length in bytes (data offset * 4), options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        (self.buffer.as_ref()[field::DATA_OFFSET] >> 4) as usize * 4
    }

    /// The eight control bits CWR..FIN.
    #[inline]
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.buffer.as_ref()[field::FLAGS])
    }

    /// Window field as carried (not scaled).
    #[inline]
    pub fn window_len(&self) -> u16 {
        self.read_u16(field::WINDOW.start)
    }

    /// Checksum as carried.
    #[inline]
    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM.start)
    }

    /// Urgent pointer.
    #[inline]
    pub fn urgent_at(&self) -> u16 {
        self.read_u16(field::URGENT.start)
    }

    /// True when the checksum over the whole buffer and the pseudo-header of `src_addr`
    /// and `dst_addr` verifies (RFC 9293 section 3.1; RFC 8200 section 8.1 for IPv6).
    #[inline]
    pub fn verify_checksum(&self, src_addr: Addr, dst_addr: Addr) -> bool {
        checksum::verify_tcp_for(&src_addr, &dst_addr, self.buffer.as_ref())
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

impl<'a, T: AsRef<[u8]> + ?Sized> TcpPacket<&'a T> {
    /// The option bytes, between the fixed header and the data offset.
    #[inline]
    pub fn options(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::OPTIONS..self.header_len()]
    }

    /// The data after the header.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, port: u16) {
        self.write(field::SRC_PORT.start, &port.to_be_bytes());
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, port: u16) {
        self.write(field::DST_PORT.start, &port.to_be_bytes());
    }

    /// Sets the sequence number.
    #[inline]
    pub fn set_seq_number(&mut self, seq: SeqNum) {
        self.write(field::SEQ_NUM.start, &seq.0.to_be_bytes());
    }

    /// Sets the acknowledgment number.
    #[inline]
    pub fn set_ack_number(&mut self, ack: SeqNum) {
        self.write(field::ACK_NUM.start, &ack.0.to_be_bytes());
    }

    /// Sets the data offset from a header length in bytes (a multiple of 4, at most 60);
    /// clears the reserved bits.
    #[inline]
    pub fn set_header_len(&mut self, header_len: usize) {
        self.buffer.as_mut()[field::DATA_OFFSET] = ((header_len / 4) as u8) << 4;
    }

    /// Sets the control bits.
    #[inline]
    pub fn set_flags(&mut self, flags: TcpFlags) {
        self.buffer.as_mut()[field::FLAGS] = flags.0;
    }

    /// Sets the window field.
    #[inline]
    pub fn set_window_len(&mut self, window: u16) {
        self.write(field::WINDOW.start, &window.to_be_bytes());
    }

    /// Sets the urgent pointer.
    #[inline]
    pub fn set_urgent_at(&mut self, urgent: u16) {
        self.write(field::URGENT.start, &urgent.to_be_bytes());
    }

    /// Computes and writes the checksum over the whole buffer and the pseudo-header.
    /// Returns `None` (writing nothing) if the buffer is longer than 65535 bytes.
    #[inline]
    pub fn fill_checksum(&mut self, src_addr: Addr, dst_addr: Addr) -> Option<()> {
        self.write(field::CHECKSUM.start, &[0, 0]);
        let sum = checksum::tcp_checksum_for(&src_addr, &dst_addr, self.buffer.as_ref())?;
        self.write(field::CHECKSUM.start, &sum.to_be_bytes());
        Some(())
    }

    #[inline]
    fn write(&mut self, at: usize, bytes: &[u8]) {
        self.buffer.as_mut()[at..at + bytes.len()].copy_from_slice(bytes);
    }
}

/// Turns a checked packet into the engine's [`Segment`], borrowing the payload. Parses the
/// options ([`DropReason::BadTcpOption`] if malformed); does not verify the checksum,
/// which needs the IP addresses (see [`TcpPacket::verify_checksum`]).
pub fn parse_segment<'a, T>(packet: &TcpPacket<&'a T>) -> Result<Segment<'a>, DropReason>
where
    T: AsRef<[u8]> + ?Sized,
{
    Ok(Segment {
        src_port: packet.src_port(),
        dst_port: packet.dst_port(),
        seq: packet.seq_number(),
        ack: packet.ack_number(),
        flags: packet.flags(),
        window: packet.window_len(),
        urgent: packet.urgent_at(),
        options: parse_options(packet.options())?,
        payload: packet.payload(),
    })
}

/// Bytes [`emit_segment`] writes for `seg`: header, options and payload.
#[inline]
pub fn segment_len(seg: &Segment) -> usize {
    HEADER_LEN + options_len(&seg.options, seg.flags.syn()) + seg.payload.len()
}

/// Writes `seg` (header, options in Linux order, payload) into the start of `buf` with
/// its checksum for `src_addr` -> `dst_addr` (one family). Returns the bytes written
/// ([`segment_len`]), or `None` if `buf` is too short or the segment exceeds 65535 bytes.
pub fn emit_segment(
    buf: &mut [u8],
    src_addr: Addr,
    dst_addr: Addr,
    seg: &Segment,
) -> Option<usize> {
    let syn = seg.flags.syn();
    let header_len = HEADER_LEN + options_len(&seg.options, syn);
    let total = header_len + seg.payload.len();
    let out = buf.get_mut(..total)?;
    let (header, payload) = out.split_at_mut(header_len);
    emit_options(&mut header[field::OPTIONS..], &seg.options, syn)?;
    payload.copy_from_slice(seg.payload);
    let mut packet = TcpPacket::new_unchecked(out);
    packet.set_src_port(seg.src_port);
    packet.set_dst_port(seg.dst_port);
    packet.set_seq_number(seg.seq);
    packet.set_ack_number(seg.ack);
    packet.set_header_len(header_len);
    packet.set_flags(seg.flags);
    packet.set_window_len(seg.window);
    packet.set_urgent_at(seg.urgent);
    packet.fill_checksum(src_addr, dst_addr)?;
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::{TcpOptions, Timestamps};

    const SRC: Addr = Addr::v4(0x0a09_0001);
    const DST: Addr = Addr::v4(0x0a09_0002);

    fn data_segment(payload: &[u8]) -> Segment<'_> {
        Segment {
            src_port: 80,
            dst_port: 40718,
            seq: SeqNum(0xfffffff0),
            ack: SeqNum(7),
            flags: TcpFlags::ACK | TcpFlags::PSH,
            window: 502,
            urgent: 0,
            options: TcpOptions {
                timestamps: Some(Timestamps { value: 1, echo: 2 }),
                ..Default::default()
            },
            payload,
        }
    }

    #[test]
    fn emitted_segment_parses_back_identically() {
        let seg = data_segment(b"hello");
        let mut buf = [0u8; 128];
        let n = emit_segment(&mut buf, SRC, DST, &seg).expect("fits");
        assert_eq!(n, segment_len(&seg));
        let p = TcpPacket::new_checked(&buf[..n]).expect("valid");
        assert!(p.verify_checksum(SRC, DST));
        assert_eq!(parse_segment(&p), Ok(seg));
    }

    #[test]
    fn emit_into_short_buffer_is_none() {
        let seg = data_segment(b"hello");
        let mut buf = [0u8; 36];
        assert_eq!(emit_segment(&mut buf, SRC, DST, &seg), None);
    }

    #[test]
    fn shorter_than_20_bytes_is_truncated() {
        let mut buf = [0u8; 64];
        let n = emit_segment(&mut buf, SRC, DST, &data_segment(b"")).expect("fits");
        for len in 0..HEADER_LEN.min(n) {
            assert_eq!(
                TcpPacket::new_checked(&buf[..len]).err(),
                Some(DropReason::TruncatedTcp)
            );
        }
    }

    #[test]
    fn data_offset_below_5_is_rejected() {
        let mut buf = [0u8; 20];
        for off in 0..5u8 {
            buf[12] = off << 4;
            assert_eq!(
                TcpPacket::new_checked(&buf[..]).err(),
                Some(DropReason::BadTcpDataOffset)
            );
        }
    }

    #[test]
    fn data_offset_beyond_segment_is_rejected() {
        let mut buf = [0u8; 24];
        buf[12] = 7 << 4; // 28-byte header in 24 bytes
        assert_eq!(
            TcpPacket::new_checked(&buf[..]).err(),
            Some(DropReason::BadTcpDataOffset)
        );
    }

    #[test]
    fn flipped_payload_bit_fails_checksum() {
        let mut buf = [0u8; 64];
        let n = emit_segment(&mut buf, SRC, DST, &data_segment(b"hello")).expect("fits");
        buf[n - 1] ^= 0x20;
        assert!(!TcpPacket::new_checked(&buf[..n])
            .expect("valid")
            .verify_checksum(SRC, DST));
    }

    #[test]
    fn reserved_bits_are_not_flags() {
        let mut buf = [0u8; 20];
        buf[12] = 0x5f;
        buf[13] = 0x12;
        let p = TcpPacket::new_checked(&buf[..]).expect("valid");
        assert_eq!(
            (p.header_len(), p.flags()),
            (20, TcpFlags::SYN | TcpFlags::ACK)
        );
    }
}
