//! The wallet engine's flows against the real FI service (issue 11): two wallets register
//! with (soft) WebAuthn authenticators, log in with their passkeys, load value through the
//! engine's fund saga (a retried post funds once), pay each other offline through the pay
//! and receive sagas, sync the CRL, and deposit through the deposit saga: the payee's
//! account is credited once, the ledger audit is clean. A third wallet renews its notes
//! through the refresh saga (consolidation, then expiry) with its balance unchanged. The HTTP contract is `ops-api`'s
//! types on both sides.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::suite;

use base64::Engine as _;
use common::{STARTING, Server};
use ops_wallet_engine::saga::{RefreshState, SagaState, Shown};
use ops_wallet_engine::store::{HistoryStore, NoteStore};
use ops_wallet_engine::types::{HistoryKind, Identity, TrustBundle};
use ops_wallet_engine::{
    Assertion, Command, Config, Engine, Event, MemoryStore, RefreshPolicy, SagaId,
};
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
            blocked: Vec::new(),
            blocklist_version: 0,
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

/// Renewing notes against the real FI: six small loads become two notes (five returned and
/// loaded again as one), then, with a policy that counts the FI's whole 90-day lifetime as
/// "near expiry" (the FI has no clock to move, and a spend dated in its future is refused),
/// both notes are replaced by one expiring later. The spendable total and the account
/// balance are the same before and after; a retried load of the renewal loads nothing.
async fn refresh_scenario(s: &Server) {
    let (mut carol, store) = register(s, "carol", 303).await;
    let now = common::now();
    let e = Engine::new(&store, Config::default());
    for (k, amount) in (1u8..).zip([100u64, 200, 300, 400, 500, 600]) {
        let out = e.start_fund(&[k; 16], amount, now).await.unwrap();
        drive(s, &mut carol, &store, out.commands, now).await;
    }
    let loaded = STARTING - 2_100;
    assert_eq!(s.balance(carol.account).await, loaded);
    let before = e.summary(now).await.unwrap();
    assert_eq!((before.notes, before.amounts[0].spendable), (6, 2_100));
    assert!(before.refresh_suggested);
    // Consolidation: the five smallest go back and come again as one note.
    let out = e
        .start_refresh(now)
        .await
        .unwrap()
        .expect("six notes to merge");
    let id = out.record.id.clone();
    drive(s, &mut carol, &store, out.commands, now).await;
    let SagaState::Refresh(RefreshState::Done {
        amount,
        returned,
        notes,
        ..
    }) = e.saga(&id).await.unwrap().state
    else {
        panic!("the renewal finishes")
    };
    assert_eq!((amount, returned, notes.len()), (1_500, 5, 1));
    let after = e.summary(now).await.unwrap();
    assert_eq!((after.notes, after.amounts[0].spendable), (2, 2_100));
    assert!(!after.refresh_suggested);
    assert_eq!(
        s.balance(carol.account).await,
        loaded,
        "returned and loaded again"
    );
    // The renewal's load posted again (a lost answer): the FI replays it, loads nothing.
    let (_, fund_key) = ops_wallet_engine::saga::refresh::keys(&id);
    let body = serde_json::to_string(&ops_api::FundRequest {
        device: carol.device.cert.id().to_string(),
        amount: 1_500,
    })
    .unwrap();
    let Event::Http { status, body } =
        post(s, &carol, ops_api::paths::FUND, &body, &fund_key).await
    else {
        unreachable!()
    };
    assert_eq!(status, 201, "{body}");
    let again: ops_api::FundResponse = serde_json::from_str(&body).unwrap();
    assert!(again.replayed);
    assert_eq!(again.note_ids, vec![notes[0].to_string()]);
    assert_eq!(s.balance(carol.account).await, loaded);
    // Expiry: a second later every note counts as near expiry; both are replaced by one
    // note issued now, which expires after both.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let now = common::now();
    let old: Vec<u64> = store
        .notes()
        .await
        .unwrap()
        .iter()
        .map(|n| n.expires)
        .collect();
    let renew_all = Config {
        refresh: RefreshPolicy {
            expiring_within: 90 * 86_400 + 3_600,
            ..RefreshPolicy::default()
        },
        ..Config::default()
    };
    let strict = Engine::new(&store, renew_all);
    let plan = strict
        .refresh_plan(now)
        .await
        .unwrap()
        .expect("notes near expiry");
    assert_eq!((plan.expiring, plan.amount, plan.issued), (2, 2_100, 1));
    let out = strict.start_refresh(now).await.unwrap().unwrap();
    let id = out.record.id.clone();
    drive(s, &mut carol, &store, out.commands, now).await;
    let SagaState::Refresh(RefreshState::Done { notes, .. }) = e.saga(&id).await.unwrap().state
    else {
        panic!("the renewal finishes")
    };
    let held = store.notes().await.unwrap();
    let new = held.iter().find(|n| n.id == notes[0]).unwrap();
    assert!(
        old.iter().all(|&t| new.expires > t),
        "{} after {old:?}",
        new.expires
    );
    let end = e.summary(now).await.unwrap();
    assert_eq!((end.notes, end.amounts[0].spendable), (1, 2_100));
    assert_eq!(end.earliest_expiry, Some(new.expires));
    assert_eq!(s.balance(carol.account).await, loaded);
    let history = store.history().await.unwrap();
    let renewals: Vec<_> = history
        .iter()
        .filter(|h| h.kind == HistoryKind::Refresh)
        .map(|h| (h.amount, h.notes.map(|n| (n.returned, n.issued))))
        .collect();
    assert_eq!(renewals, vec![(1_500, Some((5, 1))), (2_100, Some((2, 1)))]);
    let (_, report) = s.admin_get("/api/v1/audit").await;
    assert_eq!(report["ok"], true, "{report:#}");
    s.assert_conserved(STARTING).await;
}

#[tokio::test]
async fn wallet_engine_refreshes_notes_against_the_real_fi_on_sqlite() {
    let s = Server::start("engine-refresh", None).await;
    refresh_scenario(&s).await;
}

#[tokio::test]
async fn wallet_engine_refreshes_notes_against_the_real_fi_on_postgres() {
    let pg = common::postgres::Postgres::start();
    let db = pg.create_database("enginerefresh").await;
    let s = Server::start("pg-engine-refresh", Some(db)).await;
    refresh_scenario(&s).await;
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
