//! The merchant's FI credentials on this terminal: the account number and its token,
//! which authorize the terminal's deposits (localStorage, this origin only).

const KEY: &str = "ops-pos-merchant";

/// What the terminal keeps to deposit for its merchant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Merchant {
    /// The merchant's account at the FI.
    pub account_id: u64,
    /// The account's token (the FI's bearer credential for deposits).
    pub token: String,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The stored credentials, if any.
pub fn load() -> Option<Merchant> {
    let text = storage()?.get_item(KEY).ok().flatten()?;
    serde_json::from_str(&text).ok()
}

/// Stores `merchant`; `false` if the browser refused (private mode without storage).
pub fn save(merchant: &Merchant) -> bool {
    let Ok(text) = serde_json::to_string(merchant) else {
        return false;
    };
    storage().is_some_and(|s| s.set_item(KEY, &text).is_ok())
}
