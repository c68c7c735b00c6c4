//! Readiness for a service manager (`Type=notify`): `READY=1` once the program is attached
//! and the workers run, `STOPPING=1` when the drain starts. Both are datagrams to
//! `$NOTIFY_SOCKET` (sd_notify(3)), sent by the `sd-notify` crate (std only, no libsystemd);
//! without the variable nothing is sent.

use sd_notify::NotifyState;

/// `READY=1` with a one-line `STATUS=`.
pub fn notify_ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// `STOPPING=1`: systemd then waits for the exit (up to `TimeoutStopSec=`).
pub fn notify_stopping(status: &str) {
    send(&[NotifyState::Stopping, NotifyState::Status(status)]);
}

fn send(states: &[NotifyState<'_>]) {
    // The variable stays set: STOPPING=1 goes to the same socket later.
    if let Err(e) = sd_notify::notify(false, states) {
        let socket = std::env::var("NOTIFY_SOCKET").unwrap_or_default();
        tracing::warn!("cannot notify the service manager at {socket}: {e}");
    }
}
