//! `TillStore::apply`: one batch, one `readwrite` transaction, every guard read inside it
//! (the same guards as `TillMemoryStore::apply`).
//!
//! Every guard reads through the transaction that then writes, and awaits nothing but
//! that transaction's requests, so the browser runs two tabs' commits (overlapping
//! scopes) one after the other and the second reads what the first wrote. Any refusal or
//! failure aborts the transaction: nothing of the batch stays.

use std::collections::BTreeSet;

use js_sys::Array;
use ops_wallet_engine::till::saga::TillSagaRecord;
use ops_wallet_engine::till::store::{
    DeclineWrite, PaymentWrite, QueueWrite, SagaWrite, TillBatch, TillStoreError, TillWrite,
    TrustWrite, check_saga_version,
};
use ops_wallet_engine::till::types::{DepositStatus, PaymentId, QueueEntry};
use ops_wallet_engine::types::SagaId;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbObjectStore, IdbTransaction, IdbTransactionMode};

use super::ledger;
use super::records::{
    self, BUNDLE_ID, IDENTITY_ID, LAST_ONLINE_ID, crl_key, decode_packed, keyed_packed,
    payment_key, proof_key, saga_id_key,
};
use super::schema::{BY_BATCH, DECLINES, LEDGER, PAYMENTS, PROOFS, QUEUE, SAGAS, TRUST};
use crate::wallet_store::error::IdbError;
use crate::wallet_store::request::{Completion, request, request_all};

/// The object stores a write touches (reads included).
fn scope_of(w: &TillWrite) -> &'static [&'static str] {
    match w {
        TillWrite::Saga(_) => &[SAGAS],
        TillWrite::Payment(_) => &[PAYMENTS, LEDGER],
        TillWrite::Queue(_) => &[QUEUE],
        TillWrite::Decline(DeclineWrite::Log(_)) => &[DECLINES],
        TillWrite::Decline(DeclineWrite::KeepProof(_)) => &[PROOFS],
        TillWrite::Trust(_) => &[TRUST],
    }
}

