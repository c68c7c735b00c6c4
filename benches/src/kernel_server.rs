//! The kernel-socket reference server: one thread, nonblocking sockets, level-triggered epoll,
//! the same applications as the daemon (echo, discard, http with a fixed body).
//!
//! Back-pressure is the same as a careful production server's: while a connection has output
//! the peer has not taken, it is not read (interest switches from EPOLLIN to EPOLLOUT), so
//! memory stays bounded however fast the client writes.
#![allow(unsafe_code)] // epoll and socket options are FFI.

use std::{
    collections::HashMap,
    io::{self, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    str::FromStr,
};

use anyhow::{bail, Context, Result};

/// What the server does with a connection's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    /// Sends every byte back.
    Echo,
    /// Reads and drops.
    Discard,
    /// Answers every request head (`...\r\n\r\n`) with `200 OK` and a body of `body_size`
    /// bytes, keep-alive, in order (pipelining works). Request bodies are not supported.
    Http { body_size: usize },
}

impl FromStr for App {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<App> {
        Ok(match s {
            "echo" => App::Echo,
            "discard" => App::Discard,
            "http" => App::Http { body_size: 64 },
            _ => bail!("unknown app {s:?} (echo, discard, http)"),
        })
    }
}

/// The prebuilt keep-alive response of the http app, headed like the daemon's.
pub fn http_response(body_size: usize) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nServer: xdptcp-bench\r\nContent-Type: text/plain\r\nContent-Length: {body_size}\r\n\r\n"
    )
    .into_bytes();
    r.extend((0..body_size).map(|i| b'a' + (i % 26) as u8));
    r
}

/// Wakes a running [`serve`] loop and makes it return (an eventfd).
pub struct StopHandle(OwnedFd);

impl StopHandle {
    pub fn new() -> Result<StopHandle> {
        // Safety: eventfd has no memory arguments; the fd is owned from here on.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error()).context("eventfd");
        }
        // Safety: fd is a fresh, valid descriptor nobody else owns.
        Ok(StopHandle(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Asks the server loop to return.
    pub fn stop(&self) {
        let one: u64 = 1;
        // Safety: writes 8 bytes from a local u64 to our eventfd.
        unsafe {
            libc::write(
                self.0.as_raw_fd(),
                &one as *const u64 as *const libc::c_void,
                8,
            )
        };
    }
}

const LISTENER: u64 = u64::MAX;
const STOP: u64 = u64::MAX - 1;
const READ_CHUNK: usize = 64 * 1024;
/// Most http responses queued on one connection before it stops reading requests.
const MAX_QUEUED_RESPONSES: usize = 64;

struct Conn {
    stream: TcpStream,
    /// Echo: bytes not yet sent back, from `out_pos`.
    out: Vec<u8>,
    out_pos: usize,
    /// Http: request bytes not yet parsed into a whole head.
    inbuf: Vec<u8>,
    /// Http: whole responses still to send, and how far into the first one we are.
    responses: usize,
    resp_pos: usize,
    /// The peer sent FIN: close once the output is flushed.
    peer_closed: bool,
    /// Current epoll interest is EPOLLOUT (else EPOLLIN).
    writing: bool,
}

impl Conn {
    fn has_output(&self) -> bool {
        self.out_pos < self.out.len() || self.responses > 0
    }
}

/// Accepts and serves connections on `listener` until `stop` is signalled. The listener may
/// be blocking or not; it is made nonblocking.
pub fn serve(listener: TcpListener, app: App, stop: Option<&StopHandle>) -> Result<()> {
    listener.set_nonblocking(true)?;
    // Safety: epoll_create1 has no memory arguments; the fd is owned by `epoll` from here on.
    let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epfd < 0 {
        return Err(io::Error::last_os_error()).context("epoll_create1");
    }
    // Safety: fresh valid descriptor.
    let epoll = unsafe { OwnedFd::from_raw_fd(epfd) };
    let ep = epoll.as_raw_fd();
    ctl(
        ep,
        libc::EPOLL_CTL_ADD,
        listener.as_raw_fd(),
        libc::EPOLLIN as u32,
        LISTENER,
    )?;
    if let Some(stop) = stop {
        ctl(
            ep,
            libc::EPOLL_CTL_ADD,
            stop.0.as_raw_fd(),
            libc::EPOLLIN as u32,
            STOP,
        )?;
    }
    let response = match app {
        App::Http { body_size } => http_response(body_size),
        _ => Vec::new(),
    };
    let mut conns: HashMap<RawFd, Conn> = HashMap::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    loop {
        // Safety: `events` is a valid buffer of the length passed.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, -1) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e).context("epoll_wait");
        }
        for ev in &events[..n as usize] {
            let (token, flags) = (ev.u64, ev.events);
            match token {
                STOP => return Ok(()),
                LISTENER => accept_all(ep, &listener, &mut conns)?,
                fd => {
                    let fd = fd as RawFd;
                    let Some(conn) = conns.get_mut(&fd) else {
                        continue;
                    };
                    let keep = service(conn, flags, app, &response, &mut buf).unwrap_or(false);
                    if !keep {
                        // Closing the fd removes it from the epoll set.
                        conns.remove(&fd);
                    } else {
                        let want_write = conn.has_output();
                        if want_write != conn.writing {
                            conn.writing = want_write;
                            let interest = if want_write {
                                libc::EPOLLOUT
                            } else {
                                libc::EPOLLIN
                            };
                            ctl(ep, libc::EPOLL_CTL_MOD, fd, interest as u32, fd as u64)?;
                        }
                    }
                }
            }
        }
    }
}

fn accept_all(ep: RawFd, listener: &TcpListener, conns: &mut HashMap<RawFd, Conn>) -> Result<()> {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(true)?;
                stream.set_nodelay(true)?;
                let fd = stream.as_raw_fd();
                ctl(ep, libc::EPOLL_CTL_ADD, fd, libc::EPOLLIN as u32, fd as u64)?;
                let conn = Conn {
                    stream,
                    out: Vec::new(),
                    out_pos: 0,
                    inbuf: Vec::new(),
                    responses: 0,
                    resp_pos: 0,
                    peer_closed: false,
                    writing: false,
                };
                conns.insert(fd, conn);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            // A connection reset before it was accepted, or fd/memory pressure: skip it.
            Err(e) if is_transient_accept_error(&e) => continue,
            Err(e) => return Err(e).context("accept"),
        }
    }
}

