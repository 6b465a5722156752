//! Demo sign-up, account lookup and device registration (admin path until WebAuthn
//! registration lands).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ops_api::SignUpRequest;
use ops_core::msg::MAX_LABEL_LEN;
use ops_core::{CertBody, Certificate, Limits, PublicKey, Role};
use serde::Deserialize;

use super::auth::{authorize_account, new_account_token};
use super::{ApiError, AppState, ClientAddr, now, parse_hex, parse_json, require_admin};
use crate::ceremony::{DAY, sign};
use crate::store::NewDevice;

/// Largest value a device may hold at once, unless the request asks for less.
pub const DEFAULT_MAX_OUTSTANDING: u64 = 100_000;

/// `POST /api/v1/accounts`: a self-service demo account with the starting balance, and
/// its access token (shown once; only its SHA-256 is stored).
/// Limited per client address and globally per hour and day (429 with `Retry-After`).
pub async fn create(
    State(state): State<AppState>,
    client: ClientAddr,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    state.settings.abuse.signup(&client)?;
    let req: SignUpRequest = if body.is_empty() {
        SignUpRequest::default()
    } else {
        parse_json(&body)?
    };
    let name = req.name.unwrap_or_else(|| "demo".into());
    if name.len() > 100 {
        return Err(ApiError::bad_request(
            "name_too_long",
            "`name` must be at most 100 bytes",
        ));
    }
    let (token, token_hash) = new_account_token()?;
    let account = state
        .store
        .create_account_with_token(&name, state.settings.starting_balance, &token_hash, now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "id": account.id,
            "name": account.name,
            "balance": account.balance,
            "token": token,
        })),
    ))
}

/// `GET /api/v1/accounts/{id}`: one account's id, name and balance (never a list), for
/// the bearer of its account token, of a passkey session of one of its devices, or of the
/// admin token (401 without a token; 404 for an account the token may not read, as for
/// one that does not exist). Limited per client address (429 with `Retry-After`).
pub async fn get(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.settings.abuse.read(&client)?;
    let id = parse_account_id(&id)?;
    authorize_account(&state, &headers, id, "reading an account").await?;
    let account = state.store.account(id).await?.ok_or_else(no_such_account)?;
    Ok(Json(serde_json::json!(account)))
}

/// The account id of a path, a decimal number.
pub(super) fn parse_account_id(text: &str) -> Result<i64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request("malformed_id", "the account id must be a decimal number")
    })
}

/// No account with this id (after authorization: only the admin can learn this).
fn no_such_account() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_account",
        "no account with this id; sign up with POST /api/v1/accounts",
    )
}

