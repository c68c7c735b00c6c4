//! The pinned worker loop: one per receive queue. It is ring glue only: a receive batch goes
//! into the [`Endpoint`], the endpoint's timers and service run, and what they wrote goes out
//! in one flush (TX ring and wake-up) per turn. Every TCP and listener decision is the
//! endpoint's.
//!
//! The worker owns its port and endpoint outright; what it shares is the [`Control`] flags,
//! its [`EventWaker`] and the statistics snapshots it publishes.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::control::sink::{CaptureTx, WorkerControl, WorkerRequest};
use super::wake::{wait_readable, EventWaker};
use crate::capture::Direction;
use crate::endpoint::{Endpoint, Tx};
use crate::service::Service;
use crate::stats::WorkerStats;
use crate::tcp::{buffer_pool, Instant};
use crate::xdp::socket::Transmitter;
use crate::xdp::XskPort;

/// Receive batches (of 64 frames) handled per turn before timers and transmission, while
/// frames keep coming: our own `sendto` runs the peer's receive path (on veth), whose
/// replies land in our RX ring while we flush, so a turn that drains too little lets the
/// ring fill during the next flush. With 4, 200 connections echoing 1 MiB each overran the
/// 8192 receive frames (0-14,000 `rx_dropped` per run, and retransmissions on 2 queues);
/// with 16, none in 10 runs, rr and crr unchanged and stream 0.98x (0.84-1.12) over 11
/// alternating rounds (2026-12-04). A turn then holds a reply back by at most 1024 frames'
/// work (about 0.5 ms), only under such a burst.
const RX_BATCHES_PER_TURN: usize = 16;
/// Idle turns spun before sleeping: a reply often comes within microseconds.
const IDLE_SPINS: u32 = 2000;
/// Longest sleep when idle (the control flags are read at least this often).
const MAX_SLEEP_MS: i32 = 100;
/// How often the counters are published.
const PUBLISH_EVERY: Duration = Duration::from_millis(200);
/// Connections looked at per turn for a listing (`xdptcp ss`): about a millisecond.
const LISTING_PIECE: usize = 4096;
/// How often the worker gives idle memory back (`buffer_pool::housekeeping`).
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(1);

/// Control-plane requests to the workers.
#[derive(Default)]
pub struct Control {
    /// Stop accepting, let connections finish (up to the drain timeout), then exit.
    pub drain: AtomicBool,
    /// Exit now (connections still open are reset).
    pub stop: AtomicBool,
}

impl Tx for Transmitter<'_> {
    #[inline]
    fn has_room(&mut self) -> bool {
        Transmitter::has_room(self)
    }

    #[inline]
    fn send(&mut self, write: impl FnOnce(&mut [u8]) -> Option<usize>) -> bool {
        Transmitter::send(self, write)
    }
}

/// How one worker runs.
pub(crate) struct WorkerParams<'a> {
    /// The time origin shared by all workers (engine instants count from it).
    pub clock: std::time::Instant,
    pub busy_poll: bool,
    pub drain_timeout: Duration,
    pub control: &'a Control,
    pub waker: &'a EventWaker,
    /// The receive queue this worker serves.
    pub queue: u32,
}

/// Why a worker returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Told to stop, or drained.
    Stopped,
    /// Its service finished and no connection was left.
    Finished,
}

