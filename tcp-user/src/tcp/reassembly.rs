//! Out-of-order bookkeeping for the receive side: which ranges beyond RCV.NXT have
//! arrived, and the SACK blocks that report them (RFC 2018). The sender's SACK scoreboard
//! (`scoreboard.rs`) keeps its ranges in the same structure.
//!
//! Most connections never see a hole, so the ranges (400 bytes) are not part of the
//! connection: they are taken from a per-thread pool when the first out-of-order range
//! arrives and given back when the last one is gone. That is one pop and one push per loss
//! episode, not per packet, and nothing at all for a connection without loss.

use super::{SackBlock, SackBlocks, SeqNum};

/// Most disjoint out-of-order ranges tracked; a segment that would need one more is dropped
/// (the sender retransmits it) rather than allocating.
pub const MAX_RANGES: usize = 32;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Range {
    left: SeqNum,
    right: SeqNum,
    /// Arrival order of the latest segment that touched this range, for RFC 2018's "most
    /// recent first".
    stamp: u32,
}

/// The ranges themselves: sorted, disjoint, non-adjacent, fixed capacity.
#[derive(Clone, Debug, Default)]
struct Ranges {
    ranges: [Range; MAX_RANGES],
    len: usize,
    clock: u32,
}

impl Ranges {
    /// True when no out-of-order range is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of disjoint ranges held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The `i`th range `[left, right)` in sequence order (`i < len()`).
    pub fn range(&self, i: usize) -> (SeqNum, SeqNum) {
        let r = &self.ranges[i];
        (r.left, r.right)
    }

    /// Records `[left, right)` as received. Returns false (recording nothing) when it would
    /// need a new range and all are in use.
    pub fn insert(&mut self, left: SeqNum, right: SeqNum) -> bool {
        if left >= right {
            return true;
        }
        self.clock = self.clock.wrapping_add(1);
        // First range whose right edge reaches `left` (touching counts: merge adjacent).
        let first = self.ranges[..self.len]
            .iter()
            .position(|r| r.right >= left)
            .unwrap_or(self.len);
        // Ranges [first, last) overlap or touch the new one.
        let mut last = first;
        while last < self.len && self.ranges[last].left <= right {
            last += 1;
        }
        if first == last {
            if self.len == MAX_RANGES {
                return false;
            }
            self.ranges.copy_within(first..self.len, first + 1);
            self.len += 1;
            self.ranges[first] = Range {
                left,
                right,
                stamp: self.clock,
            };
            return true;
        }
        let merged = Range {
            left: left.min(self.ranges[first].left),
            right: right.max(self.ranges[last - 1].right),
            stamp: self.clock,
        };
        self.ranges[first] = merged;
        self.ranges.copy_within(last..self.len, first + 1);
        self.len -= last - first - 1;
        true
    }

    /// If the first range starts at or before `next`, removes it and returns its right edge:
    /// the new RCV.NXT once the hole is filled.
    pub fn pop_contiguous(&mut self, next: SeqNum) -> Option<SeqNum> {
        if self.len == 0 || self.ranges[0].left > next {
            return None;
        }
        let right = self.ranges[0].right;
        self.ranges.copy_within(1..self.len, 0);
        self.len -= 1;
        Some(right)
    }

    /// Forgets everything at or before `next` (ranges made redundant by in-order data).
    pub fn trim_below(&mut self, next: SeqNum) {
        while self.len > 0 && self.ranges[0].right <= next {
            self.ranges.copy_within(1..self.len, 0);
            self.len -= 1;
        }
        if self.len > 0 && self.ranges[0].left < next {
            self.ranges[0].left = next;
        }
    }

    /// Forgets everything at or beyond `seq` (data past the peer's FIN can never be
    /// delivered, and must not be reported in SACK blocks).
    pub fn discard_from(&mut self, seq: SeqNum) {
        while self.len > 0 && self.ranges[self.len - 1].left >= seq {
            self.len -= 1;
        }
        if self.len > 0 && self.ranges[self.len - 1].right > seq {
            self.ranges[self.len - 1].right = seq;
        }
    }

