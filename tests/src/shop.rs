//! A shop for the end-to-end tests: the FI service with its own data folder and admin
//! token, a merchant certified by the operator, a POS terminal registered through its
//! set-up page (a 1280×800 tablet with a fake camera), and a wallet app in a second
//! browser (a phone with a fake camera) holding 10.00; and the steps a cashier and a
//! customer take.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test helpers: a failure stops the test

use std::path::PathBuf;

use serde_json::json;

use crate::pages::{
    WAIT, attribute, audit, blank_video, click_dom as click, page_text, paste, text, value,
    wait_text,
};
use crate::webauthn::AuthenticatorOptions;
use crate::{Browser, HarnessError, Server, Settings, free_port, http_json, wait_until};

/// The POS's screen size.
pub const TABLET: (u32, u32) = (1280, 800);
/// The merchant PIN the set-up chooses.
pub const PIN: &str = "2580";
/// The issuer's default starting balance of a new account.
pub const STARTING: i64 = 100_000;

/// The FI, its merchant, the terminal and a customer's wallet.
pub struct Shop {
    /// Where the apps and tools are.
    pub settings: Settings,
    /// The FI's port.
    pub port: u16,
    /// The FI's flags (its data folder, its admin token).
    pub args: Vec<String>,
    /// The FI process while it runs.
    pub server: Option<Server>,
    /// The admin token.
    pub admin: String,
    /// The merchant's account id and token.
    pub merchant: (i64, String),
    /// The terminal's browser.
    pub pos: Browser,
    /// The customer's browser.
    pub wallet: Browser,
    /// The video the terminal's fake camera plays.
    pub camera: PathBuf,
    /// The video the wallet's fake camera plays.
    pub wallet_camera: PathBuf,
    /// The test's folder (the FI's data in `fi/`).
    pub scratch: PathBuf,
}

impl Shop {
    /// Starts the FI (again) on its data.
    pub async fn start_server(&mut self) -> Result<(), HarnessError> {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.server = Some(
            Server::start_with_args(&self.settings, &self.settings.dist, self.port, &args).await?,
        );
        Ok(())
    }

    /// Kills the FI: no network from here on.
    pub fn stop_server(&mut self) {
        if let Some(s) = self.server.take() {
            s.kill();
        }
    }

    /// The merchant's balance at the FI.
    pub fn balance(&self) -> i64 {
        let (status, account) = http_json(
            self.port,
            "GET",
            &format!("/api/v1/accounts/{}", self.merchant.0),
            Some(&self.merchant.1),
            None,
        )
        .expect("read the merchant's account");
        assert_eq!(status, 200, "{account}");
        account["balance"].as_i64().expect("a balance")
    }

    /// A screenshot of the terminal, audited by axe-core.
    pub async fn shot(&self, name: &str) -> Result<(), HarnessError> {
        self.pos.screenshot(&self.settings, name, TABLET).await?;
        audit(&self.pos, name).await
    }
}

/// A server with its own data folder and admin token, a certified merchant, a terminal
/// registered through its set-up page, and a wallet holding 10.00.
pub async fn shop(name: &str, passkey: bool) -> Result<Shop, HarnessError> {
    shop_with_clock(name, passkey, 0).await
}

