//! COSE_Key of a credential (part of step 6 of `docs/WEBAUTHN.md`): EC2, P-256, ES256 only.

use minicbor::Decoder;
use p256::EncodedPoint;
use p256::ecdsa::VerifyingKey;

use super::RegistrationError;
use super::attestation_object::definite_map;
use crate::ids::PublicKey;

/// A parsed COSE EC2 P-256 ES256 key.
pub(super) struct CoseKey {
    /// The key, SEC1 compressed.
    pub(super) public_key: PublicKey,
    /// The x coordinate.
    pub(super) x: [u8; 32],
    /// The y coordinate.
    pub(super) y: [u8; 32],
}

/// Parses a COSE_Key at the start of `d`'s remaining input; `d` ends just after it.
pub(super) fn parse_cose_key(d: &mut Decoder<'_>) -> Result<CoseKey, RegistrationError> {
    let bad = RegistrationError::MalformedCoseKey;
    let n = definite_map(d, "not a CBOR map").map_err(bad)?;
    let (mut kty, mut alg, mut crv, mut x, mut y) = (None, None, None, None, None);
    let mut seen: Vec<i64> = Vec::new();
    for _ in 0..n {
        let label = d.i64().map_err(|_| bad("label is not an integer"))?;
        if seen.contains(&label) {
            return Err(bad("duplicate label"));
        }
        seen.push(label);
        match label {
            1 => kty = Some(d.i64().map_err(|_| bad("kty is not an integer"))?),
            3 => alg = Some(d.i64().map_err(|_| bad("alg is not an integer"))?),
            -1 => crv = Some(d.i64().map_err(|_| bad("crv is not an integer"))?),
            -2 => x = Some(d.bytes().map_err(|_| bad("x is not a byte string"))?),
            -3 => y = Some(d.bytes().map_err(|_| bad("y is not a byte string"))?),
            _ => d.skip().map_err(|_| bad("truncated"))?,
        }
    }
    if kty != Some(2) {
        return Err(RegistrationError::UnsupportedKey("kty is not EC2 (2)"));
    }
    if alg != Some(-7) {
        return Err(RegistrationError::UnsupportedKey("alg is not ES256 (-7)"));
    }
    if crv != Some(1) {
        return Err(RegistrationError::UnsupportedKey("crv is not P-256 (1)"));
    }
    let x: [u8; 32] = x
        .ok_or(bad("x missing"))?
        .try_into()
        .map_err(|_| bad("x is not 32 bytes"))?;
    let y: [u8; 32] = y
        .ok_or(bad("y missing"))?
        .try_into()
        .map_err(|_| bad("y is not 32 bytes"))?;
    let public_key = sec1_to_public_key(&EncodedPoint::from_affine_coordinates(
        &x.into(),
        &y.into(),
        false,
    ))?;
    Ok(CoseKey { public_key, x, y })
}

/// Validates an uncompressed SEC1 point and returns its compressed form.
pub(super) fn sec1_to_public_key(point: &EncodedPoint) -> Result<PublicKey, RegistrationError> {
    let vk =
        VerifyingKey::from_encoded_point(point).map_err(|_| RegistrationError::InvalidPublicKey)?;
    let c = vk.to_encoded_point(true);
    let a: [u8; 33] = c
        .as_bytes()
        .try_into()
        .map_err(|_| RegistrationError::InvalidPublicKey)?;
    Ok(PublicKey(a))
}

/// The credential public key of a COSE_Key (EC2, P-256, ES256), with no bytes after it.
/// Used to verify assertions for a credential stored as its COSE key.
pub fn public_key_from_cose(cose_key: &[u8]) -> Result<PublicKey, RegistrationError> {
    let mut d = Decoder::new(cose_key);
    let k = parse_cose_key(&mut d)?;
    if d.position() != cose_key.len() {
        return Err(RegistrationError::MalformedCoseKey(
            "trailing bytes after the key",
        ));
    }
    Ok(k.public_key)
}
