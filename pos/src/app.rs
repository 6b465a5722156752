//! The POS root: the terminal and what the screens show of it (by context), and which
//! page is on screen.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use ops_browser::ui::Shell;

use crate::office::{BackOffice, Unlock};
use crate::sale::Sale;
use crate::screens::{self, SaleScreen};
use crate::settings::{self, PosSettings};
use crate::setup::SetUp;
use crate::terminal::{Terminal, TerminalInfo};

/// What the POS shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Selling (keypad, request, decision).
    Sale,
    /// The PIN is asked before the back office.
    Unlock,
    /// The back office: deposits, reports, settings.
    Office(Office),
}

/// A back-office page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Office {
    /// The deposit queue and the sync.
    Deposits,
    /// Totals and exports.
    Reports,
    /// Request lifetime, PIN, kiosk mode, who the terminal is.
    Settings,
}

/// The terminal and what the screens show of it, provided by context.
#[derive(Clone, Copy)]
pub struct PosState {
    terminal: RwSignal<Option<Rc<Terminal>>, LocalStorage>,
    /// The storage is open (whether or not the terminal is set up).
    pub ready: RwSignal<bool>,
    /// Who the terminal is, once set up.
    pub info: RwSignal<Option<TerminalInfo>>,
    /// The sale on screen.
    pub sale: RwSignal<SaleScreen>,
    /// The status line.
    pub status: RwSignal<String>,
    /// The last outcome or error, in plain words.
    pub message: RwSignal<Option<String>>,
    /// A flow is running (buttons disabled).
    pub busy: RwSignal<bool>,
    /// The page on screen.
    pub page: RwSignal<Page>,
    /// The terminal's settings.
    pub settings: RwSignal<PosSettings>,
}

impl PosState {
    fn new() -> Self {
        let state = Self {
            terminal: RwSignal::new_local(None),
            ready: RwSignal::new(false),
            info: RwSignal::new(None),
            sale: RwSignal::new(SaleScreen::Keypad),
            status: RwSignal::new(String::new()),
            message: RwSignal::new(None),
            busy: RwSignal::new(false),
            page: RwSignal::new(Page::Sale),
            settings: RwSignal::new(PosSettings::default()),
        };
        spawn_local(async move {
            // The settings (and the PIN) are read before any page shows.
            state.settings.set(settings::load().await);
            match Terminal::open().await {
                Ok(t) => {
                    let t = Rc::new(t);
                    state.terminal.set(Some(Rc::clone(&t)));
                    state.refresh(&t).await;
                    // The open sale; else the sale on screen; else an approval of the
                    // last ten minutes the cashier has not dismissed (a killed browser
                    // may have lost the note of which sale was on screen).
                    let record = match t.open_sale().await {
                        Some(r) => Some(r),
                        None => match settings::remembered_sale().await {
                            Some(id) => t.sale(&id).await.ok(),
                            None => {
                                let dismissed = settings::dismissed_sale().await;
                                t.recent_approval(crate::terminal::now().saturating_sub(600))
                                    .await
                                    .filter(|r| dismissed.as_ref() != Some(&r.id))
                            }
                        },
                    };
                    state.sale.set(screens::sale_screen(record.as_ref()));
                    if !t.recovered().is_empty() {
                        state.message.set(Some(t.recovered().join(" ")));
                    }
                    state.ready.set(true);
                }
                Err(e) => state.message.set(Some(e)),
            }
        });
        state
    }

    /// The terminal, once its storage is open.
    pub fn terminal(self) -> Option<Rc<Terminal>> {
        self.terminal.get_untracked()
    }

    /// Reads who the terminal is and the status line again.
    pub async fn refresh(self, t: &Terminal) {
        self.info.set(t.info().await);
        match t.status().await {
            Ok(s) => self.status.set(screens::status_words(&s)),
            Err(_) => self.status.set(String::new()),
        }
    }

    /// The currency of the terminal's FI.
    pub fn currency(self) -> String {
        self.info
            .get_untracked()
            .map_or_else(|| "EUR".into(), |i| i.currency)
    }

