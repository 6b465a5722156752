//! Strict DER for ECDSA P-256 signatures (`SEQUENCE { INTEGER r, INTEGER s }`), as WebAuthn
//! authenticators emit them, converted to and from the fixed 64-byte `r || s` wire form.

use thiserror::Error;

/// Why a DER signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DerError {
    /// Not a well-formed, minimally encoded DER `ECDSA-Sig-Value` for P-256.
    #[error("signature is not strict DER: {0}")]
    Malformed(&'static str),
}

fn read_integer(input: &[u8]) -> Result<([u8; 32], &[u8]), DerError> {
    let (&tag, rest) = input
        .split_first()
        .ok_or(DerError::Malformed("truncated"))?;
    if tag != 0x02 {
        return Err(DerError::Malformed("expected INTEGER"));
    }
    let (&len, rest) = rest.split_first().ok_or(DerError::Malformed("truncated"))?;
    let len = usize::from(len);
    if len == 0 || len > 33 || len > rest.len() {
        return Err(DerError::Malformed("bad INTEGER length"));
    }
    let (value, rest) = rest.split_at(len);
    if value[0] & 0x80 != 0 {
        return Err(DerError::Malformed("negative INTEGER"));
    }
    if value.len() > 1 && value[0] == 0 && value[1] & 0x80 == 0 {
        return Err(DerError::Malformed("INTEGER not minimally encoded"));
    }
    let digits = if value.len() == 33 {
        if value[0] != 0 {
            return Err(DerError::Malformed("INTEGER wider than 256 bits"));
        }
        &value[1..]
    } else {
        value
    };
    let mut out = [0u8; 32];
    out[32 - digits.len()..].copy_from_slice(digits);
    Ok((out, rest))
}

/// Parses a strict DER ECDSA signature into `r || s` (each left-padded to 32 bytes).
/// Range checks (`1 <= r, s < n`) are left to verification.
pub fn der_to_raw(der: &[u8]) -> Result<[u8; 64], DerError> {
    let (&tag, rest) = der.split_first().ok_or(DerError::Malformed("empty"))?;
    if tag != 0x30 {
        return Err(DerError::Malformed("expected SEQUENCE"));
    }
    let (&len, body) = rest.split_first().ok_or(DerError::Malformed("truncated"))?;
    // Short-form lengths only: a P-256 signature body is at most 70 bytes.
    if len & 0x80 != 0 || usize::from(len) != body.len() {
        return Err(DerError::Malformed("bad SEQUENCE length"));
    }
    let (r, rest) = read_integer(body)?;
    let (s, rest) = read_integer(rest)?;
    if !rest.is_empty() {
        return Err(DerError::Malformed("trailing data in SEQUENCE"));
    }
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&r);
    out[32..].copy_from_slice(&s);
    Ok(out)
}

fn push_integer(out: &mut Vec<u8>, v: &[u8]) {
    let start = v
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(v.len().saturating_sub(1));
    let digits = &v[start..];
    let pad = digits.first().is_some_and(|b| b & 0x80 != 0);
    out.push(0x02);
    out.push((digits.len() + usize::from(pad)) as u8);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(digits);
}

/// Encodes `r || s` as strict DER (the form WebAuthn authenticators produce).
pub fn raw_to_der(raw: &[u8; 64]) -> Vec<u8> {
    let mut body = Vec::with_capacity(72);
    push_integer(&mut body, &raw[..32]);
    push_integer(&mut body, &raw[32..]);
    let mut out = Vec::with_capacity(body.len() + 2);
    out.push(0x30);
    out.push(body.len() as u8);
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_non_minimal_and_negative() {
        // r = 00 01 (non-minimal), s = 01
        assert!(der_to_raw(&[0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01]).is_err());
        // r = 0x80 (negative)
        assert!(der_to_raw(&[0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01]).is_err());
        // long-form length
        assert!(der_to_raw(&[0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]).is_err());
        // trailing byte after SEQUENCE
        assert!(der_to_raw(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00]).is_err());
        // good
        let raw = der_to_raw(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02]).unwrap();
        assert_eq!(raw[31], 1);
        assert_eq!(raw[63], 2);
    }

    proptest! {
        #[test]
        fn der_round_trip(raw in proptest::array::uniform32(any::<u8>()), raw2 in proptest::array::uniform32(any::<u8>())) {
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&raw);
            sig[32..].copy_from_slice(&raw2);
            let der = raw_to_der(&sig);
            prop_assert_eq!(der_to_raw(&der).unwrap(), sig);
        }

        #[test]
        fn der_parser_total(input in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = der_to_raw(&input);
        }
    }
}
