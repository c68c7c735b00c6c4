//! Network namespace guards, the run registry and cleanup of what interrupted runs left.
//!
//! Names are `xt<pid><role><n>` (at most 15 characters, so they also fit interface names):
//! the pid is the process that owns them. [`cleanup_stale`] removes the ones whose owner is
//! dead; the SIGINT/SIGTERM handler installed with the first namespace removes the live
//! process's own before it exits.
#![allow(unsafe_code)] // setns(2) and friends are FFI.

use std::{
    fs::File,
    io::{self, Read},
    os::fd::AsRawFd,
    path::Path,
    process::Command,
    sync::{
        atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering},
        Mutex, Once,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use anyhow::Result;

use crate::cmd::{self, host, CmdOutput, DEFAULT_TIMEOUT};

/// Prefix of every namespace and interface this harness creates.
pub const NAME_PREFIX: &str = "xt";

/// A network namespace (`ip netns add`), deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);
/// `ip netns add` mounts /run/netns on first use; serialise creations to avoid racing it.
static CREATE_LOCK: Mutex<()> = Mutex::new(());

/// A fresh number for names of this process (namespaces, interfaces).
pub fn next_id() -> u32 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// `xt<pid><role><id>`: unique per process, names its owner, fits IFNAMSIZ.
pub fn unique_name(role: char, id: u32) -> String {
    let name = format!("{NAME_PREFIX}{}{role}{id}", std::process::id());
    assert!(name.len() <= 15, "name {name} longer than IFNAMSIZ-1");
    name
}

impl Netns {
    /// Creates a namespace named `xt<pid><role><id>`; `role` is one lowercase letter.
    pub fn new(role: char, id: u32) -> Result<Netns> {
        install_signal_cleanup();
        let name = unique_name(role, id);
        {
            let _guard = CREATE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
            host(&["ip", "netns", "add", &name])?.check()?;
        }
        registry_add(&name);
        let ns = Netns { name };
        // Fewer stray frames (router solicitations, DAD) on the wire; not fatal if IPv6 is off.
        let _ = ns.run(&["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
        let _ = ns.run(&["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
        ns.run(&["ip", "link", "set", "lo", "up"])?.check()?;
        Ok(ns)
    }

    /// The namespace's name (as `ip netns list` shows it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip netns exec <name> argv...`, not yet started.
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(argv);
        c
    }

    /// Runs a command inside the namespace with the default timeout, capturing its output.
    pub fn run(&self, argv: &[&str]) -> Result<CmdOutput> {
        self.run_timeout(argv, DEFAULT_TIMEOUT)
    }

    /// Runs a command inside the namespace, killed after `timeout`.
    pub fn run_timeout(&self, argv: &[&str], timeout: Duration) -> Result<CmdOutput> {
        cmd::run(&mut self.command(argv), timeout)
    }

    /// Runs a command inside the namespace and returns its stdout; fails unless it exits 0.
    pub fn run_ok(&self, argv: &[&str]) -> Result<String> {
        Ok(self.run(argv)?.check()?.stdout)
    }

    /// Runs `f` on a new thread that has joined this namespace (sockets it creates live here,
    /// and keep living here when handed to other threads).
    pub fn spawn_in<T, F>(&self, f: F) -> JoinHandle<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let path = self.path();
        thread::spawn(move || {
            enter(&path).unwrap_or_else(|e| panic!("cannot enter {path}: {e}"));
            f()
        })
    }

    /// Runs `f` inside this namespace (on a helper thread) and returns its result; a panic in
    /// `f` is re-raised here.
    pub fn exec_in<T, F>(&self, f: F) -> T
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        match self.spawn_in(f).join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// /run/netns/<name>.
    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// True while `ip netns` knows the namespace.
    pub fn exists(name: &str) -> bool {
        Path::new(&format!("/run/netns/{name}")).exists()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace destroys its veth end (and so the pair) once no process is
        // left inside; the daemon guard is dropped before (it is declared after the testbed).
        if let Err(e) = host(&["ip", "netns", "del", &self.name]).and_then(|o| o.check()) {
            eprintln!("warning: cannot delete namespace {}: {e:#}", self.name);
        }
        registry_remove(&self.name);
    }
}

/// Moves the calling thread into the network namespace at `path`.
fn enter(path: &str) -> io::Result<()> {
    let file = File::open(path)?;
    // Safety: setns on a valid, open namespace fd; it only changes this thread's namespace.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The owner pid encoded in a harness name (`xt<pid><letter><digits>`), if it is one.
pub fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(NAME_PREFIX)?;
    let digits = rest.find(|c: char| !c.is_ascii_digit())?;
    let (pid, tail) = rest.split_at(digits);
    let mut tail = tail.chars();
    let role = tail.next()?;
    let id: String = tail.collect();
    let ok = role.is_ascii_lowercase() && !id.is_empty() && id.chars().all(|c| c.is_ascii_digit());
    if !ok || pid.is_empty() {
        return None;
    }
    pid.parse().ok()
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes namespaces and host links named by this harness whose owning process is dead,
/// first killing any process still running inside such a namespace. Returns what it removed.
pub fn cleanup_stale() -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let netns = host(&["ip", "netns", "list"])?.check()?;
    for line in netns.stdout.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(pid) = owner_pid(name) else { continue };
        if pid_alive(pid) {
            continue;
        }
        if let Ok(pids) = host(&["ip", "netns", "pids", name]) {
            for p in pids
                .stdout
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                // Safety: plain kill(2) on a pid listed as living in the stale namespace.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
        }
        host(&["ip", "netns", "del", name])?.check()?;
        removed.push(name.to_string());
    }
    // Links left in the host namespace (a run interrupted between creating and moving them).
    let links = host(&["ip", "-o", "link", "show"])?.check()?;
    for line in links.stdout.lines() {
        // "12: xt123a0@xt123b0: <...>"
        let Some(name) = line.split(": ").nth(1) else {
            continue;
        };
        let name = name.split('@').next().unwrap_or(name);
        let Some(pid) = owner_pid(name) else { continue };
        if !pid_alive(pid) && host(&["ip", "link", "del", name])?.success() {
            removed.push(name.to_string());
        }
    }
    Ok(removed)
}

// ---- the current run's registry and the signal handler ------------------------------------

struct Registry {
    namespaces: Vec<String>,
    pids: Vec<i32>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    namespaces: Vec::new(),
    pids: Vec::new(),
});
static SIGNAL_PIPE_WR: AtomicI32 = AtomicI32::new(-1);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

fn registry_add(ns: &str) {
    registry().namespaces.push(ns.to_string());
}

fn registry_remove(ns: &str) {
    registry().namespaces.retain(|n| n != ns);
}

/// Remembers a child process to stop if the run is interrupted.
pub fn register_pid(pid: u32) {
    registry().pids.push(pid as i32);
}

/// Forgets a child process once it has been reaped.
pub fn unregister_pid(pid: u32) {
    registry().pids.retain(|&p| p != pid as i32);
}

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = SIGNAL_PIPE_WR.load(Ordering::Relaxed);
    let byte = sig as u8;
    // Safety: write(2) is async-signal-safe; the buffer is a local byte.
    unsafe { libc::write(fd, &byte as *const u8 as *const libc::c_void, 1) };
}

