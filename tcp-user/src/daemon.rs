//! The `xdptcp` daemon: command line, setup (XDP program, AF_XDP ports, pinned workers),
//! signal handling and the exit report. Setup errors are one clear line for the user.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use crossbeam_channel::{unbounded, Receiver};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::app::{discard::Discard, echo::Echo, http::Http, AppKind};
use crate::metrics;
use crate::stats::DropReason;
use crate::stats::WorkerStats;
use crate::tcp;
use crate::worker::{self, Control, WorkerConfig};
use crate::xdp::iface::Interface;
use crate::xdp::netlink;
use crate::xdp::socket::PortConfig;
use crate::xdp::{BindMode, XdpMode, XdpProgram, XskPort};

/// Kernel-bypass TCP server on AF_XDP.
#[derive(Parser, Debug)]
#[command(name = "xdptcp", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Take over TCP ports of an interface and serve them from user space.
    Serve(ServeArgs),
    /// Open connections from the stack itself and measure them (load generator).
    Connect(crate::client::ConnectArgs),
    /// Reflect steered frames straight back with no TCP work (the AF_XDP path's ceiling).
    Reflect(crate::reflect::ReflectArgs),
    /// Print the counters of a running daemon (Prometheus text).
    Stats {
        /// Interface the daemon serves.
        #[arg(long)]
        iface: String,
    },
}

/// Options shared by `serve` and `connect`: the interface and how the datapath runs.
#[derive(Args, Debug, Clone)]
pub struct DatapathArgs {
    /// Interface to attach to.
    #[arg(long)]
    pub iface: String,
    /// Local IPv4 address (default: the interface's address).
    #[arg(long)]
    pub addr: Option<Ipv4Addr>,
    /// Receive queues to serve: a number (0..N-1) or `all`.
    #[arg(long, default_value = "all")]
    pub queues: QueueCount,
    /// Cores to pin workers to, e.g. `0,1` or `0-3` (default: queue i on core i mod cores).
    #[arg(long, value_parser = parse_cores)]
    pub cores: Option<CoreList>,
    /// XDP attach mode: auto, driver or skb.
    #[arg(long, default_value = "auto")]
    pub xdp_mode: XdpMode,
    /// AF_XDP bind mode: auto, copy or zerocopy.
    #[arg(long, default_value = "auto")]
    pub bind_mode: BindMode,
    /// Maximum connections per worker.
    #[arg(long, default_value_t = 16384)]
    pub max_connections: usize,
    /// Maximum half-open (SYN_RCVD) connections per worker; beyond it, SYN cookies.
    #[arg(long, default_value_t = 1024)]
    pub max_half_open: usize,
    /// Drop SYNs beyond --max-half-open instead of answering with SYN cookies.
    #[arg(long)]
    pub no_syn_cookies: bool,
    /// Maximum TIME_WAIT connections per worker.
    #[arg(long, default_value_t = 8192)]
    pub max_time_wait: usize,
    /// Receive and send buffer per connection, in bytes.
    #[arg(long, default_value_t = 256 * 1024)]
    pub buffer_size: usize,
    /// Buffer memory per worker, in MiB: connections beyond what it holds (two buffers
    /// each) are refused like a full table (default: enough for --max-connections).
    #[arg(long)]
    pub max_buffer_memory_mb: Option<usize>,
    /// Maximum segment lifetime in milliseconds (TIME_WAIT lasts twice this).
    #[arg(long, default_value_t = 30_000)]
    pub msl_ms: u64,
    /// Close connections idle for this many seconds (0: never).
    #[arg(long, default_value_t = 0)]
    pub idle_timeout_s: u64,
    /// Spin on the rings when idle instead of sleeping (lowest latency, 100% CPU per worker).
    #[arg(long)]
    pub busy_poll: bool,
    /// On SIGINT/SIGTERM, how long to let connections finish before resetting them (ms).
    #[arg(long, default_value_t = 5000)]
    pub drain_ms: u64,
    /// Congestion control of new connections: reno (NewReno + SACK recovery) or cubic
    /// (RFC 9438).
    #[arg(long, default_value = "reno", value_parser = parse_congestion)]
    pub congestion: tcp::CongestionKind,
}

