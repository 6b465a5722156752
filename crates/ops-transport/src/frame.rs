//! One QR frame: its binary layout, checksum and text form.
//!
//! Text form: a 4-character prefix, then the binary frame in base45 (QR alphanumeric).
//!
//! ```text
//! static   "OPS1" base45( kind u8 | body .. | crc32 u32 )
//! fountain "OPF1" base45( kind u8 | length u24 | message-crc32 u32 | esi u24 | symbol .. | crc32 u32 )
//! ```
//!
//! All integers are big-endian; each frame's `crc32` (IEEE) covers the prefix's ASCII bytes and every binary byte before it, so a
//! corrupt frame is rejected on its own. `message-crc32` is the CRC-32 of the whole
//! message: it names the transfer (a receiver that sees a new value starts over) and
//! checks the decoded result. `esi` is the RaptorQ encoding-symbol id (0..K-1 are the
//! message's own bytes, K.. are repair symbols).

use crate::base45;
use crate::limits::Limits;
use crate::message::MessageKind;

/// Prefix of a single-frame (static) code.
pub const STATIC_PREFIX: &str = "OPS1";
/// Prefix of a fountain-coded (animated) frame.
pub const FOUNTAIN_PREFIX: &str = "OPF1";
/// Binary bytes a fountain frame adds around its symbol.
pub const FOUNTAIN_OVERHEAD: usize = 1 + 3 + 4 + 3 + 4;
/// Binary bytes a static frame adds around its body.
pub const STATIC_OVERHEAD: usize = 1 + 4;

/// Why a scanned text is not a usable frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Some other QR code (a URL, another app's code).
    #[error("this QR code is not an OPS code; point the camera at the other device's screen")]
    NotOpsFrame,
    /// The text is longer than the receiver accepts.
    #[error(
        "frame of {chars} characters exceeds the limit of {max}; the sender uses an unsupported preset"
    )]
    FrameTooLong {
        /// Characters seen.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// Not valid base45.
    #[error("frame text is damaged: {0}")]
    Text(#[from] base45::Base45Error),
    /// Too short to hold a header and checksum.
    #[error("frame is truncated ({0} bytes); keep scanning")]
    Truncated(usize),
    /// The frame's checksum does not match.
    #[error("frame checksum mismatch (misread frame); keep scanning")]
    Checksum,
    /// Unknown message type code.
    #[error("unknown message type {0}; the sender runs a newer version of the app")]
    UnknownKind(u8),
    /// The announced message is larger than this receiver accepts.
    #[error("the message announces {length} bytes, more than the limit of {max}")]
    MessageTooLarge {
        /// Announced length.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// The symbol size is zero or above the limit.
    #[error("frame symbol size {size} is outside 1..={max}")]
    SymbolSize {
        /// Bytes in the frame's symbol.
        size: usize,
        /// The limit.
        max: u16,
    },
    /// The message would need more frames than allowed.
    #[error("the message needs {symbols} frames, more than the limit of {max}")]
    TooManySymbols {
        /// Source symbols the message needs.
        symbols: u64,
        /// The limit.
        max: u32,
    },
    /// The announced length is zero.
    #[error("the frame announces an empty message")]
    EmptyMessage,
}

/// A parsed fountain frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FountainFrame {
    /// The message's type.
    pub kind: MessageKind,
    /// The message length in bytes.
    pub length: u32,
    /// CRC-32 of the whole message.
    pub message_crc: u32,
    /// RaptorQ encoding-symbol id.
    pub esi: u32,
    /// The encoded symbol (all frames of a transfer have the same size).
    pub symbol: Vec<u8>,
}

impl FountainFrame {
    /// Source symbols (frames needed without loss) for this frame's transfer.
    pub fn source_symbols(&self) -> u32 {
        source_symbols(self.length as usize, self.symbol.len())
    }
}

/// Number of source symbols for `length` bytes in `symbol_size`-byte symbols.
pub fn source_symbols(length: usize, symbol_size: usize) -> u32 {
    u32::try_from(length.div_ceil(symbol_size.max(1))).unwrap_or(u32::MAX)
}

/// A parsed frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole small message in one code.
    Static {
        /// The message's type.
        kind: MessageKind,
        /// The message bytes.
        body: Vec<u8>,
    },
    /// One frame of an animated transfer.
    Fountain(FountainFrame),
}

fn put_u24(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_be_bytes()[1..]);
}

/// CRC-32 of the prefix and the binary content, so a misread prefix is caught too.
fn frame_crc(prefix: &str, content: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(prefix.as_bytes());
    hasher.update(content);
    hasher.finalize()
}

fn seal(mut binary: Vec<u8>, prefix: &str) -> String {
    let crc = frame_crc(prefix, &binary);
    binary.extend_from_slice(&crc.to_be_bytes());
    let mut text = String::with_capacity(prefix.len() + base45::encoded_len(binary.len()));
    text.push_str(prefix);
    text.push_str(&base45::encode(&binary));
    text
}

impl Frame {
    /// The frame's text, ready for a QR code in alphanumeric mode.
    pub fn to_text(&self) -> String {
        match self {
            Frame::Static { kind, body } => {
                let mut binary = Vec::with_capacity(body.len() + STATIC_OVERHEAD);
                binary.push(kind.code());
                binary.extend_from_slice(body);
                seal(binary, STATIC_PREFIX)
            }
            Frame::Fountain(frame) => {
                let mut binary = Vec::with_capacity(frame.symbol.len() + FOUNTAIN_OVERHEAD);
                binary.push(frame.kind.code());
                put_u24(&mut binary, frame.length);
                binary.extend_from_slice(&frame.message_crc.to_be_bytes());
                put_u24(&mut binary, frame.esi);
                binary.extend_from_slice(&frame.symbol);
                seal(binary, FOUNTAIN_PREFIX)
            }
        }
    }

