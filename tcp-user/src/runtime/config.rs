//! What a [`Runtime`](super::Runtime) runs: the interface, the ports, the workers and the
//! limits of every worker's endpoint. Plain data: the builder fills it, `xdptcp`'s command
//! line fills it from flags, and [`RuntimeConfig::validate`] checks it before anything is
//! attached.

use std::net::{Ipv4Addr, SocketAddr};
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
    /// Remote addresses whose next hop is resolved at start (the kernel's neighbour table).
    pub remotes: Vec<Ipv4Addr>,
}

/// Everything a runtime needs.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Interface to attach to.
    pub iface: String,
    /// Local IPv4 address (default: the interface's first).
    pub addr: Option<Ipv4Addr>,
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
    /// Connections per worker (any state).
    pub max_connections: usize,
    /// Half-open connections per worker; beyond, SYN cookies (or drops).
    pub max_half_open: usize,
    /// SYN cookies beyond `max_half_open` (RFC 4987).
    pub syn_cookies: bool,
    /// TIME_WAIT connections per worker.
    pub max_time_wait: usize,
    /// Buffer memory per worker in bytes; `None`: enough for `max_connections`.
    pub max_buffer_memory: Option<usize>,
    /// Spin on the rings instead of sleeping when idle.
    pub busy_poll: bool,
    /// How long a drain lets connections finish before resetting them.
    pub drain_timeout: Duration,
    /// Also serve the counters over HTTP here (a kernel socket).
    pub metrics_addr: Option<SocketAddr>,
    /// Write the counters to `/run/xdptcp/IF.prom` (read by `xdptcp stats`).
    pub stats_file: bool,
    /// Handle SIGINT/SIGTERM: the first drains, the second stops.
    pub handle_signals: bool,
    /// Print the per-queue and XDP counters to stderr on exit.
    pub exit_report: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            iface: String::new(),
            addr: None,
            listen_ports: Vec::new(),
            connect: None,
            queues: Queues::All,
            cores: Vec::new(),
            xdp_mode: XdpMode::Auto,
            bind_mode: BindMode::Auto,
            tcp: tcp::Config::default(),
            max_connections: 16384,
            max_half_open: 1024,
            syn_cookies: true,
            max_time_wait: 8192,
            max_buffer_memory: None,
            busy_poll: false,
            drain_timeout: Duration::from_secs(5),
            metrics_addr: None,
            stats_file: true,
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
        if self.max_connections == 0 {
            bail!("the connection limit must be positive");
        }
        if self.tcp.recv_buffer < 4096 || self.tcp.send_buffer < 4096 {
            bail!("buffers must be at least 4096 bytes");
        }
        if self.max_buffer_memory == Some(0) {
            bail!("the buffer memory budget must be positive");
        }
        Ok(())
    }

    /// Connections that may hold buffers at once on one worker, from the budget.
    pub(crate) fn max_buffered_connections(&self) -> usize {
        match self.max_buffer_memory {
            Some(bytes) => bytes / (self.tcp.recv_buffer + self.tcp.send_buffer).max(1),
            None => self.max_connections,
        }
    }
}
