//! `xdptcp`: the daemon's entry point. Errors are one line on stderr and a non-zero exit.
use tcp_user::cli::{config_file, run, Cli};

fn main() {
    // The command line with its config file (`--config FILE`) expanded into flags.
    let cli: Cli = config_file::parse_or_exit("xdptcp");
    if let Err(e) = run(cli) {
        eprintln!("xdptcp: error: {e:#}");
        std::process::exit(1);
    }
}
