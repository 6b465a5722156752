//! The animated QR player: shows a message's frames on a canvas at the preset's rate
//! (one static code for a small message).

use crate::canvas::{self, DEFAULT_SIDE_CSS_PX};
use leptos::prelude::*;
use ops_transport::qr::QrMatrix;
use ops_transport::{AnimatedEncoder, Message, Preset};
use std::time::Duration;

/// What the player shows about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PlayerState {
    Playing { frame: u32, animated: bool },
    Failed(String),
}

/// Shows `message` as an animated (or static) QR code until unmounted.
///
/// The canvas carries `data-testid="qr-canvas"` and `data-frame` (the index of the frame
/// on screen); a failure is shown in `data-testid="qr-error"`.
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
) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let state = RwSignal::new(PlayerState::Playing {
        frame: 0,
        animated: false,
    });
    let encoder = match AnimatedEncoder::new(&message, preset) {
        Ok(encoder) => Some(encoder),
        Err(error) => {
            state.set(PlayerState::Failed(error.to_string()));
            None
        }
    };
    let show = move |encoder: &AnimatedEncoder, index: u32| {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let result = QrMatrix::encode(&encoder.frame_text(index))
            .map_err(|error| error.to_string())
            .and_then(|matrix| canvas::draw(&canvas, &matrix, side_px).map_err(|e| e.to_string()));
        match result {
            Ok(_) => state.set(PlayerState::Playing {
                frame: index,
                animated: !encoder.is_static(),
            }),
            Err(error) => state.set(PlayerState::Failed(error)),
        }
    };
    let started = StoredValue::new(false);
    let interval_handle = StoredValue::new(None::<IntervalHandle>);
    on_cleanup(move || {
        if let Some(handle) = interval_handle.get_value() {
            handle.clear();
        }
    });
    if let Some(encoder) = encoder {
        let interval = Duration::from_millis(u64::from(preset.frame_interval_ms()));
        Effect::new(move |_| {
            if canvas_ref.get().is_none() || started.get_value() {
                return;
            }
            started.set_value(true);
            show(&encoder, 0);
            if encoder.is_static() {
                return;
            }
            let encoder = encoder.clone();
            let index = std::cell::Cell::new(0u32);
            let tick = move || {
                let next = index.get().wrapping_add(1);
                index.set(next);
                show(&encoder, next);
            };
            if let Ok(handle) = set_interval_with_handle(tick, interval) {
                interval_handle.set_value(Some(handle));
            }
        });
    }
    let frame = move || match state.get() {
        PlayerState::Playing { frame, .. } => frame.to_string(),
        PlayerState::Failed(_) => String::new(),
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
                PlayerState::Failed(error) => view! { <p class="error" data-testid="qr-error">{error}</p> }.into_any(),
                PlayerState::Playing { animated: true, .. } => view! { <p class="hint">"Hold the other device's camera to this code until it confirms."</p> }.into_any(),
                PlayerState::Playing { .. } => view! { <p class="hint">"Scan this code with the other device."</p> }.into_any(),
            }}
        </div>
    }
}
