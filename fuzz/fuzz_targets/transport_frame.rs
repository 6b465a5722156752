//! QR frame texts as a camera reads them, and the animated-QR receiver they feed: parsing
//! never panics, a parsed frame prints back to exactly the scanned text, and the receiver
//! (frame collection and the RaptorQ rebuild) survives any sequence of frames.
//!
//! Input: a mode byte, then either scanned texts one per line (even mode: prefixes, length
//! limits, base45 and checksums), or binary frames `flags u8 | length u16 BE | content`
//! that the harness seals with a valid checksum (odd mode), so that the fuzzer gets past
//! the CRC to the header checks and the fountain decoder. Flag bit 0 picks the fountain
//! prefix. At most [`MAX_FRAMES`] frames per input keep the rebuilds small.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ops_transport::base45;
use ops_transport::frame::{FOUNTAIN_PREFIX, Frame, STATIC_PREFIX};
use ops_transport::{AnimatedDecoder, Limits};

/// Most frames one input feeds the receiver.
const MAX_FRAMES: usize = 32;

/// The text of a frame with `content` (everything before the checksum) under `prefix`.
fn sealed(prefix: &str, content: &[u8]) -> String {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(prefix.as_bytes());
    hasher.update(content);
    let mut binary = content.to_vec();
    binary.extend_from_slice(&hasher.finalize().to_be_bytes());
    format!("{prefix}{}", base45::encode(&binary))
}

/// The binary frames of odd mode, sealed.
fn binary_frames(mut rest: &[u8]) -> Vec<String> {
    let mut texts = Vec::new();
    while let [flags, high, low, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*high, *low])).min(tail.len());
        let (content, next) = tail.split_at(len);
        let prefix = if flags & 1 == 1 {
            FOUNTAIN_PREFIX
        } else {
            STATIC_PREFIX
        };
        texts.push(sealed(prefix, content));
        rest = next;
    }
    texts
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let texts: Vec<String> = if mode & 1 == 0 {
        String::from_utf8_lossy(rest)
            .lines()
            .map(str::to_owned)
            .collect()
    } else {
        binary_frames(rest)
    };
    let limits = Limits::DEFAULT;
    let mut receiver = AnimatedDecoder::new(limits);
    for text in texts.iter().take(MAX_FRAMES) {
        if let Ok(frame) = Frame::parse(text, &limits) {
            assert_eq!(&frame.to_text(), text, "a parsed frame prints back as read");
        }
        let _ = receiver.receive(text);
    }
});
