//! Settlement of a deposit: decode, verify with the protocol core (fast native provider),
//! then record every spend of every hop and credit the payee in one transaction, retrying
//! when a concurrent transaction won a race. Overlaps become fraud cases with a proof.

mod revocations;

use std::collections::BTreeMap;
use std::sync::Arc;

use ops_core::crl_store::CrlStore;
use ops_core::ledger::NoHistory;
use ops_core::provider::RingProvider;
use ops_core::settlement::{AcceptedAfterRevocation, check_revocations};
use ops_core::sig_cache::{CacheStats, CachingProvider};
use ops_core::verify::{Policy, Verifier, VerifyError};
use ops_core::{CertId, Certificate, Chain, Digest32, FraudProof, NoteId, Payment, Spend};

use crate::ceremony::Trust;
use crate::store::{
    ConsumptionKind, DepositOutcome, HoldPolicy, LedgerNote, NewDeposit, NewFraudCase, NoteKind,
    RecordError, Release, SpendRecord, Store, StoreError,
};

/// How many times a deposit transaction is retried after losing a race.
const MAX_ATTEMPTS: usize = 8;

/// Most deposits committed together by the settlement task.
pub const MAX_BATCH: usize = 128;

/// Builds a fraud case from (recorded spend bytes, new spend), shared with a queued job.
type SharedFraudBuilder =
    Arc<dyn Fn(&[u8], &SpendRecord) -> Result<NewFraudCase, String> + Send + Sync>;

struct Job {
    deposit: NewDeposit,
    fraud: SharedFraudBuilder,
    reply: tokio::sync::oneshot::Sender<Result<DepositOutcome, RecordError>>,
}

/// The settlement tasks: verified deposits queue here and are committed in batches (group
/// commit), one transaction per batch. SQLite has one writer; PostgreSQL
/// [`POSTGRES_WRITERS`] writers on their own connections, each taking what has queued.
#[derive(Debug, Clone)]
pub struct Settler {
    queue: tokio::sync::mpsc::Sender<Job>,
    /// Signatures verified before (certificates and issuances repeat across deposits).
    provider: Arc<CachingProvider<RingProvider>>,
    /// When this FI revoked which certificate.
    revocations: revocations::Revocations,
    /// The account of each registered device seen so far (a device never changes
    /// account), sparing a look-up per deposit.
    accounts: Arc<std::sync::RwLock<std::collections::HashMap<CertId, i64>>>,
    /// When deposits that duplicate value wait for an operator.
    hold: HoldPolicy,
}

/// The default cap on the value one culprit may have credited more than once before
/// further deposits relying on it are held: 50,000 minor units, the top of the
/// central bank's 7-day CRL tier (docs/PROTOCOL.md §8).
pub const DEFAULT_MAX_EXCESS_PER_CULPRIT: u64 = 50_000;

/// Concurrent batch writers on PostgreSQL (each a connection of the pool).
pub const POSTGRES_WRITERS: usize = 4;

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Job({})", self.deposit.payment_hash)
    }
}

impl Settler {
    /// Starts the settlement writers on `store` with the default hold policy.
    pub fn spawn(store: Store) -> Self {
        Self::spawn_with(store, DEFAULT_MAX_EXCESS_PER_CULPRIT)
    }

