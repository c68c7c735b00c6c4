//! One TCP connection: the RFC 9293 state machine with its buffers, timers and congestion
//! control. The `impl Connection` blocks are split by concern:
//! - this file: the state and accessors;
//! - `open.rs`: the three ways a connection begins (passive open, SYN cookie, active open)
//!   and SYN-SENT processing, RFC 9293 section 3.10.7.3;
//! - `input.rs`: segment arrival, RFC 9293 section 3.10.7.4 step by step;
//! - `ack.rs`: step five (ACK processing), RTT sampling and loss detection;
//! - `output.rs`: what to send next, window advertisement, segment building;
//! - `timers.rs`: deadlines and what happens when they pass;
//! - `app.rs`: the application side (read, write, close, abort).
//!
//! Nothing here allocates after construction, reads a clock or touches the network.

mod ack;
mod app;
mod autotune;
mod info;
mod input;
mod open;
mod output;
mod sack;
mod timers;

pub(crate) use open::peer_mss;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use super::congestion::Congestion;
use super::conn_stats::ConnStats;
use super::recv_buffer::ReceiveBuffer;
use super::rtt::RttEstimator;
use super::scoreboard::Scoreboard;
use super::send_buffer::SendBuffer;
use super::state::EventSet;
use super::{Config, ConnectError, Event, FourTuple, Instant, Segment, SeqNum, State};
use autotune::Autotune;

/// MSS assumed when the peer sends none (RFC 9293 section 3.7.1: 536 for IPv4).
const DEFAULT_PEER_MSS: usize = 536;
/// Bytes the timestamps option takes in every segment (NOP, NOP, kind, len, 8 bytes).
const TS_OPTION_LEN: usize = 12;
/// Largest window scale shift (RFC 7323 section 2.3).
const MAX_WSCALE: u8 = 14;

/// A pending RST: `<SEQ=seq>` and, if `ack` is set, `<ACK=ack><CTL=RST,ACK>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PendingRst {
    seq: SeqNum,
    ack: Option<SeqNum>,
}

/// One TCP connection (a transmission control block, RFC 9293 section 3.3.1).
#[derive(Debug)]
pub struct Connection {
    /// Shared by every connection of the endpoint (176 bytes each otherwise).
    config: Arc<Config>,
    tuple: FourTuple,
    state: State,
    events: EventSet,
    stats: ConnStats,
    /// We sent the first SYN (`connect`): a RST or timeout before ESTABLISHED fails the
    /// attempt instead of silently dropping a half-open connection.
    active_open: bool,
    connect_error: Option<ConnectError>,
    /// The connection ended gracefully (`Event::Closed`): what it received stays readable
    /// until the application has read it, in TIME_WAIT and after.
    ended_gracefully: bool,
    /// A CLOSED connection keeps unread data until then (2*MSL, as long as TIME_WAIT), and
    /// discards it after, so a service that never reads cannot pin the connection forever.
    linger_at: Option<Instant>,

    // --- Send sequence space (RFC 9293 section 3.3.1) ---
    iss: SeqNum,
    /// SND.UNA: oldest unacknowledged sequence number.
    snd_una: SeqNum,
    /// SND.NXT: next sequence number to send (moved back to SND.UNA on a timeout).
    snd_nxt: SeqNum,
    /// Highest sequence number sent, plus one (Linux's `snd_nxt`).
    snd_max: SeqNum,
    /// SND.WND in bytes (already scaled).
    snd_wnd: usize,
    snd_wl1: SeqNum,
    snd_wl2: SeqNum,
    /// Largest window the peer ever offered (RFC 5961 MAX.SND.WND, SWS avoidance).
    max_snd_wnd: usize,
    /// Window scaling was negotiated (both shifts may still be 0).
    ws_ok: bool,
    /// The peer's window scale shift (applied to windows it sends).
    snd_wscale: u8,
    send: SendBuffer,
    /// Sequence number of the first byte in `send`.
    send_seq: SeqNum,
    /// The application closed: a FIN follows the buffered data.
    fin_queued: bool,
    /// Our SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) is to be (re)sent.
    syn_pending: bool,
    /// `send` could not take everything: report `Event::Writable` when room frees.
    write_blocked: bool,

