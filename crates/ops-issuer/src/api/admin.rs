//! CRL, trust bundle, health and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ops_core::CrlBody;

use super::{ApiError, AppState, now, require_admin};
use crate::ceremony::sign;

/// CRLs are reissued (same version, fresh `issued`) at this period, in seconds.
pub const CRL_PERIOD: u64 = 3600;

/// `GET /api/v1/crl`: this FI's signed CRL. Versioned by `number`; the ETag names the
/// version and issue period, so clients revalidate cheaply.
pub async fn crl(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (version, revoked) = state.store.crl().await?;
    let peers = state.store.peer_crls().await?;
    // The answer carries the block list's plain entries only: no signature to make here.
    let (list_version, blocked) = state.store.blocklist().await?;
    let issued = now() / CRL_PERIOD * CRL_PERIOD;
    // The peers' lists change the answer too: their numbers and signing times name them.
    let peer_tag = peers
        .iter()
        .map(|p| p.number.wrapping_mul(31).wrapping_add(p.issued))
        .fold(peers.len() as u64, |a, x| {
            a.wrapping_mul(1_000_003).wrapping_add(x)
        });
    let etag = format!("\"crl-{version}-{issued}-{peer_tag:x}-{list_version}\"");
    let cache = HeaderValue::from_static("public, max-age=60, must-revalidate");
    let etag_value = HeaderValue::from_str(&etag).map_err(|e| {
        tracing::error!("CRL ETag {etag:?}: {e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the service could not build the CRL answer; retry later, and tell the operator if it persists",
        )
    })?;
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    let crl = sign(
        CrlBody {
            issuer: state.trust.fi.id(),
            number: version,
            issued,
            revoked: revoked.clone(),
        },
        &state.trust.fi_key,
    );
    let body = ops_api::CrlResponse {
        issuer: state.trust.fi.id().to_string(),
        version,
        issued,
        revoked,
        crl: STANDARD.encode(crl.to_bytes()),
        peers: peers.iter().map(|p| STANDARD.encode(&p.crl)).collect(),
        blocked: blocked.iter().map(ToString::to_string).collect(),
        blocklist_version: list_version,
    };
    Ok((
        [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)],
        Json(body),
    )
        .into_response())
}

/// `GET /api/v1/trust`: the trust bundle (root and FI certificates).
/// With the bundle, this FI's counterparty block list, signed (`blocklist`, base64).
pub async fn trust(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let mut bundle = state.trust.bundle();
    let (number, list, ids) = signed_blocklist(&state).await?;
    if let Some(map) = bundle.as_object_mut() {
        map.insert("blocklist".into(), serde_json::Value::String(list));
        map.insert("blocked".into(), serde_json::json!(ids));
        map.insert("blocklist_version".into(), serde_json::json!(number));
    }
    Ok(Json(bundle))
}

/// This FI's block list: its version, the signed list (base64) and its entries (hex).
async fn signed_blocklist(state: &AppState) -> Result<(u64, String, Vec<String>), ApiError> {
    let (number, ids) = state.store.blocklist().await?;
    let list = sign(
        ops_core::BlockListBody {
            issuer: state.trust.fi.id(),
            number,
            issued: now() / CRL_PERIOD * CRL_PERIOD,
            blocked: ids.clone(),
        },
        &state.trust.fi_key,
    );
    let ids = ids.iter().map(ToString::to_string).collect();
    Ok((number, STANDARD.encode(list.to_bytes()), ids))
}

/// The body of `POST /api/v1/blocklist` (admin).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockRequest {
    /// The certificate (hex).
    pub cert_id: String,
    /// Block (`true`) or unblock.
    pub blocked: bool,
    /// Why (kept with the entry).
    #[serde(default)]
    pub reason: String,
}

/// `POST /api/v1/blocklist` (admin): blocks or unblocks a counterparty; a change makes a
/// new version of the list devices receive with the trust bundle.
pub async fn set_blocked(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let req: BlockRequest = super::parse_json(&body)?;
    let id = super::parse_hex::<16>("cert_id", &req.cert_id)?;
    let cert_id = ops_core::CertId(id);
    let changed = state
        .store
        .set_blocked(&cert_id, req.blocked, req.reason.trim(), now())
        .await?;
    state.settler.revocations_changed();
    let (version, ids) = state.store.blocklist().await?;
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    Ok(Json(serde_json::json!({
        "changed": changed,
        "version": version,
        "blocked": ids,
    })))
}

/// `GET /healthz`: 200 when the database answers.
pub async fn healthz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    sqlx::query("SELECT 1")
        .execute(state.store.pool())
        .await
        .map_err(|e| {
            tracing::error!("health check: the database does not answer: {e}");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the service's database does not answer; retry later, and tell the operator if it persists",
            )
        })?;
    Ok("ok")
}

/// `GET /metrics` (admin): ledger counts and sums in the Prometheus text format. Needs the
/// admin token: the figures (total balances, value outstanding, fraud losses) are the
/// FI's business, not the public's; `/healthz` is the public liveness check.
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_admin(&state, &headers)?;
    let t = state.store.totals().await?;
    let cache = state.settler.verification_cache();
    let mut out = String::new();
    for (name, value) in [
        ("ops_accounts", t.accounts),
        ("ops_balances_total", t.balances),
        ("ops_devices", t.devices),
        ("ops_notes_issued", t.notes),
        ("ops_issued_value_total", t.issued),
        ("ops_outstanding_value", t.outstanding()),
        ("ops_deposits", t.deposits),
        ("ops_credited_value_total", t.credited),
        ("ops_spends_recorded", t.spends),
        ("ops_fraud_cases", t.fraud_cases),
        ("ops_fraud_debited_total", t.fraud_debited),
        ("ops_fraud_shortfall_total", t.fraud_shortfall),
        ("ops_fraud_cases_open", t.fraud_open),
        ("ops_fraud_refunded_total", t.fraud_refunded),
        ("ops_crl_version", t.crl_version),
        (
            "ops_verification_cache_hits",
            i64::try_from(cache.hits).unwrap_or(i64::MAX),
        ),
        (
            "ops_verification_cache_misses",
            i64::try_from(cache.misses).unwrap_or(i64::MAX),
        ),
    ] {
        out.push_str(&format!("{name} {value}\n"));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}
