//! The kv service on the in-memory network, with a fake clock: requests split across
//! segments and pipelined, inline requests, protocol errors, expiry, the memory budget, big
//! values, and two workers sharing the keyspace through their mesh.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use super::*;
use tcp_user::service::{Event, NoWake, Waker};
use tcp_user::testing::{HostId, TestNet, SERVER_ADDR};

const PORT: u16 = 6379;
const SECOND_WORKER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);

fn config() -> KvConfig {
    KvConfig {
        max_memory: 0,
        port: PORT,
    }
}

struct Setup {
    net: TestNet,
    client: HostId,
    servers: Vec<HostId>,
}

/// `workers` kv workers sharing one keyspace (each at its own address, standing in for the
/// queues of one interface) and a client.
fn setup_with(workers: usize, cfg: KvConfig) -> Setup {
    let mut net = TestNet::new();
    let mesh = MeshBuilder::default();
    let wakers: Vec<Waker> = (0..workers).map(|_| Arc::new(NoWake) as Waker).collect();
    let addrs = [SERVER_ADDR, SECOND_WORKER];
    let servers = (0..workers)
        .map(|index| {
            let info = WorkerInfo {
                index,
                workers,
                wakers: wakers.clone(),
            };
            net.add_server(addrs[index], &[PORT], Kv::new(&cfg, &info, &mesh))
        })
        .collect();
    let client = net.add_peer_at(Ipv4Addr::new(10, 0, 0, 9), &[]);
    Setup {
        net,
        client,
        servers,
    }
}

fn setup() -> Setup {
    setup_with(1, config())
}

impl Setup {
    /// A client connection to worker `w`.
    fn connect(&mut self, w: usize) -> ConnId {
        let addr = [SERVER_ADDR, SECOND_WORKER][w];
        let c = self.net.connect(self.client, SocketAddrV4::new(addr, PORT));
        self.net.run();
        c
    }

    /// Sends `request` and returns everything answered once the network is quiet.
    fn ask(&mut self, c: ConnId, request: &[u8]) -> Vec<u8> {
        self.net.send(self.client, c, request);
        self.net.advance(Duration::from_millis(1));
        self.net.take_received(self.client, c)
    }

    fn keys(&mut self, w: usize) -> usize {
        self.net.endpoint::<Kv>(self.servers[w]).service().keys()
    }
}

