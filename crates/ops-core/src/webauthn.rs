//! WebAuthn ES256 assertion verification — the single implementation in the project.
//!
//! A WebAuthn signature over a protocol message is an assertion whose challenge is
//! SHA-256 of the message's canonical bytes. The verifier rebuilds
//! `authenticatorData || SHA-256(clientDataJSON)` and checks the ceremony type, challenge,
//! RP ID hash, allowed origin, flags (UP; UV where the certificate requires it; BE clear
//! unless the certificate says the key is a synced passkey; BS without BE is malformed) and
//! the ECDSA signature (high-S and low-S both accepted).
//!
//! On the wire an assertion is compacted ([`AssertionWire`]): authenticator data becomes
//! flags + sign count (the RP ID hash is recomputed from the signer's certificate), the
//! `clientDataJSON` becomes a template index (origin index + variant) that rebuilds the exact
//! bytes, and the DER signature becomes fixed `r || s`. Anything the templates cannot
//! reproduce travels raw, so every genuine assertion can be carried.
//!
//! The building blocks ([`AuthenticatorData::parse`], [`check_flags`],
//! [`check_client_data`], [`check_sign_count`]) are public so registration verification
//! can reuse them with [`Ceremony::Create`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::cbor::{Decoder, Encoder, MapReader};
use crate::der::{DerError, der_to_raw, raw_to_der};
use crate::error::DecodeError;
use crate::ids::{PublicKey, sha256, to_hex};
use crate::provider::{CryptoProvider, EcdsaError};

/// Authenticator data flag bits (WebAuthn Level 3 §6.1).
pub mod flags {
    /// User present.
    pub const UP: u8 = 0x01;
    /// User verified.
    pub const UV: u8 = 0x04;
    /// Backup eligible (the credential may be synced).
    pub const BE: u8 = 0x08;
    /// Backup state (the credential is synced).
    pub const BS: u8 = 0x10;
    /// Attested credential data included.
    pub const AT: u8 = 0x40;
    /// Extension data included.
    pub const ED: u8 = 0x80;
}

/// Maximum length of an RP ID (a DNS name).
pub const MAX_RP_ID_LEN: usize = 253;
/// Maximum number of allowed origins in a policy.
pub const MAX_ORIGINS: usize = 8;
/// Maximum length of one origin.
pub const MAX_ORIGIN_LEN: usize = 128;
/// Maximum length of raw authenticator data on the wire.
pub const MAX_RAW_AUTH_DATA: usize = 512;
/// Maximum length of raw `clientDataJSON` on the wire.
pub const MAX_RAW_CLIENT_DATA: usize = 1024;

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

/// Which ceremony a `clientDataJSON` belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// `navigator.credentials.get` (assertions; all protocol signatures).
    Get,
    /// `navigator.credentials.create` (registration).
    Create,
}

impl Ceremony {
    /// The `type` member value.
    pub fn type_str(self) -> &'static str {
        match self {
            Ceremony::Get => "webauthn.get",
            Ceremony::Create => "webauthn.create",
        }
    }
}

/// The WebAuthn binding of a key, carried in its certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebAuthnPolicy {
    /// The RP ID the credential is scoped to.
    pub rp_id: String,
    /// Origins assertions may come from (index order is significant for templates).
    pub origins: Vec<String>,
    /// Whether every assertion must carry UV.
    pub user_verification: bool,
    /// The key is a synced passkey (backup eligible, BE set at registration): assertions
    /// with BE set are accepted. The FI certifies such keys with a lower outstanding-value
    /// limit. `false` (device-bound): BE set is refused. Either way BS without BE is
    /// malformed, and an assertion with BE clear is accepted.
    #[serde(default, skip_serializing_if = "is_false")]
    pub synced: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl WebAuthnPolicy {
    /// The origin list implied when a certificate omits it: `["https://<rp id>"]`.
    pub fn default_origins(&self) -> Vec<String> {
        vec![format!("https://{}", self.rp_id)]
    }

    /// Checks the policy's own limits and that origins are template-safe ASCII.
    pub fn validate(&self) -> Result<(), DecodeError> {
        let bad = |why| DecodeError::InvalidValue {
            what: "webauthn policy",
            why,
        };
        if self.rp_id.is_empty() || self.rp_id.len() > MAX_RP_ID_LEN {
            return Err(bad("RP ID empty or too long"));
        }
        if self.origins.is_empty() || self.origins.len() > MAX_ORIGINS {
            return Err(bad("between 1 and 8 origins required"));
        }
        for o in &self.origins {
            let safe = o
                .bytes()
                .all(|b| (0x21..0x7f).contains(&b) && b != b'"' && b != b'\\');
            if o.is_empty() || o.len() > MAX_ORIGIN_LEN || !safe {
                return Err(bad(
                    "origin must be 1-128 printable ASCII bytes without quotes",
                ));
            }
        }
        Ok(())
    }
}

