//! Conditions an operator should hear about, read from what the supervisor already has:
//! the workers' published counters (every 500 ms), the interface's link state and the XDP
//! program attached to it. Each condition goes through a [`Throttle`], so a ring that keeps
//! overflowing is one line per 10 s with the count of what was held back, not a line per
//! check.
//!
//! This module decides what to say; the supervisor logs it. Nothing here runs on the packet
//! path: workers never log.

use std::time::Instant;

use super::throttle::{StateThrottle, Throttle, LOG_EVERY};
use crate::stats::{DropCounts, DropReason, WorkerStats};

/// How loud a notice is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Severity {
    /// Something is wrong or degraded.
    Warn,
    /// Back to normal.
    Info,
}

/// One line to log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Notice {
    pub severity: Severity,
    pub text: String,
}

impl Notice {
    fn warn(text: String) -> Notice {
        Notice {
            severity: Severity::Warn,
            text,
        }
    }

    fn info(text: String) -> Notice {
        Notice {
            severity: Severity::Info,
            text,
        }
    }
}

/// The throttles and last-seen counters of one queue.
struct QueueWatch {
    last: WorkerStats,
    fill_empty: Throttle,
    rx_full: Throttle,
    tx_full: Throttle,
    drops: Throttle,
    /// Drop counts at the last drops line: the next line lists what grew since.
    drops_reported: DropCounts,
    pressure: StateThrottle<u64>,
}

impl QueueWatch {
    fn new(queue: u32) -> QueueWatch {
        QueueWatch {
            last: WorkerStats {
                queue,
                ..Default::default()
            },
            fill_empty: Throttle::new(LOG_EVERY),
            rx_full: Throttle::new(LOG_EVERY),
            tx_full: Throttle::new(LOG_EVERY),
            drops: Throttle::new(LOG_EVERY),
            drops_reported: DropCounts::default(),
            pressure: StateThrottle::new(0, LOG_EVERY),
        }
    }
}

/// Watches the counters, the link and the program of one runtime.
pub(crate) struct Watch {
    iface: String,
    queues: Vec<QueueWatch>,
    link_up: StateThrottle<bool>,
    /// Whether the attached program is ours, and the id attached when it is not.
    program: StateThrottle<Option<u32>>,
    our_program: Option<u32>,
}

impl Watch {
    /// A watch of `queues` workers on `iface`, whose XDP program is `our_program`.
    pub fn new(iface: &str, queues: usize, our_program: Option<u32>) -> Watch {
        Watch {
            iface: iface.to_string(),
            queues: (0..queues as u32).map(QueueWatch::new).collect(),
            link_up: StateThrottle::new(true, LOG_EVERY),
            program: StateThrottle::new(our_program, LOG_EVERY),
            our_program,
        }
    }

