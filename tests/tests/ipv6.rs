//! Issue "IPv6": the daemon serves IPv6 addresses (`--addr`, repeatable, both families on
//! the same ports) to kernel clients: python and curl -6 byte for byte, IPv4 and IPv6 at once
//! on one port, ICMPv6 and neighbour discovery left to the kernel, and a corpus of crafted
//! IPv6 frames that are counted drops while a transfer runs. The 200-connection, close-order
//! and loss tests over IPv6 are in `engine.rs`, the stack as an IPv6 client in `client.rs`.
//!
//! Run with `cargo xtask test` (sets `XDPTCP_BIN`).

use std::io::{Read, Write};
use std::net::{Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use netns_tests::counters::drop_reasons;
use netns_tests::{Daemon, Family, RawPeer, Testbed};

const T: Duration = Duration::from_secs(5);

/// A daemon serving `args` on both of the testbed's addresses.
fn dual_stack(tb: &Testbed, args: &[&str]) -> Daemon {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.extend(tb.dual_stack_args());
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    Daemon::start(tb, &all).expect("the daemon starts on both families")
}

/// Byte `i` of the test streams (not periodic in any power of two up to 2^20).
fn pattern_byte(i: usize) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 11)) as u8
}

/// Writes `len` pattern bytes on `s` from another thread while reading the echo back;
/// returns the number of bytes that came back equal, or where they first differed.
fn echo_pattern(s: TcpStream, len: usize) -> Result<usize, String> {
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut w = s.try_clone().map_err(|e| e.to_string())?;
    let writer = thread::spawn(move || -> std::io::Result<()> {
        let mut sent = 0;
        while sent < len {
            let n = (len - sent).min(65536);
            let part: Vec<u8> = (sent..sent + n).map(pattern_byte).collect();
            w.write_all(&part)?;
            sent += n;
        }
        w.shutdown(Shutdown::Write)
    });
    let mut r = s;
    let mut buf = vec![0u8; 65536];
    let mut got = 0;
    let result = loop {
        match r.read(&mut buf) {
            Ok(0) => break Ok(got),
            Ok(n) => {
                if let Some(i) = (0..n).find(|&i| buf[i] != pattern_byte(got + i)) {
                    break Err(format!("byte {} differs", got + i));
                }
                got += n;
            }
            Err(e) => break Err(format!("read at {got}: {e}")),
        }
    };
    writer
        .join()
        .map_err(|_| "writer panicked".to_string())?
        .map_err(|e| format!("write: {e}"))?;
    result
}

#[test]
fn ipv6_reaches_the_kernel_and_is_counted_per_family_while_ipv4_is_served() {
    let tb = Testbed::with_family(1, Family::V6).unwrap();
    let srv6 = tb.srv_ip6;
    // IPv4 only: nothing of IPv6 is steered.
    let daemon = Daemon::start(&tb, &["--port", "7", "--app", "echo"]).unwrap();
    assert!(
        daemon
            .ready_line()
            .contains(&format!("addr={} ", tb.srv_ip)),
        "{}",
        daemon.ready_line()
    );
    // Neighbour discovery and echo requests go to the kernel.
    let ping = tb
        .cli
        .run(&[
            "ping",
            "-6",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "2",
            &srv6.to_string(),
        ])
        .unwrap();
    assert!(ping.success(), "ping -6 failed: {ping:?}");
    // A kernel listener on the served port number, at the IPv6 address.
    let addr = SocketAddr::V6(tb.srv_addr6(7));
    let listener = tb
        .srv
        .exec_in(move || TcpListener::bind(addr))
        .expect("a kernel listener on [v6]:7");
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).unwrap();
        s.write_all(&buf).unwrap();
    });
    let mut c = tb
        .connect_to(addr, T)
        .expect("the kernel answers on [v6]:7");
    c.set_read_timeout(Some(T)).unwrap();
    c.write_all(b"six!").unwrap();
    let mut buf = [0u8; 4];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"six!");
    server.join().unwrap();
    // IPv4 is still served by the stack meanwhile.
    let mut v4 = tb.connect(7, T).unwrap();
    v4.set_read_timeout(Some(T)).unwrap();
    v4.write_all(b"four").unwrap();
    v4.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"four");
    drop(v4);
    let (c, out) = daemon.stop();
    // At least the three echo requests and the client's SYN, ACK and data segment.
    assert!(c.xdp("passed_v6") >= 6, "ping6 and TCP over v6: {out}");
    assert_eq!(c.xdp("steered_v6"), 0, "{out}");
    assert_eq!(c.xdp("malformed_v6"), 0, "{out}");
    assert!(c.xdp("steered") >= 4, "{out}");
}

