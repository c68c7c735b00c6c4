//! The hold load (`xdptcp connect --mode hold`): opens many connections, checks that each
//! one echoes once they are all open, then keeps them open with a small exchange on each
//! every `interval`, while one separate connection measures request/response latency.
//! This is how a push gateway, a chat front end or a load balancer loads a server: many
//! mostly idle connections, and the question is how many it holds, in how much memory, and
//! whether the few busy ones stay fast.
//!
//! Phases, per worker: *opening* (at most `max_connecting` handshakes in flight, remote
//! ports taken in turn as the local ports run out), *echo* (one message on every
//! connection, all answered), *holding* (pings spread evenly over each interval, plus the
//! latency probe) until `end`. Failures are counted, never retried: the figure wanted is
//! how many the server holds.

use std::net::SocketAddr;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::service::{ConnId, Cx, Event, Instant, OpenError, Service, Timer};
use crate::tcp::Addr;

/// What one worker's hold load does.
#[derive(Clone, Debug)]
pub struct HoldConfig {
    /// Server address (either family).
    pub remote_addr: Addr,
    /// Server ports, `first..=last`: connections go to the first until no local port is
    /// left towards it, then to the next.
    pub remote_ports: (u16, u16),
    /// Connections this worker opens and holds.
    pub conns: usize,
    /// Handshakes, messages or closes in flight at most (a window, so that bursts stay
    /// within what the server's rings hold).
    pub max_in_flight: usize,
    /// Size of each message (the server echoes it).
    pub size: usize,
    /// Each held connection exchanges one message this often.
    pub interval: Duration,
    /// Opening ends here even if not every connection is up.
    pub setup_deadline: Instant,
    /// How long to hold once every connection answered its echo.
    pub hold: Duration,
    /// This worker also runs the latency probe (one rr connection while the rest are held).
    pub probe: bool,
}

/// Where a worker is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Handshakes in flight.
    Opening,
    /// One message on every connection.
    Echo,
    /// Holding until the end.
    Holding,
    /// Closing every connection (FIN, paced like the rest).
    Closing,
    /// Done: every connection closed; the worker stops.
    Done,
}

/// Per-connection state.
#[derive(Clone, Copy, Debug, Default)]
pub struct HoldConn {
    /// The latency probe rather than a held connection.
    probe: bool,
    /// Reached ESTABLISHED.
    up: bool,
    /// We closed it (the end of the run).
    closing: bool,
    /// Echo bytes still expected.
    awaiting: u32,
    /// When the probe's request went out.
    sent_at: Option<Instant>,
}

/// The hold load and its results.
pub struct HoldGen {
    cfg: HoldConfig,
    message: Vec<u8>,
    /// Index of the remote port now in use (`remote_ports.0 + port_index`).
    port_index: u16,
    /// Ports exhausted: no more connections can be opened.
    out_of_tuples: bool,
    connecting: usize,
    opened: usize,
    /// Established held connections, in the order they came up.
    held: Vec<ConnId>,
    /// Next held connection to ping (holding), or to send the echo to (echo).
    cursor: usize,
    /// Pings sent in the holding phase so far.
    pinged: u64,
    /// Echo messages sent and neither answered nor lost yet.
    echo_pending: u64,
    /// Pings of the holding phase sent and not answered yet.
    ping_pending: u64,
    /// Connections closing (FIN sent, not yet gone).
    closing: usize,
    /// The latency probe's connection.
    probe: Option<ConnId>,
    hold_start: Option<Instant>,
    /// The phase now.
    pub phase: Phase,
    /// When the first connect was made and when opening ended.
    pub opening: (Option<Instant>, Option<Instant>),
    /// Connections that reached ESTABLISHED.
    pub established: u64,
    /// Connections that failed to open (refused, timed out, no room).
    pub failed: u64,
    /// Held connections that answered the echo after all were open.
    pub echoed: u64,
    /// Held connections reset or timed out after they were established.
    pub lost: u64,
    /// Pings answered in the holding phase.
    pub pongs: u64,
    /// Latency of the probe's transactions, microseconds.
    pub probe_latency: Histogram<u64>,
    /// Resident memory of the process when this worker started and once every connection
    /// was open and had echoed (bytes, from /proc/self/status).
    pub rss: (u64, u64),
}

/// Wake-up token of the pacing timer.
const TICK: u64 = 1;
/// How often the pacer sends the pings that are due.
const TICK_EVERY: Duration = Duration::from_millis(5);

