//! Tests of registration verification: the W3C WebAuthn Level 3 test vectors
//! (`docs/vectors/webauthn/w3c-es256.json`), negative cases made by editing those vectors
//! and re-signing them with the specification's own private keys, and a no-panic property.

use super::attestation_object::parse_attestation_object;
use super::attested_credential::parse_attested_credential;
use super::certificate::{
    OID_BASIC_CONSTRAINTS, OID_FIDO_AAGUID, OID_OU, certificate_key, check_packed_certificate,
};
use super::*;
use crate::PublicKey;
use crate::der::raw_to_der;
use crate::ids::from_hex;
use crate::ids::sha256;
use crate::provider::{CryptoProvider, EcdsaError, all_providers};
use crate::webauthn::{
    AssertionInfo, AssertionParts, Expected, RawAssertion, SyncedKeys, WebAuthnError,
    WebAuthnPolicy, flags, verify_assertion,
};
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer as _;
use proptest::prelude::*;
use serde_json::Value;
use x509_cert::Certificate;
use x509_cert::certificate::Version;
use x509_cert::der::{Decode as _, Tag};
use x509_cert::ext::pkix::BasicConstraints;

const VECTORS: &str = include_str!("../../../../docs/vectors/webauthn/w3c-es256.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn vector(name: &str) -> Value {
    vectors()["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name}"))
        .clone()
}

fn hex(v: &Value) -> Vec<u8> {
    from_hex(v.as_str().unwrap()).unwrap()
}

/// The spec's RP, lenient on UV and BE so that its (backup-eligible) vectors can pass.
fn spec_policy() -> RegistrationPolicy {
    RegistrationPolicy {
        rp_id: "example.org".into(),
        origins: vec!["https://example.org".into()],
        require_user_verification: false,
        synced_keys: SyncedKeys::Accepted,
        allowed_formats: AttestationFormat::all(),
        allowed_aaguids: None,
    }
}

/// Runs `verify_registration` with every provider and checks they agree.
fn register(
    policy: &RegistrationPolicy,
    challenge: &[u8],
    cdj: &[u8],
    att: &[u8],
) -> Result<RegisteredCredential, RegistrationError> {
    let mut last = None;
    for p in all_providers() {
        let r = verify_registration(p, policy, challenge, cdj, att);
        if let Some(prev) = &last {
            assert_eq!(prev, &r, "providers disagree ({})", p.name());
        }
        last = Some(r);
    }
    last.unwrap()
}

/// A registration taken apart so it can be edited.
#[derive(Clone)]
struct Reg {
    challenge: Vec<u8>,
    cdj: Vec<u8>,
    fmt: String,
    att_stmt: Vec<u8>,
    auth_data: Vec<u8>,
}

impl Reg {
    fn of(name: &str) -> Self {
        let v = vector(name);
        let att = hex(&v["registration"]["attestation_object"]);
        let o = parse_attestation_object(&att).unwrap();
        Reg {
            challenge: hex(&v["registration"]["challenge"]),
            cdj: hex(&v["registration"]["client_data_json"]),
            fmt: o.fmt.to_string(),
            att_stmt: o.att_stmt.to_vec(),
            auth_data: o.auth_data.to_vec(),
        }
    }

    fn object(&self) -> Vec<u8> {
        let mut e = minicbor::Encoder::new(Vec::new());
        e.map(3)
            .unwrap()
            .str("fmt")
            .unwrap()
            .str(&self.fmt)
            .unwrap();
        e.str("attStmt").unwrap();
        e.writer_mut().extend_from_slice(&self.att_stmt);
        e.str("authData").unwrap().bytes(&self.auth_data).unwrap();
        e.into_writer()
    }

    fn verify(
        &self,
        policy: &RegistrationPolicy,
    ) -> Result<RegisteredCredential, RegistrationError> {
        register(policy, &self.challenge, &self.cdj, &self.object())
    }

    /// Re-signs as `packed` with `key` (self attestation when `x5c` is empty).
    fn resign_packed(&mut self, key: &SigningKey, alg: i64, x5c: &[Vec<u8>], high_s: bool) {
        let mut msg = self.auth_data.clone();
        msg.extend_from_slice(&sha256(&self.cdj));
        let sig = sign_der(key, &msg, high_s);
        let mut e = minicbor::Encoder::new(Vec::new());
        e.map(if x5c.is_empty() { 2 } else { 3 }).unwrap();
        e.str("alg").unwrap().i64(alg).unwrap();
        e.str("sig").unwrap().bytes(&sig).unwrap();
        if !x5c.is_empty() {
            e.str("x5c").unwrap().array(x5c.len() as u64).unwrap();
            for c in x5c {
                e.bytes(c).unwrap();
            }
        }
        self.fmt = "packed".into();
        self.att_stmt = e.into_writer();
    }

    fn set_flags(&mut self, f: u8) {
        self.auth_data[32] = f;
    }

    fn set_origin(&mut self, origin: &str) {
        let mut v: Value = serde_json::from_slice(&self.cdj).unwrap();
        v["origin"] = origin.into();
        self.cdj = serde_json::to_vec(&v).unwrap();
    }
}

fn signing_key(v: &Value, field: &str) -> SigningKey {
    SigningKey::from_slice(&hex(&v[field])).unwrap()
}

fn sign_der(key: &SigningKey, msg: &[u8], high_s: bool) -> Vec<u8> {
    let sig: p256::ecdsa::Signature = key.sign(msg);
    let sig = sig.normalize_s().unwrap_or(sig);
    let sig = if high_s {
        let (r, s) = sig.split_scalars();
        p256::ecdsa::Signature::from_scalars(r, -*s).unwrap()
    } else {
        sig
    };
    let mut raw = [0u8; 64];
    raw.copy_from_slice(&sig.to_bytes());
    raw_to_der(&raw)
}

fn public_key_of(key: &SigningKey) -> PublicKey {
    PublicKey(
        key.verifying_key()
            .to_encoded_point(true)
            .as_bytes()
            .try_into()
            .unwrap(),
    )
}

