//! NDEF for OPS messages: MIME records with a vendor-tree type per message kind, a
//! message split across records when it exceeds one record's size, the binary NDEF
//! encoding (to size the result against a tag), and tag capacities.
//!
//! Each record's payload is one chunk:
//!
//! ```text
//! version u8 (=1) | message-crc32 u32 | index u8 | count u8 | data ..
//! ```
//!
//! The record type names the message kind (`application/vnd.ops.payment+cbor`, …). A
//! reader keeps the records of the awaited type, checks that chunks `0..count` of one
//! message are all there once, concatenates them and checks the CRC-32.

use crate::limits::Limits;
use crate::message::{Message, MessageKind};

/// Chunk format version.
pub const CHUNK_VERSION: u8 = 1;
/// Bytes a chunk header adds to each record payload.
pub const CHUNK_HEADER: usize = 7;
/// Default largest record payload (chunk header included).
pub const DEFAULT_MAX_RECORD_PAYLOAD: usize = 1024;
/// NDEF type name format for MIME media records (RFC 2046 type in the type field).
pub const TNF_MIME: u8 = 0x02;

const FLAG_MB: u8 = 0x80;
const FLAG_ME: u8 = 0x40;
const FLAG_CF: u8 = 0x20;
const FLAG_SR: u8 = 0x10;
const FLAG_IL: u8 = 0x08;

/// What went wrong building or reading NDEF.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NdefError {
    /// Nothing to write.
    #[error("cannot write an empty message")]
    Empty,
    /// The encoded message does not fit the tag.
    #[error(
        "the {kind} needs {needed} bytes on the tag but a {tag} holds {capacity}; use a larger tag or the QR code"
    )]
    TooBigForTag {
        /// What was being written.
        kind: &'static str,
        /// Bytes needed, framing included.
        needed: usize,
        /// The tag's capacity.
        capacity: usize,
        /// The tag's name.
        tag: &'static str,
    },
    /// The message needs more than 255 chunks.
    #[error("message of {0} bytes needs more than 255 records; raise the record size")]
    TooManyChunks(usize),
    /// The record size leaves no room for data.
    #[error("record size {0} is too small; it must exceed the {CHUNK_HEADER}-byte chunk header")]
    RecordTooSmall(usize),
    /// The tag holds no record of the awaited type.
    #[error("the tag holds no {0}; hold the other device's tag or phone closer")]
    NotFound(&'static str),
    /// The records are malformed, incomplete or inconsistent.
    #[error("the tag's {kind} is damaged or incomplete ({detail}); write it again")]
    Damaged {
        /// The awaited message.
        kind: &'static str,
        /// What was wrong.
        detail: &'static str,
    },
    /// The message announced is larger than the receiver accepts.
    #[error("the tag's message of {length} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Announced length.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not a well-formed NDEF message.
    #[error("not a well-formed NDEF message: {0}")]
    Malformed(&'static str),
}

/// One record as WebNFC takes and gives it: a MIME type and the payload bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MimeRecord {
    /// The record's MIME type.
    pub media_type: String,
    /// The record's payload.
    pub data: Vec<u8>,
}

/// Splits `message` into MIME records of at most `max_record_payload` bytes each.
pub fn to_records(
    message: &Message,
    max_record_payload: usize,
) -> Result<Vec<MimeRecord>, NdefError> {
    if message.body.is_empty() {
        return Err(NdefError::Empty);
    }
    if max_record_payload <= CHUNK_HEADER {
        return Err(NdefError::RecordTooSmall(max_record_payload));
    }
    let per_chunk = max_record_payload - CHUNK_HEADER;
    let count = message.body.len().div_ceil(per_chunk);
    let count_u8 = u8::try_from(count).map_err(|_| NdefError::TooManyChunks(message.body.len()))?;
    let crc = crc32fast::hash(&message.body).to_be_bytes();
    Ok(message
        .body
        .chunks(per_chunk)
        .zip(0u8..)
        .map(|(data, index)| {
            let mut payload = Vec::with_capacity(CHUNK_HEADER + data.len());
            payload.push(CHUNK_VERSION);
            payload.extend_from_slice(&crc);
            payload.push(index);
            payload.push(count_u8);
            payload.extend_from_slice(data);
            MimeRecord {
                media_type: message.kind.mime_type().to_owned(),
                data: payload,
            }
        })
        .collect())
}

