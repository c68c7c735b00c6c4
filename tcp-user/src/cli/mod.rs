//! The `xdptcp` command line. Every subcommand is a thin user of the library: `serve` and
//! `connect` run built-in services on the [`runtime`](crate::runtime), `reflect` stands on
//! its datapath, `stats` and `top` read the file a running runtime writes, `ss` and
//! `capture` ask it over its control socket, `check-config` checks a configuration.

pub mod args;
pub mod capture;
pub mod check_config;
pub mod config_file;
pub mod connect;
pub mod logging;
pub mod reflect;
pub mod serve;
pub mod ss;
pub mod systemd;
pub mod top;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::metrics;

/// Kernel-bypass TCP server on AF_XDP.
#[derive(Parser, Debug)]
#[command(name = "xdptcp", version, about)]
pub struct Cli {
    #[command(subcommand)]
    #[allow(missing_docs)] // clap: the flattened group documents itself
    pub command: Command,
    #[command(flatten)]
    #[allow(missing_docs)] // clap: the flattened group documents itself
    pub log: logging::LogArgs,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Take over TCP ports of an interface and serve them from user space.
    Serve(serve::ServeArgs),
    /// Open connections from the stack itself and measure them (load generator).
    Connect(connect::ConnectArgs),
    /// Reflect steered frames straight back with no TCP work (the AF_XDP path's ceiling).
    Reflect(reflect::ReflectArgs),
    /// List the connections of a running daemon (like `ss -tnio`).
    Ss(ss::SsArgs),
    /// Capture the frames a running daemon receives and sends (pcapng or text).
    Capture(capture::CaptureArgs),
    /// Check a config file (and flags) as `serve` would, without attaching: `check-config
    /// FILE [flags]`.
    CheckConfig(check_config::CheckConfigArgs),
    /// Print the counters of a running daemon (Prometheus text).
    Stats {
        /// Interface the daemon serves.
        #[arg(long)]
        iface: String,
    },
    /// Live rates of a running daemon per queue, refreshed every second (`q` quits).
    Top(top::TopArgs),
}

/// Parses the command line of `program`, or exits: `--help` and `--version` print and exit
/// 0; a bad argument prints one line (`program: what is wrong`) and exits 2.
pub fn parse_or_exit<T: Parser>(program: &str) -> T {
    match T::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("{program}: {}", first.trim_start_matches("error: "));
            std::process::exit(2);
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve::serve(args),
        Command::Connect(args) => connect::connect(args),
        Command::Reflect(args) => reflect::reflect(args),
        Command::Ss(args) => ss::ss(args),
        Command::Capture(args) => capture::capture(args),
        Command::CheckConfig(args) => check_config::check_config(args),
        Command::Stats { iface } => stats(&iface),
        Command::Top(args) => top::top(args),
    }
}

/// `xdptcp stats --iface IF`: prints the running daemon's counters.
pub fn stats(iface: &str) -> Result<()> {
    let path = metrics::stats_path(iface);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no running xdptcp on {iface} ({} not found)",
            path.display()
        )
    })?;
    print!("{text}");
    Ok(())
}
