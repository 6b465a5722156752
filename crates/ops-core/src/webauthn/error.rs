//! Why an assertion (or the part of a registration it shares with assertions) was refused.

use thiserror::Error;

use crate::der::DerError;
use crate::provider::EcdsaError;

/// Why a WebAuthn assertion was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WebAuthnError {
    /// Authenticator data shorter than 37 bytes or otherwise malformed.
    #[error("authenticator data is malformed: {0}")]
    MalformedAuthenticatorData(&'static str),
    /// The RP ID hash is not SHA-256 of the certificate's RP ID.
    #[error("assertion was made for another relying party (RP ID hash mismatch)")]
    RpIdHashMismatch,
    /// UP flag clear.
    #[error("user presence flag (UP) is not set")]
    UserNotPresent,
    /// UV flag clear where the certificate requires user verification.
    #[error("user verification (UV) is required by the certificate but not set")]
    UserNotVerified,
    /// BE flag set where the policy refuses synced keys (a certificate that does not say
    /// `synced`, a registration policy that requires device-bound keys): the credential can
    /// be synced or exported.
    #[error(
        "credential is backup-eligible (BE set: a synced passkey) and the policy refuses synced keys"
    )]
    BackupEligible,
    /// BS set without BE: malformed flags.
    #[error("backup state (BS) set without backup eligibility (BE): malformed flags")]
    BackupStateWithoutEligibility,
    /// `clientDataJSON` does not parse or lacks a member.
    #[error("clientDataJSON is malformed: {0}")]
    MalformedClientData(&'static str),
    /// `type` is not the expected ceremony.
    #[error("clientDataJSON type is {found:?}, expected {expected:?}")]
    WrongType {
        /// Expected value.
        expected: &'static str,
        /// Value found.
        found: String,
    },
    /// `challenge` does not match the message.
    #[error("clientDataJSON challenge does not match the signed message")]
    ChallengeMismatch,
    /// `origin` is not among the allowed origins.
    #[error("origin {0:?} is not allowed by the certificate")]
    OriginNotAllowed(String),
    /// `crossOrigin` is true.
    #[error("assertion was made in a cross-origin frame")]
    CrossOrigin,
    /// A template names an origin index the policy lacks, or an unknown variant.
    #[error(
        "compact clientDataJSON template refers to origin index {0}, which the certificate lacks"
    )]
    BadTemplate(u8),
    /// The DER signature is malformed.
    #[error(transparent)]
    Der(#[from] DerError),
    /// The ECDSA signature does not verify.
    #[error("WebAuthn assertion signature: {0}")]
    Signature(#[from] EcdsaError),
    /// The sign count did not increase.
    #[error(
        "sign count {new} is not greater than the stored {stored}: possible cloned authenticator"
    )]
    SignCountNotIncreasing {
        /// The stored count.
        stored: u32,
        /// The count in the assertion.
        new: u32,
    },
}
