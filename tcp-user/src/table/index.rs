//! The table's 4-tuple index, grown without stopping the worker.
//!
//! A hash map that outgrows its capacity rehashes every entry at once: at 917,000
//! connections that was one insert taking about 20 ms, a stall of every connection of the
//! worker. This index grows as Redis's dict does: a full map becomes the *old* one, a map of
//! twice its capacity takes its place, and each later insert moves a few entries across
//! (found through the table's slots, which hold every connection's tuple, walked by a
//! cursor). Lookups and removals look in the new map, then in the old one while it is not
//! empty. By the time the new map could fill, the old one has long been emptied: moving
//! `STEP` slots per insert empties it after `slots / STEP` inserts, and the new map has
//! room for as many inserts as the old one held entries.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::mem::size_of;

use super::ConnId;
use crate::tcp::FourTuple;

/// A fast non-cryptographic hasher for 4-tuples (FxHash's multiply-rotate). The table is
/// bounded, so a peer choosing colliding tuples can only slow its own lookups; the ISN and
/// cookie secrets, not this hash, are what keep blind attackers out.
#[derive(Default, Clone, Copy)]
pub struct TupleHasher(u64);

impl Hasher for TupleHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(*b as u64);
        }
    }
    #[inline]
    fn write_u16(&mut self, n: u16) {
        self.write_u64(n as u64);
    }
    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A hashbrown map from 4-tuple to slot, with [`TupleHasher`].
type TupleMap = HashMap<FourTuple, ConnId, BuildHasherDefault<TupleHasher>>;

/// Slots visited per insert while the old map is emptied.
const STEP: usize = 64;

/// The 4-tuple to slot index of one table.
pub(super) struct TupleIndex {
    current: TupleMap,
    /// The map being emptied into `current`, and the next slot to move.
    old: Option<(TupleMap, usize)>,
}

impl TupleIndex {
    /// An index with room for `n` tuples before it first grows.
    pub(super) fn with_capacity(n: usize) -> TupleIndex {
        TupleIndex {
            current: TupleMap::with_capacity_and_hasher(n, Default::default()),
            old: None,
        }
    }

