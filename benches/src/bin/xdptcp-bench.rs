//! `xdptcp-bench`: latency and throughput of xdptcp against the Linux kernel, side by side.
//!
//! - `run`: builds a veth testbed and runs every mode against each server in turn, in
//!   alternating rounds.
//! - `client`: one client against any server (a real NIC, another machine).
//! - `kernel-server`: the epoll reference server.

use std::{
    io::Write,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use anyhow::{bail, Context, Result};
use benches::{
    client::{run_client, ClientConfig, Mode, Schedule},
    conns::{self, ConnsOptions},
    hist::write_hlog,
    kernel_server::{self, App},
    report::{Figures, ModeResult, RoundResult, ServerResult},
    run::{family_name, family_of, parse_family, resolve_family, run, RunOptions, ServerKind},
    stack_client::ClientKind,
    sys,
};
use clap::{Args, Parser, Subcommand};
use netns_tests::Family;

#[derive(Parser)]
#[command(
    name = "xdptcp-bench",
    version,
    about = "xdptcp against the Linux kernel: latency, rates, CPU"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Every mode against each server in alternating rounds, on a fresh veth pair between two
    /// namespaces.
    Run(RunArgs),
    /// One client against a running server.
    Client(ClientArgs),
    /// The kernel-socket reference server (epoll, nonblocking, one thread).
    KernelServer(KernelServerArgs),
    /// The example services against the programs people would otherwise run (kv against
    /// redis-server with redis-benchmark, proxy against HAProxy with wrk), alternating rounds.
    Services(ServicesArgs),
    /// Many connections held: the stack as the client opens N to xdptcp or to the kernel,
    /// and the servers' memory per connection, the setup rate and the latency of one more
    /// connection are reported.
    Conns(ConnsArgs),
}

#[derive(Args)]
struct ConnsArgs {
    /// Connection counts to measure, each in turn.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    counts: Vec<usize>,
    /// Servers, alternating within a round.
    #[arg(long, value_delimiter = ',', default_value = "xdptcp,kernel")]
    servers: Vec<ServerKind>,
    /// Counts above this are run against xdptcp only (a kernel socket also takes a file
    /// descriptor and a few KiB).
    #[arg(long, default_value_t = 100_000)]
    kernel_max: usize,
    /// Alternating rounds per count.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Seconds to hold once all are open (at least 10: memory is read 3-8 s in).
    #[arg(long, default_value_t = 12.0)]
    hold: f64,
    /// Seconds between two messages on one held connection.
    #[arg(long, default_value_t = 30.0)]
    interval: f64,
    /// Core of the server.
    #[arg(long, default_value_t = 1)]
    server_core: usize,
    /// Core of the client.
    #[arg(long, default_value_t = 0)]
    client_core: usize,
    /// The daemon (default $XDPTCP_BIN, else `xdptcp` next to this binary).
    #[arg(long)]
    xdptcp_bin: Option<PathBuf>,
    /// Results directory (default results/conns-<UTC timestamp>).
    #[arg(long)]
    results: Option<PathBuf>,
}

