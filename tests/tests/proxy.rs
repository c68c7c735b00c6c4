//! The `proxy` example end to end: kernel clients in the client namespace connect to the
//! proxy on the stack, whose backend legs go back out through the same veth to kernel
//! servers (std sockets, nginx) in the client namespace.
//!
//! Run with `cargo xtask test` (builds the examples, sets `XDPTCP_BIN`).
#![allow(unsafe_code)] // SO_LINGER (a RST on close) is FFI.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddrV4, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use netns_tests::{Daemon, ExitCounters, KernelServer, LiveCounters, Testbed};

const PROXY_PORT: u16 = 80;
const BACKEND_PORT: u16 = 8080;
const T: Duration = Duration::from_secs(10);

/// The proxy on the server end, one queue, to `backends`.
fn proxy(tb: &Testbed, backends: &[SocketAddrV4]) -> Daemon {
    let list: Vec<String> = backends.iter().map(|b| b.to_string()).collect();
    let list = list.join(",");
    Daemon::start_example(
        tb,
        "proxy",
        &[
            "--port",
            "80",
            "--backend",
            &list,
            "--queues",
            "1",
            "--connect-timeout-ms",
            "2000",
        ],
    )
    .expect("the proxy starts and prints ready")
}

fn backend_addr(tb: &Testbed) -> SocketAddrV4 {
    SocketAddrV4::new(tb.cli_ip, BACKEND_PORT)
}

/// A kernel listener in the client namespace (the backend side).
fn backend_listener(tb: &Testbed) -> TcpListener {
    let addr = backend_addr(tb);
    tb.cli
        .exec_in(move || TcpListener::bind(addr))
        .expect("backend listener binds")
}

/// A kernel client connection to the proxy.
fn client(tb: &Testbed) -> TcpStream {
    let s = tb
        .connect(PROXY_PORT, T)
        .expect("client connects to the proxy");
    s.set_read_timeout(Some(T)).unwrap();
    s
}

/// `len` bytes of a stream determined by `seed`.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

fn read_to_end(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    s.read_to_end(&mut got).expect("read until EOF");
    got
}

/// The `backend ADDR: key=value ...` summary the proxy prints on exit.
fn backend_summary(out: &str, addr: SocketAddrV4) -> ExitCounters {
    let prefix = format!("backend {addr}:");
    let line = out
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{out}"));
    ExitCounters::parse(&format!("queue 0:{}", &line[prefix.len()..]))
}

#[test]
fn a_mebibyte_crosses_each_way_byte_for_byte_and_the_clients_half_close_reaches_the_backend() {
    let tb = Testbed::new(1).unwrap();
    let listener = backend_listener(&tb);
    let proxy = proxy(&tb, &[backend_addr(&tb)]);
    let up = pattern(1 << 20, 1);
    let down = pattern(1 << 20, 2);
    let down_copy = down.clone();
    let backend = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        let got = read_to_end(&mut s); // ends with the client's FIN, passed on
        s.write_all(&down_copy).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        got
    });
    let mut c = client(&tb);
    c.write_all(&up).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let got_down = read_to_end(&mut c);
    let got_up = backend.join().unwrap();
    assert!(
        got_up == up,
        "client → backend: {} bytes, differ",
        got_up.len()
    );
    assert!(
        got_down == down,
        "backend → client: {} bytes, differ",
        got_down.len()
    );
    let (_, out) = proxy.stop();
    let b = backend_summary(&out, backend_addr(&tb));
    assert_eq!(b.queue(0, "connections"), 1);
    assert_eq!(b.queue(0, "failures"), 0);
    assert_eq!(b.queue(0, "bytes_up"), 1 << 20);
    assert_eq!(b.queue(0, "bytes_down"), 1 << 20);
}

#[test]
fn the_backends_half_close_reaches_the_client_which_can_still_send() {
    let tb = Testbed::new(1).unwrap();
    let listener = backend_listener(&tb);
    let _proxy = proxy(&tb, &[backend_addr(&tb)]);
    let backend = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        s.write_all(b"greeting, then my FIN").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        read_to_end(&mut s)
    });
    let mut c = client(&tb);
    c.write_all(b"hello").unwrap();
    let mut head = [0u8; 21];
    c.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"greeting, then my FIN");
    assert_eq!(
        c.read(&mut [0u8; 16]).unwrap(),
        0,
        "the backend's FIN arrives"
    );
    c.write_all(b" and more after it").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(backend.join().unwrap(), b"hello and more after it");
}

