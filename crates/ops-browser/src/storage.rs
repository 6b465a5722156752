//! Asking the browser to keep the app's storage (notes and ledgers live there).

use crate::{BrowserError, window};
use wasm_bindgen_futures::JsFuture;

/// Whether the browser keeps this app's storage under storage pressure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// The browser will not evict the storage without asking the user.
    Persistent,
    /// The browser may evict the storage when space runs low.
    BestEffort,
    /// The browser has no Storage API; storage is best-effort.
    Unsupported,
}

impl Persistence {
    /// One line for the user: what the state means and what to do.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Persistent => "Storage is persistent: the browser will not clear it on its own.",
            Self::BestEffort => {
                "Storage is not persistent: the browser may clear it when space runs low. Install the app to keep it."
            }
            Self::Unsupported => {
                "This browser cannot make storage persistent: keep the device online regularly to sync."
            }
        }
    }
}

/// Asks for persistent storage (`navigator.storage.persist()`) unless already granted.
pub async fn request_persistence() -> Result<Persistence, BrowserError> {
    let navigator = window()?.navigator();
    let has_storage = js_sys::Reflect::has(&navigator, &"storage".into()).unwrap_or(false);
    if !has_storage {
        return Ok(Persistence::Unsupported);
    }
    let manager = navigator.storage();
    if JsFuture::from(manager.persisted()?).await?.as_bool() == Some(true) {
        return Ok(Persistence::Persistent);
    }
    let granted = JsFuture::from(manager.persist()?).await?.as_bool() == Some(true);
    Ok(if granted {
        Persistence::Persistent
    } else {
        Persistence::BestEffort
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_tells_the_user_something_different() {
        let texts = [
            Persistence::Persistent.describe(),
            Persistence::BestEffort.describe(),
            Persistence::Unsupported.describe(),
        ];
        assert_ne!(texts[0], texts[1]);
        assert_ne!(texts[1], texts[2]);
        assert!(texts[1].contains("Install"));
    }
}
