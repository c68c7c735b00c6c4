//! Criterion micro-benchmarks of the packet path, each reporting time per operation:
//! parsing a full-size frame, the Internet checksum, a connection lookup among 10,000,
//! the engine's work per received data segment and per ACK of sent data, and writing an
//! ACK frame.
//!
//! `cargo bench -p benches --bench hot_path` (add `-- <name>` for one). Warm-up 1 s and
//! measurement 2 s per benchmark are set below; criterion's own flags override them.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use tcp_user::table::ConnectionTable;
use tcp_user::tcp::{
    Config, Connection, FourTuple, Instant, Segment, SeqNum, State, TcpFlags, TcpOptions,
    Timestamps,
};
use tcp_user::wire::{checksum, emit_frame, parse_frame, FrameHeader, MacAddr};

const MSS: usize = 1448; // 1460 minus the timestamps option
const ISS: u32 = 1_000;
const IRS: u32 = 5_000;

fn tuple() -> FourTuple {
    FourTuple {
        local_addr: tcp_user::wire::Addr::v4(0x0a09_0002),
        local_port: 80,
        remote_addr: tcp_user::wire::Addr::v4(0x0a09_0001),
        remote_port: 40_000,
    }
}

/// The header of frames the peer sends us.
fn peer_header() -> FrameHeader {
    FrameHeader {
        src_mac: MacAddr([0x02, 0, 0, 0, 0, 0x01]),
        dst_mac: MacAddr([0x02, 0, 0, 0, 0, 0x02]),
        src_addr: tcp_user::wire::Addr::v4(0x0a09_0001),
        dst_addr: tcp_user::wire::Addr::v4(0x0a09_0002),
        ttl: 64,
        ip_id: 0,
        flow_label: 0,
    }
}

fn ts(value: u32, echo: u32) -> TcpOptions {
    TcpOptions {
        timestamps: Some(Timestamps { value, echo }),
        ..TcpOptions::default()
    }
}

/// A Linux-like SYN: MSS 1460, SACK-permitted, timestamps, window scale 7.
fn syn(t: &FourTuple, irs: u32) -> Segment<'static> {
    Segment {
        src_port: t.remote_port,
        dst_port: t.local_port,
        seq: SeqNum(irs),
        flags: TcpFlags::SYN,
        window: 64_240,
        options: TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some(Timestamps { value: 1, echo: 0 }),
            ..TcpOptions::default()
        },
        ..Segment::default()
    }
}

/// An ESTABLISHED connection (handshake done, SYN-ACK acknowledged) at `now`.
fn established(config: &Arc<Config>, now: Instant) -> Connection {
    let t = tuple();
    let mut conn = Connection::accept(now, config, t, &syn(&t, IRS), SeqNum(ISS));
    while conn.poll_transmit(now).is_some() {}
    let ack = Segment {
        src_port: t.remote_port,
        dst_port: t.local_port,
        seq: SeqNum(IRS + 1),
        ack: SeqNum(ISS + 1),
        flags: TcpFlags::ACK,
        window: 502, // << 7 = 64 KiB
        options: ts(2, 0),
        ..Segment::default()
    };
    conn.handle_segment(now, &ack).expect("handshake ACK");
    assert_eq!(conn.state(), State::Established);
    while conn.poll_event().is_some() {}
    conn
}

fn parse_frame_1500b(c: &mut Criterion) {
    let payload = vec![0xa5u8; MSS];
    let seg = Segment {
        src_port: 40_000,
        dst_port: 80,
        seq: SeqNum(IRS + 1),
        ack: SeqNum(ISS + 1),
        flags: TcpFlags::ACK | TcpFlags::PSH,
        window: 502,
        options: ts(100, 200),
        payload: &payload,
        ..Segment::default()
    };
    let mut frame = vec![0u8; 2048];
    let n = emit_frame(&mut frame, &peer_header(), &seg).expect("fits");
    assert_eq!(n, 14 + 1500, "a full-size IPv4 packet");
    let frame = &frame[..n];
    c.bench_function("parse_frame_1500B", |b| {
        b.iter(|| parse_frame(black_box(frame)).expect("valid"))
    });
}

fn checksum_1460b(c: &mut Criterion) {
    let data: Vec<u8> = (0..1460u32).map(|i| (i * 31 + 7) as u8).collect();
    c.bench_function("checksum_1460B", |b| {
        b.iter(|| checksum::checksum(black_box(&data)))
    });
}

fn table_lookup_10k_conns(c: &mut Criterion) {
    const N: u32 = 10_000;
    // Small buffers: the table, not 10,000 x 512 KiB of buffers, is what is measured.
    let config = Config {
        recv_buffer: 4096,
        send_buffer: 4096,
        ..Config::default()
    };
    let config = Arc::new(config);
    let now = Instant::from_millis(1_000);
    let mut table: ConnectionTable<()> = ConnectionTable::new(N as usize, 0);
    let mut tuples = Vec::with_capacity(N as usize);
    for i in 0..N {
        // Clients spread over addresses and ephemeral ports, as a load generator makes.
        let t = FourTuple {
            remote_addr: tcp_user::wire::Addr::v4(0x0a00_0000 | (i / 500 + 1)),
            remote_port: 32_768 + (i % 500) as u16 * 7,
            ..tuple()
        };
        let conn = Connection::accept(now, &config, t, &syn(&t, i * 7919), SeqNum(i));
        table.insert(conn, (), [2, 0, 0, 0, 0, 1]).expect("room");
        tuples.push(t);
    }
    // Visit in a scattered order so the lookups do not walk memory linearly.
    let order: Vec<FourTuple> = (0..N)
        .map(|i| tuples[((i as u64 * 7_919) % N as u64) as usize])
        .collect();
    let mut i = 0;
    c.bench_function("table_lookup_10k_conns", |b| {
        b.iter(|| {
            i = (i + 1) % order.len();
            table.lookup(black_box(&order[i])).expect("present")
        })
    });
}

