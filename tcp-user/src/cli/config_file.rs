//! The TOML config file (`--config FILE`, `xdptcp check-config FILE`): a table of flags.
//!
//! Every key is a flag of the subcommand, spelled as on the command line (`max-memory`, or
//! `max_memory`), and its value is the flag's value: `iface = "eth1"`, `port = [7, 80]`,
//! `max-memory = "2G"`, `busy-poll = true`. The file is turned into flag arguments that
//! clap then parses with the flags' own value parsers, so a bad value in the file gets the
//! very words the same bad flag gets, prefixed with the file, line and key. A flag given on
//! the command line replaces the file's value (for repeatable flags like `--port` too: the
//! file's ports are dropped, not added to).

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser};
use toml::de::{DeTable, DeValue};

use super::Cli;

/// Why a command line could not be parsed.
#[derive(Debug)]
pub enum ParseError {
    /// clap's own error (including `--help` and `--version`, which are not failures).
    Clap(clap::Error),
    /// A mistake in the config file or in reading it: one line, naming the file.
    Config(String),
}

/// Parses the process's command line with its config file, or exits like
/// [`parse_or_exit`](super::parse_or_exit): `--help`/`--version` exit 0, a bad flag or file
/// prints one line (`program: what is wrong`) and exits 2.
pub fn parse_or_exit(program: &str) -> Cli {
    match parse_from(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(ParseError::Clap(e)) if !e.use_stderr() => e.exit(),
        Err(ParseError::Clap(e)) => {
            eprintln!("{program}: {}", first_line(&e));
            std::process::exit(2);
        }
        Err(ParseError::Config(line)) => {
            eprintln!("{program}: {line}");
            std::process::exit(2);
        }
    }
}

/// Parses `argv` (program name first), reading the config file it names.
pub fn parse_from(argv: Vec<OsString>) -> Result<Cli, ParseError> {
    let Some(found) = find_config(&argv) else {
        return Cli::try_parse_from(argv).map_err(ParseError::Clap);
    };
    let text = std::fs::read_to_string(&found.path)
        .map_err(|e| ParseError::Config(format!("cannot read {}: {e}", found.path)))?;
    let expanded = expand(&text, &found, &argv)?;
    let mut full: Vec<OsString> = argv[..found.insert_at].to_vec();
    full.extend(expanded.args.into_iter().map(OsString::from));
    full.extend_from_slice(&argv[found.insert_at..]);
    Cli::try_parse_from(full).map_err(|e| attribute(e, &found.path, &expanded.origin))
}

/// Where the config file is named on a command line.
#[derive(Debug)]
struct Found {
    /// The subcommand (`serve`, `connect`, `reflect`, `check-config`).
    subcommand: String,
    /// The file.
    path: String,
    /// Index in argv where the file's flags go (after the subcommand, or after the
    /// `check-config FILE` positional).
    insert_at: usize,
    /// Index of the first argument after the subcommand.
    args_from: usize,
}

/// The subcommand and the `--config FILE` (or `check-config FILE`) of `argv`, if any.
fn find_config(argv: &[OsString]) -> Option<Found> {
    let sub_at = argv
        .iter()
        .skip(1)
        .position(|a| !a.to_string_lossy().starts_with('-'))?
        + 1;
    let subcommand = argv[sub_at].to_str()?.to_string();
    if subcommand == "check-config" {
        let path = argv.get(sub_at + 1)?.to_str()?;
        if path.starts_with('-') {
            return None;
        }
        return Some(Found {
            subcommand,
            path: path.to_string(),
            insert_at: sub_at + 2,
            args_from: sub_at + 1,
        });
    }
    let rest = &argv[sub_at + 1..];
    let mut i = 0;
    while i < rest.len() {
        let arg = rest[i].to_str().unwrap_or("");
        if arg == "--" {
            break;
        }
        let path = match arg.strip_prefix("--config") {
            Some("") => rest.get(i + 1).and_then(|p| p.to_str()),
            Some(v) => v.strip_prefix('='),
            None => None,
        };
        if let Some(path) = path {
            return Some(Found {
                subcommand,
                path: path.to_string(),
                insert_at: sub_at + 1,
                args_from: sub_at + 1,
            });
        }
        i += 1;
    }
    None
}

/// Flags whose one value is a comma-separated list, so that a TOML array (`cores = [0, 1]`)
/// is that list.
const LIST_FLAGS: &[&str] = &["cores"];

/// The file's flags, and for each flag (long name) the key and line it came from.
struct Expanded {
    args: Vec<String>,
    origin: BTreeMap<String, (String, usize)>,
}

