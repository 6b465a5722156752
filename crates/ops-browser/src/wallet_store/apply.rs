//! `WalletStore::apply`: one batch, one `readwrite` transaction, guards inside it.
//!
//! Every guard reads through the same transaction that then writes, and awaits nothing
//! but that transaction's requests, so the browser serialises two tabs' commits (their
//! scopes overlap) and the second one reads what the first wrote. Any refusal or failure
//! aborts the transaction: nothing of the batch stays.

use std::collections::BTreeSet;

use js_sys::Array;
use ops_core::ids::to_hex;
use ops_core::wallet::WalletNote;
use ops_wallet_engine::StoreError;
use ops_wallet_engine::saga::SagaRecord;
use ops_wallet_engine::store::{
    Batch, HistoryWrite, NoteWrite, SagaWrite, SettingsWrite, TrustWrite, Write,
};
use ops_wallet_engine::types::{Claim, ClaimStatus, SagaId, Settings};
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbObjectStore, IdbTransaction, IdbTransactionMode};

use super::error::IdbError;
use super::records::{self, claim_key, note_key, saga_key};
use super::request::{Completion, request, request_all};
use super::schema::{
    BY_NOTE, BY_SAGA, CLAIMS, CRLS, FRAUD, HISTORY, NOTES, SAGAS, SETTINGS, SPENDS, TRUST,
};

/// The settings store's record ids.
pub(crate) const IDENTITY_ID: &str = "identity";
/// The settings record's id.
pub(crate) const SETTINGS_ID: &str = "settings";
/// The trust bundle's id.
pub(crate) const BUNDLE_ID: &str = "bundle";

/// The object stores a write touches (reads included).
fn scope_of(w: &Write) -> &'static [&'static str] {
    match w {
        Write::Note(NoteWrite::PutNote(_)) => &[NOTES],
        Write::Note(NoteWrite::Claim(_)) => &[NOTES, CLAIMS],
        Write::Note(NoteWrite::SetClaimStatus { .. } | NoteWrite::Release { .. }) => &[CLAIMS],
        Write::Note(NoteWrite::RecordSpends(_)) => &[SPENDS],
        Write::Note(NoteWrite::KeepFraudProof(_)) => &[FRAUD],
        Write::Saga(_) => &[SAGAS],
        Write::Trust(TrustWrite::SetBundle(_)) => &[TRUST],
        Write::Trust(TrustWrite::PutCrl { .. }) => &[CRLS],
        Write::History(_) => &[HISTORY],
        Write::Settings(_) => &[SETTINGS],
    }
}

/// Commits `batch` in one `readwrite` transaction over the stores it touches. With
/// `inject_failure`, aborts after every write was issued (for tests).
pub(crate) async fn commit(
    db: &IdbDatabase,
    batch: Batch,
    inject_failure: bool,
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return if inject_failure {
            Err(IdbError::Injected.into())
        } else {
            Ok(())
        };
    }
    let scope: BTreeSet<&'static str> = batch.writes.iter().flat_map(scope_of).copied().collect();
    let names: Array = scope.iter().map(|s| JsValue::from_str(s)).collect();
    let tx = db
        .transaction_with_str_sequence_and_mode(&names, IdbTransactionMode::Readwrite)
        .map_err(IdbError::on("begin commit"))?;
    let completion = Completion::of(&tx);
    let commit = Commit { tx: &tx };
    let mut outcome = Ok(());
    for w in batch.writes {
        outcome = commit.write(w).await;
        if outcome.is_err() {
            break;
        }
    }
    if outcome.is_ok() && inject_failure {
        outcome = Err(IdbError::Injected.into());
    }
    match outcome {
        // No request left: the browser commits now (auto-commit); wait for `complete`.
        Ok(()) => completion.wait(&tx).await.map_err(StoreError::from),
        Err(e) => {
            // Already aborted when a request failed; then abort() throws, which is fine.
            let _ = tx.abort();
            let _ = completion.wait(&tx).await;
            Err(e)
        }
    }
}

/// The writes of one batch, inside its transaction.
struct Commit<'a> {
    tx: &'a IdbTransaction,
}

