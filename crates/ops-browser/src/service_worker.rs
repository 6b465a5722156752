//! Registering the app's service worker and offering new versions to the user.
//!
//! The worker (generated at build time, see the `ops-pwa` crate) precaches the whole app
//! shell. A new deployment installs a new worker that *waits*; the page then shows
//! "update available", and only when the user accepts does the page tell the waiting
//! worker to take over and reload. An update never interrupts a payment in progress.

use crate::{BrowserError, window};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    RegistrationOptions, ServiceWorker, ServiceWorkerContainer, ServiceWorkerRegistration,
    ServiceWorkerState, ServiceWorkerUpdateViaCache,
};

/// File name of the worker, relative to the page (so each app gets its own scope).
pub const WORKER_URL: &str = "sw.js";

/// How often a long-open page asks the server for a new version, in milliseconds.
pub const UPDATE_CHECK_INTERVAL_MS: i32 = 30 * 60 * 1000;

fn container() -> Result<ServiceWorkerContainer, BrowserError> {
    let window = window()?;
    if !window.is_secure_context() {
        return Err(BrowserError::InsecureContext);
    }
    let navigator = window.navigator();
    let has_worker = js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false);
    if !has_worker {
        return Err(BrowserError::Unsupported("service workers"));
    }
    Ok(navigator.service_worker())
}

/// Whether a service worker controls this page (it then loads with no network).
pub fn is_controlled() -> bool {
    container().is_ok_and(|container| container.controller().is_some())
}

/// Registers the worker and calls `on_update_ready` whenever a new version is installed
/// and waiting. Also checks for a new version every [`UPDATE_CHECK_INTERVAL_MS`] and when
/// the device comes back online.
pub async fn register(on_update_ready: impl Fn() + Clone + 'static) -> Result<(), BrowserError> {
    let container = container()?;
    let options = RegistrationOptions::new();
    options.set_update_via_cache(ServiceWorkerUpdateViaCache::None);
    let registration: ServiceWorkerRegistration =
        JsFuture::from(container.register_with_options(WORKER_URL, &options))
            .await?
            .dyn_into()
            .map_err(BrowserError::from)?;

    if registration.waiting().is_some() && container.controller().is_some() {
        on_update_ready();
    }
    watch_installs(&registration, on_update_ready);
    schedule_update_checks(&registration)?;
    Ok(())
}

/// Calls `on_update_ready` when a newly found worker reaches `installed` while an older
/// one controls the page.
fn watch_installs(
    registration: &ServiceWorkerRegistration,
    on_update_ready: impl Fn() + Clone + 'static,
) {
    let watched = registration.clone();
    let on_update_found = Closure::<dyn Fn()>::new(move || {
        let Some(worker) = watched.installing() else {
            return;
        };
        let on_ready = on_update_ready.clone();
        let installing = worker.clone();
        let on_state_change = Closure::<dyn Fn()>::new(move || {
            let controlled = container().is_ok_and(|c| c.controller().is_some());
            if installing.state() == ServiceWorkerState::Installed && controlled {
                on_ready();
            }
        });
        worker.set_onstatechange(Some(on_state_change.as_ref().unchecked_ref()));
        // The handler lives as long as the worker object it is attached to.
        on_state_change.forget();
    });
    registration.set_onupdatefound(Some(on_update_found.as_ref().unchecked_ref()));
    // Page-lifetime handler.
    on_update_found.forget();
}

fn schedule_update_checks(registration: &ServiceWorkerRegistration) -> Result<(), BrowserError> {
    let window = window()?;
    let checked = registration.clone();
    let check = Closure::<dyn Fn()>::new(move || {
        // A failed check (offline) is normal; the next one retries.
        if let Ok(promise) = checked.update() {
            wasm_bindgen_futures::spawn_local(async move {
                let _ = JsFuture::from(promise).await;
            });
        }
    });
    window.set_interval_with_callback_and_timeout_and_arguments_0(
        check.as_ref().unchecked_ref(),
        UPDATE_CHECK_INTERVAL_MS,
    )?;
    window.add_event_listener_with_callback("online", check.as_ref().unchecked_ref())?;
    // Page-lifetime handler.
    check.forget();
    Ok(())
}

/// Activates the waiting version and reloads the page once it has taken control.
pub async fn apply_update() -> Result<(), BrowserError> {
    let container = container()?;
    let registration: ServiceWorkerRegistration = JsFuture::from(container.get_registration())
        .await?
        .dyn_into()
        .map_err(|_| BrowserError::Js("no service worker is registered".into()))?;
    let Some(waiting): Option<ServiceWorker> = registration.waiting() else {
        return Err(BrowserError::Js(
            "no new version is waiting; reload the page".into(),
        ));
    };
    let on_controller_change = Closure::<dyn Fn()>::new(move || {
        if let Ok(window) = window() {
            let _ = window.location().reload();
        }
    });
    container.set_oncontrollerchange(Some(on_controller_change.as_ref().unchecked_ref()));
    on_controller_change.forget();
    let message = js_sys::Object::new();
    js_sys::Reflect::set(&message, &"type".into(), &"SKIP_WAITING".into())?;
    waiting.post_message(&message)?;
    Ok(())
}
