//! Where the browser has `BarcodeDetector` (Android Chrome, macOS), the scanner uses it
//! instead of rqrr. Linux Chromium has none, so a test double stands in; the fake camera
//! (see webdriver.json) still provides the video the samples are taken from.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failures should stop the test

use leptos::prelude::*;
use ops_browser::testing::{by_test_id, fresh_root, text_of, wait_ms};
use ops_transport::sim::sample_body;
use ops_transport::{AnimatedEncoder, Message, MessageKind, Preset, TransportKind};
use ops_transport_web::scanner::has_barcode_detector;
use ops_transport_web::views::ReceiveMessageView;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/barcode_double.js")]
extern "C" {
    fn install_barcode_double(texts_json: &str);
    fn barcode_calls() -> u32;
}

#[wasm_bindgen_test]
async fn the_scanner_uses_barcode_detector_where_it_exists() {
    let message = Message::new(MessageKind::Payment, sample_body(1600, 21));
    let encoder = AnimatedEncoder::new(&message, Preset::DEFAULT).unwrap();
    // Repair frames only, with a foreign code in between: any K frames rebuild it.
    let mut texts: Vec<String> = (10..20).map(|i| encoder.frame_text(i)).collect();
    texts.insert(3, "HTTPS://EXAMPLE.ORG/".to_owned());
    // Frame texts are base45 (no quote or backslash), so plain joining is valid JSON.
    install_barcode_double(&format!("[\"{}\"]", texts.join("\",\"")));
    assert!(has_barcode_detector());

    let root = fresh_root().unwrap();
    let received = RwSignal::new(None::<Message>);
    let _mounted = leptos::mount::mount_to(root, move || {
        view! {
            <ReceiveMessageView kind=MessageKind::Payment transport=TransportKind::Qr
                on_message=move |m: Message| received.set(Some(m))/>
        }
    });
    for _ in 0..400 {
        if received.get_untracked().is_some() {
            break;
        }
        let problem = text_of("scan-problem");
        assert!(problem.is_empty(), "camera problem: {problem}");
        wait_ms(50).await.unwrap();
    }
    assert_eq!(received.get_untracked(), Some(message));
    assert!(
        barcode_calls() >= 7,
        "BarcodeDetector decoded the samples ({} calls)",
        barcode_calls()
    );
    let frames = by_test_id("scanner")
        .unwrap()
        .get_attribute("data-decode-frames")
        .unwrap();
    assert_eq!(frames.parse::<u32>().unwrap(), barcode_calls());
}