#[test]
fn python_echoes_16_mib_over_ipv6_byte_for_byte() {
    let tb = Testbed::with_family(1, Family::V6).unwrap();
    let d = dual_stack(&tb, &["--port", "7", "--app", "echo"]);
    assert!(
        d.ready_line()
            .contains(&format!("addr={},{} ", tb.srv_ip, tb.srv_ip6)),
        "{}",
        d.ready_line()
    );
    // A python client (the kernel's AF_INET6 socket): sends 16 MiB of random bytes from a
    // thread, reads the echo to EOF, compares digests.
    let script = format!(
        r#"
import hashlib, os, socket, threading
data = os.urandom(16 << 20)
s = socket.create_connection(("{addr}", 7), timeout=30)
assert s.family == socket.AF_INET6
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send)
t.start()
h, n = hashlib.sha256(), 0
while True:
    b = s.recv(1 << 16)
    if not b:
        break
    h.update(b)
    n += len(b)
t.join()
print(n, h.hexdigest() == hashlib.sha256(data).hexdigest())
"#,
        addr = tb.srv_ip6
    );
    let out = tb
        .cli
        .run_timeout(&["python3", "-c", &script], Duration::from_secs(120))
        .unwrap();
    assert!(out.success(), "python failed: {out:?}");
    assert_eq!(out.stdout.trim(), format!("{} True", 16 << 20), "{out:?}");
    let (c, out) = d.stop();
    assert_eq!(c.total("opened"), 1, "{out}");
    assert!(c.xdp("steered_v6") > 16 << 20 >> 11, "{out}");
    assert_eq!(c.xdp("steered"), 0, "{out}");
}

#[test]
fn curl_6_gets_the_body_twice_on_one_connection() {
    let tb = Testbed::with_family(1, Family::V6).unwrap();
    let d = dual_stack(
        &tb,
        &["--port", "80", "--app", "http", "--body-size", "1500"],
    );
    let url = format!("http://[{}]:80/", tb.srv_ip6);
    let out = tb
        .cli
        .run(&[
            "curl",
            "-6",
            "-g",
            "-sS",
            "-v",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{size_download} %{remote_ip}\n",
            &url,
            &url,
        ])
        .unwrap();
    assert!(out.success(), "curl -6 failed: {out:?}");
    let want = format!("200 1500 {}", tb.srv_ip6);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines, [want.as_str(), want.as_str()], "{out:?}");
    assert!(
        out.stderr.contains("Re-using existing") || out.stderr.contains("Reusing existing"),
        "curl opened a second connection: {}",
        out.stderr
    );
    let (c, out) = d.stop();
    assert_eq!(c.total("opened"), 1, "{out}");
    assert!(c.xdp("steered_v6") >= 4, "{out}");
}

