//! Running a command to completion with captured output and a timeout.

use std::{
    io::Read,
    os::unix::process::CommandExt,
    process::{Command, ExitStatus, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use crate::wait::POLL;

/// Default timeout for short commands (`ip`, `ethtool`, `ss`, ...).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a finished command printed and how it exited.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    /// The command line, for error messages.
    pub cmdline: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl CmdOutput {
    /// True if the command exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Fails with the command's output if it did not exit 0.
    pub fn check(self) -> Result<CmdOutput> {
        if !self.success() {
            bail!(
                "`{}` failed ({}): {}{}",
                self.cmdline,
                self.status,
                self.stderr.trim(),
                self.stdout.trim()
            );
        }
        Ok(self)
    }
}

/// Runs `cmd` with stdin closed, capturing stdout and stderr; kills it after `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<CmdOutput> {
    let cmdline = describe(cmd);
    let mut child = cmd
        .process_group(0) // Ctrl-C reaches only us; the signal handler stops children in order
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run `{cmdline}`"))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let out = collect(&stdout) + &collect(&stderr);
            bail!(
                "`{cmdline}` timed out after {timeout:?}; output so far: {}",
                out.trim()
            );
        }
        thread::sleep(POLL);
    };
    Ok(CmdOutput {
        cmdline,
        status,
        stdout: collect(&stdout),
        stderr: collect(&stderr),
    })
}

/// Runs a command in the host (root) network namespace: `host(&["ip", "netns", "list"])`.
pub fn host(argv: &[&str]) -> Result<CmdOutput> {
    let (prog, args) = argv.split_first().context("empty command")?;
    run(Command::new(prog).args(args), DEFAULT_TIMEOUT)
}

/// The command line as a shell would show it.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
        });
    }
    rx
}

/// The drained text; gives up after a second if a grandchild still holds the pipe open.
fn collect(rx: &mpsc::Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(1)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_status() {
        let out = host(&["sh", "-c", "echo out; echo err >&2; exit 3"]).unwrap();
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
        assert_eq!(out.status.code(), Some(3));
        assert!(out.check().is_err());
    }

    #[test]
    fn kills_a_command_that_overruns() {
        let start = Instant::now();
        let err = run(Command::new("sleep").arg("5"), Duration::from_millis(100)).unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(3));
    }
}
