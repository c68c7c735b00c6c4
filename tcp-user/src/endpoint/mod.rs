//! The sans-IO endpoint: one worker's connections, listener and connect policy, timers and
//! service, driven by frames and time, with frames out through a [`Tx`].
//!
//! Modelled on quinn-proto's `Endpoint`: it never reads a clock or touches a ring.
//! - [`Endpoint::handle`] takes one received Ethernet frame;
//! - [`Endpoint::handle_timeout`] runs what is due at `now` (connection timers, service
//!   timers, the service's `poll`);
//! - [`Endpoint::poll_timeout`] says when to call it next;
//! - frames to send are written into a [`Tx`] as they are produced (the worker passes its
//!   AF_XDP transmitter; tests pass a [`VecTx`]).
//!
//! Every decision about segments that match no connection lives here (`listener.rs`):
//! SYNs, the half-open bound and SYN cookies, TIME_WAIT reuse, RST replies, the connection
//! limit and the memory budget. The worker loop only moves frames between rings and this.

mod listener;
mod tx;

#[cfg(test)]
mod tests;

pub use crate::shard::{ClientSetup, EndpointConfig};
pub use tx::{Tx, VecTx};

use crate::service::{Cx, Event, Service, Timer};
use crate::shard::Shard;
use crate::stats::{DropReason, WorkerStats};
use crate::table::ConnId;
use crate::tcp::{ConnFilter, ConnInfo, Family, FourTuple, Instant, State};
use crate::wire::{emit_frame, FrameHeader, MacAddr};

/// One worker's stack: a [`Shard`] of connections and the [`Service`] that runs on them.
pub struct Endpoint<S: Service> {
    shard: Shard<S::Data>,
    service: S,
}

impl<S: Service> Endpoint<S> {
    /// An endpoint serving `cfg` with `service`.
    pub fn new(cfg: EndpointConfig, service: S) -> Endpoint<S> {
        Endpoint {
            shard: Shard::new(cfg),
            service,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.shard.cfg
    }

    /// The service.
    pub fn service(&self) -> &S {
        &self.service
    }

    /// The service, mutably.
    pub fn service_mut(&mut self) -> &mut S {
        &mut self.service
    }

    /// The service, giving up the endpoint (a client's results after the run).
    pub fn into_service(self) -> S {
        self.service
    }

    /// Counters (frames dropped by reason, connections opened and closed, ...). Port
    /// counters are the worker's to fill.
    pub fn stats(&self) -> &WorkerStats {
        &self.shard.stats
    }

    /// Brings the gauges of [`Endpoint::stats`] up to date: connections, TIME_WAIT, memory
    /// held and the pressure state (the worker calls it before publishing its counters).
    pub fn refresh_gauges(&mut self) {
        use crate::tcp::buffer_pool;
        let s = &mut self.shard.stats;
        let table = &self.shard.table;
        s.active = table.len() as u64;
        s.time_wait = table.time_wait_count() as u64;
        s.half_open = table.half_open_count() as u64;
        s.time_wait_overflow = table.time_wait_overflow();
        s.buffer_bytes = buffer_pool::in_use() as u64;
        s.memory_bytes = (buffer_pool::in_use() + buffer_pool::charged()) as u64;
        s.memory_pressure = buffer_pool::pressure() as u64;
    }

    /// The shard under the service (invariant checks of the fuzz targets).
    pub(crate) fn shard(&self) -> &Shard<S::Data> {
        &self.shard
    }

    /// Counters, mutably (the worker fills in its port's).
    pub fn stats_mut(&mut self) -> &mut WorkerStats {
        &mut self.shard.stats
    }

    /// Live connections, TIME_WAIT included.
    pub fn connections(&self) -> usize {
        self.shard.table.len()
    }

    /// Live connections by id with their TCP state (control plane: listings, tests).
    pub fn connection_states(&self) -> Vec<(ConnId, State)> {
        self.shard
            .table
            .iter()
            .map(|(id, e)| (id, e.conn.state()))
            .collect()
    }

    /// Snapshots of the connections `filter` asks for, as of `now` (`xdptcp ss`), among at
    /// most `limit` connections from table slot `from` on; with where to go on (`None`: the
    /// table has been seen to its end). The worker answers a listing a piece per turn, so
    /// a table of a million connections never stalls it for more than a piece.
    pub fn connection_infos(
        &self,
        now: Instant,
        queue: u32,
        filter: &ConnFilter,
        from: usize,
        limit: usize,
    ) -> (Vec<ConnInfo>, Option<usize>) {
        let mut out = Vec::new();
        for (seen, (slot, e)) in self.shard.table.iter_from(from).enumerate() {
            if seen == limit {
                return (out, Some(slot));
            }
            if filter.matches(e.conn.state(), &e.conn.tuple()) {
                out.push(e.conn.info(now, queue));
            }
        }
        (out, None)
    }

    /// True when every connection left is in TIME_WAIT (a drain may end).
    pub fn is_idle(&self) -> bool {
        self.shard.table.len() == self.shard.table.time_wait_count()
    }

    /// True when the service is finished and no connection is left.
    pub fn finished(&self) -> bool {
        self.service.finished() && self.shard.table.is_empty()
    }

    /// Stops (false) or resumes accepting connections: while not accepting, SYNs to
    /// listening ports are answered with RST, as for a closed port.
    pub fn set_accepting(&mut self, accepting: bool) {
        self.shard.accepting = accepting;
    }

    /// The next instant [`Endpoint::handle_timeout`] has work to do at: the earliest
    /// deadline, or for deadlines further ahead possibly an earlier instant at which the
    /// timing wheel moves them closer (never later than the earliest deadline, possibly
    /// already past before the first call; a call then fires nothing early).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.shard.next_deadline()
    }

