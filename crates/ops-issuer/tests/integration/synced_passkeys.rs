//! Synced passkeys (issue 11) against the real service, on SQLite and on PostgreSQL: by
//! default the FI certifies a backup-eligible (BE) credential marked `synced` with the
//! lower outstanding-value limit, funds it only up to that limit, and credits what it
//! signs with BE; a device-bound key keeps the normal limit and stays refused when it
//! signs with BE; `--synced-passkeys refuse` turns synced keys away at registration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::suite;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{STARTING, Server, on_both_engines, payment};
use ops_core::testing::{DeviceSigner, SoftAuthenticator, World};
use ops_core::webauthn::{WebAuthnError, flags};
use ops_core::{Certificate, Issuance, Signature, SpendBody};
use serde_json::{Value, json};

/// A device-bound authenticator's flags.
const BOUND: u8 = flags::UP | flags::UV;
/// A synced passkey's flags: backup eligible and backed up.
const SYNCED: u8 = flags::UP | flags::UV | flags::BE | flags::BS;

fn origin(s: &Server) -> String {
    format!("http://localhost:{}", s.port)
}

/// A registration challenge for `account`.
async fn challenge(s: &Server, token: &str, account: i64) -> Value {
    let (status, c) = s
        .post_as(
            token,
            "/api/v1/registrations/challenge",
            json!({"account_id": account}),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    // The answer is what the apps read through the shared API type.
    let typed: ops_api::RegistrationChallenge = serde_json::from_value(c.clone()).unwrap();
    assert_eq!(typed.rp_id, "localhost");
    c
}

/// Registers the soft authenticator `seed` with authenticator data `flags` for `account`.
async fn register(s: &Server, token: &str, account: i64, seed: u64, flags: u8) -> (u16, Value) {
    let c = challenge(s, token, account).await;
    let bytes = URL_SAFE_NO_PAD
        .decode(c["challenge"].as_str().unwrap())
        .unwrap();
    let (cdj, att) =
        suite::soft_registration_with_flags(seed, "localhost", &origin(s), &bytes, flags);
    let (status, answer) = s
        .post(
            "/api/v1/registrations",
            json!({
                "challenge_id": c["challenge_id"],
                "client_data_json": URL_SAFE_NO_PAD.encode(&cdj),
                "attestation_object": URL_SAFE_NO_PAD.encode(&att),
            }),
        )
        .await;
    if status == 201 {
        // The answer is what the apps read through the shared API type.
        let typed: ops_api::Registered = serde_json::from_value(answer.clone()).unwrap();
        assert_eq!(typed.synced, answer["synced"] == json!(true));
    }
    (status, answer)
}

/// The certified wallet of a registration answer, signing with `flags`.
fn wallet(s: &Server, reg: &Value, seed: u64, flags: u8) -> ops_core::testing::Device {
    let cert =
        Certificate::from_bytes(&STANDARD.decode(reg["cert"].as_str().unwrap()).unwrap()).unwrap();
    let mut auth = SoftAuthenticator::new(seed, "localhost", &origin(s));
    auth.flags = flags;
    ops_core::testing::Device {
        cert,
        signer: DeviceSigner::WebAuthn(auth),
    }
}

fn set_flags(wallet: &mut ops_core::testing::Device, f: u8) {
    if let DeviceSigner::WebAuthn(a) = &mut wallet.signer {
        a.flags = f;
    }
}

async fn fund(
    s: &Server,
    session: &str,
    wallet: &ops_core::testing::Device,
    amount: u64,
) -> (u16, Value) {
    s.post_as(
        session,
        "/api/v1/fund",
        json!({"device": wallet.cert.id().to_string(), "amount": amount}),
    )
    .await
}

fn notes(v: &Value) -> Vec<Issuance> {
    v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| Issuance::from_bytes(&STANDARD.decode(n.as_str().unwrap()).unwrap()).unwrap())
        .collect()
}

/// A spend of `[0, amount)` of `note` to `payee`, signed by `wallet` as it is set up.
fn spend(
    wallet: &mut ops_core::testing::Device,
    note: &Issuance,
    amount: u64,
    payee: ops_core::CertId,
) -> ops_core::Spend {
    World::spend_by(
        wallet,
        SpendBody {
            input: note.note_id(),
            from: 0,
            to: amount,
            payee,
            request: ops_core::Digest32([3; 32]),
            time: common::now(),
        },
    )
}

