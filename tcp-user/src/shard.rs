//! One worker's shard of the stack below the service: the connection table, the secrets and
//! limits of new connections, active-open policy, the work list of connections to drive,
//! service timers and the worker's counters.
//!
//! The [`Endpoint`](crate::endpoint::Endpoint) owns a shard and its service; the service
//! reaches the shard only through [`Cx`](crate::service::Cx). Nothing here knows about the
//! service trait, frames or rings.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use crate::rss::PortChooser;
use crate::stats::{DropReason, WorkerStats};
use crate::table::{ConnId, ConnectionTable, Entry, InsertError};
use crate::tcp::buffer_pool::{self, Pressure};
use crate::tcp::{self, Addr, Connection, FourTuple, Instant, IsnGenerator, SeqNum, SynCookies};
use crate::wire::MacAddr;

/// What one endpoint serves and how; one per worker.
#[derive(Clone, Debug)]
pub struct EndpointConfig {
    /// Local addresses, of either family or both: every listening port is served on each
    /// of them, and an outbound connection leaves from the first of the remote's family.
    /// Frames to any other address are not ours (`DropReason::NotServed`).
    pub local_addrs: Vec<Addr>,
    /// Our Ethernet address.
    pub local_mac: MacAddr,
    /// Ports with a listener: a SYN to one of them opens a connection. Other ports reaching
    /// the endpoint (those of outbound connections) answer as CLOSED ports do.
    pub listen_ports: Vec<u16>,
    /// Engine parameters of every connection.
    pub tcp: tcp::Config,
    /// Connections at once (any state).
    pub max_connections: usize,
    /// Connections in TIME_WAIT at once; beyond, the oldest is forgotten to make room.
    pub max_time_wait: usize,
    /// Memory budget of the endpoint's thread in bytes: connection control blocks and data
    /// buffers together (`tcp::buffer_pool`). At three quarters of it memory pressure
    /// starts (windows shrink, buffers stop growing); at all of it new connections are
    /// refused and data needing more memory is dropped. `usize::MAX`: no budget.
    pub max_memory: usize,
    /// Half-open (SYN_RCVD) connections kept; beyond, SYN cookies (or drops).
    pub max_half_open: usize,
    /// Answer SYNs with cookies when the half-open bound is reached (RFC 4987).
    pub syn_cookies: bool,
    /// ISN secret (RFC 6528), the same for every worker.
    pub isn_key: [u8; 16],
    /// SYN cookie secret, the same for every worker.
    pub cookie_key: [u8; 16],
    /// For services that open connections: local ports and next hops.
    pub client: Option<ClientSetup>,
}

impl EndpointConfig {
    /// A configuration for `local_addr` (an IPv4 address in host order, or any [`Addr`])
    /// listening on `listen_ports`, with the daemon's default limits and fixed secrets
    /// (tests; the runtime draws random ones).
    pub fn new(
        local_addr: impl Into<Addr>,
        local_mac: MacAddr,
        listen_ports: &[u16],
    ) -> EndpointConfig {
        Self::with_addrs(&[local_addr.into()], local_mac, listen_ports)
    }

    /// As [`EndpointConfig::new`], serving `listen_ports` on each of `local_addrs`.
    pub fn with_addrs(
        local_addrs: &[Addr],
        local_mac: MacAddr,
        listen_ports: &[u16],
    ) -> EndpointConfig {
        EndpointConfig {
            local_addrs: local_addrs.to_vec(),
            local_mac,
            listen_ports: listen_ports.to_vec(),
            tcp: tcp::Config::default(),
            max_connections: 16384,
            max_time_wait: 8192,
            max_memory: usize::MAX,
            max_half_open: 1024,
            syn_cookies: true,
            isn_key: [7; 16],
            cookie_key: [9; 16],
            client: None,
        }
    }
}

/// What an endpoint needs to open connections itself (active open).
#[derive(Clone, Debug)]
pub struct ClientSetup {
    /// Local ports whose replies come back to this worker's queue.
    pub ports: PortChooser,
    /// Ethernet address of the next hop towards each remote address known at start (from
    /// the kernel's neighbour table; see `xdp::neighbour`).
    pub next_hops: Vec<(Addr, MacAddr)>,
    /// Next hop for other addresses (the gateway), if any.
    pub default_next_hop: Option<MacAddr>,
}

