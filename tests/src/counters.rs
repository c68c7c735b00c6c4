//! The counters the daemon prints to stderr on exit.
//!
//! Contract with the daemon: one line per queue, `queue <q>: rx_frames=<n> tx_frames=<n>
//! drops=<n>`, and one line `xdp: steered=<n> passed=<n> malformed=<n> no_socket=<n>
//! fragment=<n>`. Lines may carry a log prefix; unknown keys are kept.

use std::collections::BTreeMap;

/// Counter name to value.
pub type Counters = BTreeMap<String, u64>;

/// The drops by reason in the daemon's exit report (`queue <q> drops: reason=<n> ...`
/// lines), summed over the queues.
pub fn drop_reasons(output: &str) -> Counters {
    let mut m = Counters::new();
    for line in output.lines() {
        let Some((_, kvs)) = line.split_once(" drops: ") else {
            continue;
        };
        for (k, v) in key_values(kvs) {
            *m.entry(k).or_default() += v;
        }
    }
    m
}

/// Per-queue and XDP counters parsed from the daemon's output.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExitCounters {
    /// Queue id to its counters.
    pub queues: BTreeMap<u32, Counters>,
    /// The XDP program's counters.
    pub xdp: Counters,
}

impl ExitCounters {
    /// Parses every counter line found in `output`.
    pub fn parse(output: &str) -> ExitCounters {
        let mut c = ExitCounters::default();
        for line in output.lines() {
            if let Some(pos) = line.find("queue ") {
                let rest = &line[pos + "queue ".len()..];
                if let Some((q, kvs)) = rest.split_once(':') {
                    if let Ok(q) = q.trim().parse::<u32>() {
                        c.queues.entry(q).or_default().extend(key_values(kvs));
                        continue;
                    }
                }
            }
            if let Some(pos) = line.find("xdp:") {
                c.xdp.extend(key_values(&line[pos + "xdp:".len()..]));
            }
        }
        c
    }

    /// One queue's counter (`rx_frames`, `tx_frames`, `drops`), 0 if absent.
    pub fn queue(&self, q: u32, key: &str) -> u64 {
        self.queues
            .get(&q)
            .and_then(|c| c.get(key))
            .copied()
            .unwrap_or(0)
    }

    /// A counter summed over all queues.
    pub fn total(&self, key: &str) -> u64 {
        self.queues.values().filter_map(|c| c.get(key)).sum()
    }

    /// One XDP counter (`steered`, `passed`, ...), 0 if absent.
    pub fn xdp(&self, key: &str) -> u64 {
        self.xdp.get(key).copied().unwrap_or(0)
    }
}

/// The running daemon's counters, parsed from `xdptcp stats` (Prometheus text:
/// `xdptcp_connections_active{queue="0"} 1`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LiveCounters {
    /// (metric name without the `xdptcp_` prefix, queue label if any) to value; other labels
    /// (drop reasons) are summed.
    pub values: BTreeMap<(String, Option<u32>), u64>,
}

impl LiveCounters {
    /// Parses Prometheus text exposition; comments and malformed lines are skipped.
    pub fn parse(text: &str) -> LiveCounters {
        let mut c = LiveCounters::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((key, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.trim().parse::<u64>() else {
                continue;
            };
            let (name, labels) = key.split_once('{').unwrap_or((key, ""));
            let name = name.strip_prefix("xdptcp_").unwrap_or(name).to_string();
            let queue = labels
                .split(',')
                .find_map(|l| l.trim().strip_prefix("queue=\""))
                .and_then(|q| q.trim_end_matches(['"', '}']).parse().ok());
            *c.values.entry((name, queue)).or_default() += value;
        }
        c
    }

    /// A metric summed over all queues (`connections_active`, `connections_closed_total`).
    pub fn total(&self, name: &str) -> u64 {
        self.values
            .iter()
            .filter(|((n, _), _)| n == name)
            .map(|(_, v)| v)
            .sum()
    }
}

fn key_values(s: &str) -> impl Iterator<Item = (String, u64)> + '_ {
    s.split_whitespace().filter_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        Some((k.to_string(), v.trim_end_matches(',').parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_queue_and_xdp_lines() {
        let out = "ready iface=x\n\
                   queue 0: rx_frames=10 tx_frames=9 drops=0\n\
                   [INFO] queue 1: rx_frames=22 tx_frames=21 drops=1\n\
                   xdp: steered=32 passed=7 malformed=0 no_socket=0 fragment=0\n";
        let c = ExitCounters::parse(out);
        assert_eq!(c.queue(0, "rx_frames"), 10);
        assert_eq!(c.queue(1, "drops"), 1);
        assert_eq!(c.total("rx_frames"), 32);
        assert_eq!(c.xdp("steered"), 32);
        assert_eq!(c.xdp("passed"), 7);
        assert_eq!(c.queue(5, "rx_frames"), 0);
    }

    #[test]
    fn parses_prometheus_text() {
        let text = "# HELP xdptcp_connections_active Connections in the table.\n\
                    # TYPE xdptcp_connections_active gauge\n\
                    xdptcp_connections_active{queue=\"0\"} 2\n\
                    xdptcp_connections_active{queue=\"1\"} 3\n\
                    xdptcp_drops_total{queue=\"0\",reason=\"bad_checksum\"} 4\n\
                    xdptcp_drops_total{queue=\"0\",reason=\"no_socket\"} 1\n\
                    xdptcp_xdp_steered_total 9\n";
        let c = LiveCounters::parse(text);
        assert_eq!(c.total("connections_active"), 5);
        assert_eq!(c.values[&("connections_active".to_string(), Some(1))], 3);
        assert_eq!(c.values[&("drops_total".to_string(), Some(0))], 5);
        assert_eq!(c.total("xdp_steered_total"), 9);
        assert_eq!(c.total("nothing"), 0);
    }
}
