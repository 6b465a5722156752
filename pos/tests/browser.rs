//! The POS keypad in real Chromium: buttons, physical keyboard, limits, charge.
#![cfg(target_arch = "wasm32")]

use ops_browser::testing::{by_test_id, click, fresh_root, press_key, text_of, wait_ms};
use ops_pos::App;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn keypad_builds_an_amount_and_charges_it() {
    let root = fresh_root().unwrap();
    let _mounted = leptos::mount::mount_to(root, App);
    wait_ms(50).await.unwrap();
    assert_eq!(text_of("amount"), "€0.00");

    for key in ["key-1", "key-2", "key-5"] {
        click(key).await.unwrap();
    }
    assert_eq!(text_of("amount"), "€1.25");

    press_key("9").await.unwrap();
    assert_eq!(text_of("amount"), "€12.59");
    press_key("Backspace").await.unwrap();
    assert_eq!(text_of("amount"), "€1.25");

    press_key("Enter").await.unwrap();
    assert!(text_of("requesting").contains("Ask the customer to pay €1.25"));
    assert!(
        by_test_id("key-1").is_none(),
        "the keypad is locked while requesting"
    );

    press_key("Escape").await.unwrap();
    assert!(by_test_id("requesting").is_none());
    assert!(by_test_id("key-1").is_some());
}

#[wasm_bindgen_test]
async fn refuses_an_empty_charge_and_amounts_over_the_limit() {
    let root = fresh_root().unwrap();
    let _mounted = leptos::mount::mount_to(root, App);
    wait_ms(50).await.unwrap();

    click("key-charge").await.unwrap();
    assert_eq!(text_of("keypad-message"), "Enter an amount first.");
    assert!(by_test_id("requesting").is_none());

    for _ in 0..7 {
        press_key("9").await.unwrap();
    }
    assert_eq!(text_of("amount"), "€99,999.99");
    click("key-00").await.unwrap();
    assert_eq!(text_of("amount"), "€99,999.99");
    assert!(
        text_of("keypad-message")
            .starts_with("The largest amount this terminal accepts is €99,999.99")
    );

    click("key-clear").await.unwrap();
    assert_eq!(text_of("amount"), "€0.00");
    assert_eq!(text_of("keypad-message"), "");
}
