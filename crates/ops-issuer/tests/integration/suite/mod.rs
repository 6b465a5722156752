//! The API test suite, run against any backend. [`api_suite!`] lists every scenario once
//! and makes the tests of both engines from that list (the modules `api_sqlite` and
//! `api_postgres`), so a scenario cannot exist on one engine only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

/// Makes the API suite's tests for one engine, from the one list of scenarios below:
/// `api_suite!(sqlite)` one test per scenario, each on its own SQLite file;
/// `api_suite!(postgres)` one test, `api_suite_on_postgres`, that starts a PostgreSQL
/// cluster on loopback and runs every scenario in turn, each on its own database. A new
/// scenario goes into this list, and so runs on both.
///
/// Each entry is `kind test_name = scenario;`, the kind saying how the scenario is called:
/// `server` with a fresh server; `labelled` with a fresh server and the engine's name;
/// `tagged` with a tag and the database (it starts its servers itself); `store` with the
/// store opened directly.
#[allow(unused_macros)]
macro_rules! api_suite {
    ($engine:ident) => {
        $crate::suite::api_suite!(@$engine
            server fund_deposit_and_idempotence = fund_deposit_and_idempotence;
            server reported_fraud_proofs = reported_fraud_proofs;
            server lost_device_refunds = lost_device_refunds;
            server counterparty_block_list = counterparty_block_list;
            server refund_waits_for_held_deposit = refund_waits_for_held_deposit;
            server spend_status = spend_status;
            server multi_hop_payment_records_every_spend = multi_hop_payment_records_every_spend;
            server concurrent_overlapping_deposits_open_one_fraud_case = concurrent_overlapping_deposits;
            server bad_input_is_answered_with_json_errors = bad_input;
            server crl_is_versioned_and_cacheable = crl_caching;
            labelled many_parallel_deposits_are_each_credited_once = parallel_load;
            tagged crash_during_deposits_then_reupload_credits_each_once = crash_then_reupload;
            server fraud_cases_are_resolved_once_with_who_when_why = fraud_case_resolution;
            server admin_endpoints_need_the_generated_token = admin_requires_token;
            server parallel_funding_never_overdraws_nor_exceeds_the_device_limit = concurrent_funding;
            tagged sign_up_and_account_reads_are_limited = abuse_limits;
            server defund_returns_unspent_value = defund_returns_unspent_value;
            tagged per_device_rate_limit_answers_429 = per_device_rate_limit;
            server account_reads_need_a_token = account_access;
            server expired_webauthn_challenges_are_deleted = expired_challenges_are_deleted;
            server webauthn_registration_then_pay = webauthn_registration_then_pay;
            server api_hardening_metrics_bearer_keys_names_and_storage_errors = api_hardening;
            tagged fund_charges_the_device_limit_only_after_authentication = fund_limits_after_auth;
            server fund_is_idempotent_by_key = fund_is_idempotent_by_key;
            tagged device_limits_are_certified_and_enforced_at_deposit = device_limits_at_deposit;
            store database_refuses_overlapping_spends = db_refuses_overlap;
        );
    };
    (@sqlite $($kind:ident $test:ident = $scenario:ident;)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                $crate::suite::api_suite!(
                    @run $kind $scenario, stringify!($test), None::<String>, "SQLite"
                );
            }
        )*
    };
    (@postgres $($kind:ident $test:ident = $scenario:ident;)*) => {
        #[tokio::test]
        async fn api_suite_on_postgres() {
            let pg = $crate::common::postgres::Postgres::start();
            $(
                let db = pg.create_database(stringify!($scenario)).await;
                $crate::suite::api_suite!(
                    @run $kind $scenario, concat!("pg-", stringify!($test)), Some(db), "PostgreSQL"
                );
            )*
        }
    };
    (@run server $scenario:ident, $tag:expr, $db:expr, $label:expr) => {{
        let s = $crate::common::Server::start($tag, $db).await;
        $crate::suite::$scenario(&s).await;
        drop(s);
    }};
    (@run labelled $scenario:ident, $tag:expr, $db:expr, $label:expr) => {{
        let s = $crate::common::Server::start($tag, $db).await;
        $crate::suite::$scenario(&s, $label).await;
        drop(s);
    }};
    (@run tagged $scenario:ident, $tag:expr, $db:expr, $label:expr) => {{
        $crate::suite::$scenario($tag, $db).await;
    }};
    (@run store $scenario:ident, $tag:expr, $db:expr, $label:expr) => {{
        let dir = $crate::common::temp_dir($tag);
        let location = $db.unwrap_or_else(|| {
            dir.join("issuer.sqlite").to_str().unwrap().to_owned()
        });
        let store = ops_issuer::store::Store::connect(&location).await.unwrap();
        $crate::suite::$scenario(&store).await;
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }};
}
#[allow(unused_imports)]
pub(crate) use api_suite;

use crate::common::{STARTING, Server, payment};
use serde_json::json;

/// A retry (in any bytes) of a settled payment: the same payment, account and amount,
/// nothing newly credited, recorded or opened.
#[track_caller]
pub fn assert_retry(again: &serde_json::Value, first: &serde_json::Value) {
    for field in ["payment_hash", "account_id", "amount", "status"] {
        assert_eq!(again[field], first[field], "{field}: {again} / {first}");
    }
    for field in ["credited", "spends_recorded", "fraud_cases"] {
        assert_eq!(again[field], 0, "{field}: {again}");
    }
}

