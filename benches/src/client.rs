//! The load generators: closed-loop clients over kernel sockets, one thread per connection,
//! each recording into its own histogram (merged at the end).
//!
//! A transaction is recorded only if it started at or after `measure_from` and finished by
//! `until`, so warm-up and the tail cut by the deadline never pollute the figures.
#![allow(unsafe_code)] // epoll and socket options are FFI.

use std::{
    io::{self, Read, Write},
    net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, TcpStream},
    str::FromStr,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context, Result};
use hdrhistogram::Histogram;

use crate::hist::{new_histogram, record_us};

/// What the client measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Persistent connections, `size` bytes out, `size` bytes echoed back, closed loop.
    Rr,
    /// Connect, one request/response of `size` bytes, close (FIN), repeated.
    Crr,
    /// Full-duplex bulk through echo: one thread writes, another reads what comes back.
    Stream,
    /// Keep-alive HTTP/1.1 GETs of a `size`-byte body.
    Http,
    /// Handshakes: nonblocking connects, several in flight, each closed with RST once open.
    Syn,
    /// Keep-alive HTTP/1.1 GETs of a large body (server to client bulk).
    Download,
    /// Raw frames reflected by `xdptcp reflect` (no TCP): the AF_XDP path's frame-rate
    /// ceiling. Run by `xdptcp-bench run` with its own raw client (`reflect.rs`).
    Reflect,
}

impl Mode {
    pub const ALL: [Mode; 7] = [
        Mode::Rr,
        Mode::Crr,
        Mode::Stream,
        Mode::Http,
        Mode::Syn,
        Mode::Download,
        Mode::Reflect,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Rr => "rr",
            Mode::Crr => "crr",
            Mode::Stream => "stream",
            Mode::Http => "http",
            Mode::Syn => "syn",
            Mode::Download => "download",
            Mode::Reflect => "reflect",
        }
    }

    /// The server application this mode needs.
    pub fn app(self) -> &'static str {
        match self {
            Mode::Rr | Mode::Crr | Mode::Stream | Mode::Syn => "echo",
            Mode::Http | Mode::Download => "http",
            Mode::Reflect => "reflect",
        }
    }

    /// True if the headline figure is bytes per second rather than transactions.
    pub fn is_bulk(self) -> bool {
        matches!(self, Mode::Stream | Mode::Download)
    }

    /// What one histogram entry is, for tables and plots.
    pub fn unit_of_work(self) -> &'static str {
        match self {
            Mode::Rr => "request/response",
            Mode::Crr => "connect + request/response",
            Mode::Stream => "64 KiB chunk echoed (interval between arrivals)",
            Mode::Http => "HTTP GET",
            Mode::Syn => "handshake (connect to writable)",
            Mode::Download => "HTTP GET of the large body",
            Mode::Reflect => "frame reflected (round trip)",
        }
    }
}

impl FromStr for Mode {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Mode> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                anyhow!("unknown mode {s:?} (rr, crr, stream, http, syn, download, reflect)")
            })
    }
}

/// Bytes per stream chunk written, and the unit stream latency is recorded in.
pub const STREAM_CHUNK: usize = 64 * 1024;
/// How long a client waits on a silent server before calling the run failed.
pub const IO_TIMEOUT: Duration = Duration::from_secs(3);

/// One client run.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub mode: Mode,
    /// The server, IPv4 or IPv6.
    pub addr: SocketAddr,
    /// Request and response size (rr, crr); write size floor for stream.
    pub size: usize,
    /// Connections (threads); for syn, handshakes in flight.
    pub conns: usize,
    /// Pin every client thread to this core.
    pub core: Option<usize>,
}

/// When to record and when to stop.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub measure_from: Instant,
    pub until: Instant,
    /// Stop each connection after this many recorded transactions (tests).
    pub max_txns: Option<u64>,
}