#[derive(Args)]
struct ServicesArgs {
    /// kv, proxy.
    #[arg(long, value_delimiter = ',', default_value = "kv,proxy")]
    modes: Vec<String>,
    /// Alternating rounds per mode (stack, reference, stack, ...).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds of wrk per proxy measurement.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// redis-benchmark requests per test per measurement.
    #[arg(long, default_value_t = 300_000)]
    requests: usize,
    /// Client connections of redis-benchmark and wrk.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Core of the servers.
    #[arg(long, default_value_t = 1)]
    server_core: usize,
    /// Core of the clients (and of the proxy's nginx backend).
    #[arg(long, default_value_t = 0)]
    client_core: usize,
    /// The daemon; the examples are taken from `examples/` next to it.
    #[arg(long)]
    xdptcp_bin: Option<PathBuf>,
    /// Results directory (default results/<UTC timestamp>).
    #[arg(long)]
    results: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    /// Modes to run: rr, crr, stream, http, syn, download, reflect.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "rr,crr,stream,http,syn,reflect"
    )]
    modes: Vec<Mode>,
    /// Seconds measured per mode per server.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Seconds of warm-up before measuring (not recorded).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Request/response size in bytes (rr, crr), HTTP body size (http).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Connections (threads) per client; syn keeps 16 handshakes in flight per connection.
    #[arg(long, default_value_t = 1)]
    conns: usize,
    /// Core for the server (default 1 on a multi-core machine).
    #[arg(long)]
    server_core: Option<usize>,
    /// Core for the client threads (default 0).
    #[arg(long)]
    client_core: Option<usize>,
    /// Results directory (default results/<UTC timestamp>).
    #[arg(long)]
    results: Option<PathBuf>,
    /// The daemon (default $XDPTCP_BIN, else `xdptcp` next to this binary).
    #[arg(long)]
    xdptcp_bin: Option<PathBuf>,
    /// Servers, in order; ratios are first/last. `kernel,kernel` checks the tool itself.
    #[arg(long, value_delimiter = ',', default_value = "xdptcp,kernel")]
    servers: Vec<ServerKind>,
    /// Alternating rounds per mode (every server once per round, in --servers order); the
    /// report gives each figure's median and each ratio's median and min-max over the rounds.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Address family the servers are reached over: 4 or 6. With 6 the testbed gets IPv6
    /// addresses, the daemon serves its IPv6 address alone, the kernel server listens on it
    /// and the clients connect to it; reflect (raw IPv4 frames) is skipped. Default: 4, or
    /// the family of --addr.
    #[arg(long, value_parser = parse_family)]
    family: Option<Family>,
    /// Use this interface instead of a namespace testbed (needs --addr).
    #[arg(long, requires = "addr")]
    iface: Option<String>,
    /// The served address on --iface, IPv4 or IPv6.
    #[arg(long, requires = "iface")]
    addr: Option<IpAddr>,
    /// Served TCP port.
    #[arg(long, default_value_t = 7777)]
    port: u16,
    /// HTTP body size of the download mode.
    #[arg(long, default_value_t = 1 << 20)]
    download_body: usize,
    /// The load generator: kernel sockets, or the stack itself (`xdptcp connect` in the
    /// client namespace, pinned to --client-core; rr and crr only, other modes are skipped).
    #[arg(long, default_value = "kernel")]
    client: ClientKind,
    /// Frames in flight at each point of the reflect sweep (1 also gives the round trip of
    /// one frame alone); the points share --duration evenly, each after a warm-up of
    /// --warmup / points (at most 0.1 s).
    #[arg(long, value_delimiter = ',', default_value = "1,8,32,128")]
    reflect_windows: Vec<usize>,
}

#[derive(Args)]
struct ClientArgs {
    #[arg(long, default_value = "rr")]
    mode: Mode,
    /// The server's address, IPv4 or IPv6.
    #[arg(long)]
    addr: IpAddr,
    #[arg(long)]
    port: u16,
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    #[arg(long, default_value_t = 64)]
    size: usize,
    #[arg(long, default_value_t = 1)]
    conns: usize,
    /// Pin the client threads to this core.
    #[arg(long)]
    core: Option<usize>,
    /// Name of the server in the table and the log.
    #[arg(long, default_value = "server")]
    label: String,
    /// Also write the histogram as an HdrHistogram log here.
    #[arg(long)]
    hlog: Option<PathBuf>,
    /// Print the figures as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct KernelServerArgs {
    #[arg(long)]
    port: u16,
    /// Address to listen on, IPv4 or IPv6.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    addr: IpAddr,
    #[arg(long, default_value = "echo")]
    app: App,
    /// Body size of the http app.
    #[arg(long, default_value_t = 64)]
    body_size: usize,
    /// Pin the server thread to this core.
    #[arg(long)]
    core: Option<usize>,
}

/// The daemon: `--xdptcp-bin`, else `$XDPTCP_BIN`, else `xdptcp` next to this binary.
fn daemon_path(given: Option<PathBuf>) -> Result<PathBuf> {
    Ok(match given {
        Some(p) => p,
        None => match std::env::var_os("XDPTCP_BIN") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => std::env::current_exe()?.with_file_name("xdptcp"),
        },
    })
}

