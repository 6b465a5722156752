//! Every message decoder (dispatching on the type code): never panics, and whatever decodes
//! re-encodes to exactly the input (one encoding per value).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ops_core::msg::inspect(data) {
        assert_eq!(m.to_bytes(), data);
    }
});
