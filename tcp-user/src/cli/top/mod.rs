//! `xdptcp top --iface IF`: a running daemon's rates per queue, refreshed every interval,
//! like `xdp-bench`'s live statistics.
//!
//! It reads the stats file the daemon publishes every 500 ms (`/run/xdptcp/IF.prom`, the
//! text `xdptcp stats` prints) and divides the growth of each counter by the time between
//! the two publications (the file's own timestamp gauge), so the rates are right whatever
//! the interval and however late `top` reads. On a terminal it redraws one screen and quits
//! on `q` or Ctrl-C; piped, it prints one block per interval (`--count` stops it).

mod sample;
mod terminal;
mod view;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::metrics;
pub use sample::{Sample, Series};
pub use view::{QueueView, View};

/// Options of `xdptcp top`.
#[derive(Args, Debug, Clone)]
pub struct TopArgs {
    /// Interface the daemon serves.
    #[arg(long)]
    pub iface: String,
    /// Time between refreshes, in milliseconds (at least 100; the daemon publishes every
    /// 500 ms).
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: u64,
    /// Stop after this many refreshes (default: until `q`, Ctrl-C or the daemon stops).
    #[arg(long)]
    pub count: Option<u64>,
}

/// How long `top` waits for a publication newer than the last it showed before it says the
/// daemon has gone quiet (four of the daemon's periods).
const FRESH_WAIT: Duration = Duration::from_secs(2);

/// Runs `xdptcp top`.
pub fn top(args: TopArgs) -> Result<()> {
    if args.interval_ms < 100 {
        bail!("--interval-ms must be at least 100");
    }
    if args.count == Some(0) {
        bail!("--count must be at least 1");
    }
    let iface = args.iface.as_str();
    let path = metrics::stats_path(iface);
    let mut shown_sample = read(iface, &path, false)?;
    if shown_sample.published_at.is_none() {
        bail!(
            "{} has no {}: the daemon on {iface} is older than this xdptcp",
            path.display(),
            metrics::PUBLISHED_AT
        );
    }
    // SIGINT/SIGTERM/SIGHUP end `top` like `q` does (and so restore the terminal).
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    let stopped = || stop.load(Ordering::SeqCst);
    let interval = Duration::from_millis(args.interval_ms);
    let mut screen = if std::io::stdout().is_terminal() {
        Some(terminal::Screen::enter()?)
    } else {
        None
    };
    let mut refreshes = 0u64;
    loop {
        let quit = match &mut screen {
            Some(s) => s.wait_for_quit(interval, &stopped)?,
            None => sleep_unless(interval, &stopped),
        };
        if quit {
            break;
        }
        let newer = read_newer(iface, &path, &shown_sample, &stopped)?;
        let lines = match View::between(iface, &shown_sample, &newer) {
            Some(view) => {
                let note = if screen.is_some() { "  (q quits)" } else { "" };
                shown_sample = newer;
                view.lines(note)
            }
            None => vec![format!(
                "xdptcp top  {iface}  no new counters from the daemon for {:.1} s",
                unix_now() - shown_sample.published_at.unwrap_or(0.0)
            )],
        };
        match &mut screen {
            Some(s) => s.draw(&lines)?,
            None => println!("{}\n", lines.join("\n")),
        }
        refreshes += 1;
        if args.count == Some(refreshes) {
            break;
        }
    }
    Ok(())
}

/// Reads and parses the stats file; a missing file is no daemon (or, `running` one that
/// was seen before, a daemon that stopped).
fn read(iface: &str, path: &Path, running: bool) -> Result<Sample> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Sample::parse(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if running {
                bail!("the xdptcp on {iface} stopped ({} is gone)", path.display())
            }
            bail!(
                "no running xdptcp on {iface} ({} not found)",
                path.display()
            )
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The first reading published after `shown`, or the latest one if none came within
/// [`FRESH_WAIT`].
fn read_newer(
    iface: &str,
    path: &Path,
    shown: &Sample,
    stopped: &dyn Fn() -> bool,
) -> Result<Sample> {
    let deadline = Instant::now() + FRESH_WAIT;
    loop {
        let s = read(iface, path, true)?;
        if s.published_at > shown.published_at || Instant::now() >= deadline || stopped() {
            return Ok(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sleeps `d` in short steps; true if `stopped` turned true meanwhile.
fn sleep_unless(d: Duration, stopped: &dyn Fn() -> bool) -> bool {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if stopped() {
            return true;
        }
        std::thread::sleep(
            end.saturating_duration_since(Instant::now())
                .min(Duration::from_millis(50)),
        );
    }
    stopped()
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
