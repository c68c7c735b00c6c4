//! SIGINT and SIGTERM: the first asks the runtime to drain, the second to stop at once.
#![allow(unsafe_code)] // sigaction is FFI; the handler only touches an atomic.

use std::sync::atomic::{AtomicU32, Ordering};

/// Number of SIGINT/SIGTERM received.
static SIGNALLED: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALLED.fetch_add(1, Ordering::SeqCst);
}

/// How many SIGINT/SIGTERM arrived since [`install`].
pub fn count() -> u32 {
    SIGNALLED.load(Ordering::SeqCst)
}

/// True once SIGINT or SIGTERM arrived.
pub fn signalled() -> bool {
    count() > 0
}

/// Installs the handlers (idempotent).
pub fn install() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // Safety: the handler only adds to an atomic, which is async-signal-safe; the
        // sigaction struct is zero-initialised and fully set before the call.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}
