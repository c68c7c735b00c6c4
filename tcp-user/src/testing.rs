//! An in-memory network for testing services without root, namespaces or the eBPF
//! toolchain: endpoints joined by a simulated link with a fake clock and optional loss,
//! after quinn-proto's test `Pair`.
//!
//! Hosts are [`Endpoint`]s with any service; frames go from one to another by destination
//! address, IPv4 or IPv6 (a host may hold both), through the same parser and engine as on
//! a real interface. A
//! [`Peer`] host is a scripted client (or backend server) the test drives directly.
//!
//! ```
//! use std::net::SocketAddrV4;
//! use tcp_user::app::echo::Echo;
//! use tcp_user::testing::{TestNet, SERVER_ADDR};
//!
//! let mut net = TestNet::new();
//! net.add_server(SERVER_ADDR, &[7], Echo);
//! let client = net.add_peer();
//! let c = net.connect(client, SocketAddrV4::new(SERVER_ADDR, 7));
//! net.send(client, c, b"hello");
//! net.run();
//! assert_eq!(net.take_received(client, c), b"hello");
//! ```

use std::any::Any;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::endpoint::{ClientSetup, Endpoint, EndpointConfig, VecTx};
use crate::rss::PortChooser;
use crate::service::{ConnId, Cx, Event, Service, State};
use crate::tcp::{Addr, Instant};
use crate::wire::MacAddr;

/// The address [`TestNet::add_server`] is usually given.
pub const SERVER_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

/// Most frames delivered by one [`TestNet::run`] before it gives up (a livelock).
const MAX_DELIVERIES: usize = 10_000_000;

/// A host of the network, by index.
pub type HostId = usize;

/// What the network needs of a host: an endpoint with any service.
trait Host {
    fn serves(&self, addr: Addr) -> bool;
    fn handle(&mut self, now: Instant, frame: &[u8], tx: &mut VecTx);
    fn handle_timeout(&mut self, now: Instant, tx: &mut VecTx);
    fn poll_timeout(&self) -> Option<Instant>;
    fn as_any(&mut self) -> &mut dyn Any;
}

impl<S: Service + 'static> Host for Endpoint<S> {
    fn serves(&self, addr: Addr) -> bool {
        self.config().serves(addr)
    }
    fn handle(&mut self, now: Instant, frame: &[u8], tx: &mut VecTx) {
        Endpoint::handle(self, now, frame, tx);
    }
    fn handle_timeout(&mut self, now: Instant, tx: &mut VecTx) {
        Endpoint::handle_timeout(self, now, tx);
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Endpoint::poll_timeout(self)
    }
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

/// Endpoints on a simulated link with one fake clock.
pub struct TestNet {
    now: Instant,
    hosts: Vec<Box<dyn Host>>,
    in_flight: VecDeque<Vec<u8>>,
    loss: Option<(f64, u64)>,
    /// Frames delivered to a host.
    pub delivered: u64,
    /// Frames lost on the link (by [`TestNet::set_loss`]).
    pub lost: u64,
    /// Frames addressed to no host.
    pub unroutable: u64,
}

impl Default for TestNet {
    fn default() -> Self {
        TestNet::new()
    }
}

impl TestNet {
    /// An empty network at time 1 s.
    pub fn new() -> TestNet {
        TestNet {
            now: Instant::from_millis(1000),
            hosts: Vec::new(),
            in_flight: VecDeque::new(),
            loss: None,
            delivered: 0,
            lost: 0,
            unroutable: 0,
        }
    }

    /// The fake clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Loses each frame with `probability` (0.0..1.0), from a deterministic generator seeded
    /// with `seed`.
    pub fn set_loss(&mut self, probability: f64, seed: u64) {
        self.loss = (probability > 0.0).then_some((probability, seed | 1));
    }

    /// The configuration a host at `addr` gets: the daemon's defaults, small buffers'
    /// worth of nothing special, and local ports for outbound connections.
    /// `addr` is of either family; push to `local_addrs` for a host of both.
    pub fn config(&self, addr: impl Into<IpAddr>, listen_ports: &[u16]) -> EndpointConfig {
        let n = self.hosts.len() as u8 + 1;
        let mut cfg = EndpointConfig::new(
            Addr::from(addr.into()),
            MacAddr([2, 0, 0, 0, 0, n]),
            listen_ports,
        );
        cfg.client = Some(ClientSetup {
            ports: PortChooser::fallback(40000, 60999),
            next_hops: Vec::new(),
            // The link routes by IP address; any unicast next hop will do.
            default_next_hop: Some(MacAddr([2, 0, 0, 0, 0, 0xfe])),
        });
        cfg
    }

