//! Who may act on an account: its own access token (returned once by the demo sign-up;
//! only its SHA-256 is stored, compared in constant time), a passkey session of one of its
//! devices, or the admin token.

use axum::http::{HeaderMap, StatusCode};
use ops_core::ids::{sha256, to_hex};

use super::{ApiError, AppState, now};

/// A new account access token: 32 random bytes as 64 hex digits, and its SHA-256 (hex), the
/// only part that is stored.
pub fn new_account_token() -> Result<(String, String), ApiError> {
    let token = to_hex(&super::webauthn::random::<32>()?);
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// The stored form of a bearer token: its SHA-256 in hex.
pub fn token_hash(token: &str) -> String {
    to_hex(&sha256(token.trim().as_bytes()))
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths (both are
/// SHA-256 hex digests here, so always 64 bytes).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The bearer token of the request, if any (scheme matched without regard to case).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    super::bearer_token(headers)
}

/// The answer for an account the caller may not see: the same as for one that does not
/// exist, so account ids cannot be enumerated.
fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_account",
        "no account with this id that your token may access (the account's own token, a passkey session of one of its devices, or the admin token); sign up with POST /api/v1/accounts",
    )
}

/// Who a request on an account authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The operator's admin token.
    Admin,
    /// The account's own token (the wallet's recovery code).
    AccountToken,
    /// A passkey session of this (non-revoked) device of the account.
    Session {
        /// The device's certificate id.
        device: ops_core::CertId,
    },
}

/// Admits a request on account `id` (`what` names the endpoint in the error message) if
/// its `Authorization: Bearer <token>` is the account's access token, a valid passkey
/// session of a device of the account, or the admin token. No token → `401
/// auth_required`; an expired session → `401 session_expired`; any other token, or an
/// account that does not exist → `404 no_such_account`; a session of a revoked device →
/// `403 device_revoked`. Answers who the caller is.
pub async fn authorize_account(
    state: &AppState,
    headers: &HeaderMap,
    id: i64,
    what: &str,
) -> Result<Caller, ApiError> {
    let Some(token) = bearer(headers) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "auth_required",
            format!(
                "{what} needs `Authorization: Bearer <token>` with the account token returned once by POST /api/v1/accounts, a session token from POST /api/v1/login with a passkey of one of the account's devices, or the admin token"
            ),
        ));
    };
    if state.settings.admin_token.matches(token) {
        return Ok(Caller::Admin);
    }
    let hash = token_hash(token);
    if let Some(Some(stored)) = state.store.account_token_hash(id).await?
        && constant_time_eq(stored.as_bytes(), hash.as_bytes())
    {
        return Ok(Caller::AccountToken);
    }
    match state.store.session_any(&hash).await? {
        Some(session) if u64::try_from(session.expires).unwrap_or(0) < now() => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session_expired",
            "the passkey session expired: log in again with POST /api/v1/login/challenge and POST /api/v1/login",
        )),
        Some(session) if session.account_id == id => {
            match state.store.device(&session.device).await? {
                Some(d) if !d.revoked => Ok(Caller::Session {
                    device: session.device,
                }),
                _ => Err(super::login::session_of_revoked_device()),
            }
        }
        _ => Err(not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"abcd", b"abcd"));
        assert!(!constant_time_eq(b"abcd", b"abce"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
    }

    #[test]
    fn tokens_are_random_and_stored_as_hashes() {
        let (a, ha) = new_account_token().unwrap_or_default();
        let (b, _) = new_account_token().unwrap_or_default();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(ha, token_hash(&a));
        assert_ne!(ha, a);
    }
}
