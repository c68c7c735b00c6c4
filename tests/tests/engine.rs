//! Issue "TCP engine": end-to-end through the stack with the Linux kernel as the client:
//! HTTP (curl and std), echo byte for byte, many concurrent connections, both close orders
//! with the kernel's socket states, and bulk transfers under injected loss.
//!
//! Run with `cargo xtask test` (sets `XDPTCP_BIN`); without it these tests fail on purpose.

use std::{
    io::{self, Read, Write},
    net::{Shutdown, TcpStream},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use netns_tests::{
    raw::flags, wait_until, Daemon, ExitCounters, Family, Netns, RawPeer, SsSocket, Testbed,
};

const ECHO: u16 = 7;
const HTTP: u16 = 80;
const T: Duration = Duration::from_secs(5);
/// A bulk connection that makes no progress for this long has failed (no RTO backoff reaches
/// it at 2% loss).
const STALL: Duration = Duration::from_secs(30);

fn daemon(tb: &Testbed, args: &[&str]) -> Daemon {
    Daemon::start(tb, args).expect("daemon starts and prints ready")
}

/// SIGTERM, exit 0, the counters it printed (the output is shown on failure).
fn stop(daemon: Daemon) -> (ExitCounters, String) {
    daemon.stop()
}

/// A deterministic byte stream (xorshift64*), so a reader can regenerate what a writer sent
/// without keeping it: compares byte for byte with no memory cost.
struct Stream(u64);

impl Stream {
    fn new(seed: u64) -> Stream {
        Stream(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

// ---- HTTP ------------------------------------------------------------------------------------

/// An HTTP/1.1 response: status code, headers (lowercase names), body.
type Response = (u16, Vec<(String, String)>, Vec<u8>);

/// One HTTP/1.1 response read off `s`.
fn read_response(s: &mut TcpStream) -> io::Result<Response> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("EOF inside the head: {:?}", String::from_utf8_lossy(&head)),
            ));
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let code = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no Content-Length in {head:?}")))?;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    Ok((code, headers, body))
}

/// The body the http app serves: `a`..`z` repeated.
fn expected_body(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

#[test]
fn curl_gets_200_and_the_body_and_reuses_the_connection() {
    let tb = Testbed::new(1).unwrap();
    let d = daemon(
        &tb,
        &["--port", "80", "--app", "http", "--body-size", "100000"],
    );
    let url = format!("http://{}:{HTTP}/", tb.srv_ip);

    let out = tb
        .cli
        .run(&[
            "curl",
            "-sS",
            "-v",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{size_download} %{num_connects}\\n",
            &url,
            &url,
        ])
        .unwrap();

    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout, "200 100000 1\n200 100000 0\n", "{}", out.stderr);
    assert!(
        out.stderr.contains("Re-using existing connection"),
        "second request on a new connection:\n{}",
        out.stderr
    );
    let (c, _) = stop(d);
    assert_eq!(c.total("opened"), 1, "{c:?}");
}

#[test]
fn std_client_makes_100_keep_alive_requests_on_one_connection() {
    let tb = Testbed::new(1).unwrap();
    let d = daemon(
        &tb,
        &["--port", "80", "--app", "http", "--body-size", "3000"],
    );
    let mut s = tb.connect(HTTP, T).expect("connects");
    s.set_read_timeout(Some(T)).unwrap();
    let body = expected_body(3000);

    for i in 0..100 {
        let req = format!("GET /req/{i} HTTP/1.1\r\nHost: test\r\nUser-Agent: netns-tests\r\n\r\n");
        s.write_all(req.as_bytes()).unwrap();
        let (code, headers, got) =
            read_response(&mut s).unwrap_or_else(|e| panic!("response {i}: {e}"));
        assert_eq!(code, 200, "response {i}: {headers:?}");
        assert!(
            got == body,
            "response {i}: body differs ({} bytes)",
            got.len()
        );
        assert!(
            !headers
                .iter()
                .any(|(k, v)| k == "connection" && v == "close"),
            "response {i} closes: {headers:?}"
        );
    }
    // Two pipelined requests in one write are answered in order.
    s.write_all(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    for i in 0..2 {
        let (code, _, got) = read_response(&mut s).unwrap_or_else(|e| panic!("pipelined {i}: {e}"));
        assert!(code == 200 && got == body, "pipelined {i}");
    }
    drop(s);

    let (c, _) = stop(d);
    assert_eq!(c.total("opened"), 1, "{c:?}");
}

/// The SYN-ACK answers the options a Linux-like SYN offers (MSS, SACK-permitted, timestamps,
/// window scale; RFC 9293 3.7.1, RFC 2018, RFC 7323) with the stack's own: MSS, SACK-permitted,
/// timestamps echoing our TSval, a window scale. (`ss -i` cannot show this here: on this
/// kernel/iproute2 pair it prints neither `ts` nor `sack` even for kernel-to-kernel
/// connections.)
#[test]
fn the_syn_ack_answers_mss_sack_timestamps_and_window_scale() {
    let tb = Testbed::new(1).unwrap();
    let d = daemon(&tb, &["--port", "7", "--app", "echo"]);
    let peer = RawPeer::new(&tb, 47000).unwrap();
    let mut syn = peer.seg(ECHO, flags::SYN, 100, 0);
    // MSS 1460, SACK-permitted, TS val=0x01020304 ecr=0, NOP, WS 7 (Linux's order).
    syn.options = vec![
        2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7,
    ];
    peer.send(&syn).unwrap();
    let sa = peer.recv(T).unwrap().expect("a SYN-ACK").tcp;

    assert_eq!(sa.flags, flags::SYN | flags::ACK, "{sa:?}");
    assert_eq!(sa.ack, 101, "{sa:?}");
    assert!(sa.mss().is_some_and(|m| m <= 1460), "{sa:?}");
    assert!(sa.option(4).is_some(), "no SACK-permitted: {sa:?}");
    let ts = sa
        .option(8)
        .unwrap_or_else(|| panic!("no timestamps: {sa:?}"));
    assert_eq!(&ts[4..8], &[1, 2, 3, 4], "TSecr echoes our TSval: {sa:?}");
    assert!(sa.window_scale().is_some(), "no window scale: {sa:?}");
    drop(peer);
    stop(d);
}

// ---- echo ------------------------------------------------------------------------------------

#[test]
fn echo_returns_random_sized_messages_byte_for_byte() {
    let tb = Testbed::new(1).unwrap();
    let d = daemon(&tb, &["--port", "7", "--app", "echo"]);
    let mut s = tb.connect(ECHO, T).expect("connects");
    s.set_read_timeout(Some(T)).unwrap();
    let mut rng = Stream::new(42);

    // Request/response with sizes around the MSS and the edges.
    let mut sizes: Vec<usize> = vec![1, 2, 1459, 1460, 1461, 2920, 2921, 65535, 65536, 65537];
    sizes.extend((0..200).map(|_| 1 + (rng.next_u64() % 8000) as usize));
    for (i, &n) in sizes.iter().enumerate() {
        let mut msg = vec![0u8; n];
        rng.fill(&mut msg);
        s.write_all(&msg).unwrap();
        let mut back = vec![0u8; n];
        s.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("message {i} ({n} bytes): {e}"));
        assert!(back == msg, "message {i} ({n} bytes) differs");
    }

    // Streaming: a writer thread sends 4 MiB in random-sized writes while this one reads.
    let total = echo_stream(&s, 7, 4 << 20, |rng| {
        1 + (rng.next_u64() % 300_000) as usize
    })
    .expect("stream echoed");
    assert_eq!(total, 4 << 20);
    drop(s);
    let (c, _) = stop(d);
    assert_eq!(c.total("opened"), 1, "{c:?}");
}

/// Writes `bytes` of `Stream::new(seed)` on a clone of `s` from another thread, in writes of
/// `size(rng)` bytes, while reading and comparing the echo here. Returns the bytes compared.
fn echo_stream(
    s: &TcpStream,
    seed: u64,
    bytes: usize,
    size: fn(&mut Stream) -> usize,
) -> Result<usize, String> {
    let mut w = s.try_clone().map_err(|e| e.to_string())?;
    let writer = thread::spawn(move || -> Result<(), String> {
        let (mut data, mut sizes) = (Stream::new(seed), Stream::new(seed ^ 0xabcdef));
        let mut buf = vec![0u8; 300_000];
        let mut sent = 0;
        while sent < bytes {
            let n = size(&mut sizes).min(bytes - sent).min(buf.len());
            data.fill(&mut buf[..n]);
            w.write_all(&buf[..n])
                .map_err(|e| format!("write at {sent}: {e}"))?;
            sent += n;
        }
        Ok(())
    });
    let result = read_and_compare(&mut &*s, seed, bytes, size);
    let wrote = writer.join().map_err(|_| "writer panicked".to_string())?;
    wrote?;
    result
}

/// Reads `bytes` from `r` and compares them with what `echo_stream`'s writer sends.
fn read_and_compare(
    r: &mut impl Read,
    seed: u64,
    bytes: usize,
    size: fn(&mut Stream) -> usize,
) -> Result<usize, String> {
    let (mut data, mut sizes) = (Stream::new(seed), Stream::new(seed ^ 0xabcdef));
    let mut expected = Vec::new();
    let mut exp_at = 0;
    let mut buf = vec![0u8; 1 << 16];
    let mut got = 0;
    while got < bytes {
        let n = r
            .read(&mut buf)
            .map_err(|e| format!("read at {got} of {bytes}: {e}"))?;
        if n == 0 {
            return Err(format!("EOF after {got} of {bytes} bytes"));
        }
        for &b in &buf[..n] {
            if exp_at == expected.len() {
                // Regenerate the writer's next write exactly as it made it.
                let m = size(&mut sizes).min(bytes - got).min(300_000);
                expected.resize(m, 0);
                data.fill(&mut expected);
                exp_at = 0;
            }
            if b != expected[exp_at] {
                return Err(format!("byte {got} differs"));
            }
            exp_at += 1;
            got += 1;
        }
    }
    Ok(got)
}

/// What `echo_many` measured.
struct Transfer {
    elapsed: Duration,
    bytes: usize,
}

impl Transfer {
    /// Echoed bytes (one direction) per second, in MB/s.
    fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64()
    }
}