    /// The workers' newest counters: what grew since the last check.
    pub fn observe_counters(&mut self, now: Instant, stats: &[WorkerStats]) -> Vec<Notice> {
        let mut out = Vec::new();
        for s in stats {
            let Some(w) = self.queues.get_mut(s.queue as usize) else {
                continue;
            };
            let q = s.queue;
            let grew = |f: fn(&WorkerStats) -> u64| f(s).saturating_sub(f(&w.last));
            let fill_empty = grew(|s| s.port.rx_dropped);
            let rx_full = grew(|s| s.port.rx_ring_full);
            let tx_full = grew(|s| s.port.tx_dropped + s.drops[DropReason::TxRingFull as usize]);
            let drops = grew(|s| s.total_drops() - s.drops[DropReason::TxRingFull as usize]);
            if let Some(e) = w.fill_empty.tick(now, fill_empty) {
                out.push(Notice::warn(format!(
                    "queue {q}: fill ring empty: the kernel dropped {} received frames (rx_dropped={}){}",
                    e.amount, s.port.rx_dropped, e.suffix()
                )));
            }
            if let Some(e) = w.rx_full.tick(now, rx_full) {
                out.push(Notice::warn(format!(
                    "queue {q}: RX ring full: the kernel dropped {} received frames (rx_ring_full={}){}",
                    e.amount, s.port.rx_ring_full, e.suffix()
                )));
            }
            if let Some(e) = w.tx_full.tick(now, tx_full) {
                out.push(Notice::warn(format!(
                    "queue {q}: TX ring full: {} outgoing frames dropped (tx_dropped={} tx_ring_full={}){}",
                    e.amount,
                    s.port.tx_dropped,
                    s.drops[DropReason::TxRingFull as usize],
                    e.suffix()
                )));
            }
            if let Some(e) = w.drops.tick(now, drops) {
                let reasons: Vec<String> = DropReason::ALL
                    .iter()
                    .filter(|r| **r != DropReason::TxRingFull)
                    .filter_map(|r| {
                        let n = s.drops[*r as usize].saturating_sub(w.drops_reported[*r as usize]);
                        (n > 0).then(|| format!("{}={n}", r.name()))
                    })
                    .collect();
                w.drops_reported = s.drops;
                out.push(Notice::warn(format!(
                    "queue {q}: dropped {} frames or segments: {}{}",
                    e.amount,
                    reasons.join(" "),
                    e.suffix()
                )));
            }
            if let Some((level, changes)) = w.pressure.observe(now, s.memory_pressure) {
                let changes = changes_suffix(changes);
                out.push(match level {
                    0 => Notice::info(format!("queue {q}: memory pressure over{changes}")),
                    1 => Notice::warn(format!(
                        "queue {q}: memory pressure (soft): windows clamped, {} MiB held{changes}",
                        s.memory_bytes >> 20
                    )),
                    _ => Notice::warn(format!(
                        "queue {q}: memory pressure (hard): new connections refused, {} MiB held{changes}",
                        s.memory_bytes >> 20
                    )),
                });
            }
            w.last = s.clone();
        }
        out
    }

    /// The interface's link state now.
    pub fn observe_link(&mut self, now: Instant, up: bool) -> Option<Notice> {
        let (up, changes) = self.link_up.observe(now, up)?;
        let changes = changes_suffix(changes);
        Some(if up {
            Notice::info(format!("interface {} is up again{changes}", self.iface))
        } else {
            Notice::warn(format!("interface {} is DOWN{changes}", self.iface))
        })
    }

    /// The XDP program attached to the interface now (its id, if any).
    pub fn observe_program(&mut self, now: Instant, attached: Option<u32>) -> Option<Notice> {
        let (attached, changes) = self.program.observe(now, attached)?;
        let changes = changes_suffix(changes);
        Some(if attached == self.our_program {
            Notice::info(format!(
                "the XDP program on {} is ours again{changes}",
                self.iface
            ))
        } else {
            Notice::warn(format!(
                "the XDP program on {} is no longer ours (attached: {}); traffic is not steered to the stack{changes}",
                self.iface,
                attached.map_or("none".to_string(), |id| format!("id {id}"))
            ))
        })
    }
}

