//! Funding: debit the account, issue notes to a registered device within its limits.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ops_core::{CertId, Certificate, IssuanceBody, Nonce};
use serde::Deserialize;

use super::{ApiError, AppState, ClientAddr, now, parse_hex, parse_json};
use crate::ceremony::{DAY, sign};
use crate::store::{FundKey, Funded, NewNote};

/// How many times a funding transaction is retried after losing a race.
const MAX_ATTEMPTS: usize = 8;

/// Notes expire this long after issue.
pub const NOTE_LIFETIME: u64 = 90 * DAY;

/// `POST /api/v1/fund`: debits the device's account and returns the issued notes and the
/// new balance. Needs a passkey session of the account for a WebAuthn-registered device,
/// and the account token, a passkey session of the account or the admin token for a
/// device registered by the admin.
pub async fn fund(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ops_api::FundResponse>), ApiError> {
    let req: ops_api::FundRequest = parse_json(&body)?;
    let device_id = CertId(parse_hex::<16>("device", &req.device)?);
    // Who asks first (failures counted per client address), then the device's bucket:
    // device ids are public, so charging it before authentication would let anyone lock
    // a wallet out of funding.
    let device = state
        .settings
        .abuse
        .authenticated(&client, authenticate(&state, &headers, &device_id))
        .await?;
    state
        .settings
        .device_limit
        .check(&device.cert_id.to_string())?;
    if device.revoked {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "device_revoked",
            "the device's certificate is revoked; it cannot be funded",
        ));
    }
    let cert = Certificate::from_bytes(&device.cert).map_err(|e| {
        tracing::error!(
            "device {}: stored certificate does not decode: {e}",
            device.cert_id
        );
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage",
            super::STORAGE_FAULT_MESSAGE,
        )
    })?;
    let fi_limits = &state.trust.fi.body.limits;
    let max_note = fi_limits.max_note_value.unwrap_or(u64::MAX).max(1);
    let max_outstanding = cert.body.limits.max_outstanding.unwrap_or(0);
    if req.amount == 0 {
        return Err(ApiError::bad_request(
            "zero_amount",
            "`amount` must be positive",
        ));
    }
    // Never sign notes for more than the certificate allows at all (bounds the work an
    // absurd amount costs); the exact check is in the funding transaction.
    if req.amount > max_outstanding {
        let outstanding = state.store.outstanding(&device.cert_id).await?;
        return Err(crate::store::StoreError::AboveDeviceLimit {
            max_outstanding,
            outstanding,
        }
        .into());
    }
    let t = now();
    let currency = fi_limits.currency.clone().unwrap_or_else(|| "EUR".into());
    let mut notes = Vec::new();
    let mut issuances = Vec::new();
    let mut left = req.amount;
    while left > 0 {
        let amount = left.min(max_note);
        left -= amount;
        let mut nonce = [0u8; 16];
        getrandom::getrandom(&mut nonce).map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "no_randomness",
                e.to_string(),
            )
        })?;
        let issuance = sign(
            IssuanceBody {
                nonce: Nonce(nonce),
                issuer: state.trust.fi.id(),
                owner: cert.id(),
                amount,
                currency: currency.clone(),
                issued: t,
                expires: t + NOTE_LIFETIME,
            },
            &state.trust.fi_key,
        );
        let bytes = issuance.to_bytes();
        notes.push(NewNote {
            note_id: issuance.note_id(),
            amount,
            issuance: bytes.clone(),
            issued: t,
            expires: t + NOTE_LIFETIME,
        });
        issuances.push(STANDARD.encode(bytes));
    }
    // Balance, revocation and the certificate's limit are checked inside the funding
    // transaction (concurrent requests cannot overdraw or exceed the limit); a transaction
    // that lost a race (PostgreSQL deadlock or serialization failure) is retried.
    let note_ids: Vec<String> = notes.iter().map(|n| n.note_id.to_string()).collect();
    let issued_json = serde_json::json!({ "notes": issuances, "note_ids": note_ids }).to_string();
    let key = idempotency_key(&headers)?.map(|key| FundKey {
        key,
        amount: req.amount,
        notes_json: &issued_json,
        now: t,
    });
    let mut attempt = 0;
    let funded = loop {
        attempt += 1;
        match state
            .store
            .fund(
                device.account_id,
                &device.cert_id,
                max_outstanding,
                &notes,
                key.as_ref(),
            )
            .await
        {
            Err(e) if e.is_retryable() && attempt < MAX_ATTEMPTS => continue,
            other => break other?,
        }
    };
    let answer = match funded {
        Funded::New { balance } => ops_api::FundResponse {
            account_id: device.account_id,
            balance,
            notes: issuances,
            note_ids,
            replayed: false,
        },
        Funded::Replayed {
            notes_json,
            balance,
        } => {
            let first: StoredNotes = serde_json::from_str(&notes_json).map_err(|e| {
                tracing::error!("stored funding answer does not decode: {e}");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage",
                    super::STORAGE_FAULT_MESSAGE,
                )
            })?;
            ops_api::FundResponse {
                account_id: device.account_id,
                balance,
                notes: first.notes,
                note_ids: first.note_ids,
                replayed: true,
            }
        }
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

/// The notes of a funding, kept with its idempotency key for a retry.
#[derive(Debug, Deserialize)]
struct StoredNotes {
    notes: Vec<String>,
    note_ids: Vec<String>,
}

/// The request's `Idempotency-Key` header, if any: 1 to 100 visible ASCII characters.
fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(ops_api::IDEMPOTENCY_KEY_HEADER) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(k) if ops_api::fund::valid_idempotency_key(k) => Ok(Some(k)),
        _ => Err(ApiError::bad_request(
            "malformed_idempotency_key",
            "`Idempotency-Key` must be 1 to 100 visible ASCII characters (a random id the client keeps for this funding and sends again with every retry)",
        )),
    }
}

/// The device `device_id` if the request may fund it. A WebAuthn-registered wallet is
/// funded only by its owner, logged in with a passkey. Any other device only with a token
/// that may act on its account (the account token, a passkey session of the account, or
/// the admin token): the answer carries the account's balance.
async fn authenticate(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    device_id: &CertId,
) -> Result<crate::store::DeviceRow, ApiError> {
    let device = state.store.device(device_id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_device",
            "the device is not registered here; register it first",
        )
    })?;
    if device.credential_id.is_none() {
        super::auth::authorize_account(
            state,
            headers,
            device.account_id,
            "funding a device registered with POST /api/v1/devices",
        )
        .await?;
    } else {
        let session = super::login::current_session(state, headers).await?;
        if session.account_id != device.account_id {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_your_device",
                "the session belongs to another account than the device",
            ));
        }
    }
    Ok(device)
}
