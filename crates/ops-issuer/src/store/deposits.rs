//! Recording a deposit: every spend, the credit, and any fraud case, in one transaction.

mod batch;

use sqlx::{Any, Row, Transaction};

use super::{Store, StoreError, db_int};

/// One spend of a deposited payment, with the device that signed it.
#[derive(Debug, Clone)]
pub struct SpendRecord {
    /// Spend id (hex): hash of the signed body.
    pub spend_id: String,
    /// The note it consumes (hex).
    pub input_note: String,
    /// Range start.
    pub from: u64,
    /// Range end (exclusive).
    pub to: u64,
    /// Payee certificate id (hex).
    pub payee: String,
    /// Signer certificate id (hex).
    pub signer: String,
    /// The signed spend's canonical bytes.
    pub bytes: Vec<u8>,
}

/// A verified payment to record.
#[derive(Debug, Clone)]
pub struct NewDeposit {
    /// Payment hash (hex): the idempotency key.
    pub payment_hash: String,
    /// Depositor certificate id (hex).
    pub depositor: String,
    /// The depositor's account.
    pub account_id: i64,
    /// Amount to credit.
    pub amount: u64,
    /// Every distinct spend of every hop.
    pub spends: Vec<SpendRecord>,
    /// Time of recording.
    pub now: u64,
}

/// A fraud case built from a recorded spend and a new overlapping one.
#[derive(Debug, Clone)]
pub struct NewFraudCase {
    /// The spend with the smaller id (hex).
    pub spend_a: String,
    /// The spend with the larger id (hex).
    pub spend_b: String,
    /// The note spent twice (hex).
    pub input_note: String,
    /// The certificate that signed both (hex).
    pub culprit: String,
    /// Its serial.
    pub culprit_serial: u64,
    /// Value spent twice.
    pub overlap: u64,
    /// The fraud proof's canonical bytes.
    pub proof: Vec<u8>,
}

/// What a deposit did (the same answer on every retry of the same payment).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DepositOutcome {
    /// Payment hash (hex).
    pub payment_hash: String,
    /// The credited account.
    pub account_id: i64,
    /// Amount credited.
    pub amount: i64,
    /// Spends newly recorded by this deposit.
    pub spends_recorded: i64,
    /// Fraud cases opened by this deposit.
    pub fraud_cases: i64,
}

/// Builds a fraud case from (recorded spend bytes, new spend record); `None` if no valid
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

/// The recorded outcome of the deposit with payment hash `$1`.
const OUTCOME_BY_HASH: &str = "SELECT payment_hash, account_id, amount, spends_recorded, fraud_cases \
     FROM deposits WHERE payment_hash = $1";

impl Store {
    /// The outcome of an already recorded deposit.
    pub async fn deposit(&self, payment_hash: &str) -> Result<Option<DepositOutcome>, StoreError> {
        let row = sqlx::query(OUTCOME_BY_HASH)
            .bind(payment_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| outcome(&r)).transpose()
    }

    /// Records a verified deposit in one transaction: returns the earlier outcome if this
    /// payment was recorded before; otherwise records each spend (an overlap with a recorded
    /// spend of another body opens a fraud case, revokes and debits the culprit), credits
    /// the depositor and stores the outcome. Nothing is written unless all of it is.
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
    /// one flush for the batch; the credits are summed per account and applied last, in
    /// account order, so batches on concurrent connections take busy merchants' rows
    /// briefly and always in the same order). If any deposit of the batch fails, the batch
    /// is rolled back and each deposit is recorded in its own transaction, so one refused
    /// deposit never affects the others; the outcomes are in input order.
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
}

/// Adds `amount` to `account`.
async fn credit(
    tx: &mut Transaction<'static, Any>,
    account: i64,
    amount: i64,
) -> Result<(), RecordError> {
    let credited = sqlx::query("UPDATE accounts SET balance = balance + $1 WHERE id = $2")
        .bind(amount)
        .bind(account)
        .execute(&mut **tx)
        .await?;
    if credited.rows_affected() != 1 {
        return Err(StoreError::NotFound("depositor account").into());
    }
    Ok(())
}

