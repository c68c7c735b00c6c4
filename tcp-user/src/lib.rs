//! A kernel-bypass TCP stack: a sans-IO RFC 9293 engine driven by AF_XDP workers.
//!
//! Layers, with dependencies pointing one way (`wire` ← `tcp` ← `table` ← `worker` → `xdp`):
//! - [`wire`]: zero-copy views of Ethernet/IPv4/TCP, checksums, options;
//! - [`tcp`]: the sans-IO connection state machine, buffers, timers, congestion control;
//! - [`table`]: one worker's shard of connections and their timers;
//! - [`app`]: the run-to-completion application API and the built-in apps;
//! - `xdp`, `worker`, `daemon` (feature `datapath`): aya loading, AF_XDP sockets and rings,
//!   the pinned worker loop, and the `xdptcp` command line.

pub mod app;
pub mod endpoint;
#[doc(hidden)]
pub mod fuzzing;
pub mod metrics;
pub mod rss;
pub mod service;
pub mod shard;
pub mod stats;
pub mod table;
pub mod tcp;
pub mod testing;
pub mod wire;

#[cfg(feature = "datapath")]
pub mod cli;
#[cfg(feature = "datapath")]
pub mod runtime;
#[cfg(feature = "datapath")]
pub mod xdp;
