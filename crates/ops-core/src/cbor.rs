//! A strict, bounded subset of deterministic CBOR (RFC 8949 §4.2.1).
//!
//! Only what the protocol needs: unsigned integers, byte strings, text strings, arrays,
//! maps keyed by small unsigned integers in strictly ascending order, and `true`/`false`.
//! The encoder always emits the shortest form and definite lengths; the decoder accepts
//! exactly that and nothing else, checks every length against the bytes that remain (and
//! against a caller-given maximum) before it slices or allocates, and never panics.

use crate::error::DecodeError;

const MAJOR_UINT: u8 = 0;
const MAJOR_BYTES: u8 = 2;
const MAJOR_TEXT: u8 = 3;
const MAJOR_ARRAY: u8 = 4;
const MAJOR_MAP: u8 = 5;
const FALSE: u8 = 0xf4;
const TRUE: u8 = 0xf5;

/// Appends canonical CBOR items to a byte vector.
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// An empty encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn head(&mut self, major: u8, value: u64) {
        let m = major << 5;
        if value < 24 {
            self.buf.push(m | value as u8);
        } else if value <= u64::from(u8::MAX) {
            self.buf.push(m | 24);
            self.buf.push(value as u8);
        } else if value <= u64::from(u16::MAX) {
            self.buf.push(m | 25);
            self.buf.extend_from_slice(&(value as u16).to_be_bytes());
        } else if value <= u64::from(u32::MAX) {
            self.buf.push(m | 26);
            self.buf.extend_from_slice(&(value as u32).to_be_bytes());
        } else {
            self.buf.push(m | 27);
            self.buf.extend_from_slice(&value.to_be_bytes());
        }
    }

    /// An unsigned integer.
    pub fn uint(&mut self, value: u64) -> &mut Self {
        self.head(MAJOR_UINT, value);
        self
    }

    /// A byte string.
    pub fn bytes(&mut self, value: &[u8]) -> &mut Self {
        self.head(MAJOR_BYTES, value.len() as u64);
        self.buf.extend_from_slice(value);
        self
    }

    /// A text string.
    pub fn text(&mut self, value: &str) -> &mut Self {
        self.head(MAJOR_TEXT, value.len() as u64);
        self.buf.extend_from_slice(value.as_bytes());
        self
    }

    /// A boolean.
    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.buf.push(if value { TRUE } else { FALSE });
        self
    }

    /// The head of an array of `len` items.
    pub fn array(&mut self, len: usize) -> &mut Self {
        self.head(MAJOR_ARRAY, len as u64);
        self
    }

    /// The head of a map of `len` entries.
    pub fn map(&mut self, len: usize) -> &mut Self {
        self.head(MAJOR_MAP, len as u64);
        self
    }

    /// Already-encoded CBOR bytes (one or more complete items).
    pub fn raw(&mut self, encoded: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(encoded);
        self
    }
}