    /// True when connections wait for TX frames ([`Endpoint::retry_blocked`] after a flush).
    pub fn has_blocked(&self) -> bool {
        !self.shard.blocked.is_empty()
    }

    /// Runs the service with a context (for work that is neither a frame nor a timer: a
    /// test harness opening a connection, a control request).
    pub fn with_service<R>(
        &mut self,
        now: Instant,
        tx: &mut impl Tx,
        f: impl FnOnce(&mut S, &mut Cx<'_, S::Data>) -> R,
    ) -> R {
        let r = f(&mut self.service, &mut Cx::new(now, &mut self.shard));
        self.run_work(now, tx);
        r
    }

    /// Runs everything due at `now`: connection timers (RFC 6298 retransmission, delayed
    /// ACK, persist, TIME_WAIT, ...), the service's connection and service timers, and the
    /// service's `poll`. Call it once per loop, and at [`Endpoint::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Instant, tx: &mut impl Tx) {
        while let Some(id) = self.shard.table.pop_expired(now) {
            let Some(entry) = self.shard.table.get_mut(id) else {
                continue;
            };
            if entry.conn.poll_timeout().is_some_and(|d| d <= now) {
                entry.conn.handle_timeout(now);
            }
            let service_due = entry.service_timer.is_some_and(|d| d <= now);
            if service_due {
                entry.service_timer = None;
            }
            // Driving re-arms the timer (and sends what the timeout produced).
            self.shard.mark(id);
            if service_due {
                let cx = &mut Cx::new(now, &mut self.shard);
                self.service.on_timer(cx, Timer::Conn(id));
            }
        }
        // Only timers armed before this turn: one the service re-arms at `now` from
        // `on_timer` fires on the next turn instead of spinning here.
        let before = self.shard.timer_seq;
        while let Some(token) = self.shard.pop_service_timer(now, before) {
            let cx = &mut Cx::new(now, &mut self.shard);
            self.service.on_timer(cx, Timer::Service(token));
        }
        self.service.poll(&mut Cx::new(now, &mut self.shard));
        self.shard.release_idle_buffers(now);
        self.run_work(now, tx);
    }

    /// Drives again the connections that ran out of TX frames, oldest first, while frames
    /// are free. Call it after the transmitter was flushed.
    pub fn retry_blocked(&mut self, now: Instant, tx: &mut impl Tx) {
        let waiting = self.shard.blocked.len();
        let mut done = 0;
        while done < waiting && tx.has_room() {
            let id = self.shard.blocked[done];
            if let Some(entry) = self.shard.table.get_mut(id) {
                entry.blocked = false;
                self.drive(id, now, tx);
            }
            done += 1;
        }
        self.shard.blocked.drain(..done);
        self.run_work(now, tx);
    }

