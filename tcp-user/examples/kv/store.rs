//! The keyspace of one shard: string keys to string values with optional expiry, a memory
//! budget, lazy and incremental active expiry. Sans-IO: time is the `now_ms` argument of every
//! call, never read here.
//!
//! # Time
//! `now_ms` is a millisecond clock that must never go backwards. Relative expiries (`EX`, `PX`,
//! `EXPIRE`, `PEXPIRE`) are stored as `now_ms + ttl`; absolute ones (`EXAT`, `PXAT`) are taken as
//! readings of that same clock, so for them to mean Unix time the service should pass Unix-epoch
//! milliseconds made monotonic (for example the wall clock read once at start plus monotonic
//! elapsed time). A key whose expiry is `at` is alive while `now_ms <= at` (Redis `keyIsExpired`).
//!
//! # Expiry
//! Expired keys are invisible to every read; a read or write that meets one also deletes it
//! (lazy expiry). Keys with a TTL are also listed in a side vector that [`Store::expire_some`]
//! walks a bounded number of entries per call (active expiry), so memory of keys nobody touches
//! again comes back without ever scanning the whole keyspace at once.
//!
//! # Memory accounting
//! [`Store::used_memory`] is `key length + value length + ENTRY_OVERHEAD` per key. The overhead
//! approximates this implementation's real cost on 64-bit targets (hash slot, key and value
//! allocation headers and rounding, a slot in the expiry list), and is charged whether or not the
//! key has a TTL, so that EXPIRE and PERSIST, which Redis never refuses, do not change it. A write
//! that would grow `used_memory` past a non-zero budget is refused with [`OutOfMemory`] and
//! changes nothing; writes that do not grow it (overwriting with a value no longer than before,
//! deletes, expiries) are always allowed. Unlike Redis, which refuses writes only once it *is*
//! over `maxmemory`, the budget is never exceeded by a write.
//!
//! `DBSIZE` ([`Store::len`]) counts expired keys not yet reclaimed, as Redis's does.

use std::collections::{hash_map, HashMap};
use std::sync::Arc;
use std::vec;

mod hash;
#[cfg(test)]
mod tests;

/// Bytes charged per key on top of its key and value bytes.
pub const ENTRY_OVERHEAD: u64 = 96;

/// A write refused because it would grow the store past its memory budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory;

/// What a write does to the key's TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// No expiry (plain SET, MSET).
    Clear,
    /// Keep the current expiry, if any (SET ... KEEPTTL).
    Keep,
    /// Expire at this reading of the `now_ms` clock.
    At(i64),
}

/// A key's expiry state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTtl {
    /// No such key (or it has expired).
    Missing,
    /// The key has no expiry.
    Persistent,
    /// The key expires at this reading of the clock.
    At(i64),
}

/// Why INCRBY-like updates fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrError {
    /// The current value is not a strict decimal `i64`.
    NotInteger,
    /// The result would not fit in an `i64`.
    Overflow,
    /// The write would exceed the memory budget.
    OutOfMemory,
}

const NO_TTL: usize = usize::MAX;

#[derive(Debug)]
struct Entry {
    value: Box<[u8]>,
    /// Expiry time, meaningful when `vidx != NO_TTL`.
    expire_at: i64,
    /// Index in `Store::volatile`, or `NO_TTL`.
    vidx: usize,
}

impl Entry {
    fn expired(&self, now: i64) -> bool {
        self.vidx != NO_TTL && now > self.expire_at
    }
}

/// Keys dropped by an asynchronous flush, freed a bounded number at a time.
#[derive(Debug)]
struct Graveyard {
    entries: hash_map::IntoIter<Arc<[u8]>, Entry>,
    volatile: vec::IntoIter<(Arc<[u8]>, i64)>,
}

/// One shard's keyspace. See the module documentation for time, expiry and memory rules.
#[derive(Debug)]
pub struct Store {
    map: HashMap<Arc<[u8]>, Entry, hash::Seed>,
    /// Keys with a TTL and their expiry, in no order: what active expiry walks.
    volatile: Vec<(Arc<[u8]>, i64)>,
    /// Next `volatile` index active expiry looks at.
    cursor: usize,
    used: u64,
    max_memory: u64,
    graveyard: Vec<Graveyard>,
}

