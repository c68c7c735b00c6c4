//! Connection data buffers, per thread: taken when a connection has data to hold, given back
//! when it is drained, and counted.
//!
//! Rings are not part of a connection: a connection holds a buffer only while it has data
//! (see `ReceiveBuffer` and `SendBuffer`), so an idle connection costs no buffer memory at
//! all. Buffers come in sizes that double from [`MIN_BUFFER`] up to the connection's limit;
//! a freed one goes to a per-thread cache and the next connection on that worker takes it as
//! it is (rings only ever expose bytes they have written since, so stale contents are never
//! read). Allocating fresh for each connection would cost a zeroing pass (or mmap/munmap
//! and page faults) per connection.
//!
//! Per thread because each worker owns its connections. The cache is bounded in bytes so a
//! burst does not pin its peak memory forever, and the bytes held by live connections are
//! counted ([`in_use`]) so the endpoint can apply a memory budget.

use std::cell::RefCell;

/// Smallest buffer handed out.
pub const MIN_BUFFER: usize = 4096;
/// Bytes of free buffers kept per thread for reuse.
const CACHE_MAX_BYTES: usize = 64 << 20;

/// One thread's buffers.
#[derive(Default)]
struct Pool {
    /// Free buffers grouped by length.
    free: Vec<(usize, Vec<Box<[u8]>>)>,
    cached_bytes: usize,
    /// Bytes of the buffers taken and not given back (held by live connections).
    in_use: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
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
        if p.cached_bytes + len > CACHE_MAX_BYTES {
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
    fn sizes_double_from_the_minimum_up_to_the_limit() {
        assert_eq!(grown_size(0, 100, 0, 1 << 20), MIN_BUFFER);
        assert_eq!(grown_size(MIN_BUFFER, 5000, 0, 1 << 20), 2 * MIN_BUFFER);
        assert_eq!(grown_size(8192, 100_000, 0, 1 << 20), 100_000);
        assert_eq!(grown_size(1 << 19, (1 << 19) + 1, 0, 700_000), 700_000);
        assert_eq!(grown_size(0, 10, 9000, 1 << 20), 9000, "the floor");
    }
}
