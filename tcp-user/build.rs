//! Embeds the XDP program built by `cargo xtask build`.
//!
//! The object comes from `XDPTCP_EBPF_OBJ` or the default path xtask builds to. When it is not
//! there, an empty placeholder is embedded so the user-space crates still build and unit-test
//! with plain `cargo`; the daemon then refuses to start with a message saying how to build it.
use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=XDPTCP_EBPF_OBJ");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let default = manifest.join("../target/bpf/bpfel-unknown-none/release/tcp-ebpf");
    let src = env::var_os("XDPTCP_EBPF_OBJ")
        .map(PathBuf::from)
        .unwrap_or(default);
    println!("cargo:rerun-if-changed={}", src.display());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("tcp-ebpf.o");
    match fs::read(&src) {
        Ok(bytes) => fs::write(&out, bytes).unwrap(),
        Err(_) => {
            println!(
                "cargo:warning=XDP program not found at {}; the daemon will not start (run `cargo xtask build`)",
                src.display()
            );
            fs::write(&out, []).unwrap();
        }
    }
}