pub async fn fund_deposit_and_idempotence(s: &Server) {
    let alice = s.sign_up("alice").await;
    let shop = s.sign_up("shop").await;
    assert_eq!(s.balance(alice).await, STARTING);
    let wallet = s.device(alice, 1).await;
    let pos = s.device(shop, 2).await;
    let fi = s.fi_cert().await;

    let notes = s.fund(&wallet, 5_000).await;
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].body.owner, wallet.id());
    assert_eq!(s.balance(alice).await, STARTING - 5_000);

    let spend = wallet.spend(notes[0].note_id(), 0, 1_200, pos.id(), 1);
    let p = payment(
        vec![fi.clone(), wallet.cert.clone()],
        &notes[0],
        vec![spend],
    );
    let (status, first) = s.deposit(&p, pos.id()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["amount"], 1_200);
    assert_eq!(first["spends_recorded"], 1);
    assert_eq!(first["fraud_cases"], 0);
    assert_eq!(s.balance(shop).await, STARTING + 1_200);

    assert_eq!(first["credited"], 1_200);
    // The same payment again: nothing more credited.
    let (status, again) = s.deposit(&p, pos.id()).await;
    assert_eq!(status, 200, "{again}");
    assert_retry(&again, &first);
    assert_eq!(s.balance(shop).await, STARTING + 1_200);

    // A second payment from the rest of the note.
    let spend2 = wallet.spend(notes[0].note_id(), 1_200, 2_000, pos.id(), 2);
    let p2 = payment(vec![fi, wallet.cert.clone()], &notes[0], vec![spend2]);
    let (status, v) = s.deposit(&p2, pos.id()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(s.balance(shop).await, STARTING + 2_000);

    let m = s.metrics().await;
    assert_eq!(m["ops_deposits"], 2);
    assert_eq!(m["ops_outstanding_value"], 3_000);
    assert_eq!(m["ops_fraud_cases"], 0);
    s.assert_conserved(STARTING).await;

    // Funding above the device's limit or the balance is refused, nothing written.
    let (status, v) = s
        .admin_post(
            "/api/v1/fund",
            json!({"device": wallet.id().to_string(), "amount": 100_000}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"]["code"], "above_device_limit");
    assert_eq!(s.balance(alice).await, STARTING - 5_000);
}

pub async fn multi_hop_payment_records_every_spend(s: &Server) {
    let a = s.sign_up("a").await;
    let b = s.sign_up("b").await;
    let shop = s.sign_up("shop").await;
    let wa = s.device(a, 11).await;
    let wb = s.device(b, 12).await;
    let pos = s.device(shop, 13).await;
    let fi = s.fi_cert().await;
    let notes = s.fund(&wa, 1_000).await;
    let s1 = wa.spend(notes[0].note_id(), 0, 600, wb.id(), 1);
    let s2 = wb.spend(s1.id(), 0, 250, pos.id(), 2);
    let p = payment(
        vec![fi, wa.cert.clone(), wb.cert.clone()],
        &notes[0],
        vec![s1, s2],
    );
    let (status, v) = s.deposit(&p, pos.id()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["amount"].as_i64(), v["spends_recorded"].as_i64()),
        (Some(250), Some(2))
    );
    assert_eq!(s.balance(shop).await, STARTING + 250);
    assert_eq!(s.metrics().await["ops_spends_recorded"], 2);
    s.assert_conserved(STARTING).await;
}

pub async fn concurrent_overlapping_deposits(s: &Server) {
    let mallory = s.sign_up("mallory").await;
    let shop1 = s.sign_up("shop 1").await;
    let shop2 = s.sign_up("shop 2").await;
    let wallet = s.device(mallory, 21).await;
    let pos1 = s.device(shop1, 22).await;
    let pos2 = s.device(shop2, 23).await;
    let fi = s.fi_cert().await;
    let notes = s.fund(&wallet, 1_000).await;
    assert_eq!(s.balance(mallory).await, STARTING - 1_000);
    let note = &notes[0];
    // The same range spent twice, to two payees.
    let a = wallet.spend(note.note_id(), 0, 600, pos1.id(), 1);
    let b = wallet.spend(note.note_id(), 100, 700, pos2.id(), 2);
    let pa = payment(vec![fi.clone(), wallet.cert.clone()], note, vec![a]);
    let pb = payment(vec![fi.clone(), wallet.cert.clone()], note, vec![b]);
    let (ra, rb) = tokio::join!(s.deposit(&pa, pos1.id()), s.deposit(&pb, pos2.id()));
    assert_eq!(ra.0, 200, "{}", ra.1);
    assert_eq!(rb.0, 200, "{}", rb.1);
    assert_eq!(
        ra.1["fraud_cases"].as_i64().unwrap() + rb.1["fraud_cases"].as_i64().unwrap(),
        1,
        "exactly one deposit found the double spend: {} / {}",
        ra.1,
        rb.1
    );
    // Guaranteed settlement: both honest payees are credited.
    assert_eq!(s.balance(shop1).await, STARTING + 600);
    assert_eq!(s.balance(shop2).await, STARTING + 600);
    // The culprit is debited the overlap (500) and revoked.
    assert_eq!(s.balance(mallory).await, STARTING - 1_000 - 500);
    let (status, cases) = s.admin_get("/api/v1/fraud-cases").await;
    assert_eq!(status, 200);
    let cases = cases["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["culprit"], wallet.id().to_string());
    assert_eq!(cases[0]["overlap"], 500);
    assert_eq!(cases[0]["debited"], 500);
    // The stored proof verifies on its own against the root.
    use base64::Engine as _;
    let proof = ops_core::FraudProof::from_bytes(
        &base64::engine::general_purpose::STANDARD
            .decode(cases[0]["proof"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let (_, trust) = s.get("/api/v1/trust").await;
    let root = ops_core::Certificate::from_bytes(
        &base64::engine::general_purpose::STANDARD
            .decode(trust["root"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let verdict = proof
        .verify(&root, ops_core::provider::default_provider())
        .unwrap();
    assert_eq!(verdict.culprit, wallet.id());
    let (_, crl) = s.get("/api/v1/crl").await;
    assert_eq!(crl["revoked"], json!([wallet.cert.body.serial]));
    assert_eq!(crl["version"], 1);
    // The revoked device cannot be funded again.
    let (status, v) = s
        .admin_post(
            "/api/v1/fund",
            json!({"device": wallet.id().to_string(), "amount": 10}),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("device_revoked"))
    );
    // Re-uploading either payment changes nothing.
    assert_retry(&s.deposit(&pa, pos1.id()).await.1, &ra.1);
    assert_retry(&s.deposit(&pb, pos2.id()).await.1, &rb.1);
    assert_eq!(s.metrics().await["ops_fraud_cases"], 1);
    s.assert_conserved(STARTING).await;
}

pub async fn bad_input(s: &Server) {
    let shop = s.sign_up("shop").await;
    let pos = s.device(shop, 31).await;
    let wallet = s.device(shop, 32).await;
    let fi = s.fi_cert().await;
    let expect = |r: (u16, serde_json::Value), status: u16, code: &str| {
        assert_eq!(r.0, status, "{}", r.1);
        assert_eq!(r.1["error"]["code"], code, "{}", r.1);
        assert!(r.1["error"]["message"].as_str().unwrap().len() > 10);
    };
    let raw = |body: &'static str| {
        let req = s
            .http
            .post(s.url("/api/v1/deposits"))
            .header("content-type", "application/json")
            .body(body);
        async move {
            let r = req.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    expect(raw("{not json").await, 400, "malformed_json");
    expect(
        s.admin_post(
            "/api/v1/deposits",
            json!({"payment": "!!", "depositor": pos.id().to_string()}),
        )
        .await,
        400,
        "malformed_base64",
    );
    expect(
        s.admin_post(
            "/api/v1/deposits",
            json!({"payment": "AAAA", "depositor": "zz"}),
        )
        .await,
        400,
        "malformed_id",
    );
    expect(
        s.admin_post(
            "/api/v1/deposits",
            json!({"payment": "AAAA", "depositor": pos.id().to_string()}),
        )
        .await,
        400,
        "malformed_payment",
    );
    // A forged spend (signature over another body) does not verify.
    let notes = s.fund(&wallet, 100).await;
    let mut spend = wallet.spend(notes[0].note_id(), 0, 50, pos.id(), 1);
    spend.body.to = 100;
    let p = payment(
        vec![fi.clone(), wallet.cert.clone()],
        &notes[0],
        vec![spend],
    );
    expect(s.deposit(&p, pos.id()).await, 422, "payment_invalid");
    // Depositing to someone who is not the payee.
    let spend = wallet.spend(notes[0].note_id(), 0, 50, pos.id(), 2);
    let p = payment(vec![fi, wallet.cert.clone()], &notes[0], vec![spend]);
    expect(s.deposit(&p, wallet.id()).await, 422, "payment_invalid");
    let unknown = "00112233445566778899aabbccddeeff";
    expect(
        s.deposit(
            &p,
            ops_core::CertId(
                <[u8; 16]>::try_from(ops_core::ids::from_hex(unknown).unwrap()).unwrap(),
            ),
        )
        .await,
        404,
        "unknown_depositor",
    );
    // Two overlapping spends of one note inside one payment: a fraud case, no credit.
    let x = wallet.spend(notes[0].note_id(), 0, 60, pos.id(), 3);
    let y = wallet.spend(notes[0].note_id(), 50, 100, pos.id(), 4);
    let twice = ops_core::Payment {
        certs: vec![s.fi_cert().await, wallet.cert.clone()],
        chains: vec![
            ops_core::Chain {
                issuance: notes[0].clone(),
                spends: vec![x],
            },
            ops_core::Chain {
                issuance: notes[0].clone(),
                spends: vec![y],
            },
        ],
        crls: Vec::new(),
    };
    let before = s.balance(shop).await;
    expect(
        s.deposit(&twice, pos.id()).await,
        422,
        "double_spend_in_payment",
    );
    assert_eq!(s.metrics().await["ops_fraud_cases"], 1);
    // The culprit (this shop's own wallet) is revoked; nothing was credited, so nothing
    // was duplicated and nothing is debited (per-note conservation).
    assert_eq!(s.balance(shop).await, before);
    // Nothing else was written by any of these.
    let m = s.metrics().await;
    assert_eq!((m["ops_deposits"], m["ops_spends_recorded"]), (0, 0));
    // Oversized body, unknown endpoint, unknown account.
    let big = "x".repeat(300 * 1024);
    // Its own client: the server closes that connection after refusing the body.
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/deposits"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: serde_json::Value = r.json().await.unwrap();
    expect((status, v), 413, "body_too_large");
    expect(s.get("/api/v1/nothing").await, 404, "no_such_endpoint");
    expect(
        s.admin_get("/api/v1/accounts/999999").await,
        404,
        "no_such_account",
    );
    expect(s.get("/api/v1/accounts/999999").await, 401, "auth_required");
    expect(s.get("/api/v1/accounts/abc").await, 400, "malformed_id");
    // The apps are still served as the fallback.
    let r = s.http.get(s.url("/pos/")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

pub async fn crl_caching(s: &Server) {
    let r = s.http.get(s.url("/api/v1/crl")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["version"], 0);
    use base64::Engine as _;
    let crl = ops_core::Crl::from_bytes(
        &base64::engine::general_purpose::STANDARD
            .decode(v["crl"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let fi = s.fi_cert().await;
    assert_eq!(crl.body.issuer, fi.id());
    ops_core::sig::verify_signature(
        ops_core::provider::default_provider(),
        &fi.body.subject,
        None,
        &crl.body_bytes(),
        &crl.signature,
    )
    .unwrap();
    let r = s
        .http
        .get(s.url("/api/v1/crl"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 304);
}

/// The database itself refuses an overlapping range of one note, whatever the code does.
pub async fn db_refuses_overlap(store: &ops_issuer::store::Store) {
    let insert = |id: &'static str, note: &'static str, from: i64, to: i64, value: i64| {
        sqlx::query(
            "INSERT INTO coverage (note_id, range_from, range_to, note_value, claim_kind, claim) \
             VALUES ($1, $2, $3, $4, 'spend', $5)",
        )
        .bind(note)
        .bind(from)
        .bind(to)
        .bind(value)
        .bind(id)
        .execute(store.pool())
    };
    for note in ["n1", "n2"] {
        sqlx::query(
            "INSERT INTO ledger_notes (note_id, value, owner, kind) VALUES ($1, 100, 'o', 'issuance')",
        )
        .bind(note)
        .execute(store.pool())
        .await
        .unwrap();
    }
    insert("a", "n1", 0, 10, 100).await.unwrap();
    insert("b", "n1", 10, 20, 100).await.unwrap();
    insert("c", "n2", 5, 15, 100).await.unwrap();
    for (id, from, to) in [("d", 9, 11), ("e", 0, 5), ("f", 15, 16), ("g", 0, 100)] {
        let e = insert(id, "n1", from, to, 100).await.unwrap_err();
        let sqlx::Error::Database(e) = e else {
            panic!("{e}")
        };
        assert!(
            e.message().contains("double spend")
                || matches!(e.code().as_deref(), Some("23P01" | "23505")),
            "{e}"
        );
    }
    assert!(
        insert("h", "n1", 5, 5, 100).await.is_err(),
        "empty range refused"
    );
    assert!(
        insert("j", "n1", 90, 101, 100).await.is_err(),
        "a range beyond the note's value refused"
    );
    assert!(
        insert("k", "n1", 40, 50, 200).await.is_err(),
        "a second value for one note refused"
    );
    assert!(
        insert("l", "n3", 0, 10, 100).await.is_err(),
        "coverage of a note the ledger does not know refused"
    );
    insert("i", "n1", 20, 30, 100).await.unwrap();
    // Coverage is never changed or removed.
    assert!(
        sqlx::query("UPDATE coverage SET range_to = 25 WHERE claim = 'i'")
            .execute(store.pool())
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM coverage WHERE claim = 'a'")
            .execute(store.pool())
            .await
            .is_err()
    );
    // Spends themselves may overlap: conflicting spends are recorded too.
    for (id, from, to) in [("s1", 0, 10), ("s2", 5, 15)] {
        sqlx::query(
            "INSERT INTO spends (spend_id, input_note, range_from, range_to, payee, signer, deposit, spend) \
             VALUES ($1, 'n1', $2, $3, 'p', 's', 'd', $4)",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(vec![0u8])
        .execute(store.pool())
        .await
        .unwrap();
    }
}

/// A batch of valid payments: `payers` wallets each pay `per_payer` disjoint slices of one
/// note to two POS terminals. Returns (payment, depositor) pairs and the total value.
pub async fn payment_batch(
    s: &Server,
    payers: usize,
    per_payer: u64,
    seed: u64,
) -> (Vec<(ops_core::Payment, ops_core::CertId)>, i64, [i64; 2]) {
    let shop_a = s.sign_up("shop a").await;
    let shop_b = s.sign_up("shop b").await;
    let pos = [
        s.device(shop_a, seed).await,
        s.device(shop_b, seed + 1).await,
    ];
    let fi = s.fi_cert().await;
    let mut out = Vec::new();
    let mut total = 0;
    for p in 0..payers {
        let account = s.sign_up("payer").await;
        let wallet = s.device(account, seed + 10 + p as u64).await;
        let notes = s.fund(&wallet, per_payer * 10).await;
        for i in 0..per_payer {
            let to = &pos[(i % 2) as usize];
            let spend = wallet.spend(notes[0].note_id(), i * 10, i * 10 + 10, to.id(), 1);
            out.push((
                payment(
                    vec![fi.clone(), wallet.cert.clone()],
                    &notes[0],
                    vec![spend],
                ),
                to.id(),
            ));
            total += 10;
        }
    }
    (out, total, [shop_a, shop_b])
}

/// Deposits every payment with `parallel` requests in flight; returns how many answered
/// 200 and the elapsed time.
pub async fn deposit_all(
    s: &Server,
    batch: &[(ops_core::Payment, ops_core::CertId)],
    parallel: usize,
) -> (usize, std::time::Duration) {
    use base64::Engine as _;
    let started = std::time::Instant::now();
    let mut ok = 0;
    for chunk in batch.chunks(parallel) {
        let mut set = tokio::task::JoinSet::new();
        for (p, depositor) in chunk {
            let req = s
                .http
                .post(s.url("/api/v1/deposits"))
                .bearer_auth(&s.admin_token)
                .json(&json!({
                    "payment": base64::engine::general_purpose::STANDARD.encode(p.to_bytes()),
                    "depositor": depositor.to_string(),
                }));
            set.spawn(async move { req.send().await.map(|r| r.status().as_u16()) });
        }
        while let Some(r) = set.join_next().await {
            if matches!(r, Ok(Ok(200))) {
                ok += 1;
            }
        }
    }
    (ok, started.elapsed())
}

/// Many deposits in parallel: every one credited once, value conserved. Prints deposits
/// per second next to raw signature verifications per second.
pub async fn parallel_load(s: &Server, label: &str) {
    let (batch, total, shops) = payment_batch(s, 4, 100, 100).await;
    let (ok, elapsed) = deposit_all(s, &batch, 32).await;
    assert_eq!(ok, batch.len());
    let credited = s.balance(shops[0]).await + s.balance(shops[1]).await - 2 * STARTING;
    assert_eq!(credited, total);
    // Everything again: nothing more credited.
    let (ok, _) = deposit_all(s, &batch, 32).await;
    assert_eq!(ok, batch.len());
    let m = s.metrics().await;
    assert_eq!(m["ops_deposits"], batch.len() as i64);
    assert_eq!(m["ops_credited_value_total"], total);
    s.assert_conserved(STARTING).await;
    let rate = batch.len() as f64 / elapsed.as_secs_f64();
    let verify = raw_verifications_per_second(&batch[0].0);
    println!(
        "{label}: {} deposits in {:.2} s = {rate:.0} deposits/s (32 in flight); raw spend-signature verifications: {verify:.0}/s (one core, this process)",
        batch.len(),
        elapsed.as_secs_f64()
    );
}

fn raw_verifications_per_second(p: &ops_core::Payment) -> f64 {
    let spend = &p.chains[0].spends[0];
    let key = &p.certs[1].body.subject;
    let body = spend.body_bytes();
    let n = 500;
    let started = std::time::Instant::now();
    for _ in 0..n {
        ops_core::sig::verify_signature(
            &ops_core::provider::RingProvider,
            key,
            None,
            &body,
            &spend.signature,
        )
        .unwrap();
    }
    f64::from(n) / started.elapsed().as_secs_f64()
}

/// Defund: the wallet pays its unspent range back to the FI; its account is credited once.
pub async fn defund_returns_unspent_value(s: &Server) {
    use base64::Engine as _;
    let alice = s.sign_up("alice").await;
    let shop = s.sign_up("shop").await;
    let wallet = s.device(alice, 41).await;
    let pos = s.device(shop, 42).await;
    let fi = s.fi_cert().await;
    let notes = s.fund(&wallet, 1_000).await;
    let pay = wallet.spend(notes[0].note_id(), 0, 300, pos.id(), 1);
    let p = payment(vec![fi.clone(), wallet.cert.clone()], &notes[0], vec![pay]);
    assert_eq!(s.deposit(&p, pos.id()).await.0, 200);
    let back = wallet.spend(notes[0].note_id(), 300, 1_000, fi.id(), 2);
    let d = payment(vec![fi.clone(), wallet.cert.clone()], &notes[0], vec![back]);
    let body = json!({"payment": base64::engine::general_purpose::STANDARD.encode(d.to_bytes())});
    let (status, first) = s.post("/api/v1/defund", body.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["amount"], 700);
    assert_eq!(s.balance(alice).await, STARTING - 300);
    let (status, again) = s.post("/api/v1/defund", body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (&again["amount"], &again["credited"]),
        (&json!(700), &json!(0))
    );
    assert_eq!(s.balance(alice).await, STARTING - 300);
    let m = s.metrics().await;
    assert_eq!(m["ops_outstanding_value"], 0);
    s.assert_conserved(STARTING).await;
    // Returning a range already returned, in another body, is a double spend.
    let again = wallet.spend(notes[0].note_id(), 900, 1_000, fi.id(), 3);
    let d2 = payment(vec![fi, wallet.cert.clone()], &notes[0], vec![again]);
    let (status, v) = s
        .post(
            "/api/v1/defund",
            json!({"payment": base64::engine::general_purpose::STANDARD.encode(d2.to_bytes())}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["fraud_cases"], 1);
    // Credited 100 and debited the same 100 as the culprit: no gain.
    assert_eq!(s.balance(alice).await, STARTING - 300);
    s.assert_conserved(STARTING).await;
}

/// Logs in with the wallet's passkey; returns the session token.
pub async fn passkey_login(
    s: &Server,
    wallet: &mut ops_core::testing::Device,
    credential: &str,
) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let ops_core::testing::DeviceSigner::WebAuthn(auth) = &mut wallet.signer else {
        panic!("a WebAuthn wallet")
    };
    let (_, c) = s
        .post(
            "/api/v1/login/challenge",
            json!({"credential_id": credential}),
        )
        .await;
    // Both answers are read through the shared API types, as the apps read them.
    let c: ops_api::LoginChallenge = serde_json::from_value(c).unwrap();
    let a = auth.assert(&b64.decode(&c.challenge).unwrap());
    let request = ops_api::LoginRequest {
        challenge_id: c.challenge_id,
        credential_id: credential.to_owned(),
        authenticator_data: b64.encode(&a.authenticator_data),
        client_data_json: b64.encode(&a.client_data_json),
        signature: b64.encode(&a.signature_der),
    };
    let (status, v) = s
        .post("/api/v1/login", serde_json::to_value(request).unwrap())
        .await;
    assert_eq!(status, 200, "{v}");
    let session: ops_api::Session = serde_json::from_value(v).unwrap();
    session.token
}

/// A `none`-attestation registration response from the soft authenticator with `seed`,
/// as `navigator.credentials.create` returns it (a device-bound key: UP, UV).
pub fn soft_registration(
    seed: u64,
    rp_id: &str,
    origin: &str,
    challenge: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    soft_registration_with_flags(seed, rp_id, origin, challenge, 0x01 | 0x04)
}

/// [`soft_registration`] with the authenticator data flags `flags` (AT is added), e.g.
/// BE and BS for a synced passkey.
pub fn soft_registration_with_flags(
    seed: u64,
    rp_id: &str,
    origin: &str,
    challenge: &[u8],
    flags: u8,
) -> (Vec<u8>, Vec<u8>) {
    use base64::Engine as _;
    let secret = ops_core::testing::secret_from_seed("ops soft authenticator", seed);
    let key = p256::ecdsa::SigningKey::from_slice(&secret).unwrap();
    let point = key.verifying_key().to_encoded_point(false);
    let mut cose = minicbor::Encoder::new(Vec::new());
    cose.map(5).unwrap();
    cose.i8(1).unwrap().i8(2).unwrap();
    cose.i8(3).unwrap().i8(-7).unwrap();
    cose.i8(-1).unwrap().i8(1).unwrap();
    cose.i8(-2).unwrap().bytes(point.x().unwrap()).unwrap();
    cose.i8(-3).unwrap().bytes(point.y().unwrap()).unwrap();
    let mut auth_data = ops_core::ids::sha256(rp_id.as_bytes()).to_vec();
    auth_data.push(flags | 0x40); // AT
    auth_data.extend_from_slice(&0u32.to_be_bytes());
    auth_data.extend_from_slice(&[0u8; 16]); // AAGUID
    let credential_id = [seed as u8; 16];
    auth_data.extend_from_slice(&(credential_id.len() as u16).to_be_bytes());
    auth_data.extend_from_slice(&credential_id);
    auth_data.extend_from_slice(&cose.into_writer());
    let mut att = minicbor::Encoder::new(Vec::new());
    att.map(3).unwrap();
    att.str("fmt").unwrap().str("none").unwrap();
    att.str("attStmt").unwrap().map(0).unwrap();
    att.str("authData").unwrap().bytes(&auth_data).unwrap();
    let cdj = format!(
        "{{\"type\":\"webauthn.create\",\"challenge\":\"{}\",\"origin\":\"{origin}\",\"crossOrigin\":false}}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(challenge)
    );
    (cdj.into_bytes(), att.into_writer())
}

/// WebAuthn registration → device certificate with the assertion policy → funded → pays a
/// POS with WebAuthn-signed spends → the deposit verifies and credits.
pub async fn webauthn_registration_then_pay(s: &Server) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (alice, alice_token) = s.sign_up_with_token("alice").await;
    let (shop, shop_token) = s.sign_up_with_token("shop").await;
    let pos = s.device(shop, 61).await;
    let origin = format!("http://localhost:{}", s.port);
    // Registering a device for an account needs the account's token (or a passkey
    // session of it, or the admin token): nobody else can add a passkey to it.
    let (status, v) = s
        .post(
            "/api/v1/registrations/challenge",
            json!({"account_id": alice}),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("auth_required")),
        "{v}"
    );
    let (status, v) = s
        .post_as(
            &shop_token,
            "/api/v1/registrations/challenge",
            json!({"account_id": alice}),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("no_such_account")),
        "{v}"
    );
    let ask = || {
        s.post_as(
            &alice_token,
            "/api/v1/registrations/challenge",
            json!({"account_id": alice}),
        )
    };
    let (status, c) = ask().await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["rp_id"], "localhost");
    let challenge = b64.decode(c["challenge"].as_str().unwrap()).unwrap();
    let (cdj, att) = soft_registration(7, "localhost", &origin, &challenge);
    let body = json!({
        "challenge_id": c["challenge_id"],
        "client_data_json": b64.encode(&cdj),
        "attestation_object": b64.encode(&att),
        "name": "Alice's phone",
    });
    // A name that cannot be certified is refused before the challenge is consumed.
    for (name, code) in [
        ("x".repeat(300), "name_too_long"),
        ("Demo Bank\u{202E}".to_owned(), "name_invalid"),
    ] {
        let mut bad = body.clone();
        bad["name"] = json!(name);
        let (status, v) = s.post("/api/v1/registrations", bad).await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (400, Some(code)),
            "{v}"
        );
    }
    let (status, reg) = s.post("/api/v1/registrations", body.clone()).await;
    assert_eq!(status, 201, "{reg}");
    assert_eq!(reg["account_id"], alice);
    // A self-service name is not certified: the certificate carries none; the name comes
    // back as self-declared.
    assert_eq!(reg["self_declared_name"], "Alice's phone");
    let registered = ops_core::Certificate::from_bytes(
        &base64::engine::general_purpose::STANDARD
            .decode(reg["cert"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        registered.body.name, None,
        "an unchecked name was certified"
    );
    // The challenge is single-use.
    let (status, v) = s.post("/api/v1/registrations", body).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("challenge_invalid"))
    );
    // A response to another challenge, or from another origin, is refused.
    let (_, c2) = ask().await;
    let (cdj, att) = soft_registration(
        8,
        "localhost",
        "https://evil.example",
        &b64.decode(c2["challenge"].as_str().unwrap()).unwrap(),
    );
    let (status, v) = s
        .post(
            "/api/v1/registrations",
            json!({"challenge_id": c2["challenge_id"], "client_data_json": b64.encode(&cdj), "attestation_object": b64.encode(&att)}),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("registration_refused")),
        "{v}"
    );

    let cert = ops_core::Certificate::from_bytes(
        &base64::engine::general_purpose::STANDARD
            .decode(reg["cert"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let policy = cert.body.webauthn.clone().unwrap();
    assert_eq!(policy.rp_id, "localhost");
    assert!(policy.user_verification);
    let mut wallet = ops_core::testing::Device {
        cert: cert.clone(),
        signer: ops_core::testing::DeviceSigner::WebAuthn(
            ops_core::testing::SoftAuthenticator::new(7, "localhost", &origin),
        ),
    };
    // A WebAuthn wallet is funded only in a passkey session of its account.
    let (status, v) = s
        .post(
            "/api/v1/fund",
            json!({"device": cert.id().to_string(), "amount": 800}),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("no_session")),
        "{v}"
    );
    let token = passkey_login(s, &mut wallet, reg["credential_id"].as_str().unwrap()).await;
    let r = s
        .http
        .post(s.url("/api/v1/fund"))
        .bearer_auth(&token)
        .json(&json!({"device": cert.id().to_string(), "amount": 800}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let f: serde_json::Value = r.json().await.unwrap();
    let note = ops_core::Issuance::from_bytes(
        &base64::engine::general_purpose::STANDARD
            .decode(f["notes"][0].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let body = ops_core::SpendBody {
        input: note.note_id(),
        from: 0,
        to: 500,
        payee: pos.id(),
        request: ops_core::Digest32([9; 32]),
        time: crate::common::now(),
    };
    let spend = ops_core::testing::World::spend_by(&mut wallet, body);
    assert!(matches!(spend.signature, ops_core::Signature::WebAuthn(_)));
    let p = payment(vec![s.fi_cert().await, cert], &note, vec![spend]);
    let (status, v) = s.deposit(&p, pos.id()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(s.balance(shop).await, STARTING + 500);
    assert_eq!(s.balance(alice).await, STARTING - 800);
    s.assert_conserved(STARTING).await;

    // Passkey login with the same credential.
    let ops_core::testing::DeviceSigner::WebAuthn(auth) = &mut wallet.signer else {
        panic!("a WebAuthn wallet")
    };
    let credential = reg["credential_id"].as_str().unwrap();
    let (status, c) = s
        .post(
            "/api/v1/login/challenge",
            json!({"credential_id": credential}),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    let challenge = b64.decode(c["challenge"].as_str().unwrap()).unwrap();
    let a = auth.assert(&challenge);
    let login = json!({
        "challenge_id": c["challenge_id"],
        "credential_id": credential,
        "authenticator_data": b64.encode(&a.authenticator_data),
        "client_data_json": b64.encode(&a.client_data_json),
        "signature": b64.encode(&a.signature_der),
    });
    // An expired session of this device, planted in the database: refused as expired on
    // an account read, and deleted by the next login.
    let store = s.store().await;
    let expired = "11".repeat(32);
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, device, expires) VALUES ($1, $2, $3, $4)",
    )
    .bind(ops_core::ids::to_hex(&ops_core::ids::sha256(
        expired.as_bytes(),
    )))
    .bind(alice)
    .bind(reg["cert_id"].as_str().unwrap())
    .bind(crate::common::now() as i64 - 10)
    .execute(store.pool())
    .await
    .unwrap();
    let (status, v) = s
        .get_as(&expired, &format!("/api/v1/accounts/{alice}"))
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("session_expired")),
        "{v}"
    );
    let (status, session) = s.post("/api/v1/login", login.clone()).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["account_id"], alice);
    let token = session["token"].as_str().unwrap();
    let left: i64 = sqlx::Row::try_get(
        &sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) FROM sessions WHERE expires < $1")
            .bind(crate::common::now() as i64)
            .fetch_one(store.pool())
            .await
            .unwrap(),
        0,
    )
    .unwrap();
    assert_eq!(left, 0, "the login deleted the expired session");
    // The passkey session reads its own account, not another one (404, as for none).
    let (status, v) = s.get_as(token, &format!("/api/v1/accounts/{alice}")).await;
    assert_eq!((status, v["balance"].as_i64()), (200, Some(STARTING - 800)));
    let (status, v) = s.get_as(token, &format!("/api/v1/accounts/{shop}")).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("no_such_account")),
        "{v}"
    );
    // A session can register another device of its account.
    let (status, v) = s
        .post_as(
            token,
            "/api/v1/registrations/challenge",
            json!({"account_id": alice}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let r = s
        .http
        .get(s.url("/api/v1/session"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["account_id"], alice);
    // Replaying the login is refused (the challenge is spent).
    let (status, v) = s.post("/api/v1/login", login).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("challenge_invalid"))
    );
    // An assertion over another challenge is refused.
    let (_, c2) = s
        .post(
            "/api/v1/login/challenge",
            json!({"credential_id": credential}),
        )
        .await;
    let a = auth.assert(b"not the challenge");
    let (status, v) = s
        .post(
            "/api/v1/login",
            json!({
                "challenge_id": c2["challenge_id"],
                "credential_id": credential,
                "authenticator_data": b64.encode(&a.authenticator_data),
                "client_data_json": b64.encode(&a.client_data_json),
                "signature": b64.encode(&a.signature_der),
            }),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("login_refused")),
        "{v}"
    );
    let r = s
        .http
        .get(s.url("/api/v1/session"))
        .bearer_auth("0000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // Once the device's certificate is revoked, its sessions no longer open the account.
    sqlx::query("UPDATE devices SET revoked = 1 WHERE cert_id = $1")
        .bind(reg["cert_id"].as_str().unwrap())
        .execute(store.pool())
        .await
        .unwrap();
    let (status, v) = s.get_as(token, &format!("/api/v1/accounts/{alice}")).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("device_revoked")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("account token")
    );
    // Nor anything else: the session endpoint, a new account token, funding another
    // (software-key) device of the account, or the revoked device itself.
    let r = s
        .http
        .get(s.url("/api/v1/session"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "device_revoked", "{v}");
    let (status, v) = s
        .post_as(token, &format!("/api/v1/accounts/{alice}/token"), json!({}))
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("device_revoked")),
        "{v}"
    );
    let other = s.device(alice, 62).await;
    for device in [
        other.id().to_string(),
        reg["cert_id"].as_str().unwrap().to_owned(),
    ] {
        let (status, v) = s
            .post_as(
                token,
                "/api/v1/fund",
                json!({"device": device, "amount": 10}),
            )
            .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (403, Some("device_revoked")),
            "{v}"
        );
    }
    assert_eq!(s.balance(alice).await, STARTING - 800, "nothing funded");
}

/// Opens a fraud case: a new account's wallet spends one range of a note to two POS
/// terminals, both deposited. Returns (culprit account, culprit wallet, case id).
async fn open_fraud_case(s: &Server, seed: u64) -> (i64, crate::common::Device, i64) {
    let culprit = s.sign_up("culprit").await;
    let shop = s.sign_up("shop").await;
    let wallet = s.device(culprit, seed).await;
    let pos1 = s.device(shop, seed + 1).await;
    let pos2 = s.device(shop, seed + 2).await;
    let fi = s.fi_cert().await;
    let notes = s.fund(&wallet, 1_000).await;
    let a = wallet.spend(notes[0].note_id(), 0, 600, pos1.id(), 1);
    let b = wallet.spend(notes[0].note_id(), 100, 700, pos2.id(), 2);
    let pa = payment(vec![fi.clone(), wallet.cert.clone()], &notes[0], vec![a]);
    let pb = payment(vec![fi, wallet.cert.clone()], &notes[0], vec![b]);
    assert_eq!(s.deposit(&pa, pos1.id()).await.0, 200);
    let (status, v) = s.deposit(&pb, pos2.id()).await;
    assert_eq!((status, v["fraud_cases"].as_i64()), (200, Some(1)), "{v}");
    let (_, cases) = s.admin_get("/api/v1/fraud-cases?status=open").await;
    let case = cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["culprit"] == wallet.id().to_string())
        .unwrap()
        .clone();
    assert_eq!(case["debited"], 500);
    (culprit, wallet, case["id"].as_i64().unwrap())
}

/// Fraud cases are resolved by an operator: recorded with who, when and why; idempotent;
/// a second, different resolution is refused (409); the proof stays downloadable; a
/// dismissal credits the debit back (the certificate stays revoked).
pub async fn fraud_case_resolution(s: &Server) {
    use base64::Engine as _;
    let expect = |r: (u16, serde_json::Value), status: u16, code: &str| {
        assert_eq!(r.0, status, "{}", r.1);
        assert_eq!(r.1["error"]["code"], code, "{}", r.1);
        assert!(r.1["error"]["message"].as_str().unwrap().len() > 10);
    };
    let (mallory, wallet, id) = open_fraud_case(s, 71).await;
    let after_debit = s.balance(mallory).await;
    let path = format!("/api/v1/fraud-cases/{id}/resolve");
    let confirm = json!({"resolution": "confirmed", "note": "customer admitted a replay", "operator": "j.doe"});
    // Admin only.
    expect(s.post(&path, confirm.clone()).await, 401, "admin_only");
    // Malformed requests name the problem.
    expect(
        s.admin_post(
            &path,
            json!({"resolution": "maybe", "note": "x", "operator": "j"}),
        )
        .await,
        400,
        "malformed_json",
    );
    expect(
        s.admin_post(
            &path,
            json!({"resolution": "confirmed", "note": " ", "operator": "j"}),
        )
        .await,
        400,
        "note_required",
    );
    expect(
        s.admin_post(
            &path,
            json!({"resolution": "confirmed", "note": "why", "operator": ""}),
        )
        .await,
        400,
        "operator_required",
    );
    expect(
        s.admin_post("/api/v1/fraud-cases/abc/resolve", confirm.clone())
            .await,
        400,
        "malformed_id",
    );
    expect(
        s.admin_post("/api/v1/fraud-cases/999999/resolve", confirm.clone())
            .await,
        404,
        "no_such_fraud_case",
    );
    // Resolved: recorded with who, when and why; the culprit stays debited and revoked.
    let before = crate::common::now() as i64;
    let (status, first) = s.admin_post(&path, confirm.clone()).await;
    assert_eq!(status, 200, "{first}");
    let case = &first["case"];
    assert_eq!(first["already_resolved"], false);
    assert_eq!(case["status"], "confirmed");
    assert_eq!(case["resolution"], "confirmed");
    assert_eq!(case["resolved"], true);
    assert_eq!(case["resolution_note"], "customer admitted a replay");
    assert_eq!(case["resolved_by"], "j.doe");
    assert!(case["resolved_at"].as_i64().unwrap() >= before);
    assert_eq!(case["refunded"], 0);
    assert_eq!(case["culprit_account"], mallory);
    assert_eq!(s.balance(mallory).await, after_debit);
    // The same request again: unchanged, nothing written.
    let (status, again) = s.admin_post(&path, confirm).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["already_resolved"], true);
    assert_eq!(again["case"], first["case"]);
    // Another resolution, or the same with another note, is refused.
    for other in [
        json!({"resolution": "dismissed", "note": "changed my mind", "operator": "j.doe"}),
        json!({"resolution": "confirmed", "note": "another note", "operator": "k.roe"}),
    ] {
        expect(s.admin_post(&path, other).await, 409, "already_resolved");
    }
    assert_eq!(s.balance(mallory).await, after_debit);
    // Inspect, list by status, download the proof (still verifies against the root).
    let (status, shown) = s.admin_get(&format!("/api/v1/fraud-cases/{id}")).await;
    assert_eq!((status, &shown), (200, &first["case"]));
    let (_, confirmed) = s.admin_get("/api/v1/fraud-cases?status=confirmed").await;
    assert_eq!(confirmed["cases"].as_array().unwrap().len(), 1);
    let (_, open) = s
        .admin_get("/api/v1/fraud-cases?status=open&limit=10")
        .await;
    assert_eq!(open["cases"].as_array().unwrap().len(), 0);
    for bad in [
        "status=bogus",
        "limit=0",
        "limit=101",
        "before=x",
        "colour=red",
    ] {
        expect(
            s.admin_get(&format!("/api/v1/fraud-cases?{bad}")).await,
            400,
            "malformed_query",
        );
    }
    let r = s
        .http
        .get(s.url(&format!("/api/v1/fraud-cases/{id}/proof")))
        .bearer_auth(&s.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("fraud-case-{id}.proof"))
    );
    let bytes = r.bytes().await.unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(&bytes),
        case["proof"].as_str().unwrap()
    );
    let proof = ops_core::FraudProof::from_bytes(&bytes).unwrap();
    let (_, trust) = s.get("/api/v1/trust").await;
    let root = ops_core::Certificate::from_bytes(
        &base64::engine::general_purpose::STANDARD
            .decode(trust["root"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let verdict = proof
        .verify(&root, ops_core::provider::default_provider())
        .unwrap();
    assert_eq!(verdict.culprit, wallet.id());
    expect(
        s.admin_get("/api/v1/fraud-cases/999999/proof").await,
        404,
        "no_such_fraud_case",
    );

    // Two operators resolve another case differently at the same instant: exactly one
    // wins; a dismissal credits the debit back once; the certificate stays revoked.
    let (eve, eve_wallet, id2) = open_fraud_case(s, 81).await;
    let debited_balance = s.balance(eve).await;
    let path2 = format!("/api/v1/fraud-cases/{id2}/resolve");
    let (a, b) = tokio::join!(
        s.admin_post(
            &path2,
            json!({"resolution": "dismissed", "note": "device reported stolen before the spends", "operator": "a.ops"}),
        ),
        s.admin_post(
            &path2,
            json!({"resolution": "confirmed", "note": "no theft report on file", "operator": "b.ops"}),
        ),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", a.1, b.1);
    let winner = if a.0 == 200 { &a.1 } else { &b.1 };
    let refunded = winner["case"]["refunded"].as_i64().unwrap();
    if winner["case"]["status"] == "dismissed" {
        assert_eq!(refunded, 500);
    } else {
        assert_eq!(refunded, 0);
    }
    assert_eq!(s.balance(eve).await, debited_balance + refunded);
    let (_, crl) = s.get("/api/v1/crl").await;
    assert!(
        crl["revoked"]
            .as_array()
            .unwrap()
            .contains(&json!(eve_wallet.cert.body.serial))
    );
    let (status, v) = s
        .admin_post(
            "/api/v1/fund",
            json!({"device": eve_wallet.id().to_string(), "amount": 10}),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("device_revoked"))
    );
    let m = s.metrics().await;
    assert_eq!(m["ops_fraud_cases_open"], 0);
    assert_eq!(m["ops_fraud_refunded_total"], refunded);
    // A dismissal is explicit: confirm the other way on a third case and check the refund.
    let (zed, _, id3) = open_fraud_case(s, 91).await;
    let debited_balance = s.balance(zed).await;
    let (status, v) = s
        .admin_post(
            &format!("/api/v1/fraud-cases/{id3}/resolve"),
            json!({"resolution": "dismissed", "note": "cloned card, police report 42", "operator": "c.ops"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["case"]["refunded"], 500);
    assert_eq!(s.balance(zed).await, debited_balance + 500);
    s.assert_conserved(STARTING).await;
}

/// Admin endpoints refuse requests without the right token and write nothing.
pub async fn admin_requires_token(s: &Server) {
    let a = s.sign_up("a").await;
    // A key of its own per call (a key is certified once; this runs twice on one database).
    let key = ops_core::sig::SoftwareKey::from_secret(&ops_core::testing::secret_from_seed(
        "issuer admin-token test device",
        a as u64,
    ))
    .unwrap();
    let body = json!({"account_id": a, "public_key": key.public_key().to_string()});
    let devices = s.metrics().await["ops_devices"];
    for token in [None, Some("wrong-token-but-long-enough"), Some("")] {
        for (method, path) in [
            ("POST", "/api/v1/devices"),
            ("GET", "/api/v1/fraud-cases"),
            ("GET", "/api/v1/fraud-cases/1"),
            ("GET", "/api/v1/fraud-cases/1/proof"),
            ("POST", "/api/v1/fraud-cases/1/resolve"),
        ] {
            let mut req = if method == "POST" {
                s.http.post(s.url(path)).json(&body)
            } else {
                s.http.get(s.url(path))
            };
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status().as_u16(), 401, "{method} {path} with {token:?}");
            let v: serde_json::Value = r.json().await.unwrap();
            assert_eq!(v["error"]["code"], "admin_only");
            assert!(
                !v.to_string().contains(&s.admin_token),
                "the token leaked into an error"
            );
        }
    }
    assert_eq!(s.metrics().await["ops_devices"], devices, "nothing written");
    // The right token works.
    let (status, v) = s.admin_post("/api/v1/devices", body).await;
    assert_eq!(status, 201, "{v}");
    // The generated token file is owner-only (when the server generated it).
    let file = s.dir.join("data/admin.token");
    if file.exists() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(s.admin_token.len(), 64);
    }
}

/// Many parallel fund requests from one account: the account is never overdrawn and no
/// device exceeds its certificate's limit; what was debited is what was issued.
pub async fn concurrent_funding(s: &Server) {
    async fn fund_all(
        s: &Server,
        devices: &[&crate::common::Device],
        requests: usize,
        amount: u64,
    ) -> std::collections::BTreeMap<(u16, String), usize> {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..requests {
            let req = s.http.post(s.url("/api/v1/fund")).bearer_auth(&s.admin_token).json(
                &json!({"device": devices[i % devices.len()].id().to_string(), "amount": amount}),
            );
            set.spawn(async move {
                let r = req.send().await.unwrap();
                let status = r.status().as_u16();
                let v: serde_json::Value = r.json().await.unwrap();
                let code = v["error"]["code"].as_str().unwrap_or("").to_owned();
                (status, code)
            });
        }
        let mut out = std::collections::BTreeMap::new();
        while let Some(r) = set.join_next().await {
            *out.entry(r.unwrap()).or_insert(0) += 1;
        }
        out
    }
    let key = |s: u16, c: &str| (s, c.to_owned());
    // The device limit binds: 40 requests of 1 000 against a limit of 10 000.
    let a = s.sign_up("limited").await;
    let small = s.device_limited(a, 201, Some(10_000)).await;
    let outcome = fund_all(s, &[&small], 40, 1_000).await;
    assert_eq!(outcome.get(&key(201, "")), Some(&10), "{outcome:?}");
    assert_eq!(
        outcome.get(&key(422, "above_device_limit")),
        Some(&30),
        "{outcome:?}"
    );
    assert_eq!(s.balance(a).await, STARTING - 10_000);
    // The balance binds: 40 requests of 7 000 over four devices from 100 000.
    let b = s.sign_up("busy").await;
    let mut devices = Vec::new();
    for seed in 0..4 {
        devices.push(s.device_limited(b, 210 + seed, Some(100_000)).await);
    }
    let refs: Vec<&crate::common::Device> = devices.iter().collect();
    let outcome = fund_all(s, &refs, 40, 7_000).await;
    assert_eq!(outcome.get(&key(201, "")), Some(&14), "{outcome:?}");
    assert_eq!(
        outcome.get(&key(409, "insufficient_funds")),
        Some(&26),
        "{outcome:?}"
    );
    assert_eq!(s.balance(b).await, STARTING - 14 * 7_000);
    let m = s.metrics().await;
    assert_eq!(m["ops_issued_value_total"], 10_000 + 14 * 7_000);
    assert_eq!(m["ops_balances_total"], 2 * STARTING - 10_000 - 14 * 7_000);
    s.assert_conserved(STARTING).await;
}

/// Account reads need a bearer token: the account's own (from the sign-up, shown once and
/// stored only as its SHA-256), a passkey session of one of its devices (see
/// `webauthn_registration_then_pay`) or the admin token. No token → 401 saying what to
/// send; another account's token → 404, the same answer as for an account that does not
/// exist.
pub async fn account_access(s: &Server) {
    let (status, v) = s.post("/api/v1/accounts", json!({"name": "alice"})).await;
    assert_eq!(status, 201, "{v}");
    let alice = v["id"].as_i64().unwrap();
    let alice_token = v["token"].as_str().unwrap().to_owned();
    assert_eq!(alice_token.len(), 64, "32 random bytes in hex: {v}");
    assert!(alice_token.bytes().all(|b| b.is_ascii_hexdigit()));
    let (bob, bob_token) = s.sign_up_with_token("bob").await;
    assert_ne!(alice_token, bob_token);
    let path = format!("/api/v1/accounts/{alice}");

    // No token, or not a bearer token: 401 naming what to send.
    for r in [
        s.http.get(s.url(&path)).send().await.unwrap(),
        s.http
            .get(s.url(&path))
            .header("authorization", format!("Basic {alice_token}"))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(r.status().as_u16(), 401);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "auth_required", "{v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("Authorization: Bearer") && message.contains("POST /api/v1/accounts"),
            "{v}"
        );
    }
    // Its own token, and the admin token.
    let (status, v) = s.get_as(&alice_token, &path).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v,
        json!({"id": alice, "name": "alice", "balance": STARTING})
    );
    let (status, v) = s.admin_get(&path).await;
    assert_eq!((status, v["id"].as_i64()), (200, Some(alice)));
    // Someone else's token, a made-up one, or an account that does not exist: one answer.
    let (status, other) = s.get_as(&bob_token, &path).await;
    assert_eq!(
        (status, other["error"]["code"].as_str()),
        (404, Some("no_such_account")),
        "{other}"
    );
    assert_eq!(
        s.get_as(&"ab".repeat(32), &path).await,
        (404, other.clone())
    );
    assert_eq!(
        s.get_as(&bob_token, "/api/v1/accounts/999999").await,
        (404, other.clone())
    );
    let (status, v) = s
        .get_as(&bob_token, &format!("/api/v1/accounts/{bob}"))
        .await;
    assert_eq!((status, v["name"].as_str()), (200, Some("bob")));
    // Funding a device answers with the account's balance: the same rule.
    let wallet = s.device(alice, 81).await;
    let fund = json!({"device": wallet.id().to_string(), "amount": 10});
    let (status, v) = s.post("/api/v1/fund", fund.clone()).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("auth_required")),
        "{v}"
    );
    assert_eq!(
        s.post_as(&bob_token, "/api/v1/fund", fund.clone()).await,
        (404, other.clone())
    );
    let (status, v) = s.post_as(&alice_token, "/api/v1/fund", fund).await;
    assert_eq!(
        (status, v["balance"].as_i64()),
        (201, Some(STARTING - 10)),
        "{v}"
    );
    assert_eq!(s.balance(alice).await, STARTING - 10);
    // Only the token's SHA-256 is stored.
    let store = s.store().await;
    let row = sqlx::query("SELECT token_hash FROM accounts WHERE id = $1")
        .bind(alice)
        .fetch_one(store.pool())
        .await
        .unwrap();
    let stored: String = sqlx::Row::try_get(&row, 0).unwrap();
    assert_eq!(
        stored,
        ops_core::ids::to_hex(&ops_core::ids::sha256(alice_token.as_bytes()))
    );
    // An account made with the admin CLI has no token: admin (or a passkey session) only.
    let cli = store
        .create_account("cli", 5, crate::common::now())
        .await
        .unwrap();
    let (status, v) = s.get(&format!("/api/v1/accounts/{}", cli.id)).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("auth_required"))
    );
    assert_eq!(
        s.get_as(&alice_token, &format!("/api/v1/accounts/{}", cli.id))
            .await,
        (404, other)
    );
    assert_eq!(s.balance(cli.id).await, 5);

    // A new token replaces the old one at once: by the account itself, or by the admin
    // (an account made by the CLI gets its first token that way); nobody else.
    let rotate = format!("/api/v1/accounts/{alice}/token");
    let (status, v) = s.post(&rotate, json!({})).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("auth_required"))
    );
    assert_eq!(s.post_as(&bob_token, &rotate, json!({})).await.0, 404);
    let (status, v) = s.post_as(&alice_token, &rotate, json!({})).await;
    assert_eq!((status, v["id"].as_i64()), (200, Some(alice)), "{v}");
    let new_token = v["token"].as_str().unwrap().to_owned();
    assert_eq!(new_token.len(), 64);
    assert_eq!(
        s.get_as(&alice_token, &path).await.0,
        404,
        "the old token is dead"
    );
    assert_eq!(s.get_as(&new_token, &path).await.0, 200);
    let cli_rotate = format!("/api/v1/accounts/{}/token", cli.id);
    let (status, v) = s.admin_post(&cli_rotate, json!({})).await;
    assert_eq!(status, 200, "{v}");
    let cli_token = v["token"].as_str().unwrap();
    assert_eq!(
        s.get_as(cli_token, &format!("/api/v1/accounts/{}", cli.id))
            .await
            .1["balance"],
        5
    );
    assert_eq!(
        s.admin_post("/api/v1/accounts/999999/token", json!({}))
            .await
            .0,
        404
    );
}

