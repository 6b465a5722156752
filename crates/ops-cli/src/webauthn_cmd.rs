//! `ops webauthn verify-registration FILE` and `ops webauthn verify-assertion FILE`.
//!
//! Each reads one JSON document: `rp_id`, `origin`, `challenge` (base64url),
//! `client_data_json` (base64url), and either `attestation_object` (base64url) or
//! `credential_public_key` (COSE_Key, base64url) with `authenticator_data` and `signature`
//! (DER) base64url; policy fields `require_user_verification` and `require_device_bound`
//! (both default to true), optional `stored_sign_count`, and for registrations optional
//! `allowed_formats` (e.g. `["packed", "fido-u2f"]`) and `allowed_aaguids` (hex).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Subcommand;
use ops_core::ids::{from_hex, to_hex};
use ops_core::provider::default_provider;
use ops_core::registration::{
    AttestationFormat, AttestationTrust, MAX_ATTESTATION_OBJECT, RegistrationPolicy,
    public_key_from_cose, verify_registration,
};
use ops_core::webauthn::{
    AssertionParts, Expected, RawAssertion, SyncedKeys, flags, verify_assertion,
};
use serde_json::Value;

use crate::Failure;
use crate::input::{InputError, read_file_bounded};

/// `ops webauthn …` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify a registration (navigator.credentials.create response) described by a JSON
    /// file. Exit 0 and `ok` with a summary if accepted; exit 2 and the failing check if not.
    VerifyRegistration {
        /// The JSON document (see docs/WEBAUTHN.md, "CLI").
        file: PathBuf,
    },
    /// Verify a login assertion (navigator.credentials.get response) described by a JSON
    /// file. Exit 0 and `ok` with a summary if accepted; exit 2 and the failing check if not.
    VerifyAssertion {
        /// The JSON document (see docs/WEBAUTHN.md, "CLI").
        file: PathBuf,
    },
}

/// Runs a `webauthn` subcommand.
pub fn run(cmd: &Command) -> Result<(), Failure> {
    match cmd {
        Command::VerifyRegistration { file } => registration(&Doc::load(file)?),
        Command::VerifyAssertion { file } => assertion(&Doc::load(file)?),
    }
}

/// The most bytes read from a WebAuthn JSON document: four times the largest attestation
/// object the verifier accepts (16 KiB, 21 846 characters of base64url), which leaves room
/// for the other members, indentation and allow-lists — 64 KiB.
pub const MAX_DOC_LEN: u64 = 4 * MAX_ATTESTATION_OBJECT as u64;

const HINT: &str = "the file must be one JSON object; see docs/WEBAUTHN.md, section \"CLI\"";

/// The JSON document.
struct Doc(Value);

impl Doc {
    fn load(path: &Path) -> Result<Self, Failure> {
        let text = read_file_bounded(path, MAX_DOC_LEN).map_err(|e| {
            let hint = match e {
                InputError::Io(_) => "check the path".to_string(),
                _ => format!(
                    "a WebAuthn document is at most {MAX_DOC_LEN} bytes: its largest member, \
                     the attestation object, is at most {MAX_ATTESTATION_OBJECT} bytes before \
                     base64url; pass the document of one ceremony"
                ),
            };
            Failure::input(format!("{}: {e}", path.display()), &hint)
        })?;
        let v: Value = serde_json::from_slice(&text)
            .map_err(|e| Failure::input(format!("{} is not JSON: {e}", path.display()), HINT))?;
        if !v.is_object() {
            return Err(Failure::input(
                format!("{} is not a JSON object", path.display()),
                HINT,
            ));
        }
        Ok(Self(v))
    }

    fn str(&self, key: &str) -> Result<&str, Failure> {
        self.0[key]
            .as_str()
            .ok_or_else(|| Failure::input(format!("member {key:?} missing or not a string"), HINT))
    }

