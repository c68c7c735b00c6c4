//! Time as the engine sees it: a monotonic instant in microseconds, always passed in by the
//! caller. The engine never reads a clock, so tests inject time and run deterministically.

use core::ops::{Add, Sub};
use std::time::Duration;

/// A point on a monotonic clock, in microseconds since an arbitrary origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    /// The origin (used by tests).
    pub const ZERO: Instant = Instant(0);

    /// From microseconds since the origin.
    pub const fn from_micros(us: u64) -> Instant {
        Instant(us)
    }
    /// From milliseconds since the origin.
    pub const fn from_millis(ms: u64) -> Instant {
        Instant(ms * 1000)
    }
    /// Microseconds since the origin.
    pub const fn micros(self) -> u64 {
        self.0
    }
    /// Milliseconds since the origin (the clock of the TCP timestamps option).
    pub const fn millis(self) -> u64 {
        self.0 / 1000
    }
    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.as_micros() as u64))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_since(rhs)
    }
}
