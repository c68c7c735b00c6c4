//! CUBIC congestion control (RFC 9438 sections 4.1-4.10), a [`CongestionControl`] selected by
//! [`CongestionKind::Cubic`](super::config::CongestionKind). Only the window's reaction
//! differs from Reno: loss detection and the recovery algorithms (RFC 6582, RFC 6675) stay
//! in the connection, and slow start is Reno's (section 4.10).
//!
//! Sizes are bytes like the rest of the engine; the RFC's formulas work in segments, so
//! W_max, cwnd_epoch and W_est are converted with the current SMSS where they meet `C`.
//! Time is the `now` the connection passes in; nothing here reads a clock.

use super::congestion::{CongestionControl, Reno};
use super::time::Instant;
use std::time::Duration;

/// Section 4.2: "C is a constant fixed to determine the aggressiveness of window increase in
/// high BDP networks" (segments per second cubed). Section 5.1 recommends 0.4.
pub const C: f64 = 0.4;
/// Section 4.6: "beta_cubic SHOULD be set to 0.7".
pub const BETA: f64 = 0.7;
/// Section 4.3: alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic), so the Reno-friendly
/// estimate grows as fast on average as Reno would with beta_cubic.
pub const ALPHA: f64 = 3.0 * (1.0 - BETA) / (1.0 + BETA);

/// Section 4.2, Figure 2: K = cubic_root((W_max - cwnd_epoch) / C), in seconds, both windows
/// in segments: the time the window takes to climb back to W_max. Zero when the epoch starts
/// at or above W_max (the curve is then convex from its start, as Linux does).
pub fn k_seconds(w_max: f64, cwnd_epoch: f64) -> f64 {
    ((w_max - cwnd_epoch).max(0.0) / C).cbrt()
}

/// Section 4.2, Figure 1: W_cubic(t) = C * (t - K)^3 + W_max, in segments.
pub fn w_cubic(t: f64, k: f64, w_max: f64) -> f64 {
    C * (t - k).powi(3) + w_max
}

/// The current congestion-avoidance stage (section 4.2): when it began and the curve chosen
/// then. `None` in [`Cubic`] until the first ACK of congestion avoidance after a reduction.
#[derive(Clone, Copy, Debug)]
struct Epoch {
    /// t_epoch: time the stage began.
    start: Instant,
    /// K in seconds.
    k: f64,
    /// W_max of this stage, in bytes.
    w_max: f64,
    /// W_est (section 4.3), in bytes.
    w_est: f64,
}

/// RFC 9438 CUBIC. Slow start, NewReno inflation and deflation during recovery are
/// delegated to an inner [`Reno`]; CUBIC decides ssthresh at congestion events and the
/// growth in congestion avoidance.
#[derive(Clone, Copy, Debug)]
pub struct Cubic {
    /// Holds cwnd and ssthresh; does slow start and the RFC 6582 recovery arithmetic.
    reno: Reno,
    /// Fractional bytes of congestion-avoidance growth not yet added to cwnd.
    carry: f64,
    /// W_max (section 4.6): cwnd before the last reduction, lowered by fast convergence.
    w_max: f64,
    /// cwnd_prior (section 4.6): cwnd just before the last reduction.
    cwnd_prior: f64,
    /// Section 4.8: the first stage after a timeout uses W_max = cwnd_epoch and K = 0.
    after_timeout: bool,
    epoch: Option<Epoch>,
}

impl Cubic {
    /// Starts with `initial_window` bytes and an unbounded ssthresh, like [`Reno::new`].
    pub fn new(initial_window: usize) -> Cubic {
        Cubic {
            reno: Reno::new(initial_window),
            carry: 0.0,
            w_max: 0.0,
            cwnd_prior: 0.0,
            after_timeout: false,
            epoch: None,
        }
    }

    /// W_max of the latest congestion event, in bytes (0 before any).
    pub fn w_max(&self) -> usize {
        self.w_max as usize
    }

