//! The stack as the load generator: `xdptcp connect` (rr, crr) run as a child process in the
//! client namespace, its JSON line and HdrHistogram log read back into a [`ClientResult`], so
//! tables, plots and the summary are produced exactly as for the kernel-socket client.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use anyhow::{anyhow, bail, Context, Result};
use hdrhistogram::{
    serialization::{
        interval_log::{IntervalLogIterator, LogEntry},
        Deserializer,
    },
    Histogram,
};
use netns_tests::{counters::ExitCounters, Netns, Process};
use serde::Deserialize;

use crate::{
    client::{ClientResult, Mode},
    hist::new_histogram,
};

/// Which client drives the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientKind {
    /// Kernel sockets, one thread per connection (`client.rs`).
    #[default]
    Kernel,
    /// `xdptcp connect`: the stack's active open (rr and crr only).
    Xdptcp,
}

impl FromStr for ClientKind {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<ClientKind> {
        match s {
            "kernel" => Ok(ClientKind::Kernel),
            "xdptcp" => Ok(ClientKind::Xdptcp),
            _ => bail!("unknown client {s:?} (kernel, xdptcp)"),
        }
    }
}

impl ClientKind {
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Kernel => "kernel",
            ClientKind::Xdptcp => "xdptcp",
        }
    }

    /// True if this client can run `mode`.
    pub fn supports(self, mode: Mode) -> bool {
        match self {
            ClientKind::Kernel => true,
            ClientKind::Xdptcp => matches!(mode, Mode::Rr | Mode::Crr),
        }
    }
}

/// How long `xdptcp connect` may take past its warm-up and duration to print its result.
const GRACE: Duration = Duration::from_secs(20);

/// The last line `xdptcp connect --mode rr|crr` prints on stdout.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectReport {
    pub mode: String,
    pub conns: usize,
    pub size: usize,
    pub duration_s: f64,
    pub transactions: u64,
    pub tps: f64,
    pub connects: u64,
    pub errors: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

/// A running `xdptcp connect` in the client namespace.
pub struct StackClient {
    process: Process,
    hlog: PathBuf,
    timeout: Duration,
    size: usize,
}

/// Everything needed to start one.
pub struct StackClientConfig<'a> {
    pub bin: &'a Path,
    pub iface: &'a str,
    /// The server; an IPv6 one is given as `[addr]:port`, and the stack then uses the
    /// interface's IPv6 address.
    pub remote: SocketAddr,
    pub mode: Mode,
    pub size: usize,
    pub conns: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub core: Option<usize>,
    /// Where it writes its histogram (read back, then left for inspection); its output
    /// (ready line, exit counters, JSON) goes next to it with the extension `log`.
    pub hlog: PathBuf,
}

impl StackClientConfig<'_> {
    pub fn argv(&self) -> Vec<String> {
        let mut a: Vec<String> = vec![
            self.bin.display().to_string(),
            "connect".into(),
            "--iface".into(),
            self.iface.into(),
            "--remote".into(),
            self.remote.to_string(),
            "--mode".into(),
            self.mode.name().into(),
            "--conns".into(),
            self.conns.to_string(),
            "--size".into(),
            self.size.to_string(),
            "--warmup".into(),
            self.warmup.as_secs_f64().to_string(),
            "--duration".into(),
            self.duration.as_secs_f64().to_string(),
            "--hlog".into(),
            self.hlog.display().to_string(),
        ];
        if let Some(core) = self.core {
            a.extend(["--cores".into(), core.to_string()]);
        }
        a
    }
}

impl StackClient {
    /// Starts `xdptcp connect` in `ns` and waits for its `ready` line.
    pub fn start(ns: &Netns, tag: &str, cfg: &StackClientConfig) -> Result<StackClient> {
        if !matches!(cfg.mode, Mode::Rr | Mode::Crr) {
            bail!(
                "xdptcp connect measures rr and crr only, not {}",
                cfg.mode.name()
            );
        }
        let argv = cfg.argv();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let _ = std::fs::remove_file(&cfg.hlog);
        let mut process = ns.spawn(&format!("{tag} client"), &argv)?;
        process.wait_for_line(
            "the client's `ready` line",
            netns_tests::daemon::READY_TIMEOUT,
            |l| l.starts_with("ready"),
        )?;
        Ok(StackClient {
            process,
            hlog: cfg.hlog.clone(),
            timeout: cfg.warmup + cfg.duration + GRACE,
            size: cfg.size,
        })
    }

    /// True once the process has exited.
    pub fn is_finished(&mut self) -> bool {
        !matches!(self.process.try_status(), Ok(None))
    }