    // --- Receive sequence space ---
    irs: SeqNum,
    /// RCV.NXT, counting the peer's SYN and FIN.
    rcv_nxt: SeqNum,
    /// Right edge of the window we last advertised (RCV.NXT + RCV.WND); never moves left.
    rcv_adv: SeqNum,
    /// Our window scale shift.
    rcv_wscale: u8,
    /// Bytes of `recv` kept out of the advertised window so rounding the scaled window up
    /// never promises more than fits.
    rcv_slack: usize,
    recv: ReceiveBuffer,
    /// Receive-window auto-tuning: what the window offers (`autotune.rs`).
    tune: Autotune,
    /// Largest payload received: what counts as a "full-sized segment" for delayed ACKs.
    rcv_mss: usize,
    /// Sequence number of a FIN that arrived ahead of missing data.
    peer_fin: Option<SeqNum>,
    fin_received: bool,

    // --- Options ---
    peer_mss: usize,
    sack_ok: bool,
    ts_ok: bool,
    /// TS.Recent (RFC 7323 section 4.3) and when it was recorded (for PAWS's 24-day rule).
    ts_recent: u32,
    ts_recent_at: Instant,
    /// Last.ACK.sent (RFC 7323 section 4.3).
    last_ack_sent: SeqNum,
    /// Added to our millisecond clock for TSval (RFC 7323 section 5.4: per-connection).
    ts_offset: u32,
    /// TSval of the first segment of the current flight (set when data leaves with nothing
    /// in flight): an echo older than this is from before the flight, so it cannot be for
    /// anything an ACK of the flight acknowledges.
    flight_tsval: u32,

    // --- ACK generation ---
    /// Send an ACK at the next `poll_transmit`.
    ack_now: bool,
    /// In-order bytes received since the last ACK we sent.
    unacked_bytes: usize,
    delack_at: Option<Instant>,
    /// Challenge/out-of-window ACK rate limit: window start and count (RFC 5961 section 7).
    challenge_window: Instant,
    challenge_count: u32,

    // --- Retransmission and congestion ---
    rtt: RttEstimator,
    /// Karn's algorithm: the sequence number whose acknowledgment times a segment sent at
    /// the given instant (cleared when anything is retransmitted).
    rtt_probe: Option<(SeqNum, Instant)>,
    rto_at: Option<Instant>,
    /// Consecutive timeouts without progress.
    retries: u32,
    syn_retransmits: u32,
    /// Retransmit the segment at SND.UNA next (fast retransmit, partial ACK).
    rtx_una: bool,
    /// A timeout fired: send the segment at SND.NXT (= SND.UNA) regardless of windows.
    rto_send: bool,
    dup_acks: u32,
    in_recovery: bool,
    /// `recover` of RFC 6582, RecoveryPoint of RFC 6675.
    recover: SeqNum,
    /// SACK recovery after a timeout: everything unSACKed below `recover` is lost.
    rto_recovery: bool,
    /// SACK recovery presumes the segment at SND.UNA lost (fast retransmit, partial ACK).
    head_lost: bool,
    /// HighRxt of RFC 6675, plus one: retransmitted in this recovery up to here.
    high_rxt: SeqNum,
    /// SND.MAX when the latest SACK-recovery retransmission was sent.
    rtx_fence: SeqNum,
    /// RescueRxt of RFC 6675 (`None`: undefined).
    rescue_rxt: Option<SeqNum>,
    /// What the peer SACKed above SND.UNA (RFC 6675 scoreboard).
    scoreboard: Scoreboard,
    cc: Congestion,

    // --- Persist (zero-window probing) ---
    persist_at: Option<Instant>,
    persist_backoff: u32,
    probe_pending: bool,
    /// The persist timer fired on a small non-zero window: send what fits (SWS override).
    force_send: bool,
    probes_out: u32,

    // --- Closing and idling ---
    rst_pending: Option<PendingRst>,
    time_wait_at: Option<Instant>,
    fin_wait2_at: Option<Instant>,
    last_recv: Instant,
    /// When the connection began (its first SYN), for listings.
    opened_at: Instant,
}

impl Connection {
    /// The connection's state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The connection's addresses and ports.
    pub fn tuple(&self) -> FourTuple {
        self.tuple
    }

