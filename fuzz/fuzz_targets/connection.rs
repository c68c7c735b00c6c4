//! `cargo +nightly fuzz run connection`: see `tcp_user::fuzzing::fuzz_connection`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tcp_user::fuzzing::fuzz_connection(data));
