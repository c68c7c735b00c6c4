//! RFC 9293 section 3.10.7.4 fifth step (the ACK field), with RFC 5961 section 5 ACK
//! validation, RTT sampling (RFC 6298, RFC 7323), loss detection by duplicate ACKs and the
//! NewReno recovery of RFC 5681 section 3.2 / RFC 6582 (SACK recovery is in `sack.rs`).

use super::{Connection, Event, Instant, PendingRst, Segment, State};
use crate::stats::DropReason;
use crate::tcp::congestion::{Congestion, CongestionControl};
use std::time::Duration;

/// Duplicate ACKs that trigger fast retransmit (RFC 5681 section 3.2).
const DUP_ACK_THRESHOLD: u32 = 3;

impl Connection {
    /// The fifth step. `Err` means the segment must be dropped without further processing.
    pub(super) fn process_ack(&mut self, now: Instant, seg: &Segment) -> Result<(), DropReason> {
        if self.state == State::SynReceived {
            // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and continue
            // processing with the variables below set to: SND.WND <- SEG.WND, SND.WL1 <-
            // SEG.SEQ, SND.WL2 <- SEG.ACK. If the segment acknowledgment is not acceptable,
            // form a reset segment <SEQ=SEG.ACK><CTL=RST> and send it."
            if !(self.snd_una < seg.ack && seg.ack <= self.snd_max) {
                self.rst_pending = Some(PendingRst {
                    seq: seg.ack,
                    ack: None,
                });
                return Err(DropReason::BadAck);
            }
            self.establish(now, seg);
        }

        // RFC 5961 section 5.2: "All incoming segments whose ACK value doesn't satisfy the
        // above condition [SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT] MUST be discarded
        // and an ACK sent back." (3.10.7.4: "If the ACK acks something not yet sent ...
        // send an ACK, drop the segment, and return").
        if seg.ack > self.snd_max || seg.ack < self.snd_una.minus(self.max_snd_wnd) {
            return Err(self.challenge_ack(now, DropReason::BadAck));
        }

        let window = usize::from(seg.window) << self.snd_wscale;
        let advanced = seg.ack > self.snd_una;
        if advanced {
            self.on_new_ack(now, seg);
        }
        // RFC 6675 section 5: "Upon the receipt of any ACK containing SACK information, the
        // scoreboard MUST be updated via the Update () routine." An ACK that SACKs new data
        // counts as a duplicate even when it carries data (see `sack.rs`).
        let newly_sacked = self.update_scoreboard(seg);
        if !advanced
            && seg.ack == self.snd_una
            && (self.is_duplicate_ack(seg, window)
                || (newly_sacked > 0 && self.snd_max > self.snd_una))
        {
            self.on_duplicate_ack();
        }
        self.detect_lost_retransmissions();
        self.detect_sack_loss();

        // "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If
        // (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)), set SND.WND <-
        // SEG.WND, set SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK."
        if seg.ack >= self.snd_una
            && (self.snd_wl1 < seg.seq || (self.snd_wl1 == seg.seq && self.snd_wl2 <= seg.ack))
        {
            self.snd_wnd = window;
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = seg.ack;
            self.max_snd_wnd = self.max_snd_wnd.max(window);
            if window > 0 {
                self.persist_backoff = 0;
            }
        }

        // State-specific parts of the fifth step.
        if self.fin_acked() {
            match self.state {
                // FIN-WAIT-1: "if the FIN segment is now acknowledged, then enter FIN-WAIT-2".
                State::FinWait1 => self.set_state(now, State::FinWait2),
                // CLOSING: "if the ACK acknowledges our FIN, then enter the TIME-WAIT state".
                State::Closing => self.set_state(now, State::TimeWait),
                // LAST-ACK: "If our FIN is now acknowledged, delete the TCB, enter the CLOSED
                // state, and return".
                State::LastAck => {
                    self.events.insert(Event::Closed);
                    self.ended_gracefully = true;
                    self.set_state(now, State::Closed);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// SYN-RECEIVED -> ESTABLISHED on an acceptable ACK.
    fn establish(&mut self, now: Instant, seg: &Segment) {
        self.state = State::Established;
        self.snd_wnd = usize::from(seg.window) << self.snd_wscale;
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = seg.seq;
        self.snd_wl2 = seg.ack;
        self.syn_pending = false;
        if self.syn_retransmits > 0 {
            // RFC 6928 section 2: "If the SYN or SYN/ACK is lost, the initial window used by
            // a sender after a correctly transmitted SYN MUST be one segment"; RFC 6298 5.7:
            // RTO back to 3 s if no RTT was measured.
            self.cc = Congestion::new(self.config.congestion, self.send_mss());
            self.rtt.fallback_after_syn_loss();
        }
        self.events.insert(Event::Established);
        if self.fin_queued {
            // The application closed during the handshake: the FIN goes out now.
            self.set_state(now, State::FinWait1);
        }
    }

    /// RFC 5681 section 2 "DUPLICATE ACKNOWLEDGMENT": (a) data outstanding, (b) no data,
    /// (c) SYN and FIN off, (d) SEG.ACK = SND.UNA, (e) the window is unchanged.
    fn is_duplicate_ack(&self, seg: &Segment, window: usize) -> bool {
        self.snd_max > self.snd_una
            && seg.payload.is_empty()
            && !seg.flags.syn()
            && !seg.flags.fin()
            && (window == self.snd_wnd || !seg.options.sack.is_empty())
    }

    fn on_duplicate_ack(&mut self) {
        self.stats.dup_acks += 1;
        self.dup_acks += 1;
        if self.sack_ok {
            // Counted only: with SACK, `detect_sack_loss` decides on recovery and pipe
            // replaces window inflation.
            return;
        }
        let mss = self.send_mss();
        if self.in_recovery {
            // RFC 5681 3.2 step 4: "For each additional duplicate ACK received (after the
            // third), cwnd MUST be incremented by SMSS" (lets new data out).
            self.cc.on_dup_ack_in_recovery(mss);
        } else if self.dup_acks == DUP_ACK_THRESHOLD && self.snd_una.minus(1) >= self.recover {
            // RFC 6582 section 3.2 step 2: enter fast retransmit only "if the Cumulative
            // Acknowledgment field didn't cover more than recover" is false, i.e. we are not
            // still repairing the previous window.
            self.recover = self.snd_max;
            self.in_recovery = true;
            self.cc.on_enter_recovery(self.flight_size(), mss);
            self.rtx_una = true;
            self.stats.fast_retransmits += 1;
        }
    }

    /// SND.UNA < SEG.ACK =< SND.MAX: "set SND.UNA <- SEG.ACK. Any segments on the
    /// retransmission queue that are thereby entirely acknowledged are removed."
    fn on_new_ack(&mut self, now: Instant, seg: &Segment) {
        self.snd_una = seg.ack;
        // After a timeout SND.NXT went back to SND.UNA; the peer may have had more.
        self.snd_nxt = self.snd_nxt.max(self.snd_una);
        // Data acknowledged (the ACK may also cover our SYN or FIN, which do not count
        // toward the congestion window).
        let mut data_acked = 0;
        if self.snd_una > self.send_seq {
            let data = (self.snd_una - self.send_seq).min(self.send.len());
            self.send.consume(data);
            self.send_seq += data;
            self.stats.bytes_acked += data as u64;
            data_acked = data;
            if data > 0 && self.write_blocked {
                self.write_blocked = false;
                self.events.insert(Event::Writable);
            }
        }
        // A cumulative ACK stopping in SACKed data clears the scoreboard (reneging).
        self.scoreboard.acknowledge(self.snd_una);
        self.sample_rtt(now, seg);
        // RFC 6298 section 5: progress ends the backoff; 5.2 stop the timer when all is
        // acknowledged, 5.3 otherwise restart it.
        self.retries = 0;
        self.probes_out = 0;
        self.rtt.reset_backoff();
        self.rto_at = (self.snd_una < self.snd_max).then(|| now + self.rtt.rto());

        let mss = self.send_mss();
        if self.in_recovery && self.sack_ok {
            self.sack_recovery_ack(now, data_acked);
        } else if self.in_recovery {
            if seg.ack >= self.recover {
                // RFC 6582 step 3 (full acknowledgment): leave recovery.
                self.in_recovery = false;
                self.cc.on_exit_recovery(self.flight_size(), mss);
            } else {
                // Partial acknowledgment: "retransmit the first unacknowledged segment" and
                // deflate the window.
                self.cc.on_partial_ack(data_acked, mss);
                self.rtx_una = true;
            }
        } else {
            self.cc.on_ack(now, data_acked, mss, self.rtt.srtt());
        }
        self.dup_acks = 0;
    }

    /// One RTT measurement per ACK of new data: Karn's algorithm timing one segment, or
    /// else the echoed timestamp (RFC 7323 section 4.1, which never uses retransmission
    /// ambiguous values since TSecr echoes the segment that was actually received).
    pub(super) fn sample_rtt(&mut self, now: Instant, seg: &Segment) {
        if let Some((end, sent_at)) = self.rtt_probe {
            if seg.ack >= end {
                self.rtt_probe = None;
                self.rtt.sample(now - sent_at);
                return;
            }
        }
        // RFC 7323 section 4.3 and Linux (`tcp_rtt_tsopt_us`): the echo is trusted only if
        // it is not from the future and not older than the oldest segment in flight, so a
        // peer echoing stale or forged values cannot inflate (or shrink) its own RTO.
        if let (true, Some(ts)) = (self.ts_ok, seg.options.timestamps) {
            let ms = self.ts_now(now).wrapping_sub(ts.echo) as i32;
            let in_flight = ts.echo.wrapping_sub(self.flight_tsval) as i32 >= 0;
            if in_flight && (0..=self.config.rto_max.as_millis() as i32).contains(&ms) {
                self.rtt.sample(Duration::from_millis(ms as u64));
            }
        }
    }
}
