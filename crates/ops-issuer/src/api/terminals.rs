//! Merchants and their POS terminals (issue 12): the operator certifies an account's
//! merchant name; the merchant registers any number of terminals, each proving that it
//! holds its key, and each certified with that name (`ops_api::terminals`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ops_api::terminals::terminal_proof_message;
use ops_api::{
    MerchantRequest, MerchantResponse, TerminalChallenge, TerminalChallengeRequest,
    TerminalRegistered, TerminalRegistration,
};
use ops_core::provider::{CryptoProvider, RingProvider};

use super::accounts::{
    DEFAULT_MAX_OUTSTANDING, NewCertificate, certified_name, certify_device, parse_account_id,
    parse_public_key,
};
use super::auth::authorize_account;
use super::webauthn::{CHALLENGE_LIFETIME, b64url, random};
use super::{ApiError, AppState, ClientAddr, now, parse_json, require_admin};
use crate::store::{ChallengePurpose, TakenChallenge};

/// The challenge purpose of terminal registrations.
const PURPOSE: ChallengePurpose = ChallengePurpose::Terminal;

fn no_account() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "account_not_found",
        "no such account: check the account number",
    )
}

/// `POST /api/v1/accounts/{id}/merchant` (admin): sets the name the FI certifies for the
/// account's terminals, once the operator has checked the business (`null` clears it:
/// terminals registered before keep their certificates until revoked).
pub async fn set_merchant(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<MerchantResponse>, ApiError> {
    require_admin(&state, &headers)?;
    let id = parse_account_id(&id)?;
    let req: MerchantRequest = parse_json(&body)?;
    let name = certified_name(req.name)?;
    if !state.store.set_merchant_name(id, name.as_deref()).await? {
        return Err(no_account());
    }
    Ok(Json(MerchantResponse {
        account_id: id,
        merchant_name: name,
    }))
}

/// The certified merchant name of account `id`, or why terminals cannot be registered.
pub(super) async fn merchant_name(state: &AppState, id: i64) -> Result<String, ApiError> {
    match state.store.merchant_name(id).await? {
        None => Err(no_account()),
        Some(None) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_a_merchant",
            "this account is not a merchant yet: ask your bank to certify your business name, then register the terminal",
        )),
        Some(Some(name)) => Ok(name),
    }
}

/// `POST /api/v1/terminals/challenge`: a fresh challenge for a terminal of merchant
/// `account_id`. Needs what reading the account needs (its token, a passkey session of one
/// of its devices, or the admin token); limited per client address.
pub async fn challenge(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<TerminalChallenge>), ApiError> {
    state.settings.abuse.challenge(&client)?;
    let req: TerminalChallengeRequest = parse_json(&body)?;
    authorize_account(
        &state,
        &headers,
        req.account_id,
        "registering a terminal for a merchant",
    )
    .await?;
    let merchant_name = merchant_name(&state, req.account_id).await?;
    let id = ops_core::ids::to_hex(&random::<16>()?);
    let challenge = random::<32>()?;
    let t = now();
    let expires = t + CHALLENGE_LIFETIME;
    state
        .store
        .create_challenge(&id, PURPOSE, req.account_id, &challenge, expires, t)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TerminalChallenge {
            challenge_id: id,
            challenge: URL_SAFE_NO_PAD.encode(challenge),
            expires,
            merchant_name,
        }),
    ))
}

/// `POST /api/v1/terminals`: checks the proof of possession over the challenge and
/// certifies the terminal's key with the merchant's certified name. The challenge is the
/// authorization (it was given to the account's holder) and is used once.
pub async fn register(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<TerminalRegistered>), ApiError> {
    let req: TerminalRegistration = parse_json(&body)?;
    let key = parse_public_key(&req.public_key)?;
    let signature: [u8; 64] = b64url("signature", &req.signature)?
        .try_into()
        .map_err(|_| {
            ApiError::bad_request(
                "malformed_signature",
                "`signature` must be 64 bytes (r ‖ s, as WebCrypto's ECDSA sign returns), base64url",
            )
        })?;
    let label = certified_name(req.label).map_err(|_| {
        ApiError::bad_request(
            "label_invalid",
            "`label` must be 1 to 64 bytes of visible text (\"Till 2\"), or omitted",
        )
    })?;
    let TakenChallenge {
        account_id,
        challenge,
    } = state
        .store
        .take_challenge(req.challenge_id.trim(), PURPOSE, now())
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "challenge_invalid",
                "the challenge is unknown, used or expired: ask for a new one with POST /api/v1/terminals/challenge",
            )
        })?;
    if RingProvider
        .verify_es256(&key, &terminal_proof_message(&challenge), &signature)
        .is_err()
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "proof_refused",
            "the signature does not prove possession of this key over the challenge: sign the registration prefix and the challenge with the terminal's key, and ask for a new challenge",
        ));
    }
    let name = merchant_name(&state, account_id).await?;
    let (status, Json(answer)) = certify_device(
        &state,
        NewCertificate {
            account_id,
            key,
            name: Some(name),
            max_outstanding: DEFAULT_MAX_OUTSTANDING,
            webauthn: None,
            credential_id: None,
            sign_count: None,
            label,
            backup: None,
        },
    )
    .await?;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    Ok((
        status,
        Json(TerminalRegistered {
            cert_id: text(&answer["cert_id"]),
            cert: text(&answer["cert"]),
            chain: answer["chain"]
                .as_array()
                .map(|c| c.iter().map(text).collect())
                .unwrap_or_default(),
        }),
    ))
}
