//! What a person does and reads on a page, for the end-to-end tests: text by
//! `data-testid`, typing and pasting, waiting for a text, filming a message for a fake
//! camera, reading the animated QR code a page shows, and the accessibility audit.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test helpers: a failure stops the test

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use ops_transport::sim::fake_camera_texts;
use ops_transport::y4m::{VideoSpec, render};
use ops_transport::{AnimatedDecoder, Limits, Message, MessageKind, Preset, ScanStatus};
use serde_json::Value;
use thirtyfour::prelude::*;

use crate::{Browser, HarnessError, wait_until};

/// How long a step may take before a test gives up.
pub const WAIT: Duration = Duration::from_secs(60);

/// The visible text of element `id` (empty when absent).
pub async fn text(browser: &Browser, id: &str) -> String {
    match browser
        .driver
        .find(By::Css(format!("[data-testid=\"{id}\"]")))
        .await
    {
        Ok(el) => el.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Attribute `name` of element `id`, if both exist.
pub async fn attribute(browser: &Browser, id: &str, name: &str) -> Option<String> {
    browser
        .run(&format!(
            "const d = document.querySelector('[data-testid=\"{id}\"]'); return d ? d.getAttribute('{name}') : null;"
        ))
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
}

/// Waits until element `id` reads `want`; on timeout names what it read and the message.
pub async fn wait_text(browser: &Browser, id: &str, want: &str) -> Result<(), HarnessError> {
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

/// Sets a text field's value as a paste would (an `input` event the app listens to).
pub async fn paste(browser: &Browser, id: &str, text: &str) -> Result<(), HarnessError> {
    let script = format!(
        "const el = document.querySelector('[data-testid=\\'{id}\\']'); el.value = {}; \
         el.dispatchEvent(new Event('input', {{ bubbles: true }})); return true;",
        serde_json::Value::String(text.to_owned())
    );
    browser.run(&script).await?;
    Ok(())
}

/// Everything the page shows, as text (for a failure message: what the person would see).
pub async fn page_text(browser: &Browser) -> String {
    browser
        .run("return document.body.innerText;")
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The value of form field `id` (empty when absent).
pub async fn value(browser: &Browser, id: &str) -> String {
    browser
        .run(&format!(
            "const el = document.querySelector('[data-testid=\\'{id}\\']'); return el ? el.value : '';"
        ))
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Clicks element `id` once it is there.
pub async fn click(browser: &Browser, id: &str) -> Result<(), HarnessError> {
    browser.wait_for_test_id(id, WAIT).await?.click().await?;
    Ok(())
}

/// Clicks element `id` through the DOM: after a screenshot the page runs under device
/// emulation, where WebDriver's pointer coordinates no longer match the layout.
pub async fn click_dom(browser: &Browser, id: &str) -> Result<(), HarnessError> {
    browser.wait_for_test_id(id, WAIT).await?;
    browser
        .run(&format!(
            "document.querySelector('[data-testid=\"{id}\"]').click(); return true;"
        ))
        .await?;
    Ok(())
}

/// Writes the fake camera's video: the message's animated QR frames (every fourth
/// dropped, as a camera misses frames). Returns how many frames the video holds.
pub fn film(path: &Path, kind: MessageKind, body: &[u8]) -> usize {
    let texts = fake_camera_texts(&Message::new(kind, body.to_vec()), Preset::DEFAULT)
        .expect("frames of the message");
    let frames = texts.len();
    let video = render(&texts, VideoSpec::default()).expect("the y4m video");
    let partial = path.with_extension("partial");
    std::fs::write(&partial, video).expect("write the video");
    std::fs::rename(&partial, path).expect("put the video in place");
    frames
}

/// One grey frame of the default video size (y4m, 4:2:0).
pub fn blank_video() -> Vec<u8> {
    let spec = VideoSpec::default();
    let (w, h) = (spec.width & !1, spec.height & !1);
    let mut v = format!(
        "YUV4MPEG2 W{w} H{h} F{}:1 Ip A1:1 C420jpeg\nFRAME\n",
        spec.fps.max(1)
    )
    .into_bytes();
    v.extend(std::iter::repeat_n(spec.background, w * h));
    v.extend(std::iter::repeat_n(128u8, w * h / 2));
    v
}

/// Reads the animated QR code the page shows, frame by frame from its canvas, and
/// decodes it natively (rqrr and the fountain decoder of `ops-transport`).
pub async fn read_qr_from_page(browser: &Browser, kind: MessageKind) -> Vec<u8> {
    let mut receiver = AnimatedDecoder::expecting(kind, Limits::DEFAULT);
    let mut frames = 0;
    for _ in 0..600 {
        let grab = browser
            .run(
                "const c = document.querySelector('[data-testid=\"qr-canvas\"]'); if (!c || !c.width) return null; \
                 const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = ''; \
                 for (let i = 0; i < d.length; i += 4) s += String.fromCharCode(d[i + 1]); \
                 return [c.width, c.height, btoa(s)];",
            )
            .await
            .expect("read the canvas");
        if let Some([w, h, luma]) = grab.as_array().map(Vec::as_slice) {
            let luma = base64::engine::general_purpose::STANDARD
                .decode(luma.as_str().unwrap_or_default())
                .expect("luma from the page");
            let (w, h) = (
                w.as_u64().unwrap_or(0) as usize,
                h.as_u64().unwrap_or(0) as usize,
            );
            if let Ok(texts) = ops_transport::qr::decode_luma(w, h, &luma) {
                for t in texts {
                    frames += 1;
                    if let Ok(ScanStatus::Complete(message)) = receiver.receive(&t) {
                        return message.body;
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    panic!("the page's QR code did not decode ({frames} frames read)");
}

/// Runs axe-core (`OPS_AXE`) on the page as it is and fails on any WCAG 2 A or AA
/// violation, naming each rule and the elements it found.
pub async fn audit(browser: &Browser, screen: &str) -> Result<(), HarnessError> {
    let path = std::env::var_os("OPS_AXE").ok_or(HarnessError::MissingEnv("OPS_AXE"))?;
    let axe =
        std::fs::read_to_string(&path).expect("axe-core's script (cargo xtask test installs it)");
    browser.run(&format!("{axe}\nreturn true;")).await?;
    let result = browser
        .run_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }) \
               .then(r => done({ violations: r.violations.map(v => ({ id: v.id, help: v.help, nodes: v.nodes.map(n => n.html).slice(0, 3) })), passes: r.passes.length })) \
               .catch(e => done({ error: String(e) }));",
        )
        .await?;
    assert!(
        result.get("error").is_none(),
        "axe failed on {screen}: {result}"
    );
    let violations = result["violations"].as_array().cloned().unwrap_or_default();
    assert!(
        violations.is_empty(),
        "accessibility violations on the {screen} screen:\n{}",
        serde_json::to_string_pretty(&Value::Array(violations)).unwrap_or_default()
    );
    eprintln!(
        "{screen}: axe-core {} rules passed, 0 violations",
        result["passes"]
    );
    Ok(())
}
