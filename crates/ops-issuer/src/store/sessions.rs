//! Passkey login sessions, kept by the SHA-256 of their bearer token.

use ops_core::CertId;

use super::types::Hex;
use super::{CLEANUP_BATCH, Store, StoreError, db_int};

/// A login session as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    /// The account it acts for.
    pub account_id: i64,
    /// The device that logged in.
    #[sqlx(try_from = "Hex<CertId>")]
    pub device: CertId,
    /// When it expires (Unix seconds).
    pub expires: i64,
}

impl Store {
    /// Records a passkey login: the new sign count and a session (by token hash). Deletes
    /// up to [`CLEANUP_BATCH`] sessions that expired before `now` on the way.
    pub async fn open_session(
        &self,
        device: &CertId,
        account_id: i64,
        sign_count: u32,
        token_hash: &str,
        expires: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM sessions WHERE token_hash IN \
             (SELECT token_hash FROM sessions WHERE expires < $1 ORDER BY expires LIMIT $2)",
        )
        .bind(db_int(now)?)
        .bind(CLEANUP_BATCH)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE devices SET sign_count = $1 WHERE cert_id = $2")
            .bind(i64::from(sign_count))
            .bind(Hex(*device))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, device, expires) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(account_id)
        .bind(Hex(*device))
        .bind(db_int(expires)?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session with token hash `token_hash`, whether or not it expired.
    pub async fn session_any(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        Ok(
            sqlx::query_as(
                "SELECT account_id, device, expires FROM sessions WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?,
        )
    }

    /// The session with token hash `token_hash`, if valid at `now`.
    pub async fn session(&self, token_hash: &str, now: u64) -> Result<Option<Session>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT account_id, device, expires FROM sessions WHERE token_hash = $1 AND expires >= $2",
        )
        .bind(token_hash)
        .bind(db_int(now)?)
        .fetch_optional(&self.pool)
        .await?)
    }
}
