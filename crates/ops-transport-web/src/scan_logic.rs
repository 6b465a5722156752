//! The scanner's decisions as plain types: what to tell the user about a camera
//! problem, how often to sample frames, and decode-time statistics.

/// Why the camera cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraProblem {
    /// The user (or a policy) refused camera access.
    Denied,
    /// No camera exists, or none matches the request.
    NoCamera,
    /// The camera is busy in another app or tab.
    InUse,
    /// The page is not a secure context or the browser has no `getUserMedia`.
    Unsupported,
    /// Anything else, with the browser's text.
    Other(String),
}

impl CameraProblem {
    /// Classifies a `getUserMedia` failure by its `DOMException` name.
    pub fn from_dom_error(name: &str, message: &str) -> Self {
        match name {
            "NotAllowedError" | "SecurityError" | "PermissionDeniedError" => Self::Denied,
            "NotFoundError" | "OverconstrainedError" | "DevicesNotFoundError" => Self::NoCamera,
            "NotReadableError" | "TrackStartError" | "AbortError" => Self::InUse,
            "TypeError" | "NotSupportedError" => Self::Unsupported,
            _ => Self::Other(format!("{name}: {message}")),
        }
    }

    /// A sentence for the screen saying what happened and what to do.
    pub fn message(&self) -> String {
        match self {
            Self::Denied => "Camera access was refused. Allow the camera for this site in the browser's settings, then try again.".into(),
            Self::NoCamera => "No camera was found. Connect a camera, or use NFC instead.".into(),
            Self::InUse => "The camera is in use by another app. Close it and try again.".into(),
            Self::Unsupported => "This browser cannot use the camera here. Open the app over https in a current browser.".into(),
            Self::Other(text) => format!("The camera could not start ({text}). Try again."),
        }
    }
}

/// Adaptive sampling: never more often than `min_interval_ms`, and leave the main
/// thread idle at least as long as the last decode took, so the UI stays responsive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    /// Shortest pause between two samples.
    pub min_interval_ms: f64,
    /// Longest pause between two samples.
    pub max_interval_ms: f64,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            min_interval_ms: 60.0,
            max_interval_ms: 500.0,
        }
    }
}

impl Throttle {
    /// Pause before the next sample, given how long the last decode took.
    pub fn next_delay_ms(&self, last_decode_ms: f64) -> i32 {
        let wanted = last_decode_ms.max(0.0).max(self.min_interval_ms);
        wanted.min(self.max_interval_ms).round() as i32
    }
}

/// Decode time per sampled camera frame.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DecodeStats {
    /// Frames decoded.
    pub frames: u32,
    /// Sum of decode times.
    pub total_ms: f64,
    /// Slowest frame.
    pub max_ms: f64,
}

impl DecodeStats {
    /// Records one frame's decode time.
    pub fn record(&mut self, ms: f64) {
        self.frames += 1;
        self.total_ms += ms;
        self.max_ms = self.max_ms.max(ms);
    }

    /// Mean decode time, 0 before the first frame.
    pub fn mean_ms(&self) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            self.total_ms / f64::from(self.frames)
        }
    }
}

/// Size to sample a `video_width`×`video_height` frame at: at most `max_width` wide,
/// same aspect ratio (a 640×480 sample keeps a 65-module code at several pixels per module).
pub fn sample_size(video_width: u32, video_height: u32, max_width: u32) -> Option<(u32, u32)> {
    if video_width == 0 || video_height == 0 {
        return None;
    }
    let width = video_width.min(max_width.max(1));
    let height = (u64::from(video_height) * u64::from(width) / u64::from(video_width)).max(1);
    Some((width, u32::try_from(height).ok()?))
}

/// An error's text as a sentence for the screen: capital first letter, full stop.
pub fn sentence(text: &str) -> String {
    let mut chars = text.trim_end_matches('.').chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// Milliseconds with two decimals ("12.35") by integer arithmetic: formatting an `f64`
/// directly links core's float printing (about 15 KB of wasm) into every app.
pub fn hundredths(ms: f64) -> String {
    let cents = (ms.max(0.0) * 100.0 + 0.5) as u64;
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Percent shown on the progress bar for a fraction in `0..=1`.
pub fn percent(fraction: f32) -> u32 {
    (fraction.clamp(0.0, 1.0) * 100.0).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hundredths_match_float_formatting() {
        for ms in [0.0, 0.004, 0.005, 1.0, 12.345, 46.999, 1234.5] {
            assert_eq!(hundredths(ms), format!("{ms:.2}"), "{ms}");
        }
        assert_eq!(hundredths(-3.0), "0.00");
    }

    #[test]
    fn camera_problems_are_classified_and_explained() {
        assert_eq!(
            CameraProblem::from_dom_error("NotAllowedError", ""),
            CameraProblem::Denied
        );
        assert_eq!(
            CameraProblem::from_dom_error("NotFoundError", ""),
            CameraProblem::NoCamera
        );
        assert_eq!(
            CameraProblem::from_dom_error("OverconstrainedError", ""),
            CameraProblem::NoCamera
        );
        assert_eq!(
            CameraProblem::from_dom_error("NotReadableError", ""),
            CameraProblem::InUse
        );
        assert!(CameraProblem::Denied.message().contains("Allow the camera"));
        assert!(CameraProblem::NoCamera.message().contains("No camera"));
        assert!(
            CameraProblem::from_dom_error("Weird", "x")
                .message()
                .contains("Weird: x")
        );
    }

    #[test]
    fn throttle_follows_decode_time_within_bounds() {
        let throttle = Throttle::default();
        assert_eq!(throttle.next_delay_ms(5.0), 60);
        assert_eq!(throttle.next_delay_ms(120.4), 120);
        assert_eq!(throttle.next_delay_ms(9000.0), 500);
        assert_eq!(throttle.next_delay_ms(f64::NAN), 60);
    }

    #[test]
    fn stats_and_sizes() {
        let mut stats = DecodeStats::default();
        assert_eq!(stats.mean_ms(), 0.0);
        stats.record(10.0);
        stats.record(30.0);
        assert_eq!(
            (stats.frames, stats.mean_ms(), stats.max_ms),
            (2, 20.0, 30.0)
        );
        assert_eq!(sample_size(1280, 720, 640), Some((640, 360)));
        assert_eq!(sample_size(320, 240, 640), Some((320, 240)));
        assert_eq!(sample_size(0, 240, 640), None);
        assert_eq!(percent(0.426), 43);
        assert_eq!(percent(2.0), 100);
        assert_eq!(sentence("keep scanning"), "Keep scanning.");
        assert_eq!(sentence("done."), "Done.");
        assert_eq!(sentence(""), "");
    }
}
