//! The financial institution's issuer and settlement service, as a library so tests can
//! build its router: the JSON API (`api`), settlement (`settle`), storage (`store`), the key
//! ceremony (`ceremony`), and the built apps as the fallback.

pub mod admin_token;
pub mod api;
pub mod central;
pub mod clearing;
pub use ops_ceremony as ceremony;
pub mod settle;
mod static_apps;
pub mod store;

pub use static_apps::{AppsError, apps_router};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What the service needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Folder holding the built apps.
    pub dist: PathBuf,
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Folder for keys and (by default) the SQLite database.
    pub data_dir: PathBuf,
    /// Database location: a SQLite path or `sqlite:` URL, or a `postgres://` URL. Default:
    /// `issuer.sqlite` in the data folder.
    pub database: Option<String>,
    /// Balance of a new demo account, in minor units.
    pub starting_balance: u64,
    /// The admin bearer token, if given on the command line. Otherwise it is read from
    /// `admin_token_file`, or generated there on first start.
    pub admin_token: Option<String>,
    /// File holding the admin token (default: `admin.token` in the data folder).
    pub admin_token_file: Option<PathBuf>,
    /// Abuse limits on the demo sign-up, account reads and WebAuthn challenges.
    pub abuse: api::AbuseLimits,
    /// Sustained fund/deposit requests per second per device.
    pub device_rate: u32,
    /// Burst of fund/deposit requests per device.
    pub device_burst: u32,
    /// WebAuthn RP ID for device registration.
    pub rp_id: String,
    /// Origins registrations may come from (empty: `http://localhost:PORT` and
    /// `http://127.0.0.1:PORT` of `addr`).
    pub origins: Vec<String>,
    /// Value one double-spender may have credited more than once before further deposits
    /// relying on it are held for review (see `settle::HoldPolicy`).
    pub max_excess_per_culprit: u64,
    /// Whether synced passkeys (BE set) are certified or refused at registration.
    pub synced_passkeys: api::SyncedPasskeys,
    /// The outstanding-value limit of a synced passkey's device certificate, in minor
    /// units: 1 to [`api::DEFAULT_MAX_OUTSTANDING`] (the device-bound limit).
    pub synced_max_outstanding: u64,
    /// Offline limits written in every new device certificate (PROTOCOL.md §6.1).
    pub device_limits: api::DeviceLimits,
    /// The central bank's URL, where claims on other FIs' notes go (`None`: they stay
    /// queued).
    pub central_bank: Option<String>,
    /// Seconds between clearing runs; 0: only on an operator's request.
    pub clearing_interval: u64,
}

/// Why the service could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The built apps are not where they were expected.
    #[error(transparent)]
    Apps(#[from] AppsError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source} (is another server using the port? pass --addr)")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The admin token could not be read or created.
    #[error(transparent)]
    AdminToken(#[from] admin_token::AdminTokenError),
    /// The key material could not be created or read.
    #[error("key material in the data folder: {0}")]
    Ceremony(#[from] ceremony::CeremonyError),
    /// The HTTP client for clearing could not be built.
    #[error("cannot build the HTTP client for clearing: {0}")]
    Http(String),
    /// The database could not be opened or migrated.
    #[error("{0} (check --database / --data-dir)")]
    Store(#[from] store::StoreError),
    /// The server stopped with an I/O error.
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
    /// The synced passkeys' limit is zero or above the device-bound limit.
    #[error(
        "--synced-max-outstanding {given} is not between 1 and {max} (the device-bound limit); to turn synced passkeys away, pass --synced-passkeys refuse"
    )]
    SyncedLimit {
        /// The limit asked for.
        given: u64,
        /// The device-bound limit.
        max: u64,
    },
}

/// Prepares the data folder (demo central bank and FI on first start), opens the database
/// and builds the service router. Concurrent first starts on one folder are serialised by
/// a lock file.
pub async fn prepare(config: &Config) -> Result<axum::Router, ServeError> {
    if !(1..=api::DEFAULT_MAX_OUTSTANDING).contains(&config.synced_max_outstanding) {
        return Err(ServeError::SyncedLimit {
            given: config.synced_max_outstanding,
            max: api::DEFAULT_MAX_OUTSTANDING,
        });
    }
    let apps = apps_router(&config.dist)?;
    create_private_dir(&config.data_dir)?;
    let lock = InitLock::acquire(&config.data_dir).await?;
    let (trust, created) = ceremony::ensure_demo(&config.data_dir, api::now())?;
    if created {
        tracing::info!(
            "created a demo central bank and FI in {} (root {}, FI {})",
            config.data_dir.display(),
            trust.root.id(),
            trust.fi.id()
        );
    }
    let location = config.database.clone().unwrap_or_else(|| {
        config
            .data_dir
            .join("issuer.sqlite")
            .to_string_lossy()
            .into_owned()
    });
    let store = store::Store::connect(&location).await?;
    let token_file = config
        .admin_token_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join(admin_token::TOKEN_FILE));
    let (admin_token, source) =
        admin_token::AdminToken::load_or_create(config.admin_token.as_deref(), &token_file)?;
    drop(lock);
    match source {
        admin_token::TokenSource::CommandLine => tracing::info!(
            "admin endpoints need the token given with --admin-token (Authorization: Bearer ...)"
        ),
        admin_token::TokenSource::File(path) => tracing::info!(
            "admin endpoints need the token in {} (Authorization: Bearer $(cat {}))",
            path.display(),
            path.display()
        ),
        admin_token::TokenSource::Generated(path) => tracing::info!(
            "generated an admin token into {} (owner-only); admin endpoints need it: Authorization: Bearer $(cat {})",
            path.display(),
            path.display()
        ),
    }
    tracing::info!("database: {:?}", store.backend());
    spawn_refunds(store.clone());
    let trust = Arc::new(trust);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| ServeError::Http(e.to_string()))?;
    if let Some(url) = config.central_bank.clone()
        && config.clearing_interval > 0
    {
        spawn_clearing(
            store.clone(),
            Arc::clone(&trust),
            http.clone(),
            url,
            config.clearing_interval,
        );
    }
    let state = api::AppState {
        settler: settle::Settler::spawn_with(store.clone(), config.max_excess_per_culprit),
        store,
        trust,
        settings: Arc::new(api::Settings {
            starting_balance: config.starting_balance,
            admin_token,
            device_limit: api::RateLimiter::new(config.device_rate, config.device_burst),
            abuse: api::AbuseGuard::new(&config.abuse),
            registration: registration_policy(config),
            synced_max_outstanding: config.synced_max_outstanding,
            device_limits: config.device_limits,
            central_bank: config.central_bank.clone(),
            http,
        }),
    };
    Ok(api::router(state, Some(apps)))
}