/// ` (N changes since the last line)` when a line stands for more than one change.
fn changes_suffix(changes: u64) -> String {
    if changes > 1 {
        format!(" ({changes} changes since the last line)")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    fn queue0() -> WorkerStats {
        WorkerStats::default()
    }

    #[test]
    fn a_fill_ring_that_keeps_running_empty_is_one_line_per_ten_seconds_with_the_rest_counted() {
        let t0 = Instant::now();
        let mut w = Watch::new("veth0", 1, Some(7));
        let mut s = queue0();
        let mut lines = Vec::new();
        for i in 1..=41 {
            s.port.rx_dropped += 100;
            lines.extend(w.observe_counters(at(t0, i * 500), std::slice::from_ref(&s)));
        }
        let texts: Vec<&str> = lines.iter().map(|n| n.text.as_str()).collect();
        assert_eq!(texts.len(), 3, "{texts:#?}");
        assert_eq!(
            texts[0],
            "queue 0: fill ring empty: the kernel dropped 100 received frames (rx_dropped=100)"
        );
        assert_eq!(
            texts[1],
            "queue 0: fill ring empty: the kernel dropped 2000 received frames (rx_dropped=2100) (19 more since last)"
        );
        assert!(lines.iter().all(|n| n.severity == Severity::Warn));
    }

    #[test]
    fn quiet_counters_say_nothing() {
        let t0 = Instant::now();
        let mut w = Watch::new("veth0", 1, Some(7));
        let mut s = queue0();
        s.port.rx_frames = 1000;
        s.conns_opened = 5;
        for i in 1..=30 {
            s.port.rx_frames += 1000;
            assert_eq!(w.observe_counters(at(t0, i * 500), &[s.clone()]), vec![]);
        }
    }

    #[test]
    fn drops_name_the_reasons_that_grew_since_the_last_line() {
        let t0 = Instant::now();
        let mut w = Watch::new("veth0", 2, Some(7));
        let mut s = WorkerStats {
            queue: 1,
            ..Default::default()
        };
        s.drops[DropReason::BadTcpChecksum as usize] = 3;
        let first = w.observe_counters(t0, &[s.clone()]);
        assert_eq!(
            first[0].text,
            "queue 1: dropped 3 frames or segments: bad_tcp_checksum=3"
        );
        s.drops[DropReason::OutOfWindow as usize] = 2;
        assert!(w.observe_counters(at(t0, 500), &[s.clone()]).is_empty());
        s.drops[DropReason::BadTcpChecksum as usize] = 4;
        let later = w.observe_counters(at(t0, 10_500), &[s.clone()]);
        assert_eq!(
            later[0].text,
            "queue 1: dropped 3 frames or segments: bad_tcp_checksum=1 out_of_window=2 (1 more since last)"
        );
    }

    #[test]
    fn tx_ring_full_is_its_own_condition_not_a_drop_reason_line() {
        let t0 = Instant::now();
        let mut w = Watch::new("veth0", 1, None);
        let mut s = queue0();
        s.port.tx_dropped = 4;
        s.drops[DropReason::TxRingFull as usize] = 1;
        let n = w.observe_counters(t0, &[s]);
        assert_eq!(n.len(), 1, "{n:?}");
        assert_eq!(
            n[0].text,
            "queue 0: TX ring full: 5 outgoing frames dropped (tx_dropped=4 tx_ring_full=1)"
        );
    }

    #[test]
    fn memory_pressure_entered_is_a_warning_and_left_is_news_too() {
        let t0 = Instant::now();
        let mut w = Watch::new("veth0", 1, None);
        let mut s = queue0();
        s.memory_pressure = 1;
        s.memory_bytes = 48 << 20;
        let n = w.observe_counters(t0, &[s.clone()]);
        assert_eq!(
            n,
            vec![Notice::warn(
                "queue 0: memory pressure (soft): windows clamped, 48 MiB held".into()
            )]
        );
        s.memory_pressure = 0;
        let n = w.observe_counters(at(t0, 10_000), &[s]);
        assert_eq!(
            n,
            vec![Notice::info("queue 0: memory pressure over".into())]
        );
    }

    #[test]
    fn a_flapping_link_is_one_line_then_the_state_it_ended_in() {
        let t0 = Instant::now();
        let mut w = Watch::new("veth0", 1, None);
        assert_eq!(w.observe_link(t0, true), None);
        let down = w.observe_link(at(t0, 500), false).expect("first change");
        assert_eq!(down, Notice::warn("interface veth0 is DOWN".into()));
        for i in 2..20 {
            assert_eq!(w.observe_link(at(t0, i * 500), i % 2 == 0), None);
        }
        let now = w.observe_link(at(t0, 10_500), true).expect("due");
        assert_eq!(
            now,
            Notice::info("interface veth0 is up again (19 changes since the last line)".into())
        );
    }

    #[test]
    fn a_replaced_program_is_a_warning_naming_the_new_one() {
        let t0 = Instant::now();
        let mut w = Watch::new("veth0", 1, Some(7));
        assert_eq!(w.observe_program(t0, Some(7)), None);
        let n = w.observe_program(at(t0, 500), Some(9)).expect("replaced");
        assert_eq!(n.severity, Severity::Warn);
        assert_eq!(
            n.text,
            "the XDP program on veth0 is no longer ours (attached: id 9); traffic is not steered to the stack"
        );
        assert_eq!(w.observe_program(at(t0, 1_000), Some(9)), None, "said once");
    }
}
