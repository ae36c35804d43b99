//! cargo-fuzz entry point; the body (and its contract) is `userql_fuzzing::router`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| userql_fuzzing::router(data));
