//! Tests of [`parse_frame`] and [`emit_frame`] on whole frames: round trips, a frame
//! captured from Linux, every rejection, and a fuzz-style no-panic check.

use super::frame::{emit_frame, frame_len, parse_frame, FrameHeader};
use super::ipv4::Ipv4Packet;
use super::tcp::TcpPacket;
use super::MacAddr;
use crate::stats::DropReason;
use crate::tcp::{SackBlock, SackBlocks, Segment, SeqNum, TcpFlags, TcpOptions, Timestamps};
use crate::wire::Addr;

const ETH: usize = 14;
const IP: usize = ETH + 20;

/// A SYN captured on a veth with an AF_PACKET socket (Linux 6.x `connect()` to
/// 10.9.0.2:80 from 10.9.0.1:40718): MSS 1460, SACK-permitted, TS, NOP, WS 7. The veth
/// offloads the TCP checksum, so the kernel left only the pseudo-header sum (0x1443) in
/// the field; bytes 50..52 hold the full checksum 0x7fc3 a NIC would have written.
const LINUX_SYN: [u8; 74] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0xe6, 0x5d, 0xab, 0xf2, 0x31, 0x1c, 0x08, 0x00, // eth
    0x45, 0x00, 0x00, 0x3c, 0x4e, 0x0c, 0x40, 0x00, 0x40, 0x06, 0xd8, 0x9b, 0x0a, 0x09, 0x00, 0x01,
    0x0a, 0x09, 0x00, 0x02, // ipv4
    0x9f, 0x0e, 0x00, 0x50, 0xee, 0xdb, 0xe1, 0x30, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
    0x7f, 0xc3, 0x00, 0x00, // tcp
    0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x4e, 0x59, 0xfb, 0x72, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x03, 0x03, 0x07, // options
];

fn header() -> FrameHeader {
    FrameHeader {
        src_mac: MacAddr([0xe6, 0x5d, 0xab, 0xf2, 0x31, 0x1c]),
        dst_mac: MacAddr([0x02, 0, 0, 0, 0, 0x02]),
        src_addr: Addr::v4(0x0a09_0001),
        dst_addr: Addr::v4(0x0a09_0002),
        ttl: 64,
        ip_id: 0x4e0c,
        flow_label: 0,
    }
}

fn linux_syn_segment() -> Segment<'static> {
    Segment {
        src_port: 40718,
        dst_port: 80,
        seq: SeqNum(0xeedb_e130),
        ack: SeqNum(0),
        flags: TcpFlags::SYN,
        window: 64240,
        urgent: 0,
        options: TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some(Timestamps {
                value: 0x4e59_fb72,
                echo: 0,
            }),
            sack: SackBlocks::default(),
        },
        payload: &[],
    }
}

fn emit(seg: &Segment, buf: &mut [u8]) -> usize {
    let n = emit_frame(buf, &header(), seg).expect("buffer large enough");
    assert_eq!(n, frame_len(&header(), seg));
    n
}

/// Recomputes the IPv4 header checksum after a test edits the header.
fn refill_ip(frame: &mut [u8]) {
    Ipv4Packet::new_unchecked(&mut frame[ETH..]).fill_checksum();
}

/// Recomputes the TCP checksum over the IP payload after a test edits the segment.
fn refill_tcp(frame: &mut [u8]) {
    let total = u16::from_be_bytes([frame[ETH + 2], frame[ETH + 3]]) as usize;
    let h = header();
    let mut tcp = TcpPacket::new_unchecked(&mut frame[IP..ETH + total]);
    tcp.fill_checksum(h.src_addr, h.dst_addr)
        .expect("short segment");
}

#[test]
fn linux_syn_parses_to_its_fields() {
    let p = parse_frame(&LINUX_SYN).expect("valid SYN");
    let h = header();
    assert_eq!((p.src_mac, p.dst_mac), (h.src_mac, h.dst_mac));
    assert_eq!(
        (p.src_addr, p.dst_addr, p.ttl),
        (Addr::v4(0x0a09_0001), Addr::v4(0x0a09_0002), 64)
    );
    assert_eq!(p.segment, linux_syn_segment());
}

