//! `proxy`: a TCP reverse proxy on the stack. Clients connect to `--addr:--port`; each
//! connection is passed to a backend (round robin over `--backend`), both legs on the stack:
//! the backend leg is an active open through the same interface, from `--local-ports`.
//!
//! ```sh
//! sudo target/release/examples/proxy --iface eth1 --port 80 --backend 10.0.0.2:8080,10.0.0.3:8080
//! ```
//!
//! It prints a line starting with `ready` once attached and exits 0 on SIGINT/SIGTERM,
//! detached, with the counters (per backend too) on stderr. See `service.rs` for what it does
//! with the bytes.

mod service;

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use tcp_user::cli::args::{parse_port, parse_range, parse_rss_key, DatapathArgs};
use tcp_user::cli::logging::LogArgs;
use tcp_user::runtime::{ConnectConfig, Runtime};

use service::{Proxy, ProxyConfig};

/// A TCP reverse proxy on the kernel-bypass stack.
#[derive(Parser, Debug)]
#[command(name = "proxy", version, about)]
struct Args {
    #[command(flatten)]
    datapath: DatapathArgs,
    #[command(flatten)]
    log: LogArgs,
    /// Port to accept clients on.
    #[arg(long, value_parser = parse_port)]
    port: u16,
    /// Backends, IPV4:PORT, comma-separated (round robin).
    #[arg(long, value_delimiter = ',', required = true)]
    backend: Vec<SocketAddr>,
    /// Local ports for the backend connections, FIRST-LAST.
    #[arg(long, default_value = "40000-43999", value_parser = parse_range)]
    local_ports: (u16, u16),
    /// The NIC's RSS key (hex or `microsoft`); needed with more than one queue.
    #[arg(long, value_parser = parse_rss_key)]
    rss_key: Option<Vec<u8>>,
    /// How long a backend may take to accept, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    connect_timeout_ms: u64,
    /// How long a backend that failed is skipped, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    down_ms: u64,
}

fn main() {
    let args: Args = tcp_user::cli::parse_or_exit("proxy");
    let log = args.log.clone();
    if let Err(e) = log.install() {
        eprintln!("proxy: error: {e:#}");
        std::process::exit(2);
    }
    if let Err(e) = run(args) {
        log.report_fatal("proxy", &e);
        std::process::exit(1);
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let mut cfg = args.datapath.runtime_config(&[args.port]);
    cfg.connect = Some(ConnectConfig {
        local_ports: args.local_ports,
        rss_key: args.rss_key.clone(),
        remotes: args.backend.iter().map(|b| b.ip()).collect(),
    });
    let proxy = ProxyConfig {
        backends: args.backend.clone(),
        connect_timeout: Duration::from_millis(args.connect_timeout_ms),
        down_for: Duration::from_millis(args.down_ms),
        first: 0,
    };
    let backends: Vec<String> = args.backend.iter().map(|b| b.to_string()).collect();
    let backends = backends.join(",");
    let report = Runtime::builder()
        .config(cfg)
        .on_ready(move |r| println!("{r} backends={backends}"))
        .service(move |w| {
            Proxy::new(&ProxyConfig {
                first: w.index,
                ..proxy.clone()
            })
        })
        .run()?;
    // One summary line per backend, over all workers.
    for (i, addr) in args.backend.iter().enumerate() {
        let mut total = service::BackendStats::default();
        for p in &report.services {
            let s = p.backends()[i].stats;
            total.connections += s.connections;
            total.failures += s.failures;
            total.bytes_up += s.bytes_up;
            total.bytes_down += s.bytes_down;
        }
        eprintln!(
            "backend {addr}: connections={} failures={} bytes_up={} bytes_down={}",
            total.connections, total.failures, total.bytes_up, total.bytes_down
        );
    }
    Ok(())
}
