//! QR codes: frame text → module matrix (qrcodegen), camera luma image → texts (rqrr).

use qrcodegen::{QrCode, QrCodeEcc, QrSegment, Version};

/// Modules of white border the QR specification asks for around a code.
pub const QUIET_ZONE_MODULES: usize = 4;
/// Largest camera frame side [`decode_luma`] accepts, in pixels.
pub const MAX_IMAGE_SIDE: usize = 4096;

/// What went wrong encoding or decoding a QR code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The text does not fit the largest QR code.
    #[error("{0} characters do not fit in one QR code; send the message animated")]
    TooLong(usize),
    /// The luma buffer does not match the stated size.
    #[error("image buffer holds {got} bytes, but {width}x{height} needs {expected}")]
    BadImage {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// The image is larger than a camera frame should be.
    #[error(
        "image of {width}x{height} is larger than {MAX_IMAGE_SIDE} pixels a side; scale it down"
    )]
    ImageTooLarge {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
}

/// A QR code as a square of dark (`true`) and light modules, without quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    size: usize,
    version: u8,
    modules: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `text` at error-correction level M or better (raised when it costs no
    /// size), in alphanumeric mode when the text allows it — OPS frames always do.
    pub fn encode(text: &str) -> Result<Self, QrError> {
        let segments = if QrSegment::is_alphanumeric(text) {
            vec![QrSegment::make_alphanumeric(text)]
        } else {
            vec![QrSegment::make_bytes(text.as_bytes())]
        };
        let code = QrCode::encode_segments_advanced(
            &segments,
            QrCodeEcc::Medium,
            Version::MIN,
            Version::MAX,
            None,
            true,
        )
        .map_err(|_| QrError::TooLong(text.len()))?;
        let size = usize::try_from(code.size()).unwrap_or(0);
        let mut modules = Vec::with_capacity(size * size);
        for y in 0..code.size() {
            for x in 0..code.size() {
                modules.push(code.get_module(x, y));
            }
        }
        Ok(Self {
            size,
            version: code.version().value(),
            modules,
        })
    }

    /// Modules per side (21 for version 1, 65 for version 12, …).
    pub fn size(&self) -> usize {
        self.size
    }

    /// The QR version (1..=40).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Whether the module at column `x`, row `y` is dark (false outside the code).
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.size
            && y < self.size
            && self
                .modules
                .get(y * self.size + x)
                .copied()
                .unwrap_or(false)
    }

    /// Side in modules including the quiet zone on both sides.
    pub fn side_with_quiet_zone(&self) -> usize {
        self.size + 2 * QUIET_ZONE_MODULES
    }

    /// Renders to an 8-bit luma square of `side_with_quiet_zone() * scale` pixels
    /// (0 = dark module, 255 = light), quiet zone included.
    pub fn to_luma(&self, scale: usize) -> (usize, Vec<u8>) {
        let scale = scale.max(1);
        let side = self.side_with_quiet_zone() * scale;
        let mut pixels = vec![255u8; side * side];
        for y in 0..self.size {
            for x in 0..self.size {
                if !self.is_dark(x, y) {
                    continue;
                }
                let (px, py) = (
                    (x + QUIET_ZONE_MODULES) * scale,
                    (y + QUIET_ZONE_MODULES) * scale,
                );
                for row in py..py + scale {
                    if let Some(line) = pixels.get_mut(row * side + px..row * side + px + scale) {
                        line.fill(0);
                    }
                }
            }
        }
        (side, pixels)
    }
}