    /// Adds a host with its own configuration.
    pub fn add<S: Service + 'static>(&mut self, cfg: EndpointConfig, service: S) -> HostId {
        self.hosts.push(Box::new(Endpoint::new(cfg, service)));
        self.hosts.len() - 1
    }

    /// Adds a host at `addr` serving `service` on `listen_ports`.
    pub fn add_server<S: Service + 'static>(
        &mut self,
        addr: impl Into<IpAddr>,
        listen_ports: &[u16],
        service: S,
    ) -> HostId {
        let cfg = self.config(addr, listen_ports);
        self.add(cfg, service)
    }

    /// Adds a scripted [`Peer`] at the next free address 10.0.0.2, .3, ..., listening on
    /// nothing.
    pub fn add_peer(&mut self) -> HostId {
        self.add_peer_at(self.free_addr(), &[])
    }

    /// Adds a scripted [`Peer`] at `addr` listening on `listen_ports` (a backend server).
    pub fn add_peer_at(&mut self, addr: impl Into<IpAddr>, listen_ports: &[u16]) -> HostId {
        self.add_server(addr, listen_ports, Peer::default())
    }

    fn free_addr(&self) -> Ipv4Addr {
        (2..=254u8)
            .map(|n| Ipv4Addr::new(10, 0, 0, n))
            .find(|&a| self.hosts.iter().all(|h| !h.serves(a.into())))
            .expect("fewer than 253 hosts")
    }

    /// The endpoint of `host`, if its service is an `S`.
    pub fn endpoint<S: Service + 'static>(&mut self, host: HostId) -> &mut Endpoint<S> {
        self.hosts[host]
            .as_any()
            .downcast_mut::<Endpoint<S>>()
            .expect("the host runs another service type")
    }

    /// Runs `f` with the service of `host` and a context (to open connections, reach them,
    /// arm timers), then sends what it produced.
    pub fn with<S: Service + 'static, R>(
        &mut self,
        host: HostId,
        f: impl FnOnce(&mut S, &mut Cx<'_, S::Data>) -> R,
    ) -> R {
        let now = self.now;
        let mut tx = VecTx::default();
        let r = self.endpoint::<S>(host).with_service(now, &mut tx, f);
        self.in_flight.extend(tx.take());
        r
    }

    /// Opens a connection from peer `host` to `remote` (the SYN is in flight on return).
    pub fn connect(&mut self, host: HostId, remote: impl Into<SocketAddr>) -> ConnId {
        let remote = remote.into();
        self.with::<Peer, _>(host, |_, cx| {
            let data = PeerConn {
                opened: true,
                ..PeerConn::default()
            };
            cx.connect(remote, data)
                .expect("the peer can open a connection")
        })
    }

    /// Queues `data` on the peer's connection; it is written as the send buffer allows.
    pub fn send(&mut self, host: HostId, id: ConnId, data: &[u8]) {
        self.with::<Peer, _>(host, |_, cx| {
            if let Some(mut conn) = cx.conn(id) {
                conn.data_mut().to_send.extend_from_slice(data);
                Peer::push(&mut conn);
            }
        });
    }

    /// Half-closes the peer's connection once what was queued is written.
    pub fn shutdown(&mut self, host: HostId, id: ConnId) {
        self.with::<Peer, _>(host, |_, cx| {
            if let Some(mut conn) = cx.conn(id) {
                conn.data_mut().shutdown = true;
                Peer::push(&mut conn);
            }
        });
    }

    /// Aborts the peer's connection (RST).
    pub fn abort(&mut self, host: HostId, id: ConnId) {
        self.with::<Peer, _>(host, |_, cx| {
            if let Some(mut conn) = cx.conn(id) {
                conn.abort();
            }
        });
    }

    /// Stops (or resumes) reading on the peer's connection: what arrives stays unread and
    /// the peer's window closes.
    pub fn pause_reading(&mut self, host: HostId, id: ConnId, paused: bool) {
        self.with::<Peer, _>(host, |peer, cx| {
            if let Some(mut conn) = cx.conn(id) {
                conn.data_mut().paused = paused;
                if !paused {
                    let data = Peer::read(&mut conn);
                    peer.log_mut(id).received.extend_from_slice(&data);
                }
            }
        });
    }

    /// Takes what the peer's connection received so far (also after it closed).
    pub fn take_received(&mut self, host: HostId, id: ConnId) -> Vec<u8> {
        let peer = self.endpoint::<Peer>(host).service_mut();
        std::mem::take(&mut peer.log_mut(id).received)
    }

    /// The events the peer's connection reported, in order.
    pub fn events(&mut self, host: HostId, id: ConnId) -> Vec<Event> {
        self.endpoint::<Peer>(host)
            .service_mut()
            .log_mut(id)
            .events
            .clone()
    }

    /// The TCP state of a connection of `host` (`None` once freed).
    pub fn state<S: Service + 'static>(&mut self, host: HostId, id: ConnId) -> Option<State> {
        self.endpoint::<S>(host)
            .connection_states()
            .into_iter()
            .find(|(c, _)| *c == id)
            .map(|(_, s)| s)
    }

    /// Connections a peer accepted (a backend's view), in order.
    pub fn accepted(&mut self, host: HostId) -> Vec<ConnId> {
        self.endpoint::<Peer>(host).service().accepted.clone()
    }

    /// Delivers frames until none is in flight, running every host's due work in between.
    /// Time does not move.
    pub fn run(&mut self) {
        let mut deliveries = 0usize;
        loop {
            self.tick();
            let Some(frame) = self.in_flight.pop_front() else {
                return;
            };
            deliveries += 1;
            assert!(deliveries < MAX_DELIVERIES, "the network does not settle");
            self.deliver(frame);
        }
    }

    /// Moves the clock forward by `d`, stopping at every deadline of every host on the way
    /// (retransmissions, delayed ACKs, service timers) and delivering what they send.
    pub fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        self.run();
        for _ in 0..MAX_DELIVERIES {
            let next = self.hosts.iter().filter_map(|h| h.poll_timeout()).min();
            match next {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    self.run();
                    // Guard against a deadline that stays due: step past it.
                    let again = self.hosts.iter().filter_map(|h| h.poll_timeout()).min();
                    if again.is_some_and(|a| a <= self.now) {
                        self.now = self.now + Duration::from_micros(1);
                    }
                }
                _ => break,
            }
        }
        self.now = target;
        self.run();
    }

    /// Advances the clock in steps of `step` until `done` holds or `limit` has passed;
    /// returns whether `done` held.
    pub fn run_until(
        &mut self,
        limit: Duration,
        step: Duration,
        mut done: impl FnMut(&mut TestNet) -> bool,
    ) -> bool {
        let end = self.now + limit;
        self.run();
        while !done(self) {
            if self.now >= end {
                return false;
            }
            self.advance(step);
        }
        true
    }

    /// Runs `handle_timeout(now)` on every host (due timers, service polls).
    fn tick(&mut self) {
        let now = self.now;
        let mut tx = VecTx::default();
        for h in &mut self.hosts {
            h.handle_timeout(now, &mut tx);
        }
        self.in_flight.extend(tx.take());
    }

    fn deliver(&mut self, frame: Vec<u8>) {
        if let Some((p, state)) = &mut self.loss {
            // xorshift64: deterministic per seed.
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            if (*state >> 11) as f64 / (1u64 << 53) as f64 <= *p {
                self.lost += 1;
                return;
            }
        }
        let Some(dst) = destination(&frame) else {
            self.unroutable += 1;
            return;
        };
        let now = self.now;
        let mut tx = VecTx::default();
        match self.hosts.iter_mut().find(|h| h.serves(dst)) {
            Some(h) => {
                self.delivered += 1;
                h.handle(now, &frame, &mut tx);
            }
            None => self.unroutable += 1,
        }
        self.in_flight.extend(tx.take());
    }
}

