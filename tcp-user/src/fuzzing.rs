//! Fuzz targets as plain functions over bytes, so one body runs under cargo-fuzz (`fuzz/`,
//! nightly, libFuzzer) and under the stable replay-and-mutate test
//! (`tests/fuzz_smoke.rs`). Each target panics when, and only when, an invariant breaks.
//!
//! - [`fuzz_frame`]: any bytes through `parse_frame`; what parses must re-emit and parse
//!   back to the same fields, and the checksum must agree with a plain RFC 1071 sum.
//! - [`fuzz_connection`]: the bytes are a script for one passive connection (a SYN, then
//!   peer segments, time, and application calls), with the invariants a user of the engine
//!   relies on checked after every step.
//! - [`fuzz_table`]: several connections in one [`ConnectionTable`], driven the way the
//!   worker drives it; no connection may lose its timer.
//!
//! Test-only code: it allocates and asserts freely. Not part of the stack's API.
#![doc(hidden)]

use std::time::Duration;

use crate::table::ConnectionTable;
use crate::tcp::{
    handle_unmatched, Config, Connection, Event, FourTuple, Instant, SackBlock, SackBlocks,
    Segment, SeqNum, State, TcpFlags, TcpOptions, Timestamps, Unmatched,
};
use crate::wire::{checksum, emit_frame, frame_len, parse_frame, FrameHeader, MacAddr};

/// Largest frame a fuzz input can make us emit (IPv4 total length limit plus Ethernet).
const MAX_FRAME: usize = 14 + 65535;

// ---------------------------------------------------------------------------------------
// Frame parser
// ---------------------------------------------------------------------------------------

/// `parse_frame` on arbitrary bytes must not panic; a frame it accepts must re-emit with
/// [`emit_frame`] and parse back to the same addresses and segment (up to what the emitter
/// is documented to leave out), and re-emitting that must give the same bytes.
pub fn fuzz_frame(data: &[u8]) {
    check_checksum(data);
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
    };
    let mut buf = vec![0u8; MAX_FRAME];
    let ip_len = 20 + crate::wire::segment_len(&seg);
    let Some(n) = emit_frame(&mut buf, &hdr, &seg) else {
        // Options we write in full may be longer than the compact form received, so a
        // frame at the 64 KiB limit may not fit once re-emitted; nothing else may fail.
        assert!(
            ip_len > 65535,
            "emit_frame refused a parsed segment: {seg:?}"
        );
        return;
    };
    assert_eq!(n, frame_len(&seg));
    let again = parse_frame(&buf[..n]).expect("an emitted frame must parse");
    assert_eq!(again.src_mac, parsed.src_mac);
    assert_eq!(again.dst_mac, parsed.dst_mac);
    assert_eq!(again.src_addr, parsed.src_addr);
    assert_eq!(again.dst_addr, parsed.dst_addr);
    assert_eq!(again.ttl, parsed.ttl);
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
fn as_emitted<'a>(seg: &Segment<'a>) -> Segment<'a> {
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
fn canonical<'a>(seg: &Segment<'a>) -> Segment<'a> {
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
fn check_checksum(data: &[u8]) {
    for start in 0..data.len().min(8) {
        let d = &data[start..];
        assert_eq!(
            checksum::ones_sum(d),
            reference_ones_sum(d),
            "ones_sum disagrees with RFC 1071 at offset {start}"
        );
    }
}

fn reference_ones_sum(data: &[u8]) -> u16 {
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

/// Reads the script; past the end every read is zero, so every input is a valid script.
struct Input<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Input<'a> {
    fn new(data: &'a [u8]) -> Self {
        Input { data, at: 0 }
    }
    fn is_empty(&self) -> bool {
        self.at >= self.data.len()
    }
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn bit(&mut self) -> bool {
        self.u8() & 1 == 1
    }
}

/// The byte the peer sends at sequence number `seq`: a function of the sequence number
/// alone, so every retransmission, overlap and reordering carries consistent data and
/// whatever the application reads can be checked byte by byte.
fn peer_byte(seq: u32) -> u8 {
    (seq.wrapping_mul(0x9e37_79b1) >> 24) as u8
}

/// The byte the application writes at stream offset `off`.
fn app_byte(off: u32) -> u8 {
    (off.wrapping_mul(0x85eb_ca6b).rotate_left(13) >> 24) as u8 ^ 0x5a
}

