//! Funding: debiting an account for notes issued to one of its devices, within the
//! device's outstanding limit, idempotently by a client key.

use ops_core::{CertId, NoteId};

use super::accounts::BalanceRow;
use super::types::{Flag, Hex};
use super::{Backend, Store, StoreError, db_int};

/// A note to record as issued.
#[derive(Debug, Clone)]
pub struct NewNote {
    /// Note id.
    pub note_id: NoteId,
    /// Amount.
    pub amount: u64,
    /// The signed issuance's canonical bytes.
    pub issuance: Vec<u8>,
    /// Issue time.
    pub issued: u64,
    /// Expiry.
    pub expires: u64,
}

/// A funding request's idempotency key and what to answer a retry with.
#[derive(Debug, Clone, Copy)]
pub struct FundKey<'a> {
    /// The client's key (`Idempotency-Key` header).
    pub key: &'a str,
    /// The amount asked for (a retry must ask for the same).
    pub amount: u64,
    /// The answer's notes, as JSON, returned again to a retry.
    pub notes_json: &'a str,
    /// Now.
    pub now: u64,
}

/// What a funding did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Funded {
    /// The account was debited and the notes stored; the new balance.
    New {
        /// Balance after the debit.
        balance: i64,
    },
    /// A retry of an earlier request with the same key: its notes and balance, nothing
    /// debited again.
    Replayed {
        /// The first answer's notes, as JSON.
        notes_json: String,
        /// The balance the first answer reported.
        balance: i64,
    },
}

/// A funding request recorded before under the same key.
#[derive(sqlx::FromRow)]
struct FundRequestRow {
    amount: i64,
    notes: String,
    balance: i64,
}

/// The device row a funding locks.
#[derive(sqlx::FromRow)]
struct RevokedRow {
    revoked: Flag,
}

/// A device's issued and spent value.
#[derive(sqlx::FromRow)]
struct ExposureRow {
    issued: i64,
    spent: i64,
}

