//! `xdptcp-bench conns`: how many connections a server holds and in how much memory. The
//! stack as the client (`xdptcp connect --mode hold` in the client namespace) opens N
//! connections to the server in the other namespace, checks each echoes, holds them with a
//! small message on each every `--interval`, and measures request/response latency on one
//! more connection meanwhile. The server is `xdptcp serve --app echo` on one worker, or the
//! kernel (the epoll reference server, one process per port, one core).
//!
//! Memory per connection is read from outside once every connection is open and has echoed:
//! - xdptcp: the daemon's resident memory (VmRSS) over its idle figure, and its own count of
//!   what connections hold (`memory_bytes`);
//! - kernel: the growth of the kernel's slab caches (`Slab:` of /proc/meminfo: socket,
//!   inode, dentry, file and epoll objects; machine-wide, so on a busy machine it is an
//!   upper bound), the socket buffer pages of the server namespace's /proc/net/sockstat,
//!   and the server processes' VmRSS.
//!
//! One local address has 64,512 ports towards each server port, so the servers listen on
//! as many ports as N needs.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use netns_tests::{Process, Testbed};
use serde::{Deserialize, Serialize};

use crate::report::Spread;
use crate::run::ServerKind;

/// First server port.
const BASE_PORT: u16 = 7000;
/// Local ports of the client.
const LOCAL_PORTS: (u16, u16) = (1024, 65535);

/// What to run.
#[derive(Debug, Clone)]
pub struct ConnsOptions {
    /// Connection counts, each measured in turn.
    pub counts: Vec<usize>,
    /// Servers.
    pub servers: Vec<ServerKind>,
    /// Counts above this are not run against the kernel server.
    pub kernel_max: usize,
    /// Alternating rounds per count (xdptcp, kernel, xdptcp, ...).
    pub rounds: usize,
    /// Seconds to hold once all are open.
    pub hold_s: f64,
    /// Seconds between two messages on one held connection.
    pub interval_s: f64,
    /// Core of the server.
    pub server_core: usize,
    /// Core of the client.
    pub client_core: usize,
    /// The daemon.
    pub xdptcp_bin: PathBuf,
    /// This program (for `kernel-server`).
    pub self_exe: PathBuf,
    /// Results directory.
    pub results: PathBuf,
}

/// The last line of `xdptcp connect --mode hold`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct HoldReport {
    pub conns: u64,
    pub established: u64,
    pub failed: u64,
    pub echoed: u64,
    pub alive: u64,
    pub lost: u64,
    pub pongs: u64,
    pub setup_s: f64,
    pub setup_rate: f64,
    pub rss_per_conn_bytes: u64,
    pub probe_transactions: u64,
    pub probe_p50_us: u64,
    pub probe_p99_us: u64,
    pub probe_p99_9_us: u64,
    pub probe_max_us: u64,
}

