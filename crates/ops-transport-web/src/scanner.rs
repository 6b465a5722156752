//! The camera scanner component: `getUserMedia` (rear camera preferred, selectable),
//! frames sampled into a canvas and decoded — by `BarcodeDetector` where the browser has
//! one, by rqrr in WebAssembly everywhere else (in the QR worker when the app ships it, see
//! [`crate::decoder`]) — with a progress bar for animated codes, a torch toggle where the
//! camera has one, and clear messages when there is no camera or access is refused.

use crate::decode_logic::{DecoderCounts, DecoderKind, WorkerSettings};
pub use crate::decoder::has_barcode_detector;
use crate::decoder::{DecodeError, FrameDecoder};
use crate::scan_logic::{
    CameraProblem, DecodeStats, Throttle, hundredths, percent, sample_size, sentence,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ops_browser::{BrowserError, window};
use ops_transport::{
    Limits, Message, MessageKind, ReceiveStatus, Receiver, ScanError, TransportError,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    CanvasRenderingContext2d, HtmlCanvasElement, HtmlVideoElement, MediaStream, MediaStreamTrack,
};

/// Widest sample decoded per camera frame, in pixels.
pub const SAMPLE_WIDTH: u32 = 640;

/// What the scanner shows.
#[derive(Debug, Clone, PartialEq)]
enum ScanView {
    Starting,
    Scanning { percent: Option<u32> },
    Problem(String),
    Done,
}

/// Everything the camera loop updates on screen.
#[derive(Clone, Copy)]
struct Screen {
    view: RwSignal<ScanView>,
    hint: RwSignal<Option<String>>,
    cameras: RwSignal<Vec<(String, String)>>,
    torch_supported: RwSignal<bool>,
    torch_on: RwSignal<bool>,
    stats: RwSignal<DecodeStats>,
    decoder: RwSignal<DecoderKind>,
    counts: RwSignal<DecoderCounts>,
}

/// Scans QR codes with the camera until a complete message of `kind` arrives, then
/// stops the camera and calls `on_message`.
///
/// Test ids: `scanner` (with `data-decode-frames`, `data-decode-mean-ms`,
/// `data-decode-max-ms` — per sampled frame, as the page waits for it —, `data-decoder`
/// (`barcode-detector`, `worker`, `in-page`), frames per decoder `data-worker-frames`,
/// `data-in-page-frames`, `data-detector-frames`, the worker's `data-worker-crashes`,
/// `data-worker-timeouts`, `data-worker-respawns`, `data-worker-failed-starts`, and its own decode time
/// `data-worker-decode-mean-ms`, `data-worker-decode-max-ms`), `scan-progress` (a
/// `<progress>`), `scan-problem`, `scan-hint`, `camera-select`, `torch-toggle`, `scan-done`.
#[component]
pub fn QrScanner(
    /// The awaited message type.
    kind: MessageKind,
    /// Called once with the complete message.
    #[prop(into)]
    on_message: Callback<Message>,
    /// Receiver limits.
    #[prop(default = Limits::DEFAULT)]
    limits: Limits,
    /// A camera (`MediaDeviceInfo.deviceId`) to start with, e.g. the one the user chose
    /// last time; by default the rear camera is preferred.
    #[prop(optional)]
    camera: Option<String>,
    /// URL of the QR decoder worker's loader script (`ops-qr-worker_loader.js`, emitted by
    /// the app's Trunk build from a `data-type="worker"` link). Without it, frames are
    /// decoded in the page.
    #[prop(optional, into)]
    worker: Option<String>,
) -> impl IntoView {
    let video_ref = NodeRef::<leptos::html::Video>::new();
    let screen = Screen {
        view: RwSignal::new(ScanView::Starting),
        hint: RwSignal::new(None),
        cameras: RwSignal::new(Vec::new()),
        torch_supported: RwSignal::new(false),
        torch_on: RwSignal::new(false),
        stats: RwSignal::new(DecodeStats::default()),
        decoder: RwSignal::new(DecoderKind::choose(
            has_barcode_detector(),
            worker.as_deref(),
        )),
        counts: RwSignal::new(DecoderCounts::default()),
    };
    let selected = RwSignal::new(camera);
    let generation = Arc::new(AtomicU32::new(0));
    {
        let generation = Arc::clone(&generation);
        on_cleanup(move || {
            generation.fetch_add(1, Ordering::SeqCst);
        });
    }
    Effect::new(move |_| {
        let device = selected.get();
        let Some(video) = video_ref.get() else {
            return;
        };
        let mine = generation.fetch_add(1, Ordering::SeqCst) + 1;
        let generation = Arc::clone(&generation);
        let receiver = Receiver::new(kind, limits);
        let worker = worker.clone();
        spawn_local(async move {
            let current = move || generation.load(Ordering::SeqCst) == mine;
            run_camera(video, device, worker, receiver, screen, on_message, current).await;
        });
    });
    let stats = screen.stats;
    let counts = screen.counts;
    view! {
        <div
            class="qr-scanner"
            data-testid="scanner"
            data-decode-frames=move || stats.get().frames.to_string()
            data-decode-mean-ms=move || hundredths(stats.get().mean_ms())
            data-decode-max-ms=move || hundredths(stats.get().max_ms)
            data-decoder=move || screen.decoder.get().name()
            data-worker-frames=move || counts.get().worker_frames.to_string()
            data-in-page-frames=move || counts.get().in_page_frames.to_string()
            data-detector-frames=move || counts.get().detector_frames.to_string()
            data-worker-crashes=move || counts.get().worker_crashes.to_string()
            data-worker-timeouts=move || counts.get().worker_timeouts.to_string()
            data-worker-respawns=move || counts.get().worker_respawns.to_string()
            data-worker-failed-starts=move || counts.get().worker_failed_starts.to_string()
            data-worker-decode-mean-ms=move || hundredths(counts.get().worker_decode.mean_ms())
            data-worker-decode-max-ms=move || hundredths(counts.get().worker_decode.max_ms)
        >
            <video node_ref=video_ref autoplay=true muted=true playsinline=true
                style="width: 100%; max-width: 480px; background: #000;"></video>
            {move || match screen.view.get() {
                ScanView::Starting => view! { <p data-testid="scan-status">"Starting the camera…"</p> }.into_any(),
                ScanView::Scanning { percent: None } => view! { <p data-testid="scan-status">"Point the camera at the other device's code."</p> }.into_any(),
                ScanView::Scanning { percent: Some(p) } => view! {
                    <div>
                        <progress data-testid="scan-progress" max="100" value=p.to_string()></progress>
                        <span data-testid="scan-percent">{format!(" {p} %")}</span>
                    </div>
                }.into_any(),
                ScanView::Problem(text) => view! { <p class="error" role="alert" data-testid="scan-problem">{text}</p> }.into_any(),
                ScanView::Done => view! { <p data-testid="scan-done">"Received."</p> }.into_any(),
            }}
            {move || screen.hint.get().map(|hint| view! { <p class="hint" data-testid="scan-hint">{hint}</p> })}
            <Show when=move || { screen.cameras.get().len() > 1 }>
                <label>"Camera "
                    <select data-testid="camera-select" on:change=move |event| {
                        selected.set(Some(event_target_value(&event)));
                    }>
                        {move || screen.cameras.get().into_iter().map(|(id, label)| {
                            let chosen = selected.get().as_deref() == Some(id.as_str());
                            view! { <option value=id selected=chosen>{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
            </Show>
            <Show when=move || screen.torch_supported.get()>
                <button data-testid="torch-toggle" on:click=move |_| screen.torch_on.update(|on| *on = !*on)>
                    {move || if screen.torch_on.get() { "Torch off" } else { "Torch on" }}
                </button>
            </Show>
        </div>
    }
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(target, &JsValue::from_str(key), value);
}

/// `{ video: { deviceId: {exact} | facingMode: {ideal: "environment"}, width: {ideal: 640}, height: {ideal: 480} }, audio: false }`
fn constraints(device: Option<&str>) -> web_sys::MediaStreamConstraints {
    let video = js_sys::Object::new();
    let ideal = |value: &JsValue| {
        let object = js_sys::Object::new();
        set(&object, "ideal", value);
        object
    };
    match device {
        Some(id) => {
            let exact = js_sys::Object::new();
            set(&exact, "exact", &JsValue::from_str(id));
            set(&video, "deviceId", &exact);
        }
        None => set(
            &video,
            "facingMode",
            &ideal(&JsValue::from_str("environment")),
        ),
    }
    set(&video, "width", &ideal(&JsValue::from_f64(640.0)));
    set(&video, "height", &ideal(&JsValue::from_f64(480.0)));
    let constraints = web_sys::MediaStreamConstraints::new();
    constraints.set_video(&video);
    constraints.set_audio(&JsValue::FALSE);
    constraints
}

fn problem_of(error: &JsValue) -> CameraProblem {
    match error.dyn_ref::<web_sys::DomException>() {
        Some(exception) => CameraProblem::from_dom_error(&exception.name(), &exception.message()),
        None => CameraProblem::from_dom_error("TypeError", &format!("{error:?}")),
    }
}

/// Sleeps `ms` milliseconds without blocking the page.
pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Ok(w) = window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

fn now_ms() -> f64 {
    window()
        .ok()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

async fn open_stream(device: Option<&str>) -> Result<MediaStream, CameraProblem> {
    let devices = window()
        .map_err(|_| CameraProblem::Unsupported)?
        .navigator()
        .media_devices()
        .map_err(|_| CameraProblem::Unsupported)?;
    let promise = devices
        .get_user_media_with_constraints(&constraints(device))
        .map_err(|error| problem_of(&error))?;
    let stream = JsFuture::from(promise)
        .await
        .map_err(|error| problem_of(&error))?;
    stream.dyn_into().map_err(|_| CameraProblem::Unsupported)
}

/// The cameras of this device as `(deviceId, label)`, numbered where the browser gives no
/// label (before camera permission).
pub async fn list_cameras() -> Vec<(String, String)> {
    let Ok(devices) =
        window().and_then(|w| w.navigator().media_devices().map_err(BrowserError::from))
    else {
        return Vec::new();
    };
    let Ok(promise) = devices.enumerate_devices() else {
        return Vec::new();
    };
    let Ok(list) = JsFuture::from(promise).await else {
        return Vec::new();
    };
    // Read by property rather than `instanceof MediaDeviceInfo`: polyfills and test
    // doubles return plain objects.
    let text = |info: &JsValue, key: &str| {
        js_sys::Reflect::get(info, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    js_sys::Array::from(&list)
        .iter()
        .filter(|info| text(info, "kind") == "videoinput")
        .enumerate()
        .map(|(index, info)| {
            let label = text(&info, "label");
            let label = if label.is_empty() {
                format!("Camera {}", index + 1)
            } else {
                label
            };
            (text(&info, "deviceId"), label)
        })
        .collect()
}

fn has_torch(track: &MediaStreamTrack) -> bool {
    js_sys::Reflect::get(track, &JsValue::from_str("getCapabilities"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call0(track).ok())
        .and_then(|caps| js_sys::Reflect::get(&caps, &JsValue::from_str("torch")).ok())
        .is_some_and(|torch| torch.is_truthy())
}

async fn apply_torch(track: &MediaStreamTrack, on: bool) {
    let advanced = js_sys::Object::new();
    set(&advanced, "torch", &JsValue::from_bool(on));
    let constraints = js_sys::Object::new();
    set(&constraints, "advanced", &js_sys::Array::of1(&advanced));
    let apply = js_sys::Reflect::get(track, &JsValue::from_str("applyConstraints"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let Some(promise) = apply
        .and_then(|f| f.call1(track, &constraints).ok())
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
    {
        let _ = JsFuture::from(promise).await;
    }
}

fn stop(stream: &MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
            track.stop();
        }
    }
}

/// One sampled camera frame: the sample canvas, its context and the decoder.
struct Sampler {
    canvas: HtmlCanvasElement,
    context: CanvasRenderingContext2d,
    decoder: FrameDecoder,
}

impl Sampler {
    fn new(worker: Option<&str>) -> Result<Self, BrowserError> {
        let document = window()?.document().ok_or(BrowserError::NoWindow)?;
        let canvas: HtmlCanvasElement = document.create_element("canvas")?.unchecked_into();
        let options = js_sys::Object::new();
        set(&options, "willReadFrequently", &JsValue::TRUE);
        let context = canvas
            .get_context_with_context_options("2d", &options)?
            .ok_or(BrowserError::Unsupported("canvas 2D"))?
            .unchecked_into();
        Ok(Self {
            canvas,
            context,
            decoder: FrameDecoder::new(worker, WorkerSettings::default()),
        })
    }

    /// Draws the current video frame and decodes it; returns the texts found.
    async fn texts(&mut self, video: &HtmlVideoElement) -> Result<Vec<String>, DecodeError> {
        let Some((width, height)) =
            sample_size(video.video_width(), video.video_height(), SAMPLE_WIDTH)
        else {
            return Ok(Vec::new());
        };
        if self.canvas.width() != width || self.canvas.height() != height {
            self.canvas.set_width(width);
            self.canvas.set_height(height);
        }
        self.context
            .draw_image_with_html_video_element_and_dw_and_dh(
                video,
                0.0,
                0.0,
                f64::from(width),
                f64::from(height),
            )
            .map_err(|error| DecodeError::Browser(BrowserError::from(error).to_string()))?;
        self.decoder
            .decode(&self.canvas, &self.context, width, height)
            .await
    }
}

async fn run_camera(
    video: HtmlVideoElement,
    device: Option<String>,
    worker: Option<String>,
    mut receiver: Receiver,
    screen: Screen,
    on_message: Callback<Message>,
    current: impl Fn() -> bool,
) {
    screen.view.set(ScanView::Starting);
    let stream = match open_stream(device.as_deref()).await {
        Ok(stream) => stream,
        Err(problem) => {
            screen.view.set(ScanView::Problem(problem.message()));
            return;
        }
    };
    if !current() {
        stop(&stream);
        return;
    }
    let cameras = list_cameras().await;
    if cameras.is_empty() {
        stop(&stream);
        screen
            .view
            .set(ScanView::Problem(CameraProblem::NoCamera.message()));
        return;
    }
    screen.cameras.set(cameras);
    video.set_src_object(Some(&stream));
    if let Ok(promise) = video.play() {
        let _ = JsFuture::from(promise).await;
    }
    let track: Option<MediaStreamTrack> = stream.get_video_tracks().get(0).dyn_into().ok();
    screen
        .torch_supported
        .set(track.as_ref().is_some_and(has_torch));
    let mut torch_applied = false;
    let mut sampler = match Sampler::new(worker.as_deref()) {
        Ok(sampler) => sampler,
        Err(error) => {
            stop(&stream);
            screen.view.set(ScanView::Problem(error.to_string()));
            return;
        }
    };
    screen.view.set(ScanView::Scanning { percent: None });
    let throttle = Throttle::default();
    let mut last_decode_ms = 0.0;
    while current() {
        sleep_ms(throttle.next_delay_ms(last_decode_ms)).await;
        if !current() {
            break;
        }
        let wanted = screen.torch_on.get_untracked();
        if let Some(track) = &track
            && wanted != torch_applied
        {
            apply_torch(track, wanted).await;
            torch_applied = wanted;
        }
        let started = now_ms();
        let decoded = sampler.texts(&video).await;
        last_decode_ms = now_ms() - started;
        screen.decoder.set(sampler.decoder.kind());
        screen.counts.set(sampler.decoder.counts());
        let texts = match decoded {
            Ok(texts) => texts,
            // A lost frame (the worker crashed, hung or is restarting): the next will do.
            Err(error) if error.is_transient() => continue,
            Err(error) => {
                screen.hint.set(Some(sentence(&error.to_string())));
                continue;
            }
        };
        screen.stats.update(|stats| stats.record(last_decode_ms));
        for text in texts {
            let mut status = receiver.on_qr_text(&text);
            if let Ok(ReceiveStatus::Rebuild(job)) = &status {
                let outcome = sampler.decoder.rebuild(job, receiver.limits()).await;
                status = receiver.on_rebuilt(job, outcome);
            }
            match status {
                Ok(ReceiveStatus::Received(message)) => {
                    stop(&stream);
                    video.set_src_object(None);
                    screen.view.set(ScanView::Done);
                    screen.hint.set(None);
                    on_message.run(message);
                    return;
                }
                Ok(ReceiveStatus::Waiting(progress)) => {
                    // Frames are collected but nothing can rebuild them: say so.
                    let stuck = !sampler.decoder.can_rebuild();
                    screen
                        .hint
                        .set(stuck.then(|| FrameDecoder::NO_WORKER.to_owned()));
                    screen.view.set(ScanView::Scanning {
                        percent: progress.map(|p| percent(p.fraction())),
                    });
                }
                // Rebuilt above; never a second time for one text.
                Ok(ReceiveStatus::Rebuild(_)) => {}
                Err(TransportError::Scan(
                    error @ (ScanError::WrongKind { .. }
                    | ScanError::Corrupt
                    | ScanError::GaveUp(_)),
                ))
                | Err(TransportError::Scan(
                    error @ ScanError::Frame(ops_transport::frame::FrameError::NotOpsFrame),
                )) => {
                    screen.hint.set(Some(sentence(&error.to_string())));
                }
                // A misread frame: the next ones will do.
                Err(_) => {}
            }
        }
    }
    stop(&stream);
}
