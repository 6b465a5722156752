//! The fountain code's heavy half, run in the worker for the page: the frames of a
//! message to show (encoding), and a message rebuilt from the frames the page collected
//! (decoding). RaptorQ's 64 KB multiplication table and its solver live only in the
//! worker's WebAssembly, not in the app's bundle; each request carries everything it
//! needs, so a restarted worker loses nothing.

use ops_transport::{
    AnimatedEncoder, Limits, Message, MessageKind, Preset, RebuildJob, ScanError, fountain,
};

/// The most frames one `encode` request returns (the player shows them in a loop).
pub const MAX_FRAMES_PER_REQUEST: u32 = 4096;

/// Why a fountain request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FountainError {
    /// The message cannot be shown as QR frames at this preset.
    #[error("the message cannot be shown as a QR code: {0}")]
    Encode(String),
    /// The frames rebuilt a message that fails its checksum, or do not belong together.
    #[error("the received message is corrupt; keep the camera on the code to start again")]
    Corrupt,
    /// A frame is unusable.
    #[error("{0}")]
    Frame(String),
    /// The message type code is not one of the protocol's.
    #[error("unknown message type code {0}; reload the page")]
    UnknownKind(u32),
}

impl FountainError {
    /// A stable code for the error, carried in the worker's answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Encode(_) => "encode",
            Self::Corrupt => "corrupt",
            Self::Frame(_) => "frame",
            Self::UnknownKind(_) => "unknown-kind",
        }
    }
}

/// The kind with this protocol code.
pub fn kind_of(code: u32) -> Result<MessageKind, FountainError> {
    u8::try_from(code)
        .ok()
        .and_then(MessageKind::from_code)
        .ok_or(FountainError::UnknownKind(code))
}

/// The first `count` frame texts of `body` at `preset` (one text for a message small
/// enough to be a static code), at most [`MAX_FRAMES_PER_REQUEST`].
pub fn encode_frames(
    kind: MessageKind,
    body: Vec<u8>,
    preset: Preset,
    count: u32,
) -> Result<Vec<String>, FountainError> {
    let encoder = AnimatedEncoder::new(&Message { kind, body }, preset)
        .map_err(|error| FountainError::Encode(error.to_string()))?;
    if encoder.is_static() {
        return Ok(vec![encoder.frame_text(0)]);
    }
    Ok(encoder.frames(count.clamp(1, MAX_FRAMES_PER_REQUEST)))
}

/// The message rebuilt from `texts` (the distinct frames of one transfer), `None` when
/// they are not enough yet.
pub fn rebuild(
    kind: MessageKind,
    texts: Vec<String>,
    limits: &Limits,
) -> Result<Option<Vec<u8>>, FountainError> {
    let job = RebuildJob::new(kind, texts);
    match fountain::rebuild(&job, limits) {
        Ok(message) => Ok(message.map(|m| m.body)),
        Err(ScanError::Frame(error)) => Err(FountainError::Frame(error.to_string())),
        Err(_) => Err(FountainError::Corrupt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
    }

    #[test]
    fn frames_from_the_worker_rebuild_in_the_worker() {
        let texts = encode_frames(MessageKind::Payment, body(3000), Preset::DEFAULT, 40).unwrap();
        assert_eq!(texts.len(), 40);
        // Every other frame lost: any K of them rebuild the message.
        let kept: Vec<String> = texts.into_iter().step_by(2).take(12).collect();
        assert_eq!(
            rebuild(MessageKind::Payment, kept.clone(), &Limits::DEFAULT),
            Ok(Some(body(3000)))
        );
        assert_eq!(
            rebuild(MessageKind::Payment, kept[..5].to_vec(), &Limits::DEFAULT),
            Ok(None)
        );
    }

    #[test]
    fn a_small_message_is_one_static_frame() {
        let texts = encode_frames(MessageKind::Receipt, body(100), Preset::DEFAULT, 500).unwrap();
        assert_eq!(texts.len(), 1);
    }

    #[test]
    fn counts_are_bounded_and_bad_input_is_named() {
        let texts =
            encode_frames(MessageKind::Payment, body(3000), Preset::DEFAULT, u32::MAX).unwrap();
        assert_eq!(texts.len() as u32, MAX_FRAMES_PER_REQUEST);
        let error = encode_frames(MessageKind::Payment, Vec::new(), Preset::DEFAULT, 1);
        assert_eq!(error.map_err(|e| e.code()), Err("encode"));
        assert_eq!(kind_of(9), Err(FountainError::UnknownKind(9)));
        assert_eq!(kind_of(2), Ok(MessageKind::Payment));
        let error = rebuild(
            MessageKind::Payment,
            vec!["not a frame".into()],
            &Limits::DEFAULT,
        );
        assert_eq!(error.map_err(|e| e.code()), Err("frame"));
    }

    #[test]
    fn frames_of_two_messages_are_refused_as_corrupt() {
        let mut texts =
            encode_frames(MessageKind::Payment, body(3000), Preset::DEFAULT, 10).unwrap();
        let mut other = body(3000);
        other[0] ^= 1;
        texts.extend(encode_frames(MessageKind::Payment, other, Preset::DEFAULT, 10).unwrap());
        assert_eq!(
            rebuild(MessageKind::Payment, texts, &Limits::DEFAULT),
            Err(FountainError::Corrupt)
        );
    }
}
