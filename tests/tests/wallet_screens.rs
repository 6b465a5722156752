//! Every screen of the wallet at phone size (390×844): a screenshot each, written to the
//! artifacts folder, and axe-core's WCAG 2 A/AA audit (labels, names, focus order,
//! contrast…) with no violation allowed. Also the onboarding policies a person meets: a
//! synced passkey certified with the lower limit and told so in plain words, a bank that
//! refuses synced passkeys, and a new phone that joins the account with the recovery code
//! and revokes the lost one.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test code: failures should stop the test

use ops_e2e::pages::{WAIT, audit, click_dom as click, text};
use ops_e2e::webauthn::AuthenticatorOptions;
use ops_e2e::{Browser, HarnessError, Server, Settings, free_port, wait_until};

const PHONE: (u32, u32) = (390, 844);

/// A passkey the browser syncs (backup eligible and backed up).
const SYNCED: AuthenticatorOptions = AuthenticatorOptions {
    backup_eligible: true,
    ..AuthenticatorOptions::PLATFORM
};

async fn wait_message(browser: &Browser, needle: &str) {
    let seen = wait_until(&format!("a message with {needle:?}"), WAIT, async || {
        text(browser, "message").await.contains(needle)
    })
    .await;
    assert!(
        seen.is_ok(),
        "message reads {:?}",
        text(browser, "message").await
    );
}

