//! The wallet's components.

use crate::screens::{ACTIONS, Screen};
use leptos::ev::keydown;
use leptos::prelude::*;
use ops_browser::ui::Shell;

/// The whole wallet app.
#[component]
pub fn App() -> impl IntoView {
    let (screen, set_screen) = signal(Screen::Home);
    let handle = window_event_listener(keydown, move |event| {
        let target_is_field = event
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(t).ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if target_is_field || event.ctrl_key() || event.meta_key() || event.alt_key() {
            return;
        }
        if let Some(next) = screen.get_untracked().after_key(&event.key()) {
            event.prevent_default();
            set_screen.set(next);
        }
    });
    on_cleanup(move || handle.remove());

    view! {
        <Shell test_id="wallet-app" class="wallet" title=move || screen.get().title()>
            <main>
                {move || match screen.get() {
                    Screen::Home => view! { <Home set_screen/> }.into_any(),
                    other => view! { <Detail screen=other set_screen/> }.into_any(),
                }}
            </main>
        </Shell>
    }
}

/// Balance card and the primary actions.
#[component]
fn Home(set_screen: WriteSignal<Screen>) -> impl IntoView {
    view! {
        <section class="balance" aria-label="Balance" data-testid="balance">
            <p class="label">"Available offline"</p>
            <p class="amount" aria-live="polite">"—"</p>
            <p class="hint">"Not set up yet. Set up this wallet with your bank to add money."</p>
        </section>
        <nav class="actions" aria-label="Primary actions">
            {ACTIONS
                .iter()
                .map(|action| {
                    let target = action.screen;
                    view! {
                        <button
                            type="button"
                            class="action"
                            data-testid=format!("action-{}", action.shortcut)
                            aria-keyshortcuts=action.shortcut.to_string()
                            on:click=move |_| set_screen.set(target)
                        >
                            <span class="action-label">{action.label}</span>
                            <span class="action-hint">{action.hint}</span>
                        </button>
                    }
                })
                .collect_view()}
        </nav>
    }
}

/// A screen behind a primary action.
#[component]
fn Detail(screen: Screen, set_screen: WriteSignal<Screen>) -> impl IntoView {
    view! {
        <section class="detail" data-testid="detail">
            <p>{screen.prerequisite()}</p>
            <button
                type="button"
                class="secondary"
                data-testid="back"
                aria-keyshortcuts="Escape"
                autofocus
                on:click=move |_| set_screen.set(Screen::Home)
            >
                "Back"
            </button>
        </section>
    }
}