impl QrMatrix {
    /// An SVG image of the code with its quiet zone, one unit per module (scale it with
    /// CSS; `shape-rendering: crispEdges` keeps edges sharp). Dark runs of a row are one
    /// path segment each.
    pub fn to_svg(&self) -> String {
        let side = self.side_with_quiet_zone();
        let mut path = String::new();
        for y in 0..self.size {
            let mut x = 0;
            while x < self.size {
                if !self.is_dark(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < self.size && self.is_dark(x, y) {
                    x += 1;
                }
                path.push_str(&format!(
                    "M{} {}h{}v1h-{}z",
                    start + QUIET_ZONE_MODULES,
                    y + QUIET_ZONE_MODULES,
                    x - start,
                    x - start
                ));
            }
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
        )
    }
}

/// Finds and decodes every QR code in an 8-bit luma image (row-major, `width*height`
/// bytes). Codes that cannot be read are skipped; an image with none gives an empty list.
pub fn decode_luma(width: usize, height: usize, luma: &[u8]) -> Result<Vec<String>, QrError> {
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(QrError::ImageTooLarge { width, height });
    }
    let expected = width * height;
    if luma.len() != expected {
        return Err(QrError::BadImage {
            width,
            height,
            expected,
            got: luma.len(),
        });
    }
    if width == 0 || height == 0 {
        return Ok(Vec::new());
    }
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        luma.get(y * width + x).copied().unwrap_or(255)
    });
    Ok(image
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect())
}

/// Converts RGBA pixels (a canvas's `ImageData`) to luma (BT.601 weights).
pub fn rgba_to_luma(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4)
        .map(|p| {
            let y = 299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]);
            u8::try_from(y / 1000).unwrap_or(u8::MAX)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AnimatedEncoder, Message, MessageKind, Preset};

    #[test]
    fn default_preset_frames_fit_version_12_m_and_decode_back() {
        let message = Message::new(MessageKind::Payment, vec![0xA5; 600]);
        let encoder = AnimatedEncoder::new(&message, Preset::DEFAULT).unwrap();
        for text in encoder.frames(4) {
            let matrix = QrMatrix::encode(&text).unwrap();
            assert!(matrix.version() <= 12, "version {}", matrix.version());
            let (side, luma) = matrix.to_luma(4);
            assert_eq!(decode_luma(side, side, &luma).unwrap(), vec![text]);
        }
    }

    #[test]
    fn slow_preset_frames_are_smaller() {
        let message = Message::new(MessageKind::Payment, vec![7; 600]);
        let encoder = AnimatedEncoder::new(&message, Preset::SLOW).unwrap();
        let matrix = QrMatrix::encode(&encoder.frame_text(0)).unwrap();
        assert!(matrix.version() <= 8, "version {}", matrix.version());
    }

    #[test]
    fn decodes_a_code_placed_in_a_larger_camera_frame() {
        let matrix = QrMatrix::encode("OPS1HELLO").unwrap();
        let (side, code) = matrix.to_luma(6);
        let (width, height) = (640, 480);
        let mut frame = vec![200u8; width * height];
        for y in 0..side {
            let row = (y + 40) * width + 100;
            frame[row..row + side].copy_from_slice(&code[y * side..(y + 1) * side]);
        }
        assert_eq!(
            decode_luma(width, height, &frame).unwrap(),
            vec!["OPS1HELLO".to_owned()]
        );
    }

    #[test]
    fn svg_has_the_quiet_zone_and_every_dark_module() {
        let matrix = QrMatrix::encode("OPS1HELLO").unwrap();
        let svg = matrix.to_svg();
        assert!(svg.starts_with("<svg") && svg.contains("viewBox=\"0 0 29 29\""));
        let dark_in_path: usize = svg
            .split('h')
            .skip(1)
            .filter_map(|part| part.split('v').next()?.parse::<usize>().ok())
            .sum();
        let dark = (0..21)
            .flat_map(|y| (0..21).map(move |x| (x, y)))
            .filter(|&(x, y)| matrix.is_dark(x, y))
            .count();
        assert_eq!(dark_in_path, dark);
    }

    #[test]
    fn bad_buffers_are_errors_not_panics() {
        assert!(matches!(
            decode_luma(10, 10, &[0; 5]),
            Err(QrError::BadImage { .. })
        ));
        assert!(matches!(
            decode_luma(5000, 1, &[0; 5000]),
            Err(QrError::ImageTooLarge { .. })
        ));
        assert_eq!(decode_luma(0, 0, &[]).unwrap(), Vec::<String>::new());
        assert_eq!(decode_luma(4, 4, &[0; 16]).unwrap(), Vec::<String>::new());
        assert!(matches!(
            QrMatrix::encode(&"A".repeat(5000)),
            Err(QrError::TooLong(5000))
        ));
        assert_eq!(
            rgba_to_luma(&[255, 255, 255, 255, 0, 0, 0, 255]),
            vec![255, 0]
        );
    }
}
