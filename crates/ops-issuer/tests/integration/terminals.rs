//! Issue 12: a merchant registers its POS terminals. The operator certifies the account's
//! merchant name; the account holder registers each terminal's key with a proof of
//! possession over a one-time challenge; every terminal is certified with the checked
//! name. Against the real service on SQLite and on PostgreSQL (one list, both engines).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::suite;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::Server;
use ops_api::paths::{TERMINAL_CHALLENGE, TERMINALS, merchant};
use ops_api::terminals::terminal_proof_message;
use ops_api::{TerminalChallenge, TerminalRegistered};
use ops_core::{Certificate, Role};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};

/// A terminal's key (what WebCrypto keeps non-extractable in the browser).
fn terminal_key(seed: u8) -> (SigningKey, String) {
    let key = SigningKey::from_slice(&[seed; 32]).unwrap();
    let public = key.verifying_key().to_encoded_point(true);
    (key, ops_core::ids::to_hex(public.as_bytes()))
}

/// `key`'s proof over `challenge` (base64url), `r ‖ s` as WebCrypto returns it.
fn proof(key: &SigningKey, challenge: &str) -> String {
    let challenge = URL_SAFE_NO_PAD.decode(challenge).unwrap();
    let signature: Signature = key.sign(&terminal_proof_message(&challenge));
    URL_SAFE_NO_PAD.encode(signature.to_bytes())
}

async fn challenge(s: &Server, token: &str, account: i64) -> (u16, Value) {
    s.post_as(token, TERMINAL_CHALLENGE, json!({"account_id": account}))
        .await
}

async fn register(
    s: &Server,
    c: &TerminalChallenge,
    key: &SigningKey,
    public: &str,
) -> (u16, Value) {
    s.post(
        TERMINALS,
        json!({
            "challenge_id": c.challenge_id,
            "public_key": public,
            "signature": proof(key, &c.challenge),
            "label": "Till 1",
        }),
    )
    .await
}

async fn merchant_terminals_are_certified_with_the_checked_name(s: &Server) {
    let (shop, token) = s.sign_up_with_token("Lumière SARL").await;
    // Not a merchant yet: no challenge.
    let (status, v) = challenge(s, &token, shop).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("not_a_merchant")),
        "{v}"
    );
    // Only the operator certifies the name.
    let (status, _) = s
        .post_as(&token, &merchant(shop), json!({"name": "Café Lumière"}))
        .await;
    assert_eq!(status, 401);
    let (status, v) = s
        .admin_post(&merchant(shop), json!({"name": "Café Lumière"}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["merchant_name"], "Café Lumière");
    // Two terminals, each with its own key.
    let mut certs = Vec::new();
    for seed in [1u8, 2] {
        let (status, c) = challenge(s, &token, shop).await;
        assert_eq!(status, 201, "{c}");
        let c: TerminalChallenge = serde_json::from_value(c).unwrap();
        assert_eq!(c.merchant_name, "Café Lumière");
        let (key, public) = terminal_key(seed);
        let (status, v) = register(s, &c, &key, &public).await;
        assert_eq!(status, 201, "{v}");
        let answer: TerminalRegistered = serde_json::from_value(v).unwrap();
        let cert = Certificate::from_bytes(&STANDARD.decode(&answer.cert).unwrap()).unwrap();
        assert_eq!(cert.body.name.as_deref(), Some("Café Lumière"));
        assert_eq!(cert.body.role, Role::Device);
        assert_eq!(ops_core::ids::to_hex(cert.body.subject.as_bytes()), public);
        assert_eq!(answer.chain.len(), 2);
        certs.push(answer.cert_id);
    }
    assert_ne!(certs[0], certs[1]);
    // The same key twice is one terminal.
    let (_, c) = challenge(s, &token, shop).await;
    let c: TerminalChallenge = serde_json::from_value(c).unwrap();
    let (key, public) = terminal_key(1);
    let (status, v) = register(s, &c, &key, &public).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("key_registered")),
        "{v}"
    );
}

