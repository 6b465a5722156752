//! The wallet app in real headless Chromium against the real FI service (issue 11): set up
//! with a (virtual) platform authenticator — account, passkey, certificate, trust bundle,
//! passkey session —, add money through the engine's fund saga, and find the balance again
//! after a reload (IndexedDB); two wallets in two browsers pay each other with the server
//! stopped (request and payment carried as text). Screenshots at phone size.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test code: failures should stop the test

use std::time::Duration;

use ops_e2e::webauthn::AuthenticatorOptions;
use ops_e2e::{Browser, HarnessError, Server, Settings, free_port, wait_until};
use thirtyfour::prelude::*;

const PHONE: (u32, u32) = (390, 844);
const WAIT: Duration = Duration::from_secs(60);

async fn text(browser: &Browser, id: &str) -> String {
    match browser
        .driver
        .find(By::Css(format!("[data-testid=\"{id}\"]")))
        .await
    {
        Ok(el) => el.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits until element `id` reads `want`; on timeout names what it read and the message.
async fn wait_text(browser: &Browser, id: &str, want: &str) -> Result<(), HarnessError> {
    let outcome = wait_until(&format!("{id} to read {want:?}"), WAIT, async || {
        text(browser, id).await == want
    })
    .await;
    if outcome.is_err() {
        panic!(
            "{id} reads {:?}, message {:?}",
            text(browser, id).await,
            text(browser, "message").await
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_up_add_money_and_reload() -> Result<(), HarnessError> {
    let settings = Settings::from_env()?;
    let port = free_port()?;
    let server = Server::start(&settings, &settings.dist, port).await?;
    let browser = Browser::start(&settings).await?;
    browser
        .add_virtual_authenticator(AuthenticatorOptions::PLATFORM)
        .await?;
    let origin = format!("http://localhost:{port}");
    browser.driver.goto(format!("{origin}/")).await?;
    // Set up: a new demo account, a passkey on the device, the certificate.
    browser
        .wait_for_test_id("setup", WAIT)
        .await?
        .click()
        .await?;
    wait_text(&browser, "spendable", "0.00 EUR").await?;
    browser
        .screenshot(&settings, "wallet-home-set-up-phone", PHONE)
        .await?;
    // Add 7.00 from the account.
    browser
        .wait_for_test_id("action-a", WAIT)
        .await?
        .click()
        .await?;
    let amount = browser.wait_for_test_id("amount", WAIT).await?;
    amount.send_keys("7").await?;
    browser
        .screenshot(&settings, "wallet-add-money-phone", PHONE)
        .await?;
    browser
        .wait_for_test_id("load", WAIT)
        .await?
        .click()
        .await?;
    wait_text(&browser, "spendable", "7.00 EUR").await?;
    assert!(
        text(&browser, "message").await.contains("Money added"),
        "{}",
        text(&browser, "message").await
    );
    // A reload finds the same wallet (IndexedDB) and the same balance.
    browser.driver.refresh().await?;
    wait_text(&browser, "spendable", "7.00 EUR").await?;
    assert!(
        browser
            .driver
            .find(By::Css("[data-testid=\"setup\"]"))
            .await
            .is_err(),
        "no second set-up after a reload"
    );
    // The balance is what the FI issued: a wrong amount is refused in plain words.
    browser
        .wait_for_test_id("action-a", WAIT)
        .await?
        .click()
        .await?;
    let amount = browser.wait_for_test_id("amount", WAIT).await?;
    amount.send_keys("1.234").await?;
    browser
        .wait_for_test_id("load", WAIT)
        .await?
        .click()
        .await?;
    wait_until("the refusal", WAIT, async || {
        text(&browser, "message").await.contains("decimals")
    })
    .await?;
    browser.close().await;
    drop(server);
    Ok(())
}

/// Sets a text field's value as a paste would (an `input` event the app listens to).
async fn paste(browser: &Browser, id: &str, text: &str) -> Result<(), HarnessError> {
    let script = format!(
        "const el = document.querySelector('[data-testid=\\'{id}\\']'); el.value = {}; \
         el.dispatchEvent(new Event('input', {{ bubbles: true }})); return true;",
        serde_json::Value::String(text.to_owned())
    );
    browser.run(&script).await?;
    Ok(())
}

async fn value(browser: &Browser, id: &str) -> String {
    browser
        .run(&format!(
            "const el = document.querySelector('[data-testid=\\'{id}\\']'); return el ? el.value : '';"
        ))
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

async fn set_up(browser: &Browser, origin: &str) -> Result<(), HarnessError> {
    browser
        .add_virtual_authenticator(AuthenticatorOptions::PLATFORM)
        .await?;
    browser.driver.goto(format!("{origin}/")).await?;
    browser
        .wait_for_test_id("setup", WAIT)
        .await?
        .click()
        .await?;
    wait_text(browser, "spendable", "0.00 EUR").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_wallets_pay_each_other_with_the_server_stopped() -> Result<(), HarnessError> {
    let settings = Settings::from_env()?;
    let port = free_port()?;
    let server = Server::start(&settings, &settings.dist, port).await?;
    let origin = format!("http://localhost:{port}");
    let alice = Browser::start(&settings).await?;
    let bob = Browser::start(&settings).await?;
    set_up(&alice, &origin).await?;
    set_up(&bob, &origin).await?;
    alice
        .wait_for_test_id("action-a", WAIT)
        .await?
        .click()
        .await?;
    alice
        .wait_for_test_id("amount", WAIT)
        .await?
        .send_keys("10")
        .await?;
    alice.wait_for_test_id("load", WAIT).await?.click().await?;
    wait_text(&alice, "spendable", "10.00 EUR").await?;
    // No network from here on.
    server.kill();
    bob.wait_for_test_id("action-r", WAIT)
        .await?
        .click()
        .await?;
    bob.wait_for_test_id("receive-amount", WAIT)
        .await?
        .send_keys("3")
        .await?;
    bob.wait_for_test_id("show-request", WAIT)
        .await?
        .click()
        .await?;
    bob.wait_for_test_id("request-out", WAIT).await?;
    let request = value(&bob, "request-out").await;
    assert!(!request.is_empty(), "the request is shown as text");
    alice
        .wait_for_test_id("action-p", WAIT)
        .await?
        .click()
        .await?;
    alice.wait_for_test_id("request-in", WAIT).await?;
    paste(&alice, "request-in", &request).await?;
    alice
        .wait_for_test_id("review", WAIT)
        .await?
        .click()
        .await?;
    wait_until("the confirmation", WAIT, async || {
        text(&alice, "confirm-text").await == "Pay 3.00 EUR to Wallet"
    })
    .await?;
    alice
        .screenshot(&settings, "wallet-pay-confirm-phone", PHONE)
        .await?;
    alice
        .wait_for_test_id("approve", WAIT)
        .await?
        .click()
        .await?;
    alice.wait_for_test_id("payment-out", WAIT).await?;
    let payment = value(&alice, "payment-out").await;
    assert!(!payment.is_empty(), "{}", text(&alice, "message").await);
    // A reload, then the same request again: the same payment bytes, never a second one
    // (the signed payment is frozen in IndexedDB).
    alice.driver.refresh().await?;
    wait_text(&alice, "spendable", "7.00 EUR").await?;
    alice
        .wait_for_test_id("action-p", WAIT)
        .await?
        .click()
        .await?;
    alice.wait_for_test_id("request-in", WAIT).await?;
    paste(&alice, "request-in", &request).await?;
    alice
        .wait_for_test_id("review", WAIT)
        .await?
        .click()
        .await?;
    alice
        .wait_for_test_id("approve", WAIT)
        .await?
        .click()
        .await?;
    alice.wait_for_test_id("payment-out", WAIT).await?;
    assert_eq!(
        value(&alice, "payment-out").await,
        payment,
        "a reload shows the same payment"
    );
    paste(&bob, "payment-in", &payment).await?;
    bob.wait_for_test_id("accept", WAIT).await?.click().await?;
    let received = wait_until("the payment to be received", WAIT, async || {
        text(&bob, "message").await.contains("Payment received")
    })
    .await;
    if received.is_err() {
        panic!("the payee says {:?}", text(&bob, "message").await);
    }
    bob.screenshot(&settings, "wallet-receive-phone", PHONE)
        .await?;
    bob.wait_for_test_id("back", WAIT).await?.click().await?;
    wait_text(&bob, "spendable", "3.00 EUR").await?;
    alice.wait_for_test_id("back", WAIT).await?.click().await?;
    wait_text(&alice, "spendable", "7.00 EUR").await?;
    assert_eq!(
        text(&alice, "pending").await,
        "Waiting for confirmation: 3.00 EUR"
    );
    // A reload keeps what was received (IndexedDB).
    bob.driver.refresh().await?;
    wait_text(&bob, "spendable", "3.00 EUR").await?;
    // Each activity list says what happened and where it stands, with exports.
    bob.wait_for_test_id("action-h", WAIT)
        .await?
        .click()
        .await?;
    wait_until("Bob's activity", WAIT, async || {
        text(&bob, "history")
            .await
            .contains("Received 3.00 EUR — received")
    })
    .await?;
    alice
        .wait_for_test_id("action-h", WAIT)
        .await?
        .click()
        .await?;
    wait_until("Alice's activity", WAIT, async || {
        let list = text(&alice, "history").await;
        list.contains("Paid 3.00 EUR — handed over, not confirmed yet")
            && list.contains("Added from your bank 10.00 EUR")
    })
    .await?;
    alice.wait_for_test_id("export-csv", WAIT).await?;
    alice
        .screenshot(&settings, "wallet-activity-phone", PHONE)
        .await?;
    alice.close().await;
    bob.close().await;
    Ok(())
}