    /// Starts the settlement writers on `store` (see [`Settler`]); deposits that would
    /// credit a culprit's double-spent value beyond `max_excess_per_culprit`, or any
    /// further copy after it was revoked, are held.
    pub fn spawn_with(store: Store, max_excess_per_culprit: u64) -> Self {
        let writers = match store.backend() {
            crate::store::Backend::Sqlite => 1,
            crate::store::Backend::Postgres => POSTGRES_WRITERS,
        };
        let (queue, jobs) = tokio::sync::mpsc::channel::<Job>(4 * MAX_BATCH);
        let jobs = Arc::new(tokio::sync::Mutex::new(jobs));
        for _ in 0..writers {
            let jobs = Arc::clone(&jobs);
            let store = store.clone();
            tokio::spawn(async move {
                loop {
                    let batch = {
                        let mut jobs = jobs.lock().await;
                        let Some(first) = jobs.recv().await else {
                            return;
                        };
                        let mut batch = vec![first];
                        while batch.len() < MAX_BATCH {
                            match jobs.try_recv() {
                                Ok(job) => batch.push(job),
                                Err(_) => break,
                            }
                        }
                        batch
                    };
                    settle_batch(&store, batch).await;
                }
            });
        }
        Self {
            queue,
            provider: Arc::new(CachingProvider::new(RingProvider)),
            revocations: revocations::Revocations::default(),
            accounts: Arc::default(),
            hold: HoldPolicy {
                enabled: true,
                max_excess_per_culprit,
            },
        }
    }

    /// The account credited for deposits to `device` (cached: a device never changes
    /// account); an error if it is not registered.
    pub(crate) async fn account_of(
        &self,
        store: &Store,
        device: &CertId,
    ) -> Result<i64, DepositError> {
        let cached = self
            .accounts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(device)
            .copied();
        if let Some(id) = cached {
            return Ok(id);
        }
        let row = store
            .device(device)
            .await?
            .ok_or_else(|| DepositError::UnknownDepositor(device.to_string()))?;
        self.accounts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(*device, row.account_id);
        Ok(row.account_id)
    }

    /// Makes the next deposit reload the revocations (after a revocation outside
    /// settlement, e.g. a holder revoking a lost device).
    pub fn revocations_changed(&self) {
        self.revocations.invalidate();
    }

    /// Hits and misses of the verified-signature cache.
    pub fn verification_cache(&self) -> CacheStats {
        self.provider.stats()
    }

    /// Queues a deposit and waits for its outcome.
    async fn record(
        &self,
        deposit: NewDeposit,
        fraud: SharedFraudBuilder,
    ) -> Result<DepositOutcome, RecordError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            deposit,
            fraud,
            reply,
        };
        if self.queue.send(job).await.is_err() {
            return Err(RecordError::Store(StoreError::Conflict));
        }
        answer
            .await
            .unwrap_or(Err(RecordError::Store(StoreError::Conflict)))
    }
}

