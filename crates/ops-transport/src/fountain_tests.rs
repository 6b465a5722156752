//! Tests of the animated-QR encoder and decoder: loss, reordering, duplication,
//! corruption, sizes from 1 byte to the limit, and arbitrary input.

use super::*;
use crate::frame::{FOUNTAIN_PREFIX, STATIC_PREFIX};
use crate::sim::{SplitMix64, sample_body};
use proptest::prelude::*;

fn payment(len: usize, seed: u64) -> Message {
    Message::new(MessageKind::Payment, sample_body(len, seed))
}

/// Feeds `texts` and returns the first completed message.
fn run(decoder: &mut AnimatedDecoder, texts: &[String]) -> Option<Message> {
    for text in texts {
        if let Ok(ScanStatus::Complete(message)) = decoder.receive(text) {
            return Some(message);
        }
    }
    None
}

fn corrupt(text: &str, rng: &mut SplitMix64) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let at = 4 + (rng.next_u64() as usize % (bytes.len() - 4));
    let alphabet = crate::base45::ALPHABET;
    let mut replacement = alphabet[rng.next_u64() as usize % alphabet.len()];
    if replacement == bytes[at] {
        replacement = if bytes[at] == b'0' { b'1' } else { b'0' };
    }
    bytes[at] = replacement;
    String::from_utf8(bytes).unwrap()
}

#[test]
fn lossless_transfer_needs_exactly_k_frames() {
    for len in [257, 600, 1600, 4000] {
        let message = payment(len, len as u64);
        let encoder = AnimatedEncoder::new(&message, Preset::DEFAULT).unwrap();
        let k = encoder.source_symbols();
        assert_eq!(k as usize, len.div_ceil(256));
        let mut decoder = AnimatedDecoder::new(Limits::DEFAULT);
        let texts = encoder.frames(k);
        assert_eq!(run(&mut decoder, &texts), Some(message));
    }
}

#[test]
fn small_messages_are_one_static_code() {
    for len in [1, 2, 100, 256] {
        let message = payment(len, 1);
        let encoder = AnimatedEncoder::new(&message, Preset::DEFAULT).unwrap();
        assert!(encoder.is_static());
        let text = encoder.frame_text(0);
        assert!(text.starts_with(STATIC_PREFIX));
        assert_eq!(encoder.frame_text(9), text);
        let mut decoder = AnimatedDecoder::expecting(MessageKind::Payment, Limits::DEFAULT);
        assert_eq!(decoder.receive(&text), Ok(ScanStatus::Complete(message)));
    }
    let encoder = AnimatedEncoder::new(&payment(257, 1), Preset::DEFAULT).unwrap();
    assert!(!encoder.is_static());
    assert!(encoder.frame_text(0).starts_with(FOUNTAIN_PREFIX));
}

#[test]
fn sizes_from_one_byte_to_the_limit() {
    let limit = Limits::DEFAULT.max_message_bytes;
    for len in [1, 3, 255, 256, 257, 511, 512, 513, 1000, 9999, limit] {
        let message = payment(len, 7);
        let encoder = AnimatedEncoder::new(&message, Preset::DEFAULT).unwrap();
        let k = encoder.source_symbols();
        // Skip the first half of the source frames: repair frames must fill in.
        let texts: Vec<String> = (k / 2..k / 2 + k + 3)
            .map(|i| encoder.frame_text(i))
            .collect();
        let mut decoder = AnimatedDecoder::new(Limits::DEFAULT);
        assert_eq!(run(&mut decoder, &texts), Some(message), "len {len}");
    }
    assert_eq!(
        AnimatedEncoder::new(&payment(limit + 1, 7), Preset::DEFAULT).unwrap_err(),
        EncodeError::TooLarge {
            length: limit + 1,
            max: limit
        }
    );
    assert_eq!(
        AnimatedEncoder::new(
            &Message::new(MessageKind::Payment, Vec::new()),
            Preset::DEFAULT
        )
        .unwrap_err(),
        EncodeError::Empty
    );
}

#[test]
fn random_loss_reordering_duplication_and_corruption() {
    let mut rng = SplitMix64::new(42);
    for loss in [0.0, 0.1, 0.2, 0.3, 0.4, 0.5] {
        for len in [300, 600, 1600, 5000] {
            for preset in [Preset::DEFAULT, Preset::SLOW] {
                let message = payment(len, rng.next_u64());
                let encoder = AnimatedEncoder::new(&message, preset).unwrap();
                let k = encoder.source_symbols();
                let mut texts = Vec::new();
                for index in 0..k * 3 + 20 {
                    if rng.next_f64() < loss {
                        continue;
                    }
                    let text = encoder.frame_text(index);
                    if rng.next_f64() < 0.2 {
                        texts.push(corrupt(&text, &mut rng));
                    }
                    if rng.next_f64() < 0.2 {
                        texts.push(text.clone());
                    }
                    texts.push(text);
                }
                // Fisher-Yates shuffle: any order.
                for i in (1..texts.len()).rev() {
                    let j = rng.next_u64() as usize % (i + 1);
                    texts.swap(i, j);
                }
                let mut decoder = AnimatedDecoder::expecting(MessageKind::Payment, Limits::DEFAULT);
                assert_eq!(
                    run(&mut decoder, &texts),
                    Some(message),
                    "loss {loss} len {len} preset {preset:?}"
                );
            }
        }
    }
}