impl HoldGen {
    /// A hold load for `cfg`.
    pub fn new(cfg: HoldConfig) -> HoldGen {
        HoldGen {
            message: vec![b'h'; cfg.size.max(1)],
            port_index: 0,
            out_of_tuples: false,
            connecting: 0,
            opened: 0,
            held: Vec::with_capacity(cfg.conns),
            cursor: 0,
            pinged: 0,
            echo_pending: 0,
            ping_pending: 0,
            closing: 0,
            probe: None,
            hold_start: None,
            phase: if cfg.conns == 0 {
                Phase::Echo
            } else {
                Phase::Opening
            },
            opening: (None, None),
            established: 0,
            failed: 0,
            echoed: 0,
            lost: 0,
            pongs: 0,
            probe_latency: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            rss: (resident_bytes(), 0),
            cfg,
        }
    }

    /// Held connections alive now.
    pub fn alive(&self) -> u64 {
        self.established - self.lost
    }

    fn remote(&self) -> SocketAddr {
        SocketAddr::new(
            self.cfg.remote_addr.to_ip(),
            self.cfg.remote_ports.0 + self.port_index,
        )
    }

    fn open_more(&mut self, cx: &mut Cx<'_, HoldConn>) {
        let now = cx.now();
        self.opening.0.get_or_insert(now);
        while !self.out_of_tuples
            && self.opened < self.cfg.conns
            && self.connecting < self.cfg.max_in_flight
        {
            match cx.connect(self.remote(), HoldConn::default()) {
                Ok(_) => {
                    self.opened += 1;
                    self.connecting += 1;
                }
                Err(OpenError::NoLocalPort)
                    if self.cfg.remote_ports.0 + self.port_index < self.cfg.remote_ports.1 =>
                {
                    self.port_index += 1;
                }
                Err(OpenError::NoRoom) => return, // memory or limit: try again next turn
                Err(_) => self.out_of_tuples = true,
            }
        }
        if (self.connecting == 0 && (self.opened == self.cfg.conns || self.out_of_tuples))
            || now >= self.cfg.setup_deadline
        {
            self.failed += (self.cfg.conns - self.opened) as u64;
            self.opening.1 = Some(now);
            self.phase = Phase::Echo;
        }
    }

    /// Writes one message on held connection `id` unless its last one is unanswered;
    /// true if it went out.
    fn ping(&self, cx: &mut Cx<'_, HoldConn>, id: ConnId) -> bool {
        let Some(mut conn) = cx.conn(id) else {
            return false; // gone (counted in `lost`)
        };
        if conn.data().awaiting > 0 || conn.write(&self.message) < self.message.len() {
            return false;
        }
        conn.data_mut().awaiting = self.message.len() as u32;
        true
    }

    fn echo_step(&mut self, cx: &mut Cx<'_, HoldConn>) {
        while self.cursor < self.held.len() && (self.echo_pending as usize) < self.cfg.max_in_flight
        {
            let id = self.held[self.cursor];
            self.cursor += 1;
            if self.ping(cx, id) {
                self.echo_pending += 1;
            }
        }
        if self.cursor >= self.held.len() && self.echo_pending == 0 {
            self.start_holding(cx);
        }
    }

    fn start_holding(&mut self, cx: &mut Cx<'_, HoldConn>) {
        let now = cx.now();
        self.rss.1 = resident_bytes();
        // For whoever watches from outside (a test reading the server's memory now).
        println!(
            "holding established={} echoed={} failed={}",
            self.established, self.echoed, self.failed
        );
        self.phase = Phase::Holding;
        self.hold_start = Some(now);
        self.cursor = 0;
        if self.cfg.probe {
            // The remote port in use last has local ports left, if any has.
            let probe = HoldConn {
                probe: true,
                ..HoldConn::default()
            };
            match cx.connect(self.remote(), probe) {
                Ok(id) => self.probe = Some(id),
                Err(_) => self.failed += 1,
            }
        }
    }

    fn hold_step(&mut self, cx: &mut Cx<'_, HoldConn>) {
        let now = cx.now();
        let since = now.saturating_since(self.hold_start.unwrap_or(now));
        if since >= self.cfg.hold {
            self.phase = Phase::Closing;
            self.cursor = 0;
            return;
        }
        // Pings due so far: every held connection once per interval, spread evenly.
        let n = self.held.len() as u128;
        let due = (since.as_micros() * n / self.cfg.interval.as_micros().max(1)) as u64;
        let mut budget = self
            .cfg
            .max_in_flight
            .saturating_sub(self.ping_pending as usize);
        while self.pinged < due && budget > 0 && !self.held.is_empty() {
            if self.cursor >= self.held.len() {
                self.cursor = 0;
            }
            let id = self.held[self.cursor];
            self.cursor += 1;
            self.pinged += 1;
            if self.ping(cx, id) {
                budget -= 1;
                self.ping_pending += 1;
            }
        }
    }

