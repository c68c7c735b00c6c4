//! Results: per-server figures, stack/kernel ratios, the text and markdown tables and the
//! JSON summary.

use std::fmt::Write as _;

use serde::Serialize;

use crate::{hist::Percentiles, sys::MachineInfo};

/// What one server did in one mode.
#[derive(Debug, Clone, Serialize)]
pub struct ServerResult {
    /// "xdptcp", "kernel" (or "kernel-2" when a server kind repeats).
    pub server: String,
    /// Set when the run failed; the figures below are then absent.
    pub error: Option<String>,
    pub figures: Option<Figures>,
    /// The HdrHistogram log, relative to the results directory.
    pub hlog: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub txns: u64,
    pub seconds: f64,
    pub txn_per_s: f64,
    /// Payload bytes received by the client per second, in 10^6 bytes (bulk modes).
    pub mb_per_s: f64,
    pub latency_us: Percentiles,
    /// utime + stime of the server process during the measurement window.
    pub server_cpu_s: Option<f64>,
    /// Server CPU per transaction, µs.
    pub server_cpu_us_per_txn: Option<f64>,
    /// RetransSegs delta in the client's network namespace over the window.
    pub client_retrans_segs: Option<u64>,
    /// Failed transactions (connects refused or timed out).
    pub errors: u64,
    /// Frames the xdptcp daemon handled (its exit counters); absent for the kernel server.
    pub server_frames: Option<ServerFrames>,
}

/// The xdptcp daemon's frame counters over one run, as a rate comparable with `reflect`.
#[derive(Debug, Clone, Serialize)]
pub struct ServerFrames {
    /// AF_XDP frames received and sent (all queues), warm-up included.
    pub rx_frames: u64,
    pub tx_frames: u64,
    /// The daemon's own drop count (all reasons).
    pub drops: u64,
    /// Seconds the client was sending: warm-up + measurement (the counters cover both).
    pub span_s: f64,
    /// (rx_frames + tx_frames) / span_s.
    pub frames_per_s: f64,
    /// frames_per_s / txn_per_s: frames per transaction, both directions.
    pub frames_per_txn: f64,
}

/// Round-trip percentiles in microseconds (fractional: a reflected frame takes a few µs).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct RttUs {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
}

/// One window size of the reflect sweep.
#[derive(Debug, Clone, Serialize)]
pub struct ReflectPoint {
    /// Frames kept in flight.
    pub window: usize,
    pub seconds: f64,
    /// Reflected frames received in the measurement window.
    pub frames: u64,
    pub reflected_per_s: f64,
    /// Frames the server handled per second, rx + tx (2 x reflected).
    pub server_frames_per_s: f64,
    /// Round trip client -> AF_XDP -> client, loaded by the window.
    pub rtt_us: Option<RttUs>,
    /// Over the whole point, warm-up included.
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    /// Reflected frames with a bad checksum (first frame checked in full): should be 0.
    pub bad: u64,
    pub server_cpu_s: Option<f64>,
    /// server_cpu_s / seconds: near 1.0 means the server core was the limit.
    pub server_busy: Option<f64>,
}

/// The best point of the sweep.
#[derive(Debug, Clone, Serialize)]
pub struct ReflectCeiling {
    pub window: usize,
    pub reflected_per_s: f64,
    pub server_frames_per_s: f64,
}

/// The `reflect` mode: the AF_XDP path's frame-rate ceiling (`xdptcp reflect`, raw client).
#[derive(Debug, Clone, Serialize)]
pub struct ReflectResult {
    pub server: String,
    pub error: Option<String>,
    /// Ethernet frame length without FCS, and its TCP payload.
    pub frame_bytes: usize,
    pub payload_bytes: usize,
    pub points: Vec<ReflectPoint>,
    pub ceiling: Option<ReflectCeiling>,
    /// Round trip of one frame alone (window 1).
    pub rtt_k1_us: Option<RttUs>,
    /// The daemon's exit counters over the whole sweep (`rx_frames`, `tx_frames`, `drops`,
    /// `tx_dropped`, `rx_ring_full`, `rx_dropped`, `xdp_steered`).
    pub server_counters: Option<std::collections::BTreeMap<String, u64>>,
    /// Frames the client sent and received over the whole sweep (to set against the above).
    pub client_sent: u64,
    pub client_received: u64,
    /// Window-1 round trips, HdrHistogram log (µs).
    pub hlog: Option<String>,
    pub plot: Option<String>,
}

