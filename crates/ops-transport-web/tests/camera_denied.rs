//! A refused camera permission gets a clear message (its own page: the double replaces
//! `getUserMedia` for the whole page).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failures should stop the test

use leptos::prelude::*;
use ops_browser::testing::{fresh_root, text_of, wait_ms};
use ops_transport::{Message, MessageKind, TransportKind};
use ops_transport_web::views::ReceiveMessageView;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/camera_double.js")]
extern "C" {
    fn deny_camera();
}

#[wasm_bindgen_test]
async fn a_denied_camera_is_explained() {
    deny_camera();
    let root = fresh_root().unwrap();
    let _mounted = leptos::mount::mount_to(root, move || {
        view! {
            <ReceiveMessageView kind=MessageKind::Payment transport=TransportKind::Qr
                on_message=move |_: Message| panic!("no camera, no message")/>
        }
    });
    for _ in 0..100 {
        if !text_of("scan-problem").is_empty() {
            break;
        }
        wait_ms(20).await.unwrap();
    }
    assert_eq!(
        text_of("scan-problem"),
        "Camera access was refused. Allow the camera for this site in the browser's settings, then try again."
    );
}