/// Default policy (`allow`, limit 25 000): a BE credential is certified `synced` with the
/// lower limit, logs in and signs with BE; funding stops at its limit; its BE-signed
/// spend verifies (core) and is credited (deposit). A device-bound key next to it gets the
/// normal limit, and BE from it is refused at login and at deposit.
async fn synced_passkeys_get_the_lower_limit(s: &Server) {
    let (alice, alice_token) = s.sign_up_with_token("alice").await;
    let (bob, bob_token) = s.sign_up_with_token("bob").await;
    let (shop, _) = s.sign_up_with_token("shop").await;
    let pos = s.device(shop, 91).await;
    let c = challenge(s, &alice_token, alice).await;
    assert_eq!(
        (
            &c["synced_passkeys"],
            &c["device_bound_max_outstanding"],
            &c["synced_max_outstanding"]
        ),
        (&json!("allow"), &json!(100_000), &json!(25_000)),
        "{c}"
    );

    let (status, reg) = register(s, &alice_token, alice, 31, SYNCED).await;
    assert_eq!(status, 201, "{reg}");
    assert_eq!(
        (
            &reg["synced"],
            &reg["max_outstanding"],
            &reg["device_bound_max_outstanding"]
        ),
        (&json!(true), &json!(25_000), &json!(100_000)),
        "{reg}"
    );
    let mut synced = wallet(s, &reg, 31, SYNCED);
    let policy = synced.cert.body.webauthn.clone().unwrap();
    assert!(policy.synced && policy.user_verification);
    assert_eq!(synced.cert.body.limits.max_outstanding, Some(25_000));

    let (status, reg_bob) = register(s, &bob_token, bob, 32, BOUND).await;
    assert_eq!(status, 201, "{reg_bob}");
    assert_eq!(
        (&reg_bob["synced"], &reg_bob["max_outstanding"]),
        (&json!(false), &json!(100_000)),
        "{reg_bob}"
    );
    let mut bound = wallet(s, &reg_bob, 32, BOUND);
    assert!(!bound.cert.body.webauthn.clone().unwrap().synced);
    assert_eq!(bound.cert.body.limits.max_outstanding, Some(100_000));

    // The synced passkey logs in with BE set (its certificate says synced).
    let credential = reg["credential_id"].as_str().unwrap().to_owned();
    let session = suite::passkey_login(s, &mut synced, &credential).await;
    // Funding stops at the lower limit.
    let (status, v) = fund(s, &session, &synced, 25_001).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("above_device_limit")),
        "{v}"
    );
    let (status, v) = fund(s, &session, &synced, 20_000).await;
    assert_eq!(status, 201, "{v}");
    let first = notes(&v);
    let (status, v) = fund(s, &session, &synced, 5_001).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("above_device_limit")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 5000"),
        "{v}"
    );
    let (status, v) = fund(s, &session, &synced, 5_000).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(s.balance(alice).await, STARTING - 25_000);

    // A spend signed with BE by the synced passkey: verifies under its certificate
    // (core), is refused under the same certificate policy without `synced`, and the FI
    // credits its deposit.
    let paid = spend(&mut synced, &first[0], 700, pos.id());
    let Signature::WebAuthn(assertion) = &paid.signature else {
        panic!("a WebAuthn signature")
    };
    let ops_core::webauthn::AuthDataWire::Compact { flags: f, .. } = assertion.auth_data else {
        panic!("compact authenticator data")
    };
    assert_eq!(f & flags::BE, flags::BE, "signed with BE");
    let body = paid.body_bytes();
    ops_core::sig::verify_signature(
        &ops_core::P256Provider,
        &synced.cert.body.subject,
        Some(&policy),
        &body,
        &paid.signature,
    )
    .unwrap();
    let device_bound = ops_core::webauthn::WebAuthnPolicy {
        synced: false,
        ..policy.clone()
    };
    assert_eq!(
        ops_core::sig::verify_signature(
            &ops_core::P256Provider,
            &synced.cert.body.subject,
            Some(&device_bound),
            &body,
            &paid.signature,
        ),
        Err(ops_core::sig::SignatureError::WebAuthn(
            WebAuthnError::BackupEligible
        ))
    );
    let p = payment(
        vec![s.fi_cert().await, synced.cert.clone()],
        &first[0],
        vec![paid],
    );
    let (status, v) = s.deposit(&p, pos.id()).await;
    assert_eq!((status, &v["credited"]), (200, &json!(700)), "{v}");
    assert_eq!(s.balance(shop).await, STARTING + 700);

    // The device-bound key: BE at login is refused (its certificate is not synced), BE
    // clear logs in; it may hold the normal limit; a spend it signs with BE is refused.
    set_flags(&mut bound, SYNCED);
    let credential = reg_bob["credential_id"].as_str().unwrap().to_owned();
    let (_, c) = s
        .post(
            "/api/v1/login/challenge",
            json!({"credential_id": credential}),
        )
        .await;
    let DeviceSigner::WebAuthn(auth) = &mut bound.signer else {
        panic!("a WebAuthn wallet")
    };
    let a = auth.assert(
        &URL_SAFE_NO_PAD
            .decode(c["challenge"].as_str().unwrap())
            .unwrap(),
    );
    let (status, v) = s
        .post(
            "/api/v1/login",
            json!({
                "challenge_id": c["challenge_id"],
                "credential_id": credential,
                "authenticator_data": URL_SAFE_NO_PAD.encode(&a.authenticator_data),
                "client_data_json": URL_SAFE_NO_PAD.encode(&a.client_data_json),
                "signature": URL_SAFE_NO_PAD.encode(&a.signature_der),
            }),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("login_refused")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("backup-eligible"),
        "{v}"
    );
    set_flags(&mut bound, BOUND);
    let session = suite::passkey_login(s, &mut bound, &credential).await;
    let (status, v) = fund(s, &session, &bound, 60_000).await;
    assert_eq!(status, 201, "{v}");
    let bob_notes = notes(&v);
    set_flags(&mut bound, SYNCED);
    let copied = spend(&mut bound, &bob_notes[0], 300, pos.id());
    let p = payment(
        vec![s.fi_cert().await, bound.cert.clone()],
        &bob_notes[0],
        vec![copied],
    );
    let (status, v) = s.deposit(&p, pos.id()).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("payment_invalid")),
        "{v}"
    );
    assert_eq!(
        s.balance(shop).await,
        STARTING + 700,
        "nothing more credited"
    );
    s.assert_conserved(STARTING).await;
}

