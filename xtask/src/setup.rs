//! `cargo xtask setup`: install what the project needs on a fresh Debian 12 machine.
//!
//! Two routes for the eBPF build (see the shared platform notes):
//! - Debian (default): `rustc-web` (LLVM 22) with the prebuilt `core` for bpfel-unknown-none
//!   from `libstd-rust-web-dev-bpf`, `RUSTC_BOOTSTRAP=1`.
//! - Nightly: a rustup nightly that has `rust-src` uses `-Z build-std=core`; the rustc-web
//!   packages are then not needed.
//!
//! Either way bpf-linker must be built against the LLVM major of the compiler used.

use std::{collections::BTreeMap, path::Path, process::Command};

use anyhow::{bail, Context, Result};

use crate::util::{llvm_major, output_of, run_status, which};

/// Debian packages needed on every route (the LLVM ones are added per route).
const PACKAGES: &[&str] = &[
    "libzstd-dev",
    "zlib1g-dev",
    "clang-19",
    "m4",
    "libelf-dev",
    "gcc",
    "make",
    "pkg-config",
    "ethtool",
    "tcpdump", // reads the captures of `xdptcp capture` in the end-to-end tests
    "iptables",
    "iproute2",
    "iputils-ping", // ping in the end-to-end tests and the demo
    "curl",
    "apache2-utils",
    "wrk",
    "python3",
    // The services' peers and their references (tests, demo, bench).
    "redis-server",
    "redis-tools",
    "haproxy",
    "nginx-light",
    "prometheus", // promtool: the metrics test checks our exposition text with it
];
/// Packages of the Debian eBPF route: rustc 1.96 with LLVM 22 and a prebuilt bpf `core`.
const DEBIAN_RUST: &[&str] = &["rustc-web", "libstd-rust-web-dev-bpf"];
/// LLVM major of rustc-web.
const DEBIAN_LLVM: u32 = 22;
/// The compiler of the Debian route.
pub const DEBIAN_RUSTC: &str = "/usr/bin/rustc";

/// How the eBPF crate is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// /usr/bin/rustc (rustc-web) + prebuilt core, RUSTC_BOOTSTRAP=1.
    Debian,
    /// `cargo +nightly -Z build-std=core`.
    Nightly { llvm: u32 },
}

impl Route {
    /// Nightly if rustup has a nightly with rust-src, else Debian.
    pub fn detect() -> Route {
        let has_src = output_of(
            "rustup",
            &["component", "list", "--toolchain", "nightly", "--installed"],
        )
        .is_some_and(|s| s.lines().any(|l| l.starts_with("rust-src")));
        if has_src {
            let llvm = output_of("rustup", &["run", "nightly", "rustc", "-vV"])
                .as_deref()
                .and_then(llvm_major);
            if let Some(llvm) = llvm {
                return Route::Nightly { llvm };
            }
        }
        Route::Debian
    }

    /// The LLVM major bpf-linker must be built for.
    pub fn llvm(self) -> u32 {
        match self {
            Route::Debian => DEBIAN_LLVM,
            Route::Nightly { llvm } => llvm,
        }
    }

    fn packages(self) -> Vec<String> {
        let llvm = self.llvm();
        let mut p: Vec<String> = PACKAGES.iter().map(|s| s.to_string()).collect();
        p.push(format!("llvm-{llvm}-dev"));
        p.push(format!("libpolly-{llvm}-dev"));
        if self == Route::Debian {
            p.extend(DEBIAN_RUST.iter().map(|s| s.to_string()));
        }
        p
    }
}

/// What is missing (cheap to compute: one dpkg-query, two version probes).
struct Plan {
    route: Route,
    packages: Vec<(String, bool)>,
    linker_ok: bool,
}

impl Plan {
    fn check() -> Plan {
        let route = Route::detect();
        let installed = installed_packages(&route.packages());
        let packages = route.packages().into_iter().map(|p| {
            let ok = installed.get(&p).copied().unwrap_or(false);
            (p, ok)
        });
        Plan {
            route,
            packages: packages.collect(),
            linker_ok: bpf_linker_llvm() == Some(route.llvm()),
        }
    }

