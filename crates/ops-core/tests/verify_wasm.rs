//! Offline verification timed in headless Chromium (wasm, the p256 provider the apps use):
//! a 1-hop and a 3-hop payment, every certificate carried, nothing cached. A figure for
//! docs/PERFORMANCE.md, not a check: ignored by default and asserting nothing about time.
//! `cargo xtask bench` runs it in the release profile:
//! `cargo test --release --target wasm32-unknown-unknown -p ops-core --test verify_wasm -- --include-ignored --nocapture`
//! (with `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner`; Chromium's
//! flags are in this crate's webdriver.json). It prints `BENCH …` lines.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use ops_core::ledger::NoHistory;
use ops_core::testing::{DAY, T0, World};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Least time (ms) and count of timed verifications per figure.
const MIN_MS: f64 = 600.0;
const MIN_ITERATIONS: usize = 20;

#[wasm_bindgen_test]
#[ignore = "a benchmark: `cargo xtask bench` runs it"]
fn verification_time_in_the_browser() {
    let performance = web_sys::window().unwrap().performance().unwrap();
    let now = T0 + DAY;
    let mut world = World::new(3);
    world.publish_crls(now - 3600, &[], &ops_core::P256Provider);
    for hops in [1usize, 3] {
        let (request, payment) = world.payment(hops, 1_000, 250, now);
        let known = world.pos_known();
        let verifier = world.verifier(&known, &ops_core::P256Provider);
        let verify = || {
            verifier
                .verify_payment(&request, false, &payment, &NoHistory, now)
                .expect("the payment verifies");
        };
        for _ in 0..3 {
            verify();
        }
        let mut times = Vec::new();
        let started = performance.now();
        while times.len() < MIN_ITERATIONS || performance.now() - started < MIN_MS {
            let one = performance.now();
            verify();
            times.push(performance.now() - one);
        }
        times.sort_by(f64::total_cmp);
        let row = if hops == 1 { "1 hop" } else { "3 hops" };
        console_log!(
            "BENCH Verification of a payment | {row} | p256 wasm in Chromium | {:.4} ms",
            times[times.len() / 2]
        );
    }
}
