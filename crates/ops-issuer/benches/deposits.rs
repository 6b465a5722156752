//! Settlement throughput: deposits per second through the real server (SQLite, then a
//! PostgreSQL started on loopback), printed next to raw signature verifications per second
//! on the same machine in the same run. `cargo bench -p ops-issuer --bench deposits`.
//! Besides its prose lines it prints `BENCH <section> | <row> | <column> | <value> <unit>`
//! lines, the figures `cargo xtask bench` collects into docs/PERFORMANCE.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/integration/common/mod.rs"]
mod common;
#[path = "../tests/integration/suite/mod.rs"]
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

/// CPU seconds (user + system) used so far by each process `pick` selects, by pid, from
/// `/proc/<pid>/stat` (Linux; nothing elsewhere).
fn cpu_seconds(pick: &dyn Fn(u32, &str, &str) -> bool) -> std::collections::HashMap<u32, f64> {
    let mut out = std::collections::HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let path = entry.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let cmdline = std::fs::read(path.join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        if !pick(pid, comm.trim(), &cmdline) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        // After the parenthesised command name: utime and stime are the 12th and 13th
        // fields, in clock ticks (USER_HZ = 100 on Linux).
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = [11, 12]
            .iter()
            .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<f64>().ok()))
            .sum();
        out.insert(pid, ticks / 100.0);
    }
    out
}

/// CPU samples of (this load generator, the server process, PostgreSQL's processes).
fn cpu_by_party(port: u16) -> [std::collections::HashMap<u32, f64>; 3] {
    let me = std::process::id();
    let addr = format!("127.0.0.1:{port}");
    [
        cpu_seconds(&|pid, _, _| pid == me),
        cpu_seconds(&|_, _, cmd| cmd.contains("ops-issuer") && cmd.contains(&addr)),
        cpu_seconds(&|_, comm, _| comm == "postgres"),
    ]
}

/// CPU seconds used between two samples by the processes alive at the second (processes
/// that exited in between are not counted).
fn cpu_used(
    before: &std::collections::HashMap<u32, f64>,
    after: &std::collections::HashMap<u32, f64>,
) -> f64 {
    after
        .iter()
        .map(|(pid, t)| t - before.get(pid).copied().unwrap_or(0.0))
        .sum()
}

/// Requests in flight: `OPS_BENCH_IN_FLIGHT`, default 256 (many merchants syncing at once;
/// with 64 the 2-core machine stays 20-30 % idle: the CPU line shows it).
fn in_flight() -> usize {
    std::env::var("OPS_BENCH_IN_FLIGHT")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(256)
}

