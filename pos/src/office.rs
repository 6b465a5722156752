//! The back office, behind the merchant PIN: the deposit queue and the sync, reports with
//! their exports, and the settings (request lifetime, PIN, kiosk mode).

use leptos::prelude::*;
use leptos::task::spawn_local;
use ops_wallet_engine::till::{Period, QueueEntry, Report, short_id};

use crate::app::{Office, Page, PosState};
use crate::keypad::format_minor;
use crate::pin::PinLock;
use crate::screens;
use crate::settings::{LIFETIMES, lifetime_words};
use crate::terminal::now;

/// Asks for the merchant PIN before the back office.
#[component]
pub fn Unlock() -> impl IntoView {
    let state = expect_context::<PosState>();
    let pin = RwSignal::new(String::new());
    let submit = move || {
        let mut settings = state.settings.get_untracked();
        let Some(mut lock) = settings.pin.clone() else {
            state.page.set(Page::Office(Office::Deposits));
            return;
        };
        let outcome = lock.check(&pin.get_untracked(), now());
        settings.pin = Some(lock);
        state.settings.set(settings.clone());
        pin.set(String::new());
        // The count of wrong tries is on disk before the answer shows: killing the browser
        // after a wrong guess does not reset the wait.
        spawn_local(async move {
            let kept = crate::settings::save(&settings).await;
            match outcome {
                Ok(()) => {
                    state.message.set(None);
                    state.page.set(Page::Office(Office::Deposits));
                }
                Err(e) => state.message.set(Some(crate::sentence(&e.to_string()))),
            }
            if let Err(e) = kept {
                state.message.set(Some(format!(
                    "This browser did not keep the PIN's state ({e}); check the browser's storage."
                )));
            }
        });
    };
    view! {
        <section class="unlock" data-testid="unlock">
            <h2>"Back office"</h2>
            <form on:submit=move |ev| { ev.prevent_default(); submit(); }>
                <label for="unlock-pin">"Merchant PIN"</label>
                <input id="unlock-pin" data-testid="unlock-pin" type="password" inputmode="numeric"
                    autocomplete="off" autofocus prop:value=pin on:input=move |ev| pin.set(event_target_value(&ev))/>
                <div class="row">
                    <button type="submit" class="key charge" data-testid="unlock-submit">"Open"</button>
                    <button type="button" class="key clear" data-testid="unlock-cancel"
                        on:click=move |_| { state.message.set(None); state.page.set(Page::Sale); }>"Back to selling"</button>
                </div>
            </form>
        </section>
    }
}

/// The back office's pages with their navigation.
#[component]
pub fn BackOffice(
    /// The page to show.
    page: Office,
) -> impl IntoView {
    let state = expect_context::<PosState>();
    let tab = move |p: Office, label: &'static str, id: &'static str| {
        view! {
            <button type="button" class="tab" data-testid=id aria-pressed=(p == page).to_string()
                on:click=move |_| state.page.set(Page::Office(p))>{label}</button>
        }
    };
    view! {
        <nav class="tabs" aria-label="Back office">
            {tab(Office::Deposits, "Deposits", "tab-deposits")}
            {tab(Office::Reports, "Reports", "tab-reports")}
            {tab(Office::Settings, "Settings", "tab-settings")}
            <button type="button" class="tab" data-testid="close-office"
                on:click=move |_| { state.message.set(None); state.page.set(Page::Sale); }>"Back to selling"</button>
        </nav>
        {match page {
            Office::Deposits => view! { <Deposits/> }.into_any(),
            Office::Reports => view! { <Reports/> }.into_any(),
            Office::Settings => view! { <Settings/> }.into_any(),
        }}
    }
}

