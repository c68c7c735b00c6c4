//! Connection memory, per thread: data buffers taken when a connection has data to hold and
//! given back when it is drained, the bytes of control blocks charged by the table, and the
//! budget both count against.
//!
//! Rings are not part of a connection: a connection holds a buffer only while it has data
//! (see `ReceiveBuffer` and `SendBuffer`), so an idle connection costs no buffer memory at
//! all. Buffers come in sizes that double from [`MIN_BUFFER`] up to the connection's limit;
//! a freed one goes to a per-thread cache and the next connection on that worker takes it as
//! it is (rings only ever expose bytes they have written since, so stale contents are never
//! read). Allocating fresh for each connection would cost a zeroing pass (or mmap/munmap
//! and page faults) per connection.
//!
//! Per thread because each worker owns its connections (endpoints that share a thread, as
//! in the test harness, share its budget). The cache is bounded in bytes so a burst does not
//! pin its peak memory forever.
//!
//! # The budget and its pressure states
//! Like Linux's `tcp_mem`, one budget covers every connection of the worker: the buffers
//! they hold ([`in_use`]) and their control blocks ([`charge`]), against two limits set with
//! [`set_limits`]:
//! - below the soft limit ([`Pressure::Normal`]) buffers grow as data needs;
//! - at or above it ([`Pressure::Soft`], Linux's "memory pressure") windows offer no more
//!   than the memory a connection already holds, send buffers and out-of-order data do not
//!   grow, idle buffers go back at once and nothing is cached;
//! - at or above the hard limit ([`Pressure::Hard`]) no buffer grows and new connections are
//!   refused. Every connection may still take one minimum-size buffer each way (Linux's
//!   `tcp_rmem[0]`/`tcp_wmem[0]` guarantee), so each can always make progress.

use std::cell::RefCell;

/// Smallest buffer handed out.
pub const MIN_BUFFER: usize = 4096;
/// Bytes of free buffers kept per thread for reuse.
const CACHE_MAX_BYTES: usize = 64 << 20;

/// How close the thread's connections are to their memory budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pressure {
    /// Below the soft limit.
    Normal,
    /// At or above the soft limit: stop growing, shrink what is offered.
    Soft,
    /// At or above the hard limit: refuse what needs more memory.
    Hard,
}

/// One thread's buffers and budget.
struct Pool {
    /// Free buffers grouped by length.
    free: Vec<(usize, Vec<Box<[u8]>>)>,
    cached_bytes: usize,
    /// Bytes of the buffers taken and not given back (held by live connections).
    in_use: usize,
    /// Bytes of control blocks (charged by the connection table).
    charged: usize,
    soft: usize,
    hard: usize,
    /// Takes served from the cache since the last [`housekeeping`].
    cache_hits: u64,
    /// Bytes given back to the allocator since the allocator last returned memory to the
    /// system.
    freed_since_trim: usize,
}

impl Pool {
    const fn new() -> Pool {
        Pool {
            free: Vec::new(),
            cached_bytes: 0,
            in_use: 0,
            charged: 0,
            soft: usize::MAX,
            hard: usize::MAX,
            cache_hits: 0,
            freed_since_trim: 0,
        }
    }

    fn used(&self) -> usize {
        self.in_use + self.charged
    }

    fn pressure(&self) -> Pressure {
        let used = self.used();
        if used >= self.hard {
            Pressure::Hard
        } else if used >= self.soft {
            Pressure::Soft
        } else {
            Pressure::Normal
        }
    }

    fn drop_cache(&mut self) {
        self.free.clear();
        self.freed_since_trim += self.cached_bytes;
        self.cached_bytes = 0;
    }
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool::new()) };
}

/// Sets this thread's budget: the soft and hard limits, in bytes of buffers and control
/// blocks together (`usize::MAX`: unlimited, the default).
pub fn set_limits(soft: usize, hard: usize) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        p.soft = soft.min(hard);
        p.hard = hard;
    });
}

/// This thread's (soft, hard) limits.
pub fn limits() -> (usize, usize) {
    POOL.with(|p| {
        let p = p.borrow();
        (p.soft, p.hard)
    })
}

