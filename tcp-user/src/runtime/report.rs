//! What a runtime tells its caller: the [`Ready`] facts once attached, and the [`Report`] at
//! the end (also printed to stderr in the format `xdptcp` has always used, which the
//! end-to-end tests parse).

use std::fmt;
use std::net::IpAddr;

use crate::service::Metric;
use crate::stats::{DropReason, WorkerStats};
use crate::xdp::XdpMode;

/// What was attached, given to [`Builder::on_ready`](super::Builder::on_ready). Its
/// `Display` is the conventional `ready ...` line.
#[derive(Clone, Debug)]
pub struct Ready {
    /// Interface name.
    pub iface: String,
    /// Local addresses.
    pub addrs: Vec<IpAddr>,
    /// Listening ports.
    pub ports: Vec<u16>,
    /// Workers (receive queues).
    pub queues: u32,
    /// How the program is attached.
    pub xdp_mode: XdpMode,
    /// Every socket is bound zero-copy.
    pub zero_copy: bool,
    /// What each worker may hold.
    pub limits: super::WorkerLimits,
}

impl Ready {
    /// The served addresses, comma-separated.
    pub fn addrs_text(&self) -> String {
        let addrs: Vec<String> = self.addrs.iter().map(|a| a.to_string()).collect();
        addrs.join(",")
    }

    /// Each address with the ports, as `10.0.0.1:7,80 [2001:db8::1]:7,80`.
    pub fn endpoints_text(&self) -> String {
        let ports = self.ports_text();
        let each: Vec<String> = self
            .addrs
            .iter()
            .map(|a| match a {
                IpAddr::V4(v4) => format!("{v4}:{ports}"),
                IpAddr::V6(v6) => format!("[{v6}]:{ports}"),
            })
            .collect();
        each.join(" ")
    }

    /// The listening ports, comma-separated.
    pub fn ports_text(&self) -> String {
        let ports: Vec<String> = self.ports.iter().map(|p| p.to_string()).collect();
        ports.join(",")
    }

    /// One line with each worker's limits: `memory=... MiB (pressure at ...)
    /// connections=... time_wait=...`.
    pub fn limits_text(&self) -> String {
        let l = &self.limits;
        let conns = if l.connections == usize::MAX {
            "memory-bound".to_string()
        } else {
            l.connections.to_string()
        };
        format!(
            "memory={} MiB (pressure at {} MiB) connections={conns} time_wait={}",
            l.memory >> 20,
            (l.memory / 4 * 3) >> 20,
            l.time_wait
        )
    }

    /// `copy` or `zerocopy`.
    pub fn bind_mode(&self) -> &'static str {
        if self.zero_copy {
            "zerocopy"
        } else {
            "copy"
        }
    }
}

impl fmt::Display for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ready iface={} addr={} ports={} queues={} xdp_mode={:?} bind_mode={}",
            self.iface,
            self.addrs_text(),
            self.ports_text(),
            self.queues,
            self.xdp_mode,
            self.bind_mode()
        )
    }
}

/// The end of a run: each worker's counters and service, and the XDP program's counters.
pub struct Report<S> {
    /// Counters per worker, by queue.
    pub workers: Vec<WorkerStats>,
    /// Each worker's service, by queue (a client's results).
    pub services: Vec<S>,
    /// The XDP program's counters (name, value).
    pub xdp: Vec<(&'static str, u64)>,
    /// The services' own counters at the end, by queue.
    pub metrics: Vec<Vec<Metric>>,
}

impl<S> Report<S> {
    /// A counter summed over the workers.
    pub fn total(&self, f: impl Fn(&WorkerStats) -> u64) -> u64 {
        self.workers.iter().map(f).sum()
    }

    /// Prints the counters to stderr.
    pub fn print(&self) {
        print_counters(&self.workers, &self.xdp, &self.metrics);
    }
}

/// Prints per-queue counters, the services' counters and the XDP program's counters to
/// stderr: `queue Q: key=value ...`, `queue Q drops: reason=n ...`, `service: ...`, `xdp: ...`.
pub fn print_counters(
    workers: &[WorkerStats],
    xdp: &[(&'static str, u64)],
    metrics: &[Vec<Metric>],
) {
    for s in workers {
        eprintln!(
            "queue {}: rx_frames={} tx_frames={} drops={} tx_dropped={} rx_ring_full={} rx_dropped={} opened={} closed={} reset={} timed_out={} rsts_sent={} syn_cookies={} time_wait_reused={} retransmissions={} fast_retransmits={} out_of_order={} active={}",
            s.queue,
            s.port.rx_frames,
            s.port.tx_frames,
            s.total_drops(),
            s.port.tx_dropped,
            s.port.rx_ring_full,
            s.port.rx_dropped,
            s.conns_opened,
            s.conns_closed,
            s.conns_reset,
            s.conns_timed_out,
            s.rsts_sent,
            s.syn_cookies_sent,
            s.time_wait_reused,
            s.retransmissions,
            s.fast_retransmits,
            s.out_of_order,
            s.active,
        );
        let reasons: Vec<String> = DropReason::ALL
            .iter()
            .filter(|r| s.drops[**r as usize] > 0)
            .map(|r| format!("{}={}", r.name(), s.drops[*r as usize]))
            .collect();
        if !reasons.is_empty() {
            eprintln!("queue {} drops: {}", s.queue, reasons.join(" "));
        }
    }
    for (q, list) in metrics.iter().enumerate() {
        if list.is_empty() {
            continue;
        }
        let items: Vec<String> = list.iter().map(|m| m.to_string()).collect();
        eprintln!("service q{q}: {}", items.join(" "));
    }
    let xdp: Vec<String> = xdp.iter().map(|(n, v)| format!("{n}={v}")).collect();
    eprintln!("xdp: {}", xdp.join(" "));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_and_status_name_every_address_of_both_families() {
        let r = Ready {
            iface: "eth1".into(),
            addrs: vec![
                "192.0.2.10".parse().unwrap(),
                "2001:db8::10".parse().unwrap(),
            ],
            ports: vec![7, 80],
            queues: 2,
            xdp_mode: XdpMode::Driver,
            zero_copy: false,
            limits: super::super::WorkerLimits {
                memory: 64 << 20,
                connections: usize::MAX,
                time_wait: 100,
            },
        };
        assert_eq!(
            r.to_string(),
            "ready iface=eth1 addr=192.0.2.10,2001:db8::10 ports=7,80 queues=2 xdp_mode=Driver bind_mode=copy"
        );
        assert_eq!(r.endpoints_text(), "192.0.2.10:7,80 [2001:db8::10]:7,80");
    }
}
