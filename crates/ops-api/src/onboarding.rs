//! Sign-up, passkey registration and passkey login: `POST /api/v1/accounts`,
//! `/registrations/challenge`, `/registrations`, `/login/challenge`, `/login`.
//!
//! Request bodies are exact (`deny_unknown_fields`, as the service parses them). Answers
//! carry the fields a client relies on; the service may add more (an answer type ignores
//! fields it does not name), so a newer service still answers an older app.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/accounts` (the body may also be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUpRequest {
    /// The account holder's name (at most 100 bytes; "demo" when absent).
    #[serde(default)]
    pub name: Option<String>,
}

/// The answer to a sign-up (`201`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCreated {
    /// The account's id.
    pub id: i64,
    /// Its access token, shown once (the recovery code a new device joins with).
    pub token: String,
    /// Its starting balance in minor units.
    #[serde(default)]
    pub balance: i64,
}

/// `POST /api/v1/registrations/challenge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationChallengeRequest {
    /// The account the new device joins.
    pub account_id: i64,
}

/// The answer: what `navigator.credentials.create` needs (`201`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationChallenge {
    /// Names the challenge in the registration.
    pub challenge_id: String,
    /// The challenge, base64url.
    pub challenge: String,
    /// The relying party id the credential is for.
    pub rp_id: String,
    /// `"required"` or `"preferred"`.
    pub user_verification: String,
    /// Unix seconds after which the challenge is refused.
    #[serde(default)]
    pub expires: u64,
}

impl RegistrationChallenge {
    /// Whether the FI requires user verification (PIN or biometric) at registration.
    pub fn requires_user_verification(&self) -> bool {
        self.user_verification == "required"
    }
}

/// `POST /api/v1/registrations`: the authenticator's answer to the challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
    /// From [`RegistrationChallenge::challenge_id`].
    pub challenge_id: String,
    /// `response.clientDataJSON`, base64url.
    pub client_data_json: String,
    /// `response.attestationObject`, base64url.
    pub attestation_object: String,
    /// A self-declared device name, answered back, never certified.
    #[serde(default)]
    pub name: Option<String>,
    /// A merchant's POS terminal with an authenticator: its certificate carries the
    /// account's certified merchant name (`409 not_a_merchant` if it has none).
    #[serde(default)]
    pub terminal: bool,
}

/// The answer: the device certificate and what the FI decided about the passkey (`201`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    /// The device certificate, standard base64.
    pub cert: String,
    /// Whether the passkey is synced (BE set) and certified with the lower limit.
    #[serde(default)]
    pub synced: bool,
    /// The most value this device may hold, minor units.
    pub max_outstanding: u64,
    /// What a device-bound authenticator would be allowed, for comparison.
    pub device_bound_max_outstanding: u64,
}

/// `POST /api/v1/login/challenge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginChallengeRequest {
    /// The credential id (base64url) returned at registration.
    pub credential_id: String,
}

/// The answer (`201`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginChallenge {
    /// Names the challenge in the login.
    pub challenge_id: String,
    /// The challenge, base64url.
    pub challenge: String,
}

/// `POST /api/v1/login`: an assertion over the challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// From [`LoginChallenge::challenge_id`].
    pub challenge_id: String,
    /// The credential id, base64url.
    pub credential_id: String,
    /// `response.authenticatorData`, base64url.
    pub authenticator_data: String,
    /// `response.clientDataJSON`, base64url.
    pub client_data_json: String,
    /// The DER signature, base64url.
    pub signature: String,
}

/// The answer: a bearer session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The bearer token.
    pub token: String,
    /// The account.
    pub account_id: i64,
    /// Unix seconds when the session ends.
    #[serde(default)]
    pub expires: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_ignore_fields_they_do_not_name_and_requests_refuse_them() {
        let answer = r#"{"challenge_id":"c","challenge":"AA","rp_id":"localhost",
            "user_verification":"required","expires":5,"origins":["x"],"algorithms":[-7]}"#;
        let challenge: RegistrationChallenge = serde_json::from_str(answer).unwrap();
        assert!(challenge.requires_user_verification());
        let request = r#"{"account_id":1,"extra":true}"#;
        assert!(serde_json::from_str::<RegistrationChallengeRequest>(request).is_err());
        let empty: SignUpRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(empty.name, None);
    }
}
