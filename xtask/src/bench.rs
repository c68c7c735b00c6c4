//! `cargo xtask bench [ARGS...]`: builds the daemon, the examples and the benchmark tool
//! (release), then runs them:
//! - the stack's own modes (`rr`, `crr`, `stream`, `http`, `syn`, `download`, `reflect`) with
//!   `xdptcp-bench run`, the same client against xdptcp and the kernel;
//! - the services (`kv`, `proxy`) with `xdptcp-bench services`, against redis-server and
//!   HAProxy with their own clients, in alternating rounds;
//! - `conns` with `xdptcp-bench conns`: 10^5 and 10^6 connections held, memory per
//!   connection of xdptcp and of the kernel, setup rate, latency meanwhile.
//!
//! `--modes` may mix all three; without it, everything runs. `--rounds` goes to each (each
//! runs its modes in that many alternating rounds), `--requests` and `--clients` to the
//! services only, `--counts`, `--kernel-max`, `--hold` and `--interval` to conns only; every
//! other argument goes to `xdptcp-bench run` (see its `--help`). All write into the same
//! results folder.
//!
//! `--family 6` (IPv6) goes to `xdptcp-bench run` alone: the services and conns have no
//! IPv6 variant, never receive it and run over IPv4, which is printed when they run.

use anyhow::{bail, Result};

use crate::{
    build,
    util::{run_status, target_dir, workspace_root},
};

/// The modes `xdptcp-bench services` runs.
const SERVICE_MODES: [&str; 2] = ["kv", "proxy"];
/// The modes `xdptcp-bench run` runs when none are given.
const DEFAULT_RUN_MODES: &str = "rr,crr,stream,http,syn,reflect";
/// Arguments (each with a value) that belong to the services command alone.
const SERVICE_ARGS: [&str; 2] = ["--requests", "--clients"];
/// Arguments (each with a value) that belong to the conns command alone.
const CONNS_ARGS: [&str; 4] = ["--counts", "--kernel-max", "--hold", "--interval"];
/// Arguments (each with a value) that every command takes.
const SHARED_ARGS: [&str; 1] = ["--rounds"];
/// The address family: `xdptcp-bench run` alone takes it (services and conns are IPv4).
const FAMILY_ARG: &str = "--family";

/// How the arguments split between the two commands.
#[derive(Debug, Default, PartialEq, Eq)]
struct Split {
    run_modes: Vec<String>,
    service_modes: Vec<String>,
    run_args: Vec<String>,
    service_args: Vec<String>,
    /// `conns` was asked for (it runs `xdptcp-bench conns`).
    conns: bool,
    conns_args: Vec<String>,
    results: Option<String>,
    /// The value of `--family`, if given (it is in `run_args` too).
    family: Option<String>,
}

fn split(args: &[String]) -> Split {
    let mut s = Split::default();
    let mut modes: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(v) = a.strip_prefix("--modes=") {
            modes = Some(v.to_string());
        } else if a == "--modes" {
            modes = it.next().cloned();
        } else if let Some(v) = a.strip_prefix("--results=") {
            s.results = Some(v.to_string());
        } else if a == "--results" {
            s.results = it.next().cloned();
        } else if let Some(name) = with_value(a, &SHARED_ARGS) {
            let value = take_value(a, name, &mut it);
            s.run_args.extend(value.iter().cloned());
            s.conns_args.extend(value.iter().cloned());
            s.service_args.extend(value);
        } else if let Some(name) = with_value(a, &[FAMILY_ARG]) {
            let value = take_value(a, name, &mut it);
            s.family = match value.as_slice() {
                [only] => only.split_once('=').map(|(_, v)| v.to_string()),
                [_, v] => Some(v.clone()),
                _ => None,
            };
            s.run_args.extend(value);
        } else if let Some(name) = with_value(a, &CONNS_ARGS) {
            s.conns_args.extend(take_value(a, name, &mut it));
        } else if let Some(name) = with_value(a, &SERVICE_ARGS) {
            s.service_args.extend(take_value(a, name, &mut it));
        } else {
            s.run_args.push(a.clone());
        }
    }
    let modes = modes.unwrap_or_else(|| format!("{DEFAULT_RUN_MODES},kv,proxy,conns"));
    for m in modes.split(',').filter(|m| !m.is_empty()) {
        if m == "conns" {
            s.conns = true;
        } else if SERVICE_MODES.contains(&m) {
            s.service_modes.push(m.to_string());
        } else {
            s.run_modes.push(m.to_string());
        }
    }
    s
}

/// Which of `names` `arg` is, as `--name` or `--name=value`.
fn with_value<'a>(arg: &str, names: &[&'a str]) -> Option<&'a str> {
    let name = arg.split_once('=').map_or(arg, |(n, _)| n);
    names.iter().copied().find(|n| *n == name)
}

/// `arg` and its value: `--name=value` alone, or `--name` and the argument after it.
fn take_value<'a>(
    arg: &str,
    name: &str,
    rest: &mut impl Iterator<Item = &'a String>,
) -> Vec<String> {
    let mut v = vec![arg.to_string()];
    if arg == name {
        v.extend(rest.next().cloned());
    }
    v
}

