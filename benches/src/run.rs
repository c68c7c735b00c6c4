//! `xdptcp-bench run`: for each mode, the same client against each server in turn, on the
//! same veth pair between two fresh namespaces (or on a given interface), then tables,
//! histogram logs, plots and the JSON summary.
//!
//! The client is kernel sockets (`client.rs`) or, with `--client xdptcp`, the stack itself
//! (`xdptcp connect` in the client namespace, rr and crr only; `stack_client.rs`).

use std::{
    net::{Ipv4Addr, SocketAddrV4},
    path::{Path, PathBuf},
    process::Command,
    str::FromStr,
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime},
};

use anyhow::{anyhow, bail, Context, Result};
use hdrhistogram::Histogram;
use netns_tests::{Process, Testbed};

use crate::{
    client::{run_client, ClientConfig, ClientResult, Mode, Schedule},
    hist::{write_hlog, Percentiles},
    report::{Figures, ModeResult, RunConfig, ServerResult, Summary},
    stack_client::{ClientKind, StackClient, StackClientConfig},
    svg,
    sys::{self, MachineInfo},
};

/// Which server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// `xdptcp serve` (the stack under test).
    Xdptcp,
    /// `xdptcp-bench kernel-server` (Linux sockets, epoll).
    Kernel,
}

impl FromStr for ServerKind {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<ServerKind> {
        match s {
            "xdptcp" => Ok(ServerKind::Xdptcp),
            "kernel" => Ok(ServerKind::Kernel),
            _ => bail!("unknown server {s:?} (xdptcp, kernel)"),
        }
    }
}

impl ServerKind {
    fn name(self) -> &'static str {
        match self {
            ServerKind::Xdptcp => "xdptcp",
            ServerKind::Kernel => "kernel",
        }
    }
}

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub modes: Vec<Mode>,
    pub duration: Duration,
    pub warmup: Duration,
    pub size: usize,
    pub conns: usize,
    pub server_core: Option<usize>,
    pub client_core: Option<usize>,
    pub results: PathBuf,
    pub xdptcp_bin: Option<PathBuf>,
    pub servers: Vec<ServerKind>,
    /// A real interface and its address: no namespaces, everything in this one.
    pub iface: Option<(String, Ipv4Addr)>,
    pub port: u16,
    /// HTTP body of the `download` mode.
    pub download_body: usize,
    /// Who generates the load.
    pub client: ClientKind,
}

/// Where the servers and the client run.
enum Net {
    Testbed(Testbed),
    Host { iface: String, addr: Ipv4Addr },
}

impl Net {
    fn server_ip(&self) -> Ipv4Addr {
        match self {
            Net::Testbed(tb) => tb.srv_ip,
            Net::Host { addr, .. } => *addr,
        }
    }

    fn iface(&self) -> &str {
        match self {
            Net::Testbed(tb) => &tb.srv_if,
            Net::Host { iface, .. } => iface,
        }
    }

    fn describe(&self) -> String {
        match self {
            Net::Testbed(tb) => format!(
                "veth pair between network namespaces ({} {} <-> {} {}), 1 queue",
                tb.cli.name(),
                tb.cli_ip,
                tb.srv.name(),
                tb.srv_ip
            ),
            Net::Host { iface, addr } => format!("interface {iface} ({addr}), no namespaces"),
        }
    }

    fn spawn_server(&self, label: &str, argv: &[&str]) -> Result<Process> {
        match self {
            Net::Testbed(tb) => tb.srv.spawn(label, argv),
            Net::Host { .. } => {
                let mut cmd = Command::new(argv[0]);
                cmd.args(&argv[1..]);
                Process::spawn(label, &mut cmd)
            }
        }
    }

    fn start_client(&self, cfg: ClientConfig, sched: Schedule) -> JoinHandle<Result<ClientResult>> {
        match self {
            Net::Testbed(tb) => tb.cli.spawn_in(move || run_client(&cfg, sched)),
            Net::Host { .. } => std::thread::spawn(move || run_client(&cfg, sched)),
        }
    }

