//! The config file against the same flags: the same configuration, the same errors.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use super::{parse_from, ParseError};
use crate::cli::{Cli, Command};

/// A file in the temp directory with `text`, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(text: &str) -> TempFile {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("xdptcp-cfg-{}-{n}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn argv(args: &[&str]) -> Vec<OsString> {
    std::iter::once("xdptcp")
        .chain(args.iter().copied())
        .map(OsString::from)
        .collect()
}

fn parse(args: &[&str]) -> Result<Cli, ParseError> {
    parse_from(argv(args))
}

/// The error line the user sees (what `parse_or_exit` prints after `xdptcp: `).
fn error_line(args: &[&str]) -> String {
    match parse(args) {
        Ok(cli) => panic!("{args:?} parsed: {cli:?}"),
        Err(ParseError::Config(line)) => line,
        Err(ParseError::Clap(e)) => super::first_line(&e),
    }
}

/// `serve`'s runtime configuration and app settings, as text to compare.
fn serve_config(args: &[&str]) -> String {
    match parse(args)
        .unwrap_or_else(|e| panic!("{args:?}: {e:?}"))
        .command
    {
        Command::Serve(s) => format!(
            "{:?} app={:?} body={}",
            s.datapath.runtime_config(&s.ports),
            s.app,
            s.body_size
        ),
        other => panic!("not serve: {other:?}"),
    }
}

/// The validation error of a `serve` command line (what the daemon prints at start).
fn validation_error(args: &[&str]) -> String {
    match parse(args)
        .unwrap_or_else(|e| panic!("{args:?}: {e:?}"))
        .command
    {
        Command::Serve(s) => match s.datapath.runtime_config(&s.ports).validate() {
            Ok(()) => panic!("{args:?} is valid"),
            Err(e) => e.to_string(),
        },
        other => panic!("not serve: {other:?}"),
    }
}

const FULL: &str = r#"
# every kind of value
iface = "veth0"
addr = "10.0.0.1"
port = [7, 80]
app = "http"
body-size = 512
queues = "1"
cores = [0, 1]
xdp-mode = "skb"
bind_mode = "copy"
max-connections = 1000
max_half_open = 64
no-syn-cookies = true
max-time-wait = 0
buffer-size = 65536
max-memory = "2G"
msl-ms = 1000
idle-timeout-s = 30
busy-poll = true
drain-ms = 0
congestion = "cubic"
metrics-addr = "127.0.0.1:9464"
"#;

#[test]
fn a_file_builds_the_same_runtime_config_as_the_same_flags() {
    let f = TempFile::new(FULL);
    let from_file = serve_config(&["serve", "--config", f.path()]);
    let from_flags = serve_config(&[
        "serve",
        "--iface=veth0",
        "--addr=10.0.0.1",
        "--port=7,80",
        "--app=http",
        "--body-size=512",
        "--queues=1",
        "--cores=0,1",
        "--xdp-mode=skb",
        "--bind-mode=copy",
        "--max-connections=1000",
        "--max-half-open=64",
        "--no-syn-cookies",
        "--max-time-wait=0",
        "--buffer-size=65536",
        "--max-memory=2G",
        "--msl-ms=1000",
        "--idle-timeout-s=30",
        "--busy-poll",
        "--drain-ms=0",
        "--congestion=cubic",
        "--metrics-addr=127.0.0.1:9464",
    ]);
    assert_eq!(from_file, from_flags);
    // And it is not the default configuration: the file was read.
    assert_ne!(
        from_file,
        serve_config(&["serve", "--iface=veth0", "--port=7,80"])
    );
}

#[test]
fn a_flag_on_the_command_line_replaces_the_files_value() {
    let f = TempFile::new("iface = \"veth0\"\nport = [7, 80]\nmax-memory = \"2G\"\n");
    let merged = serve_config(&[
        "serve",
        "--port",
        "9",
        "--config",
        f.path(),
        "--max-memory=1G",
    ]);
    let flags = serve_config(&["serve", "--iface=veth0", "--port=9", "--max-memory=1G"]);
    assert_eq!(merged, flags, "the file's ports are replaced, not added to");
}

#[test]
fn a_bad_value_in_the_file_has_the_flags_own_words_and_names_file_line_and_key() {
    let f = TempFile::new("iface = \"veth0\"\nport = 7\nmax_memory = \"lots\"\n");
    let flag = error_line(&["serve", "--iface=veth0", "--port=7", "--max-memory", "lots"]);
    assert_eq!(
        flag,
        "invalid value 'lots' for '--max-memory <MAX_MEMORY>': 'lots' is not a size (a number of bytes, or with K, M or G)"
    );
    let file = error_line(&["serve", "--config", f.path()]);
    assert_eq!(
        file,
        format!("{}: line 3: key 'max_memory': {flag}", f.path())
    );
}

#[test]
fn a_bad_port_in_a_list_is_named_like_the_flag() {
    let f = TempFile::new("iface = \"veth0\"\nport = [7, 0]\n");
    let flag = error_line(&["serve", "--iface=veth0", "--port=7,0"]);
    let file = error_line(&["serve", "--config", f.path()]);
    assert_eq!(file, format!("{}: line 2: key 'port': {flag}", f.path()));
}

#[test]
fn an_unknown_key_names_the_file_line_and_key() {
    let f = TempFile::new("iface = \"veth0\"\nport = 7\n\nmax-memroy = \"2G\"\n");
    assert_eq!(
        error_line(&["serve", "--config", f.path()]),
        format!(
            "{}: line 4: unknown key 'max-memroy' (`xdptcp serve` has no --max-memroy flag)",
            f.path()
        )
    );
}

