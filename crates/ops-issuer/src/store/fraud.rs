//! Fraud cases (listing, resolution), the revocation list and totals (metrics,
//! conservation checks).

use sqlx::Row;

use super::{Store, StoreError, db_int};

/// An operator's decision on a fraud case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    /// The double spend is the account holder's: the culprit stays revoked and debited.
    Confirmed,
    /// The account holder is not held liable (e.g. a stolen or cloned device): what was
    /// debited is credited back; the certificate stays revoked (its key signed two
    /// overlapping spends and is never trusted again).
    Dismissed,
}

impl Resolution {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Confirmed => "confirmed",
            Resolution::Dismissed => "dismissed",
        }
    }
}

/// Which fraud cases to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseFilter {
    /// `None`: every case; `Some(None)`: open cases; `Some(Some(r))`: cases resolved `r`.
    pub status: Option<Option<Resolution>>,
    /// Only cases with an id below this (paging, newest first).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

const CASE_COLUMNS: &str = "SELECT f.id, f.spend_a, f.spend_b, f.input_note, f.culprit, \
     f.culprit_serial, f.overlap, f.debited, f.shortfall, f.deposit, f.proof, f.created, \
     f.resolution, f.resolution_note, f.resolved_by, f.resolved_at, f.refunded, d.account_id, \
     f.kind, f.excess \
     FROM fraud_cases f LEFT JOIN devices d ON d.cert_id = f.culprit";

/// A fraud case as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FraudCaseRow {
    /// Case id.
    pub id: i64,
    /// `spends` (two spends of one note: `proof` is a standalone fraud proof) or
    /// `spend_and_deposit` (a spend of a note its owner deposited: `proof` is that spend,
    /// signed by the culprit; the deposit is this FI's record).
    pub kind: String,
    /// Units this case duplicated: the later claim's units the earlier one had covered
    /// first (`debited + shortfall`). Over all cases of a note, exactly the value credited
    /// beyond the note's value.
    pub excess: i64,
    /// First spend id (hex).
    pub spend_a: String,
    /// Second spend id (hex).
    pub spend_b: String,
    /// The note spent twice (hex).
    pub input_note: String,
    /// The certificate that signed both (hex).
    pub culprit: String,
    /// Its serial.
    pub culprit_serial: i64,
    /// Units the two claims share.
    pub overlap: i64,
    /// Debited from the culprit's account.
    pub debited: i64,
    /// Overlap not recovered (a loss for the FI).
    pub shortfall: i64,
    /// The deposit that revealed it (payment hash, hex).
    pub deposit: String,
    /// When it was opened (seconds since the epoch).
    pub created: i64,
    /// The culprit's account, if the culprit is a device registered here.
    pub culprit_account: Option<i64>,
    /// `open`, `confirmed` or `dismissed`.
    pub status: &'static str,
    /// Whether an operator resolved it.
    pub resolved: bool,
    /// The resolution, once resolved.
    pub resolution: Option<Resolution>,
    /// Why (the operator's note).
    pub resolution_note: Option<String>,
    /// Who resolved it (the operator named in the request).
    pub resolved_by: Option<String>,
    /// When (seconds since the epoch).
    pub resolved_at: Option<i64>,
    /// Credited back to the culprit's account by a dismissal.
    pub refunded: i64,
    /// The fraud proof's canonical bytes, base64.
    pub proof: String,
}

