//! Issue 10's attacks on settlement, each kept as a regression test against the real
//! service on SQLite and on PostgreSQL (one list, both engines). Every payment is valid and
//! signed with the core's own types; the attacker only chooses what to upload, in what
//! bytes, in what order. After each scenario the ledger audit finds no violation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use base64::Engine as _;
use common::{STARTING, Server, on_both_engines, payment};
use ops_core::Certificate;
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The audit finds nothing, through the API and through `ops-issuer audit`.
async fn assert_audit_clean(s: &Server) {
    let (status, report) = s.admin_get("/api/v1/audit").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["ok"], true, "{report:#}");
    s.assert_conserved(STARTING).await;
}

async fn cases(s: &Server) -> Vec<Value> {
    let (status, v) = s.admin_get("/api/v1/fraud-cases").await;
    assert_eq!(status, 200, "{v}");
    v["cases"].as_array().unwrap().clone()
}

/// Attack 1: The same payment in other bytes (other certificate lists), singly, in one batch and
/// as a defund: credited once.
async fn reencoded_payment_is_credited_once(s: &Server) {
    let payer = s.sign_up("payer").await;
    let shop = s.sign_up("shop").await;
    let wallet = s.device(payer, 1).await;
    let pos = s.device(shop, 2).await;
    let fi = s.fi_cert().await;
    let notes = s.fund(&wallet, 5_000).await;
    let spend = wallet.spend(notes[0].note_id(), 0, 1_200, pos.id(), 1);
    // Two canonical encodings (with and without the FI's certificate, which the FI holds)
    // and five more re-encodings, each a different list.
    let lists = [
        vec![fi.clone(), wallet.cert.clone()],
        vec![wallet.cert.clone()],
        vec![wallet.cert.clone(), fi.clone()],
        vec![fi.clone(), wallet.cert.clone(), wallet.cert.clone()],
        vec![wallet.cert.clone(), wallet.cert.clone()],
    ];
    // Non-canonical bytes (unsorted, duplicated, the root, a stranger's certificate) do not
    // even decode: one encoding per payment (PROTOCOL.md §3.1).
    let (_, trust) = s.get("/api/v1/trust").await;
    let root = ops_core::Certificate::from_bytes(
        &base64::engine::general_purpose::STANDARD
            .decode(trust["root"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let stranger = s.device(shop, 3).await;
    let mut raw = vec![fi.clone(), wallet.cert.clone()];
    raw.sort_by_key(Certificate::id);
    let variants = [
        raw.iter().rev().cloned().collect::<Vec<_>>(),
        vec![raw[0].clone(), raw[0].clone(), raw[1].clone()],
        [vec![root], raw.clone()].concat(),
        [raw.clone(), vec![stranger.cert.clone()]].concat(),
    ];
    for certs in variants {
        let mut p = payment(vec![], &notes[0], vec![spend.clone()]);
        p.certs = certs;
        let bytes = ops_core::testing::encode_payment_certs_as_given(&p);
        let (status, v) = s
            .admin_post(
                "/api/v1/deposits",
                json!({"payment": b64(&bytes), "depositor": pos.id().to_string()}),
            )
            .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (400, Some("malformed_payment")),
            "{v}"
        );
    }
    let mut credited = 0;
    for certs in &lists {
        let p = payment(certs.clone(), &notes[0], vec![spend.clone()]);
        let (status, v) = s.deposit(&p, pos.id()).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["amount"], 1_200, "{v}");
        credited += v["credited"].as_i64().unwrap();
    }
    assert_eq!(credited, 1_200, "credited once over every encoding");
    assert_eq!(s.balance(shop).await, STARTING + 1_200);
    // The same inside one batch: five encodings of another payment.
    let spend2 = wallet.spend(notes[0].note_id(), 1_200, 2_000, pos.id(), 2);
    let payments: Vec<String> = lists
        .iter()
        .map(|c| b64(&payment(c.clone(), &notes[0], vec![spend2.clone()]).to_bytes()))
        .collect();
    let (status, v) = s
        .admin_post(
            "/api/v1/deposits/batch",
            json!({"depositor": pos.id().to_string(), "payments": payments}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let total: i64 = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ok"]["credited"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 800, "{v}");
    assert_eq!(s.balance(shop).await, STARTING + 2_000);
    // A defund by the wallet's owner alone, in three encodings: credited once.
    let back = wallet.spend(notes[0].note_id(), 2_000, 3_000, fi.id(), 3);
    let mut back_credited = 0;
    for certs in &lists[..3] {
        let d = payment(certs.clone(), &notes[0], vec![back.clone()]);
        let (status, v) = s
            .post("/api/v1/defund", json!({"payment": b64(&d.to_bytes())}))
            .await;
        assert_eq!(status, 200, "{v}");
        back_credited += v["credited"].as_i64().unwrap();
    }
    assert_eq!(back_credited, 1_000);
    assert_eq!(s.balance(payer).await, STARTING - 5_000 + 1_000);
    assert!(cases(s).await.is_empty());
    assert_audit_clean(s).await;
}

/// Attack 2: A note deposited by its payee after the payee spent it onward (and the other order):
/// a double spend by that payee, who ends up with nothing extra; the honest merchant is paid.
async fn deposit_of_a_note_spent_onward(s: &Server, onward_first: bool) {
    let a = s.sign_up("a").await;
    let b = s.sign_up("b").await;
    let shop = s.sign_up("shop").await;
    let wa = s.device(a, 11).await;
    let wb = s.device(b, 12).await;
    let pos = s.device(shop, 13).await;
    let fi = s.fi_cert().await;
    let certs = vec![fi.clone(), wa.cert.clone(), wb.cert.clone()];
    let notes = s.fund(&wa, 1_000).await;
    let s1 = wa.spend(notes[0].note_id(), 0, 600, wb.id(), 1);
    let s2 = wb.spend(s1.id(), 0, 600, pos.id(), 2);
    let to_shop = payment(certs.clone(), &notes[0], vec![s1.clone(), s2]);
    let to_b = payment(certs, &notes[0], vec![s1]);
    let (first, second) = if onward_first {
        ((&to_shop, pos.id()), (&to_b, wb.id()))
    } else {
        ((&to_b, wb.id()), (&to_shop, pos.id()))
    };
    let (status, v1) = s.deposit(first.0, first.1).await;
    assert_eq!(status, 200, "{v1}");
    let (status, v2) = s.deposit(second.0, second.1).await;
    assert_eq!(status, 200, "{v2}");
    assert_eq!(v2["fraud_cases"], 1, "{v2}");
    // The merchant is paid 600 once; B was credited 600 and debited the same 600.
    assert_eq!(s.balance(shop).await, STARTING + 600);
    assert_eq!(s.balance(b).await, STARTING);
    let cases = cases(s).await;
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["kind"], "spend_and_deposit");
    assert_eq!(cases[0]["culprit"], wb.id().to_string());
    assert_eq!(
        (cases[0]["excess"].as_i64(), cases[0]["debited"].as_i64()),
        (Some(600), Some(600))
    );
    let (_, crl) = s.get("/api/v1/crl").await;
    assert_eq!(crl["revoked"], json!([wb.cert.body.serial]));
    // Uploading either again changes nothing.
    let (_, again) = s.deposit(second.0, second.1).await;
    assert_eq!(again["credited"], 0, "{again}");
    assert_audit_clean(s).await;
}

async fn deposit_after_onward_spend(s: &Server) {
    deposit_of_a_note_spent_onward(s, true).await;
}

async fn onward_spend_after_deposit(s: &Server) {
    deposit_of_a_note_spent_onward(s, false).await;
}

/// Attack 3: Partial overlaps: every covered unit counted, one case per overlapping pair with the
/// exact overlap, the conflicting spend recorded; a further copy after the culprit's
/// revocation is held, then released by an operator.
async fn partial_overlaps_count_every_unit(s: &Server) {
    let mallory = s.sign_up("mallory").await;
    let shops: Vec<i64> = [
        s.sign_up("s1").await,
        s.sign_up("s2").await,
        s.sign_up("s3").await,
    ]
    .to_vec();
    let wallet = s.device(mallory, 21).await;
    let mut pos = Vec::new();
    for (i, shop) in shops.iter().enumerate() {
        pos.push(s.device(*shop, 22 + i as u64).await);
    }
    let fi = s.fi_cert().await;
    let certs = vec![fi, wallet.cert.clone()];
    let notes = s.fund(&wallet, 1_000).await;
    let note = notes[0].note_id();
    let pay = |from, to, payee: ops_core::CertId, tag| {
        payment(
            certs.clone(),
            &notes[0],
            vec![wallet.spend(note, from, to, payee, tag)],
        )
    };
    assert_eq!(
        s.deposit(&pay(0, 100, pos[0].id(), 1), pos[0].id()).await.0,
        200
    );
    assert_eq!(
        s.deposit(&pay(100, 200, pos[0].id(), 2), pos[0].id())
            .await
            .0,
        200
    );
    let (status, v) = s.deposit(&pay(0, 600, pos[1].id(), 3), pos[1].id()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["credited"].as_i64(), v["fraud_cases"].as_i64()),
        (Some(600), Some(2))
    );
    let c = cases(s).await;
    assert_eq!(c.len(), 2);
    for case in &c {
        assert_eq!(
            (case["overlap"].as_i64(), case["excess"].as_i64()),
            (Some(100), Some(100)),
            "{case}"
        );
    }
    // The conflicting [0,600) is recorded: [200,1000) now overlaps it by 400 — and the
    // culprit is revoked, so this further copy waits for an operator.
    let late = pay(200, 1_000, pos[2].id(), 4);
    let (status, held) = s.deposit(&late, pos[2].id()).await;
    assert_eq!(status, 202, "{held}");
    assert_eq!(
        (held["status"].as_str(), held["credited"].as_i64()),
        (Some("held"), Some(0))
    );
    assert_eq!(s.balance(shops[2]).await, STARTING);
    // A re-upload finds the same hold.
    let (status, again) = s.deposit(&late, pos[2].id()).await;
    assert_eq!((status, &again["held_id"]), (202, &held["held_id"]));
    assert_audit_clean(s).await;
    let (status, list) = s.admin_get("/api/v1/held-deposits").await;
    assert_eq!(status, 200);
    assert_eq!(list["held"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["held"][0]["excess"], 400);
    // The operator releases it: credited 800, one more case of exactly 400.
    let id = held["held_id"].as_i64().unwrap();
    let decision =
        json!({"operator": "ops-1", "note": "payee showed a CRL older than the revocation"});
    let (status, r) = s
        .admin_post(
            &format!("/api/v1/held-deposits/{id}/release"),
            decision.clone(),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["outcome"]["credited"], 800);
    assert_eq!(s.balance(shops[2]).await, STARTING + 800);
    let (status, r) = s
        .admin_post(&format!("/api/v1/held-deposits/{id}/release"), decision)
        .await;
    assert_eq!(
        (status, r["error"]["code"].as_str()),
        (409, Some("already_decided"))
    );
    let total_excess: i64 = cases(s)
        .await
        .iter()
        .map(|c| c["excess"].as_i64().unwrap())
        .sum();
    assert_eq!(
        total_excess, 600,
        "1,600 credited out of a 1,000 note: 600 in fraud cases"
    );
    let (_, report) = s.admin_get("/api/v1/audit").await;
    assert_eq!(
        (report["credited"].as_i64(), report["excess"].as_i64()),
        (Some(1_600), Some(600))
    );
    assert_audit_clean(s).await;
}

/// Deposits `p` for `pos` with `token`.
async fn deposit_as(
    s: &Server,
    pos: &common::Device,
    token: &str,
    p: &ops_core::Payment,
) -> (u16, Value) {
    s.post_as(
        token,
        "/api/v1/deposits",
        json!({"payment": b64(&p.to_bytes()), "depositor": pos.id().to_string()}),
    )
    .await
}

/// Attack 4: A payer and a payee acting together keep depositing copies after the payer's
/// revocation: the first copy is credited (and recovered), every further one is held;
/// an operator rejects them. A copy larger than the per-culprit cap is held at once.
async fn colluding_copies_are_held(s: &Server) {
    let (payer, payer_token) = s.sign_up_with_token("colluding payer").await;
    let (payee, payee_token) = s.sign_up_with_token("colluding payee").await;
    let wallet = s.device(payer, 31).await;
    let pos = s.device(payee, 32).await;
    let fi = s.fi_cert().await;
    let certs = vec![fi, wallet.cert.clone()];
    let notes = s.fund(&wallet, 1_000).await;
    let copies: Vec<_> = (0..5u8)
        .map(|tag| {
            payment(
                certs.clone(),
                &notes[0],
                vec![wallet.spend(notes[0].note_id(), 0, 1_000, pos.id(), tag)],
            )
        })
        .collect();
    // The payee deposits with its own token (the payer's token may not).
    let (status, v) = deposit_as(s, &pos, &payer_token, &copies[0]).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("no_such_account")),
        "{v}"
    );
    let mut statuses = Vec::new();
    for p in &copies {
        let (status, v) = deposit_as(s, &pos, &payee_token, p).await;
        statuses.push((status, v["status"].as_str().unwrap_or("").to_owned()));
    }
    assert_eq!(
        statuses.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![200, 200, 202, 202, 202],
        "{statuses:?}"
    );
    // Two copies credited; the excess (1,000) recovered from the payer's account.
    assert_eq!(s.balance(payee).await, STARTING + 2_000);
    assert_eq!(s.balance(payer).await, STARTING - 1_000 - 1_000);
    let (_, list) = s.admin_get("/api/v1/held-deposits").await;
    let held = list["held"].as_array().unwrap();
    assert_eq!(held.len(), 3);
    for h in held {
        let id = h["id"].as_i64().unwrap();
        let (status, r) = s
            .admin_post(
                &format!("/api/v1/held-deposits/{id}/reject"),
                json!({"operator": "ops-1", "note": "colluding payee"}),
            )
            .await;
        assert_eq!(status, 200, "{r}");
    }
    let (status, v) = deposit_as(s, &pos, &payee_token, &copies[4]).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("deposit_rejected")),
        "{v}"
    );
    assert_eq!(s.balance(payee).await, STARTING + 2_000);
    assert_audit_clean(s).await;
}

