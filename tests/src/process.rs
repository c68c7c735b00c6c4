//! A background process guard: output captured line by line, waits with deadlines, stopped
//! (SIGTERM, then SIGKILL) on drop.
#![allow(unsafe_code)] // kill(2) is FFI.

use std::{
    io::{BufRead, BufReader, Read},
    os::unix::process::CommandExt,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Condvar, Mutex},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use crate::{cmd::describe, netns, wait::POLL};

/// How long Drop waits after SIGTERM before SIGKILL (longer than the daemon's 5 s drain, so
/// its exit counters are printed on a failing test too).
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Which pipe a captured line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Default)]
struct Captured {
    lines: Vec<(Stream, String)>,
    closed_streams: u32,
}

#[derive(Default)]
struct Log {
    captured: Mutex<Captured>,
    changed: Condvar,
}

impl Log {
    fn lock(&self) -> std::sync::MutexGuard<'_, Captured> {
        self.captured.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running child process with captured stdout/stderr.
pub struct Process {
    label: String,
    child: Child,
    log: Arc<Log>,
    status: Option<ExitStatus>,
}

impl Process {
    /// Starts `cmd` with stdin closed and stdout/stderr captured; `label` names it in messages.
    pub fn spawn(label: &str, cmd: &mut Command) -> Result<Process> {
        let cmdline = describe(cmd);
        let mut child = cmd
            .process_group(0) // Ctrl-C reaches only us; the signal handler stops children
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start `{cmdline}`"))?;
        netns::register_pid(child.id());
        let log = Arc::new(Log::default());
        capture(child.stdout.take(), Stream::Stdout, &log);
        capture(child.stderr.take(), Stream::Stderr, &log);
        Ok(Process {
            label: label.to_string(),
            child,
            log,
            status: None,
        })
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The label it was started with.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Everything captured so far, stdout and stderr interleaved in arrival order.
    pub fn output(&self) -> String {
        self.text(|_| true)
    }

    /// Everything captured so far from stderr.
    pub fn stderr(&self) -> String {
        self.text(|s| s == Stream::Stderr)
    }

    /// Everything captured so far from stdout.
    pub fn stdout(&self) -> String {
        self.text(|s| s == Stream::Stdout)
    }

    fn text(&self, keep: impl Fn(Stream) -> bool) -> String {
        let c = self.log.lock();
        let mut s = String::new();
        for (stream, line) in &c.lines {
            if keep(*stream) {
                s.push_str(line);
                s.push('\n');
            }
        }
        s
    }

    /// The exit status if the process has exited (reaping it).
    pub fn try_status(&mut self) -> Result<Option<ExitStatus>> {
        if self.status.is_none() {
            if let Some(status) = self.child.try_wait()? {
                self.status = Some(status);
                netns::unregister_pid(self.child.id());
            }
        }
        Ok(self.status)
    }

    /// Waits until a captured line satisfies `pred` and returns it; fails if the process exits
    /// first or after `timeout`, with the output so far.
    pub fn wait_for_line(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let mut seen = 0;
        loop {
            {
                let c = self.log.lock();
                if let Some((_, line)) = c.lines[seen..].iter().find(|(_, l)| pred(l)) {
                    return Ok(line.clone());
                }
                seen = c.lines.len();
                let all_closed = c.closed_streams == 2;
                if !all_closed {
                    let _ = self.log.changed.wait_timeout(c, POLL);
                }
            }
            if let Some(status) = self.try_status()? {
                // Give the readers a moment to deliver the last lines before giving up.
                self.wait_streams_closed(Duration::from_millis(500));
                if let Some((_, line)) = self.log.lock().lines.iter().find(|(_, l)| pred(l)) {
                    return Ok(line.clone());
                }
                bail!(
                    "{} exited ({status}) before {what}; output:\n{}",
                    self.label,
                    self.output()
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "{}: timed out after {timeout:?} waiting for {what}; output:\n{}",
                    self.label,
                    self.output()
                );
            }
        }
    }

    /// Sends `sig` to the process (no-op once it has been reaped).
    pub fn signal(&mut self, sig: i32) -> Result<()> {
        if self.try_status()?.is_none() {
            // Safety: kill(2) on our own, not yet reaped, child.
            if unsafe { libc::kill(self.child.id() as i32, sig) } != 0 {
                bail!(
                    "kill({}, {sig}): {}",
                    self.pid(),
                    std::io::Error::last_os_error()
                );
            }
        }
        Ok(())
    }

    /// Waits for the process to exit (and its output to be complete), up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status()? {
                self.wait_streams_closed(Duration::from_secs(1));
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} still running after {timeout:?}; output:\n{}",
                    self.label,
                    self.output()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Sends `sig`, then waits up to `timeout` for the exit; returns the status and the output.
    pub fn signal_and_wait(&mut self, sig: i32, timeout: Duration) -> Result<(ExitStatus, String)> {
        self.signal(sig)?;
        let status = self.wait_exit(timeout)?;
        Ok((status, self.output()))
    }

    fn wait_streams_closed(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut c = self.log.lock();
        while c.closed_streams < 2 && Instant::now() < deadline {
            c = self
                .log
                .changed
                .wait_timeout(c, POLL)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.try_status(), Ok(None)) {
            let _ = self.signal(libc::SIGTERM);
            if self.wait_exit(STOP_GRACE).is_err() {
                eprintln!("{} ignored SIGTERM for {STOP_GRACE:?}: SIGKILL", self.label);
                let _ = self.child.kill();
                let _ = self.child.wait();
                netns::unregister_pid(self.child.id());
            }
        }
        if thread::panicking() {
            eprintln!(
                "---- output of {} ----\n{}---- end of {} ----",
                self.label,
                self.output(),
                self.label
            );
        }
    }
}

fn capture(pipe: Option<impl Read + Send + 'static>, stream: Stream, log: &Arc<Log>) {
    let log = Arc::clone(log);
    thread::spawn(move || {
        if let Some(pipe) = pipe {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                log.lock().lines.push((stream, line));
                log.changed.notify_all();
            }
        }
        log.lock().closed_streams += 1;
        log.changed.notify_all();
    });
}

impl crate::Netns {
    /// Starts a background command inside the namespace (`ip netns exec`), output captured.
    pub fn spawn(&self, label: &str, argv: &[&str]) -> Result<Process> {
        Process::spawn(label, &mut self.command(argv))
    }
}
