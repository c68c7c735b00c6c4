//! `xdptcp-bench run`: for each mode, the same client against each server in turn, on the
//! same veth pair between two fresh namespaces (or on a given interface), then tables,
//! histogram logs, plots and the JSON summary.
//!
//! The machines this runs on are shared and noisy, so each mode runs `--rounds` times,
//! alternating the servers (xdptcp, kernel, xdptcp, kernel, ...), each time with a fresh
//! server process; the report gives each figure's median over the rounds and each ratio's
//! median and min-max over the per-round ratios (`report.rs`), and keeps every round.
//!
//! The client is kernel sockets (`client.rs`) or, with `--client xdptcp`, the stack itself
//! (`xdptcp connect` in the client namespace, rr and crr only; `stack_client.rs`).
//!
//! `--family 6` runs the same modes over IPv6: the testbed gets its fd00:: addresses, the
//! daemon serves the server's IPv6 address alone (`--addr`), the kernel server listens on
//! it and both clients connect to it. `reflect` crafts raw IPv4 frames and is skipped.

use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    process::Command,
    str::FromStr,
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime},
};

use anyhow::{anyhow, bail, Context, Result};
use hdrhistogram::Histogram;
use netns_tests::{Family, Process, Testbed};

use crate::{
    client::{run_client, ClientConfig, ClientResult, Mode, Schedule},
    hist::{new_histogram, write_hlog},
    reflect::{self as raw_reflect, Endpoints, PointConfig, PointResult},
    report::{
        CrrVsReflect, Figures, ModeResult, ReflectCeiling, ReflectPoint, ReflectResult,
        RoundResult, RttUs, RunConfig, ServerFrames, ServerResult, Summary,
    },
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
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Xdptcp => "xdptcp",
            ServerKind::Kernel => "kernel",
        }
    }
}

/// `--family`: `4` or `6` (`ipv4`, `ipv6`, `v4`, `v6` too).
pub fn parse_family(s: &str) -> std::result::Result<Family, String> {
    match s.to_ascii_lowercase().as_str() {
        "4" | "v4" | "ipv4" | "inet" => Ok(Family::V4),
        "6" | "v6" | "ipv6" | "inet6" => Ok(Family::V6),
        _ => Err(format!("unknown address family {s:?} (4 or 6)")),
    }
}

/// "IPv4" or "IPv6", for tables, captions and the summary.
pub fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
    }
}

/// The family of `ip`.
pub fn family_of(ip: IpAddr) -> Family {
    match ip {
        IpAddr::V4(_) => Family::V4,
        IpAddr::V6(_) => Family::V6,
    }
}