/// Attack 4, racing: eight copies uploaded at once (different notes of one culprit, so
/// the database's per-note rule alone does not serialise them): at most the first
/// duplicate is credited, the rest are held.
async fn colluding_copies_in_parallel(s: &Server) {
    let payer = s.sign_up("colluding payer").await;
    let payee = s.sign_up("colluding payee").await;
    let wallet = s.device(payer, 61).await;
    let pos = s.device(payee, 62).await;
    let fi = s.fi_cert().await;
    let certs = vec![fi, wallet.cert.clone()];
    let mut originals = Vec::new();
    let mut copies = Vec::new();
    for i in 0..8u8 {
        let notes = s.fund(&wallet, 100).await;
        let note = notes[0].note_id();
        originals.push(payment(
            certs.clone(),
            &notes[0],
            vec![wallet.spend(note, 0, 100, pos.id(), 2 * i)],
        ));
        copies.push(payment(
            certs.clone(),
            &notes[0],
            vec![wallet.spend(note, 0, 100, pos.id(), 2 * i + 1)],
        ));
    }
    for p in &originals {
        assert_eq!(s.deposit(p, pos.id()).await.0, 200);
    }
    let answers = {
        let mut set = tokio::task::JoinSet::new();
        for p in copies {
            let http = s.http.clone();
            let url = s.url("/api/v1/deposits");
            let token = s.admin_token.clone();
            let body = json!({"payment": b64(&p.to_bytes()), "depositor": pos.id().to_string()});
            set.spawn(async move {
                http.post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.unwrap());
        }
        out
    };
    let credited = answers.iter().filter(|s| **s == 200).count();
    let held = answers.iter().filter(|s| **s == 202).count();
    assert_eq!((credited, held), (1, 7), "{answers:?}");
    assert_eq!(s.balance(payee).await, STARTING + 900);
    assert_audit_clean(s).await;
}

/// Attack 4b: With a cap of 500, the first copy of 1,000 is held (and the payer revoked).
async fn copies_above_the_cap_are_held(s: &Server) {
    let payer = s.sign_up("payer").await;
    let shop = s.sign_up("shop").await;
    let wallet = s.device(payer, 41).await;
    let pos = s.device(shop, 42).await;
    let fi = s.fi_cert().await;
    let certs = vec![fi, wallet.cert.clone()];
    let notes = s.fund(&wallet, 1_000).await;
    let copy = |tag| {
        payment(
            certs.clone(),
            &notes[0],
            vec![wallet.spend(notes[0].note_id(), 0, 1_000, pos.id(), tag)],
        )
    };
    assert_eq!(s.deposit(&copy(1), pos.id()).await.0, 200);
    let (status, v) = s.deposit(&copy(2), pos.id()).await;
    assert_eq!(status, 202, "{v}");
    let (_, list) = s.admin_get("/api/v1/held-deposits").await;
    assert!(
        list["held"][0]["reason"].as_str().unwrap().contains("cap"),
        "{list}"
    );
    let (_, crl) = s.get("/api/v1/crl").await;
    assert_eq!(
        crl["revoked"],
        json!([wallet.cert.body.serial]),
        "held, and the payer revoked"
    );
    assert_eq!(s.balance(shop).await, STARTING + 1_000);
    assert_audit_clean(s).await;
}

/// Deposits consume notes, so only the depositor's account may deposit: no token → 401,
/// someone else's token → 404 (the same as a missing account).
async fn deposits_need_the_depositors_account(s: &Server) {
    let (shop, _) = s.sign_up_with_token("shop").await;
    let (_, stranger_token) = s.sign_up_with_token("stranger").await;
    let payer = s.sign_up("payer").await;
    let pos = s.device(shop, 51).await;
    let wallet = s.device(payer, 52).await;
    let fi = s.fi_cert().await;
    let notes = s.fund(&wallet, 100).await;
    let p = payment(
        vec![fi, wallet.cert.clone()],
        &notes[0],
        vec![wallet.spend(notes[0].note_id(), 0, 100, pos.id(), 1)],
    );
    let body = json!({"payment": b64(&p.to_bytes()), "depositor": pos.id().to_string()});
    let (status, v) = s.post("/api/v1/deposits", body.clone()).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("auth_required")),
        "{v}"
    );
    let (status, v) = s.post_as(&stranger_token, "/api/v1/deposits", body).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("no_such_account")),
        "{v}"
    );
    assert_eq!(s.balance(shop).await, STARTING);
    assert_audit_clean(s).await;
}