/// Signed distance from `base` to `s` in sequence space.
fn dist(s: SeqNum, base: SeqNum) -> i64 {
    s.0.wrapping_sub(base.0) as i32 as i64
}

const LOCAL: FourTuple = FourTuple {
    local_addr: 0x0a09_0002,
    local_port: 80,
    remote_addr: 0x0a09_0001,
    remote_port: 40_000,
};

fn config_from(input: &mut Input) -> Config {
    let a = input.u8();
    let b = input.u8();
    Config {
        window_scaling: a & 1 != 0,
        sack: a & 2 != 0,
        timestamps: a & 4 != 0,
        nagle: a & 8 != 0,
        recv_buffer: [256 * 1024, 8192, 1000, 1 << 20][usize::from((a >> 4) & 3)],
        send_buffer: [256 * 1024, 8192, 1000, 100][usize::from((a >> 6) & 3)],
        mss: [1460, 536, 100, 8960][usize::from(b & 3)],
        data_retries: if b & 4 != 0 { 3 } else { 15 },
        syn_retries: if b & 8 != 0 { 1 } else { 5 },
        msl: if b & 16 != 0 {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(30)
        },
        idle_timeout: (b & 32 != 0).then(|| Duration::from_secs(5)),
        fin_wait2_timeout: if b & 64 != 0 {
            Duration::from_secs(2)
        } else {
            Duration::from_secs(60)
        },
        challenge_ack_limit: if b & 128 != 0 { 1 } else { 10 },
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------
// One connection
// ---------------------------------------------------------------------------------------

/// Runs a script against one passive connection. Layout: two config bytes, the SYN
/// (option flags, MSS, window scale, TSval, window, IRS, ISS), then operations until the
/// input ends; see [`Script::step`].
pub fn fuzz_connection(data: &[u8]) {
    let mut input = Input::new(data);
    let config = config_from(&mut input);
    let opt = input.u8();
    let syn_options = TcpOptions {
        mss: (opt & 1 != 0).then(|| input.u16()),
        window_scale: (opt & 2 != 0).then(|| input.u8() % 16),
        sack_permitted: opt & 4 != 0,
        timestamps: (opt & 8 != 0).then(|| Timestamps {
            value: input.u32(),
            echo: 0,
        }),
        sack: SackBlocks::default(),
    };
    let window = input.u16();
    let irs = SeqNum(input.u32());
    let iss = SeqNum(input.u32());
    let syn = Segment {
        src_port: LOCAL.remote_port,
        dst_port: LOCAL.local_port,
        seq: irs,
        ack: SeqNum(0),
        flags: TcpFlags::SYN,
        window,
        urgent: 0,
        options: syn_options,
        payload: &[],
    };
    assert_eq!(handle_unmatched(&syn, true), Unmatched::Accept);
    let now = Instant::from_millis(1_000_000);
    let conn = Connection::accept(now, &config, LOCAL, &syn, iss);
    let mut script = Script {
        conn,
        obs: Observer::new(config, &syn, iss),
        now,
        peer: Peer {
            nxt: irs + 1,
            wnd: window,
            ts: syn_options.timestamps.map_or(0, |t| t.value),
            ts_echo: 0,
        },
        payload: vec![0; 4096],
        frame: vec![0; 16 * 1024],
        app: vec![0; 4096],
        trace: std::env::var_os("FUZZ_TRACE").is_some(),
    };
    script.after_step();
    while !input.is_empty() {
        script.step(&mut input);
        script.after_step();
    }
}

/// What the scripted peer knows about its own side.
struct Peer {
    /// Next sequence number the peer would send.
    nxt: SeqNum,
    wnd: u16,
    /// Last TSval the peer sent, and the TSval of ours it echoes.
    ts: u32,
    ts_echo: u32,
}

struct Script {
    conn: Connection,
    obs: Observer,
    now: Instant,
    peer: Peer,
    payload: Vec<u8>,
    frame: Vec<u8>,
    app: Vec<u8>,
    /// `FUZZ_TRACE` set: print every segment in and out (for reading a reproducer).
    trace: bool,
}

impl Script {
    /// One operation: the first byte picks it, the following bytes parametrize it.
    fn step(&mut self, input: &mut Input) {
        let op = input.u8() % 12;
        if self.trace {
            eprintln!("-- op {op} at {:?} in {:?}", self.now, self.conn.state());
        }
        match op {
            0..=2 => self.peer_segment(input),
            3 => self.raw_segment(input),
            4 => self.peer_acks_all(input),
            5 | 6 => self.advance_time(input),
            7 => self.app_recv(input),
            8 => self.app_send(input),
            9 => {
                if input.u8() < 64 {
                    self.conn.close();
                    self.obs.on_close();
                }
            }
            10 => {
                if input.u8() < 16 {
                    self.conn.abort();
                }
            }
            _ => self.peer_syn(input),
        }
    }

    /// A segment a plausible peer would send: sequence and acknowledgment numbers close
    /// to what each side expects, payload from the peer's pattern.
    fn peer_segment(&mut self, input: &mut Input) {
        let fl = input.u8();
        let mut flags = TcpFlags::NONE;
        if fl & 0x01 == 0 {
            flags |= TcpFlags::ACK;
        }
        if fl & 0x06 == 0x06 {
            flags |= TcpFlags::FIN;
        }
        if fl & 0x38 == 0x38 {
            flags |= TcpFlags::RST;
        }
        if fl & 0x40 != 0 {
            flags |= TcpFlags::PSH;
        }
        let delta = i64::from(input.u8() as i8);
        let seq = match input.u8() % 4 {
            0 | 1 => self.peer.nxt,
            2 => SeqNum((i64::from(self.peer.nxt.0) + delta * 97) as u32),
            _ => SeqNum((i64::from(self.obs.last_ack.unwrap_or(self.peer.nxt).0) + delta) as u32),
        };
        let ack = self.choose_ack(input);
        let len = match input.u8() {
            l @ 0..=127 => usize::from(l) % 64,
            l => usize::from(l - 128) * 24,
        };
        let window = if fl & 0x80 != 0 {
            input.u16()
        } else {
            self.peer.wnd
        };
        self.peer.wnd = window;
        let mut options = TcpOptions::default();
        let o = input.u8();
        if o & 1 != 0 {
            // Mostly advancing TSvals; sometimes an old one (PAWS).
            let step = input.u8();
            let value = if step >= 0xf0 {
                self.peer.ts.wrapping_sub(u32::from(step))
            } else {
                self.peer.ts = self.peer.ts.wrapping_add(u32::from(step));
                self.peer.ts
            };
            options.timestamps = Some(Timestamps {
                value,
                echo: self.peer.ts_echo,
            });
        }
        if o & 2 != 0 {
            let base = self.obs.iss + 1;
            for _ in 0..(o >> 2) % 5 {
                let left = base + usize::from(input.u16());
                let right = left + usize::from(input.u8()) * 16;
                options.sack.push(SackBlock { left, right });
            }
        }
        let seg_end = seq + len + usize::from(flags.fin());
        if seg_end > self.peer.nxt && dist(seq, self.peer.nxt) <= 0 {
            self.peer.nxt = seg_end;
        }
        self.deliver(seq, ack, flags, window, options, len, o & 0x80 != 0);
    }

    /// Acknowledgment numbers near what we sent: everything, a little less, or around ISS.
    fn choose_ack(&mut self, input: &mut Input) -> SeqNum {
        let sent = self.obs.snd_max;
        match input.u8() % 5 {
            0 | 1 => sent,
            2 => sent.minus(usize::from(input.u16()) % (self.obs.sent_span() + 2)),
            3 => self.obs.iss + usize::from(input.u8()),
            _ => SeqNum(sent.0.wrapping_add(u32::from(input.u8())).wrapping_sub(128)),
        }
    }

    /// A segment with arbitrary header values.
    fn raw_segment(&mut self, input: &mut Input) {
        let seq = SeqNum(input.u32());
        let ack = SeqNum(input.u32());
        let flags = TcpFlags(input.u8());
        let window = input.u16();
        let len = usize::from(input.u8()) * 8;
        let o = input.u8();
        let mut options = TcpOptions::default();
        if o & 1 != 0 {
            options.timestamps = Some(Timestamps {
                value: input.u32(),
                echo: input.u32(),
            });
        }
        if o & 2 != 0 {
            options.mss = Some(input.u16());
            options.window_scale = Some(input.u8());
            options.sack_permitted = true;
        }
        if o & 4 != 0 {
            options.sack.push(SackBlock {
                left: SeqNum(input.u32()),
                right: SeqNum(input.u32()),
            });
        }
        self.deliver(seq, ack, flags, window, options, len, o & 8 != 0);
    }

    /// A well-behaved peer: acknowledges everything we sent, optionally with new data.
    fn peer_acks_all(&mut self, input: &mut Input) {
        let len = usize::from(input.u8()) * 8;
        let fin = input.u8() == 0xff;
        let mut flags = TcpFlags::ACK;
        if fin {
            flags |= TcpFlags::FIN;
        }
        let mut options = TcpOptions::default();
        if self.obs.ts_ok {
            self.peer.ts = self.peer.ts.wrapping_add(1);
            options.timestamps = Some(Timestamps {
                value: self.peer.ts,
                echo: self.peer.ts_echo,
            });
        }
        let seq = self.peer.nxt;
        self.peer.nxt = seq + len + usize::from(fin);
        let (ack, wnd) = (self.obs.snd_max, self.peer.wnd);
        self.deliver(seq, ack, flags, wnd, options, len, false);
    }

    /// A SYN on the established tuple: retransmitted (same IRS) or new.
    fn peer_syn(&mut self, input: &mut Input) {
        let seq = if input.bit() {
            self.obs.irs
        } else {
            SeqNum(input.u32())
        };
        let seg = Segment {
            src_port: LOCAL.remote_port,
            dst_port: LOCAL.local_port,
            seq,
            flags: TcpFlags::SYN,
            window: self.peer.wnd,
            ..Segment::default()
        };
        let reopens = self.conn.time_wait_accepts_syn(&seg);
        assert!(!reopens || self.conn.state() == State::TimeWait);
        if reopens {
            assert!(dist(self.conn.time_wait_isn_floor(), self.obs.snd_max) > 0);
        }
        self.obs.on_peer_segment(&seg);
        let _ = self.conn.handle_segment(self.now, &seg);
    }

    #[allow(clippy::too_many_arguments)]
    fn deliver(
        &mut self,
        seq: SeqNum,
        ack: SeqNum,
        flags: TcpFlags,
        window: u16,
        options: TcpOptions,
        len: usize,
        through_wire: bool,
    ) {
        let len = len.min(self.payload.len());
        for (i, b) in self.payload[..len].iter_mut().enumerate() {
            *b = peer_byte(seq.0.wrapping_add(i as u32));
        }
        let seg = Segment {
            src_port: LOCAL.remote_port,
            dst_port: LOCAL.local_port,
            seq,
            ack,
            flags,
            window,
            urgent: 0,
            options,
            payload: &self.payload[..len],
        };
        self.obs.on_peer_segment(&seg);
        if self.trace {
            eprintln!(
                "   in  {:?} seq={} ack={} win={} len={} {:?}",
                seg.flags,
                seg.seq,
                seg.ack,
                seg.window,
                seg.payload.len(),
                seg.options
            );
        }
        if through_wire {
            // Through emit_frame and parse_frame, as the worker would see it.
            let hdr = FrameHeader {
                src_mac: MacAddr([2, 0, 0, 0, 0, 1]),
                dst_mac: MacAddr([2, 0, 0, 0, 0, 2]),
                src_addr: LOCAL.remote_addr,
                dst_addr: LOCAL.local_addr,
                ttl: 64,
                ip_id: 0,
            };
            let n = emit_frame(&mut self.frame, &hdr, &seg).expect("frame buffer fits");
            let parsed = parse_frame(&self.frame[..n]).expect("emitted frame parses");
            assert_eq!(canonical(&parsed.segment), as_emitted(&seg));
            let _ = self.conn.handle_segment(self.now, &parsed.segment);
        } else {
            let _ = self.conn.handle_segment(self.now, &seg);
        }
    }

    fn advance_time(&mut self, input: &mut Input) {
        let b = input.u8();
        let ms = match b >> 6 {
            0 => u64::from(b & 0x3f),
            1 => u64::from(input.u8()) * 10,
            2 => u64::from(input.u16()) * 4,
            _ => {
                // Straight to the next deadline.
                let next = self
                    .conn
                    .poll_timeout()
                    .map_or(0, |t| t.millis().saturating_sub(self.now.millis()));
                next + u64::from(b & 1)
            }
        };
        self.now = self.now + Duration::from_millis(ms);
        if self.conn.poll_timeout().is_some_and(|t| t <= self.now) {
            self.conn.handle_timeout(self.now);
            if let Some(t) = self.conn.poll_timeout() {
                assert!(
                    t > self.now,
                    "deadline {t:?} still due after handle_timeout({:?}) in {:?}",
                    self.now,
                    self.conn.state()
                );
            }
        }
    }

    fn app_recv(&mut self, input: &mut Input) {
        let want = usize::from(input.u16()) % (self.app.len() + 1);
        let available = self.conn.recv_len();
        let n = if input.bit() {
            let n = self.conn.recv(&mut self.app[..want]);
            assert_eq!(n, want.min(available), "recv returned a wrong count");
            n
        } else {
            let (a, b) = self.conn.recv_slices();
            assert_eq!(a.len() + b.len(), available);
            let n = want.min(available);
            let first = n.min(a.len());
            self.app[..first].copy_from_slice(&a[..first]);
            self.app[first..n].copy_from_slice(&b[..n - first]);
            self.conn.recv_consume(n);
            n
        };
        assert_eq!(self.conn.recv_len(), available - n);
        let first = self.obs.irs + 1 + self.obs.read;
        for (i, &b) in self.app[..n].iter().enumerate() {
            assert_eq!(
                b,
                peer_byte(first.0.wrapping_add(i as u32)),
                "recv returned a wrong byte at stream offset {}",
                self.obs.read + i
            );
        }
        self.obs.read += n;
    }

    fn app_send(&mut self, input: &mut Input) {
        let want = usize::from(input.u16()) % (self.app.len() + 1);
        for (i, b) in self.app[..want].iter_mut().enumerate() {
            *b = app_byte((self.obs.queued + i) as u32);
        }
        let cap = self.conn.send_capacity();
        let n = self.conn.send(&self.app[..want]);
        assert_eq!(n, want.min(cap), "send took a wrong count");
        if self.obs.app_closed {
            assert_eq!(n, 0, "send after close");
        }
        self.obs.queued += n;
    }

    /// After every operation: drain events and segments and check them, then the state.
    fn after_step(&mut self) {
        while let Some(ev) = self.conn.poll_event() {
            self.obs.on_event(ev, &self.conn);
        }
        let was_closed = self.obs.seen_closed;
        let mut count = 0;
        while let Some(seg) = self.conn.poll_transmit(self.now) {
            count += 1;
            assert!(count < 100_000, "poll_transmit never returns None");
            assert!(!was_closed, "a closed connection sent {seg:?}");
            if self.trace {
                eprintln!(
                    "   out {:?} seq={} ack={} win={} len={} {:?}",
                    seg.flags,
                    seg.seq,
                    seg.ack,
                    seg.window,
                    seg.payload.len(),
                    seg.options
                );
            }
            self.obs.on_transmit(&seg, &mut self.frame);
            if let Some(ts) = seg.options.timestamps {
                self.peer.ts_echo = ts.value;
            }
        }
        assert!(self.conn.poll_transmit(self.now).is_none());
        self.obs.on_state(&self.conn);
        if self.conn.state() == State::Closed {
            assert_eq!(
                self.conn.poll_timeout(),
                None,
                "a closed connection keeps a timer"
            );
        }
    }
}

/// Everything the scripted side has seen, and the invariants on it.
struct Observer {
    config: Config,
    iss: SeqNum,
    irs: SeqNum,
    /// What the SYN offered.
    syn_options: TcpOptions,
    /// Negotiated, as the SYN-ACK says.
    synack_seen: bool,
    ts_ok: bool,
    sack_ok: bool,
    rcv_wscale: u8,
    /// Highest sequence number we sent, plus one.
    snd_max: SeqNum,
    /// Last ACK field we sent and the right edge of the window we advertised.
    last_ack: Option<SeqNum>,
    right_edge: Option<SeqNum>,
    /// Highest end (seq + SEG.LEN) of anything the peer sent, as an offset from IRS + 1.
    peer_high: i64,
    /// Application bytes read, queued, and whether it closed.
    read: usize,
    queued: usize,
    app_closed: bool,
    /// Once seen CLOSED (and drained), nothing but a pending RST may follow.
    seen_closed: bool,
    state: State,
    active_close: bool,
    passive_close: bool,
    established_events: u32,
    peer_closed_events: u32,
}

impl Observer {
    fn new(config: Config, syn: &Segment, iss: SeqNum) -> Observer {
        Observer {
            config,
            iss,
            irs: syn.seq,
            syn_options: syn.options,
            synack_seen: false,
            ts_ok: false,
            sack_ok: false,
            rcv_wscale: 0,
            snd_max: iss,
            last_ack: None,
            right_edge: None,
            peer_high: 0,
            read: 0,
            queued: 0,
            app_closed: false,
            seen_closed: false,
            state: State::SynReceived,
            active_close: false,
            passive_close: false,
            established_events: 0,
            peer_closed_events: 0,
        }
    }

    /// Sequence space we sent beyond ISS (for choosing acknowledgment numbers).
    fn sent_span(&self) -> usize {
        dist(self.snd_max, self.iss).max(0) as usize
    }

    fn on_close(&mut self) {
        if matches!(
            self.state,
            State::SynReceived | State::Established | State::CloseWait
        ) {
            self.app_closed = true;
        }
    }

    fn on_peer_segment(&mut self, seg: &Segment) {
        let end = dist(seg.seq + seg.seq_len(), self.irs + 1);
        self.peer_high = self.peer_high.max(end);
    }

    fn on_event(&mut self, ev: Event, conn: &Connection) {
        let state = conn.state();
        match ev {
            Event::Established => {
                self.established_events += 1;
                assert_eq!(self.established_events, 1, "Established reported twice");
            }
            Event::PeerClosed => {
                self.peer_closed_events += 1;
                assert_eq!(self.peer_closed_events, 1, "PeerClosed reported twice");
            }
            Event::Readable => assert!(conn.recv_len() > 0, "Readable with nothing to read"),
            Event::Reset | Event::TimedOut => {
                assert_eq!(
                    state,
                    State::Closed,
                    "{ev:?} but the connection is {state:?}"
                )
            }
            Event::Closed => assert!(
                matches!(state, State::TimeWait | State::Closed),
                "Closed reported in {state:?}"
            ),
            Event::Writable => {}
        }
    }

    /// Checks one segment we send.
    fn on_transmit(&mut self, seg: &Segment, frame: &mut [u8]) {
        assert_eq!(
            (seg.src_port, seg.dst_port),
            (LOCAL.local_port, LOCAL.remote_port)
        );
        let f = seg.flags;
        assert_eq!(seg.urgent, 0);
        assert!(!f.urg() && !f.contains(TcpFlags::ECE) && !f.contains(TcpFlags::CWR));
        assert!(!(f.syn() && (f.fin() || f.rst())), "bad flags {f:?}");

        // Every segment we build must survive the wire unchanged.
        let hdr = FrameHeader {
            src_mac: MacAddr([2, 0, 0, 0, 0, 2]),
            dst_mac: MacAddr([2, 0, 0, 0, 0, 1]),
            src_addr: LOCAL.local_addr,
            dst_addr: LOCAL.remote_addr,
            ttl: 64,
            ip_id: 0,
        };
        let n = emit_frame(frame, &hdr, seg).expect("an engine segment must fit a frame");
        let parsed = parse_frame(&frame[..n]).expect("an engine segment must parse");
        assert_eq!(
            canonical(&parsed.segment),
            canonical(seg),
            "the wire cannot carry this segment exactly"
        );

        if f.rst() {
            assert!(seg.payload.is_empty() && !f.fin());
            return;
        }
        assert!(f.ack(), "segment without ACK: {seg:?}");
        let shift;
        if f.syn() {
            // The SYN-ACK: <SEQ=ISS><ACK=IRS+1>, options as negotiated.
            assert_eq!(seg.seq, self.iss);
            assert_eq!(seg.ack, self.irs + 1);
            assert!(seg.payload.is_empty());
            let o = &seg.options;
            assert_eq!(o.mss, Some(self.config.mss));
            let ws = self.config.window_scaling && self.syn_options.window_scale.is_some();
            let ts = self.config.timestamps && self.syn_options.timestamps.is_some();
            let sack = self.config.sack && self.syn_options.sack_permitted;
            assert_eq!(o.window_scale.is_some(), ws);
            assert_eq!(o.timestamps.is_some(), ts);
            assert_eq!(o.sack_permitted, sack);
            assert!(o.window_scale.unwrap_or(0) <= 14);
            self.ts_ok = ts;
            self.sack_ok = sack;
            self.rcv_wscale = o.window_scale.unwrap_or(0);
            self.synack_seen = true;
            shift = 0;
        } else {
            assert!(self.synack_seen, "a segment before the SYN-ACK");
            let o = &seg.options;
            assert!(o.mss.is_none() && o.window_scale.is_none() && !o.sack_permitted);
            assert_eq!(
                o.timestamps.is_some(),
                self.ts_ok,
                "timestamps not as negotiated"
            );
            if !self.sack_ok {
                assert!(o.sack.is_empty(), "SACK blocks without SACK-permitted");
            }
            assert!(o.sack.len() <= if self.ts_ok { 3 } else { 4 });
            for b in o.sack.as_slice() {
                assert!(b.left < b.right, "empty SACK block {b:?}");
                assert!(
                    b.left > seg.ack,
                    "SACK block {b:?} at or below ACK {:?}",
                    seg.ack
                );
                assert!(
                    dist(b.right, self.irs + 1) <= self.peer_high,
                    "SACK beyond data"
                );
            }
            shift = self.rcv_wscale;
        }

        // Our sequence numbers: within [ISS, ISS + 1 + queued + FIN].
        let start = dist(seg.seq, self.iss);
        let end = start + seg.seq_len() as i64;
        let limit = 1 + self.queued as i64 + i64::from(self.app_closed);
        assert!(start >= 0, "seq {:?} below ISS {:?}", seg.seq, self.iss);
        assert!(
            end <= limit,
            "sent up to ISS+{end}, only ISS+{limit} exists"
        );
        if !seg.payload.is_empty() {
            let mss = usize::from(self.syn_options.mss.unwrap_or(536)).max(64);
            let cap = mss.min(usize::from(self.config.mss));
            assert!(
                seg.payload.len() <= cap,
                "payload {} above MSS {cap}",
                seg.payload.len()
            );
            let off = (start - 1) as u32;
            for (i, &b) in seg.payload.iter().enumerate() {
                assert_eq!(
                    b,
                    app_byte(off + i as u32),
                    "sent a wrong byte at offset {}",
                    off as usize + i
                );
            }
        }
        if f.fin() {
            assert!(self.app_closed, "FIN without close()");
            assert_eq!(end, limit, "FIN not at the end of the stream");
        }
        if dist(seg.seq + seg.seq_len(), self.snd_max) > 0 {
            self.snd_max = seg.seq + seg.seq_len();
        }

        // Their sequence numbers: RCV.NXT only moves forward, never past what the peer sent
        // or past a window we offered, and never behind what the application read.
        let ack_off = dist(seg.ack, self.irs + 1);
        if let Some(prev) = self.last_ack {
            assert!(
                seg.ack >= prev,
                "ACK moved back from {prev:?} to {:?}",
                seg.ack
            );
        }
        assert!(
            ack_off <= self.peer_high,
            "ACKed ahead of what the peer sent"
        );
        assert!(ack_off >= self.read as i64, "ACK behind what was read");
        if let Some(edge) = self.right_edge {
            assert!(
                dist(seg.ack, edge) <= 1,
                "accepted data beyond the offered window"
            );
        }
        let wnd = usize::from(seg.window) << shift;
        let slack = (1usize << self.rcv_wscale) - 1;
        assert!(
            wnd <= self.config.recv_buffer + slack,
            "window {wnd} above the buffer"
        );
        let mut edge = seg.ack + wnd;
        if let Some(prev) = self.right_edge {
            if f.syn() {
                // A retransmitted SYN-ACK cannot carry more than 65535 unscaled (RFC 7323
                // section 2.2) and does not take back what a scaled window offered.
                edge = edge.max(prev);
            }
            assert!(
                edge >= prev,
                "window edge moved left from {prev:?} to {edge:?}"
            );
        }
        self.last_ack = Some(seg.ack);
        self.right_edge = Some(edge);
    }

    fn on_state(&mut self, conn: &Connection) {
        let s = conn.state();
        if self.seen_closed {
            assert_eq!(s, State::Closed, "a closed connection came back as {s:?}");
        }
        assert!(!conn.is_closed() || s == State::Closed);
        let rank = |s: State| match s {
            State::Closed => 5,
            State::TimeWait => 4,
            State::FinWait2 | State::Closing | State::LastAck => 3,
            State::FinWait1 | State::CloseWait => 2,
            State::Established => 1,
            _ => 0,
        };
        assert!(
            rank(s) >= rank(self.state),
            "went back from {:?} to {s:?}",
            self.state
        );
        match s {
            State::FinWait1 | State::FinWait2 | State::Closing | State::TimeWait => {
                self.active_close = true
            }
            State::CloseWait | State::LastAck => self.passive_close = true,
            _ => {}
        }
        assert!(
            !(self.active_close && self.passive_close),
            "both close paths taken"
        );
        if self.active_close {
            assert!(self.app_closed, "{s:?} without close()");
        }
        assert!(
            self.read as i64 + conn.recv_len() as i64 <= self.peer_high,
            "more readable than the peer sent"
        );
        if s == State::Closed {
            self.seen_closed = true;
        }
        self.state = s;
    }
}

// ---------------------------------------------------------------------------------------
// The connection table
// ---------------------------------------------------------------------------------------

/// Several connections in a small [`ConnectionTable`], driven as the worker does: a
/// segment for one of 8 tuples (accepting SYNs for unknown ones), or time passing with the
/// expired timers popped. After the timers ran, no live connection may still be due: the
/// table would never call it again.
pub fn fuzz_table(data: &[u8]) {
    let mut input = Input::new(data);
    let config = config_from(&mut input);
    let max = usize::from(input.u8() % 8) + 1;
    let mut table: ConnectionTable<()> = ConnectionTable::new(max, usize::from(input.u8() % 4));
    let mut now = Instant::from_millis(1_000_000);
    let tuple = |i: u8| FourTuple {
        remote_port: 40_000 + u16::from(i % 8),
        ..LOCAL
    };
    while !input.is_empty() {
        let op = input.u8();
        if op & 0x80 != 0 {
            now = now + Duration::from_millis(u64::from(input.u16()) * 8);
            while let Some(id) = table.pop_expired(now) {
                let entry = table.get_mut(id).expect("popped id is live");
                if entry.conn.poll_timeout().is_some_and(|d| d <= now) {
                    entry.conn.handle_timeout(now);
                }
                drain(&mut entry.conn, now);
                table.after_io(id);
            }
            for id in table.ids().collect::<Vec<_>>() {
                let conn = &table.get_mut(id).expect("live").conn;
                if let Some(t) = conn.poll_timeout() {
                    assert!(
                        t > now,
                        "connection {id} lost its timer: due {t:?}, now {now:?}"
                    );
                }
            }
        } else {
            let t = tuple(op);
            let seg = Segment {
                src_port: t.remote_port,
                dst_port: t.local_port,
                seq: SeqNum(input.u32()),
                ack: SeqNum(input.u32()),
                flags: TcpFlags(input.u8()),
                window: input.u16(),
                ..Segment::default()
            };
            match table.lookup(&t) {
                Some(id) => {
                    let entry = table.get_mut(id).expect("indexed id is live");
                    assert_eq!(entry.conn.tuple(), t, "lookup returned another tuple");
                    if input.bit() {
                        entry.conn.abort();
                    } else {
                        let _ = entry.conn.handle_segment(now, &seg);
                    }
                    drain(&mut entry.conn, now);
                    table.after_io(id);
                }
                None => {
                    if handle_unmatched(&seg, true) == Unmatched::Accept && table.available() > 0 {
                        let conn = Connection::accept(now, &config, t, &seg, SeqNum(input.u32()));
                        let id = table.insert(conn, (), [2, 0, 0, 0, 0, 1]).expect("room");
                        drain(&mut table.get_mut(id).expect("inserted").conn, now);
                        table.after_io(id);
                    }
                }
            }
        }
        assert_eq!(table.len() + table.available(), max, "slots leaked");
        for id in table.ids().collect::<Vec<_>>() {
            let conn = &table.get_mut(id).expect("indexed id is live").conn;
            assert!(!conn.is_closed(), "a closed connection stayed in the table");
            let tuple = conn.tuple();
            assert_eq!(table.lookup(&tuple), Some(id));
        }
    }
}

fn drain(conn: &mut Connection, now: Instant) {
    while conn.poll_event().is_some() {}
    let mut n = 0;
    while conn.poll_transmit(now).is_some() {
        n += 1;
        assert!(n < 100_000, "poll_transmit never returns None");
    }
}
