//! Issue "foundation": the daemon attaches, steers the served port into AF_XDP and answers
//! every segment there with RST (like a CLOSED port); everything else still reaches the kernel.
//!
//! Run with `cargo xtask test` (sets `XDPTCP_BIN`); without it these tests fail on purpose.

use std::{
    io::{ErrorKind, Read, Write},
    net::{SocketAddrV4, TcpListener},
    time::{Duration, Instant},
};

use netns_tests::{connect_from, daemon_bin, wait_until, Daemon, ExitCounters, Testbed};

const PORT: u16 = 7;

fn echo_daemon(tb: &Testbed, extra: &[&str]) -> Daemon {
    let mut args = vec!["--port", "7", "--app", "echo"];
    args.extend_from_slice(extra);
    Daemon::start(tb, &args).expect("daemon starts and prints ready")
}

/// Connects from the client namespace and checks the connection is refused within 1 s.
fn assert_refused_quickly(tb: &Testbed, port: u16) {
    let start = Instant::now();
    let result = tb.connect(port, Duration::from_secs(3));
    let elapsed = start.elapsed();
    match result {
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
        other => panic!("expected ConnectionRefused, got {other:?} after {elapsed:?}"),
    }
    assert!(
        elapsed < Duration::from_secs(1),
        "refused only after {elapsed:?}"
    );
}

/// A kernel listener bound in the server namespace (the socket stays there when moved).
fn kernel_listener(tb: &Testbed, port: u16) -> TcpListener {
    let addr = tb.srv_addr(port);
    tb.srv
        .exec_in(move || TcpListener::bind(addr))
        .expect("kernel listener binds")
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

fn stop(mut daemon: Daemon) -> ExitCounters {
    let (status, out) = daemon.sigterm_and_wait().expect("daemon exits on SIGTERM");
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}; output:\n{out}"
    );
    ExitCounters::parse(&out)
}

#[test]
fn connect_to_the_served_port_is_refused_by_the_stack() {
    let tb = Testbed::new(1).unwrap();
    let daemon = echo_daemon(&tb, &[]);

    assert_refused_quickly(&tb, PORT);

    // The kernel would refuse a closed port too: the counters show the stack answered.
    let c = stop(daemon);
    assert!(c.xdp("steered") >= 1, "{c:?}");
    assert!(
        c.total("rx_frames") >= 1 && c.total("tx_frames") >= 1,
        "{c:?}"
    );
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
fn two_queues_refuse_flows_arriving_on_both() {
    let tb = Testbed::new(2).unwrap();
    let daemon = echo_daemon(&tb, &["--queues", "2"]);

    let (cli_ip, dst) = (tb.cli_ip, tb.srv_addr(PORT));
    let results = tb.cli.exec_in(move || {
        (0..32u16)
            .map(|i| {
                let src = SocketAddrV4::new(cli_ip, 43000 + i);
                connect_from(src, dst, Duration::from_secs(2))
                    .map(|_| ())
                    .map_err(|e| e.kind())
            })
            .collect::<Vec<_>>()
    });
    assert!(
        results
            .iter()
            .all(|r| *r == Err(ErrorKind::ConnectionRefused)),
        "{results:?}"
    );

    let c = stop(daemon);
    assert!(
        c.queue(0, "rx_frames") > 0 && c.queue(1, "rx_frames") > 0,
        "{c:?}"
    );
    assert!(c.xdp("steered") >= 32, "{c:?}");
}

#[test]
fn after_kill_9_the_program_is_gone_and_the_kernel_owns_the_port() {
    let tb = Testbed::new(1).unwrap();
    let mut daemon = echo_daemon(&tb, &[]);
    assert!(tb.srv_xdp_attached().unwrap(), "no XDP program after ready");
    assert_refused_quickly(&tb, PORT);

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
