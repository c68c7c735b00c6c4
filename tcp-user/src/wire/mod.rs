//! Ethernet, IPv4, IPv6 and TCP wire formats.
//!
//! Owns the bytes of a frame: zero-copy views of each header (`new_checked` checks lengths
//! once, then accessors read in place), the Internet checksum, TCP options, and the two
//! hot-path calls [`parse_frame`] and [`emit_frame`] that convert between a frame and the
//! engine's [`Segment`](crate::tcp::Segment).
//!
//! It must not keep state, allocate, panic on any input, or make protocol decisions beyond
//! rejecting what is malformed on its face: every rejection is a
//! [`DropReason`](crate::stats::DropReason), and what a well-formed segment means (flags,
//! sequence numbers, whether an option is allowed on it) is the engine's business.

pub mod addr;
mod bytes;
pub mod checksum;
pub mod ethernet;
pub mod frame;
pub mod ipv4;
pub mod ipv6;
pub mod tcp;
pub mod tcp_options;

#[cfg(test)]
mod frame_tests;
#[cfg(test)]
mod frame_v6_tests;
#[cfg(test)]
pub(crate) mod test_vectors;

pub use addr::{Addr, Family};
pub use ethernet::{EthernetFrame, MacAddr, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
pub use frame::{emit_frame, frame_len, parse_frame, FrameHeader, ParsedFrame};
pub use ipv4::{Ipv4Packet, Ipv4Repr};
pub use ipv6::{Ipv6Packet, Ipv6Repr};

pub use tcp::{emit_segment, parse_segment, segment_len, TcpPacket};
pub use tcp_options::{emit_options, options_len, parse_options, MAX_OPTIONS_LEN};