    /// Calls `f` with each part of `[left, right)` that no range covers, in order: where a
    /// new segment may be copied without overwriting data already held (the first copy of
    /// every byte is kept, as Linux and the BSDs do, so a retransmission with other bytes
    /// cannot change what a stream inspector already saw).
    pub fn for_each_gap(&self, left: SeqNum, right: SeqNum, mut f: impl FnMut(SeqNum, SeqNum)) {
        let mut at = left;
        for r in &self.ranges[..self.len] {
            if r.right <= at {
                continue;
            }
            if r.left >= right {
                break;
            }
            if r.left > at {
                f(at, r.left);
            }
            at = at.max(r.right);
            if at >= right {
                return;
            }
        }
        if at < right {
            f(at, right);
        }
    }

    /// Up to `max` SACK blocks, most recently updated first (RFC 2018 section 4: "The first
    /// SACK block ... MUST specify the contiguous block of data containing the segment which
    /// triggered this ACK", then the most recently reported others).
    pub fn sack_blocks(&self, max: usize) -> SackBlocks {
        let mut out = SackBlocks::default();
        let mut taken = 0u32; // bit i set: range i already emitted
        for _ in 0..max.min(self.len) {
            let mut best: Option<usize> = None;
            for (i, r) in self.ranges[..self.len].iter().enumerate() {
                if taken & (1 << i) != 0 {
                    continue;
                }
                // Newest first; wrapping difference keeps working after the clock wraps.
                if best.is_none_or(|b| r.stamp.wrapping_sub(self.ranges[b].stamp) as i32 > 0) {
                    best = Some(i);
                }
            }
            let Some(i) = best else { break };
            taken |= 1 << i;
            out.push(SackBlock {
                left: self.ranges[i].left,
                right: self.ranges[i].right,
            });
        }
        out
    }
}

/// Ranges kept per thread for reuse (bounded; beyond, they are freed).
const POOL_MAX: usize = 4096;

thread_local! {
    // Boxes, not values: a box moves in and out of a connection as one pointer.
    #[allow(clippy::vec_box)]
    static POOL: std::cell::RefCell<Vec<Box<Ranges>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn take_ranges() -> Box<Ranges> {
    POOL.with(|p| p.borrow_mut().pop())
        .map(|mut r| {
            r.len = 0;
            r
        })
        .unwrap_or_default()
}

fn give_ranges(r: Box<Ranges>) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOL_MAX {
            p.push(r);
        }
    });
}

/// Sorted, disjoint, non-adjacent ranges of sequence space received beyond RCV.NXT (or, in
/// the scoreboard, SACKed above SND.UNA). Empty, it is one pointer.
#[derive(Clone, Debug, Default)]
pub struct Reassembly {
    inner: Option<Box<Ranges>>,
}

impl Drop for Reassembly {
    fn drop(&mut self) {
        if let Some(r) = self.inner.take() {
            give_ranges(r);
        }
    }
}

impl Reassembly {
    /// True when no range is held.
    pub fn is_empty(&self) -> bool {
        self.inner.as_ref().is_none_or(|r| r.is_empty())
    }