    /// Section 4.6 multiplicative decrease plus section 4.7 fast convergence; returns the new
    /// ssthresh. "ssthresh = flight_size * beta_cubic ... ssthresh = max(ssthresh, 2)": the
    /// RFC uses FlightSize (implementations using cwnd must stop cwnd growing while
    /// application-limited, which this engine does not).
    fn reduce(&mut self, flight: usize, mss: usize) -> usize {
        let cwnd = self.reno.cwnd() as f64;
        // Section 4.7: "if cwnd < W_max and fast convergence is enabled, further reduce
        // W_max: W_max = cwnd * (1 + beta_cubic) / 2; otherwise W_max = cwnd".
        self.w_max = if cwnd < self.w_max {
            cwnd * (1.0 + BETA) / 2.0
        } else {
            cwnd
        };
        self.cwnd_prior = cwnd;
        self.after_timeout = false;
        self.epoch = None;
        self.carry = 0.0;
        ((flight as f64 * BETA) as usize).max(2 * mss)
    }

    /// Begins a congestion-avoidance stage at `now` (section 4.2: t_epoch, cwnd_epoch, K;
    /// section 4.3: "W_est is set equal to cwnd_epoch at the start of the congestion
    /// avoidance stage").
    fn start_epoch(&mut self, now: Instant, mss: f64) -> Epoch {
        let cwnd = self.reno.cwnd() as f64;
        // Section 4.8 after a timeout, and the first stage out of slow start (no W_max yet,
        // or W_max below where this stage begins): W_max = cwnd_epoch, so K = 0.
        if self.after_timeout || self.w_max < cwnd {
            self.w_max = cwnd;
            self.after_timeout = false;
        }
        Epoch {
            start: now,
            k: k_seconds(self.w_max / mss, cwnd / mss),
            w_max: self.w_max,
            w_est: cwnd,
        }
    }

    /// Congestion avoidance on an ACK of `acked` bytes (sections 4.2-4.5).
    fn avoid_congestion(&mut self, now: Instant, acked: usize, mss: usize, rtt: Duration) {
        let mss_f = mss as f64;
        let mut epoch = match self.epoch {
            Some(e) => e,
            None => self.start_epoch(now, mss_f),
        };
        let cwnd = self.reno.cwnd() as f64;
        let acked = acked as f64;

        // Section 4.3: "W_est = W_est + alpha_cubic * segments_acked / cwnd" (in segments;
        // here bytes), with alpha_cubic = 1 once "W_est >= cwnd_prior".
        let alpha = if epoch.w_est >= self.cwnd_prior {
            1.0
        } else {
            ALPHA
        };
        epoch.w_est += alpha * acked * mss_f / cwnd;

        let t = (now - epoch.start).as_secs_f64();
        let cubic = w_cubic(t, epoch.k, epoch.w_max / mss_f) * mss_f;
        let grown = if cubic < epoch.w_est {
            // Section 4.3, the Reno-friendly region: "cwnd SHOULD be set to W_est".
            epoch.w_est.max(cwnd)
        } else {
            // Sections 4.4 (concave, cwnd < W_max) and 4.5 (convex): the same rule. "target =
            // W_cubic(t + RTT)" clamped to [cwnd, 1.5 * cwnd]; "cwnd MUST be incremented by
            // (target - cwnd) / cwnd for each received ACK" (per SMSS acknowledged).
            let ahead = t + rtt.as_secs_f64();
            let target =
                (w_cubic(ahead, epoch.k, epoch.w_max / mss_f) * mss_f).clamp(cwnd, 1.5 * cwnd);
            cwnd + (target - cwnd) * acked / cwnd
        };
        self.epoch = Some(epoch);
        // Whole bytes go to cwnd; the fraction carries so slow growth is not lost.
        self.carry += grown - cwnd;
        let whole = self.carry.floor().max(0.0);
        self.carry -= whole;
        self.reno.set_cwnd(self.reno.cwnd() + whole as usize);
    }

