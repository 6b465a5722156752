//! Choosing a bank in the apps (issue 14 item 1), with real processes: a key ceremony for
//! a central bank and two FIs ("Demo Bank", "Demo Bank B"), each FI its own `ops-issuer`
//! on its own data folder, and `ops-central` between them. After the first clearing run
//! each bank knows the other from the central bank. The wallet's and the POS's set-up
//! screens link to the bank's "Choose your bank" page, which lists this bank and the other
//! with links to each one's wallet and POS; choosing the other bank opens its own wallet,
//! ready to set up there. Screenshot in `target/e2e/bank-choice-page.png`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test code: failures should stop the test

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ops_e2e::pages::{WAIT, audit, click, click_dom, page_text};
use ops_e2e::{Browser, HarnessError, Server, Settings, free_port, http_json, wait_until};

const PHONE: (u32, u32) = (390, 844);

/// The text of the first bank the page lists.
async fn text_of_first_bank(browser: &Browser) -> String {
    browser
        .run("const li = document.querySelector('[data-testid=bank]'); return li ? li.textContent : '';")
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Runs one ceremony command of `ops-issuer` and fails the test if it fails.
fn ceremony(settings: &Settings, args: &[&str], dir: &Path) {
    let status = Command::new(&settings.issuer_bin)
        .args(args)
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "ops-issuer {args:?} failed");
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
}

/// The central bank's and both FIs' folders, as `cargo xtask run --second-fi` makes them.
fn folders(base: &Path, settings: &Settings) -> (PathBuf, PathBuf, PathBuf) {
    let (a, b, central) = (base.join("a"), base.join("b"), base.join("central"));
    for dir in [&a, &b, &central] {
        std::fs::create_dir_all(dir).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
    }
    ceremony(
        settings,
        &["create-root", "--name", "Demo Central Bank"],
        &a,
    );
    ceremony(
        settings,
        &["create-fi", "--name", "Demo Bank", "--serial", "10"],
        &a,
    );
    // B is certified beside the root key, which then stays with the central bank only.
    copy(&a.join("root.key"), &b.join("root.key"));
    copy(&a.join("root.cert"), &b.join("root.cert"));
    ceremony(
        settings,
        &["create-fi", "--name", "Demo Bank B", "--serial", "11"],
        &b,
    );
    std::fs::rename(a.join("root.key"), central.join("root.key")).unwrap();
    std::fs::remove_file(b.join("root.key")).unwrap();
    copy(&a.join("root.cert"), &central.join("root.cert"));
    for (dir, peer) in [(&a, &b), (&b, &a)] {
        std::fs::create_dir_all(dir.join("peer-fis")).unwrap();
        copy(&peer.join("fi.cert"), &dir.join("peer-fis/peer.cert"));
    }
    (a, b, central)
}

/// `ops-central`, killed when dropped.
struct Central(Child);

