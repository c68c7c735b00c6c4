//! What to send next: SYN or SYN-ACK, (re)transmitted data and FIN, zero-window probes, ACKs and
//! RSTs, one segment per `poll_transmit` call; plus the advertised window and options.

use super::{Connection, Instant, PendingRst, Segment, State, TS_OPTION_LEN};
use crate::tcp::congestion::CongestionControl;
use crate::tcp::{SackBlocks, SeqNum, TcpFlags, TcpOptions, Timestamps};

/// A data/FIN segment chosen by [`Connection::next_data`].
#[derive(Clone, Copy, Debug)]
struct DataPlan {
    seq: SeqNum,
    len: usize,
    fin: bool,
    /// A retransmission below SND.NXT: SND.NXT stays (fast retransmit, partial ACK, SACK
    /// recovery).
    retransmit: bool,
    /// RFC 6675 rescue retransmission: HighRxt stays too.
    rescue: bool,
}

impl DataPlan {
    fn new_data(seq: SeqNum, len: usize, fin: bool) -> DataPlan {
        DataPlan {
            seq,
            len,
            fin,
            retransmit: false,
            rescue: false,
        }
    }
}

impl Connection {
    /// The next segment to send, or `None` when there is nothing (call until `None`). The
    /// payload is borrowed from the send buffer; ports come from the 4-tuple.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Segment<'_>> {
        if let Some(rst) = self.rst_pending.take() {
            return Some(self.rst_segment(now, rst));
        }
        match self.state {
            State::Closed | State::Listen => return None,
            State::SynSent if self.syn_pending => return Some(self.syn_segment(now)),
            State::SynSent => return None,
            State::SynReceived if self.syn_pending => return Some(self.syn_segment(now)),
            _ => {}
        }
        if let Some(plan) = self.next_data() {
            return Some(self.data_segment(now, plan));
        }
        self.arm_persist(now);
        if self.probe_pending {
            // RFC 9293 section 3.8.6.1 zero-window probe, the way Linux sends it
            // (`tcp_xmit_probe_skb`): an ACK with SEG.SEQ = SND.UNA - 1, which the peer finds
            // unacceptable and answers with its current window.
            self.probe_pending = false;
            self.stats.window_probes += 1;
            let seq = self.snd_una.minus(1);
            return Some(self.control_segment(now, seq, TcpFlags::ACK));
        }
        if self.ack_now {
            let seq = self.snd_max;
            return Some(self.control_segment(now, seq, TcpFlags::ACK));
        }
        None
    }

    /// Chooses the next data or FIN segment, if any may be sent now: RFC 9293 section 3.7.4
    /// and 3.8.6.2.1 (sender SWS avoidance, Nagle), the peer's window, and cwnd.
    fn next_data(&mut self) -> Option<DataPlan> {
        if !matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        ) {
            return None;
        }
        let max_len = self.segment_payload_limit();
        if self.rtx_una {
            self.rtx_una = false;
            // With SACK the segment stops where the peer's SACKed data starts.
            let limit = if self.sack_ok {
                let next = self.scoreboard.next_sacked(self.snd_una);
                next.unwrap_or(self.snd_max).min(self.snd_max)
            } else {
                self.send_end()
            };
            if let Some(plan) = self.retransmission_plan(self.snd_una, limit, max_len) {
                return Some(plan);
            }
        }
        // RFC 6675 section 5 (C): "If cwnd - pipe >= 1 SMSS, the sender SHOULD transmit one
        // or more segments" chosen by NextSeg(); outside recovery pipe also replaces
        // FlightSize, which lets SACKed segments make room for new data (limited transmit).
        let sack_room = self
            .sack_ok
            .then(|| self.cc.cwnd().saturating_sub(self.pipe()));
        let sack_recovery = self.sack_ok && self.in_recovery;
        if let (Some(room), true) = (sack_room, sack_recovery) {
            if let Some(r) = self.next_retransmission(true) {
                return self.sack_plan(r, room, max_len);
            }
        }
        let seq = self.snd_nxt;
        if self.rto_send {
            // The first segment after a timeout goes whatever the window says (Linux
            // `tcp_retransmit_timer`: into a closed window it doubles as the probe).
            self.rto_send = false;
            let wanted = (self.send_end() - seq).min(max_len);
            let fin = self.fin_seq() == Some(seq + wanted);
            if wanted > 0 || fin {
                return Some(DataPlan::new_data(seq, wanted, fin));
            }
        }
        let cwnd_room = sack_room.unwrap_or(self.cc.cwnd().saturating_sub(self.flight_size()));
        if let Some(plan) = self.next_new_data(cwnd_room, max_len) {
            return Some(plan);
        }
        if let (Some(room), true) = (sack_room, sack_recovery) {
            // NextSeg() rules 3 and 4: nothing lost and no new data to send.
            if let Some(r) = self.next_retransmission(false) {
                return self.sack_plan(r, room, max_len);
            }
        }
        None
    }

    /// New data (or a FIN) from SND.NXT: RFC 9293 section 3.7.4 and 3.8.6.2.1 (sender SWS
    /// avoidance, Nagle), the peer's window, and `cwnd_room`.
    fn next_new_data(&self, cwnd_room: usize, max_len: usize) -> Option<DataPlan> {
        let end = self.send_end();
        let fin_seq = self.fin_seq();
        let seq = self.snd_nxt;
        let wanted = (end - seq).min(max_len);
        // FIN goes out once all data is sent; it needs no window (Linux queues it behind the
        // data; a pure FIN is let through like smoltcp does).
        let fin_pending = fin_seq.is_some_and(|f| self.snd_nxt <= f);
        if wanted == 0 {
            return (fin_pending && fin_seq == Some(seq)).then(|| DataPlan::new_data(seq, 0, true));
        }
        let flight = self.flight_size();
        let wnd_room = (self.snd_una + self.snd_wnd) - seq;
        let len = wanted.min(wnd_room).min(cwnd_room);
        if len < wanted {
            // Limited by cwnd: wait for ACKs (they will come, data is in flight).
            if cwnd_room < wnd_room && flight > 0 {
                return None;
            }
            // Limited by the peer's window: RFC 9293 3.8.6.2.1 sends a partial segment only
            // if "at least a fraction Fs of the maximum window can be sent" (Fs = 1/2), or
            // when the override (persist) timer fired.
            if len == 0 || (len < self.max_snd_wnd / 2 && !self.force_send) {
                return None;
            }
        } else if len < max_len && self.config.nagle && flight > 0 && !self.force_send {
            // Nagle (RFC 9293 3.7.4): no small segment while data is unacknowledged.
            return None;
        }
        let fin = fin_pending && fin_seq == Some(seq + len);
        Some(DataPlan::new_data(seq, len, fin))
    }

    /// A retransmission from `seq`, at most `max_len` bytes and never reaching `limit`;
    /// carries the FIN again if it ends where the FIN was sent.
    fn retransmission_plan(&self, seq: SeqNum, limit: SeqNum, max_len: usize) -> Option<DataPlan> {
        let len = (self.send_end().min(limit) - seq).min(max_len);
        let fin = self.fin_seq() == Some(seq + len) && self.snd_max > seq + len;
        (len > 0 || fin).then_some(DataPlan {
            seq,
            len,
            fin,
            retransmit: true,
            rescue: false,
        })
    }

    /// The plan for a NextSeg() retransmission, if `room` (cwnd - pipe) lets it go. RFC 6675
    /// asks for a full SMSS of room; like Linux, which counts cwnd in segments, one segment
    /// goes whenever pipe < cwnd, so a cwnd that is not a multiple of SMSS (FlightSize / 2)
    /// does not hold back the repair of a hole after a partial ACK.
    fn sack_plan(
        &self,
        r: super::sack::Retransmission,
        room: usize,
        max_len: usize,
    ) -> Option<DataPlan> {
        let mut plan = self.retransmission_plan(r.seq, r.end, max_len)?;
        plan.rescue = r.rescue;
        (room > 0).then_some(plan)
    }

    /// Builds and accounts for a data/FIN segment.
    fn data_segment(&mut self, now: Instant, plan: DataPlan) -> Segment<'_> {
        let seq_len = plan.len + plan.fin as usize;
        let end = plan.seq + seq_len;
        if self.snd_una == self.snd_max {
            self.flight_tsval = self.ts_now(now);
        }
        if plan.seq < self.snd_max {
            // Anything below SND.MAX was sent before: a retransmission. Karn's algorithm:
            // stop timing, its ACK would be ambiguous.
            self.stats.retransmissions += 1;
            self.stats.retransmitted_bytes += plan.len as u64;
            self.rtt_probe = None;
        } else {
            self.stats.bytes_out += plan.len as u64;
            if self.rtt_probe.is_none() {
                self.rtt_probe = Some((end, now));
            }
        }
        if !plan.retransmit {
            self.snd_nxt = end;
        } else if !plan.rescue {
            // RFC 6675 (C.2): "HighRxt MUST be set to the highest sequence number of the
            // retransmitted segment unless NextSeg () rule (4) was invoked".
            self.high_rxt = self.high_rxt.max(end);
            self.rtx_fence = self.snd_max;
        }
        self.snd_max = self.snd_max.max(end);
        self.force_send = false;
        self.persist_at = None;
        // RFC 6298 5.1: "Every time a packet containing data is sent (including a
        // retransmission), if the timer is not running, start it running".
        if self.rto_at.is_none() {
            self.rto_at = Some(now + self.rtt.rto());
        }
        let mut flags = TcpFlags::ACK;
        if plan.fin {
            flags |= TcpFlags::FIN;
        }
        // PSH on the last segment of what the application queued.
        if plan.len > 0 && plan.seq + plan.len == self.send_end() {
            flags |= TcpFlags::PSH;
        }
        let mut seg = self.control_segment(now, plan.seq, flags);
        let offset = plan.seq - self.send_seq;
        seg.payload = self.send.read(offset, plan.len);
        seg
    }

    /// Our SYN: in SYN-SENT <SEQ=ISS><CTL=SYN> offering MSS and whichever of window scale,
    /// SACK-permitted and timestamps `config` allows (RFC 9293 section 3.10.4); in
    /// SYN-RECEIVED the SYN-ACK <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> (section 3.10.7.2) with
    /// MSS and the options negotiated from the peer's SYN.
    fn syn_segment(&mut self, now: Instant) -> Segment<'static> {
        self.syn_pending = false;
        if self.snd_una == self.iss && self.rto_at.is_none() {
            self.rto_at = Some(now + self.rtt.rto());
        }
        if self.syn_retransmits == 0 && self.stats.segments_out == 0 {
            self.rtt_probe = Some((self.iss + 1, now));
        } else {
            // Karn's algorithm: the ACK of a repeated SYN cannot time it.
            self.stats.retransmissions += 1;
            self.rtt_probe = None;
        }
        self.stats.segments_out += 1;
        self.ack_now = false;
        // RFC 7323 section 2.2: "The window field in a segment where the SYN bit is set
        // (i.e., a <SYN> or <SYN,ACK>) MUST NOT be scaled".
        let window = self.window_space().min(usize::from(u16::MAX));
        let tsval = self.ts_now(now);
        self.flight_tsval = tsval;
        let mut seg = Segment {
            src_port: self.tuple.local_port,
            dst_port: self.tuple.remote_port,
            seq: self.iss,
            window: window as u16,
            ..Segment::default()
        };
        if self.state == State::SynSent {
            let c = &self.config;
            seg.flags = TcpFlags::SYN;
            seg.options = TcpOptions {
                mss: Some(c.mss_for(self.tuple.family())),
                window_scale: c.window_scaling.then_some(self.rcv_wscale),
                sack_permitted: c.sack,
                timestamps: c.timestamps.then_some(Timestamps {
                    value: tsval,
                    echo: 0,
                }),
                ..TcpOptions::default()
            };
            return seg;
        }
        self.last_ack_sent = self.rcv_nxt;
        self.rcv_adv = self.rcv_adv.max(self.rcv_nxt + window);
        seg.ack = self.rcv_nxt;
        seg.flags = TcpFlags::SYN | TcpFlags::ACK;
        seg.options = TcpOptions {
            mss: Some(self.own_mss()),
            window_scale: self.ws_ok.then_some(self.rcv_wscale),
            sack_permitted: self.sack_ok,
            timestamps: self.ts_ok.then_some(Timestamps {
                value: tsval,
                echo: self.ts_recent,
            }),
            sack: SackBlocks::default(),
        };
        seg
    }

    /// A segment without payload carrying ACK (and whatever `flags` adds): the common part
    /// of every segment in a synchronized state. Clears the pending ACK.
    fn control_segment(&mut self, now: Instant, seq: SeqNum, flags: TcpFlags) -> Segment<'static> {
        self.stats.segments_out += 1;
        self.ack_now = false;
        self.delack_at = None;
        self.unacked_bytes = 0;
        self.last_ack_sent = self.rcv_nxt;
        let window = self.advertise_window();
        let sack = if self.sack_ok {
            self.recv.sack_blocks(self.max_sack_blocks())
        } else {
            SackBlocks::default()
        };
        Segment {
            src_port: self.tuple.local_port,
            dst_port: self.tuple.remote_port,
            seq,
            ack: self.rcv_nxt,
            flags,
            window,
            urgent: 0,
            options: TcpOptions {
                timestamps: self.ts_ok.then(|| Timestamps {
                    value: self.ts_now(now),
                    echo: self.ts_recent,
                }),
                sack,
                ..TcpOptions::default()
            },
            payload: &[],
        }
    }

    /// A RST from this connection (abort, retries exhausted, bad ACK in SYN-RECEIVED).
    fn rst_segment(&mut self, now: Instant, rst: PendingRst) -> Segment<'static> {
        self.stats.segments_out += 1;
        let mut flags = TcpFlags::RST;
        if rst.ack.is_some() {
            flags |= TcpFlags::ACK;
        }
        Segment {
            src_port: self.tuple.local_port,
            dst_port: self.tuple.remote_port,
            seq: rst.seq,
            ack: rst.ack.unwrap_or_default(),
            flags,
            options: TcpOptions {
                timestamps: (self.ts_ok && self.state.is_synchronized()).then(|| Timestamps {
                    value: self.ts_now(now),
                    echo: self.ts_recent,
                }),
                ..TcpOptions::default()
            },
            ..Segment::default()
        }
    }

    /// The window to advertise, scaled, applying receiver SWS avoidance (RFC 9293 section
    /// 3.8.6.2.2: move the right edge only when it advances by min(buffer/2, MSS)) and
    /// never shrinking the window ("the right window edge must not be moved left").
    fn advertise_window(&mut self) -> u16 {
        let promised = self.rcv_adv - self.rcv_nxt;
        let space = self.window_space();
        let threshold = (self.config.recv_buffer / 2).min(usize::from(self.own_mss()));
        let wnd = if space >= promised + threshold {
            space
        } else {
            promised
        };
        let shift = self.rcv_wscale;
        let mut units = wnd >> shift;
        if units << shift < promised {
            // Round up rather than move the edge left; `rcv_slack` keeps room for it.
            units = (promised + (1 << shift) - 1) >> shift;
        }
        // Never beyond what the ring holds: repeated round-ups while the application does
        // not read would otherwise creep the edge right by up to 2^shift - 1 bytes per ACK,
        // promising data we would have to drop. A retraction below the scale's granularity
        // is what RFC 7323 section 2.4 allows, and data up to the old edge still fits.
        let units = units
            .min(self.recv.free() >> shift)
            .min(usize::from(u16::MAX));
        self.rcv_adv = self.rcv_adv.max(self.rcv_nxt + (units << shift));
        units as u16
    }

    /// How many SACK blocks fit next to our other options (RFC 2018 section 3: 3 with
    /// timestamps, else 4).
    fn max_sack_blocks(&self) -> usize {
        if self.ts_ok {
            3
        } else {
            4
        }
    }

    /// Payload limit for the next segment: the send MSS minus the SACK option it will carry
    /// (Linux `tcp_current_mss`).
    fn segment_payload_limit(&self) -> usize {
        let mut limit = self.send_mss().min(self.send.max_read());
        if self.sack_ok && self.recv.has_out_of_order() {
            let blocks = self.recv.sack_blocks(self.max_sack_blocks()).len();
            limit = limit.saturating_sub(4 + 8 * blocks).max(1);
        }
        limit
    }

    /// Starts or stops the persist timer (RFC 9293 section 3.8.6.1, RFC 1122 4.2.2.17):
    /// it runs while we have data or a FIN to send, nothing is in flight, and the peer's
    /// window (or SWS avoidance) keeps us from sending.
    fn arm_persist(&mut self, now: Instant) {
        let sending_state = matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        );
        let has_unsent = self.send_end() > self.snd_nxt;
        let idle = self.snd_max == self.snd_una;
        if !(sending_state && has_unsent && idle) {
            self.persist_at = None;
            return;
        }
        if self.persist_at.is_none() {
            let base = self.rtt.rto().max(self.config.rto_min);
            let backoff = base
                .checked_mul(1u32 << self.persist_backoff.min(16))
                .unwrap_or(self.config.rto_max);
            self.persist_at = Some(now + backoff.min(self.config.rto_max));
        }
    }
}

const _: () = assert!(TS_OPTION_LEN == 12);
