//! The database layout: its name, its version, and what `onupgradeneeded` creates.
//!
//! Version 2 (every record is a plain object: key fields, plus `v` holding the engine's
//! serde record packed with postcard, or canonical bytes, as a `Uint8Array`):
//!
//! | object store | key path | indexes | record |
//! |---|---|---|---|
//! | `notes` | `id` (note id, hex) | | `WalletNote` packed |
//! | `claims` | `[note, from]` (hex, `from` as 20 decimal digits) | `saga`, `note` | `Claim` packed |
//! | `spends` | `id` (SHA-256 of the bytes, hex) | | received spend bytes |
//! | `fraud` | `id` (SHA-256 of the bytes, hex) | | fraud proof bytes |
//! | `sagas` | `id` (saga id) | | `SagaRecord` packed (postcard) |
//! | `trust` | `id` (`"bundle"`) | | `TrustBundle` packed |
//! | `crls` | `issuer` (hex) | | CRL bytes, `number` as decimal text |
//! | `history` | `saga` | | `HistoryEntry` packed |
//! | `settings` | `id` (`"identity"`, `"settings"`) | | `Identity` / `Settings` packed |
//!
//! Numbers that are keys or compared (`from`, CRL numbers) are decimal text, not JS
//! numbers, so every `u64` survives exactly. A later version adds a branch to
//! `upgrade` for `old_version < N`; the browser runs it in the `versionchange`
//! transaction, all or nothing, and other tabs close their connection when asked
//! (`onversionchange`) and must reload.
//!
//! Version 1 (before 2026-12-01, never released) kept records as JSON text. Its data was
//! test data only, so the upgrade to 2 empties every store rather than carrying a JSON
//! decoder for every record type in the bundle.

use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbObjectStoreParameters};

/// The database the wallet uses.
pub const DB_NAME: &str = "ops-wallet";
/// The schema version `upgrade` brings a database to.
pub const DB_VERSION: u32 = 2;

/// Notes by id.
pub(crate) const NOTES: &str = "notes";
/// Range claims by `[note, from]`.
pub(crate) const CLAIMS: &str = "claims";
/// Claims by saga.
pub(crate) const BY_SAGA: &str = "saga";
/// Claims by note.
pub(crate) const BY_NOTE: &str = "note";
/// Received spends by hash.
pub(crate) const SPENDS: &str = "spends";
/// Fraud proofs by hash.
pub(crate) const FRAUD: &str = "fraud";
/// Saga records by id.
pub(crate) const SAGAS: &str = "sagas";
/// The trust bundle.
pub(crate) const TRUST: &str = "trust";
/// CRLs by issuer.
pub(crate) const CRLS: &str = "crls";
/// History by saga.
pub(crate) const HISTORY: &str = "history";
/// Identity and settings.
pub(crate) const SETTINGS: &str = "settings";

/// Every object store of the current version.
pub const STORES: [&str; 9] = [
    NOTES, CLAIMS, SPENDS, FRAUD, SAGAS, TRUST, CRLS, HISTORY, SETTINGS,
];

/// Brings the database from `old_version` to [`DB_VERSION`]; runs inside the
/// `versionchange` transaction (a thrown error aborts it and the open fails).
pub(crate) fn upgrade(db: &IdbDatabase, old_version: f64) -> Result<(), JsValue> {
    if (1.0..2.0).contains(&old_version) {
        // Pre-release test data (see the module docs): start empty.
        let existing = db.object_store_names();
        for name in STORES {
            if existing.contains(name) {
                db.delete_object_store(name)?;
            }
        }
    }
    if old_version < 2.0 {
        for (name, key) in [
            (NOTES, "id"),
            (SPENDS, "id"),
            (FRAUD, "id"),
            (SAGAS, "id"),
            (TRUST, "id"),
            (CRLS, "issuer"),
            (HISTORY, "saga"),
            (SETTINGS, "id"),
        ] {
            let params = IdbObjectStoreParameters::new();
            params.set_key_path(&JsValue::from_str(key));
            db.create_object_store_with_optional_parameters(name, &params)?;
        }
        let params = IdbObjectStoreParameters::new();
        params.set_key_path(&Array::of2(&"note".into(), &"from".into()));
        let claims = db.create_object_store_with_optional_parameters(CLAIMS, &params)?;
        claims.create_index_with_str(BY_SAGA, "saga")?;
        claims.create_index_with_str(BY_NOTE, "note")?;
    }
    Ok(())
}
