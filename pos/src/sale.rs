//! Selling: the keypad, the request shown while the customer's payment is taken, and the
//! large decision.

use leptos::ev::keydown;
use leptos::prelude::*;
use leptos::task::spawn_local;
use ops_transport::{MessageKind, Preset};
use ops_transport_web::transfer::{MessageIn, MessageOut};
use ops_wallet_engine::SagaId;
use ops_wallet_engine::till::Decision;

use crate::app::{Page, PosState};
use crate::keypad::{AmountEntry, Key, Outcome, format_minor};
use crate::screens::{self, SaleScreen};
use crate::terminal::now;

/// Largest amount the keypad takes.
const MAX_MINOR: u64 = 9_999_999;
const MAX_LABEL: &str = "99,999.99";

/// Milliseconds since the page started (for the decision's timing).
fn clock_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// The sale pages: whichever the stored sale is at.
#[component]
pub fn Sale() -> impl IntoView {
    let state = expect_context::<PosState>();
    view! {
        {move || match state.sale.get() {
            SaleScreen::Keypad => view! { <Keypad/> }.into_any(),
            SaleScreen::Request { sale, request, amount, currency, expires, reference } => view! {
                <Request sale request amount currency expires reference/>
            }.into_any(),
            SaleScreen::Deciding { .. } => view! {
                <section class="deciding" data-testid="deciding"><p class="big">"Checking the payment…"</p></section>
            }.into_any(),
            SaleScreen::Approved { approval, receipt } => view! { <Approved approval receipt/> }.into_any(),
            SaleScreen::Declined { decline, open } => view! { <Declined decline open/> }.into_any(),
        }}
    }
}

/// The keypad: amount, optional reference, Charge.
#[component]
fn Keypad() -> impl IntoView {
    let state = expect_context::<PosState>();
    let entry = RwSignal::new(AmountEntry::new(MAX_MINOR, MAX_LABEL));
    let reference = RwSignal::new(String::new());
    let limit = RwSignal::new(None::<u64>);
    if let Some(t) = state.terminal() {
        spawn_local(async move { limit.set(t.offline_limit().await) });
    }
    let charge = move |minor: u64| {
        let currency = state.currency();
        let lifetime = state.settings.get_untracked().request_lifetime;
        let reference = Some(reference.get_untracked()).filter(|r| !r.trim().is_empty());
        state.run(move |t| async move {
            let (sale, request) = t.sell(minor, &currency, reference, lifetime).await?;
            crate::settings::remember_sale(Some(&sale)).await;
            // The screen stays on while the customer pays (not awaited: a browser that
            // asks for permission must not hold the sale).
            spawn_local(async {
                let _ = crate::kiosk::keep_awake().await;
            });
            state.sale.set(screens::request_screen(&sale, &request));
            Ok(None)
        });
    };
    let press = move |key: Key| {
        if state.busy.get_untracked() {
            return;
        }
        let mut next = entry.get_untracked();
        match next.press(key) {
            Ok(Outcome::Edited) => {
                entry.set(next);
                state.message.set(None);
            }
            Ok(Outcome::Charge(minor)) => charge(minor),
            Err(error) => state.message.set(Some(crate::sentence(&error.to_string()))),
        }
    };
    let handle = window_event_listener(keydown, move |event| {
        if event.ctrl_key() || event.meta_key() || event.alt_key() {
            return;
        }
        // Typing in the reference field is not keypad input.
        let target = event
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(t).ok());
        let tag = target.as_ref().map(|el| el.tag_name()).unwrap_or_default();
        if tag == "INPUT" || tag == "TEXTAREA" || tag == "SELECT" {
            return;
        }
        if let Some(key) = Key::from_keyboard(&event.key()) {
            // Enter on a focused button is that button's click, not a second key press.
            if tag == "BUTTON" && matches!(event.key().as_str(), "Enter" | " ") {
                return;
            }
            event.prevent_default();
            press(key);
        }
    });
    on_cleanup(move || handle.remove());
    let amount_text = move || format_minor(entry.get().minor(), &state.currency());
    let over_limit = move || {
        let minor = entry.get().minor();
        limit.get().filter(|l| minor > *l).map(|l| {
            format!(
                "Above the offline limit of {}: wallets can pay it only while this terminal has a fresh revocation list; deposit and sync first, or split the sale.",
                format_minor(l, &state.currency())
            )
        })
    };
    let digit = move |d: u8| {
        view! {
            <button type="button" class="key" data-testid=format!("key-{d}") on:click=move |_| press(Key::Digit(d))>
                {d.to_string()}
            </button>
        }
    };
    view! {
        <div class="sale-keypad">
        <section class="display" aria-label="Amount">
            <output class="amount" data-testid="amount" aria-live="polite">{amount_text}</output>
            <p class="hint warning" data-testid="limit-warning">{over_limit}</p>
            <label for="reference">"Reference (optional, shown to the customer)"</label>
            <input id="reference" data-testid="reference" maxlength="64" autocomplete="off"
                prop:value=reference on:input=move |ev| reference.set(event_target_value(&ev))/>
        </section>
        <section class="keypad" aria-label="Keypad">
            <div class="keys">
                {[7u8, 8, 9, 4, 5, 6, 1, 2, 3].into_iter().map(digit).collect_view()}
                <button type="button" class="key" data-testid="key-00" on:click=move |_| press(Key::DoubleZero)>"00"</button>
                {digit(0)}
                <button type="button" class="key" data-testid="key-back" aria-label="Delete last digit" aria-keyshortcuts="Backspace" on:click=move |_| press(Key::Backspace)>"⌫"</button>
            </div>
            <div class="keys-side">
                <button type="button" class="key clear" data-testid="key-clear" aria-keyshortcuts="Escape" on:click=move |_| press(Key::Clear)>"Clear"</button>
                <button type="button" class="key charge" data-testid="key-charge" aria-keyshortcuts="Enter"
                    disabled=move || state.busy.get() on:click=move |_| press(Key::Charge)>"Charge"</button>
                <button type="button" class="key office" data-testid="open-office"
                    on:click=move |_| state.page.set(Page::Unlock)>"Back office"</button>
            </div>
        </section>
        </div>
    }
}