/// Runs a worker until told to stop (and, for a drain, until its connections are done or the
/// drain timeout passed). `publish` gets the counters every 200 ms and at the end.
pub(crate) fn run<S: Service>(
    mut port: XskPort,
    mut ep: Endpoint<S>,
    p: WorkerParams<'_>,
    mut ctl: WorkerControl,
    mut publish: impl FnMut(&WorkerStats, &S),
) -> (WorkerStats, S, Exit) {
    let clock = p.clock;
    let now = || Instant::from_micros(clock.elapsed().as_micros() as u64);
    let fds = [port.fd().as_raw_fd(), p.waker.raw_fd()];
    let mut idle_spins = 0u32;
    let mut last_publish = now();
    let mut last_housekeeping = now();
    let mut drain_deadline = None;
    let exit = loop {
        let t = now();
        if drain_deadline.is_none() && p.control.drain.load(Ordering::Relaxed) {
            ep.set_accepting(false);
            drain_deadline = Some(t + p.drain_timeout);
        }
        let finished = ep.finished();
        if p.control.stop.load(Ordering::Relaxed)
            || finished
            || drain_deadline.is_some_and(|d| (ep.is_idle() && ep.service().can_stop()) || t >= d)
        {
            with_tx(&mut port, &mut ctl, |tx| ep.abort_all(t, tx));
            port.flush();
            // More RSTs than TX frames: send the rest as frames come back (bounded).
            for _ in 0..64 {
                if !ep.has_blocked() {
                    break;
                }
                with_tx(&mut port, &mut ctl, |tx| ep.retry_blocked(t, tx));
                port.flush();
            }
            break if finished {
                Exit::Finished
            } else {
                Exit::Stopped
            };
        }
        if ctl.pending() {
            answer_requests(&mut ctl, &ep, t, p.queue);
        }
        let mut received = 0;
        for _ in 0..RX_BATCHES_PER_TURN {
            let capture = &mut ctl.capture;
            let n = port.receive(|frame, tx| {
                if let Some(sink) = capture.as_mut() {
                    sink.record(Direction::In, frame);
                }
                ep.handle(t, frame, &mut CaptureTx { inner: tx, capture })
            });
            received += n;
            if n == 0 {
                break;
            }
        }
        with_tx(&mut port, &mut ctl, |tx| ep.handle_timeout(t, tx));
        let sent = port.has_pending();
        port.flush();
        if ep.has_blocked() {
            with_tx(&mut port, &mut ctl, |tx| ep.retry_blocked(t, tx));
            port.flush();
        }
        if received > 0 || sent {
            idle_spins = 0;
        } else if !p.busy_poll {
            idle_spins += 1;
            if idle_spins > IDLE_SPINS && !ep.has_blocked() {
                sleep(&mut port, &mut ep, &mut ctl, &p, fds, now);
            }
        }
        if t.saturating_since(last_publish) >= PUBLISH_EVERY {
            last_publish = t;
            sync_port(&mut port, &mut ep);
            publish(ep.stats(), ep.service());
        }
        if t.saturating_since(last_housekeeping) >= HOUSEKEEPING_EVERY {
            last_housekeeping = t;
            buffer_pool::housekeeping();
        }
    };
    sync_port(&mut port, &mut ep);
    publish(ep.stats(), ep.service());
    let stats = ep.stats().clone();
    (stats, ep.into_service(), exit)
}

/// Sleeps until a frame arrives, the waker fires, or the endpoint's next deadline. The
/// service is polled once more after the sleeping flag is raised (see `wake.rs`), and the
/// sleep is skipped if that produced anything to send.
fn sleep<S: Service>(
    port: &mut XskPort,
    ep: &mut Endpoint<S>,
    ctl: &mut WorkerControl,
    p: &WorkerParams<'_>,
    fds: [std::os::fd::RawFd; 2],
    now: impl Fn() -> Instant,
) {
    p.waker.set_sleeping(true);
    let t = now();
    with_tx(port, ctl, |tx| ep.handle_timeout(t, tx));
    let busy = port.has_pending() || ep.has_blocked() || ctl.pending();
    port.flush();
    if !busy {
        let wait_ms = ep
            .poll_timeout()
            .map(|d| d.micros().saturating_sub(now().micros()).div_ceil(1000) as i32)
            .unwrap_or(MAX_SLEEP_MS)
            .clamp(1, MAX_SLEEP_MS);
        wait_readable(fds, wait_ms);
    }
    p.waker.set_sleeping(false);
    p.waker.clear();
}

/// Runs `f` with the port's transmitter, which also feeds a running capture.
#[inline]
fn with_tx<R>(
    port: &mut XskPort,
    ctl: &mut WorkerControl,
    f: impl FnOnce(&mut CaptureTx<'_, Transmitter<'_>>) -> R,
) -> R {
    let mut inner = port.transmitter();
    f(&mut CaptureTx {
        inner: &mut inner,
        capture: &mut ctl.capture,
    })
}

/// Answers the control thread: listings from the table, captures started and stopped.
#[cold]
fn answer_requests<S: Service>(ctl: &mut WorkerControl, ep: &Endpoint<S>, t: Instant, queue: u32) {
    while let Ok(request) = ctl.requests.try_recv() {
        match request {
            WorkerRequest::Connections {
                filter,
                from,
                reply,
            } => {
                let piece = ep.connection_infos(t, queue, &filter, from, LISTING_PIECE);
                let _ = reply.send(piece);
            }
            WorkerRequest::StartCapture(sink) => ctl.capture = Some(sink),
            WorkerRequest::StopCapture => ctl.capture = None,
        }
    }
    if ctl.capture.as_ref().is_some_and(|s| s.gone) {
        ctl.capture = None;
    }
}

/// Copies the port's counters into the endpoint's statistics.
fn sync_port<S: Service>(port: &mut XskPort, ep: &mut Endpoint<S>) {
    port.read_kernel_stats();
    ep.refresh_gauges();
    let stats = ep.stats_mut();
    stats.queue = port.queue;
    stats.port = port.counters;
    stats.rings = port.ring_occupancy();
}
