//! `POST /api/v1/deposits/batch`: a payee syncs many offline payments in one request. Each
//! payment gets its own outcome or error, in order; a refused one never hides the others;
//! uploading the batch again credits nothing twice. SQLite and PostgreSQL, real server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use base64::Engine as _;
use common::{STARTING, Server, payment};
use serde_json::json;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn scenario(s: &Server) {
    let payer = s.sign_up("payer").await;
    let shop = s.sign_up("shop").await;
    let wallet = s.device(payer, 90).await;
    let pos = s.device(shop, 91).await;
    let other_pos = s.device(shop, 92).await;
    let fi = s.fi_cert().await;
    let certs = vec![fi.clone(), wallet.cert.clone()];
    let notes = s.fund(&wallet, 1_000).await;
    let note = notes[0].note_id();
    let pay = |from: u64, to: u64, payee: ops_core::CertId, tag: u8| {
        payment(
            certs.clone(),
            &notes[0],
            vec![wallet.spend(note, from, to, payee, tag)],
        )
    };
    let good: Vec<_> = (0..5)
        .map(|i| pay(i * 100, i * 100 + 100, pos.id(), 1))
        .collect();
    // Paid to another device: does not end in a spend to the depositor.
    let not_ours = pay(500, 600, other_pos.id(), 2);
    let mut payments: Vec<String> = good.iter().map(|p| b64(&p.to_bytes())).collect();
    payments.insert(2, "not base64!".into());
    payments.insert(4, b64(&not_ours.to_bytes()));
    payments.push(b64(&good[0].to_bytes()));
    let body = json!({"depositor": pos.id().to_string(), "payments": payments});
    let (status, v) = s.admin_post("/api/v1/deposits/batch", body.clone()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["settled"].as_u64(), v["refused"].as_u64()),
        (Some(6), Some(2)),
        "{v}"
    );
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 8);
    assert_eq!(results[2]["error"]["code"], "malformed_base64", "{v}");
    assert_eq!(results[2]["status"], 400);
    assert_eq!(results[4]["error"]["code"], "payment_invalid", "{v}");
    assert_eq!(results[4]["status"], 422);
    for i in [0, 1, 3, 5, 6] {
        assert_eq!(results[i]["ok"]["amount"], 100, "{i}: {v}");
    }
    assert_eq!(
        results[7]["ok"]["credited"].as_i64().unwrap()
            + results[0]["ok"]["credited"].as_i64().unwrap(),
        100,
        "the same payment twice: its note credited once"
    );
    assert_eq!(s.balance(shop).await, STARTING + 500);

    // The whole upload again (a retry after a lost answer): the same outcomes, nothing more.
    let (status, again) = s.admin_post("/api/v1/deposits/batch", body).await;
    assert_eq!(status, 200);
    for (i, (a, b)) in again["results"]
        .as_array()
        .unwrap()
        .iter()
        .zip(results)
        .enumerate()
    {
        assert_eq!(a["error"], b["error"], "{i}");
        assert_eq!(a["ok"]["amount"], b["ok"]["amount"], "{i}");
        if !a["ok"].is_null() {
            assert_eq!(a["ok"]["credited"], 0, "{i}: {again}");
        }
    }
    assert_eq!(s.balance(shop).await, STARTING + 500);
    s.assert_conserved(STARTING).await;

    // Malformed requests are refused whole, with what to do.
    let (status, e) = s
        .post(
            "/api/v1/deposits/batch",
            json!({"depositor": pos.id().to_string(), "payments": []}),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("no_payments"))
    );
    let too_many = vec!["AA==".to_owned(); 257];
    let (status, e) = s
        .post(
            "/api/v1/deposits/batch",
            json!({"depositor": pos.id().to_string(), "payments": too_many}),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("too_many_payments"))
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 256")
    );
    let (status, e) = s
        .post(
            "/api/v1/deposits/batch",
            json!({"depositor": "zz", "payments": ["AA=="]}),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("malformed_id"))
    );
}

#[tokio::test]
async fn batch_upload_settles_each_payment_on_its_own_sqlite() {
    let s = Server::start("batch-upload", None).await;
    scenario(&s).await;
}

#[tokio::test]
async fn batch_upload_settles_each_payment_on_its_own_postgres() {
    let pg = common::postgres::Postgres::start();
    let db = pg.create_database("batchupload").await;
    let s = Server::start("pg-batch-upload", Some(db)).await;
    scenario(&s).await;
}
