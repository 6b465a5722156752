//! The payment decoder and the verifier on decoded payments: never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = ops_core::Payment::from_bytes(data) {
        assert_eq!(p.to_bytes(), data);
        for c in &p.chains {
            let _ = c.issuance.note_id();
            for s in &c.spends {
                let _ = s.id();
            }
        }
    }
});