/// crr's frame rate on the xdptcp server against the reflect ceiling (same convention:
/// rx + tx frames the server handled per second).
#[derive(Debug, Clone, Serialize)]
pub struct CrrVsReflect {
    pub crr_server: String,
    pub crr_frames_per_s: f64,
    pub reflect_frames_per_s: f64,
    pub ratio: f64,
    pub goal: f64,
    pub meets_goal: bool,
}

impl CrrVsReflect {
    pub fn line(&self) -> String {
        format!(
            "crr frames/s vs reflect ceiling: {:.0} / {:.0} = {:.2} (goal >= {})",
            self.crr_frames_per_s, self.reflect_frames_per_s, self.ratio, self.goal
        )
    }
}

impl ReflectResult {
    /// Table rows: (figure, cell per window).
    fn rows(&self) -> Vec<(String, Vec<String>)> {
        let p = &self.points;
        let f = |v: f64| format!("{v:.0}");
        let us = |v: Option<RttUs>, g: fn(&RttUs) -> f64| {
            v.map_or("-".into(), |r| format!("{:.1}", g(&r)))
        };
        let opt = |v: Option<f64>, fmt: fn(f64) -> String| v.map_or("-".into(), fmt);
        vec![
            (
                "reflected frames/s".into(),
                p.iter().map(|x| f(x.reflected_per_s)).collect(),
            ),
            (
                "server frames/s (rx+tx)".into(),
                p.iter().map(|x| f(x.server_frames_per_s)).collect(),
            ),
            (
                "rtt p50 µs".into(),
                p.iter().map(|x| us(x.rtt_us, |r| r.p50)).collect(),
            ),
            (
                "rtt p99 µs".into(),
                p.iter().map(|x| us(x.rtt_us, |r| r.p99)).collect(),
            ),
            (
                "rtt max µs".into(),
                p.iter().map(|x| us(x.rtt_us, |r| r.max)).collect(),
            ),
            (
                "server CPU busy".into(),
                p.iter()
                    .map(|x| opt(x.server_busy, |v| format!("{:.0}%", v * 100.0)))
                    .collect(),
            ),
            (
                "lost".into(),
                p.iter().map(|x| x.lost.to_string()).collect(),
            ),
            (
                "bad checksum".into(),
                p.iter().map(|x| x.bad.to_string()).collect(),
            ),
        ]
    }

    fn headline(&self) -> Vec<String> {
        let mut l = Vec::new();
        if let Some(c) = &self.ceiling {
            l.push(format!(
                "ceiling: {:.0} reflected frames/s = {:.0} server frames/s (rx+tx), at window {}",
                c.reflected_per_s, c.server_frames_per_s, c.window
            ));
        }
        if let Some(r) = &self.rtt_k1_us {
            l.push(format!(
                "one frame round trip (window 1): p50 {:.1} µs, p99 {:.1} µs",
                r.p50, r.p99
            ));
        }
        if let Some(c) = &self.server_counters {
            let kv: Vec<String> = c.iter().map(|(k, v)| format!("{k}={v}")).collect();
            l.push(format!(
                "server counters (whole sweep): {}; client sent={} received={}",
                kv.join(" "),
                self.client_sent,
                self.client_received
            ));
        }
        l
    }

    pub fn caption(&self) -> String {
        format!(
            "reflect: {} B frames ({} B payload), AF_XDP with no TCP work",
            self.frame_bytes, self.payload_bytes
        )
    }

