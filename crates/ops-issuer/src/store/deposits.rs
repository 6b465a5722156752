//! Recording deposits and defunds in the per-note ledger: every spend of every hop, the
//! consumption of each final note, the credit, and a fraud case for every pair of claims on
//! one note that overlap, in one transaction (docs/STORAGE.md, "The per-note ledger").

mod batch;
pub mod coverage;
mod fast;

use ops_core::{CertId, Digest32, NoteId};
use sqlx::AnyConnection;

use super::accounts::IdRow;
use super::types::Hex;
use super::{Store, StoreError, db_int};

/// What kind of note a claim's input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// An FI issuance.
    Issuance,
    /// A note created by a spend.
    Spend,
}

impl NoteKind {
    /// The `ledger_notes.kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Issuance => "issuance",
            NoteKind::Spend => "spend",
        }
    }
}

/// A note as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerNote {
    /// Note id.
    pub id: NoteId,
    /// Its value.
    pub value: u64,
    /// The certificate id of its owner: the only key that may spend it.
    pub owner: CertId,
    /// Issuance or spend.
    pub kind: NoteKind,
}

/// One spend of a deposited payment, with the note it spends.
#[derive(Debug, Clone)]
pub struct SpendRecord {
    /// Spend id: hash of the signed body (the id of the note it creates).
    pub spend_id: NoteId,
    /// The note it consumes (its owner signed this spend).
    pub input: LedgerNote,
    /// Range start.
    pub from: u64,
    /// Range end (exclusive).
    pub to: u64,
    /// Payee certificate id.
    pub payee: CertId,
    /// Signer certificate id: the input note's owner.
    pub signer: CertId,
    /// The signed spend's canonical bytes.
    pub bytes: Vec<u8>,
}

/// Whether a payment is deposited by its payee or returned to the FI by its payer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumptionKind {
    /// The payee deposits what it received.
    Deposit,
    /// A wallet returns value to its account (the payment pays the FI).
    Defund,
}

impl ConsumptionKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumptionKind::Deposit => "deposit",
            ConsumptionKind::Defund => "defund",
        }
    }
}

/// When a deposit that duplicates value waits for an operator instead of being credited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldPolicy {
    /// Hold at all (an operator's release records with `false`).
    pub enabled: bool,
    /// Largest excess (value credited more than once) one culprit may cause before further
    /// deposits relying on it are held.
    pub max_excess_per_culprit: u64,
}

/// An operator's release of a held deposit, recorded with the deposit it releases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The hold.
    pub held_id: i64,
    /// Who decided.
    pub operator: String,
    /// Why.
    pub note: String,
}

/// A verified payment to record.
#[derive(Debug, Clone)]
pub struct NewDeposit {
    /// Payment hash: names the request in logs and holds (not the idempotency key).
    pub payment_hash: Digest32,
    /// Deposit or defund.
    pub kind: ConsumptionKind,
    /// The credited device's certificate id: the payee, or for a defund the signer.
    pub depositor: CertId,
    /// The credited account.
    pub account_id: i64,
    /// The value of the final notes.
    pub amount: u64,
    /// Every distinct spend of every hop, in chain order.
    pub spends: Vec<SpendRecord>,
    /// The final note of every chain (each consumed whole).
    pub finals: Vec<LedgerNote>,
    /// The payment's canonical bytes (kept with a held deposit, and with a claim on
    /// another FI).
    pub payment: std::sync::Arc<Vec<u8>>,
    /// The other FIs that issued notes of this payment: once it is credited, a claim on
    /// each is queued for clearing in the same transaction (their chains' spends are
    /// recorded in their issuers' ledgers, not in `spends`).
    pub forward: Vec<CertId>,
    /// When to hold instead of credit.
    pub hold: HoldPolicy,
    /// The hold this recording releases (an operator's decision; `None` for an upload).
    pub release: Option<Release>,
    /// Time of recording.
    pub now: u64,
}

