//! Issue "active open": the stack as a CLIENT (`xdptcp connect` in the client namespace) and
//! the Linux kernel as the SERVER in the server namespace: fetches from an echo server and from
//! `python3 -m http.server`, refused and silent ports, both close orders with the kernel's
//! socket states, and rr/crr load counted on both ends.
//!
//! The roles are the reverse of the other suites: the kernel's segments now go to the stack,
//! so TX checksum offload is turned off on the SERVER-side veth end ([`ClientBed::new`]).
//!
//! Run with `cargo xtask test` (sets `XDPTCP_BIN`); without it these tests fail on purpose.
#![allow(unsafe_code)] // raw sockets and shutdown(2) of the test's own listener are FFI.

use std::{
    io::{Read, Write},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    os::fd::AsRawFd,
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use netns_tests::{daemon_bin, wait_until, ExitCounters, Process, SsSocket, Testbed};

/// Longest a fetch that should finish promptly may take (start-up included).
const T: Duration = Duration::from_secs(20);

// ---- the testbed with the roles reversed -------------------------------------------------

/// A [`Testbed`] whose server end carries a kernel server: its TX checksum offload is off, as
/// the client end's is in the other suites (the kernel would send partial checksums).
struct ClientBed {
    tb: Testbed,
    /// The kernel servers listen, and the stack connects, over IPv6.
    v6: bool,
}

impl ClientBed {
    fn new() -> ClientBed {
        ClientBed::with_family(false)
    }

    /// A bed whose connections go over IPv6 (both ends get their IPv6 address).
    fn new6() -> ClientBed {
        ClientBed::with_family(true)
    }

    fn with_family(v6: bool) -> ClientBed {
        let tb = Testbed::new(1).unwrap();
        if v6 {
            tb.enable_ipv6().unwrap();
        }
        tb.srv
            .run_ok(&["ethtool", "-K", &tb.srv_if, "tx", "off"])
            .unwrap();
        // As on the client in `Testbed`: a flow keeps its tx queue (= the stack's rx queue).
        tb.srv
            .run_ok(&["sysctl", "-qw", "net.core.txrehash=0"])
            .unwrap();
        let offloads = tb.srv.run_ok(&["ethtool", "-k", &tb.srv_if]).unwrap();
        assert!(
            offloads.lines().any(|l| l.trim() == "tx-checksumming: off"),
            "tx checksumming still on on {}:\n{offloads}",
            tb.srv_if
        );
        ClientBed { tb, v6 }
    }

    /// The server namespace's address of the bed's family, with `port`.
    fn srv_sockaddr(&self, port: u16) -> SocketAddr {
        if self.v6 {
            SocketAddr::V6(self.tb.srv_addr6(port))
        } else {
            SocketAddr::V4(self.tb.srv_addr(port))
        }
    }

    /// `host:port` (`[host]:port` over IPv6) of the server namespace's address.
    fn remote(&self, port: u16) -> String {
        self.srv_sockaddr(port).to_string()
    }

    /// Appends a rule to the server namespace's `iptables` or `ip6tables`, as the family is.
    fn srv_rule(&self, chain: &str, spec: &[&str]) -> netns_tests::IptablesRule {
        if self.v6 {
            self.tb.srv.ip6tables_append(chain, spec).unwrap()
        } else {
            self.tb.srv.iptables_append(chain, spec).unwrap()
        }
    }

    /// Packets the server namespace's rule matching `needle` counted.
    fn srv_rule_packets(&self, chain: &str, needle: &str) -> u64 {
        if self.v6 {
            self.tb.srv.ip6tables_packets(chain, needle).unwrap()
        } else {
            self.tb.srv.iptables_packets(chain, needle).unwrap()
        }
    }

    /// Starts `xdptcp connect --iface <client veth> <args...>` in the client namespace and
    /// waits for its `ready` line.
    fn connect(&self, args: &[&str]) -> Connect {
        let bin = daemon_bin();
        let bin = bin.to_string_lossy();
        let mut argv = vec![bin.as_ref(), "connect", "--iface", &self.tb.cli_if];
        argv.extend_from_slice(args);
        let mut process = self.tb.cli.spawn("xdptcp connect", &argv).unwrap();
        process
            .wait_for_line("the `ready` line", T, |l| l.starts_with("ready"))
            .unwrap();
        Connect {
            process,
            ready_at: Instant::now(),
        }
    }

    /// The server namespace's TCP sockets whose local port is `port` (the listener excluded).
    fn server_sockets(&self, port: u16) -> Vec<SsSocket> {
        self.tb
            .srv
            .tcp_sockets()
            .unwrap()
            .into_iter()
            .filter(|s| s.local_port() == Some(port) && s.state != "LISTEN")
            .collect()
    }
}

/// A running `xdptcp connect`.
struct Connect {
    process: Process,
    /// When the test saw the `ready` line.
    ready_at: Instant,
}

/// What `xdptcp connect` reported: its JSON line, how long after `ready` the test saw it,
/// and the exit counters.
struct Report {
    json: serde_json::Map<String, serde_json::Value>,
    after_ready: Duration,
    counters: ExitCounters,
    output: String,
}

impl Report {
    fn field(&self, key: &str) -> &serde_json::Value {
        self.json
            .get(key)
            .unwrap_or_else(|| panic!("no {key:?} in the report; output:\n{}", self.output))
    }

    fn str(&self, key: &str) -> &str {
        self.field(key)
            .as_str()
            .unwrap_or_else(|| panic!("{key} is not a string; output:\n{}", self.output))
    }

    fn num(&self, key: &str) -> f64 {
        self.field(key)
            .as_f64()
            .unwrap_or_else(|| panic!("{key} is not a number; output:\n{}", self.output))
    }
}

impl Connect {
    /// Waits up to `timeout` for the JSON line, then for the exit (status 0).
    fn finish(mut self, timeout: Duration) -> Report {
        let line = self
            .process
            .wait_for_line("the JSON result", timeout, |l| l.starts_with('{'))
            .unwrap();
        let after_ready = self.ready_at.elapsed();
        let status = self.process.wait_exit(T).unwrap();
        let output = self.process.output();
        assert!(status.success(), "exit status {status}; output:\n{output}");
        Report {
            json: serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}")),
            after_ready,
            counters: ExitCounters::parse(&self.process.stderr()),
            output,
        }
    }
}

