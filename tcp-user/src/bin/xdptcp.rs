//! `xdptcp`: the daemon's entry point. Logs go to stderr (see `cli::logging`); an error that
//! ends the program is one line on stderr and a non-zero exit.
use tcp_user::cli::{parse_or_exit, run, Cli};

fn main() {
    let cli: Cli = parse_or_exit("xdptcp");
    let log = cli.log.clone();
    if let Err(e) = log.install() {
        eprintln!("xdptcp: error: {e:#}");
        std::process::exit(2);
    }
    if let Err(e) = run(cli) {
        log.report_fatal("xdptcp", &e);
        std::process::exit(1);
    }
}
