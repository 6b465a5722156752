//! WebAuthn registration verification (`navigator.credentials.create`) and login-assertion
//! checking with a stored sign count.
//!
//! [`verify_registration`] parses the CBOR `attestationObject` (`fmt`, `attStmt`,
//! `authData`), the authenticator data with its attested credential data and COSE EC2 P-256
//! key, checks `clientDataJSON` (type `webauthn.create`, challenge, origin), the RP ID hash,
//! the flags (UP; UV where the policy asks; BE refused when the policy wants device-bound
//! keys; BS without BE is malformed) and verifies the attestation statement of format
//! `none`, `packed` (self or x5c) or `fido-u2f`. Anything else is refused with a clear
//! error. The flag, client-data and RP-ID-hash checks are the building blocks of
//! [`crate::webauthn`] (the single assertion implementation), called with
//! [`Ceremony::Create`].
//!
//! Pure Rust, no I/O: it builds for `wasm32-unknown-unknown` and natively. Every length is
//! checked against the bytes that remain before it is used, and nothing panics on bad input.
//! The numbered checks are listed in `docs/WEBAUTHN.md`.

use minicbor::Decoder;
use minicbor::data::Type;
use p256::EncodedPoint;
use p256::ecdsa::VerifyingKey;
use thiserror::Error;
use x509_cert::Certificate;
use x509_cert::certificate::Version;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode as _, Tag, Tagged as _};
use x509_cert::ext::pkix::BasicConstraints;

use crate::der::{DerError, der_to_raw};
use crate::ids::{PublicKey, sha256, to_hex};
use crate::provider::{CryptoProvider, EcdsaError};
use crate::webauthn::{
    AssertionInfo, AuthenticatorData, Ceremony, RawAssertion, WebAuthnError, WebAuthnPolicy,
    check_client_data, check_flags, check_sign_count, flags, verify_raw_assertion,
};

/// Largest `attestationObject` accepted (checked before any parsing).
pub const MAX_ATTESTATION_OBJECT: usize = 16 * 1024;
/// Largest credential ID accepted (WebAuthn Level 3 §6.5.1: at most 1023 bytes).
pub const MAX_CREDENTIAL_ID: usize = 1023;
/// Most certificates accepted in an `x5c` chain.
pub const MAX_X5C: usize = 4;
/// Most entries accepted in any CBOR map of the attestation object.
const MAX_MAP_ENTRIES: u64 = 16;

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

/// What stands behind a registered credential's attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttestationTrust {
    /// No attestation (`none`): nothing is known about the authenticator.
    None,
    /// Self attestation (`packed` without x5c): proves possession of the credential key only.
    SelfAttestation,
    /// Certificate attestation (`packed` x5c or `fido-u2f`): the signature verifies under the
    /// leaf certificate. The chain (leaf first, DER) is recorded but not anchored to any
    /// root: this verifier holds no FIDO metadata (see `docs/WEBAUTHN.md`).
    Certificate {
        /// The `x5c` certificates, leaf first, DER.
        chain_der: Vec<Vec<u8>>,
    },
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
    /// Refuse backup-eligible (BE) credentials: keys that can be synced or copied.
    pub require_device_bound: bool,
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
            require_device_bound: true,
            allowed_formats: AttestationFormat::all(),
            allowed_aaguids: None,
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
    /// a policy without `require_device_bound` lets through).
    pub fn webauthn_policy_for(&self, credential: &RegisteredCredential) -> WebAuthnPolicy {
        WebAuthnPolicy {
            synced: credential.is_synced(),
            ..self.webauthn_policy()
        }
    }
}

/// A credential that passed registration: what the FI stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredCredential {
    /// The credential ID (what `allowCredentials` names at login).
    pub credential_id: Vec<u8>,
    /// The credential's P-256 public key (SEC1 compressed).
    pub public_key: PublicKey,
    /// The COSE_Key bytes exactly as the authenticator sent them.
    pub cose_key: Vec<u8>,
    /// The sign count at registration (store it; later assertions must exceed it).
    pub sign_count: u32,
    /// The authenticator model's AAGUID (all zero for U2F and many `none` registrations).
    pub aaguid: [u8; 16],
    /// The attestation format.
    pub format: AttestationFormat,
    /// The authenticator data flags.
    pub flags: u8,
    /// What stands behind the attestation.
    pub attestation: AttestationTrust,
}

