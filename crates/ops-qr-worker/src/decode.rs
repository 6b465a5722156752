//! Decoding one RGBA frame: size checks, luma conversion, rqrr.

use ops_transport::qr::{MAX_IMAGE_SIDE, decode_luma, rgba_to_luma};

/// Why a frame could not be decoded (a frame without a code is not an error: it gives no
/// texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The byte count does not match the size.
    #[error(
        "the camera frame is {width}×{height} pixels but carries {got} bytes of RGBA instead of {expected}"
    )]
    WrongLength {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// `width × height × 4`.
        expected: u64,
        /// Bytes received.
        got: u64,
    },
    /// A side is larger than the decoder accepts.
    #[error(
        "the camera frame is {width}×{height} pixels; at most {max} pixels per side are decoded"
    )]
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The largest side accepted.
        max: usize,
    },
    /// The decoder refused the image.
    #[error("the QR decoder refused the camera frame: {0}")]
    Decoder(String),
    /// The worker got a message it does not understand (a version mismatch between the
    /// page and the worker files).
    #[error("the QR decoder worker got a message it does not understand ({0}); reload the page")]
    BadRequest(String),
}

impl FrameError {
    /// A stable code for the error, carried in the worker's answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongLength { .. } => "wrong-length",
            Self::TooLarge { .. } => "too-large",
            Self::Decoder(_) => "decoder",
            Self::BadRequest(_) => "bad-request",
        }
    }
}

/// Decodes every QR code in a `width`×`height` RGBA frame (a canvas's `ImageData`).
pub fn decode_rgba(width: u32, height: u32, rgba: &[u8]) -> Result<Vec<String>, FrameError> {
    let side_ok = |side: u32| usize::try_from(side).is_ok_and(|side| side <= MAX_IMAGE_SIDE);
    if !side_ok(width) || !side_ok(height) {
        return Err(FrameError::TooLarge {
            width,
            height,
            max: MAX_IMAGE_SIDE,
        });
    }
    let expected = u64::from(width) * u64::from(height) * 4;
    let got = rgba.len() as u64;
    if got != expected {
        return Err(FrameError::WrongLength {
            width,
            height,
            expected,
            got,
        });
    }
    let luma = rgba_to_luma(rgba);
    decode_luma(width as usize, height as usize, &luma)
        .map_err(|error| FrameError::Decoder(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ops_transport::qr::QrMatrix;

    /// A `side`×`side` RGBA image of `text`'s QR code, 4 px per module.
    fn rgba_code(text: &str) -> (u32, Vec<u8>) {
        let (side, luma) = QrMatrix::encode(text)
            .map(|m| m.to_luma(4))
            .unwrap_or_default();
        let rgba = luma.iter().flat_map(|&y| [y, y, y, 255]).collect();
        (side as u32, rgba)
    }

    #[test]
    fn a_code_decodes_to_its_text() {
        let (side, rgba) = rgba_code("OPS1HELLO");
        assert_eq!(
            decode_rgba(side, side, &rgba),
            Ok(vec!["OPS1HELLO".to_owned()])
        );
    }

    #[test]
    fn a_blank_frame_gives_no_texts() {
        assert_eq!(decode_rgba(8, 6, &[200; 8 * 6 * 4]), Ok(Vec::new()));
        assert_eq!(decode_rgba(0, 0, &[]), Ok(Vec::new()));
    }

    #[test]
    fn sizes_are_checked_before_decoding() {
        let error = decode_rgba(4, 4, &[0; 60]).unwrap_err();
        assert_eq!(
            error,
            FrameError::WrongLength {
                width: 4,
                height: 4,
                expected: 64,
                got: 60
            }
        );
        assert_eq!(error.code(), "wrong-length");
        assert!(error.to_string().contains("4×4"), "{error}");
        let error = decode_rgba(5000, 1, &[]).unwrap_err();
        assert_eq!(error.code(), "too-large");
        assert!(error.to_string().contains("at most 4096"), "{error}");
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(FrameError::Decoder(String::new()).code(), "decoder");
        assert_eq!(FrameError::BadRequest(String::new()).code(), "bad-request");
        assert!(
            FrameError::BadRequest("x".into())
                .to_string()
                .contains("reload the page")
        );
    }
}
