//! The proxy on the in-memory network: a client peer, the proxy, and backend peers, with a
//! fake clock. No root, no namespaces.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use super::*;
use tcp_user::testing::{HostId, TestNet, SERVER_ADDR};

const PROXY_PORT: u16 = 80;
const BACKEND_PORT: u16 = 8080;

struct Setup {
    net: TestNet,
    proxy: HostId,
    client: HostId,
    backends: Vec<HostId>,
}

fn backend_addr(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 10 + i)
}

/// A proxy at 10.0.0.1:80 in front of `n` backend peers at 10.0.0.10.. port 8080, and a
/// client peer.
fn setup(n: u8) -> Setup {
    let mut net = TestNet::new();
    let backends: Vec<HostId> = (0..n)
        .map(|i| net.add_peer_at(backend_addr(i), &[BACKEND_PORT]))
        .collect();
    let cfg = ProxyConfig {
        backends: (0..n)
            .map(|i| SocketAddrV4::new(backend_addr(i), BACKEND_PORT).into())
            .collect(),
        connect_timeout: Duration::from_secs(2),
        down_for: Duration::from_secs(5),
        first: 0,
    };
    let proxy = net.add_server(SERVER_ADDR, &[PROXY_PORT], Proxy::new(&cfg));
    let client = net.add_peer();
    Setup {
        net,
        proxy,
        client,
        backends,
    }
}

fn data(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 ^ seed as u8)
        .collect()
}

impl Setup {
    fn connect(&mut self) -> ConnId {
        self.net
            .connect(self.client, SocketAddrV4::new(SERVER_ADDR, PROXY_PORT))
    }

    fn stats(&mut self, b: usize) -> BackendStats {
        self.net.endpoint::<Proxy>(self.proxy).service().backends()[b].stats
    }

    /// The connection backend `b` accepted last.
    fn accepted(&mut self, b: usize) -> ConnId {
        *self
            .net
            .accepted(self.backends[b])
            .last()
            .expect("the backend accepted a connection")
    }
}

#[test]
fn bytes_cross_both_ways_and_each_half_close_is_passed_on() {
    let mut s = setup(1);
    let c = s.connect();
    let up = data(600_000, 1);
    s.net.send(s.client, c, &up);
    s.net.shutdown(s.client, c);
    s.net.advance(Duration::from_secs(2));
    let b = s.accepted(0);
    assert_eq!(
        s.net.take_received(s.backends[0], b),
        up,
        "client → backend"
    );
    assert!(
        s.net.events(s.backends[0], b).contains(&Event::PeerClosed),
        "the client's FIN reached the backend"
    );
    // The other direction still works after the client's half-close.
    let down = data(400_000, 2);
    s.net.send(s.backends[0], b, &down);
    s.net.advance(Duration::from_secs(2));
    assert_eq!(s.net.take_received(s.client, c), down, "backend → client");
    assert!(!s.net.events(s.client, c).contains(&Event::PeerClosed));
    s.net.shutdown(s.backends[0], b);
    s.net.advance(Duration::from_secs(2));
    assert_eq!(s.net.events(s.client, c).last(), Some(&Event::Closed));
    assert_eq!(s.net.events(s.backends[0], b).last(), Some(&Event::Closed));
    let st = s.stats(0);
    assert_eq!(
        (st.bytes_up, st.bytes_down, st.active),
        (600_000, 400_000, 0)
    );
}

#[test]
fn a_reset_from_the_client_resets_the_backend_leg() {
    let mut s = setup(1);
    let c = s.connect();
    s.net.send(s.client, c, b"hello");
    s.net.advance(Duration::from_millis(100));
    let b = s.accepted(0);
    s.net.abort(s.client, c);
    s.net.advance(Duration::from_millis(100));
    assert_eq!(s.net.events(s.backends[0], b).last(), Some(&Event::Reset));
    assert_eq!(s.net.endpoint::<Proxy>(s.proxy).connections(), 0);
    assert_eq!(s.stats(0).active, 0, "the pair is no longer counted");
}

#[test]
fn a_reset_from_the_backend_resets_the_client() {
    let mut s = setup(1);
    let c = s.connect();
    s.net.send(s.client, c, b"hello");
    s.net.advance(Duration::from_millis(100));
    let b = s.accepted(0);
    s.net.abort(s.backends[0], b);
    s.net.advance(Duration::from_millis(100));
    assert_eq!(s.net.events(s.client, c).last(), Some(&Event::Reset));
    assert_eq!(s.stats(0).active, 0, "the pair is no longer counted");
}

#[test]
fn a_refusing_backend_resets_the_client_at_once() {
    let mut net = TestNet::new();
    // A host at the backend address that listens on another port: it refuses with RST.
    net.add_peer_at(backend_addr(0), &[9999]);
    let cfg = ProxyConfig {
        backends: vec![SocketAddrV4::new(backend_addr(0), BACKEND_PORT).into()],
        connect_timeout: Duration::from_secs(2),
        down_for: Duration::from_secs(5),
        first: 0,
    };
    let proxy = net.add_server(SERVER_ADDR, &[PROXY_PORT], Proxy::new(&cfg));
    let client = net.add_peer();
    let c = net.connect(client, SocketAddrV4::new(SERVER_ADDR, PROXY_PORT));
    net.run(); // no time passes
    assert_eq!(
        net.events(client, c),
        vec![Event::Established, Event::Reset]
    );
    let st = net.endpoint::<Proxy>(proxy).service().backends()[0].stats;
    assert_eq!((st.failures, st.active), (1, 0));
}

