//! Criterion benchmarks of one endpoint holding N established connections (N = 10^4, 10^5,
//! 10^6): whether the cost of a segment, of a new connection and of a timer stays flat as
//! the table grows. Each reports time per operation:
//!
//! - `ack_segment/N`: a pure ACK for a random existing connection (`Endpoint::handle`:
//!   parse, lookup, engine, book-keeping);
//! - `ack_segment_hot/N`: the same, cycling over 1,024 of the N connections: the table is
//!   as large but the working set fits in the caches, which separates what the algorithms
//!   cost from what cache and TLB misses add;
//! - `data_segment/N`: a 64-byte data segment for a random connection, read by the service
//!   (it arms the delayed-ACK timer; measured after one untimed round over all N);
//! - `delack_expiry/N`: one `Endpoint::handle_timeout` in which one delayed ACK fires and
//!   its ACK is written (timed one call at a time, so two clock reads are included);
//! - `data_with_delack/N`: per data segment, its `handle` and the `handle_timeout` calls
//!   that fire the delayed ACKs, timed together;
//! - `data_with_delack_far_timer/N`: the same when every connection also has a timer an
//!   hour away (an idle timeout): each delayed ACK moves the connection's deadline earlier
//!   and, once fired, back (with a heap of timers this left a stale entry each time, and
//!   their O(N) rebuild stalled the worker 35 ms at 10^6; the table's timing wheel moves
//!   the deadline instead);
//! - `open_syn/N`: a SYN for a new tuple (a connection inserted, its SYN-ACK written);
//! - `open_cycle/N`: SYN, handshake ACK and a RST that removes it again (N stays constant);
//! - `timer_expiry/N`: `poll_timeout` and `handle_timeout` when every connection has a
//!   timer armed and one is due: its expiry, the service's `on_timer` and the re-arm;
//! - `poll_timeout/N`: `Endpoint::poll_timeout` alone;
//! - `heap_pop_push/N`: for reference, what a binary heap of timers (the table's earlier
//!   design) would cost per expiry: a pop and a push on a `BinaryHeap` of N entries.
//!
//! Connections are visited in a random permutation (each once per round), so at 10^6 the
//! table does not fit in the caches, as it would not in production. The endpoint of each N
//! is built once, through `Endpoint::handle` with SYN and ACK frames, outside the measured
//! loops; the build time, its slowest SYNs (where the table's structures grow) and the
//! resident memory per connection (`VmRSS` before and after, divided by N; meaningful for
//! the first size built, hence largest first) are printed, and after each benchmark its
//! slowest timed batch. Before `data_with_delack_far_timer`, three rounds over all N are
//! timed by the benchmark itself and its batches slower than 15 ms listed with when they
//! came: a stall of the table's timer structure (once, the heap's rebuild) shows there.
//!
//! `nice cargo bench -p benches --bench scale` (add `-- <name>` for some; the endpoints
//! are built all the same, `SCALE_SIZES=10000,100000` builds only those). Warm-up 0.5 s and
//! measurement 1.5 s per benchmark are set below; the whole run takes about two minutes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::{Duration, Instant as WallClock};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use tcp_user::endpoint::{Endpoint, EndpointConfig, Tx};
use tcp_user::service::{ConnId, Cx, Event, Service, Timer};
use tcp_user::table::ConnectionTable;
use tcp_user::tcp::{Instant, Segment, SeqNum, TcpFlags, TcpOptions};
use tcp_user::wire::{emit_frame, parse_frame, FrameHeader, MacAddr};

/// Largest first: each endpoint's resident memory is measured in a process that has not yet
/// freed (and so cannot reuse) the memory of a larger one.
const SIZES: [usize; 3] = [1_000_000, 100_000, 10_000];

const SERVER: u32 = 0x0a00_0001;
const SERVER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const PEER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
const PORT: u16 = 80;
/// Remote ports per client address; addresses follow from the connection's number.
const PORTS_PER_ADDR: u32 = 50_000;
/// First client address of the established connections, and of the opened-and-reset ones.
const ESTABLISHED_NET: u32 = 0x0a01_0000;
const FRESH_NET: u32 = 0x0a80_0000;
/// Frames built (untimed) and then handled (timed) at a time.
const BATCH: usize = 256;
const FRAME_SLOT: usize = 256;
const PAYLOAD: [u8; 64] = [0x5a; 64];
/// Connections of `ack_segment_hot`.
const HOT: usize = 1024;
/// A batch this slow is noted as a spike: far beyond a batch's usual time, and beyond the
/// 4 ms a scheduler tick given to another process costs.
const SPIKE: Duration = Duration::from_millis(15);

