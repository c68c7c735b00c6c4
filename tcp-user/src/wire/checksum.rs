//! The Internet checksum (RFC 1071) and the TCP pseudo-header (RFC 9293 section 3.1).
//!
//! This is the stack's only checksum routine. Sums are kept as folded 16-bit ones'-complement
//! values in network word order, so partial sums of a pseudo-header and a segment combine
//! with [`combine`] before the final complement.

use super::addr::{Addr, Family};

/// IP protocol number of TCP (the pseudo-header's PTCL field).
pub const PROTOCOL_TCP: u8 = 6;

/// Ones'-complement sum of `data` taken as big-endian 16-bit words (an odd last byte is
/// padded with zero), folded to 16 bits and not complemented.
///
/// RFC 1071 section 4.1 sums 16 bits at a time; section 2(C) allows summing wider words
/// and folding at the end because 2^16 = 1 (mod 2^16 - 1). We add 8 bytes at a time in
/// native order into a u64 with end-around carry, and section 2(B) (byte-order
/// independence) lets us swap once at the end instead of once per word.
#[inline]
pub fn ones_sum(data: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        acc = add_carry(acc, u64::from_ne_bytes(word));
    }
    let mut rest = chunks.remainder();
    if rest.len() >= 4 {
        acc = add_carry(
            acc,
            u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as u64,
        );
        rest = &rest[4..];
    }
    if rest.len() >= 2 {
        acc = add_carry(acc, u16::from_ne_bytes([rest[0], rest[1]]) as u64);
        rest = &rest[2..];
    }
    if let Some(&last) = rest.first() {
        // The odd byte is the high half of a big-endian word whose low half is zero.
        acc = add_carry(acc, u16::from_ne_bytes([last, 0]) as u64);
    }
    u16::from_be(fold(acc))
}

/// Adds two folded ones'-complement sums.
#[inline]
pub fn combine(a: u16, b: u16) -> u16 {
    let s = a as u32 + b as u32;
    ((s & 0xffff) + (s >> 16)) as u16
}

/// The Internet checksum of `data`: the complement of its ones'-complement sum. Write it
/// into a zeroed checksum field.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !ones_sum(data)
}

/// True when `data`, checksum field included, sums to all ones (RFC 1071 section 1:
/// "the result is checked by summing ... if the result is all 1 bits, the check succeeds").
#[inline]
pub fn verify(data: &[u8]) -> bool {
    ones_sum(data) == 0xffff
}

/// Sum of the IPv4 pseudo-header that TCP prepends for its checksum (RFC 9293 section 3.1):
/// source address, destination address, zero, PTCL, TCP length. Addresses in host order.
#[inline]
pub fn pseudo_header_sum(src_addr: u32, dst_addr: u32, protocol: u8, length: u16) -> u16 {
    let s = (src_addr >> 16) as u64
        + (src_addr & 0xffff) as u64
        + (dst_addr >> 16) as u64
        + (dst_addr & 0xffff) as u64
        + protocol as u64
        + length as u64;
    fold(s)
}

/// Sum of the IPv6 pseudo-header (RFC 8200 section 8.1): source address, destination
/// address, upper-layer packet length (32 bits), three zero bytes, next header.
#[inline]
pub fn pseudo_header_sum_v6(src: &[u8; 16], dst: &[u8; 16], next_header: u8, length: u32) -> u16 {
    let mut s: u64 = 0;
    for addr in [src, dst] {
        for w in addr.chunks_exact(2) {
            s += u64::from(u16::from_be_bytes([w[0], w[1]]));
        }
    }
    s += u64::from(length >> 16) + u64::from(length & 0xffff) + u64::from(next_header);
    fold(s)
}

/// The TCP checksum of `segment` over IPv6 (the checksum is mandatory there, RFC 8200
/// section 8.1). `None` when the segment is longer than the pseudo-header's length field.
#[inline]
pub fn tcp_checksum_v6(src: &[u8; 16], dst: &[u8; 16], segment: &[u8]) -> Option<u16> {
    let len = u32::try_from(segment.len()).ok()?;
    let pseudo = pseudo_header_sum_v6(src, dst, PROTOCOL_TCP, len);
    Some(!combine(pseudo, ones_sum(segment)))
}

/// True when the TCP checksum of `segment` (the upper-layer packet, checksum included)
/// verifies over IPv6.
#[inline]
pub fn verify_tcp_v6(src: &[u8; 16], dst: &[u8; 16], segment: &[u8]) -> bool {
    match u32::try_from(segment.len()) {
        Ok(len) => {
            let pseudo = pseudo_header_sum_v6(src, dst, PROTOCOL_TCP, len);
            combine(pseudo, ones_sum(segment)) == 0xffff
        }
        Err(_) => false,
    }
}

/// The TCP checksum of `segment` (header with a zeroed checksum field, options, payload)
/// sent from `src_addr` to `dst_addr`. Returns `None` when the segment is too long for the
/// pseudo-header's 16-bit length.
#[inline]
pub fn tcp_checksum(src_addr: u32, dst_addr: u32, segment: &[u8]) -> Option<u16> {
    let len = u16::try_from(segment.len()).ok()?;
    let pseudo = pseudo_header_sum(src_addr, dst_addr, PROTOCOL_TCP, len);
    Some(!combine(pseudo, ones_sum(segment)))
}

/// True when the TCP checksum of `segment` (exactly the IP payload, checksum field
/// included) verifies for the given addresses.
#[inline]
pub fn verify_tcp(src_addr: u32, dst_addr: u32, segment: &[u8]) -> bool {
    match u16::try_from(segment.len()) {
        Ok(len) => {
            let pseudo = pseudo_header_sum(src_addr, dst_addr, PROTOCOL_TCP, len);
            combine(pseudo, ones_sum(segment)) == 0xffff
        }
        Err(_) => false,
    }
}