impl Schedule {
    /// Warm-up then measurement, starting now.
    pub fn timed(warmup: Duration, duration: Duration) -> Schedule {
        let measure_from = Instant::now() + warmup;
        Schedule {
            measure_from,
            until: measure_from + duration,
            max_txns: None,
        }
    }

    /// `n` recorded transactions per connection, no warm-up, at most `limit` long.
    pub fn counted(n: u64, limit: Duration) -> Schedule {
        let now = Instant::now();
        Schedule {
            measure_from: now,
            until: now + limit,
            max_txns: Some(n),
        }
    }

    fn done(&self, now: Instant, recorded: u64) -> bool {
        now >= self.until || self.max_txns.is_some_and(|m| recorded >= m)
    }

    fn counts(&self, start: Instant, end: Instant) -> bool {
        start >= self.measure_from && end <= self.until
    }
}

/// What a client saw.
#[derive(Debug, Clone)]
pub struct ClientResult {
    /// Latency per transaction in microseconds.
    pub hist: Histogram<u64>,
    /// Recorded transactions.
    pub txns: u64,
    /// Payload bytes received in the measurement window (echoed bytes, HTTP bodies).
    pub bytes: u64,
    /// From `measure_from` to the last recorded completion (or `until`).
    pub elapsed: Duration,
    /// Failed transactions (connects refused or timed out); the run goes on.
    pub errors: u64,
}

impl ClientResult {
    pub fn txn_per_sec(&self) -> f64 {
        self.txns as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Per-thread tally.
struct Tally {
    hist: Histogram<u64>,
    txns: u64,
    bytes: u64,
    last_end: Option<Instant>,
    errors: u64,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            hist: new_histogram(),
            txns: 0,
            bytes: 0,
            last_end: None,
            errors: 0,
        }
    }

    /// Records a transaction if it lies in the measurement window; true if it did.
    fn txn(&mut self, s: &Schedule, start: Instant, end: Instant, bytes: u64) -> bool {
        if !s.counts(start, end) {
            return false;
        }
        record_us(&mut self.hist, end - start);
        self.txns += 1;
        self.bytes += bytes;
        self.last_end = Some(end);
        true
    }
}

/// Runs the client to the end of its schedule. Call it on a thread inside the client's
/// network namespace: the threads it starts inherit it.
pub fn run_client(cfg: &ClientConfig, sched: Schedule) -> Result<ClientResult> {
    if cfg.mode == Mode::Reflect {
        bail!(
            "reflect has no socket client: `xdptcp-bench run --modes reflect` runs `xdptcp \
             reflect` with a raw AF_PACKET client on the testbed"
        );
    }
    let threads = match cfg.mode {
        Mode::Syn => 1,
        _ => cfg.conns.max(1),
    };
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let cfg = cfg.clone();
            std::thread::spawn(move || -> Result<Tally> {
                if let Some(core) = cfg.core {
                    crate::sys::pin_current_thread(core)?;
                }
                match cfg.mode {
                    Mode::Rr => rr(&cfg, &sched),
                    Mode::Crr => crr(&cfg, &sched),
                    Mode::Stream => stream(&cfg, &sched),
                    Mode::Http | Mode::Download => http(&cfg, &sched),
                    Mode::Syn => syn(&cfg, &sched),
                    Mode::Reflect => unreachable!("rejected above"),
                }
            })
        })
        .collect();
    let mut total = Tally::new();
    let mut first_error = None;
    for h in handles {
        match h.join().map_err(|_| anyhow!("client thread panicked"))? {
            Ok(t) => {
                total
                    .hist
                    .add(&t.hist)
                    .map_err(|e| anyhow!("merging histograms: {e:?}"))?;
                total.txns += t.txns;
                total.bytes += t.bytes;
                total.errors += t.errors;
                total.last_end = total.last_end.max(t.last_end);
            }
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let end = match sched.max_txns {
        Some(_) => total.last_end.unwrap_or(sched.measure_from),
        None => sched.until,
    };
    let elapsed = end.saturating_duration_since(sched.measure_from);
    Ok(ClientResult {
        hist: total.hist,
        txns: total.txns,
        bytes: total.bytes,
        elapsed,
        errors: total.errors,
    })
}

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    s.set_nodelay(true)?;
    Ok(s)
}

