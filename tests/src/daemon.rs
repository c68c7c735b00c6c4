//! The `xdptcp serve` daemon as a guard, started inside the server namespace.

use std::{path::PathBuf, process::ExitStatus, time::Duration};

use anyhow::{Context, Result};

use crate::{counters::LiveCounters, process::Process, Netns, Testbed};

/// How long the daemon may take to attach and print `ready`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the daemon may take to exit after a signal.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The daemon binary from `XDPTCP_BIN`; panics with how to run the tests when it is not set,
/// so end-to-end tests fail instead of silently passing.
pub fn daemon_bin() -> PathBuf {
    match std::env::var_os("XDPTCP_BIN") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            assert!(
                p.is_file(),
                "XDPTCP_BIN={} is not a file: run `cargo xtask test`",
                p.display()
            );
            p
        }
        _ => panic!(
            "XDPTCP_BIN is not set: the end-to-end tests need the daemon; run them with \
             `cargo xtask test` (which builds it and sets XDPTCP_BIN)"
        ),
    }
}

/// An example service built beside the daemon (`target/<profile>/examples/<name>`, built by
/// `cargo xtask build`); panics with how to build it when missing.
pub fn example_bin(name: &str) -> PathBuf {
    let bin = daemon_bin();
    let path = bin
        .parent()
        .expect("the daemon is in a directory")
        .join("examples")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: run the tests with `cargo xtask test`, which builds the examples",
        path.display()
    );
    path
}

/// A running daemon; stopped (SIGTERM, then SIGKILL) on drop, its output printed if the test
/// is panicking.
pub struct Daemon {
    process: Process,
    ready_line: String,
    /// The `--iface` it serves (None for stand-ins started with `start_program`).
    iface: Option<String>,
}

impl Daemon {
    /// Starts `$XDPTCP_BIN serve --iface <server veth> <args...>` in the server namespace and
    /// waits for its `ready` line.
    pub fn start(tb: &Testbed, args: &[&str]) -> Result<Daemon> {
        let bin = daemon_bin();
        let bin = bin.to_string_lossy();
        let mut argv = vec![bin.as_ref(), "serve", "--iface", &tb.srv_if];
        argv.extend_from_slice(args);
        let mut daemon = Daemon::start_program(&tb.srv, &argv)?;
        daemon.iface = Some(tb.srv_if.clone());
        Ok(daemon)
    }

    /// Starts the example service `name` (`kv`, `proxy`) with `--iface <server veth>` and
    /// `args` in the server namespace, and waits for its `ready` line.
    pub fn start_example(tb: &Testbed, name: &str, args: &[&str]) -> Result<Daemon> {
        let bin = example_bin(name);
        let bin = bin.to_string_lossy();
        let mut argv = vec![bin.as_ref(), "--iface", &tb.srv_if];
        argv.extend_from_slice(args);
        let mut daemon = Daemon::start_program(&tb.srv, &argv)?;
        daemon.iface = Some(tb.srv_if.clone());
        Ok(daemon)
    }

    /// Resident memory of the process now, in KiB (`VmRSS` of `/proc/PID/status`).
    pub fn rss_kib(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS in /proc/PID/status")
    }

    /// Starts any program inside `ns` and waits for a line starting with `ready` (used with the
    /// daemon, and with stand-ins by the harness self-tests).
    pub fn start_program(ns: &Netns, argv: &[&str]) -> Result<Daemon> {
        let mut process = ns.spawn("daemon", argv)?;
        let ready_line = process.wait_for_line("the `ready` line", READY_TIMEOUT, |l| {
            l.starts_with("ready")
        })?;
        Ok(Daemon {
            process,
            ready_line,
            iface: None,
        })
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The `ready ...` line it printed.
    pub fn ready_line(&self) -> &str {
        &self.ready_line
    }

    /// Everything captured so far (stdout and stderr interleaved).
    pub fn output(&self) -> String {
        self.process.output()
    }

    /// The running daemon's counters now (`xdptcp stats --iface <iface>`, refreshed by the
    /// daemon about twice a second).
    pub fn live_counters(&self) -> Result<LiveCounters> {
        Ok(LiveCounters::parse(&self.stats_text()?))
    }

    /// The raw output of `xdptcp stats --iface <iface>` (Prometheus text).
    pub fn stats_text(&self) -> Result<String> {
        let iface = self
            .iface
            .as_deref()
            .context("not started with Daemon::start")?;
        let bin = daemon_bin();
        let bin = bin.to_str().context("daemon path")?;
        Ok(crate::host(&[bin, "stats", "--iface", iface])?
            .check()?
            .stdout)
    }

    /// The process guard, for finer control.
    pub fn process(&mut self) -> &mut Process {
        &mut self.process
    }

    /// SIGKILL, then waits for the process to be gone (reaped).
    pub fn kill9(&mut self) -> Result<ExitStatus> {
        self.process.signal(libc::SIGKILL)?;
        self.process.wait_exit(EXIT_TIMEOUT)
    }

    /// SIGTERM and wait for the exit: the status and everything the daemon printed.
    pub fn sigterm_and_wait(&mut self) -> Result<(ExitStatus, String)> {
        self.process.signal_and_wait(libc::SIGTERM, EXIT_TIMEOUT)
    }

    /// SIGTERM, asserts the daemon exited 0, and returns its exit counters and output (the
    /// output is in the panic message when it did not exit cleanly).
    pub fn stop(mut self) -> (crate::ExitCounters, String) {
        let (status, out) = self.sigterm_and_wait().expect("daemon exits on SIGTERM");
        assert_eq!(
            status.code(),
            Some(0),
            "exit status {status}; output:\n{out}"
        );
        (crate::ExitCounters::parse(&out), out)
    }

    /// SIGINT (Ctrl-C) and wait for the exit: the status and everything the daemon printed.
    pub fn sigint_and_wait(&mut self) -> Result<(ExitStatus, String)> {
        self.process.signal_and_wait(libc::SIGINT, EXIT_TIMEOUT)
    }
}