#[test]
fn the_same_port_is_served_over_ipv4_and_ipv6_at_once() {
    let tb = Testbed::with_family(1, Family::V6).unwrap();
    let d = dual_stack(&tb, &["--port", "7", "--app", "echo"]);
    const CONNS: usize = 8;
    const BYTES: usize = 2 << 20;
    let mut handles = Vec::new();
    for i in 0..2 * CONNS {
        let family = if i % 2 == 0 { Family::V4 } else { Family::V6 };
        let addr = tb.srv_sockaddr(family, 7);
        handles.push((
            family,
            tb.cli.spawn_in(move || {
                let s = TcpStream::connect_timeout(&addr, T).map_err(|e| e.to_string())?;
                let local = s.local_addr().map_err(|e| e.to_string())?;
                echo_pattern(s, BYTES).map(|n| (n, local))
            }),
        ));
    }
    for (family, h) in handles {
        let (n, local) = h
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("{family:?}: {e}"));
        assert_eq!(n, BYTES, "{family:?}");
        assert_eq!(local.is_ipv6(), family == Family::V6, "{local}");
    }
    let (c, out) = d.stop();
    assert_eq!(c.total("opened"), 2 * CONNS as u64, "{out}");
    assert_eq!(c.total("reset"), 0, "{out}");
    // Each family's segments were steered as that family.
    let min = (CONNS * BYTES / 1448) as u64;
    assert!(c.xdp("steered") > min, "{out}");
    assert!(c.xdp("steered_v6") > min, "{out}");
}

#[test]
fn ping6_and_neighbour_discovery_reach_the_kernel_while_ipv6_is_served() {
    let tb = Testbed::with_family(1, Family::V6).unwrap();
    let srv6 = tb.srv_ip6.to_string();
    let d = Daemon::start(&tb, &["--port", "7", "--app", "echo", "--addr", &srv6]).unwrap();
    // The client learns the server's MAC by neighbour solicitation, answered by the kernel.
    tb.cli
        .run_ok(&["ip", "-6", "neigh", "flush", "dev", &tb.cli_if])
        .unwrap();
    let ping = tb
        .cli
        .run(&["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", &srv6])
        .unwrap();
    assert!(ping.success(), "ping -6 failed while served: {ping:?}");
    let neigh = tb
        .cli
        .run_ok(&["ip", "-6", "neigh", "show", "dev", &tb.cli_if])
        .unwrap();
    assert!(
        neigh.lines().any(|l| l.starts_with(&format!("{srv6} "))
            && (l.contains("REACHABLE") || l.contains("STALE") || l.contains("DELAY"))),
        "no neighbour entry for {srv6}: {neigh}"
    );
    // The served port goes to the stack, another port at the same address to the kernel.
    let mut s = tb.connect6(7, T).expect("the stack answers on [v6]:7");
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(b"v6").unwrap();
    let mut buf = [0u8; 2];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"v6");
    let listener = {
        let addr = SocketAddr::V6(tb.srv_addr6(8));
        tb.srv.exec_in(move || TcpListener::bind(addr)).unwrap()
    };
    let kernel = thread::spawn(move || listener.accept().map(|_| ()));
    tb.connect6(8, T).expect("the kernel answers on [v6]:8");
    kernel.join().unwrap().unwrap();
    drop(s);
    let (c, out) = d.stop();
    assert_eq!(c.total("opened"), 1, "{out}");
    // Neighbour discovery, three echo requests and the SYN to port 8 at least.
    assert!(c.xdp("passed_v6") >= 5, "{out}");
    assert!(c.xdp("steered_v6") >= 3, "{out}");
    assert_eq!(c.xdp("steered"), 0, "{out}");
}

// ---- crafted IPv6 frames ---------------------------------------------------------------------

/// IPv6 next-header values.
const HOP_BY_HOP: u8 = 0;
const TCP: u8 = 6;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const DEST_OPTS: u8 = 60;

/// An IPv6 TCP frame from the raw peer: `ext` are (next header of what follows is filled in)
/// extension headers as (kind, bytes), then a TCP header with `flags`, correct checksum
/// unless `bad_checksum`. `payload_len` overrides the IPv6 payload length when given.
struct Frame6 {
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    ext: Vec<(u8, Vec<u8>)>,
    src_port: u16,
    dst_port: u16,
    flags: u8,
    seq: u32,
    payload_len: Option<u16>,
    bad_checksum: bool,
    /// Bytes left off the end of the frame.
    cut: usize,
}

