//! `cargo +nightly fuzz run frame`: see `tcp_user::fuzzing::fuzz_frame`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tcp_user::fuzzing::fuzz_frame(data));
