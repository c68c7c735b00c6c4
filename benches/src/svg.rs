//! Latency-by-percentile charts as hand-written SVG (no font or drawing libraries), laid out
//! like HdrHistogram's plotter: the x axis is `-log10(1 - p)`, so 0%, 90%, 99%, 99.9%, ...
//! are equally spaced and the tail gets the room.
//!
//! Why not `plotters` (0.3.7 with `default-features = false, features = ["svg_backend",
//! "line_series"]`; it builds here and was tried on the same two series, both charts put
//! through rsvg-convert and compared side by side):
//! - It cannot put our ticks on the latency axis. Tick positions of your own come from
//!   `with_key_points`, but `configure_mesh` does not accept `WithKeyPoints<RangedCoordf64>`
//!   (it has no `ValueFormatter`), and its `log_scale()` labels only the decades. So a log
//!   axis shows 10, 100, 1000 with none of our 20, 50, 200, 500, and medians of tens of µs
//!   are hard to read off.
//! - What stays ours either way: the percentile transform, where a series ends, the switch
//!   between linear and log. plotters would replace only `render` (about 100 lines, against
//!   42 for the plotters version), and at its defaults it reads worse: ".0" on every label,
//!   a minor grid that means nothing on a transformed axis, and the last x label cut off.
//! - Cost: 3 more crates, +5 s of clean build on one core, +110 KiB for xdptcp-bench.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

/// One line on the chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    /// (x = [`percentile_x`], latency in µs), x increasing.
    pub points: Vec<(f64, f64)>,
    /// Index into the palette: keep it the server's position, so colours stay put when a
    /// server fails.
    pub color: usize,
}

/// The x position of percentile `p` (a fraction in [0, 1)): `-log10(1 - p)`, so
/// 0 -> 0, 0.9 -> 1, 0.99 -> 2, 0.999 -> 3.
pub fn percentile_x(p: f64) -> f64 {
    -(1.0 - p.clamp(0.0, 1.0)).max(1e-12).log10()
}

/// The percentile (fraction) at position `x`: the inverse of [`percentile_x`].
pub fn x_percentile(x: f64) -> f64 {
    1.0 - 10f64.powf(-x)
}

/// Widest x axis drawn (99.9999%).
pub const X_LIMIT: f64 = 6.0;
/// Samples per decade of the x axis.
const STEPS_PER_DECADE: usize = 50;

/// Samples `h` from 0% up to the percentile its sample count still resolves
/// (`1 - 1/count`), capped at [`X_LIMIT`], then ends at its max.
pub fn series_from_histogram(name: &str, h: &Histogram<u64>) -> Series {
    let mut points = Vec::new();
    if h.is_empty() {
        return Series {
            name: name.to_string(),
            points,
            color: 0,
        };
    }
    let x_end = (h.len() as f64).log10().clamp(0.0, X_LIMIT);
    let steps = (x_end * STEPS_PER_DECADE as f64).ceil() as usize;
    for i in 0..=steps {
        let x = (i as f64 / STEPS_PER_DECADE as f64).min(x_end);
        points.push((x, h.value_at_quantile(x_percentile(x)) as f64));
    }
    points.push((x_end, h.max() as f64));
    points.dedup_by(|a, b| a.0 == b.0 && a.1 <= b.1);
    Series {
        name: name.to_string(),
        points,
        color: 0,
    }
}