/// Where the link delivers `frame`: its destination address, read in place (Ethernet is 14
/// bytes; IPv4's destination is at 16..20 of its header, IPv6's at 24..40). A frame
/// with a v4-mapped IPv6 destination routes like the IPv4 address; the host drops it.
fn destination(frame: &[u8]) -> Option<Addr> {
    match frame.get(12..14)? {
        [0x08, 0x00] => {
            let d = frame.get(30..34)?;
            Some(Addr::v4(u32::from_be_bytes([d[0], d[1], d[2], d[3]])))
        }
        [0x86, 0xdd] => Some(Addr::v6(frame.get(38..54)?.try_into().ok()?)),
        _ => None,
    }
}

/// A scripted host: it writes what the test queues, keeps everything it receives and logs
/// every event, on connections it opens and on those it accepts.
#[derive(Default)]
pub struct Peer {
    /// Connections accepted, in order.
    pub accepted: Vec<ConnId>,
    /// What each connection received and reported, kept after it is gone.
    logs: Vec<(ConnId, PeerLog)>,
}

/// What a [`Peer`] connection saw.
#[derive(Clone, Debug, Default)]
pub struct PeerLog {
    /// Bytes received, not yet taken.
    pub received: Vec<u8>,
    /// Events, in order.
    pub events: Vec<Event>,
}

/// A [`Peer`] connection's script.
#[derive(Default)]
pub struct PeerConn {
    /// Opened by the peer (not accepted).
    opened: bool,
    to_send: Vec<u8>,
    shutdown: bool,
    paused: bool,
}

impl Peer {
    /// The log of connection `id` (created empty).
    pub fn log_mut(&mut self, id: ConnId) -> &mut PeerLog {
        let i = match self.logs.iter().position(|(c, _)| *c == id) {
            Some(i) => i,
            None => {
                self.logs.push((id, PeerLog::default()));
                self.logs.len() - 1
            }
        };
        &mut self.logs[i].1
    }

