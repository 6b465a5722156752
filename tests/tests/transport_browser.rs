//! The offline transports in real headless Chromium, through the transport fixture page
//! (`tests/transport-page`, served at `/test/transport/`):
//!
//! - camera: Chromium's fake camera plays a `.y4m` this test writes (a real ops-core test
//!   payment as animated QR frames, every fourth frame dropped); the scanner decodes it
//!   **in the QR worker** byte for byte, and survives a worker that traps or hangs;
//! - NFC: one window writes a payment through `SendMessageView` (NDEF chunking, Web NFC
//!   test double), a second window — another document — reads it with
//!   `ReceiveMessageView`; without Web NFC the page does not offer NFC.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test code: failures should stop the test

use ops_core::Payment;
use ops_core::testing::{DAY, T0, World};
use ops_e2e::{Browser, HarnessError, Server, Settings, copy_tree, free_port, wait_until};
use ops_transport::sim::fake_camera_texts;
use ops_transport::y4m::{VideoSpec, render};
use ops_transport::{Message, MessageKind, Preset};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// A real payment: a note passed through `hops` wallets to the POS, canonical bytes.
fn payment_bytes(hops: usize) -> Vec<u8> {
    let mut world = World::new(3);
    let (_, payment) = world.payment(hops, 1_000, 250, T0 + DAY);
    payment.to_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex from the page"))
        .collect()
}

/// A folder of this test's own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("ops-e2e-transport-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temporary folder");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Session {
    browser: Browser,
    _server: Server,
    origin: String,
    settings: Settings,
    _scratch: Scratch,
}

/// Serves the apps plus the transport fixture page; starts Chromium with `flags`.
async fn serve(scratch: Scratch, flags: &[&str]) -> Result<Session, HarnessError> {
    let settings = Settings::from_env()?;
    let root = scratch.0.join("site");
    copy_tree(&settings.dist, &root)?;
    copy_tree(
        &settings.test_pages.join("transport"),
        &root.join("test/transport"),
    )?;
    let port = free_port()?;
    let server = Server::start(&settings, &root, port).await?;
    let browser = Browser::start_with_flags(&settings, flags).await?;
    Ok(Session {
        browser,
        _server: server,
        origin: format!("http://localhost:{port}"),
        settings,
        _scratch: scratch,
    })
}

impl Session {
    async fn open(&self, query: &str) -> Result<(), HarnessError> {
        self.browser
            .driver
            .goto(format!("{}/test/transport/{query}", self.origin))
            .await?;
        self.browser
            .wait_for_test_id("role", Duration::from_secs(30))
            .await?;
        Ok(())
    }

    async fn text(&self, id: &str) -> String {
        let script = format!(
            "const e = document.querySelector('[data-testid=\"{id}\"]'); return e ? e.textContent : null;"
        );
        match self.browser.run(&script).await {
            Ok(Value::String(text)) => text.trim().to_owned(),
            _ => String::new(),
        }
    }

    async fn exists(&self, id: &str) -> bool {
        let script = format!("return !!document.querySelector('[data-testid=\"{id}\"]');");
        self.browser
            .run(&script)
            .await
            .is_ok_and(|v| v == Value::Bool(true))
    }

    /// The scanner's data attributes (decoder, frames per decoder, worker health).
    async fn scanner(&self) -> Value {
        self.browser
            .run(
                "const s = document.querySelector('[data-testid=\"scanner\"]'); \
                 if (!s) return null; const out = {}; \
                 for (const a of s.attributes) if (a.name.startsWith('data-')) out[a.name.slice(5)] = a.value; \
                 return out;",
            )
            .await
            .unwrap_or(Value::Null)
    }

