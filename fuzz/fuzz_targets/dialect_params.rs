//! cargo-fuzz entry point; the body (and its contract) is `userql_fuzzing::dialect_params`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| userql_fuzzing::dialect_params(data));
