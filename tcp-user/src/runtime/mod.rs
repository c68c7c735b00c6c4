//! The runtime: everything between a [`Service`] and a network interface.
//!
//! A runtime attaches the XDP program, opens one AF_XDP port per receive queue, starts one
//! worker thread per queue pinned to a core, builds a service per worker with the factory it
//! is given, and runs until it is told to stop (SIGINT/SIGTERM, or a [`StopHandle`]) or every
//! service has finished. While it runs it publishes the counters (the stats file read by
//! `xdptcp stats`, and an optional Prometheus endpoint) and watches the interface; when it
//! stops it drains (no new connections, open ones get the drain timeout to finish), detaches
//! the program and returns a [`Report`] with every worker's counters and service.
//!
//! ```no_run
//! use tcp_user::runtime::Runtime;
//! use tcp_user::app::echo::Echo;
//!
//! let report = Runtime::builder()
//!     .iface("eth1")
//!     .port(7)
//!     .on_ready(|ready| println!("{ready}"))
//!     .service(|_worker| Echo)
//!     .run()?;
//! eprintln!("served {} connections", report.total(|s| s.conns_opened));
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! `xdptcp serve`, `xdptcp connect` and the `kv` and `proxy` examples are all built this way.

mod config;
pub mod control;
pub mod datapath;
pub mod preflight;
mod privileges;
mod report;
pub mod signals;
mod supervise;
mod throttle;
mod wake;
mod watch;
mod worker;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

pub use config::{ConnectConfig, Queues, RuntimeConfig, WorkerLimits};
pub use report::{print_counters, Ready, Report};
pub use wake::EventWaker;
pub use worker::Control;

use crate::endpoint::{ClientSetup, Endpoint, EndpointConfig};
use crate::rss::PortChooser;
use crate::service::{Service, Waker, WorkerInfo};
use crate::tcp;
use crate::wire::MacAddr;
use crate::xdp::{neighbour, BindMode, XdpMode};
use datapath::{Datapath, DatapathConfig};

/// Entry point: [`Runtime::builder`].
pub struct Runtime;

impl Runtime {
    /// A builder with the daemon's defaults.
    pub fn builder() -> Builder<()> {
        Builder {
            cfg: RuntimeConfig::default(),
            factory: (),
            on_ready: None,
            on_drain: None,
            control: Arc::new(Control::default()),
        }
    }
}

/// Asks a running runtime to drain or stop, from any thread.
#[derive(Clone)]
pub struct StopHandle(Arc<Control>);

impl StopHandle {
    /// Stop accepting, let open connections finish (up to the drain timeout), then stop.
    pub fn drain(&self) {
        self.0.drain.store(true, Ordering::SeqCst);
    }

    /// Stop now: connections still open are reset.
    pub fn stop(&self) {
        self.0.drain.store(true, Ordering::SeqCst);
        self.0.stop.store(true, Ordering::SeqCst);
    }
}

type ReadyFn = Box<dyn FnOnce(&Ready) + Send>;
type DrainFn = Box<dyn FnOnce() + Send>;

/// Configures and starts a runtime. Setters take and return the builder; [`Builder::service`]
/// gives it the service factory and [`Builder::run`] runs it.
pub struct Builder<F> {
    cfg: RuntimeConfig,
    factory: F,
    on_ready: Option<ReadyFn>,
    on_drain: Option<DrainFn>,
    control: Arc<Control>,
}

impl<F> Builder<F> {
    /// Starts from a whole configuration (the command line builds one from flags); it
    /// replaces everything set before, so call it first.
    pub fn config(mut self, cfg: RuntimeConfig) -> Self {
        self.cfg = cfg;
        self
    }

    /// The configuration so far.
    pub fn config_ref(&self) -> &RuntimeConfig {
        &self.cfg
    }

    /// The configuration so far, to adjust.
    pub fn config_mut(&mut self) -> &mut RuntimeConfig {
        &mut self.cfg
    }

    /// The interface to attach to (required).
    pub fn iface(mut self, name: impl Into<String>) -> Self {
        self.cfg.iface = name.into();
        self
    }

    /// A local address to serve, of either family (may be called for several; default:
    /// the interface's first IPv4 address, see [`RuntimeConfig::addrs`]).
    pub fn addr(mut self, addr: impl Into<IpAddr>) -> Self {
        self.cfg.addrs.push(addr.into());
        self
    }

    /// Listens on `port` (may be called for several ports).
    pub fn port(mut self, port: u16) -> Self {
        self.cfg.listen_ports.push(port);
        self
    }

