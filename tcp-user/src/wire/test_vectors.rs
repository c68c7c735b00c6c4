//! Frames real peers sent, and a builder of frames between two addresses, for tests.

use super::{emit_frame, Addr, FrameHeader, MacAddr};
use crate::tcp::Segment;

/// A SYN the Linux kernel sent over IPv6 (checksum offload off), captured with tcpdump:
/// 2001:db8::2.53688 > 2001:db8::1.80, TCP checksum 0x5899 (correct), flow label 0x613d9,
/// MSS 1440. The IPv6 packet, without an Ethernet header.
pub const KERNEL_V6_SYN: &str = "6006 13d9 0028 0640 2001 0db8 0000 0000 0000 0000 0000 0002 \
    2001 0db8 0000 0000 0000 0000 0000 0001 d1b8 0050 4f28 8851 0000 0000 a002 fd20 \
    5899 0000 0204 05a0 0402 080a c10a 2c55 0000 0000 0103 030a";

/// Bytes from hex digits (anything else, such as spaces, is skipped).
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).expect("ascii"), 16).expect("hex"))
        .collect()
}

/// The Ethernet frame of `seg` from `src` to `dst` (either family), between two fixed MACs
/// (02:..:01 to 02:..:02), hop limit 64, flow label 0.
pub fn frame_between(src: Addr, dst: Addr, seg: &Segment<'_>) -> Vec<u8> {
    let hdr = FrameHeader {
        src_mac: MacAddr([2, 0, 0, 0, 0, 1]),
        dst_mac: MacAddr([2, 0, 0, 0, 0, 2]),
        src_addr: src,
        dst_addr: dst,
        ttl: 64,
        ip_id: 0,
        flow_label: 0,
    };
    let mut buf = vec![0u8; 128 + seg.payload.len()];
    let n = emit_frame(&mut buf, &hdr, seg).expect("the frame fits");
    buf.truncate(n);
    buf
}
