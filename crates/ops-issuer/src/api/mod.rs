//! The versioned JSON API under `/api/v1/`, plus `/healthz` and `/metrics`.
//! Every error is a 4xx/5xx with `{"error": {"code": "...", "message": "..."}}`.

mod abuse;
mod accounts;
mod admin;
mod auth;
pub(crate) mod banks;
pub mod clearing;
mod deposit;
mod devices;
mod fraud;
mod fund;
mod held;
pub(crate) mod login;
mod ratelimit;
mod refunds;
mod spends;
mod terminals;
mod webauthn;

pub use abuse::{AbuseGuard, AbuseLimits, ClientAddr};
pub use accounts::DEFAULT_MAX_OUTSTANDING;
pub use ratelimit::RateLimiter;

/// The default outstanding-value limit of a synced passkey's device: a quarter of the
/// device-bound limit [`DEFAULT_MAX_OUTSTANDING`] (25 000 minor units).
pub const DEFAULT_SYNCED_MAX_OUTSTANDING: u64 = DEFAULT_MAX_OUTSTANDING / 4;

/// Whether the FI certifies synced passkeys: WebAuthn credentials that are backup
/// eligible (BE set), which the platform may copy to the user's other devices.
/// Device-bound keys (security keys, platform authenticators with BE clear) are always
/// certified, with [`DEFAULT_MAX_OUTSTANDING`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SyncedPasskeys {
    /// Certify them, marked `synced` and with the lower outstanding-value limit (the demo
    /// FI: a newcomer on an ordinary desktop or phone can finish onboarding).
    #[default]
    Allow,
    /// Refuse them at registration (`422 synced_passkey_refused`).
    Refuse,
}

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use tower_http::limit::RequestBodyLimitLayer;

use crate::ceremony::Trust;
use crate::store::{Store, StoreError};

/// Largest request body accepted (a payment is a few kilobytes).
pub const MAX_BODY: usize = 256 * 1024;

/// Service settings the API needs.
#[derive(Debug)]
pub struct Settings {
    /// Balance of a new self-service demo account, in minor units.
    pub starting_balance: u64,
    /// Admin endpoints require `Authorization: Bearer <token>` with this token.
    pub admin_token: crate::admin_token::AdminToken,
    /// Per-device limit on fund and deposit requests.
    pub device_limit: RateLimiter,
    /// Limits on the demo sign-up, account reads and WebAuthn challenges.
    pub abuse: AbuseGuard,
    /// What WebAuthn registrations must satisfy; `require_device_bound` refuses synced
    /// passkeys ([`SyncedPasskeys::Refuse`]).
    pub registration: ops_core::registration::RegistrationPolicy,
    /// The outstanding-value limit certified for a synced passkey's device (where
    /// `registration` lets them through); device-bound keys get [`DEFAULT_MAX_OUTSTANDING`].
    pub synced_max_outstanding: u64,
    /// Offline limits written in every new device certificate.
    pub device_limits: DeviceLimits,
    /// The central bank's URL, where claims on other FIs' notes are forwarded.
    pub central_bank: Option<String>,
    /// The HTTP client for the central bank.
    pub http: reqwest::Client,
}

/// The offline limits an FI writes in its device certificates (PROTOCOL.md §6.1): checked
/// by every payee offline and by the FI at deposit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceLimits {
    /// The most one payment may take from a device (V26).
    pub max_payment: Option<u64>,
    /// The most one payment may take from a device without user verification (V27).
    pub max_without_uv: Option<u64>,
}

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Root, FI certificate and FI key.
    pub trust: Arc<Trust>,
    /// Settings.
    pub settings: Arc<Settings>,
    /// The settlement task (group commit of deposits).
    pub settler: crate::settle::Settler,
}

/// An API error: an HTTP status, a stable code and a message saying what to do.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Adds a `Retry-After` header (seconds) to the answer.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Whether this is a refusal of the request (4xx), not a fault of the service.
    pub fn is_client_error(&self) -> bool {
        self.status.is_client_error()
    }

    /// A `400 Bad Request` with `code` and what to do.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!("{}: {}", self.code, self.message);
        }
        let body = ops_api::ErrorBody::new(self.code, self.message);
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InsufficientFunds { .. } => Self::new(
                StatusCode::CONFLICT,
                "insufficient_funds",
                format!("{e}; ask for less or credit the account first"),
            ),
            StoreError::AboveDeviceLimit {
                max_outstanding,
                outstanding,
            } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "above_device_limit",
                format!(
                    "the device may hold at most {max_outstanding}; it holds {outstanding}: ask for at most {}",
                    max_outstanding.saturating_sub(outstanding)
                ),
            ),
            StoreError::IdempotencyKeyReused { amount } => Self::new(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                format!(
                    "this Idempotency-Key was already used to fund {amount}; use a new key for a new funding, or repeat the first request unchanged to get its answer"
                ),
            ),
            StoreError::DeviceRevoked => Self::new(
                StatusCode::FORBIDDEN,
                "device_revoked",
                "the device's certificate is revoked; it cannot be funded",
            ),
            StoreError::AlreadyResolved {
                id,
                resolution,
                by,
                at,
            } => Self::new(
                StatusCode::CONFLICT,
                "already_resolved",
                format!(
                    "fraud case {id} was already resolved as `{resolution}` by {by} at {at}; a resolution is final, read it with GET /api/v1/fraud-cases/{id}"
                ),
            ),
            StoreError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found; check the id"),
            ),
            // Never the database's own text: it can name tables, constraints and values.
            // The detail goes to the log; the client learns what to do.
            e if e.is_retryable() => {
                tracing::warn!("storage busy: {e}");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the service is busy; retry the request in a moment",
                )
                .retry_after(1)
            }
            e => {
                tracing::error!("storage fault: {e}");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage",
                    STORAGE_FAULT_MESSAGE,
                )
            }
        }
    }
}

