//! Storage: SQLite by default, PostgreSQL when the URL says so, through one code path
//! (`sqlx::Any`). Migrations run at connect. The double-spend check lives in the schema
//! (an exclusion constraint on PostgreSQL, a trigger on SQLite); see `docs/STORAGE.md`.

mod accounts;
mod audit;
mod banks;
mod blocklist;
mod challenges;
mod clearing;
mod deposits;
mod devices;
mod fraud;
mod funding;
mod held;
mod refunds;
mod sessions;
mod spends;
mod types;

pub use accounts::AccountRow;
pub use audit::{AuditReport, Violation};
pub use banks::ListedBank;
pub use challenges::{ChallengePurpose, TakenChallenge};
pub use clearing::{ForeignProof, OutboxClaim, PeerCrl, PeerRevocation};
pub use deposits::coverage::ClaimRef;
pub use deposits::{
    ConsumptionKind, DepositOutcome, DepositStatus, FraudBuilder, HoldPolicy, LedgerNote,
    NewDeposit, NewFraudCase, NoteKind, RecordError, Release, RevocationEntry, SETTLEMENT,
    SpendRecord,
};
pub use devices::{BackupFlags, DeviceRow, ListedDevice, NewDevice, Revoked, StoredRevocation};
pub use fraud::{CaseFilter, FraudCaseRow, Resolution, Totals};
pub use funding::{FundKey, Funded, NewNote};
pub use held::HeldDeposit;
pub use refunds::{REFUND_GRACE, Refund};
pub use sessions::Session;
pub use types::{Flag, Hex, HexId};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Transaction};
use std::path::Path;
use std::time::Duration;

/// At most this many expired challenges (or sessions) are deleted per new one.
pub const CLEANUP_BATCH: i64 = 64;

/// Which database engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (a file).
    Sqlite,
    /// PostgreSQL (or a compatible engine).
    Postgres,
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The URL names an engine this service does not support.
    #[error("unsupported database URL {0:?}: use a file path, sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// An account does not have the funds for a debit.
    #[error("insufficient funds: the account holds {balance}, {needed} needed")]
    InsufficientFunds {
        /// Current balance.
        balance: i64,
        /// Amount asked for.
        needed: i64,
    },
    /// Funding would take a device above its certificate's `max_outstanding`.
    #[error("the device may hold at most {max_outstanding}; it holds {outstanding}")]
    AboveDeviceLimit {
        /// The certificate's limit.
        max_outstanding: u64,
        /// Value issued to the device and not yet spent by it.
        outstanding: u64,
    },
    /// An idempotency key was used before for another amount.
    #[error("this idempotency key was used for a funding of {amount}")]
    IdempotencyKeyReused {
        /// The amount of the first request.
        amount: u64,
    },
    /// The device's certificate is revoked.
    #[error("the device's certificate is revoked")]
    DeviceRevoked,
    /// A fraud case already carries another resolution.
    #[error("fraud case {id} is already resolved as {resolution}")]
    AlreadyResolved {
        /// Case id.
        id: i64,
        /// The recorded resolution.
        resolution: String,
        /// Who recorded it.
        by: String,
        /// When (seconds since the epoch).
        at: i64,
    },
    /// A row that must exist does not.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Stored data could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A concurrent transaction won a race (unique or exclusion constraint); retry.
    #[error("conflicting concurrent write; retry")]
    Conflict,
}

impl StoreError {
    /// Whether a unique constraint refused the write (e.g. two registrations took the same
    /// serial at once).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(e)) if e.is_unique_violation())
    }

    /// Whether the error is a lost race that a retry of the whole transaction resolves.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Conflict => true,
            StoreError::Db(sqlx::Error::Database(e)) => {
                let code = e.code().map(|c| c.into_owned()).unwrap_or_default();
                // PostgreSQL: exclusion / unique violation, serialization failure, deadlock.
                // SQLite: BUSY / LOCKED, or the overlap trigger.
                matches!(
                    code.as_str(),
                    "23P01" | "23505" | "40001" | "40P01" | "5" | "6" | "517" | "262"
                ) || e.message().contains("double spend")
                    || e.message().contains("database is locked")
            }
            _ => false,
        }
    }
}