/// [`shop`] with the terminal's clock `shift` seconds ahead of the machine's (its page's
/// `Date.now`), as a tablet whose clock runs ahead, or one offline for that long.
pub async fn shop_with_clock(name: &str, passkey: bool, shift: u64) -> Result<Shop, HarnessError> {
    let settings = Settings::from_env()?;
    let scratch = std::env::temp_dir().join(format!("ops-e2e-pos-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch folder");
    let admin = format!("e2e-admin-{}-{name}", std::process::id());
    let args = vec![
        "--data-dir".to_owned(),
        scratch.join("fi").display().to_string(),
        "--admin-token".to_owned(),
        admin.clone(),
    ];
    let port = free_port()?;
    let camera = scratch.join("pos.y4m");
    std::fs::write(&camera, blank_video()).expect("the placeholder video");
    let camera_flag = format!("--use-file-for-fake-video-capture={}", camera.display());
    let pos = Browser::start_with_flags(
        &settings,
        &[
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            &camera_flag,
        ],
    )
    .await?;
    if shift > 0 {
        pos.add_script_on_new_documents(&format!(
            "(() => {{ const now = Date.now.bind(Date); Date.now = () => now() + {}; }})();",
            shift * 1000
        ))
        .await?;
    }
    let wallet_camera = scratch.join("wallet.y4m");
    std::fs::write(&wallet_camera, blank_video()).expect("the placeholder video");
    let wallet_camera_flag = format!(
        "--use-file-for-fake-video-capture={}",
        wallet_camera.display()
    );
    let wallet = Browser::start_with_flags(
        &settings,
        &[
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            &wallet_camera_flag,
        ],
    )
    .await?;
    let mut shop = Shop {
        settings,
        port,
        args,
        server: None,
        admin,
        merchant: (0, String::new()),
        pos,
        wallet,
        camera,
        wallet_camera,
        scratch,
    };
    shop.start_server().await?;
    // The operator certifies the merchant's business name.
    let (status, account) = http_json(
        port,
        "POST",
        "/api/v1/accounts",
        None,
        Some(&json!({"name": "Corner Café"})),
    )?;
    assert_eq!(status, 201, "{account}");
    let id = account["id"].as_i64().expect("an account id");
    shop.merchant = (id, account["token"].as_str().unwrap_or_default().to_owned());
    let (status, answer) = http_json(
        port,
        "POST",
        &format!("/api/v1/accounts/{id}/merchant"),
        Some(&shop.admin),
        Some(&json!({"name": "Corner Café"})),
    )?;
    assert_eq!(status, 200, "{answer}");
    // The wallet: a passkey, a certificate, 10.00 added.
    let origin = format!("http://localhost:{port}");
    let w = &shop.wallet;
    w.add_virtual_authenticator(AuthenticatorOptions::PLATFORM)
        .await?;
    w.driver.goto(format!("{origin}/")).await?;
    w.wait_for_test_id("setup", WAIT).await?.click().await?;
    wait_text(w, "spendable", "0.00 EUR").await?;
    w.wait_for_test_id("action-a", WAIT).await?.click().await?;
    w.wait_for_test_id("amount", WAIT)
        .await?
        .send_keys("10")
        .await?;
    w.wait_for_test_id("load", WAIT).await?.click().await?;
    wait_text(w, "spendable", "10.00 EUR").await?;
    // The terminal's set-up page (with a platform authenticator, a passkey by default).
    let pos = &shop.pos;
    if passkey {
        pos.add_virtual_authenticator(AuthenticatorOptions::PLATFORM)
            .await?;
    }
    pos.driver.goto(format!("{origin}/pos/")).await?;
    pos.wait_for_test_id("setup", WAIT).await?;
    if passkey {
        pos.wait_for_test_id("setup-passkey", WAIT).await?;
    } else {
        assert!(attribute(pos, "setup-passkey", "type").await.is_none());
    }
    shop.shot("pos-setup").await?;
    register(&shop.pos, &shop.merchant, "Till 1").await?;
    Ok(shop)
}

/// Registers terminal `pos` (its set-up page open) for `merchant` as `label`.
pub async fn register(
    pos: &Browser,
    merchant: &(i64, String),
    label: &str,
) -> Result<(), HarnessError> {
    paste(pos, "setup-account", &merchant.0.to_string()).await?;
    paste(pos, "setup-token", &merchant.1).await?;
    paste(pos, "setup-label", label).await?;
    paste(pos, "setup-pin", PIN).await?;
    paste(pos, "setup-pin-again", PIN).await?;
    click(pos, "setup-register").await?;
    pos.wait_for_test_id("key-charge", WAIT).await?;
    let said = text(pos, "message").await;
    assert!(said.contains("Corner Café"), "{said}");
    Ok(())
}

/// Another terminal of the shop's merchant, registered through its page (the FI up).
pub async fn second_terminal(shop: &Shop, label: &str) -> Result<Browser, HarnessError> {
    let pos = Browser::start(&shop.settings).await?;
    pos.driver
        .goto(format!("http://localhost:{}/pos/", shop.port))
        .await?;
    pos.wait_for_test_id("setup", WAIT).await?;
    register(&pos, &shop.merchant, label).await?;
    Ok(pos)
}

/// Types `keys` on the keypad and charges; returns the request as text.
pub async fn charge(shop: &Shop, keys: &[&str], reference: Option<&str>) -> String {
    charge_on(&shop.pos, keys, reference).await
}

/// [`charge`] on terminal `pos`.
pub async fn charge_on(pos: &Browser, keys: &[&str], reference: Option<&str>) -> String {
    for k in keys {
        click(pos, &format!("key-{k}")).await.unwrap();
    }
    if let Some(r) = reference {
        paste(pos, "reference", r).await.unwrap();
    }
    click(pos, "key-charge").await.unwrap();
    pos.wait_for_test_id("requesting", WAIT).await.unwrap();
    let mut request = String::new();
    wait_until("the request's text", WAIT, async || {
        request = value(pos, "request-out").await;
        !request.is_empty()
    })
    .await
    .unwrap();
    request
}

/// The wallet reads the request as text, approves, and returns the payment it shows.
pub async fn wallet_pays(shop: &Shop, request: &str) -> Vec<u8> {
    pays(&shop.wallet, request).await
}

/// Wallet app `w` reads `request` as text, approves, and returns the payment it shows
/// (then marks it handed over and goes home).
pub async fn pays(w: &Browser, request: &str) -> Vec<u8> {
    click(w, "action-p").await.unwrap();
    click(w, "source-text").await.unwrap();
    paste(w, "request-in", request).await.unwrap();
    click(w, "use-text").await.unwrap();
    if click(w, "approve").await.is_err() {
        let page = page_text(w).await;
        panic!("the wallet offers no approval for this request; it shows:\n{page}");
    }
    let mut payment = String::new();
    if wait_until("the wallet's payment", WAIT, async || {
        payment = value(w, "payment-out").await;
        !payment.is_empty()
    })
    .await
    .is_err()
    {
        panic!(
            "the wallet shows no payment; it says {:?}",
            text(w, "message").await
        );
    }
    // The customer leaves with the payment handed over; the wallet is home again once
    // the confirmation is stored (going home before would leave the payment open).
    confirm_handed_over(w).await;
    click(w, "back").await.unwrap();
    w.wait_for_test_id("action-p", WAIT).await.unwrap();
    ops_transport::base45::decode(&payment).expect("the payment's text")
}

/// The payer says the payee has the payment ("payee-has-it") and waits until the
/// confirmation is stored. The button is pressed again while the approval's own flow
/// still holds it disabled (a click on a disabled button does nothing).
pub async fn confirm_handed_over(w: &Browser) {
    let done = wait_until("the payment confirmed", WAIT, async || {
        if attribute(w, "detail", "data-stage").await.as_deref() == Some("finished") {
            return true;
        }
        let _ = w
            .run(
                "const b = document.querySelector('[data-testid=\"payee-has-it\"]'); \
                 if (b && !b.disabled) b.click(); return true;",
            )
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        false
    })
    .await;
    if done.is_err() {
        panic!(
            "the payment is not confirmed: stage {:?}, message {:?}",
            attribute(w, "detail", "data-stage").await,
            text(w, "message").await
        );
    }
}

/// Presents `bytes` to the open sale as pasted text and waits for the approval; returns
/// its short payment id.
pub async fn paste_approved(shop: &Shop, bytes: &[u8]) -> String {
    paste_approved_on(&shop.pos, bytes).await
}

/// [`paste_approved`] on terminal `pos`.
pub async fn paste_approved_on(pos: &Browser, bytes: &[u8]) -> String {
    click(pos, "source-text").await.unwrap();
    paste(pos, "payment-in", &ops_transport::base45::encode(bytes))
        .await
        .unwrap();
    click(pos, "use-text").await.unwrap();
    approved_id(pos).await
}

/// Presents `bytes` to the open sale as pasted text; waits for the decline and returns
/// its reason code.
pub async fn paste_payment(shop: &Shop, bytes: &[u8]) -> String {
    paste_payment_on(&shop.pos, bytes).await
}

/// [`paste_payment`] on terminal `pos`.
pub async fn paste_payment_on(pos: &Browser, bytes: &[u8]) -> String {
    click(pos, "source-text").await.unwrap();
    paste(pos, "payment-in", &ops_transport::base45::encode(bytes))
        .await
        .unwrap();
    click(pos, "use-text").await.unwrap();
    if pos.wait_for_test_id("declined", WAIT).await.is_err() {
        let page = page_text(pos).await;
        panic!("no decline; the terminal shows:\n{page}");
    }
    attribute(pos, "declined", "data-reason")
        .await
        .unwrap_or_default()
}

/// Waits for the approval and returns its short payment id.
pub async fn approved_id(pos: &Browser) -> String {
    pos.wait_for_test_id("approved", WAIT).await.unwrap();
    text(pos, "approved-id").await
}

/// Cuts browser `b` off the network (Chromium's network emulation through ChromeDriver):
/// `navigator.onLine` turns false and every request fails, as a tablet without network.
/// The page stays open: a terminal that only ever hears from the bank's world through the
/// payments it takes.
pub async fn cut_network(b: &Browser) -> Result<(), HarnessError> {
    b.extension_command(
        http::Method::POST,
        "/chromium/network_conditions",
        Some(json!({"network_conditions": {
            "offline": true,
            "latency": 0,
            "download_throughput": -1,
            "upload_throughput": -1
        }})),
    )
    .await
    .map(|_| ())
}