/// Commits `batch` in one `readwrite` transaction over the stores it touches. With
/// `inject_failure`, aborts after every write was issued (for tests).
pub(crate) async fn commit(
    db: &IdbDatabase,
    batch: TillBatch,
    inject_failure: bool,
) -> Result<(), TillStoreError> {
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
        // No request left: the browser commits now; wait for `complete`, so `Ok` is durable.
        Ok(()) => completion.wait(&tx).await.map_err(TillStoreError::from),
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

    /// Puts `record` under `key` unless something is stored there (kept once).
    async fn put_new(
        &self,
        name: &'static str,
        key: &JsValue,
        record: &JsValue,
    ) -> Result<(), IdbError> {
        if self.get(name, key).await?.is_none() {
            self.put(name, record).await?;
        }
        Ok(())
    }

    async fn write(&self, w: TillWrite) -> Result<(), TillStoreError> {
        match w {
            TillWrite::Saga(SagaWrite::Put { record, expected }) => {
                self.saga(record, expected).await
            }
            TillWrite::Payment(w) => self.payment(w).await,
            TillWrite::Queue(w) => self.queue(w).await,
            TillWrite::Decline(DeclineWrite::Log(d)) => {
                let key = JsValue::from_str(&d.id);
                Ok(self.put_new(DECLINES, &key, &records::decline(&d)?).await?)
            }
            TillWrite::Decline(DeclineWrite::KeepProof(p)) => Ok(self
                .put_new(PROOFS, &proof_key(&p), &records::proof(&p)?)
                .await?),
            TillWrite::Trust(w) => Ok(self.trust(w).await?),
        }
    }

    async fn saga(
        &self,
        record: TillSagaRecord,
        expected: Option<u64>,
    ) -> Result<(), TillStoreError> {
        let found = match self.get(SAGAS, &saga_id_key(&record.id)).await? {
            Some(r) => Some(decode_packed::<TillSagaRecord>(SAGAS, &r)?.version),
            None => None,
        };
        check_saga_version(&record, expected, found)?;
        Ok(self.put(SAGAS, &records::saga(&record)?).await?)
    }

    /// The payment once; each ledger entry checked against what is recorded (entries of
    /// this write included, they are written as they pass), the identical spend kept once.
    async fn payment(&self, w: PaymentWrite) -> Result<(), TillStoreError> {
        let PaymentWrite::Accept { payment, ledger } = w;
        if self
            .get(PAYMENTS, &payment_key(&payment.id))
            .await?
            .is_some()
        {
            return Err(TillStoreError::PaymentExists(payment.id));
        }
        let store = self.store(LEDGER)?;
        for e in ledger {
            match ledger::overlap(&store, &e.note, e.from, e.to).await? {
                Some(held) if held.same_spend(&e) => {}
                Some(held) => {
                    return Err(TillStoreError::SpendRecorded {
                        note: e.note,
                        from: e.from,
                        to: e.to,
                        held: held.spend,
                    });
                }
                None => {
                    self.put(LEDGER, &records::ledger(&e)?).await?;
                }
            }
        }
        Ok(self.put(PAYMENTS, &records::payment(&payment)?).await?)
    }

    async fn entry(&self, payment: &PaymentId) -> Result<QueueEntry, TillStoreError> {
        match self.get(QUEUE, &payment_key(payment)).await? {
            Some(r) => Ok(decode_packed(QUEUE, &r)?),
            None => Err(TillStoreError::NotQueued(*payment)),
        }
    }

    async fn put_entry(&self, e: &QueueEntry) -> Result<(), TillStoreError> {
        Ok(self.put(QUEUE, &records::queue(e)?).await?)
    }

    async fn queue(&self, w: QueueWrite) -> Result<(), TillStoreError> {
        match w {
            QueueWrite::Enqueue(e) => Ok(self
                .put_new(QUEUE, &payment_key(&e.payment), &records::queue(&e)?)
                .await?),
            QueueWrite::Assign {
                payments,
                batch,
                at,
            } => {
                for p in payments {
                    let mut e = self.entry(&p).await?;
                    if !e.status.uploadable() {
                        return Err(TillStoreError::NotUploadable {
                            payment: p,
                            status: e.status.code(),
                        });
                    }
                    e.status = DepositStatus::Posting {
                        batch: batch.clone(),
                    };
                    e.updated = at;
                    self.put_entry(&e).await?;
                }
                Ok(())
            }
            QueueWrite::Settle {
                payment,
                batch,
                status,
                at,
            } => {
                let mut e = self.entry(&payment).await?;
                if e.status
                    != (DepositStatus::Posting {
                        batch: batch.clone(),
                    })
                {
                    return Err(TillStoreError::NotInBatch { payment, batch });
                }
                e.status = status;
                e.updated = at;
                self.put_entry(&e).await
            }
            QueueWrite::Release { batch, at } => self.release(batch, at).await,
        }
    }

    /// Every payment still posting in `batch` back to pending (the `batch` index holds
    /// exactly the payments posting in an upload).
    async fn release(&self, batch: SagaId, at: u64) -> Result<(), TillStoreError> {
        let idx = self
            .store(QUEUE)?
            .index(BY_BATCH)
            .map_err(IdbError::on("open index"))?;
        let req = idx
            .get_all_with_key(&saga_id_key(&batch))
            .map_err(IdbError::on("getAll"))?;
        let posting = DepositStatus::Posting { batch };
        for r in request_all("getAll", &req).await? {
            let mut e: QueueEntry = decode_packed(QUEUE, &r)?;
            if e.status == posting {
                e.status = DepositStatus::Pending;
                e.updated = at;
                self.put_entry(&e).await?;
            }
        }
        Ok(())
    }

    async fn trust(&self, w: TrustWrite) -> Result<(), IdbError> {
        match w {
            TrustWrite::SetIdentity(i) => {
                self.put(TRUST, &keyed_packed(TRUST, "id", IDENTITY_ID.into(), &i)?)
                    .await
            }
            TrustWrite::SetBundle(b) => {
                self.put(TRUST, &keyed_packed(TRUST, "id", BUNDLE_ID.into(), &b)?)
                    .await
            }
            TrustWrite::PutCrl {
                issuer,
                number,
                bytes,
            } => {
                let key = crl_key(&issuer);
                let held = match self.get(TRUST, &key).await? {
                    Some(r) => Some(records::crl_number(TRUST, &r)?),
                    None => None,
                };
                if held.is_none_or(|n| n < number) {
                    self.put(TRUST, &records::crl(key, number, &bytes)?).await?;
                }
                Ok(())
            }
            TrustWrite::SetLastOnline(t) => {
                let held: Option<u64> = match self.get(TRUST, &LAST_ONLINE_ID.into()).await? {
                    Some(r) => Some(decode_packed(TRUST, &r)?),
                    None => None,
                };
                if held.is_none_or(|h| h < t) {
                    let r = keyed_packed(TRUST, "id", LAST_ONLINE_ID.into(), &t)?;
                    self.put(TRUST, &r).await?;
                }
                Ok(())
            }
        }
    }
}
