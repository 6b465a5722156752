//! The central bank's clearing service (`ops-central`; docs/API.md, "Clearing"). FIs send
//! it the claims their merchants' deposits make on other FIs' notes (signed with their
//! certified keys); it verifies each payment back to the root, keeps the claim once, and
//! forwards it to the issuing FI (signed with the root key), whose ledger records every
//! spend of its notes, so a range copied to merchants of two FIs meets its other copy
//! there and becomes one fraud case at the issuer. It keeps each issuer's answer, nets the
//! credited claims per clearing cycle into each FI's position, moves the reserve accounts
//! by it, and publishes the root CRL.
//!
//! Decision (docs/DECISIONS.md, "Clearing"): the per-note ledger stays at the issuing FI;
//! the central bank routes, nets and settles, and keeps no second ledger of notes.

mod api;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ops_core::Certificate;
use ops_core::sig::SoftwareKey;

pub use store::{CentralAudit, CentralStore, CentralViolation};

/// An FI the central bank clears for: its certificate and where its API is.
#[derive(Debug, Clone)]
pub struct MemberFi {
    /// Its certificate (signed by the root).
    pub cert: Certificate,
    /// Its base URL (e.g. `http://127.0.0.1:8080`).
    pub url: String,
}

/// What the central bank's service needs.
#[derive(Debug, Clone)]
pub struct CentralConfig {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// The root certificate.
    pub root: Certificate,
    /// The root key (signs forwarded claims and the root CRL).
    pub root_key: SoftwareKey,
    /// The member FIs.
    pub fis: Vec<MemberFi>,
    /// Database location (SQLite path or `postgres://` URL).
    pub database: String,
    /// The admin bearer token (closing cycles, revoking FIs, the audit).
    pub admin_token: crate::admin_token::AdminToken,
}

/// Why the central bank's service could not run.
#[derive(Debug, thiserror::Error)]
pub enum CentralError {
    /// The database could not be opened.
    #[error("{0} (check --database)")]
    Store(#[from] crate::store::StoreError),
    /// A member FI's certificate is not certified by the root.
    #[error("member FI {0} is not an FI certified by this root")]
    NotMember(String),
    /// The address could not be bound or served.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// What failed.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// The handlers' shared state.
#[derive(Debug, Clone)]
pub struct CentralState {
    /// The database.
    pub store: CentralStore,
    /// Root certificate, key, members and admin token.
    pub config: Arc<CentralConfig>,
    /// The client that forwards claims to issuers.
    pub http: reqwest::Client,
    /// Signatures verified before (certificates repeat across claims).
    pub provider: Arc<ops_core::sig_cache::CachingProvider<ops_core::provider::RingProvider>>,
}

/// Opens the database and builds the router.
pub async fn prepare(config: CentralConfig) -> Result<axum::Router, CentralError> {
    for fi in &config.fis {
        if fi.cert.body.issuer != Some(config.root.id()) || fi.cert.body.role != ops_core::Role::Fi
        {
            return Err(CentralError::NotMember(fi.cert.id().to_string()));
        }
    }
    let store = CentralStore::connect(&config.database).await?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| CentralError::Http(e.to_string()))?;
    Ok(api::router(CentralState {
        store,
        config: Arc::new(config),
        http,
        provider: Arc::new(ops_core::sig_cache::CachingProvider::new(
            ops_core::provider::RingProvider,
        )),
    }))
}

/// Runs the central bank's service until it is stopped.
pub async fn serve(config: CentralConfig) -> Result<(), CentralError> {
    let addr = config.addr;
    let app = prepare(config).await?;
    let listen = |reason: String| CentralError::Listen { addr, reason };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| listen(e.to_string()))?;
    tracing::info!("central bank clearing service on http://{addr}");
    axum::serve(listener, app)
        .await
        .map_err(|e| listen(e.to_string()))
}

/// Where the central bank keeps its database by default.
pub fn default_database(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("central.sqlite")
}
