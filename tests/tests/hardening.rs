//! Issue "Hardening": the stack under hostile or careless peers. A spoofed SYN flood (SYN
//! cookies) side by side with the kernel, RFC 5961 blind-attack defences, a corpus of malformed
//! frames during a long transfer, connection/idle limits and a flat memory footprint, kill -9
//! and restart, and a graceful SIGTERM drain under traffic.
//!
//! Run with `cargo xtask test` (sets `XDPTCP_BIN`); without it these tests fail on purpose.
#![allow(unsafe_code)] // the flood's AF_PACKET socket and sendmmsg(2) are FFI.

use std::{
    collections::BTreeMap,
    io::{self, Read, Write},
    net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream},
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc, Arc,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use netns_tests::{
    raw::{build_frame, fill_checksums, flags, Handshake, ETH_LEN, IP_CHECKSUM_AT, IP_LEN},
    wait_until, Daemon, ExitCounters, Netns, RawPeer, TcpSeg, Testbed,
};

const ECHO: u16 = 7;
const HTTP: u16 = 80;
const T: Duration = Duration::from_secs(5);

fn daemon(tb: &Testbed, args: &[&str]) -> Daemon {
    Daemon::start(tb, args).expect("daemon starts and prints ready")
}

/// SIGTERM, exit 0, the counters it printed (the output is shown on failure).
fn stop(daemon: Daemon) -> (ExitCounters, String) {
    daemon.stop()
}

/// The `queue <q> drops: reason=n ...` lines of the exit output, summed over queues.
fn drop_reasons(out: &str) -> BTreeMap<String, u64> {
    netns_tests::counters::drop_reasons(out)
}

fn reason(m: &BTreeMap<String, u64>, r: &str) -> u64 {
    m.get(r).copied().unwrap_or(0)
}

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// FNV-1a, 64 bits: a streaming hash, independent of how the bytes are split into reads.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, data: &[u8]) {
        for &b in data {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The MAC address of `ifname` in `ns`.
fn mac_of(ns: &Netns, ifname: &str) -> [u8; 6] {
    let text = ns
        .run_ok(&["cat", &format!("/sys/class/net/{ifname}/address")])
        .unwrap();
    let mut mac = [0u8; 6];
    for (b, p) in mac.iter_mut().zip(text.trim().split(':')) {
        *b = u8::from_str_radix(p, 16).unwrap();
    }
    mac
}

/// p50, p99 and max of `v` (sorted here).
fn percentiles(v: &mut [Duration]) -> (Duration, Duration, Duration) {
    if v.is_empty() {
        return Default::default();
    }
    v.sort();
    let at = |p: usize| v[(v.len() * p / 100).min(v.len() - 1)];
    (at(50), at(99), v[v.len() - 1])
}

/// Connects from the client namespace with a timeout (on a helper thread there).
fn connect(tb: &Testbed, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    tb.connect(port, timeout)
}

/// Writes `msg` and reads the same bytes back within `T`.
fn echo_once(s: &mut TcpStream, msg: &[u8]) -> io::Result<()> {
    s.set_read_timeout(Some(T))?;
    s.write_all(msg)?;
    let mut back = vec![0u8; msg.len()];
    s.read_exact(&mut back)?;
    if back != msg {
        return Err(io::Error::other("echo differs"));
    }
    Ok(())
}

// ---- a send-only AF_PACKET socket, for floods ------------------------------------------------

/// An AF_PACKET socket in the client namespace that receives nothing (protocol 0) and sends
/// prebuilt frames in batches with sendmmsg(2).
struct PacketSender {
    fd: OwnedFd,
    addr: libc::sockaddr_ll,
}

impl PacketSender {
    fn new(tb: &Testbed) -> PacketSender {
        let ifname = tb.cli_if.clone();
        let dst_mac = mac_of(&tb.srv, &tb.srv_if);
        tb.cli.exec_in(move || {
            let name = std::ffi::CString::new(ifname).unwrap();
            // Safety: if_nametoindex reads a NUL-terminated string.
            let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) } as i32;
            assert!(ifindex > 0, "no client interface");
            // Safety: plain socket(2); protocol 0 receives nothing.
            let raw =
                unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
            assert!(raw >= 0, "socket: {}", io::Error::last_os_error());
            // Safety: a fresh descriptor owned by nobody else.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            // Safety: an all-zero sockaddr_ll is valid; the fields below are integers.
            let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            addr.sll_family = libc::AF_PACKET as u16;
            addr.sll_ifindex = ifindex;
            addr.sll_halen = 6;
            addr.sll_addr[..6].copy_from_slice(&dst_mac);
            PacketSender { fd, addr }
        })
    }

    /// Sends `frames` over and over, in batches of 64, as fast as sendmmsg(2) takes them, until
    /// `stop` is set, `max_frames` were sent or `max_time` passed. Returns (frames sent, send
    /// errors, time taken).
    fn flood(
        &self,
        frames: &[Vec<u8>],
        max_frames: u64,
        max_time: Duration,
        stop: &AtomicBool,
        sent: &AtomicU64,
    ) -> (u64, u64, Duration) {
        let mut addr = self.addr;
        let mut iovs: Vec<libc::iovec> = frames
            .iter()
            .map(|f| libc::iovec {
                iov_base: f.as_ptr() as *mut libc::c_void,
                iov_len: f.len(),
            })
            .collect();
        let mut msgs: Vec<libc::mmsghdr> = iovs
            .iter_mut()
            .map(|iov| {
                // Safety: an all-zero mmsghdr is valid; pointers set below outlive the sends.
                let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
                h.msg_hdr.msg_name = &mut addr as *mut _ as *mut libc::c_void;
                h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
                h.msg_hdr.msg_iov = iov;
                h.msg_hdr.msg_iovlen = 1;
                h
            })
            .collect();
        let start = Instant::now();
        let (mut total, mut errors, mut at) = (0u64, 0u64, 0usize);
        while total < max_frames && !stop.load(Ordering::Relaxed) && start.elapsed() < max_time {
            let n = 64.min(msgs.len() - at).min((max_frames - total) as usize);
            // Safety: `n` initialised mmsghdrs whose buffers and address are alive.
            let r = unsafe {
                libc::sendmmsg(self.fd.as_raw_fd(), msgs[at..].as_mut_ptr(), n as u32, 0)
            };
            if r < 0 {
                errors += 1;
                thread::yield_now();
                continue;
            }
            total += r as u64;
            sent.store(total, Ordering::Relaxed);
            at = (at + r as usize) % msgs.len();
        }
        (total, errors, start.elapsed())
    }
}

// ---- 1. SYN flood ----------------------------------------------------------------------------