/// Options of `xdptcp serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub datapath: DatapathArgs,
    /// TCP port(s) to serve, comma-separated.
    #[arg(long = "port", value_delimiter = ',', required = true, value_parser = parse_port)]
    pub ports: Vec<u16>,
    /// Application: echo, discard or http.
    #[arg(long, default_value = "echo")]
    pub app: AppKind,
    /// Body size of the http app's responses, in bytes.
    #[arg(long, default_value_t = 64)]
    pub body_size: usize,
    /// Also serve the counters as Prometheus text over HTTP on this address (a kernel
    /// socket of the host, e.g. 127.0.0.1:9464).
    #[arg(long)]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// `--queues`: a count or all of them.
#[derive(Clone, Copy, Debug)]
pub enum QueueCount {
    All,
    Count(u32),
}

impl std::str::FromStr for QueueCount {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "all" {
            return Ok(QueueCount::All);
        }
        match s.parse::<u32>() {
            Ok(n) if n > 0 => Ok(QueueCount::Count(n)),
            _ => Err(format!(
                "'{s}' is not a queue count (a positive number or 'all')"
            )),
        }
    }
}

/// `--cores`: core ids.
#[derive(Clone, Debug)]
pub struct CoreList(pub Vec<usize>);

fn parse_port(s: &str) -> Result<u16, String> {
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

fn parse_cores(s: &str) -> Result<CoreList, String> {
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

/// Number of SIGINT/SIGTERM received (the first drains, the second stops at once).
static SIGNALLED: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALLED.fetch_add(1, Ordering::SeqCst);
}

/// True once SIGINT or SIGTERM arrived.
pub fn signalled() -> bool {
    SIGNALLED.load(Ordering::SeqCst) > 0
}

/// Pins the calling thread to a core, if one is given.
pub fn pin(core: Option<usize>) {
    if let Some(id) = core {
        core_affinity::set_for_current(core_affinity::CoreId { id });
    }
}

fn install_signal_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // Safety: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// Effective capabilities needed: CAP_NET_ADMIN (12), CAP_NET_RAW (13), and CAP_BPF (39) or
/// CAP_SYS_ADMIN (21).
fn check_privileges() -> Result<()> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let has = |bit: u32| caps & (1u64 << bit) != 0;
    if !(has(12) && has(13) && (has(39) || has(21))) {
        bail!("xdptcp needs root (or CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF) to attach XDP and open AF_XDP sockets");
    }
    Ok(())
}

/// The attached XDP program and one AF_XDP port per queue, with everything the workers
/// need to know about the interface.
pub struct Datapath {
    pub iface: Interface,
    /// Local IPv4 address, host order.
    pub addr: u32,
    pub program: XdpProgram,
    pub ports: Vec<XskPort>,
    pub args: DatapathArgs,
    served: Vec<u16>,
    keys: [u8; 32],
    cores: Vec<usize>,
}

impl Datapath {
    /// Checks the arguments, attaches the program, opens the ports and steers `served`
    /// (local TCP ports) to them. Errors are one clear line for the user.
    pub fn open(args: &DatapathArgs, served: &[u16]) -> Result<Datapath> {
        let iface = Interface::lookup(&args.iface)?;
        let addr = match args.addr {
            Some(a) => u32::from(a),
            None => iface.ipv4_address().with_context(|| {
                format!("interface {} has no IPv4 address; pass --addr", iface.name)
            })?,
        };
        let queues = match args.queues {
            QueueCount::All => iface.rx_queues,
            QueueCount::Count(n) if n <= iface.rx_queues => n,
            QueueCount::Count(n) => {
                bail!(
                    "--queues {n}: interface {} has only {} receive queues",
                    iface.name,
                    iface.rx_queues
                )
            }
        };
        if args.max_connections == 0 || args.buffer_size < 4096 {
            bail!("--max-connections must be positive and --buffer-size at least 4096");
        }
        check_privileges()?;
        install_signal_handlers();
        let mut program = XdpProgram::attach(&iface.name, args.xdp_mode)?;
        let mut ports = Vec::new();
        for q in 0..queues {
            let port = XskPort::open(&iface.name, q, args.bind_mode, PortConfig::default())?;
            program.register_socket(q, port.fd())?;
            ports.push(port);
        }
        for &p in served {
            program.serve(addr, p)?;
        }
        let mut keys = [0u8; 32];
        getrandom::getrandom(&mut keys).map_err(|e| {
            anyhow::anyhow!("reading random bytes for the ISN and cookie secrets: {e}")
        })?;
        let cores = match &args.cores {
            Some(list) if !list.0.is_empty() => list.0.clone(),
            _ => core_affinity::get_core_ids()
                .unwrap_or_default()
                .iter()
                .map(|c| c.id)
                .collect(),
        };
        Ok(Datapath {
            iface,
            addr,
            program,
            ports,
            args: args.clone(),
            served: served.to_vec(),
            keys,
            cores,
        })
    }

