//! Accounts: creation, access tokens, operator credits and the certified merchant name.

use super::{Store, StoreError, db_int};

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct AccountRow {
    /// Its id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Balance in minor units.
    pub balance: i64,
}

/// An account's access token column (`accounts.token_hash`).
#[derive(sqlx::FromRow)]
struct TokenRow {
    token_hash: Option<String>,
}

/// An account's merchant name column (`accounts.merchant_name`).
#[derive(sqlx::FromRow)]
struct MerchantRow {
    merchant_name: Option<String>,
}

/// A new row's id (`RETURNING id`).
#[derive(sqlx::FromRow)]
pub(crate) struct IdRow {
    /// The id.
    pub id: i64,
}

/// A balance (`RETURNING balance`, or a read of it).
#[derive(sqlx::FromRow)]
pub(crate) struct BalanceRow {
    /// The balance.
    pub balance: i64,
}

impl Store {
    /// Creates an account holding `balance`.
    pub async fn create_account(
        &self,
        name: &str,
        balance: u64,
        now: u64,
    ) -> Result<AccountRow, StoreError> {
        self.insert_account(name, balance, None, now).await
    }

    /// Creates a self-service account holding `balance` whose reads need the account token
    /// with SHA-256 `token_hash` (hex; the token itself is never stored).
    pub async fn create_account_with_token(
        &self,
        name: &str,
        balance: u64,
        token_hash: &str,
        now: u64,
    ) -> Result<AccountRow, StoreError> {
        self.insert_account(name, balance, Some(token_hash), now)
            .await
    }

    /// Inserts an account, with an access token (its hash) or without one.
    async fn insert_account(
        &self,
        name: &str,
        balance: u64,
        token_hash: Option<&str>,
        now: u64,
    ) -> Result<AccountRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let row: IdRow = sqlx::query_as(
            "INSERT INTO accounts (name, balance, opening, created, token_hash) \
             VALUES ($1, $2, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(db_int(balance)?)
        .bind(db_int(now)?)
        .bind(token_hash)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(AccountRow {
            id: row.id,
            name: name.to_owned(),
            balance: db_int(balance)?,
        })
    }

    /// Replaces the access token of account `id` by the one hashing to `token_hash` (the
    /// previous token stops working); `false` if there is no such account.
    pub async fn replace_account_token(
        &self,
        id: i64,
        token_hash: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE accounts SET token_hash = $1 WHERE id = $2")
            .bind(token_hash)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// The SHA-256 (hex) of account `id`'s access token: `None` if the account does not
    /// exist, `Some(None)` if it has no token (created by the admin CLI).
    pub async fn account_token_hash(&self, id: i64) -> Result<Option<Option<String>>, StoreError> {
        let row: Option<TokenRow> = sqlx::query_as("SELECT token_hash FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.token_hash))
    }

    /// Credits `amount` to account `id` (operator action, counted in the account's opening
    /// value for the audit); returns the new balance.
    pub async fn credit_account(&self, id: i64, amount: u64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE accounts SET balance = balance + $1, opening = opening + $1 WHERE id = $2",
        )
        .bind(db_int(amount)?)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound("account"));
        }
        let row: BalanceRow = sqlx::query_as("SELECT balance FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row.balance)
    }

    /// The account `id`, if it exists.
    pub async fn account(&self, id: i64) -> Result<Option<AccountRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT id, name, balance FROM accounts WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The certified merchant name of account `id`: `None` if there is no such account,
    /// `Some(None)` if it is not a merchant.
    pub async fn merchant_name(&self, id: i64) -> Result<Option<Option<String>>, StoreError> {
        let row: Option<MerchantRow> =
            sqlx::query_as("SELECT merchant_name FROM accounts WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.merchant_name))
    }

    /// Sets (or, with `None`, clears) the certified merchant name of account `id`; `false`
    /// if there is no such account.
    pub async fn set_merchant_name(&self, id: i64, name: Option<&str>) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE accounts SET merchant_name = $1 WHERE id = $2")
            .bind(name)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }
}

/// Whether account `id` exists, read on `conn` (inside a transaction).
pub(crate) async fn account_exists(
    conn: &mut sqlx::AnyConnection,
    id: i64,
) -> Result<bool, StoreError> {
    let row: Option<IdRow> = sqlx::query_as("SELECT id FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}