/// The run's address family: `--family` if given, else that of `--addr` (host mode), else
/// IPv4. A `--family` that contradicts `--addr` is an error.
pub fn resolve_family(given: Option<Family>, host_addr: Option<IpAddr>) -> Result<Family> {
    match (given, host_addr.map(family_of)) {
        (Some(f), Some(a)) if f != a => bail!(
            "--family {} does not match --addr, an {} address",
            if f == Family::V6 { 6 } else { 4 },
            family_name(a)
        ),
        (Some(f), _) | (None, Some(f)) => Ok(f),
        (None, None) => Ok(Family::V4),
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
    /// Alternating rounds per mode: every server once per round (at least 1).
    pub rounds: usize,
    /// A real interface and its address (of `family`): no namespaces, everything in this
    /// one.
    pub iface: Option<(String, IpAddr)>,
    /// The address family the servers are reached over.
    pub family: Family,
    pub port: u16,
    /// HTTP body of the `download` mode.
    pub download_body: usize,
    /// Who generates the load.
    pub client: ClientKind,
    /// Frames in flight at each point of the `reflect` sweep (1 gives the round trip alone).
    pub reflect_windows: Vec<usize>,
}

/// Where the servers and the client run.
enum Net {
    /// The namespace testbed, reached over `Family` (IPv6 enabled on it for V6).
    Testbed(Testbed, Family),
    Host {
        iface: String,
        addr: IpAddr,
    },
}

impl Net {
    /// The address the servers serve and the clients connect to.
    fn server_ip(&self) -> IpAddr {
        match self {
            Net::Testbed(tb, Family::V4) => IpAddr::V4(tb.srv_ip),
            Net::Testbed(tb, Family::V6) => IpAddr::V6(tb.srv_ip6),
            Net::Host { addr, .. } => *addr,
        }
    }

    fn family(&self) -> Family {
        family_of(self.server_ip())
    }

    fn iface(&self) -> &str {
        match self {
            Net::Testbed(tb, _) => &tb.srv_if,
            Net::Host { iface, .. } => iface,
        }
    }

    fn describe(&self) -> String {
        match self {
            Net::Testbed(tb, family) => {
                let (cli, srv) = match family {
                    Family::V4 => (IpAddr::V4(tb.cli_ip), IpAddr::V4(tb.srv_ip)),
                    Family::V6 => (IpAddr::V6(tb.cli_ip6), IpAddr::V6(tb.srv_ip6)),
                };
                format!(
                    "veth pair between network namespaces ({} {cli} <-> {} {srv}) over {}, \
                     1 queue",
                    tb.cli.name(),
                    tb.srv.name(),
                    family_name(*family)
                )
            }
            Net::Host { iface, addr } => format!(
                "interface {iface} ({addr}) over {}, no namespaces",
                family_name(family_of(*addr))
            ),
        }
    }

    fn spawn_server(&self, label: &str, argv: &[&str]) -> Result<Process> {
        match self {
            Net::Testbed(tb, _) => tb.srv.spawn(label, argv),
            Net::Host { .. } => {
                let mut cmd = Command::new(argv[0]);
                cmd.args(&argv[1..]);
                Process::spawn(label, &mut cmd)
            }
        }
    }

    fn start_client(&self, cfg: ClientConfig, sched: Schedule) -> JoinHandle<Result<ClientResult>> {
        match self {
            Net::Testbed(tb, _) => tb.cli.spawn_in(move || run_client(&cfg, sched)),
            Net::Host { .. } => std::thread::spawn(move || run_client(&cfg, sched)),
        }
    }

    /// RetransSegs of the client's namespace.
    fn client_retrans(&self) -> Option<u64> {
        let snmp = match self {
            // TCP's MIB (RetransSegs among it) counts IPv4 and IPv6 together.
            Net::Testbed(tb, _) => tb.cli.run_ok(&["cat", "/proc/net/snmp"]).ok()?,
            Net::Host { .. } => std::fs::read_to_string("/proc/net/snmp").ok()?,
        };
        sys::parse_retrans_segs(&snmp)
    }
}

/// Runs every mode against every server, in alternating rounds, and writes the results
/// directory.
pub fn run(opts: &RunOptions) -> Result<Summary> {
    if opts.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    if let Some((_, addr)) = &opts.iface {
        if family_of(*addr) != opts.family {
            bail!(
                "--addr {addr} is not an {} address (--family)",
                family_name(opts.family)
            );
        }
    }
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
                &format!(
                    "creating the testbed (two namespaces, one veth pair, {})",
                    family_name(opts.family)
                ),
            );
            let tb = Testbed::with_family(1, opts.family)?;
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
            Net::Testbed(tb, opts.family)
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
    let mut reflect = None;
    for &mode in &opts.modes {
        if mode == Mode::Reflect {
            let skip = match (&net, &xdptcp_bin) {
                _ if !opts.servers.contains(&ServerKind::Xdptcp) => {
                    Some("it measures the xdptcp daemon's AF_XDP path; --servers has no xdptcp")
                }
                _ if net.family() == Family::V6 => Some(
                    "it sends raw IPv4 frames and has no IPv6 client; --family 6 runs the TCP \
                     modes only",
                ),
                (Net::Host { .. }, _) => Some("it needs the namespace testbed (its client veth)"),
                (_, None) => Some("no xdptcp daemon"),
                _ => None,
            };
            match (skip, &net, &xdptcp_bin) {
                (None, Net::Testbed(tb, _), Some(bin)) => {
                    let r = run_reflect(tb, opts, bin);
                    println!("{}", r.text_table());
                    reflect = Some(r);
                }
                (why, ..) => {
                    let why = why.unwrap_or("not runnable here");
                    progress("reflect", &format!("skipped: {why}"));
                    println!("== reflect skipped: {why} ==\n");
                }
            }
            continue;
        }
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
            family: Some(family_name(net.family()).into()),
            unit: mode.unit_of_work().into(),
            size: opts.size,
            conns: opts.conns,
            body_size,
            rounds: opts.rounds,
            servers: Vec::new(),
            ratios: None,
            plot: None,
        };
        let bench = Bench {
            net: &net,
            opts,
            self_exe: &self_exe,
            xdptcp_bin: xdptcp_bin.as_deref(),
        };
        let labels = server_labels(&opts.servers);
        let mut rounds: Vec<Vec<RoundResult>> = vec![Vec::new(); labels.len()];
        let mut merged: Vec<Option<Histogram<u64>>> = vec![None; labels.len()];
        // Every server once per round, in --servers order, round after round: whatever the
        // shared machine does meanwhile falls on all of them alike, and each round gives one
        // ratio.
        for round in 1..=opts.rounds {
            for (i, (&kind, label)) in opts.servers.iter().zip(&labels).enumerate() {
                let measured = bench.round(mode, body_size, kind, label, round, &result)?;
                let (r, hist) = measured;
                if let Some(h) = hist {
                    merged[i]
                        .get_or_insert_with(new_histogram)
                        .add(&h)
                        .map_err(|e| anyhow!("merging the rounds' histograms: {e:?}"))?;
                }
                rounds[i].push(r);
            }
        }
        result.servers = labels
            .into_iter()
            .zip(rounds)
            .map(|(label, r)| ServerResult::new(label, r))
            .collect();
        result.compute_ratios();
        let series: Vec<svg::Series> = merged
            .iter()
            .zip(&result.servers)
            .enumerate()
            .filter_map(|(i, (h, s))| {
                let mut line = svg::series_from_histogram(&s.server, h.as_ref()?);
                line.color = i;
                Some(line)
            })
            .collect();
        if !series.is_empty() {
            let plot = format!("{}.svg", mode.name());
            let doc = svg::render(
                &format!("{} latency by percentile", result.caption()),
                &format!(
                    "one sample = one {}; {} round(s) of {} s per server, merged",
                    mode.unit_of_work(),
                    opts.rounds,
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

    let crr_vs_reflect = crr_vs_reflect(&modes, reflect.as_ref());
    if let Some(c) = &crr_vs_reflect {
        println!("{}\n", c.line());
    }
    let summary = Summary {
        tool: format!("xdptcp-bench {}", env!("CARGO_PKG_VERSION")),
        started,
        machine,
        config: RunConfig {
            duration_s: opts.duration.as_secs_f64(),
            warmup_s: opts.warmup.as_secs_f64(),
            rounds: opts.rounds,
            server_core: opts.server_core,
            client_core: opts.client_core,
            family: family_name(net.family()).into(),
            network: format!(
                "{}; client: {}",
                net.describe(),
                describe_client(opts.client, opts.client_core)
            ),
            xdptcp_bin: xdptcp_bin.map(|p| p.display().to_string()),
        },
        modes,
        reflect,
        crr_vs_reflect,
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
            // The testbed over IPv4 leaves the daemon its default (the interface's IPv4
            // address); over IPv6 it serves the IPv6 address alone, so every connection
            // measured is an IPv6 one.
            if matches!(net, Net::Host { .. } | Net::Testbed(_, Family::V6)) {
                a.extend(["--addr".into(), net.server_ip().to_string()]);
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

/// What every measurement of a run shares.
struct Bench<'a> {
    net: &'a Net,
    opts: &'a RunOptions,
    self_exe: &'a Path,
    xdptcp_bin: Option<&'a Path>,
}

impl Bench<'_> {
    /// One server in one round of `mode`, with a fresh server process: its figures (or its
    /// error) and histogram, which is also written to the results as
    /// `<mode>-<server>-round<N>.hlog`. Only writing the results can fail.
    fn round(
        &self,
        mode: Mode,
        body_size: Option<usize>,
        kind: ServerKind,
        label: &str,
        round: usize,
        result: &ModeResult,
    ) -> Result<(RoundResult, Option<Histogram<u64>>)> {
        let opts = self.opts;
        let argv = server_argv(
            kind,
            self.net,
            opts,
            mode,
            body_size,
            self.self_exe,
            self.xdptcp_bin,
        );
        let tag = format!("{}/{label} {round}/{}", mode.name(), opts.rounds);
        // This measurement's files: <stem>.hlog, <stem>.server.log, <stem>.client.hlog.
        let stem = format!("{}-{label}-round{round}", mode.name());
        let client = match opts.client {
            ClientKind::Kernel => Client::Kernel,
            ClientKind::Xdptcp => Client::Stack {
                bin: self.xdptcp_bin.expect("found before the run").into(),
                hlog: opts.results.join(format!("{stem}.client.hlog")),
            },
        };
        let (figures, hist, window_start) =
            match self.measure(mode, kind, &tag, &stem, &argv, &client) {
                Ok(m) => m,
                Err(e) => {
                    progress(&tag, &format!("FAILED: {e:#}"));
                    let failed = RoundResult {
                        round,
                        error: Some(format!("{e:#}")),
                        figures: None,
                        hlog: None,
                    };
                    return Ok((failed, None));
                }
            };
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
        let hlog = format!("{stem}.hlog");
        let comments = vec![
            format!(
                "xdptcp-bench {} against {label}, round {round} of {}",
                result.caption(),
                opts.rounds
            ),
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
        let r = RoundResult {
            round,
            error: None,
            figures: Some(figures),
            hlog: Some(hlog),
        };
        Ok((r, Some(hist)))
    }

    /// Starts the server, runs the client through warm-up and measurement, reads the
    /// server's CPU time and the client's retransmissions at both edges of the window, stops
    /// the server (its output goes to `<stem>.server.log`).
    fn measure(
        &self,
        mode: Mode,
        kind: ServerKind,
        tag: &str,
        stem: &str,
        argv: &[String],
        client: &Client,
    ) -> Result<(Figures, Histogram<u64>, SystemTime)> {
        let (net, opts) = (self.net, self.opts);
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
            addr: SocketAddr::new(net.server_ip(), opts.port),
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
        let client_started = Instant::now();
        let (mut running, sched) = match client {
            Client::Kernel => {
                let sched = Schedule::timed(opts.warmup, opts.duration);
                (Running::Kernel(net.start_client(cfg, sched)), sched)
            }
            Client::Stack { bin, hlog } => {
                let Net::Testbed(tb, _) = net else {
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
        let server_log = opts.results.join(format!("{stem}.server.log"));
        let _ = std::fs::write(server_log, server.output());
        if let Ok((status, _)) = &stop {
            if !status.success() && status.code() != Some(143) && kind == ServerKind::Xdptcp {
                progress(tag, &format!("warning: server exited with {status}"));
            }
        }
        if kind == ServerKind::Xdptcp {
            if let Net::Testbed(tb, _) = net {
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
        // The daemon's exit counters cover the client's whole run (warm-up + measurement); crr
        // and the others load it evenly from the first to the last second.
        let server_frames = (kind == ServerKind::Xdptcp)
            .then(|| {
                let c = netns_tests::ExitCounters::parse(&server.output());
                let (rx, tx) = (c.total("rx_frames"), c.total("tx_frames"));
                let span = sched
                    .until
                    .saturating_duration_since(client_started)
                    .as_secs_f64();
                let fps = (rx + tx) as f64 / span.max(1e-9);
                (rx + tx > 0).then(|| ServerFrames {
                    rx_frames: rx,
                    tx_frames: tx,
                    drops: c.total("drops"),
                    span_s: span,
                    frames_per_s: fps,
                    frames_per_txn: fps / result.txn_per_sec().max(1e-9),
                })
            })
            .flatten();
        let figures = Figures {
            server_cpu_s,
            server_cpu_us_per_txn: server_cpu_s.map(|c| c * 1e6 / result.txns as f64),
            // The stack's own count (warm-up included) when it is the client: the kernel's
            // RetransSegs of the client namespace sees none of its segments.
            client_retrans_segs: match (client, rt0, rt1) {
                (Client::Stack { .. }, ..) => stack_retrans,
                (Client::Kernel, Some(a), Some(b)) => Some(b.saturating_sub(a)),
                _ => None,
            },
            server_frames,
            ..Figures::of_client(&result)
        };
        Ok((figures, result.hist, window_start))
    }
}

/// crr's frame rate on the (first) xdptcp server, its median over the rounds, against the
/// reflect ceiling.
fn crr_vs_reflect(modes: &[ModeResult], reflect: Option<&ReflectResult>) -> Option<CrrVsReflect> {
    let ceiling = reflect?.ceiling.as_ref()?;
    let crr = modes.iter().find(|m| m.mode == Mode::Crr.name())?;
    let (server, frames) = crr.servers.iter().find_map(|s| {
        let frames = s.stats.get("server_frames_per_s")?.median;
        Some((s.server.clone(), frames))
    })?;
    let ratio = frames / ceiling.server_frames_per_s.max(1e-9);
    Some(CrrVsReflect {
        crr_server: server,
        crr_frames_per_s: frames,
        reflect_frames_per_s: ceiling.server_frames_per_s,
        ratio,
        goal: 0.5,
        meets_goal: ratio >= 0.5,
    })
}

/// Warm-up of each point of the reflect sweep at most.
const REFLECT_MAX_WARMUP: Duration = Duration::from_millis(100);

/// The `reflect` mode: `xdptcp reflect` in the server namespace, the raw client in the client
/// namespace, one point per window size. Failures end up in the result's `error`.
fn run_reflect(tb: &Testbed, opts: &RunOptions, bin: &Path) -> ReflectResult {
    let frame_bytes =
        raw_reflect::template_frame(&reflect_endpoints(tb, opts.port, [0; 6], [0; 6])).len();
    let mut r = ReflectResult {
        server: "xdptcp reflect".into(),
        error: None,
        frame_bytes,
        payload_bytes: raw_reflect::PAYLOAD,
        points: Vec::new(),
        ceiling: None,
        rtt_k1_us: None,
        server_counters: None,
        client_sent: 0,
        client_received: 0,
        hlog: None,
        plot: None,
    };
    if let Err(e) = reflect_inner(tb, opts, bin, &mut r) {
        progress("reflect", &format!("FAILED: {e:#}"));
        r.error = Some(format!("{e:#}"));
    }
    r
}

fn reflect_endpoints(tb: &Testbed, port: u16, cli_mac: [u8; 6], srv_mac: [u8; 6]) -> Endpoints {
    Endpoints {
        ifname: tb.cli_if.clone(),
        client_mac: cli_mac,
        server_mac: srv_mac,
        client_ip: tb.cli_ip,
        server_ip: tb.srv_ip,
        client_port: raw_reflect::CLIENT_PORT,
        server_port: port,
    }
}

/// The MAC address of `ifname` in `ns`.
fn read_mac(ns: &netns_tests::Netns, ifname: &str) -> Result<[u8; 6]> {
    let text = ns.run_ok(&["cat", &format!("/sys/class/net/{ifname}/address")])?;
    let mut mac = [0u8; 6];
    let mut parts = text.trim().split(':');
    for b in mac.iter_mut() {
        *b = parts
            .next()
            .and_then(|p| u8::from_str_radix(p, 16).ok())
            .with_context(|| format!("MAC of {ifname}: {text:?}"))?;
    }
    Ok(mac)
}

fn rtt_us(h: &Histogram<u64>) -> Option<RttUs> {
    (!h.is_empty()).then(|| RttUs {
        min: h.min() as f64 / 1000.0,
        mean: h.mean() / 1000.0,
        p50: raw_reflect::us_at(h, 0.5),
        p90: raw_reflect::us_at(h, 0.9),
        p99: raw_reflect::us_at(h, 0.99),
        p99_9: raw_reflect::us_at(h, 0.999),
        max: h.max() as f64 / 1000.0,
    })
}

fn reflect_inner(tb: &Testbed, opts: &RunOptions, bin: &Path, r: &mut ReflectResult) -> Result<()> {
    let windows: Vec<usize> = opts.reflect_windows.iter().map(|&k| k.max(1)).collect();
    if windows.is_empty() {
        bail!("no --reflect-windows");
    }
    let tag = "reflect/xdptcp";
    let mut argv = vec![
        bin.display().to_string(),
        "reflect".into(),
        "--iface".into(),
        tb.srv_if.clone(),
        "--port".into(),
        opts.port.to_string(),
    ];
    if let Some(core) = opts.server_core {
        argv.extend(["--cores".into(), core.to_string()]);
    }
    let ep = reflect_endpoints(
        tb,
        opts.port,
        read_mac(&tb.cli, &tb.cli_if)?,
        read_mac(&tb.srv, &tb.srv_if)?,
    );
    // The reflected frames reach the client kernel too (AF_PACKET sees them first): drop them
    // before it answers with RSTs, which would be steered and reflected in turn. The raw table
    // drops before routing and conntrack (cheaper on the core that receives them); INPUT if
    // this kernel has no raw table.
    let port = opts.port.to_string();
    let spec = ["-p", "tcp", "--sport", &port, "-j", "DROP"];
    let _no_rst = match tb
        .cli
        .iptables_append("PREROUTING", &[&["-t", "raw"], &spec[..]].concat())
    {
        Ok(rule) => rule,
        Err(_) => tb.cli.iptables_append("INPUT", &spec)?,
    };
    progress(
        "reflect/xdptcp",
        &format!("client namespace: iptables {}", _no_rst.describe()),
    );
    progress(tag, &format!("starting: {}", argv.join(" ")));
    let argv_ref: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut server = tb.srv.spawn(tag, &argv_ref)?;
    server.wait_for_line(
        "the `ready` line",
        netns_tests::daemon::READY_TIMEOUT,
        |l| l.starts_with("ready"),
    )?;
    let pid = program_pid(server.pid());
    // The sweep takes about one server slot of the other modes: the measured time split
    // evenly, and a short warm-up per point (no handshake, ARP or slow start to wait for).
    let n = windows.len() as u32;
    let (warmup, duration) = ((opts.warmup / n).min(REFLECT_MAX_WARMUP), opts.duration / n);
    progress(
        tag,
        &format!(
            "windows {windows:?}: {:.2} s warm-up + {:.2} s measured each; client {}",
            warmup.as_secs_f64(),
            duration.as_secs_f64(),
            opts.client_core
                .map_or("unpinned".into(), |c| format!("on core {c}")),
        ),
    );
    let core = opts.client_core;
    let points_cfg: Vec<PointConfig> = windows
        .iter()
        .map(|&window| PointConfig {
            window,
            warmup,
            duration,
        })
        .collect();
    let client = tb.cli.spawn_in(move || -> Result<Vec<PointResult>> {
        if let Some(c) = core {
            sys::pin_current_thread(c)?;
        }
        let mut link = raw_reflect::RawLink::open(ep)?;
        let mut epoch = 0;
        let mut out = Vec::new();
        for cfg in &points_cfg {
            let p = link.run_point(cfg, &mut epoch, || sys::process_cpu_seconds(pid).ok())?;
            progress(
                "reflect/xdptcp",
                &format!(
                    "window {}: {:.0} reflected frames/s, rtt p50 {:.1} µs p99 {:.1} µs, lost {}",
                    p.window,
                    p.frames_per_s(),
                    raw_reflect::us_at(&p.rtt_ns, 0.5),
                    raw_reflect::us_at(&p.rtt_ns, 0.99),
                    p.lost
                ),
            );
            out.push(p);
        }
        Ok(out)
    });
    let window_start = SystemTime::now();
    let points = client
        .join()
        .map_err(|_| anyhow!("reflect client panicked"));
    let stop = server.signal_and_wait(libc::SIGTERM, netns_tests::daemon::EXIT_TIMEOUT);
    let out = server.output();
    let _ = std::fs::write(opts.results.join("reflect-xdptcp.server.log"), &out);
    if let Ok((status, _)) = &stop {
        if !status.success() && status.code() != Some(143) {
            progress(tag, &format!("warning: server exited with {status}"));
        }
    }
    if tb.srv_xdp_attached().unwrap_or(false) {
        progress(
            tag,
            "warning: an XDP program is still attached after the daemon exited",
        );
    }
    let c = netns_tests::ExitCounters::parse(&out);
    if !c.queues.is_empty() {
        let mut m = std::collections::BTreeMap::new();
        for k in [
            "rx_frames",
            "tx_frames",
            "drops",
            "tx_dropped",
            "rx_ring_full",
            "rx_dropped",
        ] {
            m.insert(k.to_string(), c.total(k));
        }
        m.insert("xdp_steered".into(), c.xdp("steered"));
        r.server_counters = Some(m);
    }
    let points = points?.with_context(|| {
        let tail: Vec<&str> = out.lines().rev().take(5).collect();
        format!(
            "reflect client (server's last lines: {:?})",
            tail.into_iter().rev().collect::<Vec<_>>()
        )
    })?;
    for p in &points {
        r.client_sent += p.sent;
        r.client_received += p.received;
        let fps = p.frames_per_s();
        r.points.push(ReflectPoint {
            window: p.window,
            seconds: p.seconds,
            frames: p.frames,
            reflected_per_s: fps,
            server_frames_per_s: 2.0 * fps,
            rtt_us: rtt_us(&p.rtt_ns),
            sent: p.sent,
            received: p.received,
            lost: p.lost,
            bad: p.bad,
            server_cpu_s: p.server_cpu_s,
            server_busy: p.server_cpu_s.map(|c| c / p.seconds.max(1e-9)),
        });
    }
    r.ceiling = r
        .points
        .iter()
        .max_by(|a, b| a.reflected_per_s.total_cmp(&b.reflected_per_s))
        .filter(|p| p.frames > 0)
        .map(|p| ReflectCeiling {
            window: p.window,
            reflected_per_s: p.reflected_per_s,
            server_frames_per_s: p.server_frames_per_s,
        });
    if let Some(k1) = points
        .iter()
        .find(|p| p.window == 1 && !p.rtt_ns.is_empty())
    {
        r.rtt_k1_us = rtt_us(&k1.rtt_ns);
        let us = raw_reflect::to_us(&k1.rtt_ns);
        let hlog = "reflect-xdptcp.hlog".to_string();
        let comments = vec![
            format!("xdptcp-bench {} against xdptcp reflect", r.caption()),
            "values in microseconds; one sample = one frame's round trip, window 1".into(),
        ];
        write_hlog(
            &opts.results.join(&hlog),
            &us,
            "xdptcp-reflect",
            &comments,
            window_start,
            duration,
        )?;
        r.hlog = Some(hlog);
        let series: Vec<_> = points
            .iter()
            .filter(|p| !p.rtt_ns.is_empty())
            .enumerate()
            .map(|(i, p)| {
                let mut line = svg::series_from_histogram(
                    &format!("window {}", p.window),
                    &raw_reflect::to_us(&p.rtt_ns),
                );
                line.color = i;
                line
            })
            .collect();
        let plot = "reflect.svg".to_string();
        let doc = svg::render(
            "reflect round trip by percentile",
            &format!(
                "one sample = one {} B frame through xdptcp reflect and back (µs resolution); {:.2} s per window",
                r.frame_bytes,
                duration.as_secs_f64()
            ),
            &series,
        );
        std::fs::write(opts.results.join(&plot), doc)?;
        r.plot = Some(plot);
    }
    let bad: u64 = points.iter().map(|p| p.bad).sum();
    if bad > 0 {
        bail!("{bad} reflected frame(s) came back with a bad checksum");
    }
    if r.ceiling.is_none() {
        bail!("no frame came back in any measurement window");
    }
    Ok(())
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

    fn options(iface: Option<(String, IpAddr)>, family: Family) -> RunOptions {
        RunOptions {
            modes: vec![Mode::Rr],
            duration: Duration::from_secs(1),
            warmup: Duration::ZERO,
            size: 64,
            conns: 1,
            server_core: Some(1),
            client_core: Some(0),
            results: PathBuf::from("/nonexistent"),
            xdptcp_bin: None,
            servers: vec![ServerKind::Xdptcp, ServerKind::Kernel],
            rounds: 1,
            iface,
            family,
            port: 7777,
            download_body: 1 << 20,
            client: ClientKind::Kernel,
            reflect_windows: vec![1],
        }
    }

    #[test]
    fn both_servers_are_given_the_ipv6_address() {
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let opts = options(Some(("eth1".into(), ip)), Family::V6);
        let net = Net::Host {
            iface: "eth1".into(),
            addr: ip,
        };
        assert_eq!(net.family(), Family::V6);
        assert!(net.describe().contains("over IPv6"), "{}", net.describe());
        let argv = |kind| {
            server_argv(
                kind,
                &net,
                &opts,
                Mode::Rr,
                None,
                Path::new("/bin/xdptcp-bench"),
                Some(Path::new("/bin/xdptcp")),
            )
            .join(" ")
        };
        let x = argv(ServerKind::Xdptcp);
        assert!(
            x.starts_with("/bin/xdptcp serve --iface eth1 --addr 2001:db8::1 "),
            "{x}"
        );
        let k = argv(ServerKind::Kernel);
        assert!(k.contains("kernel-server --addr 2001:db8::1 "), "{k}");
    }

    #[test]
    fn an_address_of_the_other_family_is_refused_before_anything_runs() {
        let opts = options(
            Some(("eth1".into(), "10.0.0.1".parse().unwrap())),
            Family::V6,
        );
        let e = run(&opts).unwrap_err().to_string();
        assert!(e.contains("not an IPv6 address"), "{e}");
    }

    #[test]
    fn families_parse_and_resolve() {
        assert_eq!(parse_family("6"), Ok(Family::V6));
        assert_eq!(parse_family("IPv4"), Ok(Family::V4));
        assert!(parse_family("5").is_err());
        let v6: IpAddr = "fd00::1".parse().unwrap();
        assert_eq!(resolve_family(None, None).unwrap(), Family::V4);
        assert_eq!(resolve_family(None, Some(v6)).unwrap(), Family::V6);
        assert_eq!(
            resolve_family(Some(Family::V6), Some(v6)).unwrap(),
            Family::V6
        );
        assert!(resolve_family(Some(Family::V4), Some(v6)).is_err());
    }

    #[test]
    fn repeated_servers_get_distinct_labels() {
        use ServerKind::*;
        assert_eq!(server_labels(&[Xdptcp, Kernel]), ["xdptcp", "kernel"]);
        assert_eq!(server_labels(&[Kernel, Kernel]), ["kernel", "kernel-2"]);
    }
}
