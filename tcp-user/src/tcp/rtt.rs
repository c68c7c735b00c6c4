//! Round-trip time estimation and the retransmission timeout (RFC 6298).

use std::time::Duration;

/// Clock granularity G of RFC 6298 section 2 (our timestamps tick in milliseconds).
const GRANULARITY_US: u64 = 1000;

/// SRTT, RTTVAR and RTO per RFC 6298, in microseconds, plus the exponential backoff of
/// section 5.5.
#[derive(Clone, Copy, Debug)]
pub struct RttEstimator {
    srtt: u64,
    rttvar: u64,
    has_sample: bool,
    /// RTO before backoff, clamped.
    base_rto: u64,
    /// Number of doublings applied (section 5.5), reset by new acknowledgments.
    backoff: u32,
    min: u64,
    max: u64,
}

impl RttEstimator {
    /// An estimator with no sample yet: RTO = `initial` (section 2.1).
    pub fn new(initial: Duration, min: Duration, max: Duration) -> RttEstimator {
        let (min, max) = (min.as_micros() as u64, max.as_micros() as u64);
        RttEstimator {
            srtt: 0,
            rttvar: 0,
            has_sample: false,
            base_rto: (initial.as_micros() as u64).clamp(min, max.max(min)),
            backoff: 0,
            min,
            max: max.max(min),
        }
    }

    /// Feeds one measurement R (section 2.2/2.3).
    pub fn sample(&mut self, r: Duration) {
        let r = r.as_micros() as u64;
        if !self.has_sample {
            // 2.2: SRTT <- R, RTTVAR <- R/2
            self.srtt = r;
            self.rttvar = r / 2;
            self.has_sample = true;
        } else {
            // 2.3: RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|, beta = 1/4
            //      SRTT <- (1 - alpha) * SRTT + alpha * R', alpha = 1/8
            let delta = self.srtt.abs_diff(r);
            self.rttvar = (3 * self.rttvar + delta) / 4;
            self.srtt = (7 * self.srtt + r) / 8;
        }
        // RTO <- SRTT + max (G, K*RTTVAR), K = 4; clamped (2.4, 2.5).
        let rto = self.srtt + (4 * self.rttvar).max(GRANULARITY_US);
        self.base_rto = rto.clamp(self.min, self.max);
    }

    /// The current RTO including backoff, clamped to the maximum.
    pub fn rto(&self) -> Duration {
        let factor = 1u64.checked_shl(self.backoff.min(32)).unwrap_or(u64::MAX);
        Duration::from_micros(self.base_rto.saturating_mul(factor).min(self.max))
    }

    /// Section 5.5: "The host MUST set RTO <- RTO * 2 ("back off the timer")".
    pub fn back_off(&mut self) {
        if self.rto().as_micros() as u64 >= self.max {
            return;
        }
        self.backoff += 1;
    }

    /// Drops the backoff once new data is acknowledged (as Linux does in `tcp_ack`).
    pub fn reset_backoff(&mut self) {
        self.backoff = 0;
    }

    /// Section 5.7: after a retransmitted SYN with no RTT sample, RTO restarts at 3 s.
    pub fn fallback_after_syn_loss(&mut self) {
        if !self.has_sample {
            self.base_rto = 3_000_000u64.clamp(self.min, self.max);
        }
        self.backoff = 0;
    }

    /// Smoothed RTT, if measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.has_sample.then(|| Duration::from_micros(self.srtt))
    }

    /// RTT variation, if measured.
    pub fn rttvar(&self) -> Option<Duration> {
        self.has_sample.then(|| Duration::from_micros(self.rttvar))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est() -> RttEstimator {
        RttEstimator::new(
            Duration::from_secs(1),
            Duration::from_millis(200),
            Duration::from_secs(60),
        )
    }

    #[test]
    fn rfc6298_first_sample_sets_srtt_r_and_rttvar_half() {
        let mut e = est();
        assert_eq!(e.rto(), Duration::from_secs(1), "2.1: initial RTO 1 s");
        e.sample(Duration::from_millis(100));
        assert_eq!(e.srtt(), Some(Duration::from_millis(100)));
        assert_eq!(e.rttvar(), Some(Duration::from_millis(50)));
        // RTO = 100 + 4*50 = 300 ms
        assert_eq!(e.rto(), Duration::from_millis(300));
    }

    #[test]
    fn rfc6298_subsequent_samples_use_alpha_eighth_beta_quarter() {
        let mut e = est();
        e.sample(Duration::from_millis(100));
        e.sample(Duration::from_millis(200));
        // RTTVAR = 3/4*50 + 1/4*100 = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5
        assert_eq!(e.rttvar(), Some(Duration::from_micros(62_500)));
        assert_eq!(e.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(e.rto(), Duration::from_micros(112_500 + 250_000));
    }

    #[test]
    fn rfc6298_rto_clamped_to_min_and_backoff_to_max() {
        let mut e = est();
        e.sample(Duration::from_micros(100));
        assert_eq!(
            e.rto(),
            Duration::from_millis(200),
            "2.4: clamped to rto_min"
        );
        for _ in 0..20 {
            e.back_off();
        }
        assert_eq!(e.rto(), Duration::from_secs(60), "2.5: clamped to rto_max");
        e.reset_backoff();
        assert_eq!(e.rto(), Duration::from_millis(200));
    }
}
