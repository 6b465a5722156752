//! The same API suite against a real PostgreSQL started by the test on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod suite;

use common::postgres::Postgres;

#[tokio::test]
async fn api_suite_on_postgres() {
    let pg = Postgres::start();
    let db = pg.create_database("store").await;
    let store = ops_issuer::store::Store::connect(&db).await.unwrap();
    assert_eq!(store.backend(), ops_issuer::store::Backend::Postgres);
    suite::db_refuses_overlap(&store).await;
    drop(store);

    let db = pg.create_database("fund").await;
    let s = common::Server::start("pg-fund", Some(db)).await;
    suite::fund_deposit_and_idempotence(&s).await;
    drop(s);

    let db = pg.create_database("hops").await;
    let s = common::Server::start("pg-hops", Some(db)).await;
    suite::multi_hop_payment_records_every_spend(&s).await;
    drop(s);

    let db = pg.create_database("fraud").await;
    let s = common::Server::start("pg-fraud", Some(db)).await;
    suite::concurrent_overlapping_deposits(&s).await;
    drop(s);

    let db = pg.create_database("errors").await;
    let s = common::Server::start("pg-errors", Some(db)).await;
    suite::bad_input(&s).await;
    drop(s);

    let db = pg.create_database("crl").await;
    let s = common::Server::start("pg-crl", Some(db)).await;
    suite::crl_caching(&s).await;
    drop(s);

    let db = pg.create_database("defund").await;
    let s = common::Server::start("pg-defund", Some(db)).await;
    suite::defund_returns_unspent_value(&s).await;
    drop(s);

    let db = pg.create_database("webauthn").await;
    let s = common::Server::start("pg-webauthn", Some(db)).await;
    suite::webauthn_registration_then_pay(&s).await;
    drop(s);

    let db = pg.create_database("access").await;
    let s = common::Server::start("pg-access", Some(db)).await;
    suite::account_access(&s).await;
    drop(s);

    let db = pg.create_database("challenges").await;
    let s = common::Server::start("pg-challenges", Some(db)).await;
    suite::expired_challenges_are_deleted(&s).await;
    drop(s);

    let db = pg.create_database("reported").await;
    let s = common::Server::start("pg-reported", Some(db)).await;
    suite::reported_fraud_proofs(&s).await;
    drop(s);

    let db = pg.create_database("refunds").await;
    let s = common::Server::start("pg-refunds", Some(db)).await;
    suite::lost_device_refunds(&s).await;
    drop(s);

    let db = pg.create_database("blocklist").await;
    let s = common::Server::start("pg-blocklist", Some(db)).await;
    suite::counterparty_block_list(&s).await;
    drop(s);

    let db = pg.create_database("refund_held").await;
    let s = common::Server::start("pg-refund-held", Some(db)).await;
    suite::refund_waits_for_held_deposit(&s).await;
    drop(s);

    let db = pg.create_database("spend_status").await;
    let s = common::Server::start("pg-spend-status", Some(db)).await;
    suite::spend_status(&s).await;
    drop(s);

    let db = pg.create_database("resolve").await;
    let s = common::Server::start("pg-resolve", Some(db)).await;
    suite::fraud_case_resolution(&s).await;
    drop(s);

    let db = pg.create_database("admin").await;
    let s = common::Server::start("pg-admin", Some(db)).await;
    suite::admin_requires_token(&s).await;
    drop(s);

    let db = pg.create_database("fundkey").await;
    let s = common::Server::start("pg-fund-key", Some(db)).await;
    suite::fund_is_idempotent_by_key(&s).await;
    drop(s);

    let db = pg.create_database("fundrace").await;
    let s = common::Server::start("pg-fund-race", Some(db)).await;
    suite::concurrent_funding(&s).await;
    drop(s);

    let db = pg.create_database("abuse").await;
    suite::abuse_limits("pg-abuse", Some(db)).await;

    let db = pg.create_database("hardening").await;
    let s = common::Server::start("pg-hardening", Some(db)).await;
    suite::api_hardening(&s).await;
    drop(s);

    let db = pg.create_database("fundauth").await;
    suite::fund_limits_after_auth("pg-fund-auth", Some(db)).await;

    let db = pg.create_database("load").await;
    let s = common::Server::start("pg-load", Some(db)).await;
    suite::parallel_load(&s, "PostgreSQL").await;
    drop(s);

    // SIGKILL mid-load on PostgreSQL too: restart on the same database, re-upload all.
    let db = pg.create_database("crash").await;
    suite::crash_then_reupload("pg-crash", Some(db)).await;
}
