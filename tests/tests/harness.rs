//! Self-tests of the harness (namespaces, veth, setns threads, guards, cleanup), with kernel
//! services standing in for the daemon. They need root but not `XDPTCP_BIN`.

use std::{
    io::{Read, Write},
    net::{SocketAddrV4, TcpListener},
    process::Command,
    time::{Duration, Instant},
};

use netns_tests::{
    cleanup_stale, connect_from, host, netns::owner_pid, wait_until, Daemon, Netns, Testbed,
};

const T: Duration = Duration::from_secs(5);

/// A kernel listener bound in the server namespace; the socket stays there when moved.
fn kernel_listener(tb: &Testbed, port: u16) -> TcpListener {
    tb.kernel_listener(port)
}

#[test]
fn veth_pair_carries_ping_and_tcp_between_the_namespaces() {
    let tb = Testbed::new(1).unwrap();
    let ping = tb
        .cli
        .run(&["ping", "-c", "1", "-W", "2", &tb.srv_ip.to_string()])
        .unwrap();
    assert!(ping.success(), "{ping:?}");

    let listener = kernel_listener(&tb, 8080);
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        s.write_all(&buf).unwrap();
    });
    let mut stream = tb.connect(8080, T).unwrap();
    stream.write_all(b"hello").unwrap();
    let mut buf = [0u8; 5];
    stream.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    server.join().unwrap();
    // The connection is visible to `ss` in the client namespace (the server side has closed).
    let socks = tb.cli.tcp_sockets().unwrap();
    assert!(
        socks
            .iter()
            .any(|s| s.state == "CLOSE-WAIT" && s.peer_port() == Some(8080)),
        "{socks:?}"
    );
}

#[test]
fn kernel_http_server_in_server_namespace_answers_curl() {
    let tb = Testbed::new(1).unwrap();
    let ip = tb.srv_ip.to_string();
    let _http = tb
        .srv
        .spawn(
            "http.server",
            &[
                "python3",
                "-m",
                "http.server",
                "8000",
                "--bind",
                &ip,
                "-d",
                "/",
            ],
        )
        .unwrap();
    wait_until("http.server listening", T, || {
        tb.srv.is_listening(8000).ok()?.then_some(())
    })
    .unwrap();
    let url = format!("http://{ip}:8000/");
    let out = tb
        .cli
        .run(&["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", &url])
        .unwrap();
    assert_eq!(out.stdout, "200", "{out:?}");
}

#[test]
fn closed_port_is_refused_by_the_kernel() {
    let tb = Testbed::new(1).unwrap();
    let start = Instant::now();
    let err = tb.connect(7, T).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn dropping_the_testbed_removes_namespaces_and_links() {
    let tb = Testbed::new(2).unwrap();
    let names = [tb.srv.name().to_string(), tb.cli.name().to_string()];
    assert!(names.iter().all(|n| Netns::exists(n)));
    assert!(tb.srv_if.len() <= 15 && tb.cli_if.len() <= 15);
    drop(tb);
    assert!(names.iter().all(|n| !Netns::exists(n)));
    let list = host(&["ip", "netns", "list"]).unwrap().stdout;
    assert!(names.iter().all(|n| !list.contains(n.as_str())), "{list}");
}

#[test]
fn a_panicking_test_still_removes_its_namespaces() {
    let (tx, rx) = std::sync::mpsc::channel();
    let result = std::panic::catch_unwind(move || {
        let tb = Testbed::new(1).unwrap();
        tx.send([tb.srv.name().to_string(), tb.cli.name().to_string()])
            .unwrap();
        panic!("test failure inside a testbed");
    });
    assert!(result.is_err());
    let names = rx.recv().unwrap();
    assert!(names.iter().all(|n| !Netns::exists(n)), "{names:?}");
}

/// A pid that is not running now (a child that has exited).
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    pid
}