fn packed_self() -> (Reg, SigningKey) {
    let v = vector("packed-self.ES256");
    (
        Reg::of("packed-self.ES256"),
        signing_key(&v, "credential_private_key"),
    )
}

fn ceremony(e: WebAuthnError) -> Result<RegisteredCredential, RegistrationError> {
    Err(RegistrationError::Ceremony(e))
}

// ---------------------------------------------------------------- W3C vectors as given

#[test]
fn w3c_registrations_pass_or_fail_as_expected() {
    let all = vectors();
    for v in all["vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let r = &v["registration"];
        let got = register(
            &spec_policy(),
            &hex(&r["challenge"]),
            &hex(&r["client_data_json"]),
            &hex(&r["attestation_object"]),
        );
        if v["expect"] == "pass" {
            let c = got.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(c.credential_id, hex(&v["credential_id"]), "{name}");
            assert_eq!(c.aaguid.to_vec(), hex(&v["aaguid"]), "{name}");
            assert_eq!(c.format.name(), v["format"], "{name}");
            assert_eq!(c.sign_count, 0);
            assert_eq!(
                c.public_key,
                public_key_of(&signing_key(v, "credential_private_key")),
                "{name}"
            );
            assert_eq!(public_key_from_cose(&c.cose_key).unwrap(), c.public_key);
        } else {
            assert_eq!(got, ceremony(WebAuthnError::CrossOrigin), "{name}");
        }
    }
}

#[test]
fn w3c_attestation_types() {
    let p = spec_policy();
    let none = Reg::of("none.ES256").verify(&p).unwrap();
    assert_eq!(none.attestation, AttestationTrust::None);
    let selfa = Reg::of("packed-self.ES256").verify(&p).unwrap();
    assert_eq!(selfa.attestation, AttestationTrust::SelfAttestation);
    let full = Reg::of("packed.ES256").verify(&p).unwrap();
    match full.attestation {
        AttestationTrust::Certificate { chain_der } => {
            assert_eq!(chain_der.len(), 1);
            let leaf = Certificate::from_der(&chain_der[0]).unwrap();
            // The leaf's key is the spec's attestation key.
            let v = vector("packed.ES256");
            assert_eq!(
                certificate_key(&leaf).unwrap(),
                public_key_of(&signing_key(&v, "attestation_private_key"))
            );
        }
        other => panic!("expected certificate attestation, got {other:?}"),
    }
}

#[test]
fn w3c_backup_eligible_vectors_refused_when_device_bound() {
    // Every W3C registration that does not fail for crossOrigin has BE set.
    let p = RegistrationPolicy {
        synced_keys: SyncedKeys::Refused,
        ..spec_policy()
    };
    for name in [
        "none.ES256",
        "packed-self.ES256",
        "none.ES256.long-credential-id",
        "packed.ES256",
    ] {
        let reg = Reg::of(name);
        assert_ne!(reg.auth_data[32] & flags::BE, 0, "{name}");
        assert_eq!(
            reg.verify(&p),
            ceremony(WebAuthnError::BackupEligible),
            "{name}"
        );
    }
}

#[test]
fn w3c_user_verification_follows_the_vectors_flags() {
    let p = RegistrationPolicy {
        require_user_verification: true,
        ..spec_policy()
    };
    // none.ES256 was made without UV, packed-self.ES256 and packed.ES256 with it.
    assert_eq!(
        Reg::of("none.ES256").verify(&p),
        ceremony(WebAuthnError::UserNotVerified)
    );
    Reg::of("packed-self.ES256").verify(&p).unwrap();
    Reg::of("packed.ES256").verify(&p).unwrap();
}

/// A login: the one assertion check under the policy's login policy, with the stored
/// sign count.
fn verify_login(
    provider: &dyn CryptoProvider,
    key: &PublicKey,
    policy: &RegistrationPolicy,
    challenge: &[u8],
    raw: &RawAssertion<'_>,
    stored: Option<u32>,
) -> Result<AssertionInfo, WebAuthnError> {
    let login_policy = policy.login_policy();
    let expected = Expected::new(&login_policy, challenge).with_stored_sign_count(stored);
    verify_assertion(provider, key, &expected, &AssertionParts::from_raw(raw)?)
}

/// The protocol core's check of a browser assertion under a certificate policy, no stored
/// count (as an offline payee runs it).
fn verify_raw_assertion(
    provider: &dyn CryptoProvider,
    key: &PublicKey,
    policy: &WebAuthnPolicy,
    challenge: &[u8],
    raw: &RawAssertion<'_>,
) -> Result<AssertionInfo, WebAuthnError> {
    let parts = AssertionParts::from_raw(raw)?;
    verify_assertion(provider, key, &Expected::new(policy, challenge), &parts)
}

fn login(
    v: &Value,
    policy: &RegistrationPolicy,
    auth_data: &[u8],
    cdj: &[u8],
    sig: &[u8],
    challenge: &[u8],
    stored: Option<u32>,
) -> Result<AssertionInfo, WebAuthnError> {
    let key = public_key_of(&signing_key(v, "credential_private_key"));
    let raw = RawAssertion {
        authenticator_data: auth_data,
        client_data_json: cdj,
        signature_der: sig,
    };
    let mut last = None;
    for p in all_providers() {
        let r = verify_login(p, &key, policy, challenge, &raw, stored);
        if let Some(prev) = &last {
            assert_eq!(prev, &r, "providers disagree");
        }
        last = Some(r);
    }
    last.unwrap()
}

fn w3c_login(
    v: &Value,
    policy: &RegistrationPolicy,
    stored: Option<u32>,
) -> Result<AssertionInfo, WebAuthnError> {
    let a = &v["authentication"];
    login(
        v,
        policy,
        &hex(&a["authenticator_data"]),
        &hex(&a["client_data_json"]),
        &hex(&a["signature"]),
        &hex(&a["challenge"]),
        stored,
    )
}

