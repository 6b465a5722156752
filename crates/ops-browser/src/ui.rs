//! Leptos components both apps show: update banner, storage and connectivity status.

use crate::storage::Persistence;
use crate::{connectivity, service_worker, storage};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The frame both apps share: update banner, title bar with connectivity, the app's own
/// content, and the storage status at the foot.
#[component]
pub fn Shell<T: IntoView + 'static>(
    /// `data-testid` of the app's root element.
    test_id: &'static str,
    /// CSS class of the app's root element.
    class: &'static str,
    /// The title bar's heading (text or a reactive closure).
    title: T,
    /// The app's content.
    children: Children,
) -> impl IntoView {
    view! {
        <div class=class data-testid=test_id>
            <UpdateBanner/>
            <header class="topbar">
                <h1>{title}</h1>
                <ConnectivityBadge/>
            </header>
            {children()}
            <footer>
                <StorageStatus/>
            </footer>
        </div>
    }
}

/// Registers the service worker and shows "update available" when a new version waits.
#[component]
pub fn UpdateBanner() -> impl IntoView {
    let (ready, set_ready) = signal(false);
    let (problem, set_problem) = signal(None::<String>);
    spawn_local(async move {
        if let Err(error) = service_worker::register(move || set_ready.set(true)).await {
            set_problem.set(Some(format!("Offline use is not available: {error}")));
        }
    });
    let update = move |_| {
        spawn_local(async move {
            if let Err(error) = service_worker::apply_update().await {
                set_problem.set(Some(format!("The update could not start: {error}")));
            }
        });
    };
    view! {
        <Show when=move || ready.get()>
            <div class="banner update" role="status" data-testid="update-banner">
                <span>"A new version is available."</span>
                <button type="button" data-testid="update-apply" on:click=update>
                    "Update now"
                </button>
            </div>
        </Show>
        <Show when=move || problem.get().is_some()>
            <div class="banner problem" role="alert">{move || problem.get()}</div>
        </Show>
    }
}

/// Asks for persistent storage and shows the outcome.
#[component]
pub fn StorageStatus() -> impl IntoView {
    let (state, set_state) = signal(None::<Result<Persistence, String>>);
    spawn_local(async move {
        set_state.set(Some(
            storage::request_persistence()
                .await
                .map_err(|e| e.to_string()),
        ));
    });
    let text = move || match state.get() {
        None => "Checking storage…".to_owned(),
        Some(Ok(persistence)) => persistence.describe().to_owned(),
        Some(Err(error)) => format!("Storage state unknown: {error}"),
    };
    let persistent = move || matches!(state.get(), Some(Ok(Persistence::Persistent)));
    view! {
        <p class="storage" data-testid="storage-status" data-persistent=move || persistent().to_string()>
            {text}
        </p>
    }
}

/// Shows whether the device is online. Payments need no network.
#[component]
pub fn ConnectivityBadge() -> impl IntoView {
    let (online, set_online) = signal(connectivity::is_online());
    // Without a window there is nothing to watch; the badge then keeps its first state.
    let _ = connectivity::watch(move |now| set_online.set(now));
    view! {
        <span class="connectivity" data-testid="connectivity" data-online=move || online.get().to_string()>
            {move || if online.get() { "Online" } else { "Offline · payments still work" }}
        </span>
    }
}
