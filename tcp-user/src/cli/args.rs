//! Flags shared by the subcommands: the interface, the queues and cores, and the limits of
//! every worker, turned into a [`RuntimeConfig`].

use clap::Args;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::runtime::{Queues, RuntimeConfig};
use crate::tcp;
use crate::xdp::{BindMode, XdpMode};

/// Options shared by `serve`, `connect` and `reflect`: the interface and how the datapath
/// runs.
#[derive(Args, Debug, Clone)]
pub struct DatapathArgs {
    /// TOML file of flags (`iface = "eth1"`, `port = [7, 80]`, `busy-poll = true`, ...);
    /// flags given on the command line replace the file's value.
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Interface to attach to.
    #[arg(long)]
    pub iface: String,
    /// Local address to serve, IPv4 or IPv6; repeat it for more (`--addr 10.0.0.1 --addr
    /// 2001:db8::1` serves both families on the same ports). Default: the interface's first
    /// IPv4 address, or its first global IPv6 address if it has no IPv4 one.
    #[arg(long, value_name = "ADDR")]
    pub addr: Vec<IpAddr>,
    /// Receive queues to serve: a number (0..N-1) or `all`.
    #[arg(long, default_value = "all")]
    pub queues: Queues,
    /// Cores to pin workers to, e.g. `0,1` or `0-3` (default: queue i on core i mod cores).
    #[arg(long, value_parser = parse_cores)]
    pub cores: Option<CoreList>,
    /// XDP attach mode: auto, driver or skb.
    #[arg(long, default_value = "auto")]
    pub xdp_mode: XdpMode,
    /// AF_XDP bind mode: auto, copy or zerocopy.
    #[arg(long, default_value = "auto")]
    pub bind_mode: BindMode,
    /// Maximum connections per worker (default: as many as --max-memory holds).
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Maximum half-open (SYN_RCVD) connections per worker; beyond it, SYN cookies.
    #[arg(long, default_value_t = 1024)]
    pub max_half_open: usize,
    /// Drop SYNs beyond --max-half-open instead of answering with SYN cookies.
    #[arg(long)]
    pub no_syn_cookies: bool,
    /// Maximum TIME_WAIT connections per worker; beyond, the oldest is forgotten
    /// (default: what an eighth of the worker's memory holds; 0: keep none, a closed
    /// connection is forgotten at once, like Linux's tcp_max_tw_buckets=0).
    #[arg(long)]
    pub max_time_wait: Option<usize>,
    /// Largest receive window and send buffer per connection, in bytes (the receive
    /// window starts at 64 KiB and is auto-tuned up to this; memory is taken only for
    /// data held). Default: 4 MiB receive, 256 KiB send.
    #[arg(long)]
    pub buffer_size: Option<usize>,
    /// Memory for connections (control blocks and buffers) of all workers together, e.g.
    /// `2G`, `512M` (default: a quarter of the machine's memory). Pressure (smaller
    /// windows) starts at three quarters of it; at all of it new connections are refused.
    #[arg(long, value_parser = parse_size)]
    pub max_memory: Option<usize>,
    /// Maximum segment lifetime in milliseconds (TIME_WAIT lasts twice this; must be
    /// positive).
    #[arg(long, default_value_t = 30_000)]
    pub msl_ms: u64,
    /// Close connections idle for this many seconds (0: never).
    #[arg(long, default_value_t = 0)]
    pub idle_timeout_s: u64,
    /// Spin on the rings when idle instead of sleeping (lowest latency, 100% CPU per worker).
    #[arg(long)]
    pub busy_poll: bool,
    /// On SIGINT/SIGTERM, how long to let connections finish before resetting them (ms;
    /// 0: reset them at once).
    #[arg(long, default_value_t = 5000)]
    pub drain_ms: u64,
    /// Congestion control of new connections: reno (NewReno + SACK recovery) or cubic
    /// (RFC 9438).
    #[arg(long, default_value = "reno", value_parser = parse_congestion)]
    pub congestion: tcp::CongestionKind,
    /// Also serve the counters as Prometheus text over HTTP on this address (a kernel
    /// socket of the host, e.g. 127.0.0.1:9464).
    #[arg(long)]
    pub metrics_addr: Option<SocketAddr>,
}