/// `conns` concurrent connections from namespace `from` to `addr`, each echoing `per_conn`
/// bytes (writer and reader threads, byte-for-byte check); fails (does not hang) after
/// `limit`.
fn echo_many(
    from: &Netns,
    d: &Daemon,
    addr: std::net::SocketAddr,
    conns: usize,
    per_conn: usize,
    limit: Duration,
) -> Transfer {
    let start = Instant::now();
    let (tx, rx) = mpsc::channel();
    let port = addr.port();
    for i in 0..conns {
        let tx = tx.clone();
        from.spawn_in(move || {
            let r = (|| -> Result<usize, String> {
                let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
                    .map_err(|e| format!("connect: {e}"))?;
                // No progress for this long is a failure, not a hang.
                let stall = Some(STALL);
                s.set_read_timeout(stall).map_err(|e| e.to_string())?;
                s.set_write_timeout(stall).map_err(|e| e.to_string())?;
                let n = echo_stream(&s, 1000 + i as u64, per_conn, |r| {
                    1 + (r.next_u64() % 65536) as usize
                })?;
                s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
                Ok(n)
            })();
            let _ = tx.send((i, r));
        });
    }
    drop(tx);
    let deadline = start + limit;
    let mut failures = Vec::new();
    let mut bytes = 0;
    let mut finished = 0;
    while finished < conns {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((_, Ok(n))) => bytes += n,
            Ok((i, Err(e))) => {
                if failures.is_empty() {
                    // Capture the stuck state while it lasts.
                    eprintln!(
                        "first failure after {:.1?}: connection {i}: {e}",
                        start.elapsed()
                    );
                    eprintln!("{}", diagnose(from, d, port));
                }
                failures.push(format!("connection {i}: {e}"));
            }
            Err(_) => {
                eprintln!("{}", diagnose(from, d, port));
                break;
            }
        }
        finished += 1;
    }
    assert!(
        finished == conns && failures.is_empty(),
        "{finished} of {conns} connections finished within {limit:?}, {} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    Transfer {
        elapsed: start.elapsed(),
        bytes,
    }
}

