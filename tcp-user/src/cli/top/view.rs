//! What `xdptcp top` shows: rates per queue from two [`Sample`]s and the time between their
//! publications, and the gauges of the newer one, laid out as a block of text lines.

use std::fmt::Write as _;

use super::sample::Sample;

/// One queue's row.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueView {
    /// The receive queue.
    pub queue: u32,
    /// Seconds between the worker's two snapshots the rates are taken over.
    pub seconds: f64,
    /// Frames received per second.
    pub rx: f64,
    /// Frames sent per second.
    pub tx: f64,
    /// Connections opened per second.
    pub opened: f64,
    /// Connections closed per second.
    pub closed: f64,
    /// Segments retransmitted per second.
    pub retransmitted: f64,
    /// Connections in the table now (every state).
    pub active: f64,
    /// Half-open (SYN_RCVD) connections now.
    pub half_open: f64,
    /// Connections in TIME_WAIT now.
    pub time_wait: f64,
    /// Memory held by connections, bytes.
    pub memory: f64,
    /// Memory pressure: 0 none, 1 soft, 2 hard.
    pub pressure: f64,
    /// Ring entries now: fill, rx, tx, completion (absent from older daemons).
    pub rings: Option<[f64; 4]>,
    /// Entries per ring.
    pub ring_size: f64,
    /// Drops per second by reason, only the reasons that grew.
    pub drops: Vec<(String, f64)>,
    /// Frames the kernel dropped per second for want of a fill-ring frame.
    pub kernel_rx_dropped: f64,
}

/// The screen: every queue's row, and the XDP program's verdict rates.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    /// Interface shown.
    pub iface: String,
    /// Seconds between the two samples (the daemon's publication times).
    pub seconds: f64,
    /// Unix time of the newer sample.
    pub at: f64,
    /// Rows by queue.
    pub queues: Vec<QueueView>,
    /// Frames per second by verdict of the XDP program (steered, passed, ...).
    pub xdp: Vec<(String, f64)>,
}

impl View {
    /// Rates between `old` and `new`; None unless both carry publication times and `new`
    /// is the later one (the daemon has not published since `old`).
    pub fn between(iface: &str, old: &Sample, new: &Sample) -> Option<View> {
        let (t0, t1) = (old.published_at?, new.published_at?);
        let seconds = t1 - t0;
        if seconds <= 0.0 {
            return None;
        }
        let queues = new
            .queues()
            .into_iter()
            .map(|q| {
                // A queue's counters are as old as its worker's last snapshot: divide by
                // the time between its two snapshots, not between the publications.
                let seconds = match (old.queue_taken_at(q), new.queue_taken_at(q)) {
                    (Some(a), Some(b)) => b - a,
                    _ => seconds,
                };
                let per_second = |grown: f64| {
                    if seconds > 0.0 {
                        grown.max(0.0) / seconds
                    } else {
                        0.0
                    }
                };
                let rate =
                    |name: &str| per_second(new.queue_value(name, q) - old.queue_value(name, q));
                let ring = |which: &str| {
                    new.matching("ring_entries")
                        .find(|s| s.queue() == Some(q) && s.label("ring") == Some(which))
                        .map(|s| s.value)
                };
                let rings = match (ring("fill"), ring("rx"), ring("tx"), ring("completion")) {
                    (Some(f), Some(r), Some(t), Some(c)) => Some([f, r, t, c]),
                    _ => None,
                };
                let mut drops: Vec<(String, f64)> = new
                    .matching("drops_total")
                    .filter(|s| s.queue() == Some(q))
                    .filter_map(|s| {
                        let reason = s.label("reason")?;
                        let before = old
                            .matching("drops_total")
                            .find(|o| o.queue() == Some(q) && o.label("reason") == Some(reason))
                            .map_or(0.0, |o| o.value);
                        let per_s = per_second(s.value - before);
                        (per_s > 0.0).then(|| (reason.to_string(), per_s))
                    })
                    .collect();
                drops.sort_by(|a, b| b.1.total_cmp(&a.1));
                QueueView {
                    queue: q,
                    seconds,
                    rx: rate("rx_frames_total"),
                    tx: rate("tx_frames_total"),
                    opened: rate("connections_opened_total"),
                    closed: rate("connections_closed_total"),
                    retransmitted: rate("retransmissions_total"),
                    active: new.queue_value("connections_active", q),
                    half_open: new.queue_value("connections_half_open", q),
                    time_wait: new.queue_value("connections_time_wait", q),
                    memory: new.queue_value("memory_bytes", q),
                    pressure: new.queue_value("memory_pressure", q),
                    rings,
                    ring_size: new.queue_value("ring_size", q),
                    drops,
                    kernel_rx_dropped: rate("rx_dropped_total"),
                }
            })
            .collect();
        let xdp = new
            .matching("xdp_frames_total")
            .filter_map(|s| {
                let verdict = s.label("verdict")?;
                let before = old
                    .matching("xdp_frames_total")
                    .find(|o| o.label("verdict") == Some(verdict))
                    .map_or(0.0, |o| o.value);
                Some((verdict.to_string(), (s.value - before).max(0.0) / seconds))
            })
            .collect();
        Some(View {
            iface: iface.to_string(),
            seconds,
            at: t1,
            queues,
            xdp,
        })
    }

