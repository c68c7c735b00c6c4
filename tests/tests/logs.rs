//! The daemon's logs as an operator and a log shipper read them: timestamped, levelled
//! lines on stderr (or one JSON object per line), the `ready` line alone on stdout, the exit
//! report still in its old shape, and a recurring condition (the link going down and up)
//! logged once per change, not once per check.
//!
//! Run with `cargo xtask test` (sets `XDPTCP_BIN`); without it these tests fail on purpose.

use std::time::Duration;

use netns_tests::{Daemon, ExitCounters, Testbed};

/// `2026-12-03T17:20:26.123456Z`: an RFC 3339 timestamp in UTC.
fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() >= 20
        && s.ends_with('Z')
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && s[..4].bytes().all(|c| c.is_ascii_digit())
}

/// The lines of the daemon's stderr that are log events in text format:
/// (timestamp, level, target, message).
fn text_events(stderr: &str) -> Vec<(String, String, String, String)> {
    stderr
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(4, ' ').filter(|x| !x.is_empty());
            let (ts, level) = (f.next()?, f.next()?);
            if !is_rfc3339_utc(ts) {
                return None;
            }
            let rest = l[l.find(level)? + level.len()..].trim_start();
            let (target, message) = rest.split_once(": ")?;
            Some((ts.into(), level.into(), target.into(), message.into()))
        })
        .collect()
}

#[test]
fn text_logs_carry_a_utc_timestamp_a_level_and_a_target_and_stdout_holds_only_ready() {
    let tb = Testbed::new(1).unwrap();
    let mut d = Daemon::start(&tb, &["--port", "7", "--app", "echo"]).unwrap();
    d.process()
        .wait_for_line("the serving line", Duration::from_secs(5), |l| {
            l.contains("serving; SIGINT or SIGTERM to stop")
        })
        .unwrap();
    let (status, out) = d.sigterm_and_wait().unwrap();
    assert_eq!(status.code(), Some(0), "{out}");
    let (stdout, stderr) = (d.process().stdout(), d.process().stderr());
    let events = text_events(&stderr);
    let serving = events
        .iter()
        .find(|e| e.3.starts_with("serving;"))
        .unwrap_or_else(|| panic!("no serving event in:\n{stderr}"));
    assert_eq!(serving.1, "INFO", "{serving:?}");
    assert!(serving.2.starts_with("tcp_user"), "{serving:?}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        vec![d.ready_line()],
        "stdout is the ready line only"
    );
    assert!(d
        .ready_line()
        .starts_with(&format!("ready iface={} ", tb.srv_if)));
    let counters = ExitCounters::parse(&stderr);
    assert!(
        counters.queues.contains_key(&0) && counters.xdp.contains_key("steered"),
        "the exit report parses as before:\n{stderr}"
    );
}

#[test]
fn log_level_warn_hides_what_info_shows() {
    let tb = Testbed::new(1).unwrap();
    let d = Daemon::start(&tb, &["--port", "7", "--log-level", "warn"]).unwrap();
    let (counters, out) = d.stop();
    assert!(!out.contains(" INFO "), "no info events at warn:\n{out}");
    assert!(!out.contains("serving;"), "{out}");
    assert!(
        counters.queues.contains_key(&0),
        "the report is not a log event:\n{out}"
    );
}

#[test]
fn json_logs_are_one_object_per_line_with_timestamp_level_target_and_message() {
    let tb = Testbed::new(1).unwrap();
    let mut d = Daemon::start(&tb, &["--port", "7", "--log-format", "json"]).unwrap();
    d.process()
        .wait_for_line("the serving event", Duration::from_secs(5), |l| {
            l.contains("serving; SIGINT")
        })
        .unwrap();
    let stderr = d.process().stderr();
    d.stop();
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(events.len() >= 2, "{stderr}");
    for e in &events {
        assert!(is_rfc3339_utc(e["timestamp"].as_str().unwrap()), "{e}");
        assert!(e["target"].as_str().unwrap().starts_with("tcp_user"), "{e}");
        assert!(e["message"].is_string(), "{e}");
    }
    assert!(events
        .iter()
        .any(|e| e["level"] == "INFO" && e["message"] == "serving; SIGINT or SIGTERM to stop"));
}

#[test]
fn the_interface_going_down_and_up_is_one_warning_and_one_notice() {
    let tb = Testbed::new(1).unwrap();
    let mut d = Daemon::start(&tb, &["--port", "7"]).unwrap();
    tb.srv
        .run_ok(&["ip", "link", "set", "dev", &tb.srv_if, "down"])
        .unwrap();
    let down = d
        .process()
        .wait_for_line("the DOWN warning", Duration::from_secs(5), |l| {
            l.contains("is DOWN")
        })
        .unwrap();
    tb.srv
        .run_ok(&["ip", "link", "set", "dev", &tb.srv_if, "up"])
        .unwrap();
    // The limiter lets a change out at most once per 10 s: the `up` comes after that.
    let up = d
        .process()
        .wait_for_line("the up-again notice", Duration::from_secs(15), |l| {
            l.contains("is up again")
        })
        .unwrap();
    let (_, out) = d.stop();
    let down = &text_events(&down)[0];
    assert_eq!(
        (down.1.as_str(), down.3.as_str()),
        ("WARN", format!("interface {} is DOWN", tb.srv_if).as_str())
    );
    let up = &text_events(&up)[0];
    assert_eq!(
        (up.1.as_str(), up.3.as_str()),
        (
            "INFO",
            format!("interface {} is up again", tb.srv_if).as_str()
        )
    );
    let mentions = out.lines().filter(|l| l.contains("interface ")).count();
    assert_eq!(mentions, 2, "one line per change, not per check:\n{out}");
}
