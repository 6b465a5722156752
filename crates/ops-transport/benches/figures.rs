//! Figures for docs/PERFORMANCE.md (`cargo xtask bench`), without criterion: animated-QR
//! frames and seconds until a payment arrives, at each preset and 0, 20 and 40 % frame
//! loss, next to BC-UR multipart at the same QR version and frame rate.
//!
//! Each figure is the mean of [`TRIALS`] simulated receivers (random start in the loop,
//! each frame lost independently). Environment: `OPS_BENCH_RUN` (a number) picks the
//! random seed, so that runs differ; `OPS_BENCH_PAYMENT_BYTES` lists the payments as
//! `label=bytes` pairs separated by commas (default `1-hop=672,3-hop=1537`, the sizes of
//! the ops-core test payments). Prints `BENCH <section> | <row> | <column> | <value> <unit>`
//! lines. Run: `cargo bench -p ops-transport --bench figures`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark code

mod common;

use common::{simulate_ur, ur_fragment_for_version};
use ops_transport::qr::QrMatrix;
use ops_transport::sim::simulate;
use ops_transport::{AnimatedEncoder, Message, MessageKind, Preset};

const TRIALS: u32 = 1000;
const LOSSES: [f64; 3] = [0.0, 0.2, 0.4];

/// `(label, bytes)` of the payments to transfer.
fn payments() -> Vec<(String, usize)> {
    let text = std::env::var("OPS_BENCH_PAYMENT_BYTES")
        .unwrap_or_else(|_| "1-hop=672,3-hop=1537".to_owned());
    text.split(',')
        .filter_map(|pair| {
            let (label, bytes) = pair.split_once('=')?;
            Some((label.trim().to_owned(), bytes.trim().parse().ok()?))
        })
        .collect()
}

/// The QR version of a frame of a `len`-byte payment at `preset`.
fn qr_version(len: usize, preset: Preset) -> u8 {
    let encoder =
        AnimatedEncoder::new(&Message::new(MessageKind::Payment, vec![1; len]), preset).unwrap();
    QrMatrix::encode(&encoder.frame_text(0)).unwrap().version()
}

fn main() {
    let run: u64 = std::env::var("OPS_BENCH_RUN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let seed = 7 + run * 1_000_003;
    let presets = [("default", Preset::DEFAULT), ("slow", Preset::SLOW)];
    for (label, len) in payments() {
        let section = format!("Animated QR transfer of a {label} payment ({len} B)");
        for (name, preset) in presets {
            let fps = preset.frames_per_second;
            let version = qr_version(len, preset);
            let fragment = ur_fragment_for_version(len, version);
            for loss in LOSSES {
                let row = format!(
                    "{name} preset ({} B/frame, {fps} fps, QR version {version}; BC-UR {fragment} B/frame), {:.0} % loss",
                    preset.symbol_size,
                    loss * 100.0
                );
                let ops = simulate(len, preset, loss, TRIALS, seed).unwrap();
                let ur = simulate_ur(len, fragment, loss, TRIALS, seed);
                println!(
                    "BENCH {section} | {row} | OPS frames | {:.2} frames",
                    ops.mean_frames
                );
                println!(
                    "BENCH {section} | {row} | OPS seconds | {:.2} s",
                    ops.mean_seconds(fps)
                );
                println!(
                    "BENCH {section} | {row} | BC-UR frames | {:.2} frames",
                    ur.mean_frames
                );
                println!(
                    "BENCH {section} | {row} | BC-UR seconds | {:.2} s",
                    ur.mean_seconds(fps)
                );
            }
        }
    }
}