    /// Receive queues to serve (default: all of them), one worker each.
    pub fn queues(mut self, queues: Queues) -> Self {
        self.cfg.queues = queues;
        self
    }

    /// Cores to pin workers to: queue i on `cores[i % len]` (default: every online core).
    pub fn cores(mut self, cores: &[usize]) -> Self {
        self.cfg.cores = cores.to_vec();
        self
    }

    /// XDP attach mode (default: driver mode where possible).
    pub fn xdp_mode(mut self, mode: XdpMode) -> Self {
        self.cfg.xdp_mode = mode;
        self
    }

    /// AF_XDP bind mode (default: zero-copy where possible).
    pub fn bind_mode(mut self, mode: BindMode) -> Self {
        self.cfg.bind_mode = mode;
        self
    }

    /// Engine parameters of every connection (the MSS is always set from the MTU).
    pub fn tcp(mut self, tcp: tcp::Config) -> Self {
        self.cfg.tcp = tcp;
        self
    }

    /// Receive and send buffer of each connection, in bytes.
    pub fn buffer_size(mut self, bytes: usize) -> Self {
        self.cfg.tcp.recv_buffer = bytes;
        self.cfg.tcp.send_buffer = bytes;
        self
    }

    /// Connections per worker (default: as many as the memory budget holds).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.cfg.max_connections = Some(n);
        self
    }

    /// Memory for connections (control blocks and buffers) in bytes, for all workers
    /// together (default: a quarter of the machine's memory); see
    /// [`RuntimeConfig::max_memory`].
    pub fn max_memory(mut self, bytes: usize) -> Self {
        self.cfg.max_memory = Some(bytes);
        self
    }

    /// Spin instead of sleeping when idle (lowest latency, a core at 100% per worker).
    pub fn busy_poll(mut self, on: bool) -> Self {
        self.cfg.busy_poll = on;
        self
    }

    /// How long a drain lets connections finish.
    pub fn drain_timeout(mut self, d: Duration) -> Self {
        self.cfg.drain_timeout = d;
        self
    }

    /// Also serves the counters as Prometheus text over HTTP on `addr` (a kernel socket).
    pub fn metrics_addr(mut self, addr: SocketAddr) -> Self {
        self.cfg.metrics_addr = Some(addr);
        self
    }

    /// Whether SIGINT/SIGTERM drain and stop the runtime (default: yes). Without, stop it
    /// with a [`StopHandle`].
    pub fn handle_signals(mut self, on: bool) -> Self {
        self.cfg.handle_signals = on;
        self
    }

    /// Whether the counters are printed to stderr on exit (default: yes).
    pub fn exit_report(mut self, on: bool) -> Self {
        self.cfg.exit_report = on;
        self
    }

    /// Lets services open connections ([`Cx::connect`](crate::service::Cx::connect)) from
    /// local ports `first..=last` to the given remotes (their next hop is resolved at start).
    pub fn connect_from(mut self, first: u16, last: u16, remotes: &[IpAddr]) -> Self {
        let c = self.cfg.connect.get_or_insert(ConnectConfig {
            local_ports: (first, last),
            rss_key: None,
            remotes: Vec::new(),
        });
        c.local_ports = (first, last);
        c.remotes.extend_from_slice(remotes);
        self
    }

    /// The NIC's RSS key (needed for outbound connections on a NIC with more than one
    /// queue). Call it after [`Builder::connect_from`].
    pub fn rss_key(mut self, key: Vec<u8>) -> Self {
        let c = self.cfg.connect.get_or_insert(ConnectConfig {
            local_ports: (0, 0),
            rss_key: None,
            remotes: Vec::new(),
        });
        c.rss_key = Some(key);
        self
    }

    /// Called once every worker runs, with what was attached (print the `ready` line here).
    pub fn on_ready(mut self, f: impl FnOnce(&Ready) + Send + 'static) -> Self {
        self.on_ready = Some(Box::new(f));
        self
    }

    /// Called once when the runtime starts to stop (drain or stop), on the thread that
    /// called [`Builder::run`] (tell a service manager `STOPPING=1` here).
    pub fn on_drain(mut self, f: impl FnOnce() + Send + 'static) -> Self {
        self.on_drain = Some(Box::new(f));
        self
    }

    /// A handle to drain or stop the runtime from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.control.clone())
    }

    /// The service factory: called once per worker, on the worker's thread, with what the
    /// worker is (its index, the number of workers, every worker's waker).
    pub fn service<G, S>(self, factory: G) -> Builder<G>
    where
        G: Fn(&WorkerInfo) -> S + Send + Sync + 'static,
        S: Service + Send + 'static,
    {
        Builder {
            cfg: self.cfg,
            factory,
            on_ready: self.on_ready,
            on_drain: self.on_drain,
            control: self.control,
        }
    }
}

