//! WebAuthn registration verification (`navigator.credentials.create`), behind the cargo
//! feature `registration` (the FI service and the CLI enable it; the apps do not link it).
//!
//! [`verify_registration`] performs the numbered checks of `docs/WEBAUTHN.md`
//! (*Registration checks*) in that order, and each [`RegistrationError`] names its step
//! ([`RegistrationError::step`]): the CBOR `attestationObject` (`fmt`, `attStmt`,
//! `authData`, read with `minicbor`), the authenticator data with its attested credential
//! data and COSE EC2 P-256 key, the RP ID hash, the flags and `clientDataJSON` (the
//! building blocks of [`crate::webauthn`], called with [`Ceremony::Create`]), and the
//! attestation statement of format `none`, `packed` (self or x5c, certificates read with
//! `x509-cert`) or `fido-u2f`. Anything else is refused with a clear error.
//!
//! Login assertions are not checked here: they go through the single assertion check,
//! [`crate::webauthn::verify_assertion`], with [`RegistrationPolicy::login_policy`] (or the
//! device certificate's policy) and the stored sign count.
//!
//! Pure Rust, no I/O: it builds for `wasm32-unknown-unknown` and natively. Every length is
//! checked against the bytes that remain before it is used, and nothing panics on bad input.

mod attestation_object;
mod attested_credential;
mod certificate;
mod cose;
mod credential;
mod error;
mod policy;
mod statement;

pub use cose::public_key_from_cose;
pub use credential::{AttestationTrust, RegisteredCredential};
pub use error::RegistrationError;
pub use policy::{AttestationFormat, RegistrationPolicy};

use attestation_object::{parse_att_stmt, parse_attestation_object};
use attested_credential::parse_attested_credential;
use statement::{Signed, verify_statement};

use crate::ids::{sha256, to_hex};
use crate::provider::CryptoProvider;
use crate::webauthn::{AuthenticatorData, Ceremony, WebAuthnError, check_client_data, check_flags};

/// Largest `attestationObject` accepted (checked before any parsing).
pub const MAX_ATTESTATION_OBJECT: usize = 16 * 1024;
/// Largest credential ID accepted (WebAuthn Level 3 §6.5.1: at most 1023 bytes).
pub const MAX_CREDENTIAL_ID: usize = 1023;
/// Most certificates accepted in an `x5c` chain.
pub const MAX_X5C: usize = 4;

/// Verifies a registration ceremony's response under `policy`.
///
/// `challenge` is the challenge the FI issued; `client_data_json` and `attestation_object`
/// are `response.clientDataJSON` and `response.attestationObject` exactly as the browser
/// returned them. On success the returned credential is what the FI stores. The checks
/// run in the order `docs/WEBAUTHN.md` numbers them; the first failure is returned.
pub fn verify_registration(
    provider: &dyn CryptoProvider,
    policy: &RegistrationPolicy,
    challenge: &[u8],
    client_data_json: &[u8],
    attestation_object: &[u8],
) -> Result<RegisteredCredential, RegistrationError> {
    // Step 1. Size, before any parsing.
    if attestation_object.len() > MAX_ATTESTATION_OBJECT {
        return Err(RegistrationError::TooLarge {
            len: attestation_object.len(),
            max: MAX_ATTESTATION_OBJECT,
        });
    }
    // Step 2. Structure: the CBOR map {fmt, attStmt, authData}.
    let obj = parse_attestation_object(attestation_object)?;
    // Step 3. Format implemented.
    let format = AttestationFormat::from_name(obj.fmt)
        .ok_or_else(|| RegistrationError::UnsupportedFormat(obj.fmt.to_string()))?;
    // Step 4. Format allowed by the policy.
    if !policy.allowed_formats.contains(&format) {
        return Err(RegistrationError::FormatNotAllowed(format.name()));
    }
    // Step 5. Authenticator data header (the parser shared with assertions).
    let ad = AuthenticatorData::parse(obj.auth_data)?;
    // Step 6. Attested credential data: AAGUID, credential ID, COSE key, extensions.
    let cred = parse_attested_credential(ad.rest, ad.flags)?;
    // Step 7. RP ID hash.
    if ad.rp_id_hash != sha256(policy.rp_id.as_bytes()) {
        return Err(WebAuthnError::RpIdHashMismatch.into());
    }
    // Step 8. Flags: BS only with BE, UP, UV if required, BE unless synced keys accepted.
    check_flags(ad.flags, policy.flag_rules())?;
    // Step 9. clientDataJSON of a `webauthn.create` ceremony.
    check_client_data(
        client_data_json,
        Ceremony::Create,
        challenge,
        &policy.origins,
    )?;
    // Step 10. Authenticator model.
    if let Some(allowed) = &policy.allowed_aaguids
        && !allowed.contains(&cred.aaguid)
    {
        return Err(RegistrationError::AaguidNotAllowed(to_hex(&cred.aaguid)));
    }
    // Step 11. The attestation statement, by format.
    let stmt = parse_att_stmt(obj.att_stmt)?;
    let client_data_hash = sha256(client_data_json);
    let signed = Signed {
        auth_data: obj.auth_data,
        rp_id_hash: &ad.rp_id_hash,
        client_data_hash: &client_data_hash,
        credential: &cred,
    };
    let attestation = verify_statement(provider, format, &stmt, &signed)?;
    Ok(RegisteredCredential {
        credential_id: cred.credential_id.to_vec(),
        public_key: cred.key.public_key,
        cose_key: cred.cose_key_bytes.to_vec(),
        sign_count: ad.sign_count,
        aaguid: cred.aaguid,
        format,
        flags: ad.flags,
        attestation,
    })
}

#[cfg(test)]
mod tests;