    fn push(conn: &mut crate::service::Conn<'_, PeerConn>) {
        let pending = std::mem::take(&mut conn.data_mut().to_send);
        let n = conn.write(&pending);
        conn.data_mut().to_send = pending[n..].to_vec();
        // A half-close waits for the handshake (in SYN-SENT, CLOSE deletes the connection).
        let synchronized = matches!(conn.state(), State::Established | State::CloseWait);
        if conn.data().to_send.is_empty() && conn.data().shutdown && synchronized {
            conn.shutdown();
        }
    }

    fn read(conn: &mut crate::service::Conn<'_, PeerConn>) -> Vec<u8> {
        let (a, b) = conn.peek();
        let mut out = a.to_vec();
        out.extend_from_slice(b);
        conn.consume(out.len());
        out
    }
}

impl Service for Peer {
    type Data = PeerConn;

    fn on_event(&mut self, cx: &mut Cx<'_, PeerConn>, id: ConnId, event: Event) {
        let Some(mut conn) = cx.conn(id) else { return };
        let accepted = event == Event::Established && !conn.data().opened;
        let paused = conn.data().paused;
        let data = if paused {
            Vec::new()
        } else {
            Peer::read(&mut conn)
        };
        if matches!(event, Event::Established | Event::Writable) {
            Peer::push(&mut conn);
        }
        if accepted {
            self.accepted.push(id);
        }
        let log = self.log_mut(id);
        log.received.extend_from_slice(&data);
        log.events.push(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::echo::Echo;
    use std::net::SocketAddrV4;

    #[test]
    fn a_peer_echoes_through_the_echo_service_in_both_close_orders() {
        let mut net = TestNet::new();
        let server = net.add_server(SERVER_ADDR, &[7], Echo);
        let client = net.add_peer();
        let c = net.connect(client, SocketAddrV4::new(SERVER_ADDR, 7));
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
        net.send(client, c, &data);
        net.shutdown(client, c);
        net.advance(Duration::from_secs(1));
        assert_eq!(net.take_received(client, c), data);
        assert_eq!(net.events(client, c).last(), Some(&Event::Closed));
        assert_eq!(
            net.endpoint::<Echo>(server).connections(),
            0,
            "server side freed"
        );
    }

    #[test]
    fn a_v6_peer_echoes_through_a_dual_stack_server_next_to_a_v4_peer() {
        let server6: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
        let mut net = TestNet::new();
        let mut cfg = net.config(SERVER_ADDR, &[7]);
        cfg.local_addrs.push(server6.into());
        let server = net.add(cfg, Echo);
        let peer6 = net.add_peer_at("2001:db8::2".parse::<std::net::Ipv6Addr>().unwrap(), &[]);
        let peer4 = net.add_peer();
        let c6 = net.connect(peer6, SocketAddr::from((server6, 7)));
        let c4 = net.connect(peer4, SocketAddrV4::new(SERVER_ADDR, 7));
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 13) as u8).collect();
        net.send(peer6, c6, &data);
        net.send(peer4, c4, b"four");
        net.shutdown(peer6, c6);
        net.shutdown(peer4, c4);
        net.advance(Duration::from_secs(1));
        assert_eq!(net.take_received(peer6, c6), data);
        assert_eq!(net.take_received(peer4, c4), b"four");
        assert_eq!(net.events(peer6, c6).last(), Some(&Event::Closed));
        assert_eq!(net.endpoint::<Echo>(server).connections(), 0);
        assert_eq!(net.unroutable, 0);
    }

    #[test]
    fn loss_is_repaired_by_retransmission() {
        let mut net = TestNet::new();
        net.add_server(SERVER_ADDR, &[7], Echo);
        let client = net.add_peer();
        net.set_loss(0.05, 42);
        let c = net.connect(client, SocketAddrV4::new(SERVER_ADDR, 7));
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        net.send(client, c, &data);
        let mut got = Vec::new();
        let ok = net.run_until(Duration::from_secs(120), Duration::from_millis(50), |n| {
            got.extend(n.take_received(client, c));
            got.len() >= data.len()
        });
        assert!(ok, "only {} of {} bytes in 120 s", got.len(), data.len());
        assert_eq!(got, data);
        assert!(net.lost > 0);
    }

    #[test]
    fn a_connection_to_a_port_without_listener_is_refused() {
        let mut net = TestNet::new();
        net.add_server(SERVER_ADDR, &[7], Echo);
        let client = net.add_peer();
        let c = net.connect(client, SocketAddrV4::new(SERVER_ADDR, 8));
        net.run();
        assert_eq!(net.events(client, c), vec![Event::Reset]);
    }
}