impl FraudCaseRow {
    fn from_row(r: &sqlx::any::AnyRow) -> Result<Self, StoreError> {
        use base64::Engine as _;
        let proof: Vec<u8> = r.try_get(10)?;
        let resolution: Option<String> = r.try_get(12)?;
        let resolution = match resolution.as_deref() {
            None => None,
            Some("confirmed") => Some(Resolution::Confirmed),
            Some("dismissed") => Some(Resolution::Dismissed),
            Some(other) => {
                return Err(StoreError::Corrupt(format!(
                    "fraud case resolution {other:?}"
                )));
            }
        };
        Ok(FraudCaseRow {
            id: r.try_get(0)?,
            kind: r.try_get(18)?,
            excess: r.try_get(19)?,
            spend_a: r.try_get(1)?,
            spend_b: r.try_get(2)?,
            input_note: r.try_get(3)?,
            culprit: r.try_get(4)?,
            culprit_serial: r.try_get(5)?,
            overlap: r.try_get(6)?,
            debited: r.try_get(7)?,
            shortfall: r.try_get(8)?,
            deposit: r.try_get(9)?,
            created: r.try_get(11)?,
            culprit_account: r.try_get(17)?,
            status: resolution.map_or("open", Resolution::as_str),
            resolved: resolution.is_some(),
            resolution,
            resolution_note: r.try_get(13)?,
            resolved_by: r.try_get(14)?,
            resolved_at: r.try_get(15)?,
            refunded: r.try_get(16)?,
            proof: base64::engine::general_purpose::STANDARD.encode(proof),
        })
    }
}

/// Sums over the whole ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Number of accounts.
    pub accounts: i64,
    /// Sum of all balances.
    pub balances: i64,
    /// Registered devices.
    pub devices: i64,
    /// Value of all notes issued.
    pub issued: i64,
    /// Notes issued.
    pub notes: i64,
    /// Deposits recorded.
    pub deposits: i64,
    /// Value credited by deposits and defunds (the consumed final notes).
    pub credited: i64,
    /// Spends recorded.
    pub spends: i64,
    /// Fraud cases.
    pub fraud_cases: i64,
    /// Value recovered from culprits.
    pub fraud_debited: i64,
    /// Value not recovered from culprits.
    pub fraud_shortfall: i64,
    /// Fraud cases not resolved yet.
    pub fraud_open: i64,
    /// Value credited back to culprits by dismissed cases.
    pub fraud_refunded: i64,
    /// Current CRL version.
    pub crl_version: i64,
}

impl Totals {
    /// Value of notes outstanding: issued, minus credited to payees, plus what the
    /// double-spent share recovered from culprits (each overlap was credited twice).
    pub fn outstanding(&self) -> i64 {
        self.issued - self.credited + self.fraud_debited + self.fraud_shortfall
    }
}