impl EndpointConfig {
    /// True when `addr` is one of ours.
    #[inline]
    pub fn serves(&self, addr: Addr) -> bool {
        self.local_addrs.contains(&addr)
    }

    /// The address an outbound connection to `remote` leaves from: our first of its family.
    pub fn local_addr_for(&self, remote: Addr) -> Option<Addr> {
        let family = remote.family();
        self.local_addrs
            .iter()
            .copied()
            .find(|a| a.family() == family)
    }
}

impl ClientSetup {
    /// The next hop towards `addr`.
    pub fn next_hop(&self, addr: Addr) -> Option<MacAddr> {
        self.next_hops
            .iter()
            .find(|(a, _)| *a == addr)
            .map(|(_, m)| *m)
            .or(self.default_next_hop)
    }
}

/// The shard: everything of one endpoint but its service.
pub struct Shard<D> {
    pub(crate) cfg: EndpointConfig,
    /// `cfg.tcp`, shared by every connection (each holds a reference, not a copy).
    pub(crate) tcp: Arc<tcp::Config>,
    /// Listening ports as a bitmap (one bit per port).
    listening: Box<[u64; 1024]>,
    pub(crate) table: ConnectionTable<D>,
    pub(crate) isn: IsnGenerator,
    pub(crate) cookies: SynCookies,
    /// When the last cookie was sent: cookie ACKs are only looked for shortly after (as
    /// Linux does), so random ACKs to a listener are not checked against the hash.
    pub(crate) last_cookie: Option<Instant>,
    pub(crate) stats: WorkerStats,
    /// False while draining: new SYNs are refused with RST.
    pub(crate) accepting: bool,
    /// Connections to drive (deliver events, transmit, book-keep) before the batch ends.
    pub(crate) work: Vec<ConnId>,
    /// The connection being driven now: touching it needs no new work item.
    pub(crate) driving: Option<ConnId>,
    /// Connections that had more to send when the TX frames ran out: driven again after
    /// the next flush, oldest first.
    pub(crate) blocked: Vec<ConnId>,
    /// Service timers: (deadline, arming number, token), with lazy deletion: an entry counts
    /// only while `service_deadlines` holds the same arming for its token.
    pub(crate) service_timers: BinaryHeap<Reverse<(Instant, u64, u64)>>,
    /// The armed (deadline, arming number) of each service timer token.
    pub(crate) service_deadlines: HashMap<u64, (Instant, u64)>,
    /// Arming numbers, increasing: a turn fires only timers armed before it began.
    pub(crate) timer_seq: u64,
    /// Connections whose buffers went idle, with when their memory goes back (in order:
    /// every entry is `buffer_linger` after the time it was listed).
    pub(crate) idle_buffers: VecDeque<(Instant, ConnId)>,
}

impl<D> Shard<D> {
    /// A shard with an empty table.
    pub fn new(cfg: EndpointConfig) -> Shard<D> {
        let mut listening = Box::new([0u64; 1024]);
        for &p in &cfg.listen_ports {
            listening[p as usize / 64] |= 1 << (p % 64);
        }
        buffer_pool::set_limits(cfg.max_memory / 4 * 3, cfg.max_memory);
        Shard {
            listening,
            tcp: Arc::new(cfg.tcp),
            table: ConnectionTable::new(cfg.max_connections, cfg.max_time_wait),
            isn: IsnGenerator::new(cfg.isn_key),
            cookies: SynCookies::new(cfg.cookie_key),
            last_cookie: None,
            stats: WorkerStats::default(),
            accepting: true,
            work: Vec::with_capacity(64),
            driving: None,
            blocked: Vec::new(),
            service_timers: BinaryHeap::new(),
            service_deadlines: HashMap::new(),
            timer_seq: 0,
            idle_buffers: VecDeque::new(),
            cfg,
        }
    }

    /// True when `addr:port` has a listener (and we are not draining).
    #[inline]
    pub(crate) fn is_listening(&self, addr: Addr, port: u16) -> bool {
        self.accepting
            && self.listening[port as usize / 64] & (1 << (port % 64)) != 0
            && self.cfg.serves(addr)
    }

