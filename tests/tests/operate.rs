//! Issue "operating it": what an operator sees of a running daemon through its control
//! socket. `xdptcp ss` lists connections with their state and queues (established with
//! unsent data, TIME-WAIT after the server closed, SYN-RECEIVED for a half-open one), and
//! `xdptcp capture` writes what the daemon receives and sends to pcapng that tcpdump reads,
//! frame for frame what the daemon's counters say.
//!
//! Run with `cargo xtask test` (sets `XDPTCP_BIN`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use netns_tests::{daemon_bin, host, raw::flags, wait_until, Daemon, Process, RawPeer, Testbed};
use serde_json::Value;

const PORT: u16 = 7;
const T: Duration = Duration::from_secs(5);

fn bin() -> String {
    daemon_bin().to_string_lossy().into_owned()
}

/// `xdptcp ss --iface IF --json <extra>`: the listed connections.
fn ss(tb: &Testbed, extra: &[&str]) -> Vec<Value> {
    let b = bin();
    let mut argv = vec![b.as_str(), "ss", "--iface", &tb.srv_if, "--json"];
    argv.extend_from_slice(extra);
    let out = host(&argv)
        .expect("xdptcp ss runs")
        .check()
        .expect("xdptcp ss succeeds");
    match serde_json::from_str(&out.stdout) {
        Ok(Value::Array(conns)) => conns,
        other => panic!("xdptcp ss --json printed {other:?}: {}", out.stdout),
    }
}

/// The connection whose peer is the client's `port`, once `ss` lists it in `state`.
fn wait_listed(tb: &Testbed, state: &str, peer_port: u16) -> Value {
    let remote = format!("{}:{peer_port}", tb.cli_ip);
    wait_until(&format!("{remote} listed in {state}"), T, || {
        ss(tb, &["--state", state])
            .into_iter()
            .find(|c| c["remote"] == remote.as_str())
    })
    .unwrap()
}

#[test]
fn ss_lists_an_established_connection_with_data_waiting_to_be_sent() {
    let tb = Testbed::new(1).unwrap();
    let daemon = Daemon::start(&tb, &["--port", "7", "--app", "echo"]).unwrap();
    let client = tb.connect(PORT, T).unwrap();
    let peer_port = client.local_addr().unwrap().port();
    // The client writes and never reads: the echo fills its send buffer and waits for
    // the client's window.
    let mut writer = client.try_clone().unwrap();
    writer.set_write_timeout(Some(T)).unwrap();
    let feeder = std::thread::spawn(move || {
        let chunk = vec![0x5au8; 64 * 1024];
        while writer.write_all(&chunk).is_ok() {}
    });
    let remote = format!("{}:{peer_port}", tb.cli_ip);
    let conn = wait_until("the echo's send queue to fill", T, || {
        ss(&tb, &["--state", "established", "--port", "7"])
            .into_iter()
            .find(|c| c["remote"] == remote.as_str() && c["send_q"].as_u64() > Some(0))
    })
    .unwrap();
    assert_eq!(conn["state"], "ESTABLISHED");
    assert_eq!(conn["local"], format!("{}:{PORT}", tb.srv_ip).as_str());
    assert!(conn["bytes_received"].as_u64().unwrap() > 0, "{conn}");
    assert!(
        conn["bytes_acked"].as_u64() <= conn["bytes_sent"].as_u64(),
        "{conn}"
    );
    assert!(
        conn["rtt_us"].as_u64().is_some(),
        "an RTT was measured: {conn}"
    );
    assert!(conn["cwnd"].as_u64().unwrap() > 0);
    assert_eq!(conn["congestion"], "reno");
    assert!(
        conn["timer"].is_string(),
        "data in flight arms a timer: {conn}"
    );
    // The text form says the same in `ss`'s columns.
    let b = bin();
    let text = host(&[&b, "ss", "--iface", &tb.srv_if, "--port", "7"])
        .unwrap()
        .check()
        .unwrap()
        .stdout;
    assert!(text.starts_with("State"), "{text}");
    let line = text.lines().find(|l| l.contains(&remote)).expect("listed");
    assert!(line.starts_with("ESTABLISHED"), "{line}");
    client.shutdown(std::net::Shutdown::Both).unwrap();
    feeder.join().unwrap();
    drop(daemon);
}

#[test]
fn ss_shows_time_wait_after_the_server_closes() {
    let tb = Testbed::new(1).unwrap();
    let _daemon = Daemon::start(&tb, &["--port", "7", "--app", "http"]).unwrap();
    let mut client = tb.connect(PORT, T).unwrap();
    let peer_port = client.local_addr().unwrap().port();
    client.set_read_timeout(Some(T)).unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = Vec::new();
    client
        .read_to_end(&mut reply)
        .expect("the server closes after its answer");
    assert!(reply.starts_with(b"HTTP/1.1 200"));
    // The server closed first; the client's FIN then puts the server in TIME-WAIT.
    drop(client);
    let conn = wait_listed(&tb, "time-wait", peer_port);
    assert_eq!(conn["state"], "TIME-WAIT");
    assert_eq!(conn["timer"], "time_wait");
    // TIME-WAIT lasts 2 MSL (60 s by default) from when it began.
    let left = conn["timer_us"].as_u64().unwrap();
    assert!(left > 0 && left <= 60_000_000, "{conn}");
    // The established filter no longer lists it.
    let remote = format!("{}:{peer_port}", tb.cli_ip);
    assert!(!ss(&tb, &["--state", "established"])
        .iter()
        .any(|c| c["remote"] == remote.as_str()));
}