/// The daemon's flags for `family`: over IPv6 both of the server's addresses are served, so
/// that every IPv6 test also serves IPv4 on the same port.
fn family_args(tb: &Testbed, family: Family, args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    if family == Family::V6 {
        all.extend(tb.dual_stack_args());
    }
    all
}

fn daemon_for(tb: &Testbed, family: Family, args: &[&str]) -> Daemon {
    let all = family_args(tb, family, args);
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    daemon(tb, &all)
}

fn concurrent_echo(queues: u32) {
    concurrent_echo_over(queues, Family::V4);
}

fn concurrent_echo_over(queues: u32, family: Family) {
    let tb = Testbed::with_family(queues, family).unwrap();
    let d = daemon_for(
        &tb,
        family,
        &["--port", "7", "--app", "echo", "--queues", "all"],
    );

    let target = tb.srv_sockaddr(family, ECHO);
    let t = echo_many(&tb.cli, &d, target, 200, 1 << 20, Duration::from_secs(120));

    let (c, out) = stop(d);
    print_drop_reasons(&out);
    println!(
        "{queues} queue(s): 200 connections x 1 MiB echoed in {:.2?}: {:.1} MB/s each way; \
         retransmissions={} (fast {}) tx_dropped={} rx_ring_full={} rx_dropped={} drops={}",
        t.elapsed,
        t.mb_per_s(),
        c.total("retransmissions"),
        c.total("fast_retransmits"),
        c.total("tx_dropped"),
        c.total("rx_ring_full"),
        c.total("rx_dropped"),
        c.total("drops")
    );
    assert_eq!(c.total("opened"), 200, "{c:?}");
    for q in 0..queues {
        assert!(
            c.queue(q, "opened") > 0,
            "queue {q} got no connection: {c:?}"
        );
    }
    assert_steered_over(&c, family);
}

