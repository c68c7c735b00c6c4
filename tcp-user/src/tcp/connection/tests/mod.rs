//! Test harness: a connection driven with injected time, a scripted peer crafting segments,
//! and owned copies of everything the connection sends. One scenario per test, named after
//! the rule it checks.

mod autotune;
mod bulk;
mod close;
mod connect;
mod handshake;
mod receive;
mod retransmit;
mod rst;
mod sack;
mod send;
mod sim;

use crate::stats::DropReason;
use crate::tcp::{
    Config, ConnStats, Connection, Event, FourTuple, Instant, Segment, SeqNum, State, TcpFlags,
    TcpOptions, Timestamps,
};
use crate::wire::Addr;
use std::sync::Arc;
use std::time::Duration;

pub const LOCAL_PORT: u16 = 80;
pub const REMOTE_PORT: u16 = 40000;
/// Our ISS.
pub const ISS: u32 = 1000;
/// The peer's ISS.
pub const IRS: u32 = 5000;
pub const T0: Instant = Instant::from_millis(10_000);
/// RTT of the handshake in `Harness::established*`.
pub const HANDSHAKE_RTT: Duration = Duration::from_millis(10);

pub const ACK: TcpFlags = TcpFlags::ACK;
pub const SYN: TcpFlags = TcpFlags::SYN;
pub const FIN: TcpFlags = TcpFlags::FIN;
pub const RST: TcpFlags = TcpFlags::RST;
pub const PSH: TcpFlags = TcpFlags::PSH;

pub fn tuple() -> FourTuple {
    FourTuple {
        local_addr: Addr::v4(0x0a00_0001),
        local_port: LOCAL_PORT,
        remote_addr: Addr::v4(0x0a00_0002),
        remote_port: REMOTE_PORT,
    }
}

/// A segment the connection sent, copied out so tests can keep it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub options: TcpOptions,
    pub payload: Vec<u8>,
}

impl Sent {
    fn from(s: &Segment) -> Sent {
        assert_eq!((s.src_port, s.dst_port), (LOCAL_PORT, REMOTE_PORT));
        Sent {
            seq: s.seq.0,
            ack: s.ack.0,
            flags: s.flags,
            window: s.window,
            options: s.options,
            payload: s.payload.to_vec(),
        }
    }
}

/// What the peer offers in its SYN.
#[derive(Clone, Copy, Debug)]
pub struct PeerSyn {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack: bool,
    pub ts: Option<u32>,
    pub window: u16,
}

impl Default for PeerSyn {
    /// MSS 1460, window scaling with shift 0 (so window fields are bytes), SACK, no TS.
    fn default() -> Self {
        PeerSyn {
            mss: Some(1460),
            wscale: Some(0),
            sack: true,
            ts: None,
            window: 65535,
        }
    }
}

pub fn syn_segment(p: PeerSyn) -> Segment<'static> {
    Segment {
        src_port: REMOTE_PORT,
        dst_port: LOCAL_PORT,
        seq: SeqNum(IRS),
        flags: SYN,
        window: p.window,
        options: TcpOptions {
            mss: p.mss,
            window_scale: p.wscale,
            sack_permitted: p.sack,
            timestamps: p.ts.map(|v| Timestamps { value: v, echo: 0 }),
            ..TcpOptions::default()
        },
        ..Segment::default()
    }
}

/// A connection, the time, and the peer's view of the sequence spaces.
pub struct Harness {
    pub conn: Connection,
    pub now: Instant,
    /// Peer's next sequence number (what it sends next).
    pub peer_seq: u32,
    /// What the peer acknowledges (our bytes it received).
    pub peer_ack: u32,
    /// Window field the peer sends.
    pub peer_window: u16,
    /// Peer's TSval, if timestamps are on.
    pub peer_ts: Option<u32>,
    /// Last TSval we sent (the peer echoes it).
    pub last_tsval: u32,
}

pub fn config() -> Config {
    Config {
        msl: Duration::from_secs(1),
        ..Config::default()
    }
}

impl Harness {
    /// SYN received at T0; the SYN-ACK not yet collected.
    pub fn syn_received(config: Config, p: PeerSyn) -> Harness {
        let syn = syn_segment(p);
        let conn = Connection::accept(T0, &Arc::new(config), tuple(), &syn, SeqNum(ISS));
        Harness {
            conn,
            now: T0,
            peer_seq: IRS + 1,
            peer_ack: ISS + 1,
            peer_window: p.window,
            peer_ts: p.ts,
            last_tsval: 0,
        }
    }