/// A fraud case: two claims on one note whose ranges overlap.
#[derive(Debug, Clone)]
pub struct NewFraudCase {
    /// `spends` (two spends of the note) or `spend_and_deposit` (a spend of a note that
    /// its owner also deposited).
    pub kind: &'static str,
    /// The first claim: the spend with the smaller id, or for `spend_and_deposit` the
    /// spend.
    pub spend_a: NoteId,
    /// The second claim: the spend with the larger id, or for `spend_and_deposit` the
    /// deposited note.
    pub spend_b: NoteId,
    /// The note claimed twice.
    pub input_note: NoteId,
    /// The note's owner, who made both claims.
    pub culprit: CertId,
    /// Its serial (0 when it is not a certificate of this FI).
    pub culprit_serial: u64,
    /// Units the two claims share.
    pub overlap: u64,
    /// The proof's canonical bytes: a fraud proof for `spends`; for `spend_and_deposit`
    /// the spend signed by the culprit (the deposit is this FI's record).
    pub proof: Vec<u8>,
}

/// What a deposit did, and whether it was credited or waits for an operator: the API's
/// own types (`ops-api`), so the answer the service sends is what the store recorded.
pub use ops_api::{DepositOutcome, DepositStatus};

/// Builds a fraud proof from (recorded spend bytes, new spend); an error if no valid
/// proof can be built (then the deposit is refused).
pub type FraudBuilder<'a> =
    &'a (dyn Fn(&[u8], &SpendRecord) -> Result<NewFraudCase, String> + Send + Sync);

/// Why a deposit was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An overlap was found but no valid fraud proof could be built from it.
    #[error("double spend without a valid fraud proof: {0}")]
    UnprovableConflict(String),
}

impl From<sqlx::Error> for RecordError {
    fn from(e: sqlx::Error) -> Self {
        RecordError::Store(StoreError::Db(e))
    }
}

impl Store {
    /// Records one verified deposit (a batch of one).
    pub async fn record_deposit(
        &self,
        deposit: &NewDeposit,
        fraud: FraudBuilder<'_>,
    ) -> Result<DepositOutcome, RecordError> {
        self.try_batch(&[(deposit, fraud)])
            .await?
            .pop()
            .ok_or_else(|| StoreError::Corrupt("a deposit outcome went missing".into()).into())
    }