/// The XDP program steered the test's traffic over `family` (and none over the other).
fn assert_steered_over(c: &ExitCounters, family: Family) {
    let (used, unused) = match family {
        Family::V4 => ("steered", "steered_v6"),
        Family::V6 => ("steered_v6", "steered"),
    };
    assert!(c.xdp(used) > 0, "{used}: {:?}", c.xdp);
    assert_eq!(c.xdp(unused), 0, "{unused}: {:?}", c.xdp);
}

#[test]
fn two_hundred_concurrent_connections_echo_1_mib_each() {
    concurrent_echo(1);
}

#[test]
fn two_hundred_concurrent_ipv6_connections_echo_1_mib_each() {
    concurrent_echo_over(1, Family::V6);
}

#[test]
fn two_hundred_concurrent_ipv6_connections_on_two_queues() {
    concurrent_echo_over(2, Family::V6);
}

#[test]
fn two_hundred_concurrent_connections_on_two_queues() {
    concurrent_echo(2);
}

/// Prints the daemon's `queue <q> drops: ...` lines (figures for the test log).
fn print_drop_reasons(out: &str) {
    for l in out.lines().filter(|l| l.contains(" drops: ")) {
        println!("{l}");
    }
}

/// What a stuck transfer looks like: the client's sockets to `port` that still hold data
/// (`ss -tni`, first few) and the daemon's live counters.
fn diagnose(from: &Netns, d: &Daemon, port: u16) -> String {
    let ss = from
        .run_ok(&["ss", "-tniH", "dst", &format!(":{port}")])
        .unwrap_or_else(|e| e.to_string());
    let lines: Vec<&str> = ss.lines().collect();
    let mut out = format!(
        "client sockets to :{port} ({} lines of ss -tni):\n",
        lines.len()
    );
    for pair in lines.chunks(2).take(6) {
        out += &pair.join("\n");
        out += "\n";
    }
    match d.stats_text() {
        Ok(text) => {
            let nonzero = text
                .lines()
                .filter(|l| !l.starts_with('#') && !l.ends_with(" 0"));
            for l in nonzero {
                out += l.strip_prefix("xdptcp_").unwrap_or(l);
                out += " ";
            }
        }
        Err(e) => out += &format!("no live counters: {e:#}"),
    }
    out
}