#[test]
fn a_silent_backend_is_given_up_after_the_connect_timeout() {
    let mut net = TestNet::new();
    // Nothing at the backend address: the SYNs go nowhere.
    let cfg = ProxyConfig {
        backends: vec![SocketAddrV4::new(backend_addr(0), BACKEND_PORT).into()],
        connect_timeout: Duration::from_secs(2),
        down_for: Duration::from_secs(5),
        first: 0,
    };
    let proxy = net.add_server(SERVER_ADDR, &[PROXY_PORT], Proxy::new(&cfg));
    let client = net.add_peer();
    let c = net.connect(client, SocketAddrV4::new(SERVER_ADDR, PROXY_PORT));
    net.advance(Duration::from_millis(1900));
    assert_eq!(net.events(client, c), vec![Event::Established]);
    net.advance(Duration::from_millis(200));
    assert_eq!(
        net.events(client, c),
        vec![Event::Established, Event::Reset]
    );
    assert_eq!(net.endpoint::<Proxy>(proxy).connections(), 0);
}

#[test]
fn a_reader_that_stops_stops_the_sender_on_the_other_leg() {
    let mut s = setup(1);
    let c = s.connect();
    s.net.advance(Duration::from_millis(100));
    let b = s.accepted(0);
    s.net.pause_reading(s.client, c, true);
    // The backend tries to send 20 MB to a client that reads nothing.
    let down = data(20 << 20, 3);
    s.net.send(s.backends[0], b, &down);
    s.net.advance(Duration::from_secs(10));
    // What left the backend is bounded by the buffers on the way: the client's receive
    // buffer, the proxy's two legs, the backend's window.
    let moved = s.stats(0).bytes_down;
    let buffers = 4 * 256 * 1024;
    assert!(moved > 0 && moved <= buffers as u64, "moved {moved}");
    let sent_by_backend = s
        .net
        .with::<tcp_user::testing::Peer, _>(s.backends[0], |_, cx| {
            cx.conn(b).map(|c| c.info().bytes_acked).unwrap_or(0)
        });
    // Beyond those, what the proxy's receive window on the backend leg took: auto-tuned
    // while the client read, up to the largest receive buffer.
    let window = tcp_user::tcp::Config::default().recv_buffer;
    assert!(
        sent_by_backend <= (window + 4 * 256 * 1024) as u64,
        "backend sent {sent_by_backend}"
    );
    // Reading again lets everything through, in order.
    s.net.pause_reading(s.client, c, false);
    let mut got = Vec::new();
    let done = s
        .net
        .run_until(Duration::from_secs(60), Duration::from_millis(50), |n| {
            got.extend(n.take_received(s.client, c));
            got.len() >= down.len()
        });
    assert!(done, "only {} of {} bytes", got.len(), down.len());
    assert_eq!(got, down);
}

#[test]
fn clients_are_spread_round_robin_and_a_failed_backend_is_skipped() {
    let mut s = setup(2);
    for _ in 0..4 {
        s.connect();
    }
    s.net.advance(Duration::from_millis(100));
    assert_eq!(s.net.accepted(s.backends[0]).len(), 2);
    assert_eq!(s.net.accepted(s.backends[1]).len(), 2);
    assert_eq!((s.stats(0).connections, s.stats(1).connections), (2, 2));
}

#[test]
fn bytes_sent_before_the_backend_accepted_are_not_lost() {
    let mut s = setup(1);
    let c = s.connect();
    // Sent in the same instant as the handshake: the backend leg is still connecting.
    s.net.send(s.client, c, b"early bytes");
    s.net.run();
    s.net.advance(Duration::from_millis(10));
    let b = s.accepted(0);
    assert_eq!(s.net.take_received(s.backends[0], b), b"early bytes");
}

#[test]
fn a_request_and_fin_sent_before_the_backend_answers_reach_it_and_the_whole_reply_returns() {
    // The client's request and FIN arrive while the backend leg is still connecting: the
    // FIN is passed on once the backend accepted (a CLOSE in SYN-SENT would delete the leg).
    // The backend leg is then in FIN-WAIT-2 when the reply and the backend's FIN come, with
    // the client not reading yet: every byte must still arrive.
    let mut s = setup(1);
    let c = s.connect();
    s.net.send(s.client, c, b"request");
    s.net.shutdown(s.client, c);
    s.net.pause_reading(s.client, c, true);
    s.net.advance(Duration::from_millis(100));
    let b = s.accepted(0);
    let reply = data(1 << 20, 9);
    s.net.send(s.backends[0], b, &reply);
    s.net.shutdown(s.backends[0], b);
    s.net.advance(Duration::from_secs(2));
    s.net.pause_reading(s.client, c, false);
    let mut got = Vec::new();
    let done = s
        .net
        .run_until(Duration::from_secs(30), Duration::from_millis(20), |n| {
            got.extend(n.take_received(s.client, c));
            n.events(s.client, c).contains(&Event::PeerClosed)
        });
    got.extend(s.net.take_received(s.client, c));
    assert!(done, "the client never saw the end");
    assert_eq!(got.len(), reply.len());
    assert!(got == reply, "the bytes differ");
}
