//! A load generator running on the stack itself (`xdptcp connect`): request/response over
//! persistent connections (`rr`) or one connection per transaction (`crr`), each transaction
//! timed into an HdrHistogram, so benchmarks can put kernel bypass on both ends.
//!
//! Latency is measured from the request (rr) or the connect (crr) to the last byte of the
//! echoed response, in microseconds, after a warm-up.

use hdrhistogram::Histogram;

use std::net::SocketAddr;

use crate::service::{Conn, ConnId, Cx, Event, Instant, Service};
use crate::tcp::Addr;

/// Which transactions to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadMode {
    /// Persistent connections, fixed-size request then the same size back (echo server).
    Rr,
    /// Connect, one request/response, close; repeated.
    Crr,
}

impl std::str::FromStr for LoadMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "rr" => Ok(LoadMode::Rr),
            "crr" => Ok(LoadMode::Crr),
            _ => Err(format!("unknown load mode '{s}' (expected rr or crr)")),
        }
    }
}

/// What the generator does.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// Which transactions to run.
    pub mode: LoadMode,
    /// Server address (either family).
    pub remote_addr: Addr,
    /// Server port.
    pub remote_port: u16,
    /// Connections in flight.
    pub conns: usize,
    /// Request (and expected response) size.
    pub size: usize,
    /// Transactions completing before this instant are not recorded.
    pub warmup_end: Instant,
    /// No transaction starts after this instant.
    pub end: Instant,
}

/// Per-connection progress.
#[derive(Default)]
pub struct LoadConn {
    start: Option<Instant>,
    received: usize,
}

/// The load generator and its results.
pub struct LoadGen {
    cfg: LoadConfig,
    request: Vec<u8>,
    to_open: usize,
    /// Latency of recorded transactions, microseconds.
    pub histogram: Histogram<u64>,
    /// Transactions completed after the warm-up.
    pub transactions: u64,
    /// Connections that failed (refused, reset, timed out, could not open).
    pub errors: u64,
    /// Connections opened.
    pub connects: u64,
}

impl LoadGen {
    /// A load generator for `cfg`.
    pub fn new(cfg: LoadConfig) -> LoadGen {
        LoadGen {
            request: vec![b'x'; cfg.size],
            to_open: cfg.conns,
            // 1 us .. 1 h, 3 significant digits (the benchmark tool's settings).
            histogram: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            transactions: 0,
            errors: 0,
            connects: 0,
            cfg,
        }
    }

    /// True once the run's end has passed.
    pub fn finished(&self, now: Instant) -> bool {
        now >= self.cfg.end
    }

    fn send_request(&mut self, now: Instant, conn: &mut Conn<'_, LoadConn>) {
        let st = conn.data_mut();
        if self.cfg.mode == LoadMode::Rr {
            st.start = Some(now);
        }
        st.received = 0;
        let sent = conn.write(&self.request);
        if sent < self.request.len() {
            // The send buffer is far larger than a request: only a broken connection
            // refuses one.
            self.errors += 1;
            conn.abort();
        }
    }

    fn complete(&mut self, now: Instant, st: &mut LoadConn) {
        if let Some(start) = st.start.take() {
            if now >= self.cfg.warmup_end && now <= self.cfg.end {
                let us = now.saturating_since(start).as_micros() as u64;
                let _ = self.histogram.record(us.max(1));
                self.transactions += 1;
            }
        }
    }
}

impl Service for LoadGen {
    type Data = LoadConn;

    /// Keeps the configured number of connections in flight until the run ends.
    fn poll(&mut self, cx: &mut Cx<'_, LoadConn>) {
        let remote = SocketAddr::new(self.cfg.remote_addr.to_ip(), self.cfg.remote_port);
        while self.to_open > 0 && !self.finished(cx.now()) {
            let start = (self.cfg.mode == LoadMode::Crr).then(|| cx.now());
            let data = LoadConn { start, received: 0 };
            if cx.connect(remote, data).is_err() {
                // No port or room now: count it and try again on the next turn.
                self.errors += 1;
                return;
            }
            self.to_open -= 1;
            self.connects += 1;
        }
    }

    fn on_event(&mut self, cx: &mut Cx<'_, LoadConn>, id: ConnId, event: Event) {
        let now = cx.now();
        let Some(mut conn) = cx.conn(id) else { return };
        match event {
            Event::Established => {
                if !self.finished(now) {
                    self.send_request(now, &mut conn);
                }
            }
            Event::Readable => {
                let n = conn.readable();
                conn.consume(n);
                let st = conn.data_mut();
                st.received += n;
                if st.received < self.cfg.size {
                    return;
                }
                self.complete(now, conn.data_mut());
                match self.cfg.mode {
                    LoadMode::Rr if !self.finished(now) => self.send_request(now, &mut conn),
                    LoadMode::Rr => conn.shutdown(),
                    LoadMode::Crr => {
                        conn.shutdown();
                        self.to_open += 1;
                    }
                }
            }
            Event::Reset | Event::TimedOut => {
                self.errors += 1;
                // Keep the configured number of connections in flight.
                self.to_open += 1;
            }
            Event::Writable | Event::PeerClosed | Event::Closed => {}
        }
    }
}
