//! What a [`Runtime`](super::Runtime) runs: the interface, the ports, the workers and the
//! limits of every worker's endpoint. Plain data: the builder fills it, `xdptcp`'s command
//! line fills it from flags, and [`RuntimeConfig::validate`] checks it before anything is
//! attached.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Result};

use crate::tcp;
use crate::xdp::{BindMode, XdpMode};

/// How many receive queues (one worker each) to serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queues {
    /// Every receive queue of the interface.
    All,
    /// Queues `0..n`.
    Count(u32),
}

impl std::str::FromStr for Queues {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "all" {
            return Ok(Queues::All);
        }
        match s.parse::<u32>() {
            Ok(n) if n > 0 => Ok(Queues::Count(n)),
            _ => Err(format!(
                "'{s}' is not a queue count (a positive number or 'all')"
            )),
        }
    }
}

/// Outbound connections ([`Cx::connect`](crate::service::Cx::connect)): which local ports
/// they use and which remotes they go to.
#[derive(Clone, Debug)]
pub struct ConnectConfig {
    /// Local ports, `first..=last`; the XDP program steers their replies to the workers.
    pub local_ports: (u16, u16),
    /// The NIC's RSS key: each worker then picks ports whose replies hash to its own queue.
    /// Needed with more than one queue.
    pub rss_key: Option<Vec<u8>>,
    /// Remote addresses (either family) whose next hop is resolved at start (the kernel's
    /// neighbour table).
    pub remotes: Vec<IpAddr>,
}

/// Everything a runtime needs.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Interface to attach to.
    pub iface: String,
    /// Local addresses to serve, of either family, each on every listening port (empty:
    /// the interface's first IPv4 address, or its first global IPv6 address if it has no
    /// IPv4 one). Outbound connections leave from the first of the remote's family.
    pub addrs: Vec<IpAddr>,
    /// Ports with a listener (steered to the workers, SYNs accepted).
    pub listen_ports: Vec<u16>,
    /// Outbound connections, if the service opens any.
    pub connect: Option<ConnectConfig>,
    /// Receive queues to serve.
    pub queues: Queues,
    /// Cores to pin workers to (queue i on `cores[i % len]`); empty: every online core.
    pub cores: Vec<usize>,
    /// XDP attach mode.
    pub xdp_mode: XdpMode,
    /// AF_XDP bind mode.
    pub bind_mode: BindMode,
    /// Engine parameters of every connection (the MSS is set from the interface's MTU).
    pub tcp: tcp::Config,
    /// Connections per worker (any state); `None`: as many as the memory budget holds.
    pub max_connections: Option<usize>,
    /// Half-open connections per worker; beyond, SYN cookies (or drops).
    pub max_half_open: usize,
    /// SYN cookies beyond `max_half_open` (RFC 4987).
    pub syn_cookies: bool,
    /// TIME_WAIT connections per worker (beyond, the oldest is forgotten); `None`: what
    /// an eighth of the worker's memory budget holds.
    pub max_time_wait: Option<usize>,
    /// Memory for connections, control blocks and data buffers together, in bytes, for
    /// all workers (each gets an equal share); `None`: a quarter of the machine's memory.
    /// Memory pressure starts at three quarters of a worker's share, and at all of it new
    /// connections are refused (see `tcp::buffer_pool`).
    pub max_memory: Option<usize>,
    /// Spin on the rings instead of sleeping when idle.
    pub busy_poll: bool,
    /// How long a drain lets connections finish before resetting them.
    pub drain_timeout: Duration,
    /// Also serve the counters over HTTP here (a kernel socket).
    pub metrics_addr: Option<SocketAddr>,
    /// Write the counters to `/run/xdptcp/IF.prom` (read by `xdptcp stats`).
    pub stats_file: bool,
    /// Answer `xdptcp ss` and `xdptcp capture` on `/run/xdptcp/IF.sock`.
    pub control_socket: bool,
    /// Handle SIGINT/SIGTERM: the first drains, the second stops.
    pub handle_signals: bool,
    /// Print the per-queue and XDP counters to stderr on exit.
    pub exit_report: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            iface: String::new(),
            addrs: Vec::new(),
            listen_ports: Vec::new(),
            connect: None,
            queues: Queues::All,
            cores: Vec::new(),
            xdp_mode: XdpMode::Auto,
            bind_mode: BindMode::Auto,
            tcp: tcp::Config::default(),
            max_connections: None,
            max_half_open: 1024,
            syn_cookies: true,
            max_time_wait: None,
            max_memory: None,
            busy_poll: false,
            drain_timeout: Duration::from_secs(5),
            metrics_addr: None,
            stats_file: true,
            control_socket: true,
            handle_signals: true,
            exit_report: true,
        }
    }
}

