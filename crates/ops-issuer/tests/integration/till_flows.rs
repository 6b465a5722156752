//! The POS till engine against the real FI service (issue 12): a merchant account
//! registers a terminal (software key, certified name), the terminal takes its trust bundle
//! and CRL; a wallet registered with a (soft) passkey loads value through the wallet
//! engine; then, with the FI process killed, the wallet engine pays two sales natively and
//! the till approves them offline and signs receipts the wallet accepts. The FI is started
//! again on the same data; the till uploads through `/api/v1/deposits/batch`, its answer is
//! lost (the tab dies), recovery posts the same body again, and the merchant is credited
//! exactly once; posting it a third time credits nothing. The ledger audit is clean and
//! value is conserved. SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::suite;

use base64::Engine as _;
use common::{STARTING, Server};
use ops_core::sig::SoftwareKey;
use ops_core::testing::secret_from_seed;
use ops_wallet_engine::saga::{PayState, SagaState, Shown};
use ops_wallet_engine::till::{
    Decision, DepositStatus, ReceiptSigner, TerminalSignature, TillAction, TillCommand, TillConfig,
    TillEngine, TillEvent, TillIdentity, TillMemoryStore, bundle_from_api,
};
use ops_wallet_engine::types::{Identity, TrustBundle};
use ops_wallet_engine::{Assertion, Command, Config, Engine, Event, MemoryStore, SagaId};
use serde_json::json;

fn std_b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// A wallet: its authenticator, passkey session and engine store.
struct Wallet {
    device: ops_core::testing::Device,
    session: String,
    store: MemoryStore,
}

async fn trust(s: &Server) -> (ops_api::TrustBundle, TrustBundle) {
    let (_, v) = s.get(ops_api::paths::TRUST).await;
    let api: ops_api::TrustBundle = serde_json::from_value(v).unwrap();
    let bundle = bundle_from_api(&api).unwrap();
    (api, bundle)
}

async fn crl(s: &Server) -> Vec<u8> {
    let (_, v) = s.get(ops_api::paths::CRL).await;
    let crl: ops_api::CrlResponse = serde_json::from_value(v).unwrap();
    std_b64().decode(&crl.crl).unwrap()
}

/// Registers a soft passkey for a new account, logs in, onboards a wallet engine.
async fn register_wallet(s: &Server, name: &str, seed: u64) -> Wallet {
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
    let mut device = ops_core::testing::Device {
        cert: ops_core::Certificate::from_bytes(&cert_bytes).unwrap(),
        signer: ops_core::testing::DeviceSigner::WebAuthn(
            ops_core::testing::SoftAuthenticator::new(seed, "localhost", &origin),
        ),
    };
    let credential = reg["credential_id"].as_str().unwrap().to_owned();
    let session = suite::passkey_login(s, &mut device, &credential).await;
    let (api, bundle) = trust(s).await;
    let store = MemoryStore::new();
    let e = Engine::new(&store, Config::default());
    e.onboard(
        Identity {
            device_cert: cert_bytes,
            fi_cert: std_b64().decode(&api.fis[0]).unwrap(),
            credential_id: url_b64.decode(&credential).unwrap(),
            account_id: u64::try_from(account).unwrap(),
        },
        bundle,
    )
    .await
    .unwrap();
    e.store_crl(&crl(s).await).await.unwrap();
    Wallet {
        device,
        session,
        store,
    }
}

