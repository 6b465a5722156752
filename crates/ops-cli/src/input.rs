//! Reading a message given as a file path, hex, base64 or stdin.
//!
//! A file or stdin is read through [`read_bounded`]: at most [`MAX_INPUT_LEN`] bytes, so a
//! wrong or hostile input (a log, an archive, `/dev/zero`) is refused after a few
//! megabytes instead of filling memory. A file whose size on disk is already over the
//! bound is refused before anything is read.
//!
//! Bytes that are UTF-8 text are hex or base64; anything else is raw CBOR (a message starts
//! with a CBOR map head, `0xa0..=0xbb`, which is never the first byte of UTF-8 text). Text
//! whose first non-blank character is a hex digit is hex, otherwise base64 (standard or
//! URL-safe, padded or not): a message's hex always starts with `a` or `b`, its base64
//! with one of `o`–`u`. Whitespace anywhere is ignored.

use std::io::Read;
use std::path::Path;

use base64::Engine as _;
use base64::engine::GeneralPurpose;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use ops_core::msg::Body;
use ops_core::msg::cert::CertBody;
use ops_core::msg::crl::CrlBody;
use ops_core::msg::fraud::FraudProof;
use ops_core::msg::issuance::IssuanceBody;
use ops_core::msg::payment::Payment;
use ops_core::msg::receipt::ReceiptBody;
use ops_core::msg::request::PaymentRequest;
use ops_core::msg::spend::SpendBody;
use thiserror::Error;

use crate::Failure;

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// The largest encoded protocol message (docs/PROTOCOL.md §5): a revocation list of
/// 100 000 serials, 1 KiB + 9 B per serial = 901 024 bytes.
pub const MAX_MESSAGE_LEN: usize = max(
    max(
        max(CertBody::MAX_LEN, IssuanceBody::MAX_LEN),
        max(SpendBody::MAX_LEN, PaymentRequest::MAX_LEN),
    ),
    max(
        max(Payment::MAX_LEN, ReceiptBody::MAX_LEN),
        max(CrlBody::MAX_LEN, FraudProof::MAX_LEN),
    ),
);

/// The most bytes read from a file or stdin for one message: the largest message as hex
/// (two characters a byte) with up to two whitespace characters a byte (`a1 00 …` in lines
/// ending in CR LF) — 3 604 096 bytes.
pub const MAX_INPUT_LEN: u64 = 4 * MAX_MESSAGE_LEN as u64;

/// Why an input could not be read or decoded.
#[derive(Debug, Error)]
pub enum InputError {
    /// More than `limit` bytes came from a stream; reading stopped at `read`.
    #[error("more than the {limit}-byte input limit: stopped after reading {read} bytes")]
    TooLarge {
        /// The bound, [`MAX_INPUT_LEN`] for a message.
        limit: u64,
        /// Bytes read before giving up (`limit + 1`).
        read: u64,
    },
    /// A regular file is larger than `limit`; nothing was read.
    #[error("the file is {len} bytes, more than the {limit}-byte input limit; nothing was read")]
    FileTooLarge {
        /// The file's size on disk.
        len: u64,
        /// The bound.
        limit: u64,
    },
    /// The operating system refused to open or read it.
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    /// Nothing but whitespace.
    #[error("no hex or base64 in it: it is empty or only whitespace")]
    Empty,
    /// Hex with one digit short of (or over) whole bytes.
    #[error("odd number of hex digits: {digits}")]
    OddHex {
        /// How many hex digits there are.
        digits: usize,
    },
    /// A character that is neither a hex digit nor whitespace, in text read as hex.
    #[error("invalid hex character {character:?} at line {line}, column {column}")]
    InvalidHex {
        /// The offending character.
        character: char,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
    },
    /// A character outside the base64 alphabets, in text read as base64.
    #[error("invalid base64 character {character:?} at line {line}, column {column}")]
    InvalidBase64 {
        /// The offending character.
        character: char,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
    },
    /// Base64 that is malformed otherwise (length, padding, last character).
    #[error("not valid base64: {0}")]
    Base64(#[source] base64::DecodeError),
}

impl InputError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::TooLarge { .. } | Self::FileTooLarge { .. } => format!(
                "one protocol message is at most {MAX_MESSAGE_LEN} bytes (a full revocation list), \
                 {MAX_INPUT_LEN} as hex with whitespace: pass a single message, not a log or \
                 an archive"
            ),
            Self::Io(_) => "check the path and its permissions".into(),
            Self::Empty => "pass a path to a .hex/.cbor file, a hex string, or base64".into(),
            Self::OddHex { .. } => {
                "a byte is two hex digits: a digit was lost or added in copying; copy the \
                 message again"
                    .into()
            }
            Self::InvalidHex { .. } => {
                "hex may hold only 0-9, a-f, A-F and whitespace: fix or remove that character"
                    .into()
            }
            Self::InvalidBase64 { .. } | Self::Base64(_) => {
                "base64 may hold only A-Z, a-z, 0-9, + and / (or - and _), and = at the end: \
                 check the message was copied completely"
                    .into()
            }
        }
    }
}

