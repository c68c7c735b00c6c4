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
}
