//! The wallet pays the POS with both offline, end to end in two real browsers (issue 13):
//! the wallet at phone size, the POS at 1280×800, each with a fake camera. Both pages are
//! served, then the FI is stopped before the sale starts. The POS's request (its QR code,
//! read from the page) becomes the wallet's camera input; the wallet's animated QR (its
//! frames read from the page, every fourth dropped) becomes the POS's camera input; the
//! POS's receipt QR becomes the wallet's camera input again. The FI comes back: the POS
//! deposits, the merchant is credited exactly once, the wallet syncs. Screenshots of each
//! step in `target/e2e/`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test code: failures should stop the test

use std::time::{Duration, Instant};

use ops_e2e::pages::{
    WAIT, attribute, blank_video, click_dom as click, film, paste, read_qr_from_page, text,
    wait_text,
};
use ops_e2e::shop::{
    PIN, STARTING, approved_id, charge, paste_approved, paste_payment, pays, shop,
};
use ops_e2e::{Browser, HarnessError, wait_until};
use ops_transport::MessageKind;

const PHONE: (u32, u32) = (390, 844);

/// Waits for the wallet's Pay or Receive screen to reach `want`; names the stage and message if not.
async fn wait_stage(wallet: &Browser, want: &str) {
    let stage = async || {
        attribute(wallet, "detail", "data-stage")
            .await
            .unwrap_or_default()
    };
    if wait_until(&format!("stage {want}"), WAIT, async || {
        stage().await == want
    })
    .await
    .is_err()
    {
        panic!(
            "the wallet is at {:?}, saying {:?}",
            stage().await,
            text(wallet, "message").await
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallet_pays_the_pos_through_both_cameras_with_the_fi_down() -> Result<(), HarnessError>
{
    let mut shop = shop("cameras", false).await?;
    // Both pages are served; then no network.
    shop.stop_server();
    let started = Instant::now();
    let request_text = charge(&shop, &["3", "7", "5"], Some("Table 4")).await;
    let request = read_qr_from_page(&shop.pos, MessageKind::PaymentRequest).await;
    assert_eq!(
        ops_transport::base45::encode(&request),
        request_text,
        "the QR code on the POS is its request"
    );
    shop.shot("wallet-pos-1-request").await?;
    // The wallet's camera sees the POS's screen.
    film(&shop.wallet_camera, MessageKind::PaymentRequest, &request);
    click(&shop.wallet, "action-p").await?;
    wait_stage(&shop.wallet, "review").await;
    assert_eq!(text(&shop.wallet, "confirm-amount").await, "3.75 EUR");
    assert!(
        text(&shop.wallet, "confirm-text")
            .await
            .contains("Corner Café"),
        "{}",
        text(&shop.wallet, "confirm-text").await
    );
    shop.wallet
        .screenshot(&shop.settings, "wallet-pos-2-review-phone", PHONE)
        .await?;
    click(&shop.wallet, "approve").await?;
    wait_stage(&shop.wallet, "show").await;
    let payment = read_qr_from_page(&shop.wallet, MessageKind::Payment).await;
    shop.wallet
        .screenshot(&shop.settings, "wallet-pos-3-payment-phone", PHONE)
        .await?;
    // The POS's camera sees the wallet's screen (its camera starts again on a reload: the
    // same request comes back).
    film(&shop.camera, MessageKind::Payment, &payment);
    let filmed = Instant::now();
    shop.pos.driver.refresh().await?;
    let id = approved_id(&shop.pos).await;
    let charge_to_approved = started.elapsed();
    let camera_leg = filmed.elapsed();
    std::fs::write(&shop.camera, blank_video()).expect("blank the camera");
    assert_eq!(text(&shop.pos, "approved-amount").await, "€3.75");
    eprintln!(
        "charge to approved {:.1} s (camera leg to the POS {:.1} s, payment {} bytes, request {} bytes), approval {id}",
        charge_to_approved.as_secs_f64(),
        camera_leg.as_secs_f64(),
        payment.len(),
        request.len()
    );
    wait_until("the receipt", WAIT, async || {
        attribute(&shop.pos, "receipt-out", "readonly")
            .await
            .is_some()
    })
    .await?;
    let receipt = read_qr_from_page(&shop.pos, MessageKind::Receipt).await;
    shop.shot("wallet-pos-4-approved").await?;
    // The wallet's camera sees the receipt: the payment is confirmed.
    film(&shop.wallet_camera, MessageKind::Receipt, &receipt);
    click(&shop.wallet, "scan-receipt").await?;
    wait_stage(&shop.wallet, "finished").await;
    assert!(
        text(&shop.wallet, "finished").await.contains("receipt"),
        "{}",
        text(&shop.wallet, "finished").await
    );
    shop.wallet
        .screenshot(&shop.settings, "wallet-pos-5-confirmed-phone", PHONE)
        .await?;
    click(&shop.wallet, "back").await?;
    wait_text(&shop.wallet, "spendable", "6.25 EUR").await?;
    // The FI is back: the POS deposits once, the wallet syncs.
    shop.start_server().await?;
    click(&shop.pos, "new-sale").await?;
    click(&shop.pos, "open-office").await?;
    paste(&shop.pos, "unlock-pin", PIN).await?;
    click(&shop.pos, "unlock-submit").await?;
    for _ in 0..2 {
        click(&shop.pos, "sync").await?;
        wait_until("the payment credited", WAIT, async || {
            attribute(&shop.pos, "queue-row", "data-status")
                .await
                .as_deref()
                == Some("credited")
        })
        .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(shop.balance(), STARTING + 375, "credited exactly once");
    shop.shot("wallet-pos-6-deposited").await?;
    click(&shop.wallet, "sync").await?;
    wait_until("the wallet's sync", WAIT, async || {
        text(&shop.wallet, "message").await.contains("Synced")
    })
    .await?;
    // The payer's history says the payee deposited it (the FI recorded its spend).
    click(&shop.wallet, "action-h").await?;
    wait_until("the history", WAIT, async || {
        text(&shop.wallet, "history")
            .await
            .contains("Paid 3.75 EUR")
    })
    .await?;
    assert!(
        text(&shop.wallet, "history")
            .await
            .contains("Paid 3.75 EUR — deposited"),
        "{}",
        text(&shop.wallet, "history").await
    );
    shop.wallet
        .screenshot(&shop.settings, "wallet-pos-7-synced-phone", PHONE)
        .await?;
    let _ = std::fs::remove_dir_all(&shop.scratch);
    Ok(())
}

/// Multi-hop, offline: wallet A pays wallet B (two wallet apps), B pays the POS with what
/// it received (a chain of 2 hops), approved; a 3-hop chain (minted holders) approved; a
/// chain one hop over the FI's hop limit (5 > 4) declined at the POS with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn value_travels_wallet_to_wallet_to_the_pos_within_the_hop_limit() -> Result<(), HarnessError>
{
    let mut shop = shop("hops", false).await?;
    // Wallet B, set up while the FI is up; it has no money of its own.
    let bob = Browser::start(&shop.settings).await?;
    bob.add_virtual_authenticator(ops_e2e::webauthn::AuthenticatorOptions::PLATFORM)
        .await?;
    bob.driver
        .goto(format!("http://localhost:{}/", shop.port))
        .await?;
    click(&bob, "setup").await?;
    wait_text(&bob, "spendable", "0.00 EUR").await?;
    let minted = ops_e2e::minted::Minted::new(&shop.scratch.join("fi"));
    shop.stop_server();
    // A pays B 2.00 (text both ways).
    click(&bob, "action-r").await?;
    paste(&bob, "receive-amount", "2").await?;
    click(&bob, "show-request").await?;
    wait_stage(&bob, "shown").await;
    let request = ops_e2e::pages::value(&bob, "request-out").await;
    let to_bob = pays(&shop.wallet, &request).await;
    click(&bob, "source-text").await?;
    paste(&bob, "payment-in", &ops_transport::base45::encode(&to_bob)).await?;
    click(&bob, "use-text").await?;
    wait_stage(&bob, "finished").await;
    click(&bob, "back").await?;
    wait_text(&bob, "spendable", "2.00 EUR").await?;
    // B pays the POS 1.50 with it: two hops.
    let request = charge(&shop, &["1", "5", "0"], None).await;
    let payment = pays(&bob, &request).await;
    let decoded = ops_core::Payment::from_bytes(&payment).expect("a payment");
    assert!(
        decoded.chains.iter().all(|c| c.spends.len() == 2),
        "every chain went A → B → POS"
    );
    paste_approved(&shop, &payment).await;
    click(&shop.pos, "new-sale").await?;
    // Three hops: approved.
    let request = charge(&shop, &["1", "0", "0"], None).await;
    let now = ops_e2e::unix_now();
    paste_approved(&shop, &minted.chain_payment(&request, 3, 100, 50, now)).await;
    click(&shop.pos, "new-sale").await?;
    // Five hops, over the FI's limit of 4: declined.
    let request = charge(&shop, &["1", "0", "0"], None).await;
    let reason = paste_payment(&shop, &minted.chain_payment(&request, 5, 100, 51, now)).await;
    assert_eq!(reason, "too_many_hops", "over the hop limit");
    assert!(!text(&shop.pos, "decline-reason").await.is_empty());
    shop.pos
        .screenshot(
            &shop.settings,
            "wallet-pos-hop-limit",
            ops_e2e::shop::TABLET,
        )
        .await?;
    bob.close().await;
    let _ = std::fs::remove_dir_all(&shop.scratch);
    Ok(())
}

/// What one sale through both camera legs measured.
struct Leg {
    hops: usize,
    charge_to_approved: f64,
    decision_ms: f64,
    request_bytes: usize,
    payment_bytes: usize,
    frames_filmed: usize,
    frames_scanned: u64,
}

/// One sale of `keys` paid by `wallet` (its camera plays `wallet_camera`) through both
/// cameras, timed from Charge to Approved.
async fn camera_sale(
    shop: &ops_e2e::shop::Shop,
    wallet: &Browser,
    wallet_camera: &std::path::Path,
    keys: &[&str],
) -> Leg {
    let started = Instant::now();
    charge(shop, keys, None).await;
    let request = read_qr_from_page(&shop.pos, MessageKind::PaymentRequest).await;
    film(wallet_camera, MessageKind::PaymentRequest, &request);
    click(wallet, "action-p").await.unwrap();
    wait_stage(wallet, "review").await;
    click(wallet, "approve").await.unwrap();
    wait_stage(wallet, "show").await;
    let payment = read_qr_from_page(wallet, MessageKind::Payment).await;
    let frames_filmed = film(&shop.camera, MessageKind::Payment, &payment);
    shop.pos.driver.refresh().await.unwrap();
    // The scanner's frame count, read until the approval replaces it.
    let mut frames_scanned = 0;
    let deadline = Instant::now() + WAIT;
    while attribute(&shop.pos, "approved", "role").await.is_none() {
        if let Some(n) = attribute(&shop.pos, "scanner", "data-decode-frames")
            .await
            .and_then(|v| v.parse().ok())
        {
            frames_scanned = n;
        }
        assert!(Instant::now() < deadline, "no approval");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let charge_to_approved = started.elapsed().as_secs_f64();
    std::fs::write(&shop.camera, blank_video()).unwrap();
    std::fs::write(wallet_camera, blank_video()).unwrap();
    let decision_ms = shop
        .pos
        .run("return document.documentElement.dataset.decisionMs || '';")
        .await
        .ok()
        .and_then(|v| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(f64::NAN);
    let hops = ops_core::Payment::from_bytes(&payment)
        .map(|p| p.chains.iter().map(|c| c.spends.len()).max().unwrap_or(0))
        .unwrap_or(0);
    click(&shop.pos, "new-sale").await.unwrap();
    ops_e2e::shop::confirm_handed_over(wallet).await;
    click(wallet, "back").await.unwrap();
    wallet.wait_for_test_id("action-p", WAIT).await.unwrap();
    Leg {
        hops,
        charge_to_approved,
        decision_ms,
        request_bytes: request.len(),
        payment_bytes: payment.len(),
        frames_filmed,
        frames_scanned,
    }
}

/// A second phone with a fake camera playing `camera`, its wallet set up (the FI up).
async fn phone_with_camera(
    shop: &ops_e2e::shop::Shop,
    camera: &std::path::Path,
) -> Result<Browser, HarnessError> {
    std::fs::write(camera, blank_video()).unwrap();
    let flag = format!("--use-file-for-fake-video-capture={}", camera.display());
    let b = Browser::start_with_flags(
        &shop.settings,
        &[
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            &flag,
        ],
    )
    .await?;
    b.add_virtual_authenticator(ops_e2e::webauthn::AuthenticatorOptions::PLATFORM)
        .await?;
    b.driver
        .goto(format!("http://localhost:{}/", shop.port))
        .await?;
    click(&b, "setup").await?;
    wait_text(&b, "spendable", "0.00 EUR").await?;
    Ok(b)
}

/// `from` pays `to` `amount` (whole euros) wallet to wallet, as text both ways.
async fn give(from: &Browser, to: &Browser, amount: &str) {
    click(to, "action-r").await.unwrap();
    paste(to, "receive-amount", amount).await.unwrap();
    click(to, "show-request").await.unwrap();
    wait_stage(to, "shown").await;
    let request = ops_e2e::pages::value(to, "request-out").await;
    let payment = pays(from, &request).await;
    click(to, "source-text").await.unwrap();
    paste(to, "payment-in", &ops_transport::base45::encode(&payment))
        .await
        .unwrap();
    click(to, "use-text").await.unwrap();
    wait_stage(to, "finished").await;
    click(to, "back").await.unwrap();
    wait_text(to, "spendable", &format!("{amount}.00 EUR"))
        .await
        .unwrap();
}

fn median_worst(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() - 1])
}

/// The figures of a payment as a shopper feels it, printed and written to
/// `target/e2e/figures.md` (`cargo xtask figures` copies it to docs/FIGURES.md): Charge to
/// Approved through both camera legs for 1-hop payments (wallet A), 2-hop payments
/// (wallet B paying with what A gave it) and 3-hop payments (wallet C paying with what B
/// gave it), median and worst of three runs each; the frames
/// the POS's camera was shown and scanned; request and payment bytes; the POS's decision
/// time after the payment's last frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: `cargo xtask figures` runs it and writes docs/FIGURES.md"]
async fn figures_of_payments_through_the_cameras() -> Result<(), HarnessError> {
    let mut shop = shop("figures", false).await?;
    let bob_camera = shop.scratch.join("bob.y4m");
    let bob = phone_with_camera(&shop, &bob_camera).await?;
    let carol_camera = shop.scratch.join("carol.y4m");
    let carol = phone_with_camera(&shop, &carol_camera).await?;
    shop.stop_server();
    let mut legs = Vec::new();
    for _ in 0..3 {
        legs.push(camera_sale(&shop, &shop.wallet, &shop.wallet_camera, &["1", "0", "0"]).await);
    }
    // A gives B 7.00; B pays three sales of 1.00 with it (2 hops each).
    give(&shop.wallet, &bob, "7").await;
    for _ in 0..3 {
        legs.push(camera_sale(&shop, &bob, &bob_camera, &["1", "0", "0"]).await);
    }
    // B gives C 3.00 of it; C pays three sales of 1.00 (3 hops each).
    give(&bob, &carol, "3").await;
    for _ in 0..3 {
        legs.push(camera_sale(&shop, &carol, &carol_camera, &["1", "0", "0"]).await);
    }
    let mut md = String::from(
        "| hops | runs | Charge → Approved, median / worst (s) | POS decision after the last frame, median / worst (ms) | frames filmed for the POS (every 4th dropped) / scanned | request / payment bytes |\n|---|---|---|---|---|---|\n",
    );
    for hops in [1, 2, 3] {
        let of: Vec<&Leg> = legs.iter().filter(|l| l.hops == hops).collect();
        assert!(!of.is_empty(), "runs of {hops} hop(s)");
        let (t_med, t_worst) = median_worst(of.iter().map(|l| l.charge_to_approved).collect());
        let (d_med, d_worst) = median_worst(of.iter().map(|l| l.decision_ms).collect());
        md.push_str(&format!(
            "| {hops} | {} | {t_med:.1} / {t_worst:.1} | {d_med:.0} / {d_worst:.0} | {} / {} | {} / {} |\n",
            of.len(),
            of[0].frames_filmed,
            of.iter().map(|l| l.frames_scanned).max().unwrap_or(0),
            of[0].request_bytes,
            of[0].payment_bytes,
        ));
    }
    println!("{md}");
    std::fs::create_dir_all(&shop.settings.artifacts).unwrap();
    std::fs::write(shop.settings.artifacts.join("figures.md"), &md).unwrap();
    bob.close().await;
    carol.close().await;
    let _ = std::fs::remove_dir_all(&shop.scratch);
    Ok(())
}
