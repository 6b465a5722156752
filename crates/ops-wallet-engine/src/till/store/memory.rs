//! The till's in-memory store: the reference implementation of the till store traits,
//! used by native tests and as the model an IndexedDB store must match (the conformance
//! suite).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use ops_core::ids::{CertId, Digest32, NoteId};

use super::{
    DeclineStore, DeclineWrite, PaymentStore, PaymentWrite, QueueStore, QueueWrite, SagaWrite,
    TillBatch, TillSagaStore, TillStore, TillStoreError, TillTrustStore, TillWrite, TrustWrite,
};
use crate::till::saga::TillSagaRecord;
use crate::till::types::{
    AcceptedPayment, Decline, DepositStatus, KeptProof, LedgerEntry, PaymentId, QueueEntry,
    TillIdentity,
};
use crate::types::{SagaId, TrustBundle};

#[derive(Debug, Clone, Default)]
struct State {
    sagas: BTreeMap<SagaId, TillSagaRecord>,
    payments: BTreeMap<PaymentId, AcceptedPayment>,
    /// Recorded ranges by (note, start); ranges of one note never overlap.
    ledger: BTreeMap<(NoteId, u64), LedgerEntry>,
    queue: BTreeMap<PaymentId, QueueEntry>,
    declines: BTreeMap<String, Decline>,
    proofs: BTreeMap<Digest32, KeptProof>,
    identity: Option<TillIdentity>,
    bundle: Option<TrustBundle>,
    crls: BTreeMap<CertId, (u64, Vec<u8>)>,
    last_online: Option<u64>,
}

/// Everything in memory. Single-threaded (like a browser tab); share it between engines by
/// reference to model two tabs over one database.
#[derive(Debug, Default)]
pub struct TillMemoryStore {
    state: RefCell<State>,
    fail_next: Cell<bool>,
    applied: Cell<u64>,
}

impl TillMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next [`TillStore::apply`] fail with [`TillStoreError::Backend`] and write
    /// nothing (a crash or an aborted transaction, for tests).
    pub fn fail_next_apply(&self) {
        self.fail_next.set(true);
    }

    /// Takes back an injected failure that no commit consumed.
    pub fn disarm_failure(&self) {
        self.fail_next.set(false);
    }

    /// Number of batches committed so far.
    pub fn applied(&self) -> u64 {
        self.applied.get()
    }

    /// A deep copy (a snapshot of "the disk", for crash tests).
    pub fn snapshot(&self) -> Self {
        Self {
            state: RefCell::new(self.state.borrow().clone()),
            fail_next: Cell::new(false),
            applied: Cell::new(self.applied.get()),
        }
    }
}

impl State {
    /// The recorded range of `note` overlapping `[from, to)`, if any (ranges of a note do
    /// not overlap, so only the one with the greatest start below `to` can).
    fn overlap(&self, note: &NoteId, from: u64, to: u64) -> Option<&LedgerEntry> {
        if from >= to {
            return None;
        }
        let (_, e) = self.ledger.range((*note, 0)..(*note, to)).next_back()?;
        e.overlaps(note, from, to).then_some(e)
    }

