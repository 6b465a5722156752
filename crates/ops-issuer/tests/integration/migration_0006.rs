//! Migration 0006 (the per-note ledger) on a database written by the schema before it, on
//! SQLite and PostgreSQL: the recorded spends become coverage of notes the ledger knows,
//! cases get their excess, accounts their opening value, and the audit finds the migrated
//! ledger sound.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::borrow::Cow;

use sqlx::AnyPool;

/// Applies the migrations before 0006 only.
async fn migrate_to_0005(pool: &AnyPool, postgres: bool) {
    let mut m = if postgres {
        sqlx::migrate!("migrations/postgres")
    } else {
        sqlx::migrate!("migrations/sqlite")
    };
    let before: Vec<_> = m
        .migrations
        .iter()
        .filter(|x| x.version < 6)
        .cloned()
        .collect();
    assert_eq!(before.len(), 5);
    m.migrations = Cow::Owned(before);
    m.run(pool).await.unwrap();
}

/// What the old service wrote: an account funded a 1,000 note, paid [0,300) and [300,500)
/// to a shop (deposited), and a fraud case recovered 100.
async fn legacy_rows(pool: &AnyPool, postgres: bool) {
    let blob = if postgres { "'\\x00'::bytea" } else { "x'00'" };
    for sql in [
        "INSERT INTO accounts (name, balance, created) VALUES ('payer', 98900, 1)",
        "INSERT INTO accounts (name, balance, created) VALUES ('shop', 100500, 1)",
        "INSERT INTO devices (cert_id, serial, account_id, public_key, cert, revoked, created) VALUES ('w', 1, 1, 'k', x'00', 1, 1)",
        "INSERT INTO notes (note_id, device, account_id, amount, issuance, issued, expires) VALUES ('n', 'w', 1, 1000, x'00', 1, 99)",
        "INSERT INTO spends (spend_id, input_note, range_from, range_to, payee, signer, deposit, spend) VALUES ('s1', 'n', 0, 300, 'p', 'w', 'd1', x'00')",
        "INSERT INTO spends (spend_id, input_note, range_from, range_to, payee, signer, deposit, spend) VALUES ('s2', 'n', 300, 500, 'p', 'w', 'd2', x'00')",
        "INSERT INTO deposits (payment_hash, depositor, account_id, amount, spends_recorded, fraud_cases, created) VALUES ('d1', 'p', 2, 300, 1, 0, 1)",
        "INSERT INTO deposits (payment_hash, depositor, account_id, amount, spends_recorded, fraud_cases, created) VALUES ('d2', 'p', 2, 200, 1, 1, 1)",
        "INSERT INTO fraud_cases (spend_a, spend_b, input_note, culprit, culprit_serial, overlap, proof, debited, shortfall, deposit, resolved, created) VALUES ('s2', 'sx', 'n', 'w', 1, 100, x'00', 100, 0, 'd2', 0, 1)",
    ] {
        sqlx::query(&sql.replace("x'00'", blob))
            .execute(pool)
            .await
            .unwrap();
    }
}

async fn scenario(location: &str, postgres: bool) {
    sqlx::any::install_default_drivers();
    let url = ops_issuer::store::database_url(location).unwrap().0;
    let pool = AnyPool::connect(&url).await.unwrap();
    migrate_to_0005(&pool, postgres).await;
    legacy_rows(&pool, postgres).await;
    pool.close().await;
    // The service's own connect runs 0006.
    let store = ops_issuer::store::Store::connect(location).await.unwrap();
    let row = |sql: &'static str| {
        let pool = store.pool().clone();
        async move { sqlx::query(sql).fetch_one(&pool).await.unwrap() }
    };
    use sqlx::Row as _;
    let r = row("SELECT COUNT(*), CAST(SUM(range_to - range_from) AS BIGINT) FROM coverage").await;
    // The two spends of the note, and the two final notes the deposits consumed.
    assert_eq!((r.get::<i64, _>(0), r.get::<i64, _>(1)), (4, 1_000));
    let r = row("SELECT value, kind FROM ledger_notes WHERE note_id = 'n'").await;
    assert_eq!(
        (r.get::<i64, _>(0), r.get::<String, _>(1)),
        (1000, "issuance".into())
    );
    let r = row("SELECT excess FROM fraud_cases").await;
    assert_eq!(r.get::<i64, _>(0), 100);
    let r = row("SELECT opening FROM accounts WHERE id = 1").await;
    assert_eq!(r.get::<i64, _>(0), 98_900 + 1_000 + 100);
    let r = row("SELECT kind FROM fraud_cases").await;
    assert_eq!(r.get::<String, _>(0), "legacy");
    // Both old deposits' final notes are consumed (a re-upload credits nothing more).
    let r = row("SELECT COUNT(*), CAST(SUM(value) AS BIGINT) FROM consumptions").await;
    assert_eq!((r.get::<i64, _>(0), r.get::<i64, _>(1)), (2, 500));
    let r = row("SELECT opening FROM accounts WHERE id = 2").await;
    assert_eq!(r.get::<i64, _>(0), 100_000);
    // The migrated ledger is sound.
    let report = store.audit().await.unwrap();
    assert!(report.violations.is_empty(), "{report:?}");
    assert_eq!((report.credited, report.unclaimed), (500, 500));
}

#[tokio::test]
async fn migration_0006_carries_a_sqlite_ledger_over() {
    let dir = common::temp_dir("migration-0006");
    scenario(dir.join("issuer.sqlite").to_str().unwrap(), false).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn migration_0006_carries_a_postgres_ledger_over() {
    let pg = common::postgres::Postgres::start();
    let db = pg.create_database("migration").await;
    scenario(&db, true).await;
}