async fn proofs_and_challenges_are_checked(s: &Server) {
    let (shop, token) = s.sign_up_with_token("shop").await;
    let (other, other_token) = s.sign_up_with_token("someone else").await;
    s.admin_post(&merchant(shop), json!({"name": "Corner Shop"}))
        .await;
    // Another account's token gets no challenge for the shop.
    let (status, _) = challenge(s, &other_token, shop).await;
    assert!(matches!(status, 401 | 403 | 404), "{status}");
    let (status, v) = challenge(s, &other_token, other).await;
    assert_eq!(
        v["error"]["code"].as_str(),
        Some("not_a_merchant"),
        "{status} {v}"
    );
    let (_, c) = challenge(s, &token, shop).await;
    let c: TerminalChallenge = serde_json::from_value(c).unwrap();
    let (key, public) = terminal_key(3);
    let (_, wrong_public) = terminal_key(4);
    // A proof by another key, or over the bare challenge (no prefix), is refused, and the
    // challenge is spent.
    let (status, v) = register(s, &c, &key, &wrong_public).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("proof_refused")),
        "{v}"
    );
    let (status, v) = register(s, &c, &key, &public).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("challenge_invalid")),
        "{v}"
    );
    let (_, c) = challenge(s, &token, shop).await;
    let c: TerminalChallenge = serde_json::from_value(c).unwrap();
    let bare: Signature = key.sign(&URL_SAFE_NO_PAD.decode(&c.challenge).unwrap());
    let (status, v) = s
        .post(
            TERMINALS,
            json!({
                "challenge_id": c.challenge_id,
                "public_key": public,
                "signature": URL_SAFE_NO_PAD.encode(bare.to_bytes()),
            }),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("proof_refused")),
        "{v}"
    );
    // A registration challenge of a passkey is not a terminal challenge.
    let (_, r) = s
        .post_as(
            &token,
            "/api/v1/registrations/challenge",
            json!({"account_id": shop}),
        )
        .await;
    let passkey_challenge = TerminalChallenge {
        challenge_id: r["challenge_id"].as_str().unwrap().to_owned(),
        challenge: r["challenge"].as_str().unwrap().to_owned(),
        expires: 0,
        merchant_name: String::new(),
    };
    let (status, v) = register(s, &passkey_challenge, &key, &public).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("challenge_invalid")),
        "{v}"
    );
    // Malformed input is named.
    let (_, c) = challenge(s, &token, shop).await;
    let c: TerminalChallenge = serde_json::from_value(c).unwrap();
    let (status, v) = s
        .post(
            TERMINALS,
            json!({"challenge_id": c.challenge_id, "public_key": "02ff", "signature": "AA"}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    // A name the apps could not show is refused before it is certified.
    let (status, v) = s
        .admin_post(&merchant(shop), json!({"name": "evil\u{202E}name"}))
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("name_invalid")),
        "{v}"
    );
    let (status, v) = s.admin_post(&merchant(999_999), json!({"name": "x"})).await;
    assert_eq!(status, 404, "{v}");
}

/// A terminal with an authenticator registers a passkey marked `terminal`: its
/// certificate carries the merchant's name; a wallet's passkey carries none; an account that
/// is not a merchant cannot register a terminal passkey.
async fn a_terminal_passkey_carries_the_merchant_name(s: &Server) {
    let origin = format!("http://localhost:{}", s.port);
    let register = async |token: &str, account: i64, seed: u64, terminal: bool| {
        let (status, c) = s
            .post_as(
                token,
                "/api/v1/registrations/challenge",
                json!({"account_id": account}),
            )
            .await;
        assert_eq!(status, 201, "{c}");
        let challenge = URL_SAFE_NO_PAD
            .decode(c["challenge"].as_str().unwrap())
            .unwrap();
        let (cdj, att) = suite::soft_registration(seed, "localhost", &origin, &challenge);
        s.post(
            "/api/v1/registrations",
            json!({
                "challenge_id": c["challenge_id"],
                "client_data_json": URL_SAFE_NO_PAD.encode(&cdj),
                "attestation_object": URL_SAFE_NO_PAD.encode(&att),
                "terminal": terminal,
            }),
        )
        .await
    };
    let name_of = |v: &Value| {
        let cert = Certificate::from_bytes(&STANDARD.decode(v["cert"].as_str().unwrap()).unwrap())
            .unwrap();
        cert.body.name
    };
    let (shop, token) = s.sign_up_with_token("bakery").await;
    let (status, v) = register(&token, shop, 41, true).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("not_a_merchant")),
        "{v}"
    );
    s.admin_post(&merchant(shop), json!({"name": "Boulangerie Martin"}))
        .await;
    let (status, v) = register(&token, shop, 42, true).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(name_of(&v).as_deref(), Some("Boulangerie Martin"));
    let (status, v) = register(&token, shop, 43, false).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        name_of(&v),
        None,
        "a wallet's passkey is never certified with a name"
    );
}

common::on_both_engines!(
    terminals_on_postgres:
    merchant_terminals_are_certified_with_the_checked_name,
    proofs_and_challenges_are_checked,
    a_terminal_passkey_carries_the_merchant_name,
);