/// The pressure state now.
pub fn pressure() -> Pressure {
    POOL.with(|p| p.borrow().pressure())
}

/// Counts `bytes` of control blocks against the budget (a connection entered the table).
pub fn charge(bytes: usize) {
    POOL.with(|p| p.borrow_mut().charged += bytes);
}

/// Gives back what [`charge`] counted (a connection left the table).
pub fn uncharge(bytes: usize) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        p.charged = p.charged.saturating_sub(bytes);
    });
}

/// Bytes of control blocks charged now.
pub fn charged() -> usize {
    POOL.with(|p| p.borrow().charged)
}

/// May a buffer of `old` bytes be replaced by one of `new` bytes? Not if that passes the
/// hard limit, nor under any pressure when `cautious` (growth that can wait: send buffers,
/// out-of-order data). A connection's first minimum-size buffer is the caller's to allow
/// regardless (the guarantee above).
pub fn may_grow(old: usize, new: usize, cautious: bool) -> bool {
    POOL.with(|p| {
        let p = p.borrow();
        if cautious && p.pressure() != Pressure::Normal {
            return false;
        }
        p.used() - old.min(p.in_use) + new <= p.hard
    })
}

/// A buffer of exactly `len` bytes: a recycled one if the cache has it, else a new zeroed one.
pub fn take(len: usize) -> Box<[u8]> {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        p.in_use += len;
        let cached = p
            .free
            .iter_mut()
            .find(|(l, _)| *l == len)
            .and_then(|(_, list)| list.pop());
        match cached {
            Some(buf) => {
                p.cached_bytes -= len;
                p.cache_hits += 1;
                buf
            }
            None => vec![0; len].into_boxed_slice(),
        }
    })
}

/// Returns a buffer (to the cache, or frees it when the cache is full).
pub fn give(buf: Box<[u8]>) {
    if buf.is_empty() {
        return;
    }
    let len = buf.len();
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        p.in_use = p.in_use.saturating_sub(len);
        if p.pressure() != Pressure::Normal {
            // Under pressure memory goes back to the allocator, not to a cache.
            p.drop_cache();
            p.freed_since_trim += len;
            return;
        }
        if p.cached_bytes + len > CACHE_MAX_BYTES {
            p.freed_since_trim += len;
            return;
        }
        p.cached_bytes += len;
        let slot = match p.free.iter().position(|(l, _)| *l == len) {
            Some(i) => i,
            None => {
                p.free.push((len, Vec::new()));
                p.free.len() - 1
            }
        };
        p.free[slot].1.push(buf);
    });
}

/// Gives memory back to the system after a peak, so that the process's resident memory
/// follows what connections hold rather than the most they ever held. Called about once a
/// second by the worker loop (it is not part of the sans-IO engine): a cache no take was
/// served from since the last call is dropped, and once enough was freed the allocator is
/// asked to return its free pages (glibc `malloc_trim`: buffers of a few KiB come from its
/// heap, which otherwise keeps them, so a burst of 10^5 echoes would leave hundreds of
/// megabytes resident). Returns the bytes freed since the last trim when it trimmed.
pub fn housekeeping() -> Option<usize> {
    let freed = POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.cache_hits == 0 {
            p.drop_cache();
        }
        p.cache_hits = 0;
        if p.freed_since_trim < TRIM_AFTER {
            return None;
        }
        Some(std::mem::take(&mut p.freed_since_trim))
    })?;
    release_free_memory();
    Some(freed)
}

