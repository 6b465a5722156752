//! Deposits held for review: listed for operators, rejected, or released (released ones are
//! recorded by the settlement path, `NewDeposit::release`).

use ops_core::{CertId, Digest32, NoteId};

use super::types::Hex;
use super::{Store, StoreError, db_int};

/// A held deposit as stored.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct HeldDeposit {
    /// Hold id.
    pub id: i64,
    /// Payment hash.
    #[sqlx(try_from = "Hex<Digest32>")]
    pub payment_hash: Digest32,
    /// `deposit` or `defund`.
    pub kind: String,
    /// The device that would be credited.
    #[sqlx(try_from = "Hex<CertId>")]
    pub depositor: CertId,
    /// Its account.
    pub account_id: i64,
    /// The payment's value.
    pub amount: i64,
    /// The double-spender whose value it would credit again.
    #[sqlx(try_from = "Hex<CertId>")]
    pub culprit: CertId,
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
    /// The final notes it would consume, filled by the listing.
    #[sqlx(skip)]
    pub notes: Vec<NoteId>,
}

/// A held note (`held_notes.note_id`).
#[derive(sqlx::FromRow)]
struct HeldNoteRow {
    note_id: Hex<NoteId>,
}

/// A held deposit's payment (`held_deposits.payment`).
#[derive(sqlx::FromRow)]
struct PaymentRow {
    payment: Vec<u8>,
}

const COLUMNS: &str = "SELECT id, payment_hash, kind, depositor, account_id, amount, culprit, \
     excess, reason, status, decided_by, decision_note, decided_at, created FROM held_deposits";

impl Store {
    /// Held deposits with `status` (or all), newest first, at most `limit`.
    pub async fn held_deposits(
        &self,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<HeldDeposit>, StoreError> {
        let mut out: Vec<HeldDeposit> = match status {
            Some(s) => {
                sqlx::query_as(&format!(
                    "{COLUMNS} WHERE status = $1 ORDER BY id DESC LIMIT $2"
                ))
                .bind(s)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query_as(&format!("{COLUMNS} ORDER BY id DESC LIMIT $1"))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        for h in &mut out {
            let notes: Vec<HeldNoteRow> = sqlx::query_as(
                "SELECT note_id FROM held_notes WHERE held_id = $1 ORDER BY note_id",
            )
            .bind(h.id)
            .fetch_all(&self.pool)
            .await?;
            h.notes = notes.into_iter().map(|n| n.note_id.0).collect();
        }
        Ok(out)
    }

    /// Held deposit `id` and its payment's bytes.
    pub async fn held_deposit(
        &self,
        id: i64,
    ) -> Result<Option<(HeldDeposit, Vec<u8>)>, StoreError> {
        let held: Option<HeldDeposit> = sqlx::query_as(&format!("{COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(held) = held else {
            return Ok(None);
        };
        let row: PaymentRow = sqlx::query_as("SELECT payment FROM held_deposits WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(Some((held, row.payment)))
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
