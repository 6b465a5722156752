//! Carrying a request, a payment or a receipt between devices: in through the camera, an
//! NFC tag, pasted text or a file; out as an animated QR code, an NFC write, text to copy
//! or a file to share. The formats and the QR/NFC machinery live in `ops-transport` and
//! `ops-transport-web`; these components only choose among them.

use crate::nfc;
use crate::scanner::QrScanner;
use crate::views::{ReceiveMessageView, SendMessageView};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ops_transport::{Message, MessageKind, Preset, SendOptions, TransportKind};
use wasm_bindgen::JsCast;

/// The QR decoder worker's loader, shipped next to each app (the wallet's `index.html`
/// builds it; `cargo xtask build` copies it beside the POS) and precached by its service
/// worker.
pub const QR_WORKER: &str = "ops-qr-worker_loader.js";

/// Where incoming bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The camera (animated or static QR code).
    Camera,
    /// An NFC tag or phone (only where Web NFC exists).
    Nfc,
    /// Pasted text or an opened file (works between two tabs or apps on one device).
    Text,
}

impl Source {
    fn label(self) -> &'static str {
        match self {
            Self::Camera => "Camera",
            Self::Nfc => "NFC",
            Self::Text => "Text or file",
        }
    }

    fn test_id(self) -> &'static str {
        match self {
            Self::Camera => "source-camera",
            Self::Nfc => "source-nfc",
            Self::Text => "source-text",
        }
    }
}

/// The sources this browser offers, camera first.
pub fn sources() -> Vec<Source> {
    let mut list = vec![Source::Camera];
    if nfc::is_supported() {
        list.push(Source::Nfc);
    }
    list.push(Source::Text);
    list
}

/// A message's bytes as the text a person copies (base45, the QR alphabet).
pub fn to_text(bytes: &[u8]) -> String {
    ops_transport::base45::encode(bytes)
}

/// Bytes from pasted text; an error that says what to do.
pub fn from_text(text: &str) -> Result<Vec<u8>, String> {
    // A space is a base45 digit (a request of eleven fields starts with one): only line
    // breaks and tabs around the text are dropped. Text that then does not decode is tried
    // without surrounding spaces too (someone typed one around it).
    let exact = text.trim_matches(|c: char| c.is_whitespace() && c != ' ');
    ops_transport::base45::decode(exact)
        .or_else(|_| ops_transport::base45::decode(text.trim()))
        .map_err(|_| {
            "this text is not a request, payment or receipt from a wallet or shop; copy it again whole".into()
        })
}

/// Bytes from what a person pasted or a file held: the base45 text the wallet writes, or
/// the raw message bytes.
pub fn bytes_from_file_or_text(content: &[u8]) -> Result<Vec<u8>, String> {
    match std::str::from_utf8(content) {
        Ok(text) if !text.trim().is_empty() => from_text(text),
        Ok(_) => Err("this is empty: copy the text again whole, or open the file again".into()),
        Err(_) => Ok(content.to_vec()),
    }
}

/// Takes one message of `kind` from the camera, an NFC tag, text or a file and calls
/// `on_bytes` with its body. `camera` is the camera the user chose in the settings.
#[component]
pub fn MessageIn(
    /// What is awaited.
    kind: MessageKind,
    /// Called with the message's bytes.
    #[prop(into)]
    on_bytes: Callback<Vec<u8>>,
    /// Called when pasted text or a file cannot be read.
    #[prop(into)]
    on_error: Callback<String>,
    /// What the text field is called ("The payee's request").
    what: &'static str,
    /// The chosen camera, if any.
    #[prop(default = None)]
    camera: Option<String>,
) -> impl IntoView {
    let source = RwSignal::new(Source::Camera);
    let (text, set_text) = signal(String::new());
    let on_message = Callback::new(move |m: Message| on_bytes.run(m.body));
    let use_text = move |_| match bytes_from_file_or_text(text.get_untracked().as_bytes()) {
        Ok(b) => on_bytes.run(b),
        Err(e) => on_error.run(e),
    };
    let open_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        if file.size() > 2_000_000.0 {
            on_error
                .run("this file is too large to be a request or payment; choose another".into());
            return;
        }
        spawn_local(async move {
            let read = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
            match read {
                Ok(buffer) => {
                    match bytes_from_file_or_text(&js_sys::Uint8Array::new(&buffer).to_vec()) {
                        Ok(b) => on_bytes.run(b),
                        Err(e) => on_error.run(e),
                    }
                }
                Err(_) => on_error.run("the file could not be read; open it again".into()),
            }
        });
    };
    let field = format!("{}-text", kind_slug(kind));
    let file_field = format!("{}-file", kind_slug(kind));
    view! {
        <div class="message-in">
            <div class="tabs" role="group" aria-label="How to take it">
                {sources().into_iter().map(|s| view! {
                    <button type="button" class="tab" data-testid=s.test_id()
                        aria-pressed=move || (source.get() == s).to_string()
                        on:click=move |_| source.set(s)>{s.label()}</button>
                }).collect_view()}
            </div>
            {move || match source.get() {
                Source::Camera => match camera.clone() {
                    Some(camera) => view! { <QrScanner kind on_message camera worker=QR_WORKER/> }.into_any(),
                    None => view! { <QrScanner kind on_message worker=QR_WORKER/> }.into_any(),
                },
                Source::Nfc => view! { <ReceiveMessageView kind transport=TransportKind::Nfc on_message/> }.into_any(),
                Source::Text => {
                    let field = field.clone();
                    let file_field = file_field.clone();
                    view! {
                        <label for=field.clone()>{what} " (paste its text)"</label>
                        <textarea id=field data-testid=format!("{}-in", kind_slug(kind)) rows="3"
                            prop:value=text on:input=move |ev| set_text.set(event_target_value(&ev))></textarea>
                        <button type="button" data-testid="use-text" on:click=use_text>"Use this text"</button>
                        <label for=file_field.clone()>"Or open a file"</label>
                        <input id=file_field type="file" data-testid="open-file" on:change=open_file/>
                    }.into_any()
                }
            }}
        </div>
    }
}