/// What one flood run measured.
struct FloodRun {
    sent: u64,
    send_errors: u64,
    flood_time: Duration,
    /// Clients that completed while the flood was still running.
    under_flood: usize,
    latencies: Vec<Duration>,
    failures: Vec<String>,
}

impl FloodRun {
    fn rate(&self) -> f64 {
        self.sent as f64 / self.flood_time.as_secs_f64()
    }
}

const FLOOD_MAX_FRAMES: u64 = 3_000_000;
const FLOOD_MAX_TIME: Duration = Duration::from_secs(10);
const FLOOD_CLIENTS: usize = 100;

/// `count` spoofed SYN frames to the server's `port`: sources from 10.X.Y.100-250 (addresses
/// of the client subnet no host owns), random source ports and sequence numbers.
fn spoofed_syns(tb: &Testbed, port: u16, count: usize) -> Vec<Vec<u8>> {
    let (src_mac, dst_mac) = (mac_of(&tb.cli, &tb.cli_if), mac_of(&tb.srv, &tb.srv_if));
    let o = tb.cli_ip.octets();
    let mut rng = Rng::new(0x5f100d);
    (0..count)
        .map(|i| {
            let src = Ipv4Addr::new(o[0], o[1], o[2], 100 + rng.below(151) as u8);
            let seg = TcpSeg {
                src_port: 1024 + rng.below(64512) as u16,
                dst_port: port,
                seq: rng.next_u64() as u32,
                flags: flags::SYN,
                window: 64240,
                options: vec![2, 4, 0x05, 0xb4],
                ..TcpSeg::default()
            };
            build_frame(src_mac, dst_mac, src, tb.srv_ip, i as u16, &seg)
        })
        .collect()
}

