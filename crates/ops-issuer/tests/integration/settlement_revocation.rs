//! Deposits are checked against the FI's revocations (guaranteed settlement,
//! `ops_core::settlement`): a payment from a revoked device is credited while a payee could
//! still have accepted it honestly with a CRL of the age its amount allows, and refused
//! after; a retry of a payment credited earlier still gets its first outcome. On SQLite and
//! on PostgreSQL, against the real server process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{STARTING, Server, payment};

/// Moves every revocation `days` into the past, straight in the database (what the FI's
/// clock would show that many days later), then waits for the server to reload them.
async fn age_revocations(s: &Server, days: u64) {
    sqlx::any::install_default_drivers();
    let url = match &s.database {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", s.dir.join("data/issuer.sqlite").display()),
    };
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let shift = i64::try_from(days * 86_400).unwrap();
    let changed = sqlx::query("UPDATE crl_entries SET revoked_at = revoked_at - $1")
        .bind(shift)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    pool.close().await;
    // The server reloads its revocations at least every second.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
}

async fn scenario(s: &Server) {
    let culprit = s.sign_up("culprit").await;
    let shop = s.sign_up("shop").await;
    let wallet = s.device(culprit, 70).await;
    let pos = s.device(shop, 71).await;
    let fi = s.fi_cert().await;
    let certs = vec![fi.clone(), wallet.cert.clone()];
    let notes = s.fund(&wallet, 10_000).await;
    let note = notes[0].note_id();
    // Two payments of the same range: the second opens a fraud case and revokes the wallet.
    let first = payment(
        certs.clone(),
        &notes[0],
        vec![wallet.spend(note, 0, 3_000, pos.id(), 1)],
    );
    let copy = payment(
        certs.clone(),
        &notes[0],
        vec![wallet.spend(note, 0, 3_000, pos.id(), 2)],
    );
    assert_eq!(s.deposit(&first, pos.id()).await.0, 200);
    let (status, v) = s.deposit(&copy, pos.id()).await;
    assert_eq!((status, v["fraud_cases"].as_i64()), (200, Some(1)), "{v}");
    // 3 000 units sit in the 7-day floor tier: a payee whose CRL predates the revocation
    // may still accept the revoked wallet's payments for 7 days; the FI honours them.
    let within = payment(
        certs.clone(),
        &notes[0],
        vec![wallet.spend(note, 3_000, 6_000, pos.id(), 3)],
    );
    let (status, credited) = s.deposit(&within, pos.id()).await;
    assert_eq!(status, 200, "{credited}");
    let balance = s.balance(shop).await;
    assert_eq!(balance, STARTING + 9_000);

    // Eight days later the same kind of payment cannot have been accepted honestly.
    age_revocations(s, 8).await;
    let late = payment(
        certs.clone(),
        &notes[0],
        vec![wallet.spend(note, 6_000, 9_000, pos.id(), 4)],
    );
    let (status, v) = s.deposit(&late, pos.id()).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"]["code"], "revoked_signer", "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains(&wallet.id().to_string()), "{message}");
    assert!(message.contains("sync the POS"), "{message}");
    assert_eq!(s.balance(shop).await, balance, "nothing credited");
    // A retry of the payment credited before the revocation aged: settled before, nothing
    // more credited.
    let (status, again) = s.deposit(&within, pos.id()).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (&again["amount"], &again["credited"], &again["status"]),
        (
            &credited["amount"],
            &serde_json::json!(0),
            &credited["status"]
        )
    );
    assert_eq!(s.balance(shop).await, balance);
}

#[tokio::test]
async fn revoked_signers_are_honoured_only_within_the_floor_window_sqlite() {
    let s = Server::start("revocation", None).await;
    scenario(&s).await;
}

#[tokio::test]
async fn revoked_signers_are_honoured_only_within_the_floor_window_postgres() {
    let pg = common::postgres::Postgres::start();
    let db = pg.create_database("revocation").await;
    let s = Server::start("pg-revocation", Some(db)).await;
    scenario(&s).await;
}
