//! Single-use challenges, each for one purpose: a passkey's registration or login, or a
//! till terminal's proof of possession of its key.

use super::accounts::account_exists;
use super::{CLEANUP_BATCH, Store, StoreError, db_int};

/// What a challenge may be answered for; stored as its name (`challenges.purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChallengePurpose {
    /// Registering a passkey as a new device (`register`).
    Register,
    /// Logging in with a registered passkey (`login`).
    Login,
    /// Registering a merchant's till terminal: its key signs over the challenge
    /// (`terminal`).
    Terminal,
}

impl ChallengePurpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengePurpose::Register => "register",
            ChallengePurpose::Login => "login",
            ChallengePurpose::Terminal => "terminal",
        }
    }
}

/// A challenge taken for use.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TakenChallenge {
    /// The account it was issued for.
    pub account_id: i64,
    /// Its bytes.
    pub challenge: Vec<u8>,
}

impl Store {
    /// Stores a single-use challenge for `account_id`, valid until `expires`. Deletes up
    /// to [`CLEANUP_BATCH`] challenges that expired before `now` in the same transaction
    /// (bounded work per request; the table holds at most what was asked for in the last
    /// challenge lifetime plus the backlog this drains).
    pub async fn create_challenge(
        &self,
        id: &str,
        purpose: ChallengePurpose,
        account_id: i64,
        challenge: &[u8],
        expires: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM challenges WHERE id IN \
             (SELECT id FROM challenges WHERE expires < $1 ORDER BY expires LIMIT $2)",
        )
        .bind(db_int(now)?)
        .bind(CLEANUP_BATCH)
        .execute(&mut *tx)
        .await?;
        if !account_exists(&mut tx, account_id).await? {
            return Err(StoreError::NotFound("account"));
        }
        sqlx::query(
            "INSERT INTO challenges (id, account_id, challenge, expires, used, purpose) VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .bind(id)
        .bind(account_id)
        .bind(challenge)
        .bind(db_int(expires)?)
        .bind(purpose.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Consumes challenge `id` if it is unused, unexpired at `now` and for `purpose`. A
    /// challenge is usable once, whatever the outcome.
    pub async fn take_challenge(
        &self,
        id: &str,
        purpose: ChallengePurpose,
        now: u64,
    ) -> Result<Option<TakenChallenge>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query_as(
            "UPDATE challenges SET used = 1 WHERE id = $1 AND used = 0 AND expires >= $2 \
             AND purpose = $3 RETURNING account_id, challenge",
        )
        .bind(id)
        .bind(db_int(now)?)
        .bind(purpose.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_keep_the_names_stored_before_the_enum() {
        // Rows written before the enum (and by older releases) carry these names.
        let names: Vec<&str> = [
            ChallengePurpose::Register,
            ChallengePurpose::Login,
            ChallengePurpose::Terminal,
        ]
        .into_iter()
        .map(ChallengePurpose::as_str)
        .collect();
        assert_eq!(names, ["register", "login", "terminal"]);
    }
}
