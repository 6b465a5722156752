//! Base45 (RFC 9285): bytes as text in the 45-character QR alphanumeric alphabet.
//!
//! Two bytes become three characters, so a QR code in alphanumeric mode (5.5 bits per
//! character) carries 16 payload bits in 16.5 code bits: 97 % efficient, against 75 % for
//! base64 in byte mode. Every string a QR decoder returns for such a code is plain ASCII.

/// The QR alphanumeric alphabet in base45 digit order.
pub const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Why a text is not valid base45.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Base45Error {
    /// A character outside the alphabet.
    #[error("character {0:?} is not in the QR alphanumeric alphabet; the code is not an OPS frame")]
    BadCharacter(char),
    /// A length of the form 3n+1 cannot come from an encoder.
    #[error("base45 text has an impossible length {0}; the code was truncated")]
    BadLength(usize),
    /// A triple or pair denotes a value larger than its bytes can hold.
    #[error("base45 group is out of range; the code is corrupt")]
    Overflow,
}

/// Number of characters `encode` produces for `len` bytes.
pub const fn encoded_len(len: usize) -> usize {
    len / 2 * 3 + (len % 2) * 2
}

/// Encodes bytes as base45 text.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(bytes.len()));
    let push = |out: &mut String, mut value: u32, digits: usize| {
        for _ in 0..digits {
            out.push(char::from(ALPHABET[(value % 45) as usize]));
            value /= 45;
        }
    };
    let mut pairs = bytes.chunks_exact(2);
    for pair in &mut pairs {
        push(&mut out, (u32::from(pair[0]) << 8) | u32::from(pair[1]), 3);
    }
    if let [last] = pairs.remainder() {
        push(&mut out, u32::from(*last), 2);
    }
    out
}

fn digit(byte: u8) -> Result<u32, Base45Error> {
    ALPHABET
        .iter()
        .position(|&c| c == byte)
        .map(|index| index as u32)
        .ok_or(Base45Error::BadCharacter(char::from(byte)))
}

/// Decodes base45 text; rejects anything an encoder could not have produced.
pub fn decode(text: &str) -> Result<Vec<u8>, Base45Error> {
    let bytes = text.as_bytes();
    if bytes.len() % 3 == 1 {
        return Err(Base45Error::BadLength(bytes.len()));
    }
    let mut out = Vec::with_capacity(bytes.len() / 3 * 2 + 1);
    for group in bytes.chunks(3) {
        let mut value = 0u32;
        for &c in group.iter().rev() {
            value = value * 45 + digit(c)?;
        }
        if group.len() == 3 {
            let pair = u16::try_from(value).map_err(|_| Base45Error::Overflow)?;
            out.extend_from_slice(&pair.to_be_bytes());
        } else {
            out.push(u8::try_from(value).map_err(|_| Base45Error::Overflow)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9285_examples() {
        assert_eq!(encode(b"AB"), "BB8");
        assert_eq!(encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(decode("QED8WEX0").unwrap(), b"ietf!");
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(decode("A"), Err(Base45Error::BadLength(1)));
        assert_eq!(decode("a0"), Err(Base45Error::BadCharacter('a')));
        assert_eq!(decode("GGW"), Err(Base45Error::Overflow));
        assert_eq!(decode(":::"), Err(Base45Error::Overflow));
    }

    #[test]
    fn round_trips_every_length() {
        for len in 0..64usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = encode(&data);
            assert_eq!(text.len(), encoded_len(len));
            assert_eq!(decode(&text).unwrap(), data);
        }
    }
}