#[test]
fn linux_syn_is_emitted_byte_for_byte() {
    let mut buf = [0xaau8; 128];
    let n = emit(&linux_syn_segment(), &mut buf);
    assert_eq!(&buf[..n], &LINUX_SYN[..]);
}

#[test]
fn linux_syn_with_offload_partial_checksum_is_rejected() {
    let mut frame = LINUX_SYN;
    frame[50..52].copy_from_slice(&[0x14, 0x43]);
    assert_eq!(parse_frame(&frame), Err(DropReason::BadTcpChecksum));
}

#[test]
fn syn_with_all_options_round_trips() {
    let mut seg = linux_syn_segment();
    seg.flags = TcpFlags::SYN | TcpFlags::ACK;
    seg.ack = SeqNum(0xeedb_e131);
    seg.options.timestamps = Some(Timestamps {
        value: 99,
        echo: 0x4e59_fb72,
    });
    let mut buf = [0u8; 128];
    let n = emit(&seg, &mut buf);
    assert_eq!(parse_frame(&buf[..n]).map(|p| p.segment), Ok(seg));
}

#[test]
fn data_with_timestamps_and_sack_round_trips() {
    let payload = [0x5au8; 1000];
    let mut sack = SackBlocks::default();
    for i in 0..3u32 {
        sack.push(SackBlock {
            left: SeqNum(5000 + 2000 * i),
            right: SeqNum(6000 + 2000 * i),
        });
    }
    let seg = Segment {
        src_port: 80,
        dst_port: 40718,
        seq: SeqNum(u32::MAX - 100),
        ack: SeqNum(4000),
        flags: TcpFlags::ACK | TcpFlags::PSH,
        window: 0xffff,
        urgent: 0,
        options: TcpOptions {
            timestamps: Some(Timestamps { value: 1, echo: 2 }),
            sack,
            ..Default::default()
        },
        payload: &payload,
    };
    let mut buf = [0u8; 1514];
    let n = emit(&seg, &mut buf);
    assert_eq!(n, 14 + 20 + 20 + 40 + 1000);
    assert_eq!(parse_frame(&buf[..n]).map(|p| p.segment), Ok(seg));
}

#[test]
fn bare_rst_round_trips_and_is_padded_to_60_bytes() {
    let seg = Segment {
        src_port: 80,
        dst_port: 40718,
        seq: SeqNum(12345),
        flags: TcpFlags::RST,
        ..Default::default()
    };
    let mut buf = [0xeeu8; 128];
    let n = emit(&seg, &mut buf);
    assert_eq!(n, 60);
    assert_eq!(&buf[54..60], &[0u8; 6], "padding is zeroed");
    assert_eq!(parse_frame(&buf[..n]).map(|p| p.segment), Ok(seg));
}

#[test]
fn ethernet_padding_beyond_ip_total_length_is_ignored() {
    let seg = Segment {
        flags: TcpFlags::ACK,
        ..Default::default()
    };
    let mut buf = [0u8; 128];
    let n = emit(&seg, &mut buf);
    buf[54..n].fill(0xde); // non-zero padding must not enter the TCP checksum
    let p = parse_frame(&buf[..n]).expect("padding is not payload");
    assert!(p.segment.payload.is_empty());
}

#[test]
fn emit_into_short_buffer_is_none() {
    let seg = linux_syn_segment();
    let mut buf = [0u8; 73];
    assert_eq!(emit_frame(&mut buf, &header(), &seg), None);
}

#[test]
fn bad_ip_checksum_is_rejected() {
    let mut frame = LINUX_SYN;
    frame[ETH + 11] ^= 0x01;
    assert_eq!(parse_frame(&frame), Err(DropReason::BadIpv4Checksum));
}

