//! Settlement throughput: deposits per second through the real server (SQLite, then a
//! PostgreSQL started on loopback), printed next to raw signature verifications per second
//! on the same machine in the same run. `cargo bench -p ops-issuer --bench deposits`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/suite/mod.rs"]
mod suite;

use std::time::Instant;

/// Raw ES256 verifications per second on all cores (ring), the bound settlement is held to.
fn raw_verifications(p: &ops_core::Payment) -> (f64, usize) {
    let spend = p.chains[0].spends[0].clone();
    let key = p.certs[1].body.subject;
    let body = spend.body_bytes();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = 4_000;
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    ops_core::sig::verify_signature(
                        &ops_core::provider::RingProvider,
                        &key,
                        None,
                        &body,
                        &spend.signature,
                    )
                    .unwrap();
                }
            });
        }
    });
    (
        (threads * per_thread) as f64 / started.elapsed().as_secs_f64(),
        threads,
    )
}

async fn run(label: &str, s: &common::Server) -> (f64, f64) {
    let (batch, total, shops) = suite::payment_batch(s, 8, 250, 500).await;
    let started = Instant::now();
    let (ok, _) = suite::deposit_all(s, &batch, 64).await;
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(ok, batch.len());
    assert_eq!(
        s.balance(shops[0]).await + s.balance(shops[1]).await - 2 * common::STARTING,
        total
    );
    let rate = batch.len() as f64 / elapsed;
    let (raw, threads) = raw_verifications(&batch[0].0);
    // A single-spend deposit verifies 4 signatures: root, FI certificate, device
    // certificate, spend.
    let bound = raw / 4.0;
    println!(
        "{label:>10}: {} deposits in {elapsed:.2} s = {rate:>6.0} deposits/s | raw verifications {raw:>6.0}/s on {threads} threads -> bound {bound:>6.0} deposits/s (4 signatures each) | {:.0} % of bound",
        batch.len(),
        100.0 * rate / bound
    );
    (rate, bound)
}

#[tokio::main]
async fn main() {
    let s = common::Server::start("bench-sqlite", None).await;
    run("SQLite", &s).await;
    drop(s);
    let pg = common::postgres::Postgres::start();
    let db = pg.create_database("bench").await;
    let s = common::Server::start("bench-pg", Some(db)).await;
    run("PostgreSQL", &s).await;
}
