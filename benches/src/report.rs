//! Results: per-server figures, stack/kernel ratios, the text and markdown tables and the
//! JSON summary.

use std::{collections::BTreeMap, fmt::Write as _};

use serde::Serialize;

use crate::{client::ClientResult, hist::Percentiles, sys::MachineInfo};

/// One figure over the rounds: the median of its values and their range.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// How many values (rounds) it is of.
    pub rounds: usize,
}

impl Spread {
    /// Of the finite values in `values` (a ratio to zero is not a value); `None` without any.
    /// An even count has the mean of the middle two as its median.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => v[n / 2],
            _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        };
        Some(Spread {
            median,
            min: v[0],
            max: v[n - 1],
            rounds: n,
        })
    }

    /// `1.42× (1.21-1.77)`: the median ratio and its range; `1.42×` of a single round.
    pub fn ratio_cell(&self) -> String {
        if self.rounds > 1 {
            format!("{:.2}× ({:.2}-{:.2})", self.median, self.min, self.max)
        } else {
            format!("{:.2}×", self.median)
        }
    }
}

/// One measurement: one server in one round, with a fresh server process.
#[derive(Debug, Clone, Serialize)]
pub struct RoundResult {
    /// 1, 2, ... in the order run.
    pub round: usize,
    /// Set when the measurement failed; the figures are then absent.
    pub error: Option<String>,
    pub figures: Option<Figures>,
    /// The HdrHistogram log, relative to the results directory.
    pub hlog: Option<String>,
}

/// What one server did in one mode, over the rounds.
#[derive(Debug, Clone, Serialize)]
pub struct ServerResult {
    /// "xdptcp", "kernel" (or "kernel-2" when a server kind repeats).
    pub server: String,
    /// Each figure's median and min-max over the rounds that completed, by [`FIGURES`] key;
    /// empty when none did.
    pub stats: BTreeMap<&'static str, Spread>,
    /// Every round's own figures (or error), in the order run.
    pub rounds: Vec<RoundResult>,
}

impl ServerResult {
    /// The figures' medians over `rounds`.
    pub fn new(server: String, rounds: Vec<RoundResult>) -> ServerResult {
        let stats = FIGURES
            .iter()
            .filter_map(|fig| {
                let values = rounds.iter().filter_map(|r| (fig.get)(r.figures.as_ref()?));
                Some((fig.key, Spread::of(values)?))
            })
            .collect();
        ServerResult {
            server,
            stats,
            rounds,
        }
    }

    /// The rounds that failed.
    pub fn failed(&self) -> impl Iterator<Item = &RoundResult> {
        self.rounds.iter().filter(|r| r.error.is_some())
    }
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

impl Figures {
    /// What the client saw, and nothing about the server.
    pub fn of_client(r: &ClientResult) -> Figures {
        Figures {
            txns: r.txns,
            seconds: r.elapsed.as_secs_f64(),
            txn_per_s: r.txn_per_sec(),
            mb_per_s: r.mb_per_sec(),
            latency_us: Percentiles::of(&r.hist),
            server_cpu_s: None,
            server_cpu_us_per_txn: None,
            client_retrans_segs: None,
            errors: r.errors,
            server_frames: None,
        }
    }
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