#[test]
fn bad_tcp_checksum_is_rejected() {
    let mut frame = LINUX_SYN;
    frame[IP + 4] ^= 0x80; // sequence number
    assert_eq!(parse_frame(&frame), Err(DropReason::BadTcpChecksum));
}

#[test]
fn truncation_below_ethernet_and_ip_headers_and_total_length_is_rejected() {
    for len in 0..LINUX_SYN.len() {
        let expected = if len < ETH {
            DropReason::TruncatedEthernet
        } else {
            DropReason::TruncatedIpv4 // header or total length beyond the frame
        };
        assert_eq!(parse_frame(&LINUX_SYN[..len]), Err(expected), "len {len}");
    }
}

#[test]
fn ip_payload_shorter_than_tcp_header_is_truncated_tcp() {
    for tcp_len in 0..20u16 {
        let mut frame = LINUX_SYN;
        frame[ETH + 2..ETH + 4].copy_from_slice(&(20 + tcp_len).to_be_bytes());
        refill_ip(&mut frame);
        assert_eq!(
            parse_frame(&frame),
            Err(DropReason::TruncatedTcp),
            "tcp_len {tcp_len}"
        );
    }
}

#[test]
fn ihl_below_5_is_rejected() {
    let mut frame = LINUX_SYN;
    frame[ETH] = 0x44;
    refill_ip(&mut frame);
    assert_eq!(parse_frame(&frame), Err(DropReason::BadIpv4HeaderLength));
}

#[test]
fn data_offset_below_5_is_rejected() {
    let mut frame = LINUX_SYN;
    frame[IP + 12] = 0x40;
    refill_tcp(&mut frame);
    assert_eq!(parse_frame(&frame), Err(DropReason::BadTcpDataOffset));
}

#[test]
fn data_offset_beyond_segment_is_rejected() {
    let mut frame = LINUX_SYN;
    frame[IP + 12] = 0xb0; // 44 bytes of header in a 40-byte segment
    refill_tcp(&mut frame);
    assert_eq!(parse_frame(&frame), Err(DropReason::BadTcpDataOffset));
}

#[test]
fn option_length_0_1_or_overrun_is_bad_tcp_option() {
    // Replace the WS option (NOP, 3, 3, 7 at option bytes 16..20) with bad ones.
    for bad in [[1, 1, 3, 0], [1, 1, 3, 1], [1, 1, 3, 3], [1, 1, 8, 10]] {
        let mut frame = LINUX_SYN;
        frame[IP + 36..IP + 40].copy_from_slice(&bad);
        refill_tcp(&mut frame);
        assert_eq!(
            parse_frame(&frame),
            Err(DropReason::BadTcpOption),
            "{bad:?}"
        );
    }
}

#[test]
fn fragments_are_rejected() {
    for flags_offset in [0x2000u16, 0x0001, 0x4001, 0x3fff] {
        let mut frame = LINUX_SYN;
        frame[ETH + 6..ETH + 8].copy_from_slice(&flags_offset.to_be_bytes());
        refill_ip(&mut frame);
        assert_eq!(
            parse_frame(&frame),
            Err(DropReason::Ipv4Fragment),
            "{flags_offset:#x}"
        );
    }
}

#[test]
fn vlan_tagged_frame_is_not_ipv4() {
    let mut frame = LINUX_SYN;
    frame[12..14].copy_from_slice(&[0x81, 0x00]);
    assert_eq!(parse_frame(&frame), Err(DropReason::NotIpv4));
}

#[test]
fn udp_is_not_tcp() {
    let mut frame = LINUX_SYN;
    frame[ETH + 9] = 17;
    refill_ip(&mut frame);
    assert_eq!(parse_frame(&frame), Err(DropReason::NotTcp));
}

#[test]
fn multicast_source_mac_is_bad_address() {
    let mut frame = LINUX_SYN;
    frame[6] = 0x01;
    assert_eq!(parse_frame(&frame), Err(DropReason::BadAddress));
}

