//! Attested credential data (step 6 of `docs/WEBAUTHN.md`): what follows the authenticator
//! data header in a registration.

use minicbor::Decoder;
use minicbor::data::Type;

use super::cose::{CoseKey, parse_cose_key};
use super::{MAX_CREDENTIAL_ID, RegistrationError};
use crate::webauthn::flags;

/// Attested credential data split out of the authenticator data.
pub(super) struct AttestedCredential<'a> {
    /// The authenticator model.
    pub(super) aaguid: [u8; 16],
    /// The credential ID.
    pub(super) credential_id: &'a [u8],
    /// The COSE_Key bytes as sent.
    pub(super) cose_key_bytes: &'a [u8],
    /// The key they hold.
    pub(super) key: CoseKey,
}

/// Step 6: parses `rest` (after the 37-byte header): AT set, AAGUID, credential ID
/// (1..=[`MAX_CREDENTIAL_ID`] bytes, within the data), COSE key, then extensions exactly when
/// ED is set, and nothing else.
pub(super) fn parse_attested_credential(
    rest: &[u8],
    flag_bits: u8,
) -> Result<AttestedCredential<'_>, RegistrationError> {
    let bad = RegistrationError::MalformedCredentialData;
    if flag_bits & flags::AT == 0 {
        return Err(RegistrationError::NoAttestedCredentialData);
    }
    let (aaguid, rest) = rest
        .split_first_chunk::<16>()
        .ok_or(bad("shorter than the AAGUID"))?;
    let (len, rest) = rest
        .split_first_chunk::<2>()
        .ok_or(bad("shorter than the credential ID length"))?;
    let len = usize::from(u16::from_be_bytes(*len));
    if len > MAX_CREDENTIAL_ID {
        return Err(RegistrationError::CredentialIdTooLong(len));
    }
    if len == 0 {
        return Err(bad("empty credential ID"));
    }
    if rest.len() < len {
        return Err(bad("credential ID longer than the data"));
    }
    let (credential_id, rest) = rest.split_at(len);
    if rest.is_empty() {
        return Err(bad("credential public key missing"));
    }
    let mut d = Decoder::new(rest);
    let key = parse_cose_key(&mut d)?;
    let key_end = d.position();
    let cose_key_bytes = rest.get(..key_end).ok_or(bad("COSE key out of range"))?;
    if flag_bits & flags::ED != 0 {
        if key_end == rest.len() {
            return Err(bad("ED flag set but no extensions follow"));
        }
        if d.datatype().map_err(|_| bad("extensions truncated"))? != Type::Map {
            return Err(bad("extensions are not a CBOR map"));
        }
        d.skip().map_err(|_| bad("extensions truncated"))?;
    }
    if d.position() != rest.len() {
        return Err(RegistrationError::TrailingBytes(rest.len() - d.position()));
    }
    Ok(AttestedCredential {
        aaguid: *aaguid,
        credential_id,
        cose_key_bytes,
        key,
    })
}
