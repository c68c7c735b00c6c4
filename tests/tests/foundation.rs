//! Issue "foundation": the daemon attaches and steers the served port into AF_XDP, where the
//! stack listens: connections are accepted, segments for no connection are answered as RFC
//! 9293 says; everything else still reaches the kernel.
//!
//! Run with `cargo xtask test` (sets `XDPTCP_BIN`); without it these tests fail on purpose.

use std::{
    io::{Read, Write},
    net::{SocketAddrV4, TcpListener, TcpStream},
    time::Duration,
};

use netns_tests::{
    connect_from, daemon_bin, raw::flags, wait_until, Daemon, ExitCounters, RawPeer, TcpSeg,
    Testbed,
};

const PORT: u16 = 7;
const T: Duration = Duration::from_secs(3);

fn echo_daemon(tb: &Testbed, extra: &[&str]) -> Daemon {
    let mut args = vec!["--port", "7", "--app", "echo"];
    args.extend_from_slice(extra);
    Daemon::start(tb, &args).expect("daemon starts and prints ready")
}

/// Writes `msg` and reads the same bytes back (the echo app), within 3 s.
fn assert_echoes(stream: &mut TcpStream, msg: &[u8]) {
    stream.set_read_timeout(Some(T)).unwrap();
    stream.write_all(msg).unwrap();
    let mut buf = vec![0u8; msg.len()];
    stream.read_exact(&mut buf).expect("echo answers");
    assert_eq!(buf, msg);
}

/// A kernel listener bound in the server namespace (the socket stays there when moved).
fn kernel_listener(tb: &Testbed, port: u16) -> TcpListener {
    tb.kernel_listener(port)
}

/// Accepts one connection on `listener` and checks a round trip through it.
fn assert_kernel_round_trip(tb: &Testbed, listener: TcpListener, port: u16) {
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).unwrap();
        s.write_all(&buf).unwrap();
    });
    let mut c = tb
        .connect(port, Duration::from_secs(3))
        .expect("kernel listener reachable");
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    c.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    server.join().unwrap();
}

fn stop(daemon: Daemon) -> ExitCounters {
    daemon.stop().0
}

#[test]
fn a_connection_to_the_served_port_is_handled_by_the_stack() {
    let tb = Testbed::new(1).unwrap();
    let daemon = echo_daemon(&tb, &[]);

    let mut c = tb.connect(PORT, T).expect("the stack accepts");
    assert_echoes(&mut c, b"hello, stack");
    drop(c);

    // Nothing listens on port 7 in the kernel: only the stack can have accepted.
    assert!(!tb.srv.is_listening(PORT).unwrap());
    let c = stop(daemon);
    assert!(c.xdp("steered") >= 1, "{c:?}");
    assert!(c.total("opened") >= 1, "{c:?}");
}

/// RFC 9293 3.10.7.2 (LISTEN), second check: "any acknowledgment is bad if it arrives on a
/// connection still in the LISTEN state. An acceptable reset segment should be formed for any
/// arriving ACK-bearing segment. The RST should be formatted as follows: <SEQ=SEG.ACK><CTL=RST>"
/// (the same answer 3.10.7.1 gives for a CLOSED port).
#[test]
fn an_ack_for_no_connection_gets_rst_with_seq_seg_ack() {
    let tb = Testbed::new(1).unwrap();
    let daemon = echo_daemon(&tb, &[]);
    let peer = RawPeer::new(&tb, 46000).unwrap();

    peer.send(&peer.seg(PORT, flags::ACK, 1000, 0xfeed_f00d))
        .unwrap();
    let rst = peer.recv(T).unwrap().expect("an RST within 3 s");

    assert_eq!(rst.tcp.flags, flags::RST, "RST without ACK: {:?}", rst.tcp);
    assert_eq!(rst.tcp.seq, 0xfeed_f00d, "SEQ = SEG.ACK: {:?}", rst.tcp);
    assert_eq!(rst.tcp.src_port, PORT);
    assert!(rst.tcp_checksum_ok && rst.ip_checksum_ok, "{rst:?}");
    // Data on an ACK-bearing segment gets the same answer.
    peer.send(&TcpSeg {
        payload: b"data".to_vec(),
        ..peer.seg(PORT, flags::ACK | flags::PSH, 2000, 4242)
    })
    .unwrap();
    let rst = peer.recv(T).unwrap().expect("an RST within 3 s");
    assert_eq!(
        (rst.tcp.flags, rst.tcp.seq),
        (flags::RST, 4242),
        "{:?}",
        rst.tcp
    );
    let c = stop(daemon);
    assert!(c.total("rsts_sent") >= 2, "{c:?}");
}

