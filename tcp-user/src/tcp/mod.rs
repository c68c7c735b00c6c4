//! The sans-IO TCP engine (RFC 9293). Nothing here touches a socket, ring or clock: inputs are
//! parsed segments and `now`, outputs are segments to send, timer deadlines and events.
//!
//! - [`Connection`] (in `connection/`): one TCB, driven by `handle_segment`, `poll_transmit`,
//!   `poll_timeout`/`handle_timeout`, `poll_event` and the application calls;
//! - [`handle_unmatched`]: segments for no connection (RST or accept);
//! - [`IsnGenerator`]: RFC 6528 initial sequence numbers;
//! - [`SynCookies`]: stateless SYN-ACKs under a SYN flood (RFC 4987, Linux style);
//! - buffers (`send_buffer`, `recv_buffer`, `reassembly`), `rtt` (RFC 6298),
//!   `scoreboard` (the sender's SACK state, RFC 6675), `congestion` (RFC 5681/6582) and
//!   `cubic` (RFC 9438), each allocation-free on the packet path.

pub mod buffer_pool;
pub mod config;
pub mod congestion;
pub mod conn_stats;
pub mod connection;
pub mod cookie;
pub mod cubic;
pub mod info;
pub mod isn;
pub mod reassembly;
pub mod recv_buffer;
pub mod rtt;
pub mod scoreboard;
pub mod segment;
pub mod send_buffer;
pub mod seq;
pub mod state;
pub mod time;
pub mod unmatched;

pub use config::{Config, CongestionKind};
pub use conn_stats::ConnStats;
pub use connection::Connection;
pub use cookie::SynCookies;
pub use info::{ConnFilter, ConnInfo, TimerKind};
pub use isn::IsnGenerator;
pub use segment::{SackBlock, SackBlocks, Segment, TcpFlags, TcpOptions, Timestamps};
pub use seq::SeqNum;
pub use state::{ConnectError, Event, State};
pub use time::Instant;
pub use unmatched::{handle_unmatched, Unmatched};

pub use crate::wire::{Addr, Family};

/// A connection's identity: local and remote address and port. Both addresses are of one
/// family (an IPv4 connection has two IPv4 addresses; see [`Addr`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FourTuple {
    /// Our address.
    pub local_addr: Addr,
    /// Our port.
    pub local_port: u16,
    /// The peer's address.
    pub remote_addr: Addr,
    /// The peer's port.
    pub remote_port: u16,
}

impl FourTuple {
    /// The connection's address family (that of its local address).
    #[inline]
    pub fn family(&self) -> Family {
        self.local_addr.family()
    }
}
