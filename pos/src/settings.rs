//! The terminal's settings on this device (localStorage): how long a request stays open,
//! the merchant PIN, and whether kiosk mode is on.

use crate::pin::PinLock;

const KEY: &str = "ops-pos-settings";

/// Shortest and longest request lifetime the settings offer, in seconds.
pub const LIFETIMES: [u64; 5] = [60, 120, 300, 600, 1800];

/// The terminal's settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PosSettings {
    /// Seconds a payment request stays open.
    pub request_lifetime: u64,
    /// The merchant PIN, once set.
    pub pin: Option<PinLock>,
    /// Kiosk mode: full screen, navigation away asks first.
    pub kiosk: bool,
}

impl Default for PosSettings {
    fn default() -> Self {
        Self {
            request_lifetime: 300,
            pin: None,
            kiosk: true,
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The stored settings, or the defaults.
pub fn load() -> PosSettings {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Stores `settings`; `false` if the browser refused.
pub fn save(settings: &PosSettings) -> bool {
    let Ok(text) = serde_json::to_string(settings) else {
        return false;
    };
    storage().is_some_and(|s| s.set_item(KEY, &text).is_ok())
}

/// "5 minutes", "1 minute", "30 minutes".
pub fn lifetime_words(seconds: u64) -> String {
    match seconds / 60 {
        1 => "1 minute".into(),
        m => format!("{m} minutes"),
    }
}

const ON_SCREEN: &str = "ops-pos-sale-on-screen";

/// Remembers the sale on screen, so a reload after its approval shows the approval
/// again until the cashier starts a new sale (finished sales are not in recovery).
pub fn remember_sale(id: &ops_wallet_engine::SagaId) {
    if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(id)) {
        let _ = s.set_item(ON_SCREEN, &text);
    }
}

/// The cashier moved on: nothing to show again after a reload.
pub fn forget_sale() {
    if let Some(s) = storage() {
        let _ = s.remove_item(ON_SCREEN);
    }
}

const DISMISSED: &str = "ops-pos-sale-dismissed";

/// The cashier pressed "New sale" after approval `id`: a reload shows the keypad.
pub fn dismiss_sale(id: &ops_wallet_engine::SagaId) {
    forget_sale();
    if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(id)) {
        let _ = s.set_item(DISMISSED, &text);
    }
}

/// The approval the cashier last dismissed, if any.
pub fn dismissed_sale() -> Option<ops_wallet_engine::SagaId> {
    let text = storage()?.get_item(DISMISSED).ok().flatten()?;
    serde_json::from_str(&text).ok()
}

/// The sale last on screen, if the cashier has not moved on.
pub fn remembered_sale() -> Option<ops_wallet_engine::SagaId> {
    let text = storage()?.get_item(ON_SCREEN).ok().flatten()?;
    serde_json::from_str(&text).ok()
}

const REPORTED: &str = "ops-pos-proofs-reported";

/// The kept fraud proofs (ids, hex) the bank has answered for. Losing this list only
/// makes the next sync report them again, which the bank answers as known.
pub fn reported_proofs() -> Vec<String> {
    storage()
        .and_then(|s| s.get_item(REPORTED).ok().flatten())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Records that the bank answered for proof `id`.
pub fn mark_reported(id: &str) {
    let mut list = reported_proofs();
    if !list.iter().any(|i| i == id) {
        list.push(id.to_owned());
    }
    if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(&list)) {
        let _ = s.set_item(REPORTED, &text);
    }
}