/// The TCP checksum of `segment` from `src` to `dst` with the pseudo-header of their
/// family: IPv4's (RFC 9293 section 3.1) or IPv6's (RFC 8200 section 8.1). `None` when the
/// segment is too long, or the two addresses are of different families (no such packet).
#[inline]
pub fn tcp_checksum_for(src: &Addr, dst: &Addr, segment: &[u8]) -> Option<u16> {
    match (src.family(), dst.family()) {
        (Family::V4, Family::V4) => tcp_checksum(src.to_v4()?, dst.to_v4()?, segment),
        (Family::V6, Family::V6) => tcp_checksum_v6(src.octets(), dst.octets(), segment),
        _ => None,
    }
}

/// True when the TCP checksum of `segment` verifies from `src` to `dst` (see
/// [`tcp_checksum_for`]); false for addresses of different families.
#[inline]
pub fn verify_tcp_for(src: &Addr, dst: &Addr, segment: &[u8]) -> bool {
    match (src.to_v4(), dst.to_v4()) {
        (Some(s), Some(d)) => verify_tcp(s, d, segment),
        (None, None) => verify_tcp_v6(src.octets(), dst.octets(), segment),
        _ => false,
    }
}

/// `a + b` with the carry out of bit 63 added back in (end-around carry).
#[inline(always)]
fn add_carry(a: u64, b: u64) -> u64 {
    let (s, carry) = a.overflowing_add(b);
    // No overflow: when a carry occurred, s <= 2^64 - 2.
    s + carry as u64
}

/// Folds a 64-bit ones'-complement accumulator to 16 bits.
#[inline(always)]
fn fold(mut s: u64) -> u16 {
    s = (s & 0xffff_ffff) + (s >> 32);
    s = (s & 0xffff_ffff) + (s >> 32);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straightforward 16-bits-at-a-time reference (RFC 1071 section 4.1).
    fn reference_sum(data: &[u8]) -> u16 {
        let mut s: u32 = 0;
        for pair in data.chunks(2) {
            let hi = pair[0] as u32;
            let lo = pair.get(1).copied().unwrap_or(0) as u32;
            s += (hi << 8) | lo;
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    #[test]
    fn rfc1071_example_sums_to_ddf2() {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(ones_sum(&data), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn captured_ipv4_header_checksum_verifies_and_recomputes() {
        // IPv4 header of a Linux SYN (10.9.0.1 -> 10.9.0.2), checksum 0xd89b.
        let mut hdr = [
            0x45, 0x00, 0x00, 0x3c, 0x4e, 0x0c, 0x40, 0x00, 0x40, 0x06, 0xd8, 0x9b, 0x0a, 0x09,
            0x00, 0x01, 0x0a, 0x09, 0x00, 0x02,
        ];
        assert!(verify(&hdr));
        hdr[10] = 0;
        hdr[11] = 0;
        assert_eq!(checksum(&hdr), 0xd89b);
    }

    #[test]
    fn wide_sum_matches_16_bit_reference_for_every_length_and_offset() {
        let mut buf = [0u8; 300];
        let mut x: u32 = 0x1234_5678;
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        for start in 0..8 {
            for end in start..buf.len() {
                let d = &buf[start..end];
                assert_eq!(ones_sum(d), reference_sum(d), "start {start} end {end}");
            }
        }
    }

    #[test]
    fn all_ones_input_does_not_overflow_the_accumulator() {
        let data = [0xffu8; 4096];
        assert_eq!(ones_sum(&data), 0xffff);
    }

    #[test]
    fn combine_of_partial_sums_equals_sum_of_concatenation() {
        let a = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc];
        let b = [0xde, 0xf0, 0x11, 0x22, 0x33];
        let mut both = [0u8; 11];
        both[..6].copy_from_slice(&a);
        both[6..].copy_from_slice(&b);
        assert_eq!(combine(ones_sum(&a), ones_sum(&b)), ones_sum(&both));
    }

    #[test]
    fn tcp_checksum_is_verified_by_verify_tcp() {
        let mut seg = [0u8; 21];
        seg[0] = 0x9f;
        seg[12] = 0x50;
        seg[20] = 0x41; // odd length: one byte of payload
        let c = tcp_checksum(0x0a09_0001, 0x0a09_0002, &seg).unwrap_or_default();
        seg[16..18].copy_from_slice(&c.to_be_bytes());
        assert!(verify_tcp(0x0a09_0001, 0x0a09_0002, &seg));
        assert!(
            !verify_tcp(0x0a09_0001, 0x0a09_0003, &seg),
            "pseudo-header covers dst"
        );
    }

    #[test]
    fn ipv6_tcp_checksum_matches_a_kernel_segment() {
        let pkt = crate::wire::test_vectors::hex(crate::wire::test_vectors::KERNEL_V6_SYN);
        let (src, dst): ([u8; 16], [u8; 16]) = (
            pkt[8..24].try_into().unwrap(),
            pkt[24..40].try_into().unwrap(),
        );
        let mut seg = pkt[40..].to_vec();
        assert!(verify_tcp_v6(&src, &dst, &seg));
        seg[16] = 0;
        seg[17] = 0;
        assert_eq!(tcp_checksum_v6(&src, &dst, &seg), Some(0x5899));
        // The addresses are covered: another source fails.
        let mut other = src;
        other[15] ^= 1;
        seg[16..18].copy_from_slice(&0x5899u16.to_be_bytes());
        assert!(!verify_tcp_v6(&other, &dst, &seg));
    }
}