/// What a client is told when storage fails (the detail is only logged).
pub const STORAGE_FAULT_MESSAGE: &str = "the service could not complete the request because of an internal storage fault; retry later, and contact the operator if it persists";

/// Parses a JSON body into `T`, answering malformed input with a JSON 400.
pub fn parse_json<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!("the request body is not the expected JSON: {e}"),
        )
    })
}

/// Decodes standard base64.
pub fn parse_base64(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| {
            ApiError::bad_request(
                "malformed_base64",
                format!("`{field}` is not standard base64: {e}"),
            )
        })
}

/// Decodes a hex id of `N` bytes.
pub fn parse_hex<const N: usize>(field: &str, text: &str) -> Result<[u8; N], ApiError> {
    ops_core::ids::from_hex(text.trim())
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "malformed_id",
                format!("`{field}` must be {N} bytes in hex ({} hex digits)", 2 * N),
            )
        })
}

/// The token of an `Authorization: Bearer <token>` header. The scheme is matched without
/// regard to case (RFC 7235 §2.1: `bearer`, `BEARER` and `Bearer` are the same); spaces
/// around the token are ignored; an empty token counts as none.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim_start();
    let (scheme, token) = value.split_once([' ', '\t'])?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    Some(token.trim()).filter(|t| !t.is_empty())
}

/// Checks the admin bearer token of this FI's admin endpoints.
pub fn require_admin(state: &AppState, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    check_admin(&state.settings.admin_token, headers, "the admin token")
}

/// Checks `headers` for the bearer token `token` (`whose`: how the error names it, e.g.
/// "the central bank's admin token"); the FI's and the central bank's admin endpoints.
pub(crate) fn check_admin(
    token: &crate::admin_token::AdminToken,
    headers: &axum::http::HeaderMap,
    whose: &str,
) -> Result<(), ApiError> {
    let hint = "send `Authorization: Bearer <token>` with the token from the file the service named at start (admin.token in its data folder, unless --admin-token or --admin-token-file was given)";
    match bearer_token(headers) {
        Some(t) if token.matches(t) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "admin_only",
            format!("{whose} is wrong: {hint}"),
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "admin_only",
            format!("this endpoint needs {whose}: {hint}"),
        )),
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The service router: the API under `/api/v1/`, `/healthz`, `/metrics`, and `fallback`
/// (the apps) for every other path.
pub fn router(state: AppState, fallback: Option<Router>) -> Router {
    let v1 = Router::new()
        .route("/v1/accounts", post(accounts::create))
        .route("/v1/accounts/{id}", get(accounts::get))
        .route("/v1/accounts/{id}/token", post(accounts::rotate_token))
        .route("/v1/accounts/{id}/devices", get(devices::list))
        .route(
            "/v1/accounts/{id}/devices/{device}/revoke",
            post(devices::revoke),
        )
        .route("/v1/accounts/{id}/merchant", post(terminals::set_merchant))
        .route("/v1/terminals/challenge", post(terminals::challenge))
        .route("/v1/terminals", post(terminals::register))
        .route("/v1/devices", post(accounts::register_device))
        .route("/v1/registrations/challenge", post(webauthn::challenge))
        .route("/v1/registrations", post(webauthn::register))
        .route("/v1/login/challenge", post(login::challenge))
        .route("/v1/login", post(login::login))
        .route("/v1/session", get(login::session))
        .route("/v1/fund", post(fund::fund))
        .route("/v1/deposits", post(deposit::deposit))
        .route("/v1/deposits/batch", post(deposit::deposit_batch))
        .route("/v1/defund", post(deposit::defund))
        .route("/v1/crl", get(admin::crl))
        .route("/v1/banks", get(banks::list))
        .route("/v1/trust", get(admin::trust))
        .route("/v1/blocklist", post(admin::set_blocked))
        .route("/v1/fraud-proofs", post(fraud::report))
        .route("/v1/spends/status", post(spends::status))
        .route("/v1/fraud-cases", get(fraud::list))
        .route("/v1/fraud-cases/{id}", get(fraud::show))
        .route("/v1/fraud-cases/{id}/proof", get(fraud::proof))
        .route("/v1/fraud-cases/{id}/resolve", post(fraud::resolve))
        .route("/v1/held-deposits", get(held::list))
        .route("/v1/held-deposits/{id}/release", post(held::release))
        .route("/v1/held-deposits/{id}/reject", post(held::reject))
        .route("/v1/audit", get(held::audit))
        .route("/v1/refunds/run", post(refunds::run))
        .route("/v1/clearing", get(clearing::summary))
        .route("/v1/clearing/run", post(clearing::run))
        .route("/v1/clearing/claims", post(clearing::claims))
        .fallback(api_not_found);
    let service = Router::new()
        .nest("/api", v1)
        .route("/healthz", get(admin::healthz))
        .route("/metrics", get(admin::metrics))
        .with_state(state);
    let service = match fallback {
        Some(apps) => service.fallback_service(apps),
        None => service.fallback(api_not_found),
    };
    service
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(middleware::from_fn(json_too_large))
}

async fn api_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_endpoint",
        "no such endpoint; see docs/API.md",
    )
}

/// The body limit answers 413 in plain text; make it the JSON error shape.
async fn json_too_large(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the request body exceeds {MAX_BODY} bytes; deposit payments in smaller batches"
            ),
        )
        .into_response();
    }
    response
}