/// Shows a decision, then signs and shows the receipt.
fn decided(state: PosState, sale: SagaId, bytes: Vec<u8>, arrived_ms: f64) {
    state.run(move |t| async move {
        let (decision, commands) = t.present(&sale, bytes).await?;
        let decision_ms = clock_ms() - arrived_ms;
        state.sale.set(match decision.clone() {
            Decision::Approved(approval) => SaleScreen::Approved {
                approval,
                receipt: None,
            },
            Decision::Declined(decline) => {
                let open = matches!(
                    screens::sale_screen(Some(&t.sale(&sale).await?)),
                    SaleScreen::Request { .. }
                )
                .then_some(sale.clone());
                SaleScreen::Declined { decline, open }
            }
        });
        set_decision_ms(decision_ms);
        if let Decision::Approved(approval) = decision {
            crate::kiosk::release_wake_lock();
            if let Some(receipt) = t.sign_receipt(commands).await? {
                state.sale.set(SaleScreen::Approved {
                    approval,
                    receipt: Some(receipt),
                });
            }
        }
        Ok(None)
    });
}

/// Puts the last decision's time on the page (`data-decision-ms` on the app's root) for
/// the end-to-end tests that measure it.
fn set_decision_ms(ms: f64) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        // Integer formatting: float formatting would add its code to the bundle.
        let _ = el.set_attribute(
            "data-decision-ms",
            &ops_transport_web::scan_logic::hundredths(ms),
        );
    }
}

/// The request shown while the customer pays.
#[component]
fn Request(
    sale: SagaId,
    request: Vec<u8>,
    amount: u64,
    currency: String,
    expires: u64,
    reference: Option<String>,
) -> impl IntoView {
    let state = expect_context::<PosState>();
    let clock = RwSignal::new(now());
    let expired_sale = sale.clone();
    if let Ok(handle) = set_interval_with_handle(
        move || {
            let t = now();
            clock.set(t);
            if t >= expires && !state.busy.get_untracked() {
                let sale = expired_sale.clone();
                state.run(move |term| async move {
                    term.expire_due().await?;
                    crate::kiosk::release_wake_lock();
                    state.sale.set(screens::sale_screen(Some(&term.sale(&sale).await?)));
                    Ok(Some("The request expired with no payment: nothing was charged. Start the sale again if the customer still wants to pay.".into()))
                });
            }
        },
        std::time::Duration::from_millis(500),
    ) {
        on_cleanup(move || handle.clear());
    }
    let pay_sale = sale.clone();
    let on_payment = Callback::new(move |bytes: Vec<u8>| {
        let arrived = clock_ms();
        // Only while this request is on screen and nothing else runs.
        let current = matches!(state.sale.get_untracked(), SaleScreen::Request { sale: ref s, .. } if *s == pay_sale);
        if !current || state.busy.get_untracked() {
            return;
        }
        decided(state, pay_sale.clone(), bytes, arrived);
    });
    let on_error = Callback::new(move |e: String| state.message.set(Some(crate::sentence(&e))));
    let cancel_sale = sale.clone();
    let cancel = move |_| {
        let sale = cancel_sale.clone();
        state.run(move |t| async move {
            t.cancel(&sale).await?;
            crate::settings::remember_sale(None).await;
            crate::kiosk::release_wake_lock();
            state.sale.set(SaleScreen::Keypad);
            Ok(Some("Sale cancelled: nothing was charged.".into()))
        });
    };
    let amount_text = format_minor(amount, &currency);
    view! {
        <section class="request" data-testid="requesting" aria-live="polite">
            <div class="row request-head">
                <p class="big" data-testid="request-amount">{format!("Ask the customer to pay {amount_text}")}</p>
                <button type="button" class="key clear" data-testid="cancel-request" aria-keyshortcuts="Escape"
                    disabled=move || state.busy.get() on:click=cancel>"Cancel sale"</button>
            </div>
            {reference.map(|r| view! { <p data-testid="request-reference">"Reference: " {r}</p> })}
            <p class="hint" data-testid="time-left">"Request open for " {move || screens::time_left(expires, clock.get())}</p>
            <div class="request-legs">
                <div>
                    <h2>"1. The customer scans this"</h2>
                    <MessageOut kind=MessageKind::PaymentRequest bytes=request preset=Preset::default() file_name="request.txt"/>
                </div>
                <div>
                    <h2>"2. Take their payment"</h2>
                    <p class="hint">"It is checked here, with no network."</p>
                    <MessageIn kind=MessageKind::Payment on_bytes=on_payment on_error what="The customer's payment"/>
                </div>
            </div>
        </section>
    }
}

