//! The QR player and the camera scanner in real Chromium. The camera is Chromium's fake
//! device playing `/tmp/ops-fake-camera/payment.y4m` (see webdriver.json), written by
//! `cargo run -p ops-transport --example fake_camera` (a step of `cargo xtask test`):
//! the 3-hop payment test vector as animated frames, some dropped on purpose.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failures should stop the test

use leptos::prelude::*;
use ops_browser::testing::{by_test_id, fresh_root, text_of, wait_ms};
use ops_transport::qr::{decode_luma, rgba_to_luma};
use ops_transport::sim::{FAKE_CAMERA_PAYMENT_HEX, from_hex, sample_body};
use ops_transport::{
    AnimatedDecoder, Limits, Message, MessageKind, Preset, ScanStatus, TransportKind,
};
use ops_transport_web::player::AnimatedQr;
use ops_transport_web::scanner::QrScanner;
use ops_transport_web::views::{ReceiveMessageView, SendMessageView};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn log(text: &str) {
    web_sys::console::log_1(&text.into());
}

#[wasm_bindgen_test]
async fn the_fake_camera_payment_is_scanned_byte_for_byte() {
    let expected = Message::new(
        MessageKind::Payment,
        from_hex(FAKE_CAMERA_PAYMENT_HEX).unwrap(),
    );
    let root = fresh_root().unwrap();
    let received = RwSignal::new(None::<Message>);
    let _mounted = leptos::mount::mount_to(root, move || {
        // Through the interface the apps use: "receive a message of this type" over QR.
        view! {
            <ReceiveMessageView kind=MessageKind::Payment transport=TransportKind::Qr
                on_message=move |m: Message| received.set(Some(m))/>
        }
    });
    let mut best_percent = String::new();
    for _ in 0..600 {
        if received.get_untracked().is_some() {
            break;
        }
        let problem = text_of("scan-problem");
        assert!(
            problem.is_empty(),
            "camera problem: {problem} (is /tmp/ops-fake-camera/payment.y4m there? \
             `cargo run -p ops-transport --example fake_camera` writes it)"
        );
        let percent = text_of("scan-percent");
        if !percent.is_empty() {
            best_percent = percent;
        }
        wait_ms(50).await.unwrap();
    }
    let scanner = by_test_id("scanner").unwrap();
    let attr = |name: &str| scanner.get_attribute(name).unwrap_or_default();
    let report = format!(
        "fake camera: wasm QR decode per 640x480 frame in Chromium: mean {} ms, max {} ms over {} frames",
        attr("data-decode-mean-ms"),
        attr("data-decode-max-ms"),
        attr("data-decode-frames")
    );
    log(&report);
    let got = received.get_untracked();
    assert!(
        got.is_some(),
        "no payment after 30 s; last progress {best_percent}; {report}; if the payment vector \
         changed, rewrite the video: `cargo run -p ops-transport --example fake_camera`"
    );
    assert_eq!(got, Some(expected));
    assert_eq!(text_of("scan-done"), "Received.");
    // No worker URL given (this runner cannot serve a worker bundle): rqrr in the page.
    assert_eq!(attr("data-decoder"), "in-page");
    assert_ne!(attr("data-in-page-frames"), "0");
    assert_eq!(attr("data-worker-frames"), "0");
    assert!(
        best_percent.trim().ends_with('%'),
        "a progress bar was shown while collecting, got {best_percent:?}"
    );
}

#[wasm_bindgen_test]
async fn the_player_shows_frames_a_camera_can_read() {
    let message = Message::new(MessageKind::Payment, sample_body(1600, 11));
    let shown = message.clone();
    let root = fresh_root().unwrap();
    let _mounted = leptos::mount::mount_to(root, move || {
        // Through the interface the apps use: "send this message" over QR.
        view! { <SendMessageView message=shown.clone() transport=TransportKind::Qr/> }
    });
    let mut decoder = AnimatedDecoder::expecting(MessageKind::Payment, Limits::DEFAULT);
    let mut frames_seen = std::collections::BTreeSet::new();
    let mut done = None;
    for _ in 0..200 {
        wait_ms(40).await.unwrap();
        let canvas: web_sys::HtmlCanvasElement = by_test_id("qr-canvas").unwrap().unchecked_into();
        frames_seen.insert(canvas.get_attribute("data-frame").unwrap_or_default());
        let (width, height) = (canvas.width(), canvas.height());
        assert!(
            width >= 280,
            "the code is at least 280 px wide, got {width}"
        );
        let context: web_sys::CanvasRenderingContext2d =
            canvas.get_context("2d").unwrap().unwrap().unchecked_into();
        let image = context
            .get_image_data(0.0, 0.0, f64::from(width), f64::from(height))
            .unwrap();
        // The quiet zone: the first 4 modules of every side are white.
        assert!(image.data()[..4 * 4 * 4].iter().all(|&v| v == 255));
        let luma = rgba_to_luma(&image.data());
        for text in decode_luma(width as usize, height as usize, &luma).unwrap() {
            if let Ok(ScanStatus::Complete(m)) = decoder.receive(&text) {
                done = Some(m);
            }
        }
        if done.is_some() {
            break;
        }
    }
    assert_eq!(done, Some(message));
    assert!(frames_seen.len() >= 3, "the code animates: {frames_seen:?}");
}