// ---- close orders ----------------------------------------------------------------------------

/// The client namespace's sockets with local port `port`.
fn sockets_on(ns: &Netns, port: u16) -> Vec<SsSocket> {
    ns.tcp_sockets()
        .unwrap()
        .into_iter()
        .filter(|s| s.local_port() == Some(port))
        .collect()
}

/// Waits until the client socket on `port` is in `state` (as `ss` spells it).
fn wait_state(ns: &Netns, port: u16, state: &str) {
    let mut last = Vec::new();
    let r = wait_until(&format!("client socket :{port} in {state}"), T, || {
        last = sockets_on(ns, port);
        last.iter().any(|s| s.state == state).then_some(())
    });
    r.unwrap_or_else(|e| panic!("{e}; last seen: {last:?}"));
}

/// Waits until the running daemon's live counters satisfy `pred`.
fn wait_live(d: &Daemon, what: &str, pred: impl Fn(&netns_tests::LiveCounters) -> bool) {
    let mut last = None;
    let r = wait_until(what, T, || {
        let c = d.live_counters().ok()?;
        let ok = pred(&c);
        last = Some(c);
        ok.then_some(())
    });
    r.unwrap_or_else(|e| panic!("{e}; last counters: {last:?}"));
}

#[test]
fn client_closes_first_the_client_goes_to_time_wait_and_the_stack_frees_its_side() {
    client_closes_first(Family::V4);
}

#[test]
fn over_ipv6_the_client_closes_first_and_goes_to_time_wait() {
    client_closes_first(Family::V6);
}

fn client_closes_first(family: Family) {
    let tb = Testbed::with_family(1, family).unwrap();
    let d = daemon_for(&tb, family, &["--port", "7", "--app", "echo"]);
    let mut s = tb
        .connect_to(tb.srv_sockaddr(family, ECHO), T)
        .expect("connects");
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(b"bye").unwrap();
    let mut buf = [0u8; 3];
    s.read_exact(&mut buf).unwrap();
    let port = s.local_addr().unwrap().port();

    drop(s); // close(): our FIN first

    // FIN_WAIT_1 -> FIN_WAIT_2 (our FIN acknowledged) -> TIME_WAIT (the stack's FIN arrived).
    wait_state(&tb.cli, port, "TIME-WAIT");
    // The stack saw our ACK of its FIN: LAST_ACK -> CLOSED, the connection freed.
    wait_live(&d, "the stack's side freed", |c| {
        c.total("connections_closed_total") == 1 && c.total("connections_active") == 0
    });
    let (c, _) = stop(d);
    assert_eq!(
        (c.total("closed"), c.total("active"), c.total("reset")),
        (1, 0, 0),
        "{c:?}"
    );
}

/// Requests with `Connection: close` on `s`, reads the response to EOF (the server's FIN).
fn request_with_close(s: &mut TcpStream, body: usize) {
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (code, headers, got) = read_response(s).unwrap();
    assert_eq!(code, 200);
    assert_eq!(got, expected_body(body));
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "connection" && v == "close"),
        "{headers:?}"
    );
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).expect("EOF after the response");
    assert!(rest.is_empty(), "bytes after the response: {rest:?}");
}

#[test]
fn server_closes_first_the_client_waits_in_close_wait_and_the_stack_keeps_time_wait() {
    server_closes_first(Family::V4);
}

#[test]
fn over_ipv6_the_server_closes_first_and_the_stack_keeps_time_wait() {
    server_closes_first(Family::V6);
}