/// Creating a WebAuthn challenge deletes expired ones (a bounded batch per request), so
/// the table does not grow with abandoned challenges; unexpired ones stay usable.
pub async fn expired_challenges_are_deleted(s: &Server) {
    let (alice, token) = s.sign_up_with_token("alice").await;
    let store = s.store().await;
    let count = |expired: bool| {
        let store = store.clone();
        async move {
            let sql = if expired {
                "SELECT CAST(COUNT(*) AS BIGINT) FROM challenges WHERE expires < $1"
            } else {
                "SELECT CAST(COUNT(*) AS BIGINT) FROM challenges WHERE expires >= $1"
            };
            let row = sqlx::query(sql)
                .bind(crate::common::now() as i64)
                .fetch_one(store.pool())
                .await
                .unwrap();
            sqlx::Row::try_get::<i64, _>(&row, 0).unwrap()
        }
    };
    // Abandoned challenges, expired a while ago: more than one batch of them.
    let planted = ops_issuer::store::CLEANUP_BATCH + 6;
    for i in 0..planted {
        sqlx::query(
            "INSERT INTO challenges (id, account_id, challenge, expires, used, purpose) \
             VALUES ($1, $2, $3, $4, 0, 'register')",
        )
        .bind(format!("expired-{i}"))
        .bind(alice)
        .bind(vec![0u8; 32])
        .bind(crate::common::now() as i64 - 1_000 - i)
        .execute(store.pool())
        .await
        .unwrap();
    }
    assert_eq!(count(true).await, planted);
    let ask = || {
        s.post_as(
            &token,
            "/api/v1/registrations/challenge",
            json!({"account_id": alice}),
        )
    };
    let (status, first) = ask().await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(count(true).await, 6, "one bounded batch deleted");
    assert_eq!(count(false).await, 1);
    let (status, v) = ask().await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(count(true).await, 0, "the rest on the next request");
    assert_eq!(count(false).await, 2, "unexpired challenges are kept");
    // The first one is still usable (it reaches the attestation check).
    let (status, v) = s
        .post(
            "/api/v1/registrations",
            json!({"challenge_id": first["challenge_id"], "client_data_json": "e30", "attestation_object": "oA"}),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("registration_refused")),
        "{v}"
    );
}

