//! Issue "IPv6", the XDP program's part: while the daemon serves a port over IPv4, IPv6
//! goes on to the kernel and is counted per family. Neighbour discovery and ping6 work, and a
//! kernel socket on the same port number at the server's IPv6 address still answers (the
//! daemon serves no IPv6 address yet, so nothing of IPv6 is steered).
//!
//! Run with `cargo xtask test` (sets `XDPTCP_BIN`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use netns_tests::{Daemon, Testbed};

const T: Duration = Duration::from_secs(3);

/// Gives both ends of the testbed an IPv6 address (no duplicate address detection, so they
/// are usable at once) and returns the server's and the client's.
fn add_ipv6(tb: &Testbed) -> (String, String) {
    let (srv, cli) = ("fd00:7::1", "fd00:7::2");
    // Namespaces start with IPv6 off (no neighbour-discovery noise in other tests).
    for (ns, dev) in [(&tb.srv, &tb.srv_if), (&tb.cli, &tb.cli_if)] {
        ns.run_ok(&[
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{dev}.disable_ipv6=0"),
        ])
        .unwrap();
    }
    tb.srv
        .run_ok(&[
            "ip",
            "-6",
            "addr",
            "add",
            &format!("{srv}/64"),
            "dev",
            &tb.srv_if,
            "nodad",
        ])
        .unwrap();
    tb.cli
        .run_ok(&[
            "ip",
            "-6",
            "addr",
            "add",
            &format!("{cli}/64"),
            "dev",
            &tb.cli_if,
            "nodad",
        ])
        .unwrap();
    (srv.to_string(), cli.to_string())
}

#[test]
fn ipv6_reaches_the_kernel_and_is_counted_per_family_while_ipv4_is_served() {
    let tb = Testbed::new(1).unwrap();
    let (srv6, _) = add_ipv6(&tb);
    let daemon = Daemon::start(&tb, &["--port", "7", "--app", "echo"]).unwrap();
    // Neighbour discovery and echo requests go to the kernel.
    let ping = tb
        .cli
        .run(&["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", &srv6])
        .unwrap();
    assert!(ping.success(), "ping -6 failed: {ping:?}");
    // A kernel listener on the served port number, at the IPv6 address.
    let addr: SocketAddr = format!("[{srv6}]:7").parse().unwrap();
    let listener = tb
        .srv
        .exec_in(move || TcpListener::bind(addr))
        .expect("a kernel listener on [v6]:7");
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).unwrap();
        s.write_all(&buf).unwrap();
    });
    let mut c = tb
        .cli
        .exec_in(move || TcpStream::connect_timeout(&addr, T))
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