fn secs(s: f64) -> Result<Duration> {
    if !(s.is_finite() && s >= 0.0) {
        bail!("bad duration {s}");
    }
    Ok(Duration::from_secs_f64(s))
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("xdptcp-bench: error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Run(a) => {
            let multi = sys::MachineInfo::read().nproc > 1;
            let family = resolve_family(a.family, a.addr)?;
            let opts = RunOptions {
                modes: a.modes,
                duration: secs(a.duration)?,
                warmup: secs(a.warmup)?,
                size: a.size,
                conns: a.conns,
                server_core: a.server_core.or(Some(if multi { 1 } else { 0 })),
                client_core: a.client_core.or(Some(0)),
                results: a
                    .results
                    .unwrap_or_else(|| PathBuf::from("results").join(sys::timestamp())),
                xdptcp_bin: a.xdptcp_bin,
                servers: a.servers,
                rounds: a.rounds,
                iface: a.iface.zip(a.addr),
                family,
                port: a.port,
                download_body: a.download_body,
                client: a.client,
                reflect_windows: a.reflect_windows,
            };
            if opts.servers.is_empty() || opts.modes.is_empty() {
                bail!("nothing to run");
            }
            let summary = run(&opts)?;
            let failed = summary
                .modes
                .iter()
                .flat_map(|m| &m.servers)
                .map(|s| s.failed().count())
                .sum::<usize>()
                + summary
                    .reflect
                    .as_ref()
                    .map_or(0, |r| usize::from(r.error.is_some()));
            if failed > 0 {
                bail!("{failed} server run(s) failed; see the tables above");
            }
            Ok(())
        }
        Cmd::Conns(a) => {
            if a.rounds == 0 || a.counts.contains(&0) || a.servers.is_empty() {
                bail!("--rounds, --counts and --servers must be non-empty and positive");
            }
            if secs(a.hold)? < Duration::from_secs(10) {
                bail!("--hold must be at least 10 s (memory is read 3-8 s into the hold)");
            }
            secs(a.interval)?;
            let daemon = daemon_path(a.xdptcp_bin)?;
            let opts = ConnsOptions {
                counts: a.counts,
                servers: a.servers,
                kernel_max: a.kernel_max,
                rounds: a.rounds,
                hold_s: a.hold,
                interval_s: a.interval,
                server_core: a.server_core,
                client_core: a.client_core,
                xdptcp_bin: daemon
                    .canonicalize()
                    .with_context(|| format!("no daemon at {}", daemon.display()))?,
                self_exe: std::env::current_exe()?,
                results: a.results.unwrap_or_else(|| {
                    PathBuf::from(format!("results/conns-{}", sys::timestamp()))
                }),
            };
            let results = conns::run(&opts)?;
            let failed = results.iter().filter(|r| r.error.is_some()).count();
            if failed > 0 {
                bail!("{failed} measurement(s) failed; see the table above");
            }
            Ok(())
        }
        Cmd::Services(a) => {
            let daemon = daemon_path(a.xdptcp_bin)?;
            let bin_dir = daemon
                .canonicalize()
                .with_context(|| format!("no daemon at {}", daemon.display()))?
                .parent()
                .map(PathBuf::from)
                .unwrap_or_default();
            if a.rounds == 0 {
                bail!("--rounds must be at least 1");
            }
            let opts = benches::services::ServicesOptions {
                modes: a.modes,
                rounds: a.rounds,
                duration: secs(a.duration)?,
                requests: a.requests,
                clients: a.clients,
                server_core: a.server_core,
                client_core: a.client_core,
                bin_dir,
                results: a
                    .results
                    .unwrap_or_else(|| PathBuf::from("results").join(sys::timestamp())),
            };
            benches::services::run(&opts)?;
            Ok(())
        }
        Cmd::Client(a) => {
            let cfg = ClientConfig {
                mode: a.mode,
                addr: SocketAddr::new(a.addr, a.port),
                size: a.size,
                conns: a.conns,
                core: a.core,
            };
            let duration = secs(a.duration)?;
            let sched = Schedule::timed(secs(a.warmup)?, duration);
            let started = std::time::SystemTime::now() + secs(a.warmup)?;
            let r = run_client(&cfg, sched)?;
            let figures = Figures::of_client(&r);
            if let Some(path) = &a.hlog {
                let comment = format!("xdptcp-bench client {} against {}", a.mode.name(), cfg.addr);
                write_hlog(path, &r.hist, &a.label, &[comment], started, duration)?;
            }
            let round = RoundResult {
                round: 1,
                error: None,
                figures: Some(figures),
                hlog: a.hlog.map(|p| p.display().to_string()),
            };
            let result = ModeResult {
                mode: a.mode.name().into(),
                family: Some(family_name(family_of(a.addr)).into()),
                unit: a.mode.unit_of_work().into(),
                size: a.size,
                conns: a.conns,
                body_size: None,
                rounds: 1,
                servers: vec![ServerResult::new(a.label, vec![round])],
                ratios: None,
                plot: None,
            };
            if a.json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                println!("{}", result.text_table(a.mode.is_bulk()));
            }
            Ok(())
        }
        Cmd::KernelServer(a) => {
            if let Some(core) = a.core {
                sys::pin_current_thread(core)?;
            }
            let app = match a.app {
                App::Http { .. } => App::Http {
                    body_size: a.body_size,
                },
                other => other,
            };
            let listener = kernel_server::listen(SocketAddr::new(a.addr, a.port))?;
            println!(
                "ready addr={} port={} app={app:?} core={}",
                a.addr,
                a.port,
                a.core.map_or("-".into(), |c| c.to_string())
            );
            std::io::stdout().flush()?;
            kernel_server::serve(listener, app, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_args(extra: &[&str]) -> Result<RunArgs, clap::Error> {
        let argv = ["xdptcp-bench", "run"].iter().chain(extra);
        match Cli::try_parse_from(argv)?.command {
            Cmd::Run(a) => Ok(a),
            _ => unreachable!(),
        }
    }

    #[test]
    fn family_defaults_to_ipv4_and_takes_4_or_6() {
        let a = run_args(&[]).unwrap();
        assert_eq!(a.family, None);
        assert_eq!(resolve_family(a.family, a.addr).unwrap(), Family::V4);
        for (text, want) in [
            ("6", Family::V6),
            ("4", Family::V4),
            ("ipv6", Family::V6),
            ("v4", Family::V4),
        ] {
            let a = run_args(&["--family", text]).unwrap();
            assert_eq!(a.family, Some(want), "{text}");
        }
        let a = run_args(&["--family=6", "--modes", "rr,crr"]).unwrap();
        assert_eq!(resolve_family(a.family, a.addr).unwrap(), Family::V6);
        let e = run_args(&["--family", "5"]).err().unwrap().to_string();
        assert!(e.contains("unknown address family"), "{e}");
    }

    #[test]
    fn host_mode_takes_an_address_of_either_family_and_it_sets_the_default() {
        let a = run_args(&["--iface", "eth1", "--addr", "2001:db8::1"]).unwrap();
        assert_eq!(a.addr, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(resolve_family(a.family, a.addr).unwrap(), Family::V6);
        let a = run_args(&["--iface", "eth1", "--addr", "10.0.0.1"]).unwrap();
        assert_eq!(resolve_family(a.family, a.addr).unwrap(), Family::V4);
        let a = run_args(&["--iface", "eth1", "--addr", "10.0.0.1", "--family", "6"]).unwrap();
        let e = resolve_family(a.family, a.addr).unwrap_err().to_string();
        assert!(e.contains("does not match --addr"), "{e}");
    }

    #[test]
    fn the_kernel_server_and_the_client_take_ipv6_addresses() {
        let cli = Cli::try_parse_from(["xdptcp-bench", "kernel-server", "--port", "7"]).unwrap();
        let Cmd::KernelServer(k) = cli.command else {
            unreachable!()
        };
        assert_eq!(k.addr, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let argv = [
            "xdptcp-bench",
            "kernel-server",
            "--port",
            "7",
            "--addr",
            "fd00::1",
        ];
        let Cmd::KernelServer(k) = Cli::try_parse_from(argv).unwrap().command else {
            unreachable!()
        };
        assert_eq!(k.addr, "fd00::1".parse::<IpAddr>().unwrap());
        let argv = ["xdptcp-bench", "client", "--addr", "::1", "--port", "7"];
        let Cmd::Client(c) = Cli::try_parse_from(argv).unwrap().command else {
            unreachable!()
        };
        assert!(c.addr.is_ipv6());
    }
}
