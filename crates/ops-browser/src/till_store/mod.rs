//! The till engine's store in IndexedDB: [`IdbTillStore`] implements every read trait of
//! `ops_wallet_engine::till::store` and [`TillStore::apply`], in a database of its own
//! ([`DB_NAME`]), apart from the wallet's.
//!
//! * [`schema`]: the database name, version, object stores and indexes.
//! * `records`: till records as IDB values (key and index fields + the record packed
//!   with postcard), on the wallet store's helpers.
//! * `ledger`: the overlap queries on `[note, from]` keys (a reverse cursor step and a
//!   forward range), shared by the commit's guard and the reads.
//! * `apply`: a batch in one `readwrite` transaction, guards read inside it.
//! * [`error`]: the mapping of [`IdbError`] to the engine's [`TillStoreError::Backend`].
//!
//! Requests and transaction ends as futures are the wallet store's (`wallet_store::request`).
//! Each read is its own `readonly` transaction over one object store. See
//! `docs/TILL.md` (§2 Storage) and `docs/ENGINE.md` (§9, the same conventions).

mod apply;
pub mod error;
mod ledger;
mod records;
pub mod schema;

use std::cell::Cell;

use ops_core::ids::NoteId;
use ops_wallet_engine::till::saga::TillSagaRecord;
use ops_wallet_engine::till::store::{
    DeclineStore, PaymentStore, QueueStore, TillBatch, TillSagaStore, TillStore, TillStoreError,
    TillTrustStore,
};
use ops_wallet_engine::till::types::{
    AcceptedPayment, Decline, KeptProof, LedgerEntry, PaymentId, QueueEntry, TillIdentity,
};
use ops_wallet_engine::types::{SagaId, TrustBundle};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbKeyRange};

pub use error::IdbError;
pub use schema::{DB_NAME, DB_VERSION};

use crate::wallet_store::request::{request, request_all};
use crate::wallet_store::{factory, open_database};
use records::{
    BUNDLE_ID, CRL_PREFIX, IDENTITY_ID, LAST_ONLINE_ID, decode_bytes, decode_packed, num_key,
    payment_key, saga_id_key,
};
use schema::{
    BY_ACCEPTED_AT, BY_AT, BY_FINISHED, DECLINES, LEDGER, PAYMENTS, PROOFS, QUEUE, SAGAS, TRUST,
};

/// A connection to the till's IndexedDB database. Open one per tab; several handles
/// (windows of the terminal) over one database are safe: commits are serialised by the
/// browser and guarded by saga versions, the range ledger, and the queue's checks.
/// Dropping the handle closes the connection.
pub struct IdbTillStore {
    db: IdbDatabase,
    name: String,
    fail_next: Cell<bool>,
    /// Closes this connection when another one wants to upgrade the schema.
    _on_version_change: Closure<dyn FnMut()>,
}

impl core::fmt::Debug for IdbTillStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdbTillStore")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// `[from, to)` of 20-digit number keys, or `None` when empty.
fn period(from: u64, to: u64) -> Result<Option<IdbKeyRange>, IdbError> {
    if from >= to {
        return Ok(None);
    }
    IdbKeyRange::bound_with_lower_open_and_upper_open(&num_key(from), &num_key(to), false, true)
        .map(Some)
        .map_err(IdbError::on("key range"))
}

impl IdbTillStore {
    /// Opens (creating or upgrading) the till's database, [`DB_NAME`].
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

    /// Deletes the database `name` (every sale, payment, ledger range and setting in it:
    /// only for tests and a deliberate reset). Waits until every connection is closed.
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

    /// Makes the next [`TillStore::apply`] issue its writes, then abort the transaction
    /// and fail with [`TillStoreError::Backend`] (a crash before the commit, for tests).
    pub fn fail_next_apply(&self) {
        self.fail_next.set(true);
    }

