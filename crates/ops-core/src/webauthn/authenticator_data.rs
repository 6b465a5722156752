//! The fixed header of authenticator data (WebAuthn Level 3 §6.1), shared by assertions
//! and registrations.

use super::{WebAuthnError, flags};

/// Parsed authenticator data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorData<'a> {
    /// SHA-256 of the RP ID.
    pub rp_id_hash: [u8; 32],
    /// Flag bits, see [`flags`].
    pub flags: u8,
    /// Signature counter.
    pub sign_count: u32,
    /// Attested credential data and/or extensions, unparsed.
    pub rest: &'a [u8],
}

impl<'a> AuthenticatorData<'a> {
    /// Splits authenticator data into its fixed header and the rest.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WebAuthnError> {
        let Some((head, rest)) = bytes.split_first_chunk::<37>() else {
            return Err(WebAuthnError::MalformedAuthenticatorData(
                "shorter than 37 bytes",
            ));
        };
        let (rp_id_hash, tail) = head.split_at(32);
        let mut hash = [0u8; 32];
        hash.copy_from_slice(rp_id_hash);
        let flags = tail[0];
        let sign_count = u32::from_be_bytes([tail[1], tail[2], tail[3], tail[4]]);
        if rest.is_empty() && flags & (flags::AT | flags::ED) != 0 {
            return Err(WebAuthnError::MalformedAuthenticatorData(
                "AT or ED flag set but no data follows",
            ));
        }
        if !rest.is_empty() && flags & (flags::AT | flags::ED) == 0 {
            return Err(WebAuthnError::MalformedAuthenticatorData(
                "trailing bytes without AT or ED flag",
            ));
        }
        Ok(Self {
            rp_id_hash: hash,
            flags,
            sign_count,
            rest,
        })
    }
}