#[test]
fn ss_shows_a_half_open_connection_as_syn_received() {
    let tb = Testbed::new(1).unwrap();
    let _daemon = Daemon::start(&tb, &["--port", "7", "--app", "echo"]).unwrap();
    let peer = RawPeer::new(&tb, 45_000).unwrap();
    let mut syn = peer.seg(PORT, flags::SYN, 1000, 0);
    syn.options = vec![2, 4, 0x05, 0xb4];
    peer.send(&syn).unwrap();
    let sa = peer
        .recv_matching(T, |r| r.tcp.src_port == PORT)
        .unwrap()
        .expect("a SYN-ACK");
    assert_eq!(
        sa.tcp.flags & (flags::SYN | flags::ACK),
        flags::SYN | flags::ACK
    );
    // The handshake is never completed.
    let conn = wait_listed(&tb, "syn-recv", 45_000);
    assert_eq!(conn["state"], "SYN-RECEIVED");
    assert_eq!(
        conn["timer"], "retransmit",
        "the SYN-ACK is retransmitted: {conn}"
    );
    assert_eq!(conn["bytes_received"], 0);
}

#[test]
fn ss_and_capture_without_a_daemon_say_so() {
    let b = bin();
    for sub in ["ss", "capture"] {
        let out = host(&[&b, sub, "--iface", "xdptcp-none0"]).unwrap();
        assert!(!out.success(), "{sub} must fail: {out:?}");
        assert!(
            out.stderr.contains("no running xdptcp on xdptcp-none0"),
            "{sub}: {}",
            out.stderr
        );
    }
    let out = host(&[&b, "capture", "--iface", "x", "port", "99999"]).unwrap();
    assert!(!out.success());
    assert!(
        out.stderr.contains("'99999' is not a TCP port"),
        "{}",
        out.stderr
    );
    let out = host(&[&b, "ss", "--iface", "x", "--state", "listening"]).unwrap();
    assert_eq!(out.status.code(), Some(2), "a bad flag: {out:?}");
    assert!(out.stderr.contains("is not a TCP state"), "{}", out.stderr);
}

/// Frames received and sent so far, by the daemon's published counters (waiting for its
/// first publication).
fn frames(daemon: &Daemon) -> (u64, u64, u64) {
    let c = wait_until("the daemon's counters", T, || daemon.live_counters().ok()).unwrap();
    (
        c.total("rx_frames_total"),
        c.total("tx_frames_total"),
        c.total("connections_active"),
    )
}

