//! Crash anywhere (issue 13): one sale from the wallet app to the POS app with the FI down,
//! and at every step each page is reloaded and each browser killed (SIGKILL, as a dead
//! battery) and started again on the same profile. At the end nothing is lost or
//! duplicated: the POS holds one approval and the merchant is credited exactly once, the
//! wallet has paid exactly once, the FI's ledger audit finds no violation.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test code: failures should stop the test

use std::path::{Path, PathBuf};

use ops_e2e::pages::{
    WAIT, attribute, click_dom as click, page_text, paste, text, value, wait_text,
};
use ops_e2e::shop::{PIN, STARTING, register};
use ops_e2e::webauthn::AuthenticatorOptions;
use ops_e2e::{
    Browser, HarnessError, Server, Settings, free_port, http_json, kill_chromium, wait_until,
};
use serde_json::{Value, json};

struct Device {
    profile: PathBuf,
    page: String,
    /// A (virtual) platform authenticator: the phone has one; the tablet has none, so
    /// the terminal's key is its non-extractable WebCrypto key.
    authenticator: bool,
    credentials: Vec<Value>,
}

/// Starts a browser on `d`'s profile, gives it back its passkeys, opens its page.
async fn start(settings: &Settings, d: &Device) -> Result<(Browser, String), HarnessError> {
    let flag = format!("--user-data-dir={}", d.profile.display());
    let b = Browser::start_with_flags(settings, &[flag.as_str()]).await?;
    let mut id = String::new();
    if d.authenticator {
        id = b
            .add_virtual_authenticator(AuthenticatorOptions::PLATFORM)
            .await?;
        for c in &d.credentials {
            b.add_credential(&id, c.clone()).await?;
        }
    }
    b.driver.goto(&d.page).await?;
    Ok((b, id))
}

/// The browser is killed and started again on the same profile, then the page reloaded:
/// both must find the step where it was.
async fn crash_and_reload(
    settings: &Settings,
    d: &Device,
    b: Browser,
    page: &str,
) -> Result<Browser, HarnessError> {
    kill_chromium(&d.profile);
    drop(b);
    let restarted = Device {
        profile: d.profile.clone(),
        page: page.to_owned(),
        authenticator: d.authenticator,
        credentials: d.credentials.clone(),
    };
    let (b, _) = start(settings, &restarted).await?;
    b.driver.refresh().await?;
    Ok(b)
}

async fn stage(b: &Browser) -> String {
    attribute(b, "detail", "data-stage")
        .await
        .unwrap_or_default()
}

async fn wait_stage(b: &Browser, want: &str) {
    if wait_until(&format!("stage {want}"), WAIT, async || {
        stage(b).await == want
    })
    .await
    .is_err()
    {
        panic!(
            "the wallet is at {:?}: {:?}",
            stage(b).await,
            text(b, "message").await
        );
    }
}

