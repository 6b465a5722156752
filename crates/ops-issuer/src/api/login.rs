//! Passkey login with the credential registered for a device: a single-use challenge,
//! then the assertion checked against the stored key and sign count; a session token.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ops_api::{LoginChallengeRequest, LoginRequest};
use ops_core::Certificate;
use ops_core::ids::{sha256, to_hex};
use ops_core::provider::RingProvider;
use ops_core::webauthn::{AssertionParts, Expected, RawAssertion, SyncedKeys, verify_assertion};

use super::webauthn::{CHALLENGE_LIFETIME, b64url, random};
use super::{ApiError, AppState, ClientAddr, now, parse_json};
use crate::store::{ChallengePurpose, Session, TakenChallenge};

/// A session lasts this long, in seconds.
pub const SESSION_LIFETIME: u64 = 3600;

fn refused(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "login_refused", message)
}

/// `POST /api/v1/login/challenge`. Limited per client address (429 with `Retry-After`).
pub async fn challenge(
    State(state): State<AppState>,
    client: ClientAddr,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    state.settings.abuse.challenge(&client)?;
    let req: LoginChallengeRequest = parse_json(&body)?;
    let device = state
        .store
        .device_by_credential(req.credential_id.trim())
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_credential",
                "no device is registered with this credential; register first",
            )
        })?;
    let id = to_hex(&random::<16>()?);
    let challenge = random::<32>()?;
    let t = now();
    let expires = t + CHALLENGE_LIFETIME;
    state
        .store
        .create_challenge(
            &id,
            ChallengePurpose::Login,
            device.account_id,
            &challenge,
            expires,
            t,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "challenge_id": id,
            "challenge": URL_SAFE_NO_PAD.encode(challenge),
            "expires": expires,
            "rp_id": state.settings.registration.rp_id,
            "allow_credentials": [req.credential_id.trim()],
        })),
    ))
}

/// `POST /api/v1/login`: answers with a bearer session token.
pub async fn login(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let req: LoginRequest = parse_json(&body)?;
    let ad = b64url("authenticator_data", &req.authenticator_data)?;
    let cdj = b64url("client_data_json", &req.client_data_json)?;
    let sig = b64url("signature", &req.signature)?;
    let t = now();
    let TakenChallenge {
        account_id,
        challenge,
    } = state
        .store
        .take_challenge(req.challenge_id.trim(), ChallengePurpose::Login, t)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "challenge_invalid",
                "the challenge is unknown, used or expired: ask for a new one with POST /api/v1/login/challenge",
            )
        })?;
    let device = state
        .store
        .device_by_credential(req.credential_id.trim())
        .await?
        .ok_or_else(|| refused("no device is registered with this credential"))?;
    if device.account_id != account_id {
        return Err(refused("the challenge was issued for another credential"));
    }
    if device.revoked {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "device_revoked",
            "this device's certificate is revoked; contact your bank",
        ));
    }
    let key = device.public_key;
    let raw = RawAssertion {
        authenticator_data: &ad,
        client_data_json: &cdj,
        signature_der: &sig,
    };
    let stored = device.sign_count.and_then(|c| u32::try_from(c).ok());
    // BE (a synced passkey) is tolerated exactly when the device's certificate says
    // `synced`, as for its spends; whatever `--synced-passkeys` says now.
    let synced_keys = Certificate::from_bytes(&device.cert)
        .ok()
        .and_then(|c| c.body.webauthn)
        .map_or(SyncedKeys::Refused, |w| w.synced_keys());
    let policy = state
        .settings
        .registration
        .webauthn_policy()
        .with_synced_keys(synced_keys);
    let expected = Expected::new(&policy, &challenge).with_stored_sign_count(stored);
    let info = AssertionParts::from_raw(&raw)
        .and_then(|parts| verify_assertion(&RingProvider, &key, &expected, &parts))
        .map_err(|e| refused(format!("the assertion was refused: {e}")))?;
    let token = to_hex(&random::<32>()?);
    let expires = t + SESSION_LIFETIME;
    state
        .store
        .open_session(
            &device.cert_id,
            account_id,
            info.sign_count,
            &to_hex(&sha256(token.as_bytes())),
            expires,
            t,
        )
        .await?;
    Ok(Json(serde_json::json!({
        "token": token,
        "account_id": account_id,
        "device": device.cert_id,
        "expires": expires,
    })))
}

/// `GET /api/v1/session`: who the bearer token belongs to.
pub async fn session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let session = current_session(&state, &headers).await?;
    Ok(Json(serde_json::json!({
        "account_id": session.account_id,
        "device": session.device,
        "expires": session.expires,
    })))
}

/// The valid session named by the request's bearer token: account, device, expiry. A
/// session of a device whose certificate has been revoked since it opened authorizes
/// nothing (`403 device_revoked`).
pub async fn current_session(state: &AppState, headers: &HeaderMap) -> Result<Session, ApiError> {
    let token = super::bearer_token(headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "no_session",
            "send `Authorization: Bearer <token>` from POST /api/v1/login",
        )
    })?;
    let session = state
        .store
        .session(&to_hex(&sha256(token.as_bytes())), now())
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "no_session",
                "the session is unknown or expired: log in again",
            )
        })?;
    if state
        .store
        .device(&session.device)
        .await?
        .is_none_or(|d| d.revoked)
    {
        return Err(session_of_revoked_device());
    }
    Ok(session)
}

/// The answer to a passkey session whose device's certificate is revoked.
pub(super) fn session_of_revoked_device() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "device_revoked",
        "this passkey session belongs to a device whose certificate is revoked; use the account token, or log in with another device of the account",
    )
}
