//! The browser adapters against real Chromium (run by `cargo xtask test`).
#![cfg(target_arch = "wasm32")]

use ops_browser::storage::{Persistence, request_persistence};
use ops_browser::{BrowserError, connectivity, service_worker};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn persistence_request_gets_an_answer() {
    let state = request_persistence()
        .await
        .expect("Chromium has the Storage API");
    assert_ne!(state, Persistence::Unsupported);
}

#[wasm_bindgen_test]
async fn a_missing_worker_script_is_reported_not_swallowed() {
    // The test server has no sw.js: registration must fail with the browser's reason.
    let result = service_worker::register(|| {}).await;
    match result {
        Err(BrowserError::Js(message)) => assert!(!message.is_empty()),
        other => panic!("expected a registration error, got {other:?}"),
    }
    assert!(!service_worker::is_controlled());
}

#[wasm_bindgen_test]
fn the_test_browser_is_online() {
    assert!(connectivity::is_online());
}

#[wasm_bindgen_test]
async fn apply_update_without_a_registration_explains_itself() {
    let error = service_worker::apply_update()
        .await
        .expect_err("nothing is registered");
    assert!(error.to_string().contains("service worker") || error.to_string().contains("version"));
}
