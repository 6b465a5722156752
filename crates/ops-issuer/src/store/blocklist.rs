//! The counterparty block list this FI publishes (`blocked_counterparties`), versioned in
//! `meta.blocklist_version`: every change makes a new version.

use ops_core::CertId;

use super::types::Hex;
use super::{Store, StoreError, db_int};

/// A counter in `meta` (`meta.value`).
#[derive(sqlx::FromRow)]
pub(crate) struct MetaRow {
    /// Its value.
    pub value: i64,
}

/// A blocked certificate (`blocked_counterparties.cert_id`).
#[derive(sqlx::FromRow)]
struct BlockedRow {
    cert_id: Hex<CertId>,
}

impl Store {
    /// Blocks (`true`) or unblocks `cert_id`; returns whether the list changed (a new
    /// version then).
    pub async fn set_blocked(
        &self,
        cert_id: &CertId,
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
            .bind(Hex(*cert_id))
            .bind(reason)
            .bind(db_int(now)?)
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query("DELETE FROM blocked_counterparties WHERE cert_id = $1")
                .bind(Hex(*cert_id))
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

    /// The list's version and its blocked certificate ids (ascending by their hex).
    pub async fn blocklist(&self) -> Result<(u64, Vec<CertId>), StoreError> {
        let version: MetaRow =
            sqlx::query_as("SELECT value FROM meta WHERE key = 'blocklist_version'")
                .fetch_one(&self.pool)
                .await?;
        let ids: Vec<BlockedRow> =
            sqlx::query_as("SELECT cert_id FROM blocked_counterparties ORDER BY cert_id")
                .fetch_all(&self.pool)
                .await?;
        Ok((
            u64::try_from(version.value).unwrap_or(0),
            ids.into_iter().map(|r| r.cert_id.0).collect(),
        ))
    }
}
