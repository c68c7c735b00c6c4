//! Waking a sleeping worker from another thread: an eventfd per worker, polled together with
//! its AF_XDP socket.
//!
//! A write to the eventfd is a syscall, so it is made only when the worker is (about to be)
//! asleep: the worker raises `sleeping` and then runs its service's `poll` once more before
//! it blocks, and a waker writes only when it reads `sleeping` after publishing its message.
//! A full fence on each side, between the write of one party and its read of the other's
//! (the worker: raise the flag, fence, poll; the waker: publish, fence, read the flag),
//! makes this hold whatever the message queue's own orderings are (a crossbeam channel, a
//! mutex-protected queue): either the worker's last `poll` sees the message or the waker sees
//! the flag (the Dekker pattern), so no message waits for the worker's idle timeout, and a
//! busy worker costs its wakers nothing.
#![allow(unsafe_code)] // eventfd and poll(2) are FFI.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{fence, AtomicBool, Ordering};

use crate::service::Wake;

/// A worker's wake-up event.
pub struct EventWaker {
    fd: OwnedFd,
    sleeping: AtomicBool,
}

impl EventWaker {
    /// A new, unsignalled event.
    pub fn new() -> io::Result<EventWaker> {
        // Safety: eventfd takes no pointers; a non-negative result is a new descriptor that
        // nothing else owns, so OwnedFd may take it.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // Safety: see above; `fd` is valid and owned by no one else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(EventWaker {
            fd,
            sleeping: AtomicBool::new(false),
        })
    }

    /// The worker is about to sleep (`true`) or awake again (`false`).
    pub(crate) fn set_sleeping(&self, sleeping: bool) {
        self.sleeping.store(sleeping, Ordering::SeqCst);
        // The worker's reads of its queues (the `poll` that follows) stay after this store.
        fence(Ordering::SeqCst);
    }

    /// Clears the event after a wake-up.
    pub(crate) fn clear(&self) {
        let mut value = 0u64;
        // Safety: reads 8 bytes into a local u64 from a descriptor we own; EAGAIN (nothing
        // to clear) is fine.
        unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut value as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Wake for EventWaker {
    fn wake(&self) {
        // The caller's publication of its message stays before this read.
        fence(Ordering::SeqCst);
        if !self.sleeping.load(Ordering::SeqCst) {
            return;
        }
        let one = 1u64;
        // Safety: writes 8 bytes from a local u64 to a descriptor we own; a full counter
        // (EAGAIN) means the worker is already signalled.
        unsafe {
            libc::write(
                self.fd.as_raw_fd(),
                (&one as *const u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
    }
}

/// Blocks until one of `fds` is readable or `timeout_ms` passes (poll(2)).
pub(crate) fn wait_readable(fds: [RawFd; 2], timeout_ms: i32) {
    let mut polls = fds.map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    // Safety: `polls` is a live array of two pollfd structs, and its length is passed.
    unsafe { libc::poll(polls.as_mut_ptr(), polls.len() as libc::nfds_t, timeout_ms) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_sleeping_worker_is_woken_and_an_awake_one_costs_nothing() {
        let w = EventWaker::new().unwrap();
        let other = EventWaker::new().unwrap();
        // Awake: wake() writes nothing, so the wait runs to its timeout.
        w.wake();
        let t = Instant::now();
        wait_readable([w.raw_fd(), other.raw_fd()], 30);
        assert!(t.elapsed() >= Duration::from_millis(25));
        // Asleep: the wait ends at once.
        w.set_sleeping(true);
        w.wake();
        let t = Instant::now();
        wait_readable([w.raw_fd(), other.raw_fd()], 5000);
        assert!(t.elapsed() < Duration::from_millis(1000));
        w.clear();
        w.set_sleeping(false);
    }
}
