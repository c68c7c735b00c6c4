//! `xdptcp connect`: the load generator on the stack itself (kernel bypass on the client side
//! too). It attaches like `serve`, reserves a range of local ports for its connections (the
//! XDP program steers their replies), resolves the next hop through the kernel's neighbour
//! table, runs `rr` or `crr` for a duration and prints a JSON summary of the latencies.

use anyhow::{bail, Context, Result};
use clap::Args;
use hdrhistogram::serialization::{interval_log::IntervalLogWriterBuilder, V2DeflateSerializer};
use hdrhistogram::Histogram;
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::app::fetch::Fetch;
use crate::app::loadgen::{LoadConfig, LoadGen, LoadMode};
use crate::daemon::{self, Datapath, DatapathArgs};
use crate::rss::{PortChooser, MICROSOFT_KEY};
use crate::tcp;
use crate::worker::{self, ClientSetup, Control};
use crate::xdp::neighbour;
use crate::xdp::XskPort;

/// Options of `xdptcp connect`.
#[derive(Args, Debug, Clone)]
pub struct ConnectArgs {
    #[command(flatten)]
    pub datapath: DatapathArgs,
    /// Server to load, IPV4:PORT.
    #[arg(long)]
    pub remote: SocketAddrV4,
    /// rr (persistent connections), crr (a connection per transaction), or fetch (one
    /// connection: send --request, print what comes back and how it ended).
    #[arg(long, default_value = "rr")]
    pub mode: ConnectMode,
    /// Connections in flight (in total, spread over the workers).
    #[arg(long, default_value_t = 1)]
    pub conns: usize,
    /// Request and response size in bytes (the server echoes).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Measured duration in seconds (after the warm-up).
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
    #[arg(long)]
    pub rss_key: Option<String>,
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
}

/// What `xdptcp connect` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectMode {
    Load(LoadMode),
    Fetch,
}

impl std::str::FromStr for ConnectMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fetch" => Ok(ConnectMode::Fetch),
            _ => s
                .parse()
                .map(ConnectMode::Load)
                .map_err(|_| format!("unknown mode '{s}' (expected rr, crr or fetch)")),
        }
    }
}

fn parse_range(s: &str) -> Result<(u16, u16), String> {
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

fn parse_key(s: &str) -> Result<Vec<u8>> {
    if s == "microsoft" {
        return Ok(MICROSOFT_KEY.to_vec());
    }
    let hex: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    if hex.len() < 24 || !hex.len().is_multiple_of(2) {
        bail!("--rss-key: expected an even number of hex digits (at least 12 bytes)");
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).context("--rss-key: bad hex"))
        .collect()
}

