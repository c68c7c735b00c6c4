//! Connection states (RFC 9293 section 3.3.2) and the events a connection reports.

/// The state of a connection (RFC 9293 section 3.3.2). `Listen` lives in the table, not in
/// a [`Connection`](super::Connection); it is here for completeness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// No connection.
    Closed,
    /// Waiting for a SYN (endpoints listen; no connection object is in LISTEN).
    Listen,
    /// Our SYN is out (active open).
    SynSent,
    /// A SYN arrived and our SYN-ACK is out.
    SynReceived,
    /// Open: data flows both ways.
    Established,
    /// We closed; our FIN is not acknowledged yet.
    FinWait1,
    /// We closed and our FIN is acknowledged; the peer may still send.
    FinWait2,
    /// The peer closed; we may still send.
    CloseWait,
    /// Both closed at once; our FIN is not acknowledged yet.
    Closing,
    /// The peer closed first, then we did; waiting for the ACK of our FIN.
    LastAck,
    /// Both FINs exchanged; waiting 2 MSL for old duplicates to die out.
    TimeWait,
}

impl State {
    /// States after the handshake in which both sequence spaces are known (RFC 9293
    /// "synchronized states").
    pub fn is_synchronized(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }

    /// Name as in RFC 9293 (for logs and the CLI).
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }
}

/// Something the application should hear about, drained with
/// [`Connection::poll_event`](super::Connection::poll_event).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// The handshake completed: the connection is accepted.
    Established,
    /// New in-order data can be read.
    Readable,
    /// Send buffer space was freed after a `send` could not take everything.
    Writable,
    /// The peer sent FIN: no more data will arrive (what is buffered can still be read).
    PeerClosed,
    /// Graceful end: both FINs exchanged and all our data acknowledged. The connection may
    /// still linger in TIME_WAIT, and data it received and nobody read yet stays readable
    /// (for at most 2*MSL once CLOSED).
    Closed,
    /// The peer reset the connection.
    Reset,
    /// Retransmissions or the idle timer ran out; we sent RST (except when half-open).
    TimedOut,
}

/// Why an active open failed, from
/// [`Connection::connect_error`](super::Connection::connect_error). The failure itself is
/// reported by an ordinary event: [`Event::Reset`] for `Refused`, [`Event::TimedOut`] for
/// `TimedOut`, so applications that already clean up on those need no new case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectError {
    /// The peer answered our SYN with a RST (RFC 9293 section 3.10.7.3: "connection
    /// reset"; Linux `ECONNREFUSED`).
    Refused,
    /// No SYN-ACK arrived after `Config::connect_retries` retransmissions of the SYN (Linux
    /// `ETIMEDOUT`).
    TimedOut,
}

impl Event {
    const ALL: [Event; 7] = [
        Event::Established,
        Event::Readable,
        Event::Writable,
        Event::PeerClosed,
        Event::Closed,
        Event::Reset,
        Event::TimedOut,
    ];
}

/// Pending events as a bit set: no allocation, duplicates collapse, and they come out in
/// the order of the enum (Established before Readable before PeerClosed before Closed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct EventSet(u8);

impl EventSet {
    pub(crate) fn insert(&mut self, e: Event) {
        self.0 |= 1 << e as u8;
    }
    pub(crate) fn pop(&mut self) -> Option<Event> {
        if self.0 == 0 {
            return None;
        }
        let i = self.0.trailing_zeros() as usize;
        self.0 &= !(1 << i);
        Event::ALL.get(i).copied()
    }
}
