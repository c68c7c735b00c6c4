//! The operator's view of a connection ([`ConnInfo`]): read-only, taken between segments.

use super::Connection;
use crate::tcp::congestion::CongestionControl;
use crate::tcp::{ConnInfo, Instant, TimerKind};

impl Connection {
    /// A snapshot of this connection at `now` for `queue`'s listing.
    pub fn info(&self, now: Instant, queue: u32) -> ConnInfo {
        let (local, remote) = ConnInfo::endpoints(&self.tuple);
        let (timer, timer_us) = match self.next_timer() {
            Some((kind, at)) => (Some(kind), Some(at.micros().saturating_sub(now.micros()))),
            None => (None, None),
        };
        let ssthresh = self.cc.ssthresh();
        let s = &self.stats;
        ConnInfo {
            queue,
            local,
            remote,
            state: self.state.name().to_string(),
            recv_q: self.recv.len(),
            send_q: self.send.len(),
            rtt_us: self.rtt.srtt().map(|d| d.as_micros() as u64),
            rttvar_us: self.rtt.rttvar().map(|d| d.as_micros() as u64),
            rto_us: self.rtt.rto().as_micros() as u64,
            mss: self.send_mss(),
            cwnd: self.cc.cwnd(),
            ssthresh: (ssthresh < usize::MAX / 2).then_some(ssthresh),
            congestion: ConnInfo::congestion_name(self.config.congestion).to_string(),
            snd_wnd: self.snd_wnd,
            rcv_wnd: self.rcv_adv - self.rcv_nxt,
            bytes_sent: s.bytes_out,
            bytes_retrans: s.retransmitted_bytes,
            bytes_acked: s.bytes_acked,
            bytes_received: s.bytes_in,
            segs_in: s.segments_in,
            segs_out: s.segments_out,
            retransmissions: s.retransmissions,
            timeouts: s.timeouts,
            timer,
            timer_us,
            age_us: now.micros().saturating_sub(self.opened_at.micros()),
        }
    }

    /// The earliest armed timer and its deadline (the order of `poll_timeout`).
    fn next_timer(&self) -> Option<(TimerKind, Instant)> {
        [
            (TimerKind::Retransmit, self.rto_at),
            (TimerKind::DelayedAck, self.delack_at),
            (TimerKind::Persist, self.persist_at),
            (TimerKind::TimeWait, self.time_wait_at),
            (TimerKind::FinWait2, self.fin_wait2_at),
            (TimerKind::Idle, self.idle_deadline()),
            (TimerKind::Linger, self.linger_at),
        ]
        .into_iter()
        .filter_map(|(kind, at)| at.map(|at| (kind, at)))
        .min_by_key(|(_, at)| *at)
    }
}
