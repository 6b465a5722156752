//! The API against the real server process with SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod suite;

#[tokio::test]
async fn fund_deposit_and_idempotence() {
    let s = common::Server::start("fund", None).await;
    suite::fund_deposit_and_idempotence(&s).await;
}

#[tokio::test]
async fn multi_hop_payment_records_every_spend() {
    let s = common::Server::start("hops", None).await;
    suite::multi_hop_payment_records_every_spend(&s).await;
}

#[tokio::test]
async fn concurrent_overlapping_deposits_open_one_fraud_case() {
    let s = common::Server::start("fraud", None).await;
    suite::concurrent_overlapping_deposits(&s).await;
}

#[tokio::test]
async fn bad_input_is_answered_with_json_errors() {
    let s = common::Server::start("errors", None).await;
    suite::bad_input(&s).await;
}

#[tokio::test]
async fn crl_is_versioned_and_cacheable() {
    let s = common::Server::start("crl", None).await;
    suite::crl_caching(&s).await;
}
