//! The CRL decoder: never panics; whatever decodes re-encodes to the input; lookups work
//! on any decoded list, and adding it to a CRL store (signature check against the issuer
//! it names, or the first FI when it names none of the test world) never panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ops_core::crl_store::CrlStore;
use ops_core::testing::World;
use ops_core::{Crl, P256Provider};

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| World::new(1))
}

fuzz_target!(|data: &[u8]| {
    let Ok(crl) = Crl::from_bytes(data) else {
        return;
    };
    assert_eq!(crl.to_bytes(), data, "one encoding per CRL");
    for serial in crl.body.revoked.iter().take(4) {
        assert!(crl.body.is_revoked(*serial));
    }
    let _ = crl.body.is_revoked(u64::MAX);
    let w = world();
    let issuer = std::iter::once(&w.root)
        .chain(&w.fis)
        .find(|cert| cert.id() == crl.body.issuer)
        .unwrap_or(&w.fis[0]);
    let mut store = CrlStore::new();
    if let Ok(true) = store.insert(crl, issuer, &P256Provider) {
        assert!(store.get(&issuer.id()).is_some());
    }
});