fn cost(key_len: usize, value_len: usize) -> u64 {
    key_len as u64 + value_len as u64 + ENTRY_OVERHEAD
}

/// Whether `used + growth` stays within `max` (0: unlimited); shrinking always fits.
fn fits(used: u64, max: u64, growth: i64) -> bool {
    growth <= 0 || max == 0 || used.saturating_add(growth as u64) <= max
}

/// Clock reading as Redis's signed milliseconds.
fn ms(now_ms: u64) -> i64 {
    i64::try_from(now_ms).unwrap_or(i64::MAX)
}

impl Store {
    /// An empty store with a budget of `max_memory` bytes (0: unlimited, as Redis's `maxmemory 0`).
    pub fn new(max_memory: u64) -> Store {
        Store {
            map: HashMap::default(),
            volatile: Vec::new(),
            cursor: 0,
            used: 0,
            max_memory,
            graveyard: Vec::new(),
        }
    }

    /// Number of keys, including expired ones not reclaimed yet (Redis DBSIZE).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when the store holds no key at all.
    #[allow(dead_code)] // Public API; not every service calls it.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes charged to the keys held (see the module documentation).
    pub fn used_memory(&self) -> u64 {
        self.used
    }

    /// The budget given to [`Store::new`] (0: unlimited).
    #[allow(dead_code)] // Public API; not every service calls it.
    pub fn max_memory(&self) -> u64 {
        self.max_memory
    }

    /// Number of keys with a TTL (the work list of active expiry).
    #[allow(dead_code)] // Public API; not every service calls it.
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    /// Whether growing by `growth` bytes stays within the budget.
    fn fits(&self, growth: i64) -> bool {
        fits(self.used, self.max_memory, growth)
    }

    /// Deletes `key` if it is present but expired, so that the caller sees it as missing.
    fn reap(&mut self, key: &[u8], now: i64) {
        if self.map.get(key).is_some_and(|e| e.expired(now)) {
            self.remove(key);
        }
    }

    /// Removes `key` whatever its state; true if it was present.
    fn remove(&mut self, key: &[u8]) -> bool {
        let Some((k, e)) = self.map.remove_entry(key) else {
            return false;
        };
        if e.vidx != NO_TTL {
            self.unlist(e.vidx);
        }
        self.used -= cost(k.len(), e.value.len());
        true
    }

    /// Takes `volatile[i]` out of the expiry list, fixing the index of the entry moved into it.
    fn unlist(&mut self, i: usize) {
        self.volatile.swap_remove(i);
        if let Some((moved, _)) = self.volatile.get(i) {
            if let Some(e) = self.map.get_mut(moved) {
                e.vidx = i;
            }
        }
    }

    /// Calls `f` with the value of `key` (`None` if missing or expired) and returns its result;
    /// a single hash lookup on the hit path.
    pub fn get_with<R>(
        &mut self,
        key: &[u8],
        now_ms: u64,
        f: impl FnOnce(Option<&[u8]>) -> R,
    ) -> R {
        let now = ms(now_ms);
        match self.map.get(key) {
            None => return f(None),
            Some(e) if !e.expired(now) => return f(Some(&e.value)),
            Some(_) => {}
        }
        self.remove(key);
        f(None)
    }

    /// The value of `key`, `None` if missing or expired.
    #[allow(dead_code)] // Public API; not every service calls it.
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&[u8]> {
        self.reap(key, ms(now_ms));
        self.map.get(key).map(|e| &*e.value)
    }

