//! `xdptcp-bench services`: the example services against the programs people would
//! otherwise run, with those programs' own clients, in alternating rounds.
//!
//! - `kv`: `redis-benchmark -t set,get -c 50 -r 100000` against `examples/kv` on the stack
//!   and against `redis-server` on kernel TCP.
//! - `proxy`: `wrk` through `examples/proxy` on the stack and through HAProxy (`mode tcp`,
//!   one thread) on kernel TCP, both in front of the same nginx.
//!
//! Both servers of a mode run on the same core (`--server-core`, pinned with `taskset` or
//! `--cores`), the clients and the nginx backend on the other (`--client-core`), on a veth
//! pair between two namespaces. The machines these run on are shared and noisy, so every
//! mode runs `--rounds` times, alternating stack, reference, stack, reference, ...; the
//! report gives each figure's median over the rounds and each ratio's median and spread
//! (min to max over the rounds), never one lucky run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use netns_tests::{Daemon, KernelServer, Process, Testbed};
use serde::Serialize;

use crate::report::Spread;

/// What `xdptcp-bench services` runs.
#[derive(Debug, Clone)]
pub struct ServicesOptions {
    /// `kv`, `proxy`.
    pub modes: Vec<String>,
    /// Alternating rounds per mode.
    pub rounds: usize,
    /// Seconds of wrk per proxy measurement.
    pub duration: Duration,
    /// redis-benchmark requests per test (SET, GET) per measurement.
    pub requests: usize,
    /// Clients (connections) of redis-benchmark and wrk.
    pub clients: usize,
    pub server_core: usize,
    pub client_core: usize,
    /// The directory holding `xdptcp` and `examples/`.
    pub bin_dir: PathBuf,
    pub results: PathBuf,
}

/// One measurement of one server.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Measure {
    /// Requests per second.
    pub rps: f64,
    /// Latency percentiles, milliseconds.
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The rounds of one figure (e.g. `kv SET`) for both servers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Series {
    pub figure: String,
    pub stack: Vec<Measure>,
    pub reference: Vec<Measure>,
    pub reference_name: String,
}

const KV_PORT: u16 = 6379;
const PROXY_PORT: u16 = 80;
const BACKEND_PORT: u16 = 8080;

/// Runs the modes; prints and writes `services.md` and `services.json`.
pub fn run(opts: &ServicesOptions) -> Result<Vec<Series>> {
    std::fs::create_dir_all(&opts.results)?;
    if let Ok(stale) = netns_tests::cleanup_stale() {
        if !stale.is_empty() {
            eprintln!("bench: removed stale namespaces/links {stale:?}");
        }
    }
    let tb = Testbed::new(1)?;
    for kv in [
        "net.ipv4.tcp_max_tw_buckets=0",
        "net.ipv4.ip_local_port_range=1024 65535",
    ] {
        tb.cli.run_ok(&["sysctl", "-qw", kv])?;
    }
    let mut all = Vec::new();
    for mode in &opts.modes {
        match mode.as_str() {
            "kv" => all.extend(kv(&tb, opts)?),
            "proxy" => all.extend(proxy(&tb, opts)?),
            other => bail!("unknown services mode {other:?} (kv, proxy)"),
        }
    }
    let text = report(&all, opts);
    println!("{text}");
    std::fs::write(opts.results.join("services.md"), &text)?;
    std::fs::write(
        opts.results.join("services.json"),
        serde_json::to_string_pretty(&all)?,
    )?;
    Ok(all)
}

fn progress(what: &str) {
    eprintln!("bench services: {what}");
}

/// Pins every thread of `pid` to `core`.
fn pin(pid: u32, core: usize) -> Result<()> {
    netns_tests::host(&["taskset", "-apc", &core.to_string(), &pid.to_string()])?.check()?;
    Ok(())
}

