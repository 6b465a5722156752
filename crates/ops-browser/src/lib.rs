//! Browser adapters shared by the wallet and the POS apps.
//!
//! Thin wrappers over `web-sys` for the parts of the platform both apps need to work
//! offline and be installable: the service worker and its updates ([`service_worker`]),
//! persistent storage ([`storage`]), connectivity ([`connectivity`]), and the small Leptos
//! components that show them ([`ui`]), WebAuthn ([`webauthn`]), and the wallet engine's
//! IndexedDB store ([`wallet_store`]), which stores what the engine decides without
//! knowing what a payment is, the POS till engine's IndexedDB store ([`till_store`]), and
//! a POS terminal's non-extractable WebCrypto key ([`terminal_key`]), and the HTTP client
//! both apps use to talk to their FI ([`fi`]).

pub mod connectivity;
pub mod fi;
pub mod kv;
pub mod service_worker;
pub mod storage;
pub mod terminal_key;
#[cfg(feature = "testing")]
pub mod testing;
pub mod till_store;
pub mod ui;
pub mod wallet_store;
pub mod webauthn;

/// What went wrong talking to the browser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrowserError {
    /// There is no `window` (not running in a page).
    #[error("not running in a browser page")]
    NoWindow,
    /// The browser lacks a feature the app needs.
    #[error("this browser does not support {0}; use a current Chrome, Edge, Firefox or Safari")]
    Unsupported(&'static str),
    /// The page is not a secure context (https or localhost), which service workers need.
    #[error("the app must be opened over https (or on localhost) to work offline")]
    InsecureContext,
    /// A browser call failed; the text is the browser's own message.
    #[error("the browser refused: {0}")]
    Js(String),
}

impl From<wasm_bindgen::JsValue> for BrowserError {
    fn from(value: wasm_bindgen::JsValue) -> Self {
        use wasm_bindgen::JsCast;
        let text = value
            .dyn_ref::<js_sys::Error>()
            .map(|error| {
                format!(
                    "{} ({})",
                    String::from(error.message()),
                    String::from(error.name())
                )
            })
            .or_else(|| value.as_string())
            .unwrap_or_else(|| format!("{value:?}"));
        Self::Js(text)
    }
}

/// The page's `window`.
pub fn window() -> Result<web_sys::Window, BrowserError> {
    web_sys::window().ok_or(BrowserError::NoWindow)
}