    /// One column per window.
    fn grid(&self) -> Grid {
        Grid {
            corner: "window".into(),
            headers: self.points.iter().map(|p| p.window.to_string()).collect(),
            rows: self.rows(),
            min_width: 10,
        }
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
        let mut s = format!("== {} ==\n", self.caption());
        if let Some(e) = &self.error {
            let _ = writeln!(s, "{}: FAILED: {e}", self.server);
        }
        if !self.points.is_empty() {
            s.push_str(&self.grid().text());
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
            s.push_str(&self.grid().markdown());
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

/// How a figure's row is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Show {
    Always,
    /// Bulk modes only (stream, download).
    Bulk,
    /// All but the bulk modes.
    NotBulk,
    /// When some server has it (the daemon's frame counters).
    IfAny,
}

/// A figure of one round: how it is read from [`Figures`], named in the JSON and the tables,
/// and compared. Every table, median and ratio comes from the one list, [`FIGURES`].
pub struct Figure {
    /// Its key in `stats` (JSON).
    pub key: &'static str,
    /// Its row in the tables.
    pub label: &'static str,
    pub get: fn(&Figures) -> Option<f64>,
    /// Decimals in the tables.
    digits: usize,
    /// Whether first/last server means something (rates, latency, CPU; not counts).
    ratio: bool,
    /// A count: the tables show its total over the rounds rather than its median.
    total: bool,
    show: Show,
}

impl Figure {
    const fn new(
        key: &'static str,
        label: &'static str,
        digits: usize,
        get: fn(&Figures) -> Option<f64>,
    ) -> Figure {
        Figure {
            key,
            label,
            get,
            digits,
            ratio: true,
            total: false,
            show: Show::Always,
        }
    }

    const fn show(self, show: Show) -> Figure {
        Figure { show, ..self }
    }

    /// A count: summed in the tables, no ratio.
    const fn count(self) -> Figure {
        Figure {
            total: true,
            ratio: false,
            ..self
        }
    }

    const fn no_ratio(self) -> Figure {
        Figure {
            ratio: false,
            ..self
        }
    }

    fn shown(&self, bulk: bool) -> bool {
        match self.show {
            Show::Bulk => bulk,
            Show::NotBulk => !bulk,
            Show::Always | Show::IfAny => true,
        }
    }

    fn cell(&self, v: f64) -> String {
        format!("{v:.*}", self.digits)
    }
}

/// The figures of a mode, in table order (`txn_per_s` is named after the mode's kind).
pub const FIGURES: &[Figure] = &[
    Figure::new("mb_per_s", "MB/s (payload)", 1, |f| Some(f.mb_per_s)).show(Show::Bulk),
    Figure::new("txn_per_s", "transactions/s", 0, |f| Some(f.txn_per_s)).show(Show::NotBulk),
    Figure::new("txn_per_s", "chunks/s", 0, |f| Some(f.txn_per_s)).show(Show::Bulk),
    Figure::new("p50", "p50 µs", 0, |f| Some(f.latency_us.p50 as f64)),
    Figure::new("p90", "p90 µs", 0, |f| Some(f.latency_us.p90 as f64)),
    Figure::new("p99", "p99 µs", 0, |f| Some(f.latency_us.p99 as f64)),
    Figure::new("p99_9", "p99.9 µs", 0, |f| Some(f.latency_us.p99_9 as f64)),
    Figure::new("p99_99", "p99.99 µs", 0, |f| {
        Some(f.latency_us.p99_99 as f64)
    }),
    Figure::new("max", "max µs", 0, |f| Some(f.latency_us.max as f64)),
    Figure::new("server_cpu_s", "server CPU s", 2, |f| f.server_cpu_s),
    Figure::new("server_cpu_us_per_txn", "server CPU µs/txn", 2, |f| {
        f.server_cpu_us_per_txn
    }),
    Figure::new("client_retrans_segs", "client retrans segs", 0, |f| {
        f.client_retrans_segs.map(|v| v as f64)
    })
    .count(),
    Figure::new("errors", "errors", 0, |f| Some(f.errors as f64)).count(),
    Figure::new("server_frames_per_s", "server frames/s (rx+tx)", 0, |f| {
        f.server_frames.as_ref().map(|s| s.frames_per_s)
    })
    .show(Show::IfAny)
    .no_ratio(),
    Figure::new("server_frames_per_txn", "server frames/txn", 1, |f| {
        f.server_frames.as_ref().map(|s| s.frames_per_txn)
    })
    .show(Show::IfAny)
    .no_ratio(),
];

/// A table: its corner cell, column headers and rows of (name, cells), for the terminal and
/// for markdown.
struct Grid {
    corner: String,
    headers: Vec<String>,
    rows: Vec<(String, Vec<String>)>,
    /// Narrowest column (numbers line up across tables of similar width).
    min_width: usize,
}

impl Grid {
    fn text(&self) -> String {
        let w0 = self
            .rows
            .iter()
            .map(|r| r.0.chars().count())
            .chain([self.corner.chars().count(), 6])
            .max()
            .unwrap_or(6);
        let wc = self
            .headers
            .iter()
            .chain(self.rows.iter().flat_map(|r| &r.1))
            .map(|c| c.chars().count())
            .chain([self.min_width])
            .max()
            .unwrap_or(self.min_width);
        let mut s = format!("{:<w0$}", self.corner);
        for h in &self.headers {
            let _ = write!(s, "  {h:>wc$}");
        }
        s.push('\n');
        for (name, cells) in &self.rows {
            let _ = write!(s, "{name:<w0$}");
            for c in cells {
                let _ = write!(s, "  {c:>wc$}");
            }
            s.push('\n');
        }
        s
    }

    fn markdown(&self) -> String {
        let mut s = match self.corner.as_str() {
            "" => "| |".to_string(),
            c => format!("| {c} |"),
        };
        for h in &self.headers {
            let _ = write!(s, " {h} |");
        }
        s.push_str("\n|---|");
        for _ in &self.headers {
            s.push_str("---:|");
        }
        s.push('\n');
        for (name, cells) in &self.rows {
            let _ = write!(s, "| {name} |");
            for c in cells {
                let _ = write!(s, " {c} |");
            }
            s.push('\n');
        }
        s
    }
}

/// One mode: the configuration, each server's rounds and medians, and the first/last ratios.
#[derive(Debug, Clone, Serialize)]
pub struct ModeResult {
    pub mode: String,
    /// "IPv4" or "IPv6": the family the servers were reached over (`None`: not recorded).
    pub family: Option<String>,
    /// What one histogram entry is.
    pub unit: String,
    pub size: usize,
    pub conns: usize,
    /// HTTP body size for http/download.
    pub body_size: Option<usize>,
    /// Rounds run: each server once per round, in `servers` order.
    pub rounds: usize,
    pub servers: Vec<ServerResult>,
    /// `<first server>/<last server>`, per round, when both have figures.
    pub ratios: Option<Ratios>,
    /// Latency by percentile, each server's rounds merged.
    pub plot: Option<String>,
}

/// The first server's figures over the last's, round by round.
#[derive(Debug, Clone, Serialize)]
pub struct Ratios {
    pub label: String,
    /// Rounds in which both servers completed (the ratios are of those).
    pub rounds: usize,
    /// Each figure's per-round ratio: median and min-max, by [`FIGURES`] key.
    pub stats: BTreeMap<&'static str, Spread>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunConfig {
    pub duration_s: f64,
    pub warmup_s: f64,
    /// Alternating rounds per mode.
    pub rounds: usize,
    pub server_core: Option<usize>,
    pub client_core: Option<usize>,
    /// "IPv4" or "IPv6" (`--family`): what every mode of the run went over.
    pub family: String,
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
    /// Fills `ratios` from the first and last servers, round by round.
    pub fn compute_ratios(&mut self) {
        self.ratios = None;
        let [first, .., last] = &self.servers[..] else {
            return;
        };
        let pairs: Vec<(&Figures, &Figures)> = first
            .rounds
            .iter()
            .zip(&last.rounds)
            .filter_map(|(a, b)| Some((a.figures.as_ref()?, b.figures.as_ref()?)))
            .collect();
        if pairs.is_empty() {
            return;
        }
        let stats = FIGURES
            .iter()
            .filter(|fig| fig.ratio)
            .filter_map(|fig| {
                let per_round = pairs
                    .iter()
                    .filter_map(|(a, b)| Some(ratio((fig.get)(a)?, (fig.get)(b)?)));
                Some((fig.key, Spread::of(per_round)?))
            })
            .collect();
        self.ratios = Some(Ratios {
            label: format!("{}/{}", first.server, last.server),
            rounds: pairs.len(),
            stats,
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
        if let Some(f) = &self.family {
            let _ = write!(c, ", {f}");
        }
        c
    }

    /// The figures this mode's tables show.
    fn figures(&self, bulk: bool) -> impl Iterator<Item = &'static Figure> + '_ {
        FIGURES.iter().filter(move |fig| {
            fig.shown(bulk)
                && (fig.show != Show::IfAny
                    || self.servers.iter().any(|s| s.stats.contains_key(fig.key)))
        })
    }

    /// Each server's medians (totals for counts) and the ratio column.
    fn grid(&self, bulk: bool) -> Grid {
        let mut headers: Vec<String> = self.servers.iter().map(|s| s.server.clone()).collect();
        let r = self.ratios.as_ref();
        headers.push(r.map_or("ratio".into(), |r| r.label.clone()));
        let rows = self
            .figures(bulk)
            .map(|fig| {
                let mut cells: Vec<String> = self
                    .servers
                    .iter()
                    .map(|s| {
                        let total = || {
                            let v = s
                                .rounds
                                .iter()
                                .filter_map(|r| (fig.get)(r.figures.as_ref()?));
                            fig.cell(v.sum())
                        };
                        match s.stats.get(fig.key) {
                            Some(_) if fig.total => total(),
                            Some(v) => fig.cell(v.median),
                            None => "-".into(),
                        }
                    })
                    .collect();
                let ratio = r.and_then(|r| r.stats.get(fig.key));
                cells.push(ratio.map_or("-".into(), Spread::ratio_cell));
                (fig.label.to_string(), cells)
            })
            .collect();
        Grid {
            corner: String::new(),
            headers,
            rows,
            min_width: 8,
        }
    }

    /// Every round's own figures, one column per measurement in the order run.
    fn rounds_grid(&self, bulk: bool) -> Grid {
        let mut columns: Vec<(String, &RoundResult)> = Vec::new();
        for round in 1..=self.rounds {
            for s in &self.servers {
                if let Some(r) = s.rounds.iter().find(|r| r.round == round) {
                    columns.push((format!("{} #{round}", s.server), r));
                }
            }
        }
        let rows = self
            .figures(bulk)
            .map(|fig| {
                let cells = columns
                    .iter()
                    .map(|(_, r)| match &r.figures {
                        Some(f) => (fig.get)(f).map_or("-".into(), |v| fig.cell(v)),
                        None => "failed".into(),
                    })
                    .collect();
                (fig.label.to_string(), cells)
            })
            .collect();
        Grid {
            corner: "round".into(),
            headers: columns.into_iter().map(|c| c.0).collect(),
            rows,
            min_width: 8,
        }
    }

    /// Who failed ("xdptcp round 2") and why, one per failed round.
    fn failures(&self) -> Vec<(String, &str)> {
        self.servers
            .iter()
            .flat_map(|s| {
                s.failed().map(|r| {
                    let who = if self.rounds > 1 {
                        format!("{} round {}", s.server, r.round)
                    } else {
                        s.server.clone()
                    };
                    (who, r.error.as_deref().unwrap_or_default())
                })
            })
            .collect()
    }

    /// What the cells are, when there are several rounds.
    fn rounds_note(&self) -> Option<String> {
        (self.rounds > 1).then(|| {
            format!(
                "medians of {} alternating rounds; ratio: median of the per-round ratios \
                 (min-max)",
                self.rounds
            )
        })
    }

    /// A fixed-width table for the terminal.
    pub fn text_table(&self, bulk: bool) -> String {
        let mut s = format!("== {} ({} each", self.caption(), self.unit);
        if let Some(n) = self.rounds_note() {
            let _ = write!(s, "; {n}");
        }
        s.push_str(") ==\n");
        s.push_str(&self.grid(bulk).text());
        for (who, e) in self.failures() {
            let _ = writeln!(s, "{who}: FAILED: {e}");
        }
        s
    }

    /// GitHub-flavoured markdown: the medians table, then every round's figures.
    pub fn markdown_table(&self, bulk: bool) -> String {
        let mut s = format!("### {}\n\nOne sample = one {}", self.caption(), self.unit);
        match self.rounds_note() {
            Some(n) => {
                let _ = write!(s, "; {n}.\n\n");
            }
            None => s.push_str(".\n\n"),
        }
        s.push_str(&self.grid(bulk).markdown());
        for (who, e) in self.failures() {
            let _ = writeln!(s, "\n{who} failed: `{}`", e.replace('`', "'"));
        }
        if let Some(p) = &self.plot {
            let _ = writeln!(s, "\n![{} latency by percentile]({p})", self.mode);
        }
        if self.rounds > 1 {
            let _ = write!(
                s,
                "\n{} round by round, in the order run:\n\n{}",
                self.mode,
                self.rounds_grid(bulk).markdown()
            );
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
             - address family: {}\n\
             - network: {}\n\
             - per server and mode: {} round(s), alternating servers (a fresh server each time), \
             {} s warm-up and {} s measured each; server core {}, client core {}\n\
             - each figure is the median over the rounds (counts: their total); ratios are first \
             server / last server, the median of the per-round ratios with their min-max: below \
             1 is better for latency and CPU, above 1 for rates\n\n",
            self.started,
            m.cpu_model,
            m.nproc,
            m.kernel,
            m.loadavg_1m,
            c.family,
            c.network,
            c.rounds,
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

    fn round(round: usize, f: Option<Figures>, error: Option<&str>) -> RoundResult {
        RoundResult {
            round,
            hlog: f.as_ref().map(|_| format!("rr-{round}.hlog")),
            error: error.map(String::from),
            figures: f,
        }
    }

    fn mode(name: &str, rounds: usize, servers: Vec<ServerResult>) -> ModeResult {
        let mut m = ModeResult {
            mode: name.into(),
            family: None,
            unit: "request/response".into(),
            size: 64,
            conns: 1,
            body_size: None,
            rounds,
            servers,
            ratios: None,
            plot: Some(format!("{name}.svg")),
        };
        m.compute_ratios();
        m
    }

    /// rr over one round, and syn whose xdptcp server failed.
    fn sample() -> Summary {
        let one = |name: &str, f: Option<Figures>, error: Option<&str>| {
            ServerResult::new(name.into(), vec![round(1, f, error)])
        };
        let rr = mode(
            "rr",
            1,
            vec![
                one("xdptcp", Some(figures(80_000.0, 10, Some(5.0))), None),
                one("kernel", Some(figures(40_000.0, 20, Some(2.5))), None),
            ],
        );
        let syn = mode(
            "syn",
            1,
            vec![
                one("xdptcp", None, Some("daemon did not start")),
                one("kernel", Some(figures(40_000.0, 20, Some(2.5))), None),
            ],
        );
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
                rounds: 1,
                server_core: Some(1),
                client_core: Some(0),
                family: "IPv6".into(),
                network: "veth".into(),
                xdptcp_bin: None,
            },
            modes: vec![rr, syn],
            reflect: None,
            crr_vs_reflect: None,
        }
    }

    /// Three alternating rounds of rr: xdptcp at 60k, 90k, 80k; kernel at 40k, 30k, 50k.
    fn three_rounds() -> ModeResult {
        let rounds = |rates: [f64; 3], p50: u64| {
            let r = rates.iter().enumerate();
            r.map(|(i, &t)| round(i + 1, Some(figures(t, p50, Some(1.0))), None))
                .collect()
        };
        mode(
            "rr",
            3,
            vec![
                ServerResult::new("xdptcp".into(), rounds([60e3, 90e3, 80e3], 10)),
                ServerResult::new("kernel".into(), rounds([40e3, 30e3, 50e3], 20)),
            ],
        )
    }

    #[test]
    fn spread_of_an_odd_count_is_its_middle_value() {
        let s = Spread::of([3.0, 1.0, 2.0]).unwrap();
        assert_eq!(
            s,
            Spread {
                median: 2.0,
                min: 1.0,
                max: 3.0,
                rounds: 3
            }
        );
        assert_eq!(Spread::of([7.0]).unwrap().median, 7.0);
    }

    #[test]
    fn spread_of_an_even_count_is_the_mean_of_the_middle_two() {
        let s = Spread::of([4.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.rounds), (3.0, 1.0, 10.0, 4));
        assert_eq!(Spread::of([1.0, 2.0]).unwrap().median, 1.5);
    }

    #[test]
    fn spread_leaves_out_what_is_not_a_number() {
        assert_eq!(Spread::of([]), None);
        assert_eq!(Spread::of([f64::NAN, f64::INFINITY]), None);
        let s = Spread::of([2.0, f64::NAN, 4.0]).unwrap();
        assert_eq!((s.median, s.rounds), (3.0, 2));
    }

    #[test]
    fn ratio_cells_show_the_median_and_the_range() {
        let s = Spread::of([1.21, 1.42, 1.77]).unwrap();
        assert_eq!(s.ratio_cell(), "1.42× (1.21-1.77)");
        assert_eq!(Spread::of([0.5]).unwrap().ratio_cell(), "0.50×");
    }

    #[test]
    fn ratios_are_first_over_last() {
        let s = sample();
        let r = s.modes[0].ratios.as_ref().unwrap();
        assert_eq!(r.label, "xdptcp/kernel");
        assert_eq!(r.rounds, 1);
        assert_eq!(r.stats["txn_per_s"].median, 2.0);
        assert_eq!(r.stats["p50"].median, 0.5);
        assert_eq!(r.stats["server_cpu_s"].median, 2.0);
        assert!(!r.stats.contains_key("errors"), "counts have no ratio");
        assert!(s.modes[1].ratios.is_none(), "no ratio when a server failed");
    }

    #[test]
    fn each_server_figure_is_its_median_over_the_rounds() {
        let m = three_rounds();
        let x = &m.servers[0].stats["txn_per_s"];
        assert_eq!((x.median, x.min, x.max, x.rounds), (80e3, 60e3, 90e3, 3));
        assert_eq!(m.servers[1].stats["txn_per_s"].median, 40e3);
        assert_eq!(m.servers[1].stats["p50"].median, 20.0);
    }

    #[test]
    fn ratios_are_the_median_of_the_per_round_ratios() {
        // Per round: 60/40 = 1.5, 90/30 = 3, 80/50 = 1.6; not 80/40 = 2 (the medians' ratio).
        let m = three_rounds();
        let r = m.ratios.as_ref().unwrap();
        let t = &r.stats["txn_per_s"];
        assert_eq!(r.rounds, 3);
        assert_eq!((t.median, t.min, t.max), (1.6, 1.5, 3.0));
        assert_eq!(r.stats["p50"].median, 0.5);
        let text = m.text_table(false);
        let row = text
            .lines()
            .find(|l| l.starts_with("transactions/s"))
            .unwrap();
        assert!(
            row.contains("80000") && row.contains("40000") && row.ends_with("1.60× (1.50-3.00)"),
            "{text}"
        );
        assert!(text.contains("medians of 3 alternating rounds"), "{text}");
    }

    #[test]
    fn a_failed_round_leaves_the_others_and_is_reported() {
        let mut m = three_rounds();
        m.servers[0].rounds[1] = round(2, None, Some("reset"));
        m.servers[0] = ServerResult::new("xdptcp".into(), m.servers[0].rounds.clone());
        m.compute_ratios();
        let r = m.ratios.as_ref().unwrap();
        assert_eq!(r.rounds, 2);
        // 1.5 and 1.6 left: an even count.
        assert!((r.stats["txn_per_s"].median - 1.55).abs() < 1e-12);
        assert_eq!(m.servers[0].stats["txn_per_s"].median, 70e3);
        let md = m.markdown_table(false);
        assert!(md.contains("xdptcp round 2 failed: `reset`"), "{md}");
        assert!(
            md.contains("| transactions/s | 60000 | 40000 | failed | 30000 | 80000 | 50000 |"),
            "{md}"
        );
    }

    #[test]
    fn markdown_shows_every_round_in_the_order_run() {
        let md = three_rounds().markdown_table(false);
        assert!(
            md.contains(
                "| round | xdptcp #1 | kernel #1 | xdptcp #2 | kernel #2 | xdptcp #3 | kernel #3 |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| transactions/s | 80000 | 40000 | 1.60× (1.50-3.00) |"),
            "{md}"
        );
        assert!(
            md.contains("| errors | 0 | 0 | - |"),
            "counts are totals: {md}"
        );
    }

    #[test]
    fn summary_json_has_the_documented_shape() {
        let v = serde_json::to_value(sample()).unwrap();
        assert_eq!(v["machine"]["nproc"], 2);
        assert!(v["machine"]["cpu_model"].is_string() && v["machine"]["kernel"].is_string());
        assert_eq!(v["config"]["duration_s"], 5.0);
        assert_eq!(v["config"]["rounds"], 1);
        let rr = &v["modes"][0];
        assert_eq!(rr["mode"], "rr");
        assert_eq!(rr["size"], 64);
        assert_eq!(rr["conns"], 1);
        assert_eq!(rr["rounds"], 1);
        let servers = rr["servers"].as_array().unwrap();
        assert_eq!(servers.len(), 2);
        for s in servers {
            for key in ["txn_per_s", "p50", "p99", "p99_9", "p99_99", "server_cpu_s"] {
                for k in ["median", "min", "max", "rounds"] {
                    assert!(s["stats"][key][k].is_number(), "stats.{key}.{k}");
                }
            }
            let f = &s["rounds"][0]["figures"];
            assert_eq!(s["rounds"][0]["round"], 1);
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
            assert!(s["rounds"][0]["hlog"].is_string());
        }
        assert_eq!(rr["ratios"]["label"], "xdptcp/kernel");
        assert_eq!(rr["ratios"]["stats"]["txn_per_s"]["median"], 2.0);
        let syn = &v["modes"][1];
        assert_eq!(
            syn["servers"][0]["rounds"][0]["error"],
            "daemon did not start"
        );
        assert!(syn["servers"][0]["rounds"][0]["figures"].is_null());
        assert!(syn["servers"][0]["stats"].as_object().unwrap().is_empty());
        assert!(syn["ratios"].is_null());
    }

    #[test]
    fn the_address_family_is_in_the_json_the_captions_and_the_header() {
        let mut s = sample();
        s.modes[0].family = Some("IPv6".into());
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["config"]["family"], "IPv6");
        assert_eq!(v["modes"][0]["family"], "IPv6");
        assert!(v["modes"][1]["family"].is_null());
        assert_eq!(s.modes[0].caption(), "rr: 64 B, 1 conn, IPv6");
        assert_eq!(s.modes[1].caption(), "syn: 64 B, 1 conn");
        assert!(s.modes[0]
            .text_table(false)
            .starts_with("== rr: 64 B, 1 conn, IPv6 ("));
        let md = s.markdown(|_| false);
        assert!(md.contains("\n- address family: IPv6\n"), "{md}");
        assert!(md.contains("### rr: 64 B, 1 conn, IPv6\n"), "{md}");
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
            tps.contains("80000") && tps.contains("40000") && tps.ends_with("2.00×"),
            "{tps}"
        );
        assert!(
            !text.contains("rounds"),
            "one round is not called a median: {text}"
        );
        let md = s.markdown(|_| false);
        assert!(md.contains("| p99.99 µs | 40 | 80 | 0.50× |"), "{md}");
        assert!(md.contains("xdptcp failed: `daemon did not start`"));
        assert!(md.contains("![rr latency by percentile](rr.svg)"));
        assert!(!md.contains("round by round"), "{md}");
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
        assert!(v["modes"][0]["servers"][0]["rounds"][0]["figures"]["server_frames"].is_null());
    }
}