/// Receiver side, per segment: an in-order 1448-byte data segment is processed, the
/// application reads it, and whatever the connection sends is drained (an ACK every
/// second segment, as delayed ACKs allow).
fn engine_segment_in_order_data(c: &mut Criterion) {
    let now = Instant::from_millis(1_000);
    let mut conn = established(&Arc::new(Config::default()), now);
    let payload = vec![0x5au8; MSS];
    let mut app = vec![0u8; MSS];
    let mut seq = SeqNum(IRS + 1);
    let mut tsval = 10u32;
    c.bench_function("engine_segment_in_order_data", |b| {
        b.iter(|| {
            tsval = tsval.wrapping_add(1);
            let seg = Segment {
                src_port: 40_000,
                dst_port: 80,
                seq,
                ack: SeqNum(ISS + 1),
                flags: TcpFlags::ACK | TcpFlags::PSH,
                window: 502,
                options: ts(tsval, 0),
                payload: &payload,
                ..Segment::default()
            };
            let _ = conn.handle_segment(now, black_box(&seg));
            seq += MSS;
            let n = conn.recv(&mut app);
            while let Some(out) = conn.poll_transmit(now) {
                black_box(out.ack);
            }
            while conn.poll_event().is_some() {}
            n
        })
    });
    // Every segment was accepted in order and read, not dropped.
    assert_eq!(conn.state(), State::Established);
    // (Modulo 2^32: a run moves tens of gigabytes through the sequence space.)
    assert_eq!(conn.stats().bytes_in as u32, seq.0.wrapping_sub(IRS + 1));
    assert_eq!(conn.recv_len(), 0);
}

/// Sender side, per ACK: the peer acknowledges one more MSS of data in flight. Segments
/// are queued and sent outside the timed part, in rounds as large as cwnd allows; only
/// `handle_segment` on the ACKs (and draining what they release) is timed.
fn engine_ack_processing(c: &mut Criterion) {
    let now = Instant::from_millis(1_000);
    let config = Config {
        send_buffer: 1 << 20,
        ..Config::default()
    };
    let mut conn = established(&Arc::new(config), now);
    let data = vec![0x33u8; 64 * MSS];
    let mut tsval = 10u32;
    let mut ends: Vec<SeqNum> = Vec::with_capacity(1024);
    c.bench_function("engine_ack_processing", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                // Untimed: fill the pipe.
                while conn.send_capacity() >= data.len() {
                    conn.send(&data);
                }
                ends.clear();
                while let Some(seg) = conn.poll_transmit(now) {
                    if !seg.payload.is_empty() {
                        ends.push(seg.seq + seg.payload.len());
                    }
                }
                assert!(!ends.is_empty(), "nothing in flight");
                let round = (ends.len() as u64).min(iters - done) as usize;
                let start = std::time::Instant::now();
                for &end in &ends[..round] {
                    tsval = tsval.wrapping_add(1);
                    let ack = Segment {
                        src_port: 40_000,
                        dst_port: 80,
                        seq: SeqNum(IRS + 1),
                        ack: end,
                        flags: TcpFlags::ACK,
                        window: 502,
                        options: ts(tsval, 0),
                        ..Segment::default()
                    };
                    let _ = conn.handle_segment(now, black_box(&ack));
                }
                total += start.elapsed();
                done += round as u64;
                // Acknowledge the rest (untimed) so the next round starts clean.
                if let Some(&last) = ends.last() {
                    let ack = Segment {
                        src_port: 40_000,
                        dst_port: 80,
                        seq: SeqNum(IRS + 1),
                        ack: last,
                        flags: TcpFlags::ACK,
                        window: 502,
                        options: ts(tsval, 0),
                        ..Segment::default()
                    };
                    let _ = conn.handle_segment(now, &ack);
                }
                while conn.poll_event().is_some() {}
            }
            total
        })
    });
    assert_eq!(conn.state(), State::Established);
    assert_eq!(conn.stats().retransmissions, 0);
    assert!(conn.stats().bytes_acked > 0);
}

fn emit_ack_frame(c: &mut Criterion) {
    let hdr = FrameHeader {
        src_mac: MacAddr([0x02, 0, 0, 0, 0, 0x02]),
        dst_mac: MacAddr([0x02, 0, 0, 0, 0, 0x01]),
        src_addr: tcp_user::wire::Addr::v4(0x0a09_0002),
        dst_addr: tcp_user::wire::Addr::v4(0x0a09_0001),
        ttl: 64,
        ip_id: 0,
        flow_label: 0,
    };
    let ack = Segment {
        src_port: 80,
        dst_port: 40_000,
        seq: SeqNum(ISS + 1),
        ack: SeqNum(IRS + 1 + 10 * MSS as u32),
        flags: TcpFlags::ACK,
        window: 2048,
        options: ts(123_456, 654_321),
        ..Segment::default()
    };
    let mut buf = [0u8; 2048];
    c.bench_function("emit_ack_frame", |b| {
        b.iter(|| emit_frame(black_box(&mut buf), &hdr, black_box(&ack)).expect("fits"))
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = hot_path;
    config = config();
    targets = parse_frame_1500b, checksum_1460b, table_lookup_10k_conns,
        engine_segment_in_order_data, engine_ack_processing, emit_ack_frame
}
criterion_main!(hot_path);
