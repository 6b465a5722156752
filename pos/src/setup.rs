//! Set-up, online and once: the merchant's account and token register this terminal's
//! key with the FI, and the merchant chooses the PIN of the back office.

use leptos::prelude::*;

use crate::app::PosState;
use crate::pin::PinLock;

/// The set-up page, shown until the terminal is registered.
#[component]
pub fn SetUp() -> impl IntoView {
    let state = expect_context::<PosState>();
    let account = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    let label = RwSignal::new(String::new());
    let pin = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    // Where the tablet has an authenticator, it holds the terminal's key by default.
    let has_authenticator = RwSignal::new(false);
    let passkey = RwSignal::new(true);
    leptos::task::spawn_local(async move {
        has_authenticator.set(ops_browser::webauthn::platform_authenticator_available().await);
    });
    let register = move |_| {
        let Ok(account_id) = account.get_untracked().trim().parse::<u64>() else {
            state.message.set(Some(
                "The account number is the digits your bank gave you; type it again.".into(),
            ));
            return;
        };
        let mut salt = [0u8; 16];
        if getrandom::getrandom(&mut salt).is_err() {
            state.message.set(Some(
                "This browser gives no random numbers; use another browser.".into(),
            ));
            return;
        }
        let lock = match PinLock::new(&pin.get_untracked(), &again.get_untracked(), salt) {
            Ok(l) => l,
            Err(e) => {
                state.message.set(Some(crate::sentence(&e.to_string())));
                return;
            }
        };
        let token = token.get_untracked();
        let label = Some(label.get_untracked()).filter(|l| !l.trim().is_empty());
        let use_passkey = has_authenticator.get_untracked() && passkey.get_untracked();
        state.run(move |t| async move {
            let merchant = t.set_up(account_id, &token, label, use_passkey).await?;
            let mut settings = state.settings.get_untracked();
            settings.pin = Some(lock);
            // The PIN is on disk before the terminal says it is ready.
            crate::settings::save(&settings).await.map_err(|e| {
                format!("the terminal is registered but this browser did not keep its PIN ({e}); set the PIN again in the back office")
            })?;
            state.settings.set(settings);
            Ok(Some(format!(
                "This terminal is registered: payers will see “{merchant}” as certified by your bank."
            )))
        });
    };
    view! {
        <section class="setup" data-testid="setup">
            <h2>"Set up this terminal"</h2>
            <p>"Once, with the network: your bank certifies this terminal for your business. After that it takes payments with no network at all."</p>
            <p class="hint">"Not with this bank? " <a href="/api/v1/banks" data-testid="choose-bank">"Choose your bank"</a></p>
            <label for="setup-account">"Merchant account number"</label>
            <input id="setup-account" data-testid="setup-account" inputmode="numeric" autocomplete="off"
                prop:value=account on:input=move |ev| account.set(event_target_value(&ev))/>
            <label for="setup-token">"Account token (from your bank)"</label>
            <input id="setup-token" data-testid="setup-token" type="password" autocomplete="off"
                prop:value=token on:input=move |ev| token.set(event_target_value(&ev))/>
            <label for="setup-label">"Name of this terminal (optional, e.g. Till 2)"</label>
            <input id="setup-label" data-testid="setup-label" maxlength="64" autocomplete="off"
                prop:value=label on:input=move |ev| label.set(event_target_value(&ev))/>
            <label for="setup-pin">"Merchant PIN for the back office (4 to 8 digits)"</label>
            <input id="setup-pin" data-testid="setup-pin" type="password" inputmode="numeric" autocomplete="off"
                prop:value=pin on:input=move |ev| pin.set(event_target_value(&ev))/>
            <label for="setup-pin-again">"The same PIN again"</label>
            <input id="setup-pin-again" data-testid="setup-pin-again" type="password" inputmode="numeric" autocomplete="off"
                prop:value=again on:input=move |ev| again.set(event_target_value(&ev))/>
            {move || has_authenticator.get().then(|| view! {
                <label class="choice" for="setup-passkey">
                    <input id="setup-passkey" data-testid="setup-passkey" type="checkbox"
                        prop:checked=passkey on:change=move |ev| passkey.set(event_target_checked(&ev))/>
                    " Keep the terminal's key in this tablet's authenticator (a passkey: each receipt asks for it)"
                </label>
            })}
            <button type="button" class="key charge" data-testid="setup-register"
                disabled=move || state.busy.get() on:click=register>"Register this terminal"</button>
        </section>
    }
}
