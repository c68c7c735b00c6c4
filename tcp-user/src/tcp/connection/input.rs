//! Segment arrival: RFC 9293 section 3.10.7.4 ("Other states"), step by step, with the
//! RFC 5961 and RFC 7323 checks slotted in where those RFCs put them.

use super::{ConnectError, Connection, Event, Instant, Segment, State};
use crate::stats::DropReason;

/// TS.Recent older than this is invalid and PAWS does not apply (RFC 7323 section 5.5).
const PAWS_IDLE_LIMIT_US: u64 = 24 * 24 * 3600 * 1_000_000;

impl Connection {
    /// Processes one segment of this connection. `Err` says why (part of) it was discarded;
    /// any answer it needs (ACK, challenge ACK, RST) is queued for `poll_transmit`.
    pub fn handle_segment(&mut self, now: Instant, seg: &Segment) -> Result<(), DropReason> {
        self.process_segment(now, seg)
    }

    fn process_segment(&mut self, now: Instant, seg: &Segment) -> Result<(), DropReason> {
        self.stats.segments_in += 1;
        match self.state {
            // A closed connection the table has not freed yet (LISTEN has no connection
            // object: the table answers with `handle_unmatched`).
            State::Closed | State::Listen => return Err(DropReason::ClosedConnection),
            State::SynSent => return self.handle_syn_sent(now, seg),
            _ => {}
        }
        if let Some(ack) = self.simultaneous_syn_ack(seg) {
            self.stats.segments_in -= 1;
            return self.process_segment(now, &ack);
        }
        // Linux `tcp_check_req`: a retransmitted SYN (same ISN) means our SYN-ACK was lost;
        // answer it with the SYN-ACK again.
        if self.state == State::SynReceived
            && seg.flags.syn()
            && !seg.flags.ack()
            && !seg.flags.rst()
            && seg.seq == self.irs
        {
            // RFC 7323 section 4.3: SEG.SEQ =< Last.ACK.sent, so a newer TSval becomes
            // TS.Recent and the new SYN-ACK echoes it: the peer, which cannot time its
            // repeated SYN (Karn), then gets an exact RTT from the timestamps.
            if let (true, Some(ts)) = (self.ts_ok, seg.options.timestamps) {
                if ts.value.wrapping_sub(self.ts_recent) as i32 > 0 {
                    self.ts_recent = ts.value;
                    self.ts_recent_at = now;
                }
            }
            self.syn_pending = true;
            return Ok(());
        }

        // first, check sequence number. RFC 7323 section 5.3 R1 (PAWS) comes before it:
        // "If there is a Timestamps option in the arriving segment, SEG.TSval < TS.Recent,
        // TS.Recent is valid ... and if the RST bit is off, then treat the arriving segment
        // as not acceptable: Send an acknowledgment in reply ... and drop the segment".
        if !seg.flags.rst() && self.paws_rejects(now, seg) {
            return Err(self.ack_unacceptable(now, seg, DropReason::PawsRejected));
        }
        if !self.acceptable(seg) {
            // "If a segment's contents straddle the boundary ... If an incoming segment is not
            // acceptable, an acknowledgment should be sent in reply (unless the RST bit is
            // set, if so drop the segment and return)".
            if seg.flags.rst() {
                return Err(DropReason::BadRst);
            }
            if self.state == State::TimeWait && seg.flags.fin() {
                // TIME-WAIT: "acknowledge it, and restart the 2 MSL timeout" (a retransmitted
                // FIN lands here: it is all below RCV.NXT).
                self.time_wait_at = Some(now + 2 * self.config.msl);
                self.ack_now = true;
                return Err(DropReason::OutOfWindow);
            }
            return Err(self.ack_unacceptable(now, seg, DropReason::OutOfWindow));
        }
        self.last_recv = now;
        if self.state == State::FinWait2 {
            // The FIN_WAIT_2 timer measures silence, so a half-closed peer still sending is
            // not cut off.
            self.fin_wait2_at = Some(now + self.config.fin_wait2_timeout);
        }

        // second, check the RST bit (RFC 5961 section 3.2): "If the RST bit is set and the
        // sequence number exactly matches the next expected sequence number (RCV.NXT), then
        // TCP MUST reset the connection ... Otherwise (in window, not exact) TCP MUST send an
        // ACK (challenge ACK)".
        if seg.flags.rst() {
            if seg.seq != self.rcv_nxt {
                return Err(self.challenge_ack(now, DropReason::BadRst));
            }
            self.on_peer_reset();
            return Ok(());
        }

        // third, security/compartment: not used.

        // fourth, check the SYN bit (RFC 5961 section 4, RFC 9293): "If the SYN bit is set,
        // irrespective of the sequence number, TCP endpoints MUST send a 'challenge ACK'".
        if seg.flags.syn() {
            return Err(self.challenge_ack(now, DropReason::UnexpectedSyn));
        }

        // RFC 7323 section 4.3 (2): "If SEG.TSval >= TS.Recent and SEG.SEQ =< Last.ACK.sent
        // then SEG.TSval is copied to TS.Recent" (PAWS already rejected older TSvals).
        if let (true, Some(ts)) = (self.ts_ok, seg.options.timestamps) {
            if seg.seq <= self.last_ack_sent && ts.value.wrapping_sub(self.ts_recent) as i32 >= 0 {
                self.ts_recent = ts.value;
                self.ts_recent_at = now;
            }
        }

        // fifth, check the ACK field: "if the ACK bit is off, drop the segment and return".
        if !seg.flags.ack() {
            return Err(DropReason::MissingAck);
        }
        self.process_ack(now, seg)?;
        if self.state == State::Closed {
            return Ok(()); // LAST-ACK: our FIN was acknowledged
        }

        self.process_text(now, seg)
    }

