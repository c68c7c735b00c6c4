//! `xdptcp`: the daemon's entry point. Errors are one line on stderr and a non-zero exit.
use tcp_user::cli::{parse_or_exit, run, Cli};

fn main() {
    let cli: Cli = parse_or_exit("xdptcp");
    if let Err(e) = run(cli) {
        eprintln!("xdptcp: error: {e:#}");
        std::process::exit(1);
    }
}
