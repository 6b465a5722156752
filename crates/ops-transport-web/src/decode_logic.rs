//! Which decoder reads the camera frames, and the QR worker's supervision, as plain
//! types: a crashed or silent worker is replaced, counted, and scanning goes on; a worker
//! that never starts is given up for the in-page decoder.

use crate::scan_logic::DecodeStats;

/// What decodes the sampled camera frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecoderKind {
    /// The browser's `BarcodeDetector` (Android Chrome, macOS).
    BarcodeDetector,
    /// rqrr in a dedicated Web Worker (its own wasm instance: a trap kills only it).
    Worker,
    /// rqrr in the page (no worker URL given, or the worker cannot start here).
    InPage,
}

impl DecoderKind {
    /// Chooses the decoder: the browser's detector where it exists, else the worker when
    /// the app ships one, else rqrr in the page.
    pub fn choose(has_barcode_detector: bool, worker_url: Option<&str>) -> Self {
        match (has_barcode_detector, worker_url) {
            (true, _) => Self::BarcodeDetector,
            (false, Some(url)) if !url.is_empty() => Self::Worker,
            _ => Self::InPage,
        }
    }

    /// The name shown in the scanner's `data-decoder` attribute.
    pub fn name(self) -> &'static str {
        match self {
            Self::BarcodeDetector => "barcode-detector",
            Self::Worker => "worker",
            Self::InPage => "in-page",
        }
    }
}

/// Timeouts and the give-up rule of the QR worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerSettings {
    /// How long a new worker may take to load its wasm and say it is ready.
    pub ready_timeout_ms: i32,
    /// How long one frame may take in the worker before it is considered hung.
    pub decode_timeout_ms: i32,
    /// Consecutive failed starts after which the in-page decoder takes over.
    pub max_failed_starts: u32,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            // A cold start compiles about 200 KB of wasm: well under a second on phones.
            ready_timeout_ms: 10_000,
            // rqrr takes 20-60 ms per 640×480 frame (release, this machine); 50× margin.
            decode_timeout_ms: 3_000,
            max_failed_starts: 3,
        }
    }
}

/// Frames decoded per decoder and what happened to the QR worker; the scanner shows them
/// as data attributes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DecoderCounts {
    /// Frames answered by the worker.
    pub worker_frames: u32,
    /// Frames decoded in the page.
    pub in_page_frames: u32,
    /// Frames read by `BarcodeDetector`.
    pub detector_frames: u32,
    /// Workers that trapped or died (`error` event).
    pub worker_crashes: u32,
    /// Workers that did not answer a frame in time.
    pub worker_timeouts: u32,
    /// Workers started to replace a lost one.
    pub worker_respawns: u32,
    /// Workers that did not start (no `ready` in time, or `new Worker` refused).
    pub worker_failed_starts: u32,
    /// Decode time inside the worker (without the transfer).
    pub worker_decode: DecodeStats,
}

impl DecoderCounts {
    /// Records one frame decoded by `kind`.
    pub fn record_frame(&mut self, kind: DecoderKind) {
        match kind {
            DecoderKind::BarcodeDetector => self.detector_frames += 1,
            DecoderKind::Worker => self.worker_frames += 1,
            DecoderKind::InPage => self.in_page_frames += 1,
        }
    }
}

/// The QR worker's life: when to start one, what a loss costs, when to give up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerSupervisor {
    settings: WorkerSettings,
    failed_starts_in_a_row: u32,
    lost_one: bool,
    counts: DecoderCounts,
}

impl WorkerSupervisor {
    /// A supervisor with `settings`.
    pub fn new(settings: WorkerSettings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }

    /// The settings.
    pub fn settings(&self) -> WorkerSettings {
        self.settings
    }

    /// The counts so far.
    pub fn counts(&self) -> DecoderCounts {
        self.counts
    }

    /// Mutable counts (frames of the other decoders after a fallback).
    pub fn counts_mut(&mut self) -> &mut DecoderCounts {
        &mut self.counts
    }

    /// True once the worker failed to start `max_failed_starts` times in a row: the
    /// in-page decoder takes over for the rest of the scan.
    pub fn gave_up(&self) -> bool {
        self.failed_starts_in_a_row >= self.settings.max_failed_starts
    }

