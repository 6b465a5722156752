//! An account's devices as its holder sees them, and the holder's revocation of one (a lost,
//! replaced or stolen device). The revocation takes the same path as a fraud case's
//! (`deposits::revoke`: the device flag, one CRL entry per serial, a new CRL version).

use ops_core::CertId;

use super::BackupFlags;
use crate::store::deposits::revoke;
use crate::store::types::{Flag, Hex};
use crate::store::{Backend, Store, StoreError};

/// A device of an account, with its revocation record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedDevice {
    /// Certificate id.
    pub cert_id: CertId,
    /// Certificate serial.
    pub serial: i64,
    /// The certificate's canonical bytes.
    pub cert: Vec<u8>,
    /// Registration time.
    pub created: i64,
    /// Whether it was registered with WebAuthn (a passkey).
    pub passkey: bool,
    /// The holder's own name for it.
    pub label: Option<String>,
    /// The passkey's backup flags at registration, when recorded.
    pub backup: Option<BackupFlags>,
    /// Whether its certificate is revoked.
    pub revoked: bool,
    /// The CRL entry, if any.
    pub revocation: Option<StoredRevocation>,
}

/// A CRL entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRevocation {
    /// Why (`lost`, `replaced`, `stolen`, `double spend`).
    pub reason: String,
    /// When (Unix seconds).
    pub revoked_at: i64,
    /// Who (`device:<cert id>`, `account_token`, `admin`, `settlement`).
    pub revoked_by: String,
}

/// What a revocation request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now: a new CRL entry and CRL version.
    Now(ListedDevice),
    /// Revoked before (by anyone, for any reason): nothing changed; the first record.
    Before(ListedDevice),
}

/// The columns of a [`ListedRow`].
const LISTED: &str = "SELECT d.cert_id, d.serial, d.cert, d.created, d.credential_id, d.label, \
     d.backup_eligible, d.backup_state, d.revoked, c.reason, c.revoked_at, c.revoked_by \
     FROM devices d LEFT JOIN crl_entries c ON c.serial = d.serial";

/// A device joined with its CRL entry (if any), as read.
#[derive(sqlx::FromRow)]
struct ListedRow {
    cert_id: Hex<CertId>,
    serial: i64,
    cert: Vec<u8>,
    created: i64,
    credential_id: Option<String>,
    label: Option<String>,
    backup_eligible: Option<Flag>,
    backup_state: Option<Flag>,
    revoked: Flag,
    reason: Option<String>,
    revoked_at: Option<i64>,
    revoked_by: Option<String>,
}

impl TryFrom<ListedRow> for ListedDevice {
    type Error = StoreError;

    fn try_from(r: ListedRow) -> Result<Self, StoreError> {
        let revocation = match (r.reason, r.revoked_at, r.revoked_by) {
            (Some(reason), Some(revoked_at), Some(revoked_by)) => Some(StoredRevocation {
                reason,
                revoked_at,
                revoked_by,
            }),
            (None, _, _) => None,
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "the CRL entry of serial {} is incomplete",
                    r.serial
                )));
            }
        };
        Ok(ListedDevice {
            cert_id: r.cert_id.0,
            serial: r.serial,
            cert: r.cert,
            created: r.created,
            passkey: r.credential_id.is_some(),
            label: r.label,
            backup: r.backup_eligible.map(|e| BackupFlags {
                eligible: e.0,
                backed_up: r.backup_state.is_some_and(|b| b.0),
            }),
            revoked: r.revoked.0 || revocation.is_some(),
            revocation,
        })
    }
}

impl Store {
    /// The devices of account `account_id`, by serial (registration order).
    pub async fn account_devices(&self, account_id: i64) -> Result<Vec<ListedDevice>, StoreError> {
        let rows: Vec<ListedRow> = sqlx::query_as(&format!(
            "{LISTED} WHERE d.account_id = $1 ORDER BY d.serial"
        ))
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(ListedDevice::try_from).collect()
    }

    /// Revokes device `cert_id` of account `account_id` at once, for `reason`, recording
    /// who asked (`revoked_by`). One transaction: the device row is locked (`FOR UPDATE` on
    /// PostgreSQL; SQLite's `BEGIN IMMEDIATE` holds the single write lock), then the same
    /// revocation as a fraud case's (the device flag, a CRL entry, a new CRL version). A
    /// device revoked before keeps its first record (`Revoked::Before`): concurrent
    /// requests make one CRL entry. `None` if the account has no such device (another
    /// account's device is not found either).
    pub async fn revoke_device(
        &self,
        account_id: i64,
        cert_id: &CertId,
        reason: &str,
        revoked_by: &str,
        now: u64,
    ) -> Result<Option<Revoked>, StoreError> {
        let mut tx = self.begin_write().await?;
        let lock = match self.backend {
            Backend::Postgres => {
                "SELECT serial FROM devices WHERE cert_id = $1 AND account_id = $2 FOR UPDATE"
            }
            Backend::Sqlite => "SELECT serial FROM devices WHERE cert_id = $1 AND account_id = $2",
        };
        let found = sqlx::query(lock)
            .bind(Hex(*cert_id))
            .bind(account_id)
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_none() {
            return Ok(None);
        }
        let now_revoked = revoke(&mut tx, cert_id, reason, revoked_by, now).await?;
        let row: ListedRow = sqlx::query_as(&format!("{LISTED} WHERE d.cert_id = $1"))
            .bind(Hex(*cert_id))
            .fetch_one(&mut *tx)
            .await?;
        let device = ListedDevice::try_from(row)?;
        tx.commit().await?;
        Ok(Some(if now_revoked {
            Revoked::Now(device)
        } else {
            Revoked::Before(device)
        }))
    }
}
