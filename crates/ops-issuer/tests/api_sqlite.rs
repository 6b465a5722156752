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
async fn reported_fraud_proofs() {
    let s = common::Server::start("reported", None).await;
    suite::reported_fraud_proofs(&s).await;
}

#[tokio::test]
async fn lost_device_refunds() {
    let s = common::Server::start("refunds", None).await;
    suite::lost_device_refunds(&s).await;
}

#[tokio::test]
async fn counterparty_block_list() {
    let s = common::Server::start("blocklist", None).await;
    suite::counterparty_block_list(&s).await;
}

#[tokio::test]
async fn refund_waits_for_held_deposit() {
    let s = common::Server::start("refund-held", None).await;
    suite::refund_waits_for_held_deposit(&s).await;
}

#[tokio::test]
async fn spend_status() {
    let s = common::Server::start("spend-status", None).await;
    suite::spend_status(&s).await;
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
    suite::crash_then_reupload("crash", None).await;
}

#[tokio::test]
async fn fraud_cases_are_resolved_once_with_who_when_why() {
    let s = common::Server::start("resolve", None).await;
    suite::fraud_case_resolution(&s).await;
}

#[tokio::test]
async fn admin_endpoints_need_the_generated_token() {
    let s = common::Server::start("admin", None).await;
    suite::admin_requires_token(&s).await;
}

#[tokio::test]
async fn parallel_funding_never_overdraws_nor_exceeds_the_device_limit() {
    let s = common::Server::start("fund-race", None).await;
    suite::concurrent_funding(&s).await;
}

#[tokio::test]
async fn sign_up_and_account_reads_are_limited() {
    suite::abuse_limits("abuse", None).await;
}

