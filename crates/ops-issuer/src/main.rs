//! `ops-issuer`: the financial institution's issuer and settlement service.
//!
//! Serves the JSON API under `/api/v1/` (see `docs/API.md`), `/healthz` and `/metrics`, and
//! the built apps: the wallet at `/` and the POS at `/pos/`. On first start it creates a demo
//! central bank and FI in its data folder. The `ceremony` subcommands create real ones.
//! Admin endpoints always need the bearer token from `DATA_DIR/admin.token` (generated,
//! owner-only, on first start) or `--admin-token-file` / `--admin-token`.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "ops-issuer",
    version,
    about = "The OPS issuer and settlement service; serves the wallet at / and the POS at /pos/",
    after_help = "Admin endpoints (device registration, fraud cases) always need the admin token:\n  \
                  curl -H \"Authorization: Bearer $(cat ops-issuer-data/admin.token)\" \\\n       \
                  http://127.0.0.1:8080/api/v1/fraud-cases\n\
                  The token file is generated (random, owner-only) on first start; the service \
                  prints its path, never the token. See docs/API.md."
)]
struct Options {
    /// Folder holding the built apps (the wallet at its top, the POS in `pos/`).
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// Address to listen on. Only loopback addresses are used in tests.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Folder for the keys and the default SQLite database (created if missing).
    #[arg(long, default_value = "ops-issuer-data")]
    data_dir: PathBuf,
    /// Database: a SQLite file path or `sqlite:` URL, or a `postgres://` URL.
    /// Default: `issuer.sqlite` in the data folder.
    #[arg(long)]
    database: Option<String>,
    /// Balance of a self-service demo account, in minor units.
    #[arg(long, default_value_t = 100_000)]
    starting_balance: u64,
    /// Admin endpoints always need `Authorization: Bearer TOKEN`. By default the token is
    /// read from `admin.token` in the data folder, generated there (random, owner-only
    /// 0600) on first start; the service prints the file's path, never the token. This
    /// flag sets the token instead (visible in the process list: prefer --admin-token-file).
    #[arg(long)]
    admin_token: Option<String>,
    /// File holding the admin token (read if it exists, else generated; must not be
    /// readable by group or others). Default: DATA_DIR/admin.token.
    #[arg(long)]
    admin_token_file: Option<PathBuf>,
    /// Demo sign-ups allowed per client address per hour (429 beyond).
    #[arg(long, default_value_t = 10)]
    signups_per_address_per_hour: u32,
    /// Demo sign-ups allowed per hour, all clients together (per process).
    #[arg(long, default_value_t = 1_000)]
    signups_per_hour: u32,
    /// Demo sign-ups allowed per day, all clients together (per process).
    #[arg(long, default_value_t = 10_000)]
    signups_per_day: u32,
    /// Account reads allowed per client address per minute.
    #[arg(long, default_value_t = 600)]
    reads_per_address_per_minute: u32,
    /// WebAuthn registration and login challenges allowed per client address per minute.
    #[arg(long, default_value_t = 30)]
    challenges_per_address_per_minute: u32,
    /// Fund and deposit requests that fail authentication allowed per client address per
    /// minute (429 beyond, before credentials are looked at).
    #[arg(long, default_value_t = 60)]
    auth_failures_per_address_per_minute: u32,
    /// Sustained fund and deposit requests per second allowed per device (authenticated
    /// requests only).
    #[arg(long, default_value_t = 100)]
    device_rate: u32,
    /// Burst of fund and deposit requests allowed per device.
    #[arg(long, default_value_t = 1000)]
    device_burst: u32,
    /// WebAuthn relying-party id for device registration.
    #[arg(long, default_value = "localhost")]
    rp_id: String,
    /// Origin registrations may come from (repeatable). Default: http://localhost:PORT and
    /// http://127.0.0.1:PORT of --addr.
    #[arg(long = "origin")]
    origins: Vec<String>,
    /// Value (minor units) one double-spender may have credited more than once before
    /// further deposits relying on it wait for an operator (GET /api/v1/held-deposits).
    /// Any further copy after it was revoked is held whatever this says.
    #[arg(long, default_value_t = ops_issuer::settle::DEFAULT_MAX_EXCESS_PER_CULPRIT)]
    max_excess_per_culprit: u64,
    /// Synced passkeys: WebAuthn credentials that are backup eligible (BE set), which the
    /// browser or phone may copy to the user's other devices. `allow` certifies them with
    /// the lower --synced-max-outstanding, marked synced in the certificate; `refuse` turns
    /// them away at registration (422 synced_passkey_refused: use a security key or a
    /// device-bound passkey). Device-bound keys always get the normal limit (100000).
    #[arg(long, value_enum, default_value_t = ops_issuer::api::SyncedPasskeys::Allow)]
    synced_passkeys: ops_issuer::api::SyncedPasskeys,
    /// Largest value (minor units) a synced passkey's device may hold at once, written in
    /// its certificate: 1 to 100000 (the device-bound limit). Default: a quarter of it.
    #[arg(
        long,
        default_value_t = ops_issuer::api::DEFAULT_SYNCED_MAX_OUTSTANDING,
        value_parser = clap::value_parser!(u64).range(1..=ops_issuer::api::DEFAULT_MAX_OUTSTANDING)
    )]
    synced_max_outstanding: u64,
    /// Offline limit written in every new device certificate: the most one payment may
    /// take from the device (minor units), checked by every payee and at deposit (rule
    /// V26). Default: none.
    #[arg(long)]
    device_max_payment: Option<u64>,
    /// Offline limit written in every new device certificate: the most one payment may
    /// take from the device without user verification (PIN or biometrics; rule V27).
    /// Default: none.
    #[arg(long)]
    device_max_without_uv: Option<u64>,
    /// The central bank's URL (an `ops-central` service): claims on notes other FIs
    /// issued, which this FI's merchants deposited, are forwarded there. Without it they
    /// stay queued (GET /api/v1/clearing shows them).
    #[arg(long)]
    central_bank: Option<String>,
    /// Seconds between clearing runs (forwarding queued claims); 0: only when an
    /// operator asks (POST /api/v1/clearing/run).
    #[arg(long, default_value_t = 60)]
    clearing_interval: u64,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Key ceremony commands (the service itself runs when none is given).
