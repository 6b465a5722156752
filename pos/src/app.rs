//! The POS components.

use crate::keypad::{AmountEntry, DEMO_CURRENCY, Key, Outcome, format_amount};
use leptos::ev::keydown;
use leptos::prelude::*;
use ops_browser::ui::Shell;

/// Largest amount the terminal accepts until its FI certificate sets one.
const MAX_MINOR: u64 = 9_999_999;
const MAX_LABEL: &str = "€99,999.99";

/// What the terminal is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The merchant types the amount.
    Entering,
    /// The amount is fixed; the customer is asked to pay it.
    Requesting(u64),
}

/// Turns an error's text into a sentence for the screen: capital first letter, full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// The whole POS app.
#[component]
pub fn App() -> impl IntoView {
    let entry = RwSignal::new(AmountEntry::new(MAX_MINOR, MAX_LABEL));
    let mode = RwSignal::new(Mode::Entering);
    let message = RwSignal::new(None::<String>);

    let press = move |key: Key| {
        if mode.get_untracked() != Mode::Entering {
            if key == Key::Clear {
                mode.set(Mode::Entering);
            }
            return;
        }
        let mut next = entry.get_untracked();
        match next.press(key) {
            Ok(Outcome::Edited) => {
                entry.set(next);
                message.set(None);
            }
            Ok(Outcome::Charge(minor)) => {
                mode.set(Mode::Requesting(minor));
                message.set(None);
            }
            Err(error) => message.set(Some(sentence(&error.to_string()))),
        }
    };

    let handle = window_event_listener(keydown, move |event| {
        if event.ctrl_key() || event.meta_key() || event.alt_key() {
            return;
        }
        if let Some(key) = Key::from_keyboard(&event.key()) {
            // Enter on a focused button is that button's click, not a second key press.
            let on_button = event
                .target()
                .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(t).ok())
                .is_some_and(|el| el.tag_name() == "BUTTON");
            if on_button && matches!(event.key().as_str(), "Enter" | " ") {
                return;
            }
            event.prevent_default();
            press(key);
        }
    });
    on_cleanup(move || handle.remove());

    let amount_text = move || format_amount(entry.get().minor(), DEMO_CURRENCY);

    view! {
        <Shell test_id="pos-app" class="pos" title="Point of sale">
            <main class="pos-main">
                <section class="display" aria-label="Amount">
                    <p class="currency">{DEMO_CURRENCY.code}</p>
                    <output class="amount" data-testid="amount" aria-live="polite">{amount_text}</output>
                    <p class="message" role="alert" data-testid="keypad-message">{move || message.get()}</p>
                </section>
                {move || match mode.get() {
                    Mode::Entering => view! { <Keypad press/> }.into_any(),
                    Mode::Requesting(minor) => view! {
                        <Requesting minor on_cancel=move || press(Key::Clear)/>
                    }.into_any(),
                }}
            </main>
        </Shell>
    }
}

/// The digit keys and the charge button.
#[component]
fn Keypad(press: impl Fn(Key) + Copy + Send + Sync + 'static) -> impl IntoView {
    let digit = move |d: u8| {
        view! {
            <button type="button" class="key" data-testid=format!("key-{d}") on:click=move |_| press(Key::Digit(d))>
                {d.to_string()}
            </button>
        }
    };
    view! {
        <section class="keypad" aria-label="Keypad">
            <div class="keys">
                {[7u8, 8, 9, 4, 5, 6, 1, 2, 3].into_iter().map(digit).collect_view()}
                <button type="button" class="key" data-testid="key-00" on:click=move |_| press(Key::DoubleZero)>"00"</button>
                {digit(0)}
                <button type="button" class="key" data-testid="key-back" aria-label="Delete last digit" aria-keyshortcuts="Backspace" on:click=move |_| press(Key::Backspace)>"⌫"</button>
            </div>
            <div class="keys-side">
                <button type="button" class="key clear" data-testid="key-clear" aria-keyshortcuts="Escape" on:click=move |_| press(Key::Clear)>"Clear"</button>
                <button type="button" class="key charge" data-testid="key-charge" aria-keyshortcuts="Enter" on:click=move |_| press(Key::Charge)>"Charge"</button>
            </div>
        </section>
    }
}

/// The amount is fixed; the terminal waits for the customer's wallet.
#[component]
fn Requesting(minor: u64, on_cancel: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    view! {
        <section class="requesting" data-testid="requesting" aria-live="polite">
            <p class="big">{format!("Ask the customer to pay {}", format_amount(minor, DEMO_CURRENCY))}</p>
            <p>"The customer's wallet pays this terminal directly. No network is needed."</p>
            <button type="button" class="key clear" data-testid="cancel-request" aria-keyshortcuts="Escape" autofocus on:click=move |_| on_cancel()>
                "Cancel"
            </button>
        </section>
    }
}
