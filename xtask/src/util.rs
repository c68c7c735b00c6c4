//! Paths and command helpers shared by the tasks.

use std::{
    env,
    ffi::OsStr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{bail, Context, Result};

/// The workspace root (the parent of xtask/).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The target directory: `CARGO_TARGET_DIR` if the user set one, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => workspace_root().join(d),
        _ => workspace_root().join("target"),
    }
}

/// Variables cargo sets for the program it runs (or that a parent build may have set) and
/// that would change what an inner cargo does: compiler, wrappers, flags, toolchain.
fn is_inherited_build_var(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "CARGO",
        "RUSTC",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_BOOTSTRAP",
        "RUSTC_LINKER",
        "RUSTDOC",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTUP_TOOLCHAIN",
        "OUT_DIR",
    ];
    EXACT.contains(&name) || (name.starts_with("CARGO_") && name != "CARGO_HOME")
}

/// `cargo` in `dir`, with the outer run's build variables removed.
pub fn clean_cargo(dir: &Path) -> Command {
    let mut c = Command::new("cargo");
    c.current_dir(dir);
    for (name, _) in env::vars_os() {
        if name.to_str().is_some_and(is_inherited_build_var) {
            c.env_remove(&name);
        }
    }
    c
}

/// Runs `cmd` with inherited stdio; fails with `what` if it does not exit 0.
pub fn run_status(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {:?} ({what})", cmd.get_program()))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Runs a program and returns its stdout if it exits 0 (None if it is missing or fails).
pub fn output_of(prog: impl AsRef<OsStr>, args: &[&str]) -> Option<String> {
    let out = Command::new(prog)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The directory holding `prog` on PATH, if any.
pub fn which(prog: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// True when running as root (effective uid 0).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Uid:"))?.to_string();
            line.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

/// The LLVM major version in `rustc -vV` output (`LLVM version: 22.1.8`).
pub fn llvm_major(rustc_vv: &str) -> Option<u32> {
    let v = rustc_vv
        .lines()
        .find_map(|l| l.strip_prefix("LLVM version: "))?;
    v.split('.').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_llvm_major() {
        assert_eq!(llvm_major("rustc 1.96.0\nLLVM version: 22.1.8\n"), Some(22));
        assert_eq!(llvm_major("rustc 1.96.0\n"), None);
    }

    #[test]
    fn scrubs_outer_build_vars_only() {
        assert!(is_inherited_build_var("RUSTC"));
        assert!(is_inherited_build_var("CARGO_MANIFEST_DIR"));
        assert!(is_inherited_build_var("CARGO_TARGET_DIR"));
        assert!(!is_inherited_build_var("CARGO_HOME"));
        assert!(!is_inherited_build_var("PATH"));
        assert!(!is_inherited_build_var("CLANG"));
    }
}