    /// RetransSegs of the client's namespace.
    fn client_retrans(&self) -> Option<u64> {
        let snmp = match self {
            Net::Testbed(tb) => tb.cli.run_ok(&["cat", "/proc/net/snmp"]).ok()?,
            Net::Host { .. } => std::fs::read_to_string("/proc/net/snmp").ok()?,
        };
        sys::parse_retrans_segs(&snmp)
    }
}

/// Runs every mode against every server and writes the results directory.
pub fn run(opts: &RunOptions) -> Result<Summary> {
    let started = sys::timestamp();
    std::fs::create_dir_all(&opts.results)
        .with_context(|| format!("cannot create {}", opts.results.display()))?;
    let self_exe = std::env::current_exe().context("cannot find our own executable")?;
    let xdptcp_bin =
        if opts.servers.contains(&ServerKind::Xdptcp) || opts.client == ClientKind::Xdptcp {
            Some(find_xdptcp(opts.xdptcp_bin.as_deref())?)
        } else {
            None
        };

    let net = match &opts.iface {
        Some(_) if opts.client == ClientKind::Xdptcp => {
            bail!("--client xdptcp needs the namespace testbed (its own veth end), not --iface")
        }
        Some((iface, addr)) => Net::Host {
            iface: iface.clone(),
            addr: *addr,
        },
        None => {
            if let Ok(stale) = netns_tests::cleanup_stale() {
                if !stale.is_empty() {
                    eprintln!("bench: removed stale namespaces/links {stale:?}");
                }
            }
            progress(
                "setup",
                "creating the testbed (two namespaces, one veth pair)",
            );
            let tb = Testbed::new(1)?;
            // Connect/close loops: no TIME_WAIT on the client (it closes first), all ports.
            for kv in [
                "net.ipv4.tcp_max_tw_buckets=0",
                "net.ipv4.ip_local_port_range=1024 65535",
            ] {
                tb.cli.run_ok(&["sysctl", "-qw", kv])?;
            }
            if opts.client == ClientKind::Xdptcp {
                // The kernel server's segments now go to the stack: no partial checksums from
                // the server end either (the stack computes its own, so only kernel senders
                // matter), and a flow keeps its tx queue as on the client end.
                tb.srv.run_ok(&["ethtool", "-K", &tb.srv_if, "tx", "off"])?;
                tb.srv.run_ok(&["sysctl", "-qw", "net.core.txrehash=0"])?;
            }
            Net::Testbed(tb)
        }
    };
    progress("setup", &net.describe());
    let machine = MachineInfo::read();
    if machine.loadavg_1m > 0.5 {
        progress(
            "setup",
            &format!(
                "warning: load average {:.2} before the run: other work on these cores will show \
                 up in the figures",
                machine.loadavg_1m
            ),
        );
    }

    progress(
        "setup",
        &format!("client: {}", describe_client(opts.client, opts.client_core)),
    );
    let mut modes = Vec::new();
    for &mode in &opts.modes {
        if !opts.client.supports(mode) {
            progress(
                mode.name(),
                &format!(
                    "skipped: the {} client runs rr and crr only",
                    opts.client.name()
                ),
            );
            println!(
                "== {} skipped: --client {} runs rr and crr only ==\n",
                mode.name(),
                opts.client.name()
            );
            continue;
        }
        let body_size = match mode {
            Mode::Http => Some(opts.size),
            Mode::Download => Some(opts.download_body),
            _ => None,
        };
        let mut result = ModeResult {
            mode: mode.name().into(),
            unit: mode.unit_of_work().into(),
            size: opts.size,
            conns: opts.conns,
            body_size,
            servers: Vec::new(),
            ratios: None,
            plot: None,
        };
        let mut series = Vec::new();
        let labels = server_labels(&opts.servers);
        for (i, (&kind, label)) in opts.servers.iter().zip(&labels).enumerate() {
            let argv = server_argv(
                kind,
                &net,
                opts,
                mode,
                body_size,
                &self_exe,
                xdptcp_bin.as_deref(),
            );
            let tag = format!("{}/{label}", mode.name());
            let client = match opts.client {
                ClientKind::Kernel => Client::Kernel,
                ClientKind::Xdptcp => Client::Stack {
                    bin: xdptcp_bin.clone().expect("found before the run"),
                    hlog: opts
                        .results
                        .join(format!("{}-{label}.client.hlog", mode.name())),
                },
            };
            match measure(&net, opts, mode, kind, &tag, &argv, &client) {
                Ok((figures, hist, window_start)) => {
                    progress(
                        &tag,
                        &format!(
                            "{:.0} txn/s, {:.1} MB/s, p50 {} µs, p99 {} µs, server CPU {}",
                            figures.txn_per_s,
                            figures.mb_per_s,
                            figures.latency_us.p50,
                            figures.latency_us.p99,
                            figures
                                .server_cpu_s
                                .map_or("-".into(), |c| format!("{c:.2} s")),
                        ),
                    );
                    let hlog = format!("{}-{label}.hlog", mode.name());
                    let comments = vec![
                        format!("xdptcp-bench {} against {label}", result.caption()),
                        format!(
                            "values in microseconds; one sample = one {}",
                            mode.unit_of_work()
                        ),
                    ];
                    write_hlog(
                        &opts.results.join(&hlog),
                        &hist,
                        label,
                        &comments,
                        window_start,
                        opts.duration,
                    )?;
                    let mut line = svg::series_from_histogram(label, &hist);
                    line.color = i;
                    series.push(line);
                    result.servers.push(ServerResult {
                        server: label.clone(),
                        error: None,
                        figures: Some(figures),
                        hlog: Some(hlog),
                    });
                }
                Err(e) => {
                    progress(&tag, &format!("FAILED: {e:#}"));
                    result.servers.push(ServerResult {
                        server: label.clone(),
                        error: Some(format!("{e:#}")),
                        figures: None,
                        hlog: None,
                    });
                }
            }
        }
        result.compute_ratios(mode.is_bulk());
        if !series.is_empty() {
            let plot = format!("{}.svg", mode.name());
            let doc = svg::render(
                &format!("{} latency by percentile", result.caption()),
                &format!(
                    "one sample = one {}; {} s per server",
                    mode.unit_of_work(),
                    opts.duration.as_secs_f64()
                ),
                &series,
            );
            std::fs::write(opts.results.join(&plot), doc)?;
            result.plot = Some(plot);
        }
        println!("{}", result.text_table(mode.is_bulk()));
        modes.push(result);
    }

    let summary = Summary {
        tool: format!("xdptcp-bench {}", env!("CARGO_PKG_VERSION")),
        started,
        machine,
        config: RunConfig {
            duration_s: opts.duration.as_secs_f64(),
            warmup_s: opts.warmup.as_secs_f64(),
            server_core: opts.server_core,
            client_core: opts.client_core,
            network: format!(
                "{}; client: {}",
                net.describe(),
                describe_client(opts.client, opts.client_core)
            ),
            xdptcp_bin: xdptcp_bin.map(|p| p.display().to_string()),
        },
        modes,
    };
    std::fs::write(
        opts.results.join("summary.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    let bulk = |m: &str| Mode::from_str(m).map(Mode::is_bulk).unwrap_or(false);
    std::fs::write(opts.results.join("summary.md"), summary.markdown(bulk))?;
    progress("done", &format!("results in {}", opts.results.display()));
    Ok(summary)
}

/// The load generator, for the log and the summary.
fn describe_client(kind: ClientKind, core: Option<usize>) -> String {
    let core = core.map_or("any core".into(), |c| format!("core {c}"));
    match kind {
        ClientKind::Kernel => format!("kernel sockets, one thread per connection, {core}"),
        ClientKind::Xdptcp => format!("xdptcp connect (the stack's active open), {core}"),
    }
}

/// One progress line on stderr.
fn progress(phase: &str, what: &str) {
    eprintln!("[bench {phase}] {what}");
}

/// "kernel", "kernel-2", ... when a kind repeats (`--servers kernel,kernel`).
fn server_labels(kinds: &[ServerKind]) -> Vec<String> {
    kinds
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let n = kinds[..i].iter().filter(|x| *x == k).count();
            if n == 0 {
                k.name().to_string()
            } else {
                format!("{}-{}", k.name(), n + 1)
            }
        })
        .collect()
}

