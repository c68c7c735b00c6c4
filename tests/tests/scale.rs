//! Issue "a million connections on one box": one worker of `xdptcp serve` with default flags
//! holds 200,000 concurrent connections opened by the stack itself as the client
//! (`xdptcp connect --mode hold` in the client namespace, over four server ports because one
//! local address has only 64 K ports towards each), every one of them echoes after all are
//! open, and the daemon's memory per connection is printed (the figure itself is a benchmark
//! goal: `cargo xtask bench --modes conns`).
//!
//! Both ends are the stack, so no kernel socket is involved: the kernel's checksum offload
//! does not matter and nothing needs file descriptors.
//!
//! Run with `cargo xtask test` (sets `XDPTCP_BIN`); without it these tests fail on purpose.

use std::time::Duration;

use netns_tests::{daemon_bin, Daemon, ExitCounters, Testbed};

/// Connections held.
const CONNS: usize = 200_000;
/// The served ports: 4 x 55,536 local ports hold 222,144 tuples.
const PORTS: &str = "7000,7001,7002,7003";

#[test]
fn one_worker_holds_200000_connections_each_echoing_once_all_are_open() {
    let tb = Testbed::new(1).unwrap();
    let d = Daemon::start(&tb, &["--port", PORTS, "--app", "echo", "--cores", "1"]).unwrap();
    let rss_idle = d.rss_kib().unwrap();
    let bin = daemon_bin();
    let remote = tb.srv_addr(7000).to_string();
    let conns = CONNS.to_string();
    let mut client = tb
        .cli
        .spawn(
            "xdptcp connect --mode hold",
            &[
                bin.to_str().unwrap(),
                "connect",
                "--iface",
                &tb.cli_if,
                "--cores",
                "0",
                "--remote",
                &remote,
                "--remote-ports",
                "7000-7003",
                "--local-ports",
                "10000-65535",
                "--mode",
                "hold",
                "--conns",
                &conns,
                "--duration",
                "3",
                "--interval",
                "2",
            ],
        )
        .unwrap();
    // All open and echoed once: read the server's memory while it holds them.
    let line = client
        .wait_for_line("the client holding", Duration::from_secs(600), |l| {
            l.starts_with("holding")
        })
        .unwrap();
    let rss_held = d.rss_kib().unwrap();
    let live = d.live_counters().unwrap();
    // `xdptcp ss` walks the whole table a piece at a time while the connections are held.
    let started = std::time::Instant::now();
    let listed = netns_tests::host(&[
        bin.to_str().unwrap(),
        "ss",
        "--iface",
        &tb.srv_if,
        "--state",
        "established",
        "--port",
        "7000",
    ])
    .unwrap()
    .check()
    .unwrap()
    .stdout
    .lines()
    .filter(|l| l.starts_with("ESTABLISHED"))
    .count();
    println!(
        "xdptcp ss --port 7000: {listed} established in {:?}",
        started.elapsed()
    );
    assert!(
        listed >= CONNS / 4 - 1000,
        "about a quarter of the connections are on port 7000: {listed}"
    );
    let per_conn = (rss_held.saturating_sub(rss_idle) << 10) / CONNS as u64;
    println!(
        "{line}\nserver: VmRSS {rss_idle} KiB idle, {rss_held} KiB holding {CONNS}: \
         {per_conn} bytes per connection\nserver gauges: {:?}",
        live
    );
    let status = client.wait_exit(Duration::from_secs(120)).unwrap();
    let out = client.output();
    assert!(status.success(), "xdptcp connect: {status}\n{out}");
    let report = out
        .lines()
        .find(|l| l.starts_with("{\"mode\":\"hold\""))
        .unwrap_or_else(|| panic!("no report in:\n{out}"));
    println!("client: {report}");
    let json: serde_json::Value = serde_json::from_str(report).expect("a JSON report");
    let field = |k: &str| -> u64 { json[k].as_u64().expect(k) };
    assert_eq!(field("established"), CONNS as u64, "{report}");
    assert_eq!(field("echoed"), CONNS as u64, "{report}");
    assert_eq!(field("alive"), CONNS as u64, "{report}");
    assert_eq!(field("failed"), 0, "{report}");
    assert!(field("pongs") > 0, "{report}");
    assert!(
        live.total("connections_active") >= CONNS as u64,
        "the server holds fewer: {live:?}"
    );
    let (c, out): (ExitCounters, String) = d.stop();
    println!("{out}");
    assert!(c.total("opened") >= CONNS as u64, "{c:?}");
}
