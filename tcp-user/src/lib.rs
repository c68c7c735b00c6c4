//! A kernel-bypass TCP stack: an RFC 9293 engine driven by AF_XDP workers, and a library for
//! running your own services on it.
//!
//! # Writing a service
//!
//! 1. Implement [`service::Service`]: callbacks for the events of connections
//!    ([`service::Event`]), with a [`service::Cx`] to reach connections ([`service::Conn`]:
//!    read, write, shut down, close, abort, facts), open new ones, and arm timers. A service
//!    runs on a worker thread and must not block; back-pressure is explicit (a short write,
//!    then [`service::Event::Writable`]; unread data closes the window).
//! 2. Test it without root, namespaces or the eBPF toolchain on the in-memory network of
//!    [`testing`] ([`testing::TestNet`]: endpoints, scripted peers, a fake clock, loss).
//! 3. Run it on an interface with [`runtime::Runtime`] (feature `datapath`): the runtime
//!    attaches the XDP program, runs one worker per receive queue, handles signals and
//!    drain, publishes counters and detaches on exit.
//!
//! The built-in services of `xdptcp serve` (echo, discard, http) are in [`app`], written
//! against the same API; the `kv` (Redis protocol) and `proxy` examples are larger ones.
//!
//! # Layers
//!
//! Dependencies point one way; nothing below `runtime` performs I/O.
//! - [`wire`]: zero-copy views of Ethernet/IPv4/TCP, checksums, options;
//! - [`tcp`]: the sans-IO connection state machine, buffers, timers, congestion control,
//!   ISNs and SYN cookies;
//! - [`table`]: one worker's connections (generation-checked ids, timers);
//! - [`endpoint`]: one worker's stack, sans-IO: frames in, frames out, time, every rule
//!   for segments that match no connection (listeners, cookies, TIME_WAIT reuse, RSTs,
//!   limits), and the service's callbacks;
//! - [`service`]: the API a service is written against;
//! - `xdp`, `runtime`, `cli` (feature `datapath`): the AF_XDP/aya layer, the worker loop
//!   and the runtime that glue rings to endpoints, and the `xdptcp` command line.

pub mod app;
pub mod capture;
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
pub mod timer_wheel;
pub mod wire;

#[cfg(feature = "datapath")]
pub mod cli;
#[cfg(feature = "datapath")]
pub mod runtime;
#[cfg(feature = "datapath")]
pub mod xdp;