    fn missing_packages(&self) -> Vec<&str> {
        self.packages
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(p, _)| p.as_str())
            .collect()
    }

    fn complete(&self) -> bool {
        self.missing_packages().is_empty() && self.linker_ok
    }
}

/// `cargo xtask setup`: every step, one line each.
pub fn run() -> Result<()> {
    require_root_and_apt()?;
    let plan = Plan::check();
    match plan.route {
        Route::Debian => {
            println!("setup: ebpf route: {DEBIAN_RUSTC} (rustc-web) + prebuilt core ok")
        }
        Route::Nightly { llvm } => {
            println!("setup: ebpf route: nightly + rust-src (LLVM {llvm}) ok")
        }
    }
    apply(&plan, true)?;
    mount_bpffs(true)
}

/// Runs setup only if a cheap check finds something missing (used by build/test/demo).
pub fn ensure() -> Result<Route> {
    let plan = Plan::check();
    if !plan.complete() {
        println!("setup: something is missing, running setup");
        require_root_and_apt()?;
        apply(&plan, false)?;
    } else {
        check_rustc_llvm(plan.route)?;
    }
    Ok(plan.route)
}

/// `/usr/sbin/policy-rc.d` forbidding service starts while packages install; removed on
/// drop (only if we created it).
struct NoServiceStart(bool);

const POLICY_RC: &str = "/usr/sbin/policy-rc.d";

impl NoServiceStart {
    fn install() -> NoServiceStart {
        if Path::new(POLICY_RC).exists() {
            return NoServiceStart(false);
        }
        let ok = std::fs::write(POLICY_RC, "#!/bin/sh\nexit 101\n").is_ok()
            && Command::new("chmod")
                .args(["755", POLICY_RC])
                .status()
                .is_ok_and(|s| s.success());
        NoServiceStart(ok)
    }
}

impl Drop for NoServiceStart {
    fn drop(&mut self) {
        if self.0 {
            let _ = std::fs::remove_file(POLICY_RC);
        }
    }
}

fn require_root_and_apt() -> Result<()> {
    if !crate::util::is_root() {
        bail!("setup needs root (it installs Debian packages): run it as root");
    }
    if which("apt-get").is_none() {
        bail!("setup needs apt-get (Debian 12): not found on PATH");
    }
    Ok(())
}

fn apply(plan: &Plan, verbose: bool) -> Result<()> {
    for (p, ok) in &plan.packages {
        if *ok && verbose {
            println!("setup: {p} ok");
        }
    }
    let missing = plan.missing_packages();
    if !missing.is_empty() {
        println!("installing {}", missing.join(" "));
        run_status(
            Command::new("apt-get").args(["update", "-q"]),
            "apt-get update",
        )?;
        // Servers among them (redis, nginx, haproxy) must not start as system services:
        // the tests and benchmarks start their own, in namespaces. A policy-rc.d that
        // answers 101 ("action forbidden") tells Debian's maintainer scripts so.
        let policy = NoServiceStart::install();
        let installed = run_status(
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
            "apt-get install",
        );
        drop(policy);
        installed?;
        println!("setup: packages ok");
    }
    check_rustc_llvm(plan.route)?;
    if verbose {
        println!("setup: rustc LLVM {} ok", plan.route.llvm());
    }
    if plan.linker_ok {
        if verbose {
            println!("setup: bpf-linker (LLVM {}) ok", plan.route.llvm());
        }
    } else {
        install_bpf_linker(plan.route.llvm())?;
    }
    Ok(())
}

/// The compiler that builds the eBPF crate must use the LLVM major bpf-linker is built for.
fn check_rustc_llvm(route: Route) -> Result<()> {
    if route != Route::Debian {
        return Ok(());
    }
    let vv = output_of(DEBIAN_RUSTC, &["-vV"])
        .with_context(|| format!("{DEBIAN_RUSTC} does not run (is rustc-web installed?)"))?;
    match llvm_major(&vv) {
        Some(DEBIAN_LLVM) => Ok(()),
        Some(m) => bail!(
            "{DEBIAN_RUSTC} uses LLVM {m}, but the eBPF build needs LLVM {DEBIAN_LLVM} \
             (rustc-web); install rustc-web or a nightly with rust-src"
        ),
        None => bail!("cannot read the LLVM version from `{DEBIAN_RUSTC} -vV`"),
    }
}

