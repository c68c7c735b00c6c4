//! A hierarchical timing wheel for the connection table: one deadline per key (a table
//! slot), set, moved or cancelled in O(1), expired in order of ticks.
//!
//! Why not a binary heap: a heap cannot move an entry, so a connection whose deadline moves
//! earlier (a delayed ACK before its idle timeout) leaves the old entry behind, and those
//! stale entries must be swept by an O(N) rebuild: at 10^6 connections a 35 ms stall of the
//! worker (measured by `benches/benches/scale.rs`). Here every key is in at most one list,
//! linked through a dense side array, so nothing goes stale.
//!
//! The layout is the classic one (Varghese and Lauck's hashed hierarchical wheels, as in
//! Linux's timer wheel and tokio's): `LEVELS` levels of 64 slots, level `l` slot covering
//! 64^l ticks of one microsecond. A deadline goes to the level of the highest 6-bit group in
//! which it differs from the wheel's current tick; as time reaches a slot of a higher level
//! its entries cascade down. Occupied slots are found through one 64-bit bitmap per level,
//! so advancing over a long idle interval costs per occupied slot, not per tick.
//!
//! Ticks are microseconds (the engine's clock), so a deadline fires exactly when `now`
//! reaches it, as it would from a heap.

use crate::tcp::Instant;

/// Levels of 64 slots: 64^8 us = 8.9 years of range.
const LEVELS: usize = 8;
/// Bits per level.
const BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << BITS;
/// No key (end of a list).
const NONE: u32 = u32::MAX;
/// A key's place: not linked.
const UNLINKED: u16 = u16::MAX;
/// A key's place: in the due list.
const DUE: u16 = u16::MAX - 1;
/// A key's place: in the far list (beyond the top level's current range).
const FAR: u16 = u16::MAX - 2;
/// The ticks of the top level's range, less one (a mask).
const HORIZON: u64 = (1 << (BITS * LEVELS as u32)) - 1;

#[derive(Clone, Copy, Debug)]
struct Node {
    /// The deadline, in ticks (microseconds).
    tick: u64,
    next: u32,
    prev: u32,
    /// `level * SLOTS + slot`, `DUE` or `UNLINKED`.
    place: u16,
}

impl Node {
    const EMPTY: Node = Node {
        tick: 0,
        next: NONE,
        prev: NONE,
        place: UNLINKED,
    };
}

/// The wheel. Keys are small integers (table slot indices); the side array grows to the
/// largest key used.
pub struct TimerWheel {
    /// Every deadline before this tick has been moved to the due list.
    now: u64,
    nodes: Vec<Node>,
    /// Heads of the slot lists, `level * SLOTS + slot`.
    heads: Box<[u32; LEVELS * SLOTS]>,
    /// Occupied slots per level.
    occupied: [u64; LEVELS],
    /// Keys whose deadline has passed, not yet taken by [`TimerWheel::pop_due`].
    due: u32,
    /// Keys whose deadline lies beyond the top level's current range (years away): placed
    /// when `now` reaches `far_at`, the start of the next range.
    far: u32,
    far_at: u64,
    len: usize,
}

impl Default for TimerWheel {
    fn default() -> Self {
        TimerWheel::new()
    }
}

impl TimerWheel {
    /// An empty wheel at tick 0.
    pub fn new() -> TimerWheel {
        TimerWheel {
            now: 0,
            nodes: Vec::new(),
            heads: Box::new([NONE; LEVELS * SLOTS]),
            occupied: [0; LEVELS],
            due: NONE,
            far: NONE,
            far_at: 0,
            len: 0,
        }
    }

    /// Keys with a deadline set (due ones included).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no deadline is set.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of the side array (what grows with the keys).
    pub fn footprint(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
    }

    /// The deadline of `key`, if set and not yet taken.
    pub fn deadline(&self, key: u32) -> Option<Instant> {
        let n = self.nodes.get(key as usize)?;
        (n.place != UNLINKED).then(|| Instant::from_micros(n.tick))
    }

    /// Sets (or moves, or with `None` cancels) the deadline of `key`.
    pub fn set(&mut self, key: u32, deadline: Option<Instant>) {
        self.unlink(key);
        if let Some(at) = deadline {
            let i = key as usize;
            if i >= self.nodes.len() {
                self.nodes.resize(i + 1, Node::EMPTY);
            }
            self.nodes[i].tick = at.micros();
            self.len += 1;
            self.place(key);
        }
    }

