//! Storage behind traits, split by concern: notes and their range claims (with the
//! received-spend ledger), sagas, trust (root, FIs, CRLs), history, and settings with the
//! device identity.
//!
//! Reads go through one trait per concern. Every mutation goes through
//! [`WalletStore::apply`]: a [`Batch`] is a list of typed writes, one enum per concern,
//! committed all or nothing. One batch may touch several concerns because a flow's step
//! must: reserving ranges and recording the saga that owns them is one decision, and two
//! commits would open exactly the crash window the sagas exist to close. The IndexedDB
//! store commits a batch in one `readwrite` transaction over the object stores involved.
//!
//! Two guards live in the store, checked inside the same transaction as the writes, so
//! two tabs (two engines over one database) can never both move value:
//! * optimistic concurrency on sagas: [`SagaWrite::Put`] names the version it read; a
//!   stale one is refused with [`StoreError::VersionConflict`];
//! * claims never overlap: [`NoteWrite::Claim`] is refused with
//!   [`StoreError::RangeTaken`] if any range is already held by any saga.
//!
//! The traits use `async fn` without `Send` bounds: IndexedDB futures are not `Send`,
//! and the wallet runs on one thread.
#![allow(async_fn_in_trait)]

pub mod memory;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

use ops_core::ids::{CertId, NoteId};
use ops_core::wallet::WalletNote;
use thiserror::Error;

use crate::saga::SagaRecord;
use crate::types::{Claim, ClaimStatus, HistoryEntry, Identity, SagaId, Settings, TrustBundle};

pub use memory::MemoryStore;

/// A write to the notes concern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteWrite {
    /// Adds a note. A note with this id already stored is kept as it is (idempotent:
    /// a fund answer or a received payment stored twice adds nothing).
    PutNote(WalletNote),
    /// Claims ranges for a saga. Refused if a range lies outside its note, names an
    /// unknown note, or overlaps a range any saga holds.
    Claim(Vec<Claim>),
    /// Sets the status of every claim of a saga.
    SetClaimStatus {
        /// The saga.
        saga: SagaId,
        /// The new status.
        status: ClaimStatus,
    },
    /// Removes every claim of a saga. Refused if any of them is no longer
    /// [`ClaimStatus::Reserved`]: a signed range never comes back.
    Release {
        /// The saga.
        saga: SagaId,
    },
    /// Records received spends (canonical bytes) in the wallet's range ledger, by spend id;
    /// a spend recorded before is kept once.
    RecordSpends(Vec<Vec<u8>>),
    /// Keeps a fraud proof (canonical bytes) from a refused double spend, for the FI at the
    /// next sync; the same proof is kept once.
    KeepFraudProof(Vec<u8>),
}

/// A write to the sagas concern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SagaWrite {
    /// Stores a saga record. `expected` is the version read (`None`: the saga must not
    /// exist yet); the record's own version must be `expected + 1` (or 0 when new).
    Put {
        /// The record to store.
        record: SagaRecord,
        /// The version this write was decided on.
        expected: Option<u64>,
    },
}

/// A write to the trust concern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustWrite {
    /// Replaces the trust bundle.
    SetBundle(TrustBundle),
    /// Keeps a CRL (canonical bytes) if its number is above the held one for its issuer.
    PutCrl {
        /// Issuer.
        issuer: CertId,
        /// CRL number.
        number: u64,
        /// Canonical bytes.
        bytes: Vec<u8>,
    },
}

/// A write to the history concern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryWrite {
    /// Inserts or replaces the entry of a saga.
    Put(HistoryEntry),
}

/// A write to the settings and identity concern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsWrite {
    /// Stores the device identity.
    SetIdentity(Identity),
    /// Replaces the settings.
    SetSettings(Settings),
    /// Records a successful sync time (kept if later than the held one).
    SetLastSync(u64),
}

/// One typed write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Notes and claims.
    Note(NoteWrite),
    /// Sagas.
    Saga(SagaWrite),
    /// Trust.
    Trust(TrustWrite),
    /// History.
    History(HistoryWrite),
    /// Settings and identity.
    Settings(SettingsWrite),
}

/// Writes committed together, all or nothing, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The writes.
    pub writes: Vec<Write>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a write.
    pub fn push(&mut self, w: Write) -> &mut Self {
        self.writes.push(w);
        self
    }

    /// Appends all writes of `other`.
    pub fn extend(&mut self, other: Batch) -> &mut Self {
        self.writes.extend(other.writes);
        self
    }

    /// Whether nothing is to be written.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

