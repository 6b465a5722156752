//! The wallet engine's store in IndexedDB: [`IdbWalletStore`] implements every read trait
//! of `ops_wallet_engine::store` and [`WalletStore::apply`].
//!
//! * [`schema`]: the database name, version, object stores and indexes (`onupgradeneeded`).
//! * `request`: IDB requests and transaction ends as futures (web-sys only).
//! * `records`: records as IDB values (key fields + the serde record as JSON text).
//! * `apply`: a batch in one `readwrite` transaction, guards read inside it.
//! * [`error`]: [`IdbError`], and its mapping to the engine's [`StoreError::Backend`].
//!
//! Each read is its own `readonly` transaction over one object store. The guards of
//! `apply` (saga versions, claim overlaps, release of signed claims) read through the
//! commit's own transaction, so two tabs over one database cannot both win. See
//! `docs/ENGINE.md` ("IndexedDB store").

mod apply;
pub mod error;
pub(crate) mod records;
pub(crate) mod request;

pub(crate) use request::{Completion, open_database, request as request_future};
pub mod schema;

use std::cell::Cell;

use ops_core::wallet::WalletNote;
use ops_wallet_engine::saga::SagaRecord;
use ops_wallet_engine::store::{
    Batch, HistoryStore, NoteStore, SagaStore, SettingsStore, StoreError, TrustStore, WalletStore,
};
use ops_wallet_engine::types::{Claim, HistoryEntry, Identity, SagaId, Settings, TrustBundle};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbFactory};

pub use error::IdbError;
pub use schema::{DB_NAME, DB_VERSION};

use apply::{BUNDLE_ID, IDENTITY_ID, SETTINGS_ID};
use request::{request, request_all};
use schema::{CLAIMS, CRLS, FRAUD, HISTORY, NOTES, SAGAS, SETTINGS, SPENDS, TRUST};

/// A connection to the wallet's IndexedDB database. Open one per tab; several handles
/// (tabs) over one database are safe: commits are serialised by the browser and guarded
/// by saga versions and claim checks. Dropping the handle closes the connection.
pub struct IdbWalletStore {
    db: IdbDatabase,
    name: String,
    fail_next: Cell<bool>,
    /// Closes this connection when another one wants to upgrade the schema.
    _on_version_change: Closure<dyn FnMut()>,
}

impl core::fmt::Debug for IdbWalletStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdbWalletStore")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The page's `indexedDB` (shared with the till's store).
pub(crate) fn factory() -> Result<IdbFactory, IdbError> {
    crate::window()?
        .indexed_db()
        .ok()
        .flatten()
        .ok_or(IdbError::Unsupported)
}

impl IdbWalletStore {
    /// Opens (creating or upgrading) the wallet's database, [`DB_NAME`].
    pub async fn open_default() -> Result<Self, IdbError> {
        Self::open(DB_NAME).await
    }

    /// Opens (creating or upgrading to [`DB_VERSION`]) the database `name`. Waits while
    /// an older connection in another tab has not closed yet (`blocked`).
    pub async fn open(name: &str) -> Result<Self, IdbError> {
        let db = open_database(name, DB_VERSION, schema::upgrade).await?;
        let to_close = db.clone();
        let on_version_change = Closure::<dyn FnMut()>::new(move || to_close.close());
        db.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
        Ok(Self {
            db,
            name: name.to_owned(),
            fail_next: Cell::new(false),
            _on_version_change: on_version_change,
        })
    }

