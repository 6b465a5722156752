//! The financial institution's service, as a library so tests can build its router.

mod static_apps;

pub use static_apps::{AppsError, apps_router};

use std::net::SocketAddr;
use std::path::Path;

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
    /// The server stopped with an I/O error.
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves the apps in `dist` on `addr` until the process is stopped (Ctrl-C or SIGTERM).
pub async fn serve(dist: &Path, addr: SocketAddr) -> Result<(), ServeError> {
    let router = apps_router(dist)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr()?;
    tracing::info!(
        "serving the wallet at http://localhost:{port}/ and the POS at http://localhost:{port}/pos/",
        port = local.port()
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
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