/// Turns the file's table into flag arguments, leaving out the flags `argv` gives itself.
fn expand(text: &str, found: &Found, argv: &[OsString]) -> Result<Expanded, ParseError> {
    let file = &found.path;
    let table = DeTable::parse(text).map_err(|e| {
        let at = e.span().map_or(String::new(), |s| {
            format!(" line {}:", line_of(text, s.start))
        });
        ParseError::Config(format!(
            "{file}:{at} not valid TOML: {}",
            e.message().trim()
        ))
    })?;
    let cmd = Cli::command();
    let sub = cmd
        .find_subcommand(&found.subcommand)
        .ok_or_else(|| ParseError::Config(format!("{file}: no subcommand to configure")))?;
    let on_command_line = long_flags(&argv[found.args_from..]);
    let mut out = Expanded {
        args: Vec::new(),
        origin: BTreeMap::new(),
    };
    for (key, value) in table.get_ref().iter() {
        let line = line_of(text, key.span().start);
        let key = key.get_ref().as_ref();
        let long = key.replace('_', "-");
        let at =
            |what: String| ParseError::Config(format!("{file}: line {line}: key '{key}': {what}"));
        let arg = sub
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && long != "config")
            .ok_or_else(|| {
                ParseError::Config(format!(
                    "{file}: line {line}: unknown key '{key}' (`xdptcp {}` has no --{long} flag)",
                    if found.subcommand == "check-config" {
                        "serve"
                    } else {
                        &found.subcommand
                    }
                ))
            })?;
        if on_command_line.contains(&long) {
            continue;
        }
        let switch = !arg.get_action().takes_values();
        let repeatable = matches!(arg.get_action(), clap::ArgAction::Append);
        match value.get_ref() {
            DeValue::Boolean(on) if switch => {
                if *on {
                    out.args.push(format!("--{long}"));
                }
            }
            _ if switch => return Err(at("expected true or false".into())),
            DeValue::Array(items) if repeatable => {
                for item in items.iter() {
                    let v = scalar(item.get_ref()).map_err(at)?;
                    out.args.push(format!("--{long}={v}"));
                }
            }
            DeValue::Array(items) if LIST_FLAGS.contains(&long.as_str()) => {
                let v: Vec<String> = items
                    .iter()
                    .map(|i| scalar(i.get_ref()))
                    .collect::<Result<_, _>>()
                    .map_err(at)?;
                out.args.push(format!("--{long}={}", v.join(",")));
            }
            DeValue::Array(_) => return Err(at("expected one value, not a list".into())),
            v => {
                let v = scalar(v).map_err(at)?;
                out.args.push(format!("--{long}={v}"));
            }
        }
        out.origin.insert(long, (key.to_string(), line));
    }
    Ok(out)
}

/// A value as the flag's text: strings as they are, numbers in decimal.
fn scalar(v: &DeValue<'_>) -> Result<String, String> {
    match v {
        DeValue::String(s) => Ok(s.to_string()),
        DeValue::Integer(i) => {
            let digits = i.as_str().replace('_', "");
            let digits = digits
                .trim_start_matches('+')
                .trim_start_matches("0x")
                .trim_start_matches("0o")
                .trim_start_matches("0b");
            i64::from_str_radix(digits, i.radix())
                .map(|n| n.to_string())
                .map_err(|_| format!("'{}' is not an integer", i.as_str()))
        }
        DeValue::Float(f) => Ok(f.as_str().to_string()),
        DeValue::Boolean(_) => Err("expected a value, not true or false".into()),
        DeValue::Datetime(_) | DeValue::Array(_) | DeValue::Table(_) => Err(format!(
            "expected a string or a number, not a {}",
            v.type_str()
        )),
    }
}

/// The long flags (`--name` or `--name=value`) among `args`, without the dashes.
fn long_flags(args: &[OsString]) -> HashSet<String> {
    let mut set = HashSet::new();
    for a in args {
        let Some(a) = a.to_str() else { continue };
        if a == "--" {
            break;
        }
        if let Some(name) = a.strip_prefix("--") {
            set.insert(name.split('=').next().unwrap_or(name).to_string());
        }
    }
    set
}

/// Names the file, line and key when clap's error is about a flag the file set.
fn attribute(e: clap::Error, file: &str, origin: &BTreeMap<String, (String, usize)>) -> ParseError {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        return ParseError::Clap(e);
    }
    let flag = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => return ParseError::Clap(e),
    };
    let long = flag
        .trim_start_matches("--")
        .split([' ', '='])
        .next()
        .unwrap_or("");
    match origin.get(long) {
        Some((key, line)) => ParseError::Config(format!(
            "{file}: line {line}: key '{key}': {}",
            first_line(&e)
        )),
        None => ParseError::Clap(e),
    }
}

/// The first line of clap's message without its `error: ` prefix.
fn first_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    first.trim_start_matches("error: ").to_string()
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests;
