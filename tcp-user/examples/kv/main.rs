//! `kv`: a Redis-protocol (RESP2) key-value service on the stack. redis-cli and
//! redis-benchmark work against it unmodified, and for the commands it implements its
//! replies are byte for byte Redis 7.0's.
//!
//! ```sh
//! sudo target/release/examples/kv --iface eth1 --port 6379 --maxmemory 1gb
//! redis-cli -h <addr> SET greeting hello
//! ```
//!
//! It prints a line starting with `ready` once attached and exits 0 on SIGINT/SIGTERM,
//! detached, with the counters on stderr. With several queues the keyspace is sharded over
//! the workers (see `service.rs`).
//!
//! Modules: `resp` (the protocol), `command` (what each command does and answers), `store`
//! (one shard's keyspace, expiry and memory budget), `mesh` (messages between workers),
//! `service` (the connection side, on the stack's service API).

mod command;
mod mesh;
mod resp;
mod service;
mod store;

use clap::Parser;
use tcp_user::cli::args::{parse_port, DatapathArgs};
use tcp_user::cli::logging::LogArgs;
use tcp_user::runtime::Runtime;

use mesh::MeshBuilder;
use service::{Kv, KvConfig};

/// A Redis-protocol key-value service on the kernel-bypass stack.
#[derive(Parser, Debug)]
#[command(name = "kv", version, about)]
struct Args {
    #[command(flatten)]
    datapath: DatapathArgs,
    #[command(flatten)]
    log: LogArgs,
    /// Port to serve.
    #[arg(long, default_value_t = 6379, value_parser = parse_port)]
    port: u16,
    /// Memory budget of the keyspace, all workers together, as redis-server takes it
    /// (`--maxmemory 100mb`, `1gb`, bytes; 0 for none). Writes beyond it get Redis's OOM
    /// error. (`--max-memory` is the stack's budget for connections.)
    #[arg(long = "maxmemory", default_value = "1gb", value_parser = parse_memory)]
    maxmemory: u64,
}

/// Redis's memory notation: a number with an optional unit b, k, kb, m, mb, g, gb (k = 1000,
/// kb = 1024, as in redis.conf).
fn parse_memory(s: &str) -> Result<u64, String> {
    let lower = s.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{s}' is not a memory size (e.g. 100mb, 1gb, 0)"))?;
    let mult: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => {
            return Err(format!(
                "'{s}': unknown unit '{unit}' (b, k, kb, m, mb, g, gb)"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))
}

fn main() {
    let args: Args = tcp_user::cli::parse_or_exit("kv");
    let log = args.log.clone();
    if let Err(e) = log.install() {
        eprintln!("kv: error: {e:#}");
        std::process::exit(2);
    }
    if let Err(e) = run(args) {
        log.report_fatal("kv", &e);
        std::process::exit(1);
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let cfg = KvConfig {
        max_memory: args.maxmemory,
        port: args.port,
    };
    let mesh = MeshBuilder::default();
    let max_memory = args.maxmemory;
    let report = Runtime::builder()
        .config(args.datapath.runtime_config(&[args.port]))
        .on_ready(move |r| println!("{r} max_memory={max_memory}"))
        .service(move |w| Kv::new(&cfg, w, &mesh))
        .run()?;
    let keys: usize = report.services.iter().map(|s| s.keys()).sum();
    let commands: u64 = report.services.iter().map(|s| s.stats.commands).sum();
    let remote: u64 = report.services.iter().map(|s| s.stats.remote).sum();
    eprintln!("kv: keys={keys} commands={commands} remote={remote}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keyspace_budget_and_the_stacks_budget_are_two_options() {
        let a = Args::try_parse_from([
            "kv",
            "--iface",
            "veth0",
            "--maxmemory",
            "256mb",
            "--max-memory",
            "64M",
        ])
        .unwrap();
        assert_eq!(a.maxmemory, 256 << 20);
        assert_eq!(a.datapath.max_memory, Some(64 << 20));
        let a = Args::try_parse_from(["kv", "--iface", "veth0"]).unwrap();
        assert_eq!((a.maxmemory, a.datapath.max_memory), (1 << 30, None));
    }
}
