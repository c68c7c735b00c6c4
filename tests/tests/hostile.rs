//! Hostile input, round two: the cases an outside campaign found, each reproduced with a
//! crafted peer or a real client, so that they stay found.
//! - An IPv4 fragment addressed to a served tuple must never make the host kernel answer for
//!   it (the XDP program drops first fragments of served tuples; see the README's security
//!   model).
//! - A request body larger than the receive buffer must not stall the `http` app.
//!
//! Run with `cargo xtask test` (sets `XDPTCP_BIN`).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use netns_tests::raw::{flags, fragment};
use netns_tests::{Daemon, RawPeer, Testbed};

const T: Duration = Duration::from_secs(10);

fn daemon(tb: &Testbed, args: &[&str]) -> Daemon {
    Daemon::start(tb, args).expect("daemon starts and prints ready")
}

#[test]
fn a_data_segment_in_two_fragments_never_makes_the_kernel_reset_the_client() {
    let tb = Testbed::new(1).unwrap();
    let d = daemon(&tb, &["--port", "7", "--app", "echo"]);
    let peer = RawPeer::new(&tb, 45_001).unwrap();
    let hs = peer.handshake(7, 10_000).unwrap();
    let data: Vec<u8> = (0..200u32).map(|i| (i * 7) as u8).collect();
    let seg = hs.seg(flags::ACK | flags::PSH, &data);
    let (first, second) = fragment(&peer.frame(&seg), 48);
    peer.send_frame(&first).unwrap();
    peer.send_frame(&second).unwrap();
    // Whoever answered would answer with a RST: the kernel (no socket for the port) did
    // before the XDP program dropped first fragments of served tuples.
    let rst = peer
        .recv_matching(Duration::from_millis(1500), |r| r.tcp.has(flags::RST))
        .unwrap();
    assert!(rst.is_none(), "a RST answered the fragments: {rst:?}");
    // The connection is intact: the same segment, whole, is echoed.
    peer.send(&seg).unwrap();
    let echo = peer
        .recv_matching(T, |r| !r.tcp.payload.is_empty())
        .unwrap()
        .expect("the echo comes back");
    assert_eq!(echo.tcp.payload, data);
    assert!(!echo.tcp.has(flags::RST));
    let (c, _) = d.stop();
    assert_eq!(c.xdp("fragment_dropped"), 1, "{:?}", c.xdp);
    assert_eq!(
        c.xdp("fragment"),
        1,
        "the second fragment went to the kernel: {:?}",
        c.xdp
    );
}

#[test]
fn a_syn_in_two_fragments_is_never_answered() {
    let tb = Testbed::new(1).unwrap();
    let d = daemon(&tb, &["--port", "7", "--app", "echo"]);
    let peer = RawPeer::new(&tb, 45_002).unwrap();
    let mut syn = peer.seg(7, flags::SYN, 77_000, 0);
    syn.options = vec![2, 4, 0x05, 0xb4];
    syn.payload = vec![0x5a; 64];
    let (first, second) = fragment(&peer.frame(&syn), 24);
    peer.send_frame(&first).unwrap();
    peer.send_frame(&second).unwrap();
    peer.expect_silence(Duration::from_millis(1500))
        .expect("neither the kernel nor the stack answers a fragmented SYN");
    let (c, _) = d.stop();
    assert_eq!(c.xdp("fragment_dropped"), 1, "{:?}", c.xdp);
}

/// The status code and the body length of one HTTP response read off `s`.
fn response(s: &mut TcpStream) -> (u16, Vec<u8>) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(
            s.read(&mut byte).expect("a response in time"),
            1,
            "EOF in the head"
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    (code, body)
}

#[test]
fn a_request_body_larger_than_the_receive_buffer_is_read_and_answered() {
    let tb = Testbed::new(1).unwrap();
    let _d = daemon(&tb, &["--port", "80", "--app", "http"]);
    let mut s = tb.connect(80, T).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    let body = vec![b'x'; 600_000]; // the receive buffer is 256 KiB
    let head = format!(
        "POST /upload HTTP/1.1\r\nHost: stack\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut w = s.try_clone().unwrap();
    let writer = thread::spawn(move || {
        w.write_all(head.as_bytes()).unwrap();
        w.write_all(&body).unwrap();
    });
    let (code, _) = response(&mut s);
    writer.join().unwrap();
    assert_eq!(code, 200);
    // The connection goes on: a second request on it is answered too.
    s.write_all(b"GET / HTTP/1.1\r\nHost: stack\r\n\r\n")
        .unwrap();
    assert_eq!(response(&mut s).0, 200);
}

#[test]
fn a_body_beyond_what_the_app_takes_gets_413_and_the_connection_is_closed() {
    let tb = Testbed::new(1).unwrap();
    let _d = daemon(&tb, &["--port", "80", "--app", "http"]);
    let mut s = tb.connect(80, T).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(b"POST / HTTP/1.1\r\nHost: stack\r\nContent-Length: 20000000\r\n\r\nsome")
        .unwrap();
    assert_eq!(response(&mut s).0, 413);
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty(), "nothing after the 413");
}

#[test]
fn a_served_tuple_on_a_queue_without_a_socket_is_dropped_never_answered_by_the_kernel() {
    // Two queues, one served: flows that hash to the other queue find no socket there. The
    // kernel has none either; it must not refuse them for the stack.
    let tb = Testbed::new(2).unwrap();
    let d = daemon(&tb, &["--port", "7", "--app", "echo", "--queues", "1"]);
    let addr = SocketAddr::V4(tb.srv_addr(7));
    let attempts: Vec<_> = (0..16)
        .map(|_| {
            tb.cli
                .spawn_in(move || TcpStream::connect_timeout(&addr, Duration::from_millis(1500)))
        })
        .collect();
    let results: Vec<std::io::Result<TcpStream>> =
        attempts.into_iter().map(|h| h.join().unwrap()).collect();
    let connected = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.kind() == ErrorKind::ConnectionRefused))
        .count();
    eprintln!("{connected} of 16 connected (queue 0), {refused} refused");
    assert_eq!(refused, 0, "the kernel answered for a served tuple");
    assert!(
        connected > 0 && connected < 16,
        "flows spread over both queues"
    );
    drop(results);
    let (c, _) = d.stop();
    assert!(c.xdp("no_socket") > 0, "{:?}", c.xdp);
}
