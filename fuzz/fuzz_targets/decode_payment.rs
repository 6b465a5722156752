//! The payment decoder, and offline verification of whatever decodes, against a fixed
//! test world: never panics; whatever decodes re-encodes to the input.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ops_core::ledger::NoHistory;
use ops_core::testing::{DAY, T0, World};
use ops_core::{P256Provider, Payment, PaymentRequest};

const NOW: u64 = T0 + DAY;

fn world() -> &'static (World, PaymentRequest) {
    static W: OnceLock<(World, PaymentRequest)> = OnceLock::new();
    W.get_or_init(|| {
        let mut w = World::new(3);
        w.publish_crls(NOW - 60, &[], &P256Provider);
        let (req, _) = w.payment(2, 1_000, 250, NOW);
        (w, req)
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Payment::from_bytes(data) {
        assert_eq!(p.to_bytes(), data);
        let (w, req) = world();
        let known = w.pos_known();
        let _ = w
            .verifier(&known, &P256Provider)
            .verify_payment(req, false, &p, &NoHistory, NOW);
    }
});