#[test]
fn cleanup_stale_removes_only_what_dead_runs_left() {
    let pid = dead_pid();
    let stale_ns = format!("xt{pid}s9");
    let stale_if = format!("xt{pid}a9");
    assert_eq!(owner_pid(&stale_ns), Some(pid));
    host(&["ip", "netns", "add", &stale_ns])
        .unwrap()
        .check()
        .unwrap();
    host(&[
        "ip",
        "link",
        "add",
        &stale_if,
        "type",
        "veth",
        "peer",
        "name",
        &format!("xt{pid}b9"),
    ])
    .unwrap()
    .check()
    .unwrap();
    let live = Testbed::new(1).unwrap();

    let removed = cleanup_stale().unwrap();

    assert!(removed.contains(&stale_ns), "{removed:?}");
    // Deleting either end of the pair removes both.
    assert!(removed
        .iter()
        .any(|n| n.starts_with(&format!("xt{pid}")) && n != &stale_ns));
    assert!(!Netns::exists(&stale_ns));
    assert!(!host(&["ip", "link", "show", &stale_if]).unwrap().success());
    assert!(Netns::exists(live.srv.name()) && Netns::exists(live.cli.name()));
}

/// Multi-queue: connections with different source ports land on different rx queues of the
/// server end (veth maps the client's tx queue, chosen by flow hash, to the peer's rx queue).
#[test]
fn flows_spread_over_queues() {
    let tb = Testbed::new(2).unwrap();
    // veth counts per-rx-queue packets only on its NAPI path: turn GRO on for this check.
    tb.srv
        .run_ok(&["ethtool", "-K", &tb.srv_if, "gro", "on"])
        .unwrap();
    let (cli_ip, dst) = (tb.cli_ip, tb.srv_addr(9));
    let refused = tb.cli.exec_in(move || {
        (0..32)
            .filter(|i| {
                let src = SocketAddrV4::new(cli_ip, 42000 + i);
                let r = connect_from(src, dst, Duration::from_secs(2));
                matches!(r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
            })
            .count()
    });
    assert_eq!(refused, 32);
    let per_queue = tb.srv_rx_queue_packets().unwrap();
    assert!(
        per_queue.iter().all(|&n| n > 0),
        "per-queue rx packets {per_queue:?}"
    );
}

/// A stand-in for the daemon: prints `ready`, exits 0 on SIGTERM/SIGINT after printing a
/// counter line.
const STAND_IN: &str = "import signal,sys,time\n\
def bye(*a):\n    print('queue 0: rx_frames=1 tx_frames=2 drops=0', file=sys.stderr, flush=True)\n    sys.exit(0)\n\
signal.signal(signal.SIGTERM, bye)\nsignal.signal(signal.SIGINT, bye)\n\
print('ready stand-in', flush=True)\nwhile True: time.sleep(0.05)\n";

#[test]
fn daemon_guard_waits_for_ready_and_reports_exit() {
    let tb = Testbed::new(1).unwrap();
    let mut d = Daemon::start_program(&tb.srv, &["python3", "-c", STAND_IN]).unwrap();
    assert_eq!(d.ready_line(), "ready stand-in");
    assert!(d.pid() > 0);
    let (status, out) = d.sigterm_and_wait().unwrap();
    assert_eq!(status.code(), Some(0), "{out}");
    let c = netns_tests::ExitCounters::parse(&out);
    assert_eq!(c.queue(0, "tx_frames"), 2);

    let mut d = Daemon::start_program(&tb.srv, &["python3", "-c", STAND_IN]).unwrap();
    let (status, _) = d.sigint_and_wait().unwrap();
    assert_eq!(status.code(), Some(0));

    let mut d = Daemon::start_program(&tb.srv, &["python3", "-c", STAND_IN]).unwrap();
    let status = d.kill9().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9));
}

#[test]
fn daemon_guard_reports_an_early_exit_with_its_output() {
    let tb = Testbed::new(1).unwrap();
    let err = Daemon::start_program(
        &tb.srv,
        &["sh", "-c", "echo 'error: no such interface' >&2; exit 2"],
    )
    .err()
    .expect("must fail");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("no such interface") && msg.contains("exit status: 2"),
        "{msg}"
    );
}