    /// Growth for an ACK outside recovery: slow start below ssthresh (section 4.10), CUBIC
    /// above. `rtt` is the connection's SRTT, the RTT of W_cubic(t + RTT) (zero until
    /// measured).
    pub fn ack(&mut self, now: Instant, acked: usize, mss: usize, rtt: Option<Duration>) {
        if acked == 0 {
            return;
        }
        if self.reno.cwnd() < self.reno.ssthresh() {
            self.reno.on_ack(now, acked, mss, rtt);
        } else {
            self.avoid_congestion(now, acked, mss, rtt.unwrap_or_default());
        }
    }
}

impl CongestionControl for Cubic {
    fn cwnd(&self) -> usize {
        self.reno.cwnd()
    }
    fn ssthresh(&self) -> usize {
        self.reno.ssthresh()
    }
    fn on_ack(&mut self, now: Instant, acked: usize, mss: usize, rtt: Option<Duration>) {
        self.ack(now, acked, mss, rtt);
    }
    fn on_enter_recovery(&mut self, flight: usize, mss: usize) {
        // RFC 5681 3.2 step 3 with CUBIC's ssthresh: "cwnd = ssthresh + 3*SMSS".
        let ssthresh = self.reduce(flight, mss);
        self.reno.set_windows(ssthresh + 3 * mss, ssthresh);
    }
    fn on_enter_sack_recovery(&mut self, flight: usize, mss: usize) {
        // RFC 6675 (4.2) with beta_cubic: ssthresh = cwnd = FlightSize * beta_cubic.
        let ssthresh = self.reduce(flight, mss);
        self.reno.set_windows(ssthresh, ssthresh);
    }
    fn on_dup_ack_in_recovery(&mut self, mss: usize) {
        self.reno.on_dup_ack_in_recovery(mss);
    }
    fn on_partial_ack(&mut self, acked: usize, mss: usize) {
        self.reno.on_partial_ack(acked, mss);
    }
    fn on_exit_recovery(&mut self, flight: usize, mss: usize) {
        self.reno.on_exit_recovery(flight, mss);
    }
    fn on_timeout(&mut self, flight: usize, mss: usize) {
        // Section 4.8: "CUBIC follows Reno to reduce cwnd but sets ssthresh using
        // beta_cubic"; the next stage restarts its curve from where it begins.
        let ssthresh = self.reduce(flight, mss);
        self.after_timeout = true;
        self.reno.set_windows(mss, ssthresh);
    }
    fn on_repeated_timeout(&mut self, mss: usize) {
        // The same data timed out again: ssthresh and W_max stay (RFC 5681 section 3.1).
        self.epoch = None;
        self.carry = 0.0;
        self.after_timeout = true;
        self.reno.set_windows(mss, self.reno.ssthresh());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 1000;
    const T0: Instant = Instant::from_millis(1000);

    fn at(secs: f64) -> Instant {
        T0 + Duration::from_secs_f64(secs)
    }

    /// A CUBIC sender just out of a loss at `w_max` segments, in congestion avoidance at
    /// cwnd = ssthresh = 0.7 * w_max.
    fn after_loss(w_max: usize) -> Cubic {
        let mut c = Cubic::new(w_max * MSS);
        c.on_enter_sack_recovery(w_max * MSS, MSS);
        c.on_exit_recovery(w_max * MSS, MSS);
        c
    }

    /// Feeds one window of ACKs (one per SMSS) at `now`.
    fn ack_window(c: &mut Cubic, now: Instant, rtt: Duration) {
        for _ in 0..c.cwnd() / MSS {
            c.on_ack(now, MSS, MSS, Some(rtt));
        }
    }

    #[test]
    fn k_is_the_cube_root_of_the_reduction_over_c() {
        // W_max = 100, cwnd_epoch = 70: K = cbrt(30 / 0.4) = cbrt(75) = 4.2172 s.
        assert!((k_seconds(100.0, 70.0) - 4.2172).abs() < 1e-4);
        // The RFC's form for a loss reduction: cbrt(W_max * (1 - beta) / C).
        assert!((k_seconds(1000.0, 700.0) - (1000.0 * 0.3 / 0.4f64).cbrt()).abs() < 1e-9);
        assert_eq!(
            k_seconds(50.0, 70.0),
            0.0,
            "epoch above W_max: convex at once"
        );
    }

    #[test]
    fn w_cubic_worked_values_after_a_loss_at_100_segments() {
        let k = k_seconds(100.0, 70.0);
        assert!(
            (w_cubic(0.0, k, 100.0) - 70.0).abs() < 1e-9,
            "starts at cwnd_epoch"
        );
        assert!((w_cubic(1.0, k, 100.0) - 86.6808).abs() < 1e-3);
        assert!((w_cubic(2.0, k, 100.0) - 95.6403).abs() < 1e-3);
        assert!(
            (w_cubic(k, k, 100.0) - 100.0).abs() < 1e-9,
            "plateau at W_max"
        );
        assert!((w_cubic(6.0, k, 100.0) - 102.2667).abs() < 1e-3);
        assert!((w_cubic(8.0, k, 100.0) - 121.6527).abs() < 1e-3);
    }

    #[test]
    fn congestion_event_sets_ssthresh_and_cwnd_to_flight_times_beta() {
        let mut c = Cubic::new(100 * MSS);
        c.on_enter_sack_recovery(100 * MSS, MSS);
        assert_eq!(
            (c.cwnd(), c.ssthresh(), c.w_max()),
            (70_000, 70_000, 100_000)
        );
        let mut c = Cubic::new(100 * MSS);
        c.on_enter_recovery(100 * MSS, MSS);
        assert_eq!(
            (c.cwnd(), c.ssthresh()),
            (73_000, 70_000),
            "NewReno: + 3*SMSS"
        );
        let mut c = Cubic::new(2 * MSS);
        c.on_enter_sack_recovery(2 * MSS, MSS);
        assert_eq!(c.ssthresh(), 2 * MSS, "at least 2 segments");
    }

    #[test]
    fn window_grows_concave_to_w_max_then_convex_beyond() {
        // A long RTT (high BDP) keeps the Reno-friendly estimate out of the way.
        let rtt = Duration::from_millis(200);
        let mut c = after_loss(1000);
        let mut windows = vec![c.cwnd()];
        let mut t = 0.0;
        while t < 14.0 {
            t += 0.2;
            ack_window(&mut c, at(t), rtt);
            windows.push(c.cwnd());
        }
        let k = k_seconds(1000.0, 700.0); // 9.09 s
        let gain = |from: f64, to: f64| {
            windows[(to / 0.2) as usize] as f64 - windows[(from / 0.2) as usize] as f64
        };
        // Concave: fast early, slowing toward W_max.
        assert!(gain(0.0, 2.0) > 2.0 * gain(6.0, 8.0), "{windows:?}");
        // The plateau sits at W_max around K.
        let near_k = windows[(k / 0.2) as usize];
        assert!((near_k as f64 - 1_000_000.0).abs() < 5_000.0, "{near_k}");
        // Convex: growth accelerates again past K.
        assert!(gain(12.0, 14.0) > 2.0 * gain(k, k + 2.0), "{windows:?}");
        // Each step tracks W_cubic(t + RTT) within a few segments.
        let expected = w_cubic(14.0 + 0.2, k, 1000.0) * MSS as f64;
        let last = *windows.last().unwrap() as f64;
        assert!(
            (last - expected).abs() < 0.01 * expected,
            "{last} vs {expected}"
        );
    }

    #[test]
    fn reno_friendly_region_takes_over_at_small_rtt_and_bdp() {
        // 20 segments, 1 ms RTT: the cubic curve needs K = 2.4 s to climb back to 20, while
        // W_est grows by alpha_cubic (0.53) segments per RTT, then by 1 once it reaches
        // cwnd_prior (RFC 9438 section 4.3): Reno's pace takes over.
        let rtt = Duration::from_millis(1);
        let mut c = after_loss(20);
        let start = c.cwnd();
        let rtts = |c: &mut Cubic, from: usize, to: usize| {
            for i in from..to {
                ack_window(c, at(i as f64 * 0.001), rtt);
            }
        };
        rtts(&mut c, 1, 11);
        let segs = (c.cwnd() - start) as f64 / MSS as f64;
        assert!(
            (segs - 10.0 * ALPHA).abs() < 1.0,
            "{segs} segments in 10 RTTs"
        );
        rtts(&mut c, 11, 101);
        let k = k_seconds(20.0, 14.0);
        let cubic = w_cubic(0.1 + 0.001, k, 20.0) * MSS as f64;
        assert!(cubic < 20_000.0, "the curve is still below W_max");
        let segs = (c.cwnd() - start) as f64 / MSS as f64;
        // ~6 segments at alpha_cubic to reach cwnd_prior, then ~89 at one per RTT.
        assert!(
            (88.0..=100.0).contains(&segs),
            "{segs} segments in 100 RTTs"
        );
    }

    #[test]
    fn fast_convergence_lowers_w_max_when_losing_below_the_previous_one() {
        let mut c = after_loss(100);
        assert_eq!(c.w_max(), 100 * MSS);
        // Second loss at cwnd = 70 < W_max = 100: W_max = 70 * (1 + 0.7) / 2 = 59.5.
        c.on_enter_sack_recovery(70 * MSS, MSS);
        assert_eq!(c.w_max(), 59_500);
        assert_eq!(c.cwnd(), 49_000);
        c.on_exit_recovery(49 * MSS, MSS);
        // A loss above the previous W_max takes cwnd as it is.
        c.reno.set_windows(80 * MSS, 49 * MSS);
        c.on_enter_sack_recovery(80 * MSS, MSS);
        assert_eq!(c.w_max(), 80 * MSS);
    }

    #[test]
    fn timeout_resets_to_one_segment_and_restarts_the_curve_at_k_zero() {
        let rtt = Duration::from_millis(50);
        let mut c = after_loss(100);
        ack_window(&mut c, at(1.0), rtt);
        c.on_timeout(100 * MSS, MSS);
        assert_eq!(
            (c.cwnd(), c.ssthresh()),
            (MSS, 70 * MSS),
            "cwnd = 1 SMSS, beta"
        );
        c.on_repeated_timeout(MSS);
        assert_eq!((c.cwnd(), c.ssthresh()), (MSS, 70 * MSS), "ssthresh held");
        // Slow start back to ssthresh, then CUBIC with W_max = cwnd_epoch, K = 0: growth
        // from the start is convex (slow at first), not a climb back to 100.
        let mut t = 2.0;
        while c.cwnd() < c.ssthresh() {
            t += 0.05;
            for _ in 0..c.cwnd() / MSS {
                if c.cwnd() < c.ssthresh() {
                    c.on_ack(at(t), MSS, MSS, Some(rtt));
                }
            }
        }
        let epoch = c.cwnd();
        c.on_ack(at(t), MSS, MSS, Some(rtt));
        let started = c.epoch.expect("congestion avoidance");
        assert_eq!((started.k, started.w_max as usize), (0.0, epoch));
        ack_window(&mut c, at(t + 1.0), rtt);
        assert!(c.cwnd() < epoch + 3 * MSS, "{} from {epoch}", c.cwnd());
    }

    #[test]
    fn slow_start_below_ssthresh_is_renos() {
        let mut c = Cubic::new(10 * MSS);
        c.on_ack(T0, 3 * MSS, MSS, None);
        assert_eq!(c.cwnd(), 12 * MSS, "+min(N, 2*SMSS)");
    }
}
