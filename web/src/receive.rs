//! The Receive screen: show a request (QR, NFC, text or file), take the payer's payment
//! (camera, NFC, text or file), verify it offline and store it before saying "received".
//! An open request is shown again, the same, after a reload.

use crate::amounts;
use crate::app::WalletState;
use crate::screens::Screen;
use crate::transfer::{MessageIn, MessageOut};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ops_transport::MessageKind;
use ops_wallet_engine::{Event, SagaId};

/// Where the Receive screen stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    Loading,
    /// Asking for the amount.
    Amount,
    /// The request is shown; waiting for the payment.
    Shown {
        saga: SagaId,
        request: Vec<u8>,
    },
    /// Received (verified and stored) or closed.
    Finished(String),
}

/// The Receive screen.
#[component]
pub fn Receive(
    /// Moves to another screen.
    set_screen: WriteSignal<Screen>,
) -> impl IntoView {
    let state = expect_context::<WalletState>();
    let stage = RwSignal::new(Stage::Loading);
    // An open request is looked up once the wallet's storage is open.
    state.when_open(move |w| {
        spawn_local(async move {
            stage.set(match w.open_request().await {
                Some((saga, request)) => Stage::Shown { saga, request },
                None => Stage::Amount,
            });
        });
    });
    let (amount, set_amount) = signal(String::new());
    let show = move |_| {
        let currency = state.view.get_untracked().currency;
        match amounts::parse(&amount.get_untracked(), &currency) {
            Ok(minor) => state.run("Show this request to the payer.", move |w| async move {
                let (saga, request) = w.receive(minor).await?;
                stage.set(Stage::Shown { saga, request });
                Ok(())
            }),
            Err(e) => state.message.set(Some(format!("{e}"))),
        }
    };
    let on_error = Callback::new(move |e: String| state.message.set(Some(e)));
    let preset = move || crate::settings::preset(&state.settings.get());
    view! {
        <section class="detail" data-testid="detail" data-stage=move || match stage.get() {
            Stage::Loading => "loading",
            Stage::Amount => "amount",
            Stage::Shown { .. } => "shown",
            Stage::Finished(_) => "finished",
        }>
            {move || match stage.get() {
                Stage::Loading => view! { <p>"Opening…"</p> }.into_any(),
                Stage::Amount => view! {
                    <p>{Screen::Receive.prerequisite()}</p>
                    <label for="receive-amount">"Amount (" {move || state.view.get().currency} ")"</label>
                    <input id="receive-amount" data-testid="receive-amount" inputmode="decimal"
                        prop:value=amount on:input=move |ev| set_amount.set(event_target_value(&ev))/>
                    <button type="button" data-testid="show-request" disabled=move || state.busy.get()
                        on:click=show>"Show request"</button>
                }.into_any(),
                Stage::Shown { saga, request } => {
                    let what = crate::wallet::describe_request(&request).unwrap_or_default();
                    let accept_saga = saga.clone();
                    let close_saga = saga.clone();
                    let on_payment = Callback::new(move |bytes: Vec<u8>| {
                        let saga = accept_saga.clone();
                        // Only while this request is the one shown and nothing runs.
                        let current = matches!(stage.get_untracked(), Stage::Shown { saga: ref s, .. } if *s == saga);
                        if !current || state.busy.get_untracked() {
                            return;
                        }
                        state.run("Payment received: it is in this wallet.", move |w| async move {
                            w.accept(&saga, bytes).await?;
                            stage.set(Stage::Finished("Payment received: it is in this wallet.".into()));
                            Ok(())
                        });
                    });
                    let close = move |_| {
                        let saga = close_saga.clone();
                        state.run("Request closed: nothing was received.", move |w| async move {
                            w.tell(&saga, Event::Abort).await?;
                            stage.set(Stage::Amount);
                            Ok(())
                        });
                    };
                    view! {
                        <p data-testid="request-what">{what.replace("Pay ", "Asking for ")}</p>
                        <p class="hint">"1. Let the payer scan this request."</p>
                        <MessageOut kind=MessageKind::PaymentRequest bytes=request preset=preset() file_name="request.txt"/>
                        <p class="hint">"2. Then take their payment: it is checked here, with no network."</p>
                        <MessageIn kind=MessageKind::Payment on_bytes=on_payment on_error what="The payer's payment"
                            camera=state.settings.get_untracked().camera/>
                        <button type="button" class="secondary" data-testid="close-request"
                            disabled=move || state.busy.get() on:click=close>"Close this request"</button>
                    }.into_any()
                }
                Stage::Finished(text) => view! { <p data-testid="finished">{text}</p> }.into_any(),
            }}
            <button type="button" class="secondary" data-testid="back" aria-keyshortcuts="Escape"
                on:click=move |_| set_screen.set(Screen::Home)>"Back"</button>
        </section>
    }
}
