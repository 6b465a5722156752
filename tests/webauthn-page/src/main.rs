//! Test fixture (never shipped): exposes `ops_browser::webauthn` to WebDriver scripts as
//! `window.wasmBindings.opsRegister(...)` and `opsSign(...)`. Bytes cross as base64url;
//! results are JSON strings `{"ok": {...}}` or `{"error": {"code": ..., "message": ...}}`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ops_browser::webauthn::{
    CreateRequest, GetRequest, WebAuthnUiError, create_credential, get_assertion,
};
use serde_json::{Value, json};
use wasm_bindgen::prelude::wasm_bindgen;

fn main() {}

fn decode(field: &str, text: &str) -> Result<Vec<u8>, Value> {
    B64.decode(text)
        .map_err(|e| json!({"error": {"code": "bad-input", "message": format!("{field}: {e}")}}))
}

fn failure(error: &WebAuthnUiError) -> Value {
    json!({"error": {"code": error.code(), "message": error.to_string()}})
}

/// Creates a credential; `exclude` is a credential id (base64url) or empty.
#[wasm_bindgen(js_name = opsRegister)]
pub async fn ops_register(
    rp_id: String,
    challenge: String,
    user_id: String,
    require_uv: bool,
    exclude: String,
) -> String {
    let result = async {
        let challenge = decode("challenge", &challenge)?;
        let user_id = decode("user_id", &user_id)?;
        let exclude = if exclude.is_empty() {
            Vec::new()
        } else {
            decode("exclude", &exclude)?
        };
        let excluded: Vec<&[u8]> = if exclude.is_empty() {
            Vec::new()
        } else {
            vec![exclude.as_slice()]
        };
        let request = CreateRequest {
            rp_id: &rp_id,
            rp_name: "OPS test bank",
            user_id: &user_id,
            user_name: "wallet@test",
            user_display_name: "Test wallet",
            challenge: &challenge,
            require_user_verification: require_uv,
            exclude_credentials: &excluded,
            timeout_ms: 20_000,
        };
        let created = create_credential(&request).await.map_err(|e| failure(&e))?;
        Ok::<Value, Value>(json!({"ok": {
            "credential_id": B64.encode(&created.credential_id),
            "client_data_json": B64.encode(&created.client_data_json),
            "attestation_object": B64.encode(&created.attestation_object),
            "transports": created.transports,
        }}))
    }
    .await;
    result.unwrap_or_else(|error| error).to_string()
}

/// Signs `challenge` with the credential `credential_id`.
#[wasm_bindgen(js_name = opsSign)]
pub async fn ops_sign(
    rp_id: String,
    credential_id: String,
    challenge: String,
    require_uv: bool,
) -> String {
    let result = async {
        let challenge = decode("challenge", &challenge)?;
        let credential_id = decode("credential_id", &credential_id)?;
        let allowed = [credential_id.as_slice()];
        let request = GetRequest {
            rp_id: &rp_id,
            challenge: &challenge,
            allow_credentials: &allowed,
            require_user_verification: require_uv,
            timeout_ms: 5_000,
        };
        let signed = get_assertion(&request).await.map_err(|e| failure(&e))?;
        Ok::<Value, Value>(json!({"ok": {
            "credential_id": B64.encode(&signed.credential_id),
            "authenticator_data": B64.encode(&signed.authenticator_data),
            "client_data_json": B64.encode(&signed.client_data_json),
            "signature": B64.encode(&signed.signature),
        }}))
    }
    .await;
    result.unwrap_or_else(|error| error).to_string()
}
