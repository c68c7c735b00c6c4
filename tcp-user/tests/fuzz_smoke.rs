//! The fuzz targets of `tcp_user::fuzzing`, run on stable for a bounded time: every file
//! of the seed corpus in `fuzz/corpus/<target>/`, then a fixed number of deterministic
//! mutations of them (xorshift with fixed seeds, so a failure reproduces exactly).
//!
//! Longer runs use cargo-fuzz on nightly (see `fuzz/README.md`). A failing input printed
//! here can be replayed with `FUZZ_REPRO=<hex> cargo test --test fuzz_smoke repro`.
//!
//! `FUZZ_ITERS` overrides the number of mutations per target (default 20,000).
//! The seed corpus itself is written by `regenerate_seed_corpus` (ignored; run it
//! explicitly after changing the script format of `fuzz_connection`).

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use tcp_user::fuzzing::{fuzz_connection, fuzz_filter, fuzz_frame, fuzz_table};

type Target = fn(&[u8]);

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| fs::read(p).expect("read corpus file"))
        .collect()
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `target` on `input`; on a panic, prints the input in hex and fails the test.
fn run_one(name: &str, target: Target, input: &[u8], what: &str) {
    if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
        panic!(
            "fuzz target `{name}` failed on {what}; reproduce with\n  \
             FUZZ_REPRO={} FUZZ_TARGET={name} cargo test -p tcp-user --no-default-features \
             --test fuzz_smoke repro -- --nocapture",
            hex(input)
        );
    }
}

/// Xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four libFuzzer-style mutations of `input`, with `other` for splicing.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8], max_len: usize) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(9) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            2 if !v.is_empty() => {
                const INTERESTING: [u8; 8] = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 5, 40];
                let i = rng.below(v.len());
                v[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            3 => {
                let i = rng.below(v.len() + 1);
                let n = 1 + rng.below(8);
                for _ in 0..n {
                    v.insert(i, rng.next() as u8);
                }
            }
            4 if !v.is_empty() => {
                let i = rng.below(v.len());
                let n = (1 + rng.below(8)).min(v.len() - i);
                v.drain(i..i + n);
            }
            5 if !v.is_empty() => v.truncate(rng.below(v.len())),
            6 if !other.is_empty() => {
                // Splice: our head, their tail.
                let cut = rng.below(v.len() + 1);
                let from = rng.below(other.len());
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            7 if v.len() >= 2 => {
                // Arithmetic on a big-endian 16-bit field (lengths, ports, windows).
                let i = rng.below(v.len() - 1);
                let x = u16::from_be_bytes([v[i], v[i + 1]]);
                let d = rng.below(33) as u16;
                let y = if rng.next() & 1 == 0 {
                    x.wrapping_add(d)
                } else {
                    x.wrapping_sub(d)
                };
                v[i..i + 2].copy_from_slice(&y.to_be_bytes());
            }
            _ => {
                // Duplicate a chunk (repeats script operations).
                if !v.is_empty() {
                    let i = rng.below(v.len());
                    let n = (1 + rng.below(32)).min(v.len() - i);
                    let chunk = v[i..i + n].to_vec();
                    let at = rng.below(v.len() + 1);
                    v.splice(at..at, chunk);
                }
            }
        }
    }
    v.truncate(max_len);
    v
}

fn iterations() -> usize {
    std::env::var("FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}

/// Replays the corpus, then mutates it `iterations()` times from `seed`.
fn smoke(name: &str, target: Target, seed: u64, max_len: usize) {
    let seeds = corpus(name);
    assert!(!seeds.is_empty(), "empty corpus for {name}");
    for (i, input) in seeds.iter().enumerate() {
        run_one(name, target, input, &format!("corpus file #{i}"));
    }
    let mut rng = Rng(seed);
    // Mutated inputs that reached further are kept as parents, like a (very) small
    // coverage-less fuzzer; the pool is bounded.
    let mut pool = seeds.clone();
    for i in 0..iterations() {
        let a = rng.below(pool.len());
        let b = rng.below(pool.len());
        let input = mutate(&mut rng, &pool[a], &pool[b], max_len);
        run_one(
            name,
            target,
            &input,
            &format!("mutation #{i} (seed {seed:#x})"),
        );
        if i % 16 == 0 && pool.len() < 4 * seeds.len() {
            pool.push(input);
        }
    }
}

#[test]
fn frame_parser_survives_corpus_and_mutations() {
    smoke("frame", fuzz_frame, 0x9e37_79b9_7f4a_7c15, 2048);
}

#[test]
fn filter_survives_corpus_and_mutations() {
    smoke("filter", fuzz_filter, 0x2545_f491_4f6c_dd1d, 4096);
}

#[test]
fn connection_survives_corpus_and_mutations() {
    smoke("connection", fuzz_connection, 0xd1b5_4a32_d192_ed03, 1024);
}

#[test]
fn table_survives_corpus_and_mutations() {
    smoke("table", fuzz_table, 0x8cb9_2ba7_2f3d_8dd7, 1024);
}

/// A tool, not a test: replays one input given in hex by `FUZZ_REPRO` through
/// `FUZZ_TARGET` (default: all), e.g.
/// `FUZZ_REPRO=07ff.. FUZZ_TARGET=connection cargo test --test fuzz_smoke repro -- --ignored`.
#[test]
#[ignore = "a replay tool: set FUZZ_REPRO and run with --ignored"]
fn repro() {
    let hex =
        std::env::var("FUZZ_REPRO").expect("FUZZ_REPRO must hold the input to replay, in hex");
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    let target = std::env::var("FUZZ_TARGET").unwrap_or_default();
    if target.is_empty() || target == "frame" {
        fuzz_frame(&bytes);
    }
    if target.is_empty() || target == "connection" {
        fuzz_connection(&bytes);
    }
    if target.is_empty() || target == "table" {
        fuzz_table(&bytes);
    }
    if target.is_empty() || target == "filter" {
        fuzz_filter(&bytes);
    }
}

// ---------------------------------------------------------------------------------------
// Seed corpus generator (run once; the files are committed)
// ---------------------------------------------------------------------------------------

#[path = "fuzz_smoke/seeds.rs"]
mod seeds;

#[test]
#[ignore = "writes fuzz/corpus/*/seed-*; run explicitly to regenerate"]
fn regenerate_seed_corpus() {
    for (target, inputs) in [
        ("frame", seeds::frames()),
        ("connection", seeds::connection_scripts()),
        ("table", seeds::table_scripts()),
    ] {
        let dir = corpus_dir(target);
        fs::create_dir_all(&dir).expect("create corpus dir");
        for entry in fs::read_dir(&dir).expect("read corpus dir") {
            let p = entry.expect("entry").path();
            if p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seed-"))
            {
                fs::remove_file(p).expect("remove old seed");
            }
        }
        for (name, bytes) in inputs {
            fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
        }
    }
}
