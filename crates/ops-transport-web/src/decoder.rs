//! The scanner's frame decoder: `BarcodeDetector` where the browser has one, else rqrr in
//! the QR worker when the app ships it (see [`crate::worker_decoder`]), else rqrr in the
//! page (also what the `wasm-bindgen-test` runner uses: it cannot serve a worker bundle).
//! Messages are rebuilt from the collected frames in the worker too, when there is one.

use crate::decode_logic::{DecoderCounts, DecoderKind, WorkerSettings};
use crate::worker_decoder::{WorkerDecoder, WorkerError};
use ops_browser::window;
use ops_qr_worker::FrameError;
#[cfg(feature = "in-page-decoder")]
use ops_qr_worker::decode_rgba;
use ops_transport::{Limits, Message, RebuildJob, ScanError};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

#[wasm_bindgen]
extern "C" {
    /// The Barcode Detection API (absent in desktop Linux Chromium and Firefox).
    type BarcodeDetector;
    #[wasm_bindgen(constructor, catch)]
    fn new(options: &JsValue) -> Result<BarcodeDetector, JsValue>;
    #[wasm_bindgen(method)]
    fn detect(this: &BarcodeDetector, source: &JsValue) -> js_sys::Promise;
}

/// Whether the browser has `BarcodeDetector`.
pub fn has_barcode_detector() -> bool {
    window()
        .map(|w| js_sys::Reflect::has(&w, &JsValue::from_str("BarcodeDetector")).unwrap_or(false))
        .unwrap_or(false)
}

/// Why a sampled frame gave no texts.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The worker lost the frame or refused it.
    #[error(transparent)]
    Worker(#[from] WorkerError),
    /// rqrr in the page refused the frame.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The browser failed (canvas, detector).
    #[error("the browser could not read the camera frame ({0}); try again")]
    Browser(String),
}

impl DecodeError {
    /// A lost frame that needs no word to the user: the next frame will do.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Worker(error) if error.is_transient())
    }
}

fn browser(error: JsValue) -> DecodeError {
    DecodeError::Browser(
        error
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|| format!("{error:?}")),
    )
}

enum Engine {
    Detector(BarcodeDetector),
    Worker,
    InPage,
}

/// Decodes the frames drawn into the scanner's sample canvas, and rebuilds messages from
/// the frames collected (in the QR worker when the app ships it).
pub struct FrameDecoder {
    engine: Engine,
    worker: Option<WorkerDecoder>,
    counts: DecoderCounts,
}

impl FrameDecoder {
    /// Chooses the decoder ([`DecoderKind::choose`]); `worker_url` is the QR worker's
    /// loader script (`ops-qr-worker_loader.js` in the app's build), if the app ships it.
    pub fn new(worker_url: Option<&str>, settings: WorkerSettings) -> Self {
        let worker = worker_url
            .filter(|url| !url.is_empty())
            .map(|url| WorkerDecoder::new(url, settings));
        let engine = match DecoderKind::choose(has_barcode_detector(), worker_url) {
            DecoderKind::BarcodeDetector => {
                let options = js_sys::Object::new();
                let _ = js_sys::Reflect::set(
                    &options,
                    &"formats".into(),
                    &js_sys::Array::of1(&JsValue::from_str("qr_code")),
                );
                match BarcodeDetector::new(&options) {
                    Ok(detector) => Engine::Detector(detector),
                    Err(_) if worker.is_some() => Engine::Worker,
                    Err(_) => Engine::InPage,
                }
            }
            DecoderKind::Worker if worker.is_some() => Engine::Worker,
            DecoderKind::Worker | DecoderKind::InPage => Engine::InPage,
        };
        Self {
            engine,
            worker,
            counts: DecoderCounts::default(),
        }
    }

    /// The decoder in use now.
    pub fn kind(&self) -> DecoderKind {
        match self.engine {
            Engine::Detector(_) => DecoderKind::BarcodeDetector,
            Engine::Worker => DecoderKind::Worker,
            Engine::InPage => DecoderKind::InPage,
        }
    }

    /// Frames per decoder, and the worker's crashes, respawns and decode times.
    pub fn counts(&self) -> DecoderCounts {
        match (&self.engine, &self.worker) {
            (Engine::Worker, Some(worker)) => worker.counts(),
            _ => self.counts,
        }
    }

