//! Step 11 of `docs/WEBAUTHN.md`: the attestation statement, by format (`none`, `packed`
//! self or with `x5c`, `fido-u2f`).

use super::attestation_object::AttStmt;
use super::attested_credential::AttestedCredential;
use super::certificate::{certificate_key, check_packed_certificate, parse_chain};
use super::{AttestationFormat, AttestationTrust, RegistrationError};
use crate::der::der_to_raw;
use crate::ids::PublicKey;
use crate::provider::CryptoProvider;

/// What the statement signs over besides its own members.
pub(super) struct Signed<'a> {
    /// The authenticator data bytes, exactly as sent.
    pub(super) auth_data: &'a [u8],
    /// Its RP ID hash (already checked, step 7).
    pub(super) rp_id_hash: &'a [u8; 32],
    /// SHA-256 of `clientDataJSON`.
    pub(super) client_data_hash: &'a [u8; 32],
    /// The attested credential (step 6).
    pub(super) credential: &'a AttestedCredential<'a>,
}

/// Verifies the attestation statement `stmt` of `format` over `signed`.
pub(super) fn verify_statement(
    provider: &dyn CryptoProvider,
    format: AttestationFormat,
    stmt: &AttStmt<'_>,
    signed: &Signed<'_>,
) -> Result<AttestationTrust, RegistrationError> {
    match format {
        AttestationFormat::None => none(stmt),
        AttestationFormat::Packed => packed(provider, stmt, signed),
        AttestationFormat::FidoU2f => fido_u2f(provider, stmt, signed),
    }
}

/// `none`: `attStmt` is the empty map.
fn none(stmt: &AttStmt<'_>) -> Result<AttestationTrust, RegistrationError> {
    if stmt.entries != 0 {
        return Err(RegistrationError::NoneStatementNotEmpty);
    }
    Ok(AttestationTrust::None)
}

/// `packed`: `alg` -7 and `sig` over `authData || SHA-256(clientDataJSON)`, by the
/// credential key (self attestation) or by the leaf of `x5c` (§8.2.1 checked).
fn packed(
    provider: &dyn CryptoProvider,
    stmt: &AttStmt<'_>,
    signed: &Signed<'_>,
) -> Result<AttestationTrust, RegistrationError> {
    let alg = stmt
        .alg
        .ok_or(RegistrationError::MalformedAttestationStatement(
            "alg missing",
        ))?;
    let sig = stmt
        .sig
        .ok_or(RegistrationError::MalformedAttestationStatement(
            "sig missing",
        ))?;
    if alg != -7 {
        return Err(RegistrationError::AlgorithmNotEs256(alg));
    }
    let mut message = signed.auth_data.to_vec();
    message.extend_from_slice(signed.client_data_hash);
    match &stmt.x5c {
        None => {
            verify_der(provider, &signed.credential.key.public_key, &message, sig)?;
            Ok(AttestationTrust::SelfAttestation)
        }
        Some(x5c) => {
            let (leaf, chain_der) = parse_chain(x5c)?;
            check_packed_certificate(&leaf, &signed.credential.aaguid)?;
            verify_der(provider, &certificate_key(&leaf)?, &message, sig)?;
            Ok(AttestationTrust::Certificate { chain_der })
        }
    }
}

/// `fido-u2f`: `sig` and one-certificate `x5c` only, AAGUID all zero, `sig` over
/// `0x00 || rpIdHash || SHA-256(clientDataJSON) || credentialId || 0x04 || x || y`.
fn fido_u2f(
    provider: &dyn CryptoProvider,
    stmt: &AttStmt<'_>,
    signed: &Signed<'_>,
) -> Result<AttestationTrust, RegistrationError> {
    if stmt.alg.is_some() {
        return Err(RegistrationError::MalformedAttestationStatement(
            "fido-u2f has no alg member",
        ));
    }
    let sig = stmt
        .sig
        .ok_or(RegistrationError::MalformedAttestationStatement(
            "sig missing",
        ))?;
    let x5c = stmt
        .x5c
        .as_ref()
        .ok_or(RegistrationError::MalformedAttestationStatement(
            "x5c missing",
        ))?;
    if x5c.len() != 1 {
        return Err(RegistrationError::MalformedAttestationStatement(
            "fido-u2f x5c must hold exactly one certificate",
        ));
    }
    let cred = signed.credential;
    if cred.aaguid != [0u8; 16] {
        return Err(RegistrationError::U2fAaguidNotZero);
    }
    let (leaf, chain_der) = parse_chain(x5c)?;
    let mut data = Vec::with_capacity(1 + 32 + 32 + cred.credential_id.len() + 65);
    data.push(0x00);
    data.extend_from_slice(signed.rp_id_hash);
    data.extend_from_slice(signed.client_data_hash);
    data.extend_from_slice(cred.credential_id);
    data.push(0x04);
    data.extend_from_slice(&cred.key.x);
    data.extend_from_slice(&cred.key.y);
    verify_der(provider, &certificate_key(&leaf)?, &data, sig)?;
    Ok(AttestationTrust::Certificate { chain_der })
}

/// Verifies a DER ECDSA signature by `key` over `message`.
fn verify_der(
    provider: &dyn CryptoProvider,
    key: &PublicKey,
    message: &[u8],
    sig_der: &[u8],
) -> Result<(), RegistrationError> {
    let sig = der_to_raw(sig_der).map_err(RegistrationError::AttestationSignatureEncoding)?;
    provider
        .verify_es256(key, message, &sig)
        .map_err(RegistrationError::AttestationSignature)
}
