//! What the terminal remembers on this device besides its till: how long a request stays
//! open, the merchant PIN, whether kiosk mode is on, the sale on screen and the fraud
//! proofs the bank has answered for. Kept in IndexedDB (`ops_browser::kv`, database
//! `ops-pos`), which is on disk when a write completes: Chromium writes localStorage
//! lazily, and a tablet killed soon after its PIN was set would come back without one.

use ops_wallet_engine::SagaId;

use crate::pin::PinLock;

const DB: &str = "ops-pos";
const SETTINGS: &str = "settings";
/// Where settings lived before they moved to IndexedDB (read once, to carry a PIN over).
const LEGACY_KEY: &str = "ops-pos-settings";

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

/// The text under `key`, if any (one function for every key keeps the bundle small).
async fn read(key: &str) -> Option<String> {
    ops_browser::kv::get(DB, key).await.ok().flatten()
}

/// Stores `text` under `key`; returns once it is on disk.
async fn write(key: &str, text: &str) -> Result<(), String> {
    ops_browser::kv::put(DB, key, text)
        .await
        .map_err(|e| e.to_string())
}

/// The stored settings; those an earlier version kept in localStorage; or the defaults.
pub async fn load() -> PosSettings {
    let text = match read(SETTINGS).await {
        Some(text) => Some(text),
        None => web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item(LEGACY_KEY).ok().flatten()),
    };
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Stores `settings`; returns once they are on disk, or says why the browser refused.
pub async fn save(settings: &PosSettings) -> Result<(), String> {
    let text = serde_json::to_string(settings).map_err(|e| e.to_string())?;
    write(SETTINGS, &text).await
}

/// "5 minutes", "1 minute", "30 minutes".
pub fn lifetime_words(seconds: u64) -> String {
    match seconds / 60 {
        1 => "1 minute".into(),
        m => format!("{m} minutes"),
    }
}

const ON_SCREEN: &str = "sale-on-screen";
const DISMISSED: &str = "sale-dismissed";

/// Remembers the sale on screen (`None`: the cashier moved on), so a reload after its
/// approval shows the approval again until the cashier starts a new sale (finished sales
/// are not in recovery). Best effort: a lost note only hides an approval already stored.
pub async fn remember_sale(id: Option<&SagaId>) {
    let _ = write(ON_SCREEN, id.map_or("", |id| id.0.as_str())).await;
}

/// The cashier pressed "New sale" after approval `id`: a reload shows the keypad.
pub async fn dismiss_sale(id: &SagaId) {
    remember_sale(None).await;
    let _ = write(DISMISSED, &id.0).await;
}

/// The approval the cashier last dismissed, if any.
pub async fn dismissed_sale() -> Option<SagaId> {
    read(DISMISSED).await.filter(|t| !t.is_empty()).map(SagaId)
}

/// The sale last on screen, if the cashier has not moved on.
pub async fn remembered_sale() -> Option<SagaId> {
    read(ON_SCREEN).await.filter(|t| !t.is_empty()).map(SagaId)
}

const REPORTED: &str = "proofs-reported";

/// The kept fraud proofs (ids, hex, one per line) the bank has answered for. Losing this
/// list only makes the next sync report them again, which the bank answers as known.
pub async fn reported_proofs() -> Vec<String> {
    read(REPORTED)
        .await
        .map(|t| t.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Records that the bank answered for proof `id`.
pub async fn mark_reported(id: &str) {
    let mut list = reported_proofs().await;
    if !list.iter().any(|i| i == id) {
        list.push(id.to_owned());
        let _ = write(REPORTED, &list.join("\n")).await;
    }
}
