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

/// Uploads every body with `parallel` requests in flight at all times (a new one starts as
/// soon as one answers); bodies are encoded before the clock starts. Returns the count of
/// 200 answers.
async fn upload(s: &common::Server, bodies: Vec<String>, parallel: usize) -> usize {
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut set = tokio::task::JoinSet::new();
    for body in bodies {
        let permit = std::sync::Arc::clone(&sem).acquire_owned().await.unwrap();
        let req = s
            .http
            .post(s.url("/api/v1/deposits"))
            .header("content-type", "application/json")
            .body(body);
        set.spawn(async move {
            let status = req.send().await.map(|r| r.status().as_u16());
            drop(permit);
            matches!(status, Ok(200))
        });
    }
    let mut ok = 0;
    while let Some(r) = set.join_next().await {
        if matches!(r, Ok(true)) {
            ok += 1;
        }
    }
    ok
}

async fn run(label: &str, s: &common::Server) -> (f64, f64) {
    use base64::Engine as _;
    let (batch, total, shops) = suite::payment_batch(s, 8, 250, 500).await;
    let bodies: Vec<String> = batch
        .iter()
        .map(|(p, depositor)| {
            serde_json::json!({
                "payment": base64::engine::general_purpose::STANDARD.encode(p.to_bytes()),
                "depositor": depositor.to_string(),
            })
            .to_string()
        })
        .collect();
    let started = Instant::now();
    let ok = upload(s, bodies, 64).await;
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(ok, batch.len());
    assert_eq!(
        s.balance(shops[0]).await + s.balance(shops[1]).await - 2 * common::STARTING,
        total
    );
    let rate = batch.len() as f64 / elapsed;
    let (raw, threads) = raw_verifications(&batch[0].0);
    // A single-spend deposit verified from scratch checks 5 signatures: root, FI
    // certificate, payer's device certificate, the note's issuance, the spend.
    let bound = raw / 5.0;
    let m = s.metrics().await;
    let misses = m.get("ops_verification_cache_misses").copied().unwrap_or(0) as f64;
    let hits = m.get("ops_verification_cache_hits").copied().unwrap_or(0) as f64;
    println!(
        "{label:>10}: {} deposits in {elapsed:.2} s = {rate:>6.0} deposits/s | raw verifications {raw:>6.0}/s on {threads} threads -> bound {bound:>6.0} deposits/s (5 signatures each, nothing cached) | {:.0} % of bound",
        batch.len(),
        100.0 * rate / bound
    );
    println!(
        "{label:>10}: signatures verified by the server {misses:.0} (cache hits {hits:.0}) = {:.2} per deposit including set-up; bound at that count {:>6.0} deposits/s",
        misses / batch.len() as f64,
        raw / (misses / batch.len() as f64).max(1.0)
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