/// A file for `--output` (removed on drop).
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str) -> TempFile {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("xdptcp-client-{}-{tag}-{n}", std::process::id()));
        TempFile(path)
    }

    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }

    fn read(&self) -> Vec<u8> {
        std::fs::read(&self.0).unwrap_or_else(|e| panic!("{}: {e}", self.0.display()))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

static NEXT: AtomicU64 = AtomicU64::new(0);

// ---- a kernel echo server -----------------------------------------------------------------

/// A std `TcpListener` in the server namespace, a thread per connection echoing until EOF,
/// then closing. Counts accepted connections and echoed bytes.
struct EchoServer {
    port: u16,
    listener_fd: i32,
    accepted: Arc<AtomicU64>,
    echoed: Arc<AtomicU64>,
    /// Per connection, the kernel's TCP state when `read` returned EOF and right after our
    /// FIN was queued (`TCP_INFO`'s `tcpi_state`).
    close_states: Arc<Mutex<Vec<(u8, u8)>>>,
    acceptor: Option<JoinHandle<()>>,
}

/// Linux's `tcpi_state` values (include/net/tcp_states.h).
const TCP_CLOSE_WAIT: u8 = 8;
const TCP_LAST_ACK: u8 = 9;

/// The socket's state as the kernel reports it in `TCP_INFO`.
fn tcp_state(s: &TcpStream) -> u8 {
    let mut info = [0u8; 256];
    let mut len = info.len() as libc::socklen_t;
    // Safety: getsockopt writes at most `len` bytes into `info`, a live local buffer.
    let r = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr() as *mut libc::c_void,
            &mut len,
        )
    };
    assert_eq!(r, 0, "TCP_INFO: {}", std::io::Error::last_os_error());
    info[0]
}