/// Parsed authenticator data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorData<'a> {
    /// SHA-256 of the RP ID.
    pub rp_id_hash: [u8; 32],
    /// Flag bits, see [`flags`].
    pub flags: u8,
    /// Signature counter.
    pub sign_count: u32,
    /// Attested credential data and/or extensions, unparsed.
    pub rest: &'a [u8],
}

impl<'a> AuthenticatorData<'a> {
    /// Splits authenticator data into its fixed header and the rest.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WebAuthnError> {
        if bytes.len() < 37 {
            return Err(WebAuthnError::MalformedAuthenticatorData(
                "shorter than 37 bytes",
            ));
        }
        let (head, rest) = bytes.split_at(37);
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(&head[..32]);
        let flags = head[32];
        let sign_count = u32::from_be_bytes([head[33], head[34], head[35], head[36]]);
        if rest.is_empty() && flags & (flags::AT | flags::ED) != 0 {
            return Err(WebAuthnError::MalformedAuthenticatorData(
                "AT or ED flag set but no data follows",
            ));
        }
        if !rest.is_empty() && flags & (flags::AT | flags::ED) == 0 {
            return Err(WebAuthnError::MalformedAuthenticatorData(
                "trailing bytes without AT or ED flag",
            ));
        }
        Ok(Self {
            rp_id_hash,
            flags,
            sign_count,
            rest,
        })
    }
}

/// Checks UP, UV (when required), BE clear unless `synced_allowed` (the signer is certified
/// as a synced passkey, or a registration policy tolerates synced keys), and BS only with
/// BE (whatever `synced_allowed` says).
pub fn check_flags(
    f: u8,
    user_verification_required: bool,
    synced_allowed: bool,
) -> Result<(), WebAuthnError> {
    if f & flags::BS != 0 && f & flags::BE == 0 {
        return Err(WebAuthnError::BackupStateWithoutEligibility);
    }
    if f & flags::UP == 0 {
        return Err(WebAuthnError::UserNotPresent);
    }
    if user_verification_required && f & flags::UV == 0 {
        return Err(WebAuthnError::UserNotVerified);
    }
    if f & flags::BE != 0 && !synced_allowed {
        return Err(WebAuthnError::BackupEligible);
    }
    Ok(())
}

/// Refuses a sign count that does not increase, unless both are zero (authenticators
/// without a counter). Call with the count stored for the credential; store `new` after.
pub fn check_sign_count(stored: u32, new: u32) -> Result<(), WebAuthnError> {
    if (stored == 0 && new == 0) || new > stored {
        Ok(())
    } else {
        Err(WebAuthnError::SignCountNotIncreasing { stored, new })
    }
}

#[derive(Deserialize)]
struct ClientDataJson {
    #[serde(rename = "type")]
    ty: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
}

/// The members of a checked `clientDataJSON`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientData {
    /// The origin (one of the allowed origins).
    pub origin: String,
}

/// Checks a raw `clientDataJSON`: type, challenge (base64url of `challenge`), origin in
/// `origins`, and `crossOrigin` not true. Unknown members are ignored, as the spec asks.
pub fn check_client_data(
    json: &[u8],
    ceremony: Ceremony,
    challenge: &[u8],
    origins: &[String],
) -> Result<ClientData, WebAuthnError> {
    let cd: ClientDataJson = serde_json::from_slice(json).map_err(|_| {
        WebAuthnError::MalformedClientData(
            "not a JSON object with type, challenge and origin strings",
        )
    })?;
    if cd.ty != ceremony.type_str() {
        return Err(WebAuthnError::WrongType {
            expected: ceremony.type_str(),
            found: cd.ty,
        });
    }
    if cd.challenge != URL_SAFE_NO_PAD.encode(challenge) {
        return Err(WebAuthnError::ChallengeMismatch);
    }
    if !origins.contains(&cd.origin) {
        return Err(WebAuthnError::OriginNotAllowed(cd.origin));
    }
    if cd.cross_origin == Some(true) {
        return Err(WebAuthnError::CrossOrigin);
    }
    Ok(ClientData { origin: cd.origin })
}

/// The `clientDataJSON` shapes the compact form can rebuild byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TemplateVariant {
    /// `{"type":"webauthn.get","challenge":C,"origin":O,"crossOrigin":false}` (Chromium).
    CrossOriginFalse = 0,
    /// `{"type":"webauthn.get","challenge":C,"origin":O}`.
    NoCrossOrigin = 1,
}

