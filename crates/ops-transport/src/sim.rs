//! Loss simulation: how many frames a receiver must be shown before it completes, when
//! some frames are lost. Shared by the tests, the benchmarks and the docs' figures.

use crate::fountain::{AnimatedDecoder, AnimatedEncoder, EncodeError, ScanStatus};
use crate::limits::{Limits, Preset};
use crate::message::{Message, MessageKind};

/// A small deterministic PRNG (SplitMix64), so simulations are reproducible.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `0.0..1.0`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// A deterministic test payment body of `len` bytes (the same on every machine).
pub fn sample_body(len: usize, seed: u64) -> Vec<u8> {
    SplitMix64::new(seed).bytes(len)
}

/// Frames shown until one receiver completed, over several trials.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransferFigures {
    /// Frames without loss (`K`).
    pub source_frames: u32,
    /// Mean frames shown until complete.
    pub mean_frames: f64,
    /// 95th percentile of frames shown.
    pub p95_frames: u32,
    /// Worst trial.
    pub max_frames: u32,
}

impl TransferFigures {
    /// Seconds of animation for the mean at `frames_per_second`.
    pub fn mean_seconds(&self, frames_per_second: u8) -> f64 {
        self.mean_frames / f64::from(frames_per_second.max(1))
    }

    /// Seconds of animation for the 95th percentile.
    pub fn p95_seconds(&self, frames_per_second: u8) -> f64 {
        f64::from(self.p95_frames) / f64::from(frames_per_second.max(1))
    }
}

/// Summarises per-trial frame counts.
pub fn summarise(source_frames: u32, mut counts: Vec<u32>) -> TransferFigures {
    counts.sort_unstable();
    let n = counts.len().max(1);
    let mean = counts.iter().map(|&c| f64::from(c)).sum::<f64>() / n as f64;
    let p95 = counts
        .get((n * 95).div_ceil(100).saturating_sub(1))
        .copied()
        .unwrap_or(0);
    TransferFigures {
        source_frames,
        mean_frames: mean,
        p95_frames: p95,
        max_frames: counts.last().copied().unwrap_or(0),
    }
}

/// Shows the animated frames of a `len`-byte payment at `preset` to a receiver that
/// loses each frame with probability `loss`, starting at a random point of the loop;
/// counts frames shown until it completes. `None` in a trial that never completes within
/// 10,000 frames (never seen).
pub fn simulate(
    len: usize,
    preset: Preset,
    loss: f64,
    trials: u32,
    seed: u64,
) -> Result<TransferFigures, EncodeError> {
    let mut rng = SplitMix64::new(seed);
    let message = Message::new(MessageKind::Payment, rng.bytes(len));
    let encoder = AnimatedEncoder::new(&message, preset)?;
    let texts = encoder.frames(encoder.source_symbols() * 4 + 16);
    let mut counts = Vec::new();
    for _ in 0..trials {
        let mut decoder = AnimatedDecoder::expecting(MessageKind::Payment, Limits::DEFAULT);
        let start = (rng.next_u64() % texts.len() as u64) as usize;
        let mut shown = 0u32;
        loop {
            let text = &texts[(start + shown as usize) % texts.len()];
            shown += 1;
            if rng.next_f64() >= loss
                && let Ok(ScanStatus::Complete(received)) = decoder.receive(text)
            {
                if received == message {
                    counts.push(shown);
                }
                break;
            }
            if shown >= 10_000 {
                break;
            }
        }
    }
    Ok(summarise(encoder.source_symbols(), counts))
}

/// Decodes lowercase or uppercase hex (whitespace ignored); `None` if malformed.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// The fake camera's payment: the protocol's 3-hop payment test vector (1,537 bytes),
/// the same bytes in the video generator and in the browser test that checks them.
pub const FAKE_CAMERA_PAYMENT_HEX: &str = include_str!("../../../docs/vectors/payment-3hop.hex");

/// Frames of the fake-camera video: every frame index up to `3K`, minus every fourth
/// (dropped on purpose, as a camera misses frames).
pub fn fake_camera_texts(message: &Message, preset: Preset) -> Result<Vec<String>, EncodeError> {
    let encoder = AnimatedEncoder::new(message, preset)?;
    Ok((0..encoder.source_symbols() * 3)
        .filter(|index| index % 4 != 1)
        .map(|index| encoder.frame_text(index))
        .collect())
}
