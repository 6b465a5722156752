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
    let sign_out = move |_| {
        crate::session::clear();
        state.message.set(Some(
            "Signed out: payments still work offline; sign in again to add money or sync.".into(),
        ));
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
            <button type="button" class="secondary" data-testid="sign-out" on:click=sign_out>"Sign out of my bank"</button>
            <button type="button" class="secondary" data-testid="back" aria-keyshortcuts="Escape"
                on:click=move |_| set_screen.set(Screen::Home)>"Back"</button>
        </section>
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