/// Uploads every body with `parallel` requests in flight at all times (a new one starts as
/// soon as one answers); bodies are encoded before the clock starts. Returns the count of
/// 200 answers.
async fn upload(s: &common::Server, path: &str, bodies: Vec<String>, parallel: usize) -> usize {
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut set = tokio::task::JoinSet::new();
    for body in bodies {
        let permit = std::sync::Arc::clone(&sem).acquire_owned().await.unwrap();
        let req = s
            .http
            .post(s.url(path))
            .bearer_auth(&s.admin_token)
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

/// Payments per request in the batch-upload phase.
const PER_REQUEST: usize = 100;

/// The same load through `POST /api/v1/deposits/batch` (a POS syncing many payments in
/// one request): fresh payments, [`PER_REQUEST`] per request, as many payments in flight as
/// the single-payment phase.
async fn batch_phase(label: &str, s: &common::Server, bound: f64) {
    use base64::Engine as _;
    let (batch, total, shops) = suite::payment_batch(s, 8, 250, 900).await;
    let before = s.balance(shops[0]).await + s.balance(shops[1]).await;
    let mut by_depositor: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (p, depositor) in &batch {
        by_depositor
            .entry(depositor.to_string())
            .or_default()
            .push(base64::engine::general_purpose::STANDARD.encode(p.to_bytes()));
    }
    let bodies: Vec<String> = by_depositor
        .iter()
        .flat_map(|(depositor, payments)| {
            payments.chunks(PER_REQUEST).map(move |chunk| {
                serde_json::json!({"depositor": depositor, "payments": chunk}).to_string()
            })
        })
        .collect();
    let requests = bodies.len();
    let parallel = (in_flight() / PER_REQUEST).max(1);
    let started = Instant::now();
    let ok = upload(s, "/api/v1/deposits/batch", bodies, parallel).await;
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(ok, requests);
    assert_eq!(
        s.balance(shops[0]).await + s.balance(shops[1]).await - before,
        total,
        "every payment of the batch upload credited once"
    );
    let rate = batch.len() as f64 / elapsed;
    println!("BENCH Settlement | {label} | batches of {PER_REQUEST} | {rate:.0} deposits/s");
    println!(
        "{label:>10}: batch upload: {} deposits in {requests} requests of {PER_REQUEST} ({parallel} in flight) in {elapsed:.2} s = {rate:>6.0} deposits/s | {:.0} % of bound",
        batch.len(),
        100.0 * rate / bound
    );
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
    // The bound is the best of three raw measurements (one before the deposits, two after):
    // the machine's verification capacity, not a moment when something else ran.
    let (raw_before, _) = raw_verifications(&batch[0].0);
    let cpu_before = cpu_by_party(s.port);
    let started = Instant::now();
    let ok = upload(s, "/api/v1/deposits", bodies, in_flight()).await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_after = cpu_by_party(s.port);
    assert_eq!(ok, batch.len());
    assert_eq!(
        s.balance(shops[0]).await + s.balance(shops[1]).await - 2 * common::STARTING,
        total
    );
    let rate = batch.len() as f64 / elapsed;
    let (raw_after, threads) = raw_verifications(&batch[0].0);
    let (raw_again, _) = raw_verifications(&batch[0].0);
    let raw = raw_before.max(raw_after).max(raw_again);
    // A single-spend deposit verified from scratch checks 5 signatures: root, FI
    // certificate, payer's device certificate, the note's issuance, the spend.
    let bound = raw / 5.0;
    println!("BENCH Settlement | {label} | one payment per request | {rate:.0} deposits/s");
    println!("BENCH Settlement | {label} | verification bound | {bound:.0} deposits/s");
    println!(
        "BENCH Settlement | {label} | one per request, share of the bound | {:.0} %",
        100.0 * rate / bound
    );
    let m = s.metrics().await;
    let misses = m.get("ops_verification_cache_misses").copied().unwrap_or(0) as f64;
    let hits = m.get("ops_verification_cache_hits").copied().unwrap_or(0) as f64;
    println!(
        "{label:>10}: {} deposits ({} in flight) in {elapsed:.2} s = {rate:>6.0} deposits/s | raw verifications {raw:>6.0}/s on {threads} threads (best of 3) -> bound {bound:>6.0} deposits/s (5 signatures each, nothing cached) | {:.0} % of bound",
        batch.len(),
        in_flight(),
        100.0 * rate / bound
    );
    println!(
        "{label:>10}: signatures verified by the server {misses:.0} (cache hits {hits:.0}) = {:.2} per deposit including set-up; bound at that count {:>6.0} deposits/s",
        misses / batch.len() as f64,
        raw / (misses / batch.len() as f64).max(1.0)
    );
    let n = batch.len() as f64;
    let per = |i: usize| (1e6 * cpu_used(&cpu_before[i], &cpu_after[i]) / n).max(0.0);
    let verify_us = 1e6 * threads as f64 / raw * (misses / n);
    println!(
        "{label:>10}: CPU per deposit: load generator {:.0} µs, server {:.0} µs (of which signature verification ≈ {verify_us:.0} µs), PostgreSQL processes {:.0} µs; machine {:.0} µs of {:.0} µs available",
        per(0),
        per(1),
        per(2),
        per(0) + per(1) + per(2),
        1e6 * threads as f64 * elapsed / n
    );
    batch_phase(label, s, bound).await;
    (rate, bound)
}

/// Clearing throughput (issue 14): 500 payments of FI A's notes deposited by merchants of
/// FI B, then B's clearing run sends them through the central bank to A, which verifies
/// and records each claim in its ledger; claims per second printed next to the
/// verification bound of the single-FI phase (a claim is verified twice, at the central
/// bank and at the issuer, plus once at B's deposit before).
async fn clearing_phase(label: &str, databases: [Option<String>; 3], bound: f64) {
    use base64::Engine as _;
    let now = common::now();
    let f = common::clearing::Federation::start(databases, now).await;
    let shop = f.b.device(f.b.sign_up("shop").await, 7_001).await;
    let payers: Vec<common::Device> = futures_payers(&f.a, 8).await;
    let mut bodies = Vec::new();
    let mut count = 0usize;
    for payer in &payers {
        let notes = f.a.fund(payer, 5_000).await;
        let mut payments = Vec::new();
        for n in &notes {
            let mut at = 0;
            while at + 10 <= n.body.amount && payments.len() < 500 / payers.len() + 1 {
                let spend = payer.spend(n.note_id(), at, at + 10, shop.id(), (at % 250) as u8);
                let p = common::payment(vec![f.fi_a.clone(), payer.cert.clone()], n, vec![spend]);
                payments.push(base64::engine::general_purpose::STANDARD.encode(p.to_bytes()));
                at += 10;
            }
        }
        count += payments.len();
        for chunk in payments.chunks(PER_REQUEST) {
            bodies.push(
                serde_json::json!({"depositor": shop.id().to_string(), "payments": chunk})
                    .to_string(),
            );
        }
    }
    let requests = bodies.len();
    assert_eq!(
        upload(&f.b, "/api/v1/deposits/batch", bodies, 4).await,
        requests
    );
    let started = Instant::now();
    let (status, v) =
        f.b.admin_post(ops_api::paths::CLEARING_RUN, serde_json::json!({}))
            .await;
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["credited"].as_u64(), Some(count as u64), "{v}");
    let rate = count as f64 / elapsed;
    println!("BENCH Settlement | {label} | clearing through the central bank | {rate:.0} claims/s");
    println!(
        "{label:>10}: clearing: {count} claims from FI B through the central bank to FI A in {elapsed:.2} s = {rate:>6.0} claims/s (batches of 64, one run) | verification bound {bound:>6.0} deposits/s; each claim is verified at the central bank and at the issuer"
    );
}

/// `n` devices of an FI, each on its own account.
async fn futures_payers(s: &common::Server, n: u64) -> Vec<common::Device> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(
            s.device(s.sign_up(&format!("payer {i}")).await, 7_100 + i)
                .await,
        );
    }
    out
}

#[tokio::main]
async fn main() {
    let s = common::Server::start("bench-sqlite", None).await;
    let (_, bound) = run("SQLite", &s).await;
    drop(s);
    clearing_phase("SQLite", [None, None, None], bound).await;
    let pg = common::postgres::Postgres::start();
    let db = pg.create_database("bench").await;
    let s = common::Server::start("bench-pg", Some(db)).await;
    let (_, bound) = run("PostgreSQL", &s).await;
    drop(s);
    let dbs = common::clearing::Federation::postgres_databases(&pg, "clearing").await;
    clearing_phase("PostgreSQL", dbs, bound).await;
}
