//! Presets (frame size and rate) and the decoder's hard limits.

/// Largest message any OPS transport accepts, whatever the configuration (1 MiB).
/// The frame header stores lengths in 24 bits, so this is also a format bound.
pub const HARD_MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Most characters a QR code can hold in alphanumeric mode (version 40, level L).
pub const QR_MAX_ALPHANUMERIC_CHARS: usize = 4296;

/// How the sender animates: bytes per frame and frames per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// Payload bytes per fountain frame (the RaptorQ symbol size).
    pub symbol_size: u16,
    /// Frames shown per second.
    pub frames_per_second: u8,
}

impl Preset {
    /// Phone cameras of the last years: 256-byte symbols (a version 12-M code, 65×65
    /// modules) at 10 frames per second.
    pub const DEFAULT: Preset = Preset {
        symbol_size: 256,
        frames_per_second: 10,
    };
    /// Old or slow devices: 120-byte symbols (version 8-M, 49×49 modules) at 5 frames per
    /// second — bigger modules, more time per frame for a slow decoder.
    pub const SLOW: Preset = Preset {
        symbol_size: 120,
        frames_per_second: 5,
    };

    /// How many distinct frames a sender shows, in a loop, for a message of
    /// `message_len` bytes: one for a static code, else `4K` (at least 24, at most
    /// 4096). Any `K` (rarely `K+2`) distinct frames rebuild the message, so a receiver
    /// that loses three frames in four still completes within one loop, and a frame
    /// missed in one loop comes back in the next.
    pub fn loop_frames(&self, message_len: usize) -> u32 {
        let symbol_size = usize::from(self.symbol_size).max(1);
        if message_len <= symbol_size {
            return 1;
        }
        let k = u32::try_from(message_len.div_ceil(symbol_size)).unwrap_or(u32::MAX);
        k.saturating_mul(4).clamp(24, 4096)
    }

    /// Milliseconds each frame stays on screen.
    pub fn frame_interval_ms(&self) -> u32 {
        1000 / u32::from(self.frames_per_second.max(1))
    }
}

impl Default for Preset {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Limits a receiver enforces before it allocates anything for a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message accepted, in bytes (capped by [`HARD_MAX_MESSAGE_BYTES`]).
    pub max_message_bytes: usize,
    /// Longest frame text accepted, in characters.
    pub max_frame_chars: usize,
    /// Largest symbol (bytes per frame) accepted.
    pub max_symbol_size: u16,
    /// Most source symbols (frames needed without loss) a message may have.
    pub max_source_symbols: u32,
    /// Distinct frames beyond the source-symbol count after which a transfer that still
    /// does not decode is abandoned (RaptorQ needs about 2 extra in the worst case seen).
    pub max_extra_frames: u32,
}

impl Limits {
    /// 64 KiB messages, frames up to a full version-40 code, at most 1,024 frames.
    pub const DEFAULT: Limits = Limits {
        max_message_bytes: 64 * 1024,
        max_frame_chars: QR_MAX_ALPHANUMERIC_CHARS,
        max_symbol_size: 2048,
        max_source_symbols: 1024,
        max_extra_frames: 64,
    };

    /// The effective message cap (never above the format's hard bound).
    pub fn message_cap(&self) -> usize {
        self.max_message_bytes.min(HARD_MAX_MESSAGE_BYTES)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_is_four_times_the_source_symbols_within_bounds() {
        let preset = Preset::DEFAULT;
        assert_eq!(preset.loop_frames(1), 1);
        assert_eq!(preset.loop_frames(256), 1);
        assert_eq!(preset.loop_frames(257), 24);
        assert_eq!(preset.loop_frames(256 * 10), 40);
        assert_eq!(preset.loop_frames(256 * 2000), 4096);
        assert_eq!(Preset::SLOW.loop_frames(1200), 40);
    }
}