/// Abuse limits on the open endpoints: sign-ups per client address, a global cap per hour
/// and per day, account reads per address; 429 with a JSON error and `Retry-After`.
pub async fn abuse_limits(tag: &str, database: Option<String>) {
    use crate::common::temp_dir;
    async fn refused(r: reqwest::Response, says: &str) {
        assert_eq!(r.status().as_u16(), 429);
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(wait >= 1);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "rate_limited", "{v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(says) && message.contains("retry in"),
            "{v}"
        );
    }
    let sign_up = |s: &Server| {
        s.http
            .post(s.url("/api/v1/accounts"))
            .json(&json!({"name": "x"}))
            .send()
    };
    // Per client address, sign-ups and reads.
    let dir = temp_dir(&format!("{tag}-addr"));
    let s = Server::start_with(
        dir.clone(),
        database.clone(),
        &[
            "--signups-per-address-per-hour",
            "3",
            "--reads-per-address-per-minute",
            "5",
        ],
    )
    .await;
    let accounts = s.metrics().await["ops_accounts"];
    for _ in 0..3 {
        assert_eq!(sign_up(&s).await.unwrap().status().as_u16(), 201);
    }
    // Keyed by the TCP peer's address (the harness connects from 127.0.0.1).
    refused(sign_up(&s).await.unwrap(), "from your address (127.0.0.1)").await;
    assert_eq!(s.metrics().await["ops_accounts"], accounts + 3);
    let read = || {
        s.http
            .get(s.url("/api/v1/accounts/1"))
            .bearer_auth(&s.admin_token)
            .send()
    };
    for _ in 0..5 {
        assert_eq!(read().await.unwrap().status().as_u16(), 200);
    }
    refused(
        read().await.unwrap(),
        "account reads from your address (127.0.0.1)",
    )
    .await;
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
    // WebAuthn registration and login challenges per client address (one budget; each
    // writes a database row).
    let dir = temp_dir(&format!("{tag}-challenges"));
    let s = Server::start_with(
        dir.clone(),
        database.clone(),
        &["--challenges-per-address-per-minute", "3"],
    )
    .await;
    let (alice, token) = s.sign_up_with_token("alice").await;
    let register = || {
        s.http
            .post(s.url("/api/v1/registrations/challenge"))
            .bearer_auth(&token)
            .json(&json!({"account_id": alice}))
            .send()
    };
    let login = || {
        s.http
            .post(s.url("/api/v1/login/challenge"))
            .json(&json!({"credential_id": "AAAA"}))
            .send()
    };
    for _ in 0..2 {
        assert_eq!(register().await.unwrap().status().as_u16(), 201);
    }
    assert_eq!(
        login().await.unwrap().status().as_u16(),
        404,
        "unknown credential"
    );
    let before = {
        let store = s.store().await;
        let row = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) FROM challenges")
            .fetch_one(store.pool())
            .await
            .unwrap();
        sqlx::Row::try_get::<i64, _>(&row, 0).unwrap()
    };
    assert_eq!(before, 2);
    refused(
        register().await.unwrap(),
        "WebAuthn challenges from your address (127.0.0.1)",
    )
    .await;
    refused(
        login().await.unwrap(),
        "WebAuthn challenges from your address (127.0.0.1)",
    )
    .await;
    let store = s.store().await;
    let row = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) FROM challenges")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(
        sqlx::Row::try_get::<i64, _>(&row, 0).unwrap(),
        before,
        "a refused request writes nothing"
    );
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
    // Global caps per hour, then per day.
    for (flags, says) in [
        (
            ["--signups-per-hour", "2", "--signups-per-day", "100"],
            "hour",
        ),
        (
            ["--signups-per-hour", "100", "--signups-per-day", "2"],
            "day",
        ),
    ] {
        let dir = temp_dir(&format!("{tag}-{says}"));
        let s = Server::start_with(dir.clone(), database.clone(), &flags).await;
        for _ in 0..2 {
            assert_eq!(sign_up(&s).await.unwrap().status().as_u16(), 201);
        }
        refused(sign_up(&s).await.unwrap(), &format!("this {says}")).await;
        drop(s);
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// SIGKILL in the middle of a deposit load, restart on the same data, re-upload
/// everything: every payment credited exactly once.
pub async fn crash_then_reupload(tag: &str, database: Option<String>) {
    let dir = crate::common::temp_dir(tag);
    let mut s = Server::start_in(dir.clone(), database.clone()).await;
    let (batch, total, shops) = payment_batch(&s, 2, 250, 200).await;
    let http = s.http.clone();
    let url = s.url("");
    let token = s.admin_token.clone();
    let load = {
        let batch = batch.clone();
        tokio::spawn(async move {
            use base64::Engine as _;
            let mut set = tokio::task::JoinSet::new();
            for (p, d) in batch {
                let req = http
                    .post(format!("{url}/api/v1/deposits"))
                    .bearer_auth(&token)
                    .json(&json!({
                        "payment": base64::engine::general_purpose::STANDARD.encode(p.to_bytes()),
                        "depositor": d.to_string(),
                    }));
                set.spawn(async move { req.send().await.map(|r| r.status().as_u16()) });
            }
            let mut ok = 0;
            while let Some(r) = set.join_next().await {
                if matches!(r, Ok(Ok(200))) {
                    ok += 1;
                }
            }
            ok
        })
    };
    // Let part of the load land, then kill the server mid-flight.
    let mut seen = 0;
    for _ in 0..200 {
        seen = s.metrics().await["ops_deposits"];
        if seen >= 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    s.kill();
    let answered = load.await.unwrap();
    println!(
        "{tag}: killed after >= {seen} deposits; {answered} of {} answered 200 before the kill",
        batch.len()
    );
    assert!(
        answered < batch.len(),
        "the kill came too late to test anything"
    );
    drop(s);
    let s = Server::start_in(dir.clone(), database).await;
    let before = s.metrics().await["ops_deposits"];
    assert!(
        before >= answered as i64,
        "an acknowledged deposit was lost"
    );
    let (ok, _) = deposit_all(&s, &batch, 16).await;
    assert_eq!(ok, batch.len());
    let m = s.metrics().await;
    assert_eq!(m["ops_deposits"], batch.len() as i64);
    assert_eq!(
        s.balance(shops[0]).await + s.balance(shops[1]).await - 2 * STARTING,
        total
    );
    s.assert_conserved(STARTING).await;
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}

/// Issue 10, items 6 and 7 (server side): `/metrics` needs the admin token; the bearer
/// scheme in any case; the admin registration refuses an invalid point and a key
/// certified before; certified names are bounded, visible text and decodable; database
/// errors never reach a client.
pub async fn api_hardening(s: &Server) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (alice, alice_token) = s.sign_up_with_token("alice").await;

    // /metrics: admin only (the figures are the FI's business); /healthz stays public.
    let r = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "admin_only", "{v}");
    let r = s
        .http
        .get(s.url("/metrics"))
        .bearer_auth("not-the-admin-token-at-all")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(s.metrics().await["ops_accounts"] >= 1);
    assert_eq!(s.get("/healthz").await.0, 200);

    // The bearer scheme is case-insensitive (RFC 7235), for admin and account tokens.
    for scheme in ["bearer", "BEARER", "Bearer", "bEaReR"] {
        let r = s
            .http
            .get(s.url("/api/v1/fraud-cases"))
            .header("authorization", format!("{scheme} {}", s.admin_token))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "admin with {scheme}");
        let r = s
            .http
            .get(s.url(&format!("/api/v1/accounts/{alice}")))
            .header("authorization", format!("{scheme}  {alice_token} "))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "account token with {scheme}");
    }
    // Another scheme is still no bearer token.
    let r = s
        .http
        .get(s.url("/api/v1/fraud-cases"))
        .header("authorization", format!("Basic {}", s.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // The admin registration: a point that is not on the curve, then one key twice.
    let register = |key: String, name: serde_json::Value| {
        s.admin_post(
            "/api/v1/devices",
            json!({"account_id": alice, "public_key": key, "name": name}),
        )
    };
    let devices = s.metrics().await["ops_devices"];
    for bad in [
        format!("02{}", "ff".repeat(32)), // x ≥ p
        "03ffffffff00000001000000000000000000000000ffffffffffffffffffffffff".to_owned(), // x = p
        format!("04{}", "11".repeat(32)), // not a compressed prefix
    ] {
        let (status, v) = register(bad.clone(), serde_json::Value::Null).await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (400, Some("malformed_public_key")),
            "{bad}: {v}"
        );
    }
    assert_eq!(
        s.metrics().await["ops_devices"],
        devices,
        "nothing certified"
    );
    let key = ops_core::sig::SoftwareKey::from_secret(&ops_core::testing::secret_from_seed(
        "issuer hardening device",
        1,
    ))
    .unwrap()
    .public_key()
    .to_string();
    // Certified names: bounded (64 bytes, what every client decodes), visible text.
    for (name, code) in [
        ("x".repeat(300), "name_too_long"),
        ("é".repeat(33), "name_too_long"), // 66 bytes in 33 characters
        ("   ".to_owned(), "name_invalid"),
        ("Demo Bank\nofficial refunds".to_owned(), "name_invalid"),
        ("Shop\u{202E}kcab".to_owned(), "name_invalid"),
        ("Sh\u{200B}op".to_owned(), "name_invalid"),
    ] {
        let (status, v) = register(key.clone(), json!(name)).await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (400, Some(code)),
            "{name:?}: {v}"
        );
        assert!(
            v["error"]["message"].as_str().unwrap().contains("name"),
            "{v}"
        );
    }
    assert_eq!(
        s.metrics().await["ops_devices"],
        devices,
        "nothing certified"
    );
    let (status, v) = register(key.clone(), json!(format!("  {}  ", "M".repeat(64)))).await;
    assert_eq!(status, 201, "{v}");
    let cert = ops_core::Certificate::from_bytes(&b64.decode(v["cert"].as_str().unwrap()).unwrap())
        .expect("every issued certificate decodes");
    assert_eq!(cert.body.name.as_deref(), Some("M".repeat(64).as_str()));
    let first = v["cert_id"].as_str().unwrap().to_owned();
    // The same key again, for this account or another: 409, nothing certified.
    let bob = s.sign_up("bob").await;
    for account in [alice, bob] {
        let (status, v) = s
            .admin_post(
                "/api/v1/devices",
                json!({"account_id": account, "public_key": key}),
            )
            .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (409, Some("key_registered")),
            "{v}"
        );
        assert!(v["error"]["message"].as_str().unwrap().contains(&first));
    }
    assert_eq!(s.metrics().await["ops_devices"], devices + 1);
    // Two registrations of one new key at once: exactly one certificate.
    let key2 = ops_core::sig::SoftwareKey::from_secret(&ops_core::testing::secret_from_seed(
        "issuer hardening device",
        2,
    ))
    .unwrap()
    .public_key()
    .to_string();
    let r = || register(key2.clone(), serde_json::Value::Null);
    let (a, b, c, d, e, f) = tokio::join!(r(), r(), r(), r(), r(), r());
    let answers = [a, b, c, d, e, f];
    let mut statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409], "{answers:?}");
    assert_eq!(s.metrics().await["ops_devices"], devices + 2);

    // A database fault: logged, answered with a generic message, never the database's text.
    let store = s.store().await;
    sqlx::query("ALTER TABLE sessions RENAME TO sessions_hidden")
        .execute(store.pool())
        .await
        .unwrap();
    let r = s
        .http
        .get(s.url("/api/v1/session"))
        .bearer_auth("ab".repeat(32))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: serde_json::Value = r.json().await.unwrap();
    sqlx::query("ALTER TABLE sessions_hidden RENAME TO sessions")
        .execute(store.pool())
        .await
        .unwrap();
    assert!(status == 500 || status == 503, "{status} {v}");
    let message = v["error"]["message"].as_str().unwrap().to_lowercase();
    for leak in [
        "sessions",
        "table",
        "relation",
        "database error",
        "sqlx",
        "no such",
    ] {
        assert!(
            !message.contains(leak),
            "database text reached the client: {v}"
        );
    }
    assert!(
        message.contains("retry") && message.contains("operator"),
        "says what to do: {v}"
    );
}

