//! The one interface the apps use: show or write a message ([`SendMessageView`]) and
//! wait for a message of a given type ([`ReceiveMessageView`]), over QR or NFC.

use crate::nfc::{self, NfcError, WebNfc};
use crate::player::AnimatedQr;
use crate::scanner::QrScanner;
use leptos::prelude::*;
use leptos::task::spawn_local;
use ops_transport::{Limits, Message, MessageKind, SendOptions, TransportKind};
use std::rc::Rc;

/// Transports this browser offers, QR first (NFC only where `NDEFReader` exists).
pub fn available_transports() -> Vec<TransportKind> {
    let mut list = vec![TransportKind::Qr];
    if nfc::is_supported() {
        list.push(TransportKind::Nfc);
    }
    list
}

/// Where an NFC operation stands, for the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NfcView {
    Waiting,
    Done,
    Failed(String),
}

fn nfc_text(state: &NfcView, waiting: &'static str, done: &'static str) -> String {
    match state {
        NfcView::Waiting => waiting.to_owned(),
        NfcView::Done => done.to_owned(),
        NfcView::Failed(error) => crate::scan_logic::sentence(error),
    }
}

/// Sends `message` over `transport`: an animated QR code on screen, or an NFC write.
/// `on_sent` is called after an NFC write succeeds (a QR code has no delivery signal;
/// the receiver answers in the protocol).
///
/// NFC status text: `data-testid="nfc-send-status"`.
#[component]
pub fn SendMessageView(
    /// What to send.
    message: Message,
    /// Over what.
    transport: TransportKind,
    /// Preset, tag and record sizes.
    #[prop(default = SendOptions::default())]
    options: SendOptions,
    /// Called once an NFC write has completed.
    #[prop(optional, into)]
    on_sent: Option<Callback<()>>,
    /// URL of the QR worker (`ops-qr-worker_loader.js` in the app's build), which makes
    /// the animated QR's frames; they are made in the page without it. See [`AnimatedQr`].
    #[prop(optional, into)]
    qr_worker: Option<String>,
) -> impl IntoView {
    match transport {
        TransportKind::Qr => match qr_worker {
            Some(worker) => view! { <AnimatedQr message preset=options.preset worker/> }.into_any(),
            None => view! { <AnimatedQr message preset=options.preset/> }.into_any(),
        },
        TransportKind::Nfc => {
            let state = RwSignal::new(NfcView::Waiting);
            let nfc = Rc::new(WebNfc::new(options, Limits::DEFAULT));
            let writer = Rc::clone(&nfc);
            spawn_local(async move {
                match writer.write(&message).await {
                    Ok(()) => {
                        state.set(NfcView::Done);
                        if let Some(on_sent) = on_sent {
                            on_sent.run(());
                        }
                    }
                    Err(NfcError::Aborted) => {}
                    Err(error) => state.set(NfcView::Failed(error.to_string())),
                }
            });
            abort_on_cleanup(nfc);
            view! {
                <p data-testid="nfc-send-status">
                    {move || nfc_text(&state.get(), "Hold the phone to the other device or tag…", "Written.")}
                </p>
            }
            .into_any()
        }
    }
}

/// Waits for a message of `kind` over `transport` (camera scanner or NFC read) and
/// calls `on_message` once with it.
///
/// NFC status text: `data-testid="nfc-receive-status"`.
#[component]
pub fn ReceiveMessageView(
    /// The awaited message type.
    kind: MessageKind,
    /// Over what.
    transport: TransportKind,
    /// Called once with the message.
    #[prop(into)]
    on_message: Callback<Message>,
    /// Receiver limits.
    #[prop(default = Limits::DEFAULT)]
    limits: Limits,
    /// URL of the QR decoder worker (`ops-qr-worker_loader.js` in the app's build); QR
    /// frames are decoded in the page without it. See [`QrScanner`].
    #[prop(optional, into)]
    qr_worker: Option<String>,
) -> impl IntoView {
    match transport {
        TransportKind::Qr => match qr_worker {
            Some(worker) => view! { <QrScanner kind on_message limits worker/> }.into_any(),
            None => view! { <QrScanner kind on_message limits/> }.into_any(),
        },
        TransportKind::Nfc => {
            let state = RwSignal::new(NfcView::Waiting);
            let nfc = Rc::new(WebNfc::new(SendOptions::default(), limits));
            let reader = Rc::clone(&nfc);
            spawn_local(async move {
                match reader.read(kind).await {
                    Ok(message) => {
                        state.set(NfcView::Done);
                        on_message.run(message);
                    }
                    Err(NfcError::Aborted) => {}
                    Err(error) => state.set(NfcView::Failed(error.to_string())),
                }
            });
            abort_on_cleanup(nfc);
            view! {
                <p data-testid="nfc-receive-status">
                    {move || nfc_text(&state.get(), "Hold the other device or tag to this phone…", "Received.")}
                </p>
            }
            .into_any()
        }
    }
}

/// `on_cleanup` wants `Send + Sync`; the browser is single-threaded, so the NFC handle is
/// kept in a thread-local arena slot and aborted from there.
fn abort_on_cleanup(nfc: Rc<WebNfc>) {
    let slot = StoredValue::new_local(nfc);
    on_cleanup(move || slot.with_value(|nfc| nfc.abort()));
}
