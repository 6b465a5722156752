//! The wallet's first screen in real Chromium: render, click, keyboard.
#![cfg(target_arch = "wasm32")]

use ops_browser::testing::{by_test_id, click, fresh_root, press_key, text_of, wait_ms};
use ops_wallet::App;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn home_shows_balance_and_actions_and_navigates_by_click_and_keyboard() {
    let root = fresh_root().unwrap();
    let _mounted = leptos::mount::mount_to(root, App);
    wait_ms(50).await.unwrap();

    assert!(text_of("balance").contains("Available offline"));
    for (id, label) in [
        ("action-p", "Pay"),
        ("action-r", "Receive"),
        ("action-a", "Add money"),
        ("action-h", "Activity"),
    ] {
        assert!(
            text_of(id).starts_with(label),
            "{id} reads {:?}",
            text_of(id)
        );
    }

    click("action-p").await.unwrap();
    assert!(
        by_test_id("balance").is_none(),
        "the home screen is replaced"
    );
    // The screen reads where a payment stands once the wallet's storage is open.
    for _ in 0..100 {
        if text_of("detail").contains("Paying needs money") {
            break;
        }
        wait_ms(20).await.unwrap();
    }
    assert!(
        text_of("detail").contains("Paying needs money"),
        "{:?}",
        text_of("detail")
    );

    press_key("Escape").await.unwrap();
    assert!(by_test_id("balance").is_some(), "Escape returns home");

    press_key("a").await.unwrap();
    assert!(text_of("detail").contains("connection to your bank"));
    click("back").await.unwrap();
    assert!(by_test_id("balance").is_some());

    // The test server has no service worker: the user is told offline use is unavailable.
    wait_ms(200).await.unwrap();
    let problem = leptos::prelude::document()
        .query_selector(".banner.problem")
        .unwrap()
        .and_then(|el| el.text_content())
        .unwrap_or_default();
    assert!(
        problem.starts_with("Offline use is not available"),
        "got {problem:?}"
    );
    assert!(!text_of("storage-status").is_empty());
}