/// Why a deposit was refused.
#[derive(Debug, thiserror::Error)]
pub enum DepositError {
    /// The bytes are not a payment.
    #[error("the payment does not decode: {0}")]
    Decode(String),
    /// The depositor is not a device registered here.
    #[error("the depositor {0} is not a device registered with this FI")]
    UnknownDepositor(String),
    /// The payment does not verify.
    #[error("the payment does not verify: {0}")]
    Verify(VerifyError),
    /// The payment itself holds two overlapping spends of one note: a fraud case was
    /// opened (or already existed) and nothing is credited.
    #[error("the payment spends the same value twice (fraud case opened against {culprit})")]
    DoubleSpendInPayment {
        /// The certificate that signed both.
        culprit: String,
    },
    /// The payment relies on a certificate this FI revoked before the payee could have
    /// accepted it honestly.
    #[error("{0}")]
    Revoked(AcceptedAfterRevocation),
    /// The device to be credited (the depositor, or a defund's signer) was revoked by its
    /// account holder.
    #[error("the device {device} was revoked by its account holder ({reason})")]
    RevokedByHolder {
        /// Its certificate id.
        device: String,
        /// `lost`, `replaced` or `stolen`.
        reason: String,
    },
    /// A held deposit was already released or rejected.
    #[error("held deposit {id} is already {status}")]
    AlreadyDecided {
        /// Hold id.
        id: i64,
        /// `released` or `rejected`.
        status: String,
    },
    /// An overlap without a valid fraud proof.
    #[error("double spend that cannot be attributed: {0}")]
    Unprovable(String),
    /// A payer or the depositor is on this FI's counterparty block list.
    #[error("{0} is on this FI's counterparty block list")]
    Blocked(String),
    /// A clearing claim this FI cannot take.
    #[error("clearing claim refused: {0}")]
    Clearing(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Commits one batch and answers every job in it.
async fn settle_batch(store: &Store, batch: Vec<Job>) {
    let refs: Vec<(&NewDeposit, crate::store::FraudBuilder<'_>)> = batch
        .iter()
        .map(|j| (&j.deposit, &*j.fraud as crate::store::FraudBuilder<'_>))
        .collect();
    let outcomes = store.record_batch(&refs).await;
    drop(refs);
    for (job, outcome) in batch.into_iter().zip(outcomes) {
        let _ = job.reply.send(outcome);
    }
}

/// Who is paid and whose account is credited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// A payee deposits what it received: the payments' payee is this device, whose
    /// account is credited.
    Deposit(CertId),
    /// A wallet returns value (defund): the payment pays this FI, and the account of the
    /// device that signed the final spends is credited.
    Defund,
    /// A claim from clearing: merchant `depositor` of FI `peer` was credited for this
    /// FI's notes; `peer`'s account here is credited (what this FI owes it).
    Clearing {
        /// The forwarding FI.
        peer: CertId,
        /// Its merchant device, the payments' payee.
        depositor: CertId,
    },
}

/// Settles `payment_bytes` at time `now`: a deposit or a defund. Deposits that would
/// credit a further copy of a revoked culprit's value are held (see [`HoldPolicy`]).
pub async fn deposit(
    store: &Store,
    settler: &Settler,
    trust: &Arc<Trust>,
    payment_bytes: Vec<u8>,
    kind: Settlement,
    now: u64,
) -> Result<DepositOutcome, DepositError> {
    settle_payment(store, settler, trust, payment_bytes, kind, now, None).await
}

/// Releases held deposit `id` (an operator's decision): its payment is recorded and
/// credited as it would have been when it was held (verified at that time, no revocation
/// window, no hold), and the hold marked released in the same transaction.
pub async fn release(
    store: &Store,
    settler: &Settler,
    trust: &Arc<Trust>,
    id: i64,
    operator: &str,
    note: &str,
) -> Result<DepositOutcome, DepositError> {
    let (held, payment) = store
        .held_deposit(id)
        .await?
        .ok_or(DepositError::Store(StoreError::NotFound("held deposit")))?;
    if held.status != "held" {
        return Err(DepositError::AlreadyDecided {
            id,
            status: held.status,
        });
    }
    let kind = if held.kind == "defund" {
        Settlement::Defund
    } else {
        let depositor = held.depositor;
        match store.peer_of_account(held.account_id).await? {
            Some(peer) => Settlement::Clearing { peer, depositor },
            None => Settlement::Deposit(depositor),
        }
    };
    let held_at = u64::try_from(held.created).unwrap_or(0);
    let release = Release {
        held_id: id,
        operator: operator.to_owned(),
        note: note.to_owned(),
    };
    settle_payment(store, settler, trust, payment, kind, held_at, Some(release)).await
}

/// Settles a payment at `now`; an operator's `release` of a held one records with holding
/// and the revocation window off.
async fn settle_payment(
    store: &Store,
    settler: &Settler,
    trust: &Arc<Trust>,
    payment_bytes: Vec<u8>,
    kind: Settlement,
    now: u64,
    release: Option<Release>,
) -> Result<DepositOutcome, DepositError> {
    let hold = HoldPolicy {
        enabled: release.is_none(),
        ..settler.hold
    };
    let payment =
        Payment::from_bytes(&payment_bytes).map_err(|e| DepositError::Decode(e.to_string()))?;
    let hash = payment.hash();
    let own = trust.fi.id();
    let (depositor, credited) = match kind {
        Settlement::Deposit(id) => (id, id),
        Settlement::Defund => (trust.fi.id(), final_signer(&payment)?),
        Settlement::Clearing { depositor, .. } => (depositor, depositor),
    };
    let account_id = match kind {
        Settlement::Clearing { peer, .. } => {
            if peer == own || !trust.peer_fis.iter().any(|c| c.id() == peer) {
                return Err(DepositError::Clearing(format!(
                    "{peer} is not a peer FI of this FI"
                )));
            }
            store.peer_account(&peer, now).await?
        }
        _ => settler.account_of(store, &credited).await?,
    };
    // A device its holder revoked (lost, replaced, stolen) credits nothing more to the
    // account, neither as a payee nor by a defund: it left the holder's control. (Payments
    // it signed are still settled for their payees within the CRL window, below.) An
    // operator's release is the operator's decision.
    let revoked = settler.revocations.current(store).await?;
    if release.is_none()
        && !matches!(kind, Settlement::Clearing { .. })
        && let Some(reason) = revoked.by_holder.get(&credited)
    {
        return Err(DepositError::RevokedByHolder {
            device: credited.to_string(),
            reason: reason.clone(),
        });
    }
    // The counterparty block list binds this FI's own merchants and wallets: they may
    // neither be paid by, nor deposit as, a blocked certificate.
    if release.is_none() && !matches!(kind, Settlement::Clearing { .. }) {
        let payer =
            ops_core::msg::blocklist::first_signer_in(&payment, &|c| revoked.blocked.contains(c));
        if let Some(blocked) =
            payer.or_else(|| revoked.blocked.contains(&credited).then_some(credited))
        {
            return Err(DepositError::Blocked(blocked.to_string()));
        }
    }
    // Every spend of a note is recorded in the ledger of the FI that issued it: here, the
    // chains of this FI's notes. A deposit credits every final note and forwards the other
    // chains to their issuers (clearing); a claim from clearing records only this FI's.
    let issuers = chain_issuers(&payment);
    let forward: Vec<CertId> = match kind {
        Settlement::Clearing { .. } => Vec::new(),
        _ => issuers.iter().filter(|i| **i != own).copied().collect(),
    };
    let finals = match kind {
        Settlement::Clearing { .. } => final_notes_of(&payment, Some(own)),
        _ => final_notes_of(&payment, None),
    };
    if finals.is_empty() {
        return Err(DepositError::Clearing(format!(
            "the payment spends no note this FI ({own}) issued"
        )));
    }
    // Verification runs on the request's task: with the cache it is mostly one signature
    // (the new spend); handing it to the blocking pool cost more in thread switches than it
    // saved on this 2-core bound (docs/STORAGE.md).
    let known = trust.fis();
    let crls = CrlStore::new();
    let policy = Policy::from_root(&trust.root);
    let verifier = Verifier {
        root: &trust.root,
        known_certs: &known,
        crls: &crls,
        policy: &policy,
        provider: &*settler.provider,
    };
    let verified = verifier.verify_deposit(&depositor, &payment, &NoHistory, now);
    let verified = match verified {
        Ok(v) => v,
        Err(VerifyError::DoubleSpendInPayment(proof)) => {
            let case = case_from_proof(&trust.root, &proof).map_err(DepositError::Unprovable)?;
            store.open_fraud_case(&case, &hash.to_string(), now).await?;
            settler.revocations.invalidate();
            return Err(DepositError::DoubleSpendInPayment {
                culprit: case.culprit.to_string(),
            });
        }
        Err(e) => {
            return earlier_outcome(store, &hash, account_id, &finals, DepositError::Verify(e))
                .await;
        }
    };
    if release.is_none()
        && let Err(e) = check_revocations(&policy, &payment, &|c| {
            revoked.revoked_at(c, &payment.certs)
        })
    {
        return earlier_outcome(store, &hash, account_id, &finals, DepositError::Revoked(e)).await;
    }
    let amount = match kind {
        Settlement::Clearing { .. } => finals.iter().map(|f| f.value).sum(),
        _ => verified.amount,
    };
    let record = NewDeposit {
        payment_hash: hash,
        kind: match kind {
            Settlement::Deposit(_) | Settlement::Clearing { .. } => ConsumptionKind::Deposit,
            Settlement::Defund => ConsumptionKind::Defund,
        },
        depositor: credited,
        account_id,
        amount,
        spends: spend_records(&payment, own),
        finals,
        payment: Arc::new(payment_bytes),
        forward,
        hold,
        release,
        now,
    };
    let mut certs: BTreeMap<CertId, Certificate> =
        payment.certs.iter().map(|c| (c.id(), c.clone())).collect();
    for c in trust.fis() {
        certs.insert(c.id(), c);
    }
    let root = trust.root.clone();
    let builder: SharedFraudBuilder = Arc::new(move |recorded: &[u8], new: &SpendRecord| {
        fraud_case(&root, &certs, recorded, new)
    });
    let mut attempt = 0;
    loop {
        attempt += 1;
        match settler.record(record.clone(), Arc::clone(&builder)).await {
            Ok(outcome) => {
                if outcome.fraud_cases > 0 || outcome.held_id.is_some() {
                    settler.revocations.invalidate();
                }
                return Ok(outcome);
            }
            Err(RecordError::Store(e)) if e.is_retryable() && attempt < MAX_ATTEMPTS => {
                tracing::debug!("deposit {} lost a race, retrying: {e}", record.payment_hash);
                tokio::time::sleep(std::time::Duration::from_millis(5 * attempt as u64)).await;
            }
            Err(RecordError::Store(e)) => return Err(e.into()),
            Err(RecordError::UnprovableConflict(m)) => return Err(DepositError::Unprovable(m)),
        }
    }
}

/// A payment refused now (e.g. its certificates have since expired) may have been settled
/// earlier, in these or other bytes: then the upload is a retry and gets what became of its
/// final notes (idempotency by note, without a look-up on the common path); otherwise
/// `refusal`.
async fn earlier_outcome(
    store: &Store,
    hash: &Digest32,
    account: i64,
    finals: &[LedgerNote],
    refusal: DepositError,
) -> Result<DepositOutcome, DepositError> {
    match store.settled_before(hash, account, finals).await? {
        Some(done) => Ok(done),
        None => Err(refusal),
    }
}

/// The one device that signed the final spend of every chain (a defund returns one
/// device's value).
fn final_signer(payment: &Payment) -> Result<CertId, DepositError> {
    let mut signer = None;
    for chain in &payment.chains {
        let owner = chain.spends_with_signers().last().map(|(_, owner)| owner);
        if owner.is_none() || signer.is_some_and(|x| Some(x) != owner) {
            return Err(DepositError::Decode(
                "a defund must return spends signed by one device, one per chain".into(),
            ));
        }
        signer = owner;
    }
    signer.ok_or_else(|| DepositError::Decode("the payment has no chains".into()))
}

/// The FIs that issued the payment's notes, each once.
fn chain_issuers(payment: &Payment) -> std::collections::BTreeSet<CertId> {
    payment
        .chains
        .iter()
        .map(|c| c.issuance.body.issuer)
        .collect()
}

/// Every distinct spend of every chain of a note `issuer` issued, in chain order, with the
/// note it spends (the issuance for the first hop, the previous hop's note after that) and
/// its signer (that note's owner).
fn spend_records(payment: &Payment, issuer: CertId) -> Vec<SpendRecord> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for chain in payment
        .chains
        .iter()
        .filter(|c| c.issuance.body.issuer == issuer)
    {
        let mut input = LedgerNote {
            id: chain.issuance.note_id(),
            value: chain.issuance.body.amount,
            owner: chain.issuance.body.owner,
            kind: NoteKind::Issuance,
        };
        for s in &chain.spends {
            let id = s.id();
            let note = LedgerNote {
                id,
                value: s.body.value(),
                owner: s.body.payee,
                kind: NoteKind::Spend,
            };
            if seen.insert(id) {
                out.push(SpendRecord {
                    spend_id: note.id,
                    from: s.body.from,
                    to: s.body.to,
                    payee: note.owner,
                    signer: input.owner,
                    bytes: s.to_bytes(),
                    input,
                });
            }
            input = note;
        }
    }
    out
}

/// The final note of every chain (of the notes `issuer` issued, if given): what the payee
/// (or, for a defund, the FI) now owns and the deposit consumes.
pub fn final_notes_of(payment: &Payment, issuer: Option<CertId>) -> Vec<LedgerNote> {
    payment
        .chains
        .iter()
        .filter(|c| issuer.is_none_or(|i| c.issuance.body.issuer == i))
        .filter_map(Chain::last)
        .map(|s| LedgerNote {
            id: s.id(),
            value: s.body.value(),
            owner: s.body.payee,
            kind: NoteKind::Spend,
        })
        .collect()
}

/// What reporting a fraud proof did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedProof {
    /// Whether the report opened the case (false: it was open already).
    pub opened: bool,
    /// The holder who signed both spends.
    pub culprit: CertId,
    /// The note spent twice.
    pub note: NoteId,
    /// Units the two spends share.
    pub overlap: u64,
}

/// A fraud proof a payee kept, reported on its own (`POST /api/v1/fraud-proofs`):
/// decoded, verified against the root (both spends signed by the holder of one
/// overlapping range, certified by a root-certified FI), then opened as a case once, the
/// culprit revoked when it is a device of this FI. Nothing is credited or debited here:
/// settlement recovers duplicated value when the spends are deposited. `Err` says why
/// the proof is refused.
pub async fn report_fraud_proof(
    store: &Store,
    settler: &Settler,
    trust: &Trust,
    bytes: &[u8],
    now: u64,
) -> Result<ReportedProof, ReportError> {
    let proof = FraudProof::from_bytes(bytes).map_err(|e| ReportError::Refused(e.to_string()))?;
    let case = case_from_proof(&trust.root, &proof).map_err(ReportError::Refused)?;
    let opened = store
        .open_fraud_case(
            &case,
            &format!(
                "reported:{}",
                ops_core::ids::to_hex(&ops_core::ids::sha256(bytes)[..8])
            ),
            now,
        )
        .await?;
    if opened {
        settler.revocations.invalidate();
    }
    Ok(ReportedProof {
        opened,
        culprit: case.culprit,
        note: case.input_note,
        overlap: case.overlap,
    })
}

/// Why a reported fraud proof was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The proof does not decode or does not prove a double spend.
    #[error("{0}")]
    Refused(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Builds and checks the fraud proof for a recorded spend and a new overlapping one.
fn fraud_case(
    root: &Certificate,
    certs: &BTreeMap<CertId, Certificate>,
    recorded: &[u8],
    new: &SpendRecord,
) -> Result<NewFraudCase, String> {
    let a = Spend::from_bytes(recorded).map_err(|e| format!("recorded spend: {e}"))?;
    let b = Spend::from_bytes(&new.bytes).map_err(|e| format!("new spend: {e}"))?;
    let signer = certs
        .values()
        .find(|c| c.id() == new.signer)
        .ok_or_else(|| format!("signer certificate {} not in the payment", new.signer))?;
    let fi = signer
        .body
        .issuer
        .and_then(|i| certs.get(&i))
        .ok_or_else(|| "the signer's FI certificate is unknown".to_owned())?;
    case_from_proof(root, &FraudProof::new(a, b, signer.clone(), fi.clone()))
}

/// Checks a fraud proof against the root and turns it into a case.
fn case_from_proof(root: &Certificate, proof: &FraudProof) -> Result<NewFraudCase, String> {
    let verdict = proof
        .verify(root, &RingProvider)
        .map_err(|e| e.to_string())?;
    Ok(NewFraudCase {
        kind: "spends",
        spend_a: proof.first.id(),
        spend_b: proof.second.id(),
        input_note: verdict.note,
        culprit: verdict.culprit,
        culprit_serial: verdict.culprit_serial,
        overlap: verdict.overlap,
        proof: proof.to_bytes(),
    })
}