#[wasm_bindgen_test]
async fn a_static_code_for_a_small_request() {
    let root = fresh_root().unwrap();
    let request = Message::new(MessageKind::PaymentRequest, vec![7u8; 69]);
    let _mounted = leptos::mount::mount_to(
        root,
        move || view! { <AnimatedQr message=request.clone()/> },
    );
    wait_ms(300).await.unwrap();
    let canvas = by_test_id("qr-canvas").unwrap();
    assert_eq!(canvas.get_attribute("data-frame").as_deref(), Some("0"));
    assert!(text_of("qr-player").contains("Scan this code"));
}

#[wasm_bindgen_test]
async fn wasm_decode_time_of_a_640x480_frame() {
    // A synthetic 640x480 camera frame with a default-preset code, decoded 20 times.
    let message = Message::new(MessageKind::Payment, sample_body(1600, 5));
    let texts = ops_transport::sim::fake_camera_texts(&message, Preset::DEFAULT).unwrap();
    let video =
        ops_transport::y4m::render(&texts[..1], ops_transport::y4m::VideoSpec::default()).unwrap();
    let (width, height, frames) = ops_transport::y4m::luma_frames(&video).unwrap();
    let performance = web_sys::window().unwrap().performance().unwrap();
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = performance.now();
        let found = decode_luma(width, height, frames[0]).unwrap();
        times.push(performance.now() - started);
        assert_eq!(found, vec![texts[0].clone()]);
    }
    times.sort_by(f64::total_cmp);
    log(&format!(
        "synthetic: wasm QR decode per 640x480 frame in Chromium: median {:.1} ms, min {:.1} ms, max {:.1} ms (debug build: {})",
        times[10],
        times[0],
        times[19],
        cfg!(debug_assertions)
    ));
}

#[wasm_bindgen_test]
async fn a_missing_camera_is_explained() {
    let root = fresh_root().unwrap();
    let _mounted = leptos::mount::mount_to(root, move || {
        view! {
            <QrScanner kind=MessageKind::Payment camera="no-such-camera".to_owned()
                on_message=move |_: Message| panic!("nothing to receive")/>
        }
    });
    for _ in 0..100 {
        if !text_of("scan-problem").is_empty() {
            break;
        }
        wait_ms(50).await.unwrap();
    }
    assert_eq!(
        text_of("scan-problem"),
        "No camera was found. Connect a camera, or use NFC instead."
    );
}

#[wasm_bindgen_test]
async fn a_worker_that_cannot_start_gives_way_to_the_in_page_decoder() {
    // The worker script does not exist: each start fails (an `error` event, no `ready`);
    // after three failed starts the scanner decodes in the page and still completes.
    let expected = Message::new(
        MessageKind::Payment,
        from_hex(FAKE_CAMERA_PAYMENT_HEX).unwrap(),
    );
    let root = fresh_root().unwrap();
    let received = RwSignal::new(None::<Message>);
    let _mounted = leptos::mount::mount_to(root, move || {
        view! {
            <QrScanner kind=MessageKind::Payment worker="/no-such-worker_loader.js"
                on_message=move |m: Message| received.set(Some(m))/>
        }
    });
    for _ in 0..600 {
        if received.get_untracked().is_some() {
            break;
        }
        wait_ms(50).await.unwrap();
    }
    let scanner = by_test_id("scanner").unwrap();
    let attr = |name: &str| scanner.get_attribute(name).unwrap_or_default();
    let counts = format!(
        "decoder {}, failed starts {}, in-page frames {}, worker frames {}",
        attr("data-decoder"),
        attr("data-worker-failed-starts"),
        attr("data-in-page-frames"),
        attr("data-worker-frames")
    );
    assert_eq!(received.get_untracked(), Some(expected), "{counts}");
    assert_eq!(attr("data-decoder"), "in-page", "{counts}");
    assert_eq!(attr("data-worker-failed-starts"), "3", "{counts}");
    assert_eq!(attr("data-worker-frames"), "0", "{counts}");
    assert!(text_of("scan-hint").is_empty(), "{}", text_of("scan-hint"));
}