    /// True when the connection is CLOSED and has nothing left to send: the table may free
    /// it (drain `poll_event` first).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed && self.rst_pending.is_none()
    }

    /// True when the connection ended gracefully with data the application has not read
    /// yet: the table keeps it (and its receive buffer) until the data is read, as Linux
    /// keeps a closed socket's receive queue readable, for at most 2*MSL after CLOSED. A
    /// reset or abort discards instead.
    pub fn keeps_unread_data(&self) -> bool {
        self.ended_gracefully && !self.recv.is_empty()
    }

    /// Why an active open failed, once it did (reported with `Event::Reset` or
    /// `Event::TimedOut`).
    pub fn connect_error(&self) -> Option<ConnectError> {
        self.connect_error
    }

    /// Counters.
    pub fn stats(&self) -> &ConnStats {
        &self.stats
    }

    /// The next event for the application, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    /// Smoothed RTT, once measured.
    pub fn srtt(&self) -> Option<std::time::Duration> {
        self.rtt.srtt()
    }

    /// Round-trip time variation (RTTVAR of RFC 6298), once measured.
    pub fn rttvar(&self) -> Option<std::time::Duration> {
        self.rtt.rttvar()
    }

    /// Current retransmission timeout (with backoff).
    pub fn rto(&self) -> std::time::Duration {
        self.rtt.rto()
    }

    /// Congestion window in bytes.
    pub fn cwnd(&self) -> usize {
        use super::congestion::CongestionControl;
        self.cc.cwnd()
    }

    /// RFC 9293 section 3.10.7.4 (TIME-WAIT) and Linux `tcp_timewait_state_process`: a new
    /// SYN may reopen a tuple in TIME_WAIT if its sequence number is beyond RCV.NXT, or if
    /// timestamps are in use and its TSval is newer than TS.Recent (RFC 6191); never if its
    /// TSval is older (PAWS). The caller
    /// then frees this connection and accepts the SYN with an ISS above
    /// [`Connection::time_wait_isn_floor`].
    pub fn time_wait_accepts_syn(&self, syn: &Segment) -> bool {
        if self.state != State::TimeWait {
            return false;
        }
        let f = syn.flags;
        if !f.syn() || f.ack() || f.rst() {
            return false;
        }
        // Linux `tcp_timewait_state_process`: a SYN PAWS rejects (an older TSval than
        // TS.Recent) never ends TIME_WAIT, whatever its sequence number.
        let (newer_ts, paws_reject) = match (self.ts_ok, syn.options.timestamps) {
            (true, Some(ts)) => {
                let d = ts.value.wrapping_sub(self.ts_recent) as i32;
                (d > 0, d < 0)
            }
            _ => (false, false),
        };
        !paws_reject && (syn.seq > self.rcv_nxt || newer_ts)
    }

    /// True when this TIME_WAIT connection's tuple may be taken by a new connection *we*
    /// open (Linux `tcp_twsk_unique` with `tcp_tw_reuse`): timestamps were in use, so the
    /// peer's PAWS check rejects old duplicates of this incarnation, and it has been in
    /// TIME_WAIT for at least a second. The new connection starts above
    /// [`Connection::time_wait_isn_floor`].
    pub fn time_wait_reusable_by_connect(&self, now: Instant) -> bool {
        self.state == State::TimeWait
            && self.ts_ok
            && self.recv.is_empty()
            && self.time_wait_at.is_some_and(|end| {
                let tw = (2 * self.config.msl).as_micros() as u64;
                let entered = Instant::from_micros(end.micros().saturating_sub(tw));
                now.saturating_since(entered) >= std::time::Duration::from_secs(1)
            })
    }

    /// An ISS for a connection reusing this tuple that is safely above everything this
    /// incarnation sent (Linux: `tw_snd_nxt + 65535 + 2`).
    pub fn time_wait_isn_floor(&self) -> SeqNum {
        self.snd_max + 65537
    }

    /// The MSS we announce and never exceed: the configured one for the family
    /// ([`Config::mss_for`](crate::tcp::Config::mss_for)).
    #[inline]
    fn own_mss(&self) -> u16 {
        self.config.mss_for(self.tuple.family())
    }

    /// Largest payload per segment, before SACK blocks: the smaller of the peer's MSS and
    /// ours, minus the timestamps option (RFC 6691: MSS excludes options).
    fn send_mss(&self) -> usize {
        let mss = self.peer_mss.min(usize::from(self.own_mss()));
        let ts = if self.ts_ok { TS_OPTION_LEN } else { 0 };
        mss.saturating_sub(ts).max(1)
    }

    /// Sequence number after the last byte queued to send (where the FIN goes).
    fn send_end(&self) -> SeqNum {
        self.send_seq + self.send.len()
    }

    /// Sequence number of our FIN, once the application closed.
    fn fin_seq(&self) -> Option<SeqNum> {
        self.fin_queued.then(|| self.send_end())
    }

    /// True when our FIN was sent and acknowledged.
    fn fin_acked(&self) -> bool {
        self.fin_seq().is_some_and(|f| self.snd_una > f)
    }

    /// Bytes sent and not yet acknowledged (RFC 5681 FlightSize).
    fn flight_size(&self) -> usize {
        self.snd_nxt - self.snd_una
    }

    /// Our TSval for `now`.
    fn ts_now(&self, now: Instant) -> u32 {
        (now.millis() as u32).wrapping_add(self.ts_offset)
    }

    /// Moves to a new state; entering TIME_WAIT starts the 2*MSL timer and reports the
    /// graceful end.
    fn set_state(&mut self, now: Instant, state: State) {
        self.state = state;
        match state {
            State::TimeWait => {
                self.time_wait_at = Some(now + 2 * self.config.msl);
                self.fin_wait2_at = None;
                self.stop_retransmission();
                self.events.insert(Event::Closed);
                self.ended_gracefully = true;
            }
            State::FinWait2 => {
                self.fin_wait2_at = Some(now + self.config.fin_wait2_timeout);
            }
            State::Closed => {
                self.clear_timers();
                if self.ended_gracefully && !self.recv.is_empty() {
                    self.linger_at = Some(now + 2 * self.config.msl);
                }
            }
            _ => {}
        }
    }

    fn stop_retransmission(&mut self) {
        self.rto_at = None;
        self.persist_at = None;
        self.probe_pending = false;
        self.rtx_una = false;
        self.rto_send = false;
    }

    fn clear_timers(&mut self) {
        self.stop_retransmission();
        self.delack_at = None;
        self.time_wait_at = None;
        self.fin_wait2_at = None;
    }

    /// True when the connection holds buffer memory with nothing in it: nothing to read,
    /// nothing out of order, nothing unacknowledged. The endpoint gives such memory back
    /// after `Config::buffer_linger` ([`Connection::release_idle_buffers`]).
    pub fn holds_idle_buffers(&self) -> bool {
        self.recv.memory() + self.send.memory() > 0
            && self.recv.is_empty()
            && !self.recv.has_out_of_order()
            && self.send.is_empty()
    }

    /// Gives the buffers' memory back if they are idle; true if it did. The buffers take
    /// memory again as soon as data comes.
    pub fn release_idle_buffers(&mut self) -> bool {
        if !self.holds_idle_buffers() {
            return false;
        }
        self.recv.release();
        self.send.release();
        true
    }

    /// Moves held data into smaller buffers where they are far larger than what they hold
    /// (memory pressure); true if any shrank.
    pub fn shrink_buffers(&mut self) -> bool {
        self.recv.shrink()
    }

    /// Bytes of buffer memory this connection holds now.
    pub fn buffer_memory(&self) -> usize {
        self.recv.memory() + self.send.memory()
    }
}

/// RFC 7323 section 5.4: a per-connection offset keeps TSval from leaking uptime. ISS is
/// already a keyed hash of the tuple, so the offset is derived from it (which also lets a
/// SYN cookie recompute it from the returning ACK alone).
pub(crate) fn ts_offset_for(iss: SeqNum) -> u32 {
    iss.0.wrapping_mul(0x9e37_79b9).rotate_left(11)
}

/// Smallest window scale shift that fits `buffer` bytes in the 16-bit window field.
pub(crate) fn window_shift_for(buffer: usize) -> u8 {
    let mut shift = 0u8;
    while shift < MAX_WSCALE && (buffer >> shift) > usize::from(u16::MAX) {
        shift += 1;
    }
    shift
}
