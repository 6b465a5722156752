//! The compact wire form of an assertion ([`AssertionWire`]) and its canonical CBOR.
//!
//! Authenticator data travels as flags + sign count (the RP ID hash is recomputed from the
//! signer's certificate) or raw; `clientDataJSON` as a template index (origin index +
//! variant) that rebuilds the exact bytes, or raw; the signature as fixed `r || s`. Turning
//! a browser assertion into this form and back is [`super::compact`]'s job; checking it is
//! [`super::verify`]'s.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::{MAX_ORIGINS, MAX_RAW_AUTH_DATA, MAX_RAW_CLIENT_DATA, flags};
use crate::cbor::{Decoder, Encoder, MapReader};
use crate::der::raw_to_der;
use crate::error::DecodeError;
use crate::ids::to_hex;

/// The `clientDataJSON` shapes the compact form can rebuild byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TemplateVariant {
    /// `{"type":"webauthn.get","challenge":C,"origin":O,"crossOrigin":false}` (Chromium).
    CrossOriginFalse = 0,
    /// `{"type":"webauthn.get","challenge":C,"origin":O}`.
    NoCrossOrigin = 1,
}

impl TemplateVariant {
    fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::CrossOriginFalse),
            1 => Some(Self::NoCrossOrigin),
            _ => None,
        }
    }

    /// Builds the exact `clientDataJSON` bytes of a `webauthn.get` with this template.
    pub fn build(self, challenge: &[u8], origin: &str) -> Vec<u8> {
        let c = URL_SAFE_NO_PAD.encode(challenge);
        let tail = match self {
            Self::CrossOriginFalse => ",\"crossOrigin\":false}",
            Self::NoCrossOrigin => "}",
        };
        format!("{{\"type\":\"webauthn.get\",\"challenge\":\"{c}\",\"origin\":\"{origin}\"{tail}")
            .into_bytes()
    }
}

/// Authenticator data on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthDataWire {
    /// Flags and counter; the RP ID hash is SHA-256 of the certificate's RP ID.
    Compact {
        /// Flag bits (AT and ED never set here).
        flags: u8,
        /// Signature counter.
        sign_count: u32,
    },
    /// The authenticator data as the authenticator produced it.
    Raw(Vec<u8>),
}

/// `clientDataJSON` on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientDataWire {
    /// Rebuilt from a template, the challenge and the certificate's origin list.
    Template {
        /// Index into the certificate's origins.
        origin_index: u8,
        /// Which template.
        variant: TemplateVariant,
    },
    /// The bytes the browser produced.
    Raw(Vec<u8>),
}

/// A compact WebAuthn assertion, as carried in protocol messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionWire {
    /// Authenticator data.
    pub auth_data: AuthDataWire,
    /// Client data.
    pub client_data: ClientDataWire,
    /// `r || s` (either S form, as the authenticator produced it).
    pub signature: [u8; 64],
}

impl AssertionWire {
    /// The DER form of the signature (as the authenticator would have sent it).
    pub fn signature_der(&self) -> Vec<u8> {
        raw_to_der(&self.signature)
    }

    /// Canonical CBOR: `{1: flags, 2: count}` or `{3: raw authData}`, then
    /// `{4: origin index, ?5: variant}` or `{6: raw clientDataJSON}`, then `{7: r||s}`.
    pub fn encode(&self, e: &mut Encoder) {
        e.map(self.field_count());
        self.encode_fields(e);
    }

    /// The number of map entries [`Self::encode_fields`] writes (3 to 5).
    pub fn field_count(&self) -> usize {
        let mut n = 1;
        n += match self.auth_data {
            AuthDataWire::Compact { .. } => 2,
            AuthDataWire::Raw(_) => 1,
        };
        n += match self.client_data {
            ClientDataWire::Template {
                variant: TemplateVariant::CrossOriginFalse,
                ..
            } => 1,
            ClientDataWire::Template { .. } => 2,
            ClientDataWire::Raw(_) => 1,
        };
        n
    }