impl RegisteredCredential {
    /// Whether the credential is a synced passkey: backup eligible (BE set), so the key
    /// may be copied to the user's other devices. Device-bound keys (security keys,
    /// platform authenticators that do not sync) have BE clear.
    pub fn is_synced(&self) -> bool {
        self.flags & flags::BE != 0
    }
}

/// Why a registration was refused. Each variant is one failed check.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// The attestation object exceeds [`MAX_ATTESTATION_OBJECT`].
    #[error(
        "attestationObject is {len} bytes, more than the {max} accepted: send the browser's attestationObject unmodified"
    )]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The attestation object is not the expected CBOR map.
    #[error(
        "attestationObject is malformed ({0}): send the browser's response.attestationObject bytes unmodified"
    )]
    MalformedAttestationObject(&'static str),
    /// A check shared with assertions failed: RP ID hash, flags, or `clientDataJSON`.
    #[error("{0}")]
    Ceremony(#[from] WebAuthnError),
    /// The AT flag is clear: no credential in the authenticator data.
    #[error(
        "authenticator data carries no attested credential data (AT flag clear): this is not a registration response"
    )]
    NoAttestedCredentialData,
    /// The attested credential data is cut short or inconsistent.
    #[error("attested credential data is malformed: {0}")]
    MalformedCredentialData(&'static str),
    /// The credential ID is longer than [`MAX_CREDENTIAL_ID`].
    #[error("credential ID is {0} bytes, more than the 1023 WebAuthn allows")]
    CredentialIdTooLong(usize),
    /// The COSE key is not well-formed.
    #[error("credential public key (COSE_Key) is malformed: {0}")]
    MalformedCoseKey(&'static str),
    /// The COSE key is well-formed but not EC2 / P-256 / ES256.
    #[error(
        "credential key is not ES256 on P-256 ({0}): request pubKeyCredParams [{{type: \"public-key\", alg: -7}}]"
    )]
    UnsupportedKey(&'static str),
    /// The coordinates are not a point on P-256.
    #[error("credential public key is not a valid P-256 point")]
    InvalidPublicKey,
    /// Bytes follow the COSE key without the ED flag, or follow the extensions.
    #[error("authenticator data has {0} trailing bytes after the credential data")]
    TrailingBytes(usize),
    /// `fmt` names a format this verifier does not implement.
    #[error(
        "attestation format {0:?} is not supported (supported: none, packed, fido-u2f): create the credential with attestation \"none\" or \"direct\""
    )]
    UnsupportedFormat(String),
    /// `fmt` is implemented but the policy does not accept it.
    #[error("attestation format {0:?} is not allowed by this institution's policy")]
    FormatNotAllowed(&'static str),
    /// The AAGUID is not among the policy's allowed models.
    #[error("authenticator model (AAGUID {0}) is not on this institution's allowed list")]
    AaguidNotAllowed(String),
    /// `none` with a non-empty statement.
    #[error("attestation format \"none\" must have an empty attStmt")]
    NoneStatementNotEmpty,
    /// The attestation statement lacks a member or has a wrong type.
    #[error("attestation statement is malformed: {0}")]
    MalformedAttestationStatement(&'static str),
    /// `packed` `alg` is not ES256 (-7), or does not match the credential key.
    #[error("attestation statement algorithm {0} is not ES256 (-7)")]
    AlgorithmNotEs256(i64),
    /// The attestation signature is not strict DER.
    #[error("attestation signature: {0}")]
    AttestationSignatureEncoding(DerError),
    /// The attestation signature does not verify.
    #[error("attestation signature does not verify: {0}")]
    AttestationSignature(EcdsaError),
    /// The attestation certificate does not meet the format's requirements.
    #[error("attestation certificate refused: {0}")]
    Certificate(&'static str),
    /// The certificate's id-fido-gen-ce-aaguid extension differs from the AAGUID.
    #[error("attestation certificate names AAGUID {cert}, authenticator data says {auth_data}")]
    CertificateAaguidMismatch {
        /// In the certificate.
        cert: String,
        /// In the authenticator data.
        auth_data: String,
    },
    /// `fido-u2f` with a non-zero AAGUID.
    #[error("fido-u2f attestation with a non-zero AAGUID")]
    U2fAaguidNotZero,
}

/// The parsed top level of an attestation object, borrowing from its bytes.
struct AttestationObject<'a> {
    fmt: &'a str,
    /// The `attStmt` map, as CBOR bytes.
    att_stmt: &'a [u8],
    auth_data: &'a [u8],
}

fn malformed(_: minicbor::decode::Error) -> RegistrationError {
    RegistrationError::MalformedAttestationObject("not the CBOR map {fmt, attStmt, authData}")
}

/// Reads a definite-length map header with at most [`MAX_MAP_ENTRIES`] entries.
fn definite_map(d: &mut Decoder<'_>, what: &'static str) -> Result<u64, &'static str> {
    match d.map() {
        Ok(Some(n)) if n <= MAX_MAP_ENTRIES => Ok(n),
        Ok(Some(_)) => Err("map with too many entries"),
        Ok(None) => Err("indefinite-length map"),
        Err(_) => Err(what),
    }
}