    /// Deletes the database `name` (every note, saga and setting in it). Waits until
    /// every connection to it is closed.
    pub async fn delete(name: &str) -> Result<(), IdbError> {
        let req = factory()?
            .delete_database(name)
            .map_err(IdbError::on("delete database"))?;
        request("delete database", &req).await.map(drop)
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Makes the next [`WalletStore::apply`] issue its writes, then abort the transaction
    /// and fail with [`StoreError::Backend`] (a crash before the commit, for tests).
    pub fn fail_next_apply(&self) {
        self.fail_next.set(true);
    }

    /// Every record of one object store, in key order.
    async fn all(&self, store: &'static str) -> Result<Vec<JsValue>, IdbError> {
        let tx = self
            .db
            .transaction_with_str(store)
            .map_err(IdbError::on("begin read"))?;
        let req = tx
            .object_store(store)
            .and_then(|s| s.get_all())
            .map_err(IdbError::on("getAll"))?;
        request_all("getAll", &req).await
    }

    /// One record by key.
    async fn one(&self, store: &'static str, key: &JsValue) -> Result<Option<JsValue>, IdbError> {
        let tx = self
            .db
            .transaction_with_str(store)
            .map_err(IdbError::on("begin read"))?;
        let req = tx
            .object_store(store)
            .and_then(|s| s.get(key))
            .map_err(IdbError::on("get"))?;
        let v = request("get", &req).await?;
        Ok(if v.is_undefined() { None } else { Some(v) })
    }

    async fn all_packed<T: serde::de::DeserializeOwned>(
        &self,
        store: &'static str,
    ) -> Result<Vec<T>, StoreError> {
        self.all_decoded(store, records::decode_packed).await
    }

    async fn all_decoded<T>(
        &self,
        store: &'static str,
        decode: fn(&'static str, &JsValue) -> Result<T, IdbError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        for r in self.all(store).await? {
            out.push(decode(store, &r)?);
        }
        Ok(out)
    }

    async fn all_bytes(&self, store: &'static str) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::new();
        for r in self.all(store).await? {
            out.push(records::decode_bytes(store, &r)?);
        }
        Ok(out)
    }

    async fn one_packed<T: serde::de::DeserializeOwned>(
        &self,
        store: &'static str,
        key: &JsValue,
    ) -> Result<Option<T>, StoreError> {
        self.one_decoded(store, key, records::decode_packed).await
    }

    async fn one_decoded<T>(
        &self,
        store: &'static str,
        key: &JsValue,
        decode: fn(&'static str, &JsValue) -> Result<T, IdbError>,
    ) -> Result<Option<T>, StoreError> {
        match self.one(store, key).await? {
            Some(r) => Ok(Some(decode(store, &r)?)),
            None => Ok(None),
        }
    }
}

impl Drop for IdbWalletStore {
    fn drop(&mut self) {
        self.db.set_onversionchange(None);
        // Pending transactions still finish; the connection no longer blocks an upgrade
        // or a deletion.
        self.db.close();
    }
}

impl NoteStore for IdbWalletStore {
    async fn notes(&self) -> Result<Vec<WalletNote>, StoreError> {
        // Keys are the ids in hex: key order is id order.
        self.all_packed(NOTES).await
    }

    async fn claims(&self) -> Result<Vec<Claim>, StoreError> {
        self.all_packed(CLAIMS).await
    }

    async fn received_spends(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        self.all_bytes(SPENDS).await
    }

    async fn fraud_proofs(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        self.all_bytes(FRAUD).await
    }
}

impl SagaStore for IdbWalletStore {
    async fn saga(&self, id: &SagaId) -> Result<Option<SagaRecord>, StoreError> {
        self.one_decoded(SAGAS, &records::saga_key(id), records::decode_packed)
            .await
    }

    async fn sagas(&self) -> Result<Vec<SagaRecord>, StoreError> {
        // IDB orders text keys by UTF-16 code units; the trait orders by `SagaId`.
        let mut v: Vec<SagaRecord> = self.all_decoded(SAGAS, records::decode_packed).await?;
        ops_core::order::sort_stable_by(&mut v, |a, b| a.id.cmp(&b.id));
        Ok(v)
    }
}

impl TrustStore for IdbWalletStore {
    async fn trust_bundle(&self) -> Result<Option<TrustBundle>, StoreError> {
        self.one_packed(TRUST, &BUNDLE_ID.into()).await
    }

    async fn crls(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        self.all_bytes(CRLS).await
    }
}

impl HistoryStore for IdbWalletStore {
    async fn history(&self) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut v: Vec<HistoryEntry> = self.all_packed(HISTORY).await?;
        ops_core::order::sort_stable_by(&mut v, |a, b| {
            (a.created, &a.saga).cmp(&(b.created, &b.saga))
        });
        Ok(v)
    }
}

impl SettingsStore for IdbWalletStore {
    async fn identity(&self) -> Result<Option<Identity>, StoreError> {
        self.one_packed(SETTINGS, &IDENTITY_ID.into()).await
    }

    async fn settings(&self) -> Result<Settings, StoreError> {
        Ok(self
            .one_packed(SETTINGS, &SETTINGS_ID.into())
            .await?
            .unwrap_or_default())
    }
}

impl WalletStore for IdbWalletStore {
    async fn apply(&self, batch: Batch) -> Result<(), StoreError> {
        apply::commit(&self.db, batch, self.fail_next.replace(false)).await
    }
}
