//! One reading of the daemon's stats file: the Prometheus text that
//! [`metrics::render`](crate::metrics::render) writes, parsed back into series.
//!
//! It reads the subset of the text format the daemon writes: `# HELP`/`# TYPE` comments
//! (skipped), and samples `name{label="value",...} number` or `name number`. A line it does
//! not understand is skipped rather than fatal, so a newer daemon with more kinds of lines
//! still shows what this reader knows.

use crate::metrics::{PUBLISHED_AT, QUEUE_TAKEN_AT};

/// One series: a metric name (as written, with the `xdptcp_` prefix), its labels, its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Metric name.
    pub name: String,
    /// Label pairs in the order written.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

impl Series {
    /// The value of label `key`, if present.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The `queue` label as a number.
    pub fn queue(&self) -> Option<u32> {
        self.label("queue")?.parse().ok()
    }
}

/// Every series of one reading, and when the daemon published it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// Unix time of publication, seconds (the `xdptcp_published_timestamp_seconds` gauge;
    /// absent in files written by a daemon that predates it).
    pub published_at: Option<f64>,
    /// The series in file order.
    pub series: Vec<Series>,
}

impl Sample {
    /// Parses stats-file text.
    pub fn parse(text: &str) -> Sample {
        let series: Vec<Series> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(parse_line)
            .collect();
        let published_at = series
            .iter()
            .find(|s| s.name == PUBLISHED_AT)
            .map(|s| s.value);
        Sample {
            published_at,
            series,
        }
    }

    /// The queues that appear in the sample, in order.
    pub fn queues(&self) -> Vec<u32> {
        let mut q: Vec<u32> = self.series.iter().filter_map(Series::queue).collect();
        q.sort_unstable();
        q.dedup();
        q
    }

    /// When the worker of `queue` took the counters of this sample (Unix time, seconds),
    /// if the daemon says.
    pub fn queue_taken_at(&self, queue: u32) -> Option<f64> {
        self.series
            .iter()
            .find(|s| s.name == QUEUE_TAKEN_AT && s.queue() == Some(queue))
            .map(|s| s.value)
    }

    /// The value of metric `name` (without the `xdptcp_` prefix) for `queue`, summed over
    /// its other labels; 0 when absent.
    pub fn queue_value(&self, name: &str, queue: u32) -> f64 {
        self.matching(name)
            .filter(|s| s.queue() == Some(queue))
            .map(|s| s.value)
            .sum()
    }

    /// The series of metric `name` (without the `xdptcp_` prefix).
    pub fn matching<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Series> + 'a {
        self.series
            .iter()
            .filter(move |s| s.name.strip_prefix("xdptcp_") == Some(name))
    }
}

/// `name{labels} value` or `name value` (a trailing timestamp is ignored).
fn parse_line(line: &str) -> Option<Series> {
    let (name, labels, rest) = match line.find(['{', ' ']) {
        Some(i) if line.as_bytes()[i] == b'{' => {
            let (labels, used) = parse_labels(&line[i + 1..])?;
            (&line[..i], labels, &line[i + 1 + used..])
        }
        Some(i) => (&line[..i], Vec::new(), &line[i..]),
        None => return None,
    };
    if name.is_empty() {
        return None;
    }
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some(Series {
        name: name.to_string(),
        labels,
        value,
    })
}

/// Labels after the `{`, up to and including the `}`: the pairs and the bytes used.
fn parse_labels(s: &str) -> Option<(Vec<(String, String)>, usize)> {
    let mut labels = Vec::new();
    let mut chars = s.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| *c == ',' || *c == ' ').is_some() {}
        let (start, c) = chars.next()?;
        if c == '}' {
            return Some((labels, start + 1));
        }
        let mut key = String::from(c);
        loop {
            let (_, c) = chars.next()?;
            if c == '=' {
                break;
            }
            key.push(c);
        }
        if chars.next()?.1 != '"' {
            return None;
        }
        let mut value = String::new();
        loop {
            match chars.next()?.1 {
                '"' => break,
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        }
        labels.push((key.trim().to_string(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{render, render_published_at};
    use crate::service::Metric;
    use crate::stats::{DropReason, WorkerStats};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn every_sample_line_the_daemon_writes_parses_back_to_its_value() {
        let mut a = WorkerStats {
            queue: 0,
            conns_opened: 3,
            ..Default::default()
        };
        a.port.rx_frames = 12345;
        a.rings.fill = 4000;
        a.drops[DropReason::BadTcpChecksum as usize] = 2;
        let b = WorkerStats {
            queue: 1,
            ..Default::default()
        };
        let svc =
            [Metric::counter("proxy_bytes_total", "Bytes.", 5).label("backend", "10.0.0.2:80")];
        let mut text = render(&[a, b], &[("steered", 9)], &[&svc, &[]]);
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        render_published_at(
            &mut text,
            at,
            &[(0, at - Duration::from_millis(150)), (1, at)],
        );
        let s = Sample::parse(&text);
        let samples = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count();
        assert_eq!(s.series.len(), samples, "a line was not understood");
        assert_eq!(s.published_at, Some(1_700_000_000.25));
        assert_eq!(s.queue_taken_at(0), Some(1_700_000_000.1));
        assert_eq!(s.queue_taken_at(2), None);
        assert_eq!(s.queues(), vec![0, 1]);
        assert_eq!(s.queue_value("rx_frames_total", 0), 12345.0);
        assert_eq!(s.queue_value("connections_opened_total", 1), 0.0);
        assert_eq!(s.queue_value("drops_total", 0), 2.0, "summed over reasons");
        let fill = s
            .matching("ring_entries")
            .find(|x| x.queue() == Some(0) && x.label("ring") == Some("fill"))
            .unwrap();
        assert_eq!(fill.value, 4000.0);
        let proxy = s.matching("proxy_bytes_total").next().unwrap();
        assert_eq!(proxy.label("backend"), Some("10.0.0.2:80"));
        assert_eq!(s.matching("xdp_frames_total").next().unwrap().value, 9.0);
    }

    #[test]
    fn escaped_label_values_and_lines_without_labels_parse() {
        let s = Sample::parse("a{k=\"x \\\"y\\\" \\\\z\",q=\"1\"} 2.5\nb 7 1700000000\n");
        assert_eq!(s.series[0].label("k"), Some("x \"y\" \\z"));
        assert_eq!(s.series[0].value, 2.5);
        assert_eq!(s.series[1].name, "b");
        assert_eq!(s.series[1].value, 7.0);
    }

    #[test]
    fn lines_it_does_not_understand_are_skipped_not_fatal() {
        let s = Sample::parse("garbage\nx{unterminated=\"a 1\nxdptcp_ok{queue=\"0\"} 1\n{} 3\n");
        assert_eq!(s.series.len(), 1);
        assert_eq!(s.queue_value("ok", 0), 1.0);
        assert_eq!(s.published_at, None);
    }
}
