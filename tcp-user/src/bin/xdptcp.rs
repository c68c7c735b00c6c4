//! `xdptcp`: the daemon's entry point. Errors are one line on stderr and a non-zero exit.
use clap::Parser;
use tcp_user::cli::{run, Cli};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("xdptcp: {}", first.trim_start_matches("error: "));
            std::process::exit(2);
        }
    };
    if let Err(e) = run(cli) {
        eprintln!("xdptcp: error: {e:#}");
        std::process::exit(1);
    }
}
