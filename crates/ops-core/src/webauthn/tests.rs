use super::*;
use crate::cbor::{Decoder, Encoder};
use crate::ids::sha256;
use crate::provider::{CryptoProvider, all_providers};
use crate::testing::SoftAuthenticator;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The one assertion check on a compact assertion (expanded first), no stored count.
fn verify_wire(
    provider: &dyn CryptoProvider,
    key: &crate::PublicKey,
    policy: &WebAuthnPolicy,
    challenge: &[u8],
    a: &AssertionWire,
) -> Result<AssertionInfo, WebAuthnError> {
    let (ad, cd) = a.expand(policy, challenge)?;
    let parts = AssertionParts::new(&ad, &cd, a.signature);
    verify_assertion(provider, key, &Expected::new(policy, challenge), &parts)
}

/// The one assertion check on a browser assertion, no stored count.
fn verify_raw(
    provider: &dyn CryptoProvider,
    key: &crate::PublicKey,
    policy: &WebAuthnPolicy,
    challenge: &[u8],
    raw: &RawAssertion<'_>,
) -> Result<AssertionInfo, WebAuthnError> {
    let parts = AssertionParts::from_raw(raw)?;
    verify_assertion(provider, key, &Expected::new(policy, challenge), &parts)
}

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
        let r = verify_wire(p, &auth.public_key(), &policy(), challenge, a);
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
        verify_raw(
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
            let compact = verify_wire(prov, &a.public_key(), p, b"c", &w).map(|_| ());
            assert_eq!(compact, want, "synced {is_synced}, flags {f:#x}");
            let raw = verify_raw(prov, &a.public_key(), p, b"c", &r.as_raw());
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
    verify_wire(
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
    // The registration ceremony type is refused for assertions, and the `clientDataJSON`
    // check with `Ceremony::Create` accepts only JSON that says so.
    let (_, c) = w.expand(&policy(), b"c").unwrap();
    assert!(matches!(
        check_client_data(&c, Ceremony::Create, b"c", &policy().origins),
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

/// Logins go through the same check with the stored sign count: compared after every
/// other check, so a forged assertion is refused for its signature, not its count.
#[test]
fn stored_sign_count_is_checked_last_by_the_one_path() {
    let mut auth = SoftAuthenticator::new(12, "localhost", "http://localhost:8080");
    let raw = auth.assert(b"c");
    let parts = AssertionParts::from_raw(&raw.as_raw()).unwrap();
    let p = policy();
    for prov in all_providers() {
        let key = auth.public_key();
        let at = |stored| {
            verify_assertion(
                prov,
                &key,
                &Expected::new(&p, b"c").with_stored_sign_count(stored),
                &parts,
            )
        };
        assert_eq!(at(None).unwrap().sign_count, 1);
        assert_eq!(at(Some(0)).unwrap().sign_count, 1);
        assert_eq!(
            at(Some(1)),
            Err(WebAuthnError::SignCountNotIncreasing { stored: 1, new: 1 })
        );
        let forged = AssertionParts {
            signature: [1u8; 64],
            ..parts
        };
        assert!(matches!(
            verify_assertion(
                prov,
                &key,
                &Expected::new(&p, b"c").with_stored_sign_count(Some(9)),
                &forged
            ),
            Err(WebAuthnError::Signature(_))
        ));
    }
}