/// Bytes freed after which [`housekeeping`] returns memory to the system.
const TRIM_AFTER: usize = 16 << 20;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // malloc_trim(3) is FFI.
fn release_free_memory() {
    // SAFETY: malloc_trim takes no pointers; it only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

/// Bytes of buffers this thread's connections hold now.
pub fn in_use() -> usize {
    POOL.with(|p| p.borrow().in_use)
}

/// The size a buffer that must hold `need` bytes grows to: double the current `size` (at
/// least [`MIN_BUFFER`], or `floor`), never past `limit`.
pub fn grown_size(size: usize, need: usize, floor: usize, limit: usize) -> usize {
    let doubled = (size * 2).max(MIN_BUFFER).max(floor);
    need.max(doubled).min(limit.max(need))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_is_taken_again_for_the_same_size_and_counted_while_held() {
        let before = in_use();
        let mut b = take(1000);
        assert_eq!(in_use(), before + 1000);
        b[0] = 42;
        let ptr = b.as_ptr();
        give(b);
        assert_eq!(in_use(), before);
        let again = take(1000);
        assert_eq!(again.as_ptr(), ptr);
        let other = take(999);
        assert_ne!(other.as_ptr(), ptr);
        assert!(other.iter().all(|&x| x == 0), "new buffers are zeroed");
        give(again);
        give(other);
        assert_eq!(in_use(), before);
    }

    #[test]
    fn pressure_follows_buffers_and_control_blocks_through_both_limits_and_back() {
        let base = in_use() + charged();
        set_limits(base + 10_000, base + 20_000);
        assert_eq!(pressure(), Pressure::Normal);
        charge(9_000);
        let a = take(1000);
        assert_eq!(pressure(), Pressure::Soft, "10,000 bytes: the soft limit");
        assert!(
            !may_grow(0, 1000, true),
            "cautious growth waits under pressure"
        );
        assert!(
            may_grow(0, 1000, false),
            "other growth goes on below the hard limit"
        );
        let b = take(10_000);
        assert_eq!(pressure(), Pressure::Hard);
        assert!(
            !may_grow(1000, 2000, false),
            "nothing grows at the hard limit"
        );
        assert!(may_grow(10_000, 5_000, false), "shrinking always may");
        give(b);
        assert_eq!(pressure(), Pressure::Soft);
        uncharge(9_000);
        give(a);
        assert_eq!(pressure(), Pressure::Normal);
        set_limits(usize::MAX, usize::MAX);
    }

    #[test]
    fn under_pressure_given_buffers_go_back_to_the_allocator_not_the_cache() {
        let cached = || POOL.with(|p| p.borrow().cached_bytes);
        give(take(5000));
        assert!(
            cached() >= 5000,
            "without pressure a given buffer is cached"
        );
        let a = take(3000);
        set_limits(0, usize::MAX);
        give(a);
        assert_eq!(
            cached(),
            0,
            "under pressure the cache is emptied, not filled"
        );
        set_limits(usize::MAX, usize::MAX);
    }

    #[test]
    fn housekeeping_drops_a_cache_nobody_used_and_trims_once_enough_was_freed() {
        let cached = || POOL.with(|p| p.borrow().cached_bytes);
        const MIB: usize = 1 << 20;
        let held: Vec<_> = (0..24).map(|_| take(MIB)).collect();
        held.into_iter().for_each(give);
        assert_eq!(cached(), 24 * MIB);
        // A take served from the cache keeps it for another round.
        give(take(MIB));
        assert_eq!(housekeeping(), None, "nothing was freed yet");
        assert_eq!(cached(), 24 * MIB, "a cache in use is kept");
        // A round without a hit: dropped, and 24 MiB freed is past the trim threshold.
        assert_eq!(housekeeping(), Some(24 * MIB));
        assert_eq!(cached(), 0);
        assert_eq!(housekeeping(), None, "the count starts again after a trim");
        assert_eq!(in_use(), 0);
    }

    #[test]
    fn sizes_double_from_the_minimum_up_to_the_limit() {
        assert_eq!(grown_size(0, 100, 0, 1 << 20), MIN_BUFFER);
        assert_eq!(grown_size(MIN_BUFFER, 5000, 0, 1 << 20), 2 * MIN_BUFFER);
        assert_eq!(grown_size(8192, 100_000, 0, 1 << 20), 100_000);
        assert_eq!(grown_size(1 << 19, (1 << 19) + 1, 0, 700_000), 700_000);
        assert_eq!(grown_size(0, 10, 9000, 1 << 20), 9000, "the floor");
    }
}