    /// Writes the entries (keys 1..=7) without the map header, so that a larger map (the
    /// batch form, `sig::BatchAssertion`) can carry them.
    pub fn encode_fields(&self, e: &mut Encoder) {
        match &self.auth_data {
            AuthDataWire::Compact { flags, sign_count } => {
                e.uint(1).uint(u64::from(*flags));
                e.uint(2).uint(u64::from(*sign_count));
            }
            AuthDataWire::Raw(b) => {
                e.uint(3).bytes(b);
            }
        }
        match &self.client_data {
            ClientDataWire::Template {
                origin_index,
                variant,
            } => {
                e.uint(4).uint(u64::from(*origin_index));
                if *variant != TemplateVariant::CrossOriginFalse {
                    e.uint(5).uint(*variant as u64);
                }
            }
            ClientDataWire::Raw(b) => {
                e.uint(6).bytes(b);
            }
        }
        e.uint(7).bytes(&self.signature);
    }

    /// Strict decoding of [`AssertionWire::encode`]'s output.
    pub fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let mut m = d.map(5)?;
        let a = Self::decode_fields(&mut m)?;
        m.finish()?;
        Ok(a)
    }

    /// Reads the entries with keys 1..=7 of a map; the caller reads any later keys and
    /// finishes the map.
    pub fn decode_fields(m: &mut MapReader<'_, '_>) -> Result<Self, DecodeError> {
        let auth_data = if m.optional(1)? {
            let flags = m.value().u8("authenticator flags")?;
            if flags & (flags::AT | flags::ED) != 0 {
                return Err(DecodeError::InvalidValue {
                    what: "authenticator flags",
                    why: "AT/ED need raw authenticator data",
                });
            }
            let sign_count = m.required(2)?.u32("sign count")?;
            AuthDataWire::Compact { flags, sign_count }
        } else {
            let b = m
                .required(3)?
                .bytes(MAX_RAW_AUTH_DATA, "raw authenticator data")?;
            AuthDataWire::Raw(b.to_vec())
        };
        let client_data = if m.optional(4)? {
            let origin_index = m.value().u8("origin index")?;
            if usize::from(origin_index) >= MAX_ORIGINS {
                return Err(DecodeError::InvalidValue {
                    what: "origin index",
                    why: "a certificate has at most 8 origins",
                });
            }
            let variant = if m.optional(5)? {
                let v = m.value().u8("template variant")?;
                match TemplateVariant::from_u8(v) {
                    Some(TemplateVariant::CrossOriginFalse) | None => {
                        return Err(DecodeError::InvalidValue {
                            what: "template variant",
                            why: "unknown, or the default written out",
                        });
                    }
                    Some(v) => v,
                }
            } else {
                TemplateVariant::CrossOriginFalse
            };
            ClientDataWire::Template {
                origin_index,
                variant,
            }
        } else {
            let b = m
                .required(6)?
                .bytes(MAX_RAW_CLIENT_DATA, "raw clientDataJSON")?;
            ClientDataWire::Raw(b.to_vec())
        };
        let signature = m.required(7)?.bytes_fixed::<64>("signature")?;
        Ok(Self {
            auth_data,
            client_data,
            signature,
        })
    }

    /// A JSON view for inspection tools.
    pub fn to_json(&self) -> serde_json::Value {
        let auth = match &self.auth_data {
            AuthDataWire::Compact { flags, sign_count } => {
                serde_json::json!({"flags": flags, "sign_count": sign_count})
            }
            AuthDataWire::Raw(b) => serde_json::json!({"raw": to_hex(b)}),
        };
        let client = match &self.client_data {
            ClientDataWire::Template {
                origin_index,
                variant,
            } => serde_json::json!({"origin_index": origin_index, "template": variant}),
            ClientDataWire::Raw(b) => {
                serde_json::json!({"raw": String::from_utf8_lossy(b)})
            }
        };
        serde_json::json!({
            "webauthn": {"authenticator_data": auth, "client_data": client, "signature": to_hex(&self.signature)}
        })
    }
}