fn clock_words(t: u64) -> String {
    let day = t % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        day / 3600,
        (day % 3600) / 60,
        day % 60
    )
}

/// A large, unmistakable approval, then the receipt for the customer's wallet.
#[component]
fn Approved(
    approval: ops_wallet_engine::till::Approval,
    receipt: Option<Vec<u8>>,
) -> impl IntoView {
    let state = expect_context::<PosState>();
    let dismissed = approval.sale.clone();
    view! {
        <section class="decision approved" data-testid="approved" role="alert">
            <div class="decision-body">
                <div>
                    <p class="verdict">"✓ Approved"</p>
                    <p class="big" data-testid="approved-amount">{format_minor(approval.amount, &approval.currency)}</p>
                    <p>"At " {clock_words(approval.at)} " · payment " <strong data-testid="approved-id">{approval.short_id.clone()}</strong></p>
                    <p class="hint">"Stored on this terminal and queued for deposit."</p>
                    <button type="button" class="key charge" data-testid="new-sale" autofocus
                        on:click=move |_| {
                            let dismissed = dismissed.clone();
                            spawn_local(async move { crate::settings::dismiss_sale(&dismissed).await });
                            state.sale.set(SaleScreen::Keypad);
                        }>"New sale"</button>
                </div>
                <div>
                    {match receipt {
                        Some(bytes) => view! {
                            <h2>"Receipt: the customer's wallet scans it"</h2>
                            <MessageOut kind=MessageKind::Receipt bytes preset=Preset::default() file_name="receipt.txt"/>
                        }.into_any(),
                        None => view! { <p class="hint" data-testid="receipt-pending">"Signing the receipt…"</p> }.into_any(),
                    }}
                </div>
            </div>
        </section>
    }
}

/// A large decline with the reason and what to tell the customer.
#[component]
fn Declined(decline: ops_wallet_engine::till::Decline, open: Option<SagaId>) -> impl IntoView {
    let state = expect_context::<PosState>();
    let retry_sale = open.clone();
    let retry = move |_| {
        let Some(sale) = retry_sale.clone() else {
            return;
        };
        state.run(move |t| async move {
            state
                .sale
                .set(screens::sale_screen(Some(&t.sale(&sale).await?)));
            Ok(None)
        });
    };
    let cancel_sale = open.clone();
    let cancel = move |_| match cancel_sale.clone() {
        Some(sale) => state.run(move |t| async move {
            t.cancel(&sale).await?;
            crate::settings::remember_sale(None).await;
            crate::kiosk::release_wake_lock();
            state.sale.set(SaleScreen::Keypad);
            Ok(Some("Sale cancelled: nothing was charged.".into()))
        }),
        None => {
            spawn_local(crate::settings::remember_sale(None));
            crate::kiosk::release_wake_lock();
            state.sale.set(SaleScreen::Keypad);
        }
    };
    let can_retry = open.is_some();
    view! {
        <section class="decision declined" data-testid="declined" data-reason=decline.reason.code() role="alert">
            <p class="verdict">"✕ Declined"</p>
            <p class="big" data-testid="decline-reason">{decline.reason.cashier()}</p>
            <p data-testid="decline-customer">"Tell the customer: " {decline.reason.customer()}</p>
            {decline.reason.keeps_evidence().then(|| view! {
                <p class="hint">"The evidence (a fraud proof) is kept on this terminal for the bank."</p>
            })}
            <p class="hint">"Nothing was charged."</p>
            <div class="row">
                {can_retry.then(|| view! {
                    <button type="button" class="key charge" data-testid="try-again" autofocus on:click=retry>"Show the request again"</button>
                })}
                <button type="button" class="key clear" data-testid="decline-close" on:click=cancel>
                    {if can_retry { "Cancel sale" } else { "New sale" }}
                </button>
            </div>
        </section>
    }
}