impl Frame6 {
    fn syn(tb: &Testbed, src_port: u16, dst_port: u16) -> Frame6 {
        Frame6 {
            src: tb.cli_ip6,
            dst: tb.srv_ip6,
            hop_limit: 64,
            ext: Vec::new(),
            src_port,
            dst_port,
            flags: 0x02,
            seq: 1000,
            payload_len: None,
            bad_checksum: false,
            cut: 0,
        }
    }

    fn bytes(&self, peer: &RawPeer) -> Vec<u8> {
        let mut tcp = Vec::with_capacity(20);
        tcp.extend_from_slice(&self.src_port.to_be_bytes());
        tcp.extend_from_slice(&self.dst_port.to_be_bytes());
        tcp.extend_from_slice(&self.seq.to_be_bytes());
        tcp.extend_from_slice(&0u32.to_be_bytes());
        tcp.extend_from_slice(&[5 << 4, self.flags]);
        tcp.extend_from_slice(&64240u16.to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        let mut sum = checksum6(&self.src, &self.dst, &tcp);
        if self.bad_checksum {
            sum ^= 0x00ff;
        }
        tcp[16..18].copy_from_slice(&sum.to_be_bytes());
        // Extension headers chained to each other and to TCP.
        let mut ext = Vec::new();
        for (i, (_, body)) in self.ext.iter().enumerate() {
            let next = self.ext.get(i + 1).map_or(TCP, |(k, _)| *k);
            let mut h = body.clone();
            h[0] = next;
            ext.extend_from_slice(&h);
        }
        let first = self.ext.first().map_or(TCP, |(k, _)| *k);
        let payload = (ext.len() + tcp.len()) as u16;
        let mut f = Vec::new();
        f.extend_from_slice(&peer.remote_mac);
        f.extend_from_slice(&peer.local_mac);
        f.extend_from_slice(&0x86ddu16.to_be_bytes());
        f.extend_from_slice(&[0x60, 0, 0, 0]);
        f.extend_from_slice(&self.payload_len.unwrap_or(payload).to_be_bytes());
        f.extend_from_slice(&[first, self.hop_limit]);
        f.extend_from_slice(&self.src.octets());
        f.extend_from_slice(&self.dst.octets());
        f.extend_from_slice(&ext);
        f.extend_from_slice(&tcp);
        f.truncate(f.len() - self.cut);
        f
    }
}

/// The TCP checksum over the IPv6 pseudo-header (RFC 8200 section 8.1).
fn checksum6(src: &Ipv6Addr, dst: &Ipv6Addr, tcp: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(40 + tcp.len());
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&(tcp.len() as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, TCP]);
    pseudo.extend_from_slice(tcp);
    netns_tests::raw::checksum(0, &pseudo)
}

/// An 8-byte extension header of `kind` (PadN options; the next header is filled in).
fn ext8(kind: u8) -> (u8, Vec<u8>) {
    (kind, vec![0, 0, 1, 4, 0, 0, 0, 0])
}