    pub fn text_table(&self) -> String {
        let mut s = format!(
            "== {} ==
",
            self.caption()
        );
        if let Some(e) = &self.error {
            let _ = writeln!(s, "{}: FAILED: {e}", self.server);
        }
        if !self.points.is_empty() {
            let rows = self.rows();
            let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(6);
            let wc = rows
                .iter()
                .flat_map(|r| r.1.iter().map(|c| c.len()))
                .chain([10])
                .max()
                .unwrap_or(10);
            let _ = write!(s, "{:<w0$}", "window");
            for p in &self.points {
                let _ = write!(s, "  {:>wc$}", p.window);
            }
            s.push('\n');
            for (name, cells) in rows {
                let pad = w0 + name.len() - name.chars().count();
                let _ = write!(s, "{name:<pad$}");
                for c in cells {
                    let _ = write!(s, "  {c:>wc$}");
                }
                s.push('\n');
            }
        }
        for l in self.headline() {
            let _ = writeln!(s, "{l}");
        }
        s
    }

    pub fn markdown_table(&self) -> String {
        let mut s = format!(
            "### {}\n\n`{}` in the server namespace reflects every frame; a raw AF_PACKET client \
             keeps `window` frames in flight. One reflected frame = one rx + one tx frame at the \
             server.\n\n",
            self.caption(),
            self.server
        );
        if let Some(e) = &self.error {
            let _ = writeln!(s, "reflect failed: `{}`\n", e.replace('`', "'"));
        }
        if !self.points.is_empty() {
            s.push_str("| window |");
            for p in &self.points {
                let _ = write!(s, " {} |", p.window);
            }
            s.push_str("\n|---|");
            for _ in &self.points {
                s.push_str("---:|");
            }
            s.push('\n');
            for (name, cells) in self.rows() {
                let _ = write!(s, "| {name} |");
                for c in cells {
                    let _ = write!(s, " {c} |");
                }
                s.push('\n');
            }
            s.push('\n');
        }
        for l in self.headline() {
            let _ = writeln!(s, "- {l}");
        }
        if let Some(p) = &self.plot {
            let _ = writeln!(s, "\n![reflect round trip by percentile]({p})");
        }
        s
    }
}

