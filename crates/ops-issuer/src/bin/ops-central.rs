//! `ops-central`: the central bank's clearing service (see `ops_issuer::central`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use ops_issuer::central::{CentralConfig, MemberFi};

/// The central bank's clearing service: FIs forward claims on each other's notes here; it
/// verifies them, forwards each to the issuing FI, nets the FIs' positions per clearing
/// cycle and keeps their reserve accounts.
#[derive(Debug, Parser)]
#[command(name = "ops-central", version)]
struct Options {
    /// Folder holding the central bank's `root.key` and `root.cert` (from the key
    /// ceremony: `ops ceremony root`), the admin token and the SQLite database.
    #[arg(long)]
    data_dir: PathBuf,
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8090")]
    addr: SocketAddr,
    /// Database: a SQLite path or `postgres://` URL (default: central.sqlite in the data
    /// folder).
    #[arg(long)]
    database: Option<String>,
    /// A member FI: `CERT_FILE=URL` (its certificate from the ceremony, and its service's
    /// base URL). Repeat for every FI.
    #[arg(long = "fi", required = true)]
    fis: Vec<String>,
    /// The admin token (default: read from, or generated into, admin.token in the data
    /// folder).
    #[arg(long)]
    admin_token: Option<String>,
}

fn member(spec: &str) -> Result<MemberFi, String> {
    let (file, url) = spec
        .split_once('=')
        .ok_or_else(|| format!("--fi {spec}: write CERT_FILE=URL"))?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "--fi {spec}: the URL must start with http:// or https://"
        ));
    }
    let cert = ops_issuer::ceremony::read_cert(std::path::Path::new(file))
        .map_err(|e| format!("--fi {spec}: {e}"))?;
    Ok(MemberFi {
        cert,
        url: url.to_owned(),
    })
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let options = Options::parse();
    match run(options).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ops-central: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), String> {
    let root = ops_issuer::ceremony::read_cert(&options.data_dir.join("root.cert"))
        .map_err(|e| format!("{e} (run `ops ceremony root --dir DIR` first)"))?;
    let root_key = ops_issuer::ceremony::read_key(&options.data_dir.join("root.key"))
        .map_err(|e| e.to_string())?;
    let fis = options
        .fis
        .iter()
        .map(|s| member(s))
        .collect::<Result<Vec<_>, _>>()?;
    let (admin_token, _) = ops_issuer::admin_token::AdminToken::load_or_create(
        options.admin_token.as_deref(),
        &options.data_dir.join(ops_issuer::admin_token::TOKEN_FILE),
    )
    .map_err(|e| e.to_string())?;
    let database = options.database.unwrap_or_else(|| {
        ops_issuer::central::default_database(&options.data_dir)
            .to_string_lossy()
            .into_owned()
    });
    ops_issuer::central::serve(CentralConfig {
        addr: options.addr,
        root,
        root_key,
        fis,
        database,
        admin_token,
    })
    .await
    .map_err(|e| e.to_string())
}