/// One measurement.
#[derive(Debug, Clone, Serialize)]
pub struct ConnsResult {
    pub server: String,
    pub conns: usize,
    pub round: usize,
    /// The client's report, if it finished.
    pub client: Option<HoldReport>,
    /// The server's memory per held connection, bytes: xdptcp's VmRSS growth, or the
    /// kernel's slab + socket pages + server processes' VmRSS.
    pub server_bytes_per_conn: Option<u64>,
    /// xdptcp: its own count (`memory_bytes`) per connection; kernel: slab growth alone.
    pub detail_bytes_per_conn: Option<u64>,
    /// Kernel: socket buffer pages (sockstat `mem`) per connection, bytes.
    pub socket_buffer_bytes_per_conn: Option<u64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// Runs every count against every server in alternating rounds; prints and saves a table.
pub fn run(opts: &ConnsOptions) -> Result<Vec<ConnsResult>> {
    raise_fd_limit()?;
    std::fs::create_dir_all(&opts.results)?;
    let mut results = Vec::new();
    for &n in &opts.counts {
        for round in 1..=opts.rounds {
            for &server in &opts.servers {
                if server == ServerKind::Kernel && n > opts.kernel_max {
                    continue;
                }
                eprintln!(
                    "conns: {n} connections to {} (round {round})",
                    server.name()
                );
                let r = measure(opts, server, n, round).unwrap_or_else(|e| ConnsResult {
                    server: server.name().into(),
                    conns: n,
                    round,
                    client: None,
                    server_bytes_per_conn: None,
                    detail_bytes_per_conn: None,
                    socket_buffer_bytes_per_conn: None,
                    error: Some(format!("{e:#}")),
                });
                eprintln!("conns: {}", one_line(&r));
                results.push(r);
            }
        }
    }
    let table = table(&results);
    println!("{table}");
    std::fs::write(opts.results.join("conns.md"), &table)?;
    std::fs::write(
        opts.results.join("conns.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    Ok(results)
}

fn measure(opts: &ConnsOptions, server: ServerKind, n: usize, round: usize) -> Result<ConnsResult> {
    let tb = Testbed::new(1)?;
    let local = (LOCAL_PORTS.1 - LOCAL_PORTS.0) as usize + 1;
    // One more port than the count needs, so the latency probe finds a tuple too.
    let nports = n / local + 1;
    let ports: Vec<u16> = (0..nports as u16).map(|i| BASE_PORT + i).collect();
    let mut servers = start_servers(opts, &tb, server, &ports, n)?;
    let before = Memory::read(opts, &tb, server, &servers)?;
    let bin = opts.xdptcp_bin.display().to_string();
    let remote = format!("{}", tb.srv_addr(BASE_PORT));
    let remote_ports = format!("{}-{}", ports[0], ports[ports.len() - 1]);
    let local_ports = format!("{}-{}", LOCAL_PORTS.0, LOCAL_PORTS.1);
    let (conns, core) = (n.to_string(), opts.client_core.to_string());
    let (hold, interval) = (opts.hold_s.to_string(), opts.interval_s.to_string());
    let argv = [
        bin.as_str(),
        "connect",
        "--iface",
        &tb.cli_if,
        "--cores",
        &core,
        "--remote",
        &remote,
        "--remote-ports",
        &remote_ports,
        "--local-ports",
        &local_ports,
        "--mode",
        "hold",
        "--conns",
        &conns,
        "--duration",
        &hold,
        "--interval",
        &interval,
    ];
    let mut client = tb.cli.spawn("xdptcp connect --mode hold", &argv)?;
    let setup_limit = Duration::from_secs(60 + (n / 5_000) as u64);
    client.wait_for_line("all connections open and echoed", setup_limit, |l| {
        l.starts_with("holding")
    })?;
    // Buffers of the last echoes go back 200 ms after they drain, and the daemon returns
    // freed memory to the system about once a second: measure idle connections, once the
    // resident figure stops falling (3 to 8 s).
    let settle_start = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let mut held = Memory::read(opts, &tb, server, &servers)?;
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(500));
        let now = Memory::read(opts, &tb, server, &servers)?;
        let settled = now.rss + (1 << 20) > held.rss;
        held = now;
        if settled {
            break;
        }
    }
    eprintln!(
        "conns: server memory read {:.1} s after all were open",
        settle_start.elapsed().as_secs_f64()
    );
    let status = client.wait_exit(Duration::from_secs(60 + opts.hold_s as u64 * 2))?;
    let out = client.output();
    for s in &mut servers {
        let _ = s.signal_and_wait(libc::SIGTERM, Duration::from_secs(30));
    }
    std::fs::write(
        opts.results
            .join(format!("conns-{n}-{}-round{round}.log", server.name())),
        format!(
            "{out}\n---- server ----\n{}",
            servers.iter().map(|s| s.output()).collect::<String>()
        ),
    )?;
    if !status.success() {
        bail!("xdptcp connect exited with {status}");
    }
    let line = out
        .lines()
        .find(|l| l.starts_with("{\"mode\":\"hold\""))
        .context("no report from xdptcp connect")?;
    let client: HoldReport = serde_json::from_str(line)?;
    let per = |bytes: i64| (bytes.max(0) as u64) / (client.established.max(1));
    let (total, detail, sockets) = match server {
        ServerKind::Xdptcp => (
            per(held.rss as i64 - before.rss as i64),
            Some(per(held.gauge as i64)),
            None,
        ),
        ServerKind::Kernel => {
            let slab = held.slab as i64 - before.slab as i64;
            let pages = held.socket_pages as i64 - before.socket_pages as i64;
            let rss = held.rss as i64 - before.rss as i64;
            (
                per(slab + pages * 4096 + rss),
                Some(per(slab)),
                Some(per(pages * 4096)),
            )
        }
    };
    Ok(ConnsResult {
        server: server.name().into(),
        conns: n,
        round,
        client: Some(client),
        server_bytes_per_conn: Some(total),
        detail_bytes_per_conn: detail,
        socket_buffer_bytes_per_conn: sockets,
        error: None,
    })
}

fn start_servers(
    opts: &ConnsOptions,
    tb: &Testbed,
    server: ServerKind,
    ports: &[u16],
    n: usize,
) -> Result<Vec<Process>> {
    let core = opts.server_core.to_string();
    match server {
        ServerKind::Xdptcp => {
            let bin = opts.xdptcp_bin.display().to_string();
            let list: Vec<String> = ports.iter().map(|p| p.to_string()).collect();
            let list = list.join(",");
            let argv = [
                bin.as_str(),
                "serve",
                "--iface",
                &tb.srv_if,
                "--port",
                &list,
                "--app",
                "echo",
                "--cores",
                &core,
            ];
            let mut p = tb.srv.spawn("xdptcp serve", &argv)?;
            p.wait_for_line("ready", Duration::from_secs(30), |l| l.starts_with("ready"))?;
            Ok(vec![p])
        }
        ServerKind::Kernel => {
            // The kernel's segments now reach the stack: no partial checksums from the
            // server end (see platform notes), and a flow keeps its queue.
            tb.srv.run_ok(&["ethtool", "-K", &tb.srv_if, "tx", "off"])?;
            tb.srv.run_ok(&["sysctl", "-qw", "net.core.txrehash=0"])?;
            // Tens of thousands of handshakes a second: no SYN cookies, room in the queues.
            tb.srv
                .run_ok(&["sysctl", "-qw", "net.ipv4.tcp_max_syn_backlog=65536"])?;
            tb.srv
                .run_ok(&["sysctl", "-qw", "net.core.somaxconn=65535"])?;
            let exe = opts.self_exe.display().to_string();
            let addr = tb.srv_addr(0).ip().to_string();
            // A socket is a file descriptor, and RLIMIT_NOFILE may not rise past its hard
            // limit here: enough processes per port (SO_REUSEPORT) to stay below it.
            let per_port = n.min((LOCAL_PORTS.1 - LOCAL_PORTS.0) as usize + 1);
            let room = fd_limit().saturating_sub(1000).max(1000) as usize;
            let per_port_procs = per_port.div_ceil(room);
            let mut procs = Vec::new();
            for port in ports
                .iter()
                .flat_map(|p| std::iter::repeat_n(p, per_port_procs))
            {
                let port = port.to_string();
                let argv = [
                    exe.as_str(),
                    "kernel-server",
                    "--addr",
                    &addr,
                    "--port",
                    &port,
                    "--app",
                    "echo",
                    "--core",
                    &core,
                ];
                let mut p = tb.srv.spawn("kernel-server", &argv)?;
                p.wait_for_line("ready", Duration::from_secs(30), |l| l.starts_with("ready"))?;
                procs.push(p);
            }
            Ok(procs)
        }
    }
}

/// Memory figures read at one moment.
#[derive(Debug, Default, Clone, Copy)]
struct Memory {
    /// VmRSS of the server processes, bytes.
    rss: u64,
    /// xdptcp's `memory_bytes` gauge.
    gauge: u64,
    /// `Slab:` of /proc/meminfo, bytes.
    slab: u64,
    /// TCP `mem` of the server namespace's /proc/net/sockstat, pages.
    socket_pages: u64,
}

impl Memory {
    fn read(
        opts: &ConnsOptions,
        tb: &Testbed,
        server: ServerKind,
        procs: &[Process],
    ) -> Result<Memory> {
        let rss = procs.iter().map(|p| vm_rss(p.pid()).unwrap_or(0)).sum();
        let meminfo = std::fs::read_to_string("/proc/meminfo")?;
        let slab = kib_field(&meminfo, "Slab:").context("no Slab in /proc/meminfo")? << 10;
        let sockstat = tb.srv.run_ok(&["cat", "/proc/net/sockstat"])?;
        let gauge = match server {
            ServerKind::Xdptcp => xdptcp_gauge(&opts.xdptcp_bin, &tb.srv_if).unwrap_or(0),
            ServerKind::Kernel => 0,
        };
        Ok(Memory {
            rss,
            gauge,
            slab,
            socket_pages: sockstat_tcp_mem(&sockstat).unwrap_or(0),
        })
    }
}

/// The daemon's `memory_bytes` (all workers), from `xdptcp stats --iface`.
fn xdptcp_gauge(bin: &Path, iface: &str) -> Option<u64> {
    let out = std::process::Command::new(bin)
        .args(["stats", "--iface", iface])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| prometheus_sum(&String::from_utf8_lossy(&out.stdout), "xdptcp_memory_bytes"))
}

