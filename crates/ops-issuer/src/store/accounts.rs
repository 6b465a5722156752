//! Accounts, devices and funding.

use sqlx::Row;

use super::{Store, StoreError, db_int};

/// At most this many expired challenges (or sessions) are deleted per new one.
pub const CLEANUP_BATCH: i64 = 64;

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountRow {
    /// Its id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Balance in minor units.
    pub balance: i64,
}

/// A registered device as stored.
#[derive(Debug, Clone)]
pub struct DeviceRow {
    /// Certificate id (hex).
    pub cert_id: String,
    /// Certificate serial.
    pub serial: i64,
    /// Owning account.
    pub account_id: i64,
    /// The certificate's canonical bytes.
    pub cert: Vec<u8>,
    /// Whether its certificate is revoked.
    pub revoked: bool,
    /// Its WebAuthn credential id, if it was registered with WebAuthn.
    pub credential_id: Option<String>,
}

/// A device to register.
#[derive(Debug, Clone)]
pub struct NewDevice {
    /// Certificate id (hex).
    pub cert_id: String,
    /// Certificate serial.
    pub serial: u64,
    /// Owning account.
    pub account_id: i64,
    /// Public key (hex).
    pub public_key: String,
    /// The certificate's canonical bytes.
    pub cert: Vec<u8>,
    /// The WebAuthn credential id (base64url), for WebAuthn-registered devices.
    pub credential_id: Option<String>,
    /// The authenticator's sign count at registration.
    pub sign_count: Option<u32>,
    /// The holder's own name for the device (self-declared, never certified).
    pub label: Option<String>,
    /// The passkey's WebAuthn flags at registration: backup eligible (BE), backed up (BS);
    /// `None` when unknown (software keys).
    pub backup: Option<BackupFlags>,
}

/// A passkey's backup flags at registration (WebAuthn BE and BS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupFlags {
    /// BE: the credential may be synced or copied to other authenticators.
    pub eligible: bool,
    /// BS: it is backed up (synced) now.
    pub backed_up: bool,
}

/// A note to record as issued.
#[derive(Debug, Clone)]
pub struct NewNote {
    /// Note id (hex).
    pub note_id: String,
    /// Amount.
    pub amount: u64,
    /// The signed issuance's canonical bytes.
    pub issuance: Vec<u8>,
    /// Issue time.
    pub issued: u64,
    /// Expiry.
    pub expires: u64,
}