fn example(opts: &ServicesOptions, name: &str) -> String {
    opts.bin_dir
        .join("examples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

// ---- kv ------------------------------------------------------------------------------------

/// redis-benchmark's pipeline depths: 1 (a request per round trip, as most clients do) and
/// 16 (requests batched per segment), which shows the server's own capacity when one client
/// process on one core cannot keep it busy at depth 1.
const PIPELINES: [usize; 2] = [1, 16];

fn kv(tb: &Testbed, opts: &ServicesOptions) -> Result<Vec<Series>> {
    let mut all = Vec::new();
    for pipeline in PIPELINES {
        all.extend(kv_at(tb, opts, pipeline)?);
    }
    Ok(all)
}

fn kv_at(tb: &Testbed, opts: &ServicesOptions, pipeline: usize) -> Result<Vec<Series>> {
    let depth = if pipeline > 1 {
        format!(" -P {pipeline}")
    } else {
        String::new()
    };
    let mut set = Series {
        figure: format!("kv SET{depth}"),
        reference_name: "redis-server".into(),
        ..Series::default()
    };
    let mut get = Series {
        figure: format!("kv GET{depth}"),
        reference_name: "redis-server".into(),
        ..Series::default()
    };
    // Pipelined runs go faster: more requests, for about as long.
    let requests = opts.requests * pipeline.min(8);
    for round in 0..opts.rounds {
        for stack in [true, false] {
            let who = if stack { "examples/kv" } else { "redis-server" };
            progress(&format!(
                "kv{depth} round {}/{}: {who}",
                round + 1,
                opts.rounds
            ));
            let (s, g) = if stack {
                let core = opts.server_core.to_string();
                let bin = example(opts, "kv");
                let d = Daemon::start_program(
                    &tb.srv,
                    &[
                        &bin,
                        "--iface",
                        &tb.srv_if,
                        "--port",
                        "6379",
                        "--queues",
                        "1",
                        "--cores",
                        &core,
                        "--maxmemory",
                        "4gb",
                    ],
                )?;
                let r = redis_benchmark(tb, opts, requests, pipeline);
                let _ = d.stop();
                r?
            } else {
                let server = KernelServer::redis(&tb.srv, tb.srv_addr(KV_PORT), 4 << 30)?;
                pin(server.pid(), opts.server_core)?;
                redis_benchmark(tb, opts, requests, pipeline)?
            };
            let (sv, gv) = if stack {
                (&mut set.stack, &mut get.stack)
            } else {
                (&mut set.reference, &mut get.reference)
            };
            sv.push(s);
            gv.push(g);
        }
    }
    Ok(vec![set, get])
}

/// redis-benchmark SET and GET from the client namespace: (SET, GET).
fn redis_benchmark(
    tb: &Testbed,
    opts: &ServicesOptions,
    requests: usize,
    pipeline: usize,
) -> Result<(Measure, Measure)> {
    let host = tb.srv_ip.to_string();
    let (n, c) = (requests.to_string(), opts.clients.to_string());
    let p = pipeline.to_string();
    let core = opts.client_core.to_string();
    let out = tb.cli.run_timeout(
        &[
            "taskset",
            "-c",
            &core,
            "redis-benchmark",
            "-h",
            &host,
            "-p",
            "6379",
            "-t",
            "set,get",
            "-c",
            &c,
            "-n",
            &n,
            "-r",
            "100000",
            "-P",
            &p,
            "--csv",
        ],
        Duration::from_secs(600),
    )?;
    if !out.success() {
        bail!("redis-benchmark failed: {}{}", out.stdout, out.stderr);
    }
    parse_redis_csv(&out.stdout)
}

/// `"SET","79051.38","0.331","0.104","0.311","0.455","0.615","2.191"` lines (test, rps,
/// avg, min, p50, p95, p99, max) into (SET, GET).
pub fn parse_redis_csv(text: &str) -> Result<(Measure, Measure)> {
    let find = |test: &str| -> Result<Measure> {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("\"{test}\"")))
            .with_context(|| format!("no {test} line in redis-benchmark's output:\n{text}"))?;
        let f: Vec<f64> = line
            .split(',')
            .skip(1)
            .map(|v| v.trim_matches('"').parse().unwrap_or(f64::NAN))
            .collect();
        if f.len() < 6 || f.iter().any(|v| v.is_nan()) {
            bail!("cannot read {line:?}");
        }
        Ok(Measure {
            rps: f[0],
            p50_ms: f[3],
            p99_ms: f[5],
        })
    };
    Ok((find("SET")?, find("GET")?))
}

// ---- proxy ---------------------------------------------------------------------------------

