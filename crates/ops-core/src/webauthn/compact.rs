//! Wire compaction: a browser assertion to the compact form ([`AssertionWire::from_raw`])
//! and back to the exact signed bytes ([`AssertionWire::expand`]). No check happens here
//! beyond what the conversion needs (strict DER, the authenticator data header); the
//! assertion is verified by [`super::verify_assertion`].

use super::{
    AssertionWire, AuthDataWire, AuthenticatorData, ClientDataWire, MAX_ORIGINS, RawAssertion,
    TemplateVariant, WebAuthnError, WebAuthnPolicy,
};
use crate::der::der_to_raw;
use crate::ids::sha256;

impl AssertionWire {
    /// Compacts a browser assertion: template forms where they rebuild the exact bytes,
    /// raw forms otherwise. `challenge` is what the assertion was requested with.
    pub fn from_raw(
        raw: &RawAssertion<'_>,
        policy: &WebAuthnPolicy,
        challenge: &[u8],
    ) -> Result<Self, WebAuthnError> {
        let signature = der_to_raw(raw.signature_der)?;
        let ad = AuthenticatorData::parse(raw.authenticator_data)?;
        let auth_data = if ad.rest.is_empty() && ad.rp_id_hash == sha256(policy.rp_id.as_bytes()) {
            AuthDataWire::Compact {
                flags: ad.flags,
                sign_count: ad.sign_count,
            }
        } else {
            AuthDataWire::Raw(raw.authenticator_data.to_vec())
        };
        let mut client_data = ClientDataWire::Raw(raw.client_data_json.to_vec());
        'search: for (i, origin) in policy.origins.iter().enumerate().take(MAX_ORIGINS) {
            for variant in [
                TemplateVariant::CrossOriginFalse,
                TemplateVariant::NoCrossOrigin,
            ] {
                if variant.build(challenge, origin) == raw.client_data_json {
                    client_data = ClientDataWire::Template {
                        origin_index: i as u8,
                        variant,
                    };
                    break 'search;
                }
            }
        }
        Ok(Self {
            auth_data,
            client_data,
            signature,
        })
    }

    /// Rebuilds the exact authenticator data and `clientDataJSON` bytes that were signed.
    pub fn expand(
        &self,
        policy: &WebAuthnPolicy,
        challenge: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), WebAuthnError> {
        let auth = match &self.auth_data {
            AuthDataWire::Compact { flags, sign_count } => {
                let mut v = Vec::with_capacity(37);
                v.extend_from_slice(&sha256(policy.rp_id.as_bytes()));
                v.push(*flags);
                v.extend_from_slice(&sign_count.to_be_bytes());
                v
            }
            AuthDataWire::Raw(b) => b.clone(),
        };
        let client = match &self.client_data {
            ClientDataWire::Template {
                origin_index,
                variant,
            } => {
                let origin = policy
                    .origins
                    .get(usize::from(*origin_index))
                    .ok_or(WebAuthnError::BadTemplate(*origin_index))?;
                variant.build(challenge, origin)
            }
            ClientDataWire::Raw(b) => b.clone(),
        };
        Ok((auth, client))
    }
}
