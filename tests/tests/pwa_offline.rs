//! Both apps, built for release and served by the issuer service, in headless Chromium:
//! the service worker takes control and precaches exactly the build; with the server
//! killed the app reloads and works; a new deployment is offered as an update and, once
//! accepted, replaces the old version and its cache. Screenshots at phone and kiosk size
//! land in `target/e2e/`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test code: failures should stop the test

use ops_e2e::{Browser, HarnessError, Server, Settings, copy_tree, free_port, wait_until};
use ops_pwa::{APPS, AppSpec, check_manifest, list_build_files};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thirtyfour::prelude::*;

const PHONE: (u32, u32) = (390, 844);
const KIOSK: (u32, u32) = (1280, 800);
const WAIT: Duration = Duration::from_secs(30);

const WAIT_CONTROLLED: &str = r#"
const done = arguments[arguments.length - 1];
const check = () => navigator.serviceWorker.controller ? done(true) : setTimeout(check, 100);
check();"#;

const CACHE_CONTENTS: &str = r#"
const done = arguments[arguments.length - 1];
(async () => {
  const out = {};
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    out[name] = (await cache.keys()).map((request) => request.url);
  }
  return out;
})().then(done, (error) => done({ error: String(error) }));"#;

const SERVER_REACHABLE: &str = r#"
const done = arguments[arguments.length - 1];
fetch("/healthz", { cache: "no-store" }).then((r) => done(r.ok), () => done(false));"#;

const MANIFEST_SEEN_BY_PAGE: &str = r#"
const done = arguments[arguments.length - 1];
const link = document.querySelector('link[rel="manifest"]');
fetch(link.href).then(async (r) => done({ type: r.headers.get("content-type"), body: await r.json() }),
                      (e) => done({ error: String(e) }));"#;