fn connect_for_io(addr: SocketAddr) -> Result<TcpStream> {
    let s = connect(addr).with_context(|| format!("connect to {addr}"))?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(s)
}

/// A read error, with socket timeouts named as the silent server they are.
fn read_error(e: io::Error, what: &str) -> anyhow::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            anyhow!("{what}: nothing from the server for {IO_TIMEOUT:?}")
        }
        _ => anyhow::Error::from(e).context(what.to_string()),
    }
}

fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

fn rr(cfg: &ClientConfig, s: &Schedule) -> Result<Tally> {
    let mut t = Tally::new();
    let mut sock = connect_for_io(cfg.addr)?;
    let req = payload(cfg.size);
    let mut resp = vec![0u8; cfg.size];
    loop {
        let start = Instant::now();
        if s.done(start, t.txns) {
            return Ok(t);
        }
        sock.write_all(&req).context("rr: write")?;
        sock.read_exact(&mut resp)
            .map_err(|e| read_error(e, "rr: reading the echo"))?;
        let end = Instant::now();
        if resp != req {
            bail!("rr: the echo differs from the request");
        }
        t.txn(s, start, end, cfg.size as u64);
    }
}

fn crr(cfg: &ClientConfig, s: &Schedule) -> Result<Tally> {
    let mut t = Tally::new();
    let req = payload(cfg.size);
    let mut resp = vec![0u8; cfg.size];
    let mut consecutive_errors = 0;
    loop {
        let start = Instant::now();
        if s.done(start, t.txns) {
            return Ok(t);
        }
        let result = (|| -> Result<()> {
            let mut sock = connect_for_io(cfg.addr)?;
            sock.write_all(&req).context("crr: write")?;
            sock.read_exact(&mut resp)
                .map_err(|e| read_error(e, "crr: reading the echo"))?;
            Ok(())
            // Dropped here: close() sends FIN. The client namespace keeps no TIME_WAIT
            // (tcp_max_tw_buckets=0, set by `run`), so ports never run out.
        })();
        let end = Instant::now();
        match result {
            Ok(()) => {
                consecutive_errors = 0;
                t.txn(s, start, end, cfg.size as u64);
            }
            Err(e) => {
                t.errors += 1;
                consecutive_errors += 1;
                if consecutive_errors >= 100 {
                    return Err(e.context("crr: 100 failures in a row"));
                }
            }
        }
    }
}

