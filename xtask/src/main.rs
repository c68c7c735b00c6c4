//! Project tasks: `cargo xtask setup | build | test | demo | bench`.
//!
//! Errors are printed as one line (`xtask: ...`) with a non-zero exit, never a backtrace.

mod bench;
mod build;
mod demo;
mod own_service;
mod setup;
mod test;
mod util;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "xdptcp project tasks")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install what the project needs (Debian packages, bpf-linker, bpffs); idempotent.
    Setup,
    /// Build the XDP program and the `xdptcp` daemon (runs setup if something is missing).
    Build {
        /// Build the daemon with the release profile.
        #[arg(long)]
        release: bool,
    },
    /// Build, then run the unit tests and the end-to-end tests in network namespaces.
    Test {
        /// Extra arguments for the end-to-end test binaries (e.g. a test name filter).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build, then show the daemon at work against kernel clients in network namespaces.
    Demo {
        /// Use this daemon binary instead of building one.
        #[arg(long)]
        bin: Option<std::path::PathBuf>,
    },
    /// Build, then run the latency benchmarks: xdptcp and a kernel-socket server side by side.
    Bench {
        /// Arguments for `xdptcp-bench run` (e.g. `--modes rr,crr --duration 8`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Setup => setup::run(),
        Cmd::Build { release } => build::run(release).map(|_| ()),
        Cmd::Test { args } => test::run(&args),
        Cmd::Demo { bin } => demo::run(bin),
        Cmd::Bench { args } => bench::run(&args),
    };
    // An interrupted demo/test: let the harness finish its cleanup and exit 128+signal.
    netns_tests::netns::wait_if_interrupted();
    if let Err(e) = result {
        eprintln!("xtask: {e:#}");
        std::process::exit(1);
    }
}