#[derive(Debug, Subcommand)]
enum Command {
    /// Central bank and FI key management (the same commands as `ops create-root` …).
    #[command(flatten)]
    Ceremony(ops_issuer::ceremony::cli::CeremonyCommand),
    /// Creates an account (admin), in the database of --data-dir / --database.
    CreateAccount {
        /// Account name.
        #[arg(long)]
        name: String,
        /// Opening balance in minor units.
        #[arg(long, default_value_t = 0)]
        balance: u64,
    },
    /// Audits the ledger in the database of --data-dir / --database: the per-note
    /// invariant, every account's balance and the global sum. Prints every violation and
    /// exits with status 1 if there is any (2 if the database cannot be read). Read-only;
    /// safe while the service runs.
    Audit {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Credits an account (admin), in the database of --data-dir / --database.
    CreditAccount {
        /// Account id.
        #[arg(long)]
        id: i64,
        /// Amount in minor units.
        #[arg(long)]
        amount: u64,
    },
}

/// An admin command failed.
#[derive(Debug, thiserror::Error)]
enum CommandError {
    #[error(transparent)]
    Ceremony(#[from] ops_issuer::ceremony::CeremonyError),
    #[error(transparent)]
    Store(#[from] ops_issuer::store::StoreError),
}

async fn account_command(options: &Options, command: &Command) -> Result<String, CommandError> {
    let location = options.database.clone().unwrap_or_else(|| {
        options
            .data_dir
            .join("issuer.sqlite")
            .to_string_lossy()
            .into_owned()
    });
    let store = ops_issuer::store::Store::connect(&location).await?;
    let now = ops_issuer::api::now();
    Ok(match command {
        Command::CreateAccount { name, balance } => {
            let a = store.create_account(name, *balance, now).await?;
            format!(
                "account {} ({}) created with balance {}",
                a.id, a.name, a.balance
            )
        }
        Command::CreditAccount { id, amount } => {
            let balance = store.credit_account(*id, *amount).await?;
            format!("account {id} credited {amount}: balance {balance}")
        }
        _ => String::new(),
    })
}

/// The database location of --database / --data-dir.
fn database_location(options: &Options) -> String {
    options.database.clone().unwrap_or_else(|| {
        options
            .data_dir
            .join("issuer.sqlite")
            .to_string_lossy()
            .into_owned()
    })
}

/// `ops-issuer audit`: exit 0 when the ledger is sound, 1 with violations, 2 on errors.
async fn audit(options: &Options, json: bool) -> std::process::ExitCode {
    let location = database_location(options);
    let report = match ops_issuer::store::Store::connect(&location).await {
        Ok(store) => store.audit().await,
        Err(e) => Err(e),
    };
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ops-issuer audit: cannot read the ledger at {location}: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        println!(
            "audited {} notes, {} claims, {} accounts: issued {}, credited {}, excess {} (in fraud cases), unclaimed {}, {} deposits held",
            report.notes,
            report.claims,
            report.accounts,
            report.issued,
            report.credited,
            report.excess,
            report.unclaimed,
            report.held
        );
        for v in &report.violations {
            println!("VIOLATION {} {}: {}", v.rule, v.subject, v.detail);
        }
        if report.violations.is_empty() {
            println!("no violation");
        } else {
            println!(
                "{} violations: the ledger does not balance; stop settlement and investigate",
                report.violations.len()
            );
        }
    }
    if report.violations.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    }
}

fn run_command(command: Command) -> Result<String, ops_issuer::ceremony::CeremonyError> {
    match command {
        Command::Ceremony(c) => ops_issuer::ceremony::cli::run(c, ops_issuer::api::now()),
        Command::CreateAccount { .. } | Command::CreditAccount { .. } | Command::Audit { .. } => {
            Ok(String::new())
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let mut options = Options::parse();
    if let Some(Command::Audit { json }) = &options.command {
        return audit(&options, *json).await;
    }
    if let Some(command @ (Command::CreateAccount { .. } | Command::CreditAccount { .. })) =
        &options.command
    {
        return match account_command(&options, command).await {
            Ok(message) => {
                println!("{message}");
                std::process::ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("ops-issuer: {error}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if let Some(command) = options.command.take() {
        return match run_command(command) {
            Ok(message) => {
                println!("{message}");
                std::process::ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("ops-issuer: {error}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let config = ops_issuer::Config {
        dist: options.dist,
        addr: options.addr,
        data_dir: options.data_dir,
        database: options.database,
        starting_balance: options.starting_balance,
        admin_token: options.admin_token,
        admin_token_file: options.admin_token_file,
        abuse: ops_issuer::api::AbuseLimits {
            signups_per_address_per_hour: options.signups_per_address_per_hour,
            signups_per_hour: options.signups_per_hour,
            signups_per_day: options.signups_per_day,
            reads_per_address_per_minute: options.reads_per_address_per_minute,
            challenges_per_address_per_minute: options.challenges_per_address_per_minute,
            auth_failures_per_address_per_minute: options.auth_failures_per_address_per_minute,
        },
        device_rate: options.device_rate,
        device_burst: options.device_burst,
        rp_id: options.rp_id,
        origins: options.origins,
        max_excess_per_culprit: options.max_excess_per_culprit,
        synced_passkeys: options.synced_passkeys,
        synced_max_outstanding: options.synced_max_outstanding,
        device_limits: ops_issuer::api::DeviceLimits {
            max_payment: options.device_max_payment,
            max_without_uv: options.device_max_without_uv,
        },
        central_bank: options.central_bank,
        clearing_interval: options.clearing_interval,
    };
    match ops_issuer::serve(&config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ops-issuer: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