    /// RFC 9293 section 3.10.7.4 sixth to eighth steps: the segment's text and FIN, once
    /// its ACK was processed (also reached from SYN-SENT for a SYN-ACK carrying text).
    pub(super) fn process_text(&mut self, now: Instant, seg: &Segment) -> Result<(), DropReason> {
        // sixth, check the URG bit: urgent data is delivered inline (RFC 6093).

        // seventh, process the segment text (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2 only:
        // "this should not occur since a FIN has been received from the remote side").
        let mut result = Ok(());
        let mut fin_in_window = seg.flags.fin();
        if matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        ) && !self.fin_received
        {
            let (r, fin_ok) = self.process_data(now, seg);
            result = r;
            fin_in_window &= fin_ok;
        } else {
            fin_in_window &= seg.seq + seg.payload.len() == self.rcv_nxt;
        }

        // eighth, check the FIN bit.
        if fin_in_window && !self.fin_received {
            let fin_seq = seg.seq + seg.payload.len();
            if fin_seq == self.recv.next() {
                self.on_fin(now);
            } else if fin_seq > self.recv.next() && self.peer_fin.is_none() {
                // A FIN beyond a hole: act on it once the data before it arrives. Nothing
                // beyond it can ever be delivered: forget what reassembly holds there.
                self.peer_fin = Some(fin_seq);
                self.recv.discard_from(fin_seq);
            }
        }
        result
    }

    /// RFC 9293 section 3.10.7.4 first: the four cases of the acceptability test.
    ///
    /// | SEG.LEN | RCV.WND | test |
    /// |---|---|---|
    /// | 0 | 0 | SEG.SEQ = RCV.NXT |
    /// | 0 | >0 | RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND |
    /// | >0 | 0 | not acceptable |
    /// | >0 | >0 | either end of the segment falls in the window |
    fn acceptable(&self, seg: &Segment) -> bool {
        let len = seg.seq_len();
        let wnd = self.rcv_adv - self.rcv_nxt;
        let nxt = self.rcv_nxt;
        let end = nxt + wnd;
        match (len, wnd) {
            (0, 0) => seg.seq == nxt,
            (0, _) => seg.seq.in_range(nxt, end),
            (_, 0) => false,
            (_, _) => seg.seq.in_range(nxt, end) || (seg.seq + (len - 1)).in_range(nxt, end),
        }
    }

    /// RFC 7323 section 5.3 R1.
    fn paws_rejects(&self, now: Instant, seg: &Segment) -> bool {
        let (true, Some(ts)) = (self.ts_ok, seg.options.timestamps) else {
            return false;
        };
        let valid = now.micros().saturating_sub(self.ts_recent_at.micros()) < PAWS_IDLE_LIMIT_US;
        valid && (ts.value.wrapping_sub(self.ts_recent) as i32) < 0
    }

    /// Answers an unacceptable segment with an ACK. Segments carrying data always get one
    /// (their sender needs it to recover); empty ones are rate-limited so two endpoints
    /// cannot ACK each other forever (RFC 5961 section 7; Linux `tcp_oow_rate_limited`).
    /// Returns `reason`, or [`DropReason::RateLimited`] when the rate limit suppressed the ACK.
    fn ack_unacceptable(&mut self, now: Instant, seg: &Segment, reason: DropReason) -> DropReason {
        if seg.payload.is_empty() && !seg.flags.syn() && !seg.flags.fin() {
            if !self.rate_limited_ack(now) {
                return DropReason::RateLimited;
            }
        } else {
            if seg.seq + seg.seq_len() <= self.rcv_nxt {
                self.stats.duplicate_segments += 1;
            }
            self.ack_now = true;
        }
        reason
    }

    /// A challenge ACK (RFC 5961 sections 3.2, 4.2, 5.2), rate-limited. Returns `reason`,
    /// or [`DropReason::RateLimited`] when the rate limit suppressed the ACK.
    pub(super) fn challenge_ack(&mut self, now: Instant, reason: DropReason) -> DropReason {
        if self.rate_limited_ack(now) {
            self.stats.challenge_acks += 1;
            reason
        } else {
            DropReason::RateLimited
        }
    }

    /// Queues an ACK unless this connection already sent `challenge_ack_limit` such ACKs in
    /// the current second. Returns whether one was queued.
    pub(super) fn rate_limited_ack(&mut self, now: Instant) -> bool {
        if now.saturating_since(self.challenge_window).as_secs() >= 1 {
            self.challenge_window = now;
            self.challenge_count = 0;
        }
        if self.challenge_count >= self.config.challenge_ack_limit {
            return false;
        }
        self.challenge_count += 1;
        self.ack_now = true;
        true
    }

    /// An acceptable RST with SEG.SEQ = RCV.NXT.
    fn on_peer_reset(&mut self) {
        match self.state {
            // SYN-RECEIVED: "If this connection was initiated with an active OPEN (i.e., came
            // from SYN-SENT state), then the connection was refused; signal the user
            // 'connection refused'."
            State::SynReceived if self.active_open => {
                self.connect_error = Some(ConnectError::Refused);
                self.events.insert(Event::Reset);
            }
            // "If this connection was initiated with a passive OPEN, then return this
            // connection to the LISTEN state": nothing to tell the application.
            State::SynReceived | State::TimeWait => {}
            // "any outstanding RECEIVEs and SEND should receive 'reset' responses".
            _ => self.events.insert(Event::Reset),
        }
        self.state = State::Closed;
        self.clear_timers();
        self.ack_now = false;
        self.syn_pending = false;
    }

    /// Seventh step for states that accept data. Returns the drop reason if the data was
    /// discarded, and whether a FIN on this segment is still in the window after trimming.
    fn process_data(&mut self, now: Instant, seg: &Segment) -> (Result<(), DropReason>, bool) {
        if seg.payload.is_empty() {
            return (Ok(()), true);
        }
        // Trim data before RCV.NXT ("segments with higher beginning sequence numbers may be
        // held for later processing") and beyond the advertised window.
        let mut seq = seg.seq;
        let mut data = seg.payload;
        let next = self.recv.next();
        if seq < next {
            let skip = (next - seq).min(data.len());
            data = &data[skip..];
            seq = next;
        }
        let room = self.rcv_adv - seq;
        let mut fin_ok = true;
        if data.len() > room {
            // The peer overran the window: tell it at once where the edge is.
            data = &data[..room];
            fin_ok = false;
            self.ack_now = true;
        }
        // Data past a FIN already known (one that arrived beyond a hole) can never be
        // delivered: the FIN is the end of the stream. Keep what comes before it.
        let mut beyond_fin = false;
        if let Some(fin) = self.peer_fin {
            let keep = if seq >= fin {
                0
            } else {
                (fin - seq).min(data.len())
            };
            if keep < data.len() {
                data = &data[..keep];
                beyond_fin = true;
                // A second FIN elsewhere is not believed either.
                fin_ok = false;
            }
        }
        if data.is_empty() {
            if beyond_fin {
                return (Err(DropReason::DataBeyondFin), false);
            }
            // Everything was already received (or nothing fits): ACK so the peer learns.
            self.stats.duplicate_segments += 1;
            self.ack_now = true;
            return (Ok(()), fin_ok);
        }
        let w = self.recv.write(seq, data);
        if w.dropped == data.len() {
            self.ack_now = true;
            // Only the range limit and the memory budget drop data that fits in the window:
            // the window never promises more than the buffer holds (`rcv_slack`), so data
            // trimmed to it always has room otherwise.
            debug_assert!(w.no_range || w.no_memory, "in-window data without room");
            let reason = if w.no_memory {
                DropReason::NoBufferMemory
            } else {
                DropReason::ReassemblyFull
            };
            return (Err(reason), false);
        }
        if w.readable > 0 {
            self.stats.bytes_in += w.readable as u64;
            self.events.insert(Event::Readable);
            self.tune_receive_window(now);
        }
        if w.out_of_order {
            // RFC 5681 section 4.2: "an immediate ACK when an out-of-order segment arrives".
            self.stats.out_of_order_segments += 1;
            self.ack_now = true;
        } else if w.filled_hole {
            // "... and when a segment fills in all or part of a gap".
            self.ack_now = true;
        } else {
            // RFC 9293 section 3.8.6.3 / RFC 5681 section 4.2: delay the ACK, but ACK at
            // least every second full-sized segment.
            self.rcv_mss = self.rcv_mss.max(data.len());
            self.unacked_bytes += data.len();
            if self.unacked_bytes >= 2 * self.rcv_mss {
                self.ack_now = true;
            } else if self.delack_at.is_none() {
                self.delack_at = Some(now + self.config.delayed_ack);
            }
        }
        self.rcv_nxt = self.recv.next();
        // A FIN that was waiting for this data.
        if let Some(f) = self.peer_fin {
            if f == self.recv.next() {
                self.on_fin(now);
            }
        }
        if w.dropped > 0 {
            self.ack_now = true;
            fin_ok = false;
        }
        if beyond_fin {
            return (Err(DropReason::DataBeyondFin), false);
        }
        (Ok(()), fin_ok)
    }

    /// Eighth step: the peer's FIN is in order. "advance RCV.NXT over the FIN, and send an
    /// acknowledgment for the FIN ... signal the user 'connection closing'".
    fn on_fin(&mut self, now: Instant) {
        self.fin_received = true;
        self.peer_fin = None;
        // Out-of-order data held beyond the FIN will never be delivered.
        self.recv.discard_from(self.recv.next());
        self.rcv_nxt = self.recv.next() + 1;
        self.ack_now = true;
        self.events.insert(Event::PeerClosed);
        match self.state {
            State::SynReceived | State::Established => self.set_state(now, State::CloseWait),
            // "If our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT ...
            // otherwise, enter the CLOSING state".
            State::FinWait1 if self.fin_acked() => self.set_state(now, State::TimeWait),
            State::FinWait1 => self.set_state(now, State::Closing),
            State::FinWait2 => self.set_state(now, State::TimeWait),
            _ => {}
        }
    }
}
