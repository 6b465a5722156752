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

use std::path::PathBuf;

use ops_e2e::pages::{
    WAIT, attribute, audit, blank_video, click_dom as click, film, paste, text, value, wait_text,
};
use ops_e2e::webauthn::AuthenticatorOptions;
use ops_e2e::{Browser, HarnessError, Server, Settings, free_port, http_json, wait_until};
use ops_transport::MessageKind;
use serde_json::json;

const TABLET: (u32, u32) = (1280, 800);
const PIN: &str = "2580";
/// The issuer's default starting balance of a new account.
const STARTING: i64 = 100_000;

struct Shop {
    settings: Settings,
    port: u16,
    args: Vec<String>,
    server: Option<Server>,
    admin: String,
    merchant: (i64, String),
    pos: Browser,
    wallet: Browser,
    camera: PathBuf,
    scratch: PathBuf,
}

impl Shop {
    async fn start_server(&mut self) -> Result<(), HarnessError> {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.server = Some(
            Server::start_with_args(&self.settings, &self.settings.dist, self.port, &args).await?,
        );
        Ok(())
    }

    fn stop_server(&mut self) {
        if let Some(s) = self.server.take() {
            s.kill();
        }
    }

    fn balance(&self) -> i64 {
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

    async fn shot(&self, name: &str) -> Result<(), HarnessError> {
        self.pos.screenshot(&self.settings, name, TABLET).await?;
        audit(&self.pos, name).await
    }
}

/// A server with its own data folder and admin token, a certified merchant, a terminal
/// registered through its set-up page, and a wallet holding 10.00.
async fn shop(name: &str, passkey: bool) -> Result<Shop, HarnessError> {
    shop_with_clock(name, passkey, 0).await
}

/// [`shop`] with the terminal's clock `shift` seconds ahead of the machine's (its page's
/// `Date.now`), as a tablet whose clock runs ahead, or one offline for that long.
async fn shop_with_clock(name: &str, passkey: bool, shift: u64) -> Result<Shop, HarnessError> {
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
    let wallet = Browser::start(&settings).await?;
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
    let pos = &shop.pos;
    paste(pos, "setup-account", &id.to_string()).await?;
    paste(pos, "setup-token", &shop.merchant.1).await?;
    paste(pos, "setup-label", "Till 1").await?;
    paste(pos, "setup-pin", PIN).await?;
    paste(pos, "setup-pin-again", PIN).await?;
    click(pos, "setup-register").await?;
    pos.wait_for_test_id("key-charge", WAIT).await?;
    let said = text(pos, "message").await;
    assert!(said.contains("Corner Café"), "{said}");
    Ok(shop)
}

/// Types `keys` on the keypad and charges; returns the request as text.
async fn charge(shop: &Shop, keys: &[&str], reference: Option<&str>) -> String {
    let pos = &shop.pos;
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
async fn wallet_pays(shop: &Shop, request: &str) -> Vec<u8> {
    let w = &shop.wallet;
    click(w, "action-p").await.unwrap();
    click(w, "source-text").await.unwrap();
    paste(w, "request-in", request).await.unwrap();
    click(w, "use-text").await.unwrap();
    click(w, "approve").await.unwrap();
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
    // The customer leaves with the payment handed over; the wallet is home again.
    click(w, "payee-has-it").await.unwrap();
    click(w, "back").await.unwrap();
    w.wait_for_test_id("action-p", WAIT).await.unwrap();
    ops_transport::base45::decode(&payment).expect("the payment's text")
}

/// Presents `bytes` to the open sale as pasted text; waits for the decline and returns
/// its reason code.
async fn paste_payment(shop: &Shop, bytes: &[u8]) -> String {
    let pos = &shop.pos;
    click(pos, "source-text").await.unwrap();
    paste(pos, "payment-in", &ops_transport::base45::encode(bytes))
        .await
        .unwrap();
    click(pos, "use-text").await.unwrap();
    if pos.wait_for_test_id("declined", WAIT).await.is_err() {
        let page = pos
            .run("return document.body.innerText;")
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        panic!("no decline; the terminal shows:\n{page}");
    }
    attribute(pos, "declined", "data-reason")
        .await
        .unwrap_or_default()
}

async fn approved_id(pos: &Browser) -> String {
    pos.wait_for_test_id("approved", WAIT).await.unwrap();
    text(pos, "approved-id").await
}

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

/// A wallet minted with the FI's own key from the server's data folder (as if the FI had
/// certified and funded it), able to sign whatever a broken or cheating wallet would.
struct Minted {
    fi_key: ops_core::sig::SoftwareKey,
    fi: ops_core::Certificate,
    key: ops_core::sig::SoftwareKey,
    cert: ops_core::Certificate,
}

impl Minted {
    fn new(fi_dir: &std::path::Path) -> Self {
        let secret: [u8; 32] = ops_core::ids::from_hex(
            std::fs::read_to_string(fi_dir.join("fi.key"))
                .unwrap()
                .trim(),
        )
        .and_then(|b| b.try_into().ok())
        .expect("the FI key in hex");
        let fi_key = ops_core::sig::SoftwareKey::from_secret(&secret).expect("the FI key");
        let fi = ops_core::Certificate::from_bytes(&std::fs::read(fi_dir.join("fi.cert")).unwrap())
            .unwrap();
        let key = ops_core::sig::SoftwareKey::from_secret(&[7u8; 32]).unwrap();
        let now = ops_e2e::unix_now();
        let mut m = Self {
            cert: fi.clone(),
            fi_key,
            fi,
            key,
        };
        m.cert = m.certificate(9_000_001, now + 30 * 86_400);
        m
    }

    /// A device certificate for the minted key, valid until `not_after`.
    fn certificate(&self, serial: u64, not_after: u64) -> ops_core::Certificate {
        ops_core::testing::sign_body(
            ops_core::CertBody {
                serial,
                role: ops_core::Role::Device,
                subject: self.key.public_key(),
                issuer: Some(self.fi.id()),
                not_before: not_after.min(ops_e2e::unix_now()) - 86_400,
                not_after,
                name: None,
                limits: ops_core::Limits {
                    max_outstanding: Some(10_000_000),
                    ..ops_core::Limits::default()
                },
                webauthn: None,
            },
            &self.fi_key,
        )
    }

    /// A note of `amount` to `owner` in `currency`, expiring at `expires`.
    fn note(
        &self,
        seed: u8,
        owner: &ops_core::Certificate,
        amount: u64,
        currency: &str,
        expires: u64,
    ) -> ops_core::Issuance {
        let now = ops_e2e::unix_now();
        ops_core::testing::sign_body(
            ops_core::IssuanceBody {
                nonce: ops_core::Nonce([seed; 16]),
                issuer: self.fi.id(),
                owner: owner.id(),
                amount,
                currency: currency.into(),
                issued: now.min(expires) - 120,
                expires,
            },
            &self.fi_key,
        )
    }

    /// A payment for `request_text` spending `ranges[i]` of `notes[i]`, signed by `cert`'s
    /// key at `time`.
    fn pay(
        &self,
        request_text: &str,
        cert: &ops_core::Certificate,
        notes: &[ops_core::Issuance],
        ranges: &[(u64, u64)],
        time: u64,
    ) -> Vec<u8> {
        let request = ops_core::PaymentRequest::from_bytes(
            &ops_transport::base45::decode(request_text).unwrap(),
        )
        .unwrap();
        let chains = notes
            .iter()
            .zip(ranges)
            .map(|(note, (from, to))| ops_core::Chain {
                issuance: note.clone(),
                spends: vec![ops_core::testing::sign_body(
                    ops_core::SpendBody {
                        input: note.note_id(),
                        from: *from,
                        to: *to,
                        payee: request.payee,
                        request: request.hash(),
                        time,
                    },
                    &self.key,
                )],
            })
            .collect();
        ops_core::Payment {
            certs: vec![cert.clone(), self.fi.clone()],
            chains,
        }
        .canonical()
        .to_bytes()
    }
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
        text(&shop.pos, "report-declined").await == "7"
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
