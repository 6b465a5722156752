//! Test fixture (never shipped): the transport views the apps use, in one page the
//! end-to-end tests open in real Chromium.
//!
//! - `?role=scan` (default): the camera scanner (`ReceiveMessageView` over QR) decoding in
//!   the QR worker (`ops-qr-worker_loader.js`, built next to this page). `&trap-once`
//!   makes the worker trap on its first frame, `&hang-once` makes it hang (feature
//!   `test-hooks`).
//! - `?role=read`: installs the Web NFC test double and waits for a payment over NFC
//!   (`ReceiveMessageView`); `&nfc=off` leaves the double out (a browser without Web NFC).
//! - `?role=write&hex=…`: installs the double and writes that payment over NFC
//!   (`SendMessageView`).
//!
//! Test ids: `role`, `received-hex`, `received-bytes`, `transports`, `nfc-hidden`,
//! `write-bytes`, `written`, `bad-input`, plus those of the views.

use leptos::prelude::*;
use ops_transport::sim::from_hex;
use ops_transport::{Message, MessageKind, TransportKind};
use ops_transport_web::decoder::test_hooks;
use ops_transport_web::views::{ReceiveMessageView, SendMessageView, available_transports};
use wasm_bindgen::prelude::*;

/// The QR worker's loader script, relative to this page.
const WORKER_URL: &str = "ops-qr-worker_loader.js";

// The Web NFC test double of `ops-transport-web`'s tests (`ndef_double.js` here is a
// symbolic link to `crates/ops-transport-web/tests/ndef_double.js`).
#[wasm_bindgen(module = "/ndef_double.js")]
extern "C" {
    fn install_ndef_double();
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The page's query parameters.
struct Query(Option<web_sys::UrlSearchParams>);

impl Query {
    fn read() -> Self {
        Self(
            web_sys::window()
                .and_then(|w| w.location().search().ok())
                .and_then(|search| web_sys::UrlSearchParams::new_with_str(&search).ok()),
        )
    }

    fn get(&self, key: &str) -> Option<String> {
        self.0.as_ref().and_then(|params| params.get(key))
    }

    fn has(&self, key: &str) -> bool {
        self.0.as_ref().is_some_and(|params| params.has(key))
    }
}

/// What arrived: its bytes as hex and their count.
#[component]
fn Received(received: RwSignal<Option<Message>>) -> impl IntoView {
    view! {
        <p>"Received bytes: "<span data-testid="received-bytes">
            {move || received.get().map(|m| m.body.len().to_string()).unwrap_or_default()}
        </span></p>
        <pre data-testid="received-hex" style="white-space: pre-wrap; word-break: break-all;">
            {move || received.get().map(|m| to_hex(&m.body)).unwrap_or_default()}
        </pre>
    }
}

fn scan_page(trap_once: bool, hang_once: bool) -> impl IntoView {
    if trap_once {
        test_hooks::trap_next_worker_frame();
    }
    if hang_once {
        test_hooks::hang_next_worker_frame();
    }
    let received = RwSignal::new(None::<Message>);
    view! {
        <h1 data-testid="role">"scan"</h1>
        <ReceiveMessageView kind=MessageKind::Payment transport=TransportKind::Qr
            qr_worker=WORKER_URL on_message=move |m: Message| received.set(Some(m))/>
        <Received received/>
    }
}

fn transports_line() -> String {
    available_transports()
        .iter()
        .map(|t| match t {
            TransportKind::Qr => "qr",
            TransportKind::Nfc => "nfc",
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn read_page() -> impl IntoView {
    let received = RwSignal::new(None::<Message>);
    let nfc = available_transports().contains(&TransportKind::Nfc);
    view! {
        <h1 data-testid="role">"read"</h1>
        <p>"Transports: "<span data-testid="transports">{transports_line()}</span></p>
        {if nfc {
            view! {
                <ReceiveMessageView kind=MessageKind::Payment transport=TransportKind::Nfc
                    on_message=move |m: Message| received.set(Some(m))/>
            }
            .into_any()
        } else {
            view! { <p data-testid="nfc-hidden">"NFC is not offered: this browser has no Web NFC."</p> }
                .into_any()
        }}
        <Received received/>
    }
}

fn write_page(hex: Option<String>) -> impl IntoView {
    let Some(body) = hex.as_deref().and_then(from_hex).filter(|b| !b.is_empty()) else {
        return view! {
            <p data-testid="bad-input">"Give the payment as `?role=write&hex=…` (hex bytes)."</p>
        }
        .into_any();
    };
    let written = RwSignal::new(false);
    let bytes = body.len();
    let message = Message::new(MessageKind::Payment, body);
    view! {
        <h1 data-testid="role">"write"</h1>
        <p>"Transports: "<span data-testid="transports">{transports_line()}</span></p>
        <p>"Payment bytes: "<span data-testid="write-bytes">{bytes}</span></p>
        <SendMessageView message transport=TransportKind::Nfc on_sent=move |()| written.set(true)/>
        <Show when=move || written.get()>
            <p data-testid="written">"written"</p>
        </Show>
    }
    .into_any()
}

fn main() {
    let query = Query::read();
    let role = query.get("role").unwrap_or_else(|| "scan".to_owned());
    match role.as_str() {
        "read" => {
            if query.get("nfc").as_deref() != Some("off") {
                install_ndef_double();
            }
            leptos::mount::mount_to_body(read_page);
        }
        "write" => {
            install_ndef_double();
            let hex = query.get("hex");
            leptos::mount::mount_to_body(move || write_page(hex));
        }
        _ => {
            let (trap_once, hang_once) = (query.has("trap-once"), query.has("hang-once"));
            leptos::mount::mount_to_body(move || scan_page(trap_once, hang_once));
        }
    }
}
