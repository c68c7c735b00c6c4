//! [`parse_frame`] and [`emit_frame`] over IPv6: a SYN the Linux kernel sent, round trips
//! with the flow label and hop limit, and the rejections of IPv6 addresses.

use super::frame::{emit_frame, frame_len, parse_frame, FrameHeader};
use super::test_vectors::{hex, KERNEL_V6_SYN};
use super::{Addr, MacAddr};
use crate::stats::DropReason;
use crate::tcp::{SackBlock, SackBlocks, Segment, SeqNum, TcpFlags, TcpOptions, Timestamps};

/// The kernel's IPv6 SYN of `test_vectors` behind an Ethernet header.
fn kernel_syn_frame() -> Vec<u8> {
    let mut frame = hex("0200 0000 0002 e65d abf2 311c 86dd");
    frame.extend(hex(KERNEL_V6_SYN));
    frame
}

fn v6(last: u8) -> Addr {
    let mut a = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    a[15] = last;
    Addr::v6(a)
}

fn header() -> FrameHeader {
    FrameHeader {
        src_mac: MacAddr([0xe6, 0x5d, 0xab, 0xf2, 0x31, 0x1c]),
        dst_mac: MacAddr([0x02, 0, 0, 0, 0, 0x02]),
        src_addr: v6(2),
        dst_addr: v6(1),
        ttl: 64,
        ip_id: 0,
        flow_label: 0x613d9,
    }
}

#[test]
fn a_linux_v6_syn_parses_and_is_emitted_byte_for_byte() {
    let frame = kernel_syn_frame();
    let p = parse_frame(&frame).expect("the kernel's SYN parses");
    assert_eq!((p.src_addr, p.dst_addr, p.ttl), (v6(2), v6(1), 64));
    let s = p.segment;
    assert_eq!(
        (s.src_port, s.dst_port, s.seq),
        (53688, 80, SeqNum(0x4f28_8851))
    );
    assert_eq!(s.flags, TcpFlags::SYN);
    assert_eq!(s.options.mss, Some(1440));
    assert_eq!(s.options.window_scale, Some(10));
    let mut buf = [0u8; 128];
    let n = emit_frame(&mut buf, &header(), &s).expect("fits");
    assert_eq!(&buf[..n], &frame[..], "same bytes, flow label included");
}

#[test]
fn a_v6_data_segment_round_trips_with_its_flow_label_and_hop_limit() {
    let mut sack = SackBlocks::default();
    sack.push(SackBlock {
        left: SeqNum(5000),
        right: SeqNum(6000),
    });
    let seg = Segment {
        src_port: 80,
        dst_port: 40000,
        seq: SeqNum(1),
        ack: SeqNum(2),
        flags: TcpFlags::ACK | TcpFlags::PSH,
        window: 1000,
        urgent: 0,
        options: TcpOptions {
            timestamps: Some(Timestamps { value: 7, echo: 9 }),
            sack,
            ..TcpOptions::default()
        },
        payload: b"over six",
    };
    let hdr = FrameHeader {
        ttl: 1,
        flow_label: 0xfffff,
        ..header()
    };
    let mut buf = [0u8; 256];
    let n = emit_frame(&mut buf, &hdr, &seg).expect("fits");
    assert_eq!(n, frame_len(&hdr, &seg));
    assert_eq!(n, 14 + 40 + 20 + 12 + 12 + 8);
    assert_eq!(&buf[12..14], &[0x86, 0xdd]);
    let ip = super::Ipv6Packet::new_checked(&buf[14..n]).unwrap();
    assert_eq!((ip.flow_label(), ip.hop_limit()), (0xfffff, 1));
    let p = parse_frame(&buf[..n]).expect("parses");
    assert_eq!((p.src_addr, p.dst_addr, p.ttl), (v6(2), v6(1), 1));
    assert_eq!(p.segment.payload, b"over six");
    assert_eq!(
        p.segment.options.sack.as_slice(),
        seg.options.sack.as_slice()
    );
}

#[test]
fn a_header_mixing_families_emits_nothing() {
    let hdr = FrameHeader {
        dst_addr: Addr::v4(0x0a00_0001),
        ..header()
    };
    let mut buf = [0u8; 128];
    assert_eq!(emit_frame(&mut buf, &hdr, &Segment::default()), None);
}

#[test]
fn multicast_unspecified_and_v4_mapped_v6_addresses_are_refused() {
    let emit_with = |src: Addr, dst: Addr| {
        let hdr = FrameHeader {
            src_addr: src,
            dst_addr: dst,
            ..header()
        };
        let mut buf = vec![0u8; 128];
        let seg = Segment {
            flags: TcpFlags::SYN,
            ..Segment::default()
        };
        let n = emit_frame(&mut buf, &hdr, &seg).unwrap();
        buf.truncate(n);
        parse_frame(&buf).map(|_| ())
    };
    let mut all_nodes = [0u8; 16];
    all_nodes[0] = 0xff;
    all_nodes[1] = 0x02;
    all_nodes[15] = 1;
    let mapped: std::net::Ipv6Addr = "::ffff:10.0.0.1".parse().unwrap();
    let mapped = Addr::v6(mapped.octets()); // as raw octets off a wire
    assert_eq!(
        emit_with(v6(2), Addr::v6(all_nodes)),
        Err(DropReason::BadAddress)
    );
    assert_eq!(
        emit_with(Addr::v6(all_nodes), v6(1)),
        Err(DropReason::BadAddress)
    );
    assert_eq!(
        emit_with(Addr::v6([0; 16]), v6(1)),
        Err(DropReason::BadAddress)
    );
    assert_eq!(emit_with(v6(2), v6(1)), Ok(()));
    // A v4-mapped address is the IPv4 address inside the stack: `emit_frame` writes IPv4
    // for it, so build the IPv6 frame by hand to see the parser refuse one.
    let mut frame = kernel_syn_frame();
    frame[14 + 8..14 + 24].copy_from_slice(mapped.octets());
    assert_eq!(parse_frame(&frame), Err(DropReason::V4MappedOnV6));
    let mut frame = kernel_syn_frame();
    frame[14 + 24..14 + 40].copy_from_slice(mapped.octets());
    assert_eq!(parse_frame(&frame), Err(DropReason::V4MappedOnV6));
}

#[test]
fn hop_limit_zero_is_dropped_and_one_is_delivered() {
    let mut frame = kernel_syn_frame();
    // Ethernet (14) + version/class/flow (4) + payload length (2) + next header (1).
    let hop = 14 + 7;
    frame[hop] = 0;
    assert_eq!(
        parse_frame(&frame).err(),
        Some(DropReason::Ipv6HopLimitZero)
    );
    // The hop limit is not in the TCP pseudo-header: the checksum still holds.
    frame[hop] = 1;
    assert_eq!(parse_frame(&frame).map(|p| p.ttl).ok(), Some(1));
}