/// RESP array of bulk strings.
fn cmd(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn pipelined_requests_split_at_every_segment_boundary_are_answered_in_order() {
    let mut request = cmd(&[b"SET", b"a", b"1"]);
    request.extend(cmd(&[b"INCR", b"a"]));
    request.extend(cmd(&[b"GET", b"a"]));
    let expected = b"+OK\r\n:2\r\n$1\r\n2\r\n";
    for split in 1..request.len() {
        let mut s = setup();
        let c = s.connect(0);
        s.net.send(s.client, c, &request[..split]);
        s.net.run();
        let mut got = s.net.take_received(s.client, c);
        got.extend(s.ask(c, &request[split..]));
        assert_eq!(text(&got), text(expected), "split at {split}");
    }
}

#[test]
fn inline_requests_are_answered_like_multibulk_ones() {
    let mut s = setup();
    let c = s.connect(0);
    let got = s.ask(
        c,
        b"PING\r\nSET greeting \"hello world\"\r\nGET greeting\r\n",
    );
    assert_eq!(text(&got), "+PONG\r\n+OK\r\n$11\r\nhello world\r\n");
}

#[test]
fn a_protocol_error_is_answered_then_the_connection_is_closed() {
    let mut s = setup();
    let c = s.connect(0);
    let got = s.ask(c, b"*1\r\n$foo\r\n");
    assert_eq!(text(&got), "-ERR Protocol error: invalid bulk length\r\n");
    assert!(s.net.events(s.client, c).contains(&Event::PeerClosed));
}

#[test]
fn quit_answers_ok_and_closes_and_later_requests_are_ignored() {
    let mut s = setup();
    let c = s.connect(0);
    let got = s.ask(c, b"QUIT\r\nPING\r\n");
    assert_eq!(text(&got), "+OK\r\n");
    assert!(s.net.events(s.client, c).contains(&Event::PeerClosed));
}

#[test]
fn a_key_set_with_px_expires_on_the_clock() {
    let mut s = setup();
    let c = s.connect(0);
    assert_eq!(text(&s.ask(c, b"SET k v PX 100\r\n")), "+OK\r\n");
    s.net.advance(Duration::from_millis(50));
    assert_eq!(text(&s.ask(c, b"GET k\r\n")), "$1\r\nv\r\n");
    s.net.advance(Duration::from_millis(60));
    assert_eq!(text(&s.ask(c, b"GET k\r\nTTL k\r\n")), "$-1\r\n:-2\r\n");
}

#[test]
fn expired_keys_are_freed_by_the_active_expiry_without_being_read() {
    let mut s = setup();
    let c = s.connect(0);
    let mut request = Vec::new();
    for i in 0..2000 {
        request.extend(cmd(&[
            b"SET",
            format!("key:{i}").as_bytes(),
            b"v",
            b"PX",
            b"50",
        ]));
    }
    request.extend(cmd(&[b"SET", b"stays", b"v"]));
    s.ask(c, &request);
    assert_eq!(s.keys(0), 2001);
    s.net.advance(Duration::from_secs(3));
    assert_eq!(s.keys(0), 1, "only the key without a TTL is left");
}

#[test]
fn writes_beyond_the_memory_budget_get_the_oom_error_and_reads_go_on() {
    let mut s = setup_with(
        1,
        KvConfig {
            max_memory: 64 * 1024,
            port: PORT,
        },
    );
    let c = s.connect(0);
    let value = vec![b'x'; 1000];
    let mut got = Vec::new();
    for i in 0..100 {
        got.extend(s.ask(c, &cmd(&[b"SET", format!("k{i}").as_bytes(), &value])));
    }
    let got = text(&got);
    assert!(got.starts_with("+OK\r\n"));
    assert!(
        got.ends_with("-OOM command not allowed when used memory > 'maxmemory'.\r\n"),
        "{got}"
    );
    assert_eq!(text(&s.ask(c, b"GET k0\r\n")).len(), 1000 + 9);
}

#[test]
fn a_one_mib_value_is_stored_and_read_back_whole() {
    let mut s = setup();
    let c = s.connect(0);
    let value: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    assert_eq!(text(&s.ask(c, &cmd(&[b"SET", b"big", &value]))), "+OK\r\n");
    s.net.send(s.client, c, b"GET big\r\n");
    let mut got = Vec::new();
    let whole = 1 + 7 + 2 + value.len() + 2;
    assert!(s
        .net
        .run_until(Duration::from_secs(10), Duration::from_millis(10), |n| {
            got.extend(n.take_received(s.client, c));
            got.len() >= whole
        }));
    let mut expected = b"$1048576\r\n".to_vec();
    expected.extend_from_slice(&value);
    expected.extend_from_slice(b"\r\n");
    assert!(got == expected, "{} bytes back", got.len());
}

#[test]
fn a_key_set_through_one_worker_is_read_through_the_other() {
    let mut s = setup_with(2, config());
    let a = s.connect(0);
    let b = s.connect(1);
    let mut request = Vec::new();
    for i in 0..50 {
        request.extend(cmd(&[
            b"SET",
            format!("key:{i}").as_bytes(),
            format!("v{i}").as_bytes(),
        ]));
    }
    let ok = s.ask(a, &request);
    assert_eq!(text(&ok), "+OK\r\n".repeat(50));
    assert!(
        s.keys(0) > 0 && s.keys(1) > 0,
        "the keys are spread over both shards"
    );
    assert_eq!(s.keys(0) + s.keys(1), 50);
    for i in 0..50 {
        let got = s.ask(b, format!("GET key:{i}\r\n").as_bytes());
        let v = format!("v{i}");
        assert_eq!(text(&got), format!("${}\r\n{v}\r\n", v.len()), "key:{i}");
    }
}

#[test]
fn multi_key_commands_over_both_shards_answer_as_one() {
    let mut s = setup_with(2, config());
    let a = s.connect(0);
    let got = s.ask(a, b"MSET k1 a k2 b k3 c k4 d\r\nMGET k4 nope k1 k3 k2\r\nEXISTS k1 k2 k3 nope k4\r\nDBSIZE\r\n");
    assert_eq!(
        text(&got),
        "+OK\r\n*5\r\n$1\r\nd\r\n$-1\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nb\r\n:4\r\n:4\r\n"
    );
    let b = s.connect(1);
    let got = s.ask(b, b"DEL k1 k2 k3 k4 nope\r\nDBSIZE\r\nFLUSHALL\r\n");
    assert_eq!(text(&got), ":4\r\n:0\r\n+OK\r\n");
}

#[test]
fn pipelined_replies_from_both_shards_keep_the_request_order() {
    let mut s = setup_with(2, config());
    let a = s.connect(0);
    let mut request = Vec::new();
    let mut expected = String::new();
    for i in 0..200 {
        request.extend(cmd(&[b"INCR", format!("counter:{}", i % 7).as_bytes()]));
        expected.push_str(&format!(":{}\r\n", i / 7 + 1));
        request.extend(cmd(&[b"PING"]));
        expected.push_str("+PONG\r\n");
    }
    assert_eq!(text(&s.ask(a, &request)), expected);
}

#[test]
fn a_client_that_closes_in_the_middle_of_a_request_is_closed_too() {
    let mut s = setup();
    let c = s.connect(0);
    // A complete request, then half of one, then the client's FIN.
    s.net.send(s.client, c, b"PING\r\n*2\r\n$3\r\nGET\r\n");
    s.net.shutdown(s.client, c);
    s.net.advance(Duration::from_secs(1));
    assert_eq!(text(&s.net.take_received(s.client, c)), "+PONG\r\n");
    assert!(
        s.net.events(s.client, c).contains(&Event::PeerClosed),
        "kv closed its side"
    );
}
