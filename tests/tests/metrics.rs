//! The Prometheus text a running daemon publishes (`xdptcp stats`, the same text as
//! `--metrics-addr` serves) is valid for Prometheus's own checker, `promtool check metrics`
//! (Debian package `prometheus`, installed by `cargo xtask setup`). Without promtool these
//! tests fail: they are the proof that the hand-written exposition in metrics.rs is valid.
//!
//! Run with `cargo xtask test` (builds the examples, sets `XDPTCP_BIN`).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use netns_tests::{wait_until, Daemon, Testbed};

const T: Duration = Duration::from_secs(5);

/// `promtool check metrics` on `text`: its exit status and what it printed (nothing when
/// the text is clean; one line per problem otherwise).
fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (Debian package `prometheus`; `cargo xtask setup` installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let status = child.wait().unwrap();
    let mut said = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    (status.success(), said)
}

/// The daemon's stats once they contain `sample` (published about twice a second).
fn stats_with(daemon: &Daemon, sample: &str) -> String {
    wait_until(&format!("{sample} in the stats"), T, || {
        daemon.stats_text().ok().filter(|t| t.contains(sample))
    })
    .unwrap()
}

#[test]
fn a_serving_daemons_stats_pass_promtool_check_metrics() {
    let tb = Testbed::new(2).unwrap();
    let daemon = Daemon::start(&tb, &["--port", "7", "--app", "echo"]).unwrap();
    let mut c = tb.connect(7, T).expect("the stack accepts");
    c.set_read_timeout(Some(T)).unwrap();
    c.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    c.read_exact(&mut buf).unwrap();
    drop(c);
    let text = stats_with(&daemon, "xdptcp_connections_opened_total{queue=\"1\"}");
    assert!(
        text.contains("xdptcp_drops_total{queue=\"0\",reason="),
        "{text}"
    );
    let (ok, said) = promtool_check(&text);
    assert!(
        ok && said.trim().is_empty(),
        "promtool: {said}\non:\n{text}"
    );
    daemon.stop();
}

#[test]
fn a_services_own_metrics_on_two_queues_pass_promtool_check_metrics() {
    let tb = Testbed::new(2).unwrap();
    let daemon = Daemon::start_example(&tb, "kv", &["--port", "6379", "--queues", "2"]).unwrap();
    // Each queue's samples of one service metric come under one HELP/TYPE.
    let text = stats_with(&daemon, "xdptcp_kv_commands_total{queue=\"1\"}");
    assert_eq!(
        text.matches("# TYPE xdptcp_kv_commands_total counter")
            .count(),
        1,
        "{text}"
    );
    let (ok, said) = promtool_check(&text);
    assert!(
        ok && said.trim().is_empty(),
        "promtool: {said}\non:\n{text}"
    );
    daemon.stop();
}

#[test]
fn promtool_rejects_what_it_should() {
    // The checker is not a rubber stamp: a counter without `_total`, and a HELP line that
    // names the family rather than the samples (what OpenMetrics encoders such as
    // prometheus-client write), are both reported.
    let (ok, said) = promtool_check("# HELP x_bytes b\n# TYPE x_bytes counter\nx_bytes 1\n");
    assert!(!ok && said.contains("_total"), "{said}");
    let (ok, said) =
        promtool_check("# HELP x_frames f\n# TYPE x_frames counter\nx_frames_total 1\n# EOF\n");
    assert!(!ok && said.contains("no help text"), "{said}");
}