impl Store {
    /// Opens a fraud case found outside a deposit transaction (two overlapping spends in
    /// one uploaded payment): revokes and debits the culprit. Returns whether it was new.
    pub async fn open_fraud_case(
        &self,
        case: &NewFraudCase,
        payment_hash: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let opened = open_case(&mut tx, case, payment_hash, now).await?;
        tx.commit().await?;
        Ok(opened)
    }
}

/// Opens a fraud case unless this pair is already a case: revokes the culprit (CRL entry,
/// new CRL version) and debits its account up to the overlap. Returns whether it opened.
async fn open_case(
    tx: &mut Transaction<'static, Any>,
    case: &NewFraudCase,
    deposit: &str,
    now: u64,
) -> Result<bool, StoreError> {
    let known = sqlx::query("SELECT id FROM fraud_cases WHERE spend_a = $1 AND spend_b = $2")
        .bind(&case.spend_a)
        .bind(&case.spend_b)
        .fetch_optional(&mut **tx)
        .await?;
    if known.is_some() {
        return Ok(false);
    }
    let overlap = db_int(case.overlap)?;
    let account = sqlx::query(
        "SELECT a.id, a.balance FROM devices d JOIN accounts a ON a.id = d.account_id \
         WHERE d.cert_id = $1",
    )
    .bind(&case.culprit)
    .fetch_optional(&mut **tx)
    .await?;
    let debited = match account {
        Some(row) => {
            let id: i64 = row.try_get(0)?;
            let balance: i64 = row.try_get(1)?;
            let debit = balance.min(overlap).max(0);
            sqlx::query("UPDATE accounts SET balance = balance - $1 WHERE id = $2")
                .bind(debit)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            debit
        }
        None => 0,
    };
    sqlx::query(
        "INSERT INTO fraud_cases (spend_a, spend_b, input_note, culprit, culprit_serial, overlap, proof, debited, shortfall, deposit, resolved, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11)",
    )
    .bind(&case.spend_a)
    .bind(&case.spend_b)
    .bind(&case.input_note)
    .bind(&case.culprit)
    .bind(db_int(case.culprit_serial)?)
    .bind(overlap)
    .bind(&case.proof)
    .bind(debited)
    .bind(overlap - debited)
    .bind(deposit)
    .bind(db_int(now)?)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE devices SET revoked = 1 WHERE cert_id = $1")
        .bind(&case.culprit)
        .execute(&mut **tx)
        .await?;
    let revoked = sqlx::query(
        "INSERT INTO crl_entries (serial, cert_id, reason, revoked_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (serial) DO NOTHING",
    )
    .bind(db_int(case.culprit_serial)?)
    .bind(&case.culprit)
    .bind("double spend")
    .bind(db_int(now)?)
    .execute(&mut **tx)
    .await?;
    if revoked.rows_affected() == 1 {
        sqlx::query("UPDATE meta SET value = value + 1 WHERE key = 'crl_version'")
            .execute(&mut **tx)
            .await?;
    }
    Ok(true)
}

fn outcome(r: &sqlx::any::AnyRow) -> Result<DepositOutcome, StoreError> {
    Ok(DepositOutcome {
        payment_hash: r.try_get(0)?,
        account_id: r.try_get(1)?,
        amount: r.try_get(2)?,
        spends_recorded: r.try_get(3)?,
        fraud_cases: r.try_get(4)?,
    })
}

impl Store {
    /// Every certificate this FI revoked, with the time it did (the settlement rule for
    /// revoked certificates, `ops_core::settlement`, needs the time).
    pub async fn revocation_times(
        &self,
    ) -> Result<std::collections::HashMap<String, u64>, StoreError> {
        let rows = sqlx::query("SELECT cert_id, revoked_at FROM crl_entries")
            .fetch_all(&self.pool)
            .await?;
        let mut out = std::collections::HashMap::with_capacity(rows.len());
        for r in rows {
            let id: String = r.try_get(0)?;
            let at: i64 = r.try_get(1)?;
            out.insert(id, u64::try_from(at).unwrap_or(0));
        }
        Ok(out)
    }
}