    /// The core of worker `i` (queue i), if pinning is possible.
    pub fn core_for(&self, i: usize) -> Option<usize> {
        (!self.cores.is_empty()).then(|| self.cores[i % self.cores.len()])
    }

    /// Worker settings from the arguments, with `tcp` as the base engine configuration.
    pub fn worker_config(&self, tcp: tcp::Config) -> WorkerConfig {
        let a = &self.args;
        let tcp = tcp::Config {
            // IPv4 and TCP headers without options; frames are 4 KiB.
            mss: (self.iface.mtu.min(4000) - 40) as u16,
            recv_buffer: a.buffer_size,
            send_buffer: a.buffer_size,
            msl: Duration::from_millis(a.msl_ms),
            idle_timeout: (a.idle_timeout_s > 0).then(|| Duration::from_secs(a.idle_timeout_s)),
            congestion: a.congestion,
            ..tcp
        };
        WorkerConfig {
            local_addr: self.addr,
            local_mac: self.iface.mac,
            ports: self.served.clone(),
            tcp,
            max_connections: a.max_connections,
            max_time_wait: a.max_time_wait,
            max_buffered_connections: match a.max_buffer_memory_mb {
                Some(mb) => (mb << 20) / (2 * a.buffer_size),
                None => a.max_connections,
            },
            max_half_open: a.max_half_open,
            syn_cookies: !a.no_syn_cookies,
            busy_poll: a.busy_poll,
            isn_key: self.keys[..16].try_into().expect("16 bytes"),
            cookie_key: self.keys[16..].try_into().expect("16 bytes"),
            drain_timeout: Duration::from_millis(a.drain_ms),
            client: None,
        }
    }
}

/// Runs `xdptcp serve` until SIGINT/SIGTERM.
pub fn serve(args: ServeArgs) -> Result<()> {
    let mut dp = Datapath::open(&args.datapath, &args.ports)?;
    let cfg = dp.worker_config(tcp::Config::default());
    let queues = dp.ports.len() as u32;
    let control = Arc::new(Control::default());
    let (snap_tx, snap_rx) = unbounded::<WorkerStats>();
    let mut handles = Vec::new();
    let zero_copy = dp.ports.iter().all(|p| p.zero_copy);
    let ports: Vec<XskPort> = dp.ports.drain(..).collect();
    for (i, port) in ports.into_iter().enumerate() {
        let core = dp.core_for(i);
        let (cfg, control, snap_tx) = (cfg.clone(), control.clone(), snap_tx.clone());
        let app_kind = args.app;
        let body = args.body_size;
        let handle = std::thread::Builder::new()
            .name(format!("xdptcp-q{i}"))
            .spawn(move || {
                pin(core);
                let publish = move |s: &WorkerStats| {
                    let _ = snap_tx.send(s.clone());
                };
                let stats = match app_kind {
                    AppKind::Echo => worker::run(port, cfg, Echo, control, publish).0,
                    AppKind::Discard => worker::run(port, cfg, Discard, control, publish).0,
                    AppKind::Http => worker::run(port, cfg, Http::new(body), control, publish).0,
                };
                (stats, ())
            })
            .context("spawning a worker thread")?;
        handles.push(handle);
    }
    drop(snap_tx);

    let ports_text: Vec<String> = args.ports.iter().map(|p| p.to_string()).collect();
    println!(
        "ready iface={} addr={} ports={} app={:?} queues={} xdp_mode={:?} bind_mode={}",
        dp.iface.name,
        Ipv4Addr::from(dp.addr),
        ports_text.join(","),
        args.app,
        queues,
        dp.program.mode,
        if zero_copy { "zerocopy" } else { "copy" }
    );
    eprintln!("xdptcp: serving; SIGINT or SIGTERM to stop");

    let shared: metrics::Shared = Default::default();
    if let Some(addr) = args.metrics_addr {
        metrics::serve_http(addr, shared.clone())
            .with_context(|| format!("serving metrics on {addr}"))?;
    }
    let mut latest: Vec<WorkerStats> = (0..queues)
        .map(|q| WorkerStats {
            queue: q,
            ..Default::default()
        })
        .collect();
    let mut failure: Option<String> = None;
    let mut ticks = 0u64;
    let mut was_up = true;
    let our_id = dp.program.id();
    let mut last_seen = our_id;
    while SIGNALLED.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(20));
        ticks += 1;
        if handles.iter().any(|h| h.is_finished()) {
            failure = Some("a worker stopped unexpectedly".to_string());
            break;
        }
        if ticks.is_multiple_of(25) {
            collect_snapshots(&snap_rx, &mut latest);
            let text = metrics::render(&latest, &dp.program.counters());
            let _ = metrics::write_file(&dp.iface.name, &text);
            if let Ok(mut s) = shared.lock() {
                *s = text;
            }
            let attached = netlink::attached_xdp_program(dp.iface.index).ok().flatten();
            if attached != our_id && attached != last_seen {
                eprintln!(
                    "xdptcp: the XDP program on {} is no longer ours (attached: {}); traffic is not steered to the stack",
                    dp.iface.name,
                    attached.map_or("none".to_string(), |id| format!("id {id}"))
                );
            }
            last_seen = attached;
            if !dp.iface.exists() {
                failure = Some(format!("interface {} is gone", dp.iface.name));
                break;
            }
            let up = dp.iface.is_up();
            if up != was_up {
                eprintln!(
                    "xdptcp: interface {} is {}",
                    dp.iface.name,
                    if up { "up again" } else { "DOWN" }
                );
                was_up = up;
            }
        }
    }
    // First signal: drain (stop accepting, let connections finish); a second one, or a
    // worker failure, stops at once.
    control.drain.store(true, Ordering::SeqCst);
    if let Some(why) = &failure {
        eprintln!("xdptcp: {why}; stopping");
        control.stop.store(true, Ordering::SeqCst);
    } else {
        eprintln!(
            "xdptcp: draining connections (up to {} ms)",
            args.datapath.drain_ms
        );
    }
    while !handles.iter().all(|h| h.is_finished()) {
        if SIGNALLED.load(Ordering::SeqCst) > 1 {
            control.stop.store(true, Ordering::SeqCst);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut finals = Vec::new();
    for (q, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok((s, ())) => finals.push(s),
            Err(_) => {
                failure = Some(format!("the worker of queue {q} panicked"));
            }
        }
    }
    report(&finals, &dp.program);
    let _ = std::fs::remove_file(metrics::stats_path(&dp.iface.name));
    let name = dp.iface.name.clone();
    drop(dp); // detaches the XDP program
    eprintln!("xdptcp: XDP program detached from {name}");
    if let Some(why) = failure {
        bail!("stopped: {why}");
    }
    Ok(())
}