fn is_transient_accept_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ECONNABORTED | libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    ) || e.kind() == io::ErrorKind::Interrupted
}

/// Handles readiness on one connection; Ok(false) (or an error) closes it.
fn service(
    conn: &mut Conn,
    flags: u32,
    app: App,
    response: &[u8],
    buf: &mut [u8],
) -> io::Result<bool> {
    if flags & (libc::EPOLLERR as u32) != 0 {
        return Ok(false);
    }
    if conn.has_output() {
        flush(conn, response)?;
        if conn.has_output() {
            return Ok(true);
        }
        if conn.peer_closed {
            return Ok(false);
        }
    }
    // Read while there is something to read and no output is pending (back-pressure).
    loop {
        let n = match conn.stream.read(buf) {
            Ok(0) => {
                conn.peer_closed = true;
                return Ok(conn.has_output());
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        match app {
            App::Discard => {}
            App::Echo => {
                conn.out.clear();
                conn.out_pos = 0;
                conn.out.extend_from_slice(&buf[..n]);
            }
            App::Http { .. } => {
                conn.inbuf.extend_from_slice(&buf[..n]);
                let mut start = 0;
                while let Some(end) = find_head_end(&conn.inbuf[start..]) {
                    start += end;
                    conn.responses += 1;
                }
                conn.inbuf.drain(..start);
                if conn.inbuf.len() > 64 * 1024 {
                    return Ok(false); // a head this long is not a benchmark client
                }
            }
        }
        if conn.has_output() {
            flush(conn, response)?;
            if conn.has_output() && (app == App::Echo || conn.responses >= MAX_QUEUED_RESPONSES) {
                return Ok(true);
            }
        }
    }
}

/// Writes pending output until done or the socket is full.
fn flush(conn: &mut Conn, response: &[u8]) -> io::Result<()> {
    while conn.out_pos < conn.out.len() {
        match conn.stream.write(&conn.out[conn.out_pos..]) {
            Ok(n) => conn.out_pos += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    while conn.responses > 0 {
        match conn.stream.write(&response[conn.resp_pos..]) {
            Ok(n) => {
                conn.resp_pos += n;
                if conn.resp_pos == response.len() {
                    conn.resp_pos = 0;
                    conn.responses -= 1;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Length of the request head at the start of `buf` (through `\r\n\r\n`), if complete.
pub fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

fn ctl(ep: RawFd, op: i32, fd: RawFd, events: u32, token: u64) -> Result<()> {
    let mut ev = libc::epoll_event { events, u64: token };
    // Safety: `ev` is a valid epoll_event for the duration of the call.
    if unsafe { libc::epoll_ctl(ep, op, fd, &mut ev) } != 0 {
        return Err(io::Error::last_os_error()).context("epoll_ctl");
    }
    Ok(())
}

/// A listening socket with SO_REUSEADDR and a deep backlog (the handshake benchmark keeps
/// many connections in flight), bound to `addr`.
pub fn listen(addr: SocketAddr) -> Result<TcpListener> {
    let sa = crate::client::RawSockAddr::new(addr);
    // Safety: plain socket syscalls on a descriptor owned by `fd` from creation on, with
    // correctly sized int / sockaddr_in(6) arguments.
    unsafe {
        let raw = libc::socket(sa.family(), libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if raw < 0 {
            return Err(io::Error::last_os_error()).context("socket");
        }
        let fd = OwnedFd::from_raw_fd(raw);
        let one: libc::c_int = 1;
        let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        libc::setsockopt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            &one as *const _ as _,
            len,
        );
        // Several servers may share a port (the kernel spreads connections over them):
        // `conns` runs one per 15,000 connections, as each may hold only RLIMIT_NOFILE.
        libc::setsockopt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_REUSEPORT,
            &one as *const _ as _,
            len,
        );
        if libc::bind(raw, sa.as_ptr(), sa.socklen()) != 0 {
            return Err(io::Error::last_os_error()).with_context(|| format!("bind {addr}"));
        }
        if libc::listen(raw, 4096) != 0 {
            return Err(io::Error::last_os_error()).context("listen");
        }
        Ok(TcpListener::from(fd))
    }
}