    /// Waits for the result line and the exit; the figures as the kernel client gives them,
    /// and the stack's retransmissions (from its exit counters). Saves its output first.
    pub fn finish(mut self) -> Result<(ClientResult, Option<u64>)> {
        let line = self
            .process
            .wait_for_line("the client's JSON result", self.timeout, |l| {
                l.starts_with('{')
            });
        let status = line.as_ref().ok().map(|_| self.process.wait_exit(GRACE));
        let output = self.process.output();
        let log = self.hlog.with_extension("log");
        std::fs::write(&log, &output).with_context(|| format!("cannot write {}", log.display()))?;
        let (line, status) = (line?, status.expect("set when the line came")?);
        if !status.success() {
            bail!("xdptcp connect exited with {status}; output:\n{output}");
        }
        let report: ConnectReport = serde_json::from_str(&line)
            .with_context(|| format!("cannot parse the client's result {line:?}"))?;
        let hist = read_hlog(&self.hlog)?;
        if hist.len() != report.transactions {
            bail!(
                "the client's hlog holds {} samples but it reported {} transactions",
                hist.len(),
                report.transactions
            );
        }
        let counters = ExitCounters::parse(&self.process.stderr());
        let retrans = counters
            .queues
            .values()
            .any(|q| q.contains_key("retransmissions"))
            .then(|| counters.total("retransmissions"));
        let elapsed = Duration::from_secs_f64(report.duration_s.max(1e-9));
        Ok((
            ClientResult {
                hist,
                txns: report.transactions,
                // Both modes read `size` echoed bytes per transaction, as the kernel client
                // counts them.
                bytes: report.transactions * self.size as u64,
                elapsed,
                errors: report.errors,
            },
            retrans,
        ))
    }

    /// Everything it printed so far.
    pub fn output(&self) -> String {
        self.process.output()
    }
}

/// The sum of every interval in an HdrHistogram log (V2 + deflate, microseconds).
pub fn read_hlog(path: &Path) -> Result<Histogram<u64>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut total = new_histogram();
    let mut de = Deserializer::new();
    let mut intervals = 0;
    for entry in IntervalLogIterator::new(&bytes) {
        let entry = entry.map_err(|e| anyhow!("{}: bad log entry: {e:?}", path.display()))?;
        if let LogEntry::Interval(i) = entry {
            let encoded = base64_decode(i.encoded_histogram())
                .with_context(|| format!("{}: bad base64", path.display()))?;
            let h: Histogram<u64> = de
                .deserialize(&mut encoded.as_slice())
                .map_err(|e| anyhow!("{}: bad histogram: {e:?}", path.display()))?;
            total
                .add(&h)
                .map_err(|e| anyhow!("{}: cannot merge: {e:?}", path.display()))?;
            intervals += 1;
        }
    }
    if intervals == 0 {
        bail!("{}: no histogram interval in the log", path.display());
    }
    Ok(total)
}

/// Standard base64 (with padding), as HdrHistogram logs encode histograms.
fn base64_decode(text: &str) -> Result<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let text = text.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for &c in text.as_bytes() {
        let v = value(c).ok_or_else(|| anyhow!("invalid base64 byte {c:#x}"))?;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::{record_us, write_hlog};
    use std::time::SystemTime;

    #[test]
    fn reads_back_what_write_hlog_wrote() {
        let mut h = new_histogram();
        for us in [3, 14, 15, 92, 65, 35, 89, 79, 3238] {
            record_us(&mut h, Duration::from_micros(us));
        }
        let dir = std::env::temp_dir().join(format!("xdptcp-bench-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.hlog");
        write_hlog(
            &path,
            &h,
            "t",
            &[],
            SystemTime::now(),
            Duration::from_secs(1),
        )
        .unwrap();
        let back = read_hlog(&path).unwrap();
        assert_eq!(back.len(), h.len());
        assert_eq!(back.max(), h.max());
        assert_eq!(back.value_at_quantile(0.5), h.value_at_quantile(0.5));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert!(base64_decode("a*b").is_err());
    }

    #[test]
    fn parses_the_connect_report() {
        let line = r#"{"mode":"rr","conns":1,"size":64,"duration_s":2,"transactions":90000,"tps":45000.0,"connects":1,"errors":0,"p50_us":14,"p90_us":29,"p99_us":87,"p99_9_us":133,"p99_99_us":1279,"max_us":2921}"#;
        let r: ConnectReport = serde_json::from_str(line).unwrap();
        assert_eq!((r.transactions, r.errors, r.p99_us), (90000, 0, 87));
        assert_eq!(r.duration_s, 2.0);
    }

    #[test]
    fn the_remote_is_given_in_the_form_xdptcp_connect_parses() {
        let mut cfg = StackClientConfig {
            bin: Path::new("/bin/xdptcp"),
            iface: "veth0",
            remote: "[fd00:1:2::1]:7777".parse().unwrap(),
            mode: Mode::Rr,
            size: 64,
            conns: 1,
            warmup: Duration::from_millis(500),
            duration: Duration::from_secs(2),
            core: Some(0),
            hlog: PathBuf::from("/tmp/x.hlog"),
        };
        let remote = |cfg: &StackClientConfig| {
            let argv = cfg.argv();
            let i = argv.iter().position(|a| a == "--remote").unwrap();
            argv[i + 1].clone()
        };
        assert_eq!(remote(&cfg), "[fd00:1:2::1]:7777");
        // No --addr: the daemon picks the interface's address of the remote's family.
        assert!(!cfg.argv().contains(&"--addr".to_string()));
        cfg.remote = "10.1.2.1:7777".parse().unwrap();
        assert_eq!(remote(&cfg), "10.1.2.1:7777");
    }

    #[test]
    fn only_rr_and_crr_run_on_the_stack_client() {
        assert!(ClientKind::Xdptcp.supports(Mode::Rr));
        assert!(ClientKind::Xdptcp.supports(Mode::Crr));
        assert!(!ClientKind::Xdptcp.supports(Mode::Stream));
        assert!(ClientKind::Kernel.supports(Mode::Syn));
    }
}
