//! How a connection begins: passive open (RFC 9293 section 3.10.7.2), the returning ACK of a
//! SYN cookie (RFC 4987), and active open with SYN-SENT processing (section 3.10.7.3),
//! simultaneous open included. The handshake's options are settled here, once.

use super::{
    ts_offset_for, window_shift_for, Autotune, Connection, PendingRst, DEFAULT_PEER_MSS, MAX_WSCALE,
};
use std::sync::Arc;

use crate::stats::DropReason;
use crate::tcp::congestion::{initial_window, Congestion};
use crate::tcp::conn_stats::ConnStats;
use crate::tcp::recv_buffer::ReceiveBuffer;
use crate::tcp::rtt::RttEstimator;
use crate::tcp::scoreboard::Scoreboard;
use crate::tcp::send_buffer::SendBuffer;
use crate::tcp::state::EventSet;
use crate::tcp::{
    Config, ConnectError, Event, FourTuple, Instant, Segment, SeqNum, State, TcpFlags, TcpOptions,
};

impl Connection {
    /// LISTEN -> SYN-RECEIVED on a SYN (RFC 9293 section 3.10.7.2): "Set RCV.NXT to
    /// SEG.SEQ+1, IRS is set to SEG.SEQ ... ISS should be selected and a SYN segment sent of
    /// the form <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>". The SYN-ACK is queued with the options
    /// the peer offered and `config` allows: MSS always, window scale, SACK-permitted and
    /// timestamps only if offered.
    pub fn accept(
        now: Instant,
        config: &Arc<Config>,
        tuple: FourTuple,
        syn: &Segment,
        iss: SeqNum,
    ) -> Connection {
        let ws = config.window_scaling && syn.options.window_scale.is_some();
        let mut conn =
            Connection::new_tcb(now, config, tuple, State::SynReceived, iss, syn.seq, ws);
        conn.stats.segments_in = 1;
        conn.negotiate(now, &syn.options);
        conn.take_syn_window(syn);
        conn.syn_pending = true;
        conn
    }

    /// Active OPEN (RFC 9293 section 3.10.4): "A SYN segment of the form <SEQ=ISS><CTL=SYN>
    /// is sent. Set SND.UNA to ISS, SND.NXT to ISS+1, enter SYN-SENT state". The SYN offers
    /// MSS, and window scale, SACK-permitted and timestamps as `config` allows; it is
    /// retransmitted from `rto_initial` with exponential backoff `config.connect_retries`
    /// times, after which the attempt fails with `Event::TimedOut`. `iss` comes from
    /// [`IsnGenerator`](crate::tcp::IsnGenerator) like a passive open's.
    pub fn connect(
        now: Instant,
        config: &Arc<Config>,
        tuple: FourTuple,
        iss: SeqNum,
    ) -> Connection {
        let ws = config.window_scaling;
        // IRS is unknown until the SYN-ACK: RCV.NXT and the receive buffer are set then.
        let mut conn = Connection::new_tcb(now, config, tuple, State::SynSent, iss, iss, ws);
        conn.active_open = true;
        conn.syn_pending = true;
        conn
    }

    /// The connection a valid SYN cookie stands for, built from the returning ACK alone
    /// (ISS = SEG.ACK-1, IRS = SEG.SEQ-1) with the options `offer` the cookie encoded, in
    /// ESTABLISHED: the ACK completes the handshake, and its data (and FIN) are processed as
    /// if it had arrived on an established connection. `Event::Established` is queued.
    /// Only [`SynCookies::accept_ack`](crate::tcp::SynCookies::accept_ack) may call this:
    /// it is what checked the cookie.
    pub(crate) fn from_cookie(
        now: Instant,
        config: &Arc<Config>,
        tuple: FourTuple,
        ack: &Segment,
        offer: &TcpOptions,
    ) -> Connection {
        let iss = ack.ack.minus(1);
        let irs = ack.seq.minus(1);
        let ws = offer.window_scale.is_some();
        let mut conn = Connection::new_tcb(now, config, tuple, State::Established, iss, irs, ws);
        conn.negotiate(now, offer);
        // Our SYN counts as sent and acknowledged: the ACK's own SEG.ACK = SND.UNA is then
        // neither new nor a duplicate, and takes no RTT sample (the cookie's TSval lost its
        // low bits to the options, so TSecr would overstate the RTT by up to 63 ms).
        conn.snd_una = iss + 1;
        conn.snd_wl1 = irs; // so step five takes the ACK's (scaled) window
                            // The SYN-ACK promised this much, unscaled (see `SynCookies::syn_ack`).
        conn.rcv_adv = conn.rcv_nxt + conn.window_space().min(usize::from(u16::MAX));
        conn.events.insert(Event::Established);
        // Errors here concern only the payload (e.g. beyond the window); the connection
        // stands either way.
        let _ = conn.handle_segment(now, ack);
        conn
    }

