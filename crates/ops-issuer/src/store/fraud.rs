//! Fraud cases (listing, resolution), the revocation list and totals (metrics,
//! conservation checks).

use ops_core::{CertId, NoteId};

use super::blocklist::MetaRow;
use super::types::Hex;
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

    /// The resolution stored as `name`; `None` for an unknown name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "confirmed" => Some(Resolution::Confirmed),
            "dismissed" => Some(Resolution::Dismissed),
            _ => None,
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
    /// First claim: a spend id.
    pub spend_a: NoteId,
    /// Second claim: a spend id, or for `spend_and_deposit` the deposited note.
    pub spend_b: NoteId,
    /// The note spent twice.
    pub input_note: NoteId,
    /// The certificate that signed both.
    pub culprit: CertId,
    /// Its serial.
    pub culprit_serial: i64,
    /// Units the two claims share.
    pub overlap: i64,
    /// Debited from the culprit's account.
    pub debited: i64,
    /// Overlap not recovered (a loss for the FI).
    pub shortfall: i64,
    /// What revealed it: the deposit's payment hash (hex), or `reported:<hex>` for a
    /// fraud proof reported on its own.
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

/// A fraud case as read (the columns of [`CASE_COLUMNS`]).
#[derive(sqlx::FromRow)]
struct CaseRow {
    id: i64,
    spend_a: Hex<NoteId>,
    spend_b: Hex<NoteId>,
    input_note: Hex<NoteId>,
    culprit: Hex<CertId>,
    culprit_serial: i64,
    overlap: i64,
    debited: i64,
    shortfall: i64,
    deposit: String,
    proof: Vec<u8>,
    created: i64,
    resolution: Option<String>,
    resolution_note: Option<String>,
    resolved_by: Option<String>,
    resolved_at: Option<i64>,
    refunded: i64,
    account_id: Option<i64>,
    kind: String,
    excess: i64,
}

impl TryFrom<CaseRow> for FraudCaseRow {
    type Error = StoreError;

    fn try_from(r: CaseRow) -> Result<Self, StoreError> {
        use base64::Engine as _;
        let resolution =
            match r.resolution.as_deref() {
                None => None,
                Some(name) => Some(Resolution::parse(name).ok_or_else(|| {
                    StoreError::Corrupt(format!("fraud case resolution {name:?}"))
                })?),
            };
        Ok(FraudCaseRow {
            id: r.id,
            kind: r.kind,
            excess: r.excess,
            spend_a: r.spend_a.0,
            spend_b: r.spend_b.0,
            input_note: r.input_note.0,
            culprit: r.culprit.0,
            culprit_serial: r.culprit_serial,
            overlap: r.overlap,
            debited: r.debited,
            shortfall: r.shortfall,
            deposit: r.deposit,
            created: r.created,
            culprit_account: r.account_id,
            status: resolution.map_or("open", Resolution::as_str),
            resolved: resolution.is_some(),
            resolution,
            resolution_note: r.resolution_note,
            resolved_by: r.resolved_by,
            resolved_at: r.resolved_at,
            refunded: r.refunded,
            proof: base64::engine::general_purpose::STANDARD.encode(r.proof),
        })
    }
}

/// A resolved case's culprit and the value credited back (`RETURNING culprit, refunded`).
#[derive(sqlx::FromRow)]
struct ResolvedRow {
    culprit: Hex<CertId>,
    refunded: i64,
}

/// A fraud case's proof (`fraud_cases.proof`).
#[derive(sqlx::FromRow)]
struct ProofRow {
    proof: Vec<u8>,
}

/// A revoked serial (`crl_entries.serial`).
#[derive(sqlx::FromRow)]
struct SerialRow {
    serial: i64,
}

/// Sums over the whole ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
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
        let mut query = sqlx::query_as(&sql)
            .bind(filter.before.unwrap_or(i64::MAX))
            .bind(filter.limit);
        if let Some(Some(r)) = filter.status {
            query = query.bind(r.as_str());
        }
        let rows: Vec<CaseRow> = query.fetch_all(&self.pool).await?;
        rows.into_iter().map(FraudCaseRow::try_from).collect()
    }

    /// Fraud case `id`.
    pub async fn fraud_case(&self, id: i64) -> Result<Option<FraudCaseRow>, StoreError> {
        let row: Option<CaseRow> = sqlx::query_as(&format!("{CASE_COLUMNS} WHERE f.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(FraudCaseRow::try_from).transpose()
    }

    /// The canonical bytes of fraud case `id`'s proof.
    pub async fn fraud_proof(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<ProofRow> = sqlx::query_as("SELECT proof FROM fraud_cases WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.proof))
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
        let updated: Option<ResolvedRow> = sqlx::query_as(
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
        let newly = if let Some(ResolvedRow { culprit, refunded }) = updated {
            if refunded > 0 {
                let credited = sqlx::query(
                    "UPDATE accounts SET balance = balance + $1 \
                     WHERE id = (SELECT account_id FROM devices WHERE cert_id = $2)",
                )
                .bind(refunded)
                .bind(culprit)
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
        let version: MetaRow = sqlx::query_as("SELECT value FROM meta WHERE key = 'crl_version'")
            .fetch_one(&self.pool)
            .await?;
        let serials: Vec<SerialRow> =
            sqlx::query_as("SELECT serial FROM crl_entries ORDER BY serial")
                .fetch_all(&self.pool)
                .await?;
        Ok((
            u64::try_from(version.value).unwrap_or(0),
            serials
                .into_iter()
                .map(|r| u64::try_from(r.serial).unwrap_or(0))
                .collect(),
        ))
    }

    /// Sums over the ledger.
    pub async fn totals(&self) -> Result<Totals, StoreError> {
        Ok(sqlx::query_as(
            "SELECT \
             (SELECT COUNT(*) FROM accounts) AS accounts, \
             CAST(COALESCE((SELECT SUM(balance) FROM accounts), 0) AS BIGINT) AS balances, \
             (SELECT COUNT(*) FROM devices) AS devices, \
             CAST(COALESCE((SELECT SUM(amount) FROM notes), 0) AS BIGINT) AS issued, \
             (SELECT COUNT(*) FROM notes) AS notes, \
             (SELECT COUNT(*) FROM deposits) AS deposits, \
             CAST(COALESCE((SELECT SUM(value) FROM consumptions), 0) AS BIGINT) AS credited, \
             (SELECT COUNT(*) FROM spends) AS spends, \
             (SELECT COUNT(*) FROM fraud_cases) AS fraud_cases, \
             CAST(COALESCE((SELECT SUM(debited) FROM fraud_cases), 0) AS BIGINT) AS fraud_debited, \
             CAST(COALESCE((SELECT SUM(shortfall) FROM fraud_cases), 0) AS BIGINT) AS fraud_shortfall, \
             (SELECT value FROM meta WHERE key = 'crl_version') AS crl_version, \
             (SELECT COUNT(*) FROM fraud_cases WHERE resolution IS NULL) AS fraud_open, \
             CAST(COALESCE((SELECT SUM(refunded) FROM fraud_cases), 0) AS BIGINT) AS fraud_refunded",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}
