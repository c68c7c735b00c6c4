//! `fetch`: one client connection that sends a request, optionally closes its sending side,
//! collects everything the server sends until it closes, and reports how it ended. Used by
//! `xdptcp connect --mode fetch` to check the stack as a client against real servers.

use std::net::SocketAddr;

use crate::service::{Conn, ConnId, ConnectError, Cx, Event, Instant, Service, State};
use crate::tcp::Addr;

/// How a fetch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server closed after sending its data (both FINs exchanged).
    Completed,
    /// The SYN was answered with RST (RFC 9293 3.10.7.3; ECONNREFUSED).
    Refused,
    /// No SYN-ACK after the configured retries (ETIMEDOUT).
    ConnectTimedOut,
    /// Reset by the peer after the connection was established.
    Reset,
    /// Retransmissions ran out after the connection was established.
    TimedOut,
    /// The connection could not be started (no port or table space).
    NotStarted,
}

impl Outcome {
    /// Stable name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Refused => "refused",
            Outcome::ConnectTimedOut => "connect_timed_out",
            Outcome::Reset => "reset",
            Outcome::TimedOut => "timed_out",
            Outcome::NotStarted => "not_started",
        }
    }
}

/// The fetch application and its result.
pub struct Fetch {
    target: Option<(Addr, u16)>,
    request: Vec<u8>,
    sent: usize,
    /// Close our side (FIN) once the request is sent, like `nc -N`.
    half_close: bool,
    /// Bytes received from the server.
    pub received: Vec<u8>,
    /// How the fetch ended, once it has.
    pub outcome: Option<Outcome>,
    /// When the connection was started and when it was established.
    pub opened_at: Option<Instant>,
    /// When the handshake completed.
    pub established_at: Option<Instant>,
    /// The state our side ended in before it was freed (TIME_WAIT when we closed first).
    pub last_state: Option<State>,
}

impl Fetch {
    /// A fetch of `addr:port` (either family; a `u32` is an IPv4 address in host order)
    /// sending `request`, half-closing after it if `half_close`.
    pub fn new(addr: impl Into<Addr>, port: u16, request: Vec<u8>, half_close: bool) -> Fetch {
        Fetch {
            target: Some((addr.into(), port)),
            request,
            sent: 0,
            half_close,
            received: Vec::new(),
            outcome: None,
            opened_at: None,
            established_at: None,
            last_state: None,
        }
    }

    fn push_request(&mut self, conn: &mut Conn<'_, ()>) {
        if self.sent < self.request.len() {
            self.sent += conn.write(&self.request[self.sent..]);
        }
        if self.sent == self.request.len() && self.half_close && conn.state() == State::Established
        {
            conn.shutdown();
        }
    }
}

impl Service for Fetch {
    type Data = ();

    fn poll(&mut self, cx: &mut Cx<'_, ()>) {
        let Some((addr, port)) = self.target.take() else {
            return;
        };
        match cx.connect(SocketAddr::new(addr.to_ip(), port), ()) {
            Ok(_) => self.opened_at = Some(cx.now()),
            Err(_) => self.outcome = Some(Outcome::NotStarted),
        }
    }

    fn finished(&self) -> bool {
        self.outcome.is_some()
    }

    fn on_event(&mut self, cx: &mut Cx<'_, ()>, id: ConnId, event: Event) {
        let now = cx.now();
        let Some(mut conn) = cx.conn(id) else { return };
        match event {
            Event::Established => {
                self.established_at = Some(now);
                self.push_request(&mut conn);
            }
            Event::Writable => self.push_request(&mut conn),
            Event::Readable => {
                let (a, b) = conn.peek();
                self.received.extend_from_slice(a);
                self.received.extend_from_slice(b);
                let n = a.len() + b.len();
                conn.consume(n);
            }
            Event::PeerClosed => {
                // The server is done; close our side too once the request is out.
                if self.sent == self.request.len() {
                    conn.shutdown();
                }
            }
            Event::Closed => {
                self.outcome = Some(Outcome::Completed);
                self.last_state = Some(conn.state());
            }
            Event::Reset => {
                self.outcome = Some(match conn.connect_error() {
                    Some(ConnectError::Refused) => Outcome::Refused,
                    _ => Outcome::Reset,
                });
            }
            Event::TimedOut => {
                self.outcome = Some(match conn.connect_error() {
                    Some(ConnectError::TimedOut) => Outcome::ConnectTimedOut,
                    _ => Outcome::TimedOut,
                });
            }
        }
    }
}