#[test]
fn broadcast_multicast_or_zero_ip_source_is_bad_address() {
    for src in [0u32, 0xffff_ffff, 0xe000_00fb] {
        let mut frame = LINUX_SYN;
        frame[ETH + 12..ETH + 16].copy_from_slice(&src.to_be_bytes());
        refill_ip(&mut frame);
        assert_eq!(parse_frame(&frame), Err(DropReason::BadAddress), "{src:#x}");
    }
}

#[test]
fn broadcast_destination_is_bad_address() {
    let mut frame = LINUX_SYN;
    frame[ETH + 16..ETH + 20].copy_from_slice(&[255, 255, 255, 255]);
    refill_ip(&mut frame);
    assert_eq!(parse_frame(&frame), Err(DropReason::BadAddress));
}

#[test]
fn ip_options_are_skipped_and_tcp_checksum_covers_only_ip_payload() {
    // Rebuild the SYN with 4 bytes of IP options (NOP NOP NOP EOL) and 6 bytes of padding.
    let mut frame = [0u8; 84];
    frame[..IP].copy_from_slice(&LINUX_SYN[..IP]);
    frame[IP..IP + 4].copy_from_slice(&[1, 1, 1, 0]);
    frame[IP + 4..78].copy_from_slice(&LINUX_SYN[IP..]);
    frame[78..].fill(0x77);
    frame[ETH] = 0x46;
    frame[ETH + 2..ETH + 4].copy_from_slice(&64u16.to_be_bytes());
    refill_ip(&mut frame);
    let p = parse_frame(&frame).expect("options are allowed");
    assert_eq!(p.segment, linux_syn_segment());
}

/// xorshift32: enough randomness to mutate frames, no extra crates.
struct XorShift(u32);

impl XorShift {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
}

#[test]
fn parse_frame_never_panics_on_truncations_or_mutations() {
    let payload = [0x42u8; 37];
    let mut sack = SackBlocks::default();
    sack.push(SackBlock {
        left: SeqNum(1),
        right: SeqNum(2),
    });
    let seg = Segment {
        flags: TcpFlags::ACK,
        options: TcpOptions {
            timestamps: Some(Timestamps::default()),
            sack,
            ..Default::default()
        },
        payload: &payload,
        ..Default::default()
    };
    let mut valid = [0u8; 256];
    let n = emit(&seg, &mut valid);
    for base in [&valid[..n], &LINUX_SYN[..]] {
        for len in 0..=base.len() {
            let _ = parse_frame(&base[..len]);
        }
    }
    let mut rng = XorShift(0x9e37_79b9);
    let mut accepted = 0;
    for round in 0..5000 {
        let mut frame = [0u8; 256];
        let base: &[u8] = if round & 1 == 0 {
            &valid[..n]
        } else {
            &LINUX_SYN
        };
        frame[..base.len()].copy_from_slice(base);
        for _ in 0..1 + rng.next() % 4 {
            let at = ETH + (rng.next() as usize % (base.len() - ETH));
            frame[at] = rng.next() as u8;
        }
        // Keep the IP checksum valid half the time so mutations reach the TCP parser.
        if rng.next() & 1 == 0 {
            refill_ip(&mut frame);
            if rng.next() & 1 == 0 && Ipv4Packet::new_checked(&frame[ETH..]).is_ok() {
                let total = u16::from_be_bytes([frame[ETH + 2], frame[ETH + 3]]) as usize;
                let hl = (frame[ETH] & 0x0f) as usize * 4;
                if hl == 20 && total >= 38 {
                    refill_tcp(&mut frame);
                }
            }
        }
        let len = base.len() - (rng.next() as usize % 8).min(base.len());
        accepted += parse_frame(&frame[..len]).is_ok() as u32;
    }
    assert!(
        accepted > 0,
        "some mutations (e.g. of ports or window) still parse"
    );
}