fn parse_attestation_object(bytes: &[u8]) -> Result<AttestationObject<'_>, RegistrationError> {
    let bad = RegistrationError::MalformedAttestationObject;
    let mut d = Decoder::new(bytes);
    let n = definite_map(&mut d, "not a CBOR map").map_err(bad)?;
    let (mut fmt, mut att_stmt, mut auth_data) = (None, None, None);
    for _ in 0..n {
        let key = d.str().map_err(|_| bad("map key is not a text string"))?;
        match key {
            "fmt" if fmt.is_none() => fmt = Some(d.str().map_err(malformed)?),
            "attStmt" if att_stmt.is_none() => {
                if d.datatype().map_err(malformed)? != Type::Map {
                    return Err(bad("attStmt is not a definite-length map"));
                }
                let start = d.position();
                d.skip().map_err(malformed)?;
                att_stmt = bytes.get(start..d.position());
            }
            "authData" if auth_data.is_none() => auth_data = Some(d.bytes().map_err(malformed)?),
            "fmt" | "attStmt" | "authData" => return Err(bad("duplicate member")),
            _ => return Err(bad("unknown member")),
        }
    }
    if d.position() != bytes.len() {
        return Err(bad("trailing bytes after the map"));
    }
    Ok(AttestationObject {
        fmt: fmt.ok_or(bad("fmt missing"))?,
        att_stmt: att_stmt.ok_or(bad("attStmt missing"))?,
        auth_data: auth_data.ok_or(bad("authData missing"))?,
    })
}

/// A parsed COSE EC2 P-256 ES256 key.
struct CoseKey {
    public_key: PublicKey,
    x: [u8; 32],
    y: [u8; 32],
}

