//! The animated QR player: shows a message's frames on a canvas at the preset's rate
//! (one static code for a small message).
//!
//! The frames come from the QR worker when the app ships it (RaptorQ stays out of the
//! app's bundle), else from the fountain encoder in the page (feature
//! `in-page-decoder`). The player shows [`Preset::loop_frames`] distinct frames in a loop.

use crate::canvas::{self, DEFAULT_SIDE_CSS_PX};
use crate::decode_logic::WorkerSettings;
use crate::worker_decoder::{WorkerDecoder, WorkerError};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ops_transport::qr::QrMatrix;
use ops_transport::{Message, Preset};
use std::rc::Rc;
use std::time::Duration;

/// What the player shows about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PlayerState {
    Preparing,
    Playing { frame: u32, animated: bool },
    Failed(String),
}

/// How often a worker that crashed or timed out is asked again for the frames.
const ENCODE_ATTEMPTS: u32 = 3;

/// The frame texts of `message`: from the worker at `worker`, else in the page.
async fn frame_texts(
    message: &Message,
    preset: Preset,
    worker: Option<String>,
) -> Result<Vec<String>, String> {
    let count = preset.loop_frames(message.body.len());
    if let Some(url) = worker.filter(|url| !url.is_empty()) {
        let mut encoder = WorkerDecoder::new(&url, WorkerSettings::default());
        let mut last = String::new();
        for _ in 0..ENCODE_ATTEMPTS {
            match encoder.encode(message, preset, count).await {
                Ok(texts) if !texts.is_empty() => return Ok(texts),
                Ok(_) => last = "the QR worker returned no frames".into(),
                Err(WorkerError::Refused { message, .. }) => return Err(message),
                Err(error) => last = error.to_string(),
            }
        }
        return Err(last);
    }
    in_page(message, preset, count)
}

#[cfg(feature = "in-page-decoder")]
fn in_page(message: &Message, preset: Preset, count: u32) -> Result<Vec<String>, String> {
    let encoder =
        ops_transport::AnimatedEncoder::new(message, preset).map_err(|e| e.to_string())?;
    Ok(if encoder.is_static() {
        vec![encoder.frame_text(0)]
    } else {
        encoder.frames(count)
    })
}

#[cfg(not(feature = "in-page-decoder"))]
fn in_page(_: &Message, _: Preset, _: u32) -> Result<Vec<String>, String> {
    Err("this app draws animated QR codes with its QR worker, which is missing: reload the page once while online".into())
}

/// Shows `message` as an animated (or static) QR code until unmounted.
///
/// The canvas carries `data-testid="qr-canvas"` and `data-frame` (the index of the frame
/// on screen, counting up through the loop); a failure is shown in
/// `data-testid="qr-error"`.
#[component]
pub fn AnimatedQr(
    /// The message to show.
    message: Message,
    /// Frame size and rate.
    #[prop(default = Preset::DEFAULT)]
    preset: Preset,
    /// Side of the code in CSS pixels.
    #[prop(default = DEFAULT_SIDE_CSS_PX)]
    side_px: u32,
    /// URL of the QR worker's loader script (`ops-qr-worker_loader.js` in the app's
    /// build); without it the frames are made in the page.
    #[prop(optional, into)]
    worker: Option<String>,
) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let state = RwSignal::new(PlayerState::Preparing);
    let frames = RwSignal::new_local(None::<Rc<Vec<String>>>);
    spawn_local(async move {
        match frame_texts(&message, preset, worker).await {
            Ok(texts) => {
                let _ = frames.try_set(Some(Rc::new(texts)));
            }
            Err(error) => {
                let _ = state.try_set(PlayerState::Failed(format!(
                    "The QR code could not be prepared: {error}"
                )));
            }
        }
    });
    let show = move |texts: &[String], index: u32| {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let Some(text) = texts.get(index as usize % texts.len().max(1)) else {
            return;
        };
        let result = QrMatrix::encode(text)
            .map_err(|error| error.to_string())
            .and_then(|matrix| canvas::draw(&canvas, &matrix, side_px).map_err(|e| e.to_string()));
        match result {
            Ok(_) => state.set(PlayerState::Playing {
                frame: index,
                animated: texts.len() > 1,
            }),
            Err(error) => state.set(PlayerState::Failed(error)),
        }
    };
    let interval_handle = StoredValue::new(None::<IntervalHandle>);
    on_cleanup(move || {
        if let Some(handle) = interval_handle.get_value() {
            handle.clear();
        }
    });
    let interval = Duration::from_millis(u64::from(preset.frame_interval_ms()));
    Effect::new(move |started: Option<bool>| {
        if started == Some(true) {
            return true;
        }
        let (Some(_), Some(texts)) = (canvas_ref.get(), frames.get()) else {
            return false;
        };
        show(&texts, 0);
        if texts.len() > 1 {
            let index = std::cell::Cell::new(0u32);
            let tick = move || {
                let next = index.get().wrapping_add(1);
                index.set(next);
                show(&texts, next);
            };
            if let Ok(handle) = set_interval_with_handle(tick, interval) {
                interval_handle.set_value(Some(handle));
            }
        }
        true
    });
    let frame = move || match state.get() {
        PlayerState::Playing { frame, .. } => frame.to_string(),
        PlayerState::Preparing | PlayerState::Failed(_) => String::new(),
    };
    view! {
        <div class="qr-player" data-testid="qr-player">
            <canvas
                node_ref=canvas_ref
                data-testid="qr-canvas"
                data-frame=frame
                style="image-rendering: pixelated; max-width: 100%; background: #fff;"
                aria-label="QR code for the other device's camera"
            ></canvas>
            {move || match state.get() {
                PlayerState::Failed(error) => view! { <p class="error" role="alert" data-testid="qr-error">{error}</p> }.into_any(),
                PlayerState::Preparing => view! { <p class="hint">"Preparing the code…"</p> }.into_any(),
                PlayerState::Playing { animated: true, .. } => view! { <p class="hint">"Hold the other device's camera to this code until it confirms."</p> }.into_any(),
                PlayerState::Playing { .. } => view! { <p class="hint">"Scan this code with the other device."</p> }.into_any(),
            }}
        </div>
    }
}