/// Runs `xdptcp connect`: the load (or the fetch), then one JSON line on stdout.
pub fn connect(args: ConnectArgs) -> Result<()> {
    let mode = match args.mode {
        ConnectMode::Fetch => return fetch(&args),
        ConnectMode::Load(mode) => mode,
    };
    if args.conns == 0 || args.size == 0 || args.duration <= 0.0 {
        bail!("--conns, --size and --duration must be positive");
    }
    let remote = u32::from(*args.remote.ip());
    let next_hop = neighbour::resolve(remote, Duration::from_secs(3))?;
    let (first, last) = args.local_ports;
    let ports: Vec<u16> = (first..=last).collect();
    let mut dp = Datapath::open(&args.datapath, &ports)?;
    let queues = dp.ports.len() as u32;
    let key = match (&args.rss_key, queues) {
        (Some(k), _) => Some(parse_key(k)?),
        (None, 1) => None,
        (None, _) => bail!("with {queues} queues, pass --rss-key (the NIC's RSS key) so replies reach the worker that opened each connection"),
    };
    let clock = std::time::Instant::now();
    let warmup = Duration::from_secs_f64(args.warmup);
    let end = warmup + Duration::from_secs_f64(args.duration);
    let control = Arc::new(Control::default());
    let mut handles = Vec::new();
    let started = SystemTime::now();
    let ports: Vec<XskPort> = dp.ports.drain(..).collect();
    for (i, port) in ports.into_iter().enumerate() {
        let q = i as u32;
        let chooser = match &key {
            Some(k) => PortChooser::toeplitz(k, q, queues, first, last),
            None => PortChooser::fallback(first, last),
        };
        let share = args.conns / queues as usize + (i < args.conns % queues as usize) as usize;
        let load = LoadConfig {
            mode,
            remote_addr: remote,
            remote_port: args.remote.port(),
            conns: share,
            size: args.size,
            warmup_end: since_start(warmup),
            end: since_start(end),
        };
        let mut cfg = dp.worker_config(engine_config(&args));
        // We close first in crr: TIME_WAIT would pin ports; Linux clients under benchmark
        // run with tcp_max_tw_buckets=0 too.
        cfg.max_time_wait = 0;
        cfg.client = Some(ClientSetup {
            ports: chooser,
            next_hop,
        });
        let core = dp.core_for(i);
        let control = control.clone();
        handles.push(
            std::thread::Builder::new()
                .name(format!("xdptcp-c{i}"))
                .spawn(move || {
                    daemon::pin(core);
                    worker::run_since(clock, port, cfg, LoadGen::new(load), control, |_| {})
                })?,
        );
    }
    println!(
        "ready connect remote={} mode={mode:?} conns={} size={}",
        args.remote, args.conns, args.size
    );
    while clock.elapsed() < end + Duration::from_millis(50) && !daemon::signalled() {
        std::thread::sleep(Duration::from_millis(10));
    }
    control.stop.store(true, Ordering::SeqCst);
    let mut hist = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3)?;
    let (mut transactions, mut errors, mut connects) = (0u64, 0u64, 0u64);
    let mut stats = Vec::new();
    for h in handles {
        let (s, gen) = h
            .join()
            .map_err(|_| anyhow::anyhow!("a client worker panicked"))?;
        hist.add(&gen.histogram)?;
        transactions += gen.transactions;
        errors += gen.errors;
        connects += gen.connects;
        stats.push(s);
    }
    daemon::report(&stats, &dp.program);
    if let Some(path) = &args.hlog {
        write_hlog(
            path,
            &hist,
            started + warmup,
            Duration::from_secs_f64(args.duration),
        )?;
    }
    let q = |p: f64| hist.value_at_quantile(p);
    println!(
        "{{\"mode\":\"{}\",\"conns\":{},\"size\":{},\"duration_s\":{},\"transactions\":{},\"tps\":{:.1},\"connects\":{},\"errors\":{},\"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"p99_9_us\":{},\"p99_99_us\":{},\"max_us\":{}}}",
        format!("{mode:?}").to_lowercase(),
        args.conns,
        args.size,
        args.duration,
        transactions,
        transactions as f64 / args.duration,
        connects,
        errors,
        q(0.5),
        q(0.9),
        q(0.99),
        q(0.999),
        q(0.9999),
        hist.max()
    );
    Ok(())
}

fn engine_config(args: &ConnectArgs) -> tcp::Config {
    tcp::Config {
        connect_retries: args.connect_retries,
        ..tcp::Config::default()
    }
}

/// `--mode fetch`: one connection on worker 0, run until it has ended.
fn fetch(args: &ConnectArgs) -> Result<()> {
    let remote = u32::from(*args.remote.ip());
    let next_hop = neighbour::resolve(remote, Duration::from_secs(3))?;
    let (first, last) = args.local_ports;
    let ports: Vec<u16> = (first..=last).collect();
    let mut dp = Datapath::open(&args.datapath, &ports)?;
    let port = dp.ports.remove(0);
    let mut cfg = dp.worker_config(engine_config(args));
    cfg.max_time_wait = 0; // do not linger in TIME_WAIT: the result is known
    cfg.client = Some(ClientSetup {
        ports: PortChooser::fallback(first, last),
        next_hop,
    });
    let request = args
        .request
        .replace("\\r", "\r")
        .replace("\\n", "\n")
        .into_bytes();
    let app = Fetch::new(remote, args.remote.port(), request, args.half_close);
    let control = Arc::new(Control::default());
    let stopper = control.clone();
    std::thread::spawn(move || {
        while !daemon::signalled() {
            std::thread::sleep(Duration::from_millis(20));
        }
        stopper.stop.store(true, Ordering::SeqCst);
    });
    println!("ready connect remote={} mode=fetch", args.remote);
    daemon::pin(dp.core_for(0));
    let (stats, app) = worker::run(port, cfg, app, control, |_| {});
    daemon::report(&[stats], &dp.program);
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
    println!(
        "{{\"outcome\":\"{outcome}\",\"bytes\":{},\"connect_us\":{connect_us}}}",
        app.received.len(),
    );
    Ok(())
}

/// The engine instant `since` after the workers' shared clock origin (`run_since`).
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