    /// Whether a new connection fits: a table slot, and memory below the budget's hard
    /// limit; otherwise the reason it does not (counted when refused).
    pub(crate) fn room(&self) -> Result<(), DropReason> {
        if self.table.available() == 0 {
            Err(DropReason::TableFull)
        } else if buffer_pool::pressure() == Pressure::Hard {
            Err(DropReason::MemoryFull)
        } else {
            Ok(())
        }
    }

    /// True when a SYN would now be accepted as a full (not cookie) connection once a
    /// TIME_WAIT slot it reuses is freed: memory below the hard limit and room in the
    /// half-open bound.
    pub(crate) fn can_accept_without_cookie(&self) -> bool {
        buffer_pool::pressure() != Pressure::Hard
            && self.table.half_open_count() < self.cfg.max_half_open
    }

    /// Lists `id` for driving unless it is listed or being driven.
    #[inline]
    pub(crate) fn mark(&mut self, id: ConnId) {
        if self.driving == Some(id) {
            return;
        }
        if let Some(entry) = self.table.get_mut(id) {
            if !entry.queued {
                entry.queued = true;
                self.work.push(id);
            }
        }
    }

    /// Inserts a connection the endpoint created and lists it for driving.
    pub(crate) fn insert(
        &mut self,
        conn: Connection,
        data: D,
        peer_mac: MacAddr,
    ) -> Result<ConnId, InsertError> {
        let id = self.table.insert(conn, data, peer_mac.0)?;
        self.stats.conns_opened += 1;
        self.mark(id);
        Ok(id)
    }

    /// Active open (RFC 9293 section 3.10.4, OPEN call, active): a local port whose replies
    /// land on this worker's queue, an RFC 6528 ISS, and a SYN queued.
    pub(crate) fn connect(
        &mut self,
        now: Instant,
        remote_addr: Addr,
        remote_port: u16,
        data: D,
    ) -> Result<ConnId, OpenError> {
        if self.room().is_err() {
            return Err(OpenError::NoRoom);
        }
        // No address of the remote's family: no route to it.
        let local_addr = self
            .cfg
            .local_addr_for(remote_addr)
            .ok_or(OpenError::NoRoute)?;
        let Some(client) = self.cfg.client.as_mut() else {
            return Err(OpenError::NotConfigured);
        };
        let next_hop = client.next_hop(remote_addr).ok_or(OpenError::NoRoute)?;
        let table = &self.table;
        // A tuple is free if no connection holds it, or if the one holding it is in
        // TIME_WAIT and may be reused for an outbound connection (`tcp_tw_reuse`).
        let held = |t: &FourTuple| {
            table.lookup(t).is_some_and(|id| {
                table
                    .get(id)
                    .is_some_and(|e| !e.conn.time_wait_reusable_by_connect(now))
            })
        };
        let local_port = client
            .ports
            .choose(local_addr, remote_addr, remote_port, held)
            .ok_or(OpenError::NoLocalPort)?;
        let tuple = FourTuple {
            local_addr,
            local_port,
            remote_addr,
            remote_port,
        };
        let mut floor = None;
        if let Some(id) = self.table.lookup(&tuple) {
            if let Some(gone) = self.table.remove(id) {
                floor = Some(gone.conn.time_wait_isn_floor());
                self.account_closed(&gone);
                self.stats.time_wait_reused += 1;
            }
        }
        let iss = self.iss_for(now, &tuple, floor);
        let conn = Connection::connect(now, &self.tcp, tuple, iss);
        self.insert(conn, data, next_hop)
            .map_err(|_| OpenError::NoRoom)
    }

    /// The ISS of a connection on `tuple`: RFC 6528's, raised above `floor` when the tuple
    /// comes out of TIME_WAIT (RFC 9293 section 3.4.1 / RFC 6191: a new incarnation must
    /// start above every sequence number the old one used, so none of its old duplicates
    /// can be taken for new data).
    pub(crate) fn iss_for(&self, now: Instant, tuple: &FourTuple, floor: Option<SeqNum>) -> SeqNum {
        let iss = self.isn.isn(now, tuple);
        match floor {
            Some(floor) if iss <= floor => floor,
            _ => iss,
        }
    }

    /// Accounts for a connection the table freed.
    pub(crate) fn account_closed(&mut self, gone: &Entry<D>) {
        let s = gone.conn.stats();
        self.stats.conns_closed += 1;
        self.stats.retransmissions += s.retransmissions;
        self.stats.fast_retransmits += s.fast_retransmits;
        self.stats.out_of_order += s.out_of_order_segments;
    }

