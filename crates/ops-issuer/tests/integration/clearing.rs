//! Clearing through the central bank (issue 14, item 3), with the real processes: a key
//! ceremony for a central bank and two FIs, each FI its own `ops-issuer` process and
//! database, and the central bank's `ops-central` process. Wallets of both FIs pay
//! merchants of both offline (one hop and two hops across FIs); a cheater of FI A copies
//! one range to a merchant of A and a merchant of B. Each merchant is credited by its own
//! FI; clearing forwards the claims on the other FI's notes through the central bank to
//! the issuer, whose ledger sees both copies: exactly one fraud case, at A, the culprit
//! revoked in A's CRL; B opens none. The central bank nets the cycle (positions sum to
//! zero and equal what each FI's books say it owes or is owed), replays change nothing,
//! forged and unsigned claims are refused, and every audit (both FIs, the central bank)
//! is clean. On SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::Server;
use common::clearing::{Federation, key, signed_post};
use ops_api::clearing::{
    Claim, ClaimAnswers, ClaimBatch, ClaimStatus, ClearingSummary, CycleStatement,
};
use serde_json::{Value, json};

async fn summary(fi: &Server) -> ClearingSummary {
    let (s, v) = fi.admin_get(ops_api::paths::CLEARING).await;
    assert_eq!(s, 200, "{v}");
    serde_json::from_value(v).unwrap()
}

async fn run_clearing(fi: &Server) -> Value {
    let (s, v) = fi.admin_post(ops_api::paths::CLEARING_RUN, json!({})).await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn fraud_cases(fi: &Server) -> Vec<Value> {
    let (s, v) = fi.admin_get("/api/v1/fraud-cases").await;
    assert_eq!(s, 200, "{v}");
    v["cases"].as_array().cloned().unwrap_or_default()
}

async fn deposit_ok(
    fi: &Server,
    payment: &ops_core::Payment,
    depositor: ops_core::CertId,
    credited: i64,
) {
    let (s, v) = fi.deposit(payment, depositor).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["credited"].as_i64()),
        (Some("credited"), Some(credited)),
        "{v}"
    );
}

