//! The application API: run-to-completion callbacks on the worker thread.
//!
//! A worker calls its [`App`] for every event of every connection right after the engine
//! produced it, in the same thread, with the connection borrowed mutably: the app reads from
//! the receive buffer, writes into the send buffer, closes or aborts, and returns. Nothing is
//! queued between the stack and the app, so there are no copies or wakeups in between.
//! Per-connection app state lives in the connection table next to the connection.

pub mod discard;
pub mod echo;
pub mod fetch;
pub mod http;
pub mod loadgen;

use crate::tcp::{Connection, Event, Instant};

/// An application served by the stack.
pub trait App {
    /// State kept per connection (e.g. a partially sent response).
    type ConnState: Default;

    /// Called for each event of a connection. `Event::Established` is the accept.
    /// `Event::Writable` follows a `send` that could not take all it was offered, once room
    /// frees: an app with data waiting must offer it rather than test `send_capacity`.
    fn on_event(
        &mut self,
        now: Instant,
        conn: &mut Connection,
        state: &mut Self::ConnState,
        event: Event,
    );

    /// Client apps: the next connection to open, as (IPv4 address, port) in host order. The
    /// worker calls it every loop until it returns `None`.
    fn poll_open(&mut self, _now: Instant) -> Option<(u32, u16)> {
        None
    }

    /// Client apps: a connection asked for by `poll_open` was started (SYN queued).
    fn on_open(&mut self, _now: Instant, _state: &mut Self::ConnState) {}

    /// Client apps: true when the app has nothing more to do; the worker then exits once its
    /// connections are gone.
    fn finished(&self) -> bool {
        false
    }

    /// Client apps: a connection asked for by `poll_open` could not be started (no local
    /// port or table space left).
    fn on_open_failed(&mut self, _now: Instant) {}
}

/// The built-in applications (`--app`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppKind {
    Echo,
    Discard,
    Http,
}

impl std::str::FromStr for AppKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "echo" => Ok(AppKind::Echo),
            "discard" => Ok(AppKind::Discard),
            "http" => Ok(AppKind::Http),
            _ => Err(format!(
                "unknown app '{s}' (expected echo, discard or http)"
            )),
        }
    }
}