impl Store {
    /// Creates an account holding `balance`.
    pub async fn create_account(
        &self,
        name: &str,
        balance: u64,
        now: u64,
    ) -> Result<AccountRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO accounts (name, balance, opening, created) VALUES ($1, $2, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(db_int(balance)?)
        .bind(db_int(now)?)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get(0)?;
        tx.commit().await?;
        Ok(AccountRow {
            id,
            name: name.to_owned(),
            balance: db_int(balance)?,
        })
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
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO accounts (name, balance, opening, created, token_hash) \
             VALUES ($1, $2, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(db_int(balance)?)
        .bind(db_int(now)?)
        .bind(token_hash)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get(0)?;
        tx.commit().await?;
        Ok(AccountRow {
            id,
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
        let row = sqlx::query("SELECT token_hash FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(r.try_get(0)?)).transpose()
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
        let balance: i64 = sqlx::query("SELECT balance FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok(balance)
    }

    /// Whether a device with this WebAuthn credential id is registered.
    pub async fn credential_registered(&self, credential_id: &str) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("SELECT cert_id FROM devices WHERE credential_id = $1")
                .bind(credential_id)
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// The device registered with WebAuthn credential `credential_id`: the device, its
    /// public key (hex) and stored sign count.
    pub async fn device_by_credential(
        &self,
        credential_id: &str,
    ) -> Result<Option<(DeviceRow, String, Option<i64>)>, StoreError> {
        let row = sqlx::query(
            "SELECT cert_id, serial, account_id, cert, revoked, public_key, sign_count, credential_id \
             FROM devices WHERE credential_id = $1",
        )
        .bind(credential_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let revoked: i64 = r.try_get(4)?;
            Ok((
                DeviceRow {
                    cert_id: r.try_get(0)?,
                    serial: r.try_get(1)?,
                    account_id: r.try_get(2)?,
                    cert: r.try_get(3)?,
                    revoked: revoked != 0,
                    credential_id: r.try_get(7)?,
                },
                r.try_get(5)?,
                r.try_get(6)?,
            ))
        })
        .transpose()
    }

    /// Records a passkey login: the new sign count and a session (by token hash). Deletes
    /// up to [`CLEANUP_BATCH`] sessions that expired before `now` on the way.
    pub async fn open_session(
        &self,
        device: &str,
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
            .bind(device)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, device, expires) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(account_id)
        .bind(device)
        .bind(db_int(expires)?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session with token hash `token_hash`, whether or not it expired: account,
    /// device, expiry.
    pub async fn session_any(
        &self,
        token_hash: &str,
    ) -> Result<Option<(i64, String, i64)>, StoreError> {
        let row =
            sqlx::query("SELECT account_id, device, expires FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()
    }

    /// The session with token hash `token_hash`, if valid at `now`: account, device,
    /// expiry.
    pub async fn session(
        &self,
        token_hash: &str,
        now: u64,
    ) -> Result<Option<(i64, String, i64)>, StoreError> {
        let row = sqlx::query(
            "SELECT account_id, device, expires FROM sessions WHERE token_hash = $1 AND expires >= $2",
        )
        .bind(token_hash)
        .bind(db_int(now)?)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()
    }

    /// Stores a single-use challenge for `account_id`, valid until `expires`. Deletes up
    /// to [`CLEANUP_BATCH`] challenges that expired before `now` in the same transaction
    /// (bounded work per request; the table holds at most what was asked for in the last
    /// challenge lifetime plus the backlog this drains).
    pub async fn create_challenge(
        &self,
        id: &str,
        purpose: &str,
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
        let exists = sqlx::query("SELECT id FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound("account"));
        }
        sqlx::query(
            "INSERT INTO challenges (id, account_id, challenge, expires, used, purpose) VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .bind(id)
        .bind(account_id)
        .bind(challenge)
        .bind(db_int(expires)?)
        .bind(purpose)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Consumes challenge `id` if it is unused and unexpired at `now`: its account and
    /// bytes. A challenge is usable once, whatever the outcome.
    pub async fn take_challenge(
        &self,
        id: &str,
        purpose: &str,
        now: u64,
    ) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE challenges SET used = 1 WHERE id = $1 AND used = 0 AND expires >= $2 \
             AND purpose = $3 RETURNING account_id, challenge",
        )
        .bind(id)
        .bind(db_int(now)?)
        .bind(purpose)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// The account `id`, if it exists.
    pub async fn account(&self, id: i64) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query("SELECT id, name, balance FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(AccountRow {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                balance: r.try_get(2)?,
            })
        })
        .transpose()
    }

    /// The certified merchant name of account `id`: `None` if there is no such account,
    /// `Some(None)` if it is not a merchant.
    pub async fn merchant_name(&self, id: i64) -> Result<Option<Option<String>>, StoreError> {
        let row = sqlx::query("SELECT merchant_name FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(r.try_get(0)?)).transpose()
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

    /// The next free device certificate serial (device serials start at 1000).
    pub async fn next_device_serial(&self) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT CAST(COALESCE(MAX(serial), 999) AS BIGINT) FROM devices")
            .fetch_one(&self.pool)
            .await?;
        let max: i64 = row.try_get(0)?;
        Ok(u64::try_from(max).unwrap_or(999) + 1)
    }

    /// Registers a certified device for an existing account, unless its public key is
    /// already registered: then nothing is written and the certificate id of the device
    /// holding the key is returned (`Ok(Some(cert_id))`). One key is certified once: two
    /// certificates of one key would let one signer appear as two devices (two limits,
    /// two revocations). Atomic against concurrent registrations of one key: SQLite's
    /// `BEGIN IMMEDIATE` holds the write lock; on PostgreSQL a transaction advisory lock
    /// keyed by the key's hash serialises them.
    pub async fn insert_device(
        &self,
        device: &NewDevice,
        now: u64,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.begin_write().await?;
        if self.backend == super::Backend::Postgres {
            let digest = ops_core::ids::sha256(device.public_key.as_bytes());
            let mut key = [0u8; 8];
            key.copy_from_slice(&digest[..8]);
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
                .bind(i64::from_be_bytes(key))
                .execute(&mut *tx)
                .await?;
        }
        let exists = sqlx::query("SELECT id FROM accounts WHERE id = $1")
            .bind(device.account_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound("account"));
        }
        let holder = sqlx::query("SELECT cert_id FROM devices WHERE public_key = $1")
            .bind(&device.public_key)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = holder {
            return Ok(Some(row.try_get(0)?));
        }
        sqlx::query(
            "INSERT INTO devices (cert_id, serial, account_id, public_key, cert, revoked, created, credential_id, sign_count, label, backup_eligible, backup_state) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&device.cert_id)
        .bind(db_int(device.serial)?)
        .bind(device.account_id)
        .bind(&device.public_key)
        .bind(&device.cert)
        .bind(db_int(now)?)
        .bind(device.credential_id.clone())
        .bind(device.sign_count.map(i64::from))
        .bind(device.label.clone())
        .bind(device.backup.map(|b| i64::from(b.eligible)))
        .bind(device.backup.map(|b| i64::from(b.backed_up)))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(None)
    }

    /// The registered device with certificate id `cert_id` (hex).
    pub async fn device(&self, cert_id: &str) -> Result<Option<DeviceRow>, StoreError> {
        let row = sqlx::query(
            "SELECT cert_id, serial, account_id, cert, revoked, credential_id FROM devices WHERE cert_id = $1",
        )
        .bind(cert_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let revoked: i64 = r.try_get(4)?;
            Ok(DeviceRow {
                cert_id: r.try_get(0)?,
                serial: r.try_get(1)?,
                account_id: r.try_get(2)?,
                cert: r.try_get(3)?,
                revoked: revoked != 0,
                credential_id: r.try_get(5)?,
            })
        })
        .transpose()
    }

    /// Value issued to `device` and not yet spent by it (its outstanding exposure).
    pub async fn outstanding(&self, device: &str) -> Result<u64, StoreError> {
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
        device: &str,
        max_outstanding: u64,
        notes: &[NewNote],
        idempotency: Option<&FundKey<'_>>,
    ) -> Result<Funded, StoreError> {
        let total_value: u64 = notes.iter().map(|n| n.amount).sum();
        let total = db_int(total_value)?;
        let mut tx = self.begin_write().await?;
        if let Some(key) = idempotency {
            // The key first: a concurrent request with the same key waits here (PostgreSQL)
            // and then finds the first one's row; a refused funding rolls it back.
            let fresh = sqlx::query(
                "INSERT INTO fund_requests (device, idempotency_key, amount, notes, balance, created) \
                 VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (device, idempotency_key) DO NOTHING \
                 RETURNING device",
            )
            .bind(device)
            .bind(key.key)
            .bind(db_int(key.amount)?)
            .bind(key.notes_json)
            .bind(db_int(key.now)?)
            .fetch_optional(&mut *tx)
            .await?;
            if fresh.is_none() {
                let row = sqlx::query(
                    "SELECT amount, notes, balance FROM fund_requests \
                     WHERE device = $1 AND idempotency_key = $2",
                )
                .bind(device)
                .bind(key.key)
                .fetch_one(&mut *tx)
                .await?;
                let amount: i64 = row.try_get(0)?;
                if amount != db_int(key.amount)? {
                    return Err(StoreError::IdempotencyKeyReused {
                        amount: u64::try_from(amount).unwrap_or(0),
                    });
                }
                return Ok(Funded::Replayed {
                    notes_json: row.try_get(1)?,
                    balance: row.try_get(2)?,
                });
            }
        }
        // Accounts before devices: the order a deposit's fraud case takes them in.
        let debited = sqlx::query(
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
        let Some(row) = debited else {
            device_refused?;
            let balance = sqlx::query("SELECT balance FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("account"))?;
            return Err(StoreError::InsufficientFunds {
                balance: balance.try_get(0)?,
                needed: total,
            });
        };
        device_refused?;
        let balance: i64 = row.try_get(0)?;
        for n in notes {
            sqlx::query(
                "INSERT INTO notes (note_id, device, account_id, amount, issuance, issued, expires) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&n.note_id)
            .bind(device)
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
            .bind(device)
            .bind(key.key)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Funded::New { balance })
    }
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

impl Store {
    /// Locks `device` of `account_id` for the rest of the transaction (`FOR UPDATE` on
    /// PostgreSQL; SQLite's `BEGIN IMMEDIATE` already holds the single write lock) and checks
    /// that it is not revoked and that `amount` more stays within `max_outstanding`.
    async fn check_device(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        account_id: i64,
        device: &str,
        amount: u64,
        max_outstanding: u64,
    ) -> Result<(), StoreError> {
        let lock = match self.backend {
            super::Backend::Postgres => {
                "SELECT revoked FROM devices WHERE cert_id = $1 AND account_id = $2 FOR UPDATE"
            }
            super::Backend::Sqlite => {
                "SELECT revoked FROM devices WHERE cert_id = $1 AND account_id = $2"
            }
        };
        let revoked: i64 = sqlx::query(lock)
            .bind(device)
            .bind(account_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound("device"))?
            .try_get(0)?;
        if revoked != 0 {
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
async fn outstanding_in(conn: &mut sqlx::AnyConnection, device: &str) -> Result<u64, StoreError> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE((SELECT SUM(amount) FROM notes WHERE device = $1), 0) AS BIGINT), \
                CAST(COALESCE((SELECT SUM(range_to - range_from) FROM spends \
                               WHERE input_note IN (SELECT note_id FROM notes WHERE device = $1)), 0) AS BIGINT)",
    )
    .bind(device)
    .fetch_one(&mut *conn)
    .await?;
    let issued: i64 = row.try_get(0)?;
    let spent: i64 = row.try_get(1)?;
    Ok(u64::try_from(issued.saturating_sub(spent)).unwrap_or(0))
}