/// Parses a COSE_Key at the start of `d`'s remaining input; `d` ends just after it.
fn parse_cose_key(d: &mut Decoder<'_>) -> Result<CoseKey, RegistrationError> {
    let bad = RegistrationError::MalformedCoseKey;
    let n = definite_map(d, "not a CBOR map").map_err(bad)?;
    let (mut kty, mut alg, mut crv, mut x, mut y) = (None, None, None, None, None);
    let mut seen: Vec<i64> = Vec::new();
    for _ in 0..n {
        let label = d.i64().map_err(|_| bad("label is not an integer"))?;
        if seen.contains(&label) {
            return Err(bad("duplicate label"));
        }
        seen.push(label);
        match label {
            1 => kty = Some(d.i64().map_err(|_| bad("kty is not an integer"))?),
            3 => alg = Some(d.i64().map_err(|_| bad("alg is not an integer"))?),
            -1 => crv = Some(d.i64().map_err(|_| bad("crv is not an integer"))?),
            -2 => x = Some(d.bytes().map_err(|_| bad("x is not a byte string"))?),
            -3 => y = Some(d.bytes().map_err(|_| bad("y is not a byte string"))?),
            _ => d.skip().map_err(|_| bad("truncated"))?,
        }
    }
    if kty != Some(2) {
        return Err(RegistrationError::UnsupportedKey("kty is not EC2 (2)"));
    }
    if alg != Some(-7) {
        return Err(RegistrationError::UnsupportedKey("alg is not ES256 (-7)"));
    }
    if crv != Some(1) {
        return Err(RegistrationError::UnsupportedKey("crv is not P-256 (1)"));
    }
    let x: [u8; 32] = x
        .ok_or(bad("x missing"))?
        .try_into()
        .map_err(|_| bad("x is not 32 bytes"))?;
    let y: [u8; 32] = y
        .ok_or(bad("y missing"))?
        .try_into()
        .map_err(|_| bad("y is not 32 bytes"))?;
    let public_key = sec1_to_public_key(&EncodedPoint::from_affine_coordinates(
        &x.into(),
        &y.into(),
        false,
    ))?;
    Ok(CoseKey { public_key, x, y })
}

/// Validates an uncompressed SEC1 point and returns its compressed form.
fn sec1_to_public_key(point: &EncodedPoint) -> Result<PublicKey, RegistrationError> {
    let vk =
        VerifyingKey::from_encoded_point(point).map_err(|_| RegistrationError::InvalidPublicKey)?;
    let c = vk.to_encoded_point(true);
    let a: [u8; 33] = c
        .as_bytes()
        .try_into()
        .map_err(|_| RegistrationError::InvalidPublicKey)?;
    Ok(PublicKey(a))
}

/// The credential public key of a COSE_Key (EC2, P-256, ES256), with no bytes after it.
/// Used to verify assertions for a credential stored as its COSE key.
pub fn public_key_from_cose(cose_key: &[u8]) -> Result<PublicKey, RegistrationError> {
    let mut d = Decoder::new(cose_key);
    let k = parse_cose_key(&mut d)?;
    if d.position() != cose_key.len() {
        return Err(RegistrationError::MalformedCoseKey(
            "trailing bytes after the key",
        ));
    }
    Ok(k.public_key)
}

/// Attested credential data split out of the authenticator data.
struct AttestedCredential<'a> {
    aaguid: [u8; 16],
    credential_id: &'a [u8],
    cose_key_bytes: &'a [u8],
    key: CoseKey,
}

/// Parses `rest` (after the 37-byte header): aaguid, credential ID, COSE key, extensions.
fn parse_attested_credential(
    rest: &[u8],
    flag_bits: u8,
) -> Result<AttestedCredential<'_>, RegistrationError> {
    let bad = RegistrationError::MalformedCredentialData;
    if flag_bits & flags::AT == 0 {
        return Err(RegistrationError::NoAttestedCredentialData);
    }
    let (aaguid, rest) = rest
        .split_first_chunk::<16>()
        .ok_or(bad("shorter than the AAGUID"))?;
    let (len, rest) = rest
        .split_first_chunk::<2>()
        .ok_or(bad("shorter than the credential ID length"))?;
    let len = usize::from(u16::from_be_bytes(*len));
    if len > MAX_CREDENTIAL_ID {
        return Err(RegistrationError::CredentialIdTooLong(len));
    }
    if len == 0 {
        return Err(bad("empty credential ID"));
    }
    if rest.len() < len {
        return Err(bad("credential ID longer than the data"));
    }
    let (credential_id, rest) = rest.split_at(len);
    if rest.is_empty() {
        return Err(bad("credential public key missing"));
    }
    let mut d = Decoder::new(rest);
    let key = parse_cose_key(&mut d)?;
    let key_end = d.position();
    let cose_key_bytes = rest.get(..key_end).ok_or(bad("COSE key out of range"))?;
    if flag_bits & flags::ED != 0 {
        if key_end == rest.len() {
            return Err(bad("ED flag set but no extensions follow"));
        }
        if d.datatype().map_err(|_| bad("extensions truncated"))? != Type::Map {
            return Err(bad("extensions are not a CBOR map"));
        }
        d.skip().map_err(|_| bad("extensions truncated"))?;
    }
    if d.position() != rest.len() {
        return Err(RegistrationError::TrailingBytes(rest.len() - d.position()));
    }
    Ok(AttestedCredential {
        aaguid: *aaguid,
        credential_id,
        cose_key_bytes,
        key,
    })
}

