//! Strict DER signature parsing: never panics; accepted input round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = ops_core::der::der_to_raw(data) {
        assert_eq!(ops_core::der::raw_to_der(&raw), data);
    }
});