impl Store {
    /// Fraud cases matching `filter`, newest first.
    pub async fn fraud_cases(&self, filter: CaseFilter) -> Result<Vec<FraudCaseRow>, StoreError> {
        let mut sql = format!("{CASE_COLUMNS} WHERE f.id < $1");
        match filter.status {
            None => {}
            Some(None) => sql.push_str(" AND f.resolution IS NULL"),
            Some(Some(_)) => sql.push_str(" AND f.resolution = $3"),
        }
        sql.push_str(" ORDER BY f.id DESC LIMIT $2");
        let mut query = sqlx::query(&sql)
            .bind(filter.before.unwrap_or(i64::MAX))
            .bind(filter.limit);
        if let Some(Some(r)) = filter.status {
            query = query.bind(r.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(FraudCaseRow::from_row).collect()
    }

    /// Fraud case `id`.
    pub async fn fraud_case(&self, id: i64) -> Result<Option<FraudCaseRow>, StoreError> {
        let row = sqlx::query(&format!("{CASE_COLUMNS} WHERE f.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(FraudCaseRow::from_row).transpose()
    }

    /// The canonical bytes of fraud case `id`'s proof.
    pub async fn fraud_proof(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT proof FROM fraud_cases WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Resolves fraud case `id` in one transaction: records the resolution, the operator's
    /// note, who and when; a dismissal credits what was debited back to the culprit's
    /// account. A case is resolved once: the same resolution with the same note and
    /// operator again returns the case unchanged (`false`: nothing written); any other
    /// resolution of a resolved case is [`StoreError::AlreadyResolved`].
    pub async fn resolve_fraud_case(
        &self,
        id: i64,
        resolution: Resolution,
        note: &str,
        by: &str,
        now: u64,
    ) -> Result<(FraudCaseRow, bool), StoreError> {
        let mut tx = self.begin_write().await?;
        let refund = i64::from(resolution == Resolution::Dismissed);
        let updated = sqlx::query(
            "UPDATE fraud_cases SET resolution = $1, resolution_note = $2, resolved_by = $3, \
             resolved_at = $4, resolved = 1, refunded = debited * $5 \
             WHERE id = $6 AND resolution IS NULL RETURNING culprit, refunded",
        )
        .bind(resolution.as_str())
        .bind(note)
        .bind(by)
        .bind(db_int(now)?)
        .bind(refund)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let newly = if let Some(row) = updated {
            let culprit: String = row.try_get(0)?;
            let refunded: i64 = row.try_get(1)?;
            if refunded > 0 {
                let credited = sqlx::query(
                    "UPDATE accounts SET balance = balance + $1 \
                     WHERE id = (SELECT account_id FROM devices WHERE cert_id = $2)",
                )
                .bind(refunded)
                .bind(&culprit)
                .execute(&mut *tx)
                .await?;
                if credited.rows_affected() != 1 {
                    return Err(StoreError::NotFound("the culprit's account"));
                }
            }
            tx.commit().await?;
            true
        } else {
            drop(tx);
            false
        };
        let case = self
            .fraud_case(id)
            .await?
            .ok_or(StoreError::NotFound("fraud case"))?;
        if newly
            || (case.resolution == Some(resolution)
                && case.resolution_note.as_deref() == Some(note)
                && case.resolved_by.as_deref() == Some(by))
        {
            return Ok((case, newly));
        }
        Err(StoreError::AlreadyResolved {
            id,
            resolution: case.status.to_owned(),
            by: case.resolved_by.unwrap_or_default(),
            at: case.resolved_at.unwrap_or_default(),
        })
    }

    /// The CRL version and the revoked serials, ascending.
    pub async fn crl(&self) -> Result<(u64, Vec<u64>), StoreError> {
        let version: i64 = sqlx::query("SELECT value FROM meta WHERE key = 'crl_version'")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let serials = sqlx::query("SELECT serial FROM crl_entries ORDER BY serial")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                r.try_get::<i64, _>(0)
                    .map(|s| u64::try_from(s).unwrap_or(0))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((u64::try_from(version).unwrap_or(0), serials))
    }

    /// Sums over the ledger.
    pub async fn totals(&self) -> Result<Totals, StoreError> {
        let r = sqlx::query(
            "SELECT \
             (SELECT COUNT(*) FROM accounts), \
             CAST(COALESCE((SELECT SUM(balance) FROM accounts), 0) AS BIGINT), \
             (SELECT COUNT(*) FROM devices), \
             CAST(COALESCE((SELECT SUM(amount) FROM notes), 0) AS BIGINT), \
             (SELECT COUNT(*) FROM notes), \
             (SELECT COUNT(*) FROM deposits), \
             CAST(COALESCE((SELECT SUM(value) FROM consumptions), 0) AS BIGINT), \
             (SELECT COUNT(*) FROM spends), \
             (SELECT COUNT(*) FROM fraud_cases), \
             CAST(COALESCE((SELECT SUM(debited) FROM fraud_cases), 0) AS BIGINT), \
             CAST(COALESCE((SELECT SUM(shortfall) FROM fraud_cases), 0) AS BIGINT), \
             (SELECT value FROM meta WHERE key = 'crl_version'), \
             (SELECT COUNT(*) FROM fraud_cases WHERE resolution IS NULL), \
             CAST(COALESCE((SELECT SUM(refunded) FROM fraud_cases), 0) AS BIGINT)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Totals {
            accounts: r.try_get(0)?,
            balances: r.try_get(1)?,
            devices: r.try_get(2)?,
            issued: r.try_get(3)?,
            notes: r.try_get(4)?,
            deposits: r.try_get(5)?,
            credited: r.try_get(6)?,
            spends: r.try_get(7)?,
            fraud_cases: r.try_get(8)?,
            fraud_debited: r.try_get(9)?,
            fraud_shortfall: r.try_get(10)?,
            crl_version: r.try_get(11)?,
            fraud_open: r.try_get(12)?,
            fraud_refunded: r.try_get(13)?,
        })
    }
}