#[test]
fn w3c_authentications_pass_or_fail_as_expected() {
    let all = vectors();
    for v in all["vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let got = w3c_login(v, &spec_policy(), None);
        if v["expect"] == "pass" {
            let info = got.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(info.sign_count, 0);
            // Both counts zero: an authenticator without a counter is not a clone signal.
            w3c_login(v, &spec_policy(), Some(0)).unwrap();
            assert_eq!(
                w3c_login(v, &spec_policy(), Some(3)),
                Err(WebAuthnError::SignCountNotIncreasing { stored: 3, new: 0 })
            );
        } else {
            assert_eq!(got, Err(WebAuthnError::CrossOrigin), "{name}");
        }
    }
}

#[test]
fn w3c_authentications_through_the_protocol_core_refuse_backup_eligible_keys() {
    // The protocol core's single assertion verifier refuses BE outright; all W3C
    // authentication vectors carry BE, so they are refused there as synced keys.
    let all = vectors();
    for v in all["vectors"].as_array().unwrap() {
        let a = &v["authentication"];
        let key = public_key_of(&signing_key(v, "credential_private_key"));
        let (ad, cdj, sig) = (
            hex(&a["authenticator_data"]),
            hex(&a["client_data_json"]),
            hex(&a["signature"]),
        );
        let raw = RawAssertion {
            authenticator_data: &ad,
            client_data_json: &cdj,
            signature_der: &sig,
        };
        let policy = spec_policy().webauthn_policy();
        // The cross-origin authentications are device-bound (no BE) and fail for crossOrigin.
        let want = if v["expect"] == "pass" {
            WebAuthnError::BackupEligible
        } else {
            WebAuthnError::CrossOrigin
        };
        for p in all_providers() {
            let r = verify_raw_assertion(p, &key, &policy, &hex(&a["challenge"]), &raw);
            assert_eq!(r, Err(want.clone()), "{}", v["name"]);
        }
        let strict = RegistrationPolicy {
            synced_keys: SyncedKeys::Refused,
            ..spec_policy()
        };
        assert_eq!(w3c_login(v, &strict, None), Err(want));
    }
}

#[test]
fn w3c_synced_credentials_are_certified_synced_and_their_assertions_pass_the_core() {
    // Registered under a policy that allows synced keys, a BE credential is certified
    // with `synced`; under that certificate policy the protocol core's single assertion
    // verifier accepts its (BE) authentication.
    for name in [
        "none.ES256",
        "packed-self.ES256",
        "none.ES256.long-credential-id",
        "packed.ES256",
    ] {
        let v = vector(name);
        let cred = Reg::of(name).verify(&spec_policy()).unwrap();
        assert!(cred.is_synced(), "{name}");
        let policy = spec_policy().webauthn_policy_for(&cred);
        assert!(policy.synced && !spec_policy().webauthn_policy().synced);
        let a = &v["authentication"];
        let (ad, cdj, sig) = (
            hex(&a["authenticator_data"]),
            hex(&a["client_data_json"]),
            hex(&a["signature"]),
        );
        let raw = RawAssertion {
            authenticator_data: &ad,
            client_data_json: &cdj,
            signature_der: &sig,
        };
        for p in all_providers() {
            let info =
                verify_raw_assertion(p, &cred.public_key, &policy, &hex(&a["challenge"]), &raw)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_ne!(info.flags & flags::BE, 0);
        }
    }
    // A device-bound registration (BE cleared, re-signed) is certified without `synced`.
    let (mut reg, key) = packed_self();
    reg.set_flags(flags::UP | flags::UV | flags::AT);
    reg.resign_packed(&key, -7, &[], false);
    let cred = reg.verify(&spec_policy()).unwrap();
    assert!(!cred.is_synced());
    assert!(!spec_policy().webauthn_policy_for(&cred).synced);
}

// ------------------------------------------------- registration: edited and re-signed

#[test]
fn resigned_vector_is_accepted_positive_control() {
    // Re-signing without edits, and with the device-bound flags (BE/BS cleared), passes:
    // the refusals below come from the edit, not from re-signing.
    let (mut reg, key) = packed_self();
    reg.resign_packed(&key, -7, &[], false);
    reg.verify(&spec_policy()).unwrap();
    reg.set_flags(flags::UP | flags::UV | flags::AT);
    reg.resign_packed(&key, -7, &[], false);
    let strict = RegistrationPolicy {
        require_user_verification: true,
        synced_keys: SyncedKeys::Refused,
        ..spec_policy()
    };
    let c = reg.verify(&strict).unwrap();
    assert_eq!(c.flags, flags::UP | flags::UV | flags::AT);
    // High-S attestation signature accepted too.
    reg.resign_packed(&key, -7, &[], true);
    reg.verify(&strict).unwrap();
}

#[test]
fn user_not_present_refused() {
    let (mut reg, key) = packed_self();
    reg.set_flags(reg.auth_data[32] & !flags::UP);
    reg.resign_packed(&key, -7, &[], false);
    assert_eq!(
        reg.verify(&spec_policy()),
        ceremony(WebAuthnError::UserNotPresent)
    );
}

#[test]
fn wrong_rp_id_hash_refused() {
    let (mut reg, key) = packed_self();
    reg.auth_data[..32].copy_from_slice(&sha256(b"evil.example"));
    reg.resign_packed(&key, -7, &[], false);
    assert_eq!(
        reg.verify(&spec_policy()),
        ceremony(WebAuthnError::RpIdHashMismatch)
    );
    // And the genuine vector under another RP ID.
    let other = RegistrationPolicy {
        rp_id: "example.com".into(),
        ..spec_policy()
    };
    assert_eq!(
        Reg::of("packed-self.ES256").verify(&other),
        ceremony(WebAuthnError::RpIdHashMismatch)
    );
}