/// Shows `bytes` as a message of `kind`: an animated QR code (at the user's preset), an
/// NFC write where Web NFC exists, the text to copy and a file to save.
#[component]
pub fn MessageOut(
    /// What is shown.
    kind: MessageKind,
    /// The message body.
    bytes: Vec<u8>,
    /// The QR speed and density.
    preset: Preset,
    /// Name of the file offered for download.
    file_name: &'static str,
) -> impl IntoView {
    let message = Message::new(kind, bytes.clone());
    let text = to_text(&bytes);
    let nfc_on = RwSignal::new(false);
    let copied = RwSignal::new(None::<&'static str>);
    let copy_text = text.clone();
    let copy = move |_| {
        let text = copy_text.clone();
        spawn_local(async move {
            let clipboard = web_sys::window().map(|w| w.navigator().clipboard());
            let done = match clipboard {
                Some(c) => wasm_bindgen_futures::JsFuture::from(c.write_text(&text))
                    .await
                    .is_ok(),
                None => false,
            };
            copied.set(Some(if done {
                "Copied."
            } else {
                "This browser did not allow copying: select the text and copy it."
            }));
        });
    };
    let download = format!(
        "data:text/plain;charset=utf-8,{}",
        String::from(js_sys::encode_uri_component(&text))
    );
    let id = format!("{}-out", kind_slug(kind));
    let nfc_message = message.clone();
    view! {
        <div class="message-out">
            <SendMessageView message=message transport=TransportKind::Qr options=SendOptions { preset, ..SendOptions::default() } qr_worker=QR_WORKER/>
            {nfc::is_supported().then(|| view! {
                <button type="button" class="secondary" data-testid="nfc-write"
                    on:click=move |_| nfc_on.set(true)>"Write to an NFC tag or phone"</button>
                {move || nfc_on.get().then(|| view! {
                    <SendMessageView message=nfc_message.clone() transport=TransportKind::Nfc/>
                })}
            })}
            <details>
                <summary>"No camera? Copy it as text or save a file"</summary>
                <label for=id.clone()>"As text"</label>
                <textarea id=id.clone() data-testid=id rows="4" readonly prop:value=text></textarea>
                <p class="row">
                    <button type="button" class="secondary" data-testid="copy" on:click=copy>"Copy text"</button>
                    <a class="button secondary" href=download download=file_name data-testid="save-file">"Save as file"</a>
                </p>
                {move || copied.get().map(|m| view! { <p class="hint" role="status">{m}</p> })}
            </details>
        </div>
    }
}

fn kind_slug(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::PaymentRequest => "request",
        MessageKind::Payment => "payment",
        MessageKind::Receipt => "receipt",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_raw_files_give_the_same_bytes_and_empty_text_says_what_to_do() {
        let body = vec![0x82, 0x01, 0xff, 0x00];
        let text = to_text(&body);
        assert_eq!(bytes_from_file_or_text(text.as_bytes()), Ok(body.clone()));
        assert_eq!(
            bytes_from_file_or_text(format!("  {text}\n").as_bytes()),
            Ok(body)
        );
        assert_eq!(
            bytes_from_file_or_text(&[0xff, 0xfe, 0x80]),
            Ok(vec![0xff, 0xfe, 0x80])
        );
        assert!(
            bytes_from_file_or_text(b"  ")
                .unwrap_err()
                .contains("copy the text again")
        );
        assert!(bytes_from_file_or_text(b"not base45 !!").is_err());
    }

    #[test]
    fn text_that_starts_with_a_space_keeps_it() {
        // 0xab 0x00 (a map of eleven entries, key 0) is " R" + …: base45's space digit.
        let body = vec![0xab, 0x00, 0x05, 0x01, 0x02];
        let text = to_text(&body);
        assert!(text.starts_with(' '), "{text:?}");
        assert_eq!(from_text(&text), Ok(body.clone()));
        assert_eq!(from_text(&format!("{text}\n")), Ok(body.clone()));
        assert_eq!(from_text(&format!("\r\n{text}\r\n")), Ok(body.clone()));
        // (It never ends with one: the last digit of a group is at most 65535 / 2025 = 32,
        // and of a lone byte 255 / 45 = 5, while the space is digit 36.)
    }
}