fn stream(cfg: &ClientConfig, s: &Schedule) -> Result<Tally> {
    let sock = connect(cfg.addr).with_context(|| format!("connect to {}", cfg.addr))?;
    // Short timeouts so both threads notice the deadline even when the peer stalls.
    let tick = Duration::from_millis(100);
    sock.set_read_timeout(Some(tick))?;
    sock.set_write_timeout(Some(tick))?;
    let mut wsock = sock.try_clone()?;
    let until = s.until;
    let chunk = payload(cfg.size.max(STREAM_CHUNK));
    let stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer_stopped = stopped.clone();
    let writer = std::thread::spawn(move || -> Result<()> {
        let mut pos = 0;
        while Instant::now() < until {
            match wsock.write(&chunk[pos..]) {
                Ok(n) => pos = (pos + n) % chunk.len(),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The reader shut the socket down: the end, not a failure.
                Err(_) if writer_stopped.load(std::sync::atomic::Ordering::Acquire) => break,
                Err(e) => return Err(e).context("stream: write"),
            }
        }
        Ok(())
    });
    let mut t = Tally::new();
    let mut rsock = sock;
    let mut buf = vec![0u8; STREAM_CHUNK];
    let mut since_chunk = 0usize;
    let mut chunk_start = Instant::now();
    let mut last_data = Instant::now();
    let result = loop {
        let now = Instant::now();
        if now >= s.until || s.max_txns.is_some_and(|m| t.txns >= m) {
            break Ok(());
        }
        match rsock.read(&mut buf) {
            Ok(0) => break Err(anyhow!("stream: the server closed the connection")),
            Ok(n) => {
                let end = Instant::now();
                last_data = end;
                if end >= s.measure_from && end <= s.until {
                    t.bytes += n as u64;
                }
                since_chunk += n;
                while since_chunk >= STREAM_CHUNK {
                    since_chunk -= STREAM_CHUNK;
                    t.txn(s, chunk_start, end, 0);
                    chunk_start = end;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if last_data.elapsed() > IO_TIMEOUT {
                    break Err(anyhow!("stream: no data for {IO_TIMEOUT:?}"));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(anyhow::Error::from(e).context("stream: read")),
        }
    };
    // Unblock the writer if it is still going (tests stop by count, before `until`).
    stopped.store(true, std::sync::atomic::Ordering::Release);
    let _ = rsock.shutdown(std::net::Shutdown::Both);
    let wres = writer
        .join()
        .map_err(|_| anyhow!("stream writer panicked"))?;
    result?;
    wres?;
    Ok(t)
}

/// The GET every http transaction sends.
pub const HTTP_REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: xdptcp-bench\r\n\r\n";

fn http(cfg: &ClientConfig, s: &Schedule) -> Result<Tally> {
    let mut t = Tally::new();
    let mut sock = connect_for_io(cfg.addr)?;
    let mut reader = HttpReader::new();
    loop {
        let start = Instant::now();
        if s.done(start, t.txns) {
            return Ok(t);
        }
        sock.write_all(HTTP_REQUEST).context("http: write")?;
        let body = reader.read_response(&mut sock)?;
        let end = Instant::now();
        t.txn(s, start, end, body as u64);
    }
}

/// Reads HTTP/1.1 responses off a keep-alive connection, bodies by Content-Length.
pub struct HttpReader {
    buf: Vec<u8>,
    /// Bytes of `buf` holding data (the head of the next response may follow a body).
    len: usize,
}

impl Default for HttpReader {
    fn default() -> Self {
        HttpReader::new()
    }
}

impl HttpReader {
    pub fn new() -> HttpReader {
        HttpReader {
            buf: vec![0; STREAM_CHUNK],
            len: 0,
        }
    }

    /// Reads one whole response and returns its body length; the body is not kept.
    pub fn read_response(&mut self, r: &mut impl Read) -> Result<usize> {
        let head_len = loop {
            if let Some(h) = crate::kernel_server::find_head_end(&self.buf[..self.len]) {
                break h;
            }
            if self.len == self.buf.len() {
                bail!("http: response head longer than {} bytes", self.buf.len());
            }
            let n = r
                .read(&mut self.buf[self.len..])
                .map_err(|e| read_error(e, "http: reading the head"))?;
            if n == 0 {
                bail!("http: connection closed before a response");
            }
            self.len += n;
        };
        let body_len = parse_head(&self.buf[..head_len])?;
        // Body bytes already here, then the rest straight off the socket.
        let have = (self.len - head_len).min(body_len);
        let mut left = body_len - have;
        self.buf.copy_within(head_len + have..self.len, 0);
        self.len -= head_len + have;
        while left > 0 {
            let want = left.min(self.buf.len());
            let n = r
                .read(&mut self.buf[..want])
                .map_err(|e| read_error(e, "http: reading the body"))?;
            if n == 0 {
                bail!("http: connection closed inside a body");
            }
            left -= n;
        }
        Ok(body_len)
    }
}

/// Checks the status line is `HTTP/1.x 200` and returns Content-Length.
pub fn parse_head(head: &[u8]) -> Result<usize> {
    let text = std::str::from_utf8(head).context("http: head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status = lines.next().unwrap_or("");
    let mut parts = status.split_whitespace();
    let (version, code) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !version.starts_with("HTTP/1.") || code != "200" {
        bail!("http: unexpected status line {status:?}");
    }
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                return value.trim().parse().context("http: bad Content-Length");
            }
        }
    }
    bail!("http: response without Content-Length")
}

/// An in-flight nonblocking connect.
struct Pending {
    fd: i32,
    start: Instant,
}

fn syn(cfg: &ClientConfig, s: &Schedule) -> Result<Tally> {
    let inflight = cfg.conns.max(1) * SYN_INFLIGHT_PER_CONN;
    let mut t = Tally::new();
    // Safety: epoll_create1 has no memory arguments; closed at the end of this function.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err(io::Error::last_os_error()).context("epoll_create1");
    }
    let mut slots: Vec<Option<Pending>> = (0..inflight).map(|_| None).collect();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; inflight];
    let mut consecutive_errors = 0u32;
    let result = loop {
        let now = Instant::now();
        if s.done(now, t.txns) {
            break Ok(());
        }
        for (i, slot) in slots.iter_mut().enumerate() {
            if slot.is_none() {
                match start_connect(cfg.addr, ep, i as u64) {
                    Ok(p) => *slot = Some(p),
                    Err(e) => {
                        t.errors += 1;
                        consecutive_errors += 1;
                        if consecutive_errors >= 1000 {
                            return Err(anyhow::Error::from(e).context("syn: connect"));
                        }
                    }
                }
            } else if let Some(p) = slot {
                if now - p.start > IO_TIMEOUT {
                    close_rst(p.fd);
                    *slot = None;
                    t.errors += 1;
                }
            }
        }
        // Safety: `events` is a valid buffer of the length passed.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, 10) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break Err(anyhow::Error::from(e).context("epoll_wait"));
        }
        let end = Instant::now();
        for ev in &events[..n as usize] {
            let i = ev.u64 as usize;
            let Some(p) = slots[i].take() else { continue };
            if socket_error(p.fd) == 0 {
                consecutive_errors = 0;
                t.txn(s, p.start, end, 0);
            } else {
                t.errors += 1;
                consecutive_errors += 1;
            }
            close_rst(p.fd);
        }
        if consecutive_errors >= 1000 {
            break Err(anyhow!("syn: 1000 failed handshakes in a row"));
        }
    };
    for p in slots.into_iter().flatten() {
        close_rst(p.fd);
    }
    // Safety: our own epoll fd, closed once.
    unsafe { libc::close(ep) };
    result.map(|()| t)
}

