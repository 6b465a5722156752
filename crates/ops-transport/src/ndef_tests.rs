//! Tests of NDEF records, chunking and tag sizing.

use super::*;
use crate::sim::sample_body;
use proptest::prelude::*;

fn payment(len: usize) -> Message {
    Message::new(MessageKind::Payment, sample_body(len, len as u64))
}

#[test]
fn small_message_is_one_short_record() {
    let message = payment(100);
    let records = to_records(&message, DEFAULT_MAX_RECORD_PAYLOAD).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].media_type, "application/vnd.ops.payment+cbor");
    let bytes = encode_message(&records);
    assert_eq!(bytes[0], FLAG_MB | FLAG_ME | FLAG_SR | TNF_MIME);
    assert_eq!(bytes.len(), 3 + 32 + 107);
    let back = decode_message(&bytes, &Limits::DEFAULT).unwrap();
    assert_eq!(
        from_records(MessageKind::Payment, &back, &Limits::DEFAULT).unwrap(),
        message
    );
}

#[test]
fn large_messages_are_chunked_and_reassembled_in_any_order() {
    let message = payment(5000);
    let mut records = to_records(&message, 1024).unwrap();
    assert_eq!(records.len(), 5);
    assert!(records.iter().all(|r| r.data.len() <= 1024));
    records.reverse();
    records.insert(
        2,
        MimeRecord {
            media_type: "text/plain".into(),
            data: b"hi".to_vec(),
        },
    );
    let bytes = encode_message(&records);
    let back = decode_message(&bytes, &Limits::DEFAULT).unwrap();
    assert_eq!(
        from_records(MessageKind::Payment, &back, &Limits::DEFAULT).unwrap(),
        message
    );
}

#[test]
fn missing_duplicate_or_mixed_chunks_are_named() {
    let message = payment(3000);
    let records = to_records(&message, 1024).unwrap();
    let missing = &records[..2];
    assert!(matches!(
        from_records(MessageKind::Payment, missing, &Limits::DEFAULT),
        Err(NdefError::Damaged {
            detail: "wrong number of chunks",
            ..
        })
    ));
    let duplicate = vec![records[0].clone(), records[0].clone(), records[2].clone()];
    assert!(matches!(
        from_records(MessageKind::Payment, &duplicate, &Limits::DEFAULT),
        Err(NdefError::Damaged {
            detail: "duplicate chunk",
            ..
        })
    ));
    let other = to_records(&payment(2999), 1024).unwrap();
    let mixed = vec![records[0].clone(), other[1].clone(), records[2].clone()];
    assert!(matches!(
        from_records(MessageKind::Payment, &mixed, &Limits::DEFAULT),
        Err(NdefError::Damaged { .. })
    ));
    let mut flipped = records.clone();
    flipped[1].data[100] ^= 1;
    assert!(matches!(
        from_records(MessageKind::Payment, &flipped, &Limits::DEFAULT),
        Err(NdefError::Damaged {
            detail: "checksum mismatch",
            ..
        })
    ));
    assert_eq!(
        from_records(MessageKind::Receipt, &records, &Limits::DEFAULT),
        Err(NdefError::NotFound("receipt"))
    );
}

#[test]
fn tag_capacities() {
    let tags = [
        Tag::Ntag213,
        Tag::Ntag215,
        Tag::Ntag216,
        Tag::Type4 {
            file_size: Tag::TYPE4_MAX,
        },
    ];
    // (payload bytes, fits each tag?)
    let cases = [
        (90, [true, true, true, true]),
        (600, [false, false, true, true]),
        (1600, [false, false, false, true]),
        (30_000, [false, false, false, true]),
        (40_000, [false, false, false, false]),
    ];
    for (len, fits) in cases {
        for (tag, fit) in tags.iter().zip(fits) {
            let result = plan_for_tag(&payment(len), *tag, DEFAULT_MAX_RECORD_PAYLOAD);
            assert_eq!(result.is_ok(), fit, "{len} bytes on {}", tag.name());
            if let Err(error) = result {
                assert!(error.to_string().contains(tag.name()));
            }
        }
    }
    // The exact boundary on an NTAG213: 144 = TLV(2) + terminator(1) + record.
    let record_overhead = 3 + 32 + CHUNK_HEADER;
    let max_body = 144 - 3 - record_overhead;
    assert!(plan_for_tag(&payment(max_body), Tag::Ntag213, 1024).is_ok());
    assert!(plan_for_tag(&payment(max_body + 1), Tag::Ntag213, 1024).is_err());
    // Larger tags: long record header (6) and 4-byte TLV length; the figures in TRANSPORT.md.
    for (tag, max_body) in [(Tag::Ntag215, 454), (Tag::Ntag216, 838)] {
        assert!(plan_for_tag(&payment(max_body), tag, 1024).is_ok());
        assert!(plan_for_tag(&payment(max_body + 1), tag, 1024).is_err());
    }
}

#[test]
fn bad_inputs_are_errors() {
    assert_eq!(
        to_records(&Message::new(MessageKind::Payment, vec![]), 1024),
        Err(NdefError::Empty)
    );
    assert_eq!(
        to_records(&payment(10), 7),
        Err(NdefError::RecordTooSmall(7))
    );
    assert_eq!(
        to_records(&payment(300 * 255), 300),
        Err(NdefError::TooManyChunks(76500))
    );
    assert!(decode_message(&[], &Limits::DEFAULT).is_err());
    assert!(decode_message(&[0xD2, 5, 200, b'a'], &Limits::DEFAULT).is_err());
    assert!(decode_message(&[0xF2, 0, 0], &Limits::DEFAULT).is_err());
    let mut big = vec![0xC2, 1];
    big.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        decode_message(&big, &Limits::DEFAULT),
        Err(NdefError::TooLarge { .. })
    ));
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(records) = decode_message(&bytes, &Limits::DEFAULT) {
            let _ = from_records(MessageKind::Payment, &records, &Limits::DEFAULT);
        }
    }

    #[test]
    fn arbitrary_records_never_panic(data in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..6)) {
        let records: Vec<MimeRecord> = data
            .into_iter()
            .map(|data| MimeRecord { media_type: MessageKind::Payment.mime_type().into(), data })
            .collect();
        let _ = from_records(MessageKind::Payment, &records, &Limits::DEFAULT);
    }

    #[test]
    fn chunking_round_trips(len in 1usize..4000, record in 8usize..2000) {
        let message = payment(len);
        if let Ok(records) = to_records(&message, record) {
            let bytes = encode_message(&records);
            let back = decode_message(&bytes, &Limits::DEFAULT).unwrap();
            prop_assert_eq!(from_records(MessageKind::Payment, &back, &Limits::DEFAULT).unwrap(), message);
        }
    }
}
