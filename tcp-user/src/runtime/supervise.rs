//! The runtime's main thread while workers run: collects their snapshots, publishes the
//! counters (stats file, metrics endpoint), watches the interface and the attached program,
//! turns signals and [`StopHandle`](super::StopHandle) requests into drain and stop, then
//! joins the workers and detaches.

use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{bail, Result};
use crossbeam_channel::Receiver;

use super::datapath::Datapath;
use super::report::{print_counters, Report};
use super::watch::{Notice, Severity, Watch};
use super::worker::{Control, Exit};
use super::{signals, RuntimeConfig};
use crate::metrics;
use crate::service::Metric;
use crate::stats::WorkerStats;
use crate::xdp::netlink;

/// What a worker publishes a few times a second.
pub(crate) struct Snapshot {
    pub stats: WorkerStats,
    pub metrics: Vec<Metric>,
    /// When the worker took it (the rates of `xdptcp top` divide by the time between two).
    pub taken_at: std::time::SystemTime,
}

type WorkerHandle<S> = JoinHandle<(WorkerStats, S, Exit)>;

/// How often the counters are published and the interface checked.
const PUBLISH_EVERY: Duration = Duration::from_millis(500);
const TICK: Duration = Duration::from_millis(20);

/// How long workers get to stop after the drain ended (or a stop), before the runtime
/// gives up on them, reports and detaches anyway.
const STOP_GRACE: Duration = Duration::from_secs(10);