impl DatapathArgs {
    /// The runtime configuration these flags describe, listening on `listen_ports`.
    pub fn runtime_config(&self, listen_ports: &[u16]) -> RuntimeConfig {
        let defaults = tcp::Config::default();
        let tcp = tcp::Config {
            recv_buffer: self.buffer_size.unwrap_or(defaults.recv_buffer),
            send_buffer: self.buffer_size.unwrap_or(defaults.send_buffer),
            msl: Duration::from_millis(self.msl_ms),
            idle_timeout: (self.idle_timeout_s > 0)
                .then(|| Duration::from_secs(self.idle_timeout_s)),
            congestion: self.congestion,
            ..defaults
        };
        RuntimeConfig {
            iface: self.iface.clone(),
            addrs: self.addr.clone(),
            listen_ports: listen_ports.to_vec(),
            connect: None,
            queues: self.queues,
            cores: self.cores.clone().map(|c| c.0).unwrap_or_default(),
            xdp_mode: self.xdp_mode,
            bind_mode: self.bind_mode,
            tcp,
            max_connections: self.max_connections,
            max_half_open: self.max_half_open,
            syn_cookies: !self.no_syn_cookies,
            max_time_wait: self.max_time_wait,
            max_memory: self.max_memory,
            busy_poll: self.busy_poll,
            drain_timeout: Duration::from_millis(self.drain_ms),
            metrics_addr: self.metrics_addr,
            stats_file: true,
            control_socket: true,
            handle_signals: true,
            exit_report: true,
        }
    }
}

/// `--cores`: core ids.
#[derive(Clone, Debug)]
pub struct CoreList(pub Vec<usize>);

/// A TCP port, 1-65535.
pub fn parse_port(s: &str) -> Result<u16, String> {
    match s.trim().parse::<u16>() {
        Ok(0) => Err("port 0 is not a valid TCP port".into()),
        Ok(p) => Ok(p),
        Err(_) => Err(format!("'{s}' is not a TCP port (1-65535)")),
    }
}

fn parse_congestion(s: &str) -> Result<tcp::CongestionKind, String> {
    match s {
        "reno" => Ok(tcp::CongestionKind::Reno),
        "cubic" => Ok(tcp::CongestionKind::Cubic),
        _ => Err(format!("'{s}' is not a congestion control (reno or cubic)")),
    }
}

/// A size in bytes: a number with an optional `K`, `M` or `G` (powers of 1024).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (num, shift) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 10),
        Some((i, 'm' | 'M')) => (&t[..i], 20),
        Some((i, 'g' | 'G')) => (&t[..i], 30),
        _ => (t, 0),
    };
    let bad = || format!("'{s}' is not a size (a number of bytes, or with K, M or G)");
    let n: usize = num.trim().parse().map_err(|_| bad())?;
    n.checked_mul(1 << shift).ok_or_else(bad)
}

/// `0,1` or `0-3` or a mix.
pub fn parse_cores(s: &str) -> Result<CoreList, String> {
    let mut cores = Vec::new();
    for part in s.split(',') {
        let bad = || format!("'{part}' is not a core or core range");
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if a > b {
                    return Err(bad());
                }
                cores.extend(a..=b);
            }
            None => cores.push(part.parse().map_err(|_| bad())?),
        }
    }
    Ok(CoreList(cores))
}

/// `FIRST-LAST`, a non-empty range of ports the XDP program can steer.
pub fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let bad = || format!("'{s}' is not a port range FIRST-LAST (1-65535)");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let (a, b): (u16, u16) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if a == 0 || a > b || (b - a) as u32 + 1 > tcp_common::MAX_SERVED - 16 {
        return Err(format!(
            "{}; at most {} ports",
            bad(),
            tcp_common::MAX_SERVED - 16
        ));
    }
    Ok((a, b))
}

/// An RSS key as hex (`6d5a56da...`, separators allowed) or `microsoft` (the key of the
/// Microsoft RSS verification suite, which many drivers use by default).
pub fn parse_rss_key(s: &str) -> Result<Vec<u8>, String> {
    if s == "microsoft" {
        return Ok(crate::rss::MICROSOFT_KEY.to_vec());
    }
    let hex: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    if hex.len() < 24 || !hex.len().is_multiple_of(2) {
        return Err("expected an even number of hex digits (at least 12 bytes)".into());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| "bad hex".to_string()))
        .collect()
}
