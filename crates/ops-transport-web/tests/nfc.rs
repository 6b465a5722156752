//! NFC through the Web NFC test double: one page writes a payment, another reads it;
//! a message too big for the tag is refused with a clear error; abort stops a scan;
//! without `NDEFReader` the apps offer QR only.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failures should stop the test

use leptos::prelude::*;
use ops_browser::testing::{fresh_root, text_of, wait_ms};
use ops_transport::ndef::Tag;
use ops_transport::sim::{FAKE_CAMERA_PAYMENT_HEX, from_hex};
use ops_transport::{Message, MessageKind, SendOptions, TransportKind};
use ops_transport_web::nfc::{self, NfcError, WebNfc};
use ops_transport_web::views::{ReceiveMessageView, SendMessageView, available_transports};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/ndef_double.js")]
extern "C" {
    fn install_ndef_double();
    fn uninstall_ndef_double();
    fn virtual_tag_json() -> Option<String>;
    fn scanning_readers() -> u32;
}

fn payment() -> Message {
    Message::new(
        MessageKind::Payment,
        from_hex(FAKE_CAMERA_PAYMENT_HEX).unwrap(),
    )
}

/// Two "pages" (separately mounted apps) in two elements of the test page.
fn two_pages() -> (web_sys::HtmlElement, web_sys::HtmlElement) {
    let root = fresh_root().unwrap();
    let document = web_sys::window().unwrap().document().unwrap();
    let make = |id: &str| {
        let element: web_sys::HtmlElement =
            document.create_element("div").unwrap().unchecked_into();
        element.set_id(id);
        root.append_child(&element).unwrap();
        element
    };
    (make("writer-page"), make("reader-page"))
}

#[wasm_bindgen_test]
async fn one_page_writes_a_payment_another_reads_it() {
    install_ndef_double();
    assert!(nfc::is_supported());
    assert_eq!(
        available_transports(),
        vec![TransportKind::Qr, TransportKind::Nfc]
    );
    let (writer_page, reader_page) = two_pages();
    let received = RwSignal::new(None::<Message>);
    let _reader = leptos::mount::mount_to(reader_page, move || {
        view! {
            <ReceiveMessageView kind=MessageKind::Payment transport=TransportKind::Nfc
                on_message=move |m: Message| received.set(Some(m))/>
        }
    });
    wait_ms(50).await.unwrap();
    assert!(text_of("nfc-receive-status").contains("Hold the other device"));
    assert_eq!(scanning_readers(), 1);
    let _writer = leptos::mount::mount_to(writer_page, move || {
        view! { <SendMessageView message=payment() transport=TransportKind::Nfc/> }
    });
    for _ in 0..100 {
        if received.get_untracked().is_some() {
            break;
        }
        wait_ms(20).await.unwrap();
    }
    assert_eq!(
        received.get_untracked(),
        Some(payment()),
        "the reader page got the payment byte for byte"
    );
    assert_eq!(text_of("nfc-send-status"), "Written.");
    assert_eq!(text_of("nfc-receive-status"), "Received.");
    assert_eq!(
        scanning_readers(),
        0,
        "the reader stops scanning once it has the message"
    );
    let tag = virtual_tag_json().unwrap();
    assert!(tag.contains("application/vnd.ops.payment+cbor"), "{tag}");
    // A second reader, opened later, reads the tag already in the field.
    let again = WebNfc::default().read(MessageKind::Payment).await.unwrap();
    assert_eq!(again, payment());
}

#[wasm_bindgen_test]
async fn a_payment_too_big_for_the_tag_is_refused_clearly() {
    install_ndef_double();
    let root = fresh_root().unwrap();
    let options = SendOptions {
        tag: Tag::Ntag215,
        ..SendOptions::default()
    };
    let _page = leptos::mount::mount_to(root, move || {
        view! { <SendMessageView message=payment() transport=TransportKind::Nfc options/> }
    });
    wait_ms(50).await.unwrap();
    let status = text_of("nfc-send-status");
    assert!(
        status.contains("NTAG215") && status.contains("holds 504"),
        "{status}"
    );
    assert_eq!(virtual_tag_json(), None, "nothing was written");
}

#[wasm_bindgen_test]
async fn abort_ends_a_scan() {
    install_ndef_double();
    let nfc = std::rc::Rc::new(WebNfc::default());
    let scanner = std::rc::Rc::clone(&nfc);
    let outcome = std::rc::Rc::new(std::cell::RefCell::new(None));
    let slot = std::rc::Rc::clone(&outcome);
    wasm_bindgen_futures::spawn_local(async move {
        let result = scanner.read(MessageKind::Receipt).await;
        slot.replace(Some(result));
    });
    wait_ms(30).await.unwrap();
    assert_eq!(scanning_readers(), 1);
    nfc.abort();
    wait_ms(30).await.unwrap();
    assert_eq!(outcome.borrow().clone(), Some(Err(NfcError::Aborted)));
    assert_eq!(scanning_readers(), 0);
}

#[wasm_bindgen_test]
async fn without_ndef_reader_nfc_is_hidden_and_refused() {
    uninstall_ndef_double();
    assert!(!nfc::is_supported());
    assert_eq!(available_transports(), vec![TransportKind::Qr]);
    assert_eq!(
        WebNfc::default().write(&payment()).await,
        Err(NfcError::Unsupported)
    );
    install_ndef_double();
}
