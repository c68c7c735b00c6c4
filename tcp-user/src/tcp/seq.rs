//! TCP sequence numbers: 32-bit values compared modulo 2^32 (RFC 9293 section 3.4).

use core::cmp::Ordering;
use core::fmt;
use core::ops::{Add, AddAssign, Sub};

/// A TCP sequence number. Arithmetic wraps and comparisons are circular: `a < b` means `b`
/// is ahead of `a` by less than 2^31, as RFC 9293 section 3.4 requires ("the comparison
/// operators must be taken modulo 2^32").
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// Signed distance from `other` to `self` (positive when `self` is ahead).
    #[inline]
    pub fn diff(self, other: SeqNum) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// Larger of two sequence numbers in circular order.
    #[inline]
    pub fn max(self, other: SeqNum) -> SeqNum {
        if self >= other {
            self
        } else {
            other
        }
    }

    /// Smaller of two sequence numbers in circular order.
    #[inline]
    pub fn min(self, other: SeqNum) -> SeqNum {
        if self <= other {
            self
        } else {
            other
        }
    }

    /// `self - n`, wrapping (moving back `n` bytes of sequence space).
    #[inline]
    pub fn minus(self, n: usize) -> SeqNum {
        SeqNum(self.0.wrapping_sub(n as u32))
    }

    /// True when `lo <= self < hi` in circular order.
    #[inline]
    pub fn in_range(self, lo: SeqNum, hi: SeqNum) -> bool {
        self >= lo && self < hi
    }
}

impl PartialOrd for SeqNum {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SeqNum {
    /// Circular order. Not transitive over the whole space (no order on a circle is), but
    /// exact for any two numbers less than 2^31 apart, which is all TCP ever compares.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.diff(*other).cmp(&0)
    }
}

impl Add<usize> for SeqNum {
    type Output = SeqNum;
    #[inline]
    fn add(self, rhs: usize) -> SeqNum {
        SeqNum(self.0.wrapping_add(rhs as u32))
    }
}

impl AddAssign<usize> for SeqNum {
    #[inline]
    fn add_assign(&mut self, rhs: usize) {
        self.0 = self.0.wrapping_add(rhs as u32);
    }
}

impl Sub<usize> for SeqNum {
    type Output = SeqNum;
    /// The sequence number `rhs` bytes before `self`.
    #[inline]
    fn sub(self, rhs: usize) -> SeqNum {
        SeqNum(self.0.wrapping_sub(rhs as u32))
    }
}

impl Sub<SeqNum> for SeqNum {
    type Output = usize;
    /// Distance from `rhs` forward to `self`. Callers must know `self >= rhs`; a negative
    /// distance is clamped to 0 rather than wrapping to a huge length.
    #[inline]
    fn sub(self, rhs: SeqNum) -> usize {
        let d = self.diff(rhs);
        if d < 0 {
            0
        } else {
            d as usize
        }
    }
}

impl fmt::Debug for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_wraps_around_2_pow_32() {
        let a = SeqNum(u32::MAX - 10);
        let b = a + 20;
        assert_eq!(b.0, 9);
        assert!(a < b);
        assert_eq!(b - a, 20);
        assert_eq!(a - b, 0, "negative distance clamps to zero");
        assert!(a.in_range(a, b) && !b.in_range(a, b));
    }
}