    async fn wait_received(&self, timeout: Duration) -> Result<String, HarnessError> {
        let mut last = String::new();
        let outcome = wait_until("the payment to arrive", timeout, async || {
            if !self.text("scan-problem").await.is_empty() {
                return true;
            }
            last = self.text("received-hex").await;
            !last.is_empty()
        })
        .await;
        let problem = self.text("scan-problem").await;
        assert!(
            problem.is_empty(),
            "the scanner reports a problem: {problem}"
        );
        if outcome.is_err() {
            panic!(
                "nothing received in {timeout:?}; progress {:?}; scanner {}",
                self.text("scan-percent").await,
                self.scanner().await
            );
        }
        Ok(last)
    }
}

/// Writes the fake camera's video of `body` (a payment) into `scratch`; returns the
/// Chromium flag that plays it.
fn fake_camera(scratch: &Scratch, body: &[u8]) -> String {
    let message = Message::new(MessageKind::Payment, body.to_vec());
    let texts = fake_camera_texts(&message, Preset::DEFAULT).expect("frames of the payment");
    let video = render(&texts, VideoSpec::default()).expect("the y4m video");
    let path = scratch.0.join("payment.y4m");
    std::fs::write(&path, video).expect("write the y4m video");
    format!("--use-file-for-fake-video-capture={}", path.display())
}

fn number(scanner: &Value, key: &str) -> f64 {
    scanner[key]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {scanner}"))
}

