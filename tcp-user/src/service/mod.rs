//! The service API: what a program running on the stack writes against.
//!
//! A service is run-to-completion code on a worker thread. The worker's
//! [`Endpoint`](crate::endpoint::Endpoint) calls it for every event of every connection right
//! after the engine produced it, with a context ([`Cx`]) through which it reaches its
//! connections ([`Conn`], by [`ConnId`]), opens new ones, arms timers and reads the clock.
//! Nothing is queued between the stack and the service, so there are no copies or wake-ups
//! in between; a service must not block.
//!
//! A minimal echo service:
//!
//! ```
//! use tcp_user::service::{ConnId, Cx, Event, Service, State};
//!
//! struct Echo;
//!
//! impl Service for Echo {
//!     type Data = ();
//!     fn on_event(&mut self, cx: &mut Cx<'_, ()>, id: ConnId, event: Event) {
//!         let Some(mut conn) = cx.conn(id) else { return };
//!         if let Event::Readable | Event::Writable | Event::PeerClosed = event {
//!             // Write what fits, consume only what was written: the rest stays in the
//!             // receive buffer (its window closes) until `Writable`.
//!             let (data, _) = conn.peek();
//!             let data = data.to_vec();
//!             let n = conn.write(&data);
//!             conn.consume(n);
//!         }
//!         // The peer closed and everything it sent was echoed: close our side too.
//!         if conn.state() == State::CloseWait && conn.readable() == 0 {
//!             conn.shutdown();
//!         }
//!     }
//! }
//! ```
//!
//! Back-pressure is explicit: [`Conn::write`] returns how much it took, and
//! [`Event::Writable`] follows once room frees after a short write. Data a service leaves
//! unconsumed stays in the receive buffer and the advertised window closes, so a service
//! stops a fast sender simply by not reading until it can forward.

mod conn;
mod context;

pub use crate::table::ConnId;
pub use crate::tcp::{ConnectError, Event, Instant, State};
pub use conn::{Conn, ConnInfo};
pub use context::{Cx, OpenError};

/// A program served by the stack, one instance per worker thread.
pub trait Service {
    /// The service's state for one connection, kept in the connection table beside it.
    /// A connection the stack accepts starts with `Default::default()`; one the service
    /// opens with [`Cx::connect`] starts with the value given there.
    type Data: Default;

    /// An event of connection `id`. [`Event::Established`] is the accept (or, for a
    /// connection the service opened, the connect). [`Event::Closed`], [`Event::Reset`] and
    /// [`Event::TimedOut`] are the last events of a connection. After `Closed` the data it
    /// received and the service did not read yet stays readable through `cx.conn(id)` (a
    /// proxy still forwarding it) for at most 2*MSL; a service that does not want it calls
    /// [`Conn::close`] (which discards it) or simply lets it expire.
    fn on_event(&mut self, cx: &mut Cx<'_, Self::Data>, id: ConnId, event: Event);

    /// A timer set with [`Conn::set_timer`] or [`Cx::set_timer`] is due.
    fn on_timer(&mut self, cx: &mut Cx<'_, Self::Data>, timer: Timer) {
        let _ = (cx, timer);
    }

    /// Called once per turn of the worker loop (and soon after a [`Waker`] is woken), for
    /// work that comes from outside the network: messages from other workers, connections
    /// to open. Keep it cheap when there is nothing to do.
    fn poll(&mut self, cx: &mut Cx<'_, Self::Data>) {
        let _ = cx;
    }

    /// True when the service has nothing more to do: the worker then stops once its
    /// connections are gone (clients, load generators). Servers keep the default.
    fn finished(&self) -> bool {
        false
    }

    /// During a drain the worker stops once its connections are gone and this is true. A
    /// service that works for other workers too (a shard of a keyspace they query) keeps
    /// its worker running until they no longer need it. Called once per turn while draining.
    fn can_stop(&self) -> bool {
        true
    }

    /// The service's own counters, exported beside the stack's (Prometheus text with a
    /// `queue` label, the exit report). Called a few times a second from the worker: it may
    /// allocate, but keep it short.
    fn metrics(&self, out: &mut Vec<Metric>) {
        let _ = out;
    }
}

/// One counter or gauge of a service (see [`Service::metrics`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metric {
    /// Metric name, without the `xdptcp_` prefix, e.g. `proxy_bytes_total`.
    pub name: &'static str,
    /// One line of help text.
    pub help: &'static str,
    /// True for a gauge (a level), false for a counter (a running total).
    pub gauge: bool,
    /// Labels besides `queue`, e.g. `[("backend", "10.0.0.2:80".into())]`.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: u64,
}

impl Metric {
    /// A counter without labels.
    pub fn counter(name: &'static str, help: &'static str, value: u64) -> Metric {
        Metric {
            name,
            help,
            gauge: false,
            labels: Vec::new(),
            value,
        }
    }

    /// A gauge without labels.
    pub fn gauge(name: &'static str, help: &'static str, value: u64) -> Metric {
        Metric {
            gauge: true,
            ..Metric::counter(name, help, value)
        }
    }

    /// Adds a label.
    pub fn label(mut self, key: &'static str, value: impl Into<String>) -> Metric {
        self.labels.push((key, value.into()));
        self
    }

    /// The labels as Prometheus text (`k="v",...`), values escaped.
    pub fn labels_text(&self) -> String {
        let parts: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| {
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                format!("{k}=\"{v}\"")
            })
            .collect();
        parts.join(",")
    }
}

impl std::fmt::Display for Metric {
    /// `name{labels}=value`, as in the exit report.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.labels.is_empty() {
            write!(f, "{}={}", self.name, self.value)
        } else {
            write!(f, "{}{{{}}}={}", self.name, self.labels_text(), self.value)
        }
    }
}

/// Which timer fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The timer of this connection ([`Conn::set_timer`]).
    Conn(ConnId),
    /// A service timer ([`Cx::set_timer`]) with the service's token.
    Service(u64),
}

/// Wakes another worker's service from any thread: its worker leaves its idle wait and calls
/// [`Service::poll`]. Used with a channel (e.g. crossbeam) between workers.
pub trait Wake: Send + Sync {
    /// Wakes the worker; cheap, never blocks, may coalesce.
    fn wake(&self);
}

/// A shareable [`Wake`] handle.
pub type Waker = std::sync::Arc<dyn Wake>;

/// What a service factory learns about the worker it builds a service for.
#[derive(Clone)]
pub struct WorkerInfo {
    /// This worker's index (its receive queue), `0..workers`.
    pub index: usize,
    /// How many workers run.
    pub workers: usize,
    /// One waker per worker, by index: a service that sends a message to worker `i` wakes
    /// `wakers[i]`.
    pub wakers: Vec<Waker>,
}

impl WorkerInfo {
    /// Information for one worker alone (tests, single-queue runs), with wakers that do
    /// nothing.
    pub fn single() -> WorkerInfo {
        WorkerInfo {
            index: 0,
            workers: 1,
            wakers: vec![std::sync::Arc::new(NoWake)],
        }
    }
}

/// A waker for a worker that never sleeps (tests).
pub struct NoWake;

impl Wake for NoWake {
    fn wake(&self) {}
}