/// The scenario on the given databases (`None`: SQLite files in each data folder).
async fn scenario(databases: [Option<String>; 3]) {
    let [db_a, db_b, db_cb] = databases;
    let now = common::now();
    let Federation {
        keys,
        fi_a,
        fi_b,
        a,
        b,
        cb,
    } = Federation::start([db_a, db_b, db_cb], now).await;
    // Accounts: Alice and Mallory bank with A, Bob with B; a shop at each.
    let alice = a.device(a.sign_up("alice").await, 1).await;
    let mallory = a.device(a.sign_up("mallory").await, 2).await;
    let shop_a_account = a.sign_up("shop a").await;
    let shop_a = a.device(shop_a_account, 3).await;
    let bob = b.device(b.sign_up("bob").await, 4).await;
    let shop_b_account = b.sign_up("shop b").await;
    let shop_b = b.device(shop_b_account, 5).await;
    let alice_notes = a.fund(&alice, 1_000).await;
    let mallory_notes = a.fund(&mallory, 500).await;
    let bob_notes = b.fund(&bob, 800).await;
    let (an, mn, bn) = (&alice_notes[0], &mallory_notes[0], &bob_notes[0]);
    let shop_a_before = a.balance(shop_a_account).await;
    let shop_b_before = b.balance(shop_b_account).await;

    // Offline payments, every direction.
    let certs_a = |d: &common::Device| vec![fi_a.clone(), d.cert.clone()];
    let alice_to_shop_b = common::payment(
        certs_a(&alice),
        an,
        vec![alice.spend(an.note_id(), 0, 300, shop_b.id(), 1)],
    )
    .canonical();
    let alice_to_shop_a = common::payment(
        certs_a(&alice),
        an,
        vec![alice.spend(an.note_id(), 300, 350, shop_a.id(), 2)],
    )
    .canonical();
    let to_bob = alice.spend(an.note_id(), 350, 450, bob.id(), 3);
    let to_bob_id = to_bob.id();
    let alice_bob_shop_b = common::payment(
        vec![
            fi_a.clone(),
            alice.cert.clone(),
            fi_b.clone(),
            bob.cert.clone(),
        ],
        an,
        vec![to_bob, bob.spend(to_bob_id, 0, 100, shop_b.id(), 4)],
    )
    .canonical();
    let bob_to_shop_a = common::payment(
        vec![fi_b.clone(), bob.cert.clone()],
        bn,
        vec![bob.spend(bn.note_id(), 0, 200, shop_a.id(), 5)],
    )
    .canonical();
    let bob_to_shop_b = common::payment(
        vec![fi_b.clone(), bob.cert.clone()],
        bn,
        vec![bob.spend(bn.note_id(), 200, 300, shop_b.id(), 6)],
    )
    .canonical();
    // Bob passes the 100 of A's note he got from Alice twice: to the shop of B above, and
    // to the shop of A. His copy meets its other half only in A's ledger (A issued the
    // note), but only B can revoke him.
    let bob_copy_a = common::payment(
        vec![
            fi_a.clone(),
            alice.cert.clone(),
            fi_b.clone(),
            bob.cert.clone(),
        ],
        an,
        vec![
            alice_bob_shop_b.chains[0].spends[0].clone(),
            bob.spend(to_bob_id, 0, 100, shop_a.id(), 10),
        ],
    )
    .canonical();
    // Mallory copies one range to a merchant of each FI.
    let copy_a = common::payment(
        certs_a(&mallory),
        mn,
        vec![mallory.spend(mn.note_id(), 0, 400, shop_a.id(), 7)],
    )
    .canonical();
    let copy_b = common::payment(
        certs_a(&mallory),
        mn,
        vec![mallory.spend(mn.note_id(), 0, 400, shop_b.id(), 8)],
    )
    .canonical();

    // Online again: each merchant deposits at its own FI, which credits it at once.
    deposit_ok(&a, &alice_to_shop_a, shop_a.id(), 50).await;
    deposit_ok(&a, &bob_to_shop_a, shop_a.id(), 200).await;
    deposit_ok(&a, &copy_a, shop_a.id(), 400).await;
    deposit_ok(&a, &bob_copy_a, shop_a.id(), 100).await;
    deposit_ok(&b, &alice_to_shop_b, shop_b.id(), 300).await;
    deposit_ok(&b, &alice_bob_shop_b, shop_b.id(), 100).await;
    deposit_ok(&b, &bob_to_shop_b, shop_b.id(), 100).await;
    deposit_ok(&b, &copy_b, shop_b.id(), 400).await;
    // A second upload credits nothing and queues nothing more.
    deposit_ok(&b, &copy_b, shop_b.id(), 0).await;
    assert_eq!(a.balance(shop_a_account).await, shop_a_before + 750);
    assert_eq!(b.balance(shop_b_account).await, shop_b_before + 900);
    // Neither FI alone sees Mallory's copy: no case yet, the claims are queued.
    assert!(fraud_cases(&a).await.is_empty() && fraud_cases(&b).await.is_empty());
    assert_eq!(
        (summary(&a).await.pending, summary(&b).await.pending),
        (1, 3)
    );

    // Claims that must not pass: to an FI directly without the root's signature, signed
    // by an FI instead of the central bank, or to the central bank for another FI.
    let b_key = key(&keys.join("b/fi.key"));
    let forged = ClaimBatch {
        from_fi: fi_b.id().to_string(),
        claims: vec![Claim {
            issuer: fi_a.id().to_string(),
            payment: STANDARD.encode(copy_b.to_bytes()),
            depositor: shop_b.id().to_string(),
            deposited_at: now,
        }],
    };
    let path = ops_api::paths::CLEARING_CLAIMS;
    let (s, v) = a.post(path, serde_json::to_value(&forged).unwrap()).await;
    assert_eq!(s, 401, "unsigned claims reach no ledger: {v}");
    let (s, v) = signed_post(&a.http, &a.url(path), path, &b_key, fi_b.id(), &forged).await;
    assert_eq!(s, 401, "an FI cannot speak for the central bank: {v}");
    let as_a = ClaimBatch {
        from_fi: fi_a.id().to_string(),
        ..forged.clone()
    };
    let (s, v) = cb.claims(&b_key, fi_b.id(), &as_a).await;
    assert_eq!(s, 403, "B cannot claim for A: {v}");
    // A claim for a merchant who is not the payee, and one on B's own notes, are refused.
    let wrong_payee = ClaimBatch {
        claims: vec![
            Claim {
                depositor: bob.id().to_string(),
                ..forged.claims[0].clone()
            },
            Claim {
                issuer: fi_b.id().to_string(),
                payment: STANDARD.encode(bob_to_shop_b.to_bytes()),
                depositor: shop_b.id().to_string(),
                deposited_at: now,
            },
        ],
        ..forged.clone()
    };
    let (s, v) = cb.claims(&b_key, fi_b.id(), &wrong_payee).await;
    assert_eq!(s, 200, "{v}");
    let answers: ClaimAnswers = serde_json::from_value(v).unwrap();
    assert!(
        answers
            .answers
            .iter()
            .all(|x| x.status == ClaimStatus::Refused),
        "{answers:?}"
    );
    assert!(
        fraud_cases(&a).await.is_empty(),
        "refused claims reach no ledger"
    );

    // Before any clearing run a bank offers only itself to its users.
    let banks = |v: &Value| -> Vec<(String, String)> {
        v["banks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["name"].as_str().unwrap().to_owned(),
                    b["url"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let (status, listed) = a.get(ops_api::paths::BANKS).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(banks(&listed), [("Bank A".to_owned(), String::new())]);

    // Clearing: each FI forwards its claims; the issuer's ledger sees both copies.
    let rb = run_clearing(&b).await;
    assert_eq!(
        (rb["sent"].as_u64(), rb["credited"].as_u64()),
        (Some(3), Some(3)),
        "{rb}"
    );
    let ra = run_clearing(&a).await;
    assert_eq!(
        (ra["sent"].as_u64(), ra["credited"].as_u64()),
        (Some(1), Some(1)),
        "{ra}"
    );
    // The central bank listed its members: each bank now offers the other (named by its
    // certificate, at the address the central bank knows) after itself.
    for (fi, own, other, port) in [
        (&a, "Bank A", "Bank B", b.port),
        (&b, "Bank B", "Bank A", a.port),
    ] {
        let (status, listed) = fi.get(ops_api::paths::BANKS).await;
        assert_eq!(status, 200, "{listed}");
        assert_eq!(
            banks(&listed),
            [
                (own.to_owned(), String::new()),
                (other.to_owned(), format!("http://127.0.0.1:{port}"))
            ]
        );
    }
    let cases = fraud_cases(&a).await;
    let culprits = |cases: &[Value]| {
        let mut c: Vec<String> = cases
            .iter()
            .map(|c| c["culprit"].as_str().unwrap().to_owned())
            .collect();
        c.sort();
        c
    };
    let mut both = vec![mallory.id().to_string(), bob.id().to_string()];
    both.sort();
    assert_eq!(
        culprits(&cases),
        both,
        "one case per copied pair, at the issuer: {cases:?}"
    );
    // Bob is B's: A handed the proof to B through the central bank, and B revoked him
    // (its record of the proof is its only case; Mallory's copy opened none at B).
    assert_eq!(ra["proofs_forwarded"].as_u64(), Some(1), "{ra}");
    let cases_b = fraud_cases(&b).await;
    assert_eq!(
        culprits(&cases_b),
        vec![bob.id().to_string()],
        "{cases_b:?}"
    );
    let (_, crl_b) = b.get(ops_api::paths::CRL).await;
    assert!(
        crl_b["revoked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_u64() == Some(bob.cert.body.serial)),
        "B revoked its device on A's proof: {crl_b}"
    );
    assert_eq!(
        run_clearing(&a).await["proofs_forwarded"].as_u64(),
        Some(0),
        "handed over once"
    );
    let (_, crl) = a.get(ops_api::paths::CRL).await;
    assert!(
        crl["revoked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_u64() == Some(mallory.cert.body.serial)),
        "the culprit is in its FI's CRL: {crl}"
    );

    // The revocation reaches B's devices: B's CRL answer carries A's list (received
    // through the central bank), and a payee of B holding it declines Mallory's next
    // copy offline. Were it accepted anyway, B's settlement still forwards it and A
    // holds it for its operator (it duplicates value of a culprit revoked before).
    let (s, v) = b.get(ops_api::paths::CRL).await;
    assert_eq!(s, 200, "{v}");
    let published: ops_api::CrlResponse = serde_json::from_value(v).unwrap();
    let root = ops_ceremony::read_cert(&keys.join("root/root.cert")).unwrap();
    let mut crls = ops_core::crl_store::CrlStore::new();
    for p in &published.peers {
        let crl = ops_core::Crl::from_bytes(&STANDARD.decode(p).unwrap()).unwrap();
        let issuer = [&fi_a, &root]
            .into_iter()
            .find(|c| c.id() == crl.body.issuer)
            .unwrap();
        crls.insert(crl, issuer, &ops_core::P256Provider).unwrap();
    }
    assert!(
        crls.get(&fi_a.id())
            .is_some_and(|c| c.body.revoked.contains(&mallory.cert.body.serial)),
        "B publishes A's CRL naming the culprit"
    );
    let third = common::payment(
        certs_a(&mallory),
        mn,
        vec![mallory.spend(mn.note_id(), 300, 500, shop_b.id(), 9)],
    )
    .canonical();
    let known = [fi_a.clone(), fi_b.clone()];
    let policy = ops_core::verify::Policy::from_root(&root);
    let verifier = ops_core::verify::Verifier {
        root: &root,
        known_certs: &known,
        crls: &crls,
        policy: &policy,
        provider: &ops_core::P256Provider,
    };
    let refused = verifier.verify_deposit(
        &shop_b.id(),
        &third,
        &ops_core::ledger::NoHistory,
        common::now(),
    );
    assert!(
        matches!(refused, Err(ops_core::verify::VerifyError::Revoked { .. })),
        "{refused:?}"
    );
    deposit_ok(&b, &third, shop_b.id(), 200).await;
    let rb = run_clearing(&b).await;
    assert_eq!(
        (rb["sent"].as_u64(), rb["held"].as_u64()),
        (Some(1), Some(1)),
        "{rb}"
    );
    assert_eq!(
        fraud_cases(&a).await.len(),
        2,
        "a held claim opens no case until an operator decides"
    );

    // Replays change nothing: a second run sends only the held claim again (still held);
    // the same claims again through the central bank are answered from its records, no
    // new case, no new credit.
    let again = run_clearing(&b).await;
    assert_eq!(
        (again["sent"].as_u64(), again["held"].as_u64()),
        (Some(1), Some(1)),
        "{again}"
    );
    let replay = ClaimBatch {
        claims: vec![forged.claims[0].clone()],
        ..forged.clone()
    };
    let (s, v) = cb.claims(&b_key, fi_b.id(), &replay).await;
    assert_eq!(s, 200, "{v}");
    let answers: ClaimAnswers = serde_json::from_value(v).unwrap();
    assert_eq!(
        (answers.answers[0].status, answers.answers[0].credited),
        (ClaimStatus::Credited, 400)
    );
    assert_eq!(fraud_cases(&a).await.len(), 2);

    // What each FI's books say it owes and is owed is what the central bank recorded.
    let (sa, sb) = (summary(&a).await, summary(&b).await);
    assert_eq!((sa.credited, sa.credited_value, sa.pending), (1, 200, 0));
    assert_eq!(
        (sb.credited, sb.credited_value, sb.pending, sb.held),
        (3, 800, 0, 1)
    );
    assert_eq!(
        sa.owed_to_peers,
        vec![ops_api::clearing::Position {
            fi: fi_b.id().to_string(),
            net: 800
        }]
    );
    assert_eq!(
        sb.owed_to_peers,
        vec![ops_api::clearing::Position {
            fi: fi_a.id().to_string(),
            net: 200
        }]
    );

    // The cycle nets to zero: B is owed 800 for A's notes, owes 200 for B's.
    let (s, v) = cb.admin(true, ops_api::paths::CB_CYCLES).await;
    assert_eq!(s, 200, "{v}");
    let cycle: CycleStatement = serde_json::from_value(v).unwrap();
    assert_eq!((cycle.claims, cycle.gross), (4, 1_000));
    let net = |fi: &ops_core::Certificate| {
        cycle
            .positions
            .iter()
            .find(|p| p.fi == fi.id().to_string())
            .map(|p| p.net)
    };
    assert_eq!((net(&fi_a), net(&fi_b)), (Some(-600), Some(600)));
    assert_eq!(
        net(&fi_b),
        Some(sb.credited_value - sb.owed_to_peers[0].net),
        "B's position is what its books say"
    );
    let (s, v) = cb.admin(true, ops_api::paths::CB_CYCLES).await;
    assert_eq!(
        (s, v["cycle"].as_i64()),
        (200, Some(0)),
        "nothing is netted twice: {v}"
    );
    let (_, reserves) = cb.admin(false, ops_api::paths::CB_RESERVES).await;
    let total: i64 = reserves["balances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["net"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 0, "{reserves}");

    // Every audit is clean; A's per-note ledger holds every claim on its notes.
    let (s, audit) = cb.admin(false, ops_api::paths::CB_AUDIT).await;
    assert_eq!(s, 200, "{audit}");
    assert_eq!(audit["violations"], json!([]), "{audit}");
    let audit_a = a.store().await.audit().await.unwrap();
    assert!(audit_a.violations.is_empty(), "{:?}", audit_a.violations);
    assert_eq!(
        (audit_a.issued, audit_a.excess, audit_a.unclaimed),
        (1_500, 400 + 100, 1_500 - (300 + 50 + 100 + 400)),
        "A: issued = claimed once + unclaimed, the copy is the excess"
    );
    let audit_b = b.store().await.audit().await.unwrap();
    assert!(audit_b.violations.is_empty(), "{:?}", audit_b.violations);
    assert_eq!(
        (audit_b.issued, audit_b.excess),
        (800, 0),
        "B's record of Bob's proof duplicates nothing"
    );

    // The central bank revokes B: at A's next run B is no longer offered to A's users.
    let (s, v) = cb
        .admin(true, &format!("/cb/v1/fis/{}/revoke", fi_b.id()))
        .await;
    assert_eq!(s, 200, "{v}");
    run_clearing(&a).await;
    let (_, listed) = a.get(ops_api::paths::BANKS).await;
    assert_eq!(banks(&listed), [("Bank A".to_owned(), String::new())]);

    drop((cb, a, b));
    let _ = std::fs::remove_dir_all(keys);
}

#[tokio::test]
async fn clearing_through_the_central_bank_on_sqlite() {
    scenario([None, None, None]).await;
}

#[tokio::test]
async fn clearing_through_the_central_bank_on_postgres() {
    let pg = common::postgres::Postgres::start();
    scenario(Federation::postgres_databases(&pg, "clearing").await).await;
}

/// A cheater's replays and races on the clearing path (the "think like the attacker"
/// list): a merchant of B deposits Alice's payment on A's notes twice, then again in other
/// bytes (without the FI certificate B already holds: other bytes, the same payment hash);
/// B's operator starts two clearing runs at once. B credits the merchant once, queues one
/// claim per payment, and A credits each claim once: A owes B exactly what B's merchant
/// was paid, no case opens, every audit is clean.
async fn replays_and_racing_runs(databases: [Option<String>; 3]) {
    let now = common::now();
    let Federation {
        keys,
        fi_a,
        fi_b,
        a,
        b,
        cb,
    } = Federation::start(databases, now).await;
    let alice = a.device(a.sign_up("alice").await, 1).await;
    let shop_account = b.sign_up("shop b").await;
    let shop = b.device(shop_account, 2).await;
    let notes = a.fund(&alice, 1_000).await;
    let note = &notes[0];
    let before = b.balance(shop_account).await;
    let pay = |certs: Vec<ops_core::Certificate>, from: u64, to: u64, n: u8| {
        common::payment(
            certs,
            note,
            vec![alice.spend(note.note_id(), from, to, shop.id(), n)],
        )
        .canonical()
    };
    let first = pay(vec![fi_a.clone(), alice.cert.clone()], 0, 300, 1);
    deposit_ok(&b, &first, shop.id(), 300).await;
    // The same bytes again, and the same payment in other bytes.
    let (s, v) = b.deposit(&first, shop.id()).await;
    assert_eq!(s, 200, "{v}");
    let mut other_bytes = first.clone();
    other_bytes.certs.retain(|c| c.id() != fi_a.id());
    assert_ne!(other_bytes.to_bytes(), first.to_bytes());
    assert_eq!(other_bytes.hash(), first.hash());
    let (s, v) = b.deposit(&other_bytes, shop.id()).await;
    assert!(s == 200 || s == 409, "{s} {v}");
    assert_eq!(
        b.balance(shop_account).await,
        before + 300,
        "paid once for one payment"
    );
    assert_eq!(summary(&b).await.pending, 1, "one claim for one payment");

    // Two more payments, then two clearing runs at once.
    deposit_ok(
        &b,
        &pay(vec![fi_a.clone(), alice.cert.clone()], 300, 500, 2),
        shop.id(),
        200,
    )
    .await;
    deposit_ok(
        &b,
        &pay(vec![fi_a.clone(), alice.cert.clone()], 500, 600, 3),
        shop.id(),
        100,
    )
    .await;
    let runs = common::join_all(vec![run_clearing(&b), run_clearing(&b)]).await;
    let sent: u64 = runs.iter().filter_map(|r| r["sent"].as_u64()).sum();
    assert!((3..=6).contains(&sent), "{runs:?}");
    // Whatever the interleaving, each claim is answered once and counted once.
    let (sa, sb) = (summary(&a).await, summary(&b).await);
    assert_eq!(
        (sb.credited, sb.credited_value, sb.pending),
        (3, 600, 0),
        "{sb:?}"
    );
    assert_eq!(
        sa.owed_to_peers,
        vec![ops_api::clearing::Position {
            fi: fi_b.id().to_string(),
            net: 600
        }]
    );
    assert_eq!(b.balance(shop_account).await, before + 600);
    assert!(fraud_cases(&a).await.is_empty());
    assert!(fraud_cases(&b).await.is_empty());
    let audit_a = a.store().await.audit().await.unwrap();
    assert!(audit_a.violations.is_empty(), "{:?}", audit_a.violations);
    assert_eq!(
        (audit_a.issued, audit_a.excess, audit_a.unclaimed),
        (1_000, 0, 400)
    );
    let audit_b = b.store().await.audit().await.unwrap();
    assert!(audit_b.violations.is_empty(), "{:?}", audit_b.violations);
    // The central bank nets what it was told once.
    let (s, v) = cb.admin(true, ops_api::paths::CB_CYCLES).await;
    assert_eq!(s, 200, "{v}");
    let cycle: CycleStatement = serde_json::from_value(v.clone()).unwrap();
    assert_eq!((cycle.claims, cycle.gross), (3, 600), "{v}");
    drop((cb, a, b));
    let _ = std::fs::remove_dir_all(keys);
}

#[tokio::test]
async fn replays_and_racing_runs_on_sqlite() {
    replays_and_racing_runs([None, None, None]).await;
}

#[tokio::test]
async fn replays_and_racing_runs_on_postgres() {
    let pg = common::postgres::Postgres::start();
    replays_and_racing_runs(Federation::postgres_databases(&pg, "race").await).await;
}