/// Handshakes in flight per `--conns` in syn mode.
pub const SYN_INFLIGHT_PER_CONN: usize = 16;

fn start_connect(addr: SocketAddr, ep: i32, token: u64) -> io::Result<Pending> {
    // Safety: plain socket syscalls on a descriptor we own (closed on error here, or by the
    // caller through `close_rst`), with correctly sized arguments.
    unsafe {
        let sa = RawSockAddr::new(addr);
        let fd = libc::socket(
            sa.family(),
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let start = Instant::now();
        let r = libc::connect(fd, sa.as_ptr(), sa.socklen());
        if r != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                libc::close(fd);
                return Err(e);
            }
        }
        // Already connected or not, EPOLLOUT reports completion.
        let mut ev = libc::epoll_event {
            events: libc::EPOLLOUT as u32,
            u64: token,
        };
        if libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) != 0 {
            let e = io::Error::last_os_error();
            libc::close(fd);
            return Err(e);
        }
        Ok(Pending { fd, start })
    }
}

fn socket_error(fd: i32) -> i32 {
    let mut err: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // Safety: getsockopt into a local int of the size given.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            &mut err as *mut _ as _,
            &mut len,
        )
    };
    if r != 0 {
        return -1;
    }
    err
}

/// Closes with SO_LINGER {on, 0}: an RST instead of a FIN, so no TIME_WAIT and no port
/// exhaustion however many handshakes are made.
fn close_rst(fd: i32) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // Safety: setsockopt with a local linger struct of the size given, then close of our fd
    // (which also removes it from the epoll set).
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const _ as _,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
        libc::close(fd);
    }
}