/// Attack 5, deposits: a stranger on another address sends 65 deposit requests for a
/// merchant's public device id, without a token or with a made-up one. Its address is
/// limited after a few failures; the merchant's device bucket is untouched and its own
/// deposit goes through.
async fn strangers_cannot_lock_a_merchant_out_of_deposits(s: &Server) {
    let (shop, shop_token) = s.sign_up_with_token("shop").await;
    let payer = s.sign_up("payer").await;
    let pos = s.device(shop, 71).await;
    let wallet = s.device(payer, 72).await;
    let fi = s.fi_cert().await;
    let notes = s.fund(&wallet, 100).await;
    let p = payment(
        vec![fi, wallet.cert.clone()],
        &notes[0],
        vec![wallet.spend(notes[0].note_id(), 0, 100, pos.id(), 1)],
    );
    let body = json!({"payment": b64(&p.to_bytes()), "depositor": pos.id().to_string()});
    let stranger = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let mut codes = Vec::new();
    for i in 0..65 {
        let mut req = stranger.post(s.url("/api/v1/deposits")).json(&body);
        if i % 2 == 1 {
            req = req.bearer_auth("cd".repeat(32));
        }
        codes.push(req.send().await.unwrap().status().as_u16());
    }
    assert!(
        codes[..5].iter().all(|c| matches!(c, 401 | 404)),
        "{codes:?}"
    );
    assert!(codes[5..].iter().all(|c| *c == 429), "{codes:?}");
    // The merchant, with its own token, deposits: its device bucket (burst 2) is whole.
    let (status, v) = s
        .post_as(&shop_token, "/api/v1/deposits", body.clone())
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["credited"], 100);
    let (status, v) = s.post_as(&shop_token, "/api/v1/deposits", body).await;
    assert_eq!((status, &v["credited"]), (200, &json!(0)), "{v}");
    assert_audit_clean(s).await;
}

on_both_engines!(
    every_attack_on_postgres:
    reencoded_payment_is_credited_once,
    deposit_after_onward_spend,
    onward_spend_after_deposit,
    partial_overlaps_count_every_unit,
    colluding_copies_are_held,
    colluding_copies_in_parallel,
    copies_above_the_cap_are_held with ["--max-excess-per-culprit", "500"],
    deposits_need_the_depositors_account,
    strangers_cannot_lock_a_merchant_out_of_deposits with [
        "--device-rate", "0", "--device-burst", "2",
        "--auth-failures-per-address-per-minute", "5"
    ],
);