/// The corpus: each frame with the counter it must raise (a drop reason of the stack, or
/// `xdp:` and an XDP counter).
fn corpus(tb: &Testbed, peer: &RawPeer, kport: u16) -> Vec<(&'static str, Vec<u8>)> {
    let base = |dst_port| Frame6::syn(tb, peer.local_port, dst_port);
    let mut v = Vec::new();
    // The payload length says more than the frame holds.
    v.push((
        "truncated_ipv6",
        Frame6 {
            payload_len: Some(400),
            ..base(7)
        }
        .bytes(peer),
    ));
    // The payload length leaves less than a TCP header.
    v.push((
        "truncated_tcp",
        Frame6 {
            payload_len: Some(12),
            ..base(7)
        }
        .bytes(peer),
    ));
    // A 16-byte hop-by-hop header of which the payload length covers only 8 (the frame
    // holds it all, so the XDP program finds the ports and steers it).
    let mut hbh16 = vec![0u8; 16];
    hbh16[1] = 1; // (1 + 1) x 8 bytes
    hbh16[2..4].copy_from_slice(&[1, 12]); // PadN over the rest
    v.push((
        "bad_ipv6_extension_header",
        Frame6 {
            ext: vec![(HOP_BY_HOP, hbh16)],
            payload_len: Some(8),
            ..base(7)
        }
        .bytes(peer),
    ));
    // Hop-by-hop not first.
    v.push((
        "bad_ipv6_extension_header",
        Frame6 {
            ext: vec![ext8(DEST_OPTS), ext8(HOP_BY_HOP)],
            ..base(7)
        }
        .bytes(peer),
    ));
    // A routing header with segments left.
    v.push((
        "bad_ipv6_extension_header",
        Frame6 {
            ext: vec![(ROUTING, vec![0, 0, 4, 1, 0, 0, 0, 0])],
            ..base(7)
        }
        .bytes(peer),
    ));
    // An extension header cut off by the end of the frame: the XDP program cannot parse it.
    v.push((
        "xdp:malformed_v6",
        Frame6 {
            ext: vec![ext8(DEST_OPTS)],
            cut: 24,
            ..base(7)
        }
        .bytes(peer),
    ));
    // Deeper than anyone walks: dropped by the XDP program, never seen by the kernel.
    v.push((
        "xdp:extensions_dropped_v6",
        Frame6 {
            ext: (0..9).map(|_| ext8(DEST_OPTS)).collect(),
            ..base(7)
        }
        .bytes(peer),
    ));
    // Hop limit 0, otherwise a good SYN.
    v.push((
        "ipv6_hop_limit_zero",
        Frame6 {
            hop_limit: 0,
            ..base(7)
        }
        .bytes(peer),
    ));
    // A v4-mapped source posing as an IPv4 peer.
    v.push((
        "v4_mapped_on_v6",
        Frame6 {
            src: tb.cli_ip.to_ipv6_mapped(),
            ..base(7)
        }
        .bytes(peer),
    ));
    // A bad checksum on the running transfer's own tuple (an RST would end it).
    v.push((
        "bad_tcp_checksum",
        Frame6 {
            src_port: kport,
            flags: 0x04,
            bad_checksum: true,
            ..base(7)
        }
        .bytes(peer),
    ));
    // A first fragment of a served tuple: dropped by the XDP program.
    v.push((
        "xdp:fragment_dropped_v6",
        Frame6 {
            ext: vec![(FRAGMENT, vec![0, 0, 0, 1, 0, 0, 0, 1])], // offset 0, more fragments
            ..base(7)
        }
        .bytes(peer),
    ));
    v
}

