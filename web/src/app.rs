//! The wallet's components.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use crate::amounts;
use crate::screens::{ACTIONS, Screen};
use crate::wallet::Wallet;
use leptos::ev::keydown;
use leptos::prelude::*;
use leptos::task::spawn_local;
use ops_browser::ui::Shell;
use ops_wallet_engine::types::Settings;

/// What the home screen shows, read from the wallet's store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// The storage is open.
    pub ready: bool,
    /// A certified device is set up.
    pub onboarded: bool,
    /// Spendable offline, formatted.
    pub spendable: String,
    /// Reserved or handed over and not confirmed, formatted (empty when none).
    pub pending: String,
    /// The currency of the wallet's FI.
    pub currency: String,
    /// "Last synced 2 hours ago".
    pub last_sync: String,
    /// Warnings before notes or the certificate expire, each with what to do.
    pub warnings: Vec<String>,
    /// This device's certificate in one sentence.
    pub device: String,
    /// A payment waiting for approval or for the payee, in words (empty when none).
    pub open_payment: String,
}

/// The wallet and what the screens show of it, provided by context.
#[derive(Clone, Copy)]
pub struct WalletState {
    wallet: RwSignal<Option<Rc<Wallet>>, LocalStorage>,
    /// The wallet's settings (QR preset, camera).
    pub settings: RwSignal<Settings>,
    /// What the home screen shows.
    pub view: RwSignal<View>,
    /// The last outcome or error, in plain words.
    pub message: RwSignal<Option<String>>,
    /// A flow is running (buttons disabled).
    pub busy: RwSignal<bool>,
}

impl WalletState {
    fn new() -> Self {
        let state = Self {
            wallet: RwSignal::new_local(None),
            settings: RwSignal::new(Settings::default()),
            view: RwSignal::new(View::default()),
            message: RwSignal::new(None),
            busy: RwSignal::new(false),
        };
        spawn_local(async move {
            match Wallet::open().await {
                Ok(w) => {
                    let w = Rc::new(w);
                    state.wallet.set(Some(Rc::clone(&w)));
                    state.settings.set(w.settings().await);
                    state.refresh(&w).await;
                    if !w.recovered().is_empty() {
                        state.message.set(Some(w.recovered().join(" ")));
                    }
                }
                Err(e) => state.message.set(Some(e)),
            }
        });
        state
    }

    /// The wallet, once its storage is open.
    pub fn wallet(self) -> Option<Rc<Wallet>> {
        self.wallet.get_untracked()
    }

    /// Runs `read` once, as soon as the wallet's storage is open: after a reload a screen
    /// comes back before its storage does, and must not decide on an empty wallet.
    pub fn when_open(self, read: impl Fn(Rc<Wallet>) + 'static) {
        Effect::new(move |done: Option<bool>| {
            if done == Some(true) {
                return true;
            }
            match self.wallet.get() {
                Some(w) => {
                    read(w);
                    true
                }
                None => false,
            }
        });
    }

    async fn refresh(self, w: &Wallet) {
        let onboarded = w.onboarded().await;
        let summary = w.summary().await;
        let mut view = View {
            ready: true,
            onboarded,
            currency: "EUR".into(),
            ..View::default()
        };
        view.device = w.device_words().await;
        view.open_payment = match w.open_payment().await {
            Some(p) => crate::wallet::describe_request(&p.request)
                .map(|d| match p.payment {
                    Some(_) => format!("{d}: handed over, waiting for the payee. Open Pay to show it again or confirm."),
                    None => format!("{d}: waiting for your approval. Open Pay to approve or cancel."),
                })
                .unwrap_or_default(),
            None => String::new(),
        };
        let now = crate::wallet::now();
        match summary {
            Ok(s) => {
                view.last_sync = crate::home::last_sync_words(s.last_sync, now);
                view.warnings = crate::home::warnings(&s, now);
                if w.revoked().await {
                    view.warnings.insert(
                        0,
                        "This device was revoked by your bank (reported lost, replaced or misused): payees refuse its payments. Return to your bank with your recovery code.".into(),
                    );
                }
                if let Some(a) = s.amounts.first() {
                    view.currency = a.currency.clone();
                    view.spendable = amounts::format(a.spendable, &a.currency);
                    let pending = a.reserved + a.handed_over;
                    if pending > 0 {
                        view.pending = amounts::format(pending, &a.currency);
                    }
                } else {
                    view.spendable = amounts::format(0, &view.currency);
                }
            }
            Err(e) => self.message.set(Some(e)),
        }
        self.view.set(view);
    }