    /// Parses and checks a scanned text; every limit is checked before allocating.
    pub fn parse(text: &str, limits: &Limits) -> Result<Frame, FrameError> {
        let (is_static, prefix, rest) = if let Some(rest) = text.strip_prefix(STATIC_PREFIX) {
            (true, STATIC_PREFIX, rest)
        } else if let Some(rest) = text.strip_prefix(FOUNTAIN_PREFIX) {
            (false, FOUNTAIN_PREFIX, rest)
        } else {
            return Err(FrameError::NotOpsFrame);
        };
        if text.len() > limits.max_frame_chars {
            return Err(FrameError::FrameTooLong {
                chars: text.len(),
                max: limits.max_frame_chars,
            });
        }
        let binary = base45::decode(rest)?;
        let overhead = if is_static {
            STATIC_OVERHEAD
        } else {
            FOUNTAIN_OVERHEAD
        };
        if binary.len() < overhead {
            return Err(FrameError::Truncated(binary.len()));
        }
        let (content, crc) = binary.split_at(binary.len() - 4);
        if frame_crc(prefix, content).to_be_bytes() != crc {
            return Err(FrameError::Checksum);
        }
        let kind = MessageKind::from_code(content[0]).ok_or(FrameError::UnknownKind(content[0]))?;
        if is_static {
            let body = &content[1..];
            if body.len() > limits.message_cap() {
                return Err(FrameError::MessageTooLarge {
                    length: body.len(),
                    max: limits.message_cap(),
                });
            }
            if body.is_empty() {
                return Err(FrameError::EmptyMessage);
            }
            return Ok(Frame::Static {
                kind,
                body: body.to_vec(),
            });
        }
        let u24 =
            |at: usize| u32::from_be_bytes([0, content[at], content[at + 1], content[at + 2]]);
        let length = u24(1);
        let message_crc = u32::from_be_bytes([content[4], content[5], content[6], content[7]]);
        let esi = u24(8);
        let symbol = &content[11..];
        check_transfer(length as usize, symbol.len(), limits)?;
        Ok(Frame::Fountain(FountainFrame {
            kind,
            length,
            message_crc,
            esi,
            symbol: symbol.to_vec(),
        }))
    }
}

/// Checks a transfer's announced shape against the limits.
pub fn check_transfer(
    length: usize,
    symbol_size: usize,
    limits: &Limits,
) -> Result<(), FrameError> {
    if length == 0 {
        return Err(FrameError::EmptyMessage);
    }
    if length > limits.message_cap() {
        return Err(FrameError::MessageTooLarge {
            length,
            max: limits.message_cap(),
        });
    }
    if symbol_size == 0 || symbol_size > usize::from(limits.max_symbol_size) {
        return Err(FrameError::SymbolSize {
            size: symbol_size,
            max: limits.max_symbol_size,
        });
    }
    let symbols = length.div_ceil(symbol_size) as u64;
    if symbols > u64::from(limits.max_source_symbols) {
        return Err(FrameError::TooManySymbols {
            symbols,
            max: limits.max_source_symbols,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fountain() -> FountainFrame {
        FountainFrame {
            kind: MessageKind::Payment,
            length: 600,
            message_crc: 0xDEAD_BEEF,
            esi: 7,
            symbol: vec![0x5A; 256],
        }
    }

    #[test]
    fn frames_round_trip_and_stay_alphanumeric() {
        let frames = [
            Frame::Static {
                kind: MessageKind::PaymentRequest,
                body: b"hello".to_vec(),
            },
            Frame::Fountain(fountain()),
        ];
        for frame in frames {
            let text = frame.to_text();
            assert!(text.bytes().all(|c| base45::ALPHABET.contains(&c)));
            assert_eq!(Frame::parse(&text, &Limits::DEFAULT).unwrap(), frame);
        }
    }

    #[test]
    fn every_single_byte_corruption_is_rejected() {
        let text = Frame::Fountain(fountain()).to_text();
        for at in 0..text.len() {
            let mut bytes = text.clone().into_bytes();
            bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
            let corrupted = String::from_utf8(bytes).unwrap();
            assert!(
                Frame::parse(&corrupted, &Limits::DEFAULT).is_err(),
                "at {at}"
            );
        }
    }

    #[test]
    fn limits_are_enforced() {
        let mut big = fountain();
        big.length = 70_000;
        let text = Frame::Fountain(big).to_text();
        assert!(matches!(
            Frame::parse(&text, &Limits::DEFAULT),
            Err(FrameError::MessageTooLarge { .. })
        ));
        let mut tiny_symbols = fountain();
        tiny_symbols.length = 60_000;
        tiny_symbols.symbol = vec![1; 10];
        assert!(matches!(
            Frame::parse(&Frame::Fountain(tiny_symbols).to_text(), &Limits::DEFAULT),
            Err(FrameError::TooManySymbols { .. })
        ));
        let long = format!("{FOUNTAIN_PREFIX}{}", "0".repeat(5000));
        assert!(matches!(
            Frame::parse(&long, &Limits::DEFAULT),
            Err(FrameError::FrameTooLong { .. })
        ));
        assert_eq!(
            Frame::parse("https://example.org", &Limits::DEFAULT),
            Err(FrameError::NotOpsFrame)
        );
    }
}