    /// Number of disjoint ranges held.
    pub fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |r| r.len())
    }

    /// The `i`th range `[left, right)` in sequence order (`i < len()`).
    pub fn range(&self, i: usize) -> (SeqNum, SeqNum) {
        self.inner.as_ref().expect("i < len()").range(i)
    }

    /// Forgets every range.
    pub fn clear(&mut self) {
        if let Some(r) = self.inner.take() {
            give_ranges(r);
        }
    }

    /// Gives the ranges back to the pool once none is left.
    fn release_if_empty(&mut self) {
        if self.inner.as_ref().is_some_and(|r| r.is_empty()) {
            self.clear();
        }
    }

    /// Records `[left, right)` as received. Returns false (recording nothing) when it would
    /// need a new range and all are in use.
    pub fn insert(&mut self, left: SeqNum, right: SeqNum) -> bool {
        if left >= right {
            return true;
        }
        self.inner
            .get_or_insert_with(take_ranges)
            .insert(left, right)
    }

    /// If the first range starts at or before `next`, removes it and returns its right edge:
    /// the new RCV.NXT once the hole is filled.
    pub fn pop_contiguous(&mut self, next: SeqNum) -> Option<SeqNum> {
        let right = self.inner.as_mut()?.pop_contiguous(next);
        self.release_if_empty();
        right
    }

    /// Forgets everything at or before `next` (ranges made redundant by in-order data).
    pub fn trim_below(&mut self, next: SeqNum) {
        if let Some(r) = self.inner.as_mut() {
            r.trim_below(next);
        }
        self.release_if_empty();
    }

    /// Forgets everything at or beyond `seq` (data past the peer's FIN can never be
    /// delivered, and must not be reported in SACK blocks).
    pub fn discard_from(&mut self, seq: SeqNum) {
        if let Some(r) = self.inner.as_mut() {
            r.discard_from(seq);
        }
        self.release_if_empty();
    }

    /// Calls `f` with each part of `[left, right)` that no range covers, in order.
    pub fn for_each_gap(&self, left: SeqNum, right: SeqNum, mut f: impl FnMut(SeqNum, SeqNum)) {
        match &self.inner {
            Some(r) => r.for_each_gap(left, right, f),
            None if left < right => f(left, right),
            None => {}
        }
    }

    /// The right edge of the last range: the end of everything held.
    pub fn last_right(&self) -> Option<SeqNum> {
        let r = self.inner.as_ref()?;
        r.len.checked_sub(1).map(|i| r.ranges[i].right)
    }

    /// Up to `max` SACK blocks, most recently updated first (RFC 2018 section 4).
    pub fn sack_blocks(&self, max: usize) -> SackBlocks {
        self.inner
            .as_ref()
            .map_or_else(SackBlocks::default, |r| r.sack_blocks(max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discard_from_drops_ranges_beyond_and_clips_the_one_across() {
        let mut r = Reassembly::default();
        r.insert(SeqNum(10), SeqNum(20));
        r.insert(SeqNum(30), SeqNum(40));
        r.insert(SeqNum(50), SeqNum(60));
        r.discard_from(SeqNum(35));
        assert_eq!(r.len(), 2);
        assert_eq!(r.range(1), (SeqNum(30), SeqNum(35)));
        r.discard_from(SeqNum(10));
        assert!(r.is_empty());
    }

    #[test]
    fn gaps_are_the_parts_no_range_covers() {
        let mut r = Reassembly::default();
        r.insert(SeqNum(10), SeqNum(20));
        r.insert(SeqNum(30), SeqNum(40));
        let mut gaps = Vec::new();
        r.for_each_gap(SeqNum(5), SeqNum(45), |a, b| gaps.push((a.0, b.0)));
        assert_eq!(gaps, vec![(5, 10), (20, 30), (40, 45)]);
        gaps.clear();
        r.for_each_gap(SeqNum(12), SeqNum(18), |a, b| gaps.push((a.0, b.0)));
        assert!(gaps.is_empty());
    }

    fn s(n: u32) -> SeqNum {
        SeqNum(n)
    }

    #[test]
    fn merges_overlapping_and_adjacent_ranges() {
        let mut r = Reassembly::default();
        assert!(r.insert(s(30), s(40)));
        assert!(r.insert(s(10), s(20)));
        assert!(r.insert(s(50), s(60)));
        assert_eq!(r.len(), 3);
        assert!(r.insert(s(20), s(30)), "adjacent on both sides");
        assert_eq!(r.len(), 2);
        assert!(r.insert(s(35), s(55)));
        assert_eq!(r.len(), 1);
        assert_eq!(r.pop_contiguous(s(5)), None);
        assert_eq!(r.pop_contiguous(s(10)), Some(s(60)));
        assert!(r.is_empty());
    }

    #[test]
    fn rfc2018_sack_blocks_most_recent_first() {
        let mut r = Reassembly::default();
        r.insert(s(10), s(20));
        r.insert(s(30), s(40));
        r.insert(s(50), s(60));
        r.insert(s(20), s(25)); // touches the first range again
        let b = r.sack_blocks(3);
        let lefts: Vec<u32> = b.as_slice().iter().map(|b| b.left.0).collect();
        assert_eq!(lefts, vec![10, 50, 30]);
        assert_eq!(r.sack_blocks(1).len(), 1);
    }

    #[test]
    fn full_table_refuses_new_range_but_still_merges() {
        let mut r = Reassembly::default();
        for i in 0..MAX_RANGES as u32 {
            assert!(r.insert(s(i * 10), s(i * 10 + 5)));
        }
        assert!(!r.insert(s(1000), s(1005)));
        assert!(r.insert(s(5), s(7)), "extends an existing range");
        r.trim_below(s(12));
        assert_eq!(
            r.len(),
            MAX_RANGES - 1,
            "[0, 7) is gone, [10, 15) became [12, 15)"
        );
        assert_eq!(r.pop_contiguous(s(12)), Some(s(15)));
        assert_eq!(r.sack_blocks(4).as_slice()[0].left, s(310), "newest first");
    }
}
