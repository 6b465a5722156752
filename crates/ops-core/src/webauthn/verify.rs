//! The assertion check: the one code path every WebAuthn assertion in the project goes
//! through (protocol signatures on spends and receipts, FI logins, the CLI).

use super::{
    AuthenticatorData, Ceremony, WebAuthnError, WebAuthnPolicy, check_client_data, check_flags,
    check_sign_count, flags,
};
use crate::der::der_to_raw;
use crate::ids::{PublicKey, sha256};
use crate::provider::CryptoProvider;

/// The parts of an assertion as the browser returns them (`response.*` of
/// `navigator.credentials.get`).
#[derive(Debug, Clone, Copy)]
pub struct RawAssertion<'a> {
    /// `response.authenticatorData`.
    pub authenticator_data: &'a [u8],
    /// `response.clientDataJSON`.
    pub client_data_json: &'a [u8],
    /// `response.signature` (DER).
    pub signature_der: &'a [u8],
}

/// An assertion as checked: the exact bytes the authenticator signed and its signature as
/// `r || s`. Made from the browser's form ([`AssertionParts::from_raw`]) or from the
/// compact wire form (`AssertionWire::expand`, then [`AssertionParts::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertionParts<'a> {
    /// Authenticator data, exactly as signed.
    pub authenticator_data: &'a [u8],
    /// `clientDataJSON`, exactly as signed.
    pub client_data_json: &'a [u8],
    /// The ECDSA signature, `r || s` (either S form).
    pub signature: [u8; 64],
}

impl<'a> AssertionParts<'a> {
    /// The parts of exact bytes and a fixed-size signature.
    pub fn new(
        authenticator_data: &'a [u8],
        client_data_json: &'a [u8],
        signature: [u8; 64],
    ) -> Self {
        Self {
            authenticator_data,
            client_data_json,
            signature,
        }
    }

    /// The parts of a browser assertion: its DER signature parsed strictly.
    pub fn from_raw(raw: &RawAssertion<'a>) -> Result<Self, WebAuthnError> {
        Ok(Self::new(
            raw.authenticator_data,
            raw.client_data_json,
            der_to_raw(raw.signature_der)?,
        ))
    }
}

/// What an assertion must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected<'a> {
    /// The signer's WebAuthn policy: RP ID, origins, UV, synced keys.
    pub policy: &'a WebAuthnPolicy,
    /// The challenge (for protocol messages: SHA-256 of the canonical body bytes, or a
    /// batch challenge).
    pub challenge: &'a [u8],
    /// The sign count stored for the credential, where one is kept (FI logins): the
    /// assertion's count must exceed it ([`check_sign_count`]). `None` for offline payees.
    pub stored_sign_count: Option<u32>,
}

impl<'a> Expected<'a> {
    /// An assertion under `policy` for `challenge`, with no stored sign count.
    pub fn new(policy: &'a WebAuthnPolicy, challenge: &'a [u8]) -> Self {
        Self {
            policy,
            challenge,
            stored_sign_count: None,
        }
    }

    /// The same, with the credential's stored sign count (if known).
    pub fn with_stored_sign_count(self, stored_sign_count: Option<u32>) -> Self {
        Self {
            stored_sign_count,
            ..self
        }
    }
}

/// What a verified assertion tells the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertionInfo {
    /// Flag bits.
    pub flags: u8,
    /// Signature counter (store it where a stored count is kept).
    pub sign_count: u32,
}

/// Verifies an assertion by `key`: the single implementation of the assertion checks.
///
/// In order: authenticator data parses (no attested credential data), RP ID hash is
/// SHA-256 of the policy's RP ID, flags ([`check_flags`] with the policy's
/// [`WebAuthnPolicy::flag_rules`]), `clientDataJSON` ([`check_client_data`] for
/// `webauthn.get`), the ECDSA signature over `authenticatorData || SHA-256(clientDataJSON)`,
/// and last the sign count against `expected.stored_sign_count` when one is given.
pub fn verify_assertion(
    provider: &dyn CryptoProvider,
    key: &PublicKey,
    expected: &Expected<'_>,
    parts: &AssertionParts<'_>,
) -> Result<AssertionInfo, WebAuthnError> {
    let policy = expected.policy;
    let ad = AuthenticatorData::parse(parts.authenticator_data)?;
    if ad.flags & flags::AT != 0 {
        return Err(WebAuthnError::MalformedAuthenticatorData(
            "attested credential data in an assertion",
        ));
    }
    if ad.rp_id_hash != sha256(policy.rp_id.as_bytes()) {
        return Err(WebAuthnError::RpIdHashMismatch);
    }
    check_flags(ad.flags, policy.flag_rules())?;
    check_client_data(
        parts.client_data_json,
        Ceremony::Get,
        expected.challenge,
        &policy.origins,
    )?;
    let mut signed = Vec::with_capacity(parts.authenticator_data.len() + 32);
    signed.extend_from_slice(parts.authenticator_data);
    signed.extend_from_slice(&sha256(parts.client_data_json));
    provider.verify_es256(key, &signed, &parts.signature)?;
    if let Some(stored) = expected.stored_sign_count {
        check_sign_count(stored, ad.sign_count)?;
    }
    Ok(AssertionInfo {
        flags: ad.flags,
        sign_count: ad.sign_count,
    })
}
