//! Deposits held for review: listed for operators, rejected, or released (released ones are
//! recorded by the settlement path, `NewDeposit::release`).

use sqlx::Row;

use super::{Store, StoreError, db_int};

/// A held deposit as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HeldDeposit {
    /// Hold id.
    pub id: i64,
    /// Payment hash (hex).
    pub payment_hash: String,
    /// `deposit` or `defund`.
    pub kind: String,
    /// The device that would be credited (hex).
    pub depositor: String,
    /// Its account.
    pub account_id: i64,
    /// The payment's value.
    pub amount: i64,
    /// The double-spender whose value it would credit again (hex).
    pub culprit: String,
    /// Value it would credit more than once.
    pub excess: i64,
    /// Why it was held.
    pub reason: String,
    /// `held`, `released` or `rejected`.
    pub status: String,
    /// The operator who decided.
    pub decided_by: Option<String>,
    /// Their note.
    pub decision_note: Option<String>,
    /// When (seconds since the epoch).
    pub decided_at: Option<i64>,
    /// When it was held.
    pub created: i64,
    /// The final notes it would consume (hex), filled by the listing.
    pub notes: Vec<String>,
}

const COLUMNS: &str = "SELECT id, payment_hash, kind, depositor, account_id, amount, culprit, \
     excess, reason, status, decided_by, decision_note, decided_at, created FROM held_deposits";

impl HeldDeposit {
    fn from_row(r: &sqlx::any::AnyRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.try_get(0)?,
            payment_hash: r.try_get(1)?,
            kind: r.try_get(2)?,
            depositor: r.try_get(3)?,
            account_id: r.try_get(4)?,
            amount: r.try_get(5)?,
            culprit: r.try_get(6)?,
            excess: r.try_get(7)?,
            reason: r.try_get(8)?,
            status: r.try_get(9)?,
            decided_by: r.try_get(10)?,
            decision_note: r.try_get(11)?,
            decided_at: r.try_get(12)?,
            created: r.try_get(13)?,
            notes: Vec::new(),
        })
    }
}

impl Store {
    /// Held deposits with `status` (or all), newest first, at most `limit`.
    pub async fn held_deposits(
        &self,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<HeldDeposit>, StoreError> {
        let rows = match status {
            Some(s) => {
                sqlx::query(&format!(
                    "{COLUMNS} WHERE status = $1 ORDER BY id DESC LIMIT $2"
                ))
                .bind(s)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!("{COLUMNS} ORDER BY id DESC LIMIT $1"))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        let mut out = rows
            .iter()
            .map(HeldDeposit::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        for h in &mut out {
            h.notes =
                sqlx::query("SELECT note_id FROM held_notes WHERE held_id = $1 ORDER BY note_id")
                    .bind(h.id)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<_, _>>()?;
        }
        Ok(out)
    }

    /// Held deposit `id` and its payment's bytes.
    pub async fn held_deposit(
        &self,
        id: i64,
    ) -> Result<Option<(HeldDeposit, Vec<u8>)>, StoreError> {
        let row = sqlx::query(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let payment: Vec<u8> = sqlx::query("SELECT payment FROM held_deposits WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(Some((HeldDeposit::from_row(&row)?, payment)))
    }

    /// Rejects held deposit `id`: nothing is credited, ever; a re-upload of its payment is
    /// answered `rejected`. `false` if it was not held (decided before or missing).
    pub async fn reject_held(
        &self,
        id: i64,
        operator: &str,
        note: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE held_deposits SET status = 'rejected', decided_by = $1, decision_note = $2, \
             decided_at = $3 WHERE id = $4 AND status = 'held'",
        )
        .bind(operator)
        .bind(note)
        .bind(db_int(now)?)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}
