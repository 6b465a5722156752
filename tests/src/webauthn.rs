//! ChromeDriver's virtual authenticators (W3C WebAuthn §11, WebDriver extension commands).

use crate::{Browser, HarnessError};
use http::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use thirtyfour::common::command::{Command, ExtensionCommand};

/// A raw WebDriver extension command under `/session/{id}`.
#[derive(Debug)]
struct Extension {
    method: Method,
    endpoint: Arc<str>,
    body: Option<Value>,
}

impl ExtensionCommand for Extension {
    fn parameters_json(&self) -> Option<Value> {
        self.body.clone()
    }

    fn method(&self) -> Method {
        self.method.clone()
    }

    fn endpoint(&self) -> Arc<str> {
        self.endpoint.clone()
    }
}

/// How a virtual authenticator behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthenticatorOptions {
    /// `ctap2` (platform-style, UV capable) or `ctap1/u2f`.
    pub protocol: &'static str,
    /// `internal`, `usb`, `nfc`, `ble`.
    pub transport: &'static str,
    /// Whether it can verify the user (PIN/biometric).
    pub has_user_verification: bool,
    /// Whether user verification succeeds.
    pub is_user_verified: bool,
    /// Whether new credentials are backup eligible (synced passkeys).
    pub backup_eligible: bool,
}

impl AuthenticatorOptions {
    /// A device-bound platform authenticator with user verification.
    pub const PLATFORM: Self = Self {
        protocol: "ctap2",
        transport: "internal",
        has_user_verification: true,
        is_user_verified: true,
        backup_eligible: false,
    };
}

impl Browser {
    /// Sends a WebDriver extension command for this session and returns its `value`.
    pub async fn extension_command(
        &self,
        method: Method,
        endpoint: &str,
        body: Option<Value>,
    ) -> Result<Value, HarnessError> {
        let command = Extension {
            method,
            endpoint: Arc::from(endpoint),
            body,
        };
        let response = self
            .driver
            .handle
            .cmd(Command::ExtensionCommand(Box::new(command)))
            .await?;
        Ok(response.value::<Value>()?)
    }

    /// Adds a virtual authenticator and returns its id.
    pub async fn add_virtual_authenticator(
        &self,
        options: AuthenticatorOptions,
    ) -> Result<String, HarnessError> {
        let body = json!({
            "protocol": options.protocol,
            "transport": options.transport,
            "hasResidentKey": true,
            "hasUserVerification": options.has_user_verification,
            "isUserConsenting": true,
            "isUserVerified": options.is_user_verified,
            "defaultBackupEligibility": options.backup_eligible,
            "defaultBackupState": options.backup_eligible,
        });
        let value = self
            .extension_command(Method::POST, "/webauthn/authenticator", Some(body))
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Makes user verification on authenticator `id` succeed or fail from now on.
    pub async fn set_user_verified(&self, id: &str, verified: bool) -> Result<(), HarnessError> {
        self.extension_command(
            Method::POST,
            &format!("/webauthn/authenticator/{id}/uv"),
            Some(json!({"isUserVerified": verified})),
        )
        .await?;
        Ok(())
    }

    /// Every credential of authenticator `id`, as WebDriver gives them (with their private
    /// keys: a test moves them to a new authenticator when it kills the browser).
    pub async fn credentials(&self, id: &str) -> Result<Vec<Value>, HarnessError> {
        let value = self
            .extension_command(
                Method::GET,
                &format!("/webauthn/authenticator/{id}/credentials"),
                None,
            )
            .await?;
        Ok(value.as_array().cloned().unwrap_or_default())
    }

    /// Adds `credential` (one of [`Self::credentials`]) to authenticator `id`.
    pub async fn add_credential(&self, id: &str, credential: Value) -> Result<(), HarnessError> {
        self.extension_command(
            Method::POST,
            &format!("/webauthn/authenticator/{id}/credential"),
            Some(credential),
        )
        .await?;
        Ok(())
    }

    /// Deletes every credential of authenticator `id`.
    pub async fn remove_all_credentials(&self, id: &str) -> Result<(), HarnessError> {
        self.extension_command(
            Method::DELETE,
            &format!("/webauthn/authenticator/{id}/credentials"),
            None,
        )
        .await?;
        Ok(())
    }

    /// Removes authenticator `id`.
    pub async fn remove_virtual_authenticator(&self, id: &str) -> Result<(), HarnessError> {
        self.extension_command(
            Method::DELETE,
            &format!("/webauthn/authenticator/{id}"),
            None,
        )
        .await?;
        Ok(())
    }
}
