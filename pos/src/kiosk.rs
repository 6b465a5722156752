//! Kiosk behaviour in the browser: full screen, the screen kept awake during a sale
//! (Screen Wake Lock where the browser has it), and leaving the page asks first. Each is
//! best effort: a browser without the feature still sells.

use std::cell::RefCell;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The `beforeunload` listener while navigation is guarded.
type UnloadGuard = Closure<dyn FnMut(web_sys::BeforeUnloadEvent)>;

thread_local! {
    static WAKE_LOCK: RefCell<Option<JsValue>> = const { RefCell::new(None) };
    static GUARD: RefCell<Option<UnloadGuard>> = const { RefCell::new(None) };
}

/// Asks for full screen (needs a user gesture: call it from a click). `false` when the
/// browser refused or has no full screen.
pub async fn enter_fullscreen() -> bool {
    let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    else {
        return false;
    };
    match el.request_fullscreen() {
        Ok(()) => true,
        Err(_) => false,
    }
}

/// Leaves full screen, if on.
pub fn exit_fullscreen() {
    if let Some(d) = web_sys::window().and_then(|w| w.document())
        && d.fullscreen_element().is_some()
    {
        d.exit_fullscreen();
    }
}

/// Whether the Screen Wake Lock API exists here.
pub fn has_wake_lock() -> bool {
    web_sys::window()
        .and_then(|w| Reflect::get(&w.navigator(), &JsValue::from_str("wakeLock")).ok())
        .is_some_and(|v| !v.is_undefined() && !v.is_null())
}

/// Keeps the screen on until [`release_wake_lock`]; `false` where the browser has no
/// wake lock or refused (for example when the page is hidden).
pub async fn keep_awake() -> bool {
    if WAKE_LOCK.with(|w| w.borrow().is_some()) {
        return true;
    }
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return false;
    };
    let Ok(wake_lock) = Reflect::get(&navigator, &JsValue::from_str("wakeLock")) else {
        return false;
    };
    let Some(request) = Reflect::get(&wake_lock, &JsValue::from_str("request"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
    else {
        return false;
    };
    let Some(promise) = request
        .call1(&wake_lock, &JsValue::from_str("screen"))
        .ok()
        .and_then(|p| p.dyn_into::<Promise>().ok())
    else {
        return false;
    };
    match JsFuture::from(promise).await {
        Ok(sentinel) => {
            WAKE_LOCK.with(|w| *w.borrow_mut() = Some(sentinel));
            true
        }
        Err(_) => false,
    }
}

/// Lets the screen sleep again.
pub fn release_wake_lock() {
    let Some(sentinel) = WAKE_LOCK.with(|w| w.borrow_mut().take()) else {
        return;
    };
    if let Some(release) = Reflect::get(&sentinel, &JsValue::from_str("release"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
    {
        let _ = release.call0(&sentinel);
    }
}

/// Whether the screen is being kept awake.
pub fn awake() -> bool {
    WAKE_LOCK.with(|w| w.borrow().is_some())
}

/// With `on`, closing the tab, reloading by accident or navigating away asks the
/// browser's "leave this page?" first; a reload still finds every sale where it was.
pub fn guard_navigation(on: bool) {
    let Some(window) = web_sys::window() else {
        return;
    };
    GUARD.with(|g| {
        let mut g = g.borrow_mut();
        if on && g.is_none() {
            let closure = Closure::<dyn FnMut(web_sys::BeforeUnloadEvent)>::new(
                |event: web_sys::BeforeUnloadEvent| {
                    event.prevent_default();
                    event.set_return_value("A sale may be open on this terminal.");
                },
            );
            let _ = window
                .add_event_listener_with_callback("beforeunload", closure.as_ref().unchecked_ref());
            *g = Some(closure);
        } else if !on && let Some(closure) = g.take() {
            let _ = window.remove_event_listener_with_callback(
                "beforeunload",
                closure.as_ref().unchecked_ref(),
            );
        }
    });
}