#[test]
fn wrong_challenge_refused() {
    let mut reg = Reg::of("packed-self.ES256");
    reg.challenge[0] ^= 1;
    assert_eq!(
        reg.verify(&spec_policy()),
        ceremony(WebAuthnError::ChallengeMismatch)
    );
}

#[test]
fn wrong_origin_refused() {
    let (mut reg, key) = packed_self();
    reg.set_origin("https://evil.example");
    reg.resign_packed(&key, -7, &[], false);
    assert_eq!(
        reg.verify(&spec_policy()),
        ceremony(WebAuthnError::OriginNotAllowed(
            "https://evil.example".into()
        ))
    );
}

#[test]
fn wrong_type_refused() {
    let (mut reg, key) = packed_self();
    let mut v: Value = serde_json::from_slice(&reg.cdj).unwrap();
    v["type"] = "webauthn.get".into();
    reg.cdj = serde_json::to_vec(&v).unwrap();
    reg.resign_packed(&key, -7, &[], false);
    assert!(matches!(
        reg.verify(&spec_policy()),
        Err(RegistrationError::Ceremony(WebAuthnError::WrongType { .. }))
    ));
}

#[test]
fn backup_flags() {
    let (mut reg, key) = packed_self();
    let strict = RegistrationPolicy {
        synced_keys: SyncedKeys::Refused,
        ..spec_policy()
    };
    // BE alone.
    reg.set_flags(flags::UP | flags::UV | flags::AT | flags::BE);
    reg.resign_packed(&key, -7, &[], false);
    assert_eq!(reg.verify(&strict), ceremony(WebAuthnError::BackupEligible));
    reg.verify(&spec_policy()).unwrap();
    // BS without BE: malformed whatever the policy.
    reg.set_flags(flags::UP | flags::UV | flags::AT | flags::BS);
    reg.resign_packed(&key, -7, &[], false);
    for p in [&strict, &spec_policy()] {
        assert_eq!(
            reg.verify(p),
            ceremony(WebAuthnError::BackupStateWithoutEligibility)
        );
    }
}

#[test]
fn unknown_and_disallowed_formats_refused() {
    let mut reg = Reg::of("none.ES256");
    for fmt in [
        "tpm",
        "android-key",
        "apple",
        "android-safetynet",
        "",
        "NONE",
    ] {
        reg.fmt = fmt.into();
        assert_eq!(
            reg.verify(&spec_policy()),
            Err(RegistrationError::UnsupportedFormat(fmt.into()))
        );
    }
    let packed_only = RegistrationPolicy {
        allowed_formats: vec![AttestationFormat::Packed],
        ..spec_policy()
    };
    assert_eq!(
        Reg::of("none.ES256").verify(&packed_only),
        Err(RegistrationError::FormatNotAllowed("none"))
    );
    Reg::of("packed.ES256").verify(&packed_only).unwrap();
    let e = RegistrationError::UnsupportedFormat("tpm".into()).to_string();
    assert!(e.contains("\"tpm\"") && e.contains("not supported"), "{e}");
}

#[test]
fn aaguid_policy() {
    let v = vector("packed.ES256");
    let aaguid: [u8; 16] = hex(&v["aaguid"]).try_into().unwrap();
    let pinned = RegistrationPolicy {
        allowed_aaguids: Some(vec![aaguid]),
        ..spec_policy()
    };
    Reg::of("packed.ES256").verify(&pinned).unwrap();
    assert_eq!(
        Reg::of("none.ES256").verify(&pinned),
        Err(RegistrationError::AaguidNotAllowed(
            "8446ccb9ab1db374750b2367ff6f3a1f".into()
        ))
    );
}

#[test]
fn none_with_statement_refused() {
    let mut reg = Reg::of("none.ES256");
    // {"alg": -7}
    reg.att_stmt = vec![0xa1, 0x63, b'a', b'l', b'g', 0x26];
    assert_eq!(
        reg.verify(&spec_policy()),
        Err(RegistrationError::NoneStatementNotEmpty)
    );
}

#[test]
fn packed_wrong_alg_and_bad_signature_refused() {
    let (mut reg, key) = packed_self();
    for alg in [-257, -8, -35, 7] {
        reg.resign_packed(&key, alg, &[], false);
        assert_eq!(
            reg.verify(&spec_policy()),
            Err(RegistrationError::AlgorithmNotEs256(alg))
        );
    }
    // Signed by another key (self attestation must be by the credential key).
    let other = SigningKey::from_slice(&[7u8; 32]).unwrap();
    reg.resign_packed(&other, -7, &[], false);
    assert_eq!(
        reg.verify(&spec_policy()),
        Err(RegistrationError::AttestationSignature(
            EcdsaError::BadSignature
        ))
    );
    // Vector's authData edited (sign count) without re-signing.
    let mut reg = Reg::of("packed-self.ES256");
    reg.auth_data[36] = 1;
    assert_eq!(
        reg.verify(&spec_policy()),
        Err(RegistrationError::AttestationSignature(
            EcdsaError::BadSignature
        ))
    );
    // Missing sig.
    let mut reg = Reg::of("packed-self.ES256");
    reg.att_stmt = vec![0xa1, 0x63, b'a', b'l', b'g', 0x26];
    assert_eq!(
        reg.verify(&spec_policy()),
        Err(RegistrationError::MalformedAttestationStatement(
            "sig missing"
        ))
    );
}

