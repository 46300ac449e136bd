#![no_main]
//! See `fuzz/src/lib.rs` for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| rockerc_fuzz::template(data));