impl TemplateVariant {
    fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::CrossOriginFalse),
            1 => Some(Self::NoCrossOrigin),
            _ => None,
        }
    }

    /// Builds the exact `clientDataJSON` bytes of a `webauthn.get` with this template.
    pub fn build(self, challenge: &[u8], origin: &str) -> Vec<u8> {
        let c = URL_SAFE_NO_PAD.encode(challenge);
        let tail = match self {
            Self::CrossOriginFalse => ",\"crossOrigin\":false}",
            Self::NoCrossOrigin => "}",
        };
        format!("{{\"type\":\"webauthn.get\",\"challenge\":\"{c}\",\"origin\":\"{origin}\"{tail}")
            .into_bytes()
    }
}

/// Authenticator data on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthDataWire {
    /// Flags and counter; the RP ID hash is SHA-256 of the certificate's RP ID.
    Compact {
        /// Flag bits (AT and ED never set here).
        flags: u8,
        /// Signature counter.
        sign_count: u32,
    },
    /// The authenticator data as the authenticator produced it.
    Raw(Vec<u8>),
}

/// `clientDataJSON` on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientDataWire {
    /// Rebuilt from a template, the challenge and the certificate's origin list.
    Template {
        /// Index into the certificate's origins.
        origin_index: u8,
        /// Which template.
        variant: TemplateVariant,
    },
    /// The bytes the browser produced.
    Raw(Vec<u8>),
}

/// The raw parts of an assertion as the browser returns them.
#[derive(Debug, Clone, Copy)]
pub struct RawAssertion<'a> {
    /// `response.authenticatorData`.
    pub authenticator_data: &'a [u8],
    /// `response.clientDataJSON`.
    pub client_data_json: &'a [u8],
    /// `response.signature` (DER).
    pub signature_der: &'a [u8],
}

/// A compact WebAuthn assertion, as carried in protocol messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionWire {
    /// Authenticator data.
    pub auth_data: AuthDataWire,
    /// Client data.
    pub client_data: ClientDataWire,
    /// `r || s` (either S form, as the authenticator produced it).
    pub signature: [u8; 64],
}

/// What a verified assertion tells the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertionInfo {
    /// Flag bits.
    pub flags: u8,
    /// Signature counter (feed to [`check_sign_count`] where a stored count exists).
    pub sign_count: u32,
}

