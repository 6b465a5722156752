//! The POS terminal in real headless Chromium at 1280×800 against the real FI service
//! (issue 12). The FI's operator certifies a merchant; the terminal registers (its
//! non-extractable key, the certified name, trust and CRL); a wallet in a second browser
//! adds money. Then the server is stopped: the terminal sells, the wallet pays the
//! request it read as text, and the payment reaches the terminal through Chromium's fake
//! camera (its animated QR frames with every fourth dropped), after a reload of the
//! terminal in the middle of the sale. The terminal approves offline, signs a receipt,
//! and declines a replay, tampered bytes and unreadable bytes with the reason. The server
//! comes back: the terminal deposits and the merchant is credited exactly once, also after
//! a second sync; then the wallet's certificate is revoked, the terminal takes the new
//! CRL, and declines that wallet. Every screen is saved as a screenshot and audited with
//! axe-core.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test code: failures should stop the test

use ops_e2e::minted::Minted;
use ops_e2e::pages::{WAIT, attribute, blank_video, click_dom as click, film, paste, text, value};
use ops_e2e::shop::{
    PIN, STARTING, TABLET, approved_id, charge, paste_payment, shop, shop_with_clock, wallet_pays,
};
use ops_e2e::{HarnessError, http_json, wait_until};
use ops_transport::MessageKind;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_sells_offline_and_its_merchant_is_credited_once() -> Result<(), HarnessError> {
    let mut shop = shop("sell", false).await?;
    shop.shot("pos-keypad").await?;
    let balance_before = shop.balance();
    assert_eq!(balance_before, STARTING);

    // No network from here on.
    shop.stop_server();
    let request = charge(&shop, &["2", "5", "0"], Some("Order 17")).await;
    assert_eq!(
        text(&shop.pos, "request-amount").await,
        "Ask the customer to pay €2.50"
    );
    assert!(
        text(&shop.pos, "request-reference")
            .await
            .contains("Order 17")
    );
    shop.shot("pos-request").await?;
    let payment = wallet_pays(&shop, &request).await;

    // The payment reaches the terminal's camera; a reload mid-sale shows the same request.
    film(&shop.camera, MessageKind::Payment, &payment);
    shop.pos.driver.refresh().await?;
    shop.pos.wait_for_test_id("requesting", WAIT).await?;
    assert_eq!(
        value(&shop.pos, "request-out").await,
        request,
        "the same request after a reload"
    );
    let id = approved_id(&shop.pos).await;
    std::fs::write(&shop.camera, blank_video()).expect("blank the camera");
    assert_eq!(text(&shop.pos, "approved-amount").await, "€2.50");
    let ms = shop
        .pos
        .run("return document.documentElement.dataset.decisionMs || '';")
        .await?;
    eprintln!(
        "POS decision on screen {} ms after the payment's last frame was read (headless Chromium, IndexedDB, release build)",
        ms.as_str().unwrap_or("?")
    );
    wait_until("the receipt", WAIT, async || {
        !value(&shop.pos, "receipt-out").await.is_empty()
    })
    .await?;
    let receipt = ops_transport::base45::decode(&value(&shop.pos, "receipt-out").await)
        .expect("the receipt's text");
    ops_core::Receipt::from_bytes(&receipt).expect("a receipt the core reads");
    shop.shot("pos-approved").await?;
    // A reload keeps the approval, the same payment id.
    shop.pos.driver.refresh().await?;
    assert_eq!(approved_id(&shop.pos).await, id);
    click(&shop.pos, "new-sale").await?;

    // Declines, each with its reason, the ledger untouched.
    charge(&shop, &["2", "5", "0"], None).await;
    assert_eq!(paste_payment(&shop, &payment).await, "not_for_this_sale");
    assert!(!text(&shop.pos, "decline-reason").await.is_empty());
    assert!(
        text(&shop.pos, "decline-customer")
            .await
            .starts_with("Tell the customer: ")
    );
    shop.shot("pos-declined").await?;
    click(&shop.pos, "try-again").await?;
    shop.pos.wait_for_test_id("requesting", WAIT).await?;
    let mut tampered = payment.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    let reason = paste_payment(&shop, &tampered).await;
    assert!(
        reason == "tampered" || reason == "unreadable",
        "a flipped bit: {reason}"
    );
    click(&shop.pos, "try-again").await?;
    assert_eq!(paste_payment(&shop, &[0x55; 40]).await, "unreadable");
    click(&shop.pos, "decline-close").await?;
    shop.pos.wait_for_test_id("key-charge", WAIT).await?;

    // The server is back: deposit once, credited once.
    shop.start_server().await?;
    click(&shop.pos, "open-office").await?;
    paste(&shop.pos, "unlock-pin", "0000").await?;
    click(&shop.pos, "unlock-submit").await?;
    wait_until("a wrong PIN refused", WAIT, async || {
        text(&shop.pos, "message").await.contains("Wrong PIN")
    })
    .await?;
    shop.shot("pos-unlock").await?;
    paste(&shop.pos, "unlock-pin", PIN).await?;
    click(&shop.pos, "unlock-submit").await?;
    shop.pos.wait_for_test_id("deposits", WAIT).await?;
    click(&shop.pos, "sync").await?;
    wait_until("the payment credited", WAIT, async || {
        attribute(&shop.pos, "queue-row", "data-status")
            .await
            .as_deref()
            == Some("credited")
    })
    .await?;
    assert_eq!(shop.balance(), STARTING + 250, "credited once");
    click(&shop.pos, "sync").await?;
    wait_until("the second sync", WAIT, async || {
        text(&shop.pos, "message")
            .await
            .contains("Nothing was waiting")
    })
    .await?;
    assert_eq!(
        shop.balance(),
        STARTING + 250,
        "a second sync credits nothing"
    );
    shop.shot("pos-deposits").await?;
    click(&shop.pos, "tab-reports").await?;
    wait_until("the report", WAIT, async || {
        text(&shop.pos, "report-approved").await.contains("€2.50")
    })
    .await?;
    assert_eq!(text(&shop.pos, "report-declined").await, "3");
    let csv = attribute(&shop.pos, "export-csv", "href")
        .await
        .unwrap_or_default();
    assert!(csv.starts_with("data:text/csv"), "{csv}");
    shop.shot("pos-reports").await?;
    click(&shop.pos, "tab-settings").await?;
    shop.pos.wait_for_test_id("pos-settings", WAIT).await?;
    assert!(
        text(&shop.pos, "terminal-who")
            .await
            .contains("Corner Café")
    );
    shop.shot("pos-settings").await?;
    click(&shop.pos, "close-office").await?;

    // The wallet is revoked; the terminal takes the new CRL and declines it.
    let (status, devices) = http_json(
        shop.port,
        "GET",
        &format!("/api/v1/accounts/{}/devices", shop.merchant.0 + 1),
        Some(&shop.admin),
        None,
    )?;
    assert_eq!(status, 200, "{devices}");
    let device = devices["devices"][0]["cert_id"]
        .as_str()
        .expect("the wallet's device")
        .to_owned();
    let (status, answer) = http_json(
        shop.port,
        "POST",
        &format!(
            "/api/v1/accounts/{}/devices/{device}/revoke",
            shop.merchant.0 + 1
        ),
        Some(&shop.admin),
        Some(&json!({"reason": "stolen"})),
    )?;
    assert_eq!(status, 200, "{answer}");
    click(&shop.pos, "open-office").await?;
    paste(&shop.pos, "unlock-pin", PIN).await?;
    click(&shop.pos, "unlock-submit").await?;
    click(&shop.pos, "sync").await?;
    wait_until("the sync", WAIT, async || {
        text(&shop.pos, "message")
            .await
            .contains("Nothing was waiting")
    })
    .await?;
    click(&shop.pos, "close-office").await?;
    shop.stop_server();
    let request = charge(&shop, &["1", "0", "0"], None).await;
    let payment = wallet_pays(&shop, &request).await;
    assert_eq!(paste_payment(&shop, &payment).await, "certificate_revoked");
    shop.shot("pos-declined-revoked").await?;
    let _ = std::fs::remove_dir_all(&shop.scratch);
    Ok(())
}