/// The members of an attestation statement this verifier reads.
#[derive(Default)]
struct AttStmt<'a> {
    entries: u64,
    alg: Option<i64>,
    sig: Option<&'a [u8]>,
    x5c: Option<Vec<&'a [u8]>>,
}

fn parse_att_stmt(bytes: &[u8]) -> Result<AttStmt<'_>, RegistrationError> {
    let bad = RegistrationError::MalformedAttestationStatement;
    let mut d = Decoder::new(bytes);
    let n = definite_map(&mut d, "not a CBOR map").map_err(bad)?;
    let mut s = AttStmt {
        entries: n,
        ..AttStmt::default()
    };
    for _ in 0..n {
        match d.str().map_err(|_| bad("key is not a text string"))? {
            "alg" if s.alg.is_none() => {
                s.alg = Some(d.i64().map_err(|_| bad("alg is not an integer"))?);
            }
            "sig" if s.sig.is_none() => {
                s.sig = Some(d.bytes().map_err(|_| bad("sig is not a byte string"))?);
            }
            "x5c" if s.x5c.is_none() => {
                let count = match d.array() {
                    Ok(Some(c)) if c >= 1 && c <= MAX_X5C as u64 => c,
                    _ => return Err(bad("x5c is not an array of 1 to 4 certificates")),
                };
                let mut certs = Vec::new();
                for _ in 0..count {
                    certs.push(
                        d.bytes()
                            .map_err(|_| bad("x5c entry is not a byte string"))?,
                    );
                }
                s.x5c = Some(certs);
            }
            "alg" | "sig" | "x5c" => return Err(bad("duplicate member")),
            _ => return Err(bad("unknown member (ECDAA and others are not supported)")),
        }
    }
    Ok(s)
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

/// OID 2.5.4.6 countryName.
const OID_C: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
/// OID 2.5.4.10 organizationName.
const OID_O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
/// OID 2.5.4.11 organizationalUnitName.
const OID_OU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
/// OID 2.5.4.3 commonName.
const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// OID 2.5.29.19 basicConstraints.
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
/// OID 1.3.6.1.4.1.45724.1.1.4 id-fido-gen-ce-aaguid.
const OID_FIDO_AAGUID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.45724.1.1.4");
/// OID 1.2.840.10045.2.1 id-ecPublicKey.
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// OID 1.2.840.10045.3.1.7 prime256v1.
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// The P-256 public key of a certificate's subject.
fn certificate_key(cert: &Certificate) -> Result<PublicKey, RegistrationError> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if spki.algorithm.oid != OID_EC_PUBLIC_KEY || curve != Some(OID_P256) {
        return Err(RegistrationError::Certificate(
            "subject key is not an EC P-256 key",
        ));
    }
    let point = spki
        .subject_public_key
        .as_bytes()
        .ok_or(RegistrationError::Certificate("subject key bit string"))?;
    let point = EncodedPoint::from_bytes(point)
        .map_err(|_| RegistrationError::Certificate("subject key is not a SEC1 point"))?;
    sec1_to_public_key(&point)
        .map_err(|_| RegistrationError::Certificate("subject key is not a valid P-256 point"))
}