/// The server prints where the admin token is, never the token; a configured token is
/// used as given (no file), a short one refused at start; a token file others can read is
/// refused.
#[tokio::test]
async fn admin_token_path_is_printed_never_the_token() {
    let dir = common::temp_dir("token-log");
    let log = dir.join("server.log");
    let s = common::Server::start_logged(dir.clone(), None, &[], &log).await;
    let text = std::fs::read_to_string(&log).unwrap();
    let file = dir.join("data/admin.token");
    assert!(
        text.contains(&file.display().to_string()),
        "the token's path is printed: {text}"
    );
    assert!(!text.contains(&s.admin_token), "the token was printed");
    drop(s);
    // Restart: the same token, read back from the file.
    let s = common::Server::start_in(dir.clone(), None).await;
    assert_eq!(
        s.admin_token,
        std::fs::read_to_string(&file).unwrap().trim()
    );
    drop(s);
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ops-issuer"))
            .arg("--dist")
            .arg(dir.join("dist"))
            .arg("--addr")
            .arg("127.0.0.1:1")
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(extra)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&["--admin-token", "short"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("shorter than 16"));
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = run(&[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("chmod 600"), "{err}");
    // A configured token writes no file and is the one required.
    let other = common::temp_dir("token-flag");
    let s = common::Server::start_with(
        other.clone(),
        None,
        &["--admin-token", "a-configured-admin-token"],
    )
    .await;
    assert!(!other.join("data/admin.token").exists());
    suite::admin_requires_token(&s).await;
    drop(s);
    // A token file elsewhere: generated there, owner-only, and required.
    let elsewhere = other.join("secrets/issuer-admin.token");
    let path = elsewhere.to_str().unwrap();
    let s = common::Server::start_with(other.clone(), None, &["--admin-token-file", path]).await;
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&elsewhere).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!other.join("data/admin.token").exists());
    suite::admin_requires_token(&s).await;
    drop(s);
    let _ = std::fs::remove_dir_all(other);
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
        .admin_post(
            "/api/v1/fund",
            serde_json::json!({"device": w.id().to_string(), "amount": 10}),
        )
        .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    let r = s
        .http
        .post(s.url("/api/v1/fund"))
        .bearer_auth(&s.admin_token)
        .json(&serde_json::json!({"device": w.id().to_string(), "amount": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().contains_key("retry-after"));
    s.fund(&w2, 10).await;
    assert_eq!(s.balance(a).await, common::STARTING - 30);
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn account_reads_need_a_token() {
    let s = common::Server::start("access", None).await;
    suite::account_access(&s).await;
}

#[tokio::test]
async fn expired_webauthn_challenges_are_deleted() {
    let s = common::Server::start("challenges", None).await;
    suite::expired_challenges_are_deleted(&s).await;
}

#[tokio::test]
async fn webauthn_registration_then_pay() {
    let s = common::Server::start("webauthn", None).await;
    suite::webauthn_registration_then_pay(&s).await;
}

#[tokio::test]
async fn api_hardening_metrics_bearer_keys_names_and_storage_errors() {
    let s = common::Server::start("hardening", None).await;
    suite::api_hardening(&s).await;
}

#[tokio::test]
async fn fund_charges_the_device_limit_only_after_authentication() {
    suite::fund_limits_after_auth("fund-auth", None).await;
}

/// The data folder is owner-only (0700), the SQLite database and its WAL and shared-memory
/// files too (0600); a private key that others can read is refused at start, naming the
/// chmod to run.
#[tokio::test]
async fn data_files_are_owner_only_and_a_readable_fi_key_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = common::temp_dir("modes");
    let s = common::Server::start_in(dir.clone(), None).await;
    // Write something, so the WAL holds frames.
    s.sign_up("alice").await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let data = dir.join("data");
    assert_eq!(mode(&data), 0o700, "data folder");
    for f in [
        "issuer.sqlite",
        "issuer.sqlite-wal",
        "issuer.sqlite-shm",
        "fi.key",
        "admin.token",
    ] {
        let path = data.join(f);
        assert!(path.exists(), "{f}");
        assert_eq!(mode(&path), 0o600, "{f}");
    }
    drop(s);
    // An existing database others could read is made owner-only at the next start.
    std::fs::set_permissions(
        data.join("issuer.sqlite"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let s = common::Server::start_in(dir.clone(), None).await;
    assert_eq!(mode(&data.join("issuer.sqlite")), 0o600);
    drop(s);
    // fi.key readable by others: the service refuses to start and says what to run.
    std::fs::set_permissions(data.join("fi.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ops-issuer"))
        .arg("--dist")
        .arg(dir.join("dist"))
        .arg("--addr")
        .arg("127.0.0.1:1")
        .arg("--data-dir")
        .arg(&data)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fi.key") && err.contains("chmod 600"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn fund_is_idempotent_by_key() {
    let s = common::Server::start("fund-key", None).await;
    suite::fund_is_idempotent_by_key(&s).await;
}

/// The FI writes its offline limits in every device certificate (`--device-max-payment`,
/// `--device-max-without-uv`, PROTOCOL.md §6.1) and applies them at deposit: a payment
/// taking more than 500 from one device is refused with rule V26.
#[tokio::test]
async fn device_limits_are_certified_and_enforced_at_deposit() {
    let dir = common::temp_dir("limits");
    let s = common::Server::start_with(
        dir,
        None,
        &[
            "--device-max-payment",
            "500",
            "--device-max-without-uv",
            "100",
        ],
    )
    .await;
    let holder = s.sign_up("holder").await;
    let shop = s.sign_up("shop").await;
    let wallet = s.device(holder, 71).await;
    let pos = s.device(shop, 72).await;
    let limits = &wallet.cert.body.limits;
    assert_eq!(
        (limits.max_payment, limits.max_without_uv),
        (Some(500), Some(100))
    );
    let fi = s.fi_cert().await;
    let notes = s.fund(&wallet, 1_000).await;
    // A software-key device signs plain ES256: never user-verified, so 100 at most.
    let small = wallet.spend(notes[0].note_id(), 0, 100, pos.id(), 1);
    let pay = common::payment(
        vec![fi.clone(), wallet.cert.clone()],
        &notes[0],
        vec![small],
    );
    let (status, v) = s.deposit(&pay, pos.id()).await;
    assert!(status == 200 || status == 201, "{v}");
    let big = wallet.spend(notes[0].note_id(), 100, 700, pos.id(), 2);
    let pay = common::payment(vec![fi, wallet.cert.clone()], &notes[0], vec![big]);
    let (status, v) = s.deposit(&pay, pos.id()).await;
    assert_eq!(status, 422, "{v}");
    let said = v["error"]["message"].as_str().unwrap_or_default();
    assert!(said.contains("V26") || said.contains("V27"), "{v}");
}
