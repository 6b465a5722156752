//! The versioned JSON API under `/api/v1/`, plus `/healthz` and `/metrics`.
//! Every error is a 4xx/5xx with `{"error": {"code": "...", "message": "..."}}`.

mod accounts;
mod admin;
mod deposit;
mod fund;
pub(crate) mod login;
mod ratelimit;
mod webauthn;

pub use ratelimit::RateLimiter;

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
    /// If set, admin endpoints require `Authorization: Bearer <token>`.
    pub admin_token: Option<String>,
    /// Per-device limit on fund and deposit requests.
    pub device_limit: RateLimiter,
    /// What WebAuthn registrations must satisfy.
    pub registration: ops_core::registration::RegistrationPolicy,
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
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!("{}: {}", self.code, self.message);
        }
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        (self.status, axum::Json(body)).into_response()
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
            StoreError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found; check the id"),
            ),
            e if e.is_retryable() => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                format!("{e}; retry the request"),
            ),
            e => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage",
                format!("{e}; retry later"),
            ),
        }
    }
}

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

/// Checks the admin token, if one is configured.
pub fn require_admin(state: &AppState, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &state.settings.admin_token else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given == Some(token.as_str()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "admin_only",
            "this endpoint needs the admin token: send `Authorization: Bearer <token>`",
        ))
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
        .route("/v1/devices", post(accounts::register_device))
        .route("/v1/registrations/challenge", post(webauthn::challenge))
        .route("/v1/registrations", post(webauthn::register))
        .route("/v1/login/challenge", post(login::challenge))
        .route("/v1/login", post(login::login))
        .route("/v1/session", get(login::session))
        .route("/v1/fund", post(fund::fund))
        .route("/v1/deposits", post(deposit::deposit))
        .route("/v1/defund", post(deposit::defund))
        .route("/v1/crl", get(admin::crl))
        .route("/v1/trust", get(admin::trust))
        .route("/v1/fraud-cases", get(admin::fraud_cases))
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
