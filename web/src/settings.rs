//! The Settings screen: QR speed for older phones, the camera to scan with, how amounts
//! are written, whether storage is kept, this device's certificate, signing out.

use crate::app::WalletState;
use crate::screens::Screen;
use leptos::prelude::*;
use leptos::task::spawn_local;
use ops_transport::Preset;
use ops_wallet_engine::types::Settings;

/// A QR speed and density the user can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresetChoice {
    /// Stored name.
    pub name: &'static str,
    /// What the user reads.
    pub label: &'static str,
    /// The preset.
    pub preset: Preset,
}

/// The choices, default first.
pub const PRESETS: [PresetChoice; 2] = [
    PresetChoice {
        name: "default",
        label: "Normal: recent phones (10 codes a second)",
        preset: Preset::DEFAULT,
    },
    PresetChoice {
        name: "slow",
        label: "Slow: older phones or poor light (bigger squares, 5 a second)",
        preset: Preset::SLOW,
    },
];

/// The preset the settings name (the default when unset or unknown).
pub fn preset(settings: &Settings) -> Preset {
    PRESETS
        .iter()
        .find(|p| Some(p.name) == settings.qr_preset.as_deref())
        .map_or(Preset::DEFAULT, |p| p.preset)
}

/// The Settings screen.
#[component]
pub fn SettingsScreen(
    /// Moves to another screen.
    set_screen: WriteSignal<Screen>,
) -> impl IntoView {
    let state = expect_context::<WalletState>();
    let cameras = RwSignal::new(Vec::<(String, String)>::new());
    spawn_local(async move {
        cameras.set(ops_transport_web::scanner::list_cameras().await);
    });
    let save = move |change: Box<dyn FnOnce(&mut Settings)>| {
        let mut next = state.settings.get_untracked();
        change(&mut next);
        state.settings.set(next.clone());
        if let Some(w) = state.wallet() {
            spawn_local(async move {
                if let Err(e) = w.save_settings(next).await {
                    state.message.set(Some(e));
                }
            });
        }
    };
    let currency = move || state.view.get().currency;
    let example = move || crate::amounts::format(123_450, &currency());
    let signed_in = RwSignal::new(crate::session::load().is_some());
    let sign_out = move |_| {
        crate::session::clear();
        signed_in.set(false);
        state.message.set(Some(
            "Signed out: payments still work offline; sign in again to add money or sync.".into(),
        ));
    };
    let sign_in = move |_| {
        state.run(
            "Signed in: you can add money and sync.",
            move |w| async move {
                w.sign_in().await?;
                signed_in.set(true);
                Ok(())
            },
        );
    };
    view! {
        <section class="detail settings" data-testid="detail">
            <fieldset>
                <legend>"QR code speed"</legend>
                {PRESETS.iter().map(|p| {
                    let name = p.name;
                    let id = format!("preset-{name}");
                    let (for_id, test_id) = (id.clone(), id.clone());
                    view! {
                        <label class="choice" for=for_id>
                            <input type="radio" name="preset" id=id data-testid=test_id
                                prop:checked=move || crate::settings::preset(&state.settings.get()) == p.preset
                                on:change=move |_| save(Box::new(move |s| s.qr_preset = Some(name.to_owned())))/>
                            {p.label}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <label for="camera-choice">"Camera for scanning"</label>
            <select id="camera-choice" data-testid="camera-choice" on:change=move |ev| {
                let v = event_target_value(&ev);
                save(Box::new(move |s| s.camera = (!v.is_empty()).then_some(v)));
            }>
                <option value="" selected=move || state.settings.get().camera.is_none()>"Let the phone choose (back camera)"</option>
                {move || cameras.get().into_iter().map(|(id, label)| {
                    let chosen = state.settings.get().camera.as_deref() == Some(id.as_str());
                    view! { <option value=id selected=chosen>{label}</option> }
                }).collect_view()}
            </select>
            <h2>"Amounts"</h2>
            <p data-testid="amount-format">"Amounts are in " {currency} " and written the same in every language, for example "
                {example} ", counted in the currency's smallest unit (ISO 4217)."</p>
            <h2>"Storage"</h2>
            <ops_browser::ui::StorageStatus/>
            <h2>"This device"</h2>
            <p data-testid="device-summary">{move || state.view.get().device}</p>
            <Account/>
            <Devices/>
            {move || if signed_in.get() {
                view! { <button type="button" class="secondary" data-testid="sign-out" on:click=sign_out>"Sign out of my bank"</button> }.into_any()
            } else {
                view! { <button type="button" data-testid="sign-in" disabled=move || state.busy.get()
                    on:click=sign_in>"Sign in to my bank (with this phone's passkey)"</button> }.into_any()
            }}
            <button type="button" class="secondary" data-testid="back" aria-keyshortcuts="Escape"
                on:click=move |_| set_screen.set(Screen::Home)>"Back"</button>
        </section>
    }
}

/// The account number and recovery code a new phone needs (shown on request).
#[component]
fn Account() -> impl IntoView {
    let state = expect_context::<WalletState>();
    let shown = RwSignal::new(None::<(u64, String)>);
    let reveal = move |_| {
        if let Some(w) = state.wallet() {
            spawn_local(async move {
                match w.recovery().await {
                    Some(r) => shown.set(Some(r)),
                    None => state.message.set(Some(
                        "this browser no longer holds the recovery code: ask your bank for a new one".into(),
                    )),
                }
            });
        }
    };
    view! {
        <h2>"Your account"</h2>
        <p class="hint">"A new phone joins your account with the account number and the recovery code. Keep them somewhere safe, never in a message."</p>
        {move || match shown.get() {
            Some((account, code)) => view! {
                <p data-testid="account-number">"Account number: " {account}</p>
                <p data-testid="recovery-code-shown">"Recovery code: " <code>{code}</code></p>
            }.into_any(),
            None => view! {
                <button type="button" class="secondary" data-testid="show-recovery" on:click=reveal>
                    "Show account number and recovery code"</button>
            }.into_any(),
        }}
    }
}

/// The account's devices; another one can be revoked when it is lost or replaced.
#[component]
fn Devices() -> impl IntoView {
    let state = expect_context::<WalletState>();
    let list = RwSignal::new(None::<Vec<ops_api::DeviceInfo>>);
    let load = move || {
        if let Some(w) = state.wallet() {
            spawn_local(async move {
                match w.devices().await {
                    Ok(l) => list.set(Some(l.devices)),
                    Err(e) => state.message.set(Some(format!(
                        "{e}. The list of your devices needs a connection to your bank."
                    ))),
                }
            });
        }
    };
    let revoke = move |cert: String, reason: ops_api::RevokeReason| {
        state.run(
            "Revoked: that device can no longer pay or be paid. Shops learn it as revocation lists travel.",
            move |w| async move {
                w.revoke(&cert, reason).await?;
                if let Ok(l) = w.devices().await {
                    list.set(Some(l.devices));
                }
                Ok(())
            },
        );
    };
    view! {
        <h2>"Your devices"</h2>
        <button type="button" class="secondary" data-testid="list-devices" on:click=move |_| load()>
            "Show my devices (online)"</button>
        {move || list.get().map(|devices| view! {
            <ul class="devices" data-testid="devices">
                {devices.into_iter().map(|d| {
                    let cert = d.cert_id.clone();
                    let name = d.self_declared_name.clone().or(d.name.clone())
                        .unwrap_or_else(|| format!("Device {}", d.serial));
                    let since = crate::wallet::date(d.registered);
                    let status = if d.current {
                        "this device".to_owned()
                    } else if d.revoked {
                        "revoked".to_owned()
                    } else {
                        "active".to_owned()
                    };
                    let can_revoke = !d.current && !d.revoked;
                    view! {
                        <li data-testid="device" data-cert=cert.clone()>
                            <span>{name} " · since " {since} " · " {status}</span>
                            {can_revoke.then(|| {
                                let lost = cert.clone();
                                let replaced = cert.clone();
                                view! {
                                    <button type="button" class="secondary" data-testid="revoke-lost"
                                        disabled=move || state.busy.get()
                                        on:click=move |_| revoke(lost.clone(), ops_api::RevokeReason::Lost)>"Lost or stolen: revoke"</button>
                                    <button type="button" class="secondary" data-testid="revoke-replaced"
                                        disabled=move || state.busy.get()
                                        on:click=move |_| revoke(replaced.clone(), ops_api::RevokeReason::Replaced)>"Replaced: revoke"</button>
                                }
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_name_picks_the_preset_and_anything_else_is_the_default() {
        let mut s = Settings::default();
        assert_eq!(preset(&s), Preset::DEFAULT);
        s.qr_preset = Some("slow".into());
        assert_eq!(preset(&s), Preset::SLOW);
        s.qr_preset = Some("warp".into());
        assert_eq!(preset(&s), Preset::DEFAULT);
        assert!(PRESETS.iter().all(|p| !p.label.is_empty()));
    }
}
