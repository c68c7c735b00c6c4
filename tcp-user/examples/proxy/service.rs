//! The proxy as a [`Service`]: every accepted client connection gets a backend connection
//! (round robin over the backends, an active open through the same interface), and bytes
//! are moved between the two legs in place.
//!
//! - **Back-pressure.** A leg's bytes are moved into the other leg's send buffer only as far
//!   as it has room ([`Conn::forward_to`]); the rest stays in the first leg's receive buffer,
//!   whose window closes. When the other leg reports `Writable`, moving resumes. A slow
//!   reader on one side therefore stops the sender on the other, and memory stays at the
//!   two legs' fixed buffers whatever the peers do.
//! - **Half-close.** A FIN on one leg becomes a FIN on the other once everything before it
//!   was moved (RFC 9293 section 3.6: each direction closes on its own).
//! - **Reset.** A RST, or a connection that timed out, on one leg aborts the other.
//! - **Dead backends.** A backend that refuses (RST) resets the client at once; one that
//!   does not answer within the connect timeout is abandoned and the client reset. A backend
//!   that failed is skipped for `down_for` while another is up.

use std::net::SocketAddr;
use std::time::Duration;

use tcp_user::service::{Conn, ConnId, Cx, Event, Instant, Metric, Service, State, Timer};

/// Which side of the proxy a connection is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Side {
    /// Accepted from a client.
    #[default]
    Client,
    /// Opened to a backend.
    Backend,
}

/// The proxy's state for one leg.
#[derive(Clone, Copy, Debug, Default)]
pub struct Leg {
    /// Which side this leg is.
    pub side: Side,
    /// The other leg, once there is one.
    pub other: Option<ConnId>,
    /// The backend this pair goes to.
    pub backend: usize,
    /// The peer of this leg sent FIN.
    pub peer_closed: bool,
}

/// Counters of one backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackendStats {
    /// Connections opened to it.
    pub connections: u64,
    /// Connections to it that failed (refused, timed out, no local port).
    pub failures: u64,
    /// Pairs currently open.
    pub active: u64,
    /// Bytes from clients to it.
    pub bytes_up: u64,
    /// Bytes from it to clients.
    pub bytes_down: u64,
}

/// One backend: its address, counters and health.
#[derive(Clone, Debug)]
pub struct Backend {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its counters.
    pub stats: BackendStats,
    /// Skipped until then after a failure.
    down_until: Option<Instant>,
}

/// How the proxy behaves.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// Backends, in round-robin order.
    pub backends: Vec<SocketAddr>,
    /// How long a backend may take to accept before the client is reset.
    pub connect_timeout: Duration,
    /// How long a backend that failed is skipped.
    pub down_for: Duration,
    /// Where the round robin starts (workers start at different backends).
    pub first: usize,
}

/// The proxy service.
pub struct Proxy {
    backends: Vec<Backend>,
    next: usize,
    connect_timeout: Duration,
    down_for: Duration,
    /// Clients reset because no backend connection could be opened at all.
    pub refused: u64,
}

impl Proxy {
    /// A proxy to `cfg.backends` (at least one).
    pub fn new(cfg: &ProxyConfig) -> Proxy {
        assert!(!cfg.backends.is_empty(), "the proxy needs a backend");
        Proxy {
            backends: cfg
                .backends
                .iter()
                .map(|&addr| Backend {
                    addr,
                    stats: BackendStats::default(),
                    down_until: None,
                })
                .collect(),
            next: cfg.first % cfg.backends.len(),
            connect_timeout: cfg.connect_timeout,
            down_for: cfg.down_for,
            refused: 0,
        }
    }

    /// The backends and their counters.
    pub fn backends(&self) -> &[Backend] {
        &self.backends
    }

    /// The next backend in round-robin order, skipping those marked down unless all are.
    fn pick(&mut self, now: Instant) -> usize {
        let n = self.backends.len();
        for k in 0..n {
            let i = (self.next + k) % n;
            if self.backends[i].down_until.is_none_or(|t| t <= now) {
                self.next = (i + 1) % n;
                return i;
            }
        }
        let i = self.next;
        self.next = (i + 1) % n;
        i
    }

    /// A client was accepted: open its backend leg.
    fn open_backend(&mut self, cx: &mut Cx<'_, Leg>, client: ConnId) {
        let now = cx.now();
        let b = self.pick(now);
        let leg = Leg {
            side: Side::Backend,
            other: Some(client),
            backend: b,
            peer_closed: false,
        };
        match cx.connect(self.backends[b].addr, leg) {
            Ok(backend) => {
                self.backends[b].stats.connections += 1;
                self.backends[b].stats.active += 1;
                if let Some(mut conn) = cx.conn(backend) {
                    conn.set_timer(now + self.connect_timeout);
                }
                if let Some(mut conn) = cx.conn(client) {
                    let data = conn.data_mut();
                    data.other = Some(backend);
                    data.backend = b;
                }
            }
            Err(_) => {
                self.backends[b].stats.failures += 1;
                self.refused += 1;
                if let Some(mut conn) = cx.conn(client) {
                    conn.abort();
                }
            }
        }
    }

