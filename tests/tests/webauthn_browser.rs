//! WebAuthn in real headless Chromium with ChromeDriver's virtual authenticators: the
//! browser binding (`ops_browser::webauthn`) creates credentials and signs protocol
//! messages; the Rust verifiers (`ops_core::registration`, `ops_core::sig`) check them.
//! Failure paths (user verification refused, credential removed, already registered,
//! synced passkey under a policy that refuses it) give the errors the UI shows; under a
//! policy that allows it a synced passkey is certified `synced` and its BE assertions verify.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test code: failures should stop the test

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ops_core::ids::{CertId, Digest32, NoteId};
use ops_core::msg::Signed;
use ops_core::registration::{
    AttestationFormat, RegisteredCredential, RegistrationPolicy, verify_registration,
};
use ops_core::sig::{Signature, verify_signature};
use ops_core::webauthn::{
    AssertionWire, RawAssertion, SyncedKeys, WebAuthnPolicy, check_sign_count,
};
use ops_core::{P256Provider, SpendBody};
use ops_e2e::webauthn::AuthenticatorOptions;
use ops_e2e::{Browser, HarnessError, Server, Settings, copy_tree, free_port, wait_until};
use serde_json::{Value, json};

use std::time::Duration;

const RP_ID: &str = "localhost";

const REGISTER: &str = r#"
const [rp, challenge, user, uv, exclude] = arguments;
const done = arguments[arguments.length - 1];
window.wasmBindings.opsRegister(rp, challenge, user, uv, exclude).then((r) => done(JSON.parse(r)));"#;

const SIGN: &str = r#"
const [rp, credential, challenge, uv] = arguments;
const done = arguments[arguments.length - 1];
window.wasmBindings.opsSign(rp, credential, challenge, uv).then((r) => done(JSON.parse(r)));"#;

struct Session {
    browser: Browser,
    _server: Server,
    origin: String,
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("OS randomness");
    bytes
}

