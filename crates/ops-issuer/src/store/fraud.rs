//! Fraud cases, the revocation list and totals (metrics, conservation checks).

use sqlx::Row;

use super::{Store, StoreError};

/// A fraud case as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FraudCaseRow {
    /// Case id.
    pub id: i64,
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
    /// Value spent twice.
    pub overlap: i64,
    /// Debited from the culprit's account.
    pub debited: i64,
    /// Overlap not recovered (a loss for the FI).
    pub shortfall: i64,
    /// The deposit that revealed it (payment hash, hex).
    pub deposit: String,
    /// Whether an operator closed it.
    pub resolved: bool,
    /// The fraud proof's canonical bytes, base64.
    pub proof: String,
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
    /// Value credited by deposits.
    pub credited: i64,
    /// Spends recorded.
    pub spends: i64,
    /// Fraud cases.
    pub fraud_cases: i64,
    /// Value recovered from culprits.
    pub fraud_debited: i64,
    /// Value not recovered from culprits.
    pub fraud_shortfall: i64,
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
    /// All fraud cases, newest first.
    pub async fn fraud_cases(&self) -> Result<Vec<FraudCaseRow>, StoreError> {
        use base64::Engine as _;
        let rows = sqlx::query(
            "SELECT id, spend_a, spend_b, input_note, culprit, culprit_serial, overlap, debited, \
             shortfall, deposit, resolved, proof FROM fraud_cases ORDER BY id DESC LIMIT 1000",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let resolved: i64 = r.try_get(10)?;
                let proof: Vec<u8> = r.try_get(11)?;
                Ok(FraudCaseRow {
                    id: r.try_get(0)?,
                    spend_a: r.try_get(1)?,
                    spend_b: r.try_get(2)?,
                    input_note: r.try_get(3)?,
                    culprit: r.try_get(4)?,
                    culprit_serial: r.try_get(5)?,
                    overlap: r.try_get(6)?,
                    debited: r.try_get(7)?,
                    shortfall: r.try_get(8)?,
                    deposit: r.try_get(9)?,
                    resolved: resolved != 0,
                    proof: base64::engine::general_purpose::STANDARD.encode(proof),
                })
            })
            .collect()
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
             CAST(COALESCE((SELECT SUM(amount) FROM deposits), 0) AS BIGINT), \
             (SELECT COUNT(*) FROM spends), \
             (SELECT COUNT(*) FROM fraud_cases), \
             CAST(COALESCE((SELECT SUM(debited) FROM fraud_cases), 0) AS BIGINT), \
             CAST(COALESCE((SELECT SUM(shortfall) FROM fraud_cases), 0) AS BIGINT), \
             (SELECT value FROM meta WHERE key = 'crl_version')",
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
        })
    }
}