    /// Runs a flow that says in its own words how it went, then refreshes the status.
    pub fn run<F, Fut>(self, flow: F)
    where
        F: FnOnce(Rc<Terminal>) -> Fut + 'static,
        Fut: Future<Output = Result<Option<String>, String>> + 'static,
    {
        let Some(t) = self.terminal() else {
            self.message.set(Some(
                "The terminal is still opening its storage; try again in a moment.".into(),
            ));
            return;
        };
        let flow: Pin<Box<dyn Future<Output = Result<Option<String>, String>>>> =
            Box::pin(flow(Rc::clone(&t)));
        self.busy.set(true);
        self.message.set(None);
        spawn_local(async move {
            let outcome = flow.await;
            self.refresh(&t).await;
            self.message.set(match outcome {
                Ok(said) => said,
                Err(e) => Some(crate::sentence(&e)),
            });
            self.busy.set(false);
        });
    }

    /// Shows the settings and stores them; says so if the browser refused.
    pub fn save_settings(self, next: PosSettings) {
        self.settings.set(next.clone());
        spawn_local(async move {
            if let Err(e) = settings::save(&next).await {
                self.message.set(Some(format!(
                    "This browser did not keep the settings ({e}); they last until the page closes. Check the browser's storage and save them again."
                )));
            }
        });
    }
}

/// Deposits every minute while the page is open and the browser is online, when no sale
/// is being decided; a sync that cannot reach the bank changes nothing.
fn background_sync(state: PosState) {
    let tick = move || {
        let online = web_sys::window().is_some_and(|w| w.navigator().on_line());
        if !online || state.busy.get_untracked() || state.info.get_untracked().is_none() {
            return;
        }
        if let Some(t) = state.terminal() {
            spawn_local(async move {
                let synced = t.sync().await;
                if synced.uploads > 0 || !synced.notices.is_empty() {
                    state.refresh(&t).await;
                }
                if !synced.notices.is_empty() {
                    state.message.set(Some(synced.notices.join(" ")));
                }
            });
        }
    };
    if let Ok(handle) = set_interval_with_handle(tick, std::time::Duration::from_secs(60)) {
        on_cleanup(move || handle.clear());
    }
}

/// The whole POS app.
#[component]
pub fn App() -> impl IntoView {
    let state = PosState::new();
    provide_context(state);
    background_sync(state);
    Effect::new(move |_| crate::kiosk::guard_navigation(state.settings.get().kiosk));
    // Full screen needs a gesture: in kiosk mode the first touch or key asks for it.
    let asked = StoredValue::new(false);
    let go_fullscreen = move || {
        if state.settings.get_untracked().kiosk && !asked.get_value() {
            asked.set_value(true);
            spawn_local(async {
                let _ = crate::kiosk::enter_fullscreen().await;
            });
        }
    };
    let touch = window_event_listener(leptos::ev::pointerdown, move |_| go_fullscreen());
    on_cleanup(move || touch.remove());
    let title = move || match state.info.get() {
        Some(i) => format!("{} · point of sale", i.merchant),
        None => "Point of sale".into(),
    };
    view! {
        <Shell test_id="pos-app" class="pos" title=title>
            <main class="pos-main" data-testid="pos-main">
                {move || {
                    if !state.ready.get() {
                        return view! { <p class="opening" data-testid="opening">"Opening the terminal…"</p> }.into_any();
                    }
                    if state.info.get().is_none() {
                        return view! { <SetUp/> }.into_any();
                    }
                    match state.page.get() {
                        Page::Sale => view! { <Sale/> }.into_any(),
                        Page::Unlock => view! { <Unlock/> }.into_any(),
                        Page::Office(page) => view! { <BackOffice page/> }.into_any(),
                    }
                }}
                <p class="message" role="status" aria-live="polite" data-testid="message">{move || state.message.get()}</p>
            </main>
            <p class="status-line" data-testid="status-line">{move || state.status.get()}</p>
        </Shell>
    }
}