/// Reads canonical CBOR items from a byte slice.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// The current offset into the input.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Fails unless the whole input has been consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                count: self.remaining(),
            })
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::UnexpectedEnd { offset: self.pos });
        }
        let start = self.pos;
        self.pos += n;
        self.buf
            .get(start..self.pos)
            .ok_or(DecodeError::UnexpectedEnd { offset: start })
    }

    fn peek_byte(&self) -> Result<u8, DecodeError> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or(DecodeError::UnexpectedEnd { offset: self.pos })
    }

    /// The major type of the next item, without consuming it.
    pub fn peek_major(&self) -> Result<u8, DecodeError> {
        Ok(self.peek_byte()? >> 5)
    }

    /// True when the next item is a byte string.
    pub fn next_is_bytes(&self) -> bool {
        self.peek_major().is_ok_and(|m| m == MAJOR_BYTES)
    }

    /// True when the next item is a map.
    pub fn next_is_map(&self) -> bool {
        self.peek_major().is_ok_and(|m| m == MAJOR_MAP)
    }

    fn head(&mut self, expected: u8) -> Result<u64, DecodeError> {
        let offset = self.pos;
        let initial = self.peek_byte()?;
        let major = initial >> 5;
        if major != expected {
            return Err(DecodeError::UnexpectedType {
                offset,
                expected: major_name(expected),
                found: major_name(major),
            });
        }
        self.pos += 1;
        let info = initial & 0x1f;
        let (value, min) = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => (u64::from(self.fixed::<1>()?[0]), 24),
            25 => (u64::from(u16::from_be_bytes(self.fixed::<2>()?)), 0x100),
            26 => (u64::from(u32::from_be_bytes(self.fixed::<4>()?)), 0x1_0000),
            27 => (u64::from_be_bytes(self.fixed::<8>()?), 0x1_0000_0000),
            31 => return Err(DecodeError::IndefiniteLength { offset }),
            _ => return Err(DecodeError::Reserved { offset }),
        };
        if value < min {
            return Err(DecodeError::NonCanonicalInteger { offset });
        }
        Ok(value)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    fn length(&mut self, major: u8, max: usize, what: &'static str) -> Result<usize, DecodeError> {
        let len = self.head(major)?;
        if len > max as u64 {
            return Err(DecodeError::TooLong {
                what,
                len,
                max: max as u64,
            });
        }
        Ok(len as usize)
    }

    /// An unsigned integer.
    pub fn uint(&mut self) -> Result<u64, DecodeError> {
        self.head(MAJOR_UINT)
    }

    /// An unsigned integer that must fit in `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let v = self.uint()?;
        u32::try_from(v).map_err(|_| DecodeError::InvalidValue {
            what,
            why: "does not fit in 32 bits",
        })
    }

    /// An unsigned integer that must fit in `u8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        let v = self.uint()?;
        u8::try_from(v).map_err(|_| DecodeError::InvalidValue {
            what,
            why: "does not fit in 8 bits",
        })
    }

    /// A byte string of at most `max` bytes, borrowed from the input.
    pub fn bytes(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.length(MAJOR_BYTES, max, what)?;
        self.take(len)
    }

    /// A byte string of exactly `N` bytes.
    pub fn bytes_fixed<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let offset = self.pos;
        let s = self.bytes(N, what)?;
        let mut out = [0u8; N];
        if s.len() != N {
            return Err(DecodeError::WrongLength {
                what,
                offset,
                len: s.len(),
                expected: N,
            });
        }
        out.copy_from_slice(s);
        Ok(out)
    }

    /// A UTF-8 text string of at most `max` bytes, borrowed from the input.
    pub fn text(&mut self, max: usize, what: &'static str) -> Result<&'a str, DecodeError> {
        let offset = self.pos;
        let len = self.length(MAJOR_TEXT, max, what)?;
        let raw = self.take(len)?;
        core::str::from_utf8(raw).map_err(|_| DecodeError::InvalidUtf8 { offset })
    }

    /// A boolean.
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        let offset = self.pos;
        match self.peek_byte()? {
            FALSE => {
                self.pos += 1;
                Ok(false)
            }
            TRUE => {
                self.pos += 1;
                Ok(true)
            }
            other => Err(DecodeError::UnexpectedType {
                offset,
                expected: "bool",
                found: major_name(other >> 5),
            }),
        }
    }

    /// The head of an array of at most `max` items; returns the item count.
    pub fn array(&mut self, max: usize, what: &'static str) -> Result<usize, DecodeError> {
        let len = self.length(MAJOR_ARRAY, max, what)?;
        // Every item takes at least one byte: refuse counts the input cannot hold.
        if len > self.remaining() {
            return Err(DecodeError::UnexpectedEnd { offset: self.pos });
        }
        Ok(len)
    }

    /// Starts reading a map whose keys are small unsigned integers in ascending order.
    pub fn map(&mut self, max: usize) -> Result<MapReader<'_, 'a>, DecodeError> {
        let offset = self.pos;
        let len = self.length(MAJOR_MAP, max, "map")?;
        if len.saturating_mul(2) > self.remaining() {
            return Err(DecodeError::UnexpectedEnd { offset });
        }
        Ok(MapReader {
            dec: self,
            left: len,
            last: None,
        })
    }
}

/// Reads the entries of a map in key order, enforcing strictly ascending keys and rejecting
/// entries the caller does not ask for.
#[derive(Debug)]
pub struct MapReader<'d, 'a> {
    dec: &'d mut Decoder<'a>,
    left: usize,
    last: Option<u64>,
}

impl<'a> MapReader<'_, 'a> {
    /// The decoder, for reading the value of the key just accepted.
    pub fn value(&mut self) -> &mut Decoder<'a> {
        self.dec
    }

    fn peek_key(&self) -> Result<Option<u64>, DecodeError> {
        if self.left == 0 {
            return Ok(None);
        }
        let mut probe = self.dec.clone();
        let offset = probe.pos;
        let key = probe.uint()?;
        if self.last.is_some_and(|l| key <= l) {
            return Err(DecodeError::KeyOrder { offset, key });
        }
        Ok(Some(key))
    }

    /// Consumes key `key` if it is next; returns whether it was present.
    pub fn optional(&mut self, key: u64) -> Result<bool, DecodeError> {
        match self.peek_key()? {
            Some(k) if k == key => {
                self.dec.uint()?;
                self.left -= 1;
                self.last = Some(key);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Consumes key `key`, which must be next.
    pub fn required(&mut self, key: u64) -> Result<&mut Decoder<'a>, DecodeError> {
        let offset = self.dec.pos;
        if self.optional(key)? {
            Ok(self.dec)
        } else {
            Err(DecodeError::MissingField { offset, key })
        }
    }

    /// Fails if entries remain that the caller did not read.
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.peek_key()? {
            None => Ok(()),
            Some(key) => Err(DecodeError::UnknownField {
                offset: self.dec.pos,
                key,
            }),
        }
    }
}

