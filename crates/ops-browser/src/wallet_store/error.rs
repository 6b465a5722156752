//! What can go wrong in IndexedDB, and what the user should do about it.
//!
//! The engine only knows [`StoreError`]; every [`IdbError`] reaches it as
//! [`StoreError::Backend`] with this module's text (the failure and the remedy).

use ops_wallet_engine::StoreError;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::DomException;

/// A failure of the browser's IndexedDB (not a refused batch: those are [`StoreError`]s).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdbError {
    /// No `window.indexedDB` (not in a page, or storage is disabled).
    #[error(
        "this browser offers no IndexedDB here (storage disabled, or not in a page): open the app in a normal window of a current browser"
    )]
    Unsupported,
    /// A browser call or request failed; `name` is the DOMException name.
    #[error("IndexedDB {op} failed ({name}: {message}): {}", remedy(name))]
    Dom {
        /// What the store was doing.
        op: &'static str,
        /// The DOMException name (`QuotaExceededError`, `InvalidStateError`, …).
        name: String,
        /// The browser's message.
        message: String,
    },
    /// A stored record does not decode (written by another version, or damaged).
    #[error(
        "the app's database holds a `{store}` record this version cannot read ({detail}): update the app; if that does not help, restore from your FI"
    )]
    Corrupt {
        /// The object store.
        store: &'static str,
        /// What did not decode.
        detail: String,
    },
    /// The commit was aborted by the browser (not by a guard); nothing was written.
    #[error("the browser aborted the commit ({0}); nothing was written: retry")]
    Aborted(String),
    /// [`IdbWalletStore::fail_next_apply`](super::IdbWalletStore::fail_next_apply) was
    /// called: the transaction was aborted after every write was issued.
    #[error("injected failure: the transaction was aborted after its writes")]
    Injected,
}

/// What to do about a DOMException, by name.
fn remedy(name: &str) -> &'static str {
    match name {
        "QuotaExceededError" => {
            "the device is out of storage for the app; free some space, then retry"
        }
        "InvalidStateError" => {
            "the app's database was closed (a newer version of the app opened it in another tab?); reload this page"
        }
        "VersionError" => {
            "the app's database is from a newer version of the app; reload to update the app"
        }
        "AbortError" => "the operation was aborted and wrote nothing; retry",
        "TransactionInactiveError" => "the commit timed out and wrote nothing; retry",
        "NotFoundError" => "the app's database lacks a part this version needs; reload the page",
        "DataError" | "DataCloneError" | "ConstraintError" => {
            "a record could not be stored; nothing was written; please report this"
        }
        _ => {
            "the browser's storage failed; reload the page, and restart the browser if it persists"
        }
    }
}

impl IdbError {
    /// Wraps a thrown value or an error event's `DOMException`.
    pub(crate) fn js(op: &'static str, value: &JsValue) -> Self {
        if let Some(e) = value.dyn_ref::<DomException>() {
            return Self::Dom {
                op,
                name: e.name(),
                message: e.message(),
            };
        }
        if let Some(e) = value.dyn_ref::<js_sys::Error>() {
            return Self::Dom {
                op,
                name: String::from(e.name()),
                message: String::from(e.message()),
            };
        }
        Self::Dom {
            op,
            name: "Error".into(),
            message: value.as_string().unwrap_or_else(|| format!("{value:?}")),
        }
    }

    /// A closure for `map_err` on a `web-sys` call.
    pub(crate) fn on(op: &'static str) -> impl Fn(JsValue) -> Self {
        move |value| Self::js(op, &value)
    }
}

impl From<IdbError> for StoreError {
    fn from(e: IdbError) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl From<crate::BrowserError> for IdbError {
    fn from(_: crate::BrowserError) -> Self {
        Self::Unsupported
    }
}