#[test]
fn packed_x5c_edited_and_resigned_with_the_attestation_key() {
    let v = vector("packed.ES256");
    let akey = signing_key(&v, "attestation_private_key");
    let reg = Reg::of("packed.ES256");
    let chain = match reg.verify(&spec_policy()).unwrap().attestation {
        AttestationTrust::Certificate { chain_der } => chain_der,
        other => panic!("{other:?}"),
    };
    // UP cleared, re-signed by the attestation key: the flag check refuses it.
    let mut r = reg.clone();
    r.set_flags(r.auth_data[32] & !flags::UP);
    r.resign_packed(&akey, -7, &chain, false);
    assert_eq!(
        r.verify(&spec_policy()),
        ceremony(WebAuthnError::UserNotPresent)
    );
    // Re-signed unchanged (high-S): accepted.
    let mut r = reg.clone();
    r.resign_packed(&akey, -7, &chain, true);
    r.verify(&spec_policy()).unwrap();
    // Signed by the credential key but presenting the certificate: refused.
    let mut r = reg.clone();
    r.resign_packed(
        &signing_key(&v, "credential_private_key"),
        -7,
        &chain,
        false,
    );
    assert_eq!(
        r.verify(&spec_policy()),
        Err(RegistrationError::AttestationSignature(
            EcdsaError::BadSignature
        ))
    );
    // The attestation CA's own certificate as leaf: fails the §8.2.1 subject OU check.
    let root = hex(&vectors()["attestation_root_certificate"]);
    let mut r = reg.clone();
    r.resign_packed(&akey, -7, std::slice::from_ref(&root), false);
    assert_eq!(
        r.verify(&spec_policy()),
        Err(RegistrationError::Certificate(
            "subject OU is not \"Authenticator Attestation\""
        ))
    );
    // Garbage as certificate.
    let mut r = reg.clone();
    r.resign_packed(&akey, -7, &[vec![0x30, 0x03, 0x02, 0x01, 0x01]], false);
    assert!(matches!(
        r.verify(&spec_policy()),
        Err(RegistrationError::Certificate(_))
    ));
}

#[test]
fn certificate_checks_on_the_spec_certificates() {
    let reg = Reg::of("packed.ES256");
    let chain = match reg.verify(&spec_policy()).unwrap().attestation {
        AttestationTrust::Certificate { chain_der } => chain_der,
        other => panic!("{other:?}"),
    };
    let leaf = Certificate::from_der(&chain[0]).unwrap();
    check_packed_certificate(&leaf, &[0u8; 16]).unwrap();
    let root = Certificate::from_der(&hex(&vectors()["attestation_root_certificate"])).unwrap();
    assert!(check_packed_certificate(&root, &[0u8; 16]).is_err());
}

/// Builds a `fido-u2f` registration from the packed.ES256 vector's keys: the credential
/// key and ID of the vector, attested by the vector's attestation key and certificate.
fn u2f_registration(aaguid: [u8; 16], x5c_count: usize) -> Reg {
    let v = vector("packed.ES256");
    let akey = signing_key(&v, "attestation_private_key");
    let mut reg = Reg::of("packed.ES256");
    let cert = match reg.verify(&spec_policy()).unwrap().attestation {
        AttestationTrust::Certificate { chain_der } => chain_der[0].clone(),
        other => panic!("{other:?}"),
    };
    reg.auth_data[32] = flags::UP | flags::AT;
    reg.auth_data[37..53].copy_from_slice(&aaguid);
    let ad = AuthenticatorData::parse(&reg.auth_data).unwrap();
    let cred = parse_attested_credential(ad.rest, ad.flags).unwrap();
    let mut data = vec![0u8];
    data.extend_from_slice(&ad.rp_id_hash);
    data.extend_from_slice(&sha256(&reg.cdj));
    data.extend_from_slice(cred.credential_id);
    data.push(4);
    data.extend_from_slice(&cred.key.x);
    data.extend_from_slice(&cred.key.y);
    let sig = sign_der(&akey, &data, false);
    let mut e = minicbor::Encoder::new(Vec::new());
    e.map(2).unwrap();
    e.str("sig").unwrap().bytes(&sig).unwrap();
    e.str("x5c").unwrap().array(x5c_count as u64).unwrap();
    for _ in 0..x5c_count {
        e.bytes(&cert).unwrap();
    }
    reg.fmt = "fido-u2f".into();
    reg.att_stmt = e.into_writer();
    reg
}

#[test]
fn fido_u2f() {
    let strict = RegistrationPolicy {
        synced_keys: SyncedKeys::Refused,
        ..spec_policy()
    };
    let c = u2f_registration([0; 16], 1).verify(&strict).unwrap();
    assert_eq!(c.format, AttestationFormat::FidoU2f);
    assert!(matches!(
        c.attestation,
        AttestationTrust::Certificate { .. }
    ));
    assert_eq!(
        u2f_registration([1; 16], 1).verify(&strict),
        Err(RegistrationError::U2fAaguidNotZero)
    );
    assert!(matches!(
        u2f_registration([0; 16], 2).verify(&strict),
        Err(RegistrationError::MalformedAttestationStatement(_))
    ));
    // Signature over the wrong data (challenge edited).
    let mut r = u2f_registration([0; 16], 1);
    r.challenge[0] ^= 1;
    r.cdj = {
        let mut v: Value = serde_json::from_slice(&r.cdj).unwrap();
        v["challenge"] = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &r.challenge,
        )
        .into();
        serde_json::to_vec(&v).unwrap()
    };
    assert_eq!(
        r.verify(&strict),
        Err(RegistrationError::AttestationSignature(
            EcdsaError::BadSignature
        ))
    );
    // UV required: U2F never sets it.
    let uv = RegistrationPolicy {
        require_user_verification: true,
        ..strict
    };
    assert_eq!(
        u2f_registration([0; 16], 1).verify(&uv),
        ceremony(WebAuthnError::UserNotVerified)
    );
}