/// The deposit queue: every accepted payment and where it stands, and "Deposit now".
#[component]
fn Deposits() -> impl IntoView {
    let state = expect_context::<PosState>();
    let queue = RwSignal::new(Vec::<QueueEntry>::new());
    let load = move || {
        if let Some(t) = state.terminal() {
            spawn_local(async move {
                if let Ok(q) = t.queue().await {
                    queue.set(q);
                }
            });
        }
    };
    load();
    let sync = move |_| {
        state.run(move |t| async move {
            let synced = t.sync().await;
            if let Ok(q) = t.queue().await {
                queue.set(q);
            }
            let mut words = match synced.uploads {
                0 => "Nothing was waiting to be deposited.".to_owned(),
                1 => "1 upload answered by the bank.".to_owned(),
                n => format!("{n} uploads answered by the bank."),
            };
            if synced.proofs_reported > 0 {
                words.push_str(&format!(
                    " {} double-spend proof{} reported to the bank.",
                    synced.proofs_reported,
                    if synced.proofs_reported == 1 { "" } else { "s" }
                ));
            }
            for n in synced.notices {
                words.push(' ');
                words.push_str(&crate::sentence(&n));
            }
            match synced.stopped {
                Some(e) => Err(format!("{words} {}", crate::sentence(&e))),
                None => Ok(Some(words)),
            }
        });
    };
    view! {
        <section class="deposits" data-testid="deposits">
            <h2>"Deposits"</h2>
            <p data-testid="deposit-status">{move || state.status.get()}</p>
            <button type="button" class="key charge" data-testid="sync"
                disabled=move || state.busy.get() on:click=sync>"Deposit now"</button>
            <table data-testid="queue">
                <caption>"Accepted payments, newest first"</caption>
                <thead><tr><th scope="col">"Accepted"</th><th scope="col">"Payment"</th><th scope="col">"Amount"</th><th scope="col">"Deposit"</th></tr></thead>
                <tbody>
                    {move || queue.get().into_iter().map(|e| view! {
                        <tr data-testid="queue-row" data-status=e.status.code()>
                            <td>{ops_wallet_engine::till::report::iso_utc(e.accepted_at)}</td>
                            <td>{short_id(&e.payment)}</td>
                            <td>{format_minor(e.amount, &e.currency)}</td>
                            <td>{screens::deposit_words(&e.status)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// The periods the reports offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    Today,
    Yesterday,
    Week,
    Month,
    /// The dates the merchant typed.
    Custom,
}

impl Span {
    const ALL: [Span; 5] = [
        Span::Today,
        Span::Yesterday,
        Span::Week,
        Span::Month,
        Span::Custom,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Today => "Today",
            Self::Yesterday => "Yesterday",
            Self::Week => "Last 7 days",
            Self::Month => "Last 30 days",
            Self::Custom => "Dates…",
        }
    }

    fn period(self, now: u64, offset: i64) -> Period {
        let today = Period::day_of(now, offset);
        match self {
            Self::Today => today,
            Self::Yesterday => Period::new(today.from.saturating_sub(86_400), today.from),
            Self::Week => Period::new(today.to.saturating_sub(7 * 86_400), today.to),
            Self::Month => Period::new(today.to.saturating_sub(30 * 86_400), today.to),
            Self::Custom => today,
        }
    }
}

/// Local midnight at the start of `date` (`YYYY-MM-DD`, as a date field gives it), in
/// Unix seconds.
fn local_midnight(date: &str) -> Option<u64> {
    let ms =
        js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&format!("{date}T00:00"))).get_time();
    (ms.is_finite() && ms >= 0.0).then(|| (ms / 1000.0) as u64)
}

/// The period from the start of `from` to the end of `to` (local days), if both read.
fn typed_period(from: &str, to: &str) -> Option<Period> {
    let start = local_midnight(from)?;
    let end = local_midnight(to)? + 86_400;
    (end > start).then(|| Period::new(start, end))
}

/// The browser's offset from UTC in seconds (east positive).
fn utc_offset() -> i64 {
    -(js_sys::Date::new_0().get_timezone_offset() as i64) * 60
}

fn totals_words(totals: &[ops_wallet_engine::till::report::Total]) -> String {
    if totals.is_empty() {
        return "none".into();
    }
    totals
        .iter()
        .map(|t| {
            format!(
                "{} ({} payments)",
                format_minor(t.amount, &t.currency),
                t.count
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn download_link(text: &str, mime: &str) -> String {
    format!(
        "data:{mime};charset=utf-8,{}",
        String::from(js_sys::encode_uri_component(text))
    )
}

/// Totals of a period, declines by reason, deposits, and the exports.
#[component]
fn Reports() -> impl IntoView {
    let state = expect_context::<PosState>();
    let span = RwSignal::new(Span::Today);
    let report = RwSignal::new(None::<Report>);
    let csv = RwSignal::new(String::new());
    let json = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    Effect::new(move |_| {
        let period = match span.get() {
            Span::Custom => match typed_period(&from.get(), &to.get()) {
                Some(p) => p,
                None => return,
            },
            s => s.period(now(), utc_offset()),
        };
        if let Some(t) = state.terminal() {
            spawn_local(async move {
                match (
                    t.report(period).await,
                    t.export_csv(period).await,
                    t.export_json(period).await,
                ) {
                    (Ok(r), Ok(c), Ok(j)) => {
                        report.set(Some(r));
                        csv.set(c);
                        json.set(j);
                    }
                    (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                        state.message.set(Some(crate::sentence(&e)))
                    }
                }
            });
        }
    });
    view! {
        <section class="reports" data-testid="reports">
            <h2>"Reports"</h2>
            <div class="tabs" role="group" aria-label="Period">
                {Span::ALL.into_iter().map(|s| view! {
                    <button type="button" class="tab" aria-pressed=move || (span.get() == s).to_string()
                        on:click=move |_| span.set(s)>{s.label()}</button>
                }).collect_view()}
            </div>
            {move || (span.get() == Span::Custom).then(|| view! {
                <div class="row">
                    <label for="report-from">"From"</label>
                    <input id="report-from" data-testid="report-from" type="date"
                        prop:value=from on:input=move |ev| from.set(event_target_value(&ev))/>
                    <label for="report-to">"To (included)"</label>
                    <input id="report-to" data-testid="report-to" type="date"
                        prop:value=to on:input=move |ev| to.set(event_target_value(&ev))/>
                </div>
            })}
            {move || report.get().map(|r| view! {
                <dl data-testid="report">
                    <dt>"Approved"</dt><dd data-testid="report-approved">{totals_words(&r.approved)}</dd>
                    <dt>"Declined attempts"</dt><dd data-testid="report-declined">{r.declined.to_string()}</dd>
                    {r.declines.iter().map(|d| view! {
                        <dt class="sub">{d.reason.cashier()}</dt><dd>{d.count.to_string()}</dd>
                    }).collect_view()}
                    <dt>"Credited"</dt><dd>{totals_words(&r.deposits.credited)}</dd>
                    <dt>"Pending deposit"</dt><dd>{totals_words(&r.deposits.pending)}</dd>
                    <dt>"Held by the bank"</dt><dd>{totals_words(&r.deposits.disputed)}</dd>
                    <dt>"Refused by the bank"</dt><dd>{totals_words(&r.deposits.refused)}</dd>
                    <dt>"Awaiting deposit (all time)"</dt><dd data-testid="report-awaiting">{totals_words(&r.awaiting)}</dd>
                </dl>
            })}
            <p class="row">
                <a class="button secondary" data-testid="export-csv" download="sales.csv"
                    href=move || download_link(&csv.get(), "text/csv")>"Export CSV"</a>
                <a class="button secondary" data-testid="export-json" download="sales.json"
                    href=move || download_link(&json.get(), "application/json")>"Export JSON"</a>
            </p>
        </section>
    }
}

/// Request lifetime, PIN, kiosk mode and who the terminal is.
#[component]
fn Settings() -> impl IntoView {
    let state = expect_context::<PosState>();
    let pin = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let set_lifetime = move |ev: leptos::ev::Event| {
        if let Ok(seconds) = event_target_value(&ev).parse::<u64>() {
            let mut s = state.settings.get_untracked();
            s.request_lifetime = seconds;
            state.save_settings(s);
            state.message.set(Some(format!(
                "New requests stay open for {}.",
                lifetime_words(seconds)
            )));
        }
    };
    let change_pin = move |_| {
        let mut salt = [0u8; 16];
        if getrandom::getrandom(&mut salt).is_err() {
            return;
        }
        match PinLock::new(&pin.get_untracked(), &again.get_untracked(), salt) {
            Ok(lock) => {
                let mut s = state.settings.get_untracked();
                s.pin = Some(lock);
                state.save_settings(s);
                state.message.set(Some("The PIN is changed.".into()));
            }
            Err(e) => state.message.set(Some(crate::sentence(&e.to_string()))),
        }
        pin.set(String::new());
        again.set(String::new());
    };
    let toggle_kiosk = move |_| {
        let mut s = state.settings.get_untracked();
        s.kiosk = !s.kiosk;
        let on = s.kiosk;
        state.save_settings(s);
        if on {
            spawn_local(async move {
                let full = crate::kiosk::enter_fullscreen().await;
                state.message.set(Some(if full {
                    "Kiosk mode on: full screen, and leaving the page asks first.".into()
                } else {
                    "Kiosk mode on: leaving the page asks first. This browser refused full screen; use its kiosk mode.".into()
                }));
            });
        } else {
            crate::kiosk::exit_fullscreen();
            state.message.set(Some("Kiosk mode off.".into()));
        }
    };
    let info = move || state.info.get();
    view! {
        <section class="settings" data-testid="pos-settings">
            <h2>"Settings"</h2>
            {move || info().map(|i| view! {
                <p data-testid="terminal-who">{format!(
                    "Certified for “{}” (account {}), currency {}, terminal certificate {}.",
                    i.merchant, i.account_id, i.currency, i.cert_id
                )}</p>
            })}
            <label for="lifetime">"A payment request stays open for"</label>
            <select id="lifetime" data-testid="lifetime" on:change=set_lifetime>
                {LIFETIMES.into_iter().map(|s| view! {
                    <option value=s.to_string() selected=move || state.settings.get().request_lifetime == s>{lifetime_words(s)}</option>
                }).collect_view()}
            </select>
            <h3>"Change the PIN"</h3>
            <label for="new-pin">"New PIN (4 to 8 digits)"</label>
            <input id="new-pin" data-testid="new-pin" type="password" inputmode="numeric" autocomplete="off"
                prop:value=pin on:input=move |ev| pin.set(event_target_value(&ev))/>
            <label for="new-pin-again">"The same PIN again"</label>
            <input id="new-pin-again" data-testid="new-pin-again" type="password" inputmode="numeric" autocomplete="off"
                prop:value=again on:input=move |ev| again.set(event_target_value(&ev))/>
            <button type="button" class="secondary" data-testid="change-pin" on:click=change_pin>"Change PIN"</button>
            <h3>"Kiosk mode"</h3>
            <p>{move || if state.settings.get().kiosk {
                "On: full screen, the screen stays on during a sale, leaving the page asks first."
            } else {
                "Off: the terminal is an ordinary page."
            }}</p>
            <button type="button" class="secondary" data-testid="toggle-kiosk" on:click=toggle_kiosk>
                {move || if state.settings.get().kiosk { "Leave kiosk mode" } else { "Enter kiosk mode (full screen)" }}
            </button>
        </section>
    }
}