impl EchoServer {
    fn start(bed: &ClientBed, port: u16) -> EchoServer {
        let addr = bed.srv_sockaddr(port);
        let listener = bed.tb.srv.exec_in(move || TcpListener::bind(addr)).unwrap();
        let listener_fd = listener.as_raw_fd();
        let accepted = Arc::new(AtomicU64::new(0));
        let echoed = Arc::new(AtomicU64::new(0));
        let close_states = Arc::new(Mutex::new(Vec::new()));
        let (a, e, cs) = (
            Arc::clone(&accepted),
            Arc::clone(&echoed),
            Arc::clone(&close_states),
        );
        let acceptor = thread::spawn(move || {
            // `accept` fails once `Drop` shuts the listener down.
            while let Ok((s, _)) = listener.accept() {
                a.fetch_add(1, Ordering::Relaxed);
                let (e, cs) = (Arc::clone(&e), Arc::clone(&cs));
                thread::spawn(move || echo_until_eof(s, &e, &cs));
            }
        });
        EchoServer {
            port,
            listener_fd,
            accepted,
            echoed,
            close_states,
            acceptor: Some(acceptor),
        }
    }

    fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    fn echoed(&self) -> u64 {
        self.echoed.load(Ordering::Relaxed)
    }

    fn close_states(&self) -> Vec<(u8, u8)> {
        self.close_states.lock().unwrap().clone()
    }
}

fn echo_until_eof(mut s: TcpStream, echoed: &AtomicU64, close_states: &Mutex<Vec<(u8, u8)>>) {
    let _ = s.set_nodelay(true);
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => {
                let at_eof = tcp_state(&s);
                // The client's FIN arrived: ours follows (CLOSE_WAIT -> LAST_ACK).
                let _ = s.shutdown(Shutdown::Write);
                let after_fin = tcp_state(&s);
                close_states.lock().unwrap().push((at_eof, after_fin));
                return;
            }
            Err(_) => break,
            Ok(n) => {
                if s.write_all(&buf[..n]).is_err() {
                    break;
                }
                echoed.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        // Safety: shutdown(2) on the listener's descriptor, still open (the acceptor thread
        // owns it until accept fails); it wakes the blocked accept with an error.
        unsafe { libc::shutdown(self.listener_fd, libc::SHUT_RDWR) };
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

/// `len` printable bytes (the request is a command-line string), varying with `seed`.
fn pattern(len: usize, seed: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|i| ALPHABET[(i * 7 + i / 61 + seed) % ALPHABET.len()] as char)
        .collect()
}

// ---- fetch -------------------------------------------------------------------------------

fn fetch_from_echo(len: usize) {
    fetch_from_echo_on(&ClientBed::new(), len);
}

fn fetch_from_echo_on(bed: &ClientBed, len: usize) {
    let echo = EchoServer::start(bed, 7007);
    let request = pattern(len, len);
    let out = TempFile::new("echo");
    let r = bed
        .connect(&[
            "--remote",
            &bed.remote(echo.port),
            "--mode",
            "fetch",
            "--half-close",
            "--request",
            &request,
            "--output",
            out.arg(),
        ])
        .finish(T);
    assert_eq!(r.str("outcome"), "completed", "{}", r.output);
    assert_eq!(r.num("bytes") as usize, len, "{}", r.output);
    let got = out.read();
    assert!(
        got == request.as_bytes(),
        "echoed bytes differ: {} bytes back, first difference at {:?}",
        got.len(),
        got.iter().zip(request.as_bytes()).position(|(a, b)| a != b)
    );
    assert_eq!(echo.accepted(), 1);
    assert_eq!(echo.echoed(), len as u64);
    assert_eq!(r.counters.total("opened"), 1, "{}", r.output);
}

#[test]
fn fetch_from_a_kernel_echo_server_with_half_close_returns_the_bytes() {
    fetch_from_echo(5);
}

#[test]
fn fetch_over_ipv6_from_a_kernel_echo_server_returns_the_bytes() {
    let bed = ClientBed::new6();
    fetch_from_echo_on(&bed, 3000);
}

#[test]
fn fetch_of_2000_bytes_from_a_kernel_echo_server_returns_them_byte_for_byte() {
    // Two segments each way at MSS 1460.
    fetch_from_echo(2000);
}

#[test]
fn fetch_of_100_kb_from_a_kernel_echo_server_returns_them_byte_for_byte() {
    // Many segments in flight both ways; still under the kernel's 128 KiB limit on one
    // command-line argument.
    fetch_from_echo(100_000);
}

/// `python3 -m http.server` in the server namespace, serving `dir`.
struct HttpServer {
    /// Kept for its guard: stopped on drop, its output shown if the test fails.
    _process: Process,
    port: u16,
}

impl HttpServer {
    fn start(bed: &ClientBed, dir: &str, port: u16) -> HttpServer {
        let ip = bed.tb.srv_ip.to_string();
        let p = port.to_string();
        let process = bed
            .tb
            .srv
            .spawn(
                "http.server",
                &[
                    "python3",
                    "-m",
                    "http.server",
                    &p,
                    "--bind",
                    &ip,
                    "--directory",
                    dir,
                ],
            )
            .unwrap();
        wait_until("http.server listening", T, || {
            bed.tb.srv.is_listening(port).ok()?.then_some(())
        })
        .unwrap();
        HttpServer {
            _process: process,
            port,
        }
    }
}

/// A directory with `file.bin` of `len` bytes (deterministic, binary).
fn web_root(len: usize) -> (TempFile, Vec<u8>) {
    let dir = TempFile::new("www");
    std::fs::create_dir_all(&dir.0).unwrap();
    let mut x: u32 = 0x1234_5678;
    let body: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(dir.0.join("file.bin"), &body).unwrap();
    (dir, body)
}

/// Splits an HTTP response into its head and body.
fn split_response(resp: &[u8]) -> (String, &[u8]) {
    let at = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "no end of head in {} bytes: {:?}",
                resp.len(),
                String::from_utf8_lossy(&resp[..resp.len().min(300)])
            )
        });
    (
        String::from_utf8_lossy(&resp[..at]).into_owned(),
        &resp[at + 4..],
    )
}