const COLORS: [&str; 6] = [
    "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];
const W: f64 = 900.0;
const H: f64 = 540.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 56.0;
const BOTTOM: f64 = 64.0;

/// The chart as a standalone SVG document.
pub fn render(title: &str, subtitle: &str, series: &[Series]) -> String {
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(0.0f64, f64::max)
        .ceil()
        .clamp(3.0, X_LIMIT);
    let ys = || series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let y_axis = YAxis::fit(
        ys().fold(f64::INFINITY, f64::min),
        ys().fold(0.0f64, f64::max),
    );
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let sx = |x: f64| LEFT + x / x_max * pw;
    let sy = |y: f64| TOP + ph - y_axis.frac(y) * ph;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect x="0" y="0" width="{W}" height="{H}" fill="white"/>
<text x="{:.1}" y="22" text-anchor="middle" font-size="16" font-weight="bold">{}</text>
<text x="{:.1}" y="40" text-anchor="middle" fill="#555">{}</text>"##,
        W / 2.0,
        escape(title),
        W / 2.0,
        escape(subtitle)
    );
    // Grid and axes.
    for y in y_axis.ticks() {
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            sy(y) + 4.0,
            fmt_value(y),
            py = sy(y)
        );
    }
    for d in 0..=(x_max as usize) {
        let px = sx(d as f64);
        let _ = writeln!(
            s,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="#ddd"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + ph,
            TOP + ph + 18.0,
            percentile_label(d)
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>
<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text>
<text x="18" y="{:.1}" text-anchor="middle" transform="rotate(-90 18 {:.1})">latency (µs{})</text>"##,
        LEFT + pw / 2.0,
        H - 16.0,
        TOP + ph / 2.0,
        TOP + ph / 2.0,
        if matches!(y_axis, YAxis::Log { .. }) {
            ", log scale"
        } else {
            ""
        }
    );
    // Lines, then the legend (top left, where latency curves are lowest).
    for ser in series {
        let color = COLORS[ser.color % COLORS.len()];
        let mut pts = String::new();
        for &(x, y) in &ser.points {
            let _ = write!(pts, "{:.1},{:.1} ", sx(x), sy(y));
        }
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"><title>{}</title></polyline>"#,
            pts.trim_end(),
            escape(&ser.name)
        );
    }
    for (i, ser) in series.iter().enumerate() {
        let color = COLORS[ser.color % COLORS.len()];
        let ly = TOP + 18.0 + i as f64 * 20.0;
        let _ = writeln!(
            s,
            r#"<line x1="{:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{color}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            LEFT + 14.0,
            LEFT + 40.0,
            LEFT + 46.0,
            ly + 4.0,
            escape(&ser.name)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// "0%", "90%", "99%", "99.9%", ... for decade `d` of the x axis.
pub fn percentile_label(d: usize) -> String {
    match d {
        0 => "0%".into(),
        1 => "90%".into(),
        _ => format!("99.{}%", "9".repeat(d - 2)).replace("99.%", "99%"),
    }
}

/// The latency axis: linear from 0 while the curves stay within a factor of 50, else
/// logarithmic (tails of milliseconds would flatten microsecond medians to the floor).
#[derive(Debug, Clone, Copy, PartialEq)]
enum YAxis {
    Linear {
        max: f64,
        step: f64,
    },
    /// From 10^lo to 10^hi.
    Log {
        lo: i32,
        hi: i32,
    },
}

impl YAxis {
    fn fit(min: f64, max: f64) -> YAxis {
        let min = min.max(1.0);
        if max / min > 50.0 {
            let lo = min.log10().floor() as i32;
            let hi = (max.log10().ceil() as i32).max(lo + 1);
            YAxis::Log { lo, hi }
        } else {
            let (max, step) = nice_axis(max);
            YAxis::Linear { max, step }
        }
    }

    /// Position of `y` from the bottom (0) to the top (1).
    fn frac(self, y: f64) -> f64 {
        match self {
            YAxis::Linear { max, .. } => y / max,
            YAxis::Log { lo, hi } => (y.max(1.0).log10() - lo as f64) / (hi - lo) as f64,
        }
    }

    fn ticks(self) -> Vec<f64> {
        match self {
            YAxis::Linear { max, step } => {
                let n = (max / step).round() as usize;
                (0..=n).map(|i| i as f64 * step).collect()
            }
            YAxis::Log { lo, hi } => {
                let mut t = Vec::new();
                for e in lo..=hi {
                    for m in [1.0, 2.0, 5.0] {
                        let v = m * 10f64.powi(e);
                        if v <= 10f64.powi(hi) * (1.0 + 1e-9) {
                            t.push(v);
                        }
                    }
                }
                t
            }
        }
    }
}

/// A round axis maximum at or above `top`, and a round step (about 5 to 10 steps).
fn nice_axis(top: f64) -> (f64, f64) {
    if top <= 0.0 || !top.is_finite() {
        return (1.0, 0.2);
    }
    let raw = top / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap();
    ((top / step).ceil() * step, step)
}

fn fmt_value(v: f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{}", v as u64)
    } else {
        format!("{v:.1}")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::{new_histogram, record_us};
    use std::time::Duration;

    #[test]
    fn percentiles_map_to_equally_spaced_decades() {
        for (p, x) in [
            (0.0, 0.0),
            (0.9, 1.0),
            (0.99, 2.0),
            (0.999, 3.0),
            (0.99999, 5.0),
        ] {
            assert!(
                (percentile_x(p) - x).abs() < 1e-9,
                "p={p}: {}",
                percentile_x(p)
            );
            assert!((x_percentile(x) - p).abs() < 1e-12);
        }
        assert!(percentile_x(0.5) > 0.0 && percentile_x(0.5) < 1.0);
        assert!(
            percentile_x(1.0).is_finite(),
            "p=1 is clamped, not infinite"
        );
        assert_eq!(percentile_label(0), "0%");
        assert_eq!(percentile_label(2), "99%");
        assert_eq!(percentile_label(5), "99.999%");
    }

    #[test]
    fn series_stops_where_the_samples_do() {
        let mut h = new_histogram();
        for us in 1..=1000u64 {
            record_us(&mut h, Duration::from_micros(us));
        }
        let s = series_from_histogram("k", &h);
        let (x_last, y_last) = *s.points.last().unwrap();
        assert!(
            (x_last - 3.0).abs() < 1e-9,
            "1000 samples resolve 99.9%: {x_last}"
        );
        assert_eq!(y_last, h.max() as f64);
        assert!(s
            .points
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
    }

    /// Tags open and close in order (a small well-formedness check, enough for our output).
    fn balanced(svg: &str) -> bool {
        let mut stack = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            let j = rest[i..].find('>').map(|j| i + j).unwrap();
            let tag = &rest[i + 1..j];
            rest = &rest[j + 1..];
            if tag.starts_with('?') || tag.ends_with('/') {
                continue;
            }
            let name = |t: &str| t.split_whitespace().next().unwrap_or("").to_string();
            if let Some(close) = tag.strip_prefix('/') {
                if stack.pop() != Some(name(close)) {
                    return false;
                }
            } else {
                stack.push(name(tag));
            }
        }
        stack.is_empty()
    }

    #[test]
    fn svg_has_both_series_and_a_legend() {
        let mut a = new_histogram();
        let mut b = new_histogram();
        for us in 1..=5000u64 {
            record_us(&mut a, Duration::from_micros(10 + us % 50));
            record_us(&mut b, Duration::from_micros(20 + us % 90));
        }
        let series = [
            series_from_histogram("xdptcp", &a),
            series_from_histogram("kernel <ref>", &b),
        ];
        let svg = render("rr: 64 B, 1 connection", "request/response", &series);
        assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
        assert!(balanced(&svg), "unbalanced tags");
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">xdptcp<") && svg.contains(">kernel &lt;ref&gt;<"));
        for label in ["0%", "90%", "99%", "99.9%", ">percentile<", "latency (µs)"] {
            assert!(svg.contains(label), "missing {label}");
        }
        // Every plotted point lies inside the canvas.
        for poly in svg.split("points=\"").skip(1) {
            for pt in poly[..poly.find('"').unwrap()].split_whitespace() {
                let (x, y) = pt.split_once(',').unwrap();
                let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
                assert!((0.0..=W).contains(&x) && (0.0..=H).contains(&y), "{pt}");
            }
        }
        let dir = std::env::temp_dir().join(format!("xdptcp-bench-svg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rr.svg");
        std::fs::write(&path, &svg).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), svg);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn long_tails_switch_the_latency_axis_to_log() {
        assert_eq!(
            YAxis::fit(10.0, 80.0),
            YAxis::Linear {
                max: 80.0,
                step: 20.0
            }
        );
        let log = YAxis::fit(18.0, 12_000.0);
        assert_eq!(log, YAxis::Log { lo: 1, hi: 5 });
        assert_eq!(log.frac(10.0), 0.0);
        assert_eq!(log.frac(100_000.0), 1.0);
        assert_eq!(log.ticks()[..4], [10.0, 20.0, 50.0, 100.0]);
    }

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_axis(87.0), (100.0, 20.0));
        assert_eq!(nice_axis(1234.0), (1250.0, 250.0));
        assert_eq!(nice_axis(0.0), (1.0, 0.2));
    }
}
