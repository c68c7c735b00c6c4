//! SIGINT and SIGTERM: the first asks the runtime to drain, the second to stop at once.
//!
//! The handler is signal-hook's self-pipe: it writes one byte per signal to a socket pair,
//! and a small thread counts the bytes. Counting (rather than a flag) is what tells a second
//! signal from the first; no code of ours runs in the signal handler.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// Number of SIGINT/SIGTERM received.
static SIGNALLED: AtomicU32 = AtomicU32::new(0);
/// Whether [`install`] succeeded once (it is idempotent).
static INSTALLED: OnceLock<()> = OnceLock::new();

/// How many SIGINT/SIGTERM arrived since [`install`].
pub fn count() -> u32 {
    SIGNALLED.load(Ordering::SeqCst)
}

/// True once SIGINT or SIGTERM arrived.
pub fn signalled() -> bool {
    count() > 0
}

/// Installs the handlers (idempotent): from now on SIGINT and SIGTERM no longer end the
/// process but add to [`count`].
pub fn install() -> std::io::Result<()> {
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    let (mut read, write) = UnixStream::pair()?;
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::low_level::pipe::register(sig, write.try_clone()?)?;
    }
    std::thread::Builder::new()
        .name("xdptcp-signals".into())
        .spawn(move || {
            let mut bytes = [0u8; 16];
            // One byte per signal; EINTR is retried, anything else ends the thread (the
            // write ends live as long as the process, so it does not happen).
            loop {
                match read.read(&mut bytes) {
                    Ok(0) => return,
                    Ok(n) => {
                        SIGNALLED.fetch_add(n as u32, Ordering::SeqCst);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        })?;
    let _ = INSTALLED.set(());
    Ok(())
}
