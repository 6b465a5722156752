//! The wallet engine's flows against the real FI service (issue 11): two wallets register
//! with (soft) WebAuthn authenticators, log in with their passkeys, load value through the
//! engine's fund saga (a retried post funds once), pay each other offline through the pay
//! and receive sagas, sync the CRL, and deposit through the deposit saga: the payee's
//! account is credited once, the ledger audit is clean. The HTTP contract is `ops-api`'s
//! types on both sides.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod suite;

use base64::Engine as _;
use common::{STARTING, Server};
use ops_wallet_engine::saga::Shown;
use ops_wallet_engine::types::{Identity, TrustBundle};
use ops_wallet_engine::{Assertion, Command, Config, Engine, Event, MemoryStore, SagaId};
use serde_json::json;

/// A wallet's authenticator and passkey session (its engine's store lives beside it).
struct Wallet {
    device: ops_core::testing::Device,
    session: String,
    account: i64,
}

fn std_b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Registers a soft WebAuthn authenticator for a new account, logs in, onboards an engine.
async fn register(s: &Server, name: &str, seed: u64) -> (Wallet, MemoryStore) {
    let url_b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (account, token) = s.sign_up_with_token(name).await;
    let origin = format!("http://localhost:{}", s.port);
    let (status, c) = s
        .post_as(
            &token,
            "/api/v1/registrations/challenge",
            json!({"account_id": account}),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    let challenge = url_b64.decode(c["challenge"].as_str().unwrap()).unwrap();
    let (cdj, att) = suite::soft_registration(seed, "localhost", &origin, &challenge);
    let (status, reg) = s
        .post(
            "/api/v1/registrations",
            json!({"challenge_id": c["challenge_id"], "client_data_json": url_b64.encode(&cdj),
                   "attestation_object": url_b64.encode(&att)}),
        )
        .await;
    assert_eq!(status, 201, "{reg}");
    let cert_bytes = std_b64().decode(reg["cert"].as_str().unwrap()).unwrap();
    let cert = ops_core::Certificate::from_bytes(&cert_bytes).unwrap();
    let mut device = ops_core::testing::Device {
        cert,
        signer: ops_core::testing::DeviceSigner::WebAuthn(
            ops_core::testing::SoftAuthenticator::new(seed, "localhost", &origin),
        ),
    };
    let credential = reg["credential_id"].as_str().unwrap().to_owned();
    let session = suite::passkey_login(s, &mut device, &credential).await;
    let (_, trust) = s.get(ops_api::paths::TRUST).await;
    let trust: ops_api::TrustBundle = serde_json::from_value(trust).unwrap();
    let fi_cert = std_b64().decode(&trust.fis[0]).unwrap();
    let store = MemoryStore::new();
    let e = Engine::new(&store, Config::default());
    e.onboard(
        Identity {
            device_cert: cert_bytes,
            fi_cert,
            credential_id: url_b64.decode(&credential).unwrap(),
            account_id: u64::try_from(account).unwrap(),
        },
        TrustBundle {
            root: std_b64().decode(&trust.root).unwrap(),
            fis: trust
                .fis
                .iter()
                .map(|f| std_b64().decode(f).unwrap())
                .collect(),
        },
    )
    .await
    .unwrap();
    (
        Wallet {
            device,
            session,
            account,
        },
        store,
    )
}

/// Posts as the app would: the wallet's passkey session, the saga's idempotency key.
async fn post(s: &Server, w: &Wallet, path: &str, body: &str, key: &str) -> Event {
    let r = s
        .http
        .post(s.url(path))
        .bearer_auth(&w.session)
        .header(ops_api::IDEMPOTENCY_KEY_HEADER, key)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    Event::Http {
        status: r.status().as_u16(),
        body: r.text().await.unwrap(),
    }
}

/// Runs `commands` as the app would until the saga stops asking; returns what it showed.
async fn drive(
    s: &Server,
    w: &mut Wallet,
    store: &MemoryStore,
    commands: Vec<Command>,
    now: u64,
) -> Vec<(Shown, Vec<u8>)> {
    let mut shown = Vec::new();
    let mut queue = commands;
    let mut rounds = 0;
    while let Some(c) = queue.pop() {
        rounds += 1;
        assert!(rounds < 50, "commands never settle");
        let (saga, event): (SagaId, Event) = match c {
            Command::Sign { saga, items } => {
                let ops_core::testing::DeviceSigner::WebAuthn(auth) = &mut w.device.signer else {
                    panic!("a WebAuthn wallet")
                };
                let assertions = items
                    .iter()
                    .map(|it| {
                        let a = auth.assert(&it.challenge);
                        Assertion {
                            authenticator_data: a.authenticator_data,
                            client_data_json: a.client_data_json,
                            signature_der: a.signature_der,
                        }
                    })
                    .collect();
                (saga, Event::Signed(assertions))
            }
            Command::Show { what, bytes, .. } => {
                shown.push((what, bytes));
                continue;
            }
            Command::Post {
                saga,
                path,
                body,
                idempotency_key,
            } => (saga, post(s, w, &path, &body, &idempotency_key).await),
            Command::Notify { message, .. } => panic!("the flow refused: {message}"),
        };
        let e = Engine::new(store, Config::default());
        let out = e.handle(&saga, event, now).await.unwrap();
        queue.extend(out.commands);
    }
    shown
}

async fn sync_crl(s: &Server, store: &MemoryStore) {
    let (_, crl) = s.get(ops_api::paths::CRL).await;
    let crl: ops_api::CrlResponse = serde_json::from_value(crl).unwrap();
    let e = Engine::new(store, Config::default());
    e.store_crl(&std_b64().decode(&crl.crl).unwrap())
        .await
        .unwrap();
}

async fn scenario(s: &Server) {
    let (mut alice, alice_store) = register(s, "alice", 301).await;
    let (mut bob, bob_store) = register(s, "bob", 302).await;
    let now = common::now();
    // Load 700 through the fund saga; the same post again (a lost answer) funds nothing more.
    let e = Engine::new(&alice_store, Config::default());
    let out = e.start_fund(&[7; 16], 700, now).await.unwrap();
    let Some(Command::Post {
        path,
        body,
        idempotency_key,
        ..
    }) = out.commands.first().cloned()
    else {
        panic!("the fund saga posts: {:?}", out.commands)
    };
    drive(s, &mut alice, &alice_store, out.commands, now).await;
    assert_eq!(s.balance(alice.account).await, STARTING - 700);
    let Event::Http {
        status,
        body: again,
    } = post(s, &alice, &path, &body, &idempotency_key).await
    else {
        unreachable!()
    };
    assert_eq!(status, 201, "{again}");
    let again: ops_api::FundResponse = serde_json::from_str(&again).unwrap();
    assert!(again.replayed);
    assert_eq!(
        s.balance(alice.account).await,
        STARTING - 700,
        "a retried load funds once"
    );
    let summary = e.summary(now).await.unwrap();
    assert_eq!(summary.amounts[0].spendable, 700);
    // Bob shows a request for 300; Alice pays it offline (no server involved).
    sync_crl(s, &bob_store).await;
    sync_crl(s, &alice_store).await;
    let eb = Engine::new(&bob_store, Config::default());
    let ask = eb.ask(
        [9; 16],
        300,
        &summary.amounts[0].currency,
        Some("Bob".into()),
    );
    let out = eb.start_receive(&ask, now).await.unwrap();
    let receive_id = out.record.id.clone();
    let shown = drive(s, &mut bob, &bob_store, out.commands, now).await;
    let request = shown
        .iter()
        .find(|(what, _)| *what == Shown::Request)
        .map(|(_, b)| b.clone())
        .unwrap();
    let ea = Engine::new(&alice_store, Config::default());
    let out = ea.start_pay(&request, now).await.unwrap();
    let pay_id = out.record.id.clone();
    let shown = drive(s, &mut alice, &alice_store, out.commands, now).await;
    let payment = shown
        .iter()
        .find(|(what, _)| *what == Shown::Payment)
        .map(|(_, b)| b.clone())
        .unwrap();
    ea.handle(&pay_id, Event::HandedOver, now).await.unwrap();
    let out = eb
        .handle(&receive_id, Event::Scanned(payment.clone()), now)
        .await
        .unwrap();
    drive(s, &mut bob, &bob_store, out.commands, now).await;
    let bob_summary = eb.summary(now).await.unwrap();
    assert_eq!(bob_summary.amounts[0].spendable, 300, "{bob_summary:?}");
    // Bob syncs: the deposit saga posts to the real FI with his session; credited once.
    let deposits = eb.start_deposits(now).await.unwrap();
    assert_eq!(deposits.len(), 1);
    for d in deposits {
        drive(s, &mut bob, &bob_store, d.commands, now).await;
    }
    assert_eq!(s.balance(bob.account).await, STARTING + 300);
    assert!(
        eb.start_deposits(now).await.unwrap().is_empty(),
        "deposited once"
    );
    // The same payment uploaded again by anyone with Bob's session: nothing more.
    let (status, v) = s
        .post_as(
            &bob.session,
            ops_api::paths::DEPOSITS,
            json!({"payment": std_b64().encode(&payment), "depositor": bob.device.cert.id().to_string()}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let v: ops_api::DepositOutcome = serde_json::from_value(v).unwrap();
    assert_eq!((v.amount, v.credited), (300, 0));
    let (_, report) = s.admin_get("/api/v1/audit").await;
    assert_eq!(report["ok"], true, "{report:#}");
    s.assert_conserved(STARTING).await;
}

#[tokio::test]
async fn wallet_engine_flows_against_the_real_fi_on_sqlite() {
    let s = Server::start("engine-flows", None).await;
    scenario(&s).await;
}

#[tokio::test]
async fn wallet_engine_flows_against_the_real_fi_on_postgres() {
    let pg = common::postgres::Postgres::start();
    let db = pg.create_database("engineflows").await;
    let s = Server::start("pg-engine-flows", Some(db)).await;
    scenario(&s).await;
}