/// A socket address as the kernel takes it (`connect`, `bind`): a `sockaddr_in` for IPv4,
/// a `sockaddr_in6` for IPv6.
#[derive(Clone, Copy)]
pub enum RawSockAddr {
    V4(libc::sockaddr_in),
    V6(libc::sockaddr_in6),
}

impl RawSockAddr {
    pub fn new(a: SocketAddr) -> RawSockAddr {
        match a {
            SocketAddr::V4(a) => RawSockAddr::V4(libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*a.ip()).to_be(),
                },
                sin_zero: [0; 8],
            }),
            // As std lays it out: flow info and scope id as given, the address in network
            // order (its octets).
            SocketAddr::V6(a) => RawSockAddr::V6(libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            }),
        }
    }

    /// `AF_INET` or `AF_INET6`, for `socket()`.
    pub fn family(&self) -> libc::c_int {
        match self {
            RawSockAddr::V4(_) => libc::AF_INET,
            RawSockAddr::V6(_) => libc::AF_INET6,
        }
    }

    /// The pointer to pass as `const struct sockaddr *` (valid while `self` is).
    pub fn as_ptr(&self) -> *const libc::sockaddr {
        match self {
            RawSockAddr::V4(sa) => sa as *const libc::sockaddr_in as *const libc::sockaddr,
            RawSockAddr::V6(sa) => sa as *const libc::sockaddr_in6 as *const libc::sockaddr,
        }
    }

    /// The length to pass with [`RawSockAddr::as_ptr`].
    pub fn socklen(&self) -> libc::socklen_t {
        (match self {
            RawSockAddr::V4(_) => std::mem::size_of::<libc::sockaddr_in>(),
            RawSockAddr::V6(_) => std::mem::size_of::<libc::sockaddr_in6>(),
        }) as libc::socklen_t
    }

    /// The address back (the inverse of [`RawSockAddr::new`]).
    pub fn to_socket_addr(&self) -> SocketAddr {
        match self {
            RawSockAddr::V4(sa) => SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr)),
                u16::from_be(sa.sin_port),
            )),
            RawSockAddr::V6(sa) => SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sa.sin6_addr.s6_addr),
                u16::from_be(sa.sin6_port),
                sa.sin6_flowinfo,
                sa.sin6_scope_id,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_round_trip_through_their_raw_form() {
        for text in [
            "10.1.2.3:7777",
            "0.0.0.0:0",
            "[fd00:1:2::1]:7777",
            "[::1]:65535",
            "[::ffff:10.0.0.1]:80",
        ] {
            let a: SocketAddr = text.parse().unwrap();
            assert_eq!(RawSockAddr::new(a).to_socket_addr(), a, "{text}");
        }
        let scoped = SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 7, 5, 3));
        assert_eq!(RawSockAddr::new(scoped).to_socket_addr(), scoped);
    }

    #[test]
    fn raw_v6_addresses_are_laid_out_for_the_kernel() {
        let a: SocketAddr = "[fd00::1]:7777".parse().unwrap();
        let raw = RawSockAddr::new(a);
        assert_eq!(raw.family(), libc::AF_INET6);
        assert_eq!(raw.socklen() as usize, 28);
        let RawSockAddr::V6(sa) = raw else {
            panic!("not v6")
        };
        assert_eq!(sa.sin6_family as i32, libc::AF_INET6);
        // Network byte order on the wire and in the struct.
        assert_eq!(sa.sin6_port.to_ne_bytes(), 7777u16.to_be_bytes());
        assert_eq!(sa.sin6_addr.s6_addr[0..2], [0xfd, 0x00]);
        assert_eq!(sa.sin6_addr.s6_addr[15], 1);
        let v4 = RawSockAddr::new("10.0.0.1:7".parse().unwrap());
        assert_eq!((v4.family(), v4.socklen() as usize), (libc::AF_INET, 16));
    }
}
