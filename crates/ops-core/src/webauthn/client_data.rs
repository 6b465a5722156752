//! `clientDataJSON` checks, shared by assertions (`webauthn.get`) and registrations
//! (`webauthn.create`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::WebAuthnError;

/// Which ceremony a `clientDataJSON` belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// `navigator.credentials.get` (assertions; all protocol signatures).
    Get,
    /// `navigator.credentials.create` (registration).
    Create,
}

impl Ceremony {
    /// The `type` member value.
    pub fn type_str(self) -> &'static str {
        match self {
            Ceremony::Get => "webauthn.get",
            Ceremony::Create => "webauthn.create",
        }
    }
}

#[derive(Deserialize)]
struct ClientDataJson {
    #[serde(rename = "type")]
    ty: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
}

/// The members of a checked `clientDataJSON`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientData {
    /// The origin (one of the allowed origins).
    pub origin: String,
}

/// Checks a raw `clientDataJSON`: type, challenge (base64url of `challenge`), origin in
/// `origins`, and `crossOrigin` not true. Unknown members are ignored, as the spec asks.
pub fn check_client_data(
    json: &[u8],
    ceremony: Ceremony,
    challenge: &[u8],
    origins: &[String],
) -> Result<ClientData, WebAuthnError> {
    let cd: ClientDataJson = serde_json::from_slice(json).map_err(|_| {
        WebAuthnError::MalformedClientData(
            "not a JSON object with type, challenge and origin strings",
        )
    })?;
    if cd.ty != ceremony.type_str() {
        return Err(WebAuthnError::WrongType {
            expected: ceremony.type_str(),
            found: cd.ty,
        });
    }
    if cd.challenge != URL_SAFE_NO_PAD.encode(challenge) {
        return Err(WebAuthnError::ChallengeMismatch);
    }
    if !origins.contains(&cd.origin) {
        return Err(WebAuthnError::OriginNotAllowed(cd.origin));
    }
    if cd.cross_origin == Some(true) {
        return Err(WebAuthnError::CrossOrigin);
    }
    Ok(ClientData { origin: cd.origin })
}
