//! WebAuthn device registration: a single-use server challenge with expiry, then the
//! browser's `navigator.credentials.create` response verified with the protocol core under
//! the FI's attestation policy (user verification; synced passkeys allowed or refused by
//! `--synced-passkeys`), and a device certificate carrying the assertion policy. A synced
//! passkey (BE set) is certified `synced` with the lower `--synced-max-outstanding`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ops_api::{RegistrationChallengeRequest, RegistrationRequest};
use ops_core::provider::RingProvider;
use ops_core::registration::{RegistrationError, verify_registration};
use ops_core::webauthn::{SyncedKeys, WebAuthnError, flags};

use super::accounts::{DEFAULT_MAX_OUTSTANDING, NewCertificate, certified_name, certify_device};
use super::auth::authorize_account;
use super::{ApiError, AppState, ClientAddr, now, parse_json};
use crate::store::{BackupFlags, ChallengePurpose, TakenChallenge};

/// A registration challenge is valid this long, in seconds.
pub const CHALLENGE_LIFETIME: u64 = 300;

pub(super) fn b64url(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    URL_SAFE_NO_PAD
        .decode(text.trim().trim_end_matches('='))
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_base64",
                format!("`{field}` is not base64url: {e}"),
            )
        })
}

pub(super) fn random<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no_randomness",
            e.to_string(),
        )
    })?;
    Ok(b)
}

/// `POST /api/v1/registrations/challenge`: a fresh challenge for `account_id` and the
/// parameters `navigator.credentials.create` needs. Needs the account's token, a passkey
/// session of one of its devices, or the admin token (as reading the account does);
/// limited per client address (429 with `Retry-After`).
pub async fn challenge(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    state.settings.abuse.challenge(&client)?;
    let req: RegistrationChallengeRequest = parse_json(&body)?;
    authorize_account(
        &state,
        &headers,
        req.account_id,
        "registering a device for an account",
    )
    .await?;
    let id = ops_core::ids::to_hex(&random::<16>()?);
    let challenge = random::<32>()?;
    let t = now();
    let expires = t + CHALLENGE_LIFETIME;
    state
        .store
        .create_challenge(
            &id,
            ChallengePurpose::Register,
            req.account_id,
            &challenge,
            expires,
            t,
        )
        .await?;
    let policy = &state.settings.registration;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "challenge_id": id,
            "challenge": URL_SAFE_NO_PAD.encode(challenge),
            "expires": expires,
            "rp_id": policy.rp_id,
            "origins": policy.origins,
            "user_verification": if policy.require_user_verification { "required" } else { "preferred" },
            "algorithms": [-7],
            "synced_passkeys": if policy.synced_keys == SyncedKeys::Refused { "refuse" } else { "allow" },
            "device_bound_max_outstanding": DEFAULT_MAX_OUTSTANDING,
            "synced_max_outstanding": state.settings.synced_max_outstanding,
        })),
    ))
}

/// `POST /api/v1/registrations`: verifies the attestation and answers with the device
/// certificate and its chain. The certificate carries no name (self-service names are not
/// checked by the FI); a requested `name` is answered back as `self_declared_name`. A
/// synced passkey (BE set) is certified `synced` with the lower limit, or refused with
/// `422 synced_passkey_refused` under `--synced-passkeys refuse`; the answer says `synced`
/// and the `max_outstanding` given, for the wallet to tell its user.
pub async fn register(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let req: RegistrationRequest = parse_json(&body)?;
    // A self-service registration never gets a name into the certificate: payers see a
    // certificate's name as checked by the FI, and nobody checked this one. It is
    // answered back as the device's self-declared name (same bounds), for the app to
    // show as such.
    let self_declared = certified_name(req.name)?;
    let cdj = b64url("client_data_json", &req.client_data_json)?;
    let att = b64url("attestation_object", &req.attestation_object)?;
    let TakenChallenge {
        account_id,
        challenge,
    } = state
        .store
        .take_challenge(req.challenge_id.trim(), ChallengePurpose::Register, now())
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "challenge_invalid",
                "the challenge is unknown, used or expired: ask for a new one with POST /api/v1/registrations/challenge",
            )
        })?;
    let policy = &state.settings.registration;
    let credential = verify_registration(&RingProvider, policy, &challenge, &cdj, &att)
        .map_err(|e| match e {
            RegistrationError::Ceremony(WebAuthnError::BackupEligible) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "synced_passkey_refused",
                "this bank does not accept synced passkeys (passkeys your browser or phone copies to your other devices): use a security key or a device-bound passkey",
            ),
            e => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "registration_refused",
                format!("the authenticator's response was refused: {e}"),
            ),
        })?;
    // Only a policy that allows synced passkeys lets a BE credential through.
    let synced = credential.is_synced();
    let max_outstanding = if synced {
        state.settings.synced_max_outstanding
    } else {
        DEFAULT_MAX_OUTSTANDING
    };
    let credential_id = URL_SAFE_NO_PAD.encode(&credential.credential_id);
    if state.store.credential_registered(&credential_id).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "credential_registered",
            "this credential is already registered; use the device certificate issued for it",
        ));
    }
    // A merchant's terminal carries the name the operator checked; a wallet none.
    let name = if req.terminal {
        Some(super::terminals::merchant_name(&state, account_id).await?)
    } else {
        None
    };
    let (status, Json(mut answer)) = certify_device(
        &state,
        NewCertificate {
            account_id,
            key: credential.public_key,
            name,
            max_outstanding,
            webauthn: Some(policy.webauthn_policy_for(&credential)),
            credential_id: Some(credential_id.clone()),
            sign_count: Some(credential.sign_count),
            label: self_declared.clone(),
            backup: Some(BackupFlags {
                eligible: credential.flags & flags::BE != 0,
                backed_up: credential.flags & flags::BS != 0,
            }),
        },
    )
    .await?;
    answer["credential_id"] = serde_json::Value::String(credential_id);
    answer["attestation_format"] = serde_json::Value::String(credential.format.name().into());
    answer["self_declared_name"] = self_declared.map_or(serde_json::Value::Null, Into::into);
    answer["synced"] = synced.into();
    answer["max_outstanding"] = max_outstanding.into();
    answer["device_bound_max_outstanding"] = DEFAULT_MAX_OUTSTANDING.into();
    Ok((status, Json(answer)))
}