impl RuntimeConfig {
    /// Checks what can be checked before touching the kernel; one clear line per mistake.
    pub fn validate(&self) -> Result<()> {
        if self.iface.is_empty() {
            bail!("no interface given (--iface)");
        }
        if self.listen_ports.is_empty() && self.connect.is_none() {
            bail!("nothing to serve: give a port to listen on, or local ports to connect from");
        }
        if self.listen_ports.contains(&0) {
            bail!("port 0 is not a valid TCP port");
        }
        for (i, a) in self.addrs.iter().enumerate() {
            check_local_addr(*a)?;
            if self.addrs[..i].contains(a) {
                bail!("address {a} is given twice (--addr)");
            }
        }
        let mut ports = self.listen_ports.clone();
        ports.sort_unstable();
        if let Some(w) = ports.windows(2).find(|w| w[0] == w[1]) {
            bail!("port {} is given twice", w[0]);
        }
        if let Some(c) = &self.connect {
            let (first, last) = c.local_ports;
            if first == 0 || first > last {
                bail!("local port range {first}-{last} is empty or starts at 0");
            }
            if let Some(p) = self
                .listen_ports
                .iter()
                .find(|p| (first..=last).contains(*p))
            {
                bail!(
                    "port {p} is both a listening port and in the local port range {first}-{last}"
                );
            }
        }
        if self.max_connections == Some(0) {
            bail!("the connection limit must be positive");
        }
        if self.max_half_open == 0 {
            bail!("the half-open limit must be positive (SYN cookies take over beyond it)");
        }
        if self.tcp.msl.is_zero() {
            // TIME_WAIT (2 MSL) is what keeps a closed connection's old duplicates from
            // being taken for a new connection's data (RFC 9293, 3.4.2): zero turns it off
            // (--max-time-wait 0 is the way to keep no TIME_WAIT state, on purpose).
            bail!("the maximum segment lifetime (--msl-ms) must be positive: TIME_WAIT lasts twice it");
        }
        let mut cores = self.cores.clone();
        cores.sort_unstable();
        if let Some(w) = cores.windows(2).find(|w| w[0] == w[1]) {
            // Queue i goes on cores[i % len]: a core listed twice would take two workers
            // while the list reads as one per core, which is never what was meant.
            bail!("core {} is given twice (--cores)", w[0]);
        }
        if self.tcp.recv_buffer < 4096 || self.tcp.send_buffer < 4096 {
            bail!("buffers must be at least 4096 bytes");
        }
        if let Some(m) = self.max_memory {
            if m < MIN_MEMORY {
                bail!(
                    "the memory budget must be at least {} MiB",
                    MIN_MEMORY >> 20
                );
            }
        }
        Ok(())
    }

    /// The limits of each of `workers` workers: the memory budget split evenly, and the
    /// connection and TIME_WAIT bounds given or derived from it.
    pub fn worker_limits(&self, workers: usize) -> WorkerLimits {
        let total = self
            .max_memory
            .unwrap_or_else(|| machine_memory().map_or(DEFAULT_MEMORY, |m| m / 4));
        let memory = (total / workers.max(1)).max(MIN_MEMORY);
        WorkerLimits {
            memory,
            connections: self.max_connections.unwrap_or(usize::MAX),
            time_wait: self
                .max_time_wait
                .unwrap_or(memory / 8 / TIME_WAIT_ENTRY_ESTIMATE),
        }
    }
}

/// A local address must be one a peer can send to: not unspecified, multicast or loopback,
/// and an IPv4 address in its own family (a v4-mapped IPv6 address is not a third family).
fn check_local_addr(a: IpAddr) -> Result<()> {
    if a.is_unspecified() {
        bail!("address {a} is unspecified: give the interface's own address (--addr)");
    }
    if a.is_multicast() || a.is_loopback() {
        bail!("address {a} cannot be served (multicast or loopback)");
    }
    if let IpAddr::V6(v6) = a {
        if let Some(v4) = v6.to_ipv4_mapped() {
            bail!("address {a} is an IPv4-mapped address: give it as {v4}");
        }
    }
    Ok(())
}

/// The smallest memory budget per worker: a few hundred connections with buffers.
pub const MIN_MEMORY: usize = 16 << 20;
/// The budget when the machine's memory cannot be read.
const DEFAULT_MEMORY: usize = 4 << 30;
/// Bytes a TIME_WAIT connection takes, for the default TIME_WAIT bound (a slot of the
/// table: control block, service data and index).
const TIME_WAIT_ENTRY_ESTIMATE: usize = 1024;

/// What each worker may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerLimits {
    /// Memory budget in bytes (control blocks and buffers).
    pub memory: usize,
    /// Connections at once (`usize::MAX`: as many as the memory holds).
    pub connections: usize,
    /// TIME_WAIT connections at once.
    pub time_wait: usize,
}

/// The machine's memory in bytes (`MemTotal` of `/proc/meminfo`).
fn machine_memory() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib << 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_addrs(addrs: &[&str]) -> RuntimeConfig {
        RuntimeConfig {
            iface: "veth0".into(),
            addrs: addrs.iter().map(|a| a.parse().unwrap()).collect(),
            listen_ports: vec![7],
            ..RuntimeConfig::default()
        }
    }

    #[test]
    fn both_families_may_be_served_together() {
        assert!(with_addrs(&["10.0.0.1", "2001:db8::1"]).validate().is_ok());
        assert!(with_addrs(&["fe80::1"]).validate().is_ok());
        assert!(with_addrs(&[]).validate().is_ok());
    }

    #[test]
    fn addresses_that_cannot_be_served_are_refused_with_a_reason() {
        for (addrs, message) in [
            (
                &["10.0.0.1", "10.0.0.1"][..],
                "address 10.0.0.1 is given twice (--addr)",
            ),
            (
                &["::ffff:10.0.0.1"][..],
                "address ::ffff:10.0.0.1 is an IPv4-mapped address: give it as 10.0.0.1",
            ),
            (
                &["::"][..],
                "address :: is unspecified: give the interface's own address (--addr)",
            ),
            (
                &["ff02::1"][..],
                "address ff02::1 cannot be served (multicast or loopback)",
            ),
            (
                &["127.0.0.1"][..],
                "address 127.0.0.1 cannot be served (multicast or loopback)",
            ),
        ] {
            let e = with_addrs(addrs).validate().unwrap_err();
            assert_eq!(e.to_string(), message, "{addrs:?}");
        }
    }
}
