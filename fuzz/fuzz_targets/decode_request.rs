//! The payment-request decoder: never panics; whatever decodes re-encodes to the input;
//! and a fixed valid payment verified against the decoded request (as a wallet's POS would
//! hold it) never panics either, whatever the request says.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ops_core::ledger::NoHistory;
use ops_core::testing::{DAY, T0, World};
use ops_core::{P256Provider, Payment, PaymentRequest};

const NOW: u64 = T0 + DAY;

fn world() -> &'static (World, Payment) {
    static W: OnceLock<(World, Payment)> = OnceLock::new();
    W.get_or_init(|| {
        let mut w = World::new(3);
        w.publish_crls(NOW - 60, &[], &P256Provider);
        let (_, payment) = w.payment(2, 1_000, 250, NOW);
        (w, payment)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(request) = PaymentRequest::from_bytes(data) else {
        return;
    };
    assert_eq!(request.to_bytes(), data, "one encoding per request");
    let _ = request.hash();
    for held in &request.crls_held {
        let _ = request.crl_held(&held.issuer);
    }
    let (w, payment) = world();
    let known = w.pos_known();
    let _ = w
        .verifier(&known, &P256Provider)
        .verify_payment(&request, false, payment, &NoHistory, NOW);
});
