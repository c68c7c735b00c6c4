//! What the daemon learns about its interface from the kernel over rtnetlink (the link and
//! its addresses at start, the link again every 500 ms in the supervisor), seen from outside.
//!
//! Run with `cargo xtask test` (sets `XDPTCP_BIN`); without it these tests fail on purpose.

use std::time::Duration;

use netns_tests::{daemon_bin, Daemon, Testbed};

#[test]
fn the_daemon_serves_the_interfaces_primary_address_on_every_queue() {
    let tb = Testbed::new(2).unwrap();
    // A secondary address in the same subnet comes after the primary in the kernel's list.
    let octets = tb.srv_ip.octets();
    let secondary = format!("{}.{}.{}.250/24", octets[0], octets[1], octets[2]);
    tb.srv
        .run_ok(&["ip", "addr", "add", &secondary, "dev", &tb.srv_if])
        .unwrap();
    let daemon = Daemon::start(&tb, &["--port", "7", "--app", "echo"]).unwrap();
    let ready = daemon.ready_line().to_string();
    assert!(ready.contains(&format!("iface={} ", tb.srv_if)), "{ready}");
    assert!(ready.contains(&format!("addr={} ", tb.srv_ip)), "{ready}");
    assert!(ready.contains("queues=2 "), "{ready}");
    daemon.stop();
}

#[test]
fn without_an_address_the_daemon_asks_for_addr_and_with_only_ipv6_it_serves_that() {
    let tb = Testbed::new(1).unwrap();
    tb.srv
        .run_ok(&["ip", "-4", "addr", "flush", "dev", &tb.srv_if])
        .unwrap();
    let bin = daemon_bin();
    let bin = bin.to_str().unwrap();
    let argv = [bin, "serve", "--iface", &tb.srv_if, "--port", "7"];
    let out = tb.srv.run_timeout(&argv, Duration::from_secs(10)).unwrap();
    assert!(!out.success(), "{out:?}");
    assert_eq!(
        out.stderr.trim(),
        format!(
            "xdptcp: error: interface {} has no IPv4 or global IPv6 address; pass --addr",
            tb.srv_if
        )
    );
    assert!(!tb.srv_xdp_attached().unwrap());
    // An IPv6 address (besides the link-local one) is what the default takes then.
    tb.enable_ipv6().unwrap();
    let d = Daemon::start(&tb, &["--port", "7", "--app", "echo"]).unwrap();
    assert!(
        d.ready_line().contains(&format!("addr={} ", tb.srv_ip6)),
        "{}",
        d.ready_line()
    );
    let mut s = tb.connect6(7, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    std::io::Write::write_all(&mut s, b"only6").unwrap();
    let mut buf = [0u8; 5];
    std::io::Read::read_exact(&mut s, &mut buf).unwrap();
    assert_eq!(&buf, b"only6");
    drop(s);
    d.stop();
}

#[test]
fn deleting_the_served_interface_stops_the_daemon_with_one_line() {
    let tb = Testbed::new(1).unwrap();
    let mut daemon = Daemon::start(&tb, &["--port", "7", "--app", "echo"]).unwrap();
    tb.srv
        .run_ok(&["ip", "link", "del", "dev", &tb.srv_if])
        .unwrap();
    // The supervisor looks every 500 ms.
    let status = daemon.process().wait_exit(Duration::from_secs(5)).unwrap();
    let out = daemon.output();
    assert!(!status.success(), "exit {status}; output:\n{out}");
    // One ERROR event (timestamp, level, target, message), then the plain fatal line.
    let gone = format!("interface {} is gone; stopped", tb.srv_if);
    assert!(
        out.lines()
            .any(|l| l.contains(" ERROR ") && l.ends_with(&gone)),
        "no error event {gone:?} in:\n{out}"
    );
    let fatal = format!("xdptcp: error: stopped: interface {} is gone", tb.srv_if);
    assert!(out.lines().any(|l| l == fatal), "no {fatal:?} in:\n{out}");
    assert!(!out.contains("panicked"), "{out}");
}