impl Store {
    /// Value issued to `device` and not yet spent by it (its outstanding exposure).
    pub async fn outstanding(&self, device: &CertId) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        outstanding_in(&mut conn, device).await
    }

    /// Funds `device` (of `account_id`) with `notes`, atomically against concurrent
    /// requests, in one transaction: the account is debited by a conditional
    /// `UPDATE … WHERE balance >= total` (never overdrawn; the `CHECK (balance >= 0)` is the
    /// backstop), then the device row is locked (`FOR UPDATE` on PostgreSQL; SQLite's
    /// `BEGIN IMMEDIATE` already holds the single write lock), it must not be revoked, and
    /// its outstanding value plus the notes must stay within `max_outstanding`. Returns the
    /// new balance. Refused whole otherwise.
    pub async fn fund(
        &self,
        account_id: i64,
        device: &CertId,
        max_outstanding: u64,
        notes: &[NewNote],
        idempotency: Option<&FundKey<'_>>,
    ) -> Result<Funded, StoreError> {
        let total_value: u64 = notes.iter().map(|n| n.amount).sum();
        let total = db_int(total_value)?;
        let device_hex = Hex(*device);
        let mut tx = self.begin_write().await?;
        if let Some(key) = idempotency {
            // The key first: a concurrent request with the same key waits here (PostgreSQL)
            // and then finds the first one's row; a refused funding rolls it back.
            let fresh = sqlx::query(
                "INSERT INTO fund_requests (device, idempotency_key, amount, notes, balance, created) \
                 VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (device, idempotency_key) DO NOTHING \
                 RETURNING device",
            )
            .bind(device_hex)
            .bind(key.key)
            .bind(db_int(key.amount)?)
            .bind(key.notes_json)
            .bind(db_int(key.now)?)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
            if !fresh {
                let row: FundRequestRow = sqlx::query_as(
                    "SELECT amount, notes, balance FROM fund_requests \
                     WHERE device = $1 AND idempotency_key = $2",
                )
                .bind(device_hex)
                .bind(key.key)
                .fetch_one(&mut *tx)
                .await?;
                if row.amount != db_int(key.amount)? {
                    return Err(StoreError::IdempotencyKeyReused {
                        amount: u64::try_from(row.amount).unwrap_or(0),
                    });
                }
                return Ok(Funded::Replayed {
                    notes_json: row.notes,
                    balance: row.balance,
                });
            }
        }
        // Accounts before devices: the order a deposit's fraud case takes them in.
        let debited: Option<BalanceRow> = sqlx::query_as(
            "UPDATE accounts SET balance = balance - $1 WHERE id = $2 AND balance >= $1 \
             RETURNING balance",
        )
        .bind(total)
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?;
        // The device's checks come first in what the caller is told (revoked, limit), then
        // the balance; they run after the debit so locks are taken accounts-first.
        let device_refused = self
            .check_device(&mut tx, account_id, device, total_value, max_outstanding)
            .await;
        let Some(BalanceRow { balance }) = debited else {
            device_refused?;
            let held: BalanceRow = sqlx::query_as("SELECT balance FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("account"))?;
            return Err(StoreError::InsufficientFunds {
                balance: held.balance,
                needed: total,
            });
        };
        device_refused?;
        for n in notes {
            sqlx::query(
                "INSERT INTO notes (note_id, device, account_id, amount, issuance, issued, expires) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(Hex(n.note_id))
            .bind(device_hex)
            .bind(account_id)
            .bind(db_int(n.amount)?)
            .bind(&n.issuance)
            .bind(db_int(n.issued)?)
            .bind(db_int(n.expires)?)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(key) = idempotency {
            sqlx::query(
                "UPDATE fund_requests SET balance = $1 WHERE device = $2 AND idempotency_key = $3",
            )
            .bind(balance)
            .bind(device_hex)
            .bind(key.key)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Funded::New { balance })
    }

    /// Locks `device` of `account_id` for the rest of the transaction (`FOR UPDATE` on
    /// PostgreSQL; SQLite's `BEGIN IMMEDIATE` already holds the single write lock) and checks
    /// that it is not revoked and that `amount` more stays within `max_outstanding`.
    async fn check_device(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        account_id: i64,
        device: &CertId,
        amount: u64,
        max_outstanding: u64,
    ) -> Result<(), StoreError> {
        let lock = match self.backend {
            Backend::Postgres => {
                "SELECT revoked FROM devices WHERE cert_id = $1 AND account_id = $2 FOR UPDATE"
            }
            Backend::Sqlite => "SELECT revoked FROM devices WHERE cert_id = $1 AND account_id = $2",
        };
        let row: RevokedRow = sqlx::query_as(lock)
            .bind(Hex(*device))
            .bind(account_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound("device"))?;
        if row.revoked.0 {
            return Err(StoreError::DeviceRevoked);
        }
        let outstanding = outstanding_in(tx, device).await?;
        if outstanding.saturating_add(amount) > max_outstanding {
            return Err(StoreError::AboveDeviceLimit {
                max_outstanding,
                outstanding,
            });
        }
        Ok(())
    }
}

/// Value issued to `device` and not yet spent by it, read on `conn` (inside a transaction
/// when funding).
async fn outstanding_in(
    conn: &mut sqlx::AnyConnection,
    device: &CertId,
) -> Result<u64, StoreError> {
    let row: ExposureRow = sqlx::query_as(
        "SELECT CAST(COALESCE((SELECT SUM(amount) FROM notes WHERE device = $1), 0) AS BIGINT) AS issued, \
                CAST(COALESCE((SELECT SUM(range_to - range_from) FROM spends \
                               WHERE input_note IN (SELECT note_id FROM notes WHERE device = $1)), 0) AS BIGINT) AS spent",
    )
    .bind(Hex(*device))
    .fetch_one(&mut *conn)
    .await?;
    Ok(u64::try_from(row.issued.saturating_sub(row.spent)).unwrap_or(0))
}