    /// Runs a flow on the wallet, then refreshes the view; `done` or its error becomes the
    /// message.
    pub fn run<F, Fut>(self, done: &'static str, flow: F)
    where
        F: FnOnce(Rc<Wallet>) -> Fut + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + 'static,
    {
        self.run_said(move |w| async move { flow(w).await.map(|()| done.to_owned()) });
    }

    /// Runs a flow that says in its own words how it went.
    pub fn run_said<F, Fut>(self, flow: F)
    where
        F: FnOnce(Rc<Wallet>) -> Fut + 'static,
        Fut: std::future::Future<Output = Result<String, String>> + 'static,
    {
        let Some(w) = self.wallet.get_untracked() else {
            self.message.set(Some(
                "the wallet is still opening its storage; try again in a moment".into(),
            ));
            return;
        };
        // Boxed, so the shared part below exists once in the bundle rather than once per
        // flow.
        let flow: Pin<Box<dyn Future<Output = Result<String, String>>>> =
            Box::pin(flow(Rc::clone(&w)));
        self.finish(w, flow);
    }

    /// Marks the app busy, awaits `flow`, refreshes the view and says how it went.
    fn finish(self, w: Rc<Wallet>, flow: Pin<Box<dyn Future<Output = Result<String, String>>>>) {
        self.busy.set(true);
        self.message.set(None);
        spawn_local(async move {
            let outcome = flow.await;
            self.refresh(&w).await;
            self.message.set(Some(match outcome {
                Ok(said) => said,
                Err(e) => e,
            }));
            self.busy.set(false);
        });
    }
}

/// The whole wallet app.
#[component]
pub fn App() -> impl IntoView {
    let (screen, set_screen) = signal(crate::screens::from_location());
    Effect::new(move |_| crate::screens::to_location(screen.get()));
    let state = WalletState::new();
    provide_context(state);
    // A message belongs to the screen it was said on (a flow that ends later still says
    // how it went).
    Effect::new(move |previous: Option<Screen>| {
        let now = screen.get();
        if previous.is_some_and(|p| p != now) && !state.busy.get_untracked() {
            state.message.set(None);
        }
        now
    });
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
                <Message/>
                {move || match screen.get() {
                    Screen::Home => view! { <Home set_screen/> }.into_any(),
                    Screen::AddMoney => view! { <AddMoney set_screen/> }.into_any(),
                    Screen::Pay => view! { <crate::pay::Pay set_screen/> }.into_any(),
                    Screen::Receive => view! { <crate::receive::Receive set_screen/> }.into_any(),
                    Screen::Settings => view! { <crate::settings::SettingsScreen set_screen/> }.into_any(),
                    Screen::Activity => view! { <Activity set_screen/> }.into_any(),
                }}
            </main>
        </Shell>
    }
}

/// The last outcome or error of a flow.
#[component]
fn Message() -> impl IntoView {
    let state = expect_context::<WalletState>();
    move || {
        state.message.get().map(|m| {
            view! { <p class="banner" role="status" data-testid="message">{m}</p> }
        })
    }
}

