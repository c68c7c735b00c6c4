//! The pinned worker loop: one per receive queue. It glues one AF_XDP port to one shard of
//! the engine: frames in → parse → connection table → engine → application → frames out,
//! then timers, then one flush (TX ring + wakeup) per batch.
//!
//! The worker owns its port, table and application outright; the only shared state is the
//! stop flag and the statistics snapshot it publishes for the control plane.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::app::App;
use crate::rss::PortChooser;
use crate::stats::{DropReason, WorkerStats};
use crate::table::{ConnId, ConnectionTable, Entry};
use crate::tcp::{
    self, handle_unmatched, Connection, FourTuple, Instant, IsnGenerator, Segment, SynCookies,
    Unmatched,
};
use crate::wire::{emit_frame, parse_frame, FrameHeader, MacAddr};
use crate::xdp::socket::{Transmitter, XskPort};

/// Receive batches handled per loop iteration before timers and transmission.
const RX_BATCHES_PER_LOOP: usize = 4;

/// What one worker serves and how.
#[derive(Clone)]
pub struct WorkerConfig {
    /// Local IPv4 address (host order).
    pub local_addr: u32,
    /// Our Ethernet address.
    pub local_mac: MacAddr,
    /// Served ports.
    pub ports: Vec<u16>,
    /// Engine parameters.
    pub tcp: tcp::Config,
    pub max_connections: usize,
    pub max_time_wait: usize,
    /// Connections holding buffers (all but TIME_WAIT) allowed per worker, from the buffer
    /// memory budget: each holds a receive and a send buffer.
    pub max_buffered_connections: usize,
    /// Half-open (SYN_RCVD) connections kept per worker; beyond, SYN cookies (or drops).
    pub max_half_open: usize,
    /// Answer SYNs with cookies when the half-open bound is reached (RFC 4987).
    pub syn_cookies: bool,
    /// Spin on the rings instead of sleeping in poll(2) when idle (lowest latency, one core
    /// at 100%).
    pub busy_poll: bool,
    /// ISN secret shared by all workers.
    pub isn_key: [u8; 16],
    /// SYN cookie secret shared by all workers.
    pub cookie_key: [u8; 16],
    /// How long a graceful stop waits for connections to finish before resetting them.
    pub drain_timeout: Duration,
    /// For apps that open connections: local ports and the next hop's Ethernet address.
    pub client: Option<ClientSetup>,
}

/// What a worker needs to open connections itself (active open).
#[derive(Clone, Debug)]
pub struct ClientSetup {
    /// Local ports whose replies come back to this worker's queue.
    pub ports: PortChooser,
    /// Ethernet address of the next hop towards the remote (from the kernel's neighbour
    /// table; see `xdp::neighbour`).
    pub next_hop: MacAddr,
}

/// Control-plane requests to the workers (set by the daemon's signal handling).
#[derive(Default)]
pub struct Control {
    /// Stop accepting, let connections finish (up to `drain_timeout`), then exit.
    pub drain: AtomicBool,
    /// Exit now (connections still open are reset).
    pub stop: AtomicBool,
}

/// The engine side of a worker: everything but the port, so a received frame (borrowed from
/// the port's UMEM) can be handled while replies are written through the port's transmitter.
struct Shard<A: App> {
    cfg: WorkerConfig,
    served: Box<[u64; 1024]>,
    isn: IsnGenerator,
    cookies: SynCookies,
    /// When the last cookie was sent: cookie ACKs are only looked for shortly after (as
    /// Linux does), so random ACKs to a listener are not checked against the hash.
    last_cookie: Option<Instant>,
    table: ConnectionTable<A::ConnState>,
    app: A,
    stats: WorkerStats,
    /// False while draining: new SYNs are refused with RST.
    accepting: bool,
    /// Connections that had more to send when the TX frames ran out (and a flag per slot so
    /// each is listed once): driven again after the next flush.
    blocked: Vec<ConnId>,
    blocked_flag: Vec<bool>,
}

/// Runs a worker until told to stop (and, for a drain, until its connections are done);
/// returns its final counters and the application (whose results a client app holds).
pub fn run<A: App>(
    port: XskPort,
    cfg: WorkerConfig,
    app: A,
    control: Arc<Control>,
    publish: impl Fn(&WorkerStats),
) -> (WorkerStats, A) {
    run_since(std::time::Instant::now(), port, cfg, app, control, publish)
}