/// Checks the `packed` attestation certificate requirements of WebAuthn §8.2.1.
fn check_packed_certificate(
    cert: &Certificate,
    aaguid: &[u8; 16],
) -> Result<(), RegistrationError> {
    let tbs = &cert.tbs_certificate;
    if tbs.version != Version::V3 {
        return Err(RegistrationError::Certificate("version is not 3"));
    }
    let attr = |oid: ObjectIdentifier| {
        tbs.subject
            .0
            .iter()
            .flat_map(|rdn| rdn.0.iter())
            .find(|atv| atv.oid == oid)
    };
    for (oid, what) in [
        (OID_C, "subject has no C (country)"),
        (OID_O, "subject has no O (organization)"),
        (OID_CN, "subject has no CN (common name)"),
    ] {
        if attr(oid).is_none() {
            return Err(RegistrationError::Certificate(what));
        }
    }
    let ou_ok = attr(OID_OU).is_some_and(|atv| {
        matches!(
            atv.value.tag(),
            Tag::Utf8String | Tag::PrintableString | Tag::Ia5String
        ) && atv.value.value() == b"Authenticator Attestation"
    });
    if !ou_ok {
        return Err(RegistrationError::Certificate(
            "subject OU is not \"Authenticator Attestation\"",
        ));
    }
    for ext in tbs.extensions.iter().flatten() {
        if ext.extn_id == OID_BASIC_CONSTRAINTS {
            let bc = BasicConstraints::from_der(ext.extn_value.as_bytes())
                .map_err(|_| RegistrationError::Certificate("basic constraints malformed"))?;
            if bc.ca {
                return Err(RegistrationError::Certificate(
                    "basic constraints say CA: an attestation certificate must not be a CA",
                ));
            }
        } else if ext.extn_id == OID_FIDO_AAGUID {
            if ext.critical {
                return Err(RegistrationError::Certificate(
                    "id-fido-gen-ce-aaguid extension is marked critical",
                ));
            }
            let inner = x509_cert::der::asn1::OctetString::from_der(ext.extn_value.as_bytes())
                .map_err(|_| RegistrationError::Certificate("AAGUID extension malformed"))?;
            if inner.as_bytes() != aaguid {
                return Err(RegistrationError::CertificateAaguidMismatch {
                    cert: to_hex(inner.as_bytes()),
                    auth_data: to_hex(aaguid),
                });
            }
        }
    }
    Ok(())
}

fn parse_chain(x5c: &[&[u8]]) -> Result<(Certificate, Vec<Vec<u8>>), RegistrationError> {
    let leaf_der = x5c
        .first()
        .ok_or(RegistrationError::MalformedAttestationStatement(
            "x5c empty",
        ))?;
    let leaf = Certificate::from_der(leaf_der)
        .map_err(|_| RegistrationError::Certificate("leaf certificate is not valid DER X.509"))?;
    Ok((leaf, x5c.iter().map(|c| c.to_vec()).collect()))
}

