//! Creating WebAuthn credentials and signing with them from the page.
//!
//! The bytes the browser returns go to the protocol core unchanged (`ops_core::webauthn`
//! verifies them); this module only talks to `navigator.credentials` and turns the
//! browser's `DOMException`s into errors a user can act on.

use crate::window;
use js_sys::{Array, ArrayBuffer, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AttestationConveyancePreference, AuthenticatorAssertionResponse,
    AuthenticatorAttestationResponse, AuthenticatorSelectionCriteria, CredentialCreationOptions,
    CredentialRequestOptions, PublicKeyCredential, PublicKeyCredentialCreationOptions,
    PublicKeyCredentialDescriptor, PublicKeyCredentialParameters,
    PublicKeyCredentialRequestOptions, PublicKeyCredentialRpEntity, PublicKeyCredentialType,
    PublicKeyCredentialUserEntity, UserVerificationRequirement,
};

/// COSE algorithm identifier of ES256 (ECDSA P-256 with SHA-256), the only one accepted.
pub const COSE_ES256: i32 = -7;

/// Why creating a credential or signing failed, in terms a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebAuthnUiError {
    /// The browser has no WebAuthn.
    #[error(
        "this browser cannot use security keys or passkeys; use a current Chrome, Edge, Firefox or Safari"
    )]
    Unavailable,
    /// Not https (or localhost).
    #[error(
        "security keys only work on a secure (https) page; open the app from its https address"
    )]
    InsecureContext,
    /// Cancelled, timed out, no matching key, or user verification refused: browsers
    /// deliberately report all of these as one error.
    #[error(
        "the security key did not confirm: the request was cancelled, timed out, or this key is not registered here; try again and touch or unlock your key"
    )]
    NotAllowed,
    /// The authenticator already holds a credential for this account.
    #[error("this security key is already registered for this wallet; use it to sign in instead")]
    AlreadyRegistered,
    /// No authenticator can do what was asked (ES256, user verification, device-bound).
    #[error(
        "no security key here supports what the bank requires (P-256 keys with a PIN or biometric); connect a suitable key or use this phone's built-in one"
    )]
    NotSupported,
    /// The RP ID does not match this site.
    #[error(
        "the bank's security settings do not match this address; open the app from the address your bank gave you"
    )]
    Security,
    /// The page aborted the request.
    #[error("the request was stopped before it finished; try again")]
    Aborted,
    /// The browser returned something that is not a public-key credential.
    #[error("the browser returned an unexpected answer ({0}); try again or use another key")]
    Unexpected(String),
}

impl WebAuthnUiError {
    /// A stable short code for logs, tests and support (`not-allowed`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable => "unavailable",
            Self::InsecureContext => "insecure-context",
            Self::NotAllowed => "not-allowed",
            Self::AlreadyRegistered => "already-registered",
            Self::NotSupported => "not-supported",
            Self::Security => "security",
            Self::Aborted => "aborted",
            Self::Unexpected(_) => "unexpected",
        }
    }

    /// Maps a `DOMException` name (and message, for logs) to the error the UI shows.
    pub fn from_dom_exception(name: &str, message: &str) -> Self {
        match name {
            "NotAllowedError" | "TimeoutError" => Self::NotAllowed,
            "InvalidStateError" => Self::AlreadyRegistered,
            "NotSupportedError" | "ConstraintError" => Self::NotSupported,
            "SecurityError" => Self::Security,
            "AbortError" => Self::Aborted,
            _ => Self::Unexpected(format!("{name}: {message}")),
        }
    }

    fn from_js(value: JsValue) -> Self {
        match value.dyn_ref::<js_sys::Error>() {
            Some(error) => Self::from_dom_exception(
                &String::from(error.name()),
                &String::from(error.message()),
            ),
            None => Self::Unexpected(value.as_string().unwrap_or_else(|| format!("{value:?}"))),
        }
    }
}

/// What the bank asks for when it registers this device's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRequest<'a> {
    /// Relying-party id (the bank's domain, `localhost` in tests).
    pub rp_id: &'a str,
    /// Relying-party name shown by the authenticator.
    pub rp_name: &'a str,
    /// Opaque user handle (at most 64 bytes).
    pub user_id: &'a [u8],
    /// Account name shown by the authenticator.
    pub user_name: &'a str,
    /// Display name shown by the authenticator.
    pub user_display_name: &'a str,
    /// The bank's one-time challenge.
    pub challenge: &'a [u8],
    /// Require a PIN or biometric (`userVerification: "required"`).
    pub require_user_verification: bool,
    /// Credentials this account already has (the authenticator refuses to add a second).
    pub exclude_credentials: &'a [&'a [u8]],
    /// Timeout in milliseconds.
    pub timeout_ms: u32,
}

