//! Issue 12, config and service: the TOML config file against the same flags, the start-up
//! checks that need an interface (address, zero-copy, cores), `check-config`, the systemd
//! unit (`systemd-analyze verify`), `Type=notify` readiness on a socket of our own, and the
//! daemon run as `nobody` with exactly the unit's capabilities.
//!
//! Run with `cargo xtask test` (sets `XDPTCP_BIN`); without it these tests fail on purpose.

use std::{
    io::{Read, Write},
    os::unix::net::UnixDatagram,
    path::{Path, PathBuf},
    time::Duration,
};

use netns_tests::{daemon_bin, host, Daemon, Testbed};

const T: Duration = Duration::from_secs(3);

/// The repository's `dist/` directory.
fn dist() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist")
}

/// A directory of this test's own, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("xdptcp-config-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// Writes `text` to `name` inside and returns its path.
    fn file(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn bin() -> String {
    daemon_bin().to_str().unwrap().to_string()
}

/// Runs the daemon with `args` in the server namespace; (exit code, stdout, stderr).
fn run_in(tb: &Testbed, args: &[&str]) -> (Option<i32>, String, String) {
    let b = bin();
    let mut argv = vec![b.as_str()];
    argv.extend_from_slice(args);
    let out = tb
        .srv
        .run_timeout(&argv, Duration::from_secs(20))
        .expect("daemon runs");
    (out.status.code(), out.stdout, out.stderr)
}

/// Writes `msg` and reads the same bytes back.
fn assert_echoes(tb: &Testbed, port: u16, msg: &[u8]) {
    let mut s = tb.connect(port, T).expect("connects to the served port");
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(msg).unwrap();
    let mut buf = vec![0u8; msg.len()];
    s.read_exact(&mut buf).expect("echo answers");
    assert_eq!(buf, msg);
}

/// The `xdptcp: per worker: ...` line of a running daemon (printed on stderr right after
/// the `ready` line on stdout, so it may arrive a moment later).
/// The limits the daemon logged (`per worker: ...`), without the log line's timestamp.
fn per_worker_line(d: &mut Daemon) -> String {
    let line = d
        .process()
        .wait_for_line("the per worker line", T, |l| l.contains("per worker:"))
        .expect("per worker line");
    line[line.find("per worker:").expect("found")..].to_string()
}

#[test]
fn a_config_file_serves_an_echo_exactly_like_the_same_flags() {
    let tb = Testbed::new(1).unwrap();
    let dir = TempDir::new("same");
    let file = dir.file(
        "srv.toml",
        &format!(
            "iface = \"{}\"\nport = [7, 9]\napp = \"echo\"\nmax_memory = \"64M\"\nmax-half-open = 100\nmsl-ms = 2000\nbind-mode = \"copy\"\n",
            tb.srv_if
        ),
    );
    let b = bin();
    let mut from_file = Daemon::start_program(&tb.srv, &[&b, "serve", "--config", &file]).unwrap();
    assert_echoes(&tb, 7, b"from the file");
    assert_echoes(&tb, 9, b"second port");
    let (file_ready, file_limits) = (
        from_file.ready_line().to_string(),
        per_worker_line(&mut from_file),
    );
    from_file.stop();

    let mut flags = Daemon::start(
        &tb,
        &[
            "--port=7,9",
            "--app=echo",
            "--max-memory=64M",
            "--max-half-open=100",
            "--msl-ms=2000",
            "--bind-mode=copy",
        ],
    )
    .unwrap();
    assert_echoes(&tb, 7, b"from the flags");
    assert_eq!(file_ready, flags.ready_line());
    assert_eq!(file_limits, per_worker_line(&mut flags));
    assert!(file_limits.contains("memory=64 MiB"), "{file_limits}");
    flags.stop();
}

#[test]
fn a_flag_on_the_command_line_overrides_the_file_including_the_ports() {
    let tb = Testbed::new(1).unwrap();
    let dir = TempDir::new("override");
    let file = dir.file(
        "srv.toml",
        &format!(
            "iface = \"{}\"\nport = [9]\nmax-memory = \"64M\"\n",
            tb.srv_if
        ),
    );
    let b = bin();
    let mut d = Daemon::start_program(
        &tb.srv,
        &[
            &b,
            "serve",
            "--config",
            &file,
            "--port",
            "7",
            "--max-memory",
            "32M",
        ],
    )
    .unwrap();
    assert!(d.ready_line().contains(" ports=7 "), "{}", d.ready_line());
    let limits = per_worker_line(&mut d);
    assert!(limits.contains("memory=32 MiB"), "{limits}");
    assert_echoes(&tb, 7, b"the flag's port");
    assert!(
        tb.connect(9, Duration::from_millis(500)).is_err(),
        "the file's port 9 is not served: the kernel refuses it"
    );
    d.stop();
}

#[test]
fn an_unknown_key_in_the_file_is_one_line_naming_file_line_and_key_and_exit_2() {
    let tb = Testbed::new(1).unwrap();
    let dir = TempDir::new("unknown");
    let file = dir.file(
        "srv.toml",
        &format!("iface = \"{}\"\nport = 7\nbusy_pol = true\n", tb.srv_if),
    );
    let (code, _, err) = run_in(&tb, &["serve", "--config", &file]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        format!("xdptcp: {file}: line 3: unknown key 'busy_pol' (`xdptcp serve` has no --busy-pol flag)")
    );
}

#[test]
fn check_config_accepts_the_shipped_example_and_refuses_what_serve_refuses() {
    let tb = Testbed::new(1).unwrap();
    let example = dist().join("xdptcp.example.toml");
    let example = example.to_str().unwrap();
    let (code, out, err) = run_in(&tb, &["check-config", example, "--iface", &tb.srv_if]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.starts_with(&format!(
            "config OK: iface={} addr={} ports=7 app=echo queues=1 ",
            tb.srv_if, tb.srv_ip
        )),
        "{out}"
    );
    // The same address mistake as `serve` makes, with the same words, but exit 2.
    let (code, _, err) = run_in(
        &tb,
        &[
            "check-config",
            example,
            "--iface",
            &tb.srv_if,
            "--addr",
            "10.9.9.9",
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    let want = format!(
        "xdptcp: error: address 10.9.9.9 is not on {} (its addresses: {})",
        tb.srv_if, tb.srv_ip
    );
    assert_eq!(err.trim_end(), want);
    let (code, _, serve_err) = run_in(
        &tb,
        &[
            "serve", "--iface", &tb.srv_if, "--port", "7", "--addr", "10.9.9.9",
        ],
    );
    assert_eq!(code, Some(1), "{serve_err}");
    assert_eq!(serve_err.trim_end(), want);
    assert!(!tb.srv_xdp_attached().unwrap(), "nothing was attached");
}

#[test]
fn zerocopy_on_veth_names_the_driver_and_the_modes_that_work() {
    let tb = Testbed::new(1).unwrap();
    let (code, _, err) = run_in(
        &tb,
        &[
            "serve",
            "--iface",
            &tb.srv_if,
            "--port",
            "7",
            "--bind-mode",
            "zerocopy",
        ],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.ends_with(&format!(
            "xdptcp: error: driver veth of {} does not support AF_XDP zero-copy; use --bind-mode copy or auto\n",
            tb.srv_if
        )),
        "{err}"
    );
    assert!(
        !tb.srv_xdp_attached().unwrap(),
        "the program was detached again"
    );
}

/// The online cores, from the kernel's list (`0-1`).
fn online_cores() -> Vec<usize> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    let mut cores = Vec::new();
    for part in text.trim().split(',') {
        match part.split_once('-') {
            Some((a, b)) => cores.extend(a.parse::<usize>().unwrap()..=b.parse().unwrap()),
            None => cores.push(part.parse().unwrap()),
        }
    }
    cores
}

#[test]
fn a_core_that_is_not_online_is_refused_with_the_online_list() {
    let tb = Testbed::new(1).unwrap();
    let online = online_cores();
    let missing = online.iter().max().unwrap() + 1;
    let online_text = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    let (code, _, err) = run_in(
        &tb,
        &[
            "serve",
            "--iface",
            &tb.srv_if,
            "--port",
            "7",
            "--cores",
            &format!("0,{missing}"),
        ],
    );
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        err.trim_end(),
        format!(
            "xdptcp: error: core {missing} is not online (online: {})",
            online_text.trim()
        )
    );
}

/// The unit with its binary paths pointing at the daemon under test, in `dir`.
fn unit_for_test(dir: &TempDir) -> String {
    let unit = std::fs::read_to_string(dist().join("systemd/xdptcp@.service")).unwrap();
    dir.file(
        "xdptcp@.service",
        &unit.replace("/usr/local/bin/xdptcp", &bin()),
    )
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify_without_a_warning() {
    let dir = TempDir::new("unit");
    let unit = unit_for_test(&dir);
    let out = host(&["systemd-analyze", "verify", &unit]).expect("systemd-analyze is installed");
    assert!(out.success(), "{}\n{}", out.stdout, out.stderr);
    // verify exits 0 on directives it ignores ("Failed to parse ..., ignoring"): none here.
    assert_eq!(out.stderr.trim(), "", "systemd-analyze warned");
    let text = std::fs::read_to_string(&unit).unwrap();
    for line in [
        "Type=notify",
        "NotifyAccess=main",
        "Restart=on-failure",
        "KillSignal=SIGTERM",
        "RuntimeDirectory=xdptcp",
    ] {
        assert!(text.lines().any(|l| l == line), "the unit has no {line}");
    }
    // It stops well after the default drain (5 s) and the workers' 10 s grace.
    let stop = text
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .and_then(|v| v.trim_end_matches('s').parse::<u64>().ok())
        .expect("TimeoutStopSec in seconds");
    assert!(stop > 15, "TimeoutStopSec={stop}");
}

#[test]
fn ready_and_stopping_reach_the_notify_socket() {
    let tb = Testbed::new(1).unwrap();
    let dir = TempDir::new("notify");
    let path = dir.0.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let b = bin();
    let env = format!("NOTIFY_SOCKET={}", path.display());
    let mut d = Daemon::start_program(
        &tb.srv,
        &[
            "env", &env, &b, "serve", "--iface", &tb.srv_if, "--port", "7",
        ],
    )
    .unwrap();
    let mut buf = [0u8; 512];
    let n = sock
        .recv(&mut buf)
        .expect("a notification after the ready line");
    let msg = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(msg.lines().any(|l| l == "READY=1"), "{msg:?}");
    assert!(
        msg.lines()
            .any(|l| l == format!("STATUS=serving {}:7 on 1 queue(s)", tb.srv_ip)),
        "{msg:?}"
    );
    assert_echoes(&tb, 7, b"ready means serving");
    let (status, out) = d.sigterm_and_wait().unwrap();
    let n = sock
        .recv(&mut buf)
        .expect("a notification when the drain starts");
    let msg = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(msg.lines().any(|l| l == "STOPPING=1"), "{msg:?}");
    assert_eq!(status.code(), Some(0), "{out}");
}

/// The unit's `AmbientCapabilities=`, as setpriv's `+bpf,+perfmon,...`.
fn unit_caps() -> Vec<String> {
    let unit = std::fs::read_to_string(dist().join("systemd/xdptcp@.service")).unwrap();
    let ambient = unit
        .lines()
        .find_map(|l| l.strip_prefix("AmbientCapabilities="))
        .expect("the unit sets AmbientCapabilities=");
    let bounding = unit
        .lines()
        .find_map(|l| l.strip_prefix("CapabilityBoundingSet="))
        .expect("the unit sets CapabilityBoundingSet=");
    assert_eq!(ambient, bounding, "ambient and bounding sets differ");
    ambient
        .split_whitespace()
        .map(|c| c.trim_start_matches("CAP_").to_lowercase())
        .collect()
}

/// The daemon as `nobody` with exactly the capabilities `caps` (inheritable, ambient and
/// bounding set alike, as the unit sets them) and systemd's default memlock limit (8 MiB).
fn as_nobody(caps: &[String], daemon_args: &[&str]) -> Vec<String> {
    let list: Vec<String> = caps.iter().map(|c| format!("+{c}")).collect();
    let list = format!("-all,{}", list.join(","));
    let mut v: Vec<String> = [
        "prlimit",
        "--memlock=8388608:8388608",
        "setpriv",
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("--inh-caps={list}"));
    v.push(format!("--ambient-caps={list}"));
    v.push(format!("--bounding-set={list}"));
    v.push(bin());
    v.extend(daemon_args.iter().map(|s| s.to_string()));
    v
}

#[test]
fn unprivileged_with_the_units_capabilities_serves_an_echo_and_each_one_is_needed() {
    let tb = Testbed::new(1).unwrap();
    let caps = unit_caps();
    assert_eq!(caps, ["bpf", "perfmon", "net_admin", "net_raw", "ipc_lock"]);
    let serve = ["serve", "--iface", &tb.srv_if, "--port", "7"];
    let argv = as_nobody(&caps, &serve);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let d = Daemon::start_program(&tb.srv, &argv).unwrap();
    let pid = d.pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .to_string();
    assert!(
        uid.split_whitespace().nth(1) != Some("0"),
        "runs as root: {uid}"
    );
    assert_echoes(&tb, 7, b"no root needed");
    d.stop();

    // Without any one of them it does not start, and says which one is missing.
    for drop in &caps {
        let fewer: Vec<String> = caps.iter().filter(|c| *c != drop).cloned().collect();
        let argv = as_nobody(&fewer, &serve);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = tb.srv.run_timeout(&argv, Duration::from_secs(20)).unwrap();
        assert_eq!(out.status.code(), Some(1), "without {drop}: {}", out.stderr);
        let name = format!("CAP_{}", drop.to_uppercase());
        let said = if name == "CAP_IPC_LOCK" {
            out.stderr
                .contains("give CAP_IPC_LOCK or raise the memlock limit")
        } else {
            out.stderr.contains(&format!("(missing: {name})"))
        };
        assert!(said, "without {name}: {}", out.stderr);
        assert!(!tb.srv_xdp_attached().unwrap());
    }
}

#[test]
fn check_config_takes_an_address_of_each_family_and_names_a_foreign_ipv6_one() {
    let tb = Testbed::with_family(1, netns_tests::Family::V6).unwrap();
    let (v4, v6) = (tb.srv_ip.to_string(), tb.srv_ip6.to_string());
    let example = dist().join("xdptcp.example.toml");
    let example = example.to_str().unwrap();
    let base = [
        "check-config",
        example,
        "--iface",
        &tb.srv_if,
        "--port",
        "7",
    ];
    let with = |extra: &[&str]| {
        let mut argv = base.to_vec();
        argv.extend_from_slice(extra);
        run_in(&tb, &argv)
    };
    let (code, out, err) = with(&["--addr", &v4, "--addr", &v6]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.starts_with(&format!(
            "config OK: iface={} addr={v4},{v6} ports=7 ",
            tb.srv_if
        )),
        "{out}"
    );
    let (code, _, err) = with(&["--addr", "fd00:9999::1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.trim_end().starts_with(&format!(
            "xdptcp: error: address fd00:9999::1 is not on {} (its IPv6 addresses: ",
            tb.srv_if
        )) && err.contains(&v6),
        "{err}"
    );
    let mapped = format!("::ffff:{v4}");
    let (code, _, err) = with(&["--addr", &mapped]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        format!("xdptcp: error: address {mapped} is an IPv4-mapped address: give it as {v4}")
    );
}
