//! `cargo xtask bench [ARGS...]`: builds the daemon and the benchmark tool (release), then runs
//! `xdptcp-bench run` with them. Extra arguments go to `xdptcp-bench run` (see its `--help`:
//! modes, duration, sizes, connections, cores, results folder).

use anyhow::{bail, Result};

use crate::{
    build,
    util::{run_status, target_dir, workspace_root},
};

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
    let mut cmd = std::process::Command::new(&tool);
    cmd.current_dir(workspace_root())
        .arg("run")
        .arg("--xdptcp-bin")
        .arg(&daemon)
        .args(args);
    let status = cmd.status()?;
    if !status.success() {
        bail!("xdptcp-bench exited with {status}: a server run failed (the results written are in the results folder)");
    }
    Ok(())
}
