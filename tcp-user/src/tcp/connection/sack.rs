//! SACK-based loss recovery (RFC 6675, conservative), used when SACK-permitted was
//! negotiated; NewReno (RFC 6582, `ack.rs`) stays for peers without SACK.
//!
//! Where this follows Linux rather than the letter of RFC 6675:
//! - any ACK whose SACK blocks leave SND.UNA lost (IsLost) starts recovery, also when it
//!   carries data: in a bidirectional transfer every ACK is piggybacked and none is a
//!   "duplicate" by RFC 5681's definition, so waiting for three of them means waiting for
//!   the RTO;
//! - a partial ACK during recovery marks the new first segment lost (it was sent before
//!   the retransmission that was just acknowledged), as NewReno and RACK would;
//! - after a retransmission timeout the scoreboard is kept (RFC 6675 section 5.1 leaves
//!   this open; RFC 2018 suggested clearing it): every unSACKed byte below RecoveryPoint
//!   is lost and resent in order in slow start, SACKed data is not resent. Reneging is
//!   caught instead: a cumulative ACK that stops at or inside SACKed data clears the
//!   scoreboard (`Scoreboard::acknowledge`), and so does a timeout that finds SND.UNA
//!   itself SACKed.

use super::{Connection, Instant, Segment};
use crate::tcp::congestion::CongestionControl;
use crate::tcp::scoreboard::{FlightView, DUP_THRESH};
use crate::tcp::SeqNum;

impl Connection {
    /// RFC 6675 Update(): records the segment's valid SACK blocks; returns the bytes newly
    /// SACKed. A block must lie within [SND.UNA, SND.MAX] (Linux `tcp_is_sackblock_valid`);
    /// anything else, D-SACKs below SND.UNA included, is ignored.
    pub(super) fn update_scoreboard(&mut self, seg: &Segment) -> usize {
        if !self.sack_ok {
            return 0;
        }
        let mut newly = 0;
        for b in seg.options.sack.as_slice() {
            if b.left < b.right && b.left >= self.snd_una && b.right <= self.snd_max {
                newly += self.scoreboard.insert(b.left, b.right);
            }
        }
        newly
    }

    /// What the scoreboard needs to know about the sender.
    pub(super) fn flight_view(&self) -> FlightView {
        let mss = self.send_mss();
        let mut lost_below = self.snd_una;
        if self.in_recovery && self.rto_recovery {
            lost_below = self.recover;
        }
        if self.in_recovery && self.head_lost {
            lost_below = lost_below.max((self.snd_una + mss).min(self.snd_max));
        }
        FlightView {
            una: self.snd_una,
            max: self.snd_max,
            high_rxt: self.high_rxt.max(self.snd_una),
            lost_below,
            mss,
        }
    }

    /// RFC 6675 SetPipe(): bytes in the network, in place of FlightSize when the peer SACKs.
    pub(super) fn pipe(&self) -> usize {
        if self.scoreboard.is_empty() && !self.in_recovery {
            return self.flight_size();
        }
        self.scoreboard.pipe(&self.flight_view())
    }

    /// Linux `tcp_mark_lost_retrans` (RFC 6675 has no rule for it; RACK, RFC 8985, covers it
    /// by send time): when more than DupThresh segments' worth of data sent after our latest
    /// retransmission has been SACKed, the retransmissions still unacknowledged were lost
    /// again. HighRxt goes back to SND.UNA so NextSeg() rule 1 resends them instead of
    /// waiting for the RTO. `rtx_fence` (SND.MAX when the latest retransmission left) moves
    /// to SND.MAX so the same SACKs do not trigger it twice.
    pub(super) fn detect_lost_retransmissions(&mut self) {
        if !self.sack_ok || !self.in_recovery || self.high_rxt <= self.snd_una {
            return;
        }
        let mss = self.send_mss();
        if self.scoreboard.is_lost(self.rtx_fence.minus(1), mss) {
            self.high_rxt = self.snd_una;
            self.rtx_fence = self.snd_max;
            self.stats.lost_retransmissions += 1;
        }
    }

    /// RFC 6675 section 5 (after Update()): "(1) If DupAcks >= DupThresh, go to step (4)
    /// ... (2) If DupAcks < DupThresh but IsLost (HighACK + 1) returns true ... go to step
    /// (4)." Section 5.1: no new recovery "until HighACK is greater than or equal to the new
    /// value of RecoveryPoint".
    pub(super) fn detect_sack_loss(&mut self) {
        if !self.sack_ok || self.in_recovery || self.snd_una >= self.snd_max {
            return;
        }
        if self.snd_una < self.recover {
            return;
        }
        let lost = self.dup_acks as usize >= DUP_THRESH
            || self.scoreboard.is_lost(self.snd_una, self.send_mss());
        if lost {
            self.enter_sack_recovery();
        }
    }

