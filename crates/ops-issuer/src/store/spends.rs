//! Whether spends reached this FI: what a payer's wallet asks to mark its payments
//! deposited (`POST /api/v1/spends/status`).

use ops_core::NoteId;

use super::types::Hex;
use super::{Store, StoreError};

/// When the deposit recording a spend was made (`deposits.created`).
#[derive(sqlx::FromRow)]
struct DepositedRow {
    created: i64,
}

impl Store {
    /// For each spend id in `ids`, in order: when the deposit that recorded it was made
    /// (Unix seconds), or `None` if no deposit recorded it.
    pub async fn spends_deposited(&self, ids: &[NoteId]) -> Result<Vec<Option<u64>>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let row: Option<DepositedRow> = sqlx::query_as(
                "SELECT d.created FROM spends s JOIN deposits d ON d.payment_hash = s.deposit \
                 WHERE s.spend_id = $1",
            )
            .bind(Hex(*id))
            .fetch_optional(&self.pool)
            .await?;
            out.push(row.map(|r| u64::try_from(r.created).unwrap_or(0)));
        }
        Ok(out)
    }
}
