//! Refunds for lost, stolen or replaced devices (issue 14): once a note's deposit deadline
//! has passed, the units of a note this FI issued to a device its holder revoked that no
//! claim covered go back to the holder's account, once per note.
//!
//! Why it is safe: no deposit can claim a unit of a note after the note's expiry (rule V14
//! at deposit: every spend of a note is dated at most its expiry, and the FI verifies at
//! `now <= expires + clock skew`), so after [`REFUND_GRACE`] more the covered units are
//! final. A second run finds the refund row (`note_id` is its key) and credits nothing.

use ops_core::{CertId, NoteId};

use super::types::Hex;
use super::{Store, StoreError, db_int};

/// Seconds after a note's expiry before its unclaimed units are refunded: well past the
/// last moment a deposit can claim them (expiry + 300 s of clock skew), so a deposit
/// verified just in time has long committed.
pub const REFUND_GRACE: u64 = 86_400;

/// Holder revocations whose notes are refunded. A device that is the culprit of a deposit
/// still held for an operator is skipped until the operator decides: a release records
/// claims on its notes, which a refund made before would have paid a second time.
const HOLDER_REASONS: &str = "('lost', 'replaced', 'stolen')";

/// A refund made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Refund {
    /// The note.
    #[sqlx(try_from = "Hex<NoteId>")]
    pub note_id: NoteId,
    /// The account credited.
    pub account_id: i64,
    /// The revoked device the note was issued to (its certificate id).
    #[sqlx(try_from = "Hex<CertId>")]
    pub device: CertId,
    /// Units credited: the note's value less every unit a claim covered.
    pub amount: i64,
    /// When (Unix seconds).
    #[sqlx(try_from = "i64")]
    pub created: u64,
}

/// A note to refund (`notes.note_id`).
#[derive(sqlx::FromRow)]
struct CandidateRow {
    note_id: Hex<NoteId>,
}

/// A note's funding and the units claims covered.
#[derive(sqlx::FromRow)]
struct NoteCoverageRow {
    account_id: i64,
    device: Hex<CertId>,
    amount: i64,
    covered: i64,
}

fn covered_sql(note: &str) -> String {
    format!(
        "CAST(COALESCE((SELECT SUM(c.range_to - c.range_from) FROM coverage c \
         WHERE c.note_id = {note}), 0) AS BIGINT)"
    )
}

impl Store {
    /// Refunds, at `now`, every note of a holder-revoked device whose expiry is more than
    /// `grace` seconds past: its value less the units claims covered, credited to the
    /// account it was funded from. Each note in its own transaction; a note already
    /// refunded (or refunded by a concurrent run) is skipped. Returns the refunds made.
    pub async fn refund_lost_devices(
        &self,
        now: u64,
        grace: u64,
    ) -> Result<Vec<Refund>, StoreError> {
        let deadline = db_int(now.saturating_sub(grace))?;
        let candidates: Vec<CandidateRow> = sqlx::query_as(&format!(
            "SELECT n.note_id FROM notes n JOIN crl_entries e ON e.cert_id = n.device \
             WHERE e.reason IN {HOLDER_REASONS} AND n.expires < $1 \
             AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.note_id = n.note_id) \
             AND NOT EXISTS (SELECT 1 FROM held_deposits h \
                 WHERE h.culprit = n.device AND h.status = 'held') \
             ORDER BY n.note_id"
        ))
        .bind(deadline)
        .fetch_all(&self.pool)
        .await?;
        let mut made = Vec::new();
        for CandidateRow { note_id: note } in candidates {
            let mut tx = self.begin_write().await?;
            let r: NoteCoverageRow = sqlx::query_as(&format!(
                "SELECT n.account_id, n.device, n.amount, {} AS covered FROM notes n \
                 WHERE n.note_id = $1",
                covered_sql("n.note_id")
            ))
            .bind(note)
            .fetch_one(&mut *tx)
            .await?;
            let NoteCoverageRow {
                account_id,
                device,
                amount,
                covered,
            } = r;
            let unclaimed = amount - covered;
            if unclaimed <= 0 {
                tx.rollback().await?;
                continue;
            }
            let inserted = sqlx::query(
                "INSERT INTO refunds (note_id, account_id, device, amount, created) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (note_id) DO NOTHING RETURNING note_id",
            )
            .bind(note)
            .bind(account_id)
            .bind(device)
            .bind(unclaimed)
            .bind(db_int(now)?)
            .fetch_optional(&mut *tx)
            .await?;
            if inserted.is_none() {
                tx.rollback().await?;
                continue;
            }
            sqlx::query("UPDATE accounts SET balance = balance + $1 WHERE id = $2")
                .bind(unclaimed)
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            made.push(Refund {
                note_id: note.0,
                account_id,
                device: device.0,
                amount: unclaimed,
                created: now,
            });
        }
        Ok(made)
    }

    /// The refunds credited to `account`, oldest first.
    pub async fn refunds_of(&self, account: i64) -> Result<Vec<Refund>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT note_id, account_id, device, amount, created FROM refunds \
             WHERE account_id = $1 ORDER BY created, note_id",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?)
    }
}
