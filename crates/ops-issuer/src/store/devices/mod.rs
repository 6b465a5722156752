//! Registered devices: registration (one certificate per key) and look-ups by certificate
//! id or WebAuthn credential. The holder's list and revocation are in [`listing`].

mod listing;

pub use listing::{ListedDevice, Revoked, StoredRevocation};

use ops_core::{CertId, PublicKey};

use super::accounts::account_exists;
use super::types::{Flag, Hex};
use super::{Backend, Store, StoreError, db_int};

/// A registered device as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeviceRow {
    /// Certificate id.
    #[sqlx(try_from = "Hex<CertId>")]
    pub cert_id: CertId,
    /// Certificate serial.
    pub serial: i64,
    /// Owning account.
    pub account_id: i64,
    /// The certificate's canonical bytes.
    pub cert: Vec<u8>,
    /// Whether its certificate is revoked.
    #[sqlx(try_from = "Flag")]
    pub revoked: bool,
    /// Its WebAuthn credential id, if it was registered with WebAuthn.
    pub credential_id: Option<String>,
    /// Its certified public key.
    #[sqlx(try_from = "Hex<PublicKey>")]
    pub public_key: PublicKey,
    /// The authenticator's last sign count (WebAuthn devices).
    pub sign_count: Option<i64>,
}

/// The columns of a [`DeviceRow`].
const DEVICE: &str = "SELECT cert_id, serial, account_id, cert, revoked, credential_id, \
     public_key, sign_count FROM devices";

/// A device to register.
#[derive(Debug, Clone)]
pub struct NewDevice {
    /// Certificate id.
    pub cert_id: CertId,
    /// Certificate serial.
    pub serial: u64,
    /// Owning account.
    pub account_id: i64,
    /// Public key.
    pub public_key: PublicKey,
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

/// The device holding a public key (`devices.cert_id`).
#[derive(sqlx::FromRow)]
struct HolderRow {
    #[sqlx(try_from = "Hex<CertId>")]
    cert_id: CertId,
}

/// The highest serial given out so far (999 before the first device).
#[derive(sqlx::FromRow)]
struct MaxSerialRow {
    max_serial: i64,
}

impl Store {
    /// Whether a device with this WebAuthn credential id is registered.
    pub async fn credential_registered(&self, credential_id: &str) -> Result<bool, StoreError> {
        let row: Option<HolderRow> =
            sqlx::query_as("SELECT cert_id FROM devices WHERE credential_id = $1")
                .bind(credential_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some())
    }

    /// The device registered with WebAuthn credential `credential_id` (with its public key
    /// and stored sign count).
    pub async fn device_by_credential(
        &self,
        credential_id: &str,
    ) -> Result<Option<DeviceRow>, StoreError> {
        Ok(
            sqlx::query_as(&format!("{DEVICE} WHERE credential_id = $1"))
                .bind(credential_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The registered device with certificate id `cert_id`.
    pub async fn device(&self, cert_id: &CertId) -> Result<Option<DeviceRow>, StoreError> {
        Ok(sqlx::query_as(&format!("{DEVICE} WHERE cert_id = $1"))
            .bind(Hex(*cert_id))
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The next free device certificate serial (device serials start at 1000).
    pub async fn next_device_serial(&self) -> Result<u64, StoreError> {
        let row: MaxSerialRow = sqlx::query_as(
            "SELECT CAST(COALESCE(MAX(serial), 999) AS BIGINT) AS max_serial FROM devices",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(row.max_serial).unwrap_or(999) + 1)
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
    ) -> Result<Option<CertId>, StoreError> {
        let mut tx = self.begin_write().await?;
        let public_key = Hex(device.public_key);
        if self.backend == Backend::Postgres {
            // Keyed by the hash of the key's stored (hex) form, as before the typed store.
            let digest = ops_core::ids::sha256(device.public_key.to_string().as_bytes());
            let mut key = [0u8; 8];
            key.copy_from_slice(&digest[..8]);
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
                .bind(i64::from_be_bytes(key))
                .execute(&mut *tx)
                .await?;
        }
        if !account_exists(&mut tx, device.account_id).await? {
            return Err(StoreError::NotFound("account"));
        }
        let holder: Option<HolderRow> =
            sqlx::query_as("SELECT cert_id FROM devices WHERE public_key = $1")
                .bind(public_key)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(row) = holder {
            return Ok(Some(row.cert_id));
        }
        sqlx::query(
            "INSERT INTO devices (cert_id, serial, account_id, public_key, cert, revoked, created, credential_id, sign_count, label, backup_eligible, backup_state) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $10, $11)",
        )
        .bind(Hex(device.cert_id))
        .bind(db_int(device.serial)?)
        .bind(device.account_id)
        .bind(public_key)
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
}
