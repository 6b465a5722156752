//! The wallet's FI credentials in the browser: the passkey session token and the account
//! token the demo sign-up returned once (localStorage, this origin only).

const KEY: &str = "ops-wallet-fi-session";

/// What the wallet keeps to talk to its FI.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FiSession {
    /// The account's own token (from the sign-up), to log in again or register a device.
    pub account_token: String,
    /// The passkey session token (funding, deposits).
    pub session: String,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The stored session, if any.
pub fn load() -> Option<FiSession> {
    let text = storage()?.get_item(KEY).ok().flatten()?;
    serde_json::from_str(&text).ok()
}

/// Stores `session`; `false` if the browser refused (private mode without storage).
pub fn save(session: &FiSession) -> bool {
    let Ok(text) = serde_json::to_string(session) else {
        return false;
    };
    storage().is_some_and(|s| s.set_item(KEY, &text).is_ok())
}

/// Forgets the FI credentials of this browser (signing out); the wallet's value stays.
pub fn clear() {
    if let Some(s) = storage() {
        let _ = s.remove_item(KEY);
    }
}
