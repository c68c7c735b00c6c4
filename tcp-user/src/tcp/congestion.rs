//! Congestion control (RFC 5681 with the NewReno recovery of RFC 6582; CUBIC, RFC 9438, in
//! `cubic.rs`). The connection detects losses (duplicate ACKs, partial ACKs, timeouts); this
//! module only says how the congestion window reacts, behind [`CongestionControl`], with one
//! variant of [`Congestion`] per algorithm ([`CongestionKind`] in the config picks it).

pub use super::config::CongestionKind;
pub use super::cubic::Cubic;
use super::time::Instant;
use std::time::Duration;

/// How a congestion controller's window reacts to the connection's loss signals.
/// All sizes in bytes; `mss` is the sender's maximum segment payload.
pub trait CongestionControl {
    /// Congestion window.
    fn cwnd(&self) -> usize;
    /// Slow start threshold.
    fn ssthresh(&self) -> usize;
    /// `acked` new bytes were cumulatively acknowledged outside recovery, at `now`; `rtt` is
    /// the connection's smoothed RTT once measured (CUBIC's W_cubic(t + RTT)).
    fn on_ack(&mut self, now: Instant, acked: usize, mss: usize, rtt: Option<Duration>);
    /// Third duplicate ACK: enter fast recovery (RFC 5681 section 3.2 steps 2-3).
    fn on_enter_recovery(&mut self, flight: usize, mss: usize);
    /// Loss found by SACK (RFC 6675 section 5 step 4.2): "ssthresh = cwnd = (FlightSize /
    /// 2)", no inflation (pipe, not cwnd, accounts for what left the network).
    fn on_enter_sack_recovery(&mut self, flight: usize, mss: usize);
    /// A further duplicate ACK during recovery (RFC 5681 section 3.2 step 4).
    fn on_dup_ack_in_recovery(&mut self, mss: usize);
    /// A partial ACK of `acked` bytes during recovery (RFC 6582 section 3.2 step 5).
    fn on_partial_ack(&mut self, acked: usize, mss: usize);
    /// A full ACK ends recovery (RFC 6582 section 3.2 step 6, option 1).
    fn on_exit_recovery(&mut self, flight: usize, mss: usize);
    /// Retransmission timeout (RFC 5681 section 3.1, equations 4 and cwnd = 1 MSS).
    fn on_timeout(&mut self, flight: usize, mss: usize);
    /// A further timeout of the same data: cwnd = 1 SMSS, ssthresh held (RFC 5681 section
    /// 3.1: "ssthresh ... not ... reduced further on repeated retransmissions").
    fn on_repeated_timeout(&mut self, mss: usize);
}

/// RFC 5681 slow start / congestion avoidance with appropriate byte counting (RFC 3465,
/// L = 2*SMSS) and NewReno window inflation.
#[derive(Clone, Copy, Debug)]
pub struct Reno {
    cwnd: usize,
    ssthresh: usize,
    /// Bytes acknowledged toward the next congestion-avoidance increment.
    acked_in_ca: usize,
}

impl Reno {
    /// Starts with `initial_window` bytes and an "arbitrarily high" ssthresh (RFC 5681 3.1).
    pub fn new(initial_window: usize) -> Reno {
        Reno {
            cwnd: initial_window,
            ssthresh: usize::MAX,
            acked_in_ca: 0,
        }
    }

    /// Sets cwnd (CUBIC's congestion avoidance, which keeps the rest of Reno's state).
    pub(super) fn set_cwnd(&mut self, cwnd: usize) {
        self.cwnd = cwnd;
    }

    /// Sets both windows and restarts congestion-avoidance byte counting (a reduction decided
    /// by another algorithm, e.g. CUBIC's beta).
    pub(super) fn set_windows(&mut self, cwnd: usize, ssthresh: usize) {
        self.cwnd = cwnd;
        self.ssthresh = ssthresh;
        self.acked_in_ca = 0;
    }
}

/// RFC 5681 equation 4: `ssthresh = max (FlightSize / 2, 2*SMSS)`.
fn half_flight(flight: usize, mss: usize) -> usize {
    (flight / 2).max(2 * mss)
}

impl CongestionControl for Reno {
    fn cwnd(&self) -> usize {
        self.cwnd
    }
    fn ssthresh(&self) -> usize {
        self.ssthresh
    }
    fn on_ack(&mut self, _now: Instant, acked: usize, mss: usize, _rtt: Option<Duration>) {
        if self.cwnd < self.ssthresh {
            // Slow start: "cwnd += min (N, SMSS)", with ABC's L = 2*SMSS (RFC 3465 2.2) so
            // delayed ACKs do not halve the growth.
            self.cwnd += acked.min(2 * mss);
        } else {
            // Congestion avoidance: one SMSS per cwnd of acknowledged bytes (RFC 5681 3.1).
            self.acked_in_ca += acked;
            if self.acked_in_ca >= self.cwnd {
                self.acked_in_ca -= self.cwnd;
                self.cwnd += mss;
            }
        }
    }
    fn on_enter_recovery(&mut self, flight: usize, mss: usize) {
        self.ssthresh = half_flight(flight, mss);
        self.cwnd = self.ssthresh + 3 * mss;
        self.acked_in_ca = 0;
    }
    fn on_enter_sack_recovery(&mut self, flight: usize, mss: usize) {
        self.ssthresh = half_flight(flight, mss);
        self.cwnd = self.ssthresh;
        self.acked_in_ca = 0;
    }
    fn on_dup_ack_in_recovery(&mut self, mss: usize) {
        self.cwnd += mss;
    }
    fn on_partial_ack(&mut self, acked: usize, mss: usize) {
        // "deflate the congestion window by the amount of new data acknowledged ... If the
        // partial ACK acknowledges at least one SMSS of new data, then add back SMSS bytes".
        self.cwnd = self.cwnd.saturating_sub(acked);
        if acked >= mss {
            self.cwnd += mss;
        }
        self.cwnd = self.cwnd.max(mss);
    }
    fn on_exit_recovery(&mut self, flight: usize, mss: usize) {
        // Option 1: "Set cwnd to min (ssthresh, max(FlightSize, SMSS) + SMSS)".
        self.cwnd = self.ssthresh.min(flight.max(mss) + mss);
    }
    fn on_timeout(&mut self, flight: usize, mss: usize) {
        self.ssthresh = half_flight(flight, mss);
        self.cwnd = mss;
        self.acked_in_ca = 0;
    }
    fn on_repeated_timeout(&mut self, mss: usize) {
        // As eq. 4 fed twice ssthresh: max(ssthresh, 2*SMSS), i.e. unchanged.
        let ssthresh = self.ssthresh.saturating_mul(2);
        self.on_timeout(ssthresh, mss);
    }
}

