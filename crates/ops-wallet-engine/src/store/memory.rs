//! The in-memory store: the reference implementation of the store traits, used by native
//! tests and as the model the IndexedDB store must match (the conformance suite).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use ops_core::ids::{CertId, NoteId, sha256};
use ops_core::wallet::WalletNote;

use super::{
    Batch, HistoryStore, HistoryWrite, NoteStore, NoteWrite, SagaStore, SagaWrite, SettingsStore,
    SettingsWrite, StoreError, TrustStore, TrustWrite, WalletStore, Write,
};
use crate::saga::SagaRecord;
use crate::types::{Claim, ClaimStatus, HistoryEntry, Identity, SagaId, Settings, TrustBundle};

#[derive(Debug, Clone, Default)]
struct State {
    notes: BTreeMap<NoteId, WalletNote>,
    claims: Vec<Claim>,
    spends: BTreeMap<[u8; 32], Vec<u8>>,
    fraud: BTreeMap<[u8; 32], Vec<u8>>,
    sagas: BTreeMap<SagaId, SagaRecord>,
    trust: Option<TrustBundle>,
    crls: BTreeMap<CertId, (u64, Vec<u8>)>,
    history: BTreeMap<SagaId, HistoryEntry>,
    identity: Option<Identity>,
    settings: Settings,
}

/// Everything in memory. Single-threaded (like a browser tab); share it between engines
/// by reference to model two tabs over one database.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RefCell<State>,
    fail_next: Cell<bool>,
    applied: Cell<u64>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next [`WalletStore::apply`] fail with [`StoreError::Backend`] and write
    /// nothing (a crash or an aborted transaction, for tests).
    pub fn fail_next_apply(&self) {
        self.fail_next.set(true);
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
    fn apply_note(&mut self, w: NoteWrite) -> Result<(), StoreError> {
        match w {
            NoteWrite::PutNote(n) => {
                self.notes.entry(n.id).or_insert(n);
            }
            NoteWrite::Claim(claims) => {
                for c in claims {
                    let note = self
                        .notes
                        .get(&c.note)
                        .ok_or(StoreError::UnknownNote(c.note))?;
                    if c.from >= c.to || c.to > note.value {
                        return Err(StoreError::OutsideNote {
                            note: c.note,
                            from: c.from,
                            to: c.to,
                        });
                    }
                    if let Some(held) = self
                        .claims
                        .iter()
                        .find(|h| h.overlaps(&c.note, c.from, c.to))
                    {
                        return Err(StoreError::RangeTaken {
                            note: c.note,
                            from: c.from,
                            to: c.to,
                            holder: held.saga.clone(),
                        });
                    }
                    self.claims.push(c);
                }
            }
            NoteWrite::SetClaimStatus { saga, status } => {
                for c in self.claims.iter_mut().filter(|c| c.saga == saga) {
                    c.status = status;
                }
            }
            NoteWrite::Release { saga } => {
                if self
                    .claims
                    .iter()
                    .any(|c| c.saga == saga && c.status != ClaimStatus::Reserved)
                {
                    return Err(StoreError::NotReleasable(saga));
                }
                self.claims.retain(|c| c.saga != saga);
            }
            NoteWrite::RecordSpends(spends) => {
                for s in spends {
                    self.spends.entry(spend_key(&s)).or_insert(s);
                }
            }
            NoteWrite::KeepFraudProof(p) => {
                self.fraud.entry(spend_key(&p)).or_insert(p);
            }
        }
        Ok(())
    }

    fn apply_saga(&mut self, w: SagaWrite) -> Result<(), StoreError> {
        let SagaWrite::Put { record, expected } = w;
        let found = self.sagas.get(&record.id).map(|r| r.version);
        super::check_saga_version(&record, expected, found)?;
        self.sagas.insert(record.id.clone(), record);
        Ok(())
    }

    fn apply(&mut self, w: Write) -> Result<(), StoreError> {
        match w {
            Write::Note(w) => self.apply_note(w)?,
            Write::Saga(w) => self.apply_saga(w)?,
            Write::Trust(TrustWrite::SetBundle(b)) => self.trust = Some(b),
            Write::Trust(TrustWrite::PutCrl {
                issuer,
                number,
                bytes,
            }) => {
                if self.crls.get(&issuer).is_none_or(|(n, _)| *n < number) {
                    self.crls.insert(issuer, (number, bytes));
                }
            }
            Write::History(HistoryWrite::Put(e)) => {
                self.history.insert(e.saga.clone(), e);
            }
            Write::Settings(SettingsWrite::SetIdentity(i)) => self.identity = Some(i),
            Write::Settings(SettingsWrite::SetSettings(s)) => self.settings = s,
            Write::Settings(SettingsWrite::SetLastSync(t)) => {
                if self.settings.last_sync.is_none_or(|held| held < t) {
                    self.settings.last_sync = Some(t);
                }
            }
        }
        Ok(())
    }
}

/// The key a received spend or a fraud proof is stored under: SHA-256 of its bytes (the store does not
/// decode; identical bytes are one entry).
fn spend_key(bytes: &[u8]) -> [u8; 32] {
    sha256(bytes)
}

impl NoteStore for MemoryStore {
    async fn notes(&self) -> Result<Vec<WalletNote>, StoreError> {
        Ok(self.state.borrow().notes.values().cloned().collect())
    }

    async fn claims(&self) -> Result<Vec<Claim>, StoreError> {
        Ok(self.state.borrow().claims.clone())
    }

    async fn received_spends(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self.state.borrow().spends.values().cloned().collect())
    }

    async fn fraud_proofs(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self.state.borrow().fraud.values().cloned().collect())
    }
}

impl SagaStore for MemoryStore {
    async fn saga(&self, id: &SagaId) -> Result<Option<SagaRecord>, StoreError> {
        Ok(self.state.borrow().sagas.get(id).cloned())
    }

    async fn sagas(&self) -> Result<Vec<SagaRecord>, StoreError> {
        Ok(self.state.borrow().sagas.values().cloned().collect())
    }
}

impl TrustStore for MemoryStore {
    async fn trust_bundle(&self) -> Result<Option<TrustBundle>, StoreError> {
        Ok(self.state.borrow().trust.clone())
    }

    async fn crls(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self
            .state
            .borrow()
            .crls
            .values()
            .map(|(_, b)| b.clone())
            .collect())
    }
}

impl HistoryStore for MemoryStore {
    async fn history(&self) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut v: Vec<HistoryEntry> = self.state.borrow().history.values().cloned().collect();
        v.sort_by(|a, b| (a.created, &a.saga).cmp(&(b.created, &b.saga)));
        Ok(v)
    }
}

impl SettingsStore for MemoryStore {
    async fn identity(&self) -> Result<Option<Identity>, StoreError> {
        Ok(self.state.borrow().identity.clone())
    }

    async fn settings(&self) -> Result<Settings, StoreError> {
        Ok(self.state.borrow().settings.clone())
    }
}

impl WalletStore for MemoryStore {
    async fn apply(&self, batch: Batch) -> Result<(), StoreError> {
        if self.fail_next.replace(false) {
            return Err(StoreError::Backend("injected failure".into()));
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
    crate::store_conformance_tests!(crate::store::MemoryStore::new());
}
