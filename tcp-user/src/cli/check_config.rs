//! `xdptcp check-config FILE [flags]`: everything `serve` checks before it attaches, without
//! attaching. Prints `config OK: ...` and exits 0, or the error serve would print and exits 2
//! (as for a bad flag), so it can run as a unit's `ExecStartPre=` or before a reload.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::serve::ServeArgs;
use crate::runtime::datapath::DatapathConfig;
use crate::runtime::preflight::{self, cpu_list_text};
use crate::runtime::RuntimeConfig;

/// Options of `xdptcp check-config`.
#[derive(Args, Debug, Clone)]
pub struct CheckConfigArgs {
    /// The TOML file to check (its keys are `serve`'s flags).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)] // clap: the flattened group documents itself
    pub serve: ServeArgs,
}

/// Runs the checks; exits 2 on the first mistake.
pub fn check_config(args: CheckConfigArgs) -> Result<()> {
    let cfg = args.serve.datapath.runtime_config(&args.serve.ports);
    match summary(&cfg, &args.serve) {
        Ok(text) => {
            println!("config OK: {text}");
            Ok(())
        }
        Err(e) => {
            eprintln!("xdptcp: error: {e:#}");
            std::process::exit(2);
        }
    }
}

/// Validates `cfg` and checks it against the machine; one line of what `serve` would run.
fn summary(cfg: &RuntimeConfig, serve: &ServeArgs) -> Result<String> {
    cfg.validate()?;
    let c = preflight::check(&DatapathConfig::from_runtime(cfg, &cfg.listen_ports))?;
    let limits = cfg.worker_limits(c.queues as usize);
    let ports: Vec<String> = cfg.listen_ports.iter().map(|p| p.to_string()).collect();
    let addrs: Vec<String> = c.addrs.iter().map(|a| a.to_string()).collect();
    let conns = if limits.connections == usize::MAX {
        "memory-bound".to_string()
    } else {
        limits.connections.to_string()
    };
    Ok(format!(
        "iface={} addr={} ports={} app={} queues={} cores={} xdp_mode={} bind_mode={}; per worker: memory={} MiB connections={conns} time_wait={}",
        c.iface.name,
        addrs.join(","),
        ports.join(","),
        format!("{:?}", serve.app).to_lowercase(),
        c.queues,
        cpu_list_text(&c.cores),
        format!("{:?}", cfg.xdp_mode).to_lowercase(),
        format!("{:?}", cfg.bind_mode).to_lowercase(),
        limits.memory >> 20,
        limits.time_wait,
    ))
}
