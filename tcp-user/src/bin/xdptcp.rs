//! `xdptcp`: the daemon's entry point. Logs go to stderr (see `cli::logging`); an error that
//! ends the program is one line on stderr and a non-zero exit.
use tcp_user::cli::{config_file, run, Cli};

fn main() {
    // The command line with its config file (`--config FILE`) expanded into flags.
    let cli: Cli = config_file::parse_or_exit("xdptcp");
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