/// Balance card, set-up, and the primary actions.
#[component]
fn Home(set_screen: WriteSignal<Screen>) -> impl IntoView {
    let state = expect_context::<WalletState>();
    let view = state.view;
    let (name, set_name) = signal(String::from("My wallet"));
    let setup = move |_| {
        let name = name.get_untracked();
        state.run_said(move |w| async move { w.onboard(&name).await });
    };
    let (joining, set_joining) = signal(false);
    let (account_no, set_account_no) = signal(String::new());
    let (code, set_code) = signal(String::new());
    let join = move |_| {
        let name = name.get_untracked();
        let code = code.get_untracked();
        match account_no.get_untracked().trim().parse::<i64>() {
            Ok(account) => state.run_said(move |w| async move { w.join(account, &code, &name).await }),
            Err(_) => state.message.set(Some(
                "the account number is the number your bank showed you (digits only); type it again".into(),
            )),
        }
    };
    let sync = move |_| state.run_said(|w| async move { w.sync().await });
    view! {
        <section class="balance" aria-label="Balance" data-testid="balance">
            <p class="label">"Available offline"</p>
            <p class="amount" aria-live="polite" data-testid="spendable">
                {move || {
                    let v = view.get();
                    if v.onboarded { v.spendable } else { "—".to_owned() }
                }}
            </p>
            {move || {
                let v = view.get();
                (!v.pending.is_empty())
                    .then(|| view! { <p class="hint" data-testid="pending">"Waiting for confirmation: " {v.pending}</p> })
            }}
            {move || {
                let v = view.get();
                (!v.open_payment.is_empty())
                    .then(|| view! { <p class="hint" data-testid="open-payment">{v.open_payment}</p> })
            }}
            {move || {
                let v = view.get();
                v.onboarded.then(|| view! { <p class="hint" data-testid="last-sync">{v.last_sync}</p> })
            }}
            {move || {
                let v = view.get();
                (!v.warnings.is_empty()).then(|| view! {
                    <ul class="warnings" data-testid="home-warnings">
                        {v.warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
                    </ul>
                })
            }}
            {move || {
                let v = view.get();
                (v.ready && !v.onboarded).then(|| view! {
                    <p class="hint">"Not set up yet. Set up this wallet with your bank to add money."</p>
                    <p class="hint">"Banking elsewhere? " <a href="/api/v1/banks" data-testid="choose-bank">"Choose your bank"</a></p>
                    <label for="wallet-name">"Name of this wallet"</label>
                    <input id="wallet-name" data-testid="wallet-name" prop:value=name
                        on:input=move |ev| set_name.set(event_target_value(&ev))/>
                    <button type="button" data-testid="setup" disabled=move || state.busy.get()
                        on:click=setup>"Set up with my bank"</button>
                    <button type="button" class="secondary" data-testid="have-account"
                        on:click=move |_| set_joining.set(true)>"I already have an account (new phone)"</button>
                    {move || joining.get().then(|| view! {
                        <label for="account-no">"Account number"</label>
                        <input id="account-no" data-testid="account-no" inputmode="numeric"
                            prop:value=account_no on:input=move |ev| set_account_no.set(event_target_value(&ev))/>
                        <label for="recovery-code">"Recovery code"</label>
                        <input id="recovery-code" data-testid="recovery-code" autocomplete="off"
                            prop:value=code on:input=move |ev| set_code.set(event_target_value(&ev))/>
                        <button type="button" data-testid="join" disabled=move || state.busy.get()
                            on:click=join>"Add this phone to my account"</button>
                    })}
                })
            }}
            {move || view.get().onboarded.then(|| view! {
                <button type="button" class="secondary" data-testid="sync"
                    disabled=move || state.busy.get() on:click=sync>"Sync now"</button>
            })}
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
        <p class="row">
            <button type="button" class="secondary" data-testid="open-settings" aria-keyshortcuts="s"
                on:click=move |_| set_screen.set(Screen::Settings)>"Settings"</button>
        </p>
    }
}

/// Load money from the account (online).
#[component]
fn AddMoney(set_screen: WriteSignal<Screen>) -> impl IntoView {
    let state = expect_context::<WalletState>();
    let (amount, set_amount) = signal(String::new());
    let load = move |_| {
        let currency = state.view.get_untracked().currency;
        match amounts::parse(&amount.get_untracked(), &currency) {
            Ok(minor) => {
                let done = "Money added: it is spendable offline now.";
                state.run(done, move |w| async move { w.load(minor).await });
                set_screen.set(Screen::Home);
            }
            Err(e) => state.message.set(Some(format!("{e}"))),
        }
    };
    let (back_amount, set_back_amount) = signal(String::new());
    let unload = move |_| {
        let currency = state.view.get_untracked().currency;
        match amounts::parse(&back_amount.get_untracked(), &currency) {
            Ok(minor) => {
                let done = "Returned: the money is in your bank account.";
                state.run(done, move |w| async move { w.unload(minor).await });
                set_screen.set(Screen::Home);
            }
            Err(e) => state.message.set(Some(format!("{e}"))),
        }
    };
    view! {
        <section class="detail" data-testid="detail">
            <p>{Screen::AddMoney.prerequisite()}</p>
            {move || state.view.get().onboarded.then(|| view! {
                <label for="load-amount">"Amount (" {move || state.view.get().currency} ")"</label>
                <input id="load-amount" data-testid="amount" inputmode="decimal" placeholder="20.00"
                    prop:value=amount on:input=move |ev| set_amount.set(event_target_value(&ev))/>
                <button type="button" data-testid="load" disabled=move || state.busy.get()
                    on:click=load>"Add to this wallet"</button>
            })}
            {move || state.view.get().onboarded.then(|| view! {
                <h2>"Return money to your bank"</h2>
                <label for="unload-amount">"Amount (" {move || state.view.get().currency} ")"</label>
                <input id="unload-amount" data-testid="unload-amount" inputmode="decimal"
                    prop:value=back_amount on:input=move |ev| set_back_amount.set(event_target_value(&ev))/>
                <button type="button" class="secondary" data-testid="unload" disabled=move || state.busy.get()
                    on:click=unload>"Return to my account"</button>
            })}
            <button type="button" class="secondary" data-testid="back" aria-keyshortcuts="Escape"
                on:click=move |_| set_screen.set(Screen::Home)>"Back"</button>
        </section>
    }
}

/// Every payment in and out with where it stands; export as CSV or JSON.
#[component]
fn Activity(set_screen: WriteSignal<Screen>) -> impl IntoView {
    let state = expect_context::<WalletState>();
    let entries = RwSignal::new(Vec::<ops_wallet_engine::types::HistoryEntry>::new());
    state.when_open(move |w| {
        spawn_local(async move {
            match w.history().await {
                Ok(list) => entries.set(crate::history::newest_first(list)),
                Err(e) => state.message.set(Some(e)),
            }
        });
    });
    let data_url = |mime: &str, text: String| {
        format!(
            "data:{mime};charset=utf-8,{}",
            js_sys::encode_uri_component(&text)
        )
    };
    view! {
        <section class="detail" data-testid="detail">
            {move || entries.get().is_empty().then(|| view! { <p>{Screen::Activity.prerequisite()}</p> })}
            <ul class="history" data-testid="history">
                {move || entries.get().iter().map(|e| {
                    let rows = crate::history::details(e, &|t| crate::wallet::date_time(t));
                    view! {
                        <li>
                            <details>
                                <summary>{crate::history::line(e)}</summary>
                                <dl class="history-details">
                                    {rows.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                                </dl>
                            </details>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {move || (!entries.get().is_empty()).then(|| {
                let list = entries.get();
                let csv = data_url("text/csv", crate::history::to_csv(&list));
                let json = data_url("application/json", serde_json::to_string_pretty(&list).unwrap_or_default());
                view! {
                    <p class="exports">
                        <a href=csv download="wallet-history.csv" data-testid="export-csv">"Export CSV"</a>
                        " · "
                        <a href=json download="wallet-history.json" data-testid="export-json">"Export JSON"</a>
                    </p>
                }
            })}
            <button type="button" class="secondary" data-testid="back" aria-keyshortcuts="Escape"
                on:click=move |_| set_screen.set(Screen::Home)>"Back"</button>
        </section>
    }
}