impl Drop for Central {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The names of the banks `GET /api/v1/banks` lists on `port`.
fn listed(port: u16) -> Vec<String> {
    http_json(port, "GET", "/api/v1/banks", None, None)
        .map(|(_, v)| {
            v["banks"]
                .as_array()
                .map(|banks| {
                    banks
                        .iter()
                        .filter_map(|b| b["name"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_chooses_a_bank_from_the_apps_set_up() -> Result<(), HarnessError> {
    let settings = Settings::from_env()?;
    let base = std::env::temp_dir().join(format!("ops-bank-choice-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (dir_a, dir_b, dir_central) = folders(&base, &settings);
    let (port_a, port_b, port_cb) = (free_port()?, free_port()?, free_port()?);

    // The central bank first: each FI's first clearing run, at its start, finds it.
    let central_bin = settings.issuer_bin.with_file_name("ops-central");
    let member = |dir: &Path, port: u16| {
        format!("{}=http://localhost:{port}", dir.join("fi.cert").display())
    };
    let _central = Central(
        Command::new(&central_bin)
            .arg("--data-dir")
            .arg(&dir_central)
            .args(["--addr", &format!("127.0.0.1:{port_cb}")])
            .args(["--fi", &member(&dir_a, port_a)])
            .args(["--fi", &member(&dir_b, port_b)])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                what: central_bin.display().to_string(),
                source,
            })?,
    );
    wait_until(
        "the central bank to answer /healthz",
        Duration::from_secs(20),
        async || ops_e2e::http_get_status(port_cb, "/healthz") == Some(200),
    )
    .await?;
    let central_url = format!("http://127.0.0.1:{port_cb}");
    let fi = async |dir: &Path, port: u16| {
        Server::start_with_args(
            &settings,
            &settings.dist,
            port,
            &[
                "--data-dir",
                &dir.display().to_string(),
                "--central-bank",
                &central_url,
                "--clearing-interval",
                "1",
            ],
        )
        .await
    };
    let _a = fi(&dir_a, port_a).await?;
    let _b = fi(&dir_b, port_b).await?;
    for (port, want) in [
        (port_a, ["Demo Bank", "Demo Bank B"]),
        (port_b, ["Demo Bank B", "Demo Bank"]),
    ] {
        wait_until(
            "each bank to list the other after a clearing run",
            Duration::from_secs(20),
            async || listed(port) == want,
        )
        .await?;
    }

    // The wallet of Demo Bank, not set up yet, links to the page where a user chooses a bank.
    let browser = Browser::start(&settings).await?;
    let (origin_a, origin_b) = (
        format!("http://localhost:{port_a}"),
        format!("http://localhost:{port_b}"),
    );
    browser.driver.goto(format!("{origin_a}/")).await?;
    browser.wait_for_test_id("setup", WAIT).await?;
    click(&browser, "choose-bank").await?;
    wait_until("the banks page", WAIT, async || {
        page_text(&browser).await.contains("Demo Bank B wallet")
    })
    .await?;
    let banks = browser
        .run(
            "return [...document.querySelectorAll('[data-testid=bank]')].map(li => li.textContent)",
        )
        .await?;
    assert_eq!(
        banks,
        serde_json::json!([
            "Demo Bank (this app's bank): Demo Bank wallet · Demo Bank POS",
            "Demo Bank B: Demo Bank B wallet · Demo Bank B POS"
        ])
    );
    let links = |which: &'static str| {
        let browser = &browser;
        async move {
            browser
                .run(&format!(
                    "return [...document.querySelectorAll('[data-testid={which}]')].map(a => a.href)"
                ))
                .await
                .unwrap()
        }
    };
    assert_eq!(
        links("wallet-link").await,
        serde_json::json!([format!("{origin_a}/"), format!("{origin_b}/")])
    );
    assert_eq!(
        links("pos-link").await,
        serde_json::json!([format!("{origin_a}/pos/"), format!("{origin_b}/pos/")])
    );
    audit(&browser, "the banks page").await?;
    browser
        .screenshot(&settings, "bank-choice-page", PHONE)
        .await?;

    // Choosing Demo Bank B opens B's wallet, ready to set up with B.
    browser
        .run("document.querySelectorAll('[data-testid=wallet-link]')[1].click(); return true;")
        .await?;
    browser.wait_for_test_id("setup", WAIT).await?;
    let url = browser.driver.current_url().await?;
    assert_eq!(
        (url.origin().ascii_serialization(), url.path()),
        (origin_b.clone(), "/"),
        "{url}"
    );
    click_dom(&browser, "choose-bank").await?;
    wait_until("B's banks page", WAIT, async || {
        page_text(&browser).await.starts_with("Choose your bank")
            && text_of_first_bank(&browser)
                .await
                .starts_with("Demo Bank B (this app's bank)")
    })
    .await?;

    // The POS's set-up links to the same page.
    browser.driver.goto(format!("{origin_a}/pos/")).await?;
    click_dom(&browser, "choose-bank").await?;
    wait_until("the banks page from the POS", WAIT, async || {
        page_text(&browser).await.contains("Demo Bank B POS")
    })
    .await?;
    browser.close().await;
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}