    /// Tuples indexed.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.current.len() + self.old.as_ref().map_or(0, |(m, _)| m.len())
    }

    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slot of `tuple`.
    #[inline]
    pub(super) fn get(&self, tuple: &FourTuple) -> Option<ConnId> {
        match self.current.get(tuple) {
            Some(id) => Some(*id),
            None => self.old.as_ref()?.0.get(tuple).copied(),
        }
    }

    #[inline]
    pub(super) fn contains_key(&self, tuple: &FourTuple) -> bool {
        self.get(tuple).is_some()
    }

    /// Indexes `tuple` (not indexed yet). `tuple_at(i)` is the tuple of the connection in
    /// slot `i` of the table's `slots`, for moving entries out of the old map.
    pub(super) fn insert(
        &mut self,
        tuple: FourTuple,
        id: ConnId,
        tuple_at: impl Fn(usize) -> Option<FourTuple>,
        slots: usize,
    ) {
        if self.current.len() == self.current.capacity() {
            if self.old.is_some() {
                // Cannot happen with STEP > 0 (see the module docs); if it did, finishing
                // the move at once is still correct.
                self.migrate(&tuple_at, slots, usize::MAX);
            }
            let bigger = TupleMap::with_capacity_and_hasher(
                (self.current.capacity() * 2).max(16),
                Default::default(),
            );
            let full = std::mem::replace(&mut self.current, bigger);
            self.old = (!full.is_empty()).then_some((full, 0));
        }
        self.current.insert(tuple, id);
        if self.old.is_some() {
            self.migrate(&tuple_at, slots, STEP);
        }
    }

    /// Moves the entries of up to `budget` slots from the old map into the current one,
    /// and drops the old map once every slot was visited.
    fn migrate(
        &mut self,
        tuple_at: &impl Fn(usize) -> Option<FourTuple>,
        slots: usize,
        budget: usize,
    ) {
        let Some((old, cursor)) = &mut self.old else {
            return;
        };
        let end = slots.min(cursor.saturating_add(budget));
        while *cursor < end {
            if let Some(t) = tuple_at(*cursor) {
                if let Some(id) = old.remove(&t) {
                    self.current.insert(t, id);
                }
            }
            *cursor += 1;
        }
        if *cursor >= slots || old.is_empty() {
            debug_assert!(old.is_empty(), "every indexed connection has a slot");
            self.old = None;
        }
    }

    /// Forgets `tuple`.
    pub(super) fn remove(&mut self, tuple: &FourTuple) -> Option<ConnId> {
        if let Some(id) = self.current.remove(tuple) {
            return Some(id);
        }
        let (old, _) = self.old.as_mut()?;
        let id = old.remove(tuple);
        if old.is_empty() {
            self.old = None;
        }
        id
    }

    /// Every indexed slot (control plane only).
    pub(super) fn values(&self) -> impl Iterator<Item = ConnId> + '_ {
        let old = self.old.iter().flat_map(|(m, _)| m.values());
        self.current.values().chain(old).copied()
    }

    /// Bytes the maps take (from their capacities): hashbrown keeps the pair and one
    /// control byte per bucket.
    pub(super) fn footprint(&self) -> usize {
        let capacity = self.current.capacity() + self.old.as_ref().map_or(0, |(m, _)| m.capacity());
        capacity * (size_of::<(FourTuple, ConnId)>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Addr;

    fn tuple(i: u32) -> FourTuple {
        FourTuple {
            local_addr: Addr::from(0x0a00_0001u32),
            local_port: 80,
            remote_addr: Addr::from(0x0a01_0000u32 + (i >> 16)),
            remote_port: i as u16,
        }
    }

    fn id(i: u32) -> ConnId {
        ConnId::from_u64(u64::from(i) | 1 << 32)
    }

    /// A model of the table's slots: slot i holds tuple(i) while live.
    struct Model {
        index: TupleIndex,
        live: Vec<bool>,
    }

    impl Model {
        fn insert(&mut self, i: u32) {
            if self.live.len() <= i as usize {
                self.live.resize(i as usize + 1, false);
            }
            self.live[i as usize] = true;
            let live = &self.live;
            let at = |s: usize| {
                live.get(s)
                    .copied()
                    .unwrap_or(false)
                    .then(|| tuple(s as u32))
            };
            self.index.insert(tuple(i), id(i), at, live.len());
        }

        fn remove(&mut self, i: u32) {
            assert_eq!(self.index.remove(&tuple(i)), Some(id(i)));
            self.live[i as usize] = false;
        }

        fn check(&self) {
            let live = self.live.iter().filter(|l| **l).count();
            assert_eq!(self.index.len(), live);
            for (i, l) in self.live.iter().enumerate() {
                let want = l.then(|| id(i as u32));
                assert_eq!(self.index.get(&tuple(i as u32)), want, "slot {i}");
            }
            assert_eq!(self.index.values().count(), live);
        }
    }

    #[test]
    fn growth_moves_entries_a_few_at_a_time_and_loses_none() {
        let mut m = Model {
            index: TupleIndex::with_capacity(16),
            live: Vec::new(),
        };
        let mut migrations = 0;
        for i in 0..5000 {
            m.insert(i);
            if m.index.old.is_some() {
                migrations += 1;
                // While moving, both maps hold part of the entries.
                assert!(m.index.current.len() < m.index.len());
            }
            if i % 7 == 3 {
                m.remove(i / 2);
            }
            if i % 97 == 0 {
                m.check();
            }
        }
        m.check();
        assert!(migrations > 0, "the index never grew incrementally");
        // Every growth was finished by the inserts that followed it.
        assert!(m.index.old.is_none() || m.index.current.len() < m.index.current.capacity());
    }

    #[test]
    fn random_inserts_and_removals_agree_with_a_plain_map() {
        // Slots are reused lowest-free-first here (the table reuses its free list), so
        // tuples come and go in every part of the slot range while the maps are moved.
        let mut m = Model {
            index: TupleIndex::with_capacity(4),
            live: Vec::new(),
        };
        let mut free: Vec<u32> = Vec::new();
        let mut live_slots: Vec<u32> = Vec::new();
        let mut next = 0u32;
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut grew = 0;
        for step in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let live = live_slots.len();
            // Mostly inserts early on, balanced later: the index grows through several sizes.
            let insert = live < 10 || x % 100 < if step < 100_000 { 70 } else { 50 };
            if insert {
                let slot = free.pop().unwrap_or_else(|| {
                    next += 1;
                    next - 1
                });
                let was_moving = m.index.old.is_some();
                m.insert(slot);
                live_slots.push(slot);
                grew += usize::from(!was_moving && m.index.old.is_some());
            } else {
                let victim = live_slots.swap_remove((x >> 8) as usize % live);
                m.remove(victim);
                free.push(victim);
            }
            if step % 20_000 == 0 {
                m.check();
            }
        }
        m.check();
        assert!(grew >= 4, "the index grew incrementally only {grew} times");
    }

    #[test]
    fn removals_empty_the_old_map_too() {
        let mut m = Model {
            index: TupleIndex::with_capacity(0),
            live: Vec::new(),
        };
        for i in 0..29 {
            m.insert(i);
        }
        for i in 0..29 {
            if m.live[i as usize] {
                m.remove(i);
            }
        }
        m.check();
        assert!(m.index.is_empty());
        assert!(m.index.old.is_none());
    }
}
