//! `xdptcp connect`: the stack as a client. `rr` and `crr` run the load generator on every
//! worker for a duration and print a JSON summary of the latencies; `hold` opens many
//! connections, checks each echoes, holds them and reports how many stayed alive (and the
//! latency of one more connection meanwhile); `fetch` opens one connection, sends a
//! request, keeps what comes back and reports how the connection ended.
//! Local ports come from `--local-ports` (the XDP program steers their replies), the next hop
//! from the kernel's neighbour table.

use anyhow::{bail, Context, Result};
use clap::Args;
use hdrhistogram::serialization::{interval_log::IntervalLogWriterBuilder, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::args::{parse_range, parse_rss_key, DatapathArgs};
use crate::app::fetch::Fetch;
use crate::app::hold::{HoldConfig, HoldGen};
use crate::app::loadgen::{LoadConfig, LoadGen, LoadMode};
use crate::runtime::{signals, ConnectConfig, Runtime, RuntimeConfig};
use crate::tcp;

/// Options of `xdptcp connect`.
#[derive(Args, Debug, Clone)]
pub struct ConnectArgs {
    #[command(flatten)]
    #[allow(missing_docs)] // clap: the flattened group documents itself
    pub datapath: DatapathArgs,
    /// Server to load, `IPV4:PORT` or `[IPV6]:PORT` (the connections leave from the first
    /// --addr of that family, by default the interface's).
    #[arg(long)]
    pub remote: SocketAddr,
    /// rr (persistent connections), crr (a connection per transaction), hold (open --conns
    /// connections, echo once on each, hold them for --duration with a message on each every
    /// --interval), or fetch (one connection: send --request, print what comes back and how
    /// it ended).
    #[arg(long, default_value = "rr")]
    pub mode: ConnectMode,
    /// Connections in flight (in total, spread over the workers).
    #[arg(long, default_value_t = 1)]
    pub conns: usize,
    /// Request and response size in bytes (the server echoes).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Measured duration in seconds (after the warm-up); hold: how long to hold.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// Warm-up in seconds (transactions not recorded).
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Local ports for our connections, FIRST-LAST.
    #[arg(long, default_value = "40000-41023", value_parser = parse_range)]
    pub local_ports: (u16, u16),
    /// RSS key of the NIC as hex (or `microsoft`), to pick local ports whose replies land on
    /// each worker's queue; needed with more than one queue.
    #[arg(long, value_parser = parse_rss_key)]
    pub rss_key: Option<Vec<u8>>,
    /// fetch: the request to send (`\\r` and `\\n` are unescaped).
    #[arg(long, default_value = "")]
    pub request: String,
    /// fetch: close our sending side once the request is sent (client closes first).
    #[arg(long)]
    pub half_close: bool,
    /// fetch: write the bytes received here.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// SYN retransmissions before a connect gives up (RFC 6298 backoff from 1 s).
    #[arg(long, default_value_t = 6)]
    pub connect_retries: u32,
    /// Write the latency histogram here (HdrHistogram interval log, V2 deflate, microseconds).
    #[arg(long)]
    pub hlog: Option<PathBuf>,
    /// hold: server ports FIRST-LAST to spread the connections over when one port's local
    /// ports are not enough (default: the port of --remote only).
    #[arg(long, value_parser = parse_range)]
    pub remote_ports: Option<(u16, u16)>,
    /// hold: seconds between two messages on one held connection.
    #[arg(long, default_value_t = 10.0)]
    pub interval: f64,
    /// hold: handshakes, messages or closes in flight at most, per worker.
    #[arg(long, default_value_t = 512)]
    pub max_in_flight: usize,
    /// hold: seconds to open every connection before holding what is open.
    #[arg(long, default_value_t = 300.0)]
    pub setup_timeout: f64,
}

/// What `xdptcp connect` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectMode {
    /// `rr` or `crr` load.
    Load(LoadMode),
    /// Many connections held open.
    Hold,
    /// One request, everything back.
    Fetch,
}

impl std::str::FromStr for ConnectMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fetch" => Ok(ConnectMode::Fetch),
            "hold" => Ok(ConnectMode::Hold),
            _ => s
                .parse()
                .map(ConnectMode::Load)
                .map_err(|_| format!("unknown mode '{s}' (expected rr, crr, hold or fetch)")),
        }
    }
}

