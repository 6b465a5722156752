//! A double spend by rollback, end to end (issue 13): a wallet's browser profile (its
//! IndexedDB) is copied after funding and put back after a payment, so the same range is
//! paid to two POS terminals offline. Each terminal decides alone: the second approves (it
//! never saw the first spend); the first, shown the copy, declines it as already spent and
//! keeps the fraud proof. At deposit the FI opens exactly one case per overlapping pair
//! (the deposited copy, and the proof Till 1 reports), each naming the wallet's
//! certificate, revokes it and recovers the duplicated value from its account; the honest
//! merchant is paid in full (by an operator's release when the copy arrived after the
//! revocation, the FI's hold policy). Then the revocation travels offline: an honest
//! wallet that synced pays a third terminal that has had no network since its set-up, its
//! payment carries the CRL naming the cheater, and that terminal declines the cheater as
//! revoked. Screenshots in `target/e2e/rollback-*.png`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test code: failures should stop the test

use std::path::Path;

use ops_e2e::pages::{WAIT, attribute, click_dom as click, paste, text, wait_text};
use ops_e2e::shop::{
    PIN, STARTING, TABLET, charge_on, cut_network, paste_approved_on, paste_payment_on, pays,
    second_terminal, shop,
};
use ops_e2e::webauthn::AuthenticatorOptions;
use ops_e2e::{Browser, HarnessError, copy_tree, http_json, kill_chromium, wait_until};
use serde_json::Value;

const PHONE: (u32, u32) = (390, 844);

/// The cheater's phone on profile `dir`, its passkey `credentials` put back in a fresh
/// virtual authenticator (the phone keeps its passkey; only its storage is rolled back).
async fn phone(
    shop: &ops_e2e::shop::Shop,
    dir: &Path,
    credentials: &[Value],
) -> Result<(Browser, String), HarnessError> {
    let flag = format!("--user-data-dir={}", dir.display());
    let b = Browser::start_with_flags(&shop.settings, &[flag.as_str()]).await?;
    let id = b
        .add_virtual_authenticator(AuthenticatorOptions::PLATFORM)
        .await?;
    for c in credentials {
        b.add_credential(&id, c.clone()).await?;
    }
    b.driver
        .goto(format!("http://localhost:{}/", shop.port))
        .await?;
    Ok((b, id))
}