impl<G, S> Builder<G>
where
    G: Fn(&WorkerInfo) -> S + Send + Sync + 'static,
    S: Service + Send + 'static,
{
    /// Attaches, runs until stopped or finished, detaches, and returns the counters and
    /// services. A setup error is one clear line; a worker that failed is an error after
    /// the program was detached.
    pub fn run(self) -> Result<Report<S>> {
        let cfg = self.cfg;
        cfg.validate()?;
        let mut steered = cfg.listen_ports.clone();
        if let Some(c) = &cfg.connect {
            steered.extend(c.local_ports.0..=c.local_ports.1);
        }
        if steered.len() > tcp_common::MAX_SERVED as usize {
            bail!(
                "{} ports to steer; the XDP program holds at most {}",
                steered.len(),
                tcp_common::MAX_SERVED
            );
        }
        let mut dp = Datapath::open(&DatapathConfig::from_runtime(&cfg, &steered))?;
        let next_hops = resolve_remotes(&cfg, &dp)?;
        let queues = dp.ports.len() as u32;
        let choosers = port_choosers(&cfg, queues, dp.iface.rx_queues)?;
        if cfg.handle_signals {
            signals::install().context("installing the SIGINT/SIGTERM handlers")?;
        }
        let mut keys = [0u8; 32];
        getrandom::getrandom(&mut keys).map_err(|e| {
            anyhow::anyhow!("reading random bytes for the ISN and cookie secrets: {e}")
        })?;
        let limits = cfg.worker_limits(queues as usize);
        let base = endpoint_config(&cfg, &dp, &keys, &limits);
        // Everything that can fail goes before the workers start.
        let shared: crate::metrics::Shared = Default::default();
        if let Some(addr) = cfg.metrics_addr {
            crate::metrics::serve_http(addr, shared.clone())
                .with_context(|| format!("serving metrics on {addr}"))?;
        }
        let wakers: Vec<Arc<EventWaker>> = (0..queues)
            .map(|_| EventWaker::new().map(Arc::new))
            .collect::<std::io::Result<_>>()
            .context("creating the workers' wake-up events")?;
        let wakers_dyn: Vec<Waker> = wakers.iter().map(|w| w.clone() as Waker).collect();
        let mut worker_controls = Vec::new();
        let mut control_handles = Vec::new();
        for waker in &wakers_dyn {
            let (requests_tx, requests) = crossbeam_channel::bounded(64);
            worker_controls.push(control::sink::WorkerControl {
                requests,
                capture: None,
            });
            control_handles.push(control::WorkerHandle {
                requests: requests_tx,
                waker: waker.clone(),
            });
        }
        // Without its socket (an unprivileged run where /run/xdptcp is not ours) the daemon
        // still serves; only `ss` and `capture` cannot reach it.
        let _control = match cfg.control_socket {
            true => match control::ControlServer::start(&dp.iface.name, control_handles) {
                Ok(server) => Some(server),
                Err(e) => {
                    tracing::warn!(
                        "{e:#}; `xdptcp ss` and `xdptcp capture` cannot reach this daemon"
                    );
                    None
                }
            },
            false => None,
        };
        let mut worker_controls = worker_controls.into_iter();
        let factory = Arc::new(self.factory);
        let clock = std::time::Instant::now();
        let (snap_tx, snap_rx) = crossbeam_channel::unbounded();
        let mut handles = Vec::new();
        let ports: Vec<_> = dp.ports.drain(..).collect();
        for (i, port) in ports.into_iter().enumerate() {
            let mut ecfg = base.clone();
            ecfg.client = match (&choosers, &cfg.connect) {
                (Some(ch), Some(_)) => Some(ClientSetup {
                    ports: ch[i].clone(),
                    next_hops: next_hops.clone(),
                    default_next_hop: None,
                }),
                _ => None,
            };
            let info = WorkerInfo {
                index: i,
                workers: queues as usize,
                wakers: wakers_dyn.clone(),
            };
            let core = dp.core_for(i);
            let (factory, control, waker, snap_tx) = (
                factory.clone(),
                self.control.clone(),
                wakers[i].clone(),
                snap_tx.clone(),
            );
            let (busy_poll, drain_timeout) = (cfg.busy_poll, cfg.drain_timeout);
            let ctl = worker_controls.next().expect("one control per worker");
            let spawned = std::thread::Builder::new()
                .name(format!("xdptcp-q{i}"))
                .spawn(move || {
                    datapath::pin(core);
                    let service = factory(&info);
                    let ep = Endpoint::new(ecfg, service);
                    let params = worker::WorkerParams {
                        clock,
                        busy_poll,
                        drain_timeout,
                        control: &control,
                        waker: &waker,
                        queue: i as u32,
                    };
                    worker::run(port, ep, params, ctl, |stats, service| {
                        let mut metrics = Vec::new();
                        service.metrics(&mut metrics);
                        let _ = snap_tx.send(supervise::Snapshot {
                            stats: stats.clone(),
                            metrics,
                            taken_at: std::time::SystemTime::now(),
                        });
                    })
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    // Stop the workers already running before giving up.
                    self.control.stop.store(true, Ordering::SeqCst);
                    for h in handles {
                        let _ = h.join();
                    }
                    return Err(e).context("spawning a worker thread");
                }
            }
        }
        drop(snap_tx);
        let ready = Ready {
            iface: dp.iface.name.clone(),
            addrs: dp.addrs.clone(),
            ports: cfg.listen_ports.clone(),
            queues,
            xdp_mode: dp.program.mode,
            zero_copy: dp.zero_copy(),
            limits,
        };
        if let Some(f) = self.on_ready {
            f(&ready);
        }
        let result = supervise::run(
            &cfg,
            &dp,
            &self.control,
            handles,
            snap_rx,
            shared,
            self.on_drain,
        );
        drop(_control); // removes the control socket
        let name = dp.iface.name.clone();
        drop(dp); // detaches the XDP program
        if cfg.exit_report {
            eprintln!("xdptcp: XDP program detached from {name}");
        }
        result
    }
}