/// The client side of connection `i` of a family (`net`).
fn remote(net: u32, i: u32) -> (u32, u16) {
    (net + i / PORTS_PER_ADDR, 1024 + (i % PORTS_PER_ADDR) as u16)
}

/// Writes a frame from a client to the server into `buf`; returns its length.
fn peer_frame(buf: &mut [u8], from: (u32, u16), seg: Segment<'_>) -> usize {
    let hdr = FrameHeader {
        src_mac: PEER_MAC,
        dst_mac: SERVER_MAC,
        src_addr: tcp_user::wire::Addr::v4(from.0),
        dst_addr: tcp_user::wire::Addr::v4(SERVER),
        ttl: 64,
        ip_id: 0,
        flow_label: 0,
    };
    let seg = Segment {
        src_port: from.1,
        dst_port: PORT,
        window: 65_535,
        ..seg
    };
    emit_frame(buf, &hdr, &seg).expect("the frame fits")
}

fn syn(irs: u32) -> Segment<'static> {
    Segment {
        seq: SeqNum(irs),
        flags: TcpFlags::SYN,
        options: TcpOptions {
            mss: Some(1460),
            ..TcpOptions::default()
        },
        ..Segment::default()
    }
}

fn segment(seq: u32, ack: u32, flags: TcpFlags, payload: &[u8]) -> Segment<'_> {
    Segment {
        seq: SeqNum(seq),
        ack: SeqNum(ack),
        flags,
        payload,
        ..Segment::default()
    }
}

/// A transmitter that writes every frame into one reused buffer (no allocation per frame,
/// unlike `VecTx`) and, while `keep` is set, copies the frames out for reading afterwards.
struct SinkTx {
    buf: Vec<u8>,
    sent: u64,
    keep: bool,
    kept: Vec<u8>,
    kept_lens: Vec<usize>,
}

impl SinkTx {
    fn new() -> SinkTx {
        SinkTx {
            buf: vec![0; 4096],
            sent: 0,
            keep: false,
            kept: Vec::with_capacity(BATCH * FRAME_SLOT),
            kept_lens: Vec::with_capacity(BATCH),
        }
    }

    /// The kept frames as (destination address, destination port, seq, ack, flags).
    fn kept_segments(&self) -> impl Iterator<Item = (u32, u16, u32, u32, TcpFlags)> + '_ {
        let mut at = 0;
        self.kept_lens.iter().map(move |&len| {
            let p = parse_frame(&self.kept[at..at + len]).expect("the endpoint emits valid frames");
            at += len;
            let s = &p.segment;
            (
                p.dst_addr.to_v4().unwrap_or(0),
                s.dst_port,
                s.seq.0,
                s.ack.0,
                s.flags,
            )
        })
    }

    fn clear_kept(&mut self) {
        self.kept.clear();
        self.kept_lens.clear();
    }
}

impl Tx for SinkTx {
    fn has_room(&mut self) -> bool {
        true
    }

    fn send(&mut self, write: impl FnOnce(&mut [u8]) -> Option<usize>) -> bool {
        let Some(len) = write(&mut self.buf) else {
            return false;
        };
        self.sent += 1;
        if self.keep {
            self.kept.extend_from_slice(&self.buf[..len]);
            self.kept_lens.push(len);
        }
        true
    }
}

/// The service: reads everything, counts handshakes and resets, and re-arms each
/// connection's timer `period` after it fires.
#[derive(Default)]
struct Bench {
    period: Duration,
    established: u64,
    resets: u64,
    timers_fired: u64,
}

impl Service for Bench {
    type Data = ();