pub fn run(args: &[String]) -> Result<()> {
    let daemon = build::run(true)?;
    println!("build: xdptcp-bench (release)");
    let mut cargo = build::user_cargo(&build::ebpf_object());
    cargo.args([
        "build",
        "--release",
        "-p",
        "benches",
        "--bin",
        "xdptcp-bench",
    ]);
    run_status(&mut cargo, "benchmark build")?;
    crate::setup::mount_bpffs(false)?;
    let tool = target_dir().join("release/xdptcp-bench");
    let s = split(args);
    let results = s.results.clone().unwrap_or_else(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("results/run-{secs}")
    });
    let ipv6 = s
        .family
        .as_deref()
        .is_some_and(|f| !matches!(f, "4" | "v4" | "ipv4" | "inet"));
    if ipv6 && (!s.service_modes.is_empty() || s.conns) {
        let mut others = s.service_modes.clone();
        if s.conns {
            others.push("conns".into());
        }
        println!(
            "bench: note: --family {} applies to the stack's own modes only; {} run over IPv4",
            s.family.as_deref().unwrap_or_default(),
            others.join(", ")
        );
    }
    let mut failed = Vec::new();
    if !s.run_modes.is_empty() {
        let mut cmd = std::process::Command::new(&tool);
        cmd.current_dir(workspace_root())
            .arg("run")
            .arg("--xdptcp-bin")
            .arg(&daemon)
            .arg("--results")
            .arg(&results)
            .arg("--modes")
            .arg(s.run_modes.join(","))
            .args(&s.run_args);
        if !cmd.status()?.success() {
            failed.push("xdptcp-bench run");
        }
    }
    if !s.service_modes.is_empty() {
        let mut cmd = std::process::Command::new(&tool);
        cmd.current_dir(workspace_root())
            .arg("services")
            .arg("--xdptcp-bin")
            .arg(&daemon)
            .arg("--results")
            .arg(&results)
            .arg("--modes")
            .arg(s.service_modes.join(","))
            .args(&s.service_args);
        if !cmd.status()?.success() {
            failed.push("xdptcp-bench services");
        }
    }
    if s.conns {
        let mut cmd = std::process::Command::new(&tool);
        cmd.current_dir(workspace_root())
            .arg("conns")
            .arg("--xdptcp-bin")
            .arg(&daemon)
            .arg("--results")
            .arg(&results)
            .args(&s.conns_args);
        if !cmd.status()?.success() {
            failed.push("xdptcp-bench conns");
        }
    }
    if !failed.is_empty() {
        bail!(
            "{} failed (the results written are in {results})",
            failed.join(" and ")
        );
    }
    println!("bench: results in {results}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn modes_and_their_arguments_go_to_the_command_that_runs_them() {
        let s = split(&args(&[
            "--modes",
            "rr,kv,crr",
            "--duration",
            "3",
            "--requests",
            "1000",
        ]));
        assert_eq!(s.run_modes, ["rr", "crr"]);
        assert_eq!(s.service_modes, ["kv"]);
        assert_eq!(s.run_args, ["--duration", "3"]);
        assert_eq!(s.service_args, ["--requests", "1000"]);
    }

    #[test]
    fn rounds_go_to_both_commands() {
        let s = split(&args(&["--rounds", "5", "--clients=8", "--duration", "2"]));
        assert_eq!(s.run_args, ["--rounds", "5", "--duration", "2"]);
        assert_eq!(s.service_args, ["--rounds", "5", "--clients=8"]);
        let s = split(&args(&["--rounds=7"]));
        assert_eq!(s.run_args, ["--rounds=7"]);
        assert_eq!(s.service_args, ["--rounds=7"]);
    }

    #[test]
    fn conns_takes_its_own_arguments_and_the_rounds() {
        let s = split(&args(&[
            "--modes", "conns,rr", "--counts", "1000", "--rounds", "2",
        ]));
        assert!(s.conns);
        assert_eq!(s.run_modes, ["rr"]);
        assert_eq!(s.conns_args, ["--counts", "1000", "--rounds", "2"]);
        assert_eq!(s.run_args, ["--rounds", "2"]);
    }

    #[test]
    fn family_goes_to_run_alone() {
        let s = split(&args(&[
            "--family",
            "6",
            "--modes",
            "rr,kv,conns",
            "--rounds",
            "1",
        ]));
        assert_eq!(s.run_args, ["--family", "6", "--rounds", "1"]);
        assert_eq!(s.service_args, ["--rounds", "1"]);
        assert_eq!(s.conns_args, ["--rounds", "1"]);
        assert_eq!(s.family.as_deref(), Some("6"));
        let s = split(&args(&["--family=6", "--duration", "2"]));
        assert_eq!(s.run_args, ["--family=6", "--duration", "2"]);
        assert_eq!(s.family.as_deref(), Some("6"));
        assert_eq!(split(&[]).family, None);
    }

    #[test]
    fn without_modes_everything_runs() {
        let s = split(&[]);
        assert!(s.conns);
        assert_eq!(s.service_modes, ["kv", "proxy"]);
        assert!(s.run_modes.contains(&"rr".to_string()));
    }
}