#[test]
fn trailing_bytes_and_extensions_after_the_cose_key() {
    let (mut reg, key) = packed_self();
    reg.auth_data.push(0);
    reg.resign_packed(&key, -7, &[], false);
    assert_eq!(
        reg.verify(&spec_policy()),
        Err(RegistrationError::TrailingBytes(1))
    );
    // ED set with an extension map {"credProtect": 2}: accepted.
    let (mut reg, key) = packed_self();
    reg.set_flags(reg.auth_data[32] | flags::ED);
    reg.auth_data.extend_from_slice(&[
        0xa1, 0x6b, b'c', b'r', b'e', b'd', b'P', b'r', b'o', b't', b'e', b'c', b't', 0x02,
    ]);
    reg.resign_packed(&key, -7, &[], false);
    reg.verify(&spec_policy()).unwrap();
    // ...but not with a byte after the extensions.
    reg.auth_data.push(0);
    reg.resign_packed(&key, -7, &[], false);
    assert_eq!(
        reg.verify(&spec_policy()),
        Err(RegistrationError::TrailingBytes(1))
    );
    // ED set but nothing follows the key.
    let (mut reg, key) = packed_self();
    reg.set_flags(reg.auth_data[32] | flags::ED);
    reg.resign_packed(&key, -7, &[], false);
    assert!(matches!(
        reg.verify(&spec_policy()),
        Err(RegistrationError::MalformedCredentialData(_))
    ));
}

#[test]
fn truncated_authenticator_data_refused_at_every_length() {
    let full = Reg::of("none.ES256");
    for len in 0..full.auth_data.len() {
        let mut reg = full.clone();
        reg.auth_data.truncate(len);
        let r = reg.verify(&spec_policy());
        assert!(r.is_err(), "accepted authData cut to {len} bytes");
    }
    let mut reg = full.clone();
    reg.auth_data.truncate(37);
    reg.set_flags(flags::UP);
    assert_eq!(
        reg.verify(&spec_policy()),
        Err(RegistrationError::NoAttestedCredentialData)
    );
    let mut reg = full.clone();
    reg.auth_data.truncate(37 + 18 + 32 + 10);
    assert!(matches!(
        reg.verify(&spec_policy()),
        Err(RegistrationError::MalformedCoseKey(_))
    ));
}

#[test]
fn credential_id_length_limit() {
    let mut reg = Reg::of("none.ES256");
    reg.auth_data[53..55].copy_from_slice(&1024u16.to_be_bytes());
    assert_eq!(
        reg.verify(&spec_policy()),
        Err(RegistrationError::CredentialIdTooLong(1024))
    );
    reg.auth_data[53..55].copy_from_slice(&1023u16.to_be_bytes());
    assert!(matches!(
        reg.verify(&spec_policy()),
        Err(RegistrationError::MalformedCredentialData(_))
    ));
}

#[test]
fn oversized_attestation_object_refused_before_parsing() {
    let reg = Reg::of("none.ES256");
    let mut att = reg.object();
    att.resize(MAX_ATTESTATION_OBJECT + 1, 0);
    assert_eq!(
        register(&spec_policy(), &reg.challenge, &reg.cdj, &att),
        Err(RegistrationError::TooLarge {
            len: MAX_ATTESTATION_OBJECT + 1,
            max: MAX_ATTESTATION_OBJECT
        })
    );
    // Trailing bytes after the map, duplicate and unknown members.
    let mut att = reg.object();
    att.push(0);
    assert!(matches!(
        register(&spec_policy(), &reg.challenge, &reg.cdj, &att),
        Err(RegistrationError::MalformedAttestationObject(_))
    ));
}

#[test]
fn cose_key_must_be_es256_p256() {
    let ok = hex(&serde_json::Value::from(
        "a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220",
    ));
    public_key_from_cose(&ok).unwrap();
    let mut alg = ok.clone();
    alg[4] = 0x27; // alg -8 (EdDSA)
    assert_eq!(
        public_key_from_cose(&alg),
        Err(RegistrationError::UnsupportedKey("alg is not ES256 (-7)"))
    );
    let mut kty = ok.clone();
    kty[2] = 0x01; // kty OKP
    assert_eq!(
        public_key_from_cose(&kty),
        Err(RegistrationError::UnsupportedKey("kty is not EC2 (2)"))
    );
    let mut crv = ok.clone();
    crv[6] = 0x02; // crv P-384
    assert_eq!(
        public_key_from_cose(&crv),
        Err(RegistrationError::UnsupportedKey("crv is not P-256 (1)"))
    );
    let mut off_curve = ok.clone();
    let n = off_curve.len();
    off_curve[n - 1] ^= 1;
    assert_eq!(
        public_key_from_cose(&off_curve),
        Err(RegistrationError::InvalidPublicKey)
    );
    let mut dup = ok.clone();
    dup[1] = 0x01; // label 1 twice: first entry re-read as... make the map claim 6 entries
    dup[0] = 0xa6;
    dup.extend_from_slice(&[0x01, 0x02]);
    assert_eq!(
        public_key_from_cose(&dup),
        Err(RegistrationError::MalformedCoseKey("duplicate label"))
    );
    let mut trailing = ok.clone();
    trailing.push(0);
    assert!(public_key_from_cose(&trailing).is_err());
}

// ----------------------------------------------------- assertions: edited and re-signed

/// The packed-self.ES256 authentication, with authData and clientDataJSON edited and
/// re-signed by the spec's credential key.
fn resigned_login(
    edit_ad: impl Fn(&mut Vec<u8>),
    edit_cdj: impl Fn(&mut Value),
    policy: &RegistrationPolicy,
    stored: Option<u32>,
) -> Result<AssertionInfo, WebAuthnError> {
    let v = vector("packed-self.ES256");
    let a = &v["authentication"];
    let mut ad = hex(&a["authenticator_data"]);
    edit_ad(&mut ad);
    let mut cdj_v: Value = serde_json::from_slice(&hex(&a["client_data_json"])).unwrap();
    edit_cdj(&mut cdj_v);
    let cdj = serde_json::to_vec(&cdj_v).unwrap();
    let mut msg = ad.clone();
    msg.extend_from_slice(&sha256(&cdj));
    let sig = sign_der(&signing_key(&v, "credential_private_key"), &msg, true);
    login(&v, policy, &ad, &cdj, &sig, &hex(&a["challenge"]), stored)
}