/// Issue 10, item 5: requests that do not authenticate never charge a device's bucket (a
/// stranger cannot lock a wallet out of funding); they are limited per client address.
pub async fn fund_limits_after_auth(tag: &str, database: Option<String>) {
    let dir = crate::common::temp_dir(tag);
    let s = Server::start_with(
        dir.clone(),
        database,
        &[
            "--device-rate",
            "0",
            "--device-burst",
            "2",
            "--auth-failures-per-address-per-minute",
            "5",
        ],
    )
    .await;
    let (alice, alice_token) = s.sign_up_with_token("alice").await;
    let wallet = s.device(alice, 71).await;
    let fund = json!({"device": wallet.id().to_string(), "amount": 10});
    // A stranger on another address (127.0.0.2) sends 65 requests for the public device
    // id: without a token, or with a made-up one.
    let stranger = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let mut codes = Vec::new();
    for i in 0..65 {
        let mut req = stranger.post(s.url("/api/v1/fund")).json(&fund);
        if i % 2 == 1 {
            req = req.bearer_auth("cd".repeat(32));
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        if status == 429 {
            assert!(r.headers().contains_key("retry-after"));
        }
        let v: serde_json::Value = r.json().await.unwrap();
        codes.push((status, v["error"]["code"].as_str().unwrap().to_owned()));
        if status == 429 {
            assert!(
                v["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("failed authentication from your address"),
                "{v}"
            );
        }
    }
    assert!(
        codes[..5].iter().all(|(s, _)| *s == 401 || *s == 404),
        "{codes:?}"
    );
    assert!(
        codes[5..]
            .iter()
            .all(|(s, c)| *s == 429 && c == "rate_limited"),
        "the stranger's address is limited after 5 failures: {codes:?}"
    );
    // The owner, on its own address, is not locked out: the device's bucket (2) is whole.
    let (status, v) = s.post_as(&alice_token, "/api/v1/fund", fund.clone()).await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = s.admin_post("/api/v1/fund", fund.clone()).await;
    assert_eq!(status, 201, "{v}");
    // Authenticated requests are charged: the third is over the device's burst.
    let (status, v) = s.post_as(&alice_token, "/api/v1/fund", fund.clone()).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("for device"),
        "{v}"
    );
    assert_eq!(s.balance(alice).await, STARTING - 20);
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}

/// Funding with an `Idempotency-Key`: a retry (in sequence or racing) gets the first
/// answer's notes and debits nothing more; the same key for another amount is refused.
pub async fn fund_is_idempotent_by_key(s: &Server) {
    let alice = s.sign_up("alice").await;
    let wallet = s.device(alice, 81).await;
    let fund = |key: &'static str, amount: u64| {
        let req = s
            .http
            .post(s.url("/api/v1/fund"))
            .bearer_auth(&s.admin_token)
            .header("Idempotency-Key", key)
            .json(&json!({"device": wallet.id().to_string(), "amount": amount}));
        async move {
            let r = req.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (status, first) = fund("load-1", 700).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["replayed"], false);
    let (status, again) = fund("load-1", 700).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["replayed"], true);
    assert_eq!(again["notes"], first["notes"]);
    assert_eq!(again["balance"], first["balance"]);
    assert_eq!(s.balance(alice).await, STARTING - 700);
    let (status, v) = fund("load-1", 800).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("idempotency_key_reused")),
        "{v}"
    );
    // Twenty retries of one new key at once: one funding.
    let answers = crate::common::join_all((0..20).map(|_| fund("load-2", 300)).collect()).await;
    let notes: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(status, v)| {
            assert_eq!(*status, 201, "{v}");
            v["notes"].to_string()
        })
        .collect();
    assert_eq!(notes.len(), 1, "every retry answered with the same notes");
    assert_eq!(s.balance(alice).await, STARTING - 1_000);
    let (status, v) = fund("", 1).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("malformed_idempotency_key")),
        "{v}"
    );
    s.assert_conserved(STARTING).await;
}

