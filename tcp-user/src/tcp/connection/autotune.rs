//! What the receive window offers: receive-window auto-tuning (Linux's dynamic right-sizing)
//! bounded by the connection's buffer limit and by the worker's memory pressure.
//!
//! A connection starts by offering `Config::recv_window_initial`. Once per receiver round
//! trip it looks at how many bytes the application read in that round trip; when that beats
//! the best round trip so far, the offer grows to twice the rate (plus sixteen segments, and
//! more when the rate itself is climbing fast), as Linux's `tcp_rcv_space_adjust` does, up
//! to `Config::recv_buffer`. A sender is then never limited by our window on a path whose
//! bandwidth-delay product the reader keeps up with, and a connection whose reader is slow
//! or absent never offers more than the initial window. The offer costs memory only while
//! data waits unread: buffers are taken as data is held (`buffer_pool`).
//!
//! Under memory pressure the offer shrinks to the memory the connection already holds (at
//! least one minimum buffer) and the tuning starts over from the initial window; the right
//! edge already advertised is honoured (RFC 9293 section 3.8.6.2.2: it never moves left).

use super::Connection;
use crate::tcp::buffer_pool::{self, Pressure, MIN_BUFFER};
use crate::tcp::Instant;
use std::time::Duration;

/// Shortest measurement interval: below a millisecond the read count of one interval is
/// too small a sample (and Linux's receiver RTT has millisecond timestamps too).
const MIN_INTERVAL: Duration = Duration::from_millis(1);
/// Interval while no RTT sample exists (a SYN-cookie connection that has sent nothing).
const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);

/// Auto-tuning state of one connection.
#[derive(Clone, Copy, Debug)]
pub(super) struct Autotune {
    /// Bytes the window may offer now (read data and free room together).
    pub(super) offer: u32,
    /// Most bytes the application read in one interval so far (Linux `rcvq_space.space`).
    best: u32,
    /// The application's read position (sequence number) when this interval began.
    start_seq: crate::tcp::SeqNum,
    /// When this interval began.
    start_at: Instant,
}

impl Autotune {
    /// The state of a new connection whose first data byte will be `next`.
    pub(super) fn new(
        initial: usize,
        limit: usize,
        mss: usize,
        next: crate::tcp::SeqNum,
        now: Instant,
    ) -> Autotune {
        let offer = initial.min(limit);
        Autotune {
            offer: offer as u32,
            best: (10 * mss).min(offer) as u32,
            start_seq: next,
            start_at: now,
        }
    }
}

impl Autotune {
    /// Starts the first interval over at `next` (an active open learns where the peer's
    /// data begins only from its SYN-ACK).
    pub(super) fn restart(&mut self, next: crate::tcp::SeqNum, now: Instant) {
        self.start_seq = next;
        self.start_at = now;
    }
}

impl Connection {
    /// Receive buffer space we may offer: the auto-tuned offer (clamped under memory
    /// pressure) less what is held unread.
    pub(super) fn window_space(&self) -> usize {
        if self.fin_received {
            // Nothing more will arrive; keep offering what we offered.
            return self.rcv_adv - self.rcv_nxt;
        }
        let mut offer = self.tune.offer as usize;
        if buffer_pool::pressure() != Pressure::Normal {
            offer = offer.min(self.recv.memory().max(MIN_BUFFER));
        }
        // The ring has `rcv_slack` bytes beyond the limit for the scaled window's round-up.
        offer
            .min(self.recv.capacity() - self.rcv_slack)
            .saturating_sub(self.recv.len())
    }

    /// One step of the auto-tuning, after in-order data arrived at `now`: closes the
    /// interval if a receiver round trip has passed, and grows (or, under pressure,
    /// resets) the offer.
    pub(super) fn tune_receive_window(&mut self, now: Instant) {
        let interval = self
            .rtt
            .srtt()
            .unwrap_or(DEFAULT_INTERVAL)
            .max(MIN_INTERVAL);
        if now.saturating_since(self.tune.start_at) < interval {
            return;
        }
        let read_seq = self.recv.next() - self.recv.len();
        let copied = read_seq - self.tune.start_seq;
        self.tune.start_seq = read_seq;
        self.tune.start_at = now;
        let initial = self.config.recv_window_initial.min(self.recv.capacity());
        if buffer_pool::pressure() != Pressure::Normal {
            self.tune.offer = initial as u32;
            self.tune.best = self.tune.best.min(initial as u32);
            return;
        }
        let best = self.tune.best as usize;
        if copied <= best {
            return;
        }
        // Linux: rcvwin = 2 * copied + 16 * advmss, plus twice the growth rate's share.
        let mss = usize::from(self.own_mss());
        let mut win = 2 * copied + 16 * mss;
        if best > 0 {
            win += 2 * (win as u64 * (copied - best) as u64 / best as u64) as usize;
        }
        let limit = self.recv.capacity() - self.rcv_slack;
        self.tune.best = copied.min(u32::MAX as usize) as u32;
        self.tune.offer = self.tune.offer.max(win.min(limit) as u32);
    }
}