/// The service's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Turns a configured location into a URL and its backend: `postgres://` and
/// `postgresql://` URLs select PostgreSQL; `sqlite:` URLs and plain paths select SQLite.
pub fn database_url(location: &str) -> Result<(String, Backend), StoreError> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        return Ok((location.to_owned(), Backend::Postgres));
    }
    if location.starts_with("sqlite:") {
        return Ok((location.to_owned(), Backend::Sqlite));
    }
    if location.contains("://") {
        return Err(StoreError::UnsupportedUrl(location.to_owned()));
    }
    Ok((format!("sqlite://{location}?mode=rwc"), Backend::Sqlite))
}

impl Store {
    /// Opens (creating a SQLite file if missing) and migrates the database at `location`.
    pub async fn connect(location: &str) -> Result<Self, StoreError> {
        let (pool, backend) = open_pool(location).await?;
        if backend == Backend::Sqlite {
            sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        } else {
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
        }
        Ok(Self { pool, backend })
    }

    /// The engine in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a value-moving transaction: `BEGIN IMMEDIATE` on SQLite (takes the write
    /// lock up front, so no read-to-write upgrade can deadlock), `BEGIN` on PostgreSQL.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        begin_write(&self.pool, self.backend).await
    }
}

/// Starts a value-moving transaction on `pool` (see [`Store::begin_write`]).
pub(crate) async fn begin_write(
    pool: &AnyPool,
    backend: Backend,
) -> Result<Transaction<'static, Any>, StoreError> {
    Ok(match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => pool.begin().await?,
    })
}

/// Opens the database at `location` (creating a SQLite file, owner-only, if missing) with
/// the service's connection settings; migrations are the caller's.
pub(crate) async fn open_pool(location: &str) -> Result<(AnyPool, Backend), StoreError> {
    {
        install_default_drivers();
        let (url, backend) = database_url(location)?;
        let parent = Path::new(location).parent();
        if let Some(parent) = parent.filter(|p| {
            backend == Backend::Sqlite
                && !location.starts_with("sqlite:")
                && !p.as_os_str().is_empty()
        }) {
            // [issue 10, item 7: file modes] a folder made for the database is owner-only.
            let mut folder = std::fs::DirBuilder::new();
            folder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
            folder
                .create(parent)
                .map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
        }
        // [issue 10, item 7: file modes] The SQLite file is created owner-only before
        // sqlx opens it (SQLite gives its -wal and -shm the database file's mode).
        let sqlite_file = (backend == Backend::Sqlite)
            .then(|| sqlite_path(location))
            .flatten();
        if let Some(file) = &sqlite_file {
            owner_only_files(file, false)?;
        }
        let max = match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = FULL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
            // [issue 10, item 7: file modes] -wal and -shm exist now: owner-only too.
            if let Some(file) = &sqlite_file {
                owner_only_files(file, true)?;
            }
        }
        Ok((pool, backend))
    }
}

/// Converts an amount to the database's signed 64-bit integer.
pub fn db_int(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{v} does not fit in 63 bits")))
}

// [issue 10, item 7: file modes] begin
/// The file of a SQLite location (a plain path or a `sqlite:` URL), unless in memory.
fn sqlite_path(location: &str) -> Option<std::path::PathBuf> {
    let path = location
        .strip_prefix("sqlite://")
        .or_else(|| location.strip_prefix("sqlite:"))
        .unwrap_or(location);
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty() && !path.contains(":memory:") && !location.contains("mode=memory"))
        .then(|| std::path::PathBuf::from(path))
}

/// Makes the database file owner-only (0600): creates it empty with that mode if missing,
/// removes group and other bits if present; with `journals`, also of its `-wal` and
/// `-shm` files. The database holds balances and account token hashes.
fn owner_only_files(file: &Path, journals: bool) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let io = |e| StoreError::Db(sqlx::Error::Io(e));
        if !journals {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(file)
            {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
        }
        let mut files = vec![file.to_path_buf()];
        if journals {
            for suffix in ["-wal", "-shm"] {
                let mut name = file.as_os_str().to_owned();
                name.push(suffix);
                files.push(name.into());
            }
        }
        for f in files {
            let Ok(meta) = std::fs::metadata(&f) else {
                continue;
            };
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode & 0o700))
                    .map_err(io)?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (file, journals);
    Ok(())
}
// [issue 10, item 7: file modes] end