/// [`run`] with the engine's time measured from `clock` (so several workers and their
/// caller share one time origin).
pub fn run_since<A: App>(
    clock: std::time::Instant,
    mut port: XskPort,
    cfg: WorkerConfig,
    app: A,
    control: Arc<Control>,
    publish: impl Fn(&WorkerStats),
) -> (WorkerStats, A) {
    let mut served = Box::new([0u64; 1024]);
    for &p in &cfg.ports {
        served[p as usize / 64] |= 1 << (p % 64);
    }
    let mut shard = Shard {
        isn: IsnGenerator::new(cfg.isn_key),
        cookies: SynCookies::new(cfg.cookie_key),
        last_cookie: None,
        table: ConnectionTable::new(cfg.max_connections, cfg.max_time_wait),
        served,
        app,
        stats: WorkerStats {
            queue: port.queue,
            ..Default::default()
        },
        accepting: true,
        // A connection is listed at most once waiting and once re-listed during a retry.
        blocked: Vec::with_capacity(2 * cfg.max_connections),
        blocked_flag: vec![false; cfg.max_connections],
        cfg,
    };
    let now = || Instant::from_micros(clock.elapsed().as_micros() as u64);
    let mut idle_spins = 0u32;
    let mut last_publish = now();
    let mut drain_deadline = None;
    loop {
        let t = now();
        if drain_deadline.is_none() && control.drain.load(Ordering::Relaxed) {
            shard.accepting = false;
            drain_deadline = Some(t + shard.cfg.drain_timeout);
        }
        let finished = shard.table.len() == shard.table.time_wait_count();
        if control.stop.load(Ordering::Relaxed)
            || (shard.app.finished() && shard.table.is_empty())
            || drain_deadline.is_some_and(|d| finished || t >= d)
        {
            shard.abort_all(t, &mut port.transmitter());
            port.flush();
            break;
        }
        // Drain up to a few batches before transmitting: our own `sendto` runs the peer's
        // receive path (on veth), whose replies land in our RX ring while we flush.
        let mut received = 0;
        for _ in 0..RX_BATCHES_PER_LOOP {
            let n = port.receive(|frame, tx| shard.on_frame(t, frame, tx));
            received += n;
            if n == 0 {
                break;
            }
        }
        shard.run_timers(t, &mut port.transmitter());
        shard.open_requested(t, &mut port.transmitter());
        port.flush();
        if !shard.blocked.is_empty() {
            shard.retry_blocked(t, &mut port.transmitter());
            port.flush();
        }
        if received > 0 {
            idle_spins = 0;
        } else if !shard.cfg.busy_poll {
            idle_spins += 1;
            // Spin a little before sleeping: a reply often arrives within microseconds.
            if idle_spins > 2000 && !port.has_pending() {
                let wait_ms = shard
                    .table
                    .next_deadline()
                    .map(|d| (d.micros().saturating_sub(now().micros()) / 1000) as i32)
                    .unwrap_or(100)
                    .clamp(0, 100);
                port.wait(wait_ms.max(1));
            }
        }
        if t.saturating_since(last_publish) >= Duration::from_millis(200) {
            last_publish = t;
            shard.sync_port(&mut port);
            publish(&shard.stats);
        }
    }
    shard.sync_port(&mut port);
    (shard.stats, shard.app)
}

impl<A: App> Shard<A> {
    /// Copies the port's counters into the published statistics (TX frames dropped for a
    /// full ring are counted once, by the port, under `tx_ring_full`).
    fn sync_port(&mut self, port: &mut XskPort) {
        port.read_kernel_stats();
        self.stats.port = port.counters;
        self.stats.drops[DropReason::TxRingFull as usize] = port.counters.tx_dropped;
        self.stats.active = self.table.len() as u64;
    }

    #[inline]
    fn drop_frame(&mut self, reason: DropReason) {
        self.stats.drops[reason as usize] += 1;
    }

    /// True when a new connection fits: a table slot, and buffer memory within the budget
    /// (TIME_WAIT connections have given their buffers back and do not count).
    fn has_room(&self) -> bool {
        let buffered = self.table.len() - self.table.time_wait_count();
        self.table.available() > 0 && buffered < self.cfg.max_buffered_connections
    }

    #[inline]
    fn is_served(&self, addr: u32, port: u16) -> bool {
        addr == self.cfg.local_addr && self.served[port as usize / 64] & (1 << (port % 64)) != 0
    }