    /// Handshake completed HANDSHAKE_RTT after the SYN; all output and events drained.
    pub fn established_with(config: Config, p: PeerSyn) -> Harness {
        let mut h = Harness::syn_received(config, p);
        let out = h.transmit();
        assert_eq!(out.len(), 1, "one SYN-ACK: {out:?}");
        h.advance(HANDSHAKE_RTT);
        h.input(ACK, &[]).expect("final ACK");
        assert_eq!(h.conn.state(), State::Established);
        assert!(h.transmit().is_empty());
        assert_eq!(h.events(), vec![Event::Established]);
        h
    }

    /// `connect` at T0; the SYN not yet collected. The peer's SYN will carry IRS.
    pub fn syn_sent(config: Config) -> Harness {
        let conn = Connection::connect(T0, &Arc::new(config), tuple(), SeqNum(ISS));
        Harness {
            conn,
            now: T0,
            peer_seq: IRS,
            peer_ack: ISS + 1,
            peer_window: 65535,
            peer_ts: None,
            last_tsval: 0,
        }
    }

    /// The peer's SYN-ACK answering our SYN: <SEQ=IRS><ACK=ISS+1> with the options of `p`,
    /// echoing our last TSval. Sets the harness up to continue as that peer.
    pub fn peer_syn_ack(&mut self, p: PeerSyn) -> Segment<'static> {
        let mut seg = syn_segment(p);
        seg.flags = SYN | ACK;
        seg.ack = SeqNum(ISS + 1);
        if let Some(ts) = seg.options.timestamps.as_mut() {
            ts.echo = self.last_tsval;
        }
        self.peer_seq = IRS + 1;
        self.peer_window = p.window;
        self.peer_ts = p.ts;
        seg
    }

    pub fn established() -> Harness {
        Harness::established_with(config(), PeerSyn::default())
    }

    /// A segment from the peer with its current sequence, acknowledgment and window.
    pub fn segment<'a>(&self, flags: TcpFlags, payload: &'a [u8]) -> Segment<'a> {
        Segment {
            src_port: REMOTE_PORT,
            dst_port: LOCAL_PORT,
            seq: SeqNum(self.peer_seq),
            ack: SeqNum(self.peer_ack),
            flags,
            window: self.peer_window,
            options: TcpOptions {
                timestamps: self.peer_ts.map(|v| Timestamps {
                    value: v,
                    echo: self.last_tsval,
                }),
                ..TcpOptions::default()
            },
            payload,
            ..Segment::default()
        }
    }

    /// Sends `flags`/`payload` from the peer and advances the peer's sequence number.
    pub fn input(&mut self, flags: TcpFlags, payload: &[u8]) -> Result<(), DropReason> {
        let seg = self.segment(flags, payload);
        self.peer_seq = self.peer_seq.wrapping_add(seg.seq_len() as u32);
        let now = self.now;
        self.conn.handle_segment(now, &seg)
    }

    /// Delivers an arbitrary segment.
    pub fn deliver(&mut self, seg: &Segment) -> Result<(), DropReason> {
        let now = self.now;
        self.conn.handle_segment(now, seg)
    }

    /// Everything the connection sends now.
    pub fn transmit(&mut self) -> Vec<Sent> {
        let mut out = Vec::new();
        while let Some(s) = self.conn.poll_transmit(self.now) {
            out.push(Sent::from(&s));
            assert!(out.len() < 10_000, "poll_transmit does not terminate");
        }
        if let Some(ts) = out.iter().rev().find_map(|s| s.options.timestamps) {
            self.last_tsval = ts.value;
        }
        out
    }

    /// Moves time forward without firing timers.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
    }

    /// Moves time to `t`, firing every deadline on the way; returns what was sent at each
    /// deadline (time relative to the start of the call).
    pub fn run_until(&mut self, t: Instant) -> Vec<(Instant, Vec<Sent>)> {
        let mut log = Vec::new();
        while let Some(d) = self.conn.poll_timeout() {
            if d > t {
                break;
            }
            self.now = self.now.max(d);
            let now = self.now;
            self.conn.handle_timeout(now);
            let out = self.transmit();
            log.push((d, out));
            assert!(log.len() < 10_000);
        }
        self.now = self.now.max(t);
        log
    }

    /// Fires the next deadline (asserting it is exactly `after` from now) and returns
    /// what was sent.
    pub fn fire_after(&mut self, after: Duration) -> Vec<Sent> {
        let d = self.conn.poll_timeout().expect("a timer is armed");
        assert_eq!(d, self.now + after, "deadline");
        self.now = d;
        self.conn.handle_timeout(d);
        self.transmit()
    }

    pub fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.conn.poll_event()).collect()
    }

    /// Reads everything readable.
    pub fn read_all(&mut self) -> Vec<u8> {
        let mut buf = vec![0; 1 << 20];
        let n = self.conn.recv(&mut buf);
        buf.truncate(n);
        buf
    }
}

/// `n` bytes of a recognisable pattern.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// A small deterministic PRNG (xorshift64*), so lossy runs are reproducible.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}
