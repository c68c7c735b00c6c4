//! `cargo +nightly fuzz run filter`: see `tcp_user::fuzzing::fuzz_filter`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tcp_user::fuzzing::fuzz_filter(data));
