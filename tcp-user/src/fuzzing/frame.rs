//! The frame parser target.

use super::*;

/// `parse_frame` on arbitrary bytes must not panic; a frame it accepts must re-emit with
/// [`emit_frame`] and parse back to the same addresses and segment (up to what the emitter
/// is documented to leave out), and re-emitting that must give the same bytes.
pub fn fuzz_frame(data: &[u8]) {
    check_checksum(data);
    check_ipv6_walk(data);
    let Ok(parsed) = parse_frame(data) else {
        return;
    };
    let seg = parsed.segment;
    let payload_range = data.as_ptr_range();
    assert!(
        seg.payload.is_empty() || payload_range.contains(&seg.payload.as_ptr()),
        "payload must borrow from the frame"
    );
    let hdr = FrameHeader {
        src_mac: parsed.src_mac,
        dst_mac: parsed.dst_mac,
        src_addr: parsed.src_addr,
        dst_addr: parsed.dst_addr,
        ttl: parsed.ttl,
        ip_id: 0x1234,
        flow_label: 0xabcde,
    };
    let mut buf = vec![0u8; MAX_FRAME];
    // The 16-bit length field: IPv4's total length counts its 20-byte header, IPv6's
    // payload length does not count the fixed header.
    let ip_len = crate::wire::segment_len(&seg)
        + match parsed.src_addr.family() {
            Family::V4 => 20,
            Family::V6 => 0,
        };
    let Some(n) = emit_frame(&mut buf, &hdr, &seg) else {
        // Options we write in full may be longer than the compact form received, so a
        // frame at the 64 KiB limit may not fit once re-emitted; nothing else may fail.
        assert!(
            ip_len > 65535,
            "emit_frame refused a parsed segment: {seg:?}"
        );
        return;
    };
    assert_eq!(n, frame_len(&hdr, &seg));
    let again = parse_frame(&buf[..n]).expect("an emitted frame must parse");
    assert_eq!(again.src_mac, parsed.src_mac);
    assert_eq!(again.dst_mac, parsed.dst_mac);
    assert_eq!(again.src_addr, parsed.src_addr);
    assert_eq!(again.dst_addr, parsed.dst_addr);
    assert_eq!(again.ttl, parsed.ttl);
    if let Ok(ip) = crate::wire::Ipv6Packet::new_checked(&buf[14..n]) {
        assert!(!parsed.src_addr.is_v4(), "an IPv4 frame came back as IPv6");
        assert_eq!(ip.flow_label(), 0xabcde, "the flow label is written");
    }
    assert_eq!(
        canonical(&again.segment),
        as_emitted(&seg),
        "round trip changed the segment"
    );
    // A fixed point: emitting what we parsed back gives the same bytes.
    let mut buf2 = vec![0u8; n];
    let n2 = emit_frame(&mut buf2, &hdr, &again.segment).expect("fits");
    assert_eq!(&buf[..n], &buf2[..n2], "emit is not a fixed point");
}

/// What `emit_frame` writes for `seg`: SYN-only options only on SYN, SACK blocks only on
/// non-SYN segments and only as many as fit in 40 bytes next to timestamps.
pub(super) fn as_emitted<'a>(seg: &Segment<'a>) -> Segment<'a> {
    let mut s = *seg;
    let syn = s.flags.syn();
    if !syn {
        s.options.mss = None;
        s.options.window_scale = None;
        s.options.sack_permitted = false;
        let room: usize = 40
            - if s.options.timestamps.is_some() {
                12
            } else {
                0
            };
        s.options.sack.truncate(room.saturating_sub(4) / 8);
    } else {
        s.options.sack = SackBlocks::default();
        // The parser applies RFC 7323 section 2.3's "use 14 instead".
        s.options.window_scale = s.options.window_scale.map(|w| w.min(14));
    }
    canonical(&s)
}

/// `seg` with its SACK list rebuilt: `SackBlocks`' derived `PartialEq` also compares the
/// unused slots behind `len` (left over by `truncate`), which no reader can see.
pub(super) fn canonical<'a>(seg: &Segment<'a>) -> Segment<'a> {
    let mut s = *seg;
    let mut sack = SackBlocks::default();
    for b in seg.options.sack.as_slice() {
        sack.push(*b);
    }
    s.options.sack = sack;
    s
}

/// The optimized ones'-complement sum must equal RFC 1071's 16-bit loop, at every
/// alignment the input offers.
pub(super) fn check_checksum(data: &[u8]) {
    for start in 0..data.len().min(8) {
        let d = &data[start..];
        assert_eq!(
            checksum::ones_sum(d),
            reference_ones_sum(d),
            "ones_sum disagrees with RFC 1071 at offset {start}"
        );
    }
}

pub(super) fn reference_ones_sum(data: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    for pair in data.chunks(2) {
        let hi = pair[0] as u64;
        let lo = pair.get(1).copied().unwrap_or(0) as u64;
        sum += (hi << 8) | lo;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

// ---------------------------------------------------------------------------------------
// Script input
// ---------------------------------------------------------------------------------------

/// The IPv6 view and its extension-header walk on the same bytes (after an Ethernet header's
/// worth): never a panic, and an upper layer found lies within the payload.
fn check_ipv6_walk(data: &[u8]) {
    use crate::wire::ipv6::{Ipv6Packet, UpperLayer};
    let Some(ip) = data.get(14..) else { return };
    let Ok(p) = Ipv6Packet::new_checked(ip) else {
        return;
    };
    match p.upper_layer() {
        Ok(UpperLayer::Protocol { offset, .. }) => assert!(offset <= p.payload().len()),
        Ok(UpperLayer::Fragment { offset, .. }) => assert!(offset + 8 <= p.payload().len()),
        Err(_) => {}
    }
}