/// Builds the payment bytes for a request given as text.
type PaymentFor<'a> = Box<dyn Fn(&str) -> Vec<u8> + 'a>;

/// A minted wallet provokes the decline reasons an honest wallet app cannot: a wrong
/// amount, another currency, expired money, an expired certificate, a wrong clock, an
/// amount above the offline limit; each declined with its reason while the server is
/// down. Then it double-spends across two sales: approved once, declined as already spent
/// with the fraud proof kept; at the next sync the terminal reports the proof and the FI
/// opens one case naming the cheater.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minted_wallet_is_declined_for_each_reason_and_its_double_spend_reported()
-> Result<(), HarnessError> {
    let mut shop = shop("double", false).await?;
    let m = Minted::new(&shop.scratch.join("fi"));
    let now = ops_e2e::unix_now();
    let later = now + 30 * 86_400;
    shop.stop_server();
    // Beyond the policy's clock skew (5 minutes).
    let expired_cert = m.certificate(9_000_002, now - 3_600);
    // The bank's offline limits (V26, V27): 1.50 per payment; 1.50 without the PIN.
    let capped = m.certificate_limited(9_000_003, later, Some(150), None);
    let presence_only = m.certificate_limited(9_000_004, later, None, Some(150));
    let declines: Vec<(&str, &[&str], PaymentFor)> = vec![
        (
            "wrong_amount",
            &["2", "0", "0"],
            Box::new(|r: &str| {
                m.pay(
                    r,
                    &m.cert,
                    &[m.note(20, &m.cert, 1_000, "EUR", later)],
                    &[(0, 150)],
                    now,
                )
            }),
        ),
        (
            "wrong_currency",
            &["2", "0", "0"],
            Box::new(|r: &str| {
                m.pay(
                    r,
                    &m.cert,
                    &[m.note(21, &m.cert, 1_000, "USD", later)],
                    &[(0, 200)],
                    now,
                )
            }),
        ),
        (
            "money_expired",
            &["2", "0", "0"],
            Box::new(|r: &str| {
                m.pay(
                    r,
                    &m.cert,
                    &[m.note(22, &m.cert, 1_000, "EUR", now - 3_600)],
                    &[(0, 200)],
                    now,
                )
            }),
        ),
        (
            "certificate_expired",
            &["2", "0", "0"],
            Box::new(|r: &str| {
                let note = m.note(23, &expired_cert, 1_000, "EUR", later);
                m.pay(r, &expired_cert, &[note], &[(0, 200)], now)
            }),
        ),
        (
            "clock_mismatch",
            &["2", "0", "0"],
            Box::new(|r: &str| {
                m.pay(
                    r,
                    &m.cert,
                    &[m.note(24, &m.cert, 1_000, "EUR", later)],
                    &[(0, 200)],
                    now + 7_200,
                )
            }),
        ),
        (
            "above_wallet_limit",
            &["2", "0", "0"],
            Box::new(|r: &str| {
                let note = m.note(25, &capped, 1_000, "EUR", later);
                m.pay(r, &capped, &[note], &[(0, 200)], now)
            }),
        ),
        (
            "needs_user_verification",
            &["2", "0", "0"],
            Box::new(|r: &str| {
                let note = m.note(26, &presence_only, 1_000, "EUR", later);
                m.pay(r, &presence_only, &[note], &[(0, 200)], now)
            }),
        ),
        (
            "above_offline_limit",
            &["6", "0", "0", "0", "0", "0"],
            Box::new(|r: &str| {
                let notes: Vec<_> = (30..36)
                    .map(|seed| m.note(seed, &m.cert, 100_000, "EUR", later))
                    .collect();
                m.pay(r, &m.cert, &notes, &[(0, 100_000); 6], now)
            }),
        ),
    ];
    for (want, keys, payment) in &declines {
        eprintln!("provoking {want}");
        let request = charge(&shop, keys, None).await;
        assert_eq!(&paste_payment(&shop, &payment(&request)).await, want);
        assert!(!text(&shop.pos, "decline-reason").await.is_empty());
        shop.pos
            .screenshot(&shop.settings, &format!("pos-declined-{want}"), TABLET)
            .await?;
        click(&shop.pos, "decline-close").await?;
        shop.pos.wait_for_test_id("key-charge", WAIT).await?;
    }
    // The double spend.
    let note = m.note(9, &m.cert, 1_000, "EUR", later);
    let first = charge(&shop, &["2", "0", "0"], None).await;
    click(&shop.pos, "source-text").await?;
    let pay = m.pay(
        &first,
        &m.cert,
        std::slice::from_ref(&note),
        &[(0, 200)],
        now,
    );
    paste(
        &shop.pos,
        "payment-in",
        &ops_transport::base45::encode(&pay),
    )
    .await?;
    click(&shop.pos, "use-text").await?;
    approved_id(&shop.pos).await;
    click(&shop.pos, "new-sale").await?;
    let second = charge(&shop, &["2", "0", "0"], None).await;
    let copy = m.pay(&second, &m.cert, &[note], &[(100, 300)], now);
    assert_eq!(paste_payment(&shop, &copy).await, "already_spent");
    assert!(text(&shop.pos, "declined").await.contains("fraud proof"));
    shop.shot("pos-declined-double-spend").await?;
    click(&shop.pos, "decline-close").await?;
    // Online again: the proof reaches the FI, which opens the case against the cheater.
    shop.start_server().await?;
    click(&shop.pos, "open-office").await?;
    paste(&shop.pos, "unlock-pin", PIN).await?;
    click(&shop.pos, "unlock-submit").await?;
    click(&shop.pos, "sync").await?;
    wait_until("the proof reported", WAIT, async || {
        text(&shop.pos, "message")
            .await
            .contains("1 double-spend proof reported")
    })
    .await?;
    let (status, cases) = http_json(
        shop.port,
        "GET",
        "/api/v1/fraud-cases?status=all",
        Some(&shop.admin),
        None,
    )?;
    assert_eq!(status, 200, "{cases}");
    let named: Vec<_> = cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["culprit"] == m.cert.id().to_string())
        .collect();
    assert_eq!(named.len(), 1, "{cases}");
    assert_eq!(named[0]["overlap"], 100);
    // The reports count every decline by reason.
    click(&shop.pos, "tab-reports").await?;
    wait_until("the report", WAIT, async || {
        text(&shop.pos, "report-declined").await == "9"
    })
    .await?;
    let _ = std::fs::remove_dir_all(&shop.scratch);
    Ok(())
}

