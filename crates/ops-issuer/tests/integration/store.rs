//! Storage-level guarantees on SQLite: migrations on a fresh file, the database-enforced
//! double-spend check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::suite;

#[tokio::test]
async fn sqlite_refuses_overlapping_spends() {
    let dir = common::temp_dir("store");
    let path = dir.join("nested/issuer.sqlite");
    let store = ops_issuer::store::Store::connect(path.to_str().unwrap())
        .await
        .unwrap();
    assert_eq!(store.backend(), ops_issuer::store::Backend::Sqlite);
    suite::db_refuses_overlap(&store).await;
    // Reopening runs no migration twice.
    drop(store);
    let store = ops_issuer::store::Store::connect(path.to_str().unwrap())
        .await
        .unwrap();
    assert_eq!(store.totals().await.unwrap().spends, 2);
    let mode: String = sqlx::Row::get(
        &sqlx::query("PRAGMA journal_mode")
            .fetch_one(store.pool())
            .await
            .unwrap(),
        0,
    );
    assert_eq!(mode, "wal");
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}