/// Kills the phone's browser, puts its storage back as `snapshot` holds it, and opens
/// the wallet again: the 10.00 it had after funding is spendable again.
async fn roll_back(
    shop: &ops_e2e::shop::Shop,
    phone_was: Browser,
    profile: &Path,
    snapshot: &Path,
    credentials: &[Value],
) -> Result<Browser, HarnessError> {
    kill_chromium(profile);
    drop(phone_was);
    std::fs::remove_dir_all(profile).expect("remove the profile");
    copy_tree(snapshot, profile)?;
    let (b, _) = phone(shop, profile, credentials).await?;
    wait_text(&b, "spendable", "10.00 EUR").await?;
    Ok(b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_wallet_is_caught_attributed_revoked_and_charged() -> Result<(), HarnessError>
{
    let mut shop = shop("rollback", false).await?;
    let pos2 = second_terminal(&shop, "Till 2").await?;
    // Till 3 is set up (it gets the CRL of now) and then never reaches the network again.
    let pos3 = second_terminal(&shop, "Till 3").await?;
    cut_network(&pos3).await?;
    // Mallory's phone: set up, 10.00 added.
    let profile = shop.scratch.join("mallory");
    let (mallory, id) = phone(&shop, &profile, &[]).await?;
    click(&mallory, "setup").await?;
    wait_text(&mallory, "spendable", "0.00 EUR").await?;
    click(&mallory, "action-a").await?;
    paste(&mallory, "amount", "10").await?;
    click(&mallory, "load").await?;
    wait_text(&mallory, "spendable", "10.00 EUR").await?;
    let credentials = mallory.credentials(&id).await?;
    let mallory_account = shop.merchant.0 + 2;
    // The snapshot: the phone's storage right after funding.
    kill_chromium(&profile);
    drop(mallory);
    let snapshot = shop.scratch.join("mallory-snapshot");
    copy_tree(&profile, &snapshot)?;
    shop.stop_server();

    // Offline: Mallory pays Till 1 3.00.
    let (mallory, _) = phone(&shop, &profile, &credentials).await?;
    wait_text(&mallory, "spendable", "10.00 EUR").await?;
    let request = charge_on(&shop.pos, &["3", "0", "0"], None).await;
    let first = pays(&mallory, &request).await;
    paste_approved_on(&shop.pos, &first).await;
    shop.pos
        .screenshot(&shop.settings, "rollback-1-till-1-approved", TABLET)
        .await?;
    click(&shop.pos, "new-sale").await?;
    wait_text(&mallory, "spendable", "7.00 EUR").await?;
    // The rollback: the storage as it was before the payment.
    let mallory = roll_back(&shop, mallory, &profile, &snapshot, &credentials).await?;
    mallory
        .screenshot(&shop.settings, "rollback-2-wallet-rolled-back-phone", PHONE)
        .await?;
    // The same value again, to Till 2: it never saw the first spend, it approves.
    let request = charge_on(&pos2, &["3", "0", "0"], None).await;
    let copy = pays(&mallory, &request).await;
    paste_approved_on(&pos2, &copy).await;
    pos2.screenshot(&shop.settings, "rollback-3-till-2-approved", TABLET)
        .await?;
    click(&pos2, "new-sale").await?;
    // And once more to Till 1, which holds the first spend: declined, proof kept.
    let mallory = roll_back(&shop, mallory, &profile, &snapshot, &credentials).await?;
    let request = charge_on(&shop.pos, &["3", "0", "0"], None).await;
    let again = pays(&mallory, &request).await;
    assert_eq!(paste_payment_on(&shop.pos, &again).await, "already_spent");
    shop.pos
        .screenshot(&shop.settings, "rollback-4-till-1-declined", TABLET)
        .await?;
    click(&shop.pos, "decline-close").await?;

    // The FI is back; both terminals deposit.
    shop.start_server().await?;
    let mallory_before = {
        let (_, a) = http_json(
            shop.port,
            "GET",
            &format!("/api/v1/accounts/{mallory_account}"),
            Some(&shop.admin),
            None,
        )?;
        a["balance"].as_i64().expect("Mallory's balance")
    };
    // Both terminals deposit (and Till 1 reports the proof it kept). Whichever reaches the
    // FI second duplicates Mallory's value; if she was revoked by then (Till 1's report
    // came first), the FI's policy holds that deposit for an operator, who pays the
    // honest merchant.
    for pos in [&shop.pos, &pos2] {
        click(pos, "open-office").await?;
        paste(pos, "unlock-pin", PIN).await?;
        click(pos, "unlock-submit").await?;
        click(pos, "sync").await?;
        wait_until("the deposit answered", WAIT, async || {
            matches!(
                attribute(pos, "queue-row", "data-status").await.as_deref(),
                Some("credited" | "disputed")
            )
        })
        .await?;
    }
    let (_, held) = http_json(
        shop.port,
        "GET",
        "/api/v1/held-deposits",
        Some(&shop.admin),
        None,
    )?;
    for h in held["held"].as_array().cloned().unwrap_or_default() {
        let (status, r) = http_json(
            shop.port,
            "POST",
            &format!("/api/v1/held-deposits/{}/release", h["id"]),
            Some(&shop.admin),
            Some(
                &serde_json::json!({"operator": "e2e", "note": "an honest shop that accepted the copy offline"}),
            ),
        )?;
        assert_eq!(status, 200, "{r}");
    }
    for pos in [&shop.pos, &pos2] {
        click(pos, "sync").await?;
        if wait_until("the payment credited", WAIT, async || {
            attribute(pos, "queue-row", "data-status").await.as_deref() == Some("credited")
        })
        .await
        .is_err()
        {
            panic!(
                "the deposit is {:?}; the terminal says {:?}",
                attribute(pos, "queue-row", "data-status").await,
                text(pos, "message").await
            );
        }
    }
    shop.pos
        .screenshot(&shop.settings, "rollback-5-till-1-deposited", TABLET)
        .await?;
    assert_eq!(
        shop.balance(),
        STARTING + 600,
        "the honest merchant paid in full"
    );
    let (_, cases) = http_json(
        shop.port,
        "GET",
        "/api/v1/fraud-cases?status=all",
        Some(&shop.admin),
        None,
    )?;
    let cases = cases["cases"].as_array().cloned().unwrap_or_default();
    // Two overlapping pairs: (first, copy) found at deposit, (first, again) reported by
    // Till 1 from the proof it kept. One case each, both naming Mallory's phone.
    assert_eq!(cases.len(), 2, "one case per overlapping pair: {cases:?}");
    let (_, devices) = http_json(
        shop.port,
        "GET",
        &format!("/api/v1/accounts/{mallory_account}/devices"),
        Some(&shop.admin),
        None,
    )?;
    let device = &devices["devices"][0];
    for c in &cases {
        assert_eq!(
            c["culprit"], device["cert_id"],
            "the case names Mallory's phone"
        );
    }
    assert!(cases.iter().all(|c| c["overlap"] == 300));
    let (_, crl) = http_json(shop.port, "GET", "/api/v1/crl", None, None)?;
    assert!(
        crl["revoked"]
            .as_array()
            .is_some_and(|r| r.contains(&device["serial"])),
        "Mallory's phone is on the CRL: {crl}, {device}"
    );
    let (_, a) = http_json(
        shop.port,
        "GET",
        &format!("/api/v1/accounts/{mallory_account}"),
        Some(&shop.admin),
        None,
    )?;
    assert_eq!(
        a["balance"].as_i64().expect("Mallory's balance"),
        mallory_before - 300,
        "the duplicated 3.00 recovered from Mallory's account"
    );
    assert!(!text(&shop.pos, "status-line").await.is_empty());

    // Revocation travels offline (issue 13, item 4). An honest customer syncs her wallet
    // (it takes the CRL naming Mallory's phone), then pays Till 3, which has had no network
    // since its set-up: her payment carries the newer list, and Till 3 keeps it.
    click(&shop.wallet, "sync").await?;
    wait_until("the wallet synced", WAIT, async || {
        text(&shop.wallet, "message").await.contains("Synced")
    })
    .await?;
    shop.stop_server();
    let alice = &shop.wallet;
    let request = charge_on(&pos3, &["2", "0", "0"], None).await;
    let news = pays(alice, &request).await;
    let carried = ops_core::Payment::from_bytes(&news).expect("Alice's payment decodes");
    assert!(
        carried
            .crls
            .iter()
            .any(|c| c.body.revoked.contains(&device["serial"].as_u64().unwrap())),
        "Alice's payment carries the list naming Mallory's phone"
    );
    paste_approved_on(&pos3, &news).await;
    click(&pos3, "new-sale").await?;
    // Mallory, rolled back once more, tries Till 3: declined, in the cashier's words.
    let mallory = roll_back(&shop, mallory, &profile, &snapshot, &credentials).await?;
    let request = charge_on(&pos3, &["3", "0", "0"], None).await;
    let after = pays(&mallory, &request).await;
    assert_eq!(paste_payment_on(&pos3, &after).await, "certificate_revoked");
    pos3.screenshot(&shop.settings, "rollback-6-till-3-declined-revoked", TABLET)
        .await?;
    let said = text(&pos3, "decline-reason").await;
    assert!(!said.is_empty(), "the cashier reads why");
    kill_chromium(&profile);
    drop(mallory);
    pos3.close().await;
    pos2.close().await;
    let _ = std::fs::remove_dir_all(&shop.scratch);
    Ok(())
}