    fn on_event(&mut self, cx: &mut Cx<'_, ()>, id: ConnId, event: Event) {
        match event {
            Event::Established => self.established += 1,
            Event::Reset => self.resets += 1,
            Event::Readable => {
                if let Some(mut conn) = cx.conn(id) {
                    let n = conn.readable();
                    conn.consume(n);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, cx: &mut Cx<'_, ()>, timer: Timer) {
        if let Timer::Conn(id) = timer {
            self.timers_fired += 1;
            let at = cx.now() + self.period;
            if let Some(mut conn) = cx.conn(id) {
                conn.set_timer(at);
            }
        }
    }
}

/// What the clients send in [`World::segments`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Traffic {
    /// Pure ACKs to random connections.
    Ack,
    /// Pure ACKs to the [`HOT`] first connections of the random order.
    AckHot,
    /// 64-byte data segments to random connections.
    Data,
    /// The same, with the `handle_timeout` after each batch (the delayed ACKs that came
    /// due, and what their expiry re-arms) timed as well.
    DataAndTimeouts,
}

/// What the client of an established connection sends next.
#[derive(Clone, Copy)]
struct Peer {
    seq: u32,
    ack: u32,
}

/// An endpoint with N established connections, its clients and the fake clock.
struct World {
    ep: Endpoint<Bench>,
    tx: SinkTx,
    now: Instant,
    n: usize,
    peers: Vec<Peer>,
    /// A random permutation of 0..n, visited round after round.
    order: Vec<u32>,
    cursor: usize,
    /// Position in the first [`HOT`] entries of `order` (`ack_segment_hot`).
    hot_cursor: usize,
    /// The slowest timed batch since the last [`World::take_slowest`].
    slowest: Duration,
    /// Segments sent by [`World::segments`] so far.
    segments_sent: u64,
    /// Batches of [`World::segments`] slower than [`SPIKE`]: (segments sent before, time).
    spikes: Vec<(u64, Duration)>,
    /// Next fresh tuple of the open benchmarks (cycled; each is removed again).
    fresh: u32,
    frames: Vec<u8>,
    lens: Vec<usize>,
}

/// xorshift64*: a reproducible permutation without a `rand` dependency.
fn shuffle(v: &mut [u32], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        let r = seed.wrapping_mul(0x2545_f491_4f6c_dd1d);
        v.swap(i, (r % (i as u64 + 1)) as usize);
    }
}

/// Resident memory of the process in bytes.
fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kib| kib * 1024)
}

