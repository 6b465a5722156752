//! The Pay screen: take the payee's request (camera, NFC, text or file), review it, approve
//! once, hand the payment over (animated QR, NFC, text or file) until the payee confirms.
//! Where it stands lives in the wallet's store, so a reload finds the same step and the
//! same payment bytes.

use crate::app::WalletState;
use crate::screens::Screen;
use crate::transfer::{MessageIn, MessageOut};
use crate::wallet::{self, OpenPayment};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ops_transport::MessageKind;
use ops_wallet_engine::review::RequestReview;
use ops_wallet_engine::{Event, SagaId};

/// Session-storage key of a request under review (nothing is reserved for it yet, so a
/// reload must not lose it either).
const REVIEWING: &str = "ops-wallet-reviewing";

/// Where the Pay screen stands.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    /// Reading the store.
    Loading,
    /// Waiting for a request.
    Take,
    /// A checked request, nothing reserved yet.
    Review {
        request: Vec<u8>,
        review: RequestReview,
    },
    /// Reserved, not approved: a reload came between the two.
    Interrupted {
        saga: SagaId,
        request: Vec<u8>,
        what: String,
    },
    /// Signed: the payment is shown until the payee confirms.
    Show {
        saga: SagaId,
        payment: Vec<u8>,
        what: String,
    },
    /// Confirmed or cancelled.
    Finished(String),
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.session_storage().ok().flatten())
}

fn remember_review(request: Option<&[u8]>) {
    if let Some(s) = session_storage() {
        let _ = match request {
            Some(r) => s.set_item(REVIEWING, &wallet::to_text(r)),
            None => s.remove_item(REVIEWING),
        };
    }
}

fn what_of(request: &[u8]) -> String {
    wallet::describe_request(request).unwrap_or_else(|e| e)
}

