//! The kernel side of the datapath: loading and attaching the XDP program (aya) and the
//! AF_XDP sockets with their UMEM and rings (xsk-rs). This is the only place with `unsafe`
//! ring and UMEM access; it knows nothing of TCP.
#![allow(unsafe_code)] // AF_XDP rings and UMEM, netlink and interface queries are FFI: the one place of the datapath with `unsafe`.

pub mod iface;
pub mod neighbour;
pub mod netlink;
pub mod program;
pub mod socket;

pub use program::{XdpMode, XdpProgram};
pub use socket::{BindMode, XskPort};