/// Serves the apps plus the fixture page and opens the fixture in Chromium.
async fn open_fixture(name: &str) -> Result<Session, HarnessError> {
    let settings = Settings::from_env()?;
    let root = std::env::temp_dir().join(format!("ops-e2e-webauthn-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    copy_tree(&settings.dist, &root)?;
    copy_tree(
        &settings.test_pages.join("webauthn"),
        &root.join("test/webauthn"),
    )?;
    let port = free_port()?;
    let server = Server::start(&settings, &root, port).await?;
    let browser = Browser::start(&settings).await?;
    let origin = format!("http://localhost:{port}");
    browser
        .driver
        .goto(format!("{origin}/test/webauthn/"))
        .await?;
    wait_until(
        "the fixture's wasm to load",
        Duration::from_secs(30),
        async || {
            browser
                .run("return !!(window.wasmBindings && window.wasmBindings.opsSign);")
                .await
                .is_ok_and(|ready| ready == Value::Bool(true))
        },
    )
    .await?;
    Ok(Session {
        browser,
        _server: server,
        origin,
    })
}

impl Session {
    fn registration_policy(&self, require_uv: bool) -> RegistrationPolicy {
        RegistrationPolicy {
            rp_id: RP_ID.into(),
            origins: vec![self.origin.clone()],
            require_user_verification: require_uv,
            synced_keys: SyncedKeys::Refused,
            allowed_formats: vec![
                AttestationFormat::None,
                AttestationFormat::Packed,
                AttestationFormat::FidoU2f,
            ],
            allowed_aaguids: None,
        }
    }

    fn assertion_policy(&self) -> WebAuthnPolicy {
        WebAuthnPolicy {
            rp_id: RP_ID.into(),
            origins: vec![self.origin.clone()],
            user_verification: true,
            synced: false,
        }
    }

    /// Calls the binding's create; returns `ok` fields and the challenge, or `error`.
    async fn register(
        &self,
        require_uv: bool,
        exclude: &str,
    ) -> Result<(Value, Vec<u8>), HarnessError> {
        let challenge = random_bytes::<32>();
        let args = vec![
            json!(RP_ID),
            json!(B64.encode(challenge)),
            json!(B64.encode(random_bytes::<16>())),
            json!(require_uv),
            json!(exclude),
        ];
        let result = self
            .browser
            .driver
            .execute_async(REGISTER, args)
            .await?
            .json()
            .clone();
        Ok((result, challenge.to_vec()))
    }

    async fn sign(
        &self,
        credential_id: &str,
        challenge: &[u8],
        require_uv: bool,
    ) -> Result<Value, HarnessError> {
        let args = vec![
            json!(RP_ID),
            json!(credential_id),
            json!(B64.encode(challenge)),
            json!(require_uv),
        ];
        Ok(self
            .browser
            .driver
            .execute_async(SIGN, args)
            .await?
            .json()
            .clone())
    }
}

fn field(value: &Value, name: &str) -> Vec<u8> {
    B64.decode(
        value["ok"][name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {value}")),
    )
    .expect("base64url")
}

fn verify_created(
    session: &Session,
    created: &Value,
    challenge: &[u8],
    require_uv: bool,
) -> Result<RegisteredCredential, String> {
    verify_registration(
        &P256Provider,
        &session.registration_policy(require_uv),
        challenge,
        &field(created, "client_data_json"),
        &field(created, "attestation_object"),
    )
    .map_err(|error| error.to_string())
}

/// A spend body as the wallet would sign it.
fn spend_body() -> (SpendBody, Vec<u8>) {
    let body = SpendBody {
        input: NoteId(random_bytes::<32>()),
        from: 0,
        to: 1_250,
        payee: CertId(random_bytes::<16>()),
        request: Digest32(random_bytes::<32>()),
        time: 1_795_000_000,
    };
    let bytes = Signed::<SpendBody>::body_bytes_of(&body);
    (body, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_a_device_bound_key_and_signs_a_spend_with_it() -> Result<(), HarnessError> {
    let session = open_fixture("sign").await?;
    let authenticator = session
        .browser
        .add_virtual_authenticator(AuthenticatorOptions::PLATFORM)
        .await?;

    let (created, challenge) = session.register(true, "").await?;
    assert!(
        created.get("ok").is_some(),
        "registration failed: {created}"
    );
    let credential =
        verify_created(&session, &created, &challenge, true).expect("the FI accepts the key");
    assert_eq!(
        credential.format,
        AttestationFormat::Packed,
        "Chromium answers direct attestation with packed"
    );
    assert_eq!(credential.credential_id, field(&created, "credential_id"));

    // The wallet signs a spend: challenge = SHA-256 of the spend's canonical body bytes.
    let (_, body) = spend_body();
    let challenge = ops_core::ids::sha256(&body);
    let signed = session
        .sign(&B64.encode(&credential.credential_id), &challenge, true)
        .await?;
    assert!(signed.get("ok").is_some(), "signing failed: {signed}");
    let raw = RawAssertion {
        authenticator_data: &field(&signed, "authenticator_data"),
        client_data_json: &field(&signed, "client_data_json"),
        signature_der: &field(&signed, "signature"),
    };
    let policy = session.assertion_policy();
    let wire = AssertionWire::from_raw(&raw, &policy, &challenge).expect("compactable");
    let signature = Signature::WebAuthn(Box::new(wire.clone()));
    verify_signature(
        &P256Provider,
        &credential.public_key,
        Some(&policy),
        &body,
        &signature,
    )
    .expect("the payee accepts the signed spend");
    let (auth, _) = wire.expand(&policy, &challenge).expect("expands");
    let count = u32::from_be_bytes(auth[33..37].try_into().expect("4 bytes"));
    check_sign_count(credential.sign_count, count).expect("the counter moved forward");

    // The same signature over another body is refused.
    let (_, other) = spend_body();
    assert!(
        verify_signature(
            &P256Provider,
            &credential.public_key,
            Some(&policy),
            &other,
            &signature
        )
        .is_err()
    );

    let mut encoded = ops_core::cbor::Encoder::new();
    signature.encode(&mut encoded);
    println!(
        "webauthn signature on a spend: raw {} bytes (authData {} + clientDataJSON {} + DER sig {}), compact wire {} bytes",
        raw.authenticator_data.len() + raw.client_data_json.len() + raw.signature_der.len(),
        raw.authenticator_data.len(),
        raw.client_data_json.len(),
        raw.signature_der.len(),
        encoded.into_bytes().len()
    );

    // Failure paths the UI must explain.
    let credential_id = B64.encode(&credential.credential_id);
    session
        .browser
        .set_user_verified(&authenticator, false)
        .await?;
    let refused = session.sign(&credential_id, &challenge, true).await?;
    assert_eq!(refused["error"]["code"], "not-allowed", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("did not confirm")
    );
    session
        .browser
        .set_user_verified(&authenticator, true)
        .await?;

    let (again, _) = session.register(true, &credential_id).await?;
    assert_eq!(again["error"]["code"], "already-registered", "{again}");

    session
        .browser
        .remove_all_credentials(&authenticator)
        .await?;
    let gone = session.sign(&credential_id, &challenge, true).await?;
    assert_eq!(gone["error"]["code"], "not-allowed", "{gone}");
    session.browser.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synced_passkeys_follow_the_fi_policy_and_u2f_keys_need_no_uv_policy()
-> Result<(), HarnessError> {
    let session = open_fixture("policy").await?;
    let synced = session
        .browser
        .add_virtual_authenticator(AuthenticatorOptions {
            backup_eligible: true,
            ..AuthenticatorOptions::PLATFORM
        })
        .await?;
    let (created, challenge) = session.register(true, "").await?;
    assert!(created.get("ok").is_some(), "{created}");
    // An FI that refuses synced passkeys (`--synced-passkeys refuse`).
    let refused = verify_created(&session, &created, &challenge, true)
        .expect_err("a device-bound policy refuses a synced key");
    assert!(
        refused.to_lowercase().contains("backup") || refused.to_lowercase().contains("synced"),
        "{refused}"
    );
    // An FI that allows them (the default): certified `synced`, and what the key signs
    // (with BE set) verifies under that certificate policy only.
    let allowing = RegistrationPolicy {
        synced_keys: SyncedKeys::Accepted,
        ..session.registration_policy(true)
    };
    let credential = verify_registration(
        &P256Provider,
        &allowing,
        &challenge,
        &field(&created, "client_data_json"),
        &field(&created, "attestation_object"),
    )
    .expect("an FI that allows synced passkeys accepts it");
    assert!(credential.is_synced(), "Chromium's BE flag");
    let policy = allowing.webauthn_policy_for(&credential);
    assert!(policy.synced);
    let (_, body) = spend_body();
    let digest = ops_core::ids::sha256(&body);
    let signed = session
        .sign(&B64.encode(&credential.credential_id), &digest, true)
        .await?;
    assert!(signed.get("ok").is_some(), "signing failed: {signed}");
    let raw = RawAssertion {
        authenticator_data: &field(&signed, "authenticator_data"),
        client_data_json: &field(&signed, "client_data_json"),
        signature_der: &field(&signed, "signature"),
    };
    assert_ne!(
        raw.authenticator_data[32] & ops_core::webauthn::flags::BE,
        0,
        "the assertion carries BE"
    );
    let wire = AssertionWire::from_raw(&raw, &policy, &digest).expect("compactable");
    let signature = Signature::WebAuthn(Box::new(wire));
    verify_signature(
        &P256Provider,
        &credential.public_key,
        Some(&policy),
        &body,
        &signature,
    )
    .expect("a synced certificate accepts its key's BE assertions");
    let device_bound = verify_signature(
        &P256Provider,
        &credential.public_key,
        Some(&session.assertion_policy()),
        &body,
        &signature,
    )
    .expect_err("a device-bound certificate refuses BE");
    assert!(
        device_bound.to_string().contains("backup-eligible"),
        "{device_bound}"
    );
    session
        .browser
        .remove_virtual_authenticator(&synced)
        .await?;

    let u2f = AuthenticatorOptions {
        protocol: "ctap1/u2f",
        transport: "usb",
        has_user_verification: false,
        is_user_verified: false,
        backup_eligible: false,
    };
    session.browser.add_virtual_authenticator(u2f).await?;
    let (created, challenge) = session.register(false, "").await?;
    assert!(created.get("ok").is_some(), "{created}");
    let credential = verify_created(&session, &created, &challenge, false)
        .expect("a U2F key without UV is fine when the policy allows");
    assert_eq!(credential.format, AttestationFormat::FidoU2f);
    let strict = verify_created(&session, &created, &challenge, true).expect_err("UV required");
    assert!(strict.to_lowercase().contains("verif"), "{strict}");
    session.browser.close().await;
    Ok(())
}