/// `--synced-max-outstanding` sets the synced passkeys' limit.
async fn the_synced_limit_is_a_flag(s: &Server) {
    let (alice, token) = s.sign_up_with_token("alice").await;
    let (status, reg) = register(s, &token, alice, 41, SYNCED).await;
    assert_eq!(status, 201, "{reg}");
    assert_eq!(
        (&reg["synced"], &reg["max_outstanding"]),
        (&json!(true), &json!(1_000)),
        "{reg}"
    );
    let mut synced = wallet(s, &reg, 41, SYNCED);
    assert_eq!(synced.cert.body.limits.max_outstanding, Some(1_000));
    let credential = reg["credential_id"].as_str().unwrap().to_owned();
    let session = suite::passkey_login(s, &mut synced, &credential).await;
    let (status, v) = fund(s, &session, &synced, 1_001).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("above_device_limit")),
        "{v}"
    );
    let (status, v) = fund(s, &session, &synced, 1_000).await;
    assert_eq!(status, 201, "{v}");
}

/// `--synced-passkeys refuse`: a BE credential is refused with `synced_passkey_refused`
/// and a message saying what to use instead; device-bound keys register as before; BS
/// without BE stays malformed.
async fn refuse_turns_synced_passkeys_away(s: &Server) {
    let (alice, token) = s.sign_up_with_token("alice").await;
    let c = challenge(s, &token, alice).await;
    assert_eq!(c["synced_passkeys"], "refuse", "{c}");
    for f in [SYNCED, flags::UP | flags::UV | flags::BE] {
        let (status, v) = register(s, &token, alice, 51, f).await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (422, Some("synced_passkey_refused")),
            "{v}"
        );
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("use a security key or a device-bound passkey"),
            "{message}"
        );
    }
    let (status, v) = register(s, &token, alice, 52, flags::UP | flags::UV | flags::BS).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("registration_refused")),
        "{v}"
    );
    let (status, reg) = register(s, &token, alice, 53, BOUND).await;
    assert_eq!(status, 201, "{reg}");
    assert_eq!(
        (&reg["synced"], &reg["max_outstanding"]),
        (&json!(false), &json!(100_000)),
        "{reg}"
    );
    // Nothing was certified for the refused keys.
    let m = s.metrics().await;
    assert_eq!(m["ops_devices"], 1, "{m:?}");
}

on_both_engines!(
    synced_passkeys_on_postgres:
    synced_passkeys_get_the_lower_limit,
    the_synced_limit_is_a_flag with ["--synced-max-outstanding", "1000"],
    refuse_turns_synced_passkeys_away with ["--synced-passkeys", "refuse"],
);

/// The synced limit must lie between 1 and the device-bound limit: anything else stops
/// the service before it starts, naming the flag.
#[test]
fn out_of_range_synced_limits_are_refused_at_start() {
    for bad in ["0", "100001"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ops-issuer"))
            .args(["--synced-max-outstanding", bad, "--addr", "127.0.0.1:1"])
            .arg("--data-dir")
            .arg(common::temp_dir("synced-limit").join("data"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--synced-max-outstanding"), "{err}");
    }
}
