//! The README's "Write your own service" example as a crate of its own, outside the
//! workspace: its `Cargo.toml` and `src/main.rs` are the README's code blocks (between
//! `<!-- own-service:FILE -->` markers), written to `/tmp/xdptcp-own-service/`, with the path
//! to `tcp-user` made absolute. `cargo xtask test` builds it, runs its unit test (the service
//! on the in-memory harness) and hands the binary to an end-to-end test, so the README's code
//! is known to compile and work as printed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::util::{run_status, target_dir, workspace_root};

/// The files of the example, as the README names them.
const FILES: [&str; 2] = ["Cargo.toml", "src/main.rs"];

/// The code block after `<!-- own-service:NAME -->` in `readme`.
pub fn block(readme: &str, name: &str) -> Result<String> {
    let marker = format!("<!-- own-service:{name} -->");
    let after = readme
        .split_once(&marker)
        .map(|(_, rest)| rest)
        .with_context(|| format!("README.md has no {marker}"))?;
    let fence = after
        .find("```")
        .with_context(|| format!("no code block after {marker}"))?;
    let body = &after[fence + 3..];
    let body = &body[body.find('\n').map(|i| i + 1).unwrap_or(0)..];
    let end = body
        .find("\n```")
        .with_context(|| format!("unterminated code block after {marker}"))?;
    Ok(body[..=end].to_string())
}

/// Writes the crate; returns its directory.
pub fn write_crate() -> Result<PathBuf> {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).context("reading README.md")?;
    // Outside the workspace's directory, as a user's crate would be.
    let dir = std::env::temp_dir().join("xdptcp-own-service");
    for file in FILES {
        let mut text = block(&readme, file)?;
        if file == "Cargo.toml" {
            let rel = "path = \"../xdptcp/tcp-user\"";
            if !text.contains(rel) {
                bail!("the README's Cargo.toml must depend on tcp-user with `{rel}`");
            }
            let abs = format!("path = \"{}\"", root.join("tcp-user").display());
            text = text.replace(rel, &abs);
        }
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().expect("a parent"))?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    // The workspace's versions, so the build reuses what the workspace built.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).context("copying Cargo.lock")?;
    Ok(dir)
}

/// Builds the crate (release) and runs its tests; returns the binary.
pub fn build_and_test(ebpf_obj: &Path) -> Result<PathBuf> {
    let dir = write_crate()?;
    println!("build: the README's own service ({})", dir.display());
    for args in [&["test", "--release"][..], &["build", "--release"][..]] {
        let mut cargo = crate::build::user_cargo(ebpf_obj);
        cargo
            .current_dir(&dir)
            .args(args)
            .arg("--manifest-path")
            .arg(dir.join("Cargo.toml"));
        run_status(&mut cargo, "the README's own service")?;
    }
    let bin = target_dir().join("release").join("shout");
    anyhow::ensure!(bin.is_file(), "no {}", bin.display());
    Ok(bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_holds_both_files_of_the_example() {
        let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
        let toml = block(&readme, "Cargo.toml").unwrap();
        assert!(toml.contains("[package]") && toml.contains("tcp-user"));
        let main = block(&readme, "src/main.rs").unwrap();
        assert!(main.contains("impl Service for") && main.contains("Runtime::builder()"));
        assert!(
            main.contains("#[test]"),
            "the example tests its service on the harness"
        );
    }

    #[test]
    fn a_block_ends_at_its_closing_fence() {
        let text = "x\n<!-- own-service:a -->\n```toml\nline 1\nline 2\n```\nafter\n";
        assert_eq!(block(text, "a").unwrap(), "line 1\nline 2\n");
        assert!(block(text, "b").is_err());
    }
}
