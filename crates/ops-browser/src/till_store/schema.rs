//! The till's database layout: its name, its version, and what `onupgradeneeded` creates.
//!
//! Version 1 (every record is a plain object: key and index fields, plus `v` holding the
//! engine's serde record packed with postcard as a `Uint8Array`, like the wallet's):
//!
//! | object store | key path | indexes | record |
//! |---|---|---|---|
//! | `till_sagas` | `id` (saga id) | `finished` (0 or 1) | `TillSagaRecord` |
//! | `till_payments` | `id` (payment id, hex) | `accepted_at` (`at`, 20 digits) | `AcceptedPayment` |
//! | `till_ledger` | `[note, from]` (hex, `from` as 20 digits) | | `LedgerEntry` |
//! | `till_queue` | `payment` (hex) | `status` (its code), `batch` (only while posting) | `QueueEntry` |
//! | `till_declines` | `id` | `at` (20 digits) | `Decline` |
//! | `till_proofs` | `id` (SHA-256 of the proof, hex) | | `KeptProof` |
//! | `till_trust` | `id`: `"identity"`, `"bundle"`, `"last_online"`, `"crl:<issuer hex>"` | | `TillIdentity`, `TrustBundle`, `u64`, CRL bytes (+ `number` as text) |
//!
//! Numbers that are keys, index keys or compared are zero-padded decimal text (20 digits
//! hold every `u64` and sort as numbers), never JS numbers, which lose `u64`s above 2^53.
//! A later version adds a branch to [`upgrade`] for `old_version < N`.

use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbObjectStoreParameters};

/// The database the till uses.
pub const DB_NAME: &str = "ops-till";
/// The schema version [`upgrade`] brings a database to.
pub const DB_VERSION: u32 = 1;

/// Sales and deposit uploads by id.
pub(crate) const SAGAS: &str = "till_sagas";
/// Sagas by `finished` (0 or 1).
pub(crate) const BY_FINISHED: &str = "finished";
/// Accepted payments by id.
pub(crate) const PAYMENTS: &str = "till_payments";
/// Payments by acceptance time.
pub(crate) const BY_ACCEPTED_AT: &str = "accepted_at";
/// The range ledger by `[note, from]`.
pub(crate) const LEDGER: &str = "till_ledger";
/// The deposit queue by payment.
pub(crate) const QUEUE: &str = "till_queue";
/// Queue entries by status code.
pub(crate) const BY_STATUS: &str = "status";
/// Queue entries posting in an upload, by the upload's saga id.
pub(crate) const BY_BATCH: &str = "batch";
/// The declines log by id.
pub(crate) const DECLINES: &str = "till_declines";
/// Declines by time.
pub(crate) const BY_AT: &str = "at";
/// Kept fraud proofs by id.
pub(crate) const PROOFS: &str = "till_proofs";
/// Identity, trust bundle, CRLs, last contact.
pub(crate) const TRUST: &str = "till_trust";

/// Every object store of the current version.
pub const STORES: [&str; 7] = [SAGAS, PAYMENTS, LEDGER, QUEUE, DECLINES, PROOFS, TRUST];

fn create(db: &IdbDatabase, name: &str, key: &JsValue) -> Result<web_sys::IdbObjectStore, JsValue> {
    let params = IdbObjectStoreParameters::new();
    params.set_key_path(key);
    db.create_object_store_with_optional_parameters(name, &params)
}

/// Brings the database from `old_version` to [`DB_VERSION`]; runs inside the
/// `versionchange` transaction (a thrown error aborts it and the open fails).
pub(crate) fn upgrade(db: &IdbDatabase, old_version: f64) -> Result<(), JsValue> {
    if old_version < 1.0 {
        let id = JsValue::from_str("id");
        create(db, SAGAS, &id)?.create_index_with_str(BY_FINISHED, "finished")?;
        create(db, PAYMENTS, &id)?.create_index_with_str(BY_ACCEPTED_AT, "at")?;
        create(db, LEDGER, &Array::of2(&"note".into(), &"from".into()))?;
        let queue = create(db, QUEUE, &JsValue::from_str("payment"))?;
        queue.create_index_with_str(BY_STATUS, "status")?;
        queue.create_index_with_str(BY_BATCH, "batch")?;
        create(db, DECLINES, &id)?.create_index_with_str(BY_AT, "at")?;
        create(db, PROOFS, &id)?;
        create(db, TRUST, &id)?;
    }
    Ok(())
}