/// Next hops of the configured remotes, resolved through the kernel (ARP or neighbour
/// discovery when missing), each from a local address of its family.
fn resolve_remotes(cfg: &RuntimeConfig, dp: &Datapath) -> Result<Vec<(tcp::Addr, MacAddr)>> {
    let Some(c) = &cfg.connect else {
        return Ok(Vec::new());
    };
    c.remotes
        .iter()
        .map(|r| {
            if !dp.addrs.iter().any(|a| a.is_ipv4() == r.is_ipv4()) {
                let family = if r.is_ipv4() { "IPv4" } else { "IPv6" };
                bail!("no local {family} address to connect to {r} from: pass --addr");
            }
            neighbour::resolve(*r, dp.iface.index, Duration::from_secs(3))
                .map(|mac| ((*r).into(), mac))
        })
        .collect()
}

/// Each served queue's local port chooser for outbound connections: ports whose replies the
/// NIC's RSS (over all its `nic_queues`) puts on that queue.
fn port_choosers(
    cfg: &RuntimeConfig,
    queues: u32,
    nic_queues: u32,
) -> Result<Option<Vec<PortChooser>>> {
    let Some(c) = &cfg.connect else {
        return Ok(None);
    };
    let (first, last) = c.local_ports;
    let choosers = match (&c.rss_key, nic_queues) {
        (Some(key), _) => (0..queues)
            .map(|q| PortChooser::toeplitz(key, q, nic_queues.max(queues), first, last))
            .collect(),
        (None, 1) => vec![PortChooser::fallback(first, last)],
        (None, _) => bail!(
            "the interface has {nic_queues} receive queues: outbound connections need the NIC's RSS key (--rss-key) so that replies reach the worker that opened each connection"
        ),
    };
    Ok(Some(choosers))
}

/// The endpoint configuration every worker starts from.
fn endpoint_config(
    cfg: &RuntimeConfig,
    dp: &Datapath,
    keys: &[u8; 32],
    limits: &WorkerLimits,
) -> EndpointConfig {
    let tcp = tcp::Config {
        // IPv4 and TCP headers without options; frames are 4 KiB.
        mss: (dp.iface.mtu.min(4000) - 40) as u16,
        ..cfg.tcp
    };
    EndpointConfig {
        local_addrs: dp.addrs.iter().map(|a| (*a).into()).collect(),
        local_mac: dp.iface.mac,
        listen_ports: cfg.listen_ports.clone(),
        tcp,
        max_connections: limits.connections,
        max_time_wait: limits.time_wait,
        max_memory: limits.memory,
        max_half_open: cfg.max_half_open,
        syn_cookies: cfg.syn_cookies,
        isn_key: keys[..16].try_into().expect("16 bytes"),
        cookie_key: keys[16..].try_into().expect("16 bytes"),
        client: None,
    }
}
