//! Helpers for `wasm-bindgen-test` tests of the apps' components (feature `testing`).
//!
//! Tests mount a component into a fresh element, act on it as a user would (click a
//! button found by its `data-testid`, press a key), wait for Leptos to re-render, and
//! read text back.

use crate::{BrowserError, window};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlElement, KeyboardEvent, KeyboardEventInit};

/// Id of the element components are mounted into.
const ROOT_ID: &str = "ops-test-root";

/// A fresh, attached `<div>` to mount a component into; the previous one is removed.
/// The rest of the page (the test runner's own output) is left alone.
pub fn fresh_root() -> Result<HtmlElement, BrowserError> {
    let document = window()?.document().ok_or(BrowserError::NoWindow)?;
    if let Some(old) = document.get_element_by_id(ROOT_ID) {
        old.remove();
    }
    let body = document.body().ok_or(BrowserError::NoWindow)?;
    let root: HtmlElement = document.create_element("div")?.unchecked_into();
    root.set_id(ROOT_ID);
    body.append_child(&root)?;
    Ok(root)
}

/// Waits `ms` milliseconds, letting Leptos run its effects and the browser render.
pub async fn wait_ms(ms: i32) -> Result<(), BrowserError> {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Ok(window) = window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    JsFuture::from(promise).await?;
    Ok(())
}

/// The element with `data-testid="{id}"`, if present.
pub fn by_test_id(id: &str) -> Option<HtmlElement> {
    let document = window().ok()?.document()?;
    document
        .query_selector(&format!("[data-testid=\"{id}\"]"))
        .ok()
        .flatten()
        .and_then(|element| element.dyn_into().ok())
}

/// Text of the element with `data-testid="{id}"`, or an empty string if absent.
pub fn text_of(id: &str) -> String {
    by_test_id(id)
        .and_then(|element| element.text_content())
        .unwrap_or_default()
}

/// Clicks the element with `data-testid="{id}"` and waits for the re-render.
pub async fn click(id: &str) -> Result<(), BrowserError> {
    let element = by_test_id(id).ok_or_else(|| BrowserError::Js(format!("no element {id}")))?;
    element.click();
    wait_ms(20).await
}

/// Dispatches a `keydown` for `key` on the window and waits for the re-render.
pub async fn press_key(key: &str) -> Result<(), BrowserError> {
    let init = KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let event = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init)?;
    window()?.dispatch_event(&event)?;
    wait_ms(20).await
}