impl Commit<'_> {
    fn store(&self, name: &'static str) -> Result<IdbObjectStore, IdbError> {
        self.tx
            .object_store(name)
            .map_err(IdbError::on("open store"))
    }

    async fn get(&self, name: &'static str, key: &JsValue) -> Result<Option<JsValue>, IdbError> {
        let req = self.store(name)?.get(key).map_err(IdbError::on("get"))?;
        let v = request("get", &req).await?;
        Ok(if v.is_undefined() { None } else { Some(v) })
    }

    async fn put(&self, name: &'static str, record: &JsValue) -> Result<(), IdbError> {
        let req = self.store(name)?.put(record).map_err(IdbError::on("put"))?;
        request("put", &req).await.map(drop)
    }

    /// Claims of the index `index` matching `key`.
    async fn claims_by(&self, index: &'static str, key: &JsValue) -> Result<Vec<Claim>, IdbError> {
        let idx = self
            .store(CLAIMS)?
            .index(index)
            .map_err(IdbError::on("open index"))?;
        let req = idx.get_all_with_key(key).map_err(IdbError::on("getAll"))?;
        request_all("getAll", &req)
            .await?
            .iter()
            .map(|r| records::decode_packed(CLAIMS, r))
            .collect()
    }

    async fn write(&self, w: Write) -> Result<(), StoreError> {
        match w {
            Write::Note(w) => self.note(w).await,
            Write::Saga(SagaWrite::Put { record, expected }) => self.saga(record, expected).await,
            Write::Trust(TrustWrite::SetBundle(b)) => {
                let r = records::keyed_packed(TRUST, "id", BUNDLE_ID.into(), &b)?;
                Ok(self.put(TRUST, &r).await?)
            }
            Write::Trust(TrustWrite::PutCrl {
                issuer,
                number,
                bytes,
            }) => {
                let key = JsValue::from_str(&to_hex(issuer.as_bytes()));
                let held = match self.get(CRLS, &key).await? {
                    Some(r) => Some(records::crl_number(CRLS, &r)?),
                    None => None,
                };
                if held.is_none_or(|n| n < number) {
                    self.put(CRLS, &records::crl(key, number, &bytes)?).await?;
                }
                Ok(())
            }
            Write::History(HistoryWrite::Put(e)) => {
                let r = records::keyed_packed(HISTORY, "saga", saga_key(&e.saga), &e)?;
                Ok(self.put(HISTORY, &r).await?)
            }
            Write::Settings(SettingsWrite::SetIdentity(i)) => {
                let r = records::keyed_packed(SETTINGS, "id", IDENTITY_ID.into(), &i)?;
                Ok(self.put(SETTINGS, &r).await?)
            }
            Write::Settings(SettingsWrite::SetSettings(s)) => self.put_settings(&s).await,
            Write::Settings(SettingsWrite::SetLastSync(t)) => {
                let mut s: Settings = match self.get(SETTINGS, &SETTINGS_ID.into()).await? {
                    Some(r) => records::decode_packed(SETTINGS, &r)?,
                    None => Settings::default(),
                };
                if s.last_sync.is_none_or(|held| held < t) {
                    s.last_sync = Some(t);
                    self.put_settings(&s).await?;
                }
                Ok(())
            }
        }
    }

    async fn put_settings(&self, s: &Settings) -> Result<(), StoreError> {
        let r = records::keyed_packed(SETTINGS, "id", SETTINGS_ID.into(), s)?;
        Ok(self.put(SETTINGS, &r).await?)
    }

    async fn saga(&self, record: SagaRecord, expected: Option<u64>) -> Result<(), StoreError> {
        let key = saga_key(&record.id);
        let found = match self.get(SAGAS, &key).await? {
            Some(r) => Some(records::decode_packed::<SagaRecord>(SAGAS, &r)?.version),
            None => None,
        };
        ops_wallet_engine::store::check_saga_version(&record, expected, found)?;
        let r = records::keyed_packed(SAGAS, "id", key, &record)?;
        Ok(self.put(SAGAS, &r).await?)
    }

    async fn note(&self, w: NoteWrite) -> Result<(), StoreError> {
        match w {
            NoteWrite::PutNote(n) => {
                let key = note_key(&n.id);
                if self.get(NOTES, &key).await?.is_none() {
                    let r = records::keyed_packed(NOTES, "id", key, &n)?;
                    self.put(NOTES, &r).await?;
                }
                Ok(())
            }
            NoteWrite::Claim(claims) => {
                for c in claims {
                    self.claim(c).await?;
                }
                Ok(())
            }
            NoteWrite::SetClaimStatus { saga, status } => {
                for mut c in self.claims_by(BY_SAGA, &saga_key(&saga)).await? {
                    c.status = status;
                    self.put(CLAIMS, &records::claim(CLAIMS, &c)?).await?;
                }
                Ok(())
            }
            NoteWrite::Release { saga } => self.release(saga).await,
            NoteWrite::RecordSpends(spends) => {
                for s in spends {
                    // Keyed by content: the same spend again rewrites identical bytes.
                    let r = records::keyed_bytes("id", records::content_key(&s), &s)?;
                    self.put(SPENDS, &r).await?;
                }
                Ok(())
            }
            NoteWrite::KeepFraudProof(p) => {
                let r = records::keyed_bytes("id", records::content_key(&p), &p)?;
                Ok(self.put(FRAUD, &r).await?)
            }
        }
    }

    /// One claim: its note exists, the range fits, nothing held overlaps it (claims of
    /// this batch written before included), then it is written.
    async fn claim(&self, c: Claim) -> Result<(), StoreError> {
        let key = note_key(&c.note);
        let note: WalletNote = match self.get(NOTES, &key).await? {
            Some(r) => records::decode_packed(NOTES, &r)?,
            None => return Err(StoreError::UnknownNote(c.note)),
        };
        if c.from >= c.to || c.to > note.value {
            return Err(StoreError::OutsideNote {
                note: c.note,
                from: c.from,
                to: c.to,
            });
        }
        let held = self.claims_by(BY_NOTE, &key).await?;
        if let Some(h) = held.iter().find(|h| h.overlaps(&c.note, c.from, c.to)) {
            return Err(StoreError::RangeTaken {
                note: c.note,
                from: c.from,
                to: c.to,
                holder: h.saga.clone(),
            });
        }
        Ok(self.put(CLAIMS, &records::claim(CLAIMS, &c)?).await?)
    }

    /// Removes a saga's claims, refused if any of them was signed.
    async fn release(&self, saga: SagaId) -> Result<(), StoreError> {
        let claims = self.claims_by(BY_SAGA, &saga_key(&saga)).await?;
        if claims.iter().any(|c| c.status != ClaimStatus::Reserved) {
            return Err(StoreError::NotReleasable(saga));
        }
        let store = self.store(CLAIMS)?;
        for c in &claims {
            let req = store
                .delete(&claim_key(c))
                .map_err(IdbError::on("delete"))?;
            request("delete", &req).await?;
        }
        Ok(())
    }
}