/// Floods `port` with spoofed SYNs on a thread while `FLOOD_CLIENTS` kernel clients (10
/// threads of 10, each thread starting one every 200 ms so that they span the flood) connect,
/// echo 1 KiB and close; the flood stops when they are done (or at its bounds).
fn flood_with_clients(tb: &Testbed, port: u16) -> FloodRun {
    let frames = spoofed_syns(tb, port, 1 << 16);
    let sender = PacketSender::new(tb);
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let flood = {
        let (stop, sent) = (stop.clone(), sent.clone());
        thread::spawn(move || {
            let r = sender.flood(&frames, FLOOD_MAX_FRAMES, FLOOD_MAX_TIME, &stop, &sent);
            (r, Instant::now())
        })
    };
    wait_until("the flood under way", T, || {
        (sent.load(Ordering::Relaxed) >= 20_000 || flood.is_finished()).then_some(())
    })
    .unwrap();
    assert!(
        !flood.is_finished(),
        "the flood ended before the clients began"
    );

    let addr = SocketAddr::V4(tb.srv_addr(port));
    let (tx, rx) = mpsc::channel();
    for t in 0..10 {
        let tx = tx.clone();
        tb.cli.spawn_in(move || {
            let first = Instant::now();
            for i in 0..FLOOD_CLIENTS / 10 {
                let at = first + Duration::from_millis(200 * i as u64 + 20 * t as u64);
                thread::sleep(at.saturating_duration_since(Instant::now()));
                let r = (|| -> Result<Duration, String> {
                    let start = Instant::now();
                    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(20))
                        .map_err(|e| format!("connect: {e}"))?;
                    let latency = start.elapsed();
                    let mut msg = vec![0u8; 1024];
                    Rng::new((t * 100 + i) as u64).fill(&mut msg);
                    echo_once(&mut s, &msg).map_err(|e| format!("echo: {e}"))?;
                    Ok(latency)
                })();
                let _ = tx.send((r, Instant::now()));
            }
        });
    }
    drop(tx);
    let mut done = Vec::new();
    while let Ok(r) = rx.recv_timeout(Duration::from_secs(60)) {
        done.push(r);
        if done.len() == FLOOD_CLIENTS {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let ((total, send_errors, flood_time), flood_end) = flood.join().unwrap();
    let mut run = FloodRun {
        sent: total,
        send_errors,
        flood_time,
        under_flood: done.iter().filter(|(_, at)| *at <= flood_end).count(),
        latencies: Vec::new(),
        failures: Vec::new(),
    };
    for (r, _) in done {
        match r {
            Ok(l) => run.latencies.push(l),
            Err(e) => run.failures.push(e),
        }
    }
    let missing = FLOOD_CLIENTS - run.latencies.len() - run.failures.len();
    if missing > 0 {
        run.failures
            .push(format!("{missing} clients did not finish within 60 s"));
    }
    run
}

/// A TcpExt counter (`SyncookiesSent`, `ListenDrops`) of a namespace's kernel.
fn tcp_ext(ns: &Netns, name: &str) -> u64 {
    let text = ns.run_ok(&["cat", "/proc/net/netstat"]).unwrap();
    let mut ext = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let (names, values) = (ext.next().unwrap(), ext.next().unwrap());
    let i = names.split_whitespace().position(|n| n == name).unwrap();
    values.split_whitespace().nth(i).unwrap().parse().unwrap()
}

/// A kernel echo server in the server namespace (a thread per connection); stopped on drop.
struct KernelEcho {
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl KernelEcho {
    fn start(tb: &Testbed, port: u16) -> KernelEcho {
        let addr = tb.srv_addr(port);
        let listener = tb
            .srv
            .exec_in(move || TcpListener::bind(addr))
            .expect("kernel listener binds");
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let accept = thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut c, _)) => {
                        thread::spawn(move || {
                            let _ = c.set_nonblocking(false);
                            let _ = c.set_read_timeout(Some(Duration::from_secs(20)));
                            let mut buf = [0u8; 16384];
                            while let Ok(n) = c.read(&mut buf) {
                                if n == 0 || c.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        KernelEcho {
            stop,
            accept: Some(accept),
        }
    }
}

impl Drop for KernelEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn print_flood(label: &str, r: &mut FloodRun, extra: &str) {
    let (p50, p99, max) = percentiles(&mut r.latencies);
    println!(
        "{label:>7}: flood {} SYNs in {:.2?} = {:.0} frames/s ({} send errors); clients ok {}/{} \
         ({} finished under the flood); connect p50 {p50:.2?} p99 {p99:.2?} max {max:.2?}; {extra}",
        r.sent,
        r.flood_time,
        r.rate(),
        r.send_errors,
        r.latencies.len(),
        FLOOD_CLIENTS,
        r.under_flood,
    );
}

#[test]
fn spoofed_syn_flood_real_clients_still_connect_with_syn_cookies() {
    // The stack.
    let tb = Testbed::new(1).unwrap();
    let d = daemon(
        &tb,
        &[
            "--port",
            "7",
            "--app",
            "echo",
            "--max-half-open",
            "64",
            "--drain-ms",
            "500",
        ],
    );
    let rx_before = tb.srv_rx_queue_packets().unwrap()[0];
    let mut stack = flood_with_clients(&tb, ECHO);
    let rx_frames = tb.srv_rx_queue_packets().unwrap()[0] - rx_before;
    let (c, out) = stop(d);
    let drops = drop_reasons(&out);
    print_flood(
        "xdptcp",
        &mut stack,
        &format!(
            "veth rx {rx_frames}; daemon rx_frames={} rx_ring_full={} rx_dropped={} \
             syn_cookies={} opened={} tx_dropped={} drops={drops:?}",
            c.total("rx_frames"),
            c.total("rx_ring_full"),
            c.total("rx_dropped"),
            c.total("syn_cookies"),
            c.total("opened"),
            c.total("tx_dropped"),
        ),
    );

    // The kernel, same testbed, the daemon gone.
    assert!(!tb.srv_xdp_attached().unwrap());
    let cookies_before = tcp_ext(&tb.srv, "SyncookiesSent");
    let listen_drops_before = tcp_ext(&tb.srv, "ListenDrops");
    let server = KernelEcho::start(&tb, ECHO);
    let mut kernel = flood_with_clients(&tb, ECHO);
    drop(server);
    let syncookies = tb
        .srv
        .run_ok(&["sysctl", "-n", "net.ipv4.tcp_syncookies"])
        .unwrap();
    print_flood(
        "kernel",
        &mut kernel,
        &format!(
            "tcp_syncookies={} SyncookiesSent +{} ListenDrops +{}",
            syncookies.trim(),
            tcp_ext(&tb.srv, "SyncookiesSent") - cookies_before,
            tcp_ext(&tb.srv, "ListenDrops") - listen_drops_before,
        ),
    );

    assert!(
        stack.failures.is_empty(),
        "xdptcp: {} clients failed: {:?}",
        stack.failures.len(),
        &stack.failures[..stack.failures.len().min(10)]
    );
    assert!(
        kernel.failures.is_empty(),
        "kernel: {} clients failed: {:?}",
        kernel.failures.len(),
        &kernel.failures[..kernel.failures.len().min(10)]
    );
    assert!(c.total("syn_cookies") > 0, "no SYN cookies sent: {c:?}");
    assert!(
        c.total("opened") >= FLOOD_CLIENTS as u64,
        "opened fewer than the real clients: {c:?}"
    );
}

// ---- 2. RFC 5961 -----------------------------------------------------------------------------

/// The next segment from the stack's echo port, within `T`.
fn expect_seg(peer: &RawPeer, what: &str) -> TcpSeg {
    peer.recv_matching(T, |r| r.tcp.src_port == ECHO)
        .unwrap()
        .unwrap_or_else(|| panic!("no {what} within {T:?}"))
        .tcp
}

/// Asserts `seg` is a bare ACK (no SYN/FIN/RST, no data) acknowledging `ack` from `seq`.
fn assert_ack(seg: &TcpSeg, seq: u32, ack: u32, what: &str) {
    assert_eq!(
        seg.flags & (flags::SYN | flags::FIN | flags::RST | flags::ACK),
        flags::ACK,
        "{what}: {seg:?}"
    );
    assert_eq!((seg.seq, seg.ack), (seq, ack), "{what}: {seg:?}");
    assert!(seg.payload.is_empty(), "{what}: {seg:?}");
}

/// Sends `data` on `hs` and reads it back from the echo app, acknowledging it; fails on RST.
fn raw_echo(peer: &RawPeer, hs: &mut Handshake, data: &[u8]) {
    peer.send(&hs.seg(flags::ACK | flags::PSH, data)).unwrap();
    hs.snd_nxt = hs.snd_nxt.wrapping_add(data.len() as u32);
    let mut got = Vec::new();
    let deadline = Instant::now() + T;
    while got.len() < data.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let r = peer
            .recv_matching(left, |r| r.tcp.src_port == ECHO)
            .unwrap()
            .unwrap_or_else(|| panic!("echo of {data:?}: got {got:?} within {T:?}"));
        let s = r.tcp;
        assert!(!s.has(flags::RST), "RST instead of the echo: {s:?}");
        if s.payload.is_empty() {
            continue;
        }
        assert_eq!(s.seq, hs.rcv_nxt, "echo out of order: {s:?}");
        got.extend_from_slice(&s.payload);
        hs.rcv_nxt = hs.rcv_nxt.wrapping_add(s.payload.len() as u32);
    }
    assert_eq!(got, data);
    peer.send(&hs.seg(flags::ACK, &[])).unwrap();
}

/// A fresh raw connection to echo on `port`, checked with one round trip.
fn fresh(tb: &Testbed, port: u16, iss: u32) -> (RawPeer, Handshake) {
    let peer = RawPeer::new(tb, port).unwrap();
    let mut hs = peer.handshake(ECHO, iss).unwrap();
    raw_echo(&peer, &mut hs, b"hello");
    (peer, hs)
}

#[test]
fn rfc_5961_blind_rst_syn_and_ack_get_challenge_acks_and_the_connection_survives() {
    let tb = Testbed::new(1).unwrap();
    let d = daemon(&tb, &["--port", "7", "--app", "echo", "--drain-ms", "300"]);

    // (a) RST in the window but not at RCV.NXT (RFC 5961 3.2): challenge ACK, no reset.
    let (peer, mut hs) = fresh(&tb, 46001, 1_000_000);
    let mut rst = hs.seg(flags::RST, &[]);
    rst.seq = hs.snd_nxt.wrapping_add(1000);
    peer.send(&rst).unwrap();
    let ack = expect_seg(&peer, "challenge ACK to an in-window RST");
    assert_ack(&ack, hs.rcv_nxt, hs.snd_nxt, "challenge ACK to RST");
    raw_echo(&peer, &mut hs, b"after a blind RST");

    // (b) SYN on an established connection (RFC 5961 4.2): challenge ACK, no reset.
    let (peer_b, mut hs_b) = fresh(&tb, 46002, 2_000_000);
    peer_b.send(&hs_b.seg(flags::SYN, &[])).unwrap();
    let ack = expect_seg(&peer_b, "challenge ACK to a SYN");
    assert_ack(&ack, hs_b.rcv_nxt, hs_b.snd_nxt, "challenge ACK to SYN");
    raw_echo(&peer_b, &mut hs_b, b"after a SYN");

    // (c) ACK of data never sent, SEG.ACK > SND.NXT (RFC 5961 5.2, RFC 9293 3.10.7.4): an ACK
    // back, the segment dropped, the connection unharmed.
    let (peer_c, mut hs_c) = fresh(&tb, 46003, 3_000_000);
    let mut bad = hs_c.seg(flags::ACK, &[]);
    bad.ack = hs_c.rcv_nxt.wrapping_add(100_000);
    peer_c.send(&bad).unwrap();
    let ack = expect_seg(&peer_c, "ACK to an ACK of unsent data");
    assert_ack(&ack, hs_c.rcv_nxt, hs_c.snd_nxt, "ACK to a too-new ACK");
    raw_echo(&peer_c, &mut hs_c, b"after a bad ACK");

    // (d) Control: RST exactly at RCV.NXT resets; a later segment is answered with RST.
    let (peer_d, hs_d) = fresh(&tb, 46004, 4_000_000);
    peer_d.send(&hs_d.seg(flags::RST, &[])).unwrap();
    peer_d
        .expect_silence(Duration::from_millis(300))
        .expect("no answer to an exact RST");
    peer_d
        .send(&hs_d.seg(flags::ACK | flags::PSH, b"anyone?"))
        .unwrap();
    let r = expect_seg(&peer_d, "RST for data after the reset");
    assert!(r.has(flags::RST), "expected RST, got {r:?}");
    assert_eq!(r.seq, hs_d.rcv_nxt, "{r:?}");

    // The first three are still alive at the end.
    raw_echo(&peer, &mut hs, b"a");
    raw_echo(&peer_b, &mut hs_b, b"b");
    raw_echo(&peer_c, &mut hs_c, b"c");

    let (c, out) = stop(d);
    let drops = drop_reasons(&out);
    println!("drops: {drops:?}; reset={}", c.total("reset"));
    assert!(reason(&drops, "bad_rst") >= 1, "{drops:?}");
    assert!(reason(&drops, "unexpected_syn") >= 1, "{drops:?}");
    assert!(reason(&drops, "bad_ack") >= 1, "{drops:?}");
    assert_eq!(c.total("opened"), 4, "{c:?}");
    assert!(
        c.total("reset") >= 1,
        "the exact RST was not counted: {c:?}"
    );
}

// ---- 3. malformed frames during a transfer ---------------------------------------------------

/// The corpus of malformed (and a few odd but valid) frames aimed at the served port, from the
/// client's address: each from its own source port, and with bad checksums on the transfer's
/// 4-tuple `(kport -> ECHO)`. The truncated Ethernet frame is refused by sendto.
fn malformed_corpus(
    tb: &Testbed,
    peer: &RawPeer,
    kport: u16,
    rng: &mut Rng,
) -> Vec<(&'static str, Vec<u8>)> {
    let mut c: Vec<(&'static str, Vec<u8>)> = Vec::new();
    let (cli_mac, srv_mac) = (peer.local_mac, peer.remote_mac);
    // A fresh source port for every frame, below the kernel's ephemeral range: whatever a frame
    // starts (a SYN-ACK to a tolerated SYN) the client kernel resets, and no frame meets a
    // connection an earlier one opened.
    let sport = std::cell::Cell::new(20_000 + rng.below(10_000) as u16);
    let frame = |seg: &TcpSeg| build_frame(cli_mac, srv_mac, tb.cli_ip, tb.srv_ip, 9, seg);
    let base_seg = |f: u8| TcpSeg {
        src_port: {
            sport.set(sport.get() + 1);
            sport.get()
        },
        dst_port: ECHO,
        seq: 0x1234_5678,
        flags: f,
        window: 64240,
        ..TcpSeg::default()
    };
    let good_ack = frame(&base_seg(flags::ACK));
    let good_syn = frame(&base_seg(flags::SYN));

    c.push(("truncated ethernet", good_ack[..10].to_vec()));
    c.push(("ethernet header only", good_ack[..ETH_LEN].to_vec()));
    c.push(("truncated ipv4", good_ack[..ETH_LEN + 12].to_vec()));
    c.push(("truncated tcp (2 bytes)", {
        let mut f = good_ack[..ETH_LEN + IP_LEN + 2].to_vec();
        set_ip_total(&mut f, IP_LEN + 2);
        f
    }));
    c.push(("truncated tcp (12 bytes)", {
        let mut f = good_ack[..ETH_LEN + IP_LEN + 12].to_vec();
        set_ip_total(&mut f, IP_LEN + 12);
        fill_ip_checksum(&mut f);
        f
    }));
    c.push(("ip total length beyond the frame", {
        let mut f = good_ack.clone();
        set_ip_total(&mut f, IP_LEN + 20 + 200);
        fill_ip_checksum(&mut f);
        f
    }));
    c.push(("ihl < 5", {
        let mut f = good_ack.clone();
        f[ETH_LEN] = 0x43;
        f
    }));
    c.push(("ihl 15 beyond the frame", {
        let mut f = good_ack.clone();
        f[ETH_LEN] = 0x4f;
        f
    }));
    c.push(("ihl 15 beyond the total length", {
        let mut f = good_ack.clone();
        f[ETH_LEN] = 0x4f;
        f.resize(f.len() + 60, 0);
        // The port where XDP looks for it with IHL 15.
        f[ETH_LEN + 60 + 2..ETH_LEN + 60 + 4].copy_from_slice(&ECHO.to_be_bytes());
        fill_ip_checksum(&mut f);
        f
    }));
    c.push(("ip version 6 in an ipv4 frame", {
        let mut f = good_ack.clone();
        f[ETH_LEN] = 0x65;
        f
    }));
    c.push(("tcp data offset < 5", {
        let mut f = good_ack.clone();
        f[ETH_LEN + IP_LEN + 12] = 0x30;
        fill_checksums(&mut f);
        f
    }));
    c.push(("tcp data offset beyond the segment", {
        let mut f = good_ack.clone();
        f[ETH_LEN + IP_LEN + 12] = 0xf0;
        fill_checksums(&mut f);
        f
    }));
    let with_options = |opts: &[u8]| {
        let mut s = base_seg(flags::SYN);
        s.options = opts.to_vec();
        frame(&s)
    };
    c.push(("option length 0 (loops)", with_options(&[2, 0, 5, 0xb4])));
    c.push(("unknown option length 0", with_options(&[1, 0xfe, 0, 0])));
    c.push(("option length 1", with_options(&[3, 1, 7, 0])));
    c.push((
        "option overruns the header",
        with_options(&[1, 1, 8, 40, 0, 0, 0, 0, 0, 0, 0, 0]),
    ));
    c.push(("mss option with length 3", with_options(&[2, 3, 5, 0])));
    c.push(("ip options present (valid)", {
        // IHL 6: NOP NOP NOP EOL, then the TCP header.
        let mut f = good_ack[..ETH_LEN + IP_LEN].to_vec();
        f[ETH_LEN] = 0x46;
        f.extend_from_slice(&[1, 1, 1, 0]);
        f.extend_from_slice(&good_ack[ETH_LEN + IP_LEN..]);
        set_ip_total(&mut f, IP_LEN + 4 + 20);
        fill_checksums(&mut f);
        f
    }));
    c.push(("ipv4 fragment, MF set", {
        let mut f = good_syn.clone();
        f[ETH_LEN + 6..ETH_LEN + 8].copy_from_slice(&0x2000u16.to_be_bytes());
        fill_ip_checksum(&mut f);
        f
    }));
    c.push(("ipv4 fragment, offset", {
        let mut f = good_syn.clone();
        f[ETH_LEN + 6..ETH_LEN + 8].copy_from_slice(&0x0003u16.to_be_bytes());
        fill_ip_checksum(&mut f);
        f
    }));
    c.push(("bad ipv4 checksum", {
        let mut f = good_syn.clone();
        f[IP_CHECKSUM_AT] ^= 0x5a;
        f
    }));
    c.push(("bad tcp checksum", {
        let mut f = good_syn.clone();
        f[ETH_LEN + IP_LEN + 16] ^= 0x5a;
        f
    }));
    for (name, fl) in [
        ("SYN+FIN", flags::SYN | flags::FIN),
        ("SYN+RST", flags::SYN | flags::RST),
        ("no flags", 0),
        ("SYN+FIN+PSH+URG (xmas)", 0x2b),
    ] {
        c.push((name, frame(&base_seg(fl))));
    }
    c.push(("URG with urgent pointer", {
        let mut s = base_seg(flags::ACK | flags::URG | flags::PSH);
        s.urgent = 3;
        s.payload = b"urgent!".to_vec();
        frame(&s)
    }));

    // The transfer's own 4-tuple, bad checksums: must change nothing.
    let own = |f: u8, seq: u32, payload: &[u8]| {
        let seg = TcpSeg {
            src_port: kport,
            dst_port: ECHO,
            seq,
            ack: seq ^ 0x5555,
            flags: f,
            window: 0,
            payload: payload.to_vec(),
            ..TcpSeg::default()
        };
        build_frame(cli_mac, srv_mac, tb.cli_ip, tb.srv_ip, 7, &seg)
    };
    for (name, fl) in [
        ("own tuple: RST, bad tcp checksum", flags::RST),
        (
            "own tuple: RST+ACK, bad tcp checksum",
            flags::RST | flags::ACK,
        ),
        ("own tuple: FIN, bad tcp checksum", flags::FIN | flags::ACK),
        ("own tuple: SYN, bad tcp checksum", flags::SYN),
        ("own tuple: data, bad tcp checksum", flags::ACK | flags::PSH),
    ] {
        let mut f = own(fl, rng.next_u64() as u32, b"garbage in the stream");
        f[ETH_LEN + IP_LEN + 16] ^= 0xa5;
        c.push((name, f));
    }
    c.push(("own tuple: RST, bad ip checksum", {
        let mut f = own(flags::RST, rng.next_u64() as u32, &[]);
        f[IP_CHECKSUM_AT] ^= 0xa5;
        f
    }));

    // Random garbage: after an IPv4 ethertype, and after a valid IPv4 header to the port.
    for _ in 0..8 {
        let mut f = good_ack[..ETH_LEN].to_vec();
        let mut junk = vec![0u8; 20 + rng.below(200) as usize];
        rng.fill(&mut junk);
        f.extend_from_slice(&junk);
        c.push(("random bytes after the ethernet header", f));

        let mut f = good_ack[..ETH_LEN + IP_LEN].to_vec();
        let mut junk = vec![0u8; 20 + rng.below(200) as usize];
        rng.fill(&mut junk);
        junk[2..4].copy_from_slice(&ECHO.to_be_bytes());
        f.extend_from_slice(&junk);
        set_ip_total(&mut f, IP_LEN + junk.len());
        fill_ip_checksum(&mut f);
        c.push(("random tcp header and payload to the port", f));
    }
    c
}

fn set_ip_total(f: &mut [u8], total: usize) {
    f[ETH_LEN + 2..ETH_LEN + 4].copy_from_slice(&(total as u16).to_be_bytes());
}

fn fill_ip_checksum(f: &mut [u8]) {
    let ihl = usize::from(f[ETH_LEN] & 0x0f) * 4;
    f[IP_CHECKSUM_AT..IP_CHECKSUM_AT + 2].fill(0);
    let end = (ETH_LEN + ihl).min(f.len());
    let sum = netns_tests::raw::checksum(0, &f[ETH_LEN..end]);
    f[IP_CHECKSUM_AT..IP_CHECKSUM_AT + 2].copy_from_slice(&sum.to_be_bytes());
}

/// Streams `bytes` through echo on `s` (a writer thread, this thread reading); returns the
/// FNV-1a hashes of what was sent and what came back, and the bytes read.
fn stream_hashes(s: &TcpStream, bytes: usize) -> Result<(u64, u64, usize), String> {
    let mut w = s.try_clone().map_err(|e| e.to_string())?;
    let writer = thread::spawn(move || -> Result<u64, String> {
        let (mut rng, mut h) = (Rng::new(77), Fnv::new());
        let mut buf = vec![0u8; 65536];
        let mut sent = 0;
        while sent < bytes {
            let n = buf.len().min(bytes - sent);
            rng.fill(&mut buf[..n]);
            h.update(&buf[..n]);
            w.write_all(&buf[..n])
                .map_err(|e| format!("write at {sent}: {e}"))?;
            sent += n;
        }
        Ok(h.0)
    });
    let mut h = Fnv::new();
    let mut buf = vec![0u8; 65536];
    let mut got = 0;
    let mut r = s;
    let read = loop {
        if got == bytes {
            break Ok(());
        }
        match r.read(&mut buf) {
            Ok(0) => break Err(format!("EOF after {got} of {bytes}")),
            Ok(n) => {
                h.update(&buf[..n]);
                got += n;
            }
            Err(e) => break Err(format!("read at {got} of {bytes}: {e}")),
        }
    };
    let sent = writer.join().map_err(|_| "writer panicked".to_string())??;
    read?;
    Ok((sent, h.0, got))
}

#[test]
fn malformed_frames_during_a_32_mib_transfer_change_nothing() {
    let tb = Testbed::new(1).unwrap();
    let d = daemon(&tb, &["--port", "7", "--app", "echo", "--drain-ms", "300"]);
    let peer = RawPeer::new(&tb, 46100).unwrap();

    // IP options are legal: a SYN with them (IHL 6) is answered with a SYN-ACK.
    {
        let syn = peer.seg(ECHO, flags::SYN, 5000, 0);
        let plain = peer.frame(&syn);
        let mut f = plain[..ETH_LEN + IP_LEN].to_vec();
        f[ETH_LEN] = 0x46;
        f.extend_from_slice(&[1, 1, 1, 0]);
        f.extend_from_slice(&plain[ETH_LEN + IP_LEN..]);
        set_ip_total(&mut f, IP_LEN + 4 + 20);
        fill_checksums(&mut f);
        peer.send_frame(&f).unwrap();
        let sa = expect_seg(&peer, "SYN-ACK to a SYN with IP options");
        assert_eq!(
            (sa.flags & (flags::SYN | flags::ACK | flags::RST), sa.ack),
            (flags::SYN | flags::ACK, 5001),
            "{sa:?}"
        );
        // Abort the half-open connection.
        peer.send(&peer.seg(ECHO, flags::RST, 5001, 0)).unwrap();
    }

    const BYTES: usize = 32 << 20;
    let s = connect(&tb, ECHO, T).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
    let kport = s.local_addr().unwrap().port();
    let start = Instant::now();
    let transfer = thread::spawn(move || {
        let r = stream_hashes(&s, BYTES);
        let _ = s.shutdown(Shutdown::Write);
        r
    });

    let mut rng = Rng::new(99);
    let (mut rounds, mut frames, mut refused) = (0u64, 0u64, 0u64);
    let mut refused_kinds = std::collections::BTreeSet::new();
    let limit = Duration::from_secs(120);
    while !transfer.is_finished() && start.elapsed() < limit && rounds < 100_000 {
        for (name, f) in malformed_corpus(&tb, &peer, kport, &mut rng) {
            match peer.send_frame(&f) {
                Ok(()) => frames += 1,
                Err(_) => {
                    refused += 1;
                    refused_kinds.insert(name);
                }
            }
        }
        rounds += 1;
        thread::sleep(Duration::from_millis(1));
    }
    let result = transfer.join().unwrap();
    let elapsed = start.elapsed();
    // Whatever the corpus provoked (RSTs to the raw port, SYN-ACKs) is not checked here.
    drop(peer);

    let (c, out) = stop(d);
    let drops = drop_reasons(&out);
    println!(
        "32 MiB echoed in {elapsed:.2?} while sending {rounds} rounds of the corpus = {frames} \
         frames ({refused} refused by sendto: {refused_kinds:?})"
    );
    println!(
        "drops: {drops:?}\nxdp: {:?}\nopened={} reset={} rsts_sent={}",
        c.xdp,
        c.total("opened"),
        c.total("reset"),
        c.total("rsts_sent")
    );
    let (sent, got, n) = result.expect("the transfer completes");
    assert_eq!(n, BYTES);
    assert_eq!(sent, got, "the echoed bytes differ");
    assert!(rounds >= 10, "only {rounds} rounds of the corpus were sent");
    for r in [
        "bad_tcp_checksum",
        "bad_ipv4_checksum",
        "bad_tcp_data_offset",
        "bad_tcp_option",
        "bad_ipv4_header_length",
        "truncated_tcp",
        "bad_flags",
    ] {
        assert!(reason(&drops, r) > 0, "{r} not counted: {drops:?}");
    }
    assert!(c.xdp("malformed") > 0, "xdp malformed: {:?}", c.xdp);
    assert!(c.xdp("fragment") > 0, "xdp fragment: {:?}", c.xdp);
}

// ---- 4. limits -------------------------------------------------------------------------------

/// Caps the kernel's receive buffer of `s` (which also ends its autotuning).
fn set_rcvbuf(s: &TcpStream, bytes: libc::c_int) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid socket and a c_int option value of the given size.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&bytes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_RCVBUF: {}", io::Error::last_os_error());
}

#[test]
fn the_memory_budget_refuses_new_connections_with_rst_when_full_and_recovers() {
    // The smallest budget (16 MiB for the one worker) and no connection limit: clients that
    // send and never read make every connection hold what it was sent and what it echoes,
    // until the budget's hard limit refuses the next SYN.
    let tb = Testbed::new(1).unwrap();
    let d = daemon(
        &tb,
        &["--port", "7", "--app", "echo", "--max-memory", "16M"],
    );
    let chunk = vec![0x5a_u8; 256 << 10];
    let mut held: Vec<TcpStream> = Vec::new();
    let accepted = loop {
        assert!(held.len() < 5000, "5000 stuffed connections fit in 16 MiB");
        match connect(&tb, ECHO, T) {
            Ok(mut s) => {
                // A small receive buffer, so the echoes pile up in the stack's send buffer.
                set_rcvbuf(&s, 4096);
                s.set_nonblocking(true).unwrap();
                // What the kernel takes now; it sends it as the stack's windows allow.
                let _ = s.write(&chunk);
                held.push(s);
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => break held.len(),
            Err(e) => panic!("connection {}: {e}", held.len()),
        }
    };
    assert!(accepted >= 10, "refused after only {accepted} connections");
    // Freed memory takes new connections again.
    drop(held);
    let mut s = wait_until("a connection accepted after the others closed", T, || {
        connect(&tb, ECHO, T).ok()
    })
    .unwrap();
    echo_once(&mut s, b"room again").unwrap();
    drop(s);
    let (c, out) = stop(d);
    let drops = drop_reasons(&out);
    println!("{accepted} connections held before the first refusal\n{c:?}\ndrops: {drops:?}");
    assert!(reason(&drops, "memory_full") >= 1, "{drops:?}");
    assert_eq!(reason(&drops, "table_full"), 0, "{drops:?}");
    assert!(c.total("opened") as usize > accepted, "{c:?}");
}

#[test]
fn max_connections_refuses_the_21st_with_rst_and_recovers_after_closes() {
    let tb = Testbed::new(1).unwrap();
    let d = daemon(
        &tb,
        &[
            "--port",
            "7",
            "--app",
            "echo",
            "--max-connections",
            "20",
            "--drain-ms",
            "300",
        ],
    );
    let mut held: Vec<TcpStream> = (0..20)
        .map(|i| {
            let mut s = connect(&tb, ECHO, T).unwrap_or_else(|e| panic!("connection {i}: {e}"));
            echo_once(&mut s, format!("conn {i}").as_bytes())
                .unwrap_or_else(|e| panic!("echo on connection {i}: {e}"));
            s
        })
        .collect();

    for i in 21..=25 {
        let start = Instant::now();
        let r = connect(&tb, ECHO, T);
        let took = start.elapsed();
        match r {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
            other => panic!("connection {i}: expected ConnectionRefused, got {other:?}"),
        }
        assert!(
            took < Duration::from_millis(500),
            "connection {i} refused after {took:?}"
        );
    }

    // Close five: once the stack has freed them, new connections succeed again.
    held.drain(..5);
    let mut fresh = Vec::new();
    for i in 0..5 {
        let s = wait_until(&format!("new connection {i} accepted"), T, || {
            connect(&tb, ECHO, T).ok()
        })
        .unwrap();
        fresh.push(s);
    }
    for (i, s) in fresh.iter_mut().chain(held.iter_mut()).enumerate() {
        echo_once(s, b"still here").unwrap_or_else(|e| panic!("connection {i}: {e}"));
    }
    // Full again.
    let r = connect(&tb, ECHO, T);
    assert!(
        matches!(&r, Err(e) if e.kind() == io::ErrorKind::ConnectionRefused),
        "the limit no longer holds: {r:?}"
    );
    drop(fresh);
    drop(held);
    let (c, out) = stop(d);
    let drops = drop_reasons(&out);
    println!("{c:?}\ndrops: {drops:?}");
    assert_eq!(c.total("opened"), 25, "{c:?}");
    assert!(reason(&drops, "table_full") >= 6, "{drops:?}");
}

#[test]
fn idle_connections_are_closed_after_the_idle_timeout_and_active_ones_are_not() {
    let tb = Testbed::new(1).unwrap();
    let d = daemon(
        &tb,
        &[
            "--port",
            "7",
            "--app",
            "echo",
            "--idle-timeout-s",
            "2",
            "--drain-ms",
            "300",
        ],
    );
    let mut idle = connect(&tb, ECHO, T).expect("connects");
    let mut active = connect(&tb, ECHO, T).expect("connects");
    echo_once(&mut idle, b"then silence").unwrap();
    let idle_from = Instant::now();
    let busy = thread::spawn(move || -> Result<(), String> {
        let start = Instant::now();
        let mut n = 0;
        while start.elapsed() < Duration::from_secs(5) {
            echo_once(&mut active, b"keepalive").map_err(|e| format!("echo {n}: {e}"))?;
            n += 1;
            thread::sleep(Duration::from_millis(300));
        }
        Ok(())
    });

    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 16];
    let r = idle.read(&mut buf);
    let after = idle_from.elapsed();
    println!("idle connection ended after {after:.2?}: {r:?}");
    match r {
        Ok(0) => {}
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        other => panic!("idle connection: expected EOF or reset, got {other:?} after {after:?}"),
    }
    assert!(
        after >= Duration::from_millis(1900) && after <= Duration::from_secs(5),
        "closed after {after:?} (idle timeout 2 s)"
    );
    busy.join()
        .unwrap()
        .expect("the active connection survives the idle timeout");
    let (c, _) = stop(d);
    assert_eq!(c.total("timed_out"), 1, "{c:?}");
}

/// VmRSS of `pid`, in KiB.
fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in {status}"))
}

/// A field `Name: value` of ab's report.
fn ab_field(out: &str, name: &str) -> Option<f64> {
    out.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim_start_matches(':').split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn memory_stays_flat_over_three_rounds_of_20k_short_http_connections() {
    let tb = Testbed::new(1).unwrap();
    let d = daemon(&tb, &["--port", "80", "--app", "http", "--drain-ms", "300"]);
    let url = format!("http://{}:{HTTP}/", tb.srv_ip);
    let pid = d.pid();
    let start_rss = vm_rss_kib(pid);
    let mut rss = Vec::new();
    for round in 1..=3 {
        let started = Instant::now();
        let out = tb
            .cli
            .run_timeout(
                &["ab", "-q", "-n", "20000", "-c", "8", "-s", "10", &url],
                Duration::from_secs(180),
            )
            .unwrap();
        let took = started.elapsed();
        assert!(out.success(), "ab round {round}: {out:?}");
        let complete = ab_field(&out.stdout, "Complete requests");
        let failed = ab_field(&out.stdout, "Failed requests");
        let non2xx = ab_field(&out.stdout, "Non-2xx responses");
        let rps = ab_field(&out.stdout, "Requests per second").unwrap_or(0.0);
        let kib = vm_rss_kib(pid);
        let live = d.live_counters().ok();
        println!(
            "round {round}: {complete:?} complete, {failed:?} failed in {took:.2?} ({rps:.0} \
             req/s); VmRSS {kib} KiB (at start {start_rss} KiB); connections_active {:?}",
            live.map(|c| c.total("connections_active"))
        );
        assert_eq!(complete, Some(20000.0), "{}", out.stdout);
        assert_eq!(failed, Some(0.0), "{}", out.stdout);
        assert_eq!(non2xx, None, "{}", out.stdout);
        rss.push(kib);
    }
    let (first, last) = (rss[0], rss[2]);
    let (c, out) = stop(d);
    println!("{c:?}\ndrops: {:?}", drop_reasons(&out));
    assert!(
        last <= first + first / 10 || last <= first + 4096,
        "VmRSS grew from {first} KiB to {last} KiB over the rounds: {rss:?}"
    );
    // Every connection opened is accounted for: freed (closed) or still in the table.
    assert_eq!(
        c.total("opened"),
        c.total("closed") + c.total("active"),
        "opened connections must be closed or still active: {c:?}"
    );
}

// ---- 5. kill -9 and restart ------------------------------------------------------------------

/// Clients connecting, echoing 16 bytes and closing in a loop from the client namespace until
/// `stop` (bounded by count and time). Counts successes and failures.
fn client_loop(
    tb: &Testbed,
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
) -> JoinHandle<()> {
    let addr = SocketAddr::V4(tb.srv_addr(ECHO));
    tb.cli.spawn_in(move || {
        let start = Instant::now();
        let mut n = 0;
        while !stop.load(Ordering::Relaxed)
            && n < 200_000
            && start.elapsed() < Duration::from_secs(60)
        {
            n += 1;
            let r = TcpStream::connect_timeout(&addr, Duration::from_millis(500))
                .and_then(|mut s| echo_once(&mut s, b"0123456789abcdef"));
            match r {
                Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                Err(_) => {
                    thread::sleep(Duration::from_millis(2));
                    failed.fetch_add(1, Ordering::Relaxed)
                }
            };
        }
    })
}

#[test]
fn kill_9_during_traffic_leaves_no_xdp_program_and_a_restart_serves_at_once() {
    let tb = Testbed::new(1).unwrap();
    let mut d = daemon(&tb, &["--port", "7", "--app", "echo"]);
    let stop_loop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let clients = client_loop(&tb, stop_loop.clone(), ok.clone(), failed.clone());
    wait_until("clients connecting", T, || {
        (ok.load(Ordering::Relaxed) >= 50).then_some(())
    })
    .unwrap();

    let status = d.kill9().unwrap();
    let ok_at_kill = ok.load(Ordering::Relaxed);
    println!("killed: {status}; {ok_at_kill} client round trips before");
    wait_until("the XDP program gone", Duration::from_secs(2), || {
        (!tb.srv_xdp_attached().unwrap()).then_some(())
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e}: {}",
            tb.srv
                .run_ok(&["ip", "-d", "link", "show", "dev", &tb.srv_if])
                .unwrap_or_default()
        )
    });
    // The kernel answers now (no listener on the port: refused).
    let failed_before = failed.load(Ordering::Relaxed);
    wait_until("client attempts failing without the daemon", T, || {
        (failed.load(Ordering::Relaxed) > failed_before).then_some(())
    })
    .unwrap();

    let d2 = daemon(&tb, &["--port", "7", "--app", "echo"]);
    let ready = Instant::now();
    let first = wait_until(
        "a new connection after the restart",
        Duration::from_secs(1),
        || {
            let mut s = connect(&tb, ECHO, Duration::from_millis(900)).ok()?;
            echo_once(&mut s, b"back again").ok()?;
            Some(ready.elapsed())
        },
    )
    .unwrap();
    assert!(
        first < Duration::from_secs(1),
        "first connection {first:?} after ready"
    );
    let ok_at_restart = ok.load(Ordering::Relaxed);
    wait_until("the client loop served again", T, || {
        (ok.load(Ordering::Relaxed) >= ok_at_restart + 20).then_some(())
    })
    .unwrap();
    stop_loop.store(true, Ordering::Relaxed);
    clients.join().unwrap();
    println!(
        "first connection {first:.2?} after ready; client loop: {} ok, {} failed",
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
    let (c, _) = stop(d2);
    assert!(c.total("opened") >= 21, "{c:?}");
}

// ---- 6. graceful SIGTERM ---------------------------------------------------------------------

#[test]
fn sigterm_drains_ongoing_echo_exchanges_and_refuses_new_connections() {
    const CLIENTS: usize = 20;
    const BYTES: usize = 2 << 20;
    const CHUNK: usize = 32 << 10;
    let drain = Duration::from_millis(5000);
    let tb = Testbed::new(1).unwrap();
    let mut d = daemon(&tb, &["--port", "7", "--app", "echo", "--drain-ms", "5000"]);
    let progress = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::channel();
    let addr = SocketAddr::V4(tb.srv_addr(ECHO));
    for i in 0..CLIENTS {
        let (tx, progress) = (tx.clone(), progress.clone());
        tb.cli.spawn_in(move || {
            let r = (|| -> Result<(), String> {
                let mut s =
                    TcpStream::connect_timeout(&addr, T).map_err(|e| format!("connect: {e}"))?;
                s.set_read_timeout(Some(Duration::from_secs(10)))
                    .map_err(|e| e.to_string())?;
                let mut rng = Rng::new(500 + i as u64);
                let (mut out, mut back) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
                let mut done = 0;
                while done < BYTES {
                    rng.fill(&mut out);
                    s.write_all(&out)
                        .map_err(|e| format!("write at {done}: {e}"))?;
                    s.read_exact(&mut back)
                        .map_err(|e| format!("read at {done}: {e}"))?;
                    if back != out {
                        return Err(format!("bytes differ at {done}"));
                    }
                    done += CHUNK;
                    progress.fetch_add(CHUNK as u64, Ordering::Relaxed);
                    // Paced, so the exchange spans the signal.
                    thread::sleep(Duration::from_millis(25));
                }
                s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
                let mut rest = Vec::new();
                s.read_to_end(&mut rest)
                    .map_err(|e| format!("after our FIN: {e}"))?;
                if !rest.is_empty() {
                    return Err(format!("{} stray bytes after our FIN", rest.len()));
                }
                Ok(())
            })();
            let _ = tx.send((i, r, Instant::now()));
        });
    }
    drop(tx);
    // Signal when every client is well under way (about a quarter of the bytes echoed).
    wait_until("the exchanges under way", Duration::from_secs(30), || {
        (progress.load(Ordering::Relaxed) >= (CLIENTS * BYTES / 4) as u64).then_some(())
    })
    .unwrap();
    let signalled = Instant::now();
    let progress_at_signal = progress.load(Ordering::Relaxed);
    d.process().signal(libc::SIGTERM).unwrap();
    d.process()
        .wait_for_line("the drain to begin", T, |l| l.contains("draining"))
        .unwrap();

    // A new connection during the drain is refused with RST.
    let r = connect(&tb, ECHO, T);
    let refused_at = signalled.elapsed();
    assert!(
        matches!(&r, Err(e) if e.kind() == io::ErrorKind::ConnectionRefused),
        "connection during the drain: {r:?}"
    );

    let mut results = Vec::new();
    while let Ok(r) = rx.recv_timeout(drain + Duration::from_secs(10)) {
        results.push(r);
        if results.len() == CLIENTS {
            break;
        }
    }
    let status = d.process().wait_exit(Duration::from_secs(15)).unwrap();
    let exited = signalled.elapsed();
    let out = d.output();
    let c = ExitCounters::parse(&out);
    let finished: Vec<Duration> = results
        .iter()
        .map(|(_, _, at)| at.saturating_duration_since(signalled))
        .collect();
    println!(
        "SIGTERM with {:.0}% echoed; refused a new connection {refused_at:.2?} after it; \
         clients finished up to {:.2?} after it; daemon exited after {exited:.2?} ({status}); \
         {c:?}",
        100.0 * progress_at_signal as f64 / (CLIENTS * BYTES) as f64,
        finished.iter().max().copied().unwrap_or_default(),
    );
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}; output:\n{out}"
    );
    assert_eq!(results.len(), CLIENTS, "clients missing");
    let bad: Vec<_> = results
        .iter()
        .filter(|(_, r, at)| r.is_err() && at.saturating_duration_since(signalled) < drain)
        .map(|(i, r, _)| format!("client {i}: {r:?}"))
        .collect();
    assert!(bad.is_empty(), "failed inside the drain: {bad:?}");
    let late = results.iter().filter(|(_, r, _)| r.is_err()).count();
    println!(
        "{late} clients cut off at the drain deadline; drops: {:?}",
        drop_reasons(&out)
    );
    assert!(
        finished.iter().any(|f| *f > Duration::from_millis(200)),
        "no client was still exchanging data during the drain: {finished:?}"
    );
    assert_eq!(c.total("opened"), CLIENTS as u64, "{c:?}");
}
