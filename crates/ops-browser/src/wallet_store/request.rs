//! IndexedDB's event-based requests as futures, with nothing but `web-sys` and `js-sys`.
//!
//! A request's `success`/`error` handler is a `Promise`'s `resolve`/`reject`. The promise
//! reaction, the `JsFuture` wake-up and the poll of the waiting task are all microtasks,
//! and the browser runs microtasks right after the event handler returns, while the
//! transaction is still active: the next request of the same transaction can be issued
//! from Rust code after `.await`. Awaiting anything else (a timer, a fetch) would let the
//! transaction auto-commit, so the store's commit awaits nothing but these futures.

use js_sys::{Array, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbRequest, IdbTransaction};

use super::error::IdbError;

/// Waits for `req` to succeed and returns its `result`; its `DOMException` otherwise.
pub(crate) async fn request(op: &'static str, req: &IdbRequest) -> Result<JsValue, IdbError> {
    let promise = Promise::new(&mut |resolve, reject| {
        req.set_onsuccess(Some(&resolve));
        req.set_onerror(Some(&reject));
    });
    let outcome = JsFuture::from(promise).await;
    req.set_onsuccess(None);
    req.set_onerror(None);
    match outcome {
        Ok(_) => req.result().map_err(IdbError::on(op)),
        Err(_) => Err(match req.error() {
            Ok(Some(e)) => IdbError::js(op, &e),
            Ok(None) => IdbError::Aborted(format!("{op}: no error reported")),
            Err(e) => IdbError::js(op, &e),
        }),
    }
}

/// [`request`] for a request returning an array (`getAll`, `getAllKeys`).
pub(crate) async fn request_all(
    op: &'static str,
    req: &IdbRequest,
) -> Result<Vec<JsValue>, IdbError> {
    let value = request(op, req).await?;
    Ok(Array::from(&value).to_vec())
}

/// The end of a transaction: resolves on `complete`, rejects on `abort`.
///
/// Created right after the transaction so that its handlers are in place before any
/// request can finish (a `JsFuture` subscribes to its promise when it is made).
pub(crate) struct Completion {
    done: JsFuture,
}

impl Completion {
    /// Listens for the end of `tx`.
    pub(crate) fn of(tx: &IdbTransaction) -> Self {
        let promise = Promise::new(&mut |resolve, reject| {
            tx.set_oncomplete(Some(&resolve));
            tx.set_onabort(Some(&reject));
        });
        Self {
            done: JsFuture::from(promise),
        }
    }

    /// Waits until `tx` committed (`Ok`) or aborted (`Err`, with the browser's reason
    /// when it gave one).
    pub(crate) async fn wait(self, tx: &IdbTransaction) -> Result<(), IdbError> {
        let outcome = self.done.await;
        tx.set_oncomplete(None);
        tx.set_onabort(None);
        match outcome {
            Ok(_) => Ok(()),
            Err(_) => Err(match tx.error() {
                Some(e) => IdbError::js("commit", &e),
                None => IdbError::Aborted("aborted".into()),
            }),
        }
    }
}

/// Opens database `name` at `version`, running `upgrade(db, old_version)` inside the
/// `versionchange` transaction when it is new or older (a returned error aborts the
/// upgrade and the open fails). Waits while an older connection in another tab has not
/// closed yet (`blocked`). Shared by every database of the apps.
pub(crate) async fn open_database(
    name: &str,
    version: u32,
    upgrade: impl Fn(&web_sys::IdbDatabase, f64) -> Result<(), JsValue> + 'static,
) -> Result<web_sys::IdbDatabase, IdbError> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let req = super::factory()?
        .open_with_u32(name, version)
        .map_err(IdbError::on("open"))?;
    let during_upgrade = req.clone();
    let on_upgrade =
        Closure::<dyn FnMut(web_sys::IdbVersionChangeEvent) -> Result<(), JsValue>>::new(
            move |event: web_sys::IdbVersionChangeEvent| {
                let db: web_sys::IdbDatabase = during_upgrade.result()?.dyn_into()?;
                upgrade(&db, event.old_version())
            },
        );
    req.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let opened = request("open", &req).await;
    req.set_onupgradeneeded(None);
    drop(on_upgrade);
    opened?.dyn_into().map_err(|v| IdbError::js("open", &v))
}