    /// Closes held connections (our FIN first; the echo server closes in turn), at most
    /// `max_in_flight` closing at once, then the probe; done when all are gone.
    fn close_step(&mut self, cx: &mut Cx<'_, HoldConn>) {
        while self.cursor < self.held.len() && self.closing < self.cfg.max_in_flight {
            let id = self.held[self.cursor];
            self.cursor += 1;
            if let Some(mut conn) = cx.conn(id) {
                conn.data_mut().closing = true;
                conn.shutdown();
                self.closing += 1;
            }
        }
        if self.cursor >= self.held.len() {
            if let Some(mut probe) = self.probe.and_then(|id| cx.conn(id)) {
                probe.shutdown();
            }
            if cx.open_connections() == 0 {
                self.phase = Phase::Done;
            }
        }
    }

    /// A held connection that will not answer its outstanding message leaves the window.
    fn forget_pending(&mut self, st: HoldConn) {
        if st.awaiting == 0 {
            return;
        }
        match self.phase {
            Phase::Echo => self.echo_pending -= 1,
            Phase::Holding => self.ping_pending = self.ping_pending.saturating_sub(1),
            _ => {}
        }
    }

    fn probe_request(&mut self, now: Instant, cx: &mut Cx<'_, HoldConn>, id: ConnId) {
        if self.phase != Phase::Holding {
            return;
        }
        let Some(mut conn) = cx.conn(id) else { return };
        if conn.write(&self.message) == self.message.len() {
            let st = conn.data_mut();
            st.awaiting = self.message.len() as u32;
            st.sent_at = Some(now);
        }
    }
}

impl Service for HoldGen {
    type Data = HoldConn;

    fn poll(&mut self, cx: &mut Cx<'_, HoldConn>) {
        match self.phase {
            Phase::Opening => self.open_more(cx),
            Phase::Echo => self.echo_step(cx),
            Phase::Holding => self.hold_step(cx),
            Phase::Closing => self.close_step(cx),
            Phase::Done => {}
        }
        if self.phase != Phase::Done {
            let at = cx.now() + TICK_EVERY;
            cx.set_timer(TICK, at);
        }
    }

    fn on_timer(&mut self, cx: &mut Cx<'_, HoldConn>, _timer: Timer) {
        self.poll(cx);
    }

    fn on_event(&mut self, cx: &mut Cx<'_, HoldConn>, id: ConnId, event: Event) {
        let now = cx.now();
        let Some(mut conn) = cx.conn(id) else { return };
        let st = *conn.data();
        match event {
            Event::Established if st.probe => self.probe_request(now, cx, id),
            Event::Established => {
                conn.data_mut().up = true;
                self.connecting -= 1;
                self.established += 1;
                self.held.push(id);
            }
            Event::Readable => {
                let n = conn.readable();
                conn.consume(n);
                let st = conn.data_mut();
                let was = st.awaiting;
                st.awaiting = st.awaiting.saturating_sub(n as u32);
                if was == 0 || st.awaiting > 0 {
                    return;
                }
                if st.probe {
                    if let Some(at) = st.sent_at.take() {
                        let us = now.saturating_since(at).as_micros() as u64;
                        let _ = self.probe_latency.record(us.max(1));
                    }
                    self.probe_request(now, cx, id);
                } else if self.phase == Phase::Echo {
                    self.echoed += 1;
                    self.echo_pending -= 1;
                } else {
                    self.pongs += 1;
                    self.ping_pending = self.ping_pending.saturating_sub(1);
                }
            }
            Event::Reset | Event::TimedOut | Event::Closed if st.probe => {}
            Event::Reset | Event::TimedOut | Event::Closed if st.closing => self.closing -= 1,
            Event::Reset | Event::TimedOut | Event::Closed => {
                if st.up {
                    self.lost += 1;
                    self.forget_pending(st);
                } else {
                    self.connecting -= 1;
                    self.failed += 1;
                }
            }
            Event::PeerClosed if !st.probe && !st.closing => {
                // The server closed first (its idle timeout, a drain): lost, and closed in turn.
                self.lost += 1;
                self.forget_pending(st);
                conn.data_mut().closing = true;
                conn.shutdown();
                self.closing += 1;
            }
            Event::Writable | Event::PeerClosed => {}
        }
    }

    fn finished(&self) -> bool {
        self.phase == Phase::Done
    }
}

/// VmRSS of this process in bytes (0 if it cannot be read).
pub fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib << 10)
}