/// Reads all of `reader` if it holds at most `limit` bytes. Reads `limit + 1` bytes at
/// most: a longer input is refused as soon as it shows it is too long.
pub fn read_bounded(reader: impl Read, limit: u64) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    let read = bytes.len() as u64;
    if read > limit {
        return Err(InputError::TooLarge { limit, read });
    }
    Ok(bytes)
}

/// Reads the file at `path` if it holds at most `limit` bytes. A regular file larger on
/// disk is refused unread; anything else (a pipe, a device, a file still growing) is read
/// through [`read_bounded`].
pub fn read_file_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    let file = std::fs::File::open(path)?;
    if let Ok(meta) = file.metadata()
        && meta.is_file()
        && meta.len() > limit
    {
        return Err(InputError::FileTooLarge {
            len: meta.len(),
            limit,
        });
    }
    read_bounded(file, limit)
}

/// The message bytes of file or stdin contents: decoded text (hex or base64) if they are
/// UTF-8, else the bytes themselves (raw CBOR).
pub fn decode_contents(bytes: Vec<u8>) -> Result<Vec<u8>, InputError> {
    match String::from_utf8(bytes) {
        Ok(text) => decode_text(text.strip_prefix('\u{feff}').unwrap_or(&text)),
        Err(e) => Ok(e.into_bytes()),
    }
}

/// Hex or base64 text to bytes (see the module documentation for which is which).
pub fn decode_text(text: &str) -> Result<Vec<u8>, InputError> {
    let first = text
        .chars()
        .find(|c| !c.is_whitespace())
        .ok_or(InputError::Empty)?;
    if first.is_ascii_hexdigit() {
        decode_hex(text)
    } else {
        decode_base64(text)
    }
}

/// The 1-based line and column of each character of `text`.
fn positions(text: &str) -> impl Iterator<Item = (char, usize, usize)> + '_ {
    let mut line = 1;
    let mut column = 0;
    text.chars().map(move |c| {
        column += 1;
        let here = (c, line, column);
        if c == '\n' {
            line += 1;
            column = 0;
        }
        here
    })
}

fn decode_hex(text: &str) -> Result<Vec<u8>, InputError> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    let mut digits = 0usize;
    for (character, line, column) in positions(text) {
        if character.is_whitespace() {
            continue;
        }
        let Some(nibble) = character.to_digit(16).and_then(|n| u8::try_from(n).ok()) else {
            return Err(InputError::InvalidHex {
                character,
                line,
                column,
            });
        };
        digits += 1;
        match high.take() {
            Some(h) => out.push((h << 4) | nibble),
            None => high = Some(nibble),
        }
    }
    if high.is_some() {
        return Err(InputError::OddHex { digits });
    }
    Ok(out)
}