/// A terminal two days from its last revocation list (its clock two days ahead of the
/// list's time): small amounts are still approved offline, a 600.00 sale is declined
/// because the list is too old for that amount (floor limit: at most a day above 500.00).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_with_an_old_revocation_list_declines_large_amounts() -> Result<(), HarnessError>
{
    const TWO_DAYS: u64 = 2 * 86_400;
    let mut shop = shop_with_clock("old-crl", false, TWO_DAYS).await?;
    let m = Minted::new(&shop.scratch.join("fi"));
    shop.stop_server();
    let at = ops_e2e::unix_now() + TWO_DAYS;
    let later = at + 30 * 86_400;
    let small = charge(&shop, &["2", "0", "0"], None).await;
    let note = m.note(40, &m.cert, 100_000, "EUR", later);
    click(&shop.pos, "source-text").await?;
    let pay = m.pay(
        &small,
        &m.cert,
        std::slice::from_ref(&note),
        &[(0, 200)],
        at,
    );
    paste(
        &shop.pos,
        "payment-in",
        &ops_transport::base45::encode(&pay),
    )
    .await?;
    click(&shop.pos, "use-text").await?;
    approved_id(&shop.pos).await;
    click(&shop.pos, "new-sale").await?;
    let large = charge(&shop, &["6", "0", "0", "0", "0"], None).await;
    let pay = m.pay(&large, &m.cert, &[note], &[(1_000, 61_000)], at);
    assert_eq!(paste_payment(&shop, &pay).await, "crl_too_old");
    shop.pos
        .screenshot(&shop.settings, "pos-declined-crl_too_old", TABLET)
        .await?;
    let _ = std::fs::remove_dir_all(&shop.scratch);
    Ok(())
}