    /// SYN-SENT (RFC 9293 section 3.10.7.3), step by step.
    pub(super) fn handle_syn_sent(
        &mut self,
        now: Instant,
        seg: &Segment,
    ) -> Result<(), DropReason> {
        let f = seg.flags;
        // first, check the ACK bit: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset
        // (unless the RST bit is set, if so drop the segment and return) <SEQ=SEG.ACK>
        // <CTL=RST> and discard the segment."
        if f.ack() && (seg.ack <= self.iss || seg.ack > self.snd_max) {
            if !f.rst() {
                self.rst_pending = Some(PendingRst {
                    seq: seg.ack,
                    ack: None,
                });
            }
            return Err(DropReason::BadAck);
        }

        // second, check the RST bit: "If the ACK was acceptable, then signal to the user
        // 'error: connection reset', drop the segment, enter CLOSED state ... Otherwise (no
        // ACK), drop the segment and return." RFC 5961's RCV.NXT check cannot apply (RCV.NXT
        // is unknown); like Linux we take the acceptable ACK, which echoes our secret ISS,
        // as the proof that the RST is genuine.
        if f.rst() {
            if !f.ack() {
                return Err(DropReason::BadRst);
            }
            self.fail_connect(now, ConnectError::Refused);
            return Ok(());
        }

        // third, security/compartment: not used.

        // fifth (taken first, it is the short one): "If neither of the SYN or RST bits is
        // set, then drop the segment and return."
        if !f.syn() {
            return Err(DropReason::MissingSyn);
        }

        // fourth, check the SYN bit: "RCV.NXT is set to SEG.SEQ+1, IRS is set to SEG.SEQ".
        self.last_recv = now;
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq + 1;
        self.last_ack_sent = self.rcv_nxt;
        self.recv.reset_next(self.rcv_nxt);
        self.tune.restart(self.rcv_nxt, now);
        self.negotiate(now, &seg.options);
        // Our SYN offered this much, unscaled: data on the SYN-ACK must fit in it.
        self.rcv_adv = self.rcv_nxt + self.window_space().min(usize::from(u16::MAX));
        self.take_syn_window(seg);

        if !f.ack() {
            // Simultaneous open: "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment
            // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it." Text on this SYN is not
            // acknowledged (RCV.NXT covers the SYN only), so the peer sends it again once
            // synchronized; the RFC allows queueing it, which would need a second buffer.
            self.state = State::SynReceived;
            self.syn_pending = true;
            // The SYN-ACK's ACK would time our SYN and the peer's independent SYN together.
            self.rtt_probe = None;
            return Ok(());
        }

        // "SND.UNA should be advanced to equal SEG.ACK ... If SND.UNA > ISS (our SYN has been
        // ACKed), change the connection state to ESTABLISHED, form an ACK segment
        // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it."
        self.snd_una = seg.ack;
        self.sample_rtt(now, seg);
        if self.syn_retransmits > 0 {
            // RFC 6928 section 2: a lost SYN means an initial window of one segment; RFC 6298
            // 5.7: RTO back to 3 s if the exchange gave no RTT sample.
            self.cc = Congestion::new(self.config.congestion, self.send_mss());
            self.rtt.fallback_after_syn_loss();
        }
        self.rto_at = None;
        self.state = State::Established;
        self.events.insert(Event::Established);
        if self.fin_queued {
            // The application half-closed while connecting (`shutdown`): the FIN follows.
            self.set_state(now, State::FinWait1);
        }
        self.ack_now = true;
        // "If there are other controls or text in the segment, then continue processing at
        // the sixth step ... where the URG bit is checked". The SYN is consumed.
        let rest = Segment {
            seq: seg.seq + 1,
            flags: TcpFlags(f.0 & !TcpFlags::SYN.0),
            ..*seg
        };
        self.process_text(now, &rest)
    }