/// A non-SYN segment without ACK (a FIN alone, data alone) on the listening port: RFC 9293
/// 3.10.7.2 fourth, "Any other control or text-bearing segment (not containing SYN) must have
/// an ACK and thus would have been discarded by the ACK processing" -- drop, no answer (Linux
/// does the same). The <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> answer of 3.10.7.1 is for a
/// CLOSED port, which a served port never is. A bare ACK afterwards still gets its RST, so the
/// silence is the stack's choice and not a dead path.
#[test]
fn a_segment_without_ack_for_no_connection_is_dropped_silently() {
    let tb = Testbed::new(1).unwrap();
    let daemon = echo_daemon(&tb, &[]);
    let peer = RawPeer::new(&tb, 46001).unwrap();

    peer.send(&peer.seg(PORT, flags::FIN, 5000, 0)).unwrap();
    peer.expect_silence(Duration::from_millis(500)).unwrap();
    peer.send(&TcpSeg {
        payload: b"data".to_vec(),
        ..peer.seg(PORT, flags::PSH, 6000, 0)
    })
    .unwrap();
    peer.expect_silence(Duration::from_millis(500)).unwrap();

    peer.send(&peer.seg(PORT, flags::ACK, 1, 99)).unwrap();
    let rst = peer.recv(T).unwrap().expect("the ACK probe gets an RST");
    assert_eq!(
        (rst.tcp.flags, rst.tcp.seq),
        (flags::RST, 99),
        "{:?}",
        rst.tcp
    );
    let c = stop(daemon);
    assert!(
        c.xdp("steered") >= 3,
        "the segments reached the stack: {c:?}"
    );
}

/// RFC 9293 3.10.7.1/3.10.7.2: "An incoming segment containing a RST is discarded."
#[test]
fn an_rst_for_no_connection_gets_no_answer() {
    let tb = Testbed::new(1).unwrap();
    let daemon = echo_daemon(&tb, &[]);
    let peer = RawPeer::new(&tb, 46002).unwrap();

    peer.send(&peer.seg(PORT, flags::RST, 7000, 0)).unwrap();
    peer.send(&peer.seg(PORT, flags::RST | flags::ACK, 7000, 1234))
        .unwrap();
    peer.expect_silence(Duration::from_millis(500)).unwrap();

    peer.send(&peer.seg(PORT, flags::ACK, 1, 99)).unwrap();
    let rst = peer.recv(T).unwrap().expect("the ACK probe gets an RST");
    assert_eq!(
        (rst.tcp.flags, rst.tcp.seq),
        (flags::RST, 99),
        "{:?}",
        rst.tcp
    );
    let c = stop(daemon);
    assert_eq!(
        c.total("rsts_sent"),
        1,
        "only the probe was answered: {c:?}"
    );
}

/// The raw peer's handshake: the stack answers a SYN with a SYN-ACK acknowledging it, and the
/// connection carries data (the echo comes back on it).
#[test]
fn a_raw_peer_completes_a_handshake_and_gets_its_echo() {
    let tb = Testbed::new(1).unwrap();
    let daemon = echo_daemon(&tb, &[]);
    let peer = RawPeer::new(&tb, 46003).unwrap();

    let mut hs = peer.handshake(PORT, 0xffff_fff0).unwrap(); // wraps around soon
    assert!(
        hs.syn_ack.mss().is_some(),
        "SYN-ACK carries an MSS: {:?}",
        hs.syn_ack
    );
    peer.send(&hs.seg(flags::ACK | flags::PSH, b"0123456789abcdefXYZ"))
        .unwrap();
    hs.snd_nxt = hs.snd_nxt.wrapping_add(19);
    let echo = peer
        .recv_matching(T, |r| !r.tcp.payload.is_empty())
        .unwrap()
        .expect("the echo within 3 s");
    assert_eq!(echo.tcp.payload, b"0123456789abcdefXYZ");
    assert_eq!(echo.tcp.seq, hs.rcv_nxt, "{:?}", echo.tcp);
    assert!(echo.tcp.has(flags::ACK) && echo.tcp_checksum_ok, "{echo:?}");
    // Acknowledged, at the latest with the echo.
    assert_eq!(echo.tcp.ack, hs.snd_nxt, "{:?}", echo.tcp);

    let c = stop(daemon);
    assert_eq!(c.total("opened"), 1, "{c:?}");
}

#[test]
fn ping_and_other_ports_still_reach_the_kernel() {
    let tb = Testbed::new(1).unwrap();
    let daemon = echo_daemon(&tb, &[]);

    let ping = tb.cli.run(&[
        "ping",
        "-c",
        "3",
        "-i",
        "0.2",
        "-W",
        "2",
        &tb.srv_ip.to_string(),
    ]);
    let ping = ping.unwrap();
    assert!(ping.success(), "ping failed: {ping:?}");
    let listener = kernel_listener(&tb, 8080);
    assert_kernel_round_trip(&tb, listener, 8080);

    let c = stop(daemon);
    assert!(c.xdp("passed") >= 1, "{c:?}");
}