impl ConnectArgs {
    /// The runtime configuration: no listener, outbound connections from `--local-ports`
    /// to `--remote`, and no TIME_WAIT (we close first in crr; TIME_WAIT would pin ports,
    /// and Linux clients under benchmark run with tcp_max_tw_buckets=0 too).
    fn runtime_config(&self) -> RuntimeConfig {
        let mut cfg = self.datapath.runtime_config(&[]);
        cfg.tcp = tcp::Config {
            connect_retries: self.connect_retries,
            ..cfg.tcp
        };
        cfg.max_time_wait = Some(0);
        cfg.stats_file = false;
        cfg.connect = Some(ConnectConfig {
            local_ports: self.local_ports,
            rss_key: self.rss_key.clone(),
            remotes: vec![self.remote.ip()],
        });
        cfg
    }
}

/// Runs `xdptcp connect`: the load (or the fetch), then one JSON line on stdout.
pub fn connect(args: ConnectArgs) -> Result<()> {
    let mode = match args.mode {
        ConnectMode::Fetch => return fetch(&args),
        ConnectMode::Hold => return hold(&args),
        ConnectMode::Load(mode) => mode,
    };
    if args.conns == 0 || args.size == 0 || args.duration <= 0.0 {
        bail!("--conns, --size and --duration must be positive");
    }
    let warmup = Duration::from_secs_f64(args.warmup);
    let end = warmup + Duration::from_secs_f64(args.duration);
    let started = SystemTime::now();
    let builder = Runtime::builder().config(args.runtime_config());
    let stop = builder.stop_handle();
    let (remote, conns, size) = (args.remote, args.conns, args.size);
    let report = builder
        .on_ready(move |_| {
            println!("ready connect remote={remote} mode={mode:?} conns={conns} size={size}");
            // The load ends at `end` after the workers' clock origin, which is about now.
            std::thread::spawn(move || {
                let t = std::time::Instant::now();
                while t.elapsed() < end + Duration::from_millis(50) && !signals::signalled() {
                    std::thread::sleep(Duration::from_millis(10));
                }
                stop.stop();
            });
        })
        .service(move |w| {
            let share = conns / w.workers + usize::from(w.index < conns % w.workers);
            LoadGen::new(LoadConfig {
                mode,
                remote_addr: remote.ip().into(),
                remote_port: remote.port(),
                conns: share,
                size,
                warmup_end: since_start(warmup),
                end: since_start(end),
            })
        })
        .run()?;
    let mut hist = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3)?;
    let (mut transactions, mut errors, mut connects) = (0u64, 0u64, 0u64);
    for gen in &report.services {
        hist.add(&gen.histogram)?;
        transactions += gen.transactions;
        errors += gen.errors;
        connects += gen.connects;
    }
    if let Some(path) = &args.hlog {
        write_hlog(
            path,
            &hist,
            started + warmup,
            Duration::from_secs_f64(args.duration),
        )?;
    }
    let q = |p: f64| hist.value_at_quantile(p);
    print_json(&LoadReport {
        mode: format!("{mode:?}").to_lowercase(),
        conns: args.conns,
        size: args.size,
        duration_s: args.duration,
        transactions,
        tps: round(transactions as f64 / args.duration, 1),
        connects,
        errors,
        p50_us: q(0.5),
        p90_us: q(0.9),
        p99_us: q(0.99),
        p99_9_us: q(0.999),
        p99_99_us: q(0.9999),
        max_us: hist.max(),
    })?;
    Ok(())
}