fn profile(scratch: &Path, who: &str) -> PathBuf {
    scratch.join(who)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_survives_a_crash_and_a_reload_at_every_step() -> Result<(), HarnessError> {
    let settings = Settings::from_env()?;
    let scratch = std::env::temp_dir().join(format!("ops-e2e-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch");
    let admin = format!("e2e-admin-crash-{}", std::process::id());
    let fi_dir = scratch.join("fi").display().to_string();
    let args = [
        "--data-dir",
        fi_dir.as_str(),
        "--admin-token",
        admin.as_str(),
    ];
    let port = free_port()?;
    let server = Server::start_with_args(&settings, &settings.dist, port, &args).await?;
    let origin = format!("http://localhost:{port}");
    let (status, account) = http_json(
        port,
        "POST",
        "/api/v1/accounts",
        None,
        Some(&json!({"name": "Corner Café"})),
    )?;
    assert_eq!(status, 201, "{account}");
    let merchant = (
        account["id"].as_i64().unwrap(),
        account["token"].as_str().unwrap().to_owned(),
    );
    let (status, r) = http_json(
        port,
        "POST",
        &format!("/api/v1/accounts/{}/merchant", merchant.0),
        Some(&admin),
        Some(&json!({"name": "Corner Café"})),
    )?;
    assert_eq!(status, 200, "{r}");
    // The terminal and the phone, each on its own profile.
    let mut pos_dev = Device {
        profile: profile(&scratch, "pos"),
        page: format!("{origin}/pos/"),
        authenticator: false,
        credentials: Vec::new(),
    };
    let (pos, _) = start(&settings, &pos_dev).await?;
    pos.wait_for_test_id("setup", WAIT).await?;
    register(&pos, &merchant, "Till 1").await?;
    // Killed right after set-up: the back office still asks for the PIN (a PIN written to
    // localStorage was lost this way; it is in IndexedDB now).
    let pos = crash_and_reload(&settings, &pos_dev, pos, &format!("{origin}/pos/")).await?;
    pos.wait_for_test_id("key-charge", WAIT).await?;
    click(&pos, "open-office").await?;
    pos.wait_for_test_id("unlock-pin", WAIT).await?;
    click(&pos, "unlock-cancel").await?;
    let mut phone = Device {
        profile: profile(&scratch, "phone"),
        page: format!("{origin}/"),
        authenticator: true,
        credentials: Vec::new(),
    };
    let (wallet, id) = start(&settings, &phone).await?;
    click(&wallet, "setup").await?;
    wait_text(&wallet, "spendable", "0.00 EUR").await?;
    click(&wallet, "action-a").await?;
    paste(&wallet, "amount", "10").await?;
    click(&wallet, "load").await?;
    wait_text(&wallet, "spendable", "10.00 EUR").await?;
    phone.credentials = wallet.credentials(&id).await?;
    pos_dev.page = format!("{origin}/pos/");
    server.kill();

    // 1. The request is shown: POS crashed and reloaded, the same request.
    for k in ["key-2", "key-5", "key-0"] {
        click(&pos, k).await?;
    }
    click(&pos, "key-charge").await?;
    pos.wait_for_test_id("requesting", WAIT).await?;
    let mut request = String::new();
    wait_until("the request", WAIT, async || {
        request = value(&pos, "request-out").await;
        !request.is_empty()
    })
    .await?;
    let pos = crash_and_reload(&settings, &pos_dev, pos, &pos_dev.page).await?;
    pos.wait_for_test_id("requesting", WAIT).await?;
    assert_eq!(
        value(&pos, "request-out").await,
        request,
        "the same request after a crash"
    );

    // 2. The phone reviews it: crashed and reloaded, it is offered again, nothing reserved.
    click(&wallet, "action-p").await?;
    click(&wallet, "source-text").await?;
    paste(&wallet, "request-in", &request).await?;
    click(&wallet, "use-text").await?;
    wait_stage(&wallet, "review").await;
    let wallet = crash_and_reload(&settings, &phone, wallet, &format!("{origin}/")).await?;
    wait_text(&wallet, "spendable", "10.00 EUR").await?;
    click(&wallet, "action-p").await?;
    if stage(&wallet).await != "review" {
        click(&wallet, "source-text").await?;
        paste(&wallet, "request-in", &request).await?;
        click(&wallet, "use-text").await?;
    }
    wait_stage(&wallet, "review").await;

    // 3. Approved and shown: crashed and reloaded, the same payment bytes.
    click(&wallet, "approve").await?;
    wait_stage(&wallet, "show").await;
    let payment = value(&wallet, "payment-out").await;
    let wallet = crash_and_reload(&settings, &phone, wallet, &format!("{origin}/#pay")).await?;
    wait_stage(&wallet, "show").await;
    assert_eq!(
        value(&wallet, "payment-out").await,
        payment,
        "the same payment after a crash"
    );

    // 4. The POS takes it; crashed and reloaded right after: still approved, once.
    click(&pos, "source-text").await?;
    paste(&pos, "payment-in", &payment).await?;
    click(&pos, "use-text").await?;
    if pos.wait_for_test_id("approved", WAIT).await.is_err() {
        let page = page_text(&pos).await;
        panic!("no approval; the terminal shows:\n{page}");
    }
    let approval = text(&pos, "approved-id").await;
    let mut receipt = String::new();
    wait_until("the receipt", WAIT, async || {
        receipt = value(&pos, "receipt-out").await;
        !receipt.is_empty()
    })
    .await?;
    let pos = crash_and_reload(&settings, &pos_dev, pos, &pos_dev.page).await?;
    pos.wait_for_test_id("approved", WAIT).await?;
    assert_eq!(
        text(&pos, "approved-id").await,
        approval,
        "the same approval after a crash"
    );
    click(&pos, "new-sale").await?;

    // 5. The phone scans the receipt; crashed and reloaded: paid once, nothing pending.
    click(&wallet, "scan-receipt").await?;
    click(&wallet, "source-text").await?;
    paste(&wallet, "receipt-in", &receipt).await?;
    click(&wallet, "use-text").await?;
    wait_stage(&wallet, "finished").await;
    let wallet = crash_and_reload(&settings, &phone, wallet, &format!("{origin}/")).await?;
    wait_text(&wallet, "spendable", "7.50 EUR").await?;
    assert_eq!(text(&wallet, "pending").await, "");

    // The FI is back: the POS deposits twice, the merchant is credited once.
    let _server = Server::start_with_args(&settings, &settings.dist, port, &args).await?;
    click(&pos, "open-office").await?;
    paste(&pos, "unlock-pin", PIN).await?;
    click(&pos, "unlock-submit").await?;
    for _ in 0..2 {
        click(&pos, "sync").await?;
        if wait_until("credited", WAIT, async || {
            attribute(&pos, "queue-row", "data-status").await.as_deref() == Some("credited")
        })
        .await
        .is_err()
        {
            panic!(
                "not credited: row {:?}, the terminal says {:?}, status {:?}",
                attribute(&pos, "queue-row", "data-status").await,
                text(&pos, "message").await,
                text(&pos, "status-line").await
            );
        }
    }
    let rows = pos
        .run("return document.querySelectorAll('[data-testid=\"queue-row\"]').length;")
        .await?;
    assert_eq!(
        rows.as_u64(),
        Some(1),
        "one approved payment on the terminal"
    );
    let (_, account) = http_json(
        port,
        "GET",
        &format!("/api/v1/accounts/{}", merchant.0),
        Some(&merchant.1),
        None,
    )?;
    assert_eq!(
        account["balance"].as_i64(),
        Some(STARTING + 250),
        "credited exactly once"
    );
    let (status, audit) = http_json(port, "GET", "/api/v1/audit", Some(&admin), None)?;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(
        audit["ok"], true,
        "the FI's audit finds no violation: {audit}"
    );
    kill_chromium(&pos_dev.profile);
    kill_chromium(&phone.profile);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
