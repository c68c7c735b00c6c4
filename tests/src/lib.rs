//! Test harness for end-to-end tests of the `xdptcp` daemon.
//!
//! Everything runs inside network namespaces this crate creates (never on the host's own
//! interfaces): a [`Testbed`] is two namespaces joined by a veth pair, the daemon runs in the
//! server namespace ([`Daemon`]) and the Linux kernel is the peer in the client namespace.
//! Every resource is a guard removed on `Drop`, names carry the owning pid so that
//! [`cleanup_stale`] can remove what an interrupted run left, and a SIGINT/SIGTERM handler
//! removes the current run's namespaces before the process exits.

pub mod cmd;
pub mod counters;
pub mod daemon;
pub mod iptables;
pub mod netns;
pub mod process;
pub mod raw;
pub mod redis_cases;
pub mod servers;
pub mod sock;
pub mod testbed;
pub mod wait;

pub use cmd::{host, CmdOutput};
pub use counters::{ExitCounters, LiveCounters};
pub use daemon::{daemon_bin, example_bin, Daemon};
pub use iptables::IptablesRule;
pub use netns::{cleanup_stale, Netns, NAME_PREFIX};
pub use process::Process;
pub use raw::{Handshake, RawPeer, TcpSeg};
pub use servers::KernelServer;
pub use sock::{connect_from, SsSocket};
pub use testbed::{Family, RoutedClient, Testbed};
pub use wait::wait_until;