    /// The screen as lines (no trailing newlines); `note` goes in the title line.
    pub fn lines(&self, note: &str) -> Vec<String> {
        let mut out = Vec::new();
        out.push(format!(
            "xdptcp top  {}  {} UTC  rates over {:.1} s{note}",
            self.iface,
            clock_time(self.at),
            self.seconds
        ));
        out.push(format!(
            "{:>5} {:>10} {:>10} {:>9} {:>9} {:>9} {:>8} {:>9} {:>9} {:>10} {:>8}",
            "queue",
            "rx/s",
            "tx/s",
            "opened/s",
            "closed/s",
            "retrans/s",
            "active",
            "half-open",
            "time-wait",
            "memory",
            "pressure"
        ));
        for q in &self.queues {
            out.push(format!(
                "{:>5} {:>10.0} {:>10.0} {:>9.1} {:>9.1} {:>9.1} {:>8.0} {:>9.0} {:>9.0} {:>10} {:>8}",
                q.queue,
                q.rx,
                q.tx,
                q.opened,
                q.closed,
                q.retransmitted,
                q.active,
                q.half_open,
                q.time_wait,
                bytes(q.memory),
                ["none", "soft", "hard"]
                    .get(q.pressure as usize)
                    .copied()
                    .unwrap_or("?")
            ));
        }
        if self.queues.iter().any(|q| q.rings.is_some()) {
            out.push(format!(
                "{:>5} {:>10} {:>10} {:>10} {:>10} {:>10}",
                "rings", "fill", "rx", "tx", "completion", "size"
            ));
            for q in &self.queues {
                if let Some([f, r, t, c]) = q.rings {
                    out.push(format!(
                        "{:>5} {f:>10.0} {r:>10.0} {t:>10.0} {c:>10.0} {:>10.0}",
                        q.queue, q.ring_size
                    ));
                }
            }
        }
        let mut drops = String::new();
        for q in &self.queues {
            let mut reasons: Vec<String> =
                q.drops.iter().map(|(r, n)| format!("{r}={n:.1}")).collect();
            if q.kernel_rx_dropped > 0.0 {
                reasons.push(format!("kernel_rx_dropped={:.1}", q.kernel_rx_dropped));
            }
            if !reasons.is_empty() {
                let _ = write!(drops, "  q{}: {}", q.queue, reasons.join(" "));
            }
        }
        out.push(format!(
            "drops/s{}",
            if drops.is_empty() { "  none" } else { &drops }
        ));
        let xdp: Vec<String> = self
            .xdp
            .iter()
            .map(|(v, n)| format!("{v}={n:.0}"))
            .collect();
        out.push(format!("xdp/s  {}", xdp.join(" ")));
        out
    }
}

