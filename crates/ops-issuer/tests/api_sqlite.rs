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

#[tokio::test]
async fn many_parallel_deposits_are_each_credited_once() {
    let s = common::Server::start("load", None).await;
    suite::parallel_load(&s, "SQLite").await;
}

/// SIGKILL in the middle of a deposit load, restart on the same data, re-upload
/// everything: every payment credited exactly once.
#[tokio::test]
async fn crash_during_deposits_then_reupload_credits_each_once() {
    let dir = common::temp_dir("crash");
    let mut s = common::Server::start_in(dir.clone(), None).await;
    let (batch, total, shops) = suite::payment_batch(&s, 2, 250, 200).await;
    let http = s.http.clone();
    let url = s.url("");
    let load =
        {
            let batch = batch.clone();
            tokio::spawn(async move {
                use base64::Engine as _;
                let mut set = tokio::task::JoinSet::new();
                for (p, d) in batch {
                    let req = http.post(format!("{url}/api/v1/deposits")).json(&serde_json::json!({
                    "payment": base64::engine::general_purpose::STANDARD.encode(p.to_bytes()),
                    "depositor": d.to_string(),
                }));
                    set.spawn(async move { req.send().await.map(|r| r.status().as_u16()) });
                }
                let mut ok = 0;
                while let Some(r) = set.join_next().await {
                    if matches!(r, Ok(Ok(200))) {
                        ok += 1;
                    }
                }
                ok
            })
        };
    // Let part of the load land, then kill the server mid-flight.
    let mut seen = 0;
    for _ in 0..200 {
        seen = s.metrics().await["ops_deposits"];
        if seen >= 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    s.kill();
    let answered = load.await.unwrap();
    println!(
        "killed after >= {seen} deposits; {answered} of {} answered 200 before the kill",
        batch.len()
    );
    assert!(
        answered < batch.len(),
        "the kill came too late to test anything"
    );
    drop(s);
    let s = common::Server::start_in(dir.clone(), None).await;
    let before = s.metrics().await["ops_deposits"];
    assert!(
        before >= answered as i64,
        "an acknowledged deposit was lost"
    );
    let (ok, _) = suite::deposit_all(&s, &batch, 16).await;
    assert_eq!(ok, batch.len());
    let m = s.metrics().await;
    assert_eq!(m["ops_deposits"], batch.len() as i64);
    assert_eq!(
        s.balance(shops[0]).await + s.balance(shops[1]).await - 2 * common::STARTING,
        total
    );
    s.assert_conserved(common::STARTING).await;
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn defund_returns_unspent_value() {
    let s = common::Server::start("defund", None).await;
    suite::defund_returns_unspent_value(&s).await;
}

#[tokio::test]
async fn per_device_rate_limit_answers_429() {
    let dir = common::temp_dir("rate");
    let s = common::Server::start_with(
        dir.clone(),
        None,
        &["--device-rate", "0", "--device-burst", "2"],
    )
    .await;
    let a = s.sign_up("a").await;
    let w = s.device(a, 51).await;
    let w2 = s.device(a, 52).await;
    s.fund(&w, 10).await;
    s.fund(&w, 10).await;
    let (status, v) = s
        .post(
            "/api/v1/fund",
            serde_json::json!({"device": w.id().to_string(), "amount": 10}),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    s.fund(&w2, 10).await;
    assert_eq!(s.balance(a).await, common::STARTING - 30);
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn webauthn_registration_then_pay() {
    let s = common::Server::start("webauthn", None).await;
    suite::webauthn_registration_then_pay(&s).await;
}
