//! Third-party servers on kernel TCP, started inside a namespace for the service tests and
//! benchmarks: nginx (a proxy's backend), redis-server (the reference the `kv` example is
//! compared with). Each is a guard: the process is stopped and its files removed on drop.

use std::net::{SocketAddr, SocketAddrV4, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::{wait_until, Netns, Process};

/// How long a server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A server process and its scratch directory.
pub struct KernelServer {
    process: Process,
    dir: PathBuf,
    /// Where it listens.
    pub addr: SocketAddrV4,
}

impl KernelServer {
    /// nginx on `addr` inside `ns`, answering every request with `200` and `body`
    /// (one worker, no logs, no files outside its scratch directory).
    pub fn nginx(ns: &Netns, addr: SocketAddrV4, body: &str) -> Result<KernelServer> {
        let dir = scratch_dir("nginx")?;
        let d = dir.display();
        let conf = format!(
            "daemon off;\nmaster_process off;\nuser root;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log stderr warn;\nevents {{ worker_connections 4096; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             keepalive_requests 1000000;\n\
             server {{\n    listen {addr} reuseport backlog=4096;\n    location / {{ default_type text/plain; return 200 \"{body}\"; }}\n  }}\n}}\n"
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).context("writing nginx.conf")?;
        let path = path.to_string_lossy().into_owned();
        let process = ns.spawn(
            "nginx",
            &["nginx", "-c", &path, "-p", &dir.to_string_lossy()],
        )?;
        KernelServer::started(ns, process, dir, addr)
    }

    /// redis-server on `addr` inside `ns`, with no persistence and `maxmemory` bytes.
    pub fn redis(ns: &Netns, addr: SocketAddrV4, maxmemory: u64) -> Result<KernelServer> {
        let dir = scratch_dir("redis")?;
        let (ip, port) = (addr.ip().to_string(), addr.port().to_string());
        let maxmemory = maxmemory.to_string();
        let process = ns.spawn(
            "redis-server",
            &[
                "redis-server",
                "--bind",
                &ip,
                "--port",
                &port,
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxmemory",
                &maxmemory,
                "--protected-mode",
                "no",
                "--dir",
                &dir.to_string_lossy(),
            ],
        )?;
        KernelServer::started(ns, process, dir, addr)
    }

    /// Waits until `addr` accepts a connection from inside `ns`.
    fn started(ns: &Netns, process: Process, dir: PathBuf, addr: SocketAddrV4) -> Result<Self> {
        let server = KernelServer { process, dir, addr };
        let target = SocketAddr::V4(addr);
        wait_until(
            &format!("{} listening on {addr}", server.process.label()),
            START_TIMEOUT,
            || {
                ns.exec_in(move || TcpStream::connect_timeout(&target, Duration::from_millis(200)))
                    .ok()
                    .map(|_| ())
            },
        )?;
        Ok(server)
    }

    /// The process's pid.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Everything it printed so far.
    pub fn output(&self) -> String {
        self.process.output()
    }
}

impl Drop for KernelServer {
    fn drop(&mut self) {
        let _ = self.process.signal(libc::SIGTERM);
        let _ = self.process.wait_exit(Duration::from_secs(5));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh directory under /tmp named after this process.
fn scratch_dir(what: &str) -> Result<PathBuf> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("xdptcp-{what}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