#[test]
fn assertion_negative_cases() {
    let p = spec_policy();
    let keep = |_: &mut Value| {};
    let same = |_: &mut Vec<u8>| {};
    // Positive control (high-S re-signature).
    resigned_login(same, keep, &p, None).unwrap();
    assert_eq!(
        resigned_login(|ad| ad[32] &= !flags::UP, keep, &p, None),
        Err(WebAuthnError::UserNotPresent)
    );
    assert_eq!(
        resigned_login(
            |ad| ad[..32].copy_from_slice(&sha256(b"evil.example")),
            keep,
            &p,
            None
        ),
        Err(WebAuthnError::RpIdHashMismatch)
    );
    assert_eq!(
        resigned_login(same, |c| c["challenge"] = "AAAA".into(), &p, None),
        Err(WebAuthnError::ChallengeMismatch)
    );
    assert_eq!(
        resigned_login(
            same,
            |c| c["origin"] = "https://evil.example".into(),
            &p,
            None
        ),
        Err(WebAuthnError::OriginNotAllowed(
            "https://evil.example".into()
        ))
    );
    let strict = RegistrationPolicy {
        synced_keys: SyncedKeys::Refused,
        ..spec_policy()
    };
    assert_eq!(
        resigned_login(same, keep, &strict, None),
        Err(WebAuthnError::BackupEligible)
    );
    // The same assertion with BE cleared passes the device-bound policy.
    resigned_login(|ad| ad[32] = flags::UP, keep, &strict, None).unwrap();
    assert_eq!(
        resigned_login(|ad| ad[32] = flags::UP | flags::BS, keep, &p, None),
        Err(WebAuthnError::BackupStateWithoutEligibility)
    );
    // Counter regression: count 5 against stored 7 (and equal) refused; stored 4 passes.
    let count5 = |ad: &mut Vec<u8>| ad[33..37].copy_from_slice(&5u32.to_be_bytes());
    assert_eq!(
        resigned_login(count5, keep, &p, Some(7)),
        Err(WebAuthnError::SignCountNotIncreasing { stored: 7, new: 5 })
    );
    assert_eq!(
        resigned_login(count5, keep, &p, Some(5)),
        Err(WebAuthnError::SignCountNotIncreasing { stored: 5, new: 5 })
    );
    assert_eq!(
        resigned_login(count5, keep, &p, Some(4))
            .unwrap()
            .sign_count,
        5
    );
    // The same regression through the protocol core's path (device-bound policy).
    let bound = |ad: &mut Vec<u8>| {
        ad[32] = flags::UP;
        ad[33..37].copy_from_slice(&5u32.to_be_bytes());
    };
    assert_eq!(
        resigned_login(bound, keep, &strict, Some(9)),
        Err(WebAuthnError::SignCountNotIncreasing { stored: 9, new: 5 })
    );
}

// ------------------------------------------------------------------------- totality

proptest! {
    #[test]
    fn verify_registration_never_panics_on_arbitrary_bytes(
        att in proptest::collection::vec(any::<u8>(), 0..600),
        cdj in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let _ = verify_registration(&crate::P256Provider, &spec_policy(), b"c", &cdj, &att);
    }

    #[test]
    fn verify_registration_never_panics_on_mutated_vectors(
        which in 0usize..6,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let v = &vectors()["vectors"][which]["registration"];
        let mut att = hex(&v["attestation_object"]);
        for (i, b) in edits {
            let n = att.len();
            att[i % n] = b;
        }
        let n = att.len();
        att.truncate(n - cut % 8);
        let _ = verify_registration(
            &crate::P256Provider,
            &spec_policy(),
            &hex(&v["challenge"]),
            &hex(&v["client_data_json"]),
            &att,
        );
    }

    #[test]
    fn public_key_from_cose_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = public_key_from_cose(&bytes);
    }
}

// ---------------------------------------------------------------------------- sizes

/// The figures `docs/WEBAUTHN.md` quotes: bytes a signature takes in a spend's encoding.
#[test]
fn signature_sizes_in_a_spend() {
    use crate::cbor::Encoder;
    use crate::sig::Signature;
    use crate::testing::{SoftAuthenticator, wallet_policy};
    use crate::webauthn::{AssertionWire, AuthDataWire, ClientDataWire};

    let len = |s: &Signature| {
        let mut e = Encoder::new();
        s.encode(&mut e);
        e.into_bytes().len()
    };
    let policy = wallet_policy();
    let mut auth = SoftAuthenticator::new(1, "wallet.example", "https://wallet.example");
    let challenge = [7u8; 32];
    let raw = auth.assert(&challenge);
    let compact = AssertionWire::from_raw(&raw.as_raw(), &policy, &challenge).unwrap();
    let raw_wire = AssertionWire {
        auth_data: AuthDataWire::Raw(raw.authenticator_data.clone()),
        client_data: ClientDataWire::Raw(raw.client_data_json.clone()),
        signature: compact.signature,
    };
    let plain = len(&Signature::Es256([1; 64]));
    let c = len(&Signature::WebAuthn(Box::new(compact)));
    let r = len(&Signature::WebAuthn(Box::new(raw_wire)));
    let browser =
        raw.authenticator_data.len() + raw.client_data_json.len() + raw.signature_der.len();
    println!(
        "signature in a spend: plain ES256 {plain} B, WebAuthn compact {c} B (+{}), raw {r} B (+{}); browser parts {browser} B",
        c - plain,
        r - plain
    );
    assert_eq!((plain, c, r), (66, 74, 246));
}

// ------------------------------------------- attestation certificate requirements (§8.2.1)

/// The packed.ES256 registration with its leaf certificate edited by `edit` (the
/// certificate's own signature is not checked here; the attestation signature still
/// verifies because the subject key is unchanged).
fn with_edited_leaf(
    edit: impl FnOnce(&mut Certificate),
) -> Result<RegisteredCredential, RegistrationError> {
    use x509_cert::der::Encode as _;
    let v = vector("packed.ES256");
    let akey = signing_key(&v, "attestation_private_key");
    let mut reg = Reg::of("packed.ES256");
    let leaf_der = match reg.verify(&spec_policy()).unwrap().attestation {
        AttestationTrust::Certificate { chain_der } => chain_der[0].clone(),
        other => panic!("{other:?}"),
    };
    let mut leaf = Certificate::from_der(&leaf_der).unwrap();
    edit(&mut leaf);
    reg.resign_packed(&akey, -7, &[leaf.to_der().unwrap()], false);
    reg.verify(&spec_policy())
}