/// Rebuilds a message of `kind` from the records read from a tag (records of other
/// types are ignored). Limits are checked before the message buffer is allocated.
pub fn from_records(
    kind: MessageKind,
    records: &[MimeRecord],
    limits: &Limits,
) -> Result<Message, NdefError> {
    let damaged = |detail| NdefError::Damaged {
        kind: kind.label(),
        detail,
    };
    let ours: Vec<&MimeRecord> = records
        .iter()
        .filter(|record| record.media_type == kind.mime_type())
        .collect();
    let first = ours.first().ok_or(NdefError::NotFound(kind.label()))?;
    if first.data.len() < CHUNK_HEADER {
        return Err(damaged("short chunk"));
    }
    let crc = &first.data[1..5];
    let count = usize::from(first.data[6]);
    if count == 0 || ours.len() != count {
        return Err(damaged("wrong number of chunks"));
    }
    let mut slots: Vec<Option<&[u8]>> = vec![None; count];
    let mut length = 0usize;
    for record in &ours {
        let data = &record.data;
        if data.len() < CHUNK_HEADER || data[0] != CHUNK_VERSION {
            return Err(damaged("unknown chunk version"));
        }
        if &data[1..5] != crc || usize::from(data[6]) != count {
            return Err(damaged("chunks of different messages"));
        }
        let slot = slots
            .get_mut(usize::from(data[5]))
            .ok_or_else(|| damaged("chunk index out of range"))?;
        if slot.replace(&data[CHUNK_HEADER..]).is_some() {
            return Err(damaged("duplicate chunk"));
        }
        length += data.len() - CHUNK_HEADER;
    }
    if length > limits.message_cap() {
        return Err(NdefError::TooLarge {
            length,
            max: limits.message_cap(),
        });
    }
    let mut body = Vec::with_capacity(length);
    for slot in slots {
        body.extend_from_slice(slot.ok_or_else(|| damaged("missing chunk"))?);
    }
    if body.is_empty() {
        return Err(damaged("empty"));
    }
    if crc32fast::hash(&body).to_be_bytes() != crc {
        return Err(damaged("checksum mismatch"));
    }
    Ok(Message { kind, body })
}

