//! A fake camera: frame texts rendered as QR codes into a YUV4MPEG2 video (`C420jpeg`),
//! which Chromium plays as its camera with `--use-file-for-fake-video-capture`. Used by
//! the browser tests; no I/O here (the caller writes the bytes).

use crate::qr::{QrError, QrMatrix};

/// Video geometry and rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoSpec {
    /// Width in pixels (even).
    pub width: usize,
    /// Height in pixels (even).
    pub height: usize,
    /// Frames per second.
    pub fps: u32,
    /// Pixels per QR module.
    pub module_px: usize,
    /// Grey level of the background around the code (the "room").
    pub background: u8,
}

impl Default for VideoSpec {
    fn default() -> Self {
        Self {
            width: 640,
            height: 480,
            fps: 10,
            module_px: 5,
            background: 90,
        }
    }
}

/// Renders each text as a centred QR code, one video frame per text.
pub fn render(texts: &[String], spec: VideoSpec) -> Result<Vec<u8>, QrError> {
    let (width, height) = (spec.width & !1, spec.height & !1);
    let header = format!(
        "YUV4MPEG2 W{width} H{height} F{}:1 Ip A1:1 C420jpeg\n",
        spec.fps.max(1)
    );
    let chroma = (width / 2) * (height / 2) * 2;
    let mut out = Vec::with_capacity(header.len() + texts.len() * (6 + width * height + chroma));
    out.extend_from_slice(header.as_bytes());
    for text in texts {
        let (side, code) = QrMatrix::encode(text)?.to_luma(spec.module_px);
        let mut luma = vec![spec.background; width * height];
        let (ox, oy) = (
            width.saturating_sub(side) / 2,
            height.saturating_sub(side) / 2,
        );
        for y in 0..side.min(height) {
            let row = (y + oy) * width + ox;
            let take = side.min(width);
            if let (Some(target), Some(source)) = (
                luma.get_mut(row..row + take),
                code.get(y * side..y * side + take),
            ) {
                target.copy_from_slice(source);
            }
        }
        out.extend_from_slice(b"FRAME\n");
        out.extend_from_slice(&luma);
        out.resize(out.len() + chroma, 128);
    }
    Ok(out)
}

/// The luma planes of a video made by [`render`] (for tests).
pub fn luma_frames(video: &[u8]) -> Option<(usize, usize, Vec<&[u8]>)> {
    let end = video.iter().position(|&b| b == b'\n')?;
    let header = std::str::from_utf8(&video[..end]).ok()?;
    let field = |tag: char| {
        header
            .split(' ')
            .find_map(|f| f.strip_prefix(tag))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let (width, height) = (field('W')?, field('H')?);
    let frame_len = 6 + width * height + (width / 2) * (height / 2) * 2;
    let frames = video[end + 1..]
        .chunks(frame_len)
        .filter(|chunk| chunk.len() == frame_len)
        .map(|chunk| &chunk[6..6 + width * height])
        .collect();
    Some((width, height, frames))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qr::decode_luma;
    use crate::sim::sample_body;
    use crate::{
        AnimatedDecoder, AnimatedEncoder, Limits, Message, MessageKind, Preset, ScanStatus,
    };

    #[test]
    fn a_video_with_dropped_frames_decodes_back() {
        let message = Message::new(MessageKind::Payment, sample_body(1537, 3));
        let encoder = AnimatedEncoder::new(&message, Preset::DEFAULT).unwrap();
        let texts: Vec<String> = (0..encoder.source_symbols() * 3)
            .filter(|i| i % 4 != 1)
            .map(|i| encoder.frame_text(i))
            .collect();
        let video = render(&texts, VideoSpec::default()).unwrap();
        assert!(video.starts_with(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n"));
        let (width, height, frames) = luma_frames(&video).unwrap();
        assert_eq!(frames.len(), texts.len());
        let mut decoder = AnimatedDecoder::new(Limits::DEFAULT);
        let mut done = None;
        for frame in frames {
            for text in decode_luma(width, height, frame).unwrap() {
                if let Ok(ScanStatus::Complete(m)) = decoder.receive(&text) {
                    done = Some(m);
                }
            }
            if done.is_some() {
                break;
            }
        }
        assert_eq!(done, Some(message));
    }
}