/// Screenshot and audit of the screen on show.
async fn capture(browser: &Browser, settings: &Settings, name: &str) -> Result<(), HarnessError> {
    browser
        .screenshot(settings, &format!("wallet-{name}-phone"), PHONE)
        .await?;
    audit(browser, name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_has_a_screenshot_and_no_accessibility_violation() -> Result<(), HarnessError>
{
    let settings = Settings::from_env()?;
    let port = free_port()?;
    let _server = Server::start(&settings, &settings.dist, port).await?;
    let browser = Browser::start_with_flags(
        &settings,
        &[
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
        ],
    )
    .await?;
    browser.add_virtual_authenticator(SYNCED).await?;
    browser
        .driver
        .goto(format!("http://localhost:{port}/"))
        .await?;
    browser.wait_for_test_id("setup", WAIT).await?;
    capture(&browser, &settings, "home-new").await?;
    click(&browser, "have-account").await?;
    capture(&browser, &settings, "home-join").await?;
    // A synced passkey: certified with the lower limit, and the wallet says so.
    click(&browser, "setup").await?;
    wait_message(&browser, "synced").await;
    let said = text(&browser, "message").await;
    assert!(
        said.contains("at most 250.00 EUR") && said.contains("allows 1"),
        "{said}"
    );
    capture(&browser, &settings, "home").await?;
    click(&browser, "action-a").await?;
    browser
        .wait_for_test_id("amount", WAIT)
        .await?
        .send_keys("20")
        .await?;
    capture(&browser, &settings, "add-money").await?;
    click(&browser, "load").await?;
    wait_message(&browser, "Money added").await;
    click(&browser, "action-p").await?;
    browser.wait_for_test_id("scanner", WAIT).await?;
    capture(&browser, &settings, "pay-camera").await?;
    click(&browser, "source-text").await?;
    capture(&browser, &settings, "pay-text").await?;
    click(&browser, "back").await?;
    click(&browser, "action-r").await?;
    browser
        .wait_for_test_id("receive-amount", WAIT)
        .await?
        .send_keys("2")
        .await?;
    capture(&browser, &settings, "receive-amount").await?;
    click(&browser, "show-request").await?;
    browser.wait_for_test_id("qr-canvas", WAIT).await?;
    capture(&browser, &settings, "receive-request").await?;
    click(&browser, "back").await?;
    click(&browser, "action-h").await?;
    browser.wait_for_test_id("export-csv", WAIT).await?;
    capture(&browser, &settings, "activity").await?;
    click(&browser, "back").await?;
    click(&browser, "open-settings").await?;
    click(&browser, "show-recovery").await?;
    browser
        .wait_for_test_id("recovery-code-shown", WAIT)
        .await?;
    click(&browser, "list-devices").await?;
    let listed = wait_until("the device list", WAIT, async || {
        !text(&browser, "devices").await.is_empty()
    })
    .await;
    assert!(
        listed.is_ok(),
        "no device list; message {:?}",
        text(&browser, "message").await
    );
    assert!(text(&browser, "device-summary").await.contains("synced"));
    capture(&browser, &settings, "settings").await?;
    browser.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_that_refuses_synced_passkeys_says_what_to_use_instead() -> Result<(), HarnessError>
{
    let settings = Settings::from_env()?;
    let port = free_port()?;
    let _server = Server::start_with_args(
        &settings,
        &settings.dist,
        port,
        &["--synced-passkeys", "refuse"],
    )
    .await?;
    let browser = Browser::start(&settings).await?;
    browser.add_virtual_authenticator(SYNCED).await?;
    browser
        .driver
        .goto(format!("http://localhost:{port}/"))
        .await?;
    click(&browser, "setup").await?;
    wait_message(&browser, "synced passkeys").await;
    assert!(text(&browser, "message").await.contains("security key"));
    // Nothing was certified: the set-up is still offered.
    browser.driver.refresh().await?;
    browser.wait_for_test_id("setup", WAIT).await?;
    browser.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_phone_joins_the_account_and_revokes_the_lost_one() -> Result<(), HarnessError> {
    let settings = Settings::from_env()?;
    let port = free_port()?;
    let _server = Server::start(&settings, &settings.dist, port).await?;
    let origin = format!("http://localhost:{port}/");
    let old = Browser::start(&settings).await?;
    old.add_virtual_authenticator(AuthenticatorOptions::PLATFORM)
        .await?;
    old.driver.goto(&origin).await?;
    click(&old, "setup").await?;
    wait_message(&old, "set up").await;
    click(&old, "open-settings").await?;
    click(&old, "show-recovery").await?;
    old.wait_for_test_id("account-number", WAIT).await?;
    let account = text(&old, "account-number")
        .await
        .replace("Account number: ", "");
    let code = old
        .run("return document.querySelector('[data-testid=\"recovery-code-shown\"] code').textContent;")
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        !account.is_empty() && code.len() > 10,
        "{account:?} {code:?}"
    );
    // The new phone joins with the account number and the recovery code.
    let new = Browser::start(&settings).await?;
    new.add_virtual_authenticator(AuthenticatorOptions::PLATFORM)
        .await?;
    new.driver.goto(&origin).await?;
    click(&new, "have-account").await?;
    new.wait_for_test_id("account-no", WAIT)
        .await?
        .send_keys(&account)
        .await?;
    new.wait_for_test_id("recovery-code", WAIT)
        .await?
        .send_keys(&code)
        .await?;
    click(&new, "join").await?;
    wait_message(&new, "set up").await;
    // It lists both devices and revokes the old one as lost.
    click(&new, "open-settings").await?;
    click(&new, "list-devices").await?;
    new.wait_for_test_id("revoke-lost", WAIT).await?;
    let listed = text(&new, "devices").await;
    assert!(
        listed.contains("this device") && listed.contains("active"),
        "{listed}"
    );
    click(&new, "revoke-lost").await?;
    wait_message(&new, "Revoked").await;
    assert!(text(&new, "devices").await.contains("revoked"));
    // The old phone can no longer use the bank.
    click(&old, "back").await?;
    click(&old, "action-a").await?;
    old.wait_for_test_id("amount", WAIT)
        .await?
        .send_keys("1")
        .await?;
    click(&old, "load").await?;
    let refused = wait_until("the old phone's refusal", WAIT, async || {
        let m = text(&old, "message").await;
        !m.is_empty() && !m.contains("Money added")
    })
    .await;
    assert!(
        refused.is_ok(),
        "the old phone says {:?}",
        text(&old, "message").await
    );
    eprintln!("the revoked phone is told: {}", text(&old, "message").await);
    // Once it holds the new revocation list it says so on its home screen.
    click(&old, "sync").await?;
    let warned = wait_until("the revoked warning", WAIT, async || {
        text(&old, "home-warnings").await.contains("was revoked")
    })
    .await;
    assert!(
        warned.is_ok(),
        "home warnings {:?}, message {:?}",
        text(&old, "home-warnings").await,
        text(&old, "message").await
    );
    old.close().await;
    new.close().await;
    Ok(())
}