impl AssertionWire {
    /// Compacts a browser assertion: template forms where they rebuild the exact bytes,
    /// raw forms otherwise. `challenge` is what the assertion was requested with.
    pub fn from_raw(
        raw: &RawAssertion<'_>,
        policy: &WebAuthnPolicy,
        challenge: &[u8],
    ) -> Result<Self, WebAuthnError> {
        let signature = der_to_raw(raw.signature_der)?;
        let ad = AuthenticatorData::parse(raw.authenticator_data)?;
        let auth_data = if ad.rest.is_empty() && ad.rp_id_hash == sha256(policy.rp_id.as_bytes()) {
            AuthDataWire::Compact {
                flags: ad.flags,
                sign_count: ad.sign_count,
            }
        } else {
            AuthDataWire::Raw(raw.authenticator_data.to_vec())
        };
        let mut client_data = ClientDataWire::Raw(raw.client_data_json.to_vec());
        'search: for (i, origin) in policy.origins.iter().enumerate().take(MAX_ORIGINS) {
            for variant in [
                TemplateVariant::CrossOriginFalse,
                TemplateVariant::NoCrossOrigin,
            ] {
                if variant.build(challenge, origin) == raw.client_data_json {
                    client_data = ClientDataWire::Template {
                        origin_index: i as u8,
                        variant,
                    };
                    break 'search;
                }
            }
        }
        Ok(Self {
            auth_data,
            client_data,
            signature,
        })
    }

    /// Rebuilds the exact authenticator data and `clientDataJSON` bytes that were signed.
    pub fn expand(
        &self,
        policy: &WebAuthnPolicy,
        challenge: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), WebAuthnError> {
        let auth = match &self.auth_data {
            AuthDataWire::Compact { flags, sign_count } => {
                let mut v = Vec::with_capacity(37);
                v.extend_from_slice(&sha256(policy.rp_id.as_bytes()));
                v.push(*flags);
                v.extend_from_slice(&sign_count.to_be_bytes());
                v
            }
            AuthDataWire::Raw(b) => b.clone(),
        };
        let client = match &self.client_data {
            ClientDataWire::Template {
                origin_index,
                variant,
            } => {
                let origin = policy
                    .origins
                    .get(usize::from(*origin_index))
                    .ok_or(WebAuthnError::BadTemplate(*origin_index))?;
                variant.build(challenge, origin)
            }
            ClientDataWire::Raw(b) => b.clone(),
        };
        Ok((auth, client))
    }

    /// The DER form of the signature (as the authenticator would have sent it).
    pub fn signature_der(&self) -> Vec<u8> {
        raw_to_der(&self.signature)
    }

    /// Canonical CBOR: `{1: flags, 2: count}` or `{3: raw authData}`, then
    /// `{4: origin index, ?5: variant}` or `{6: raw clientDataJSON}`, then `{7: r||s}`.
    pub fn encode(&self, e: &mut Encoder) {
        e.map(self.field_count());
        self.encode_fields(e);
    }

    /// The number of map entries [`Self::encode_fields`] writes (3 to 5).
    pub fn field_count(&self) -> usize {
        let mut n = 1;
        n += match self.auth_data {
            AuthDataWire::Compact { .. } => 2,
            AuthDataWire::Raw(_) => 1,
        };
        n += match self.client_data {
            ClientDataWire::Template {
                variant: TemplateVariant::CrossOriginFalse,
                ..
            } => 1,
            ClientDataWire::Template { .. } => 2,
            ClientDataWire::Raw(_) => 1,
        };
        n
    }

    /// Writes the entries (keys 1..=7) without the map header, so that a larger map (the
    /// batch form, `sig::BatchAssertion`) can carry them.
    pub fn encode_fields(&self, e: &mut Encoder) {
        match &self.auth_data {
            AuthDataWire::Compact { flags, sign_count } => {
                e.uint(1).uint(u64::from(*flags));
                e.uint(2).uint(u64::from(*sign_count));
            }
            AuthDataWire::Raw(b) => {
                e.uint(3).bytes(b);
            }
        }
        match &self.client_data {
            ClientDataWire::Template {
                origin_index,
                variant,
            } => {
                e.uint(4).uint(u64::from(*origin_index));
                if *variant != TemplateVariant::CrossOriginFalse {
                    e.uint(5).uint(*variant as u64);
                }
            }
            ClientDataWire::Raw(b) => {
                e.uint(6).bytes(b);
            }
        }
        e.uint(7).bytes(&self.signature);
    }

    /// Strict decoding of [`AssertionWire::encode`]'s output.
    pub fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let mut m = d.map(5)?;
        let a = Self::decode_fields(&mut m)?;
        m.finish()?;
        Ok(a)
    }

    /// Reads the entries with keys 1..=7 of a map; the caller reads any later keys and
    /// finishes the map.
    pub fn decode_fields(m: &mut MapReader<'_, '_>) -> Result<Self, DecodeError> {
        let auth_data = if m.optional(1)? {
            let flags = m.value().u8("authenticator flags")?;
            if flags & (flags::AT | flags::ED) != 0 {
                return Err(DecodeError::InvalidValue {
                    what: "authenticator flags",
                    why: "AT/ED need raw authenticator data",
                });
            }
            let sign_count = m.required(2)?.u32("sign count")?;
            AuthDataWire::Compact { flags, sign_count }
        } else {
            let b = m
                .required(3)?
                .bytes(MAX_RAW_AUTH_DATA, "raw authenticator data")?;
            AuthDataWire::Raw(b.to_vec())
        };
        let client_data = if m.optional(4)? {
            let origin_index = m.value().u8("origin index")?;
            if usize::from(origin_index) >= MAX_ORIGINS {
                return Err(DecodeError::InvalidValue {
                    what: "origin index",
                    why: "a certificate has at most 8 origins",
                });
            }
            let variant = if m.optional(5)? {
                let v = m.value().u8("template variant")?;
                match TemplateVariant::from_u8(v) {
                    Some(TemplateVariant::CrossOriginFalse) | None => {
                        return Err(DecodeError::InvalidValue {
                            what: "template variant",
                            why: "unknown, or the default written out",
                        });
                    }
                    Some(v) => v,
                }
            } else {
                TemplateVariant::CrossOriginFalse
            };
            ClientDataWire::Template {
                origin_index,
                variant,
            }
        } else {
            let b = m
                .required(6)?
                .bytes(MAX_RAW_CLIENT_DATA, "raw clientDataJSON")?;
            ClientDataWire::Raw(b.to_vec())
        };
        let signature = m.required(7)?.bytes_fixed::<64>("signature")?;
        Ok(Self {
            auth_data,
            client_data,
            signature,
        })
    }

    /// A JSON view for inspection tools.
    pub fn to_json(&self) -> serde_json::Value {
        let auth = match &self.auth_data {
            AuthDataWire::Compact { flags, sign_count } => {
                serde_json::json!({"flags": flags, "sign_count": sign_count})
            }
            AuthDataWire::Raw(b) => serde_json::json!({"raw": to_hex(b)}),
        };
        let client = match &self.client_data {
            ClientDataWire::Template {
                origin_index,
                variant,
            } => serde_json::json!({"origin_index": origin_index, "template": variant}),
            ClientDataWire::Raw(b) => {
                serde_json::json!({"raw": String::from_utf8_lossy(b)})
            }
        };
        serde_json::json!({
            "webauthn": {"authenticator_data": auth, "client_data": client, "signature": to_hex(&self.signature)}
        })
    }
}