fn proxy(tb: &Testbed, opts: &ServicesOptions) -> Result<Vec<Series>> {
    let mut series = Series {
        figure: "proxy HTTP through to nginx".into(),
        reference_name: "HAProxy".into(),
        ..Series::default()
    };
    let backend = netns_tests::KernelServer::nginx(
        &tb.cli,
        std::net::SocketAddrV4::new(tb.cli_ip, BACKEND_PORT),
        "hello from nginx\\n",
    )?;
    pin(backend.pid(), opts.client_core)?;
    let backend_addr = format!("{}:{BACKEND_PORT}", tb.cli_ip);
    for round in 0..opts.rounds {
        for stack in [true, false] {
            let who = if stack { "examples/proxy" } else { "HAProxy" };
            progress(&format!("proxy round {}/{}: {who}", round + 1, opts.rounds));
            let m = if stack {
                let core = opts.server_core.to_string();
                let bin = example(opts, "proxy");
                let d = Daemon::start_program(
                    &tb.srv,
                    &[
                        &bin,
                        "--iface",
                        &tb.srv_if,
                        "--port",
                        "80",
                        "--backend",
                        &backend_addr,
                        "--queues",
                        "1",
                        "--cores",
                        &core,
                    ],
                )?;
                let r = wrk(tb, opts);
                let _ = d.stop();
                r?
            } else {
                let haproxy = Haproxy::start(tb, &backend_addr, &opts.results)?;
                pin(haproxy.process.pid(), opts.server_core)?;
                wrk(tb, opts)?
            };
            if stack {
                series.stack.push(m);
            } else {
                series.reference.push(m);
            }
        }
    }
    drop(backend);
    Ok(vec![series])
}

/// HAProxy in `mode tcp`, one thread, listening on the server address. `maxconn` stays
/// within the 20,000 open files a process may have here (two per proxied connection).
struct Haproxy {
    process: Process,
    config: PathBuf,
}

impl Haproxy {
    fn start(tb: &Testbed, backend: &str, dir: &Path) -> Result<Haproxy> {
        let config = dir.join("haproxy.cfg");
        let text = format!(
            "global\n  nbthread 1\n  maxconn 8000\n\ndefaults\n  mode tcp\n  timeout connect 5s\n  \
             timeout client 60s\n  timeout server 60s\n\nfrontend front\n  bind {}:{PROXY_PORT}\n  \
             default_backend back\n\nbackend back\n  server nginx {backend}\n",
            tb.srv_ip
        );
        std::fs::write(&config, text)?;
        let path = config.to_string_lossy().into_owned();
        let process = tb.srv.spawn("haproxy", &["haproxy", "-db", "-f", &path])?;
        let target = std::net::SocketAddr::V4(tb.srv_addr(PROXY_PORT));
        let up = netns_tests::wait_until("HAProxy listening", Duration::from_secs(10), || {
            tb.cli
                .exec_in(move || {
                    std::net::TcpStream::connect_timeout(&target, Duration::from_millis(200))
                })
                .ok()
                .map(|_| ())
        });
        if let Err(e) = up {
            bail!("{e}; HAProxy said:\n{}", process.output());
        }
        Ok(Haproxy { process, config })
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.process.signal(libc::SIGTERM);
        let _ = self.process.wait_exit(Duration::from_secs(5));
        let _ = std::fs::remove_file(&self.config);
    }
}

/// wrk from the client namespace through the proxy.
fn wrk(tb: &Testbed, opts: &ServicesOptions) -> Result<Measure> {
    let url = format!("http://{}/", tb.srv_addr(PROXY_PORT));
    let core = opts.client_core.to_string();
    let c = opts.clients.to_string();
    let d = format!("{}s", opts.duration.as_secs().max(1));
    let out = tb.cli.run_timeout(
        &[
            "taskset",
            "-c",
            &core,
            "wrk",
            "-t1",
            "-c",
            &c,
            "-d",
            &d,
            "--latency",
            &url,
        ],
        opts.duration + Duration::from_secs(60),
    )?;
    let text = format!("{}{}", out.stdout, out.stderr);
    if !out.success() {
        bail!("wrk failed: {text}");
    }
    if text.contains("Socket errors") || text.contains("Non-2xx") {
        bail!("wrk saw errors:\n{text}");
    }
    parse_wrk(&text)
}

/// Requests/sec and the 50% and 99% lines of `wrk --latency`.
pub fn parse_wrk(text: &str) -> Result<Measure> {
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no Requests/sec in wrk's output:\n{text}"))?;
    let pct = |p: &str| -> Result<f64> {
        let v = text
            .lines()
            .find_map(|l| l.trim().strip_prefix(p))
            .with_context(|| format!("no {p} line in wrk's output:\n{text}"))?;
        duration_ms(v.trim()).with_context(|| format!("cannot read {v:?}"))
    };
    Ok(Measure {
        rps,
        p50_ms: pct("50%")?,
        p99_ms: pct("99%")?,
    })
}