/// `--mode fetch`: one connection on worker 0, run until it has ended.
fn fetch(args: &ConnectArgs) -> Result<()> {
    let mut cfg = args.runtime_config();
    cfg.queues = crate::runtime::Queues::Count(1);
    let request = args
        .request
        .replace("\\r", "\r")
        .replace("\\n", "\n")
        .into_bytes();
    let remote = args.remote;
    let half_close = args.half_close;
    let report = Runtime::builder()
        .config(cfg)
        .on_ready(move |_| println!("ready connect remote={remote} mode=fetch"))
        .service(move |_| Fetch::new(remote.ip(), remote.port(), request.clone(), half_close))
        .run()?;
    let app = report
        .services
        .into_iter()
        .next()
        .context("the fetch worker did not report")?;
    if let Some(path) = &args.output {
        std::fs::write(path, &app.received)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let us = |t: Option<tcp::Instant>| t.map(|t| t.micros() as i64).unwrap_or(-1);
    let connect_us = match (app.opened_at, app.established_at) {
        (Some(a), Some(b)) => us(Some(b)) - us(Some(a)),
        _ => -1,
    };
    let outcome = app.outcome.map(|o| o.name()).unwrap_or("interrupted");
    print_json(&FetchReport {
        outcome,
        bytes: app.received.len(),
        connect_us,
    })?;
    Ok(())
}

/// `--mode hold`: open, echo, hold; one JSON line with the counts, the setup rate, the
/// probe's latency and our memory per connection.
fn hold(args: &ConnectArgs) -> Result<()> {
    let remote_ports = args
        .remote_ports
        .unwrap_or((args.remote.port(), args.remote.port()));
    let local = (args.local_ports.1 - args.local_ports.0) as usize + 1;
    let tuples = local * (remote_ports.1 - remote_ports.0) as usize + local;
    let bad = |x: f64| !(x.is_finite() && x > 0.0);
    if args.size == 0 || args.max_in_flight == 0 || bad(args.interval) || bad(args.duration) {
        bail!("--size, --max-in-flight, --interval and --duration must be positive");
    }
    if bad(args.setup_timeout) {
        bail!("--setup-timeout must be positive");
    }
    if args.conns > tuples {
        bail!(
            "--conns {} needs more tuples than --local-ports x --remote-ports give ({tuples}): \
             widen --local-ports or serve more ports and pass --remote-ports",
            args.conns
        );
    }
    let (remote, conns) = (args.remote, args.conns);
    let hold_for = Duration::from_secs_f64(args.duration);
    let interval = Duration::from_secs_f64(args.interval);
    let setup_deadline = since_start(Duration::from_secs_f64(args.setup_timeout));
    let (size, max_in_flight) = (args.size, args.max_in_flight);
    let report = Runtime::builder()
        .config(args.runtime_config())
        .on_ready(move |_| println!("ready connect remote={remote} mode=hold conns={conns}"))
        .service(move |w| {
            let share = conns / w.workers + usize::from(w.index < conns % w.workers);
            HoldGen::new(HoldConfig {
                remote_addr: remote.ip().into(),
                remote_ports,
                conns: share,
                max_in_flight,
                size,
                interval,
                setup_deadline,
                hold: hold_for,
                probe: w.index == 0,
            })
        })
        .run()?;
    let mut probe = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3)?;
    let sum = |f: fn(&HoldGen) -> u64| report.services.iter().map(f).sum::<u64>();
    let (established, failed, echoed) =
        (sum(|g| g.established), sum(|g| g.failed), sum(|g| g.echoed));
    let (alive, lost, pongs) = (sum(|g| g.alive()), sum(|g| g.lost), sum(|g| g.pongs));
    let mut first: Option<tcp::Instant> = None;
    let mut last: Option<tcp::Instant> = None;
    let (mut rss_start, mut rss_held) = (u64::MAX, 0);
    for g in &report.services {
        probe.add(&g.probe_latency)?;
        first = match (first, g.opening.0) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        last = last.max(g.opening.1);
        rss_start = rss_start.min(g.rss.0);
        rss_held = rss_held.max(g.rss.1);
    }
    let setup_s = match (first, last) {
        (Some(a), Some(b)) => b.saturating_since(a).as_secs_f64(),
        _ => 0.0,
    };
    let per_conn = rss_held.saturating_sub(rss_start) / established.max(1);
    let q = |p: f64| probe.value_at_quantile(p);
    print_json(&HoldReport {
        mode: "hold",
        conns,
        established,
        failed,
        echoed,
        alive,
        lost,
        pongs,
        setup_s: round(setup_s, 3),
        setup_rate: round(established as f64 / setup_s.max(1e-6), 1),
        rss_start_bytes: rss_start,
        rss_held_bytes: rss_held,
        rss_per_conn_bytes: per_conn,
        probe_transactions: probe.len(),
        probe_p50_us: q(0.5),
        probe_p99_us: q(0.99),
        probe_p99_9_us: q(0.999),
        probe_max_us: probe.max(),
    })?;
    Ok(())
}

/// The engine instant `since` after the workers' shared clock origin.
fn since_start(since: Duration) -> tcp::Instant {
    tcp::Instant::from_micros(since.as_micros() as u64)
}

