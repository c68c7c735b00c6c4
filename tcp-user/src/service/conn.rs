//! [`Conn`]: what a service may do with one connection.

use std::net::SocketAddr;
use std::time::Duration;

use super::ConnId;
use crate::table::Entry;
use crate::tcp::{ConnectError, Instant, State};

/// A service's handle on one connection, lent by [`Cx::conn`](super::Cx::conn). It offers
/// the application's operations only (read, write, shut down, close, abort, facts about the
/// connection), never the engine's.
pub struct Conn<'a, D> {
    pub(crate) id: ConnId,
    pub(crate) entry: &'a mut Entry<D>,
}

/// Facts about a connection, for services that report or adapt (what `ss -ti` shows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    /// The connection's state.
    pub state: State,
    /// Smoothed round-trip time (RFC 6298), once measured.
    pub rtt: Option<Duration>,
    /// Round-trip time variation (RFC 6298), once measured.
    pub rttvar: Option<Duration>,
    /// Current retransmission timeout.
    pub rto: Duration,
    /// Congestion window, bytes.
    pub cwnd: usize,
    /// Payload bytes sent for the first time.
    pub bytes_sent: u64,
    /// Payload bytes the peer acknowledged.
    pub bytes_acked: u64,
    /// In-order payload bytes received.
    pub bytes_received: u64,
    /// Segments sent again.
    pub retransmissions: u64,
    /// Bytes waiting to be read.
    pub recv_queued: usize,
    /// Bytes written and not yet acknowledged.
    pub send_queued: usize,
}

impl<D> Conn<'_, D> {
    /// This connection's id.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The service's state for this connection.
    pub fn data(&self) -> &D {
        &self.entry.data
    }

    /// The service's state for this connection, mutably.
    pub fn data_mut(&mut self) -> &mut D {
        &mut self.entry.data
    }

    /// The TCP state (RFC 9293 section 3.3.2).
    pub fn state(&self) -> State {
        self.entry.conn.state()
    }

    /// Our address and port.
    pub fn local_addr(&self) -> SocketAddr {
        let t = self.entry.conn.tuple();
        SocketAddr::new(t.local_addr.to_ip(), t.local_port)
    }

    /// The peer's address and port.
    pub fn peer_addr(&self) -> SocketAddr {
        let t = self.entry.conn.tuple();
        SocketAddr::new(t.remote_addr.to_ip(), t.remote_port)
    }

    /// Why a connection the service opened failed, once it did (with [`Event::Reset`] or
    /// [`Event::TimedOut`](super::Event::TimedOut)).
    ///
    /// [`Event::Reset`]: super::Event::Reset
    pub fn connect_error(&self) -> Option<ConnectError> {
        self.entry.conn.connect_error()
    }

    /// The readable bytes in place, in order (two slices when the buffer wraps); nothing is
    /// consumed until [`Conn::consume`].
    pub fn peek(&self) -> (&[u8], &[u8]) {
        self.entry.conn.recv_slices()
    }

    /// The readable bytes in place and the service's state, at once: a parser kept in the
    /// state reads the bytes without copying them out first.
    pub fn peek_with_data(&mut self) -> ((&[u8], &[u8]), &mut D) {
        (self.entry.conn.recv_slices(), &mut self.entry.data)
    }

    /// Bytes ready to read.
    pub fn readable(&self) -> usize {
        self.entry.conn.recv_len()
    }

    /// Marks `n` readable bytes as read; the window opens as the buffer drains.
    pub fn consume(&mut self, n: usize) {
        self.entry.conn.recv_consume(n);
    }

    /// Copies readable bytes into `buf` and consumes them; returns how many.
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        self.entry.conn.recv(buf)
    }

    /// Queues as much of `data` as the send buffer takes; returns how many bytes. A short
    /// count is back-pressure: [`Event::Writable`](super::Event::Writable) follows once
    /// room frees. Zero once the connection is shut down for sending.
    pub fn write(&mut self, data: &[u8]) -> usize {
        self.entry.conn.send(data)
    }

    /// Bytes [`Conn::write`] would take now. Only a short [`Conn::write`] arms
    /// [`Event::Writable`](super::Event::Writable): a service that sees 0 here and skips
    /// the write hears nothing when room frees; write (and take the short count) instead.
    pub fn writable(&self) -> usize {
        self.entry.conn.send_capacity()
    }

    /// Bytes written and not yet acknowledged by the peer.
    pub fn send_queued(&self) -> usize {
        self.entry.conn.send_queued()
    }

    /// Moves readable bytes of this connection into `to`'s send buffer, as many as `to`
    /// takes; returns how many. What does not fit stays here (and this connection's window
    /// closes) until `to` reports `Writable`: the proxy's back-pressure in one call.
    pub fn forward_to<E>(&mut self, to: &mut Conn<'_, E>) -> usize {
        let mut moved = 0;
        loop {
            let (first, _) = self.entry.conn.recv_slices();
            if first.is_empty() {
                break;
            }
            let n = to.entry.conn.send(first);
            let all = n == first.len();
            self.entry.conn.recv_consume(n);
            moved += n;
            if !all {
                break;
            }
        }
        moved
    }

    /// Moves readable bytes into this connection's own send buffer (an echo) without an
    /// intermediate copy; returns how many. What does not fit waits for `Writable`.
    pub fn echo(&mut self) -> usize {
        self.entry.conn.echo_received()
    }

    /// Half-close: a FIN follows the data written so far (RFC 9293 section 3.10.4). The
    /// peer may go on sending, and reads go on working. On a connection still connecting
    /// the FIN waits for the handshake (written data goes first).
    pub fn shutdown(&mut self) {
        self.entry.conn.shutdown();
    }

    /// Graceful close: like [`Conn::shutdown`], and what was received and not read, and
    /// whatever the peer still sends, is discarded: the service hears no more `Readable`,
    /// `Writable` or `PeerClosed`, only the final `Closed` (or `Reset`/`TimedOut`).
    pub fn close(&mut self) {
        self.entry.conn.shutdown();
        self.entry.discard = true;
        let n = self.entry.conn.recv_len();
        self.entry.conn.recv_consume(n);
    }

    /// Abort (RFC 9293 section 3.10.5): a RST goes out and the connection is gone, unread
    /// data with it. The service hears no more events for it, not even one already pending.
    pub fn abort(&mut self) {
        self.entry.conn.abort();
        self.entry.discard = true;
        self.entry.aborted = true;
    }

    /// Arms this connection's timer at `at` (replacing an earlier one):
    /// [`Service::on_timer`](super::Service::on_timer) gets `Timer::Conn(id)` then.
    pub fn set_timer(&mut self, at: Instant) {
        self.entry.service_timer = Some(at);
    }

    /// Disarms this connection's timer.
    pub fn clear_timer(&mut self) {
        self.entry.service_timer = None;
    }

    /// Round-trip, window and byte counters.
    pub fn info(&self) -> ConnInfo {
        let c = &self.entry.conn;
        let s = c.stats();
        ConnInfo {
            state: c.state(),
            rtt: c.srtt(),
            rttvar: c.rttvar(),
            rto: c.rto(),
            cwnd: c.cwnd(),
            bytes_sent: s.bytes_out,
            bytes_acked: s.bytes_acked,
            bytes_received: s.bytes_in,
            retransmissions: s.retransmissions,
            recv_queued: c.recv_len(),
            send_queued: c.send_queued(),
        }
    }
}