pub(crate) fn run<S>(
    cfg: &RuntimeConfig,
    dp: &Datapath,
    control: &Control,
    handles: Vec<WorkerHandle<S>>,
    snapshots: Receiver<Snapshot>,
    shared: metrics::Shared,
    on_drain: Option<Box<dyn FnOnce() + Send>>,
) -> Result<Report<S>> {
    let queues = handles.len();
    let mut latest: Vec<Snapshot> = (0..queues)
        .map(|q| Snapshot {
            stats: WorkerStats {
                queue: q as u32,
                ..Default::default()
            },
            metrics: Vec::new(),
            taken_at: std::time::SystemTime::now(),
        })
        .collect();
    let publish = |latest: &[Snapshot]| {
        let service: Vec<&[Metric]> = latest.iter().map(|s| s.metrics.as_slice()).collect();
        let mut text = metrics::render(&stats_of(latest), &dp.program.counters(), &service);
        let taken: Vec<(u32, std::time::SystemTime)> =
            latest.iter().map(|s| (s.stats.queue, s.taken_at)).collect();
        metrics::render_published_at(&mut text, std::time::SystemTime::now(), &taken);
        if cfg.stats_file {
            let _ = metrics::write_file(&dp.iface.name, &text);
        }
        if let Ok(mut s) = shared.lock() {
            *s = text;
        }
    };
    let mut failure: Option<String> = None;
    // Publish on the first tick, so the stats file (`xdptcp stats`, `top`) exists right
    // after the `ready` line rather than half a period later.
    let mut since_publish = PUBLISH_EVERY;
    let mut watch = Watch::new(&dp.iface.name, queues, dp.program.id());
    let requested =
        || (cfg.handle_signals && signals::signalled()) || control.drain.load(Ordering::SeqCst);
    let mut handles: Vec<Option<WorkerHandle<S>>> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<(WorkerStats, S)>> = (0..queues).map(|_| None).collect();
    // Joins the workers that have ended; false if one panicked.
    let mut reap = |handles: &mut [Option<WorkerHandle<S>>], failure: &mut Option<String>| {
        for (q, slot) in handles.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(|h| h.is_finished()) {
                match slot.take().expect("checked").join() {
                    Ok((stats, service, _exit)) => results[q] = Some((stats, service)),
                    Err(_) => *failure = Some(format!("the worker of queue {q} panicked")),
                }
            }
        }
    };
    let all_done = |handles: &[Option<WorkerHandle<S>>]| handles.iter().all(Option::is_none);
    while !requested() && !all_done(&handles) {
        std::thread::sleep(TICK);
        since_publish += TICK;
        // A worker ends on its own only when its service finished (or it panicked).
        reap(&mut handles, &mut failure);
        if failure.is_some() {
            break;
        }
        if since_publish < PUBLISH_EVERY {
            continue;
        }
        since_publish = Duration::ZERO;
        collect(&snapshots, &mut latest);
        publish(&latest);
        let now = std::time::Instant::now();
        for notice in watch.observe_counters(now, &stats_of(&latest)) {
            log(&notice);
        }
        // A failed query says nothing about the program: only an answer is news.
        if let Ok(attached) = netlink::attached_xdp_program(dp.iface.index) {
            if let Some(notice) = watch.observe_program(now, attached) {
                log(&notice);
            }
        }
        if !dp.iface.exists() {
            failure = Some(format!("interface {} is gone", dp.iface.name));
            break;
        }
        if let Some(notice) = watch.observe_link(now, dp.iface.is_up()) {
            log(&notice);
        }
    }
    if let Some(f) = on_drain {
        f();
    }
    if failure.is_some() {
        control.stop.store(true, Ordering::SeqCst);
    } else if !all_done(&handles) && !control.stop.load(Ordering::SeqCst) {
        tracing::info!(
            "draining connections (up to {} ms)",
            cfg.drain_timeout.as_millis()
        );
    }
    // First request: drain; a second signal, or a worker failure, stops at once. A worker
    // that does not stop in time (a service that never returns) is given up on, so the
    // program is detached and the ports handed back to the kernel in any case.
    control.drain.store(true, Ordering::SeqCst);
    let mut deadline = std::time::Instant::now() + cfg.drain_timeout + STOP_GRACE;
    while !all_done(&handles) {
        if cfg.handle_signals && signals::count() > 1 && !control.stop.load(Ordering::SeqCst) {
            control.stop.store(true, Ordering::SeqCst);
            deadline = std::time::Instant::now() + STOP_GRACE;
        }
        if std::time::Instant::now() >= deadline {
            let stuck: Vec<String> = handles
                .iter()
                .enumerate()
                .filter(|(_, h)| h.is_some())
                .map(|(q, _)| q.to_string())
                .collect();
            failure = Some(format!(
                "the worker(s) of queue(s) {} did not stop",
                stuck.join(",")
            ));
            control.stop.store(true, Ordering::SeqCst);
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
        reap(&mut handles, &mut failure);
    }
    let mut workers = Vec::new();
    let mut services = Vec::new();
    for (stats, service) in results.into_iter().flatten() {
        workers.push(stats);
        services.push(service);
    }
    collect(&snapshots, &mut latest);
    let report = Report {
        workers,
        services,
        xdp: dp.program.counters(),
        metrics: latest.into_iter().map(|s| s.metrics).collect(),
    };
    if cfg.exit_report {
        print_counters(&report.workers, &report.xdp, &report.metrics);
    }
    if cfg.stats_file {
        let _ = std::fs::remove_file(metrics::stats_path(&dp.iface.name));
    }
    if let Some(why) = failure {
        tracing::error!("{why}; stopped");
        bail!("stopped: {why}");
    }
    Ok(report)
}

/// The counters of each worker's newest snapshot.
fn stats_of(latest: &[Snapshot]) -> Vec<WorkerStats> {
    latest.iter().map(|s| s.stats.clone()).collect()
}

/// Logs a notice of the [`Watch`] at its level.
fn log(notice: &Notice) {
    match notice.severity {
        Severity::Warn => tracing::warn!("{}", notice.text),
        Severity::Info => tracing::info!("{}", notice.text),
    }
}

/// Keeps the newest snapshot of each worker.
fn collect(rx: &Receiver<Snapshot>, latest: &mut [Snapshot]) {
    while let Ok(s) = rx.try_recv() {
        let q = s.stats.queue as usize;
        if let Some(slot) = latest.get_mut(q) {
            *slot = s;
        }
    }
}