fn decode_base64(text: &str) -> Result<Vec<u8>, InputError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    // The variant the text looks like first: its error is the one reported.
    let url = compact.contains(['-', '_']);
    let padded = compact.ends_with('=');
    let likely: &GeneralPurpose = match (url, padded) {
        (false, true) => &STANDARD,
        (false, false) => &STANDARD_NO_PAD,
        (true, true) => &URL_SAFE,
        (true, false) => &URL_SAFE_NO_PAD,
    };
    let e = match likely.decode(&compact) {
        Ok(bytes) => return Ok(bytes),
        Err(e) => e,
    };
    let engines = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD];
    if let Some(bytes) = engines.iter().find_map(|e| e.decode(&compact).ok()) {
        return Ok(bytes);
    }
    if let base64::DecodeError::InvalidByte(offset, _) = e {
        // `offset` counts bytes of `compact`: find that character in `text`.
        let mut at = 0;
        for (character, line, column) in positions(text) {
            if character.is_whitespace() {
                continue;
            }
            if at == offset {
                return Err(InputError::InvalidBase64 {
                    character,
                    line,
                    column,
                });
            }
            at += character.len_utf8();
        }
    }
    Err(InputError::Base64(e))
}

/// The message bytes from a path, `-` (stdin), hex or base64.
pub fn read_message(arg: &str) -> Result<Vec<u8>, Failure> {
    let fail = |what: &str, e: InputError| Failure::input(format!("{what}: {e}"), &e.hint());
    if arg == "-" {
        let bytes = read_bounded(std::io::stdin().lock(), MAX_INPUT_LEN).map_err(|e| match e {
            InputError::Io(_) => Failure::input(
                format!("stdin: {e}"),
                "pipe the message in, or pass it as an argument",
            ),
            e => fail("stdin", e),
        })?;
        return decode_contents(bytes).map_err(|e| fail("stdin", e));
    }
    // A path to anything but a folder (a regular file, a pipe such as `<(…)`, a device).
    if std::fs::metadata(arg).is_ok_and(|m| !m.is_dir()) {
        let bytes = read_file_bounded(Path::new(arg), MAX_INPUT_LEN).map_err(|e| fail(arg, e))?;
        return decode_contents(bytes).map_err(|e| fail(arg, e));
    }
    let mut shown: String = arg.chars().take(40).collect();
    if shown.len() < arg.len() {
        shown.push('…');
    }
    let what = format!("{shown:?} (not a file, read as text)");
    if arg.len() as u64 > MAX_INPUT_LEN {
        let e = InputError::TooLarge {
            limit: MAX_INPUT_LEN,
            read: arg.len() as u64,
        };
        return Err(fail(&what, e));
    }
    decode_text(arg).map_err(|e| fail(&what, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64_forms() {
        assert_eq!(read_message("a1 00 01").unwrap(), vec![0xa1, 0, 1]);
        assert_eq!(read_message("A1\n00\r\n01\n").unwrap(), vec![0xa1, 0, 1]);
        assert_eq!(read_message("oQAB").unwrap(), vec![0xa1, 0, 1]);
        assert_eq!(read_message("oQ A\nB").unwrap(), vec![0xa1, 0, 1]);
        assert!(read_message("!!!").is_err());
    }

    #[test]
    fn the_bound_is_the_largest_message_as_spaced_hex() {
        assert_eq!(MAX_MESSAGE_LEN, 1024 + 9 * 100_000);
        assert_eq!(MAX_INPUT_LEN, 3_604_096);
    }

    #[test]
    fn odd_hex_is_reported_as_such() {
        let e = decode_text("a1 00 0").unwrap_err();
        assert!(matches!(e, InputError::OddHex { digits: 5 }), "{e:?}");
        assert_eq!(e.to_string(), "odd number of hex digits: 5");
        // Three digits would decode as base64; it is hex all the same.
        assert!(matches!(
            decode_text("abc"),
            Err(InputError::OddHex { digits: 3 })
        ));
        let f = read_message("a10").unwrap_err();
        assert!(
            f.message.contains("odd number of hex digits: 3"),
            "{}",
            f.message
        );
        assert!(f.hint.is_some_and(|h| h.contains("two hex digits")));
    }

    #[test]
    fn invalid_hex_names_the_character_and_its_position() {
        // "a10g" would decode as base64; text starting with a hex digit is hex.
        let e = decode_text("a1 0g 01").unwrap_err();
        assert!(
            matches!(
                e,
                InputError::InvalidHex {
                    character: 'g',
                    line: 1,
                    column: 5
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "invalid hex character 'g' at line 1, column 5"
        );
        let e = decode_text("a100\n01é2\n").unwrap_err();
        assert!(
            matches!(
                e,
                InputError::InvalidHex {
                    character: 'é',
                    line: 2,
                    column: 3
                }
            ),
            "{e:?}"
        );
        // An invalid character makes it an invalid-character error even if the count is odd.
        assert!(matches!(
            decode_text("a1x"),
            Err(InputError::InvalidHex { character: 'x', .. })
        ));
    }

    #[test]
    fn invalid_base64_names_the_character_and_its_position() {
        let e = decode_text("oQ\n A!B").unwrap_err();
        assert!(
            matches!(
                e,
                InputError::InvalidBase64 {
                    character: '!',
                    line: 2,
                    column: 3
                }
            ),
            "{e:?}"
        );
        assert!(matches!(decode_text("   \n"), Err(InputError::Empty)));
    }

    #[test]
    fn raw_cbor_contents_pass_through() {
        assert_eq!(decode_contents(vec![0xa1, 0, 1]).unwrap(), vec![0xa1, 0, 1]);
        assert_eq!(
            decode_contents(b"\xef\xbb\xbfa1 00 01\n".to_vec()).unwrap(),
            vec![0xa1, 0, 1]
        );
        assert!(matches!(
            decode_contents(b"a1 00 0\n".to_vec()),
            Err(InputError::OddHex { digits: 5 })
        ));
    }

    /// Counts the bytes taken from the inner reader.
    struct Counting<R> {
        inner: R,
        taken: u64,
    }

    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.taken += n as u64;
            Ok(n)
        }
    }

    #[test]
    fn fifty_megabytes_are_refused_after_the_limit_plus_one_byte() {
        let mut src = Counting {
            inner: std::io::repeat(b'0').take(50_000_000),
            taken: 0,
        };
        let e = read_bounded(&mut src, MAX_INPUT_LEN).unwrap_err();
        assert!(
            matches!(e, InputError::TooLarge { limit, read }
                if limit == MAX_INPUT_LEN && read == MAX_INPUT_LEN + 1),
            "{e:?}"
        );
        assert_eq!(src.taken, MAX_INPUT_LEN + 1);
        let text = e.to_string();
        assert!(text.contains("3604096-byte input limit"), "{text}");
        assert!(text.contains("after reading 3604097 bytes"), "{text}");
        assert!(e.hint().contains("single message"));
    }

    #[test]
    fn input_of_exactly_the_limit_is_read() {
        let bytes = read_bounded(std::io::repeat(b'0').take(10), 10).unwrap();
        assert_eq!(bytes.len(), 10);
        assert!(matches!(
            read_bounded(std::io::repeat(b'0').take(11), 10),
            Err(InputError::TooLarge {
                limit: 10,
                read: 11
            })
        ));
    }

    #[test]
    fn a_large_file_is_refused_unread() {
        let dir = std::env::temp_dir().join(format!("ops-cli-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.hex");
        // Sparse: 50 MB on paper, nothing on disk.
        std::fs::File::create(&path)
            .unwrap()
            .set_len(50_000_000)
            .unwrap();
        let e = read_file_bounded(&path, MAX_INPUT_LEN).unwrap_err();
        assert!(
            matches!(e, InputError::FileTooLarge { len: 50_000_000, limit } if limit == MAX_INPUT_LEN),
            "{e:?}"
        );
        let f = read_message(path.to_str().unwrap()).unwrap_err();
        assert!(f.message.contains("50000000 bytes"), "{}", f.message);
        assert!(
            f.message.contains("3604096-byte input limit"),
            "{}",
            f.message
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