    /// Resets every connection still open (not TIME_WAIT): the worker is exiting.
    pub fn abort_all(&mut self, now: Instant, tx: &mut impl Tx) {
        let ids: Vec<ConnId> = self.shard.table.ids().collect();
        for id in ids {
            if let Some(entry) = self.shard.table.get_mut(id) {
                if entry.conn.state() != State::TimeWait {
                    entry.conn.abort();
                    self.shard.mark(id);
                }
            }
        }
        self.run_work(now, tx);
    }

    /// Drives every connection listed for work.
    fn run_work(&mut self, now: Instant, tx: &mut impl Tx) {
        while let Some(id) = self.shard.work.pop() {
            self.drive(id, now, tx);
        }
    }

    /// Runs a connection after an input: events to the service, then everything it has to
    /// send, then table book-keeping (timer re-arm, removal when closed).
    fn drive(&mut self, id: ConnId, now: Instant, tx: &mut impl Tx) {
        self.shard.driving = Some(id);
        loop {
            let Some(entry) = self.shard.table.get_mut(id) else {
                self.shard.driving = None;
                return;
            };
            entry.queued = false;
            let Some(event) = entry.conn.poll_event() else {
                break;
            };
            match event {
                Event::Reset => self.shard.stats.conns_reset += 1,
                Event::TimedOut => self.shard.stats.conns_timed_out += 1,
                _ => {}
            }
            if entry.aborted {
                continue; // aborted by the service: it hears nothing more
            }
            if entry.discard {
                // Closed by the service: what still arrives is read and dropped.
                let n = entry.conn.recv_len();
                entry.conn.recv_consume(n);
                if matches!(event, Event::Readable | Event::Writable | Event::PeerClosed) {
                    continue;
                }
            }
            let cx = &mut Cx::new(now, &mut self.shard);
            self.service.on_event(cx, id, event);
        }
        self.shard.driving = None;
        self.transmit(id, now, tx);
        self.shard.note_idle_buffers(now, id);
        if let Some(gone) = self.shard.table.after_io(id) {
            self.shard.account_closed(&gone);
        }
    }

    /// Writes the connection's segments while TX frames are free. A segment is asked of
    /// the engine only when a frame is free: one taken and then dropped would cost a
    /// retransmission timeout.
    fn transmit(&mut self, id: ConnId, now: Instant, tx: &mut impl Tx) {
        let local_mac = self.shard.cfg.local_mac;
        let Some(entry) = self.shard.table.get_mut(id) else {
            return;
        };
        let tuple = entry.conn.tuple();
        let hdr = FrameHeader {
            src_mac: local_mac,
            dst_mac: MacAddr(entry.peer_mac),
            src_addr: tuple.local_addr,
            dst_addr: tuple.remote_addr,
            ttl: HOP_LIMIT,
            ip_id: 0,
            flow_label: flow_label(&self.shard.isn, &tuple),
        };
        loop {
            if !tx.has_room() {
                if !entry.blocked {
                    entry.blocked = true;
                    self.shard.blocked.push(id);
                }
                return;
            }
            let Some(seg) = entry.conn.poll_transmit(now) else {
                return;
            };
            tx.send(|buf| emit_frame(buf, &hdr, &seg));
        }
    }

    fn count_drop(&mut self, reason: DropReason) {
        self.shard.stats.drops[reason as usize] += 1;
    }
}

/// TTL (IPv4) or hop limit (IPv6) of what we send: Linux's default for both (64).
const HOP_LIMIT: u8 = 64;

/// The headers of a frame from us to `tuple`'s peer at `peer_mac`.
fn frame_header<D>(shard: &Shard<D>, tuple: &FourTuple, peer_mac: MacAddr) -> FrameHeader {
    FrameHeader {
        src_mac: shard.cfg.local_mac,
        dst_mac: peer_mac,
        src_addr: tuple.local_addr,
        dst_addr: tuple.remote_addr,
        ttl: HOP_LIMIT,
        ip_id: 0,
        flow_label: flow_label(&shard.isn, tuple),
    }
}

/// The connection's IPv6 flow label (RFC 6437), one keyed hash per call: IPv4 frames carry
/// none, so they skip the hash.
#[inline]
fn flow_label(isn: &crate::tcp::IsnGenerator, tuple: &FourTuple) -> u32 {
    match tuple.family() {
        Family::V4 => 0,
        Family::V6 => isn.flow_label(tuple),
    }
}