/// `name -> installed` for the given packages (`dpkg-query -W`).
fn installed_packages(packages: &[String]) -> BTreeMap<String, bool> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Package} ${Status}\n"])
        .args(packages)
        .output();
    let mut map = BTreeMap::new();
    if let Ok(out) = out {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((name, status)) = line.split_once(' ') {
                let name = name.split(':').next().unwrap_or(name); // strip ":amd64"
                map.insert(name.to_string(), status.trim() == "install ok installed");
            }
        }
    }
    map
}

/// The LLVM major the installed bpf-linker is built for, if it runs at all.
///
/// `bpf-linker --version` does not print it: read the `llvm-N` feature cargo recorded at
/// install time, else the libLLVM it links.
fn bpf_linker_llvm() -> Option<u32> {
    output_of("bpf-linker", &["--version"])?;
    let home = std::env::var_os("CARGO_HOME")
        .map(Into::into)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
    if let Some(major) = std::fs::read_to_string(Path::new(&home).join(".crates2.json"))
        .ok()
        .and_then(|text| installed_llvm_feature(&text))
    {
        return Some(major);
    }
    let path = which("bpf-linker")?;
    let ldd = output_of("ldd", &[path.to_str()?])?;
    let pos = ldd.find("libLLVM.so.")?;
    ldd[pos + 11..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .ok()
}

/// The `llvm-N` feature bpf-linker was installed with, from cargo's `.crates2.json`
/// (`{"installs": {"bpf-linker 0.9.15 (registry+...)": {"features": ["llvm-22"], ...}}}`).
fn installed_llvm_feature(crates2: &str) -> Option<u32> {
    let json: serde_json::Value = serde_json::from_str(crates2).ok()?;
    let (_, entry) = json["installs"]
        .as_object()?
        .iter()
        .find(|(name, _)| name.starts_with("bpf-linker "))?;
    entry["features"]
        .as_array()?
        .iter()
        .find_map(|f| f.as_str()?.strip_prefix("llvm-")?.parse().ok())
}

fn install_bpf_linker(llvm: u32) -> Result<()> {
    println!("installing bpf-linker (LLVM {llvm}, about a minute)");
    let prefix = format!("/usr/lib/llvm-{llvm}");
    if !Path::new(&prefix).join("bin/llvm-config").exists() {
        bail!("{prefix}/bin/llvm-config not found: is llvm-{llvm}-dev installed?");
    }
    let path = format!("{prefix}/bin:{}", std::env::var("PATH").unwrap_or_default());
    run_status(
        crate::util::clean_cargo(&crate::util::workspace_root())
            .args([
                "install",
                "--force",
                "bpf-linker",
                "--no-default-features",
                "--features",
            ])
            .arg(format!("llvm-{llvm}"))
            .env("LLVM_PREFIX", &prefix)
            .env("PATH", path),
        "cargo install bpf-linker",
    )?;
    if bpf_linker_llvm() != Some(llvm) {
        bail!(
            "bpf-linker installed but not found for LLVM {llvm} on PATH (is ~/.cargo/bin on PATH?)"
        );
    }
    println!("setup: bpf-linker (LLVM {llvm}) ok");
    Ok(())
}

/// Mounts bpffs at /sys/fs/bpf if it is not mounted (harmless; pinning needs it).
pub fn mount_bpffs(verbose: bool) -> Result<()> {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    if mounts
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("/sys/fs/bpf"))
    {
        if verbose {
            println!("setup: bpffs ok");
        }
        return Ok(());
    }
    println!("installing bpffs at /sys/fs/bpf");
    run_status(
        Command::new("mount").args(["-t", "bpf", "bpf", "/sys/fs/bpf"]),
        "mount bpffs",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_llvm_feature_is_read_from_cargos_install_record() {
        let crates2 = r#"{"installs":{"cargo-fuzz 0.13.2 (registry+x)":{"features":["llvm-9"]},
            "bpf-linker 0.13.0 (registry+x)":{"features":["llvm-22"],"no_default_features":true}}}"#;
        assert_eq!(installed_llvm_feature(crates2), Some(22));
        assert_eq!(installed_llvm_feature(r#"{"installs":{}}"#), None);
        assert_eq!(installed_llvm_feature("not json"), None);
    }
}