/// Sum of a metric's samples in Prometheus text.
fn prometheus_sum(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .filter_map(|l| l.rsplit_once(' ')?.1.trim().parse::<u64>().ok())
        .sum()
}

fn vm_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    kib_field(&status, "VmRSS:").map(|k| k << 10)
}

/// The kB figure of `field` in a /proc status-style text.
fn kib_field(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `mem` of the `TCP:` line of /proc/net/sockstat (pages).
fn sockstat_tcp_mem(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("TCP:"))?;
    let mut it = line.split_whitespace();
    while let Some(w) = it.next() {
        if w == "mem" {
            return it.next()?.parse().ok();
        }
    }
    None
}

fn one_line(r: &ConnsResult) -> String {
    match (&r.client, &r.error) {
        (_, Some(e)) => format!("{} {} round {}: failed: {e}", r.server, r.conns, r.round),
        (Some(c), None) => format!(
            "{} {} round {}: alive {} of {}, setup {:.0}/s, server {} B/conn, probe p50 {} p99 {} µs",
            r.server,
            r.conns,
            r.round,
            c.alive,
            c.conns,
            c.setup_rate,
            r.server_bytes_per_conn.unwrap_or(0),
            c.probe_p50_us,
            c.probe_p99_us
        ),
        (None, None) => format!("{} {}: no result", r.server, r.conns),
    }
}