/// Installs (once per process) SIGINT/SIGTERM handlers that stop the run's child processes
/// and delete its namespaces, then exit with 128+signal. The handler itself only writes to a
/// pipe; a watcher thread does the work, so nothing unsafe happens in signal context.
pub fn install_signal_cleanup() {
    INSTALL.call_once(|| {
        let mut fds = [0; 2];
        // Safety: pipe2 fills the two-element array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            eprintln!("warning: no signal cleanup: {}", io::Error::last_os_error());
            return;
        }
        SIGNAL_PIPE_WR.store(fds[1], Ordering::Relaxed);
        let read_fd = fds[0];
        thread::spawn(move || {
            let mut byte = [0u8; 1];
            // Safety: the read end is ours alone from here on.
            let mut pipe = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(read_fd) };
            if pipe.read_exact(&mut byte).is_ok() {
                let sig = byte[0] as i32;
                INTERRUPTED.store(true, Ordering::SeqCst);
                eprintln!("\nnetns-tests: caught signal {sig}, cleaning up this run");
                cleanup_current_run();
                // Safety: terminate at once without running other threads' code further.
                unsafe { libc::_exit(128 + sig) };
            }
        });
        for sig in [libc::SIGINT, libc::SIGTERM] {
            // Safety: a zeroed sigaction with a valid handler is a valid argument.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                sa.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut sa.sa_mask);
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
    });
}

/// If SIGINT/SIGTERM was caught, blocks until the cleanup thread ends the process (call it
/// before exiting normally, so an interrupted run neither reports success nor cuts the
/// cleanup short).
pub fn wait_if_interrupted() {
    while INTERRUPTED.load(Ordering::SeqCst) {
        thread::sleep(Duration::from_millis(50));
    }
}

/// Stops registered children (SIGTERM, then SIGKILL after 2 s) and deletes registered
/// namespaces.
pub fn cleanup_current_run() {
    let (pids, namespaces) = {
        let r = registry();
        (r.pids.clone(), r.namespaces.clone())
    };
    for &pid in &pids {
        // Safety: kill(2) on our own child processes.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut left = pids;
    while !left.is_empty() && Instant::now() < deadline {
        // Safety: waitpid with WNOHANG on our own children; reaping them is fine, we exit next.
        left.retain(|&pid| unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) } == 0);
        thread::sleep(Duration::from_millis(10));
    }
    for &pid in &left {
        // Safety: as above.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
    for ns in namespaces {
        let _ = host(&["ip", "netns", "del", &ns]);
        eprintln!("netns-tests: deleted namespace {ns}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_parses_harness_names_only() {
        assert_eq!(owner_pid("xt1234s0"), Some(1234));
        assert_eq!(owner_pid("xt4194304b12"), Some(4194304));
        assert_eq!(owner_pid("xt1234"), None);
        assert_eq!(owner_pid("xt1234s"), None);
        assert_eq!(owner_pid("xtra0"), None);
        assert_eq!(owner_pid("eth0"), None);
        assert_eq!(owner_pid("xt12S3"), None);
    }

    #[test]
    fn names_fit_ifnamsiz() {
        assert!(unique_name('a', 99999).len() <= 15);
    }
}