    /// A `readonly` transaction's object store.
    fn reading(&self, store: &'static str) -> Result<web_sys::IdbObjectStore, IdbError> {
        self.db
            .transaction_with_str(store)
            .map_err(IdbError::on("begin read"))?
            .object_store(store)
            .map_err(IdbError::on("open store"))
    }

    /// Decodes every record of a `getAll` request.
    async fn decode_all<T: serde::de::DeserializeOwned>(
        store: &'static str,
        req: Result<web_sys::IdbRequest, JsValue>,
    ) -> Result<Vec<T>, TillStoreError> {
        let req = req.map_err(IdbError::on("getAll"))?;
        let mut out = Vec::new();
        for r in request_all("getAll", &req).await? {
            out.push(decode_packed(store, &r)?);
        }
        Ok(out)
    }

    /// Every record of `store`, in key order.
    async fn all<T: serde::de::DeserializeOwned>(
        &self,
        store: &'static str,
    ) -> Result<Vec<T>, TillStoreError> {
        Self::decode_all(store, self.reading(store)?.get_all()).await
    }

    /// Records of `store`'s `index` matching `key` (a key or a key range).
    async fn by_index<T: serde::de::DeserializeOwned>(
        &self,
        store: &'static str,
        index: &'static str,
        key: &JsValue,
    ) -> Result<Vec<T>, TillStoreError> {
        let idx = self
            .reading(store)?
            .index(index)
            .map_err(IdbError::on("open index"))?;
        Self::decode_all(store, idx.get_all_with_key(key)).await
    }

    /// One raw record by key.
    async fn raw(&self, store: &'static str, key: &JsValue) -> Result<Option<JsValue>, IdbError> {
        let req = self.reading(store)?.get(key).map_err(IdbError::on("get"))?;
        let v = request("get", &req).await?;
        Ok(if v.is_undefined() { None } else { Some(v) })
    }

    /// One record by key, decoded.
    async fn one<T: serde::de::DeserializeOwned>(
        &self,
        store: &'static str,
        key: &JsValue,
    ) -> Result<Option<T>, TillStoreError> {
        match self.raw(store, key).await? {
            Some(r) => Ok(Some(decode_packed(store, &r)?)),
            None => Ok(None),
        }
    }
}

impl Drop for IdbTillStore {
    fn drop(&mut self) {
        self.db.set_onversionchange(None);
        // Pending transactions still finish; the connection no longer blocks an upgrade
        // or a deletion.
        self.db.close();
    }
}

impl TillSagaStore for IdbTillStore {
    async fn saga(&self, id: &SagaId) -> Result<Option<TillSagaRecord>, TillStoreError> {
        self.one(SAGAS, &saga_id_key(id)).await
    }

    async fn sagas(&self) -> Result<Vec<TillSagaRecord>, TillStoreError> {
        // IDB orders text keys by UTF-16 code units; the trait orders by `SagaId`.
        let mut v: Vec<TillSagaRecord> = self.all(SAGAS).await?;
        ops_core::order::sort_stable_by(&mut v, |a, b| a.id.cmp(&b.id));
        Ok(v)
    }

    async fn unfinished(&self) -> Result<Vec<TillSagaRecord>, TillStoreError> {
        let mut v: Vec<TillSagaRecord> = self
            .by_index(SAGAS, BY_FINISHED, &JsValue::from_f64(0.0))
            .await?;
        ops_core::order::sort_stable_by(&mut v, |a, b| a.id.cmp(&b.id));
        Ok(v)
    }
}

impl PaymentStore for IdbTillStore {
    async fn payment(&self, id: &PaymentId) -> Result<Option<AcceptedPayment>, TillStoreError> {
        self.one(PAYMENTS, &payment_key(id)).await
    }

