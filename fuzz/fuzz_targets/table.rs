//! `cargo +nightly fuzz run table`: see `tcp_user::fuzzing::fuzz_table`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tcp_user::fuzzing::fuzz_table(data));
