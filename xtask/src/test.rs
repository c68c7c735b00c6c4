//! `cargo xtask test`: build, unit tests, then the end-to-end tests in network namespaces.

use std::time::Instant;

use anyhow::{bail, Result};

use crate::{build, own_service, setup};

/// Runs every test suite, prints a summary, fails if any suite failed.
pub fn run(netns_args: &[String]) -> Result<()> {
    setup::ensure()?;
    setup::mount_bpffs(false)?;
    let bin = build::run(true)?;
    let obj = build::ebpf_object();
    clean_stale("before");

    let mut results = Vec::new();
    // The rules first: formatting, and clippy with every warning an error (the workspace's
    // lints make undocumented `unsafe`, `unsafe` outside its modules and undocumented public
    // items of the library warnings or errors).
    let start = Instant::now();
    let mut fmt = build::user_cargo(&obj);
    fmt.args(["fmt", "--all", "--check"]);
    let fmt_ok = fmt.status().map(|s| s.success()).unwrap_or(false);
    let mut clippy = build::user_cargo(&obj);
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    let clippy_ok = clippy.status().map(|s| s.success()).unwrap_or(false);
    results.push((
        "cargo fmt --check, cargo clippy -D warnings",
        fmt_ok && clippy_ok,
        start.elapsed(),
    ));

    let start = Instant::now();
    let mut unit = build::user_cargo(&obj);
    unit.args(["test", "--workspace", "--exclude", "netns-tests"]);
    results.push((
        "unit tests",
        unit.status().map(|s| s.success()).unwrap_or(false),
        start.elapsed(),
    ));

    let start = Instant::now();
    let own = own_service::build_and_test(&obj);
    if let Err(e) = &own {
        eprintln!("test: the README's own service: {e:#}");
    }
    results.push((
        "README's own service (build, unit test)",
        own.is_ok(),
        start.elapsed(),
    ));

    let start = Instant::now();
    let mut e2e = build::user_cargo(&obj);
    if let Ok(own) = &own {
        e2e.env("XDPTCP_OWN_SERVICE_BIN", own);
    }
    e2e.args([
        "test",
        "--release",
        "--no-fail-fast",
        "-p",
        "netns-tests",
        "--",
        "--test-threads=1",
    ])
    .args(netns_args)
    .env("XDPTCP_BIN", &bin);
    results.push((
        "netns end-to-end tests",
        e2e.status().map(|s| s.success()).unwrap_or(false),
        start.elapsed(),
    ));
    clean_stale("after");

    println!("\n== test summary ==");
    for (name, ok, took) in &results {
        println!(
            "{} {name} ({:.1} s)",
            if *ok { "PASS" } else { "FAIL" },
            took.as_secs_f64()
        );
    }
    let failed: Vec<&str> = results.iter().filter(|r| !r.1).map(|r| r.0).collect();
    if !failed.is_empty() {
        bail!("failed: {}", failed.join(", "));
    }
    Ok(())
}

/// Removes namespaces/links left by earlier runs whose process is gone.
fn clean_stale(when: &str) {
    match netns_tests::cleanup_stale() {
        Ok(removed) if removed.is_empty() => {}
        Ok(removed) => println!("test: removed stale {} ({when})", removed.join(" ")),
        Err(e) => eprintln!("test: warning: stale cleanup {when}: {e:#}"),
    }
}
