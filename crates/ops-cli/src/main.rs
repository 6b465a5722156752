//! `ops`: inspect protocol messages and verify payments offline.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod input;
mod simulate_cmd;
mod verify_cmd;
mod webauthn_cmd;

/// Offline payment system tool: inspect messages, verify payments.
#[derive(Debug, Parser)]
#[command(name = "ops", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode any protocol message (hex, base64, or a file holding either or raw bytes)
    /// and print it as JSON.
    Inspect {
        /// The message: a file path, hex, or base64 (standard or URL-safe). `-` reads stdin.
        input: String,
    },
    /// Verify a payment offline against the request it answers. Exit 0 and a JSON summary
    /// if accepted; exit 2 and the failing rule (see docs/PROTOCOL.md §6) if rejected.
    VerifyPayment(verify_cmd::Args),
    /// WebAuthn: verify a registration or a login assertion described by a JSON file
    /// (docs/WEBAUTHN.md). Exit 0 and `ok` if accepted; exit 2 and the failing check if not.
    #[command(subcommand)]
    Webauthn(webauthn_cmd::Command),
    /// Key ceremony (central bank and FIs): create-root, create-fi, export-trust. Private
    /// keys are written owner-only and never printed.
    #[command(flatten)]
    Ceremony(ops_ceremony::cli::CeremonyCommand),
    /// The offline risk model at scale: wallets, terminals and the FI over simulated days,
    /// with a share of cheaters (rollback, cloned storage, colluding payees, replays,
    /// tampering) on the real core and till engine. Prints payments per second, the share
    /// of double spends detected and attributed, time to detection, and the loss per
    /// cheater next to the bound of docs/PROTOCOL.md §8.
    Simulate(simulate_cmd::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect { input } => inspect(&input),
        Command::VerifyPayment(args) => verify_cmd::run(&args),
        Command::Webauthn(cmd) => webauthn_cmd::run(&cmd),
        Command::Ceremony(cmd) => ceremony(cmd),
        Command::Simulate(args) => simulate_cmd::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            if let Some(hint) = e.hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(e.code)
        }
    }
}

/// A failure with an exit code and a hint for the user.
#[derive(Debug)]
pub struct Failure {
    /// Process exit code: 1 bad input, 2 payment rejected.
    pub code: u8,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Failure {
    pub(crate) fn input(message: String, hint: &str) -> Self {
        Self {
            code: 1,
            message,
            hint: Some(hint.to_string()),
        }
    }
}

fn ceremony(command: ops_ceremony::cli::CeremonyCommand) -> Result<(), Failure> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let message = ops_ceremony::cli::run(command, now).map_err(|e| {
        Failure::input(
            e.to_string(),
            "check the --dir folder: a ceremony never overwrites a key, and create-fi and export-trust need the root's files there",
        )
    })?;
    println!("{message}");
    Ok(())
}

fn inspect(input: &str) -> Result<(), Failure> {
    let bytes = input::read_message(input)?;
    let msg = ops_core::msg::inspect(&bytes).map_err(|e| {
        Failure::input(
            format!("not a valid protocol message: {e}"),
            "check the message was copied completely; messages are canonical CBOR (docs/PROTOCOL.md §3)",
        )
    })?;
    let out = serde_json::json!({
        "bytes": bytes.len(),
        "sha256": ops_core::ids::to_hex(&ops_core::ids::sha256(&bytes)),
        "ids": derived_ids(&msg),
        "decoded": msg,
    });
    emit_json(&out)
}

/// Prints `value` as pretty JSON on stdout. A closed pipe (`ops inspect … | head`) is not an
/// error; other write failures are reported instead of panicking as `println!` would.
pub fn emit_json(value: &serde_json::Value) -> Result<(), Failure> {
    use std::io::Write as _;
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::input(format!("cannot render JSON: {e}"), "report this as a bug"))?;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::input(
            format!("cannot write the output: {e}"),
            "check where stdout goes (disk full, closed terminal)",
        )),
        _ => Ok(()),
    }
}

/// The identifiers other messages use to refer to this one (docs/PROTOCOL.md §1).
fn derived_ids(msg: &ops_core::msg::AnyMessage) -> serde_json::Value {
    use ops_core::msg::AnyMessage as M;
    match msg {
        M::Certificate(c) => serde_json::json!({ "certificate_id": c.id() }),
        M::Issuance(i) => serde_json::json!({ "note_id": i.note_id() }),
        M::Spend(s) => serde_json::json!({ "spend_id": s.id(), "value": s.body.value() }),
        M::PaymentRequest(r) => serde_json::json!({ "request_hash": r.hash() }),
        M::Payment(p) => serde_json::json!({
            "payment_hash": p.hash(),
            "received_note_ids": p.chains.iter().filter_map(|c| c.last().map(|s| s.id())).collect::<Vec<_>>(),
            "certificate_ids": p.certs.iter().map(|c| c.id()).collect::<Vec<_>>(),
        }),
        M::Receipt(_) | M::Crl(_) | M::BlockList(_) => serde_json::json!({}),
        M::FraudProof(f) => serde_json::json!({
            "first_spend_id": f.first.id(),
            "second_spend_id": f.second.id(),
            "signer_certificate_id": f.signer.id(),
        }),
    }
}