    /// RFC 6675 section 5 step (4): "(4.1) RecoveryPoint = HighData ... (4.2) ssthresh =
    /// cwnd = (FlightSize / 2) ... (4.3) Retransmit the first data segment presumed
    /// dropped ... set both HighRxt and RescueRxt to the highest sequence number in the
    /// retransmitted segment."
    fn enter_sack_recovery(&mut self) {
        let mss = self.send_mss();
        self.recover = self.snd_max;
        self.in_recovery = true;
        self.rto_recovery = false;
        self.head_lost = true;
        self.high_rxt = self.snd_una;
        self.rescue_rxt = Some((self.snd_una + mss).min(self.snd_max).minus(1));
        self.cc.on_enter_sack_recovery(self.flight_size(), mss);
        // (4.3) goes out whatever pipe says; `data_segment` moves HighRxt past it.
        self.rtx_una = true;
        self.stats.fast_retransmits += 1;
    }

    /// A cumulative ACK moved SND.UNA while SACK recovery runs: leave it at RecoveryPoint
    /// ("When the TCP sender receives a cumulative ACK for this data octet, the loss
    /// recovery phase is terminated"), else treat it as a partial ACK.
    pub(super) fn sack_recovery_ack(&mut self, now: Instant, data_acked: usize) {
        let mss = self.send_mss();
        if self.snd_una >= self.recover {
            self.in_recovery = false;
            self.head_lost = false;
            self.rescue_rxt = None;
            if self.rto_recovery {
                // Slow start continues from the timeout's cwnd.
                self.rto_recovery = false;
                self.cc.on_ack(now, data_acked, mss, self.rtt.srtt());
            } else {
                self.cc.on_exit_recovery(self.flight_size(), mss);
            }
        } else if self.rto_recovery {
            // Retransmitting after a timeout is slow start (RFC 5681 section 3.1).
            self.cc.on_ack(now, data_acked, mss, self.rtt.srtt());
        } else {
            // The ACK covers a retransmission sent after the segment now at SND.UNA: that
            // one was lost too.
            self.head_lost = true;
        }
    }

    /// RFC 6675 section 5.1 on a retransmission timeout: "RecoveryPoint MUST be set to
    /// HighData ... the loss recovery algorithm outlined in this document MUST be
    /// terminated". Recovery restarts as Linux's Loss state: everything unSACKed below
    /// RecoveryPoint is lost and resent from SND.UNA in slow start.
    pub(super) fn sack_timeout(&mut self) {
        if self.scoreboard.is_sacked(self.snd_una) {
            // SND.UNA itself SACKed yet never acknowledged: the receiver reneged.
            self.scoreboard.clear();
        }
        self.recover = self.snd_max;
        self.in_recovery = true;
        self.rto_recovery = true;
        self.head_lost = false;
        self.high_rxt = self.snd_una;
        self.rescue_rxt = None;
        // The segment at SND.UNA goes at once whatever the windows say (it doubles as the
        // probe of a closed window).
        self.rtx_una = true;
    }

    /// RFC 6675 NextSeg() rules 1, 3 and 4, with rule 2 (new data) tried by the caller
    /// between 1 and 3: `rule_1_only` asks for rule 1 alone. Rule 4 updates RescueRxt here
    /// ("RescueRxt set to RecoveryPoint").
    pub(super) fn next_retransmission(&mut self, rule_1_only: bool) -> Option<Retransmission> {
        let view = self.flight_view();
        let plain = |(seq, end)| Retransmission {
            seq,
            end,
            rescue: false,
        };
        if let Some(seg) = self.scoreboard.next_lost(&view) {
            return Some(plain(seg));
        }
        if rule_1_only || self.rto_recovery {
            return None;
        }
        if let Some(seg) = self.scoreboard.next_unsacked(&view) {
            return Some(plain(seg));
        }
        // "If HighACK is greater than RescueRxt (or RescueRxt is undefined)".
        if self.rescue_rxt.is_none_or(|r| self.snd_una > r) {
            let (seq, end) = self.scoreboard.rescue(&view)?;
            self.rescue_rxt = Some(self.recover);
            return Some(Retransmission {
                seq,
                end,
                rescue: true,
            });
        }
        None
    }
}

/// A retransmission chosen by NextSeg(): `[seq, end)`, at most one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Retransmission {
    pub seq: SeqNum,
    pub end: SeqNum,
    /// Rule 4: "HighRxt MUST NOT be updated".
    pub rescue: bool,
}