    /// The earliest instant at which [`TimerWheel::advance`] may find a deadline due: a
    /// deadline itself, or the start of the slot of a higher level that holds the earliest
    /// ones (never later than any deadline; waking then only cascades).
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.due != NONE {
            return Some(Instant::from_micros(self.now));
        }
        let far = (self.far != NONE).then_some(self.far_at);
        let wheel = self.next_slot().map(|(_, _, at)| at);
        wheel.into_iter().chain(far).min().map(Instant::from_micros)
    }

    /// Moves every key whose deadline is at or before `now` to the due list.
    pub fn advance(&mut self, now: Instant) {
        let target = now.micros();
        loop {
            self.advance_wheel(target);
            if self.far == NONE || self.far_at > target {
                break;
            }
            // The next top-level range: what was beyond it may fit now.
            self.now = self.far_at;
            let mut key = std::mem::replace(&mut self.far, NONE);
            while key != NONE {
                let next = self.nodes[key as usize].next;
                self.place(key);
                key = next;
            }
        }
        // Every deadline up to `target` is due now; `now` never moves back.
        self.now = self.now.max(target + 1);
    }

    /// Moves the wheel's keys due by `target` to the due list (all its slots lie before
    /// `far_at`).
    fn advance_wheel(&mut self, target: u64) {
        while let Some((level, slot, at)) = self.next_slot() {
            if at > target {
                break;
            }
            self.now = at;
            let place = level * SLOTS + slot;
            let mut key = self.heads[place];
            self.heads[place] = NONE;
            self.occupied[level] &= !(1 << slot);
            while key != NONE {
                let node = self.nodes[key as usize];
                if node.tick <= at {
                    self.push_front(key, DUE);
                } else {
                    // A slot of a higher level: down to where the tick belongs now.
                    self.place(key);
                }
                key = node.next;
            }
        }
    }

    /// Takes one key whose deadline has passed (after [`TimerWheel::advance`]).
    pub fn pop_due(&mut self) -> Option<u32> {
        let key = self.due;
        if key == NONE {
            return None;
        }
        self.unlink(key);
        Some(key)
    }

    /// Links `key` (its tick set, not linked) where its tick belongs.
    fn place(&mut self, key: u32) {
        let tick = self.nodes[key as usize].tick;
        if tick < self.now {
            self.push_front(key, DUE);
            return;
        }
        if tick > self.now | HORIZON {
            self.far_at = (self.now | HORIZON) + 1;
            self.push_front(key, FAR);
            return;
        }
        // The highest 6-bit group in which the tick differs from now (slot bits of level 0
        // always count, so a tick equal to now goes to level 0).
        let differing = (tick ^ self.now) | (SLOTS as u64 - 1);
        let level = ((63 - differing.leading_zeros()) / BITS) as usize;
        let slot = ((tick >> (BITS * level as u32)) as usize) & (SLOTS - 1);
        self.occupied[level] |= 1 << slot;
        self.push_front(key, (level * SLOTS + slot) as u16);
    }

    /// The occupied slot that starts first: (level, slot, its first tick). Each level's
    /// first occupied slot from now's on is a candidate; a higher level's can start before
    /// a lower one's once `now` has entered a range whose slot has not cascaded yet.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        let mut best: Option<(usize, usize, u64)> = None;
        for level in 0..LEVELS {
            let occupied = self.occupied[level];
            if occupied == 0 {
                continue;
            }
            let shift = BITS * level as u32;
            let now_slot = ((self.now >> shift) as usize) & (SLOTS - 1);
            // Slots below now's are empty at this level (a tick there would have differed
            // from now in a higher group and gone up), so the next is the first set bit
            // from now's slot on.
            let ahead = occupied >> now_slot;
            debug_assert!(ahead != 0, "an occupied slot behind now at level {level}");
            let slot = now_slot + ahead.trailing_zeros() as usize;
            let level_span = 1u64 << (shift + BITS);
            let start = ((self.now & !(level_span - 1)) + ((slot as u64) << shift)).max(self.now);
            if best.is_none_or(|(_, _, at)| start <= at) {
                best = Some((level, slot, start));
            }
        }
        best
    }

    fn push_front(&mut self, key: u32, place: u16) {
        let head = if place == DUE {
            &mut self.due
        } else if place == FAR {
            &mut self.far
        } else {
            &mut self.heads[place as usize]
        };
        let old = *head;
        *head = key;
        let n = &mut self.nodes[key as usize];
        n.place = place;
        n.prev = NONE;
        n.next = old;
        if old != NONE {
            self.nodes[old as usize].prev = key;
        }
    }

    fn unlink(&mut self, key: u32) {
        let Some(&Node {
            next, prev, place, ..
        }) = self.nodes.get(key as usize)
        else {
            return;
        };
        if place == UNLINKED {
            return;
        }
        if prev != NONE {
            self.nodes[prev as usize].next = next;
        } else if place == DUE {
            self.due = next;
        } else if place == FAR {
            self.far = next;
        } else {
            self.heads[place as usize] = next;
            if next == NONE {
                let (level, slot) = (place as usize / SLOTS, place as usize % SLOTS);
                self.occupied[level] &= !(1 << slot);
            }
        }
        if next != NONE {
            self.nodes[next as usize].prev = prev;
        }
        let n = &mut self.nodes[key as usize];
        n.place = UNLINKED;
        n.next = NONE;
        n.prev = NONE;
        self.len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn at(us: u64) -> Instant {
        Instant::from_micros(us)
    }

    fn drain(w: &mut TimerWheel, now: u64) -> Vec<u32> {
        w.advance(at(now));
        let mut v = Vec::new();
        while let Some(k) = w.pop_due() {
            v.push(k);
        }
        v.sort_unstable();
        v
    }

    #[test]
    fn a_deadline_fires_exactly_when_now_reaches_it_and_not_before() {
        let mut w = TimerWheel::new();
        w.set(3, Some(at(40_000)));
        assert!(drain(&mut w, 39_999).is_empty());
        assert!(w.next_deadline().unwrap() <= at(40_000));
        assert_eq!(drain(&mut w, 40_000), [3]);
        assert!(w.is_empty());
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn moving_and_cancelling_leave_nothing_behind() {
        let mut w = TimerWheel::new();
        w.set(1, Some(at(60_000_000))); // an idle timeout
        for i in 0..1000u64 {
            w.set(1, Some(at(1000 + i))); // a delayed ACK pulls it in...
            w.set(1, Some(at(60_000_000))); // ...and it goes back
        }
        assert_eq!(w.len(), 1);
        w.set(2, Some(at(5)));
        w.set(2, None);
        assert_eq!(w.len(), 1);
        assert!(drain(&mut w, 59_999_999).is_empty());
        assert_eq!(drain(&mut w, 60_000_000), [1]);
    }

    #[test]
    fn a_deadline_in_the_past_is_due_at_once() {
        let mut w = TimerWheel::new();
        w.advance(at(1_000_000));
        w.set(7, Some(at(10)));
        assert_eq!(w.next_deadline(), Some(at(1_000_001)));
        assert_eq!(drain(&mut w, 1_000_001), [7]);
    }

    #[test]
    fn deadlines_beyond_the_horizon_are_not_fired_early() {
        let mut w = TimerWheel::new();
        let far = HORIZON * 3 + 12_345;
        w.set(0, Some(at(far)));
        assert!(drain(&mut w, HORIZON).is_empty());
        assert!(drain(&mut w, far - 1).is_empty());
        assert_eq!(drain(&mut w, far), [0]);
    }

    /// Random sets, moves, cancels and advances against a map of the same deadlines: the
    /// wheel returns exactly the keys whose deadline passed, never one early.
    #[test]
    fn agrees_with_a_sorted_map_under_random_operations() {
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut w = TimerWheel::new();
        let mut model: BTreeMap<u32, u64> = BTreeMap::new();
        let mut now = 0u64;
        for step in 0..200_000 {
            let key = (next() % 512) as u32;
            match next() % 10 {
                0..=5 => {
                    // Spans from microseconds to hours, like delayed ACKs to TIME_WAIT.
                    let span = [
                        100,
                        10_000,
                        1_000_000,
                        100_000_000,
                        10_000_000_000,
                        2 * HORIZON,
                    ][(next() % 6) as usize];
                    let t = now + next() % span;
                    w.set(key, Some(at(t)));
                    model.insert(key, t);
                }
                6 => {
                    w.set(key, None);
                    model.remove(&key);
                }
                _ => {
                    now += [1, 50, 5_000, 2_000_000, HORIZON / 3][(next() % 5) as usize];
                    let mut expect: Vec<u32> = model
                        .iter()
                        .filter(|(_, &t)| t <= now)
                        .map(|(&k, _)| k)
                        .collect();
                    expect.sort_unstable();
                    for k in &expect {
                        model.remove(k);
                    }
                    assert_eq!(drain(&mut w, now), expect, "step {step} at {now}");
                    if let (Some(next_at), Some(earliest)) =
                        (w.next_deadline(), model.values().min())
                    {
                        assert!(next_at.micros() <= *earliest, "step {step}: wakes too late");
                    }
                }
            }
            assert_eq!(w.len(), model.len());
            for (&k, &t) in &model {
                assert_eq!(w.deadline(k), Some(at(t)));
            }
        }
    }
}
