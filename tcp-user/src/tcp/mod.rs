//! The sans-IO TCP engine (RFC 9293). Nothing here touches a socket, ring or clock: inputs are
//! parsed segments and `now`, outputs are segments to send, timer deadlines and events.

pub mod segment;
pub mod seq;
pub mod time;

pub use segment::{SackBlock, SackBlocks, Segment, TcpFlags, TcpOptions, Timestamps};
pub use seq::SeqNum;
pub use time::Instant;

/// A connection's identity: local and remote IPv4 address and port, all in host order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FourTuple {
    pub local_addr: u32,
    pub local_port: u16,
    pub remote_addr: u32,
    pub remote_port: u16,
}