    fn on_frame(&mut self, now: Instant, frame: &[u8], tx: &mut Transmitter<'_>) {
        let parsed = match parse_frame(frame) {
            Ok(p) => p,
            Err(reason) => return self.drop_frame(reason),
        };
        let seg = &parsed.segment;
        let tuple = FourTuple {
            local_addr: parsed.dst_addr,
            local_port: seg.dst_port,
            remote_addr: parsed.src_addr,
            remote_port: seg.src_port,
        };
        if let Some(id) = self.table.lookup(&tuple) {
            let entry = self.table.get_mut(id).expect("indexed connection exists");
            // RFC 9293 3.10.7.4 (TIME-WAIT) / Linux: a new SYN may reuse a TIME_WAIT tuple.
            if seg.flags.syn() && !seg.flags.ack() && entry.conn.time_wait_accepts_syn(seg) {
                if let Some(gone) = self.table.remove(id) {
                    self.account_closed(&gone);
                }
            } else {
                if let Err(reason) = entry.conn.handle_segment(now, seg) {
                    self.drop_frame(reason);
                }
                return self.drive(id, now, tx);
            }
        }
        let listening = self.accepting && self.is_served(tuple.local_addr, tuple.local_port);
        match handle_unmatched(seg, listening) {
            Unmatched::Accept => self.on_syn(now, &tuple, seg, parsed.src_mac, tx),
            Unmatched::Reset(rst) => {
                if listening && self.accept_cookie(now, &tuple, seg, parsed.src_mac, tx) {
                    return;
                }
                let hdr = self.header(&tuple, parsed.src_mac);
                if tx.send(|buf| emit_frame(buf, &hdr, &rst)) {
                    self.stats.rsts_sent += 1;
                }
            }
            Unmatched::Drop(reason) => self.drop_frame(reason),
        }
    }

    /// A SYN for a listening port (RFC 9293 3.10.7.2). A full table refuses it with RST; a
    /// full half-open queue answers with a SYN cookie and keeps no state (RFC 4987).
    fn on_syn(
        &mut self,
        now: Instant,
        tuple: &FourTuple,
        seg: &Segment,
        peer: MacAddr,
        tx: &mut Transmitter<'_>,
    ) {
        let hdr = self.header(tuple, peer);
        if !self.has_room() {
            self.drop_frame(DropReason::TableFull);
            let rst = tcp::unmatched::reset_for(seg);
            if tx.send(|buf| emit_frame(buf, &hdr, &rst)) {
                self.stats.rsts_sent += 1;
            }
            return;
        }
        if self.table.half_open_count() >= self.cfg.max_half_open {
            if !self.cfg.syn_cookies {
                return self.drop_frame(DropReason::SynQueueFull);
            }
            let syn_ack = self.cookies.syn_ack(now, &self.cfg.tcp, tuple, seg);
            if tx.send(|buf| emit_frame(buf, &hdr, &syn_ack)) {
                self.stats.syn_cookies_sent += 1;
            }
            self.last_cookie = Some(now);
            return;
        }
        let iss = self.isn.isn(now, tuple);
        let conn = Connection::accept(now, &self.cfg.tcp, *tuple, seg, iss);
        match self.table.insert(conn, A::ConnState::default(), peer.0) {
            Ok(id) => {
                self.stats.conns_opened += 1;
                self.drive(id, now, tx);
            }
            Err(_) => self.drop_frame(DropReason::TableFull),
        }
    }

    /// An ACK that matched no connection on a listening port may complete a cookie
    /// handshake. Returns true when it did (the connection now exists).
    fn accept_cookie(
        &mut self,
        now: Instant,
        tuple: &FourTuple,
        seg: &Segment,
        peer: MacAddr,
        tx: &mut Transmitter<'_>,
    ) -> bool {
        // Cookies are valid for two 64 s periods; only look for them after sending some.
        let recent = self
            .last_cookie
            .is_some_and(|t| now.saturating_since(t) < Duration::from_secs(128));
        if !recent || !seg.flags.ack() || seg.flags.syn() || seg.flags.rst() {
            return false;
        }
        let Some(conn) = self.cookies.accept_ack(now, &self.cfg.tcp, tuple, seg) else {
            self.drop_frame(DropReason::BadCookie);
            return false;
        };
        if !self.has_room() {
            self.drop_frame(DropReason::TableFull);
            return true; // keep quiet: the peer retransmits and we may have room then
        }
        match self.table.insert(conn, A::ConnState::default(), peer.0) {
            Ok(id) => {
                self.stats.conns_opened += 1;
                self.drive(id, now, tx);
                true
            }
            Err(_) => {
                self.drop_frame(DropReason::TableFull);
                true // keep quiet: the peer retransmits and we may have room then
            }
        }
    }

    fn header(&self, tuple: &FourTuple, peer_mac: MacAddr) -> FrameHeader {
        FrameHeader {
            src_mac: self.cfg.local_mac,
            dst_mac: peer_mac,
            src_addr: tuple.local_addr,
            dst_addr: tuple.remote_addr,
            ttl: 64,
            ip_id: 0,
        }
    }

