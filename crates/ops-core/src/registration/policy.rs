//! What a financial institution accepts at registration, and the attestation formats it
//! can name.

use super::RegisteredCredential;
use crate::webauthn::{FlagRules, SyncedKeys, WebAuthnPolicy};

/// An attestation statement format this verifier implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttestationFormat {
    /// `none`: no attestation statement.
    None,
    /// `packed`: self attestation (signed by the credential key) or x5c (by a certificate).
    Packed,
    /// `fido-u2f`: a U2F authenticator's one-certificate attestation.
    FidoU2f,
}

impl AttestationFormat {
    /// The `fmt` string of the format.
    pub fn name(self) -> &'static str {
        match self {
            AttestationFormat::None => "none",
            AttestationFormat::Packed => "packed",
            AttestationFormat::FidoU2f => "fido-u2f",
        }
    }

    /// The format named by `fmt`, if this verifier implements it.
    pub fn from_name(fmt: &str) -> Option<Self> {
        match fmt {
            "none" => Some(AttestationFormat::None),
            "packed" => Some(AttestationFormat::Packed),
            "fido-u2f" => Some(AttestationFormat::FidoU2f),
            _ => None,
        }
    }

    /// Every implemented format.
    pub fn all() -> Vec<Self> {
        vec![
            AttestationFormat::None,
            AttestationFormat::Packed,
            AttestationFormat::FidoU2f,
        ]
    }
}

/// What a financial institution accepts at registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationPolicy {
    /// The RP ID credentials are scoped to.
    pub rp_id: String,
    /// Origins the ceremony may come from.
    pub origins: Vec<String>,
    /// Require the UV flag.
    pub require_user_verification: bool,
    /// Whether backup-eligible (BE) credentials, keys that can be synced or copied, are
    /// accepted: [`SyncedKeys::Refused`] requires device-bound keys.
    pub synced_keys: SyncedKeys,
    /// Attestation formats accepted.
    pub allowed_formats: Vec<AttestationFormat>,
    /// If set, only these authenticator models (AAGUIDs) are accepted.
    pub allowed_aaguids: Option<Vec<[u8; 16]>>,
}

impl RegistrationPolicy {
    /// A strict policy for `rp_id`: UV required, device-bound keys only, every implemented
    /// format, any AAGUID, origin `https://<rp_id>`.
    pub fn strict(rp_id: &str) -> Self {
        Self {
            rp_id: rp_id.to_string(),
            origins: vec![format!("https://{rp_id}")],
            require_user_verification: true,
            synced_keys: SyncedKeys::Refused,
            allowed_formats: AttestationFormat::all(),
            allowed_aaguids: None,
        }
    }

    /// The flag rules of registration step 8 (`docs/WEBAUTHN.md`).
    pub fn flag_rules(&self) -> FlagRules {
        FlagRules {
            user_verification: self.require_user_verification,
            synced_keys: self.synced_keys,
        }
    }

    /// The assertion policy a device-bound credential registered under this policy is used
    /// with (`synced: false`: assertions with BE set are refused).
    pub fn webauthn_policy(&self) -> WebAuthnPolicy {
        WebAuthnPolicy {
            rp_id: self.rp_id.clone(),
            origins: self.origins.clone(),
            user_verification: self.require_user_verification,
            synced: false,
        }
    }

    /// The assertion policy to certify `credential` with: [`Self::webauthn_policy`], marked
    /// `synced` when the credential is a synced passkey (BE set at registration, which only
    /// a policy with [`SyncedKeys::Accepted`] lets through).
    pub fn webauthn_policy_for(&self, credential: &RegisteredCredential) -> WebAuthnPolicy {
        WebAuthnPolicy {
            synced: credential.is_synced(),
            ..self.webauthn_policy()
        }
    }

    /// The assertion policy logins are checked with under this policy (with a stored sign
    /// count, `webauthn::Expected::with_stored_sign_count`): [`Self::webauthn_policy`]
    /// with this policy's BE tolerance. BS without BE stays malformed.
    pub fn login_policy(&self) -> WebAuthnPolicy {
        self.webauthn_policy().with_synced_keys(self.synced_keys)
    }
}