/// Fetches /file.bin with an HTTP/1.0 GET; returns the report and the received bytes.
fn http_get(bed: &ClientBed, http: &HttpServer) -> (Report, Vec<u8>) {
    let out = TempFile::new("http");
    let request = format!(
        "GET /file.bin HTTP/1.0\\r\\nHost: {}\\r\\n\\r\\n",
        bed.tb.srv_ip
    );
    let r = bed
        .connect(&[
            "--remote",
            &bed.remote(http.port),
            "--mode",
            "fetch",
            "--request",
            &request,
            "--output",
            out.arg(),
        ])
        .finish(T);
    let got = out.read();
    (r, got)
}

#[test]
fn fetch_from_python_http_server_gets_the_file_body_identical() {
    let bed = ClientBed::new();
    let (dir, body) = web_root(300_000);
    let http = HttpServer::start(&bed, dir.arg(), 8000);
    let (r, got) = http_get(&bed, &http);
    assert_eq!(r.str("outcome"), "completed", "{}", r.output);
    assert_eq!(r.num("bytes") as usize, got.len(), "{}", r.output);
    let (head, received) = split_response(&got);
    assert!(head.starts_with("HTTP/1.0 200"), "{head}");
    assert!(
        head.contains(&format!("Content-Length: {}", body.len())),
        "{head}"
    );
    assert_eq!(received.len(), body.len(), "{head}");
    assert!(received == body.as_slice(), "body differs from the file");
    drop(http);
}

// ---- refused and silent ------------------------------------------------------------------

#[test]
fn connecting_to_a_closed_kernel_port_is_refused_at_once() {
    refused_at_once(&ClientBed::new());
}

#[test]
fn connecting_over_ipv6_to_a_closed_kernel_port_is_refused_at_once() {
    refused_at_once(&ClientBed::new6());
}

