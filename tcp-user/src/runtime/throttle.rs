//! Rate limits for log lines about recurring conditions: at most one line per condition per
//! period, and the line that does go out says how much was held back since the last one.
//!
//! Time is a parameter (an `Instant` the caller reads), so the limits are unit-tested with
//! made-up instants. Control plane only: the supervisor calls these twice a second.

use std::time::{Duration, Instant};

/// How often one condition may log: one line per condition per 10 s.
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(10);

/// What a [`Throttle`] lets out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Emit {
    /// Occurrences held back since the last line (not counting the one logged now).
    pub suppressed: u64,
    /// The amounts (frames, segments) of this occurrence and of those held back.
    pub amount: u64,
}

impl Emit {
    /// ` (N more since last)` when occurrences were held back, else nothing.
    pub fn suffix(&self) -> String {
        if self.suppressed == 0 {
            String::new()
        } else {
            format!(" ({} more since last)", self.suppressed)
        }
    }
}

/// One condition's limit: the first occurrence logs at once, later ones at most once per
/// period; what is held back is reported with the next line, or on its own once the period
/// has passed (so a burst that stops is still accounted for).
#[derive(Clone, Debug)]
pub(crate) struct Throttle {
    period: Duration,
    last: Option<Instant>,
    suppressed: u64,
    amount: u64,
}

impl Throttle {
    /// A limit of one line per `period`.
    pub fn new(period: Duration) -> Throttle {
        Throttle {
            period,
            last: None,
            suppressed: 0,
            amount: 0,
        }
    }

    /// Called on every check of the condition: `amount` > 0 is an occurrence of that size
    /// (0: the condition did not occur). Returns a line to log when one is due.
    pub fn tick(&mut self, now: Instant, amount: u64) -> Option<Emit> {
        let occurred = amount > 0;
        self.amount += amount;
        let due = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.period);
        match (occurred, due) {
            (true, true) => Some(self.emit(now, 0)),
            (true, false) => {
                self.suppressed += 1;
                None
            }
            // Held-back occurrences go out once the period has passed.
            (false, true) if self.suppressed > 0 => Some(self.emit(now, 1)),
            (false, _) => None,
        }
    }

    /// Logs now; `counted` of the held-back occurrences are the line itself.
    fn emit(&mut self, now: Instant, counted: u64) -> Emit {
        let out = Emit {
            suppressed: self.suppressed - counted,
            amount: self.amount,
        };
        self.last = Some(now);
        self.suppressed = 0;
        self.amount = 0;
        out
    }
}

/// A state that changes now and then (interface up or down, memory pressure): each change
/// is a line, at most one per period; a line always says the state as it is now, and how
/// many changes it stands for when some were held back (a flapping link).
#[derive(Clone, Debug)]
pub(crate) struct StateThrottle<T> {
    seen: T,
    changes: u64,
    period: Duration,
    last: Option<Instant>,
}

impl<T: Copy + PartialEq> StateThrottle<T> {
    /// Starts in `initial`, which is not reported.
    pub fn new(initial: T, period: Duration) -> StateThrottle<T> {
        StateThrottle {
            seen: initial,
            changes: 0,
            period,
            last: None,
        }
    }

    /// Called on every check with the state now. Returns the state to log and the number of
    /// changes since the last line (1: just this one) when a line is due.
    pub fn observe(&mut self, now: Instant, state: T) -> Option<(T, u64)> {
        if state != self.seen {
            self.seen = state;
            self.changes += 1;
        }
        let due = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.period);
        if self.changes == 0 || !due {
            return None;
        }
        let changes = std::mem::take(&mut self.changes);
        self.last = Some(now);
        Some((state, changes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn the_first_occurrence_logs_at_once_and_the_next_within_the_period_is_held_back() {
        let t0 = Instant::now();
        let mut t = Throttle::new(LOG_EVERY);
        assert_eq!(
            t.tick(t0, 5),
            Some(Emit {
                suppressed: 0,
                amount: 5
            })
        );
        assert_eq!(t.tick(at(t0, 500), 3), None);
        assert_eq!(t.tick(at(t0, 9_999), 2), None);
    }

    #[test]
    fn a_line_after_the_period_counts_what_was_held_back() {
        let t0 = Instant::now();
        let mut t = Throttle::new(LOG_EVERY);
        t.tick(t0, 1);
        for i in 1..=19 {
            assert_eq!(t.tick(at(t0, i * 500), 10), None);
        }
        let e = t.tick(at(t0, 10_000), 10).expect("due after 10 s");
        assert_eq!(
            e,
            Emit {
                suppressed: 19,
                amount: 200
            }
        );
        assert_eq!(e.suffix(), " (19 more since last)");
    }

    #[test]
    fn held_back_occurrences_are_reported_once_the_condition_stopped_and_the_period_passed() {
        let t0 = Instant::now();
        let mut t = Throttle::new(LOG_EVERY);
        t.tick(t0, 1);
        t.tick(at(t0, 500), 4);
        t.tick(at(t0, 1_000), 6);
        assert_eq!(t.tick(at(t0, 5_000), 0), None, "period not over");
        let e = t.tick(at(t0, 10_000), 0).expect("the held-back pair");
        assert_eq!(
            e,
            Emit {
                suppressed: 1,
                amount: 10
            },
            "two occurrences in one line"
        );
        assert_eq!(t.tick(at(t0, 30_000), 0), None, "nothing left to say");
    }

    #[test]
    fn a_condition_that_never_occurs_never_logs() {
        let t0 = Instant::now();
        let mut t = Throttle::new(LOG_EVERY);
        assert!((0..100).all(|i| t.tick(at(t0, i * 500), 0).is_none()));
    }

    #[test]
    fn a_state_change_logs_at_once_and_a_flap_within_the_period_is_one_later_line() {
        let t0 = Instant::now();
        let mut s = StateThrottle::new(true, LOG_EVERY);
        assert_eq!(s.observe(t0, true), None, "the initial state is not news");
        assert_eq!(s.observe(at(t0, 500), false), Some((false, 1)));
        assert_eq!(s.observe(at(t0, 1_000), true), None);
        assert_eq!(s.observe(at(t0, 1_500), false), None);
        assert_eq!(s.observe(at(t0, 2_000), true), None);
        assert_eq!(
            s.observe(at(t0, 10_500), true),
            Some((true, 3)),
            "up now, after three changes"
        );
        assert_eq!(s.observe(at(t0, 30_000), true), None);
    }
}