/// Every `seconds`, forwards the queued claims on other FIs' notes to the central bank at
/// `url` (`clearing::forward`); a failure is logged and the claims wait for the next run.
fn spawn_clearing(
    store: store::Store,
    trust: Arc<ceremony::Trust>,
    http: reqwest::Client,
    url: String,
    seconds: u64,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(seconds));
        loop {
            tick.tick().await;
            match clearing::forward(&store, &trust, &http, Some(&url), api::now()).await {
                Ok(r) if r.sent > 0 => tracing::info!(
                    "clearing: {} claims sent, {} credited, {} held, {} refused, {} pending",
                    r.sent,
                    r.credited,
                    r.held,
                    r.refused,
                    r.pending
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!("clearing run failed, retrying in {seconds} s: {e}"),
            }
        }
    });
}

/// Every hour, refunds the notes of lost, stolen or replaced devices whose deposit
/// deadline has passed (`store::refunds`); a failure is logged and retried next hour.
fn spawn_refunds(store: store::Store) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3_600));
        loop {
            tick.tick().await;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            match store.refund_lost_devices(now, store::REFUND_GRACE).await {
                Ok(made) if !made.is_empty() => tracing::info!(
                    "refunded {} notes of revoked devices ({} units)",
                    made.len(),
                    made.iter().map(|r| r.amount).sum::<i64>()
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("refunds of revoked devices failed, retrying in an hour: {e}")
                }
            }
        }
    });
}

/// Creates the data folder (and missing parents) owner-only (0700): it holds the FI key,
/// the admin token and the database. A folder that exists already is left as it is, with
/// a warning if group or others may enter it.
fn create_private_dir(dir: &Path) -> Result<(), std::io::Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        if dir.is_dir() {
            let mode = std::fs::metadata(dir)?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    "the data folder {} is open to other users (mode {:o}); run `chmod 700 {}`",
                    dir.display(),
                    mode & 0o777,
                    dir.display()
                );
            }
            return Ok(());
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// The strict registration policy (user verification, every implemented attestation
/// format) for the configured RP ID and origins; synced passkeys (BE set) pass unless
/// `--synced-passkeys refuse`.
fn registration_policy(config: &Config) -> ops_core::registration::RegistrationPolicy {
    let mut policy = ops_core::registration::RegistrationPolicy::strict(&config.rp_id);
    policy.synced_keys = match config.synced_passkeys {
        api::SyncedPasskeys::Refuse => ops_core::webauthn::SyncedKeys::Refused,
        api::SyncedPasskeys::Allow => ops_core::webauthn::SyncedKeys::Accepted,
    };
    policy.origins = if config.origins.is_empty() {
        let port = config.addr.port();
        vec![
            format!("http://localhost:{port}"),
            format!("http://127.0.0.1:{port}"),
        ]
    } else {
        config.origins.clone()
    };
    policy
}

/// Serves the API and the apps until the process is stopped (Ctrl-C or SIGTERM).
pub async fn serve(config: &Config) -> Result<(), ServeError> {
    let router = prepare(config).await?;
    let addr = config.addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr()?;
    tracing::info!(
        "serving the wallet at http://localhost:{port}/ and the POS at http://localhost:{port}/pos/, the API at /api/v1/",
        port = local.port()
    );
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(())
}

/// An exclusive lock on first-start initialisation of a data folder (a lock file; a lock
/// older than the wait is taken to be left by a crash and removed).
struct InitLock(PathBuf);

impl InitLock {
    async fn acquire(dir: &Path) -> Result<Self, std::io::Error> {
        let path = dir.join(".init.lock");
        for _ in 0..200 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return Ok(Self(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e),
            }
        }
        tracing::warn!("removing a stale {}", path.display());
        let _ = std::fs::remove_file(&path);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok(Self(path))
    }
}

impl Drop for InitLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("stopping");
}
