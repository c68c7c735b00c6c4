//! `xdptcp`: the daemon's entry point. Errors are one line on stderr and a non-zero exit.
use clap::Parser;
use tcp_user::daemon::{serve, stats, Cli, Command};

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
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Connect(args) => tcp_user::client::connect(args),
        Command::Reflect(args) => tcp_user::reflect::reflect(args),
        Command::Stats { iface } => stats(&iface),
    };
    if let Err(e) = result {
        eprintln!("xdptcp: error: {e:#}");
        std::process::exit(1);
    }
}