/// `180.00us`, `1.23ms`, `2.00s` in milliseconds.
fn duration_ms(v: &str) -> Option<f64> {
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    num.trim().parse::<f64>().ok().map(|n| n * scale)
}

// ---- report --------------------------------------------------------------------------------

/// The per-round ratios stack/reference of `f`: median and min-max.
pub fn ratio_stats(s: &Series, f: impl Fn(&Measure) -> f64) -> Option<Spread> {
    Spread::of(s.stack.iter().zip(&s.reference).map(|(a, b)| f(a) / f(b)))
}

fn report(all: &[Series], opts: &ServicesOptions) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Services against their usual programs ({} alternating rounds, medians; ratio = stack / reference, with its min-max over the rounds)\n",
        opts.rounds
    );
    let _ = writeln!(
        out,
        "| figure | stack | reference | req/s | ratio | p50 ms | ratio | p99 ms | ratio |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|---:|---:|---:|");
    for s in all {
        let med = |v: &[Measure], f: fn(&Measure) -> f64, digits: usize| {
            Spread::of(v.iter().map(f)).map_or("-".into(), |m| format!("{:.*}", digits, m.median))
        };
        let cell = |f: fn(&Measure) -> f64, digits: usize| {
            (
                format!(
                    "{} / {}",
                    med(&s.stack, f, digits),
                    med(&s.reference, f, digits)
                ),
                ratio_stats(s, f).map_or("-".into(), |r| r.ratio_cell()),
            )
        };
        let (rps, rps_r) = cell(|m| m.rps, 0);
        let (p50, p50_r) = cell(|m| m.p50_ms, 3);
        let (p99, p99_r) = cell(|m| m.p99_ms, 3);
        let stack = if s.figure.starts_with("kv") {
            "examples/kv"
        } else {
            "examples/proxy"
        };
        let _ = writeln!(
            out,
            "| {} | {stack} | {} | {rps} | {rps_r} | {p50} | {p50_r} | {p99} | {p99_r} |",
            s.figure, s.reference_name
        );
    }
    let _ = writeln!(
        out,
        "\nkv: redis-benchmark -t set,get -c {} -n {} -r 100000, without pipelining and with -P 16 (8x the requests); proxy: wrk -t1 -c {} -d {}s --latency, nginx backend. Servers on core {}, clients and nginx on core {}. Per-round figures in services.json.",
        opts.clients,
        opts.requests,
        opts.clients,
        opts.duration.as_secs(),
        opts.server_core,
        opts.client_core
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_redis_benchmarks_csv() {
        let text = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\
                    \"SET\",\"79051.38\",\"0.331\",\"0.104\",\"0.311\",\"0.455\",\"0.615\",\"2.191\"\n\
                    \"GET\",\"80000.00\",\"0.300\",\"0.100\",\"0.303\",\"0.400\",\"0.500\",\"1.000\"\n";
        let (set, get) = parse_redis_csv(text).unwrap();
        assert_eq!((set.rps, set.p50_ms, set.p99_ms), (79051.38, 0.311, 0.615));
        assert_eq!(get.rps, 80000.0);
        assert!(parse_redis_csv("\"SET\",\"x\"").is_err());
    }

    #[test]
    fn reads_wrk_latency_output() {
        let text = "Running 2s test @ http://10.0.0.1/\n  1 threads and 16 connections\n  \
                    Latency Distribution\n     50%  180.00us\n     75%  250.00us\n     90%  \
                    400.00us\n     99%    1.23ms\n  128306 requests in 2.00s, 20.31MB read\n\
                    Requests/sec:  64153.12\nTransfer/sec:     10.15MB\n";
        let m = parse_wrk(text).unwrap();
        assert_eq!(m.rps, 64153.12);
        assert!((m.p50_ms - 0.18).abs() < 1e-9 && (m.p99_ms - 1.23).abs() < 1e-9);
    }

    #[test]
    fn ratios_are_per_round_with_their_spread() {
        let m = |rps| Measure {
            rps,
            ..Measure::default()
        };
        let s = Series {
            stack: vec![m(200.0), m(150.0), m(300.0)],
            reference: vec![m(100.0), m(100.0), m(100.0)],
            ..Series::default()
        };
        let r = ratio_stats(&s, |m| m.rps).unwrap();
        assert_eq!((r.median, r.min, r.max, r.rounds), (2.0, 1.5, 3.0, 3));
        assert_eq!(r.ratio_cell(), "2.00× (1.50-3.00)");
    }
}
