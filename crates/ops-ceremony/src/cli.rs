//! The ceremony's command-line commands, one definition for every binary that offers them
//! (`ops create-root …` and `ops-issuer create-root …`).

use std::path::PathBuf;

use crate::{CeremonyError, FiLimits, create_fi, create_root, export_bundle};

/// Central bank and FI key management.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum CeremonyCommand {
    /// Creates the central bank's root key and self-signed certificate in DIR.
    CreateRoot {
        /// Key folder (root.key is written owner-only).
        #[arg(long)]
        dir: PathBuf,
        /// The central bank's name.
        #[arg(long, default_value = "Central Bank")]
        name: String,
    },
    /// Creates an FI key in DIR and certifies it with the root key there.
    CreateFi {
        /// Key folder holding root.key and root.cert (fi.key is written owner-only).
        #[arg(long)]
        dir: PathBuf,
        /// The FI's name.
        #[arg(long)]
        name: String,
        /// Certificate serial.
        #[arg(long, default_value_t = 10)]
        serial: u64,
        /// Currency the FI issues.
        #[arg(long, default_value = "EUR")]
        currency: String,
        /// Largest note, in minor units.
        #[arg(long, default_value_t = 100_000)]
        max_note_value: u64,
        /// Largest number of offline hops.
        #[arg(long, default_value_t = 4)]
        hop_limit: u8,
    },
    /// Writes the trust bundle (root and FI certificates) the apps pin.
    ExportTrust {
        /// Key folder.
        #[arg(long)]
        dir: PathBuf,
        /// Output JSON file.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs `command` at time `now`; returns what to tell the operator (never a private key).
pub fn run(command: CeremonyCommand, now: u64) -> Result<String, CeremonyError> {
    match command {
        CeremonyCommand::CreateRoot { dir, name } => {
            let cert = create_root(&dir, &name, now)?;
            Ok(format!(
                "root certificate {} written to {}; the private key is in root.key (owner-only)",
                cert.id(),
                dir.display()
            ))
        }
        CeremonyCommand::CreateFi {
            dir,
            name,
            serial,
            currency,
            max_note_value,
            hop_limit,
        } => {
            let limits = FiLimits {
                currency,
                max_note_value,
                hop_limit,
            };
            let cert = create_fi(&dir, &name, serial, &limits, now)?;
            Ok(format!(
                "FI certificate {} written to {}; the private key is in fi.key (owner-only)",
                cert.id(),
                dir.display()
            ))
        }
        CeremonyCommand::ExportTrust { dir, out } => {
            export_bundle(&dir, &out)?;
            Ok(format!("trust bundle written to {}", out.display()))
        }
    }
}