/// Posts as an app would: a bearer token, the saga's idempotency key.
async fn post(s: &Server, token: &str, path: &str, body: &str, key: &str) -> (u16, String) {
    let r = s
        .http
        .post(s.url(path))
        .bearer_auth(token)
        .header(ops_api::IDEMPOTENCY_KEY_HEADER, key)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Runs a wallet's commands until it stops asking (signs with its authenticator, posts
/// to the FI with its session, which must then be up); returns the payments it showed.
async fn drive_wallet(
    s: Option<&Server>,
    device: &mut ops_core::testing::Device,
    session: &str,
    store: &MemoryStore,
    commands: Vec<Command>,
    now: u64,
) -> Vec<Vec<u8>> {
    let mut shown = Vec::new();
    let mut queue = commands;
    while let Some(c) = queue.pop() {
        let (saga, event): (SagaId, Event) = match c {
            Command::Sign { saga, items } => {
                let ops_core::testing::DeviceSigner::WebAuthn(auth) = &mut device.signer else {
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
                if what == Shown::Payment {
                    shown.push(bytes);
                }
                continue;
            }
            Command::Post {
                saga,
                path,
                body,
                idempotency_key,
            } => {
                let s = s.expect("the wallet posts only while the FI is up");
                let (status, body) = post(s, session, &path, &body, &idempotency_key).await;
                (saga, Event::Http { status, body })
            }
            Command::Notify { message, .. } => panic!("the wallet refused: {message}"),
        };
        let out = Engine::new(store, Config::default())
            .handle(&saga, event, now)
            .await
            .unwrap();
        queue.extend(out.commands);
    }
    shown
}

/// One sale paid by the wallet engine, offline: request → wallet approval → payment bytes
/// → the till's decision → receipt signed by the terminal's key → accepted by the wallet.
async fn sell(
    till: &TillMemoryStore,
    terminal_key: &SoftwareKey,
    wallet: &mut Wallet,
    nonce: u8,
    amount: u64,
    currency: &str,
    now: u64,
) -> Vec<u8> {
    let te = TillEngine::new(till, TillConfig::default());
    let out = te
        .new_sale(
            &te.ask(
                [nonce; 16],
                amount,
                currency,
                Some(format!("Order {nonce}")),
            ),
            now,
        )
        .await
        .unwrap();
    let sale = out.record.id.clone();
    let Some(TillCommand::ShowRequest { bytes: request, .. }) = out.commands.first().cloned()
    else {
        panic!("{:?}", out.commands)
    };
    let we = Engine::new(&wallet.store, Config::default());
    let review = we.review(&request, now).await.unwrap();
    assert_eq!(
        review.payee.as_deref(),
        Some("Corner Shop"),
        "the certified name"
    );
    assert_eq!(
        review.label.as_deref(),
        Some(format!("Order {nonce}").as_str())
    );
    let out = we.start_pay(&request, now).await.unwrap();
    let pay_saga = out.record.id.clone();
    let payment = drive_wallet(
        None,
        &mut wallet.device,
        &wallet.session,
        &wallet.store,
        out.commands,
        now,
    )
    .await
    .pop()
    .expect("the wallet shows its payment");
    we.handle(&pay_saga, Event::HandedOver, now).await.unwrap();
    // The till decides offline, stores, approves, asks for the receipt signature.
    let p = te.present(&sale, &payment, now).await.unwrap();
    let Decision::Approved(a) = &p.decision else {
        panic!("{:?}", p.decision)
    };
    assert_eq!((a.amount, a.currency.as_str()), (amount, currency));
    let Some(TillCommand::SignReceipt { body, signer, .. }) = p.commands.get(1).cloned() else {
        panic!("{:?}", p.commands)
    };
    assert_eq!(signer, ReceiptSigner::Software);
    let ops_core::Signature::Es256(raw) = terminal_key.sign(&body) else {
        panic!("a software key signs ES256")
    };
    let out = te
        .handle(
            &sale,
            TillEvent::ReceiptSigned(TerminalSignature::Es256(raw.to_vec())),
            now,
        )
        .await
        .unwrap();
    let Some(TillCommand::ShowReceipt { bytes: receipt, .. }) = out.commands.first().cloned()
    else {
        panic!("{:?}", out.commands)
    };
    let out = we
        .handle(&pay_saga, Event::Receipt(receipt), now)
        .await
        .unwrap();
    assert!(matches!(
        out.record.state,
        SagaState::Pay(PayState::Confirmed { .. })
    ));
    // The same payment again: the same approval, nothing written.
    let again = te.present(&sale, &payment, now + 1).await.unwrap();
    assert_eq!(again.decision, p.decision);
    payment
}

async fn scenario(tag: &str, database: Option<String>) {
    let dir = common::temp_dir(tag);
    let s = Server::start_in(dir.clone(), database.clone()).await;
    let now = common::now();
    // The customer's wallet loads 700.
    let mut alice = register_wallet(&s, "alice", 501).await;
    let out = Engine::new(&alice.store, Config::default())
        .start_fund(&[3; 16], 700, now)
        .await
        .unwrap();
    drive_wallet(
        Some(&s),
        &mut alice.device,
        &alice.session,
        &alice.store,
        out.commands,
        now,
    )
    .await;
    // The merchant registers a terminal: a P-256 key (WebCrypto, non-extractable, in the
    // browser) certified with the merchant's name.
    let (merchant, merchant_token) = s.sign_up_with_token("Corner Shop").await;
    let terminal_key =
        SoftwareKey::from_secret(&secret_from_seed("till flows terminal", 1)).unwrap();
    let (status, v) = s
        .admin_post(
            "/api/v1/devices",
            json!({"account_id": merchant, "public_key": terminal_key.public_key().to_string(),
                   "name": "Corner Shop"}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let terminal_cert = std_b64().decode(v["cert"].as_str().unwrap()).unwrap();
    let (api, bundle) = trust(&s).await;
    let fi_cert = std_b64().decode(&api.fis[0]).unwrap();
    let currency = ops_core::Certificate::from_bytes(&fi_cert)
        .unwrap()
        .body
        .limits
        .currency
        .unwrap();
    let till = TillMemoryStore::new();
    let te = TillEngine::new(&till, TillConfig::default());
    te.onboard(
        TillIdentity {
            terminal_cert,
            fi_cert,
            credential_id: None,
            account_id: u64::try_from(merchant).unwrap(),
        },
        bundle,
    )
    .await
    .unwrap();
    assert!(te.store_crl(&crl(&s).await, now).await.unwrap());
    // Offline: the FI process is killed; two sales are paid and approved without it.
    drop(s);
    let p1 = sell(&till, &terminal_key, &mut alice, 1, 300, &currency, now).await;
    let p2 = sell(&till, &terminal_key, &mut alice, 2, 150, &currency, now + 2).await;
    let status = te.status(now + 60).await.unwrap();
    assert_eq!(
        (status.awaiting[0].count, status.awaiting[0].amount),
        (2, 450)
    );
    assert_eq!(status.offline_for, Some(60));
    // Back online.
    let s = Server::start_in(dir.clone(), database.clone()).await;
    let balance = s.balance(merchant).await;
    assert_eq!(balance, STARTING);
    let out = te.start_deposit(now + 70).await.unwrap().unwrap();
    let Some(TillCommand::Post {
        saga,
        path,
        body,
        idempotency_key,
    }) = out.commands.first().cloned()
    else {
        panic!("{:?}", out.commands)
    };
    assert_eq!(path, ops_api::paths::DEPOSITS_BATCH);
    // The FI settles the upload, and the answer is lost: the tab dies before storing it.
    let (code, lost) = post(&s, &merchant_token, &path, &body, &idempotency_key).await;
    assert_eq!(code, 200, "{lost}");
    assert_eq!(s.balance(merchant).await, STARTING + 450);
    // A new tab (a new engine over the same store; the old one held nothing) recovers:
    // the same upload, the same body, posted again.
    let te = TillEngine::new(&till, TillConfig::default());
    let report = te.recover(now + 80).await.unwrap();
    let [entry] = report.entries.as_slice() else {
        panic!("{report:?}")
    };
    assert_eq!(entry.action, TillAction::Repost);
    let Some(TillCommand::Post { body: again, .. }) = entry.commands.first().cloned() else {
        panic!()
    };
    assert_eq!(again, body, "the same body");
    let (code, answer) = post(&s, &merchant_token, &path, &again, &idempotency_key).await;
    assert_eq!(code, 200, "{answer}");
    let parsed: ops_api::DepositBatchResponse = serde_json::from_str(&answer).unwrap();
    assert!(
        parsed
            .results
            .iter()
            .all(|r| matches!(r, ops_api::BatchItem::Ok { ok } if ok.credited == 0 && ok.status == ops_api::DepositStatus::Credited)),
        "{answer}"
    );
    te.handle(
        &saga,
        TillEvent::Http {
            status: code,
            body: answer,
        },
        now + 81,
    )
    .await
    .unwrap();
    // Each payment credited exactly once, and the till knows it.
    assert_eq!(s.balance(merchant).await, STARTING + 450);
    for p in [&p1, &p2] {
        let id = ops_core::Payment::from_bytes(p).unwrap().hash();
        let e = ops_wallet_engine::till::store::QueueStore::queue_entry(&till, &id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(e.status, DepositStatus::Credited { credited_now: 0 });
    }
    assert!(
        te.start_deposit(now + 90).await.unwrap().is_none(),
        "nothing waits"
    );
    // Posting the same upload once more (a replayed request) credits nothing.
    let (code, _) = post(&s, &merchant_token, &path, &body, "replay").await;
    assert_eq!(code, 200);
    assert_eq!(s.balance(merchant).await, STARTING + 450);
    let status = te.status(now + 90).await.unwrap();
    assert!(status.awaiting.is_empty());
    assert_eq!(status.offline_for, Some(9), "online at the upload's answer");
    let report = te
        .report(ops_wallet_engine::till::Period::new(0, u64::MAX))
        .await
        .unwrap();
    assert_eq!(report.approved[0].amount, 450);
    assert_eq!(report.deposits.credited[0].count, 2);
    let (_, audit) = s.admin_get("/api/v1/audit").await;
    assert_eq!(audit["ok"], true, "{audit:#}");
    s.assert_conserved(STARTING).await;
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_wallet_pays_the_till_offline_and_the_till_deposits_once_on_sqlite() {
    scenario("till-flows", None).await;
}

#[tokio::test]
async fn a_wallet_pays_the_till_offline_and_the_till_deposits_once_on_postgres() {
    let pg = common::postgres::Postgres::start();
    let db = pg.create_database("tillflows").await;
    scenario("pg-till-flows", Some(db)).await;
}