#[test]
fn capture_during_an_echo_shows_handshake_data_and_teardown_to_tcpdump() {
    let tb = Testbed::new(1).unwrap();
    let daemon = Daemon::start(&tb, &["--port", "7", "--app", "echo"]).unwrap();
    let file = std::env::temp_dir().join(format!("xdptcp-capture-{}.pcapng", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let before = frames(&daemon);
    let mut cap = Process::spawn(
        "capture",
        Command::new(daemon_bin())
            .args(["capture", "--iface", &tb.srv_if, "-w"])
            .arg(&file)
            .args(["tcp", "port", "7"]),
    )
    .unwrap();
    cap.wait_for_line("the capture to start", T, |l| l.contains("listening on"))
        .unwrap();
    // One echo of 1000 bytes, then a graceful close from the client.
    let mut client: TcpStream = tb.connect(PORT, T).unwrap();
    let peer_port = client.local_addr().unwrap().port();
    client.set_read_timeout(Some(T)).unwrap();
    let msg: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    client.write_all(&msg).unwrap();
    let mut back = vec![0u8; msg.len()];
    client.read_exact(&mut back).unwrap();
    assert_eq!(back, msg);
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    drop(client);
    // The counters published once the connection is gone include its last frames.
    let after = wait_until("the connection to close", T, || {
        let f = frames(&daemon);
        (f.2 == 0 && f.0 > before.0).then_some(f)
    })
    .unwrap();
    let (rx, tx) = (after.0 - before.0, after.1 - before.1);
    // The capture has everything the counters saw once the summary matches them.
    cap.signal(libc::SIGINT).unwrap();
    let status = cap.wait_exit(T).unwrap();
    let out = cap.output();
    assert!(status.success(), "{out}");
    assert!(
        out.contains(&format!(
            "{} frames captured ({rx} received, {tx} sent), 0 dropped",
            rx + tx
        )),
        "daemon counters say rx {rx} tx {tx}; capture said: {out}"
    );
    // tcpdump reads the file: the handshake, the data with its sequence numbers, both FINs.
    let dump = host(&["tcpdump", "-r", file.to_str().unwrap(), "-nn", "-S", "-tt"])
        .unwrap()
        .check()
        .unwrap()
        .stdout;
    let _ = std::fs::remove_file(&file);
    let lines: Vec<&str> = dump.lines().collect();
    assert_eq!(lines.len() as u64, rx + tx, "{dump}");
    let client_end = format!("{}.{peer_port}", tb.cli_ip);
    let server_end = format!("{}.{PORT}", tb.srv_ip);
    let from_client = |l: &&&str| l.contains(&format!("{client_end} > {server_end}"));
    let from_server = |l: &&&str| l.contains(&format!("{server_end} > {client_end}"));
    let syn = lines
        .iter()
        .find(|l| from_client(l) && l.contains("Flags [S]"))
        .unwrap_or_else(|| panic!("no SYN in {dump}"));
    let isn: u64 = field(syn, "seq ").expect("SYN seq");
    assert!(lines
        .iter()
        .any(|l| from_server(&l) && l.contains("Flags [S.]")));
    // The client's data starts at ISN+1 and the echo's bytes go back: 1000 each way.
    let data_from_client: u64 = lines
        .iter()
        .filter(|l| from_client(l))
        .filter_map(|l| field(l, "length "))
        .sum();
    let data_from_server: u64 = lines
        .iter()
        .filter(|l| from_server(l))
        .filter_map(|l| field(l, "length "))
        .sum();
    assert_eq!((data_from_client, data_from_server), (1000, 1000), "{dump}");
    let first_data = lines
        .iter()
        .find(|l| from_client(l) && field(l, "length ").is_some_and(|n| n > 0))
        .unwrap();
    assert!(
        first_data.contains(&format!("seq {}:", isn + 1)),
        "data begins at ISN+1 = {}: {first_data}",
        isn + 1
    );
    assert!(lines
        .iter()
        .any(|l| from_client(&l) && l.contains("Flags [F")));
    assert!(lines
        .iter()
        .any(|l| from_server(&l) && l.contains("Flags [F")));
}

/// The number after `key` in a tcpdump line (`seq 123`, `length 1000`).
fn field(line: &str, key: &str) -> Option<u64> {
    let rest = &line[line.find(key)? + key.len()..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

#[test]
fn an_ip6_capture_filter_keeps_the_ipv6_connection_and_not_the_ipv4_one() {
    let tb = Testbed::with_family(1, netns_tests::Family::V6).unwrap();
    let v6 = tb.srv_ip6.to_string();
    let v4 = tb.srv_ip.to_string();
    let daemon = Daemon::start(
        &tb,
        &["--port", "7", "--app", "echo", "--addr", &v4, "--addr", &v6],
    )
    .unwrap();
    let file = std::env::temp_dir().join(format!("xdptcp-capture6-{}.pcapng", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let filter = format!("ip6 and host {v6} and port 7");
    let mut cap = Process::spawn(
        "capture",
        Command::new(daemon_bin())
            .args(["capture", "--iface", &tb.srv_if, "-w"])
            .arg(&file)
            .args(filter.split(' ')),
    )
    .unwrap();
    cap.wait_for_line("the capture to start", T, |l| l.contains("listening on"))
        .unwrap();
    // One echo over each family, each closed by the client.
    let mut ports = Vec::new();
    for family in [netns_tests::Family::V4, netns_tests::Family::V6] {
        let mut c = tb.connect_to(tb.srv_sockaddr(family, PORT), T).unwrap();
        ports.push(c.local_addr().unwrap().port());
        c.set_read_timeout(Some(T)).unwrap();
        c.write_all(b"hello").unwrap();
        let mut back = [0u8; 5];
        c.read_exact(&mut back).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).unwrap();
    }
    wait_until("both connections closed", T, || {
        (frames(&daemon).2 == 0).then_some(())
    })
    .unwrap();
    cap.signal(libc::SIGINT).unwrap();
    let status = cap.wait_exit(T).unwrap();
    assert!(status.success(), "{}", cap.output());
    let dump = host(&["tcpdump", "-r", file.to_str().unwrap(), "-nn", "-S"])
        .unwrap()
        .check()
        .unwrap()
        .stdout;
    let _ = std::fs::remove_file(&file);
    let lines: Vec<&str> = dump.lines().collect();
    let client6 = format!("{}.{} > {v6}.{PORT}", tb.cli_ip6, ports[1]);
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&client6) && l.contains("Flags [S]")),
        "no IPv6 SYN from {client6}: {dump}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&client6) && l.contains("length 5")),
        "no IPv6 data: {dump}"
    );
    // Nothing of the IPv4 connection, and every frame is IPv6.
    assert!(!dump.contains(&tb.cli_ip.to_string()), "{dump}");
    assert!(lines.iter().all(|l| l.contains(" IP6 ")), "{dump}");
    let _ = daemon.stop();
}