#[test]
fn two_queues_accept_flows_arriving_on_both() {
    let tb = Testbed::new(2).unwrap();
    let daemon = echo_daemon(&tb, &["--queues", "2"]);

    let (cli_ip, dst) = (tb.cli_ip, tb.srv_addr(PORT));
    let results = tb.cli.exec_in(move || {
        (0..32u16)
            .map(|i| {
                let src = SocketAddrV4::new(cli_ip, 43000 + i);
                let mut s = connect_from(src, dst, T).map_err(|e| format!("{src}: {e}"))?;
                assert_echoes(&mut s, format!("flow {i}").as_bytes());
                Ok(())
            })
            .collect::<Vec<Result<(), String>>>()
    });
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "{failed:?}");

    let c = stop(daemon);
    assert!(
        c.queue(0, "opened") > 0 && c.queue(1, "opened") > 0,
        "both workers accept: {c:?}"
    );
    assert_eq!(c.total("opened"), 32, "{c:?}");
    assert!(c.xdp("steered") >= 32, "{c:?}");
}

#[test]
fn after_kill_9_the_program_is_gone_and_the_kernel_owns_the_port() {
    let tb = Testbed::new(1).unwrap();
    let mut daemon = echo_daemon(&tb, &[]);
    assert!(tb.srv_xdp_attached().unwrap(), "no XDP program after ready");
    let mut c = tb.connect(PORT, T).expect("the stack accepts");
    assert_echoes(&mut c, b"before kill");
    drop(c);

    daemon.kill9().unwrap();

    wait_until("XDP program detached", Duration::from_secs(5), || {
        (!tb.srv_xdp_attached().ok()?).then_some(())
    })
    .unwrap();
    let listener = kernel_listener(&tb, PORT);
    assert_kernel_round_trip(&tb, listener, PORT);
}

fn assert_clean_exit_on(sig: i32) {
    let tb = Testbed::new(1).unwrap();
    let mut daemon = echo_daemon(&tb, &[]);
    assert!(
        tb.srv_xdp_attached().unwrap(),
        "`ready` printed before the program was attached"
    );

    let (status, out) = match sig {
        libc::SIGINT => daemon.sigint_and_wait(),
        _ => daemon.sigterm_and_wait(),
    }
    .unwrap();

    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}; output:\n{out}"
    );
    let ready = out.lines().filter(|l| l.starts_with("ready")).count();
    assert_eq!(ready, 1, "`ready` printed {ready} times:\n{out}");
    assert!(
        !tb.srv_xdp_attached().unwrap(),
        "XDP program left attached:\n{out}"
    );
}

#[test]
fn sigterm_exits_zero_and_detaches() {
    assert_clean_exit_on(libc::SIGTERM);
}

#[test]
fn sigint_exits_zero_and_detaches() {
    assert_clean_exit_on(libc::SIGINT);
}

/// Runs `xdptcp serve <args>` to completion in the server namespace; checks it fails with
/// exactly one line on stderr and no panic.
fn assert_one_line_error(tb: &Testbed, args: &[&str]) {
    let bin = daemon_bin();
    let mut argv = vec![bin.to_str().unwrap(), "serve"];
    argv.extend_from_slice(args);
    let out = tb.srv.run_timeout(&argv, Duration::from_secs(10)).unwrap();
    assert!(!out.success(), "`{}` succeeded: {out:?}", argv.join(" "));
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "expected a one-line error, got:\n{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn no_such_interface_is_a_one_line_error() {
    let tb = Testbed::new(1).unwrap();
    assert_one_line_error(
        &tb,
        &["--iface", "nosuchif0", "--port", "7", "--app", "echo"],
    );
    assert!(!tb.srv_xdp_attached().unwrap());
}

#[test]
fn port_zero_is_a_one_line_error() {
    let tb = Testbed::new(1).unwrap();
    assert_one_line_error(
        &tb,
        &["--iface", &tb.srv_if, "--port", "0", "--app", "echo"],
    );
    assert!(!tb.srv_xdp_attached().unwrap());
}

#[test]
fn bad_values_and_unknown_options_are_one_line_errors() {
    let tb = Testbed::new(1).unwrap();
    let iface = tb.srv_if.clone();
    for bad in [
        &["--port", "7", "--app", "nosuch"][..],
        &["--port", "7", "--queues", "abc"],
        &["--port", "70000"],
        &["--port", "7", "--bogus"],
    ] {
        let mut args = vec!["--iface", iface.as_str()];
        args.extend_from_slice(bad);
        assert_one_line_error(&tb, &args);
    }
    assert!(!tb.srv_xdp_attached().unwrap());
}
