//! The kernel side of the datapath: loading and attaching the XDP program (aya), the
//! AF_XDP sockets with their UMEM and rings (xsk-rs), and the rtnetlink queries about the
//! interface and next hops. Only `socket` (ring and UMEM access) and `iface` (the ethtool
//! ioctl that names the driver) have `unsafe`; nothing here knows
//! TCP.

pub mod iface;
pub mod neighbour;
pub mod netlink;
pub mod program;
pub mod socket;

pub use program::{XdpMode, XdpProgram};
pub use socket::{BindMode, XskPort};