#[test]
fn crafted_ipv6_frames_during_a_32_mib_transfer_are_counted_drops() {
    let tb = Testbed::with_family(1, Family::V6).unwrap();
    let d = dual_stack(&tb, &["--port", "7", "--app", "echo", "--drain-ms", "300"]);
    let peer = RawPeer::new6(&tb, 46200).unwrap();
    // A good SYN from the raw peer is answered: the frames are well built.
    peer.send_frame(&Frame6::syn(&tb, 46200, 7).bytes(&peer))
        .unwrap();
    let answered = wait_for_syn_ack6(&peer, Duration::from_secs(3));
    assert!(answered, "no SYN-ACK to a well-formed IPv6 SYN");
    // Aborted at once (RST with the next sequence number), so that nothing is left half-open.
    peer.send_frame(
        &Frame6 {
            flags: 0x04,
            seq: 1001,
            ..Frame6::syn(&tb, 46200, 7)
        }
        .bytes(&peer),
    )
    .unwrap();

    const BYTES: usize = 32 << 20;
    let s = tb.connect6(7, T).expect("connects over IPv6");
    let kport = s.local_addr().unwrap().port();
    let start = Instant::now();
    let transfer = thread::spawn(move || echo_pattern(s, BYTES));
    let frames = corpus(&tb, &peer, kport);
    let mut rounds = 0u64;
    while !transfer.is_finished() && start.elapsed() < Duration::from_secs(120) {
        for (_, f) in &frames {
            peer.send_frame(f).unwrap();
        }
        rounds += 1;
        // The first ten rounds at once (well within the transfer), then paced over it.
        if rounds >= 10 {
            thread::sleep(Duration::from_millis(2));
        }
    }
    let result = transfer.join().unwrap();
    let elapsed = start.elapsed();
    drop(peer);
    let (c, out) = d.stop();
    let drops = drop_reasons(&out);
    println!(
        "32 MiB echoed over IPv6 in {elapsed:.2?} while {rounds} rounds of {} crafted frames \
         were sent\ndrops: {drops:?}\nxdp: {:?}",
        frames.len(),
        c.xdp
    );
    assert_eq!(result, Ok(BYTES), "the transfer");
    assert!(rounds >= 10, "only {rounds} rounds of the corpus were sent");
    // Every kind of frame was counted where it was dropped: each one sent at most once,
    // and at least those of the first ten rounds (a frame may also be lost in a full ring,
    // and counted there instead).
    for (want, _) in &frames {
        let per_round = frames.iter().filter(|(k, _)| k == want).count() as u64;
        let n = match want.strip_prefix("xdp:") {
            Some(x) => c.xdp(x),
            None => drops.get(*want).copied().unwrap_or(0),
        };
        assert!(
            n >= per_round * rounds.min(10) && n <= per_round * rounds,
            "{want}: counted {n} times for {} sent: {out}",
            per_round * rounds
        );
    }
    // The kernel saw none of them but the cut one (counted as malformed_v6): what it was
    // passed otherwise is neighbour discovery.
    assert!(c.xdp("passed_v6") < rounds, "{out}");
    // The transfer and the one good SYN were the only connections; nothing was reset.
    assert_eq!(c.total("reset"), 0, "{out}");
}

/// True when a SYN-ACK for the raw peer's port arrives within `timeout`.
fn wait_for_syn_ack6(peer: &RawPeer, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 2048];
    while Instant::now() < deadline {
        let Ok(Some(n)) =
            peer.recv_frame(&mut buf, deadline.saturating_duration_since(Instant::now()))
        else {
            continue;
        };
        let f = &buf[..n];
        // Ethernet, IPv6 with TCP next, then TCP: destination port and flags SYN|ACK.
        if n >= 14 + 40 + 20
            && f[12..14] == [0x86, 0xdd]
            && f[20] == TCP
            && u16::from_be_bytes([f[56], f[57]]) == peer.local_port
            && f[54 + 13] & 0x12 == 0x12
        {
            return true;
        }
    }
    false
}

#[test]
fn curl_6_downloads_16_mib_byte_for_byte() {
    const LEN: usize = 16 << 20;
    let tb = Testbed::with_family(1, Family::V6).unwrap();
    let len = LEN.to_string();
    let d = dual_stack(&tb, &["--port", "80", "--app", "http", "--body-size", &len]);
    let file = std::env::temp_dir().join(format!("xdptcp-curl6-{}", std::process::id()));
    let url = format!("http://[{}]:80/", tb.srv_ip6);
    let out = tb
        .cli
        .run_timeout(
            &[
                "curl",
                "-6",
                "-g",
                "-sS",
                "--max-time",
                "60",
                "-o",
                file.to_str().unwrap(),
                "-w",
                "%{http_code} %{size_download}",
                &url,
            ],
            Duration::from_secs(90),
        )
        .unwrap();
    let body = std::fs::read(&file);
    let _ = std::fs::remove_file(&file);
    assert!(out.success(), "curl -6 failed: {out:?}");
    assert_eq!(out.stdout.trim(), format!("200 {LEN}"), "{out:?}");
    let body = body.unwrap();
    let first_bad = (0..LEN).find(|&i| body[i] != b'a' + (i % 26) as u8);
    assert_eq!((body.len(), first_bad), (LEN, None), "the body differs");
    let (c, out) = d.stop();
    assert_eq!(c.total("opened"), 1, "{out}");
    assert!(c.xdp("steered_v6") > 0 && c.xdp("steered") == 0, "{out}");
}
