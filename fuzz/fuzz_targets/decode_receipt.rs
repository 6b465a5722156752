//! The receipt decoder: never panics; whatever decodes re-encodes to the input, and its
//! signature check against the test world's POS certificate never panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ops_core::testing::World;
use ops_core::{P256Provider, Receipt};

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| World::new(1))
}

fuzz_target!(|data: &[u8]| {
    let Ok(receipt) = Receipt::from_bytes(data) else {
        return;
    };
    assert_eq!(receipt.to_bytes(), data, "one encoding per receipt");
    let _ = receipt.verify(&world().pos.cert, &P256Provider);
});