#[test]
fn wrong_types_are_one_line_each() {
    for (text, want) in [
        (
            "busy-poll = \"yes\"",
            "line 1: key 'busy-poll': expected true or false",
        ),
        (
            "iface = [\"a\", \"b\"]",
            "line 1: key 'iface': expected one value, not a list",
        ),
        (
            "iface = true",
            "line 1: key 'iface': expected a value, not true or false",
        ),
        (
            "[iface]\nname = \"a\"",
            "line 1: key 'iface': expected a string or a number, not a table",
        ),
        ("port = 7 =", "line 1: not valid TOML"),
    ] {
        let f = TempFile::new(text);
        let line = error_line(&["serve", "--config", f.path()]);
        assert!(
            line.starts_with(&format!("{}: {want}", f.path())),
            "{text:?}: {line}"
        );
    }
}

#[test]
fn a_missing_file_is_one_line() {
    assert_eq!(
        error_line(&["serve", "--config", "/nonexistent/x.toml"]),
        "cannot read /nonexistent/x.toml: No such file or directory (os error 2)"
    );
}

#[test]
fn check_config_takes_the_file_first_and_flags_after_it() {
    let f = TempFile::new("iface = \"veth0\"\nport = [7, 80]\n");
    match parse(&["check-config", f.path(), "--port", "9"])
        .unwrap()
        .command
    {
        Command::CheckConfig(c) => {
            assert_eq!(c.file.to_str(), Some(f.path()));
            assert_eq!(c.serve.datapath.iface, "veth0");
            assert_eq!(c.serve.ports, vec![9]);
        }
        other => panic!("not check-config: {other:?}"),
    }
}

#[test]
fn zeros_that_would_disable_the_daemon_are_refused_with_one_line() {
    let base = ["serve", "--iface=veth0", "--port=7"];
    let with = |extra: &'static str| {
        let mut v = base.to_vec();
        v.push(extra);
        v
    };
    assert_eq!(
        validation_error(&with("--max-memory=0")),
        "the memory budget must be at least 16 MiB"
    );
    assert_eq!(
        validation_error(&with("--max-half-open=0")),
        "the half-open limit must be positive (SYN cookies take over beyond it)"
    );
    assert_eq!(
        validation_error(&with("--msl-ms=0")),
        "the maximum segment lifetime (--msl-ms) must be positive: TIME_WAIT lasts twice it"
    );
    assert_eq!(
        validation_error(&with("--max-connections=0")),
        "the connection limit must be positive"
    );
    assert_eq!(
        validation_error(&with("--buffer-size=0")),
        "buffers must be at least 4096 bytes"
    );
    assert_eq!(
        error_line(&with("--queues=0")),
        "invalid value '0' for '--queues <QUEUES>': '0' is not a queue count (a positive number or 'all')"
    );
}

#[test]
fn zeros_with_a_meaning_are_accepted() {
    let cfg = serve_config(&[
        "serve",
        "--iface=veth0",
        "--port=7",
        "--drain-ms=0",
        "--max-time-wait=0",
        "--idle-timeout-s=0",
        "--body-size=0",
    ]);
    assert!(cfg.contains("drain_timeout: 0ns"), "{cfg}");
    assert!(cfg.contains("max_time_wait: Some(0)"), "{cfg}");
    let Command::Serve(s) = parse(&[
        "serve",
        "--iface=veth0",
        "--port=7",
        "--drain-ms=0",
        "--max-time-wait=0",
    ])
    .unwrap()
    .command
    else {
        panic!("not serve")
    };
    assert!(s.datapath.runtime_config(&s.ports).validate().is_ok());
}

#[test]
fn duplicate_ports_and_cores_are_refused() {
    assert_eq!(
        validation_error(&["serve", "--iface=veth0", "--port", "7", "--port", "80,80"]),
        "port 80 is given twice"
    );
    assert_eq!(
        validation_error(&["serve", "--iface=veth0", "--port=7", "--cores=0,1,0"]),
        "core 0 is given twice (--cores)"
    );
}

/// The shipped example, every commented key uncommented.
fn example_with_every_key() -> String {
    include_str!("../../../../dist/xdptcp.example.toml")
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if rest.contains(" = ") && !rest.starts_with(' ') => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_example_file_names_every_serve_flag_and_parses_with_all_of_them_set() {
    use clap::CommandFactory;
    let text = example_with_every_key();
    let f = TempFile::new(&text);
    parse(&["serve", "--config", f.path()]).unwrap_or_else(|e| panic!("{e:?}"));
    let cmd = Cli::command();
    let serve = cmd.find_subcommand("serve").unwrap();
    for arg in serve.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if long == "config" {
            continue;
        }
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{long} = "))),
            "dist/xdptcp.example.toml has no key for --{long}"
        );
    }
}

#[test]
fn connect_reads_its_own_flags_from_a_file() {
    let f =
        TempFile::new("iface = \"veth0\"\nremote = \"10.0.0.1:7\"\nmode = \"crr\"\nconns = 4\n");
    match parse(&["connect", "--config", f.path(), "--conns", "8"])
        .unwrap()
        .command
    {
        Command::Connect(c) => {
            assert_eq!(c.datapath.iface, "veth0");
            assert_eq!(c.remote.to_string(), "10.0.0.1:7");
            assert_eq!(c.conns, 8, "the flag replaces the file's value");
        }
        other => panic!("not connect: {other:?}"),
    }
}