#[test]
fn dropping_the_daemon_guard_stops_the_process() {
    let tb = Testbed::new(1).unwrap();
    let d = Daemon::start_program(&tb.srv, &["python3", "-c", STAND_IN]).unwrap();
    let pid = d.pid();
    drop(d);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

/// Helper for the next test, not a test of its own (hence ignored): when run as a child with
/// XT_SIGNAL_CHILD set, builds a testbed with a running stand-in daemon, says so and waits to
/// be interrupted.
#[test]
#[ignore = "run as a child process by the signal cleanup test"]
fn signal_child_helper() {
    if std::env::var_os("XT_SIGNAL_CHILD").is_none() {
        return;
    }
    let tb = Testbed::new(1).unwrap();
    let d = Daemon::start_program(&tb.srv, &["python3", "-c", STAND_IN]).unwrap();
    println!("NAMES {} {} {}", tb.srv.name(), tb.cli.name(), d.pid());
    std::thread::sleep(Duration::from_secs(30));
    panic!("was not interrupted");
}

#[test]
fn sigint_removes_the_runs_namespaces_and_stops_its_daemons() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let exe = std::env::current_exe().unwrap();
        let mut cmd = Command::new(exe);
        cmd.args([
            "--exact",
            "signal_child_helper",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("XT_SIGNAL_CHILD", "1");
        let mut child = netns_tests::Process::spawn("test child", &mut cmd).unwrap();
        let line = child
            .wait_for_line("NAMES", Duration::from_secs(20), |l| l.contains("NAMES "))
            .unwrap();
        let f: Vec<&str> = line[line.find("NAMES ").unwrap()..]
            .split_whitespace()
            .collect();
        assert!(Netns::exists(f[1]) && Netns::exists(f[2]));
        let (status, out) = child.signal_and_wait(sig, Duration::from_secs(10)).unwrap();
        assert_eq!(status.code(), Some(128 + sig), "{out}");
        assert!(!Netns::exists(f[1]) && !Netns::exists(f[2]), "{out}");
        assert!(
            !std::path::Path::new(&format!("/proc/{}", f[3])).exists(),
            "{out}"
        );
    }
}

/// The raw peer against a kernel listener: its handshake completes (so its checksums are
/// right and the client kernel's RSTs are kept off the wire), data it sends is acknowledged and
/// read by the server, a deliberately wrong checksum is dropped, and a bare ACK to a closed
/// port gets the kernel's RST with SEQ = SEG.ACK.
#[test]
fn raw_peer_handshakes_with_a_kernel_listener() {
    use netns_tests::raw::{flags, TCP_CHECKSUM_AT};
    let tb = Testbed::new(1).unwrap();
    // Full checksums from the server kernel too (the raw peer checks them; with tx offload on,
    // veth hands over partial ones).
    tb.srv
        .run_ok(&["ethtool", "-K", &tb.srv_if, "tx", "off"])
        .unwrap();
    let listener = kernel_listener(&tb, 8080);
    let peer = netns_tests::RawPeer::new(&tb, 45000).unwrap();

    let mut hs = peer.handshake(8080, 1_000_000).unwrap();
    assert!(hs.syn_ack.mss().is_some(), "{:?}", hs.syn_ack);
    let (mut server, from) = listener.accept().unwrap();
    assert_eq!(from.port(), 45000);

    // A frame with a broken TCP checksum is dropped by the kernel: never read, never ACKed.
    let mut bad = peer.frame(&hs.seg(flags::ACK | flags::PSH, b"XXXX"));
    bad[TCP_CHECKSUM_AT] ^= 0xff;
    peer.send_frame(&bad).unwrap();
    peer.expect_silence(Duration::from_millis(300)).unwrap();

    peer.send(&hs.seg(flags::ACK | flags::PSH, b"hello"))
        .unwrap();
    hs.snd_nxt += 5;
    let ack = peer
        .recv_matching(T, |r| r.tcp.ack == hs.snd_nxt)
        .unwrap()
        .expect("the kernel acknowledges the data");
    assert!(ack.tcp_checksum_ok && ack.ip_checksum_ok, "{ack:?}");
    let mut buf = [0u8; 5];
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    // Still established on the server side: the client kernel sent no RST.
    let socks = tb.srv.tcp_sockets().unwrap();
    assert!(
        socks
            .iter()
            .any(|s| s.state == "ESTAB" && s.local_port() == Some(8080)),
        "{socks:?}"
    );

    // RFC 9293 3.10.7.1 (closed port, ACK on): <SEQ=SEG.ACK><CTL=RST>.
    peer.send(&peer.seg(9, flags::ACK, 5, 777_777)).unwrap();
    let rst = peer
        .recv_matching(T, |r| r.tcp.src_port == 9)
        .unwrap()
        .expect("RST from the closed port");
    assert_eq!(
        (rst.tcp.flags, rst.tcp.seq),
        (flags::RST, 777_777),
        "{rst:?}"
    );
}