fn app(name: &str) -> AppSpec {
    APPS.into_iter()
        .find(|spec| spec.name == name)
        .expect("the app is in ops_pwa::APPS")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ops-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Cache name → URLs, for this app's caches only.
async fn app_caches(
    browser: &Browser,
    spec: &AppSpec,
) -> Result<Vec<(String, BTreeSet<String>)>, HarnessError> {
    let caches = browser.run_async(CACHE_CONTENTS).await?;
    let object = caches.as_object().expect("caches as an object");
    assert!(
        object.get("error").is_none(),
        "reading caches failed: {caches}"
    );
    Ok(object
        .iter()
        .filter(|(name, _)| name.starts_with(&format!("ops-{}-", spec.name)))
        .map(|(name, urls)| {
            let urls = urls
                .as_array()
                .expect("url list")
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            (name.clone(), urls)
        })
        .collect())
}

/// Every file of the build, as absolute URLs on this server.
fn expected_urls(build: &Path, spec: &AppSpec, port: u16) -> (String, BTreeSet<String>) {
    let list = list_build_files(&build.join(spec.dir), spec.nested_apps).expect("build listed");
    let base = format!("http://localhost:{port}{}", spec.url_path);
    (
        format!("ops-{}-{}", spec.name, list.version),
        list.urls.iter().map(|url| format!("{base}{url}")).collect(),
    )
}

/// What a user does on the app's first screen; checks it responds.
async fn use_the_app(browser: &Browser, spec: &AppSpec) -> Result<(), HarnessError> {
    match spec.name {
        "wallet" => {
            browser.wait_for_test_id("balance", WAIT).await?;
            browser
                .wait_for_test_id("action-p", WAIT)
                .await?
                .click()
                .await?;
            let detail = browser.wait_for_test_id("detail", WAIT).await?;
            assert!(detail.text().await?.contains("Paying needs money"));
            browser
                .driver
                .find(By::Tag("body"))
                .await?
                .send_keys(Key::Escape)
                .await?;
            browser.wait_for_test_id("balance", WAIT).await?;
        }
        "pos" => {
            // Offline and not yet registered: the set-up page, and a registration that
            // says the bank cannot be reached instead of failing silently.
            browser.wait_for_test_id("setup", WAIT).await?;
            ops_e2e::pages::paste(browser, "setup-account", "1").await?;
            ops_e2e::pages::paste(browser, "setup-token", "demo-token").await?;
            ops_e2e::pages::paste(browser, "setup-pin", "2580").await?;
            ops_e2e::pages::paste(browser, "setup-pin-again", "2580").await?;
            ops_e2e::pages::click(browser, "setup-register").await?;
            wait_until(
                "the set-up to say the bank is unreachable",
                WAIT,
                async || {
                    ops_e2e::pages::text(browser, "message")
                        .await
                        .contains("cannot be reached")
                },
            )
            .await?;
        }
        other => panic!("no scenario for {other}"),
    }
    Ok(())
}

async fn offline_and_update(name: &str) -> Result<(), HarnessError> {
    let settings = Settings::from_env()?;
    let spec = app(name);
    let manifest = check_manifest(
        &settings.dist.join(spec.dir).join("manifest.webmanifest"),
        spec.display,
    )
    .expect("the built manifest is valid");

    // Serve a copy of the build, so a second "deployment" can be made from it.
    let first = scratch(&format!("{name}-v1"));
    copy_tree(&settings.dist, &first)?;
    let port = free_port()?;
    let server = Server::start(&settings, &first, port).await?;
    let browser = Browser::start(&settings).await?;
    let url = format!("http://localhost:{port}{}", spec.url_path);
    browser.driver.goto(url.as_str()).await?;
    browser
        .wait_for_test_id(&format!("{name}-app"), WAIT)
        .await?;

    // The manifest the page links is served as a manifest and says what the build says.
    let seen = browser.run_async(MANIFEST_SEEN_BY_PAGE).await?;
    assert_eq!(seen["type"], "application/manifest+json", "{seen}");
    assert_eq!(seen["body"]["display"], spec.display);
    assert_eq!(seen["body"]["name"], manifest.name.as_str());

    // The worker takes control and has precached exactly the files of the build.
    assert_eq!(browser.run_async(WAIT_CONTROLLED).await?, Value::Bool(true));
    let (cache_name, expected) = expected_urls(&first, &spec, port);
    let mut caches = Vec::new();
    wait_until("the precache to fill", WAIT, async || {
        caches = app_caches(&browser, &spec).await.unwrap_or_default();
        caches.iter().any(|(_, urls)| urls.len() == expected.len())
    })
    .await?;
    assert_eq!(
        caches,
        vec![(cache_name, expected)],
        "precache = build output"
    );
    let storage = browser.wait_for_test_id("storage-status", WAIT).await?;
    assert!(!storage.text().await?.is_empty());

    // Network gone: the server process is killed, the page reloads from the cache.
    server.kill();
    assert_eq!(
        browser.run_async(SERVER_REACHABLE).await?,
        Value::Bool(false)
    );
    browser.driver.refresh().await?;
    browser
        .wait_for_test_id(&format!("{name}-app"), WAIT)
        .await?;
    use_the_app(&browser, &spec).await?;
    browser.driver.refresh().await?;
    browser
        .wait_for_test_id(&format!("{name}-app"), WAIT)
        .await?;
    browser
        .screenshot(&settings, &format!("{name}-phone-offline"), PHONE)
        .await?;
    browser
        .screenshot(&settings, &format!("{name}-kiosk-offline"), KIOSK)
        .await?;

    // A new deployment: the same build with a changed page, finished by the same generator.
    let second = scratch(&format!("{name}-v2"));
    copy_tree(&first, &second)?;
    let index = second.join(spec.dir).join("index.html");
    let html = std::fs::read_to_string(&index).expect("index.html");
    std::fs::write(
        &index,
        html.replace(
            "</head>",
            "<meta name=\"ops-build\" content=\"e2e-2\"></head>",
        ),
    )
    .expect("index.html written");
    for app in APPS {
        app.finish_build(&second).expect("second build finished");
    }
    let _server = Server::start(&settings, &second, port).await?;
    browser.driver.refresh().await?;
    let banner = browser.wait_for_test_id("update-banner", WAIT).await?;
    assert!(banner.text().await?.contains("new version"));
    browser
        .screenshot(
            &settings,
            &format!("{name}-update-offered"),
            if name == "pos" { KIOSK } else { PHONE },
        )
        .await?;
    browser
        .wait_for_test_id("update-apply", WAIT)
        .await?
        .click()
        .await?;
    wait_until("the new version to load", WAIT, async || {
        browser
            .run("const m = document.querySelector('meta[name=\"ops-build\"]'); return m ? m.content : null;")
            .await
            .is_ok_and(|value| value == "e2e-2")
    })
    .await?;
    browser
        .wait_for_test_id(&format!("{name}-app"), WAIT)
        .await?;
    assert!(
        browser
            .driver
            .find(By::Css("[data-testid=\"update-banner\"]"))
            .await
            .is_err(),
        "no update is offered once it is applied"
    );
    // The old cache is gone; the new one holds exactly the new build.
    let (new_cache, new_expected) = expected_urls(&second, &spec, port);
    let mut caches = Vec::new();
    wait_until("the old cache to be removed", WAIT, async || {
        caches = app_caches(&browser, &spec).await.unwrap_or_default();
        caches.len() == 1
    })
    .await?;
    assert_eq!(caches, vec![(new_cache, new_expected)]);
    browser.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_works_offline_and_offers_updates() -> Result<(), HarnessError> {
    offline_and_update("wallet").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pos_works_offline_and_offers_updates() -> Result<(), HarnessError> {
    offline_and_update("pos").await
}

/// Records, in every document, when the app's first screen (the wallet's balance, the
/// POS's set-up form) enters the page: `window.__opsInteractiveMs`, milliseconds since
/// the navigation started. Leptos attaches a screen's event handlers as it creates its
/// elements, so the screen is usable from then on.
const MARK_INTERACTIVE: &str = r#"
(() => {
  const seen = () => {
    if (window.__opsInteractiveMs === undefined &&
        document.querySelector('[data-testid="balance"], [data-testid="setup"]')) {
      window.__opsInteractiveMs = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true });
})();"#;

/// Offline cold starts timed per app (`cargo xtask bench`): installed once online, the
/// server killed, then per sample Chromium quits and starts again on the same profile and
/// opens the app, which comes from the service-worker cache. Prints `BENCH …` lines; a
/// figure, not a check (nothing about time is asserted).
async fn cold_start_figures(name: &str) -> Result<(), HarnessError> {
    const SAMPLES: usize = 3;
    let settings = Settings::from_env()?;
    let spec = app(name);
    let site = scratch(&format!("{name}-cold"));
    copy_tree(&settings.dist, &site)?;
    let profile = scratch(&format!("{name}-cold-profile"));
    let profile_flag = format!("--user-data-dir={}", profile.display());
    let port = free_port()?;
    let server = Server::start(&settings, &site, port).await?;
    let url = format!("http://localhost:{port}{}", spec.url_path);
    let browser = Browser::start_with_flags(&settings, &[profile_flag.as_str()]).await?;
    browser.driver.goto(url.as_str()).await?;
    assert_eq!(browser.run_async(WAIT_CONTROLLED).await?, Value::Bool(true));
    let (_, expected) = expected_urls(&site, &spec, port);
    wait_until("the precache to fill", WAIT, async || {
        app_caches(&browser, &spec)
            .await
            .unwrap_or_default()
            .iter()
            .any(|(_, urls)| urls.len() == expected.len())
    })
    .await?;
    browser.close().await;
    server.kill();
    for _ in 0..SAMPLES {
        let browser = Browser::start_with_flags(&settings, &[profile_flag.as_str()]).await?;
        browser
            .add_script_on_new_documents(MARK_INTERACTIVE)
            .await?;
        browser.driver.goto(url.as_str()).await?;
        let mut interactive = Value::Null;
        wait_until("the first screen offline", WAIT, async || {
            interactive = browser
                .run("return window.__opsInteractiveMs ?? null;")
                .await
                .unwrap_or(Value::Null);
            interactive.is_number()
        })
        .await?;
        assert_eq!(
            browser.run_async(SERVER_REACHABLE).await?,
            Value::Bool(false),
            "the start was offline"
        );
        let row = if name == "pos" { "POS" } else { "wallet" };
        println!(
            "BENCH Offline cold start | {row} | navigation to first screen | {:.0} ms",
            interactive.as_f64().unwrap_or_default()
        );
        browser.close().await;
    }
    let _ = std::fs::remove_dir_all(&site);
    let _ = std::fs::remove_dir_all(&profile);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: `cargo xtask bench` runs it"]
async fn cold_start_offline_figures() -> Result<(), HarnessError> {
    cold_start_figures("wallet").await?;
    cold_start_figures("pos").await
}