/// Verifies a compact assertion by `key` under `policy`, for `challenge`
/// (for protocol messages: SHA-256 of the message's canonical bytes).
pub fn verify_assertion(
    provider: &dyn CryptoProvider,
    key: &PublicKey,
    policy: &WebAuthnPolicy,
    challenge: &[u8],
    assertion: &AssertionWire,
) -> Result<AssertionInfo, WebAuthnError> {
    let (auth, client) = assertion.expand(policy, challenge)?;
    verify_parts(
        provider,
        key,
        policy,
        Ceremony::Get,
        challenge,
        &auth,
        &client,
        &assertion.signature,
    )
}

/// Verifies an assertion in the browser's raw form (login, or before compaction).
pub fn verify_raw_assertion(
    provider: &dyn CryptoProvider,
    key: &PublicKey,
    policy: &WebAuthnPolicy,
    challenge: &[u8],
    raw: &RawAssertion<'_>,
) -> Result<AssertionInfo, WebAuthnError> {
    let sig = der_to_raw(raw.signature_der)?;
    verify_parts(
        provider,
        key,
        policy,
        Ceremony::Get,
        challenge,
        raw.authenticator_data,
        raw.client_data_json,
        &sig,
    )
}

/// The full check over exact bytes; `ceremony` selects `webauthn.get` or `webauthn.create`.
#[allow(clippy::too_many_arguments)]
pub fn verify_parts(
    provider: &dyn CryptoProvider,
    key: &PublicKey,
    policy: &WebAuthnPolicy,
    ceremony: Ceremony,
    challenge: &[u8],
    authenticator_data: &[u8],
    client_data_json: &[u8],
    signature: &[u8; 64],
) -> Result<AssertionInfo, WebAuthnError> {
    let ad = AuthenticatorData::parse(authenticator_data)?;
    if ceremony == Ceremony::Get && ad.flags & flags::AT != 0 {
        return Err(WebAuthnError::MalformedAuthenticatorData(
            "attested credential data in an assertion",
        ));
    }
    if ad.rp_id_hash != sha256(policy.rp_id.as_bytes()) {
        return Err(WebAuthnError::RpIdHashMismatch);
    }
    check_flags(ad.flags, policy.user_verification, policy.synced)?;
    check_client_data(client_data_json, ceremony, challenge, &policy.origins)?;
    let mut signed = Vec::with_capacity(authenticator_data.len() + 32);
    signed.extend_from_slice(authenticator_data);
    signed.extend_from_slice(&sha256(client_data_json));
    provider.verify_es256(key, &signed, signature)?;
    Ok(AssertionInfo {
        flags: ad.flags,
        sign_count: ad.sign_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::all_providers;
    use crate::testing::SoftAuthenticator;

    fn policy() -> WebAuthnPolicy {
        WebAuthnPolicy {
            rp_id: "localhost".into(),
            origins: vec![
                "http://localhost:8080".into(),
                "https://wallet.example".into(),
            ],
            user_verification: true,
            synced: false,
        }
    }

    fn check(
        auth: &SoftAuthenticator,
        a: &AssertionWire,
        challenge: &[u8],
    ) -> Result<AssertionInfo, WebAuthnError> {
        let mut last = None;
        for p in all_providers() {
            let r = verify_assertion(p, &auth.public_key(), &policy(), challenge, a);
            if let Some(prev) = &last {
                assert_eq!(prev, &r, "providers disagree");
            }
            last = Some(r);
        }
        last.unwrap()
    }

    #[test]
    fn genuine_assertion_verifies_in_compact_and_raw_form() {
        let mut auth = SoftAuthenticator::new(1, "localhost", "https://wallet.example");
        let raw = auth.assert(b"challenge-1");
        let compact = AssertionWire::from_raw(&raw.as_raw(), &policy(), b"challenge-1").unwrap();
        assert!(matches!(compact.auth_data, AuthDataWire::Compact { .. }));
        assert!(matches!(
            compact.client_data,
            ClientDataWire::Template {
                origin_index: 1,
                ..
            }
        ));
        let info = check(&auth, &compact, b"challenge-1").unwrap();
        assert_eq!(info.sign_count, 1);
        for p in all_providers() {
            verify_raw_assertion(
                p,
                &auth.public_key(),
                &policy(),
                b"challenge-1",
                &raw.as_raw(),
            )
            .unwrap();
        }
        // expand() rebuilds the exact bytes
        let (a, c) = compact.expand(&policy(), b"challenge-1").unwrap();
        assert_eq!(a, raw.authenticator_data);
        assert_eq!(c, raw.client_data_json);
    }

    #[test]
    fn high_s_signature_accepted() {
        let mut auth = SoftAuthenticator::new(2, "localhost", "http://localhost:8080");
        auth.high_s = true;
        let raw = auth.assert(b"c");
        let a = AssertionWire::from_raw(&raw.as_raw(), &policy(), b"c").unwrap();
        check(&auth, &a, b"c").unwrap();
    }

    #[test]
    fn extra_client_data_member_travels_raw() {
        let mut auth = SoftAuthenticator::new(3, "localhost", "http://localhost:8080");
        auth.extra_client_data = true;
        let raw = auth.assert(b"c");
        let a = AssertionWire::from_raw(&raw.as_raw(), &policy(), b"c").unwrap();
        assert!(matches!(a.client_data, ClientDataWire::Raw(_)));
        check(&auth, &a, b"c").unwrap();
    }

    #[test]
    fn wrong_challenge_rp_origin_flags_are_refused() {
        let mut auth = SoftAuthenticator::new(4, "localhost", "http://localhost:8080");
        let raw = auth.assert(b"c");
        let a = AssertionWire::from_raw(&raw.as_raw(), &policy(), b"c").unwrap();
        // Compact template rebuilt with a different challenge: signature no longer matches.
        assert!(matches!(
            check(&auth, &a, b"d"),
            Err(WebAuthnError::Signature(_))
        ));
        // Raw client data with another challenge: challenge check fails first.
        let raw_a = AssertionWire {
            client_data: ClientDataWire::Raw(raw.client_data_json.clone()),
            ..a.clone()
        };
        assert_eq!(
            check(&auth, &raw_a, b"d"),
            Err(WebAuthnError::ChallengeMismatch)
        );

        let mut other_rp = SoftAuthenticator::new(4, "evil.example", "http://localhost:8080");
        let r = other_rp.assert(b"c");
        let a = AssertionWire::from_raw(&r.as_raw(), &policy(), b"c").unwrap();
        assert_eq!(
            check(&other_rp, &a, b"c"),
            Err(WebAuthnError::RpIdHashMismatch)
        );

        let mut other_origin = SoftAuthenticator::new(4, "localhost", "https://evil.example");
        let r = other_origin.assert(b"c");
        let a = AssertionWire::from_raw(&r.as_raw(), &policy(), b"c").unwrap();
        assert_eq!(
            check(&other_origin, &a, b"c"),
            Err(WebAuthnError::OriginNotAllowed(
                "https://evil.example".into()
            ))
        );

        let cases = [
            (flags::UV, WebAuthnError::UserNotPresent),
            (flags::UP, WebAuthnError::UserNotVerified),
            (
                flags::UP | flags::UV | flags::BE,
                WebAuthnError::BackupEligible,
            ),
            (
                flags::UP | flags::UV | flags::BE | flags::BS,
                WebAuthnError::BackupEligible,
            ),
            (
                flags::UP | flags::UV | flags::BS,
                WebAuthnError::BackupStateWithoutEligibility,
            ),
        ];
        for (f, want) in cases {
            let mut a = SoftAuthenticator::new(5, "localhost", "http://localhost:8080");
            a.flags = f;
            let r = a.assert(b"c");
            let w = AssertionWire::from_raw(&r.as_raw(), &policy(), b"c").unwrap();
            assert_eq!(check(&a, &w, b"c"), Err(want), "flags {f:#x}");
        }
    }

    /// The BE rule is the signer certificate's: refused unless the certificate says the
    /// key is a synced passkey. A synced certificate also accepts BE clear (the tolerance
    /// is not a requirement); BS without BE, UP and UV are checked whatever it says.
    #[test]
    fn backup_eligible_assertions_need_a_synced_certificate() {
        use flags::{BE, BS, UP, UV};
        let bound = policy();
        let synced = WebAuthnPolicy {
            synced: true,
            ..policy()
        };
        type Row = (bool, u8, Result<(), WebAuthnError>);
        let rows: [Row; 11] = [
            (false, UP | UV, Ok(())),
            (false, UP | UV | BE, Err(WebAuthnError::BackupEligible)),
            (false, UP | UV | BE | BS, Err(WebAuthnError::BackupEligible)),
            (
                false,
                UP | UV | BS,
                Err(WebAuthnError::BackupStateWithoutEligibility),
            ),
            (true, UP | UV | BE, Ok(())),
            (true, UP | UV | BE | BS, Ok(())),
            (true, UP | UV, Ok(())),
            (
                true,
                UP | UV | BS,
                Err(WebAuthnError::BackupStateWithoutEligibility),
            ),
            (true, UV | BE, Err(WebAuthnError::UserNotPresent)),
            (true, UP | BE, Err(WebAuthnError::UserNotVerified)),
            (true, UP | BE | BS, Err(WebAuthnError::UserNotVerified)),
        ];
        for (is_synced, f, want) in rows {
            let p = if is_synced { &synced } else { &bound };
            let mut a = SoftAuthenticator::new(11, "localhost", "http://localhost:8080");
            a.flags = f;
            let r = a.assert(b"c");
            let w = AssertionWire::from_raw(&r.as_raw(), p, b"c").unwrap();
            for prov in all_providers() {
                let compact = verify_assertion(prov, &a.public_key(), p, b"c", &w).map(|_| ());
                assert_eq!(compact, want, "synced {is_synced}, flags {f:#x}");
                let raw = verify_raw_assertion(prov, &a.public_key(), p, b"c", &r.as_raw());
                assert_eq!(
                    raw.map(|_| ()),
                    want,
                    "raw: synced {is_synced}, flags {f:#x}"
                );
            }
        }
    }

    #[test]
    fn wrong_type_and_cross_origin_refused() {
        let auth = SoftAuthenticator::new(6, "localhost", "http://localhost:8080");
        let json = format!(
            "{{\"type\":\"webauthn.create\",\"challenge\":\"{}\",\"origin\":\"http://localhost:8080\"}}",
            URL_SAFE_NO_PAD.encode(b"c")
        );
        let r = auth.sign_parts(json.as_bytes());
        let w = AssertionWire::from_raw(&r.as_raw(), &policy(), b"c").unwrap();
        assert!(matches!(
            check(&auth, &w, b"c"),
            Err(WebAuthnError::WrongType { .. })
        ));
        let json = format!(
            "{{\"type\":\"webauthn.get\",\"challenge\":\"{}\",\"origin\":\"http://localhost:8080\",\"crossOrigin\":true}}",
            URL_SAFE_NO_PAD.encode(b"c")
        );
        let r = auth.sign_parts(json.as_bytes());
        let w = AssertionWire::from_raw(&r.as_raw(), &policy(), b"c").unwrap();
        assert_eq!(check(&auth, &w, b"c"), Err(WebAuthnError::CrossOrigin));
        let r = auth.sign_parts(b"not json");
        let w = AssertionWire::from_raw(&r.as_raw(), &policy(), b"c").unwrap();
        assert!(matches!(
            check(&auth, &w, b"c"),
            Err(WebAuthnError::MalformedClientData(_))
        ));
    }

    #[test]
    fn template_origin_index_out_of_range() {
        let mut auth = SoftAuthenticator::new(7, "localhost", "http://localhost:8080");
        let r = auth.assert(b"c");
        let mut w = AssertionWire::from_raw(&r.as_raw(), &policy(), b"c").unwrap();
        w.client_data = ClientDataWire::Template {
            origin_index: 9,
            variant: TemplateVariant::CrossOriginFalse,
        };
        assert_eq!(check(&auth, &w, b"c"), Err(WebAuthnError::BadTemplate(9)));
    }

    #[test]
    fn sign_count_rule() {
        assert!(check_sign_count(0, 0).is_ok());
        assert!(check_sign_count(5, 6).is_ok());
        assert!(check_sign_count(0, 1).is_ok());
        assert!(check_sign_count(6, 6).is_err());
        assert!(check_sign_count(7, 0).is_err());
    }

    fn encoded(w: &AssertionWire) -> Vec<u8> {
        let mut e = Encoder::new();
        w.encode(&mut e);
        e.into_bytes()
    }

    #[test]
    fn wire_round_trip_and_savings() {
        let p = WebAuthnPolicy {
            rp_id: "wallet.example".into(),
            origins: vec!["https://wallet.example".into()],
            user_verification: true,
            synced: false,
        };
        let mut auth = SoftAuthenticator::new(8, "wallet.example", "https://wallet.example");
        let challenge = [9u8; 32];
        let raw = auth.assert(&challenge);
        let w = AssertionWire::from_raw(&raw.as_raw(), &p, &challenge).unwrap();
        let b = encoded(&w);
        let mut d = Decoder::new(&b);
        assert_eq!(AssertionWire::decode(&mut d).unwrap(), w);
        d.finish().unwrap();
        // The same assertion with every part sent raw.
        let raw_wire = AssertionWire {
            auth_data: AuthDataWire::Raw(raw.authenticator_data.clone()),
            client_data: ClientDataWire::Raw(raw.client_data_json.clone()),
            signature: w.signature,
        };
        let rb = encoded(&raw_wire);
        assert_eq!(
            AssertionWire::decode(&mut Decoder::new(&rb)).unwrap(),
            raw_wire
        );
        verify_assertion(
            &crate::P256Provider,
            &auth.public_key(),
            &p,
            &challenge,
            &raw_wire,
        )
        .unwrap();
        let browser =
            raw.authenticator_data.len() + raw.client_data_json.len() + raw.signature_der.len();
        println!(
            "webauthn assertion: browser parts {browser} bytes (authData {}, clientDataJSON {}, DER {}), raw CBOR {} bytes, compact {} bytes",
            raw.authenticator_data.len(),
            raw.client_data_json.len(),
            raw.signature_der.len(),
            rb.len(),
            b.len()
        );
        assert!(b.len() <= 80, "compact form is {} bytes", b.len());
        assert!(
            rb.len() >= b.len() + 160,
            "raw {} compact {}",
            rb.len(),
            b.len()
        );
    }

    #[test]
    fn wire_decoding_rejects_non_canonical_forms() {
        let mut auth = SoftAuthenticator::new(9, "localhost", "http://localhost:8080");
        let raw = auth.assert(b"c");
        let w = AssertionWire::from_raw(&raw.as_raw(), &policy(), b"c").unwrap();
        // Variant 0 written out explicitly.
        let mut e = Encoder::new();
        e.map(5)
            .uint(1)
            .uint(5)
            .uint(2)
            .uint(1)
            .uint(4)
            .uint(0)
            .uint(5)
            .uint(0);
        e.uint(7).bytes(&w.signature);
        assert!(AssertionWire::decode(&mut Decoder::new(&e.into_bytes())).is_err());
        // AT/ED in compact flags.
        let mut e = Encoder::new();
        e.map(4)
            .uint(1)
            .uint(u64::from(flags::UP | flags::ED))
            .uint(2)
            .uint(1)
            .uint(4)
            .uint(0);
        e.uint(7).bytes(&w.signature);
        assert!(AssertionWire::decode(&mut Decoder::new(&e.into_bytes())).is_err());
    }

    #[test]
    fn raw_authenticator_data_with_extensions_verifies() {
        let auth = SoftAuthenticator::new(10, "localhost", "http://localhost:8080");
        let cd = TemplateVariant::NoCrossOrigin.build(b"c", "http://localhost:8080");
        // authData with ED and a CBOR extension map {"x": 1}
        let mut ad = sha256(b"localhost").to_vec();
        ad.push(flags::UP | flags::UV | flags::ED);
        ad.extend_from_slice(&7u32.to_be_bytes());
        ad.extend_from_slice(&[0xa1, 0x61, b'x', 0x01]);
        let r = auth.sign_authenticator_data(&ad, &cd);
        let w = AssertionWire::from_raw(&r.as_raw(), &policy(), b"c").unwrap();
        assert!(matches!(w.auth_data, AuthDataWire::Raw(_)));
        assert!(matches!(
            w.client_data,
            ClientDataWire::Template {
                variant: TemplateVariant::NoCrossOrigin,
                ..
            }
        ));
        let info = check(&auth, &w, b"c").unwrap();
        assert_eq!(info.sign_count, 7);
        // The registration ceremony type is refused for assertions and accepted by
        // `verify_parts` with `Ceremony::Create` only when the JSON says so.
        let (a, c) = w.expand(&policy(), b"c").unwrap();
        assert!(matches!(
            verify_parts(
                &crate::P256Provider,
                &auth.public_key(),
                &policy(),
                Ceremony::Create,
                b"c",
                &a,
                &c,
                &w.signature
            ),
            Err(WebAuthnError::WrongType { .. })
        ));
    }

    #[test]
    fn authenticator_data_parse_rules() {
        assert!(AuthenticatorData::parse(&[0u8; 36]).is_err());
        let mut ad = vec![0u8; 38];
        ad[32] = flags::UP;
        assert!(
            AuthenticatorData::parse(&ad).is_err(),
            "trailing bytes without ED"
        );
        ad[32] = flags::UP | flags::ED;
        assert!(AuthenticatorData::parse(&ad).is_ok());
        assert!(
            AuthenticatorData::parse(&ad[..37]).is_err(),
            "ED without data"
        );
    }
}
