//! Logs: the `--log-level` and `--log-format` flags and the `tracing` subscriber they
//! install. Events go to stderr, one per line (RFC 3339 UTC timestamp, level, target,
//! message), or one JSON object per line for a log shipper; stdout stays for what scripts
//! read (the `ready` line, JSON results, `xdptcp stats`).
//!
//! Level: `--log-level` when given, else `RUST_LOG` (any `EnvFilter` directives, e.g.
//! `tcp_user::runtime=debug`), else `info`. The flag wins because it is the more deliberate
//! of the two: a unit file or a command line says what it means, whatever the environment.

use std::io::IsTerminal;

use anyhow::{anyhow, Result};
use clap::{Args, ValueEnum};
use tracing_subscriber::EnvFilter;

/// The level below which events are not logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings too (a ring overflowing, the interface down, drops).
    Warn,
    /// What the daemon does too (serving, draining): the default.
    Info,
    /// Details for debugging too.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    fn directive(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// How events are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line per event: timestamp, level, target, message.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `message` and fields).
    Json,
}

/// The logging flags (global: they may come before or after the subcommand).
#[derive(Args, Debug, Clone, Default)]
pub struct LogArgs {
    /// Log level: error, warn, info, debug or trace [default: info, or RUST_LOG when set;
    /// this flag overrides RUST_LOG].
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<LogLevel>,
    /// Log format on stderr: text or json (one object per line).
    #[arg(long, global = true, value_name = "FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

impl LogArgs {
    /// Installs the subscriber for the whole process (call once, first thing in `main`).
    /// Fails on a `RUST_LOG` that is not a filter, or when one is installed already.
    pub fn install(&self) -> Result<()> {
        let filter = self.filter(std::env::var("RUST_LOG").ok())?;
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_target(true);
        let installed = match self.log_format {
            LogFormat::Text => builder
                .with_ansi(std::io::stderr().is_terminal())
                .try_init(),
            LogFormat::Json => builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .try_init(),
        };
        installed.map_err(|e| anyhow!("installing the log subscriber: {e}"))
    }

    /// The filter for this flag and `rust_log` (the value of `RUST_LOG`, if set).
    fn filter(&self, rust_log: Option<String>) -> Result<EnvFilter> {
        match (self.log_level, rust_log) {
            (Some(level), _) => Ok(EnvFilter::new(level.directive())),
            (None, Some(env)) if !env.trim().is_empty() => EnvFilter::try_new(&env)
                .map_err(|e| anyhow!("RUST_LOG={env:?} is not a log filter: {e}")),
            (None, _) => Ok(EnvFilter::new("info")),
        }
    }

    /// Reports the error that ends `program`: in text format one plain line,
    /// `program: error: ...` (what a user at a terminal reads), in json format an error
    /// event like every other line, so a log shipper sees why the daemon stopped.
    pub fn report_fatal(&self, program: &str, error: &anyhow::Error) {
        match self.log_format {
            LogFormat::Text => eprintln!("{program}: error: {error:#}"),
            LogFormat::Json => tracing::error!("{error:#}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::level_filters::LevelFilter;

    fn args(level: Option<LogLevel>) -> LogArgs {
        LogArgs {
            log_level: level,
            log_format: LogFormat::Text,
        }
    }

    #[test]
    fn the_log_flags_go_before_or_after_the_subcommand() {
        use crate::cli::{Cli, Command};
        use clap::Parser;
        let after = [
            "xdptcp",
            "serve",
            "--iface",
            "v0",
            "--port",
            "7",
            "--log-level",
            "debug",
        ];
        let cli = Cli::try_parse_from(after).unwrap();
        assert_eq!(cli.log.log_level, Some(LogLevel::Debug));
        assert_eq!(cli.log.log_format, LogFormat::Text);
        let before = ["xdptcp", "--log-format", "json", "top", "--iface", "v0"];
        let cli = Cli::try_parse_from(before).unwrap();
        assert_eq!(cli.log.log_format, LogFormat::Json);
        assert!(
            matches!(cli.command, Command::Top(t) if t.interval_ms == 1000 && t.count.is_none())
        );
        let bad = Cli::try_parse_from(["xdptcp", "--log-level", "loud", "stats", "--iface", "v0"]);
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("invalid value 'loud'"));
    }

    #[test]
    fn the_flag_wins_over_rust_log() {
        let f = args(Some(LogLevel::Warn))
            .filter(Some("trace".into()))
            .unwrap();
        assert_eq!(f.max_level_hint(), Some(LevelFilter::WARN));
    }

    #[test]
    fn rust_log_applies_without_the_flag_and_the_default_is_info() {
        let f = args(None).filter(Some("debug".into())).unwrap();
        assert_eq!(f.max_level_hint(), Some(LevelFilter::DEBUG));
        let f = args(None).filter(None).unwrap();
        assert_eq!(f.max_level_hint(), Some(LevelFilter::INFO));
        let f = args(None).filter(Some(" ".into())).unwrap();
        assert_eq!(f.max_level_hint(), Some(LevelFilter::INFO));
    }

    #[test]
    fn a_rust_log_that_is_not_a_filter_is_one_clear_error() {
        let e = args(None).filter(Some("tcp_user=loud".into())).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("RUST_LOG=\"tcp_user=loud\" is not a log filter"),
            "{e}"
        );
    }
}
