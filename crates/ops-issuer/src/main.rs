//! `ops-issuer`: the financial institution's service.
//!
//! At this stage it serves the built apps: the wallet at `/` and the POS at `/pos/`, with
//! the caching headers an offline-first app needs. The issuer and settlement API joins it
//! under `/api/`.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "ops-issuer",
    version,
    about = "Serves the OPS wallet at / and the POS at /pos/"
)]
struct Options {
    /// Folder holding the built apps (the wallet at its top, the POS in `pos/`).
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// Address to listen on. Only loopback addresses are used in tests.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let options = Options::parse();
    match ops_issuer::serve(&options.dist, options.addr).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ops-issuer: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