fn aaguid_extension(aaguid: &[u8], critical: bool) -> x509_cert::ext::Extension {
    use x509_cert::der::Encode as _;
    use x509_cert::der::asn1::OctetString;
    let inner = OctetString::new(aaguid.to_vec()).unwrap().to_der().unwrap();
    x509_cert::ext::Extension {
        extn_id: OID_FIDO_AAGUID,
        critical,
        extn_value: OctetString::new(inner).unwrap(),
    }
}

#[test]
fn certificate_requirements() {
    // Positive control: re-encoding the unedited leaf passes.
    with_edited_leaf(|_| {}).unwrap();
    // id-fido-gen-ce-aaguid equal to the authData AAGUID: accepted.
    let aaguid = hex(&vector("packed.ES256")["aaguid"]);
    with_edited_leaf(|c| {
        c.tbs_certificate
            .extensions
            .get_or_insert_with(Vec::new)
            .push(aaguid_extension(&aaguid, false))
    })
    .unwrap();
    // ...different: refused naming both.
    assert_eq!(
        with_edited_leaf(|c| {
            c.tbs_certificate
                .extensions
                .get_or_insert_with(Vec::new)
                .push(aaguid_extension(&[9u8; 16], false))
        }),
        Err(RegistrationError::CertificateAaguidMismatch {
            cert: "09".repeat(16),
            auth_data: to_hex(&aaguid),
        })
    );
    // ...marked critical: refused.
    assert!(matches!(
        with_edited_leaf(|c| {
            c.tbs_certificate
                .extensions
                .get_or_insert_with(Vec::new)
                .push(aaguid_extension(&aaguid, true))
        }),
        Err(RegistrationError::Certificate(_))
    ));
    // Basic constraints CA true: refused.
    assert!(matches!(
        with_edited_leaf(|c| {
            use x509_cert::der::Encode as _;
            for e in c.tbs_certificate.extensions.iter_mut().flatten() {
                if e.extn_id == OID_BASIC_CONSTRAINTS {
                    let bc = BasicConstraints {
                        ca: true,
                        path_len_constraint: None,
                    };
                    e.extn_value =
                        x509_cert::der::asn1::OctetString::new(bc.to_der().unwrap()).unwrap();
                }
            }
        }),
        Err(RegistrationError::Certificate(m)) if m.contains("CA")
    ));
    // Version 1: refused.
    assert_eq!(
        with_edited_leaf(|c| {
            c.tbs_certificate.version = Version::V1;
            c.tbs_certificate.extensions = None;
        }),
        Err(RegistrationError::Certificate("version is not 3"))
    );
    // OU other than "Authenticator Attestation": refused.
    assert_eq!(
        with_edited_leaf(|c| {
            for rdn in c.tbs_certificate.subject.0.iter_mut() {
                let atvs: Vec<_> = rdn
                    .0
                    .iter()
                    .cloned()
                    .map(|mut atv| {
                        if atv.oid == OID_OU {
                            atv.value = x509_cert::der::Any::new(
                                Tag::Utf8String,
                                b"Authenticator".to_vec(),
                            )
                            .unwrap();
                        }
                        atv
                    })
                    .collect();
                rdn.0 = atvs.try_into().unwrap();
            }
        }),
        Err(RegistrationError::Certificate(
            "subject OU is not \"Authenticator Attestation\""
        ))
    );
}

// ------------------------------------------------------- step numbers of docs/WEBAUTHN.md

/// Each check fails first where `docs/WEBAUTHN.md` numbers it: one edit of a passing
/// registration per step, and the error names that step.
#[test]
fn each_failure_names_its_step_in_the_doc() {
    let p = spec_policy();
    let reg = Reg::of("none.ES256");
    let step = |r: Result<RegisteredCredential, RegistrationError>| r.err().and_then(|e| e.step());
    let edited = |edit: &dyn Fn(&mut Reg)| {
        let mut r = reg.clone();
        edit(&mut r);
        r.verify(&p)
    };
    let mut big = reg.object();
    big.resize(MAX_ATTESTATION_OBJECT + 1, 0);
    assert_eq!(step(register(&p, &reg.challenge, &reg.cdj, &big)), Some(1));
    assert_eq!(
        step(register(&p, &reg.challenge, &reg.cdj, &[0xa0])),
        Some(2)
    );
    assert_eq!(step(edited(&|r| r.fmt = "tpm".into())), Some(3));
    let packed_only = RegistrationPolicy {
        allowed_formats: vec![AttestationFormat::Packed],
        ..spec_policy()
    };
    assert_eq!(step(reg.verify(&packed_only)), Some(4));
    assert_eq!(step(edited(&|r| r.auth_data.truncate(36))), Some(5));
    assert_eq!(step(edited(&|r| r.auth_data.truncate(40))), Some(6));
    assert_eq!(
        step(edited(
            &|r| r.auth_data[..32].copy_from_slice(&sha256(b"evil.example"))
        )),
        Some(7)
    );
    assert_eq!(step(edited(&|r| r.auth_data[32] &= !flags::UP)), Some(8));
    assert_eq!(
        step(edited(&|r| r.set_origin("https://evil.example"))),
        Some(9)
    );
    let pinned = RegistrationPolicy {
        allowed_aaguids: Some(vec![[1u8; 16]]),
        ..spec_policy()
    };
    assert_eq!(step(reg.verify(&pinned)), Some(10));
    let packed = Reg::of("packed-self.ES256");
    assert_eq!(
        step(edited(&|r| r.att_stmt = packed.att_stmt.clone())),
        Some(11)
    );
    reg.verify(&p).unwrap();
}