    fn b64(&self, key: &str) -> Result<Vec<u8>, Failure> {
        let s = self.str(key)?;
        URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|e| Failure::input(format!("member {key:?} is not base64url: {e}"), HINT))
    }

    fn flag(&self, key: &str) -> Result<bool, Failure> {
        match &self.0[key] {
            Value::Null => Ok(true),
            Value::Bool(b) => Ok(*b),
            _ => Err(Failure::input(
                format!("member {key:?} must be true or false"),
                HINT,
            )),
        }
    }

    fn stored_sign_count(&self) -> Result<Option<u32>, Failure> {
        match &self.0["stored_sign_count"] {
            Value::Null => Ok(None),
            v => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| {
                    Failure::input(
                        "member \"stored_sign_count\" must be an integer 0..=4294967295".into(),
                        HINT,
                    )
                }),
        }
    }

    fn policy(&self) -> Result<RegistrationPolicy, Failure> {
        let allowed_formats = match &self.0["allowed_formats"] {
            Value::Null => AttestationFormat::all(),
            Value::Array(a) => a
                .iter()
                .map(|f| {
                    f.as_str()
                        .and_then(AttestationFormat::from_name)
                        .ok_or_else(|| {
                            Failure::input(
                                format!("allowed_formats: {f} is not none, packed or fido-u2f"),
                                HINT,
                            )
                        })
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(Failure::input(
                    "allowed_formats must be an array".into(),
                    HINT,
                ));
            }
        };
        let allowed_aaguids = match &self.0["allowed_aaguids"] {
            Value::Null => None,
            Value::Array(a) => Some(
                a.iter()
                    .map(|g| {
                        g.as_str()
                            .map(|s| s.replace('-', ""))
                            .and_then(|s| from_hex(&s))
                            .and_then(|b| <[u8; 16]>::try_from(b).ok())
                            .ok_or_else(|| {
                                Failure::input(
                                    format!("allowed_aaguids: {g} is not 16 bytes of hex"),
                                    HINT,
                                )
                            })
                    })
                    .collect::<Result<_, _>>()?,
            ),
            _ => {
                return Err(Failure::input(
                    "allowed_aaguids must be an array".into(),
                    HINT,
                ));
            }
        };
        Ok(RegistrationPolicy {
            rp_id: self.str("rp_id")?.to_string(),
            origins: vec![self.str("origin")?.to_string()],
            require_user_verification: self.flag("require_user_verification")?,
            synced_keys: if self.flag("require_device_bound")? {
                SyncedKeys::Refused
            } else {
                SyncedKeys::Accepted
            },
            allowed_formats,
            allowed_aaguids,
        })
    }
}

fn refused(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure {
        code: 2,
        message: format!("{what} refused: {e}"),
        hint: None,
    }
}

/// The flag bits by name.
fn flag_names(f: u8) -> String {
    let names = [
        (flags::UP, "UP"),
        (flags::UV, "UV"),
        (flags::BE, "BE"),
        (flags::BS, "BS"),
        (flags::AT, "AT"),
        (flags::ED, "ED"),
    ];
    let set: Vec<_> = names
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| *n)
        .collect();
    format!("0x{f:02x} ({})", set.join(" "))
}

fn registration(doc: &Doc) -> Result<(), Failure> {
    let policy = doc.policy()?;
    let challenge = doc.b64("challenge")?;
    let cdj = doc.b64("client_data_json")?;
    let att = doc.b64("attestation_object")?;
    let c = verify_registration(default_provider(), &policy, &challenge, &cdj, &att)
        .map_err(|e| refused("registration", e))?;
    if let Some(stored) = doc.stored_sign_count()? {
        ops_core::webauthn::check_sign_count(stored, c.sign_count)
            .map_err(|e| refused("registration", e))?;
    }
    let attestation = match &c.attestation {
        AttestationTrust::None => "none".to_string(),
        AttestationTrust::SelfAttestation => "self".to_string(),
        AttestationTrust::Certificate { chain_der } => format!(
            "certificate chain of {} (recorded, not anchored to a root)",
            chain_der.len()
        ),
    };
    println!("ok");
    println!("format: {}", c.format.name());
    println!("attestation: {attestation}");
    println!("aaguid: {}", to_hex(&c.aaguid));
    println!(
        "credential_id: {}",
        URL_SAFE_NO_PAD.encode(&c.credential_id)
    );
    println!(
        "credential_public_key: {}",
        URL_SAFE_NO_PAD.encode(&c.cose_key)
    );
    println!("flags: {}", flag_names(c.flags));
    println!("sign_count: {}", c.sign_count);
    Ok(())
}

fn assertion(doc: &Doc) -> Result<(), Failure> {
    let policy = doc.policy()?;
    let challenge = doc.b64("challenge")?;
    let cdj = doc.b64("client_data_json")?;
    let cose = doc.b64("credential_public_key")?;
    let ad = doc.b64("authenticator_data")?;
    let sig = doc.b64("signature")?;
    let key = public_key_from_cose(&cose).map_err(|e| {
        Failure::input(
            format!("credential_public_key: {e}"),
            "pass the credential_public_key printed by verify-registration",
        )
    })?;
    let raw = RawAssertion {
        authenticator_data: &ad,
        client_data_json: &cdj,
        signature_der: &sig,
    };
    let login_policy = policy.login_policy();
    let expected =
        Expected::new(&login_policy, &challenge).with_stored_sign_count(doc.stored_sign_count()?);
    let info = AssertionParts::from_raw(&raw)
        .and_then(|parts| verify_assertion(default_provider(), &key, &expected, &parts))
        .map_err(|e| refused("assertion", e))?;
    println!("ok");
    println!("flags: {}", flag_names(info.flags));
    println!("sign_count: {}", info.sign_count);
    println!("store sign_count {} for the next login", info.sign_count);
    Ok(())
}