/// A markdown table: per count and server, the medians of the rounds (min-max).
pub fn table(results: &[ConnsResult]) -> String {
    let mut keys: Vec<(usize, String)> = results
        .iter()
        .map(|r| (r.conns, r.server.clone()))
        .collect();
    keys.sort();
    keys.dedup();
    let mut s = String::from(
        "| connections | server | rounds ok | alive | setup conn/s | server B/conn | of which | client B/conn | probe p50 µs | probe p99 µs | probe p99.9 µs |\n\
         |---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (n, server) in keys {
        let rs: Vec<&ConnsResult> = results
            .iter()
            .filter(|r| r.conns == n && r.server == server)
            .collect();
        let ok: Vec<&ConnsResult> = rs.iter().copied().filter(|r| r.client.is_some()).collect();
        let cell = |f: &dyn Fn(&ConnsResult) -> Option<f64>| -> String {
            match Spread::of(ok.iter().filter_map(|r| f(r))) {
                None => "-".into(),
                Some(s) if s.rounds == 1 => format!("{:.0}", s.median),
                Some(s) => format!("{:.0} ({:.0}-{:.0})", s.median, s.min, s.max),
            }
        };
        let c = |f: fn(&HoldReport) -> f64| move |r: &ConnsResult| r.client.as_ref().map(f);
        let detail = if server == "kernel" {
            format!(
                "slab {}, buffers {}",
                cell(&|r| r.detail_bytes_per_conn.map(|b| b as f64)),
                cell(&|r| r.socket_buffer_bytes_per_conn.map(|b| b as f64))
            )
        } else {
            format!(
                "counted {}",
                cell(&|r| r.detail_bytes_per_conn.map(|b| b as f64))
            )
        };
        let _ = writeln!(
            s,
            "| {n} | {server} | {}/{} | {} | {} | {} | {detail} | {} | {} | {} | {} |",
            ok.len(),
            rs.len(),
            cell(&c(|h| h.alive as f64)),
            cell(&c(|h| h.setup_rate)),
            cell(&|r| r.server_bytes_per_conn.map(|b| b as f64)),
            cell(&c(|h| h.rss_per_conn_bytes as f64)),
            cell(&c(|h| h.probe_p50_us as f64)),
            cell(&c(|h| h.probe_p99_us as f64)),
            cell(&c(|h| h.probe_p99_9_us as f64)),
        );
    }
    s
}