/// The Pay screen.
#[component]
pub fn Pay(
    /// Moves to another screen.
    set_screen: WriteSignal<Screen>,
) -> impl IntoView {
    let state = expect_context::<WalletState>();
    let stage = RwSignal::new(Stage::Loading);
    // Where the payment stands is read once the wallet's storage is open.
    state.when_open(move |w| {
        spawn_local(async move {
            let next = match w.open_payment().await {
                Some(OpenPayment {
                    saga,
                    request,
                    payment: Some(payment),
                }) => Stage::Show {
                    saga,
                    what: what_of(&request),
                    payment,
                },
                Some(OpenPayment { saga, request, .. }) => Stage::Interrupted {
                    saga,
                    what: what_of(&request),
                    request,
                },
                None => {
                    let pending = session_storage()
                        .and_then(|s| s.get_item(REVIEWING).ok().flatten())
                        .and_then(|t| wallet::from_text(&t).ok());
                    match pending {
                        Some(request) => match w.review(&request).await {
                            Ok(review) => Stage::Review { request, review },
                            Err(e) => {
                                remember_review(None);
                                state.message.set(Some(e));
                                Stage::Take
                            }
                        },
                        None => Stage::Take,
                    }
                }
            };
            stage.set(next);
        });
    });
    // A scan counts only while the screen waits for one: a camera still delivering after
    // the screen moved on (or a second read of the same code) changes nothing.
    let take = Callback::new(move |request: Vec<u8>| {
        if stage.get_untracked() != Stage::Take {
            return;
        }
        let Some(w) = state.wallet() else { return };
        spawn_local(async move {
            let review = w.review(&request).await;
            if stage.get_untracked() != Stage::Take {
                return;
            }
            match review {
                Ok(review) => {
                    state.message.set(None);
                    remember_review(Some(&request));
                    stage.set(Stage::Review { request, review });
                }
                Err(e) => state
                    .message
                    .set(Some(format!("{e}. Nothing was reserved or signed."))),
            }
        });
    });
    let on_error = Callback::new(move |e: String| state.message.set(Some(e)));
    let approve = move |request: Vec<u8>| {
        state.run(
            "Approved: show the payment to the payee.",
            move |w| async move {
                let (saga, payment) = w.pay(&request).await?;
                remember_review(None);
                stage.set(Stage::Show {
                    saga,
                    what: what_of(&request),
                    payment,
                });
                Ok(())
            },
        );
    };
    let tell = move |saga: SagaId, event: Event, done: &'static str| {
        state.run(done, move |w| async move {
            w.tell(&saga, event).await?;
            stage.set(Stage::Finished(done.to_owned()));
            Ok(())
        });
    };
    let preset = move || crate::settings::preset(&state.settings.get());
    let scan_receipt = RwSignal::new(false);
    view! {
        <section class="detail" data-testid="detail" data-stage=move || stage_name(&stage.get())>
            {move || match stage.get() {
                Stage::Loading => view! { <p>"Opening…"</p> }.into_any(),
                Stage::Take => view! {
                    <p>{Screen::Pay.prerequisite()}</p>
                    <MessageIn kind=MessageKind::PaymentRequest on_bytes=take on_error
                        what="The payee's request" camera=state.settings.get_untracked().camera/>
                }.into_any(),
                Stage::Review { request, review } => {
                    let amount = crate::amounts::format(review.amount, &review.currency);
                    view! {
                        <div class="confirm" data-testid="confirm">
                            <p class="amount" data-testid="confirm-amount">{amount}</p>
                            <p data-testid="confirm-text">"To " {review.who()}</p>
                            <p class="hint">"Valid for " {review.seconds_left / 60} " more minutes."</p>
                            <ul class="warnings" data-testid="warnings">
                                {review.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view()}
                            </ul>
                        </div>
                        <button type="button" data-testid="approve" disabled=move || state.busy.get()
                            on:click=move |_| approve(request.clone())>"Approve with my security key"</button>
                        <button type="button" class="secondary" data-testid="not-now"
                            on:click=move |_| { remember_review(None); stage.set(Stage::Take); }>"Do not pay"</button>
                    }.into_any()
                }
                Stage::Interrupted { saga, request, what } => {
                    let cancel_saga = saga.clone();
                    view! {
                        <p data-testid="interrupted">"This payment was interrupted before you approved it: " {what}
                            ". Nothing has left this wallet yet."</p>
                        <button type="button" data-testid="approve" disabled=move || state.busy.get()
                            on:click=move |_| approve(request.clone())>"Approve with my security key"</button>
                        <button type="button" class="secondary" data-testid="cancel-payment"
                            on:click=move |_| tell(cancel_saga.clone(), Event::Abort, "Cancelled: the money is back in your balance.")>
                            "Cancel this payment"</button>
                    }.into_any()
                }
                Stage::Show { saga, payment, what } => {
                    let confirm_saga = saga.clone();
                    let receipt_saga = saga.clone();
                    let on_receipt = Callback::new(move |bytes: Vec<u8>| {
                        tell(receipt_saga.clone(), Event::Receipt(bytes), "The payee's receipt confirms the payment.");
                    });
                    view! {
                        <p data-testid="show-what">{what}</p>
                        <p class="hint">"Let the payee scan this code until their screen says it is received."</p>
                        <MessageOut kind=MessageKind::Payment bytes=payment preset=preset() file_name="payment.txt"/>
                        <button type="button" data-testid="payee-has-it" disabled=move || state.busy.get()
                            on:click=move |_| tell(confirm_saga.clone(), Event::Confirmed, "Done: the payee has the payment.")>
                            "The payee has it"</button>
                        {move || if scan_receipt.get() {
                            view! { <MessageIn kind=MessageKind::Receipt on_bytes=on_receipt on_error what="The payee's receipt"/> }.into_any()
                        } else {
                            view! {
                                <button type="button" class="secondary" data-testid="scan-receipt"
                                    on:click=move |_| scan_receipt.set(true)>"The payee shows a receipt: scan it"</button>
                            }.into_any()
                        }}
                    }.into_any()
                }
                Stage::Finished(text) => view! { <p data-testid="finished">{text}</p> }.into_any(),
            }}
            <button type="button" class="secondary" data-testid="back" aria-keyshortcuts="Escape"
                on:click=move |_| set_screen.set(Screen::Home)>"Back"</button>
        </section>
    }
}

fn stage_name(stage: &Stage) -> &'static str {
    match stage {
        Stage::Loading => "loading",
        Stage::Take => "take",
        Stage::Review { .. } => "review",
        Stage::Interrupted { .. } => "interrupted",
        Stage::Show { .. } => "show",
        Stage::Finished(_) => "finished",
    }
}