/// Verifies a registration ceremony's response under `policy`.
///
/// `challenge` is the challenge the FI issued; `client_data_json` and `attestation_object`
/// are `response.clientDataJSON` and `response.attestationObject` exactly as the browser
/// returned them. On success the returned credential is what the FI stores.
pub fn verify_registration(
    provider: &dyn CryptoProvider,
    policy: &RegistrationPolicy,
    challenge: &[u8],
    client_data_json: &[u8],
    attestation_object: &[u8],
) -> Result<RegisteredCredential, RegistrationError> {
    // 1. Size, then the CBOR structure.
    if attestation_object.len() > MAX_ATTESTATION_OBJECT {
        return Err(RegistrationError::TooLarge {
            len: attestation_object.len(),
            max: MAX_ATTESTATION_OBJECT,
        });
    }
    let obj = parse_attestation_object(attestation_object)?;
    // 2. The format: implemented, then allowed.
    let format = AttestationFormat::from_name(obj.fmt)
        .ok_or_else(|| RegistrationError::UnsupportedFormat(obj.fmt.to_string()))?;
    if !policy.allowed_formats.contains(&format) {
        return Err(RegistrationError::FormatNotAllowed(format.name()));
    }
    // 3. Authenticator data and the attested credential.
    let ad = AuthenticatorData::parse(obj.auth_data)?;
    let cred = parse_attested_credential(ad.rest, ad.flags)?;
    // 4. RP ID hash, flags, clientDataJSON.
    if ad.rp_id_hash != sha256(policy.rp_id.as_bytes()) {
        return Err(WebAuthnError::RpIdHashMismatch.into());
    }
    check_flags(
        ad.flags,
        policy.require_user_verification,
        !policy.require_device_bound,
    )?;
    check_client_data(
        client_data_json,
        Ceremony::Create,
        challenge,
        &policy.origins,
    )?;
    // 5. Authenticator model.
    if let Some(allowed) = &policy.allowed_aaguids
        && !allowed.contains(&cred.aaguid)
    {
        return Err(RegistrationError::AaguidNotAllowed(to_hex(&cred.aaguid)));
    }
    // 6. The attestation statement.
    let stmt = parse_att_stmt(obj.att_stmt)?;
    let client_data_hash = sha256(client_data_json);
    let attestation = match format {
        AttestationFormat::None => {
            if stmt.entries != 0 {
                return Err(RegistrationError::NoneStatementNotEmpty);
            }
            AttestationTrust::None
        }
        AttestationFormat::Packed => {
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
            let mut signed = obj.auth_data.to_vec();
            signed.extend_from_slice(&client_data_hash);
            match &stmt.x5c {
                None => {
                    verify_der(provider, &cred.key.public_key, &signed, sig)?;
                    AttestationTrust::SelfAttestation
                }
                Some(x5c) => {
                    let (leaf, chain_der) = parse_chain(x5c)?;
                    check_packed_certificate(&leaf, &cred.aaguid)?;
                    verify_der(provider, &certificate_key(&leaf)?, &signed, sig)?;
                    AttestationTrust::Certificate { chain_der }
                }
            }
        }
        AttestationFormat::FidoU2f => {
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
            if cred.aaguid != [0u8; 16] {
                return Err(RegistrationError::U2fAaguidNotZero);
            }
            let (leaf, chain_der) = parse_chain(x5c)?;
            let mut data = Vec::with_capacity(1 + 32 + 32 + cred.credential_id.len() + 65);
            data.push(0x00);
            data.extend_from_slice(&ad.rp_id_hash);
            data.extend_from_slice(&client_data_hash);
            data.extend_from_slice(cred.credential_id);
            data.push(0x04);
            data.extend_from_slice(&cred.key.x);
            data.extend_from_slice(&cred.key.y);
            verify_der(provider, &certificate_key(&leaf)?, &data, sig)?;
            AttestationTrust::Certificate { chain_der }
        }
    };
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

/// Verifies a login assertion (raw browser form) for a registered credential, then the sign
/// count against `stored_sign_count` when one is known: a count not greater than the stored
/// one (unless both are zero) is refused as a cloning signal.
///
/// This is the protocol core's [`verify_raw_assertion`] (the single assertion check) with
/// the policy's assertion policy, marked `synced` when the policy does not require
/// device-bound keys: with `policy.require_device_bound` BE is refused, as for a
/// device-bound certificate; without it backup-eligible credentials are tolerated, as for a
/// certificate that says `synced`. BS without BE is malformed either way.
pub fn verify_login_assertion(
    provider: &dyn CryptoProvider,
    key: &PublicKey,
    policy: &RegistrationPolicy,
    challenge: &[u8],
    raw: &RawAssertion<'_>,
    stored_sign_count: Option<u32>,
) -> Result<AssertionInfo, WebAuthnError> {
    let wp = WebAuthnPolicy {
        synced: !policy.require_device_bound,
        ..policy.webauthn_policy()
    };
    let info = verify_raw_assertion(provider, key, &wp, challenge, raw)?;
    if let Some(stored) = stored_sign_count {
        check_sign_count(stored, info.sign_count)?;
    }
    Ok(info)
}

#[cfg(test)]
#[path = "registration_tests.rs"]
mod tests;