/// A payee reports a fraud proof it kept (`POST /api/v1/fraud-proofs`) before either
/// spend is deposited: the case opens once (the same proof again, or re-encoded, is the
/// same case), the culprit is revoked, garbage and proofs that prove nothing are refused.
/// Then both spends are deposited: both payees are credited (the second after an
/// operator's release: the culprit was revoked by then) and the culprit is debited the
/// duplicated 500 on the case the report opened. Without
/// adding the deposit's excess to a case opened earlier, the culprit kept the 500.
pub async fn reported_fraud_proofs(s: &Server) {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let culprit = s.sign_up("culprit").await;
    let shop = s.sign_up("shop").await;
    let wallet = s.device(culprit, 81).await;
    let pos1 = s.device(shop, 82).await;
    let pos2 = s.device(shop, 83).await;
    let fi = s.fi_cert().await;
    let notes = s.fund(&wallet, 1_000).await;
    let a = wallet.spend(notes[0].note_id(), 0, 600, pos1.id(), 1);
    let b = wallet.spend(notes[0].note_id(), 100, 700, pos2.id(), 2);
    let proof = ops_core::FraudProof::new(a.clone(), b.clone(), wallet.cert.clone(), fi.clone());
    let path = ops_api::paths::FRAUD_PROOFS;
    let (status, first) = s.post(path, json!({"proof": b64(&proof.to_bytes())})).await;
    assert_eq!(status, 201, "{first}");
    let answer: ops_api::FraudProofAnswer = serde_json::from_value(first).unwrap();
    assert!(answer.case_opened);
    assert_eq!(answer.culprit, wallet.id().to_string());
    assert_eq!(answer.overlap, 500);
    // Again: the same case.
    let (status, again) = s.post(path, json!({"proof": b64(&proof.to_bytes())})).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["case_opened"], false);
    // The culprit is on the CRL.
    let (_, crl) = s.get(ops_api::paths::CRL).await;
    assert!(
        crl["revoked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v.as_u64() == Some(wallet.cert.body.serial)),
        "{crl}"
    );
    // Refused: not base64, not a proof, the spends in the other order, no overlap.
    let (status, v) = s.post(path, json!({"proof": "%%%"})).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("malformed_proof"))
    );
    let (status, v) = s.post(path, json!({"proof": b64(b"not a proof")})).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("proof_refused"))
    );
    let mut swapped = proof.clone();
    std::mem::swap(&mut swapped.first, &mut swapped.second);
    let (status, v) = s
        .post(path, json!({"proof": b64(&swapped.to_bytes())}))
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("proof_refused")),
        "{v}"
    );
    let c = wallet.spend(notes[0].note_id(), 700, 800, pos2.id(), 3);
    let apart = ops_core::FraudProof::new(a.clone(), c, wallet.cert.clone(), fi.clone());
    let (status, v) = s.post(path, json!({"proof": b64(&apart.to_bytes())})).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("proof_refused")),
        "{v}"
    );
    let (status, v) = s
        .post(path, json!({"proof": b64(&proof.to_bytes()), "extra": 1}))
        .await;
    assert_eq!(status, 400, "{v}");
    // Both spends are deposited: both payees credited, the culprit debited once.
    let culprit_before = s.balance(culprit).await;
    let shop_before = s.balance(shop).await;
    let pa = payment(vec![fi.clone(), wallet.cert.clone()], &notes[0], vec![a]);
    let pb = payment(vec![fi, wallet.cert.clone()], &notes[0], vec![b]);
    let (status, v) = s.deposit(&pa, pos1.id()).await;
    assert_eq!(status, 200, "{v}");
    // The culprit was revoked by the report: value it duplicated after that waits for an
    // operator (the FI's hold policy), who credits the payee.
    let (status, v) = s.deposit(&pb, pos2.id()).await;
    assert_eq!((status, v["status"].as_str()), (202, Some("held")), "{v}");
    let held = v["held_id"].as_i64().unwrap();
    let (status, r) = s
        .admin_post(
            &format!("/api/v1/held-deposits/{held}/release"),
            json!({"operator": "j.doe", "note": "an honest shop, paid as guaranteed"}),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        s.balance(shop).await,
        shop_before + 1_200,
        "both payees paid"
    );
    assert_eq!(
        s.balance(culprit).await,
        culprit_before - 500,
        "the duplicated 500 recovered"
    );
    let (_, cases) = s.admin_get("/api/v1/fraud-cases?status=all").await;
    let mine: Vec<_> = cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["culprit"] == wallet.id().to_string())
        .collect();
    assert_eq!(mine.len(), 1, "one case for the pair: {cases}");
    assert_eq!(mine[0]["debited"], 500);
    // The audit finds no violation.
    let (status, audit) = s.admin_get("/api/v1/audit").await;
    assert_eq!(status, 200, "{audit}");
}

