//! The frame-format test vectors in `docs/vectors-transport/` are what this code produces
//! and decodes. `OPS_WRITE_VECTORS=1 cargo test -p ops-transport --test vectors` rewrites
//! them after a deliberate format change.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use ops_transport::ndef::{self, Tag};
use ops_transport::sim::sample_body;
use ops_transport::{
    AnimatedDecoder, AnimatedEncoder, Limits, Message, MessageKind, Preset, ScanStatus,
};
use std::fmt::Write;
use std::path::PathBuf;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/vectors-transport")
}

fn check(name: &str, content: &str) {
    let path = dir().join(name);
    if std::env::var_os("OPS_WRITE_VECTORS").is_some() {
        std::fs::create_dir_all(dir()).unwrap();
        std::fs::write(&path, content).unwrap();
    }
    let stored = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with OPS_WRITE_VECTORS=1", path.display()));
    assert_eq!(
        stored,
        content,
        "{} differs from the code's output",
        path.display()
    );
}

#[test]
fn static_frame_vector() {
    let message = Message::new(MessageKind::PaymentRequest, b"OPS request 0001".to_vec());
    let text = AnimatedEncoder::new(&message, Preset::DEFAULT)
        .unwrap()
        .frame_text(0);
    let mut out = String::new();
    writeln!(out, "# Static (single-frame) QR: kind 1 = payment request").unwrap();
    writeln!(out, "kind: 1").unwrap();
    writeln!(out, "body-hex: {}", hex(&message.body)).unwrap();
    writeln!(out, "frame-text: {text}").unwrap();
    check("static-request.txt", &out);
    let mut decoder = AnimatedDecoder::new(Limits::DEFAULT);
    assert_eq!(decoder.receive(&text), Ok(ScanStatus::Complete(message)));
}

#[test]
fn fountain_frames_vector() {
    let message = Message::new(MessageKind::Payment, sample_body(600, 1));
    let encoder = AnimatedEncoder::new(&message, Preset::DEFAULT).unwrap();
    let mut out = String::new();
    writeln!(
        out,
        "# Fountain frames, default preset (256-byte symbols): kind 2 = payment, 600 bytes, K = 3"
    )
    .unwrap();
    writeln!(
        out,
        "# Frames 0-2 are source symbols, 3-5 repair symbols; any 3 (rarely 4-5) rebuild the body."
    )
    .unwrap();
    writeln!(out, "kind: 2").unwrap();
    writeln!(out, "body-hex: {}", hex(&message.body)).unwrap();
    writeln!(out, "body-crc32: {:08x}", crc32fast_hash(&message.body)).unwrap();
    for index in 0..6 {
        writeln!(out, "frame-{index}: {}", encoder.frame_text(index)).unwrap();
    }
    check("fountain-payment-600.txt", &out);
    // Repair frames alone rebuild it.
    let mut decoder = AnimatedDecoder::new(Limits::DEFAULT);
    let mut done = None;
    for index in 3..6 {
        if let Ok(ScanStatus::Complete(m)) = decoder.receive(&encoder.frame_text(index)) {
            done = Some(m);
        }
    }
    if done.is_none() {
        for index in 6..8 {
            if let Ok(ScanStatus::Complete(m)) = decoder.receive(&encoder.frame_text(index)) {
                done = Some(m);
            }
        }
    }
    assert_eq!(done, Some(message));
}

fn crc32fast_hash(bytes: &[u8]) -> u32 {
    // CRC-32/ISO-HDLC, bitwise (independent of the crate used by the code).
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn ndef_vector() {
    let message = Message::new(MessageKind::Payment, sample_body(600, 1));
    let records = ndef::plan_for_tag(&message, Tag::Ntag216, 256).unwrap();
    let bytes = ndef::encode_message(&records);
    let mut out = String::new();
    writeln!(
        out,
        "# NDEF message: the same 600-byte payment split into records of at most 256 payload bytes"
    )
    .unwrap();
    writeln!(out, "records: {}", records.len()).unwrap();
    writeln!(
        out,
        "ndef-length: {} (NTAG216 needs {} of 888)",
        bytes.len(),
        Tag::Ntag216.bytes_needed(bytes.len())
    )
    .unwrap();
    writeln!(out, "ndef-hex: {}", hex(&bytes)).unwrap();
    check("ndef-payment-600.txt", &out);
    let back = ndef::decode_message(&bytes, &Limits::DEFAULT).unwrap();
    assert_eq!(
        ndef::from_records(MessageKind::Payment, &back, &Limits::DEFAULT).unwrap(),
        message
    );
}