/// `HH:MM:SS` of a Unix time, UTC.
fn clock_time(unix: f64) -> String {
    let secs = unix.max(0.0) as u64 % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// A byte count in KiB, MiB or GiB (no space: a row splits on whitespace).
fn bytes(n: f64) -> String {
    match n {
        n if n >= (1u64 << 30) as f64 => format!("{:.1}GiB", n / (1u64 << 30) as f64),
        n if n >= (1 << 20) as f64 => format!("{:.1}MiB", n / (1 << 20) as f64),
        n => format!("{:.0}KiB", n / 1024.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{render, render_published_at};
    use crate::stats::{DropReason, WorkerStats};
    use std::time::{Duration, UNIX_EPOCH};

    fn sample(at_ms: u64, stats: &[WorkerStats]) -> Sample {
        sample_taken(at_ms, at_ms, stats)
    }

    /// Published at `at_ms`, every queue's counters taken at `taken_ms`.
    fn sample_taken(at_ms: u64, taken_ms: u64, stats: &[WorkerStats]) -> Sample {
        let mut text = render(stats, &[("steered", at_ms)], &[]);
        let taken = UNIX_EPOCH + Duration::from_millis(taken_ms);
        let queues: Vec<_> = stats.iter().map(|s| (s.queue, taken)).collect();
        render_published_at(
            &mut text,
            UNIX_EPOCH + Duration::from_millis(at_ms),
            &queues,
        );
        Sample::parse(&text)
    }

    fn queue(q: u32, rx: u64, drops: u64) -> WorkerStats {
        let mut s = WorkerStats {
            queue: q,
            conns_opened: rx / 10,
            active: 4,
            ..Default::default()
        };
        s.port.rx_frames = rx;
        s.port.tx_frames = rx / 2;
        s.rings.size = 8192;
        s.rings.fill = 4096;
        s.drops[DropReason::OutOfWindow as usize] = drops;
        s
    }

    #[test]
    fn rates_are_the_growth_over_the_time_between_publications() {
        let old = sample(1_000_000, &[queue(0, 1000, 0), queue(1, 0, 5)]);
        let new = sample(1_000_500, &[queue(0, 2000, 0), queue(1, 300, 5)]);
        let v = View::between("veth0", &old, &new).unwrap();
        assert_eq!(v.seconds, 0.5);
        assert_eq!(v.queues[0].rx, 2000.0);
        assert_eq!(v.queues[0].tx, 1000.0);
        assert_eq!(v.queues[0].opened, 200.0);
        assert_eq!(v.queues[1].rx, 600.0);
        assert_eq!(v.queues[0].active, 4.0);
        assert_eq!(v.queues[0].rings, Some([4096.0, 0.0, 0.0, 0.0]));
        assert!(
            v.queues[1].drops.is_empty(),
            "drops that did not grow are hidden"
        );
        assert_eq!(v.xdp, vec![("steered".to_string(), 1000.0)]);
    }

    #[test]
    fn a_queues_rates_divide_by_the_time_between_its_workers_snapshots() {
        // Publications 500 ms apart, but the worker's snapshots in them 250 ms apart.
        let old = sample_taken(10_000, 9_750, &[queue(0, 0, 0)]);
        let new = sample_taken(10_500, 10_000, &[queue(0, 4000, 0)]);
        let v = View::between("veth0", &old, &new).unwrap();
        assert_eq!(v.seconds, 0.5);
        assert_eq!(v.queues[0].seconds, 0.25);
        assert_eq!(v.queues[0].rx, 16_000.0);
        assert_eq!(
            v.xdp,
            vec![("steered".to_string(), 1000.0)],
            "the program's counters are live"
        );
    }

    #[test]
    fn only_drop_reasons_that_grew_are_shown() {
        let old = sample(0, &[queue(0, 0, 1)]);
        let new = sample(2_000, &[queue(0, 0, 9)]);
        let v = View::between("veth0", &old, &new).unwrap();
        assert_eq!(v.queues[0].drops, vec![("out_of_window".to_string(), 4.0)]);
        let lines = v.lines("");
        assert!(
            lines.contains(&"drops/s  q0: out_of_window=4.0".to_string()),
            "{lines:#?}"
        );
    }

    #[test]
    fn the_same_publication_twice_gives_no_rates() {
        let a = sample(1_000, &[queue(0, 10, 0)]);
        assert_eq!(View::between("veth0", &a, &a), None);
        let undated = Sample::parse(&render(&[queue(0, 10, 0)], &[], &[]));
        assert_eq!(View::between("veth0", &undated, &a), None);
    }

    #[test]
    fn the_block_has_a_row_per_queue_under_its_header() {
        let old = sample(3_600_000, &[queue(0, 0, 0), queue(1, 0, 0)]);
        let new = sample(3_601_000, &[queue(0, 500, 0), queue(1, 70, 0)]);
        let lines = View::between("veth0", &old, &new).unwrap().lines("");
        assert_eq!(
            lines[0],
            "xdptcp top  veth0  01:00:01 UTC  rates over 1.0 s"
        );
        let header: Vec<&str> = lines[1].split_whitespace().collect();
        let rx = header.iter().position(|h| *h == "rx/s").unwrap();
        let row: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!((row[0], row[rx]), ("1", "70"));
        assert_eq!(lines.last().unwrap(), "xdp/s  steered=1000");
    }
}