/// `POST /api/v1/accounts/{id}/token`: a new access token for the account (shown once),
/// for the bearer of its current token, of a passkey session of one of its devices, or of
/// the admin token (for a lost or leaked token, or an account made by the admin CLI). The
/// previous token stops working at once.
pub async fn rotate_token(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.settings.abuse.read(&client)?;
    let id = parse_account_id(&id)?;
    authorize_account(&state, &headers, id, "replacing an account token").await?;
    let (token, token_hash) = new_account_token()?;
    if !state.store.replace_account_token(id, &token_hash).await? {
        return Err(no_such_account());
    }
    Ok(Json(serde_json::json!({ "id": id, "token": token })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterDevice {
    account_id: i64,
    /// SEC1 compressed P-256 public key, hex.
    public_key: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    max_outstanding: Option<u64>,
}

/// `POST /api/v1/devices` (admin): certifies a device key for an account with this FI's
/// key and registers it. Returns the certificate and its chain.
pub async fn register_device(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    require_admin(&state, &headers)?;
    let req: RegisterDevice = parse_json(&body)?;
    let key = parse_public_key(&req.public_key)?;
    // The admin checked the name: it is certified (bounded and decodable, see `certified_name`).
    let name = certified_name(req.name)?;
    let max_outstanding = req
        .max_outstanding
        .unwrap_or(DEFAULT_MAX_OUTSTANDING)
        .min(DEFAULT_MAX_OUTSTANDING);
    certify_device(
        &state,
        NewCertificate {
            account_id: req.account_id,
            key,
            name,
            max_outstanding,
            webauthn: None,
            credential_id: None,
            sign_count: None,
            label: None,
            backup: None,
        },
    )
    .await
}

/// Parses a device public key: 33 bytes in hex, SEC1 compressed (prefix 02 or 03), and a
/// point on the P-256 curve (`400 malformed_public_key` otherwise: a certificate of a key
/// that cannot verify anything certifies nothing).
pub(super) fn parse_public_key(text: &str) -> Result<PublicKey, ApiError> {
    let key = PublicKey(parse_hex::<33>("public_key", text)?);
    if !matches!(key.0[0], 2 | 3) || p256::PublicKey::from_sec1_bytes(&key.0).is_err() {
        return Err(ApiError::bad_request(
            "malformed_public_key",
            "`public_key` must be a SEC1 compressed P-256 point (33 bytes in hex, starting 02 or 03, on the curve): send the key the device generated",
        ));
    }
    Ok(key)
}

/// Checks a name that goes into a device certificate, where payers see it as certified by
/// the FI: trimmed, 1 to [`MAX_LABEL_LEN`] bytes (what every client decodes), no control
/// or invisible formatting characters (line breaks, bidirectional overrides, zero-width
/// characters: they disguise what a payer reads). `None` (or absent) → no name.
pub(super) fn certified_name(name: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(name) = name else {
        return Ok(None);
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::bad_request(
            "name_invalid",
            "`name` is empty: omit it, or send 1 to 64 bytes of visible text",
        ));
    }
    if name.len() > MAX_LABEL_LEN {
        return Err(ApiError::bad_request(
            "name_too_long",
            format!(
                "`name` is {} bytes; a certified name holds at most {MAX_LABEL_LEN} bytes (UTF-8): shorten it",
                name.len()
            ),
        ));
    }
    if let Some(c) = name.chars().find(|c| !is_visible(*c)) {
        return Err(ApiError::bad_request(
            "name_invalid",
            format!(
                "`name` contains the control or invisible character U+{:04X}; send visible text only",
                u32::from(c)
            ),
        ));
    }
    Ok(Some(name.to_owned()))
}

/// Whether `c` may appear in a certified name: not a control character, nor an invisible
/// formatting one (zero-width, bidirectional embedding/override/isolate, byte-order mark,
/// line and paragraph separators).
fn is_visible(c: char) -> bool {
    !(c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        ))
}

/// What a new device certificate says, and the credential behind it.
pub(super) struct NewCertificate {
    pub account_id: i64,
    pub key: PublicKey,
    pub name: Option<String>,
    pub max_outstanding: u64,
    pub webauthn: Option<ops_core::webauthn::WebAuthnPolicy>,
    pub credential_id: Option<String>,
    pub sign_count: Option<u32>,
    /// The holder's own name for the device (stored, never certified).
    pub label: Option<String>,
    /// The passkey's backup flags at registration.
    pub backup: Option<crate::store::BackupFlags>,
}

/// Certifies a device key with this FI's key and registers it; answers with the
/// certificate and its chain.
pub(super) async fn certify_device(
    state: &AppState,
    new: NewCertificate,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let t = now();
    // Serials are unique in the database; a concurrent registration retries.
    for _ in 0..8 {
        let serial = state.store.next_device_serial().await?;
        let cert = sign(
            CertBody {
                serial,
                role: Role::Device,
                subject: new.key,
                issuer: Some(state.trust.fi.id()),
                not_before: t.saturating_sub(DAY),
                not_after: t + 365 * DAY,
                name: new.name.clone(),
                limits: Limits {
                    max_outstanding: Some(new.max_outstanding),
                    max_payment: state.settings.device_limits.max_payment,
                    max_without_uv: state.settings.device_limits.max_without_uv,
                    ..Limits::default()
                },
                webauthn: new.webauthn.clone(),
            },
            &state.trust.fi_key,
        );
        // Never issue a certificate no client can decode: decode what was signed, and
        // expect the same certificate back.
        let bytes = cert.to_bytes();
        if Certificate::from_bytes(&bytes).ok().as_ref() != Some(&cert) {
            return Err(ApiError::bad_request(
                "certificate_undecodable",
                "the certificate this request asks for would not decode in the apps; send a shorter name of visible text (at most 64 bytes) or none",
            ));
        }
        let device = NewDevice {
            cert_id: cert.id(),
            serial,
            account_id: new.account_id,
            public_key: new.key,
            cert: bytes,
            credential_id: new.credential_id.clone(),
            sign_count: new.sign_count,
            label: new.label.clone(),
            backup: new.backup,
        };
        match state.store.insert_device(&device, t).await {
            Ok(Some(holder)) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "key_registered",
                    format!(
                        "this public key is already certified (device {holder}); use that certificate, or generate a new key for a new device"
                    ),
                ));
            }
            Ok(None) => {
                return Ok((
                    StatusCode::CREATED,
                    Json(serde_json::json!({
                        "cert_id": device.cert_id,
                        "serial": serial,
                        "account_id": new.account_id,
                        "cert": STANDARD.encode(&device.cert),
                        "chain": [STANDARD.encode(state.trust.fi.to_bytes()), STANDARD.encode(state.trust.root.to_bytes())],
                    })),
                ));
            }
            Err(e) if e.is_retryable() || e.is_unique_violation() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "could not allocate a certificate serial; retry",
    ))
}
