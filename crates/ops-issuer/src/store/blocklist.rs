//! The counterparty block list this FI publishes (`blocked_counterparties`), versioned in
//! `meta.blocklist_version`: every change makes a new version.

use sqlx::Row;

use super::{Store, StoreError, db_int};

impl Store {
    /// Blocks (`true`) or unblocks `cert_id` (hex); returns whether the list changed (a new
    /// version then).
    pub async fn set_blocked(
        &self,
        cert_id: &str,
        blocked: bool,
        reason: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let changed = if blocked {
            sqlx::query(
                "INSERT INTO blocked_counterparties (cert_id, reason, created) VALUES ($1, $2, $3) \
                 ON CONFLICT (cert_id) DO NOTHING",
            )
            .bind(cert_id)
            .bind(reason)
            .bind(db_int(now)?)
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query("DELETE FROM blocked_counterparties WHERE cert_id = $1")
                .bind(cert_id)
                .execute(&mut *tx)
                .await?
        }
        .rows_affected()
            == 1;
        if changed {
            sqlx::query("UPDATE meta SET value = value + 1 WHERE key = 'blocklist_version'")
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// The list's version and its blocked certificate ids (hex, ascending).
    pub async fn blocklist(&self) -> Result<(u64, Vec<String>), StoreError> {
        let version: i64 = sqlx::query("SELECT value FROM meta WHERE key = 'blocklist_version'")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let ids = sqlx::query("SELECT cert_id FROM blocked_counterparties ORDER BY cert_id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((u64::try_from(version).unwrap_or(0), ids))
    }
}
