//! The till's storage behind traits, split by concern: sagas (sales and deposit uploads),
//! accepted payments with the range ledger, the deposit queue, the declines log with the
//! kept fraud proofs, and trust (identity, bundle, CRLs, last contact with the FI).
//!
//! Reads go through one trait per concern; every mutation goes through
//! [`TillStore::apply`], one [`TillBatch`] of typed writes committed all or nothing (the
//! IndexedDB store: one `readwrite` transaction over the object stores involved). A step's
//! writes belong together: "the sale is approved", "this payment and its ledger entries are
//! stored" and "it waits in the deposit queue" are one decision, and two commits would
//! open the crash window the sagas close (an approval with no payment, a payment never
//! deposited).
//!
//! Guards checked inside the commit, so two tabs (two engines over one database) can
//! neither approve one sale twice nor accept one range twice:
//! * saga versions (optimistic concurrency), as in the wallet's store;
//! * the range ledger: a [`PaymentWrite::Accept`] whose entries overlap a recorded range
//!   of another spend (or each other) is refused with [`TillStoreError::SpendRecorded`];
//!   the identical spend is kept once (shared provenance, a retry);
//! * one payment is accepted once ([`TillStoreError::PaymentExists`]);
//! * the deposit queue: a payment joins an upload only from `pending` or `disputed`
//!   ([`TillStoreError::NotUploadable`]), and an upload's answer settles only the payments
//!   that upload holds ([`TillStoreError::NotInBatch`]).
#![allow(async_fn_in_trait)]

pub mod memory;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

use ops_core::ids::{CertId, NoteId};
use thiserror::Error;

use super::saga::TillSagaRecord;
use super::types::{
    AcceptedPayment, Decline, DepositStatus, KeptProof, LedgerEntry, PaymentId, QueueEntry,
    TillIdentity,
};
use crate::types::{SagaId, TrustBundle};

pub use memory::TillMemoryStore;

/// A write to the sagas concern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SagaWrite {
    /// Stores a saga record. `expected` is the version read (`None`: the saga must not
    /// exist yet); the record's own version must be `expected + 1` (or 0 when new).
    Put {
        /// The record.
        record: TillSagaRecord,
        /// The version this write was decided on.
        expected: Option<u64>,
    },
}

/// A write to the accepted payments and the range ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentWrite {
    /// Stores an accepted payment and records its spends. Refused if the payment is
    /// stored already, or if an entry overlaps a recorded range of another spend or
    /// another entry of the same write; an entry identical to a recorded one is kept once.
    Accept {
        /// The payment.
        payment: AcceptedPayment,
        /// Every distinct spend on its chains.
        ledger: Vec<LedgerEntry>,
    },
}

/// A write to the deposit queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueWrite {
    /// Adds an accepted payment, pending. A payment already queued is kept as it is.
    Enqueue(QueueEntry),
    /// Puts payments into upload `batch` (status `posting`). Refused unless each is queued
    /// and `pending` or `disputed`.
    Assign {
        /// The payments.
        payments: Vec<PaymentId>,
        /// The deposit saga.
        batch: SagaId,
        /// When.
        at: u64,
    },
    /// Records the FI's answer for one payment of `batch`. Refused unless the payment is
    /// `posting` in that batch.
    Settle {
        /// The payment.
        payment: PaymentId,
        /// Its upload.
        batch: SagaId,
        /// Its new status (`pending` again when the FI asks to retry).
        status: DepositStatus,
        /// When.
        at: u64,
    },
    /// Puts every payment still `posting` in `batch` back to `pending` (the upload was
    /// refused as a whole).
    Release {
        /// The deposit saga.
        batch: SagaId,
        /// When.
        at: u64,
    },
}

/// A write to the declines log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclineWrite {
    /// Logs a declined attempt; an attempt with this id logged before is kept once.
    Log(Decline),
    /// Keeps a fraud proof for the FI; the same proof is kept once.
    KeepProof(KeptProof),
}

/// A write to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustWrite {
    /// Stores the terminal's identity.
    SetIdentity(TillIdentity),
    /// Replaces the trust bundle.
    SetBundle(TrustBundle),
    /// Keeps a CRL if its number is above the held one for its issuer.
    PutCrl {
        /// Issuer.
        issuer: CertId,
        /// CRL number.
        number: u64,
        /// Canonical bytes.
        bytes: Vec<u8>,
    },
    /// Records a successful exchange with the FI (kept if later than the held one).
    SetLastOnline(u64),
}

/// One typed write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TillWrite {
    /// Sagas.
    Saga(SagaWrite),
    /// Accepted payments and the ledger.
    Payment(PaymentWrite),
    /// The deposit queue.
    Queue(QueueWrite),
    /// Declines and fraud proofs.
    Decline(DeclineWrite),
    /// Trust.
    Trust(TrustWrite),
}

/// Writes committed together, all or nothing, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TillBatch {
    /// The writes.
    pub writes: Vec<TillWrite>,
}

impl TillBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// A batch of these writes.
    pub fn of(writes: Vec<TillWrite>) -> Self {
        Self { writes }
    }

    /// Appends a write.
    pub fn push(&mut self, w: TillWrite) -> &mut Self {
        self.writes.push(w);
        self
    }

    /// Whether nothing is to be written.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