fn refused_at_once(bed: &ClientBed) {
    assert!(!bed.tb.srv.is_listening(7999).unwrap());
    let r = bed
        .connect(&[
            "--remote",
            &bed.remote(7999),
            "--mode",
            "fetch",
            "--request",
            "x",
        ])
        .finish(T);
    assert_eq!(r.str("outcome"), "refused", "{}", r.output);
    assert!(
        r.after_ready < Duration::from_secs(1),
        "refused after {:?}",
        r.after_ready
    );
    println!("refused {:?} after ready", r.after_ready);
}

#[test]
fn a_silent_port_times_out_after_the_configured_syn_retries() {
    silent_port_times_out(&ClientBed::new());
}

#[test]
fn a_silent_ipv6_port_times_out_after_the_configured_syn_retries() {
    silent_port_times_out(&ClientBed::new6());
}

fn silent_port_times_out(bed: &ClientBed) {
    let port = "7998";
    // Something listens, but every segment to it is dropped: neither SYN-ACK nor RST.
    let echo = EchoServer::start(bed, 7998);
    let drop_rule = bed.srv_rule("INPUT", &["-p", "tcp", "--dport", port, "-j", "DROP"]);
    let r = bed
        .connect(&[
            "--remote",
            &bed.remote(7998),
            "--mode",
            "fetch",
            "--request",
            "x",
            "--connect-retries",
            "2",
        ])
        .finish(Duration::from_secs(30));
    assert_eq!(r.str("outcome"), "connect_timed_out", "{}", r.output);
    // The SYN, then retransmissions after 1 s and 2 s, then 4 s more before giving up.
    let took = r.after_ready;
    assert!(
        took >= Duration::from_secs(6) && took <= Duration::from_secs(10),
        "gave up after {took:?}"
    );
    let dropped = bed.srv_rule_packets("INPUT", "--dport 7998");
    assert_eq!(dropped, 3, "SYNs dropped (1 + 2 retries)");
    assert_eq!(echo.accepted(), 0);
    println!("connect_timed_out {took:?} after ready");
    drop(drop_rule);
}

// ---- close orders ------------------------------------------------------------------------

#[test]
fn stack_closes_first_the_kernel_server_closes_without_time_wait() {
    let bed = ClientBed::new();
    let echo = EchoServer::start(&bed, 7006);
    let request = pattern(100, 3);
    let out = TempFile::new("close-a");
    let c = bed.connect(&[
        "--remote",
        &bed.remote(echo.port),
        "--mode",
        "fetch",
        "--half-close",
        "--request",
        &request,
        "--output",
        out.arg(),
        // The connection under test uses the first port.
        "--local-ports",
        "40000-40000",
    ]);
    // Watch the kernel side while it goes ESTAB -> CLOSE_WAIT -> LAST_ACK -> gone.
    let mut seen: Vec<String> = Vec::new();
    let watch = |seen: &mut Vec<String>| {
        let now = bed.server_sockets(echo.port);
        for s in &now {
            if !seen.contains(&s.state) {
                seen.push(s.state.clone());
            }
        }
        now
    };
    watch(&mut seen);
    let r = c.finish(T);
    assert_eq!(r.str("outcome"), "completed", "{}", r.output);
    assert_eq!(out.read(), request.as_bytes());
    let mut last = Vec::new();
    let gone = wait_until("the kernel server's socket gone", T, || {
        last = watch(&mut seen);
        last.is_empty().then_some(())
    });
    gone.unwrap_or_else(|e| panic!("{e}: {last:?}; states seen {seen:?}"));
    let tw = bed
        .tb
        .srv
        .run_ok(&["ss", "-tanH", "state", "time-wait"])
        .unwrap();
    assert!(
        !tw.contains(&format!(":{}", echo.port)),
        "the kernel server holds TIME_WAIT although the stack closed first:\n{tw}"
    );
    assert!(
        !seen
            .iter()
            .any(|s| s == "TIME-WAIT" || s.starts_with("FIN-WAIT")),
        "kernel server states {seen:?}"
    );
    assert_eq!(echo.accepted(), 1);
    // The stack's FIN came first (CLOSE_WAIT at EOF), the kernel's FIN second (LAST_ACK)
    // unless the stack's ACK of it already arrived (then the socket is CLOSE, 7).
    let states = echo.close_states();
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(states[0].0, TCP_CLOSE_WAIT, "state at EOF: {states:?}");
    assert!(
        states[0].1 == TCP_LAST_ACK || states[0].1 == 7,
        "state after our FIN: {states:?}"
    );
    println!("kernel server: (state at EOF, after its FIN) = {states:?}; ss saw {seen:?}");
}