/// Why a batch was refused (nothing of it was written).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// Another writer (another tab) moved the saga since it was read.
    #[error(
        "saga {saga} changed in another window (expected version {expected:?}, found {found:?}); reload it"
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
    #[error("saga {saga}: version {version} does not follow {expected:?}")]
    BadVersion {
        /// The saga.
        saga: SagaId,
        /// The record's version.
        version: u64,
        /// The expected version.
        expected: Option<u64>,
    },
    /// A range is already held by another saga.
    #[error("range [{from}, {to}) of note {note} is already held by {holder}")]
    RangeTaken {
        /// The note.
        note: NoteId,
        /// Start.
        from: u64,
        /// End.
        to: u64,
        /// The saga holding (part of) it.
        holder: SagaId,
    },
    /// A claim names a note the store does not hold.
    #[error("no note {0} in this wallet")]
    UnknownNote(NoteId),
    /// A claim lies outside its note.
    #[error("range [{from}, {to}) lies outside note {note}")]
    OutsideNote {
        /// The note.
        note: NoteId,
        /// Start.
        from: u64,
        /// End.
        to: u64,
    },
    /// A release of a saga whose claims were signed.
    #[error("saga {0} holds signed ranges, which are never released")]
    NotReleasable(SagaId),
    /// The storage backend failed (quota, closed database, corrupt record).
    #[error("storage failed: {0}")]
    Backend(String),
}

/// Notes, claims and the received-spend ledger.
pub trait NoteStore {
    /// Every note held, spent or not.
    async fn notes(&self) -> Result<Vec<WalletNote>, StoreError>;
    /// Every claim of every saga.
    async fn claims(&self) -> Result<Vec<Claim>, StoreError>;
    /// Every received spend recorded (canonical bytes).
    async fn received_spends(&self) -> Result<Vec<Vec<u8>>, StoreError>;
    /// Fraud proofs kept from refused double spends (canonical bytes).
    async fn fraud_proofs(&self) -> Result<Vec<Vec<u8>>, StoreError>;
}

/// Saga records.
pub trait SagaStore {
    /// One saga.
    async fn saga(&self, id: &SagaId) -> Result<Option<SagaRecord>, StoreError>;
    /// Every saga, finished or not, ordered by id.
    async fn sagas(&self) -> Result<Vec<SagaRecord>, StoreError>;
}

/// Trust: bundle and CRLs.
pub trait TrustStore {
    /// The pinned trust bundle, once onboarding stored it.
    async fn trust_bundle(&self) -> Result<Option<TrustBundle>, StoreError>;
    /// The newest CRL held per issuer (canonical bytes).
    async fn crls(&self) -> Result<Vec<Vec<u8>>, StoreError>;
}

/// History.
pub trait HistoryStore {
    /// Every entry, ordered by creation time then saga id.
    async fn history(&self) -> Result<Vec<HistoryEntry>, StoreError>;
}

/// Settings and identity.
pub trait SettingsStore {
    /// The device identity, once onboarding stored it.
    async fn identity(&self) -> Result<Option<Identity>, StoreError>;
    /// The settings (defaults when none were stored).
    async fn settings(&self) -> Result<Settings, StoreError>;
}

/// A complete wallet store: every concern, and the one way to change it.
pub trait WalletStore: NoteStore + SagaStore + TrustStore + HistoryStore + SettingsStore {
    /// Commits `batch` atomically: every write or none, guards checked inside the same
    /// transaction.
    async fn apply(&self, batch: Batch) -> Result<(), StoreError>;
}

/// The optimistic-concurrency rule every store applies to [`SagaWrite::Put`]: the stored
/// version must be the one the write was decided on (`found == expected`, else
/// [`StoreError::VersionConflict`]: another tab moved first), and the record's own version
/// must follow it (`expected + 1`, or 0 for a new saga; else [`StoreError::BadVersion`]).
pub fn check_saga_version(
    record: &SagaRecord,
    expected: Option<u64>,
    found: Option<u64>,
) -> Result<(), StoreError> {
    if found != expected {
        return Err(StoreError::VersionConflict {
            saga: record.id.clone(),
            expected,
            found,
        });
    }
    let want = expected.map_or(0, |v| v.saturating_add(1));
    if record.version != want {
        return Err(StoreError::BadVersion {
            saga: record.id.clone(),
            version: record.version,
            expected,
        });
    }
    Ok(())
}