/// `POST /api/v1/spends/status`: a payer learns its payment was deposited (both hops of a
/// 2-hop chain once the last payee deposits), an unknown spend is "not yet", and malformed
/// or oversized queries are refused with what to do.
pub async fn spend_status(s: &Server) {
    let payer = s.sign_up("payer").await;
    let middle = s.sign_up("middle").await;
    let shop = s.sign_up("shop").await;
    let wallet = s.device(payer, 91).await;
    let friend = s.device(middle, 92).await;
    let pos = s.device(shop, 93).await;
    let fi = s.fi_cert().await;
    let notes = s.fund(&wallet, 1_000).await;
    let first = wallet.spend(notes[0].note_id(), 0, 400, friend.id(), 1);
    let second = friend.spend(first.id(), 0, 400, pos.id(), 2);
    let path = ops_api::paths::SPEND_STATUS;
    let ask = |ids: &[&ops_core::Spend]| json!({"spends": ids.iter().map(|s| s.id().to_string()).collect::<Vec<_>>()});
    let (status, v) = s.post(path, ask(&[&first, &second])).await;
    assert_eq!(status, 200, "{v}");
    let answer: ops_api::SpendStatusAnswer = serde_json::from_value(v).unwrap();
    assert_eq!(
        answer.deposited_at,
        vec![None, None],
        "nothing deposited yet"
    );
    let pay = payment(
        vec![fi.clone(), wallet.cert.clone(), friend.cert.clone()],
        &notes[0],
        vec![first.clone(), second.clone()],
    );
    let (status, v) = s.deposit(&pay, pos.id()).await;
    assert!(status == 200 || status == 201, "{v}");
    let (status, v) = s.post(path, ask(&[&first, &second, &first])).await;
    assert_eq!(status, 200, "{v}");
    let answer: ops_api::SpendStatusAnswer = serde_json::from_value(v).unwrap();
    let at = answer.deposited_at[0].expect("the payer's spend reached the FI");
    assert!(at.abs_diff(crate::common::now()) < 120);
    assert_eq!(
        answer.deposited_at,
        vec![Some(at); 3],
        "one answer per id asked, in order"
    );
    // Refused: another spelling of an id, no ids, too many, not JSON, an unknown field.
    let upper = first.id().to_string().to_uppercase();
    for (body, code) in [
        (json!({"spends": [upper]}), "malformed_spend_id"),
        (json!({"spends": ["00"]}), "malformed_spend_id"),
        (json!({"spends": []}), "bad_spend_count"),
        (
            json!({"spends": vec![first.id().to_string(); ops_api::MAX_SPEND_QUERY + 1]}),
            "bad_spend_count",
        ),
        (
            json!({"spends": [first.id().to_string()], "more": 1}),
            "malformed_json",
        ),
    ] {
        let (status, v) = s.post(path, body).await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(!v["error"]["message"].as_str().unwrap_or("").is_empty());
    }
}

