//! The merchant's FI credentials on this terminal: the account number and its token,
//! which authorize the terminal's deposits. Kept in IndexedDB (`ops-pos`), which is on disk
//! when the write completes: localStorage is written lazily, and a tablet killed right
//! after set-up lost its sign-in (found by the crash test).

const DB: &str = "ops-pos";
const KEY: &str = "merchant";

/// What the terminal keeps to deposit for its merchant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Merchant {
    /// The merchant's account at the FI.
    pub account_id: u64,
    /// The account's token (the FI's bearer credential for deposits).
    pub token: String,
}

/// The stored credentials, if any.
pub async fn load() -> Option<Merchant> {
    let text = ops_browser::kv::get(DB, KEY).await.ok().flatten()?;
    serde_json::from_str(&text).ok()
}

/// Stores `merchant`; an error says why the browser refused.
pub async fn save(merchant: &Merchant) -> Result<(), String> {
    let text = serde_json::to_string(merchant).map_err(|e| e.to_string())?;
    ops_browser::kv::put(DB, KEY, &text).await.map_err(|e| {
        format!("this browser did not keep the merchant's sign-in ({e}); set the terminal up again")
    })
}