#[test]
fn kernel_server_closes_first_and_holds_time_wait() {
    let bed = ClientBed::new();
    let (dir, body) = web_root(1000);
    let http = HttpServer::start(&bed, dir.arg(), 8001);
    let (r, got) = http_get(&bed, &http);
    assert_eq!(r.str("outcome"), "completed", "{}", r.output);
    let (_, received) = split_response(&got);
    assert!(received == body.as_slice());
    // http.server (HTTP/1.0) closes after the response: FIN_WAIT_1/2, then the stack's FIN,
    // then TIME_WAIT on the kernel's side.
    let mut last = String::new();
    wait_until("a TIME-WAIT socket on the http port", T, || {
        last = bed
            .tb
            .srv
            .run_ok(&["ss", "-tanH", "state", "time-wait"])
            .ok()?;
        last.lines()
            .any(|l| {
                l.split_whitespace()
                    .any(|f| f.ends_with(&format!(":{}", http.port)))
            })
            .then_some(())
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e}; time-wait: {last:?}; all: {:?}",
            bed.server_sockets(http.port)
        )
    });
    // And nothing else is left on that port (no FIN_WAIT_2 waiting for the stack's FIN).
    let other: Vec<_> = bed
        .server_sockets(http.port)
        .into_iter()
        .filter(|s| s.state != "TIME-WAIT")
        .collect();
    assert!(other.is_empty(), "{other:?}");
}

// ---- load --------------------------------------------------------------------------------

fn load(mode: &str) {
    load_on(&ClientBed::new(), mode);
}

fn load_on(bed: &ClientBed, mode: &str) {
    let echo = EchoServer::start(bed, 7005);
    let r = bed
        .connect(&[
            "--remote",
            &bed.remote(echo.port),
            "--mode",
            mode,
            "--size",
            "64",
            "--duration",
            "2",
            "--warmup",
            "1",
        ])
        .finish(Duration::from_secs(30));
    println!(
        "{mode}: {} transactions, {:.0}/s, p50 {} µs, p99 {} µs; server accepted {}, echoed {} B",
        r.num("transactions"),
        r.num("tps"),
        r.num("p50_us"),
        r.num("p99_us"),
        echo.accepted(),
        echo.echoed()
    );
    assert_eq!(r.str("mode"), mode);
    assert_eq!(r.num("errors"), 0.0, "{}", r.output);
    let txns = r.num("transactions") as u64;
    assert!(txns > 1000, "{txns} transactions; {}", r.output);
    // Everything measured really went through the kernel server (warm-up included there).
    assert!(
        echo.echoed() >= txns * 64,
        "server echoed {} B for {txns} transactions",
        echo.echoed()
    );
    if mode == "crr" {
        let connects = r.num("connects") as u64;
        assert!(connects >= txns, "{connects} connects for {txns} txns");
        assert!(
            echo.accepted() >= txns,
            "server accepted {} connections for {txns} transactions",
            echo.accepted()
        );
    } else {
        assert_eq!(echo.accepted(), 1, "rr uses one persistent connection");
    }
}

#[test]
fn rr_against_a_kernel_echo_server_for_2_s() {
    load("rr");
}

#[test]
fn crr_against_a_kernel_echo_server_for_2_s() {
    load("crr");
}

#[test]
fn rr_over_ipv6_against_a_kernel_echo_server_for_2_s() {
    load_on(&ClientBed::new6(), "rr");
}

#[test]
fn crr_over_ipv6_against_a_kernel_echo_server_for_2_s() {
    load_on(&ClientBed::new6(), "crr");
}
