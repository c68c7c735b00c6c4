//! Recycling of connection buffers, per thread.
//!
//! Every connection owns a receive and a send ring of a few hundred KiB. Allocating them
//! fresh for each connection costs a zeroing pass (or mmap/munmap and page faults) per
//! connection, which dominates short connections (connect-request-response-close). Buffers
//! of a freed connection go back to a small per-thread cache instead, and the next
//! connection on that worker takes them as they are: rings only ever expose bytes they
//! have written since, so stale contents are never read.
//!
//! Per thread because each worker owns its connections; bounded so a burst of connections
//! does not pin its peak memory forever.

use std::cell::RefCell;

/// Buffers kept per thread and size.
const MAX_CACHED: usize = 256;

/// Free buffers grouped by length.
type Cache = Vec<(usize, Vec<Box<[u8]>>)>;

thread_local! {
    static CACHE: RefCell<Cache> = const { RefCell::new(Vec::new()) };
}

/// A buffer of exactly `len` bytes: a recycled one if the cache has it, else a new zeroed one.
pub fn take(len: usize) -> Box<[u8]> {
    let cached = CACHE.with(|c| {
        c.borrow_mut()
            .iter_mut()
            .find(|(l, _)| *l == len)
            .and_then(|(_, list)| list.pop())
    });
    cached.unwrap_or_else(|| vec![0; len].into_boxed_slice())
}

/// Returns a buffer to this thread's cache (or frees it when the cache is full).
pub fn give(buf: Box<[u8]>) {
    if buf.is_empty() {
        return;
    }
    let len = buf.len();
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let slot = match c.iter().position(|(l, _)| *l == len) {
            Some(i) => i,
            None => {
                c.push((len, Vec::new()));
                c.len() - 1
            }
        };
        let list = &mut c[slot].1;
        if list.len() < MAX_CACHED {
            list.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_is_taken_again_for_the_same_size() {
        let mut b = take(1000);
        b[0] = 42;
        let ptr = b.as_ptr();
        give(b);
        let again = take(1000);
        assert_eq!(again.as_ptr(), ptr);
        let other = take(999);
        assert_ne!(other.as_ptr(), ptr);
        assert!(other.iter().all(|&x| x == 0), "new buffers are zeroed");
    }
}
