//! Why a registration was refused, one variant per failed check.

use thiserror::Error;

use crate::der::DerError;
use crate::provider::EcdsaError;
use crate::webauthn::WebAuthnError;

/// Why a registration was refused. Each variant is one failed check; its doc names the
/// check's number in `docs/WEBAUTHN.md` (*Registration checks*), which [`Self::step`]
/// returns.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// Step 1: the attestation object exceeds [`MAX_ATTESTATION_OBJECT`](super::MAX_ATTESTATION_OBJECT).
    #[error(
        "attestationObject is {len} bytes, more than the {max} accepted: send the browser's attestationObject unmodified"
    )]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Step 2: the attestation object is not the expected CBOR map.
    #[error(
        "attestationObject is malformed ({0}): send the browser's response.attestationObject bytes unmodified"
    )]
    MalformedAttestationObject(&'static str),
    /// A check shared with assertions failed: step 5 (authenticator data header), 7 (RP ID
    /// hash), 8 (flags) or 9 (`clientDataJSON`).
    #[error("{0}")]
    Ceremony(#[from] WebAuthnError),
    /// Step 6: the AT flag is clear, no credential in the authenticator data.
    #[error(
        "authenticator data carries no attested credential data (AT flag clear): this is not a registration response"
    )]
    NoAttestedCredentialData,
    /// Step 6: the attested credential data is cut short or inconsistent.
    #[error("attested credential data is malformed: {0}")]
    MalformedCredentialData(&'static str),
    /// Step 6: the credential ID is longer than [`MAX_CREDENTIAL_ID`](super::MAX_CREDENTIAL_ID).
    #[error("credential ID is {0} bytes, more than the 1023 WebAuthn allows")]
    CredentialIdTooLong(usize),
    /// Step 6: the COSE key is not well-formed.
    #[error("credential public key (COSE_Key) is malformed: {0}")]
    MalformedCoseKey(&'static str),
    /// Step 6: the COSE key is well-formed but not EC2 / P-256 / ES256.
    #[error(
        "credential key is not ES256 on P-256 ({0}): request pubKeyCredParams [{{type: \"public-key\", alg: -7}}]"
    )]
    UnsupportedKey(&'static str),
    /// Step 6: the coordinates are not a point on P-256.
    #[error("credential public key is not a valid P-256 point")]
    InvalidPublicKey,
    /// Step 6: bytes follow the COSE key without the ED flag, or follow the extensions.
    #[error("authenticator data has {0} trailing bytes after the credential data")]
    TrailingBytes(usize),
    /// Step 3: `fmt` names a format this verifier does not implement.
    #[error(
        "attestation format {0:?} is not supported (supported: none, packed, fido-u2f): create the credential with attestation \"none\" or \"direct\""
    )]
    UnsupportedFormat(String),
    /// Step 4: `fmt` is implemented but the policy does not accept it.
    #[error("attestation format {0:?} is not allowed by this institution's policy")]
    FormatNotAllowed(&'static str),
    /// Step 10: the AAGUID is not among the policy's allowed models.
    #[error("authenticator model (AAGUID {0}) is not on this institution's allowed list")]
    AaguidNotAllowed(String),
    /// Step 11: `none` with a non-empty statement.
    #[error("attestation format \"none\" must have an empty attStmt")]
    NoneStatementNotEmpty,
    /// Step 11: the attestation statement lacks a member or has a wrong type.
    #[error("attestation statement is malformed: {0}")]
    MalformedAttestationStatement(&'static str),
    /// Step 11: `packed` `alg` is not ES256 (-7).
    #[error("attestation statement algorithm {0} is not ES256 (-7)")]
    AlgorithmNotEs256(i64),
    /// Step 11: the attestation signature is not strict DER.
    #[error("attestation signature: {0}")]
    AttestationSignatureEncoding(DerError),
    /// Step 11: the attestation signature does not verify.
    #[error("attestation signature does not verify: {0}")]
    AttestationSignature(EcdsaError),
    /// Step 11: the attestation certificate does not meet the format's requirements.
    #[error("attestation certificate refused: {0}")]
    Certificate(&'static str),
    /// Step 11: the certificate's id-fido-gen-ce-aaguid extension differs from the AAGUID.
    #[error("attestation certificate names AAGUID {cert}, authenticator data says {auth_data}")]
    CertificateAaguidMismatch {
        /// In the certificate.
        cert: String,
        /// In the authenticator data.
        auth_data: String,
    },
    /// Step 11: `fido-u2f` with a non-zero AAGUID.
    #[error("fido-u2f attestation with a non-zero AAGUID")]
    U2fAaguidNotZero,
}

impl RegistrationError {
    /// The number of the failed check in `docs/WEBAUTHN.md` (*Registration checks*, 1 to
    /// 11). `None` for an assertion-only failure registration never produces (a compact
    /// template, a sign count).
    pub fn step(&self) -> Option<u8> {
        use RegistrationError as E;
        Some(match self {
            E::TooLarge { .. } => 1,
            E::MalformedAttestationObject(_) => 2,
            E::UnsupportedFormat(_) => 3,
            E::FormatNotAllowed(_) => 4,
            E::Ceremony(e) => return ceremony_step(e),
            E::NoAttestedCredentialData
            | E::MalformedCredentialData(_)
            | E::CredentialIdTooLong(_)
            | E::MalformedCoseKey(_)
            | E::UnsupportedKey(_)
            | E::InvalidPublicKey
            | E::TrailingBytes(_) => 6,
            E::AaguidNotAllowed(_) => 10,
            E::NoneStatementNotEmpty
            | E::MalformedAttestationStatement(_)
            | E::AlgorithmNotEs256(_)
            | E::AttestationSignatureEncoding(_)
            | E::AttestationSignature(_)
            | E::Certificate(_)
            | E::CertificateAaguidMismatch { .. }
            | E::U2fAaguidNotZero => 11,
        })
    }
}

/// The registration step of a check shared with assertions.
fn ceremony_step(e: &WebAuthnError) -> Option<u8> {
    use WebAuthnError as W;
    match e {
        W::MalformedAuthenticatorData(_) => Some(5),
        W::RpIdHashMismatch => Some(7),
        W::UserNotPresent
        | W::UserNotVerified
        | W::BackupEligible
        | W::BackupStateWithoutEligibility => Some(8),
        W::MalformedClientData(_)
        | W::WrongType { .. }
        | W::ChallengeMismatch
        | W::OriginNotAllowed(_)
        | W::CrossOrigin => Some(9),
        W::BadTemplate(_) | W::Der(_) | W::Signature(_) | W::SignCountNotIncreasing { .. } => None,
    }
}