    /// RFC 9293 Figure 8 line 6: in a simultaneous open the peer's SYN-ACK reaches us in
    /// SYN-RECEIVED. Its SYN is already counted (SEG.SEQ = IRS), so the plain sequence test
    /// would refuse it and RFC 5961 would answer a challenge ACK; Linux
    /// (`tcp_validate_incoming`) lets exactly this segment through as the handshake's ACK.
    pub(super) fn simultaneous_syn_ack<'a>(&self, seg: &Segment<'a>) -> Option<Segment<'a>> {
        let f = seg.flags;
        let matches = self.state == State::SynReceived
            && self.active_open
            && f.syn()
            && f.ack()
            && !f.rst()
            && seg.seq == self.irs
            && seg.ack == self.snd_max;
        matches.then(|| Segment {
            seq: seg.seq + 1,
            flags: TcpFlags(f.0 & !TcpFlags::SYN.0),
            // The window of a SYN-ACK is not scaled (RFC 7323 section 2.2); step five will
            // scale it, so pre-divide (rounding down is the safe side).
            window: seg.window >> self.snd_wscale,
            ..*seg
        })
    }

    /// The active open failed: CLOSED, with the error kept for `connect_error` and reported
    /// as `Event::Reset` (refused) or `Event::TimedOut`.
    pub(super) fn fail_connect(&mut self, now: Instant, error: ConnectError) {
        self.connect_error = Some(error);
        self.events.insert(match error {
            ConnectError::Refused => Event::Reset,
            ConnectError::TimedOut => Event::TimedOut,
        });
        self.syn_pending = false;
        self.ack_now = false;
        self.set_state(now, State::Closed);
    }

    /// Settles the options of the handshake from the peer's SYN or SYN-ACK (RFC 7323
    /// sections 2.2 and 3.2, RFC 2018): window scaling and timestamps only if both sides sent
    /// them (we offered all that `config` allows), SACK if the peer permitted it.
    fn negotiate(&mut self, now: Instant, opts: &TcpOptions) {
        let c = *self.config;
        self.ws_ok = c.window_scaling && opts.window_scale.is_some();
        if self.ws_ok {
            self.snd_wscale = opts.window_scale.unwrap_or(0).min(MAX_WSCALE);
        } else {
            // "If a Window Scale option is received ... [without one] both shift counts
            // are 0": our offered shift is void too.
            self.snd_wscale = 0;
            self.rcv_wscale = 0;
            self.rcv_slack = 0;
        }
        self.sack_ok = c.sack && opts.sack_permitted;
        self.ts_ok = c.timestamps && opts.timestamps.is_some();
        self.ts_recent = opts.timestamps.map_or(0, |t| t.value);
        self.ts_recent_at = now;
        self.peer_mss = peer_mss(opts.mss);
        self.cc = Congestion::new(self.config.congestion, initial_window(self.send_mss()));
    }

    /// The send window from a SYN or SYN-ACK (RFC 9293: "SND.WND <- SEG.WND, SND.WL1 <-
    /// SEG.SEQ, SND.WL2 <- SEG.ACK"); RFC 7323 section 2.2: never scaled.
    fn take_syn_window(&mut self, syn: &Segment) {
        self.snd_wnd = usize::from(syn.window);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = syn.seq;
        self.snd_wl2 = if syn.flags.ack() { syn.ack } else { self.iss };
    }

    /// A TCB with both sequence spaces set up and no options negotiated yet. Our SYN (or
    /// SYN-ACK) counts as sent: SND.NXT = ISS+1. `window_scaling` says whether we will
    /// advertise a shift, which sizes the receive buffer's rounding slack.
    fn new_tcb(
        now: Instant,
        config: &Arc<Config>,
        tuple: FourTuple,
        state: State,
        iss: SeqNum,
        irs: SeqNum,
        window_scaling: bool,
    ) -> Connection {
        let rcv_wscale = if window_scaling {
            window_shift_for(config.recv_buffer)
        } else {
            0
        };
        let rcv_slack = (1usize << rcv_wscale) - 1;
        let rcv_nxt = irs + 1;
        let mss = usize::from(config.mss_for(tuple.family())).max(64);
        Connection {
            config: Arc::clone(config),
            tuple,
            state,
            events: EventSet::default(),
            stats: ConnStats::default(),
            active_open: false,
            linger_at: None,
            ended_gracefully: false,
            connect_error: None,
            iss,
            snd_una: iss,
            snd_nxt: iss + 1,
            snd_max: iss + 1,
            snd_wnd: 0,
            snd_wl1: irs,
            snd_wl2: iss,
            max_snd_wnd: 0,
            ws_ok: false,
            snd_wscale: 0,
            send: SendBuffer::new(config.send_buffer, mss),
            send_seq: iss + 1,
            fin_queued: false,
            syn_pending: false,
            write_blocked: false,
            irs,
            rcv_nxt,
            rcv_adv: rcv_nxt,
            rcv_wscale,
            rcv_slack,
            recv: ReceiveBuffer::new(config.recv_buffer + rcv_slack, rcv_nxt),
            tune: Autotune::new(
                config.recv_window_initial,
                config.recv_buffer,
                mss,
                rcv_nxt,
                now,
            ),
            rcv_mss: DEFAULT_PEER_MSS,
            peer_fin: None,
            fin_received: false,
            peer_mss: DEFAULT_PEER_MSS,
            sack_ok: false,
            ts_ok: false,
            ts_recent: 0,
            ts_recent_at: now,
            last_ack_sent: rcv_nxt,
            ts_offset: ts_offset_for(iss),
            flight_tsval: 0,
            ack_now: false,
            unacked_bytes: 0,
            delack_at: None,
            challenge_window: now,
            challenge_count: 0,
            rtt: RttEstimator::new(config.rto_initial, config.rto_min, config.rto_max),
            rtt_probe: None,
            rto_at: None,
            retries: 0,
            syn_retransmits: 0,
            rtx_una: false,
            rto_send: false,
            dup_acks: 0,
            in_recovery: false,
            recover: iss,
            rto_recovery: false,
            head_lost: false,
            high_rxt: iss,
            rtx_fence: iss,
            rescue_rxt: None,
            scoreboard: Scoreboard::default(),
            cc: Congestion::new(config.congestion, initial_window(DEFAULT_PEER_MSS)),
            persist_at: None,
            persist_backoff: 0,
            probe_pending: false,
            force_send: false,
            probes_out: 0,
            rst_pending: None,
            time_wait_at: None,
            fin_wait2_at: None,
            last_recv: now,
            opened_at: now,
        }
    }
}

/// Smallest MSS taken from a peer (Linux `tcp_min_snd_mss`): a peer announcing less would
/// make us cut the stream into tiny segments, one header and one frame for every few bytes,
/// a resource-exhaustion attack (CVE-2019-11477/11479).
pub(crate) const MIN_PEER_MSS: usize = 48;

/// The MSS to send with, from the peer's SYN option. RFC 9293 section 3.7.1: without the
/// option, assume 536 (IPv4). An option of 0 means nothing sensible and is treated as
/// absent, as Linux does (`tcp_parse_options` ignores it); any other value below
/// [`MIN_PEER_MSS`] is raised to it.
pub(crate) fn peer_mss(option: Option<u16>) -> usize {
    match option {
        None | Some(0) => DEFAULT_PEER_MSS,
        Some(m) => usize::from(m).max(MIN_PEER_MSS),
    }
}