impl World {
    fn build(n: usize) -> World {
        let mut cfg = EndpointConfig::new(SERVER, SERVER_MAC, &[PORT]);
        // Room for the batches of the open benchmarks on top of the N connections.
        cfg.max_connections = n + 4 * BATCH;
        // The benchmark's own per-connection state is resident before the first reading.
        let mut peers = vec![Peer { seq: 0, ack: 1 }; n];
        let order = (0..n as u32).collect();
        let rss_before = rss_bytes();
        let wall = WallClock::now();
        let mut w = World {
            ep: Endpoint::new(cfg, Bench::default()),
            tx: SinkTx::new(),
            now: Instant::from_millis(1_000),
            n,
            peers: Vec::new(),
            order,
            cursor: 0,
            hot_cursor: 0,
            slowest: Duration::ZERO,
            segments_sent: 0,
            spikes: Vec::new(),
            fresh: 0,
            frames: vec![0; BATCH * FRAME_SLOT],
            lens: Vec::with_capacity(BATCH),
        };
        shuffle(&mut w.order, 0x9e37_79b9_7f4a_7c15 ^ n as u64);
        let mut frame = [0u8; FRAME_SLOT];
        // The three slowest SYNs, (time, number of connections before it).
        let mut slowest_syns = [(Duration::ZERO, 0u32); 3];
        w.tx.keep = true;
        for i in 0..n as u32 {
            let from = remote(ESTABLISHED_NET, i);
            let irs = i.wrapping_mul(2_654_435_761);
            let len = peer_frame(&mut frame, from, syn(irs));
            w.tx.clear_kept();
            let t = WallClock::now();
            w.ep.handle(w.now, &frame[..len], &mut w.tx);
            let took = t.elapsed();
            if took > slowest_syns[2].0 {
                slowest_syns[2] = (took, i);
                slowest_syns.sort_by(|a, b| b.cmp(a));
            }
            let (_, port, iss, ack, flags) = w.tx.kept_segments().next().expect("a SYN-ACK");
            let expected = (from.1, TcpFlags::SYN | TcpFlags::ACK, irs.wrapping_add(1));
            assert_eq!((port, flags, ack), expected);
            let peer = Peer {
                seq: irs.wrapping_add(1),
                ack: iss.wrapping_add(1),
            };
            let len = peer_frame(
                &mut frame,
                from,
                segment(peer.seq, peer.ack, TcpFlags::ACK, &[]),
            );
            w.ep.handle(w.now, &frame[..len], &mut w.tx);
            peers[i as usize] = peer;
            if i % 1024 == 1023 {
                w.advance(Duration::from_micros(1));
            }
        }
        w.tx.keep = false;
        w.tx.clear_kept();
        w.peers = peers;
        // The SYN-ACK retransmission deadlines set during the build pass.
        w.advance(Duration::from_secs(2));
        let built = wall.elapsed();
        assert_eq!(w.ep.connections(), n);
        assert_eq!(w.ep.service().established, n as u64);
        assert_eq!(
            w.ep.poll_timeout(),
            None,
            "idle established connections arm no timer"
        );
        let rss = rss_bytes().saturating_sub(rss_before);
        w.ep.refresh_gauges();
        let slowest: Vec<String> = slowest_syns
            .iter()
            .map(|(t, i)| format!("{:.2} ms at #{i}", t.as_secs_f64() * 1e3))
            .collect();
        println!(
            "scale: built {n} connections in {:.2} s ({:.2} us each); slowest SYNs {}",
            built.as_secs_f64(),
            built.as_secs_f64() * 1e6 / n as f64,
            slowest.join(", "),
        );
        println!(
            "scale: N={n}: VmRSS +{} MiB = {} B/connection; table charged {} B/connection \
             (SLOT_BYTES {})",
            rss >> 20,
            rss / n,
            w.ep.stats().memory_bytes as usize / n,
            ConnectionTable::<()>::SLOT_BYTES,
        );
        w
    }