/// A newly created credential, as the browser returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    /// Raw credential id.
    pub credential_id: Vec<u8>,
    /// `clientDataJSON` bytes.
    pub client_data_json: Vec<u8>,
    /// CBOR `attestationObject` bytes.
    pub attestation_object: Vec<u8>,
    /// Transports the authenticator reports (`usb`, `nfc`, `internal`, …).
    pub transports: Vec<String>,
}

/// What to sign with which credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetRequest<'a> {
    /// Relying-party id the credential is bound to.
    pub rp_id: &'a str,
    /// The challenge: for protocol messages, SHA-256 of the message's canonical bytes.
    pub challenge: &'a [u8],
    /// Credential ids that may sign (this device's).
    pub allow_credentials: &'a [&'a [u8]],
    /// Require a PIN or biometric.
    pub require_user_verification: bool,
    /// Timeout in milliseconds.
    pub timeout_ms: u32,
}

/// An assertion, as the browser returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAssertion {
    /// Raw id of the credential that signed.
    pub credential_id: Vec<u8>,
    /// Authenticator data bytes.
    pub authenticator_data: Vec<u8>,
    /// `clientDataJSON` bytes.
    pub client_data_json: Vec<u8>,
    /// DER ECDSA signature.
    pub signature: Vec<u8>,
    /// User handle, if the authenticator returned one.
    pub user_handle: Option<Vec<u8>>,
}

fn bytes(buffer: &ArrayBuffer) -> Vec<u8> {
    Uint8Array::new(buffer).to_vec()
}

fn buffer(data: &[u8]) -> js_sys::Object {
    Uint8Array::from(data).into()
}

fn descriptors(ids: &[&[u8]]) -> Array {
    ids.iter()
        .map(|id| {
            PublicKeyCredentialDescriptor::new(&buffer(id), PublicKeyCredentialType::PublicKey)
        })
        .collect()
}

fn user_verification(required: bool) -> UserVerificationRequirement {
    if required {
        UserVerificationRequirement::Required
    } else {
        UserVerificationRequirement::Discouraged
    }
}

fn credentials() -> Result<web_sys::CredentialsContainer, WebAuthnUiError> {
    let window = window().map_err(|_| WebAuthnUiError::Unavailable)?;
    if !window.is_secure_context() {
        return Err(WebAuthnUiError::InsecureContext);
    }
    let has_api = js_sys::Reflect::has(&window, &"PublicKeyCredential".into()).unwrap_or(false);
    if !has_api {
        return Err(WebAuthnUiError::Unavailable);
    }
    Ok(window.navigator().credentials())
}

async fn public_key_credential(
    promise: Result<js_sys::Promise, JsValue>,
) -> Result<PublicKeyCredential, WebAuthnUiError> {
    let value = JsFuture::from(promise.map_err(WebAuthnUiError::from_js)?)
        .await
        .map_err(WebAuthnUiError::from_js)?;
    value
        .dyn_into::<PublicKeyCredential>()
        .map_err(|other| WebAuthnUiError::Unexpected(format!("{other:?}")))
}