fn major_name(major: u8) -> &'static str {
    match major {
        0 => "unsigned integer",
        1 => "negative integer",
        2 => "byte string",
        3 => "text string",
        4 => "array",
        5 => "map",
        6 => "tag",
        _ => "simple value or float",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn uint_uses_shortest_form() {
        let cases: [(u64, &[u8]); 6] = [
            (0, &[0x00]),
            (23, &[0x17]),
            (24, &[0x18, 24]),
            (256, &[0x19, 1, 0]),
            (65_536, &[0x1a, 0, 1, 0, 0]),
            (1 << 32, &[0x1b, 0, 0, 0, 1, 0, 0, 0, 0]),
        ];
        for (v, want) in cases {
            let mut e = Encoder::new();
            e.uint(v);
            assert_eq!(e.into_bytes(), want, "value {v}");
        }
    }

    #[test]
    fn rejects_non_shortest_integers() {
        for bad in [&[0x18, 5][..], &[0x19, 0, 200], &[0x1a, 0, 0, 255, 255]] {
            let err = Decoder::new(bad).uint().unwrap_err();
            assert!(
                matches!(err, DecodeError::NonCanonicalInteger { .. }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_indefinite_and_reserved() {
        assert!(matches!(
            Decoder::new(&[0x5f, 0xff]).bytes(10, "b"),
            Err(DecodeError::IndefiniteLength { .. })
        ));
        assert!(matches!(
            Decoder::new(&[0x1c]).uint(),
            Err(DecodeError::Reserved { .. })
        ));
    }

    #[test]
    fn length_checked_before_slicing() {
        // Claims 2^32 bytes, has 1.
        let input = [0x5a, 0xff, 0xff, 0xff, 0xff, 0x00];
        assert!(matches!(
            Decoder::new(&input).bytes(usize::MAX, "b"),
            Err(DecodeError::UnexpectedEnd { .. })
        ));
        assert!(matches!(
            Decoder::new(&input).bytes(16, "b"),
            Err(DecodeError::TooLong { .. })
        ));
        // An array count larger than the input.
        assert!(matches!(
            Decoder::new(&[0x99, 0xff, 0xff]).array(usize::MAX, "a"),
            Err(DecodeError::UnexpectedEnd { .. })
        ));
    }

    #[test]
    fn map_keys_must_ascend() {
        // {2: 0, 1: 0}
        let input = [0xa2, 0x02, 0x00, 0x01, 0x00];
        let mut d = Decoder::new(&input);
        let mut m = d.map(4).unwrap();
        assert!(!m.optional(1).unwrap());
        m.required(2).unwrap().uint().unwrap();
        assert!(matches!(m.optional(3), Err(DecodeError::KeyOrder { .. })));
    }

    #[test]
    fn unknown_map_key_rejected() {
        let input = [0xa1, 0x05, 0x00];
        let mut d = Decoder::new(&input);
        let m = d.map(4).unwrap();
        assert!(matches!(
            m.finish(),
            Err(DecodeError::UnknownField { key: 5, .. })
        ));
    }

    #[test]
    fn invalid_utf8_rejected() {
        assert!(matches!(
            Decoder::new(&[0x62, 0xc3, 0x28]).text(8, "t"),
            Err(DecodeError::InvalidUtf8 { .. })
        ));
    }

    #[test]
    fn trailing_bytes_reported() {
        let mut d = Decoder::new(&[0x01, 0x02]);
        d.uint().unwrap();
        assert!(matches!(
            d.finish(),
            Err(DecodeError::TrailingBytes { count: 1 })
        ));
    }

    proptest! {
        #[test]
        fn uint_round_trip(v in any::<u64>()) {
            let mut e = Encoder::new();
            e.uint(v);
            let b = e.into_bytes();
            let mut d = Decoder::new(&b);
            prop_assert_eq!(d.uint().unwrap(), v);
            prop_assert!(d.finish().is_ok());
        }

        #[test]
        fn bytes_round_trip(v in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut e = Encoder::new();
            e.bytes(&v);
            let b = e.into_bytes();
            let mut d = Decoder::new(&b);
            prop_assert_eq!(d.bytes(1000, "b").unwrap(), &v[..]);
            prop_assert!(d.finish().is_ok());
        }

        #[test]
        fn decoder_never_panics(input in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut d = Decoder::new(&input);
            let _ = d.uint();
            let mut d = Decoder::new(&input);
            let _ = d.text(64, "t");
            let mut d = Decoder::new(&input);
            if let Ok(mut m) = d.map(8) {
                let _ = m.optional(0);
                let _ = m.finish();
            }
        }
    }
}