/// Why a batch was refused (nothing of it was written).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TillStoreError {
    /// Another writer (another tab) moved the saga since it was read.
    #[error(
        "{saga} changed in another window (expected version {expected:?}, found {found:?}); reload it"
    )]
    VersionConflict {
        /// The saga.
        saga: SagaId,
        /// The version the write was decided on.
        expected: Option<u64>,
        /// The stored version.
        found: Option<u64>,
    },
    /// A saga record's version is not the expected version plus one.
    #[error("{saga}: version {version} does not follow {expected:?}")]
    BadVersion {
        /// The saga.
        saga: SagaId,
        /// The record's version.
        version: u64,
        /// The expected version.
        expected: Option<u64>,
    },
    /// A range is already recorded for another spend: the payment double-spends value
    /// this till accepted (decided from a stale read, e.g. in another window).
    #[error("range [{from}, {to}) of note {note} is already recorded for spend {held}")]
    SpendRecorded {
        /// The note.
        note: NoteId,
        /// Start.
        from: u64,
        /// End.
        to: u64,
        /// The recorded spend.
        held: NoteId,
    },
    /// The payment was accepted before.
    #[error("payment {0} was already accepted")]
    PaymentExists(PaymentId),
    /// The payment is not in the deposit queue.
    #[error("payment {0} is not in the deposit queue")]
    NotQueued(PaymentId),
    /// The payment cannot join an upload (it is being posted, credited or refused).
    #[error("payment {payment} cannot be uploaded now: it is {status}")]
    NotUploadable {
        /// The payment.
        payment: PaymentId,
        /// Its status.
        status: &'static str,
    },
    /// An answer for a payment that the upload does not hold (a stale answer).
    #[error("payment {payment} is not being posted in {batch}")]
    NotInBatch {
        /// The payment.
        payment: PaymentId,
        /// The upload.
        batch: SagaId,
    },
    /// The storage backend failed (quota, closed database, corrupt record).
    #[error("storage failed: {0}")]
    Backend(String),
}

/// The optimistic-concurrency rule of [`SagaWrite::Put`]: the stored version must be the
/// one the write was decided on, and the record's version must follow it.
pub fn check_saga_version(
    record: &TillSagaRecord,
    expected: Option<u64>,
    found: Option<u64>,
) -> Result<(), TillStoreError> {
    if found != expected {
        return Err(TillStoreError::VersionConflict {
            saga: record.id.clone(),
            expected,
            found,
        });
    }
    let want = expected.map_or(0, |v| v.saturating_add(1));
    if record.version != want {
        return Err(TillStoreError::BadVersion {
            saga: record.id.clone(),
            version: record.version,
            expected,
        });
    }
    Ok(())
}

/// Sales and deposit uploads.
pub trait TillSagaStore {
    /// One saga.
    async fn saga(&self, id: &SagaId) -> Result<Option<TillSagaRecord>, TillStoreError>;
    /// Every saga, ordered by id.
    async fn sagas(&self) -> Result<Vec<TillSagaRecord>, TillStoreError>;
    /// Every unfinished saga, ordered by id (what recovery walks).
    async fn unfinished(&self) -> Result<Vec<TillSagaRecord>, TillStoreError>;
}

/// Accepted payments and the range ledger.
pub trait PaymentStore {
    /// One accepted payment.
    async fn payment(&self, id: &PaymentId) -> Result<Option<AcceptedPayment>, TillStoreError>;
    /// Payments accepted in `[from, to)`, ordered by time then id.
    async fn payments_between(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Vec<AcceptedPayment>, TillStoreError>;
    /// Every recorded range of `note` overlapping `[from, to)`, ascending.
    async fn overlapping(
        &self,
        note: &NoteId,
        from: u64,
        to: u64,
    ) -> Result<Vec<LedgerEntry>, TillStoreError>;
    /// Every recorded range, by note then start (audits and tests).
    async fn ledger(&self) -> Result<Vec<LedgerEntry>, TillStoreError>;
}

/// The deposit queue.
pub trait QueueStore {
    /// Every queued payment, by acceptance time then id.
    async fn queue(&self) -> Result<Vec<QueueEntry>, TillStoreError>;
    /// One queued payment.
    async fn queue_entry(&self, id: &PaymentId) -> Result<Option<QueueEntry>, TillStoreError>;
    /// The payments still waiting for the FI's final word (pending, posting, disputed), by
    /// acceptance time then id: what an upload takes and the status line sums, without
    /// reading every payment ever credited.
    async fn awaiting(&self) -> Result<Vec<QueueEntry>, TillStoreError>;
}

/// The declines log and the kept fraud proofs.
pub trait DeclineStore {
    /// Declines logged in `[from, to)`, by time then id.
    async fn declines_between(&self, from: u64, to: u64) -> Result<Vec<Decline>, TillStoreError>;
    /// Every kept fraud proof, by id.
    async fn fraud_proofs(&self) -> Result<Vec<KeptProof>, TillStoreError>;
}

/// Identity, trust bundle, CRLs and the last contact with the FI.
pub trait TillTrustStore {
    /// The terminal's identity, once set up.
    async fn identity(&self) -> Result<Option<TillIdentity>, TillStoreError>;
    /// The pinned trust bundle, once set up.
    async fn trust_bundle(&self) -> Result<Option<TrustBundle>, TillStoreError>;
    /// The newest CRL held per issuer (canonical bytes).
    async fn crls(&self) -> Result<Vec<Vec<u8>>, TillStoreError>;
    /// The last successful exchange with the FI.
    async fn last_online(&self) -> Result<Option<u64>, TillStoreError>;
}

/// A complete till store: every concern, and the one way to change it.
pub trait TillStore:
    TillSagaStore + PaymentStore + QueueStore + DeclineStore + TillTrustStore
{
    /// Commits `batch` atomically: every write or none, guards checked inside the same
    /// transaction.
    async fn apply(&self, batch: TillBatch) -> Result<(), TillStoreError>;
}