/// Encodes MIME records as a binary NDEF message (what a tag stores).
pub fn encode_message(records: &[MimeRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    let last = records.len().saturating_sub(1);
    for (index, record) in records.iter().enumerate() {
        let mut header = TNF_MIME;
        if index == 0 {
            header |= FLAG_MB;
        }
        if index == last {
            header |= FLAG_ME;
        }
        let short = record.data.len() <= 255;
        if short {
            header |= FLAG_SR;
        }
        out.push(header);
        out.push(u8::try_from(record.media_type.len()).unwrap_or(u8::MAX));
        if short {
            out.push(record.data.len() as u8);
        } else {
            out.extend_from_slice(
                &u32::try_from(record.data.len())
                    .unwrap_or(u32::MAX)
                    .to_be_bytes(),
            );
        }
        out.extend_from_slice(record.media_type.as_bytes());
        out.extend_from_slice(&record.data);
    }
    out
}

/// Decodes a binary NDEF message into its MIME records (other TNFs are skipped).
/// Chunked records (CF) are refused: OPS never writes them and WebNFC does not expose them.
pub fn decode_message(bytes: &[u8], limits: &Limits) -> Result<Vec<MimeRecord>, NdefError> {
    let mut records = Vec::new();
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Result<&[u8], NdefError> {
        let end = at
            .checked_add(n)
            .ok_or(NdefError::Malformed("length overflow"))?;
        let slice = bytes
            .get(*at..end)
            .ok_or(NdefError::Malformed("truncated record"))?;
        *at = end;
        Ok(slice)
    };
    loop {
        let header = *take(&mut at, 1)?
            .first()
            .ok_or(NdefError::Malformed("truncated"))?;
        if records.is_empty() && at == 1 && header & FLAG_MB == 0 {
            return Err(NdefError::Malformed("first record lacks MB"));
        }
        if header & FLAG_CF != 0 {
            return Err(NdefError::Malformed("chunked records are not supported"));
        }
        let type_len = usize::from(take(&mut at, 1)?[0]);
        let payload_len = if header & FLAG_SR != 0 {
            usize::from(take(&mut at, 1)?[0])
        } else {
            let raw = take(&mut at, 4)?;
            u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize
        };
        if payload_len > limits.message_cap() + CHUNK_HEADER {
            return Err(NdefError::TooLarge {
                length: payload_len,
                max: limits.message_cap(),
            });
        }
        let id_len = if header & FLAG_IL != 0 {
            usize::from(take(&mut at, 1)?[0])
        } else {
            0
        };
        let record_type = take(&mut at, type_len)?;
        take(&mut at, id_len)?;
        let payload = take(&mut at, payload_len)?;
        if header & 0x07 == TNF_MIME {
            let media_type = std::str::from_utf8(record_type)
                .map_err(|_| NdefError::Malformed("MIME type is not ASCII"))?;
            records.push(MimeRecord {
                media_type: media_type.to_owned(),
                data: payload.to_vec(),
            });
        }
        if header & FLAG_ME != 0 {
            break;
        }
    }
    if at != bytes.len() {
        return Err(NdefError::Malformed("bytes after the last record"));
    }
    Ok(records)
}

/// NFC tags OPS sizes messages against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// NXP NTAG213 (Type 2): 144 bytes of user memory.
    Ntag213,
    /// NXP NTAG215 (Type 2): 504 bytes.
    Ntag215,
    /// NXP NTAG216 (Type 2): 888 bytes.
    Ntag216,
    /// A Type 4 tag (or a phone emulating one) with an NDEF file of this many bytes
    /// (at most 32,768 here).
    Type4 {
        /// NDEF file size in bytes, including its 2-byte length field.
        file_size: usize,
    },
}

impl Tag {
    /// Largest Type 4 NDEF file considered (32 KB).
    pub const TYPE4_MAX: usize = 32 * 1024;

    /// The tag's name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Tag::Ntag213 => "NTAG213",
            Tag::Ntag215 => "NTAG215",
            Tag::Ntag216 => "NTAG216",
            Tag::Type4 { .. } => "Type 4 tag",
        }
    }

    /// Bytes available for NDEF framing and message.
    pub fn capacity(&self) -> usize {
        match self {
            Tag::Ntag213 => 144,
            Tag::Ntag215 => 504,
            Tag::Ntag216 => 888,
            Tag::Type4 { file_size } => (*file_size).min(Self::TYPE4_MAX),
        }
    }

    /// Bytes an NDEF message of `len` bytes takes on this tag: Type 2 wraps it in a TLV
    /// (1-byte tag, 1- or 3-byte length) plus a terminator TLV; Type 4 prefixes a 2-byte
    /// length (NLEN).
    pub fn bytes_needed(&self, len: usize) -> usize {
        match self {
            Tag::Type4 { .. } => 2 + len,
            _ => 1 + if len < 0xFF { 1 } else { 3 } + len + 1,
        }
    }
}

/// Records and binary NDEF for `message`, checked to fit `tag`.
pub fn plan_for_tag(
    message: &Message,
    tag: Tag,
    max_record_payload: usize,
) -> Result<Vec<MimeRecord>, NdefError> {
    let records = to_records(message, max_record_payload)?;
    let needed = tag.bytes_needed(encode_message(&records).len());
    if needed > tag.capacity() {
        return Err(NdefError::TooBigForTag {
            kind: message.kind.label(),
            needed,
            capacity: tag.capacity(),
            tag: tag.name(),
        });
    }
    Ok(records)
}

#[cfg(test)]
#[path = "ndef_tests.rs"]
mod tests;
