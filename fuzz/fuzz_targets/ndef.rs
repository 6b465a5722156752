//! The binary NDEF decoder (what a tag or a WebNFC read gives) and the chunk reassembly
//! behind it: never panics; what decodes re-encodes to a message that decodes to the same
//! records; a message rebuilt from records chunks again into records that rebuild it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ops_transport::ndef::{self, DEFAULT_MAX_RECORD_PAYLOAD};
use ops_transport::{Limits, MessageKind};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::DEFAULT;
    let Ok(records) = ndef::decode_message(data, &limits) else {
        return;
    };
    if !records.is_empty() {
        let again = ndef::encode_message(&records);
        assert_eq!(
            ndef::decode_message(&again, &limits).as_ref(),
            Ok(&records),
            "re-encoded records read back the same"
        );
    }
    for kind in MessageKind::ALL {
        if let Ok(message) = ndef::from_records(kind, &records, &limits) {
            if let Ok(chunks) = ndef::to_records(&message, DEFAULT_MAX_RECORD_PAYLOAD) {
                assert_eq!(
                    ndef::from_records(kind, &chunks, &limits).as_ref(),
                    Ok(&message),
                    "a rebuilt message chunks and rebuilds to itself"
                );
            }
        }
    }
});
