//! The wallet app in real headless Chromium against the real FI service (issue 11): set up
//! with a (virtual) platform authenticator — account, passkey, certificate, trust bundle,
//! passkey session —, add money through the engine's fund saga, and find the balance again
//! after a reload (IndexedDB); two wallets in two browsers pay each other with the server
//! stopped, through their cameras (Chromium's fake camera plays the QR codes the other
//! page shows) and as pasted text; a reload at each step finds the same step and the same
//! payment bytes; the payee syncs when the server is back and is credited once.
//! Screenshots at phone size.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test code: failures should stop the test

use ops_e2e::pages::{
    WAIT, attribute, blank_video, click, film, page_text, paste, read_qr_from_page, text, value,
    wait_text,
};
use ops_e2e::webauthn::AuthenticatorOptions;
use ops_e2e::{Browser, HarnessError, Server, Settings, free_port, kill_chromium, wait_until};
use ops_transport::MessageKind;
use thirtyfour::prelude::*;

const PHONE: (u32, u32) = (390, 844);

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

/// Waits for the screen's `data-stage` to be `want`; on timeout names the stage and message.
async fn wait_stage(browser: &Browser, want: &str) -> Result<(), HarnessError> {
    let stage = async || {
        browser
            .run("const d = document.querySelector('[data-testid=\"detail\"]'); return d ? d.dataset.stage : '';")
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    if wait_until(&format!("stage {want}"), WAIT, async || {
        stage().await == want
    })
    .await
    .is_err()
    {
        let page = page_text(browser).await;
        panic!(
            "waiting for stage {want:?}: stage {:?}, message {:?}, scanner problem {:?}, page:\n{page}",
            stage().await,
            text(browser, "message").await,
            text(browser, "scan-problem").await
        );
    }
    Ok(())
}

struct TwoWallets {
    settings: Settings,
    port: u16,
    origin: String,
    server: Option<Server>,
    alice: Browser,
    bob: Browser,
    scratch: std::path::PathBuf,
}

/// Two phones with fake cameras (each plays a file this test writes later), set up at the
/// FI; Alice adds 10.00.
async fn two_wallets(name: &str) -> Result<TwoWallets, HarnessError> {
    let settings = Settings::from_env()?;
    let port = free_port()?;
    let server = Server::start(&settings, &settings.dist, port).await?;
    let origin = format!("http://localhost:{port}");
    let scratch =
        std::env::temp_dir().join(format!("ops-e2e-wallet-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch folder");
    let camera = |who: &str| {
        let path = scratch.join(format!("{who}.y4m"));
        // A placeholder until the other side shows something: one blank frame.
        std::fs::write(&path, blank_video()).expect("write the placeholder video");
        format!("--use-file-for-fake-video-capture={}", path.display())
    };
    let flags = |camera: String| {
        [
            "--use-fake-ui-for-media-stream".to_owned(),
            "--use-fake-device-for-media-stream".to_owned(),
            camera,
        ]
    };
    let alice_flags = flags(camera("alice"));
    let bob_flags = flags(camera("bob"));
    let alice = Browser::start_with_flags(
        &settings,
        &alice_flags.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await?;
    let bob = Browser::start_with_flags(
        &settings,
        &bob_flags.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await?;
    set_up(&alice, &origin).await?;
    set_up(&bob, &origin).await?;
    click(&alice, "action-a").await?;
    alice
        .wait_for_test_id("amount", WAIT)
        .await?
        .send_keys("10")
        .await?;
    click(&alice, "load").await?;
    wait_text(&alice, "spendable", "10.00 EUR").await?;
    Ok(TwoWallets {
        settings,
        port,
        origin,
        server: Some(server),
        alice,
        bob,
        scratch,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_wallets_pay_through_their_cameras_with_the_server_stopped() -> Result<(), HarnessError>
{
    let mut t = two_wallets("camera").await?;
    let (alice, bob) = (&t.alice, &t.bob);
    // No network from here on.
    if let Some(server) = t.server.take() {
        server.kill();
    }
    // Bob asks for 3.00: a QR code (and the same request as text).
    click(bob, "action-r").await?;
    bob.wait_for_test_id("receive-amount", WAIT)
        .await?
        .send_keys("3")
        .await?;
    click(bob, "show-request").await?;
    wait_stage(bob, "shown").await?;
    let request_text = value(bob, "request-out").await;
    let request = read_qr_from_page(bob, MessageKind::PaymentRequest).await;
    assert_eq!(
        ops_transport::base45::encode(&request),
        request_text,
        "the QR code is the request"
    );
    bob.screenshot(&t.settings, "wallet-receive-request-phone", PHONE)
        .await?;
    // Alice's camera sees Bob's screen.
    film(
        &t.scratch.join("alice.y4m"),
        MessageKind::PaymentRequest,
        &request,
    );
    click(alice, "action-p").await?;
    wait_stage(alice, "review").await?;
    assert_eq!(text(alice, "confirm-amount").await, "3.00 EUR");
    assert!(
        text(alice, "confirm-text").await.starts_with("To "),
        "{}",
        text(alice, "confirm-text").await
    );
    alice
        .screenshot(&t.settings, "wallet-pay-confirm-phone", PHONE)
        .await?;
    // A reload during the review: the same review, nothing reserved.
    alice.driver.refresh().await?;
    wait_stage(alice, "review").await?;
    assert_eq!(text(alice, "confirm-amount").await, "3.00 EUR");
    click(alice, "approve").await?;
    wait_stage(alice, "show").await?;
    let payment_text = value(alice, "payment-out").await;
    let payment = read_qr_from_page(alice, MessageKind::Payment).await;
    assert_eq!(
        ops_transport::base45::encode(&payment),
        payment_text,
        "the animated QR code is the payment"
    );
    ops_core::Payment::from_bytes(&payment).expect("the core accepts the payment the page shows");
    alice
        .screenshot(&t.settings, "wallet-pay-show-phone", PHONE)
        .await?;
    // A reload while showing: the same payment bytes, never a second payment.
    alice.driver.refresh().await?;
    wait_stage(alice, "show").await?;
    assert_eq!(
        value(alice, "payment-out").await,
        payment_text,
        "a reload shows the same payment"
    );
    // Bob's camera sees Alice's screen; a reload of Bob's page shows the same request.
    film(&t.scratch.join("bob.y4m"), MessageKind::Payment, &payment);
    bob.driver.refresh().await?;
    wait_stage(bob, "shown").await?;
    assert_eq!(
        value(bob, "request-out").await,
        request_text,
        "a reload shows the same request"
    );
    wait_stage(bob, "finished").await?;
    assert!(text(bob, "finished").await.contains("Payment received"));
    click(bob, "back").await?;
    wait_text(bob, "spendable", "3.00 EUR").await?;
    // Alice confirms: nothing is pending any more.
    click(alice, "payee-has-it").await?;
    wait_stage(alice, "finished").await?;
    click(alice, "back").await?;
    wait_text(alice, "spendable", "7.00 EUR").await?;
    assert_eq!(text(alice, "pending").await, "");
    // The server is back: Bob syncs, his deposit is credited once, even when he syncs again.
    let server = Server::start(&t.settings, &t.settings.dist, t.port).await?;
    t.server = Some(server);
    for _ in 0..2 {
        click(bob, "sync").await?;
        let synced = wait_until("the sync", WAIT, async || {
            text(bob, "message").await.contains("Synced")
        })
        .await;
        assert!(synced.is_ok(), "sync says {:?}", text(bob, "message").await);
    }
    click(bob, "action-h").await?;
    let deposited = wait_until("Bob's deposit", WAIT, async || {
        text(bob, "history")
            .await
            .contains("Deposited at your bank 3.00 EUR")
    })
    .await;
    let list = text(bob, "history").await;
    assert!(deposited.is_ok(), "Bob's history: {list}");
    assert_eq!(
        list.matches("Deposited at your bank 3.00 EUR").count(),
        1,
        "{list}"
    );
    let _ = &t.origin;
    t.alice.close().await;
    t.bob.close().await;
    let _ = std::fs::remove_dir_all(&t.scratch);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_wallets_pay_each_other_as_text_with_the_server_stopped() -> Result<(), HarnessError> {
    let mut t = two_wallets("text").await?;
    let (alice, bob) = (&t.alice, &t.bob);
    if let Some(server) = t.server.take() {
        server.kill();
    }
    click(bob, "action-r").await?;
    bob.wait_for_test_id("receive-amount", WAIT)
        .await?
        .send_keys("3")
        .await?;
    click(bob, "show-request").await?;
    wait_stage(bob, "shown").await?;
    let request = value(bob, "request-out").await;
    assert!(!request.is_empty(), "the request is shown as text");
    click(alice, "action-p").await?;
    click(alice, "source-text").await?;
    // Garbage first: said in plain words, nothing reserved.
    alice.wait_for_test_id("request-in", WAIT).await?;
    paste(alice, "request-in", "NOT A REQUEST").await?;
    click(alice, "use-text").await?;
    wait_until("the refusal", WAIT, async || {
        text(alice, "message").await.contains("copy it again whole")
    })
    .await?;
    paste(alice, "request-in", &request).await?;
    click(alice, "use-text").await?;
    wait_stage(alice, "review").await?;
    click(alice, "approve").await?;
    wait_stage(alice, "show").await?;
    let payment = value(alice, "payment-out").await;
    assert!(!payment.is_empty(), "{}", text(alice, "message").await);
    click(bob, "source-text").await?;
    bob.wait_for_test_id("payment-in", WAIT).await?;
    paste(bob, "payment-in", &payment).await?;
    click(bob, "use-text").await?;
    wait_stage(bob, "finished").await?;
    click(bob, "back").await?;
    wait_text(bob, "spendable", "3.00 EUR").await?;
    // The same payment again is not counted twice (a new request, the old payment).
    click(bob, "action-r").await?;
    bob.wait_for_test_id("receive-amount", WAIT)
        .await?
        .send_keys("3")
        .await?;
    click(bob, "show-request").await?;
    wait_stage(bob, "shown").await?;
    click(bob, "source-text").await?;
    paste(bob, "payment-in", &payment).await?;
    click(bob, "use-text").await?;
    wait_until("the refusal of a replay", WAIT, async || {
        !text(bob, "message").await.is_empty()
            && !text(bob, "message").await.contains("Payment received")
    })
    .await?;
    click(bob, "close-request").await?;
    wait_stage(bob, "amount").await?;
    click(bob, "back").await?;
    wait_text(bob, "spendable", "3.00 EUR").await?;
    click(alice, "back").await?;
    wait_text(alice, "spendable", "7.00 EUR").await?;
    assert_eq!(
        text(alice, "pending").await,
        "Waiting for confirmation: 3.00 EUR"
    );
    // A reload keeps what was received (IndexedDB).
    bob.driver.refresh().await?;
    wait_text(bob, "spendable", "3.00 EUR").await?;
    click(bob, "action-h").await?;
    wait_until("Bob's activity", WAIT, async || {
        text(bob, "history")
            .await
            .contains("Received 3.00 EUR — received")
    })
    .await?;
    // A reload on the activity screen lists it again (once the storage is open).
    bob.driver.refresh().await?;
    wait_until("Bob's activity after a reload", WAIT, async || {
        text(bob, "history")
            .await
            .contains("Received 3.00 EUR — received")
    })
    .await?;
    click(alice, "action-h").await?;
    wait_until("Alice's activity", WAIT, async || {
        let list = text(alice, "history").await;
        list.contains("Paid 3.00 EUR — handed over, not confirmed yet")
            && list.contains("Added from your bank 10.00 EUR")
    })
    .await?;
    alice.wait_for_test_id("export-csv", WAIT).await?;
    alice
        .screenshot(&t.settings, "wallet-activity-phone", PHONE)
        .await?;
    t.alice.close().await;
    t.bob.close().await;
    let _ = std::fs::remove_dir_all(&t.scratch);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_browsers_come_back_with_the_same_payment_and_the_money_received()
-> Result<(), HarnessError> {
    let settings = Settings::from_env()?;
    let port = free_port()?;
    let server = Server::start(&settings, &settings.dist, port).await?;
    let origin = format!("http://localhost:{port}");
    let scratch =
        std::env::temp_dir().join(format!("ops-e2e-wallet-killed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch folder");
    let profile = |who: &str| scratch.join(format!("{who}-profile"));
    let flags = |who: &str| vec![format!("--user-data-dir={}", profile(who).display())];
    let start = async |who: &str| {
        let f = flags(who);
        Browser::start_with_flags(&settings, &f.iter().map(String::as_str).collect::<Vec<_>>())
            .await
    };
    let alice = start("alice").await?;
    let bob = start("bob").await?;
    set_up(&alice, &origin).await?;
    set_up(&bob, &origin).await?;
    click(&alice, "action-a").await?;
    alice
        .wait_for_test_id("amount", WAIT)
        .await?
        .send_keys("10")
        .await?;
    click(&alice, "load").await?;
    wait_text(&alice, "spendable", "10.00 EUR").await?;
    server.kill();
    click(&bob, "action-r").await?;
    bob.wait_for_test_id("receive-amount", WAIT)
        .await?
        .send_keys("4")
        .await?;
    click(&bob, "show-request").await?;
    wait_stage(&bob, "shown").await?;
    let request = value(&bob, "request-out").await;
    click(&alice, "action-p").await?;
    click(&alice, "source-text").await?;
    paste(&alice, "request-in", &request).await?;
    click(&alice, "use-text").await?;
    wait_stage(&alice, "review").await?;
    click(&alice, "approve").await?;
    wait_stage(&alice, "show").await?;
    let payment = value(&alice, "payment-out").await;
    // Alice's browser is killed while showing the payment; it comes back, still offline
    // (the page from its service worker's cache), with the same bytes.
    kill_chromium(&profile("alice"));
    drop(alice);
    let alice = start("alice").await?;
    alice.driver.goto(format!("{origin}/#pay")).await?;
    wait_stage(&alice, "show").await?;
    assert_eq!(
        value(&alice, "payment-out").await,
        payment,
        "the same payment after a killed browser"
    );
    // Bob receives it, and his browser is killed right after "received".
    click(&bob, "source-text").await?;
    paste(&bob, "payment-in", &payment).await?;
    click(&bob, "use-text").await?;
    wait_stage(&bob, "finished").await?;
    kill_chromium(&profile("bob"));
    drop(bob);
    let bob = start("bob").await?;
    bob.driver.goto(format!("{origin}/")).await?;
    wait_text(&bob, "spendable", "4.00 EUR").await?;
    click(&alice, "back").await?;
    wait_text(&alice, "spendable", "6.00 EUR").await?;
    alice.close().await;
    bob.close().await;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// A payment reserved but not approved (the authenticator refused, then the browser was
/// killed) comes back offline as "interrupted" with Approve and Cancel: Cancel releases
/// the value; a second interrupted payment is approved after the restart (its passkey
/// moved to the new browser's authenticator, as a phone keeps its passkey across a
/// crash), the payee receives it, and the value adds up on both sides.
#[tokio::test]
async fn a_browser_killed_before_approval_offers_approve_or_cancel() -> Result<(), HarnessError> {
    let settings = Settings::from_env()?;
    let port = free_port()?;
    let server = Server::start(&settings, &settings.dist, port).await?;
    let origin = format!("http://localhost:{port}");
    let scratch =
        std::env::temp_dir().join(format!("ops-e2e-wallet-unapproved-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch folder");
    let profile = scratch.join("alice-profile");
    let flag = format!("--user-data-dir={}", profile.display());
    let alice = Browser::start_with_flags(&settings, &[flag.as_str()]).await?;
    let authenticator = alice
        .add_virtual_authenticator(AuthenticatorOptions::PLATFORM)
        .await?;
    alice.driver.goto(format!("{origin}/")).await?;
    click(&alice, "setup").await?;
    wait_text(&alice, "spendable", "0.00 EUR").await?;
    // Signed out, she signs in again with the phone's passkey (adding money below needs
    // the session).
    click(&alice, "open-settings").await?;
    click(&alice, "sign-out").await?;
    click(&alice, "sign-in").await?;
    wait_text(&alice, "message", "Signed in: you can add money and sync.").await?;
    click(&alice, "back").await?;
    let bob = Browser::start(&settings).await?;
    set_up(&bob, &origin).await?;
    click(&alice, "action-a").await?;
    alice
        .wait_for_test_id("amount", WAIT)
        .await?
        .send_keys("10")
        .await?;
    click(&alice, "load").await?;
    wait_text(&alice, "spendable", "10.00 EUR").await?;
    server.kill();

    // Bob asks for 4.00; Alice reviews and approves, but her authenticator refuses (a
    // failed fingerprint): the value is reserved, nothing is signed.
    click(&bob, "action-r").await?;
    bob.wait_for_test_id("receive-amount", WAIT)
        .await?
        .send_keys("4")
        .await?;
    click(&bob, "show-request").await?;
    wait_stage(&bob, "shown").await?;
    let request = value(&bob, "request-out").await;
    let refuse_and_kill =
        async |alice: Browser, id: &str| -> Result<Vec<serde_json::Value>, HarnessError> {
            click(&alice, "action-p").await?;
            click(&alice, "source-text").await?;
            paste(&alice, "request-in", &request).await?;
            click(&alice, "use-text").await?;
            wait_stage(&alice, "review").await?;
            alice.set_user_verified(id, false).await?;
            click(&alice, "approve").await?;
            wait_until("the refusal to be said", WAIT, async || {
                !text(&alice, "message").await.is_empty()
            })
            .await?;
            assert_ne!(
                attribute(&alice, "detail", "data-stage").await.as_deref(),
                Some("show"),
                "nothing is shown as paid when the authenticator refused"
            );
            let credentials = alice.credentials(id).await?;
            assert_eq!(credentials.len(), 1, "one passkey on the phone");
            kill_chromium(&profile);
            drop(alice);
            Ok(credentials)
        };
    let restart =
        async |credentials: Vec<serde_json::Value>| -> Result<(Browser, String), HarnessError> {
            let alice = Browser::start_with_flags(&settings, &[flag.as_str()]).await?;
            let id = alice
                .add_virtual_authenticator(AuthenticatorOptions::PLATFORM)
                .await?;
            for credential in credentials {
                alice.add_credential(&id, credential).await?;
            }
            alice.driver.goto(format!("{origin}/#pay")).await?;
            wait_stage(&alice, "interrupted").await?;
            Ok((alice, id))
        };

    // First time: after the restart Alice cancels; the 10.00 are spendable again.
    let credentials = refuse_and_kill(alice, &authenticator).await?;
    let (alice, id) = restart(credentials).await?;
    click(&alice, "cancel-payment").await?;
    click(&alice, "back").await?;
    wait_text(&alice, "spendable", "10.00 EUR").await?;

    // Second time: after the restart Alice approves; the payment is shown and Bob
    // receives it.
    let credentials = refuse_and_kill(alice, &id).await?;
    let (alice, _) = restart(credentials).await?;
    click(&alice, "approve").await?;
    wait_stage(&alice, "show").await?;
    let payment = value(&alice, "payment-out").await;
    click(&bob, "source-text").await?;
    paste(&bob, "payment-in", &payment).await?;
    click(&bob, "use-text").await?;
    wait_stage(&bob, "finished").await?;
    click(&bob, "back").await?;
    wait_text(&bob, "spendable", "4.00 EUR").await?;
    click(&alice, "payee-has-it").await?;
    click(&alice, "back").await?;
    wait_text(&alice, "spendable", "6.00 EUR").await?;
    alice.close().await;
    bob.close().await;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// The Web NFC test double (`crates/ops-transport-web/tests/ndef_double.js`) as a classic
/// script that installs itself: its virtual tag lives in the page's `localStorage`.
fn nfc_double() -> String {
    let module = include_str!("../../crates/ops-transport-web/tests/ndef_double.js");
    format!(
        "{}\ninstall_ndef_double();",
        module.replace("export function", "function")
    )
}

/// The key of the double's virtual tag in `localStorage`.
const NFC_TAG: &str = "ops-virtual-nfc-tag";

/// Carries the virtual NFC tag from one phone to the other (what a hand does with a tag,
/// or two phones held together).
async fn carry_tag(from: &Browser, to: &Browser) -> Result<(), HarnessError> {
    let tag = from
        .run(&format!("return localStorage.getItem('{NFC_TAG}');"))
        .await?;
    let tag = tag.as_str().expect("a written tag").to_owned();
    to.driver
        .execute(
            &format!("localStorage.setItem('{NFC_TAG}', arguments[0]);"),
            vec![serde_json::Value::String(tag)],
        )
        .await?;
    Ok(())
}

/// Two phones with Web NFC pay each other over a tag with the server stopped: Bob writes
/// his request to the tag, Alice reads it, approves and writes her payment, Bob reads it.
#[tokio::test]
async fn two_wallets_pay_each_other_over_nfc_with_the_server_stopped() -> Result<(), HarnessError> {
    let settings = Settings::from_env()?;
    let port = free_port()?;
    let server = Server::start(&settings, &settings.dist, port).await?;
    let origin = format!("http://localhost:{port}");
    let alice = Browser::start(&settings).await?;
    let bob = Browser::start(&settings).await?;
    for phone in [&alice, &bob] {
        phone.add_script_on_new_documents(&nfc_double()).await?;
        set_up(phone, &origin).await?;
    }
    click(&alice, "action-a").await?;
    alice
        .wait_for_test_id("amount", WAIT)
        .await?
        .send_keys("10")
        .await?;
    click(&alice, "load").await?;
    wait_text(&alice, "spendable", "10.00 EUR").await?;
    server.kill();

    click(&bob, "action-r").await?;
    bob.wait_for_test_id("receive-amount", WAIT)
        .await?
        .send_keys("4")
        .await?;
    click(&bob, "show-request").await?;
    wait_stage(&bob, "shown").await?;
    click(&bob, "nfc-write").await?;
    wait_text(&bob, "nfc-send-status", "Written.").await?;
    carry_tag(&bob, &alice).await?;

    click(&alice, "action-p").await?;
    click(&alice, "source-nfc").await?;
    wait_stage(&alice, "review").await?;
    assert_eq!(text(&alice, "confirm-amount").await, "4.00 EUR");
    click(&alice, "approve").await?;
    wait_stage(&alice, "show").await?;
    click(&alice, "nfc-write").await?;
    wait_text(&alice, "nfc-send-status", "Written.").await?;
    carry_tag(&alice, &bob).await?;

    click(&bob, "source-nfc").await?;
    wait_stage(&bob, "finished").await?;
    click(&bob, "back").await?;
    wait_text(&bob, "spendable", "4.00 EUR").await?;
    click(&alice, "payee-has-it").await?;
    click(&alice, "back").await?;
    wait_text(&alice, "spendable", "6.00 EUR").await?;
    alice.close().await;
    bob.close().await;
    Ok(())
}