/// The congestion controller of a connection: an enum rather than a boxed trait object so
/// there is no allocation or indirect call per ACK.
#[derive(Clone, Copy, Debug)]
pub enum Congestion {
    /// NewReno (RFC 5681, RFC 6582).
    Reno(Reno),
    /// CUBIC (RFC 9438).
    Cubic(Cubic),
}

impl Congestion {
    /// A fresh controller of `kind` with `initial_window` bytes of cwnd.
    pub fn new(kind: CongestionKind, initial_window: usize) -> Congestion {
        match kind {
            CongestionKind::Reno => Congestion::Reno(Reno::new(initial_window)),
            CongestionKind::Cubic => Congestion::Cubic(Cubic::new(initial_window)),
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $c:ident => $e:expr) => {
        match $self {
            Congestion::Reno($c) => $e,
            Congestion::Cubic($c) => $e,
        }
    };
}

impl CongestionControl for Congestion {
    fn cwnd(&self) -> usize {
        dispatch!(self, c => c.cwnd())
    }
    fn ssthresh(&self) -> usize {
        dispatch!(self, c => c.ssthresh())
    }
    fn on_ack(&mut self, now: Instant, acked: usize, mss: usize, rtt: Option<Duration>) {
        dispatch!(self, c => c.on_ack(now, acked, mss, rtt))
    }
    fn on_enter_recovery(&mut self, flight: usize, mss: usize) {
        dispatch!(self, c => c.on_enter_recovery(flight, mss))
    }
    fn on_enter_sack_recovery(&mut self, flight: usize, mss: usize) {
        dispatch!(self, c => c.on_enter_sack_recovery(flight, mss))
    }
    fn on_dup_ack_in_recovery(&mut self, mss: usize) {
        dispatch!(self, c => c.on_dup_ack_in_recovery(mss))
    }
    fn on_partial_ack(&mut self, acked: usize, mss: usize) {
        dispatch!(self, c => c.on_partial_ack(acked, mss))
    }
    fn on_exit_recovery(&mut self, flight: usize, mss: usize) {
        dispatch!(self, c => c.on_exit_recovery(flight, mss))
    }
    fn on_timeout(&mut self, flight: usize, mss: usize) {
        dispatch!(self, c => c.on_timeout(flight, mss))
    }
    fn on_repeated_timeout(&mut self, mss: usize) {
        dispatch!(self, c => c.on_repeated_timeout(mss))
    }
}

/// Initial window of RFC 6928 as Linux uses it: 10 segments.
pub fn initial_window(mss: usize) -> usize {
    10 * mss
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5681_slow_start_then_congestion_avoidance() {
        let mut r = Reno::new(1000);
        r.on_ack(Instant::ZERO, 1000, 1000, None);
        assert_eq!(r.cwnd(), 2000, "slow start: +min(N, 2*SMSS)");
        r.on_timeout(8000, 1000);
        assert_eq!(
            (r.cwnd(), r.ssthresh()),
            (1000, 4000),
            "eq. 4 and cwnd = 1 SMSS"
        );
        r.on_ack(Instant::ZERO, 1000, 1000, None);
        r.on_ack(Instant::ZERO, 1000, 1000, None);
        r.on_ack(Instant::ZERO, 1000, 1000, None);
        assert_eq!(r.cwnd(), 4000);
        r.on_ack(Instant::ZERO, 3000, 1000, None);
        assert_eq!(r.cwnd(), 4000, "CA: not yet a full cwnd acked");
        r.on_ack(Instant::ZERO, 1000, 1000, None);
        assert_eq!(r.cwnd(), 5000, "CA: +1 SMSS per cwnd acked");
    }

    #[test]
    fn rfc6582_recovery_inflates_and_deflates() {
        let mut r = Reno::new(10_000);
        r.on_enter_recovery(10_000, 1000);
        assert_eq!((r.ssthresh(), r.cwnd()), (5000, 8000));
        r.on_dup_ack_in_recovery(1000);
        assert_eq!(r.cwnd(), 9000);
        r.on_partial_ack(2000, 1000);
        assert_eq!(r.cwnd(), 8000);
        r.on_exit_recovery(3000, 1000);
        assert_eq!(r.cwnd(), 4000);
    }
}
