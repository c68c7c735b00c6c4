//! Histograms: microsecond resolution up to an hour, 3 significant digits; percentiles for
//! reports; HdrHistogram interval-log files.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::Path,
    time::{Duration, SystemTime},
};

use anyhow::{anyhow, Context, Result};
use hdrhistogram::{
    serialization::{interval_log::IntervalLogWriterBuilder, V2DeflateSerializer},
    Histogram,
};
use serde::Serialize;

/// Largest recordable latency: one hour in microseconds.
pub const MAX_US: u64 = 3_600_000_000;

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("valid histogram bounds")
}

/// Records `d` in microseconds (at least 1, at most [`MAX_US`]).
pub fn record_us(h: &mut Histogram<u64>, d: Duration) {
    let us = (d.as_micros() as u64).clamp(1, MAX_US);
    h.record(us).expect("value within bounds");
}

/// The percentiles every report shows, in microseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Percentiles {
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub p99_99: u64,
    pub max: u64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        Percentiles {
            min: h.min(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p99_9: h.value_at_quantile(0.999),
            p99_99: h.value_at_quantile(0.9999),
            max: h.max(),
        }
    }
}

/// Writes `h` as one interval of an HdrHistogram log (V2 + deflate, as the Java
/// HistogramLogProcessor and HdrHistogram's plotter read), values in microseconds.
pub fn write_hlog(
    path: &Path,
    h: &Histogram<u64>,
    tag: &str,
    comments: &[String],
    started: SystemTime,
    duration: Duration,
) -> Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::new(file);
    let mut serializer = V2DeflateSerializer::new();
    let mut builder = IntervalLogWriterBuilder::new();
    for c in comments {
        builder.add_comment(c);
    }
    builder.with_start_time(started).with_base_time(started);
    let mut writer = builder.begin_log_with(&mut out, &mut serializer)?;
    let tag = hdrhistogram::serialization::interval_log::Tag::new(tag);
    writer
        .write_histogram(h, Duration::ZERO, duration, tag)
        .map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
    drop(writer);
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::interval_log::IntervalLogIterator;

    #[test]
    fn hlog_round_trips() {
        let mut h = new_histogram();
        for us in 1..=1000 {
            record_us(&mut h, Duration::from_micros(us));
        }
        record_us(&mut h, Duration::from_secs(7200)); // clamped to an hour
        let dir = std::env::temp_dir().join(format!("xdptcp-bench-hlog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rr-kernel.hlog");
        let comments = vec!["mode rr".to_string()];
        write_hlog(
            &path,
            &h,
            "kernel",
            &comments,
            SystemTime::now(),
            Duration::from_secs(5),
        )
        .unwrap();
        let text = std::fs::read(&path).unwrap();
        let mut intervals = IntervalLogIterator::new(&text).filter_map(|e| match e.unwrap() {
            hdrhistogram::serialization::interval_log::LogEntry::Interval(i) => Some(i),
            _ => None,
        });
        let i = intervals.next().expect("one interval");
        assert_eq!(i.tag().map(|t| t.as_str()), Some("kernel"));
        assert_eq!(i.duration(), Duration::from_secs(5));
        // The interval's max is written in the clear (µs, divisor 1): the clamped hour.
        let max = i.max();
        assert!(
            (max - MAX_US as f64).abs() / (MAX_US as f64) < 1e-3,
            "{max}"
        );
        assert!(!i.encoded_histogram().is_empty());
        assert!(intervals.next().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