    /// Moves what `from` has read into `to`, and passes a FIN on once all of it moved.
    fn pump(&mut self, cx: &mut Cx<'_, Leg>, from: ConnId) {
        let Some(conn) = cx.conn(from) else { return };
        let leg = *conn.data();
        let Some(to) = leg.other else {
            return; // a client whose backend is not open yet keeps its bytes
        };
        let Some((mut a, mut b)) = cx.pair(from, to) else {
            // The other leg is gone: nothing can be delivered any more.
            if let Some(mut conn) = cx.conn(from) {
                if conn.readable() > 0 || !conn.data().peer_closed {
                    conn.abort();
                    self.backend_done(leg);
                }
            }
            return;
        };
        let moved = a.forward_to(&mut b) as u64;
        let stats = &mut self.backends[leg.backend].stats;
        match leg.side {
            Side::Client => stats.bytes_up += moved,
            Side::Backend => stats.bytes_down += moved,
        }
        if leg.peer_closed && a.readable() == 0 {
            shutdown_once(&mut b);
        }
    }

    /// A leg failed or was reset: abort the other one too. An aborted leg hears no more
    /// events, so a backend leg is accounted for here.
    fn abort_other(&mut self, cx: &mut Cx<'_, Leg>, leg: Leg) {
        if let Some(other) = leg.other {
            if let Some(mut conn) = cx.conn(other) {
                let other_leg = *conn.data();
                conn.abort();
                self.backend_done(other_leg);
            }
        }
    }

    /// A backend leg ended (for the `active` gauge).
    fn backend_done(&mut self, leg: Leg) {
        if leg.side == Side::Backend {
            let s = &mut self.backends[leg.backend].stats;
            s.active = s.active.saturating_sub(1);
        }
    }
}

/// Half-closes a leg unless it already is. A leg still connecting is left alone (a CLOSE
/// in SYN-SENT deletes the connection): its `Established` moves the bytes and passes the
/// FIN on then.
fn shutdown_once(conn: &mut Conn<'_, Leg>) {
    if matches!(conn.state(), State::Established | State::CloseWait) {
        conn.shutdown();
    }
}

impl Service for Proxy {
    type Data = Leg;

    fn on_event(&mut self, cx: &mut Cx<'_, Leg>, id: ConnId, event: Event) {
        let Some(mut conn) = cx.conn(id) else { return };
        if event == Event::PeerClosed {
            conn.data_mut().peer_closed = true;
        }
        let leg = *conn.data();
        let failed_connect = conn.connect_error().is_some();
        match event {
            Event::Established if leg.side == Side::Client => self.open_backend(cx, id),
            Event::Established => {
                conn.clear_timer();
                // Bytes the client sent while the backend was connecting, then the reverse.
                if let Some(client) = leg.other {
                    self.pump(cx, client);
                }
                self.pump(cx, id);
            }
            Event::Readable | Event::PeerClosed => self.pump(cx, id),
            // Room freed here: move more of the other leg's bytes in.
            Event::Writable => {
                if let Some(other) = leg.other {
                    self.pump(cx, other);
                }
            }
            Event::Reset | Event::TimedOut => {
                if failed_connect {
                    let b = &mut self.backends[leg.backend];
                    b.stats.failures += 1;
                    b.down_until = Some(cx.now() + self.down_for);
                }
                self.abort_other(cx, leg);
                self.backend_done(leg);
            }
            Event::Closed => self.backend_done(leg),
        }
    }

    fn on_timer(&mut self, cx: &mut Cx<'_, Leg>, timer: Timer) {
        let Timer::Conn(id) = timer else { return };
        let Some(mut conn) = cx.conn(id) else { return };
        if conn.state() != State::SynSent {
            return;
        }
        // The backend did not answer in time: give up on it and reset the client.
        let leg = *conn.data();
        conn.abort();
        let b = &mut self.backends[leg.backend];
        b.stats.failures += 1;
        b.down_until = Some(cx.now() + self.down_for);
        self.backend_done(leg);
        self.abort_other(cx, leg);
    }

    fn metrics(&self, out: &mut Vec<Metric>) {
        for b in &self.backends {
            let addr = b.addr.to_string();
            let s = b.stats;
            out.push(
                Metric::counter(
                    "proxy_backend_connections_total",
                    "Connections opened to the backend.",
                    s.connections,
                )
                .label("backend", addr.clone()),
            );
            out.push(
                Metric::counter(
                    "proxy_backend_failures_total",
                    "Connections to the backend that failed (refused, timed out).",
                    s.failures,
                )
                .label("backend", addr.clone()),
            );
            out.push(
                Metric::gauge(
                    "proxy_backend_active",
                    "Pairs open to the backend.",
                    s.active,
                )
                .label("backend", addr.clone()),
            );
            out.push(
                Metric::counter(
                    "proxy_bytes_up_total",
                    "Bytes moved from clients to the backend.",
                    s.bytes_up,
                )
                .label("backend", addr.clone()),
            );
            out.push(
                Metric::counter(
                    "proxy_bytes_down_total",
                    "Bytes moved from the backend to clients.",
                    s.bytes_down,
                )
                .label("backend", addr),
            );
        }
        out.push(Metric::counter(
            "proxy_clients_refused_total",
            "Clients reset because no backend connection could be opened.",
            self.refused,
        ));
    }
}

#[cfg(test)]
mod tests;