fn write_hlog(path: &PathBuf, h: &Histogram<u64>, start: SystemTime, len: Duration) -> Result<()> {
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    let mut serializer = V2DeflateSerializer::new();
    let mut log = IntervalLogWriterBuilder::new()
        .add_comment("xdptcp connect latency, microseconds")
        .with_start_time(start)
        .begin_log_with(&mut file, &mut serializer)
        .map_err(|e| anyhow::anyhow!("writing {}: {e:?}", path.display()))?;
    log.write_histogram(h, Duration::ZERO, len, None)
        .map_err(|e| anyhow::anyhow!("writing {}: {e:?}", path.display()))?;
    Ok(())
}

/// The JSON line of `--mode rr|crr` (xdptcp-bench and the tests read these names).
#[derive(Serialize)]
struct LoadReport {
    mode: String,
    conns: usize,
    size: usize,
    duration_s: f64,
    transactions: u64,
    /// Transactions per second, to 0.1.
    tps: f64,
    connects: u64,
    errors: u64,
    p50_us: u64,
    p90_us: u64,
    p99_us: u64,
    p99_9_us: u64,
    p99_99_us: u64,
    max_us: u64,
}

/// The JSON line of `--mode fetch`; `connect_us` is -1 when the handshake did not complete.
#[derive(Serialize)]
struct FetchReport {
    outcome: &'static str,
    bytes: usize,
    connect_us: i64,
}

/// The JSON line of `--mode hold`. `mode` comes first: readers find the line by its
/// `{"mode":"hold"` prefix.
#[derive(Serialize)]
struct HoldReport {
    mode: &'static str,
    conns: usize,
    established: u64,
    failed: u64,
    echoed: u64,
    alive: u64,
    lost: u64,
    pongs: u64,
    /// Seconds from the first to the last connection opened, to 0.001.
    setup_s: f64,
    /// Connections established per second of setup, to 0.1.
    setup_rate: f64,
    rss_start_bytes: u64,
    rss_held_bytes: u64,
    rss_per_conn_bytes: u64,
    probe_transactions: u64,
    probe_p50_us: u64,
    probe_p99_us: u64,
    probe_p99_9_us: u64,
    probe_max_us: u64,
}

/// Prints `report` as one JSON line on stdout.
fn print_json(report: &impl Serialize) -> Result<()> {
    println!("{}", serde_json::to_string(report)?);
    Ok(())
}

/// `x` rounded to `decimals` places, so the JSON carries no more digits than are meaningful.
fn round(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_keep_their_field_names_order_and_rounding() {
        let fetch = FetchReport {
            outcome: "completed",
            bytes: 12,
            connect_us: -1,
        };
        assert_eq!(
            serde_json::to_string(&fetch).unwrap(),
            r#"{"outcome":"completed","bytes":12,"connect_us":-1}"#
        );
        let load = LoadReport {
            mode: "rr".into(),
            conns: 1,
            size: 64,
            duration_s: 2.0,
            transactions: 90_001,
            tps: round(90_001.0 / 2.0, 1),
            connects: 1,
            errors: 0,
            p50_us: 14,
            p90_us: 29,
            p99_us: 87,
            p99_9_us: 133,
            p99_99_us: 1279,
            max_us: 2921,
        };
        assert_eq!(
            serde_json::to_string(&load).unwrap(),
            r#"{"mode":"rr","conns":1,"size":64,"duration_s":2.0,"transactions":90001,"tps":45000.5,"connects":1,"errors":0,"p50_us":14,"p90_us":29,"p99_us":87,"p99_9_us":133,"p99_99_us":1279,"max_us":2921}"#
        );
        assert_eq!(round(2.0 / 3.0, 3), 0.667);
        let hold = HoldReport {
            mode: "hold",
            conns: 2,
            established: 2,
            failed: 0,
            echoed: 2,
            alive: 2,
            lost: 0,
            pongs: 4,
            setup_s: round(0.0123456, 3),
            setup_rate: round(2.0 / 0.0123456, 1),
            rss_start_bytes: 1,
            rss_held_bytes: 2,
            rss_per_conn_bytes: 0,
            probe_transactions: 0,
            probe_p50_us: 0,
            probe_p99_us: 0,
            probe_p99_9_us: 0,
            probe_max_us: 0,
        };
        let text = serde_json::to_string(&hold).unwrap();
        assert!(text.starts_with(r#"{"mode":"hold","conns":2,"#), "{text}");
        assert!(
            text.contains(r#""setup_s":0.012,"setup_rate":162.0,"#),
            "{text}"
        );
    }
}