    /// A worker is being started (lazily, for the next frame).
    pub fn on_spawn(&mut self) {
        if std::mem::take(&mut self.lost_one) {
            self.counts.worker_respawns += 1;
        }
    }

    /// The worker said it is ready.
    pub fn on_ready(&mut self) {
        self.failed_starts_in_a_row = 0;
    }

    /// The worker did not start.
    pub fn on_start_failed(&mut self) {
        self.failed_starts_in_a_row += 1;
        self.counts.worker_failed_starts += 1;
        self.lost_one = true;
    }

    /// The worker answered a frame; `ms` is its own decode time.
    pub fn on_answer(&mut self, ms: f64) {
        self.counts.record_frame(DecoderKind::Worker);
        self.counts.worker_decode.record(ms);
    }

    /// The worker trapped or died; it has been terminated.
    pub fn on_crash(&mut self) {
        self.counts.worker_crashes += 1;
        self.lost_one = true;
    }

    /// The worker did not answer in time; it has been terminated.
    pub fn on_timeout(&mut self) {
        self.counts.worker_timeouts += 1;
        self.lost_one = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detector_wins_then_the_worker_then_the_page() {
        assert_eq!(
            DecoderKind::choose(true, Some("w.js")),
            DecoderKind::BarcodeDetector
        );
        assert_eq!(
            DecoderKind::choose(false, Some("w.js")),
            DecoderKind::Worker
        );
        assert_eq!(DecoderKind::choose(false, Some("")), DecoderKind::InPage);
        assert_eq!(DecoderKind::choose(false, None), DecoderKind::InPage);
        assert_eq!(DecoderKind::Worker.name(), "worker");
        assert_eq!(DecoderKind::InPage.name(), "in-page");
    }

    #[test]
    fn a_crash_is_counted_and_the_next_start_is_a_respawn() {
        let mut supervisor = WorkerSupervisor::default();
        supervisor.on_spawn();
        supervisor.on_ready();
        supervisor.on_answer(20.0);
        supervisor.on_crash();
        assert_eq!(supervisor.counts().worker_respawns, 0, "not yet replaced");
        supervisor.on_spawn();
        supervisor.on_ready();
        supervisor.on_answer(40.0);
        supervisor.on_spawn(); // a later start without a loss is not a respawn
        let counts = supervisor.counts();
        assert_eq!(
            (
                counts.worker_frames,
                counts.worker_crashes,
                counts.worker_respawns
            ),
            (2, 1, 1)
        );
        assert_eq!(counts.worker_decode.mean_ms(), 30.0);
        assert!(!supervisor.gave_up());
    }

    #[test]
    fn timeouts_respawn_and_never_give_up_the_worker() {
        let mut supervisor = WorkerSupervisor::default();
        for _ in 0..10 {
            supervisor.on_spawn();
            supervisor.on_ready();
            supervisor.on_timeout();
        }
        supervisor.on_spawn();
        assert_eq!(supervisor.counts().worker_timeouts, 10);
        assert_eq!(supervisor.counts().worker_respawns, 10);
        assert!(!supervisor.gave_up());
    }

    #[test]
    fn three_failed_starts_in_a_row_give_up_for_the_page() {
        let mut supervisor = WorkerSupervisor::new(WorkerSettings::default());
        supervisor.on_spawn();
        supervisor.on_start_failed();
        supervisor.on_spawn();
        supervisor.on_ready(); // a success resets the streak
        supervisor.on_crash();
        for _ in 0..2 {
            supervisor.on_spawn();
            supervisor.on_start_failed();
        }
        assert!(!supervisor.gave_up());
        supervisor.on_spawn();
        supervisor.on_start_failed();
        assert!(supervisor.gave_up());
        assert_eq!(supervisor.counts().worker_failed_starts, 4);
        let mut counts = supervisor.counts();
        counts.record_frame(DecoderKind::InPage);
        counts.record_frame(DecoderKind::BarcodeDetector);
        assert_eq!((counts.in_page_frames, counts.detector_frames), (1, 1));
    }
}