    /// Moves the clock and runs what is due.
    fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
        self.ep.handle_timeout(self.now, &mut self.tx);
    }

    /// The next connection of the random round (of the hot few, if `hot`).
    fn next_conn(&mut self, hot: bool) -> usize {
        if hot {
            self.hot_cursor = (self.hot_cursor + 1) % HOT.min(self.n);
            return self.order[self.hot_cursor] as usize;
        }
        let i = self.order[self.cursor] as usize;
        self.cursor = (self.cursor + 1) % self.n;
        i
    }

    /// The slowest timed batch since the last call, in microseconds.
    fn take_slowest(&mut self) -> f64 {
        std::mem::take(&mut self.slowest).as_secs_f64() * 1e6
    }

    /// Adds a timed batch to `total`, noting it if it is the slowest.
    fn note(&mut self, total: &mut Duration, batch: Duration) {
        *total += batch;
        self.slowest = self.slowest.max(batch);
    }

    /// Clock step between data segments: at least 100 ms for a round of all N connections,
    /// so each connection's delayed ACK (40 ms) fires before its next segment comes.
    fn data_step(&self) -> Duration {
        Duration::from_micros(100_000u64.div_ceil(self.n as u64))
    }

    /// Builds the next segment (pure ACK or 64 bytes of data) of the next connection into
    /// slot `k` of the frame arena.
    fn build_segment(&mut self, k: usize, traffic: Traffic) {
        let i = self.next_conn(traffic == Traffic::AckHot);
        let data = matches!(traffic, Traffic::Data | Traffic::DataAndTimeouts);
        let peer = &mut self.peers[i];
        let payload: &[u8] = if data { &PAYLOAD } else { &[] };
        let seg = segment(peer.seq, peer.ack, TcpFlags::ACK, payload);
        peer.seq = peer.seq.wrapping_add(payload.len() as u32);
        let slot = &mut self.frames[k * FRAME_SLOT..(k + 1) * FRAME_SLOT];
        let len = peer_frame(slot, remote(ESTABLISHED_NET, i as u32), seg);
        self.lens.push(len);
    }

    fn frame(&self, k: usize) -> &[u8] {
        &self.frames[k * FRAME_SLOT..k * FRAME_SLOT + self.lens[k]]
    }

    /// `iters` segments, `handle` timed (and `handle_timeout` for `DataAndTimeouts`).
    fn segments(&mut self, iters: u64, traffic: Traffic) -> Duration {
        let step = match traffic {
            Traffic::Ack | Traffic::AckHot => Duration::from_micros(1),
            Traffic::Data | Traffic::DataAndTimeouts => self.data_step(),
        };
        let mut total = Duration::ZERO;
        let mut done = 0;
        while done < iters {
            let round = (iters - done).min(BATCH as u64) as usize;
            self.lens.clear();
            for k in 0..round {
                self.build_segment(k, traffic);
            }
            let start = WallClock::now();
            for k in 0..round {
                self.now = self.now + step;
                let frame = &self.frames[k * FRAME_SLOT..k * FRAME_SLOT + self.lens[k]];
                self.ep.handle(self.now, black_box(frame), &mut self.tx);
            }
            let handled = start.elapsed();
            // Delayed ACKs and buffer releases that came due.
            let start = WallClock::now();
            self.ep.handle_timeout(self.now, &mut self.tx);
            let timeouts = match traffic {
                Traffic::DataAndTimeouts => start.elapsed(),
                _ => Duration::ZERO,
            };
            self.note(&mut total, handled + timeouts);
            if handled + timeouts > SPIKE {
                self.spikes.push((self.segments_sent, handled + timeouts));
            }
            self.segments_sent += round as u64;
            done += round as u64;
        }
        total
    }

    /// `iters` calls of `handle_timeout`, each after one data segment (untimed) and a clock
    /// step: in the steady state each call fires the delayed ACK of the segment one round
    /// (>= 100 ms) earlier.
    fn delayed_acks(&mut self, iters: u64) -> Duration {
        let step = self.data_step();
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            self.lens.clear();
            self.build_segment(0, Traffic::Data);
            let frame = self.frame(0).to_vec();
            self.ep.handle(self.now, &frame, &mut self.tx);
            self.now = self.now + step;
            let start = WallClock::now();
            self.ep.handle_timeout(self.now, &mut self.tx);
            let one = start.elapsed();
            self.note(&mut total, one);
        }
        total
    }

    /// `iters` new connections in batches: SYNs (always timed), then the handshake ACKs and
    /// RSTs that remove them again (timed when `cycle`).
    fn opens(&mut self, iters: u64, cycle: bool) -> Duration {
        let mut total = Duration::ZERO;
        let mut done = 0;
        while done < iters {
            let round = (iters - done).min(BATCH as u64) as usize;
            let first = self.fresh;
            self.fresh = (self.fresh + round as u32) % (16 * BATCH as u32);
            let from = |k: usize| remote(FRESH_NET, first + k as u32);
            let irs = |k: usize| (first + k as u32).wrapping_mul(40_503);
            self.lens.clear();
            for k in 0..round {
                let slot = &mut self.frames[k * FRAME_SLOT..(k + 1) * FRAME_SLOT];
                self.lens.push(peer_frame(slot, from(k), syn(irs(k))));
            }
            self.tx.clear_kept();
            self.tx.keep = true;
            let start = WallClock::now();
            for k in 0..round {
                let frame = &self.frames[k * FRAME_SLOT..k * FRAME_SLOT + self.lens[k]];
                self.ep.handle(self.now, black_box(frame), &mut self.tx);
            }
            let syns = start.elapsed();
            self.tx.keep = false;
            // Untimed: the handshake ACKs and the RSTs, from the SYN-ACKs sent.
            let mut acks = Vec::with_capacity(2 * round);
            for (k, (addr, port, iss, ack, flags)) in self.tx.kept_segments().enumerate() {
                assert_eq!((addr, port), from(k), "SYN-ACKs come in order");
                assert_eq!((flags, ack), (TcpFlags::SYN | TcpFlags::ACK, irs(k) + 1));
                acks.push((k, iss.wrapping_add(1)));
            }
            assert_eq!(acks.len(), round);
            let mut ack_frames = vec![0u8; 2 * round * FRAME_SLOT];
            let mut lens = Vec::with_capacity(2 * round);
            for (j, flags) in [TcpFlags::ACK, TcpFlags::RST].into_iter().enumerate() {
                for &(k, ack) in &acks {
                    let at = (j * round + k) * FRAME_SLOT;
                    let seg = segment(irs(k) + 1, ack, flags, &[]);
                    let len = peer_frame(&mut ack_frames[at..at + FRAME_SLOT], from(k), seg);
                    lens.push((at, len));
                }
            }
            let established = self.ep.service().established;
            let start = WallClock::now();
            for &(at, len) in &lens {
                self.ep
                    .handle(self.now, black_box(&ack_frames[at..at + len]), &mut self.tx);
            }
            let rest = if cycle {
                start.elapsed()
            } else {
                Duration::ZERO
            };
            self.note(&mut total, syns + rest);
            assert_eq!(self.ep.service().established, established + round as u64);
            assert_eq!(
                self.ep.connections(),
                self.n,
                "every new connection was reset"
            );
            done += round as u64;
            self.advance(Duration::from_micros(BATCH as u64));
        }
        total
    }

    /// Arms a timer one hour away on every connection (as `--idle-timeout-s` arms one that
    /// every received segment pushes back): each delayed ACK then comes before it.
    fn arm_far_timers(&mut self) {
        let at = self.now + Duration::from_secs(3600);
        let (now, tx) = (self.now, &mut self.tx);
        self.ep.with_service(now, tx, |_, cx| {
            for id in cx.connection_ids() {
                cx.conn(id).expect("live").set_timer(at);
            }
        });
    }

    /// Arms a timer on every connection, one due every microsecond from the next one on,
    /// each re-armed N microseconds after it fires: every later microsecond one fires.
    fn arm_timers(&mut self) -> Instant {
        // Nothing else is left to fire.
        self.advance(Duration::from_secs(2));
        let n = self.n as u64;
        let start = self.now;
        self.ep.service_mut().period = Duration::from_micros(n);
        let (now, tx) = (self.now, &mut self.tx);
        self.ep.with_service(now, tx, |_, cx| {
            for (k, id) in cx.connection_ids().into_iter().enumerate() {
                let at = start + Duration::from_micros(1 + k as u64);
                cx.conn(id).expect("live").set_timer(at);
            }
        });
        assert_eq!(
            self.ep.poll_timeout(),
            Some(start + Duration::from_micros(1))
        );
        start
    }
}