fn server_closes_first(family: Family) {
    let tb = Testbed::with_family(1, family).unwrap();
    let d = daemon_for(
        &tb,
        family,
        &["--port", "80", "--app", "http", "--body-size", "500"],
    );
    let mut s = tb
        .connect_to(tb.srv_sockaddr(family, HTTP), T)
        .expect("connects");
    s.set_read_timeout(Some(T)).unwrap();
    let port = s.local_addr().unwrap().port();

    request_with_close(&mut s, 500);

    // The stack's FIN came first: the client stays in CLOSE_WAIT until it closes.
    wait_state(&tb.cli, port, "CLOSE-WAIT");
    drop(s);
    // LAST_ACK -> CLOSED once the stack acknowledges our FIN: nothing lingers on the client.
    let mut last = Vec::new();
    wait_until("the client socket gone", T, || {
        last = sockets_on(&tb.cli, port);
        last.is_empty().then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}: {last:?}"));

    // The stack holds TIME_WAIT (2 MSL = 60 s by default): the entry outlives the shutdown's
    // abort of live connections, so it is still counted as active, and was never freed.
    let (c, _) = stop(d);
    assert_eq!(
        (c.total("active"), c.total("closed"), c.total("reset")),
        (1, 0, 0),
        "{c:?}"
    );
}

#[test]
fn server_closes_first_and_time_wait_drains_after_2_msl() {
    let tb = Testbed::new(1).unwrap();
    let d = daemon(
        &tb,
        &[
            "--port",
            "80",
            "--app",
            "http",
            "--body-size",
            "64",
            "--msl-ms",
            "1000",
        ],
    );
    let mut s = tb.connect(HTTP, T).expect("connects");
    s.set_read_timeout(Some(T)).unwrap();
    let port = s.local_addr().unwrap().port();
    request_with_close(&mut s, 64);
    wait_state(&tb.cli, port, "CLOSE-WAIT");
    drop(s);
    wait_until("the client socket gone", T, || {
        sockets_on(&tb.cli, port).is_empty().then_some(())
    })
    .unwrap();
    let time_wait_from = Instant::now();
    // (The first snapshot is written 0.5 s after start.)
    wait_live(&d, "a snapshot with the connection", |c| {
        c.total("connections_opened_total") == 1
    });

    // Held for 2 MSL = 2 s: still there 1.4 s on (the live counters lag by up to ~0.7 s, so
    // this sees the state at >= 0.7 s at least) ...
    while time_wait_from.elapsed() < Duration::from_millis(1400) {
        let c = d.live_counters().unwrap();
        assert_eq!(
            (
                c.total("connections_active"),
                c.total("connections_closed_total")
            ),
            (1, 0),
            "TIME_WAIT ended after {:?}, before 2 MSL",
            time_wait_from.elapsed()
        );
        thread::sleep(Duration::from_millis(100));
    }
    // ... and freed soon after it expires.
    wait_live(&d, "TIME_WAIT (2 x 1000 ms) drained", |c| {
        c.total("connections_closed_total") == 1 && c.total("connections_active") == 0
    });
    println!(
        "TIME_WAIT freed {:?} after it began",
        time_wait_from.elapsed()
    );
    let (c, _) = stop(d);
    assert_eq!((c.total("active"), c.total("closed")), (0, 1), "{c:?}");
}

// ---- loss ------------------------------------------------------------------------------------

/// RetransSegs of the client namespace's kernel (/proc/net/snmp).
fn retrans_segs(ns: &Netns) -> u64 {
    let snmp = ns.run_ok(&["cat", "/proc/net/snmp"]).unwrap();
    let mut tcp = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let (names, values) = (tcp.next().unwrap(), tcp.next().unwrap());
    let i = names
        .split_whitespace()
        .position(|n| n == "RetransSegs")
        .unwrap();
    values.split_whitespace().nth(i).unwrap().parse().unwrap()
}

/// 64 MiB through echo over `conns` connections with 2% random loss each way, injected with
/// iptables in the client namespace; identical bytes back, retransmissions on both sides.
fn echo_under_loss(queues: u32, conns: usize, congestion: &str) {
    echo_under_loss_over(queues, conns, congestion, Family::V4, 64 << 20);
}

fn echo_under_loss_over(queues: u32, conns: usize, congestion: &str, family: Family, total: usize) {
    let tb = Testbed::with_family(queues, family).unwrap();
    let d = daemon_for(
        &tb,
        family,
        &[
            "--port",
            "7",
            "--app",
            "echo",
            "--queues",
            "all",
            "--congestion",
            congestion,
        ],
    );
    let loss = [
        "-m",
        "statistic",
        "--mode",
        "random",
        "--probability",
        "0.02",
        "-j",
        "DROP",
    ];
    // The client is one hop behind the client namespace, which drops in FORWARD: loss on
    // the wire both ways (see `RoutedClient`).
    let client = tb.routed_client(family == Family::V6).unwrap();
    let rule = |dir: &str| {
        let mut spec = vec!["-p", "tcp", dir, "7"];
        spec.extend_from_slice(&loss);
        match family {
            Family::V4 => tb.cli.iptables_append("FORWARD", &spec).unwrap(),
            Family::V6 => tb.cli.ip6tables_append("FORWARD", &spec).unwrap(),
        }
    };
    let dropped = |dir: &str| {
        let needle = format!("{dir} 7 -m statistic");
        match family {
            Family::V4 => tb.cli.iptables_packets("FORWARD", &needle).unwrap(),
            Family::V6 => tb.cli.ip6tables_packets("FORWARD", &needle).unwrap(),
        }
    };
    let _to_client = rule("--sport");
    let _from_client = rule("--dport");
    let kernel_before = retrans_segs(&client.ns);

    let t = echo_many(
        &client.ns,
        &d,
        tb.srv_sockaddr(family, ECHO),
        conns,
        total / conns,
        Duration::from_secs(300),
    );

    let dropped_in = dropped("--sport");
    let dropped_out = dropped("--dport");
    let kernel_retrans = retrans_segs(&client.ns) - kernel_before;
    let (c, out) = stop(d);
    print_drop_reasons(&out);
    println!(
        "{queues} queue(s), {conns} connection(s), {congestion}, {family:?}: {} MiB echoed under 2% loss in {:.2?}: \
         {:.1} MB/s; dropped {dropped_in} to / {dropped_out} from the client; stack \
         retransmissions={} fast_retransmits={} out_of_order={}; client RetransSegs +{}",
        total >> 20,
        t.elapsed,
        t.mb_per_s(),
        c.total("retransmissions"),
        c.total("fast_retransmits"),
        c.total("out_of_order"),
        kernel_retrans
    );
    assert_eq!(t.bytes, total);
    assert!(
        dropped_in > 0 && dropped_out > 0,
        "the loss rules dropped nothing"
    );
    assert!(c.total("retransmissions") > 0, "{c:?}");
    assert!(kernel_retrans > 0, "client RetransSegs did not grow");
    // Segments lost on their way to the stack left holes that later data arrived beyond.
    assert!(c.total("out_of_order") > 0, "{c:?}");
    assert_eq!(c.total("opened"), conns as u64, "{c:?}");
    for q in 0..queues {
        assert!(
            c.queue(q, "opened") > 0,
            "queue {q} got no connection: {c:?}"
        );
    }
}

#[test]
fn sixty_four_mib_through_echo_with_2_percent_loss_each_way() {
    echo_under_loss(1, 1, "reno");
}

#[test]
fn thirty_two_mib_over_ipv6_with_2_percent_loss_each_way() {
    echo_under_loss_over(1, 1, "reno", Family::V6, 32 << 20);
}

#[test]
fn sixty_four_mib_with_2_percent_loss_under_cubic() {
    echo_under_loss(1, 1, "cubic");
}

/// 16 connections so that both queues get flows (all 16 on one queue: 2 in 65536).
#[test]
fn sixty_four_mib_with_2_percent_loss_on_two_queues() {
    echo_under_loss(2, 16, "reno");
}