/// A tablet with a platform authenticator: the terminal's key is a passkey certified with
/// the merchant's name, and each receipt is an assertion the customer's wallet can check
/// against the terminal's certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_terminal_signs_its_receipts() -> Result<(), HarnessError> {
    let mut shop = shop("passkey", true).await?;
    shop.stop_server();
    let request_text = charge(&shop, &["1", "2", "5"], None).await;
    let request = ops_core::PaymentRequest::from_bytes(
        &ops_transport::base45::decode(&request_text).unwrap(),
    )
    .unwrap();
    let terminal = request
        .certs
        .iter()
        .find(|c| c.id() == request.payee)
        .expect("the request carries the terminal's certificate")
        .clone();
    assert!(terminal.body.webauthn.is_some(), "a passkey certificate");
    assert_eq!(terminal.body.name.as_deref(), Some("Corner Café"));
    let payment = wallet_pays(&shop, &request_text).await;
    click(&shop.pos, "source-text").await?;
    paste(
        &shop.pos,
        "payment-in",
        &ops_transport::base45::encode(&payment),
    )
    .await?;
    click(&shop.pos, "use-text").await?;
    approved_id(&shop.pos).await;
    wait_until("the receipt", WAIT, async || {
        !value(&shop.pos, "receipt-out").await.is_empty()
    })
    .await?;
    let receipt = ops_core::Receipt::from_bytes(
        &ops_transport::base45::decode(&value(&shop.pos, "receipt-out").await).unwrap(),
    )
    .expect("a receipt");
    receipt
        .verify(&terminal, &ops_core::P256Provider)
        .expect("the receipt verifies against the terminal's passkey certificate");
    let _ = std::fs::remove_dir_all(&shop.scratch);
    Ok(())
}
