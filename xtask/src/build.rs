//! `cargo xtask build [--release]`: the XDP program, then the daemon embedding it and the
//! example services (`kv`, `proxy`) built on the same library.

use std::path::PathBuf;

use anyhow::Result;

use crate::{
    setup::{self, Route, DEBIAN_RUSTC},
    util::{clean_cargo, run_status, target_dir, workspace_root},
};

/// Builds everything; returns the daemon's path (`target/<profile>/xdptcp`).
pub fn run(release: bool) -> Result<PathBuf> {
    let route = setup::ensure()?;
    let obj = build_ebpf(route)?;
    build_daemon(release, &obj)
}

/// The eBPF object built by [`build_ebpf`].
pub fn ebpf_object() -> PathBuf {
    target_dir().join("bpf/bpfel-unknown-none/release/tcp-ebpf")
}

/// Builds tcp-ebpf (its own workspace) for bpfel-unknown-none, always release.
fn build_ebpf(route: Route) -> Result<PathBuf> {
    println!("build: tcp-ebpf (bpfel-unknown-none, release)");
    let mut cargo = clean_cargo(&workspace_root().join("tcp-ebpf"));
    match route {
        Route::Debian => {
            cargo.env("RUSTC", DEBIAN_RUSTC).env("RUSTC_BOOTSTRAP", "1");
            cargo.args(["build", "--release", "--target", "bpfel-unknown-none"]);
        }
        Route::Nightly { .. } => {
            cargo.args(["+nightly", "build", "-Z", "build-std=core", "--release"]);
            cargo.args(["--target", "bpfel-unknown-none"]);
        }
    }
    cargo
        .env("CARGO_TARGET_BPFEL_UNKNOWN_NONE_LINKER", "bpf-linker")
        .env("CARGO_TARGET_DIR", target_dir().join("bpf"));
    run_status(&mut cargo, "eBPF build")?;
    let obj = ebpf_object();
    anyhow::ensure!(obj.is_file(), "eBPF build produced no {}", obj.display());
    Ok(obj)
}

/// The example services built beside the daemon (`target/<profile>/examples/<name>`).
pub const EXAMPLES: [&str; 2] = ["kv", "proxy"];

/// Builds the `xdptcp` binary of tcp-user and its example services, embedding `obj`.
fn build_daemon(release: bool, obj: &std::path::Path) -> Result<PathBuf> {
    let profile = if release { "release" } else { "debug" };
    println!(
        "build: xdptcp and examples {} ({profile})",
        EXAMPLES.join(", ")
    );
    let mut cargo = user_cargo(obj);
    cargo.args(["build", "-p", "tcp-user", "--bin", "xdptcp"]);
    for example in EXAMPLES {
        cargo.args(["--example", example]);
    }
    if release {
        cargo.arg("--release");
    }
    run_status(&mut cargo, "daemon build")?;
    let bin = target_dir().join(profile).join("xdptcp");
    anyhow::ensure!(bin.is_file(), "daemon build produced no {}", bin.display());
    for example in EXAMPLES {
        let path = example_path(&bin, example);
        anyhow::ensure!(path.is_file(), "build produced no {}", path.display());
    }
    println!("build: {} ok", bin.display());
    Ok(bin)
}

/// Where the example `name` is, next to the daemon `bin`.
pub fn example_path(bin: &std::path::Path, name: &str) -> PathBuf {
    bin.parent()
        .expect("the daemon is in a directory")
        .join("examples")
        .join(name)
}

/// A clean `cargo` for the user-space workspace, with what the datapath build needs.
pub fn user_cargo(obj: &std::path::Path) -> std::process::Command {
    let mut cargo = clean_cargo(&workspace_root());
    cargo
        .env("CARGO_TARGET_DIR", target_dir())
        .env("XDPTCP_EBPF_OBJ", obj)
        .env("CLANG", "clang-19")
        .env("XSK_LIBXDP_FLAGS_INHIBIT_PROG_LOAD", "1");
    cargo
}