    fn apply_payment(&mut self, w: PaymentWrite) -> Result<(), TillStoreError> {
        let PaymentWrite::Accept { payment, ledger } = w;
        if self.payments.contains_key(&payment.id) {
            return Err(TillStoreError::PaymentExists(payment.id));
        }
        for e in ledger {
            match self.overlap(&e.note, e.from, e.to) {
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
                    self.ledger.insert((e.note, e.from), e);
                }
            }
        }
        self.payments.insert(payment.id, payment);
        Ok(())
    }

    fn apply_queue(&mut self, w: QueueWrite) -> Result<(), TillStoreError> {
        match w {
            QueueWrite::Enqueue(e) => {
                self.queue.entry(e.payment).or_insert(e);
            }
            QueueWrite::Assign {
                payments,
                batch,
                at,
            } => {
                for p in payments {
                    let e = self.queue.get_mut(&p).ok_or(TillStoreError::NotQueued(p))?;
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
                }
            }
            QueueWrite::Settle {
                payment,
                batch,
                status,
                at,
            } => {
                let e = self
                    .queue
                    .get_mut(&payment)
                    .ok_or(TillStoreError::NotQueued(payment))?;
                if e.status
                    != (DepositStatus::Posting {
                        batch: batch.clone(),
                    })
                {
                    return Err(TillStoreError::NotInBatch { payment, batch });
                }
                e.status = status;
                e.updated = at;
            }
            QueueWrite::Release { batch, at } => {
                let posting = DepositStatus::Posting { batch };
                for e in self.queue.values_mut().filter(|e| e.status == posting) {
                    e.status = DepositStatus::Pending;
                    e.updated = at;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, w: TillWrite) -> Result<(), TillStoreError> {
        match w {
            TillWrite::Saga(SagaWrite::Put { record, expected }) => {
                let found = self.sagas.get(&record.id).map(|r| r.version);
                super::check_saga_version(&record, expected, found)?;
                self.sagas.insert(record.id.clone(), record);
            }
            TillWrite::Payment(w) => self.apply_payment(w)?,
            TillWrite::Queue(w) => self.apply_queue(w)?,
            TillWrite::Decline(DeclineWrite::Log(d)) => {
                self.declines.entry(d.id.clone()).or_insert(d);
            }
            TillWrite::Decline(DeclineWrite::KeepProof(p)) => {
                self.proofs.entry(p.id).or_insert(p);
            }
            TillWrite::Trust(TrustWrite::SetIdentity(i)) => self.identity = Some(i),
            TillWrite::Trust(TrustWrite::SetBundle(b)) => self.bundle = Some(b),
            TillWrite::Trust(TrustWrite::PutCrl {
                issuer,
                number,
                bytes,
            }) => {
                if self.crls.get(&issuer).is_none_or(|(n, _)| *n < number) {
                    self.crls.insert(issuer, (number, bytes));
                }
            }
            TillWrite::Trust(TrustWrite::SetLastOnline(t)) => {
                if self.last_online.is_none_or(|held| held < t) {
                    self.last_online = Some(t);
                }
            }
        }
        Ok(())
    }
}

impl TillSagaStore for TillMemoryStore {
    async fn saga(&self, id: &SagaId) -> Result<Option<TillSagaRecord>, TillStoreError> {
        Ok(self.state.borrow().sagas.get(id).cloned())
    }

    async fn sagas(&self) -> Result<Vec<TillSagaRecord>, TillStoreError> {
        Ok(self.state.borrow().sagas.values().cloned().collect())
    }

    async fn unfinished(&self) -> Result<Vec<TillSagaRecord>, TillStoreError> {
        Ok(self
            .state
            .borrow()
            .sagas
            .values()
            .filter(|r| !r.state.is_finished())
            .cloned()
            .collect())
    }
}

impl PaymentStore for TillMemoryStore {
    async fn payment(&self, id: &PaymentId) -> Result<Option<AcceptedPayment>, TillStoreError> {
        Ok(self.state.borrow().payments.get(id).cloned())
    }

    async fn payments_between(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Vec<AcceptedPayment>, TillStoreError> {
        let mut v: Vec<AcceptedPayment> = self
            .state
            .borrow()
            .payments
            .values()
            .filter(|p| from <= p.accepted_at && p.accepted_at < to)
            .cloned()
            .collect();
        ops_core::order::sort_stable_by_key(&mut v, |a| (a.accepted_at, a.id));
        Ok(v)
    }

    async fn overlapping(
        &self,
        note: &NoteId,
        from: u64,
        to: u64,
    ) -> Result<Vec<LedgerEntry>, TillStoreError> {
        if from >= to {
            return Ok(Vec::new());
        }
        let s = self.state.borrow();
        // Recorded ranges of a note are disjoint: those overlapping [from, to) are the one
        // starting at or below `from` (if it reaches past it) and those starting inside.
        let mut v = Vec::new();
        if let Some((_, e)) = s.ledger.range((*note, 0)..=(*note, from)).next_back()
            && e.overlaps(note, from, to)
        {
            v.push(e.clone());
        }
        if let Some(start) = from.checked_add(1) {
            v.extend(
                s.ledger
                    .range((*note, start)..(*note, to))
                    .map(|(_, e)| e.clone()),
            );
        }
        Ok(v)
    }

    async fn ledger(&self) -> Result<Vec<LedgerEntry>, TillStoreError> {
        Ok(self.state.borrow().ledger.values().cloned().collect())
    }
}

impl QueueStore for TillMemoryStore {
    async fn queue(&self) -> Result<Vec<QueueEntry>, TillStoreError> {
        let mut v: Vec<QueueEntry> = self.state.borrow().queue.values().cloned().collect();
        ops_core::order::sort_stable_by_key(&mut v, |a| (a.accepted_at, a.payment));
        Ok(v)
    }

    async fn queue_entry(&self, id: &PaymentId) -> Result<Option<QueueEntry>, TillStoreError> {
        Ok(self.state.borrow().queue.get(id).cloned())
    }

    async fn awaiting(&self) -> Result<Vec<QueueEntry>, TillStoreError> {
        let mut v: Vec<QueueEntry> = self
            .state
            .borrow()
            .queue
            .values()
            .filter(|e| e.status.awaits())
            .cloned()
            .collect();
        ops_core::order::sort_stable_by_key(&mut v, |a| (a.accepted_at, a.payment));
        Ok(v)
    }
}

impl DeclineStore for TillMemoryStore {
    async fn declines_between(&self, from: u64, to: u64) -> Result<Vec<Decline>, TillStoreError> {
        let mut v: Vec<Decline> = self
            .state
            .borrow()
            .declines
            .values()
            .filter(|d| from <= d.at && d.at < to)
            .cloned()
            .collect();
        ops_core::order::sort_stable_by(&mut v, |a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok(v)
    }

    async fn fraud_proofs(&self) -> Result<Vec<KeptProof>, TillStoreError> {
        Ok(self.state.borrow().proofs.values().cloned().collect())
    }
}

impl TillTrustStore for TillMemoryStore {
    async fn identity(&self) -> Result<Option<TillIdentity>, TillStoreError> {
        Ok(self.state.borrow().identity.clone())
    }

    async fn trust_bundle(&self) -> Result<Option<TrustBundle>, TillStoreError> {
        Ok(self.state.borrow().bundle.clone())
    }

    async fn crls(&self) -> Result<Vec<Vec<u8>>, TillStoreError> {
        Ok(self
            .state
            .borrow()
            .crls
            .values()
            .map(|(_, b)| b.clone())
            .collect())
    }

    async fn last_online(&self) -> Result<Option<u64>, TillStoreError> {
        Ok(self.state.borrow().last_online)
    }
}

impl TillStore for TillMemoryStore {
    async fn apply(&self, batch: TillBatch) -> Result<(), TillStoreError> {
        if self.fail_next.replace(false) {
            return Err(TillStoreError::Backend("injected failure".into()));
        }
        let mut next = self.state.borrow().clone();
        for w in batch.writes {
            next.apply(w)?;
        }
        *self.state.borrow_mut() = next;
        self.applied.set(self.applied.get().saturating_add(1));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    crate::till_store_conformance_tests!(crate::till::store::TillMemoryStore::new());
}