    /// Runs a connection after an input: application events, then everything it has to send,
    /// then table book-keeping (timer re-arm, removal when closed).
    fn drive(&mut self, id: ConnId, now: Instant, tx: &mut Transmitter<'_>) {
        let Some(entry) = self.table.get_mut(id) else {
            return;
        };
        let Entry {
            conn,
            app: state,
            peer_mac,
            ..
        } = entry;
        while let Some(event) = conn.poll_event() {
            match event {
                tcp::Event::Reset => self.stats.conns_reset += 1,
                tcp::Event::TimedOut => self.stats.conns_timed_out += 1,
                _ => {}
            }
            self.app.on_event(now, conn, state, event);
        }
        let tuple = conn.tuple();
        let hdr = FrameHeader {
            src_mac: self.cfg.local_mac,
            dst_mac: MacAddr(*peer_mac),
            src_addr: tuple.local_addr,
            dst_addr: tuple.remote_addr,
            ttl: 64,
            ip_id: 0,
        };
        // Ask the engine for a segment only when a TX frame is free: a segment taken from
        // it and then dropped would cost a retransmission timeout.
        let mut blocked = false;
        loop {
            if !tx.has_room() {
                blocked = true;
                break;
            }
            let Some(seg) = conn.poll_transmit(now) else {
                break;
            };
            tx.send(|buf| emit_frame(buf, &hdr, &seg));
        }
        if blocked && !self.blocked_flag[id as usize] {
            self.blocked_flag[id as usize] = true;
            self.blocked.push(id);
        }
        if let Some(gone) = self.table.after_io(id) {
            self.account_closed(&gone);
        }
    }

    fn account_closed(&mut self, gone: &Entry<A::ConnState>) {
        let s = gone.conn.stats();
        self.stats.conns_closed += 1;
        self.stats.retransmissions += s.retransmissions;
        self.stats.fast_retransmits += s.fast_retransmits;
        self.stats.out_of_order += s.out_of_order_segments;
    }

    /// Opens the connections the application asks for (client apps; RFC 9293 3.10.1 OPEN
    /// call, active): a local port whose replies land on this queue, an ISS, a SYN.
    fn open_requested(&mut self, now: Instant, tx: &mut Transmitter<'_>) {
        while let Some((remote_addr, remote_port)) = self.app.poll_open(now) {
            let room = self.has_room();
            let Some(client) = self.cfg.client.as_mut() else {
                self.app.on_open_failed(now);
                return;
            };
            let local_addr = self.cfg.local_addr;
            let table = &self.table;
            let port = client
                .ports
                .choose(local_addr, remote_addr, remote_port, |t| {
                    table.lookup(t).is_some()
                });
            let (Some(local_port), true) = (port, room) else {
                self.app.on_open_failed(now);
                return;
            };
            let tuple = FourTuple {
                local_addr,
                local_port,
                remote_addr,
                remote_port,
            };
            let iss = self.isn.isn(now, &tuple);
            let conn = Connection::connect(now, &self.cfg.tcp, tuple, iss);
            let mac = client.next_hop.0;
            match self.table.insert(conn, A::ConnState::default(), mac) {
                Ok(id) => {
                    self.stats.conns_opened += 1;
                    if let Some(entry) = self.table.get_mut(id) {
                        self.app.on_open(now, &mut entry.app);
                    }
                    self.drive(id, now, tx);
                }
                Err(_) => self.app.on_open_failed(now),
            }
        }
    }

    /// Drives again the connections that ran out of TX frames, oldest first, while frames
    /// are free. Works in place: `drive` appends a connection that runs out again behind
    /// the ones still waiting.
    fn retry_blocked(&mut self, now: Instant, tx: &mut Transmitter<'_>) {
        let waiting = self.blocked.len();
        let mut done = 0;
        while done < waiting && tx.has_room() {
            let id = self.blocked[done];
            self.blocked_flag[id as usize] = false;
            self.drive(id, now, tx);
            done += 1;
        }
        self.blocked.drain(..done);
    }

    /// Resets every connection still open (not TIME_WAIT) when the worker must exit.
    fn abort_all(&mut self, now: Instant, tx: &mut Transmitter<'_>) {
        let ids: Vec<ConnId> = self.table.ids().collect();
        for id in ids {
            if let Some(entry) = self.table.get_mut(id) {
                if entry.conn.state() != tcp::State::TimeWait {
                    entry.conn.abort();
                    self.drive(id, now, tx);
                }
            }
        }
    }

    fn run_timers(&mut self, now: Instant, tx: &mut Transmitter<'_>) {
        while let Some(id) = self.table.pop_expired(now) {
            if let Some(entry) = self.table.get_mut(id) {
                if entry.conn.poll_timeout().is_some_and(|d| d <= now) {
                    entry.conn.handle_timeout(now);
                }
            }
            self.drive(id, now, tx);
        }
    }
}
