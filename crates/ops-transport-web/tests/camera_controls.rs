//! Camera controls the fake device lacks, through small doubles: a torch toggle where the
//! track has a torch, a camera selector when there are several cameras, and the hint shown
//! when the code holds another message type than the awaited one.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failures should stop the test

use leptos::prelude::*;
use ops_browser::testing::{by_test_id, click, fresh_root, text_of, wait_ms};
use ops_transport::{Message, MessageKind, TransportKind};
use ops_transport_web::views::ReceiveMessageView;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/camera_double.js")]
extern "C" {
    fn fake_torch();
    fn torch_calls() -> String;
    fn fake_second_camera();
}

async fn wait_for(what: &str, check: impl Fn() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        wait_ms(50).await.unwrap();
    }
    panic!("timed out waiting for {what}");
}

#[wasm_bindgen_test]
async fn torch_selector_and_wrong_kind_hint() {
    fake_torch();
    fake_second_camera();
    let root = fresh_root().unwrap();
    // The fake camera shows a payment; this scanner waits for a receipt.
    let _mounted = leptos::mount::mount_to(root, move || {
        view! {
            <ReceiveMessageView kind=MessageKind::Receipt transport=TransportKind::Qr
                on_message=move |_: Message| panic!("the video holds no receipt")/>
        }
    });
    wait_for("the wrong-kind hint", || !text_of("scan-hint").is_empty()).await;
    assert_eq!(
        text_of("scan-hint"),
        "This code holds a payment, but a receipt is expected."
    );

    wait_for("the torch toggle", || by_test_id("torch-toggle").is_some()).await;
    assert_eq!(text_of("torch-toggle"), "Torch on");
    click("torch-toggle").await.unwrap();
    assert_eq!(text_of("torch-toggle"), "Torch off");
    wait_for("the torch constraint", || torch_calls().contains("torch")).await;
    assert!(
        torch_calls().contains(r#"{\"advanced\":[{\"torch\":true}]}"#),
        "{}",
        torch_calls()
    );

    wait_for("the camera selector", || {
        by_test_id("camera-select").is_some()
    })
    .await;
    let select: web_sys::HtmlSelectElement = by_test_id("camera-select").unwrap().unchecked_into();
    assert_eq!(select.length(), 2);
    select.set_value("second-camera");
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    wait_for("the no-camera message", || {
        !text_of("scan-problem").is_empty()
    })
    .await;
    assert_eq!(
        text_of("scan-problem"),
        "No camera was found. Connect a camera, or use NFC instead."
    );
}
