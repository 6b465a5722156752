//! Whether spends reached this FI: what a payer's wallet asks to mark its payments
//! deposited (`POST /api/v1/spends/status`).

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// For each spend id (hex) in `ids`, in order: when the deposit that recorded it was
    /// made (Unix seconds), or `None` if no deposit recorded it.
    pub async fn spends_deposited(&self, ids: &[String]) -> Result<Vec<Option<u64>>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query(
                "SELECT d.created FROM spends s JOIN deposits d ON d.payment_hash = s.deposit \
                 WHERE s.spend_id = $1",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            let created: Option<i64> = row.map(|r| r.try_get(0)).transpose()?;
            out.push(created.map(|c| u64::try_from(c).unwrap_or(0)));
        }
        Ok(out)
    }
}