    /// Arms service timer `token` at `at`, replacing its earlier deadline.
    pub(crate) fn set_service_timer(&mut self, token: u64, at: Instant) {
        self.timer_seq += 1;
        let seq = self.timer_seq;
        self.service_deadlines.insert(token, (at, seq));
        self.service_timers.push(Reverse((at, seq, token)));
        if self.service_timers.len() > 2 * self.service_deadlines.len() + 64 {
            // Re-armed tokens left stale entries behind: keep only the live ones.
            self.service_timers = self
                .service_deadlines
                .iter()
                .map(|(&token, &(at, seq))| Reverse((at, seq, token)))
                .collect();
        }
    }

    /// Disarms service timer `token`.
    pub(crate) fn cancel_service_timer(&mut self, token: u64) {
        self.service_deadlines.remove(&token);
    }

    /// Pops a service timer due at `now` and armed before arming number `before` (skipping
    /// entries of re-armed or cancelled tokens): one re-armed during this turn waits for the
    /// next, so a service re-arming at `now` from `on_timer` cannot spin the worker.
    pub(crate) fn pop_service_timer(&mut self, now: Instant, before: u64) -> Option<u64> {
        while let Some(&Reverse((at, seq, token))) = self.service_timers.peek() {
            if at > now || seq > before {
                return None;
            }
            self.service_timers.pop();
            if self.service_deadlines.get(&token) == Some(&(at, seq)) {
                self.service_deadlines.remove(&token);
                return Some(token);
            }
        }
        None
    }

    /// The earliest deadline of connections, service timers and idle buffers.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let svc = self.service_timers.peek().map(|r| r.0 .0);
        let idle = self.idle_buffers.front().map(|(t, _)| *t);
        [self.table.next_deadline(), svc, idle]
            .into_iter()
            .flatten()
            .min()
    }

    /// Lists a connection whose buffers hold memory and nothing else, so it goes back to
    /// the pool after `buffer_linger` unless data comes first; under memory pressure it goes
    /// back at once, and a receive ring far larger than what it holds shrinks.
    pub(crate) fn note_idle_buffers(&mut self, now: Instant, id: ConnId) {
        let linger = self.cfg.tcp.buffer_linger;
        let Some(entry) = self.table.get_mut(id) else {
            return;
        };
        if buffer_pool::pressure() != Pressure::Normal {
            if !entry.conn.release_idle_buffers() {
                entry.conn.shrink_buffers();
            }
            return;
        }
        if !entry.release_listed && entry.conn.holds_idle_buffers() {
            entry.release_listed = true;
            self.idle_buffers.push_back((now + linger, id));
        }
    }

    /// Gives back the memory of buffers idle since their linger passed.
    pub(crate) fn release_idle_buffers(&mut self, now: Instant) {
        while let Some(&(at, id)) = self.idle_buffers.front() {
            if at > now {
                return;
            }
            self.idle_buffers.pop_front();
            if let Some(entry) = self.table.get_mut(id) {
                entry.release_listed = false;
                // Busy again: it is listed anew when it next goes idle.
                entry.conn.release_idle_buffers();
            }
        }
    }

    /// How long cookie ACKs are looked for after the last cookie was sent: cookies are
    /// valid for two 64 s periods.
    pub(crate) fn cookies_recent(&self, now: Instant) -> bool {
        self.last_cookie
            .is_some_and(|t| now.saturating_since(t) < Duration::from_secs(128))
    }
}

/// Why [`Cx::connect`](crate::service::Cx::connect) could not start a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// The runtime was not given local ports for outbound connections.
    NotConfigured,
    /// No next hop is known for the remote address (the runtime resolves the remotes it is
    /// told about at start), or the endpoint has no address of the remote's family.
    NoRoute,
    /// Every local port is in use towards this remote.
    NoLocalPort,
    /// The connection limit or the memory budget is reached.
    NoRoom,
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OpenError::NotConfigured => "no local ports configured for outbound connections",
            OpenError::NoRoute => "no next hop known for the remote address",
            OpenError::NoLocalPort => "no free local port",
            OpenError::NoRoom => "connection limit or memory budget reached",
        })
    }
}

impl std::error::Error for OpenError {}