/// Keeps the newest snapshot of each worker.
fn collect_snapshots(rx: &Receiver<WorkerStats>, latest: &mut [WorkerStats]) {
    while let Ok(s) = rx.try_recv() {
        if let Some(slot) = latest.get_mut(s.queue as usize) {
            *slot = s;
        }
    }
}

/// `xdptcp stats --iface IF`: prints the running daemon's counters.
pub fn stats(iface: &str) -> Result<()> {
    let path = metrics::stats_path(iface);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no running xdptcp on {iface} ({} not found)",
            path.display()
        )
    })?;
    print!("{text}");
    Ok(())
}

/// Prints per-queue counters and the XDP program's counters to stderr.
pub fn report(workers: &[WorkerStats], program: &XdpProgram) {
    for s in workers {
        eprintln!(
            "queue {}: rx_frames={} tx_frames={} drops={} tx_dropped={} rx_ring_full={} rx_dropped={} opened={} closed={} reset={} timed_out={} rsts_sent={} syn_cookies={} retransmissions={} fast_retransmits={} out_of_order={} active={}",
            s.queue,
            s.port.rx_frames,
            s.port.tx_frames,
            s.total_drops(),
            s.port.tx_dropped,
            s.port.rx_ring_full,
            s.port.rx_dropped,
            s.conns_opened,
            s.conns_closed,
            s.conns_reset,
            s.conns_timed_out,
            s.rsts_sent,
            s.syn_cookies_sent,
            s.retransmissions,
            s.fast_retransmits,
            s.out_of_order,
            s.active,
        );
        let reasons: Vec<String> = DropReason::ALL
            .iter()
            .filter(|r| s.drops[**r as usize] > 0)
            .map(|r| format!("{}={}", r.name(), s.drops[*r as usize]))
            .collect();
        if !reasons.is_empty() {
            eprintln!("queue {} drops: {}", s.queue, reasons.join(" "));
        }
    }
    let xdp: Vec<String> = program
        .counters()
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect();
    eprintln!("xdp: {}", xdp.join(" "));
}