#[test]
fn a_reset_from_the_backend_reaches_the_client() {
    let tb = Testbed::new(1).unwrap();
    let listener = backend_listener(&tb);
    let _proxy = proxy(&tb, &[backend_addr(&tb)]);
    let backend = thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        // SO_LINGER 0: close sends a RST.
        let sock = socket2_linger_zero(&s);
        drop(s);
        sock
    });
    // The reset may come so soon after the handshake that the kernel reports it from the
    // connect itself (connect_timeout reads SO_ERROR after poll), or when the client
    // writes, or on its read.
    let err = match tb.connect(PROXY_PORT, T) {
        Err(e) => {
            backend.join().unwrap();
            e
        }
        Ok(mut c) => {
            c.set_read_timeout(Some(T)).unwrap();
            backend.join().unwrap();
            match c.write_all(b"x") {
                Err(e) => e,
                Ok(()) => c
                    .read(&mut [0u8; 8])
                    .expect_err("the client sees the reset"),
            }
        }
    };
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
}

/// Sets SO_LINGER {on, 0} so that closing the socket sends RST.
fn socket2_linger_zero(s: &TcpStream) -> bool {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // Safety: setsockopt reads a linger struct of the size given from a live local.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    rc == 0
}

#[test]
fn a_backend_that_is_down_resets_the_client_at_once() {
    let tb = Testbed::new(1).unwrap();
    // Nothing listens on the backend port: the client namespace's kernel refuses the SYN.
    let proxy = proxy(&tb, &[backend_addr(&tb)]);
    let started = Instant::now();
    // The reset may come before connect() returns, or on the first read.
    let err = match tb.connect(PROXY_PORT, T) {
        Ok(mut c) => {
            c.set_read_timeout(Some(T)).unwrap();
            c.read(&mut [0u8; 8]).expect_err("the client is reset")
        }
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "reset after {:?}",
        started.elapsed()
    );
    let (_, out) = proxy.stop();
    let b = backend_summary(&out, backend_addr(&tb));
    assert_eq!(b.queue(0, "failures"), 1, "{out}");
}

#[test]
fn a_client_that_stops_reading_stops_the_backend_and_the_proxys_memory_stays_flat() {
    let tb = Testbed::new(1).unwrap();
    let listener = backend_listener(&tb);
    let proxy = proxy(&tb, &[backend_addr(&tb)]);
    let written = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let (w, d) = (written.clone(), done.clone());
    let backend = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_write_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let chunk = pattern(64 * 1024, 3);
        while !d.load(Ordering::Relaxed) {
            match s.write(&chunk) {
                Ok(n) => {
                    w.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {}
                Err(_) => break,
            }
        }
    });
    let mut c = client(&tb);
    c.write_all(b"send me everything").unwrap();
    // Let the buffers on the way fill, then watch for three seconds.
    thread::sleep(Duration::from_secs(2));
    let (rss0, sent0) = (proxy.rss_kib().unwrap(), written.load(Ordering::Relaxed));
    thread::sleep(Duration::from_secs(3));
    let (rss1, sent1) = (proxy.rss_kib().unwrap(), written.load(Ordering::Relaxed));
    done.store(true, Ordering::Relaxed);
    eprintln!("backend wrote {sent0} then {sent1} bytes; proxy RSS {rss0} then {rss1} KiB");
    assert!(sent0 > 0, "the backend could send something");
    assert!(
        sent1 - sent0 < 256 * 1024,
        "the backend kept sending to a client that does not read: {sent0} → {sent1}"
    );
    assert!(
        sent1 < 32 << 20,
        "more than the buffers on the way can hold went out: {sent1}"
    );
    assert!(
        rss1 <= rss0 + 1024,
        "the proxy's memory grew from {rss0} to {rss1} KiB"
    );
    drop(c);
    backend.join().unwrap();
}

#[test]
fn wrk_through_the_proxy_to_nginx_has_no_errors_and_the_counters_show_the_backend() {
    let tb = Testbed::new(1).unwrap();
    let nginx = KernelServer::nginx(&tb.cli, backend_addr(&tb), "hello from nginx\\n")
        .expect("nginx starts");
    let proxy = proxy(&tb, &[nginx.addr]);
    let url = format!("http://{}/", tb.srv_addr(PROXY_PORT));
    let curl = tb
        .cli
        .run_ok(&["curl", "-sS", "--max-time", "5", &url])
        .expect("curl through the proxy");
    assert_eq!(curl, "hello from nginx\n");
    let out = tb
        .cli
        .run_timeout(
            &["wrk", "-t1", "-c16", "-d2s", "--timeout", "2s", &url],
            Duration::from_secs(20),
        )
        .expect("wrk runs");
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(out.success(), "{text}");
    let requests: u64 = text
        .lines()
        .find_map(|l| {
            let l = l.trim();
            l.split_once(" requests in ")
                .and_then(|(n, _)| n.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("no request count in:\n{text}"));
    assert!(requests > 100, "{text}");
    assert!(!text.contains("Socket errors"), "{text}");
    assert!(!text.contains("Non-2xx"), "{text}");
    let live = LiveCounters::parse(&proxy.stats_text().unwrap());
    assert!(
        live.total("proxy_backend_connections_total") >= 17,
        "curl's and wrk's 16 connections: {:?}",
        live.values
    );
    assert_eq!(live.total("proxy_backend_failures_total"), 0);
    eprintln!("wrk through the proxy: {requests} requests in 2 s, 0 errors");
}