async fn scan_with_the_fake_camera(
    name: &str,
    query: &str,
) -> Result<(Vec<u8>, Vec<u8>, Value, Session), HarnessError> {
    let body = payment_bytes(3);
    let scratch = Scratch::new(name);
    let camera = fake_camera(&scratch, &body);
    let session = serve(
        scratch,
        &[
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            &camera,
        ],
    )
    .await?;
    session.open(query).await?;
    let received = unhex(&session.wait_received(Duration::from_secs(90)).await?);
    let scanner = session.scanner().await;
    Ok((body, received, scanner, session))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scanner_decodes_a_payment_in_the_qr_worker_byte_for_byte() -> Result<(), HarnessError>
{
    let (sent, received, scanner, session) =
        scan_with_the_fake_camera("worker", "?role=scan").await?;
    println!(
        "QR worker: {} frames of 640x480 decoded in the worker, mean {} ms (max {} ms) inside the worker, \
         {} ms per frame as the page waits (transfer + decode + answer); {} bytes of payment",
        scanner["worker-frames"].as_str().unwrap_or("?"),
        scanner["worker-decode-mean-ms"].as_str().unwrap_or("?"),
        scanner["worker-decode-max-ms"].as_str().unwrap_or("?"),
        scanner["decode-mean-ms"].as_str().unwrap_or("?"),
        sent.len()
    );
    // Figures for docs/PERFORMANCE.md (`cargo xtask bench`): this run's means.
    for (column, key) in [
        ("decode inside the worker", "worker-decode-mean-ms"),
        (
            "as the page waits (transfer, decode, answer)",
            "decode-mean-ms",
        ),
    ] {
        if let Some(ms) = scanner[key].as_str() {
            println!(
                "BENCH QR decode of a 640×480 camera frame | QR worker (wasm, release) | {column} | {ms} ms"
            );
        }
    }
    assert_eq!(received, sent, "the payment arrived byte for byte");
    Payment::from_bytes(&received).expect("the received bytes are a payment");
    assert_eq!(scanner["decoder"], "worker", "{scanner}");
    assert!(number(&scanner, "worker-frames") >= 1.0, "{scanner}");
    assert_eq!(number(&scanner, "in-page-frames"), 0.0, "{scanner}");
    assert_eq!(number(&scanner, "worker-crashes"), 0.0, "{scanner}");
    assert_eq!(number(&scanner, "worker-respawns"), 0.0, "{scanner}");
    assert!(number(&scanner, "worker-decode-mean-ms") > 0.0, "{scanner}");
    assert_eq!(session.text("scan-done").await, "Received.");
    session
        .browser
        .screenshot(&session.settings, "transport-scan-worker", (390, 844))
        .await?;
    session.browser.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_traps_is_replaced_and_the_scan_completes() -> Result<(), HarnessError> {
    let (sent, received, scanner, session) =
        scan_with_the_fake_camera("trap", "?role=scan&trap-once").await?;
    assert_eq!(received, sent, "the payment arrived byte for byte");
    assert_eq!(scanner["decoder"], "worker", "{scanner}");
    assert_eq!(number(&scanner, "worker-crashes"), 1.0, "{scanner}");
    assert_eq!(number(&scanner, "worker-respawns"), 1.0, "{scanner}");
    assert_eq!(number(&scanner, "worker-timeouts"), 0.0, "{scanner}");
    assert!(number(&scanner, "worker-frames") >= 1.0, "{scanner}");
    assert_eq!(number(&scanner, "in-page-frames"), 0.0, "{scanner}");
    assert!(
        session.text("scan-hint").await.is_empty(),
        "a lost frame is not the user's business"
    );
    session.browser.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_hangs_is_replaced_after_its_timeout() -> Result<(), HarnessError> {
    let (sent, received, scanner, session) =
        scan_with_the_fake_camera("hang", "?role=scan&hang-once").await?;
    assert_eq!(received, sent, "the payment arrived byte for byte");
    assert_eq!(scanner["decoder"], "worker", "{scanner}");
    assert_eq!(number(&scanner, "worker-timeouts"), 1.0, "{scanner}");
    assert_eq!(number(&scanner, "worker-respawns"), 1.0, "{scanner}");
    assert_eq!(number(&scanner, "worker-crashes"), 0.0, "{scanner}");
    assert_eq!(number(&scanner, "in-page-frames"), 0.0, "{scanner}");
    session.browser.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_window_writes_a_payment_over_nfc_another_reads_it() -> Result<(), HarnessError> {
    let body = payment_bytes(3);
    let session = serve(Scratch::new("nfc"), &[]).await?;
    let driver = &session.browser.driver;
    // Window 1: the reader (a POS waiting for the payment).
    session.open("?role=read").await?;
    let reader = driver.window().await?;
    assert_eq!(session.text("transports").await, "qr nfc");
    wait_until("the reader to scan", Duration::from_secs(20), async || {
        session
            .text("nfc-receive-status")
            .await
            .contains("Hold the other device")
    })
    .await?;
    // Window 2, another document: the writer (the wallet paying).
    let writer = driver.new_window().await?;
    driver.switch_to_window(writer.clone()).await?;
    session
        .open(&format!("?role=write&hex={}", hex(&body)))
        .await?;
    assert_eq!(session.text("write-bytes").await, body.len().to_string());
    wait_until(
        "the write to complete",
        Duration::from_secs(20),
        async || session.exists("written").await,
    )
    .await?;
    assert_eq!(session.text("nfc-send-status").await, "Written.");
    // Back to the reader: it has the payment, byte for byte.
    driver.switch_to_window(reader).await?;
    wait_until(
        "the reader to receive",
        Duration::from_secs(20),
        async || !session.text("received-hex").await.is_empty(),
    )
    .await?;
    let received = unhex(&session.text("received-hex").await);
    assert_eq!(received.len(), body.len());
    assert_eq!(received, body, "the reader got the payment byte for byte");
    Payment::from_bytes(&received).expect("the received bytes are a payment");
    assert_eq!(session.text("nfc-receive-status").await, "Received.");
    assert_eq!(
        driver.windows().await?.len(),
        2,
        "two windows: the writer and the reader"
    );
    session.browser.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_web_nfc_the_page_does_not_offer_nfc() -> Result<(), HarnessError> {
    let session = serve(Scratch::new("no-nfc"), &[]).await?;
    session.open("?role=read&nfc=off").await?;
    assert_eq!(session.text("transports").await, "qr");
    assert!(session.exists("nfc-hidden").await);
    assert!(!session.exists("nfc-receive-status").await);
    session.browser.close().await;
    Ok(())
}