#[test]
fn corrupt_frames_are_rejected_alone_and_progress_is_kept() {
    let encoder = AnimatedEncoder::new(&payment(1600, 3), Preset::DEFAULT).unwrap();
    let mut decoder = AnimatedDecoder::new(Limits::DEFAULT);
    let mut rng = SplitMix64::new(9);
    assert!(matches!(
        decoder.receive(&encoder.frame_text(0)),
        Ok(ScanStatus::Collecting(Progress {
            received: 1,
            needed: 7,
            ..
        }))
    ));
    assert!(
        decoder
            .receive(&corrupt(&encoder.frame_text(1), &mut rng))
            .is_err()
    );
    assert_eq!(decoder.progress().map(|p| p.received), Some(1));
    // A duplicate counts once.
    assert!(decoder.receive(&encoder.frame_text(0)).is_ok());
    let progress = decoder.progress().unwrap();
    assert_eq!(progress.received, 1);
    assert!((progress.fraction() - 1.0 / 7.0).abs() < 1e-6);
}

#[test]
fn a_new_transfer_replaces_the_old_one() {
    let first = AnimatedEncoder::new(&payment(1600, 1), Preset::DEFAULT).unwrap();
    let second_message = payment(900, 2);
    let second = AnimatedEncoder::new(&second_message, Preset::DEFAULT).unwrap();
    let mut decoder = AnimatedDecoder::new(Limits::DEFAULT);
    let mut texts = first.frames(3);
    texts.extend(second.frames(4));
    assert_eq!(run(&mut decoder, &texts), Some(second_message));
}

#[test]
fn the_wrong_message_type_is_named() {
    let request = Message::new(MessageKind::PaymentRequest, sample_body(900, 5));
    let encoder = AnimatedEncoder::new(&request, Preset::DEFAULT).unwrap();
    let mut decoder = AnimatedDecoder::expecting(MessageKind::Payment, Limits::DEFAULT);
    let error = decoder.receive(&encoder.frame_text(0)).unwrap_err();
    assert_eq!(
        error,
        ScanError::WrongKind {
            expected: "payment",
            got: "payment request"
        }
    );
    assert!(error.to_string().contains("payment request"));
    assert_eq!(decoder.progress(), None);
}

#[test]
fn limits_smaller_than_the_message_refuse_before_allocating() {
    let encoder = AnimatedEncoder::new(&payment(5000, 1), Preset::DEFAULT).unwrap();
    let limits = Limits {
        max_message_bytes: 4096,
        ..Limits::DEFAULT
    };
    let mut decoder = AnimatedDecoder::new(limits);
    assert!(matches!(
        decoder.receive(&encoder.frame_text(0)),
        Err(ScanError::Frame(FrameError::MessageTooLarge {
            length: 5000,
            max: 4096
        }))
    ));
    assert_eq!(decoder.progress(), None);
}

/// A frame with a valid checksum but arbitrary header fields and symbol.
fn forged(kind: u8, length: u32, message_crc: u32, esi: u32, symbol: &[u8]) -> String {
    let mut binary = vec![kind];
    binary.extend_from_slice(&length.to_be_bytes()[1..]);
    binary.extend_from_slice(&message_crc.to_be_bytes());
    binary.extend_from_slice(&esi.to_be_bytes()[1..]);
    binary.extend_from_slice(symbol);
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(FOUNTAIN_PREFIX.as_bytes());
    hasher.update(&binary);
    binary.extend_from_slice(&hasher.finalize().to_be_bytes());
    format!("{FOUNTAIN_PREFIX}{}", crate::base45::encode(&binary))
}

#[test]
fn forged_frames_that_never_converge_give_up() {
    let limits = Limits {
        max_extra_frames: 8,
        ..Limits::DEFAULT
    };
    let mut decoder = AnimatedDecoder::new(limits);
    let mut outcome = None;
    // Repair symbols of garbage: the decoder may "decode" garbage (caught by the message
    // checksum) or never converge (caught by the frame limit); either way it restarts.
    for esi in 0..200u32 {
        match decoder.receive(&forged(2, 2000, 1, 100 + esi, &[esi as u8; 64])) {
            Err(error @ (ScanError::GaveUp(_) | ScanError::Corrupt)) => {
                outcome = Some(error);
                break;
            }
            Ok(ScanStatus::Collecting(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(outcome.is_some());
    assert_eq!(decoder.progress(), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,600}") {
        let mut decoder = AnimatedDecoder::new(Limits::DEFAULT);
        let _ = decoder.receive(&text);
        let _ = decoder.receive(&format!("{FOUNTAIN_PREFIX}{text}"));
        let _ = decoder.receive(&format!("{STATIC_PREFIX}{text}"));
    }

    #[test]
    fn arbitrary_bytes_behind_a_prefix_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut decoder = AnimatedDecoder::new(Limits::DEFAULT);
        let _ = decoder.receive(&format!("{FOUNTAIN_PREFIX}{}", crate::base45::encode(&bytes)));
        let _ = decoder.receive(&format!("{STATIC_PREFIX}{}", crate::base45::encode(&bytes)));
    }

    #[test]
    fn checksummed_frames_with_arbitrary_fields_never_panic(
        frames in proptest::collection::vec(
            (0u8..5, 0u32..(1 << 24), any::<u32>(), 0u32..(1 << 24), proptest::collection::vec(any::<u8>(), 0..80)),
            1..24,
        )
    ) {
        let limits = Limits { max_message_bytes: 8192, max_source_symbols: 256, ..Limits::DEFAULT };
        let mut decoder = AnimatedDecoder::new(limits);
        for (kind, length, crc, esi, symbol) in frames {
            let _ = decoder.receive(&forged(kind, length, crc, esi, &symbol));
        }
    }
}