/// The daemon binary: `--xdptcp-bin`, else `$XDPTCP_BIN`, else `xdptcp` next to us.
fn find_xdptcp(given: Option<&Path>) -> Result<PathBuf> {
    let candidate = match given {
        Some(p) => p.to_path_buf(),
        None => match std::env::var_os("XDPTCP_BIN") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => std::env::current_exe()?.with_file_name("xdptcp"),
        },
    };
    if !candidate.is_file() {
        bail!(
            "no xdptcp daemon at {} (build it with `cargo xtask build`, pass --xdptcp-bin, \
             or use --servers kernel)",
            candidate.display()
        );
    }
    Ok(candidate.canonicalize()?)
}

fn server_argv(
    kind: ServerKind,
    net: &Net,
    opts: &RunOptions,
    mode: Mode,
    body_size: Option<usize>,
    self_exe: &Path,
    xdptcp_bin: Option<&Path>,
) -> Vec<String> {
    let mut argv: Vec<String> = match kind {
        ServerKind::Xdptcp => {
            let bin = xdptcp_bin
                .expect("found before the run")
                .display()
                .to_string();
            let mut a = vec![bin, "serve".into(), "--iface".into(), net.iface().into()];
            if let Net::Host { addr, .. } = net {
                a.extend(["--addr".into(), addr.to_string()]);
            }
            if let Some(core) = opts.server_core {
                a.extend(["--cores".into(), core.to_string()]);
            }
            a
        }
        ServerKind::Kernel => {
            let mut a = vec![self_exe.display().to_string(), "kernel-server".into()];
            a.extend(["--addr".into(), net.server_ip().to_string()]);
            if let Some(core) = opts.server_core {
                a.extend(["--core".into(), core.to_string()]);
            }
            a
        }
    };
    argv.extend([
        "--port".into(),
        opts.port.to_string(),
        "--app".into(),
        mode.app().into(),
    ]);
    if let Some(b) = body_size {
        argv.extend(["--body-size".into(), b.to_string()]);
    }
    argv
}