/// The counterparty block list (issue 14 item 5): an operator blocks a wallet; the list
/// comes signed with the trust bundle, and settlement refuses a deposit of its payment
/// (nothing credited) until it is unblocked; each change is a new version.
pub async fn counterparty_block_list(s: &Server) {
    use base64::Engine as _;
    let fi = s.fi_cert().await;
    let wallet = s.device(s.sign_up("listed").await, 81).await;
    let shop = s.sign_up("shop").await;
    let pos = s.device(shop, 82).await;
    let notes = s.fund(&wallet, 500).await;
    let pay = payment(
        vec![fi.clone(), wallet.cert.clone()],
        &notes[0],
        vec![wallet.spend(notes[0].note_id(), 0, 200, pos.id(), 1)],
    );
    let block = |blocked: bool| json!({"cert_id": wallet.id().to_string(), "blocked": blocked, "reason": "sanctions"});
    let (status, v) = s.post("/api/v1/blocklist", block(true)).await;
    assert_eq!(status, 401, "operators only: {v}");
    let (status, v) = s.admin_post("/api/v1/blocklist", block(true)).await;
    assert_eq!(
        (status, v["changed"].as_bool(), v["version"].as_u64()),
        (200, Some(true), Some(1)),
        "{v}"
    );
    let (_, again) = s.admin_post("/api/v1/blocklist", block(true)).await;
    assert_eq!(
        (again["changed"].as_bool(), again["version"].as_u64()),
        (Some(false), Some(1))
    );
    let (_, trust) = s.get(ops_api::paths::TRUST).await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(trust["blocklist"].as_str().unwrap())
        .unwrap();
    let list = ops_core::BlockListBody::verified(&bytes, &fi, &ops_core::P256Provider).unwrap();
    assert_eq!((list.number, list.blocked.clone()), (1, vec![wallet.id()]));
    let before = s.balance(shop).await;
    let (status, v) = s.deposit(&pay, pos.id()).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("blocked_counterparty")),
        "{v}"
    );
    assert_eq!(s.balance(shop).await, before, "nothing credited");
    let (_, v) = s.admin_post("/api/v1/blocklist", block(false)).await;
    assert_eq!(v["version"].as_u64(), Some(2), "{v}");
    // Settlement reads the list at most a second late.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (status, v) = s.deposit(&pay, pos.id()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(s.balance(shop).await, before + 200);
}

/// A lost phone's copy waits for an operator (held: it duplicates value of a device
/// revoked before the deposit); the refund must wait too. Refunding first would pay back
/// the units the copy claims beyond the first payment, and releasing the copy afterwards
/// would credit them a second time. Regression test for the refund-vs-hold race found on
/// review.
pub async fn refund_waits_for_held_deposit(s: &Server) {
    use ops_issuer::store::REFUND_GRACE;
    let (holder, token) = s.sign_up_with_token("holder").await;
    let phone = s.device(holder, 91).await;
    let shop = s.sign_up("shop").await;
    let pos = s.device(shop, 92).await;
    let fi = s.fi_cert().await;
    let notes = s.fund(&phone, 1_000).await;
    let note = &notes[0];
    let certs = vec![fi.clone(), phone.cert.clone()];
    // Offline, before it was lost: 300 paid, then [0, 600) paid again to the same shop.
    let first = payment(
        certs.clone(),
        note,
        vec![phone.spend(note.note_id(), 0, 300, pos.id(), 1)],
    );
    let copy = payment(
        certs,
        note,
        vec![phone.spend(note.note_id(), 0, 600, pos.id(), 2)],
    );
    let (status, v) = s.deposit(&first, pos.id()).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = s
        .post_as(
            &token,
            &ops_api::paths::revoke_device(holder, &phone.id().to_string()),
            json!({"reason": "lost"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = s.deposit(&copy, pos.id()).await;
    assert_eq!((status, v["status"].as_str()), (202, Some("held")), "{v}");
    let held = v["held_id"].as_i64().unwrap();
    let store = s.store().await;
    let later = note.body.expires + REFUND_GRACE + 1;
    let made = store
        .refund_lost_devices(later, REFUND_GRACE)
        .await
        .unwrap();
    assert!(
        made.is_empty(),
        "no refund while a deposit of its value is held: {made:?}"
    );
    // The operator releases the copy: the shop is credited 600; its [300, 600) is new
    // coverage, [0, 300) the excess recovered from the holder.
    let (status, v) = s
        .admin_post(
            &format!("/api/v1/held-deposits/{held}/release"),
            json!({"operator": "ops", "note": "the shop accepted it before the report"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    // Now the refund: only [600, 1000), once.
    let made = store
        .refund_lost_devices(later, REFUND_GRACE)
        .await
        .unwrap();
    assert_eq!(made.iter().map(|r| r.amount).sum::<i64>(), 400, "{made:?}");
    assert!(
        store
            .refund_lost_devices(later + 60, REFUND_GRACE)
            .await
            .unwrap()
            .is_empty()
    );
    let audit = store.audit().await.unwrap();
    assert!(audit.violations.is_empty(), "{:?}", audit.violations);
    assert_eq!((audit.refunded, audit.excess), (400, 300));
}

/// Lost devices (issue 14): the holder reports a phone lost (revoked at once); what it paid
/// before is deposited and credited to the payee; after its notes' deposit deadline (their
/// expiry plus `REFUND_GRACE`) every unit no claim covered goes back to the holder's
/// account, exactly once; a device still in use and a note not yet past its deadline are left alone; the
/// audit finds no violation.
pub async fn lost_device_refunds(s: &Server) {
    use ops_issuer::store::REFUND_GRACE;
    let (holder, token) = s.sign_up_with_token("holder").await;
    let phone = s.device(holder, 97).await;
    let other = s.device(holder, 98).await;
    let shop = s.sign_up("shop").await;
    let pos = s.device(shop, 99).await;
    let fi = s.fi_cert().await;
    let notes = s.fund(&phone, 1_000).await;
    let kept = s.fund(&other, 400).await;
    // The phone paid 300 offline; the payee deposits it.
    let spend = phone.spend(notes[0].note_id(), 0, 300, pos.id(), 1);
    let pay = payment(vec![fi.clone(), phone.cert.clone()], &notes[0], vec![spend]);
    let (status, v) = s.deposit(&pay, pos.id()).await;
    assert!(status == 200 || status == 201, "{v}");
    // The holder reports it lost from the account (its recovery code).
    let (status, v) = s
        .post_as(
            &token,
            &ops_api::paths::revoke_device(holder, &phone.id().to_string()),
            json!({"reason": "lost"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let before = s.balance(holder).await;
    let store = s.store().await;
    let now = crate::common::now();
    // Before the deadline: nothing (a payee may still deposit what the phone paid).
    assert!(
        store
            .refund_lost_devices(now, REFUND_GRACE)
            .await
            .unwrap()
            .is_empty()
    );
    let expires = notes.iter().map(|n| n.body.expires).max().unwrap();
    assert!(
        store
            .refund_lost_devices(expires + REFUND_GRACE, REFUND_GRACE)
            .await
            .unwrap()
            .is_empty(),
        "the deadline is strict"
    );
    // After it: the unspent 700 of the phone's notes, not the other device's 400.
    let later = expires + REFUND_GRACE + 1;
    let made = store
        .refund_lost_devices(later, REFUND_GRACE)
        .await
        .unwrap();
    let total: i64 = made.iter().map(|r| r.amount).sum();
    assert_eq!(total, 1_000 - 300, "{made:?}");
    assert!(
        made.iter()
            .all(|r| r.device == phone.id() && r.account_id == holder)
    );
    assert_eq!(
        made.iter()
            .find(|r| r.note_id == notes[0].note_id())
            .map(|r| r.amount),
        Some(notes[0].body.amount as i64 - 300),
        "the spent range is not refunded"
    );
    assert_eq!(s.balance(holder).await, before + 700);
    // Exactly once: again, and two runs at once, refund nothing more.
    assert!(
        store
            .refund_lost_devices(later + 60, REFUND_GRACE)
            .await
            .unwrap()
            .is_empty()
    );
    let twice = crate::common::join_all(vec![
        store.refund_lost_devices(later + 120, REFUND_GRACE),
        store.refund_lost_devices(later + 120, REFUND_GRACE),
    ])
    .await;
    assert!(twice.iter().all(|r| r.as_ref().unwrap().is_empty()));
    assert_eq!(s.balance(holder).await, before + 700);
    assert_eq!(store.refunds_of(holder).await.unwrap().len(), made.len());
    assert!(
        kept.iter()
            .all(|n| !made.iter().any(|r| r.note_id == n.note_id()))
    );
    // The ledger agrees: refunds are accounted for, nothing violated.
    let audit = store.audit().await.unwrap();
    assert_eq!(audit.refunded, 700);
    assert!(audit.violations.is_empty(), "{:?}", audit.violations);
    // The admin endpoint runs the same job now (nothing is due yet).
    let (status, v) = s.admin_post("/api/v1/refunds/run", json!({})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["total"], 0);
}

/// A device's bucket (`--device-rate 0 --device-burst 2`) answers `429 rate_limited` with
/// `Retry-After` once spent; another device of the account is not charged for it.
pub async fn per_device_rate_limit(tag: &str, database: Option<String>) {
    let dir = crate::common::temp_dir(tag);
    let s = Server::start_with(
        dir.clone(),
        database,
        &["--device-rate", "0", "--device-burst", "2"],
    )
    .await;
    let a = s.sign_up("a").await;
    let w = s.device(a, 51).await;
    let w2 = s.device(a, 52).await;
    s.fund(&w, 10).await;
    s.fund(&w, 10).await;
    let (status, v) = s
        .admin_post(
            "/api/v1/fund",
            serde_json::json!({"device": w.id().to_string(), "amount": 10}),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    let r = s
        .http
        .post(s.url("/api/v1/fund"))
        .bearer_auth(&s.admin_token)
        .json(&serde_json::json!({"device": w.id().to_string(), "amount": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().contains_key("retry-after"));
    s.fund(&w2, 10).await;
    assert_eq!(s.balance(a).await, STARTING - 30);
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}

/// The FI writes its offline limits in every device certificate (`--device-max-payment`,
/// `--device-max-without-uv`, PROTOCOL.md §6.1) and applies them at deposit: a payment
/// taking more than 500 from one device is refused with rule V26.
pub async fn device_limits_at_deposit(tag: &str, database: Option<String>) {
    let dir = crate::common::temp_dir(tag);
    let s = Server::start_with(
        dir,
        database,
        &[
            "--device-max-payment",
            "500",
            "--device-max-without-uv",
            "100",
        ],
    )
    .await;
    let holder = s.sign_up("holder").await;
    let shop = s.sign_up("shop").await;
    let wallet = s.device(holder, 71).await;
    let pos = s.device(shop, 72).await;
    let limits = &wallet.cert.body.limits;
    assert_eq!(
        (limits.max_payment, limits.max_without_uv),
        (Some(500), Some(100))
    );
    let fi = s.fi_cert().await;
    let notes = s.fund(&wallet, 1_000).await;
    // A software-key device signs plain ES256: never user-verified, so 100 at most.
    let small = wallet.spend(notes[0].note_id(), 0, 100, pos.id(), 1);
    let pay = payment(
        vec![fi.clone(), wallet.cert.clone()],
        &notes[0],
        vec![small],
    );
    let (status, v) = s.deposit(&pay, pos.id()).await;
    assert!(status == 200 || status == 201, "{v}");
    let big = wallet.spend(notes[0].note_id(), 100, 700, pos.id(), 2);
    let pay = payment(vec![fi, wallet.cert.clone()], &notes[0], vec![big]);
    let (status, v) = s.deposit(&pay, pos.id()).await;
    assert_eq!(status, 422, "{v}");
    let said = v["error"]["message"].as_str().unwrap_or_default();
    assert!(said.contains("V26") || said.contains("V27"), "{v}");
}
