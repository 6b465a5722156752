//! Recording a deposit: every spend, the credit, and any fraud case, in one transaction.

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

impl Store {
    /// The outcome of an already recorded deposit.
    pub async fn deposit(&self, payment_hash: &str) -> Result<Option<DepositOutcome>, StoreError> {
        let row = sqlx::query(
            "SELECT payment_hash, account_id, amount, spends_recorded, fraud_cases \
             FROM deposits WHERE payment_hash = $1",
        )
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
        let mut tx = self.begin_write().await?;
        let outcome = record_in_tx(&mut tx, deposit, fraud).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Records several deposits in one transaction (group commit: one lock hand-over and
    /// one fsync for the batch). Each deposit runs under its own savepoint, so one refused
    /// deposit leaves the others intact; the outcomes are in input order. An error of the
    /// batch itself (begin or commit) is returned whole: nothing of it was written.
    pub async fn record_batch(
        &self,
        jobs: &[(&NewDeposit, FraudBuilder<'_>)],
    ) -> Result<Vec<Result<DepositOutcome, RecordError>>, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut out = Vec::with_capacity(jobs.len());
        for (deposit, fraud) in jobs {
            sqlx::query("SAVEPOINT deposit").execute(&mut *tx).await?;
            match record_in_tx(&mut tx, deposit, *fraud).await {
                Ok(o) => {
                    sqlx::query("RELEASE SAVEPOINT deposit")
                        .execute(&mut *tx)
                        .await?;
                    out.push(Ok(o));
                }
                Err(e) => {
                    sqlx::query("ROLLBACK TO SAVEPOINT deposit")
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("RELEASE SAVEPOINT deposit")
                        .execute(&mut *tx)
                        .await?;
                    out.push(Err(e));
                }
            }
        }
        tx.commit().await?;
        Ok(out)
    }
}

/// Records one deposit inside `tx` (see [`Store::record_deposit`]).
async fn record_in_tx(
    tx: &mut Transaction<'static, Any>,
    deposit: &NewDeposit,
    fraud: FraudBuilder<'_>,
) -> Result<DepositOutcome, RecordError> {
    {
        if let Some(r) = sqlx::query(
            "SELECT payment_hash, account_id, amount, spends_recorded, fraud_cases \
             FROM deposits WHERE payment_hash = $1",
        )
        .bind(&deposit.payment_hash)
        .fetch_optional(&mut **tx)
        .await?
        {
            return Ok(outcome(&r)?);
        }
        let mut recorded = 0i64;
        let mut cases = 0i64;
        for s in &deposit.spends {
            let existing = sqlx::query(
                "SELECT spend_id, spend FROM spends \
                 WHERE input_note = $1 AND range_from < $2 AND range_to > $3 \
                 ORDER BY range_from LIMIT 1",
            )
            .bind(&s.input_note)
            .bind(db_int(s.to)?)
            .bind(db_int(s.from)?)
            .fetch_optional(&mut **tx)
            .await?;
            match existing {
                Some(row) => {
                    let id: String = row.try_get(0)?;
                    if id == s.spend_id {
                        continue;
                    }
                    let bytes: Vec<u8> = row.try_get(1)?;
                    let case = fraud(&bytes, s).map_err(RecordError::UnprovableConflict)?;
                    if open_case(tx, &case, &deposit.payment_hash, deposit.now).await? {
                        cases += 1;
                    }
                }
                None => {
                    sqlx::query(
                        "INSERT INTO spends (spend_id, input_note, range_from, range_to, payee, signer, deposit, spend) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&s.spend_id)
                    .bind(&s.input_note)
                    .bind(db_int(s.from)?)
                    .bind(db_int(s.to)?)
                    .bind(&s.payee)
                    .bind(&s.signer)
                    .bind(&deposit.payment_hash)
                    .bind(&s.bytes)
                    .execute(&mut **tx)
                    .await?;
                    recorded += 1;
                }
            }
        }
        let amount = db_int(deposit.amount)?;
        let credited = sqlx::query("UPDATE accounts SET balance = balance + $1 WHERE id = $2")
            .bind(amount)
            .bind(deposit.account_id)
            .execute(&mut **tx)
            .await?;
        if credited.rows_affected() != 1 {
            return Err(StoreError::NotFound("depositor account").into());
        }
        sqlx::query(
            "INSERT INTO deposits (payment_hash, depositor, account_id, amount, spends_recorded, fraud_cases, created) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&deposit.payment_hash)
        .bind(&deposit.depositor)
        .bind(deposit.account_id)
        .bind(amount)
        .bind(recorded)
        .bind(cases)
        .bind(db_int(deposit.now)?)
        .execute(&mut **tx)
        .await?;
        Ok(DepositOutcome {
            payment_hash: deposit.payment_hash.clone(),
            account_id: deposit.account_id,
            amount,
            spends_recorded: recorded,
            fraud_cases: cases,
        })
    }
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