/// The client of one measurement.
enum Client {
    /// Kernel sockets, on threads in the client namespace.
    Kernel,
    /// `xdptcp connect` in the client namespace, writing its histogram to `hlog`.
    Stack { bin: PathBuf, hlog: PathBuf },
}

/// A client under way.
enum Running {
    Kernel(JoinHandle<Result<ClientResult>>),
    Stack(Box<StackClient>),
}

impl Running {
    fn is_finished(&mut self) -> bool {
        match self {
            Running::Kernel(t) => t.is_finished(),
            Running::Stack(c) => c.is_finished(),
        }
    }
}

/// Starts the server, runs the client through warm-up and measurement, reads the server's
/// CPU time and the client's retransmissions at both edges of the window, stops the server.
fn measure(
    net: &Net,
    opts: &RunOptions,
    mode: Mode,
    kind: ServerKind,
    tag: &str,
    argv: &[String],
    client: &Client,
) -> Result<(Figures, Histogram<u64>, SystemTime)> {
    progress(tag, &format!("starting: {}", argv.join(" ")));
    let argv_ref: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut server = net.spawn_server(tag, &argv_ref)?;
    server.wait_for_line(
        "the `ready` line",
        netns_tests::daemon::READY_TIMEOUT,
        |l| l.starts_with("ready"),
    )?;
    let pid = program_pid(server.pid());
    let cfg = ClientConfig {
        mode,
        addr: SocketAddrV4::new(net.server_ip(), opts.port),
        size: opts.size,
        conns: opts.conns,
        core: opts.client_core,
    };
    progress(
        tag,
        &format!(
            "warm-up {} s, then measuring {} s",
            opts.warmup.as_secs_f64(),
            opts.duration.as_secs_f64()
        ),
    );
    let (mut running, sched) = match client {
        Client::Kernel => {
            let sched = Schedule::timed(opts.warmup, opts.duration);
            (Running::Kernel(net.start_client(cfg, sched)), sched)
        }
        Client::Stack { bin, hlog } => {
            let Net::Testbed(tb) = net else {
                bail!("the xdptcp client needs the namespace testbed");
            };
            let scfg = StackClientConfig {
                bin,
                iface: &tb.cli_if,
                remote: cfg.addr,
                mode,
                size: opts.size,
                conns: opts.conns,
                warmup: opts.warmup,
                duration: opts.duration,
                core: opts.client_core,
                hlog: hlog.clone(),
            };
            progress(tag, &format!("client: {}", scfg.argv().join(" ")));
            let c = StackClient::start(&tb.cli, tag, &scfg)?;
            // Its warm-up starts about when it prints `ready`.
            let sched = Schedule::timed(opts.warmup, opts.duration);
            (Running::Stack(Box::new(c)), sched)
        }
    };
    wait_until_instant(sched.measure_from, || running.is_finished());
    let window_start = SystemTime::now();
    let cpu0 = sys::process_cpu_seconds(pid).ok();
    let rt0 = net.client_retrans();
    wait_until_instant(sched.until, || running.is_finished());
    let cpu1 = sys::process_cpu_seconds(pid).ok();
    let rt1 = net.client_retrans();
    let (result, stack_retrans) = match running {
        Running::Kernel(t) => (
            t.join().map_err(|_| anyhow!("client thread panicked"))?,
            None,
        ),
        Running::Stack(c) => match c.finish() {
            Ok((r, retrans)) => (Ok(r), retrans),
            Err(e) => (Err(e), None),
        },
    };
    let stop = server.signal_and_wait(libc::SIGTERM, netns_tests::daemon::EXIT_TIMEOUT);
    // The server's output (the daemon's exit counters: retransmissions, drops) for later.
    let server_log = opts
        .results
        .join(format!("{}.server.log", tag.replace('/', "-")));
    let _ = std::fs::write(server_log, server.output());
    if let Ok((status, _)) = &stop {
        if !status.success() && status.code() != Some(143) && kind == ServerKind::Xdptcp {
            progress(tag, &format!("warning: server exited with {status}"));
        }
    }
    if kind == ServerKind::Xdptcp {
        if let Net::Testbed(tb) = net {
            if tb.srv_xdp_attached().unwrap_or(false) {
                progress(
                    tag,
                    "warning: an XDP program is still attached after the daemon exited",
                );
            }
        }
    }
    let result = result.with_context(|| {
        let out = server.output();
        let tail: Vec<&str> = out.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("client against {tag} (server's last lines: {:?})", tail)
    })?;
    if result.txns == 0 {
        bail!(
            "no transaction completed in the measurement window ({} errors)",
            result.errors
        );
    }
    let server_cpu_s = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let figures = Figures {
        txns: result.txns,
        seconds: result.elapsed.as_secs_f64(),
        txn_per_s: result.txn_per_sec(),
        mb_per_s: result.mb_per_sec(),
        latency_us: Percentiles::of(&result.hist),
        server_cpu_s,
        server_cpu_us_per_txn: server_cpu_s.map(|c| c * 1e6 / result.txns as f64),
        // The stack's own count (warm-up included) when it is the client: the kernel's
        // RetransSegs of the client namespace sees none of its segments.
        client_retrans_segs: match (client, rt0, rt1) {
            (Client::Stack { .. }, ..) => stack_retrans,
            (Client::Kernel, Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        },
        errors: result.errors,
    };
    Ok((figures, result.hist, window_start))
}

/// Sleeps until `deadline`, waking early if `stop()` turns true.
fn wait_until_instant(deadline: Instant, mut stop: impl FnMut() -> bool) {
    loop {
        let now = Instant::now();
        if now >= deadline || stop() {
            return;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(20)));
    }
}

/// The pid of the program itself: `ip netns exec` execs in place, but if it ever forks, the
/// program is its only child.
fn program_pid(pid: u32) -> u32 {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm.trim() != "ip" {
        return pid;
    }
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()
        .and_then(|c| c.split_whitespace().next()?.parse().ok())
        .unwrap_or(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_servers_get_distinct_labels() {
        use ServerKind::*;
        assert_eq!(server_labels(&[Xdptcp, Kernel]), ["xdptcp", "kernel"]);
        assert_eq!(server_labels(&[Kernel, Kernel]), ["kernel", "kernel-2"]);
    }
}