/// Raises RLIMIT_NOFILE to its hard limit (the kernel servers inherit it) and returns it.
#[allow(unsafe_code)] // getrlimit(2) and setrlimit(2) are FFI.
fn raise_fd_limit() -> Result<()> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid rlimit for the calling process to fill and then to set.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            bail!("getrlimit: {}", std::io::Error::last_os_error());
        }
        lim.rlim_cur = lim.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            bail!("setrlimit: {}", std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The soft RLIMIT_NOFILE now.
#[allow(unsafe_code)] // getrlimit(2) is FFI.
fn fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid rlimit for the calling process to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 1024;
    }
    lim.rlim_cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockstat_mem_and_meminfo_fields_are_read() {
        let s = "sockets: used 5\nTCP: inuse 3 orphan 0 tw 1 alloc 5 mem 12\nUDP: inuse 0 mem 0\n";
        assert_eq!(sockstat_tcp_mem(s), Some(12));
        assert_eq!(sockstat_tcp_mem("UDP: inuse 0 mem 0\n"), None);
        let m = "MemTotal:       24000000 kB\nSlab:             123456 kB\n";
        assert_eq!(kib_field(m, "Slab:"), Some(123456));
        assert_eq!(kib_field(m, "VmRSS:"), None);
    }

    #[test]
    fn prometheus_samples_of_one_metric_are_summed() {
        let t = "# HELP xdptcp_memory_bytes x\nxdptcp_memory_bytes{queue=\"0\"} 100\n\
                 xdptcp_memory_bytes{queue=\"1\"} 50\nxdptcp_memory_bytes_other 7\n";
        assert_eq!(prometheus_sum(t, "xdptcp_memory_bytes"), 150);
    }

    #[test]
    fn the_table_shows_medians_and_spreads_of_the_rounds() {
        let r = |round, rate: f64, bytes| ConnsResult {
            server: "xdptcp".into(),
            conns: 1000,
            round,
            client: Some(HoldReport {
                conns: 1000,
                established: 1000,
                failed: 0,
                echoed: 1000,
                alive: 1000,
                lost: 0,
                pongs: 0,
                setup_s: 1.0,
                setup_rate: rate,
                rss_per_conn_bytes: 2000,
                probe_transactions: 10,
                probe_p50_us: 10,
                probe_p99_us: 20,
                probe_p99_9_us: 30,
                probe_max_us: 40,
            }),
            server_bytes_per_conn: Some(bytes),
            detail_bytes_per_conn: Some(1000),
            socket_buffer_bytes_per_conn: None,
            error: None,
        };
        let t = table(&[r(1, 100.0, 1500), r(2, 300.0, 1700), r(3, 200.0, 1600)]);
        let row = t.lines().nth(2).unwrap();
        assert!(row.starts_with("| 1000 | xdptcp | 3/3 |"), "{row}");
        assert!(row.contains("| 200 (100-300) |"), "{row}");
        assert!(row.contains("| 1600 (1500-1700) |"), "{row}");
    }
}
