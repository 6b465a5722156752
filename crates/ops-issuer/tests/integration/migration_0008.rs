//! Migration 0008 (who revoked a device; its holder's label and backup flags) on a database
//! written by the schema before it, on SQLite and PostgreSQL: the revocations made before
//! it read as settlement's (fraud cases were the only ones), the new columns are unknown,
//! and the holder's revocation works on the migrated rows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::borrow::Cow;

use ops_core::CertId;
use ops_issuer::store::{Revoked, Store, StoredRevocation};
use sqlx::AnyPool;

/// Applies the migrations before 0008 only.
async fn migrate_to_0007(pool: &AnyPool, postgres: bool) {
    let mut m = if postgres {
        sqlx::migrate!("migrations/postgres")
    } else {
        sqlx::migrate!("migrations/sqlite")
    };
    let before: Vec<_> = m
        .migrations
        .iter()
        .filter(|x| x.version < 8)
        .cloned()
        .collect();
    assert_eq!(before.len(), 7);
    m.migrations = Cow::Owned(before);
    m.run(pool).await.unwrap();
}

/// What the old service wrote: an account with a software-key device revoked by a fraud
/// case (CRL version 1) and a passkey device.
async fn legacy_rows(pool: &AnyPool, postgres: bool) {
    let blob = if postgres { "'\\x00'::bytea" } else { "x'00'" };
    for sql in [
        "INSERT INTO accounts (name, balance, opening, created) VALUES ('alice', 1000, 1000, 1)",
        "INSERT INTO devices (cert_id, serial, account_id, public_key, cert, revoked, created) VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 1000, 1, 'k1', x'00', 1, 5)",
        "INSERT INTO devices (cert_id, serial, account_id, public_key, cert, revoked, created, credential_id, sign_count) VALUES ('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 1001, 1, 'k2', x'00', 0, 6, 'cred', 0)",
        "INSERT INTO crl_entries (serial, cert_id, reason, revoked_at) VALUES (1000, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'double spend', 7)",
        "UPDATE meta SET value = 1 WHERE key = 'crl_version'",
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
    migrate_to_0007(&pool, postgres).await;
    legacy_rows(&pool, postgres).await;
    pool.close().await;
    // The service's own connect runs 0008.
    let store = Store::connect(location).await.unwrap();
    let devices = store.account_devices(1).await.unwrap();
    assert_eq!(devices.len(), 2);
    let (fraud, phone) = (&devices[0], &devices[1]);
    assert!(fraud.revoked && !fraud.passkey);
    assert_eq!(
        fraud.revocation,
        Some(StoredRevocation {
            reason: "double spend".into(),
            revoked_at: 7,
            revoked_by: "settlement".into(),
        })
    );
    assert!(!phone.revoked && phone.passkey && phone.revocation.is_none());
    assert_eq!((phone.label.clone(), phone.backup), (None, None));
    // Revoking the fraud culprit again changes nothing; the phone is revoked now.
    let again = store
        .revoke_device(1, &CertId([0xaa; 16]), "lost", "account_token", 9)
        .await
        .unwrap();
    assert!(matches!(again, Some(Revoked::Before(d)) if d.revocation == fraud.revocation));
    let now = store
        .revoke_device(1, &CertId([0xbb; 16]), "lost", "account_token", 9)
        .await
        .unwrap();
    let Some(Revoked::Now(phone)) = now else {
        panic!("the phone was revoked before: {now:?}")
    };
    assert_eq!(
        phone.revocation.map(|r| r.revoked_by),
        Some("account_token".to_owned())
    );
    let (version, serials) = store.crl().await.unwrap();
    assert_eq!((version, serials), (2, vec![1000, 1001]));
    // Another account's device is not found under this one.
    assert_eq!(
        store
            .revoke_device(2, &CertId([0xbb; 16]), "lost", "admin", 9)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn migration_0008_reads_old_revocations_as_settlements_sqlite() {
    let dir = common::temp_dir("migration-0008");
    scenario(dir.join("issuer.sqlite").to_str().unwrap(), false).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn migration_0008_reads_old_revocations_as_settlements_postgres() {
    let pg = common::postgres::Postgres::start();
    let db = pg.create_database("migration").await;
    scenario(&db, true).await;
}