/// The sizes to run: `SCALE_SIZES=100000,1000000` picks some (each endpoint is built even
/// when a filter leaves none of its benchmarks to run), all of [`SIZES`] by default.
fn sizes() -> Vec<usize> {
    match std::env::var("SCALE_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .expect("SCALE_SIZES: a comma-separated list of sizes")
            })
            .collect(),
        Err(_) => SIZES.to_vec(),
    }
}

/// A pop and a push on a heap of `n` timer entries (the table's type), deadlines one
/// microsecond apart and each pushed back `n` later: the heap's part of `timer_expiry`.
fn heap_pop_push(c: &mut Criterion, n: usize) {
    let entry = |t: u64| Reverse((Instant::from_micros(t), ConnId::from_u64(t % n as u64)));
    let mut heap: BinaryHeap<_> = (1..=n as u64).map(entry).collect();
    c.benchmark_group("heap_pop_push")
        .bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                let Reverse((t, _)) = heap.pop().expect("full");
                heap.push(entry(t.micros() + n as u64));
            })
        });
}

fn scale(c: &mut Criterion) {
    for n in sizes() {
        let mut w = World::build(n);
        let id = BenchmarkId::from_parameter(n);
        let report = |w: &mut World, name: &str| {
            let slowest = w.take_slowest();
            println!("scale: {name}/{n}: slowest timed batch {slowest:.1} us");
        };

        let sent = w.tx.sent;
        c.benchmark_group("ack_segment")
            .bench_function(id.clone(), |b| {
                b.iter_custom(|iters| w.segments(iters, Traffic::Ack))
            });
        report(&mut w, "ack_segment");
        c.benchmark_group("ack_segment_hot")
            .bench_function(id.clone(), |b| {
                b.iter_custom(|iters| w.segments(iters, Traffic::AckHot))
            });
        report(&mut w, "ack_segment_hot");
        assert_eq!(
            w.tx.sent, sent,
            "a pure ACK with nothing in flight is answered by nothing"
        );

        // One round over every connection first: each takes its first receive buffer
        // (fresh memory, page faults) once; the benchmarks measure the steady state.
        let wall = WallClock::now();
        let first = w.segments(n as u64, Traffic::Data);
        println!(
            "scale: data_segment/{n}: first round {:.2} us/segment timed, {:.2} s in all",
            first.as_secs_f64() * 1e6 / n as f64,
            wall.elapsed().as_secs_f64()
        );
        w.take_slowest();
        c.benchmark_group("data_segment")
            .bench_function(id.clone(), |b| {
                b.iter_custom(|iters| w.segments(iters, Traffic::Data))
            });
        report(&mut w, "data_segment");
        c.benchmark_group("delack_expiry")
            .bench_function(id.clone(), |b| b.iter_custom(|iters| w.delayed_acks(iters)));
        report(&mut w, "delack_expiry");
        c.benchmark_group("data_with_delack")
            .bench_function(id.clone(), |b| {
                b.iter_custom(|iters| w.segments(iters, Traffic::DataAndTimeouts))
            });
        report(&mut w, "data_with_delack");
        assert_eq!(w.ep.connections(), n);

        c.benchmark_group("open_syn")
            .bench_function(id.clone(), |b| b.iter_custom(|iters| w.opens(iters, false)));
        report(&mut w, "open_syn");
        c.benchmark_group("open_cycle")
            .bench_function(id.clone(), |b| b.iter_custom(|iters| w.opens(iters, true)));
        report(&mut w, "open_cycle");

        let start = w.arm_timers();
        let fired = w.ep.service().timers_fired;
        c.benchmark_group("timer_expiry")
            .bench_function(id.clone(), |b| {
                b.iter(|| {
                    w.now = w.now + Duration::from_micros(1);
                    black_box(w.ep.poll_timeout());
                    w.ep.handle_timeout(w.now, &mut w.tx);
                })
            });
        let elapsed = (w.now - start).as_micros() as u64;
        assert_eq!(
            w.ep.service().timers_fired - fired,
            elapsed,
            "one timer fired per microsecond"
        );
        c.benchmark_group("poll_timeout")
            .bench_function(id.clone(), |b| b.iter(|| black_box(w.ep.poll_timeout())));

        // Every connection with a far timer that each delayed ACK comes before: the entry
        // it had in the timer heap goes stale and one is pushed anew when the delayed ACK
        // has fired. Three rounds first, so the heap reaches its rebuild threshold.
        w.arm_far_timers();
        let wall = WallClock::now();
        w.spikes.clear();
        let base = w.segments_sent;
        let rounds = w.segments(3 * n as u64, Traffic::DataAndTimeouts);
        let spikes: Vec<String> = w
            .spikes
            .iter()
            .map(|(at, t)| format!("{:.1} ms after {}", t.as_secs_f64() * 1e3, at - base))
            .collect();
        println!(
            "scale: data_with_delack_far_timer/{n}: 3 rounds {:.2} us/segment timed, {:.2} s \
             in all, slowest timed batch {:.1} us; batches over {} ms: [{}]",
            rounds.as_secs_f64() * 1e6 / (3 * n) as f64,
            wall.elapsed().as_secs_f64(),
            w.take_slowest(),
            SPIKE.as_millis(),
            spikes.join(", ")
        );
        c.benchmark_group("data_with_delack_far_timer")
            .bench_function(id, |b| {
                b.iter_custom(|iters| w.segments(iters, Traffic::DataAndTimeouts))
            });
        report(&mut w, "data_with_delack_far_timer");
        println!(
            "scale: N={n}: {} timers fired, {} frames sent, {} frames dropped, VmRSS {} MiB",
            w.ep.service().timers_fired,
            w.tx.sent,
            w.ep.stats().drops.iter().sum::<u64>(),
            rss_bytes() >> 20,
        );
        drop(w);
        heap_pop_push(c, n);
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(20)
}

criterion_group! {
    name = scale_benches;
    config = config();
    targets = scale
}
criterion_main!(scale_benches);
