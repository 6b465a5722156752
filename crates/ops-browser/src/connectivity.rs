//! Online/offline state. Payments work offline; syncing with the bank needs the network.

use crate::{BrowserError, window};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// Whether the browser believes it is online.
pub fn is_online() -> bool {
    window().is_ok_and(|window| window.navigator().on_line())
}

/// Calls `on_change(is_online)` whenever connectivity changes, for the page's lifetime.
pub fn watch(on_change: impl Fn(bool) + Clone + 'static) -> Result<(), BrowserError> {
    let window = window()?;
    for (event, online) in [("online", true), ("offline", false)] {
        let notify = on_change.clone();
        let handler = Closure::<dyn Fn()>::new(move || notify(online));
        window.add_event_listener_with_callback(event, handler.as_ref().unchecked_ref())?;
        // Page-lifetime handler.
        handler.forget();
    }
    Ok(())
}
