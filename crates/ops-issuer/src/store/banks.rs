//! The member FIs the central bank lists (`bank_directory`), kept at each clearing run and
//! offered to users as the banks they can choose (`GET /api/v1/banks`).

use ops_core::CertId;

use super::types::Hex;
use super::{Store, StoreError, db_int};

/// A member FI as last listed by the central bank.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ListedBank {
    /// Its FI certificate id.
    #[sqlx(try_from = "Hex<CertId>")]
    pub fi_id: CertId,
    /// The address of its service.
    pub url: String,
}

impl Store {
    /// Replaces the listed banks with `banks` (one transaction: a reader sees the old list
    /// or the new one).
    pub async fn keep_bank_directory(
        &self,
        banks: &[ListedBank],
        now: u64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM bank_directory")
            .execute(&mut *tx)
            .await?;
        for bank in banks {
            sqlx::query(
                "INSERT INTO bank_directory (fi_id, url, seen) VALUES ($1, $2, $3) \
                 ON CONFLICT (fi_id) DO NOTHING",
            )
            .bind(Hex(bank.fi_id))
            .bind(&bank.url)
            .bind(db_int(now)?)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The banks the central bank listed last, by id.
    pub async fn bank_directory(&self) -> Result<Vec<ListedBank>, StoreError> {
        Ok(
            sqlx::query_as::<_, ListedBank>("SELECT fi_id, url FROM bank_directory ORDER BY fi_id")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