    async fn payments_between(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Vec<AcceptedPayment>, TillStoreError> {
        let Some(range) = period(from, to)? else {
            return Ok(Vec::new());
        };
        let mut v: Vec<AcceptedPayment> = self.by_index(PAYMENTS, BY_ACCEPTED_AT, &range).await?;
        ops_core::order::sort_stable_by_key(&mut v, |a| (a.accepted_at, a.id));
        Ok(v)
    }

    async fn overlapping(
        &self,
        note: &NoteId,
        from: u64,
        to: u64,
    ) -> Result<Vec<LedgerEntry>, TillStoreError> {
        Ok(ledger::overlapping(&self.reading(LEDGER)?, note, from, to).await?)
    }

    async fn ledger(&self) -> Result<Vec<LedgerEntry>, TillStoreError> {
        // Keys are `[note hex, from as 20 digits]`: key order is (note, from) order.
        self.all(LEDGER).await
    }
}

impl QueueStore for IdbTillStore {
    async fn queue(&self) -> Result<Vec<QueueEntry>, TillStoreError> {
        let mut v: Vec<QueueEntry> = self.all(QUEUE).await?;
        ops_core::order::sort_stable_by_key(&mut v, |a| (a.accepted_at, a.payment));
        Ok(v)
    }

    async fn queue_entry(&self, id: &PaymentId) -> Result<Option<QueueEntry>, TillStoreError> {
        self.one(QUEUE, &payment_key(id)).await
    }

    async fn awaiting(&self) -> Result<Vec<QueueEntry>, TillStoreError> {
        // Three index reads in one readonly transaction (one consistent view);
        // credited and refused payments are not read.
        let idx = self
            .reading(QUEUE)?
            .index(schema::BY_STATUS)
            .map_err(IdbError::on("open index"))?;
        let mut v: Vec<QueueEntry> = Vec::new();
        for status in ["pending", "posting", "disputed"] {
            let part: Vec<QueueEntry> =
                Self::decode_all(QUEUE, idx.get_all_with_key(&JsValue::from_str(status))).await?;
            v.extend(part.into_iter().filter(|e| e.status.awaits()));
        }
        ops_core::order::sort_stable_by_key(&mut v, |a| (a.accepted_at, a.payment));
        Ok(v)
    }
}

impl DeclineStore for IdbTillStore {
    async fn declines_between(&self, from: u64, to: u64) -> Result<Vec<Decline>, TillStoreError> {
        let Some(range) = period(from, to)? else {
            return Ok(Vec::new());
        };
        let mut v: Vec<Decline> = self.by_index(DECLINES, BY_AT, &range).await?;
        ops_core::order::sort_stable_by(&mut v, |a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok(v)
    }

    async fn fraud_proofs(&self) -> Result<Vec<KeptProof>, TillStoreError> {
        // Keys are the ids in hex: key order is id order.
        self.all(PROOFS).await
    }
}

impl TillTrustStore for IdbTillStore {
    async fn identity(&self) -> Result<Option<TillIdentity>, TillStoreError> {
        self.one(TRUST, &IDENTITY_ID.into()).await
    }

    async fn trust_bundle(&self) -> Result<Option<TrustBundle>, TillStoreError> {
        self.one(TRUST, &BUNDLE_ID.into()).await
    }

    async fn crls(&self) -> Result<Vec<Vec<u8>>, TillStoreError> {
        // `crl:` up to `crl;` (the next character): every CRL id, nothing else.
        let range = IdbKeyRange::bound_with_lower_open_and_upper_open(
            &JsValue::from_str(CRL_PREFIX),
            &JsValue::from_str("crl;"),
            false,
            true,
        )
        .map_err(IdbError::on("key range"))?;
        let req = self
            .reading(TRUST)?
            .get_all_with_key(&range)
            .map_err(IdbError::on("getAll"))?;
        let mut out = Vec::new();
        for r in request_all("getAll", &req).await? {
            out.push(decode_bytes(TRUST, &r)?);
        }
        Ok(out)
    }

    async fn last_online(&self) -> Result<Option<u64>, TillStoreError> {
        self.one(TRUST, &LAST_ONLINE_ID.into()).await
    }
}

impl TillStore for IdbTillStore {
    async fn apply(&self, batch: TillBatch) -> Result<(), TillStoreError> {
        apply::commit(&self.db, batch, self.fail_next.replace(false)).await
    }
}