    /// True if `key` exists and has not expired.
    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.get_with(key, now_ms, |v| v.is_some())
    }

    /// Number of `keys` that exist, counting repeats (Redis EXISTS).
    pub fn exists<'a>(&mut self, keys: impl IntoIterator<Item = &'a [u8]>, now_ms: u64) -> i64 {
        keys.into_iter()
            .filter(|k| self.contains(k, now_ms))
            .count() as i64
    }

    /// Deletes `keys`; returns how many existed (Redis DEL: a repeated key counts once).
    pub fn del<'a>(&mut self, keys: impl IntoIterator<Item = &'a [u8]>, now_ms: u64) -> i64 {
        let now = ms(now_ms);
        let mut n = 0;
        for k in keys {
            self.reap(k, now);
            n += i64::from(self.remove(k));
        }
        n
    }

    /// Sets `key` to `value` with the TTL rule `ttl`, or changes nothing if that would exceed the
    /// budget.
    pub fn set(
        &mut self,
        key: &[u8],
        value: &[u8],
        ttl: Ttl,
        now_ms: u64,
    ) -> Result<(), OutOfMemory> {
        self.write(key, value, ttl, ms(now_ms), true)
    }

    /// Sets every `(key, value)` pair without TTL, all or nothing under the budget (MSET).
    pub fn mset<'a>(
        &mut self,
        pairs: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone,
        now_ms: u64,
    ) -> Result<(), OutOfMemory> {
        let now = ms(now_ms);
        let mut growth = 0i64;
        for (k, v) in pairs.clone() {
            self.reap(k, now);
            // A key repeated in one MSET is charged as new each time: an overestimate.
            growth = growth.saturating_add(self.set_growth(k, v.len()));
        }
        if !self.fits(growth) {
            return Err(OutOfMemory);
        }
        for (k, v) in pairs {
            // Checked as a whole above: a pair that grows may come before one that shrinks.
            let _ = self.write(k, v, Ttl::Clear, now, false);
        }
        Ok(())
    }

    /// Adds `delta` to the integer value of `key` (0 if missing), keeping its TTL; returns the
    /// new value (Redis INCRBY).
    pub fn incr_by(&mut self, key: &[u8], delta: i64, now_ms: u64) -> Result<i64, IncrError> {
        let old = self.get_with(key, now_ms, |v| match v {
            None => Ok(0),
            Some(v) => crate::resp::string2ll(v).ok_or(IncrError::NotInteger),
        })?;
        let new = old.checked_add(delta).ok_or(IncrError::Overflow)?;
        let mut text = [0u8; 20];
        let text = crate::resp::reply::itoa(new, &mut text);
        self.write(key, text, Ttl::Keep, ms(now_ms), true)
            .map_err(|OutOfMemory| IncrError::OutOfMemory)?;
        Ok(new)
    }

    /// The expiry state of `key`.
    pub fn ttl(&mut self, key: &[u8], now_ms: u64) -> KeyTtl {
        self.reap(key, ms(now_ms));
        match self.map.get(key) {
            None => KeyTtl::Missing,
            Some(e) if e.vidx == NO_TTL => KeyTtl::Persistent,
            Some(e) => KeyTtl::At(e.expire_at),
        }
    }

    /// Sets the expiry of an existing key to `at`; false if the key is missing. Never refused by
    /// the budget (a TTL costs nothing extra), like Redis's EXPIRE, which is not `denyoom`.
    pub fn set_expire(&mut self, key: &[u8], at: i64, now_ms: u64) -> bool {
        self.reap(key, ms(now_ms));
        let Some(e) = self.map.get_mut(key) else {
            return false;
        };
        e.expire_at = at;
        if e.vidx != NO_TTL {
            self.volatile[e.vidx].1 = at;
            return true;
        }
        e.vidx = self.volatile.len();
        self.list(key, at);
        true
    }

    /// Appends `key` (present in the map) to the expiry list.
    fn list(&mut self, key: &[u8], at: i64) {
        if let Some((k, _)) = self.map.get_key_value(key) {
            self.volatile.push((Arc::clone(k), at));
        }
    }

    /// Removes the expiry of `key`; true if it had one (Redis PERSIST).
    pub fn persist(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.reap(key, ms(now_ms));
        let Some(e) = self.map.get_mut(key) else {
            return false;
        };
        if e.vidx == NO_TTL {
            return false;
        }
        let i = std::mem::replace(&mut e.vidx, NO_TTL);
        self.unlist(i);
        true
    }

    /// Deletes every key now (FLUSHALL / FLUSHDB SYNC).
    pub fn flush(&mut self) {
        self.map.clear();
        self.volatile.clear();
        self.graveyard.clear();
        self.cursor = 0;
        self.used = 0;
    }

    /// Empties the store at once, but frees the old keys a bounded number at a time from
    /// [`Store::expire_some`] (FLUSHALL / FLUSHDB ASYNC); they are no longer charged to the budget.
    pub fn flush_async(&mut self) {
        let map = std::mem::take(&mut self.map);
        let volatile = std::mem::take(&mut self.volatile);
        self.graveyard.push(Graveyard {
            entries: map.into_iter(),
            volatile: volatile.into_iter(),
        });
        self.cursor = 0;
        self.used = 0;
    }

    /// One step of active expiry: frees up to `budget` keys left by [`Store::flush_async`], then
    /// looks at up to the remaining budget of keys with a TTL, deleting the expired ones. Returns
    /// how many keys were freed. Each call costs O(budget), whatever the store's size; calling it
    /// regularly (e.g. every few milliseconds with a budget of a few hundred, more while it keeps
    /// returning a large share of its budget) reclaims all expired keys.
    pub fn expire_some(&mut self, now_ms: u64, budget: usize) -> usize {
        let now = ms(now_ms);
        let mut work = 0;
        let mut freed = 0;
        while work < budget {
            let Some(g) = self.graveyard.last_mut() else {
                break;
            };
            if g.volatile.next().is_some() {
                work += 1;
            } else if g.entries.next().is_some() {
                work += 1;
                freed += 1;
            } else {
                self.graveyard.pop();
            }
        }
        let mut looked = 0;
        let total = self.volatile.len();
        while work < budget && looked < total && !self.volatile.is_empty() {
            if self.cursor >= self.volatile.len() {
                self.cursor = 0;
            }
            work += 1;
            looked += 1;
            let (ref key, at) = self.volatile[self.cursor];
            if now > at {
                let key = Arc::clone(key);
                self.remove(&key);
                freed += 1;
                // The last entry moved into `cursor`: look at it next.
            } else {
                self.cursor += 1;
            }
        }
        freed
    }

    /// How much `used` grows if `key` (live or missing) is set to a value of `value_len` bytes.
    fn set_growth(&self, key: &[u8], value_len: usize) -> i64 {
        let new = cost(key.len(), value_len) as i64;
        match self.map.get(key) {
            None => new,
            Some(e) => new - cost(key.len(), e.value.len()) as i64,
        }
    }

    /// Writes `key` = `value` with `ttl` (an expired `key` counts as missing), refused if `budget`
    /// and it would exceed the memory budget. One hash lookup to overwrite a live key, two to
    /// add one.
    fn write(
        &mut self,
        key: &[u8],
        value: &[u8],
        ttl: Ttl,
        now: i64,
        budget: bool,
    ) -> Result<(), OutOfMemory> {
        let (used, max) = (self.used, self.max_memory);
        match self.map.get_mut(key) {
            Some(e) if !e.expired(now) => {
                let growth = value.len() as i64 - e.value.len() as i64;
                if budget && !fits(used, max, growth) {
                    return Err(OutOfMemory);
                }
                self.used = (used as i64 + growth) as u64;
                if e.value.len() == value.len() {
                    e.value.copy_from_slice(value);
                } else {
                    e.value = value.into();
                }
                let old = e.vidx;
                match ttl {
                    Ttl::Keep => {}
                    Ttl::Clear if old == NO_TTL => {}
                    Ttl::Clear => {
                        e.vidx = NO_TTL;
                        self.unlist(old);
                    }
                    Ttl::At(at) if old != NO_TTL => {
                        e.expire_at = at;
                        self.volatile[old].1 = at;
                    }
                    Ttl::At(at) => {
                        e.expire_at = at;
                        e.vidx = self.volatile.len();
                        self.list(key, at);
                    }
                }
                return Ok(());
            }
            Some(_) => {
                self.remove(key);
            }
            None => {}
        }
        let growth = cost(key.len(), value.len());
        if budget && !fits(self.used, max, growth as i64) {
            return Err(OutOfMemory);
        }
        self.used += growth;
        let k: Arc<[u8]> = key.into();
        let (expire_at, vidx) = match ttl {
            Ttl::At(at) => {
                self.volatile.push((Arc::clone(&k), at));
                (at, self.volatile.len() - 1)
            }
            Ttl::Clear | Ttl::Keep => (0, NO_TTL),
        };
        let value = value.into();
        self.map.insert(
            k,
            Entry {
                value,
                expire_at,
                vidx,
            },
        );
        Ok(())
    }
}
