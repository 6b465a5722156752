//! Deposits held for review and the ledger audit (admin).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::{ApiError, AppState, parse_json, require_admin};
use crate::settle;

/// Most holds listed at once.
const PAGE: i64 = 100;

/// `GET /api/v1/held-deposits[?status=held|released|rejected|all]` (admin): newest first.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let mut status = Some("held");
    for pair in query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        status = match pair {
            "status=held" => Some("held"),
            "status=released" => Some("released"),
            "status=rejected" => Some("rejected"),
            "status=all" => None,
            _ => {
                return Err(ApiError::bad_request(
                    "malformed_query",
                    "the only parameter is `status`: held (default), released, rejected or all",
                ));
            }
        };
    }
    let held = state.store.held_deposits(status, PAGE).await?;
    Ok(Json(serde_json::json!({ "held": held })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    /// Who decides (1–100 bytes).
    operator: String,
    /// Why (1–2 000 bytes).
    note: String,
}

fn decision(body: &Bytes) -> Result<Decision, ApiError> {
    let d: Decision = parse_json(body)?;
    let (operator, note) = super::fraud::operator_and_note(&d.operator, &d.note)?;
    Ok(Decision {
        operator: operator.to_owned(),
        note: note.to_owned(),
    })
}

/// `POST /api/v1/held-deposits/{id}/release` (admin): credit the held payment after all
/// (e.g. the payee showed it accepted it honestly, with a CRL that predated the revocation).
/// Its excess is a fraud case against the culprit like any other.
pub async fn release(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let d = decision(&body)?;
    let outcome = settle::release(
        &state.store,
        &state.settler,
        &state.trust,
        id,
        &d.operator,
        &d.note,
    )
    .await
    .map_err(super::deposit::deposit_error)?;
    Ok(Json(
        serde_json::json!({ "released": id, "outcome": outcome }),
    ))
}

/// `POST /api/v1/held-deposits/{id}/reject` (admin): never credit it.
pub async fn reject(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let d = decision(&body)?;
    if !state
        .store
        .reject_held(id, &d.operator, &d.note, super::now())
        .await?
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_decided",
            format!(
                "held deposit {id} is not waiting for a decision (missing, released or rejected); read it with GET /api/v1/held-deposits?status=all"
            ),
        ));
    }
    Ok(Json(serde_json::json!({ "rejected": id })))
}

/// `GET /api/v1/audit` (admin): the ledger audit (per-note invariant, accounts, global
/// sum); `ok` is false when any violation was found.
pub async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let report = state.store.audit().await?;
    let mut v = serde_json::json!(report);
    v["ok"] = serde_json::Value::Bool(report.violations.is_empty());
    Ok(Json(v))
}