    /// Records several deposits in one transaction (group commit: one lock hand-over and
    /// one flush for the batch; the credits are summed per account and applied in account
    /// order, then the culprits' debits). If the batch fails, it is rolled back and each
    /// deposit is recorded in its own transaction, so one refused deposit never affects the
    /// others; the outcomes are in input order.
    pub async fn record_batch(
        &self,
        jobs: &[(&NewDeposit, FraudBuilder<'_>)],
    ) -> Vec<Result<DepositOutcome, RecordError>> {
        match self.try_batch(jobs).await {
            Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
            Err(e) if jobs.len() == 1 => vec![Err(e)],
            Err(e) => {
                tracing::debug!(
                    "a batch of {} deposits is retried one by one: {e}",
                    jobs.len()
                );
                let mut out = Vec::with_capacity(jobs.len());
                for (deposit, fraud) in jobs {
                    out.push(self.record_deposit(deposit, *fraud).await);
                }
                out
            }
        }
    }

    async fn try_batch(
        &self,
        jobs: &[(&NewDeposit, FraudBuilder<'_>)],
    ) -> Result<Vec<DepositOutcome>, RecordError> {
        let mut tx = self.begin_write().await?;
        let out = batch::record(&mut tx, self.backend, jobs).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// What became of a payment whose final notes are `finals`, if all of them were
    /// settled for `account` before (a retry, whatever its bytes) or one is held: the
    /// answer for a payment that no longer verifies (certificates expired since).
    pub async fn settled_before(
        &self,
        payment_hash: &Digest32,
        account: i64,
        finals: &[LedgerNote],
    ) -> Result<Option<DepositOutcome>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        if let Some(held) = batch::hold_of(&mut conn, payment_hash, account, finals).await? {
            return Ok(Some(held));
        }
        let mut amount = 0i64;
        for f in finals {
            let row: Option<ConsumerRow> =
                sqlx::query_as("SELECT account_id FROM consumptions WHERE note_id = $1")
                    .bind(Hex(f.id))
                    .fetch_optional(&mut *conn)
                    .await?;
            match row {
                Some(r) if r.account_id == account => amount += db_int(f.value)?,
                _ => return Ok(None),
            }
        }
        Ok(Some(DepositOutcome {
            payment_hash: payment_hash.to_string(),
            account_id: account,
            status: DepositStatus::Credited,
            amount,
            credited: 0,
            spends_recorded: 0,
            fraud_cases: 0,
            held_id: None,
        }))
    }

    /// Opens a fraud case found outside a deposit (two overlapping spends in one uploaded
    /// payment, nothing credited; or a reported proof): revokes the culprit. `origin` is
    /// recorded as the case's `deposit`: the payment's hash (hex), or `reported:<hex>` for
    /// a reported proof. Returns whether it was new.
    pub async fn open_fraud_case(
        &self,
        case: &NewFraudCase,
        origin: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let opened = open_case(&mut tx, case, 0, origin, now).await?;
        tx.commit().await?;
        Ok(opened.is_some())
    }
}

/// The account a note was consumed for (`consumptions.account_id`).
#[derive(sqlx::FromRow)]
struct ConsumerRow {
    account_id: i64,
}

/// A device's serial (`devices.serial`).
#[derive(sqlx::FromRow)]
pub(crate) struct SerialRow {
    /// The serial.
    pub serial: i64,
}

/// A fraud case's excess and debit, and its culprit's account here (if any).
#[derive(sqlx::FromRow)]
struct DebitRow {
    excess: i64,
    debited: i64,
    account: Option<i64>,
    balance: Option<i64>,
}

/// A case opened by [`open_case`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpenedCase {
    /// Its id.
    pub id: i64,
    /// Whether it revoked the culprit (false: revoked before, or not ours).
    pub revoked_now: bool,
}

/// Opens a fraud case unless this pair is already one, with `excess` duplicated units to
/// recover later (see [`debit_culprit`]); revokes the culprit (CRL entry, new CRL version)
/// when it is a device of this FI. A pair that is a case already gets `excess` added (the
/// case to debit); `None` when it was a case already and nothing more is duplicated.
pub(crate) async fn open_case(
    conn: &mut AnyConnection,
    case: &NewFraudCase,
    excess: u64,
    deposit: &str,
    now: u64,
) -> Result<Option<OpenedCase>, StoreError> {
    let known: Option<IdRow> =
        sqlx::query_as("SELECT id FROM fraud_cases WHERE spend_a = $1 AND spend_b = $2")
            .bind(Hex(case.spend_a))
            .bind(Hex(case.spend_b))
            .fetch_optional(&mut *conn)
            .await?;
    let excess = db_int(excess)?;
    if let Some(IdRow { id }) = known {
        // A case opened before this deposit (a fraud proof a payee reported, or a payment
        // holding both spends, refused): nothing was duplicated then. Value this deposit
        // duplicates now is added to it, so the culprit is debited for it like for a new
        // case.
        if excess == 0 {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE fraud_cases SET excess = excess + $1, shortfall = shortfall + $1 WHERE id = $2",
        )
        .bind(excess)
        .bind(id)
        .execute(&mut *conn)
        .await?;
        return Ok(Some(OpenedCase {
            id,
            revoked_now: false,
        }));
    }
    let IdRow { id } = sqlx::query_as(
        "INSERT INTO fraud_cases (spend_a, spend_b, input_note, culprit, culprit_serial, overlap, proof, debited, shortfall, deposit, resolved, created, kind, excess) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, 0, $10, $11, $8) RETURNING id",
    )
    .bind(Hex(case.spend_a))
    .bind(Hex(case.spend_b))
    .bind(Hex(case.input_note))
    .bind(Hex(case.culprit))
    .bind(db_int(case.culprit_serial)?)
    .bind(db_int(case.overlap)?)
    .bind(&case.proof)
    .bind(excess)
    .bind(deposit)
    .bind(db_int(now)?)
    .bind(case.kind)
    .fetch_one(&mut *conn)
    .await?;
    let revoked_now = revoke(conn, &case.culprit, "double spend", SETTLEMENT, now).await?;
    Ok(Some(OpenedCase { id, revoked_now }))
}

/// Who revoked a certificate when settlement opened a fraud case against it (the
/// `crl_entries.revoked_by` of those revocations).
pub const SETTLEMENT: &str = "settlement";

/// Revokes `cert_id` if it is a device of this FI and not revoked yet (CRL entry, new CRL
/// version), recording `reason` and who revoked (`revoked_by`: [`SETTLEMENT`] for a fraud
/// case, see `Store::revoke_device` for the holder's revocations); returns whether it did.
/// A certificate is listed once: a second revocation, concurrent or later, finds the
/// entry (`ON CONFLICT (serial) DO NOTHING`) and changes neither the entry nor the version.
pub(crate) async fn revoke(
    conn: &mut AnyConnection,
    cert_id: &CertId,
    reason: &str,
    revoked_by: &str,
    now: u64,
) -> Result<bool, StoreError> {
    let Some(SerialRow { serial }) =
        sqlx::query_as("SELECT serial FROM devices WHERE cert_id = $1")
            .bind(Hex(*cert_id))
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(false);
    };
    sqlx::query("UPDATE devices SET revoked = 1 WHERE cert_id = $1")
        .bind(Hex(*cert_id))
        .execute(&mut *conn)
        .await?;
    let revoked = sqlx::query(
        "INSERT INTO crl_entries (serial, cert_id, reason, revoked_at, revoked_by) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (serial) DO NOTHING",
    )
    .bind(serial)
    .bind(Hex(*cert_id))
    .bind(reason)
    .bind(db_int(now)?)
    .bind(revoked_by)
    .execute(&mut *conn)
    .await?;
    if revoked.rows_affected() == 1 {
        sqlx::query("UPDATE meta SET value = value + 1 WHERE key = 'crl_version'")
            .execute(&mut *conn)
            .await?;
        return Ok(true);
    }
    Ok(false)
}

/// Recovers case `id`'s excess from its culprit's account, as far as the balance goes;
/// the rest is the case's shortfall (the FI's loss).
pub(crate) async fn debit_culprit(
    conn: &mut AnyConnection,
    case_id: i64,
) -> Result<(), StoreError> {
    let DebitRow {
        excess,
        debited: already,
        account,
        balance,
    } = sqlx::query_as(
        "SELECT f.excess, f.debited, a.id AS account, a.balance FROM fraud_cases f \
         LEFT JOIN devices d ON d.cert_id = f.culprit \
         LEFT JOIN accounts a ON a.id = d.account_id WHERE f.id = $1",
    )
    .bind(case_id)
    .fetch_one(&mut *conn)
    .await?;
    let owed = (excess - already).max(0);
    let debit = match (account, balance) {
        (Some(id), Some(balance)) if owed > 0 => {
            let debit = balance.min(owed).max(0);
            sqlx::query("UPDATE accounts SET balance = balance - $1 WHERE id = $2")
                .bind(debit)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            debit
        }
        _ => 0,
    };
    sqlx::query(
        "UPDATE fraud_cases SET debited = debited + $1, shortfall = excess - debited - $1 \
         WHERE id = $2",
    )
    .bind(debit)
    .bind(case_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One certificate this FI revoked.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RevocationEntry {
    /// Its certificate id.
    #[sqlx(try_from = "Hex<CertId>")]
    pub cert_id: CertId,
    /// When it was revoked (Unix seconds).
    #[sqlx(try_from = "i64")]
    pub revoked_at: u64,
    /// Why, as stored (`double spend`, `lost`, `replaced`, `stolen`).
    pub reason: String,
}

impl Store {
    /// Every certificate this FI revoked, with the time it did (the settlement rule for
    /// revoked certificates, `ops_core::settlement`, needs the time) and why.
    pub async fn revocation_entries(&self) -> Result<Vec<RevocationEntry>, StoreError> {
        Ok(
            sqlx::query_as("SELECT cert_id, revoked_at, reason FROM crl_entries")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