    /// Decodes the `width`×`height` picture just drawn into `canvas`.
    pub async fn decode(
        &mut self,
        canvas: &HtmlCanvasElement,
        context: &CanvasRenderingContext2d,
        width: u32,
        height: u32,
    ) -> Result<Vec<String>, DecodeError> {
        if let (Engine::Worker, Some(worker)) = (&self.engine, &self.worker)
            && worker.gave_up()
        {
            // The worker cannot start here: keep scanning in the page.
            self.counts = worker.counts();
            self.engine = Engine::InPage;
        }
        match &mut self.engine {
            Engine::Detector(detector) => {
                let found = JsFuture::from(detector.detect(canvas))
                    .await
                    .map_err(browser)?;
                self.counts.record_frame(DecoderKind::BarcodeDetector);
                Ok(js_sys::Array::from(&found)
                    .iter()
                    .filter_map(|code| {
                        js_sys::Reflect::get(&code, &JsValue::from_str("rawValue"))
                            .ok()?
                            .as_string()
                    })
                    .collect())
            }
            Engine::Worker => {
                let image = context
                    .get_image_data(0.0, 0.0, f64::from(width), f64::from(height))
                    .map_err(browser)?;
                match &mut self.worker {
                    Some(worker) => Ok(worker.decode(image).await?),
                    None => Err(DecodeError::Browser(NO_WORKER.into())),
                }
            }
            #[cfg(feature = "in-page-decoder")]
            Engine::InPage => {
                let image = context
                    .get_image_data(0.0, 0.0, f64::from(width), f64::from(height))
                    .map_err(browser)?;
                let texts = decode_rgba(width, height, &image.data())?;
                self.counts.record_frame(DecoderKind::InPage);
                Ok(texts)
            }
            #[cfg(not(feature = "in-page-decoder"))]
            Engine::InPage => Err(DecodeError::Browser(NO_WORKER.into())),
        }
    }

    /// Whether messages can be rebuilt here: a QR worker that has not given up, or the
    /// in-page decoder.
    pub fn can_rebuild(&self) -> bool {
        cfg!(feature = "in-page-decoder") || self.worker.as_ref().is_some_and(|w| !w.gave_up())
    }

    /// What to tell the user when [`FrameDecoder::can_rebuild`] is false.
    pub const NO_WORKER: &'static str = NO_WORKER;

    /// Rebuilds the message from the frames of `job`: in the QR worker when the app ships
    /// it, else in the page (feature `in-page-decoder`). `Ok(None)`: not enough frames
    /// yet, or the worker lost the request (a later frame tries again);
    /// [`ScanError::Corrupt`]: the frames do not make a sound message (the transfer
    /// restarts).
    pub async fn rebuild(
        &mut self,
        job: &RebuildJob,
        limits: &Limits,
    ) -> Result<Option<Message>, ScanError> {
        if let Some(worker) = self.worker.as_mut().filter(|worker| !worker.gave_up()) {
            return match worker.rebuild(job, limits).await {
                Ok(message) => Ok(message),
                Err(WorkerError::Refused { .. }) => Err(ScanError::Corrupt),
                Err(_) => Ok(None),
            };
        }
        #[cfg(feature = "in-page-decoder")]
        {
            ops_transport::fountain::rebuild(job, limits)
        }
        #[cfg(not(feature = "in-page-decoder"))]
        {
            Ok(None)
        }
    }
}

/// What a page without the in-page decoder says when its QR worker cannot run.
const NO_WORKER: &str = "this app decodes QR codes in its QR worker, which did not start: reload the page once while online";

/// Test builds only (feature `test-hooks`, used by the transport fixture page): make the
/// QR worker trap, or hang, on the next frame it gets.
#[cfg(feature = "test-hooks")]
pub mod test_hooks {
    pub use ops_qr_worker::protocol::TestFault;
    use std::cell::Cell;

    thread_local! {
        static NEXT_FAULT: Cell<Option<TestFault>> = const { Cell::new(None) };
    }

    /// The next frame sent to a QR worker asks it to trap (once).
    pub fn trap_next_worker_frame() {
        NEXT_FAULT.with(|fault| fault.set(Some(TestFault::Trap)));
    }

    /// The next frame sent to a QR worker asks it to hang without answering (once).
    pub fn hang_next_worker_frame() {
        NEXT_FAULT.with(|fault| fault.set(Some(TestFault::Hang)));
    }

    /// Takes the fault requested for the next frame.
    pub(crate) fn take_fault() -> Option<TestFault> {
        NEXT_FAULT.with(|fault| fault.take())
    }
}