/// A latency row: label, which percentile, its ratio.
type LatencyRow = (&'static str, fn(&Percentiles) -> u64, Option<f64>);

/// One mode: the configuration, each server's figures and the first/last ratios.
#[derive(Debug, Clone, Serialize)]
pub struct ModeResult {
    pub mode: String,
    /// What one histogram entry is.
    pub unit: String,
    pub size: usize,
    pub conns: usize,
    /// HTTP body size for http/download.
    pub body_size: Option<usize>,
    pub servers: Vec<ServerResult>,
    /// `<first server>/<last server>` for each figure, when both have figures.
    pub ratios: Option<Ratios>,
    pub plot: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ratios {
    pub label: String,
    pub txn_per_s: f64,
    pub mb_per_s: Option<f64>,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub p99_99: f64,
    pub max: f64,
    pub server_cpu_s: Option<f64>,
    pub server_cpu_us_per_txn: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunConfig {
    pub duration_s: f64,
    pub warmup_s: f64,
    pub server_core: Option<usize>,
    pub client_core: Option<usize>,
    /// "veth pair between two network namespaces" or the real interface used.
    pub network: String,
    pub xdptcp_bin: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub tool: String,
    pub started: String,
    pub machine: MachineInfo,
    pub config: RunConfig,
    pub modes: Vec<ModeResult>,
    /// The `reflect` mode, when it ran.
    pub reflect: Option<ReflectResult>,
    /// crr on xdptcp against the reflect ceiling, when both ran.
    pub crr_vs_reflect: Option<CrrVsReflect>,
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        f64::NAN
    } else {
        a / b
    }
}

impl ModeResult {
    /// Fills `ratios` from the first and last servers.
    pub fn compute_ratios(&mut self, bulk: bool) {
        self.ratios = None;
        if self.servers.len() < 2 {
            return;
        }
        let (first, last) = (&self.servers[0], &self.servers[self.servers.len() - 1]);
        let (Some(a), Some(b)) = (&first.figures, &last.figures) else {
            return;
        };
        let (la, lb) = (&a.latency_us, &b.latency_us);
        let opt = |x: Option<f64>, y: Option<f64>| Some(ratio(x?, y?));
        self.ratios = Some(Ratios {
            label: format!("{}/{}", first.server, last.server),
            txn_per_s: ratio(a.txn_per_s, b.txn_per_s),
            mb_per_s: bulk.then(|| ratio(a.mb_per_s, b.mb_per_s)),
            p50: ratio(la.p50 as f64, lb.p50 as f64),
            p90: ratio(la.p90 as f64, lb.p90 as f64),
            p99: ratio(la.p99 as f64, lb.p99 as f64),
            p99_9: ratio(la.p99_9 as f64, lb.p99_9 as f64),
            p99_99: ratio(la.p99_99 as f64, lb.p99_99 as f64),
            max: ratio(la.max as f64, lb.max as f64),
            server_cpu_s: opt(a.server_cpu_s, b.server_cpu_s),
            server_cpu_us_per_txn: opt(a.server_cpu_us_per_txn, b.server_cpu_us_per_txn),
        });
    }

    /// The one-line description used as table caption and plot subtitle.
    pub fn caption(&self) -> String {
        let mut c = format!("{}: {} B, {} conn", self.mode, self.size, self.conns);
        if self.conns != 1 {
            c.push('s');
        }
        if let Some(b) = self.body_size {
            let _ = write!(c, ", body {b} B");
        }
        c
    }

    /// Rows of (figure, cell per server, ratio cell).
    fn rows(&self, bulk: bool) -> Vec<(String, Vec<String>, String)> {
        let f = |s: &ServerResult| s.figures.clone();
        let figs: Vec<Option<Figures>> = self.servers.iter().map(f).collect();
        let r = self.ratios.as_ref();
        let cell = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        let rt = |v: Option<f64>| match v {
            Some(v) if v.is_finite() => format!("{v:.2}"),
            _ => "-".into(),
        };
        let mut rows = Vec::new();
        let mut push =
            |name: &str, get: &dyn Fn(&Figures) -> Option<String>, ratio: Option<f64>| {
                let cells = figs
                    .iter()
                    .map(|x| cell(x.as_ref().and_then(get)))
                    .collect();
                rows.push((name.to_string(), cells, rt(ratio)));
            };
        let whole = |v: f64| format!("{v:.0}");
        if bulk {
            push(
                "MB/s (payload)",
                &|x| Some(format!("{:.1}", x.mb_per_s)),
                r.and_then(|r| r.mb_per_s),
            );
        }
        let tname = if bulk { "chunks/s" } else { "transactions/s" };
        push(tname, &|x| Some(whole(x.txn_per_s)), r.map(|r| r.txn_per_s));
        let lat: [LatencyRow; 6] = [
            ("p50 µs", |p| p.p50, r.map(|r| r.p50)),
            ("p90 µs", |p| p.p90, r.map(|r| r.p90)),
            ("p99 µs", |p| p.p99, r.map(|r| r.p99)),
            ("p99.9 µs", |p| p.p99_9, r.map(|r| r.p99_9)),
            ("p99.99 µs", |p| p.p99_99, r.map(|r| r.p99_99)),
            ("max µs", |p| p.max, r.map(|r| r.max)),
        ];
        for (name, get, ratio) in lat {
            push(name, &|x| Some(get(&x.latency_us).to_string()), ratio);
        }
        push(
            "server CPU s",
            &|x| x.server_cpu_s.map(|v| format!("{v:.2}")),
            r.and_then(|r| r.server_cpu_s),
        );
        push(
            "server CPU µs/txn",
            &|x| x.server_cpu_us_per_txn.map(|v| format!("{v:.2}")),
            r.and_then(|r| r.server_cpu_us_per_txn),
        );
        push(
            "client retrans segs",
            &|x| x.client_retrans_segs.map(|v| v.to_string()),
            None,
        );
        push("errors", &|x| Some(x.errors.to_string()), None);
        if figs.iter().flatten().any(|x| x.server_frames.is_some()) {
            push(
                "server frames/s (rx+tx)",
                &|x| x.server_frames.as_ref().map(|f| whole(f.frames_per_s)),
                None,
            );
            push(
                "server frames/txn",
                &|x| {
                    x.server_frames
                        .as_ref()
                        .map(|f| format!("{:.1}", f.frames_per_txn))
                },
                None,
            );
        }
        rows
    }

    fn header(&self) -> (Vec<String>, String) {
        let names = self.servers.iter().map(|s| s.server.clone()).collect();
        let ratio = match (self.servers.first(), self.servers.last()) {
            (Some(a), Some(b)) if self.servers.len() >= 2 => format!("{}/{}", a.server, b.server),
            _ => "ratio".into(),
        };
        (names, ratio)
    }

    /// A fixed-width table for the terminal.
    pub fn text_table(&self, bulk: bool) -> String {
        let (names, ratio) = self.header();
        let rows = self.rows(bulk);
        let w0 = rows
            .iter()
            .map(|r| r.0.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        let wc = names
            .iter()
            .map(|n| n.len())
            .chain(rows.iter().flat_map(|r| r.1.iter().map(|c| c.len())))
            .chain([ratio.len(), 8])
            .max()
            .unwrap_or(8);
        let mut s = format!("== {} ({} each) ==\n", self.caption(), self.unit);
        let _ = write!(s, "{:<w0$}", "");
        for n in &names {
            let _ = write!(s, "  {n:>wc$}");
        }
        let _ = writeln!(s, "  {ratio:>wc$}");
        for (name, cells, r) in rows {
            let pad = w0 + name.len() - name.chars().count();
            let _ = write!(s, "{name:<pad$}");
            for c in cells {
                let _ = write!(s, "  {c:>wc$}");
            }
            let _ = writeln!(s, "  {r:>wc$}");
        }
        for srv in &self.servers {
            if let Some(e) = &srv.error {
                let _ = writeln!(s, "{}: FAILED: {e}", srv.server);
            }
        }
        s
    }

    /// A GitHub-flavoured markdown table.
    pub fn markdown_table(&self, bulk: bool) -> String {
        let (names, ratio) = self.header();
        let mut s = format!(
            "### {}\n\nOne sample = one {}.\n\n| |",
            self.caption(),
            self.unit
        );
        for n in &names {
            let _ = write!(s, " {n} |");
        }
        let _ = writeln!(s, " {ratio} |");
        s.push_str("|---|");
        for _ in &names {
            s.push_str("---:|");
        }
        s.push_str("---:|\n");
        for (name, cells, r) in self.rows(bulk) {
            let _ = write!(s, "| {name} |");
            for c in cells {
                let _ = write!(s, " {c} |");
            }
            let _ = writeln!(s, " {r} |");
        }
        for srv in &self.servers {
            if let Some(e) = &srv.error {
                let _ = writeln!(s, "\n{} failed: `{}`", srv.server, e.replace('`', "'"));
            }
        }
        if let Some(p) = &self.plot {
            let _ = writeln!(s, "\n![{} latency by percentile]({p})", self.mode);
        }
        s
    }
}

impl Summary {
    pub fn markdown(&self, bulk_of: impl Fn(&str) -> bool) -> String {
        let m = &self.machine;
        let c = &self.config;
        let mut s = format!(
            "# xdptcp-bench results ({})\n\n\
             - machine: {} ({} CPUs), kernel {}, load average {:.2} at the start\n\
             - network: {}\n\
             - per server and mode: {} s warm-up, {} s measured; server core {}, client core {}\n\
             - ratios are first server / last server: below 1 is better for latency and CPU, \
             above 1 for rates\n\n",
            self.started,
            m.cpu_model,
            m.nproc,
            m.kernel,
            m.loadavg_1m,
            c.network,
            c.warmup_s,
            c.duration_s,
            c.server_core.map_or("-".into(), |c| c.to_string()),
            c.client_core.map_or("-".into(), |c| c.to_string()),
        );
        for mode in &self.modes {
            s.push_str(&mode.markdown_table(bulk_of(&mode.mode)));
            s.push('\n');
        }
        if let Some(r) = &self.reflect {
            s.push_str(&r.markdown_table());
            s.push('\n');
        }
        if let Some(c) = &self.crr_vs_reflect {
            let _ = writeln!(
                s,
                "**{}** ({}: rx + tx frames the server handled per second in both)\n",
                c.line(),
                if c.meets_goal { "met" } else { "not met" }
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(txn_per_s: f64, p50: u64, cpu: Option<f64>) -> Figures {
        Figures {
            txns: (txn_per_s * 5.0) as u64,
            seconds: 5.0,
            txn_per_s,
            mb_per_s: txn_per_s * 64.0 / 1e6,
            latency_us: Percentiles {
                min: 1,
                mean: p50 as f64,
                p50,
                p90: p50 + 2,
                p99: p50 * 2,
                p99_9: p50 * 3,
                p99_99: p50 * 4,
                max: p50 * 10,
            },
            server_cpu_s: cpu,
            server_cpu_us_per_txn: cpu.map(|c| c * 1e6 / (txn_per_s * 5.0)),
            client_retrans_segs: Some(0),
            errors: 0,
            server_frames: None,
        }
    }

    fn sample() -> Summary {
        let server = |name: &str, f: Option<Figures>, error: Option<&str>| ServerResult {
            server: name.into(),
            error: error.map(String::from),
            figures: f,
            hlog: Some(format!("rr-{name}.hlog")),
        };
        let mut rr = ModeResult {
            mode: "rr".into(),
            unit: "request/response".into(),
            size: 64,
            conns: 1,
            body_size: None,
            servers: vec![
                server("xdptcp", Some(figures(80_000.0, 10, Some(5.0))), None),
                server("kernel", Some(figures(40_000.0, 20, Some(2.5))), None),
            ],
            ratios: None,
            plot: Some("rr.svg".into()),
        };
        rr.compute_ratios(false);
        let mut syn = rr.clone();
        syn.mode = "syn".into();
        syn.servers[0] = server("xdptcp", None, Some("daemon did not start"));
        syn.compute_ratios(false);
        Summary {
            tool: "xdptcp-bench".into(),
            started: "20250101-000000".into(),
            machine: MachineInfo {
                cpu_model: "Test CPU".into(),
                nproc: 2,
                kernel: "6.18".into(),
                loadavg_1m: 0.1,
            },
            config: RunConfig {
                duration_s: 5.0,
                warmup_s: 1.0,
                server_core: Some(1),
                client_core: Some(0),
                network: "veth".into(),
                xdptcp_bin: None,
            },
            modes: vec![rr, syn],
            reflect: None,
            crr_vs_reflect: None,
        }
    }

    #[test]
    fn ratios_are_first_over_last() {
        let s = sample();
        let r = s.modes[0].ratios.as_ref().unwrap();
        assert_eq!(r.label, "xdptcp/kernel");
        assert_eq!(r.txn_per_s, 2.0);
        assert_eq!(r.p50, 0.5);
        assert_eq!(r.server_cpu_s, Some(2.0));
        assert!(s.modes[1].ratios.is_none(), "no ratio when a server failed");
    }

    #[test]
    fn summary_json_has_the_documented_shape() {
        let v = serde_json::to_value(sample()).unwrap();
        assert_eq!(v["machine"]["nproc"], 2);
        assert!(v["machine"]["cpu_model"].is_string() && v["machine"]["kernel"].is_string());
        assert_eq!(v["config"]["duration_s"], 5.0);
        let rr = &v["modes"][0];
        assert_eq!(rr["mode"], "rr");
        assert_eq!(rr["size"], 64);
        assert_eq!(rr["conns"], 1);
        let servers = rr["servers"].as_array().unwrap();
        assert_eq!(servers.len(), 2);
        for s in servers {
            let f = &s["figures"];
            for key in [
                "txns",
                "seconds",
                "txn_per_s",
                "mb_per_s",
                "server_cpu_s",
                "errors",
            ] {
                assert!(f[key].is_number(), "figures.{key}");
            }
            for key in ["p50", "p90", "p99", "p99_9", "p99_99", "max", "min", "mean"] {
                assert!(f["latency_us"][key].is_number(), "latency_us.{key}");
            }
            assert!(s["hlog"].is_string());
        }
        assert_eq!(rr["ratios"]["label"], "xdptcp/kernel");
        assert_eq!(rr["ratios"]["txn_per_s"], 2.0);
        let syn = &v["modes"][1];
        assert_eq!(syn["servers"][0]["error"], "daemon did not start");
        assert!(syn["servers"][0]["figures"].is_null());
        assert!(syn["ratios"].is_null());
    }

    #[test]
    fn tables_have_a_row_per_figure_and_a_ratio_column() {
        let s = sample();
        let text = s.modes[0].text_table(false);
        assert!(text.contains("xdptcp/kernel"), "{text}");
        let tps = text
            .lines()
            .find(|l| l.starts_with("transactions/s"))
            .unwrap();
        assert!(
            tps.contains("80000") && tps.contains("40000") && tps.ends_with("2.00"),
            "{tps}"
        );
        let md = s.markdown(|_| false);
        assert!(md.contains("| p99.99 µs | 40 | 80 | 0.50 |"), "{md}");
        assert!(md.contains("xdptcp failed: `daemon did not start`"));
        assert!(md.contains("![rr latency by percentile](rr.svg)"));
    }

    #[test]
    fn reflect_section_and_crr_ratio_are_reported() {
        let rtt = RttUs {
            min: 4.0,
            mean: 5.5,
            p50: 5.3,
            p90: 6.0,
            p99: 7.8,
            p99_9: 9.0,
            max: 20.0,
        };
        let point = |window: usize, reflected_per_s: f64| ReflectPoint {
            window,
            seconds: 1.25,
            frames: (reflected_per_s * 1.25) as u64,
            reflected_per_s,
            server_frames_per_s: 2.0 * reflected_per_s,
            rtt_us: Some(rtt),
            sent: 10,
            received: 10,
            lost: 0,
            bad: 0,
            server_cpu_s: Some(1.0),
            server_busy: Some(0.8),
        };
        let mut s = sample();
        s.reflect = Some(ReflectResult {
            server: "xdptcp reflect".into(),
            error: None,
            frame_bytes: 118,
            payload_bytes: 64,
            points: vec![point(1, 150_000.0), point(32, 400_000.0)],
            ceiling: Some(ReflectCeiling {
                window: 32,
                reflected_per_s: 400_000.0,
                server_frames_per_s: 800_000.0,
            }),
            rtt_k1_us: Some(rtt),
            server_counters: None,
            client_sent: 20,
            client_received: 20,
            hlog: Some("reflect-xdptcp.hlog".into()),
            plot: Some("reflect.svg".into()),
        });
        s.crr_vs_reflect = Some(CrrVsReflect {
            crr_server: "xdptcp".into(),
            crr_frames_per_s: 200_000.0,
            reflect_frames_per_s: 800_000.0,
            ratio: 0.25,
            goal: 0.5,
            meets_goal: false,
        });
        let text = s.reflect.as_ref().unwrap().text_table();
        let row = text
            .lines()
            .find(|l| l.starts_with("reflected frames/s"))
            .unwrap();
        assert!(row.contains("150000") && row.ends_with("400000"), "{row}");
        assert!(text.contains("p50 5.3 µs, p99 7.8 µs"), "{text}");
        let md = s.markdown(|_| false);
        assert!(
            md.contains("| server frames/s (rx+tx) | 300000 | 800000 |"),
            "{md}"
        );
        assert!(
            md.contains("crr frames/s vs reflect ceiling: 200000 / 800000 = 0.25 (goal >= 0.5)"),
            "{md}"
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["reflect"]["ceiling"]["server_frames_per_s"], 800_000.0);
        assert_eq!(v["reflect"]["rtt_k1_us"]["p99"], 7.8);
        assert_eq!(v["crr_vs_reflect"]["ratio"], 0.25);
        assert!(v["modes"][0]["servers"][0]["figures"]["server_frames"].is_null());
    }
}