/// Whether this device has a user-verifying platform authenticator (a fingerprint
/// reader, face or PIN unlock): `PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable()`.
/// `false` where WebAuthn is missing or the question fails.
pub async fn platform_authenticator_available() -> bool {
    let exists = web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w, &JsValue::from_str("PublicKeyCredential")).ok())
        .is_some_and(|v| v.is_function());
    if !exists {
        return false;
    }
    JsFuture::from(PublicKeyCredential::is_user_verifying_platform_authenticator_available())
        .await
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// Creates a device-bound ES256 credential with direct attestation.
pub async fn create_credential(
    request: &CreateRequest<'_>,
) -> Result<NewCredential, WebAuthnUiError> {
    let container = credentials()?;
    let rp = PublicKeyCredentialRpEntity::new(request.rp_name);
    rp.set_id(request.rp_id);
    let user = PublicKeyCredentialUserEntity::new(
        request.user_name,
        request.user_display_name,
        &buffer(request.user_id),
    );
    let params: Array = [PublicKeyCredentialParameters::new(
        COSE_ES256,
        PublicKeyCredentialType::PublicKey,
    )]
    .into_iter()
    .collect();
    let options =
        PublicKeyCredentialCreationOptions::new(&buffer(request.challenge), &params, &rp, &user);
    let selection = AuthenticatorSelectionCriteria::new();
    selection.set_resident_key("discouraged");
    selection.set_user_verification(user_verification(request.require_user_verification));
    options.set_authenticator_selection(&selection);
    options.set_attestation(AttestationConveyancePreference::Direct);
    options.set_timeout(request.timeout_ms);
    options.set_exclude_credentials(&descriptors(request.exclude_credentials));
    let wrapper = CredentialCreationOptions::new();
    wrapper.set_public_key(&options);

    let credential = public_key_credential(container.create_with_options(&wrapper)).await?;
    let response: AuthenticatorAttestationResponse = credential
        .response()
        .dyn_into()
        .map_err(|_| WebAuthnUiError::Unexpected("not an attestation response".into()))?;
    let transports = response
        .get_transports()
        .iter()
        .filter_map(|t| t.as_string())
        .collect();
    Ok(NewCredential {
        credential_id: bytes(&credential.raw_id()),
        client_data_json: bytes(&response.client_data_json()),
        attestation_object: bytes(&response.attestation_object()),
        transports,
    })
}

/// Asks the authenticator to sign `request.challenge` with one of the allowed credentials.
pub async fn get_assertion(request: &GetRequest<'_>) -> Result<SignedAssertion, WebAuthnUiError> {
    let container = credentials()?;
    let options = PublicKeyCredentialRequestOptions::new(&buffer(request.challenge));
    options.set_rp_id(request.rp_id);
    options.set_allow_credentials(&descriptors(request.allow_credentials));
    options.set_user_verification(user_verification(request.require_user_verification));
    options.set_timeout(request.timeout_ms);
    let wrapper = CredentialRequestOptions::new();
    wrapper.set_public_key(&options);

    let credential = public_key_credential(container.get_with_options(&wrapper)).await?;
    let response: AuthenticatorAssertionResponse = credential
        .response()
        .dyn_into()
        .map_err(|_| WebAuthnUiError::Unexpected("not an assertion response".into()))?;
    Ok(SignedAssertion {
        credential_id: bytes(&credential.raw_id()),
        authenticator_data: bytes(&response.authenticator_data()),
        client_data_json: bytes(&response.client_data_json()),
        signature: bytes(&response.signature()),
        user_handle: response.user_handle().map(|handle| bytes(&handle)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dom_exceptions_map_to_actionable_errors() {
        assert_eq!(
            WebAuthnUiError::from_dom_exception("NotAllowedError", "x"),
            WebAuthnUiError::NotAllowed
        );
        assert_eq!(
            WebAuthnUiError::from_dom_exception("TimeoutError", "x"),
            WebAuthnUiError::NotAllowed
        );
        assert_eq!(
            WebAuthnUiError::from_dom_exception("InvalidStateError", "x"),
            WebAuthnUiError::AlreadyRegistered
        );
        assert_eq!(
            WebAuthnUiError::from_dom_exception("NotSupportedError", "x"),
            WebAuthnUiError::NotSupported
        );
        assert_eq!(
            WebAuthnUiError::from_dom_exception("SecurityError", "x"),
            WebAuthnUiError::Security
        );
        assert_eq!(
            WebAuthnUiError::from_dom_exception("AbortError", "x"),
            WebAuthnUiError::Aborted
        );
        assert_eq!(
            WebAuthnUiError::from_dom_exception("WeirdError", "boom"),
            WebAuthnUiError::Unexpected("WeirdError: boom".into())
        );
    }

    #[test]
    fn every_error_says_what_to_do() {
        for error in [
            WebAuthnUiError::Unavailable,
            WebAuthnUiError::InsecureContext,
            WebAuthnUiError::NotAllowed,
            WebAuthnUiError::AlreadyRegistered,
            WebAuthnUiError::NotSupported,
            WebAuthnUiError::Security,
            WebAuthnUiError::Aborted,
        ] {
            let text = error.to_string();
            assert!(
                text.contains(';') || text.contains("use") || text.contains("open"),
                "{text}"
            );
        }
    }
}
