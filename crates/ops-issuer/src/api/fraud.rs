//! Fraud cases (admin): list, inspect, download the proof, resolve; and fraud proofs
//! reported by payees (`POST /api/v1/fraud-proofs`, no account needed: the proof itself is
//! the evidence).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;

use super::{ApiError, AppState, now, parse_json, require_admin};
use crate::store::{CaseFilter, FraudCaseRow, Resolution};

/// Cases per page when `limit` is not given, and the most a page holds.
pub const PAGE: i64 = 100;

/// Longest operator name and note accepted, in bytes.
const MAX_OPERATOR: usize = 100;
const MAX_NOTE: usize = 2_000;

/// `GET /api/v1/fraud-cases[?status=open|confirmed|dismissed|all][&before=ID][&limit=N]`
/// (admin): cases newest first with their proofs, at most [`PAGE`] per page; `next_before`
/// pages on.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let filter = parse_filter(query.as_deref().unwrap_or(""))?;
    let cases = state.store.fraud_cases(filter).await?;
    let next_before = match cases.last() {
        Some(last) if i64::try_from(cases.len()).is_ok_and(|n| n == filter.limit) => Some(last.id),
        _ => None,
    };
    Ok(Json(
        serde_json::json!({ "cases": cases, "next_before": next_before }),
    ))
}

fn parse_filter(query: &str) -> Result<CaseFilter, ApiError> {
    let mut filter = CaseFilter {
        status: None,
        before: None,
        limit: PAGE,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "status" => {
                filter.status = match value {
                    "all" => None,
                    "open" => Some(None),
                    "confirmed" => Some(Some(Resolution::Confirmed)),
                    "dismissed" => Some(Some(Resolution::Dismissed)),
                    _ => {
                        return Err(ApiError::bad_request(
                            "malformed_query",
                            "`status` must be open, confirmed, dismissed or all",
                        ));
                    }
                }
            }
            "before" => {
                filter.before = Some(value.parse().map_err(|_| {
                    ApiError::bad_request(
                        "malformed_query",
                        "`before` must be a case id (decimal); use `next_before` of the previous page",
                    )
                })?);
            }
            "limit" => {
                filter.limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=PAGE).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "malformed_query",
                            format!("`limit` must be a number from 1 to {PAGE}"),
                        )
                    })?;
            }
            other => {
                return Err(ApiError::bad_request(
                    "malformed_query",
                    format!(
                        "unknown query parameter `{}`; use status, before or limit",
                        other.chars().take(40).collect::<String>()
                    ),
                ));
            }
        }
    }
    Ok(filter)
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| {
        ApiError::bad_request(
            "malformed_id",
            "the fraud case id must be a decimal number (the `id` of a listed case)",
        )
    })
}

fn no_such_case() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_fraud_case",
        "no fraud case with this id; list them with GET /api/v1/fraud-cases",
    )
}

/// `GET /api/v1/fraud-cases/{id}` (admin): one case with its proof and resolution.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<FraudCaseRow>, ApiError> {
    require_admin(&state, &headers)?;
    let case = state
        .store
        .fraud_case(parse_id(&id)?)
        .await?
        .ok_or_else(no_such_case)?;
    Ok(Json(case))
}

/// `GET /api/v1/fraud-cases/{id}/proof` (admin): the `FraudProof`'s canonical bytes as a
/// download, whatever the case's resolution (evidence is never removed).
pub async fn proof(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_admin(&state, &headers)?;
    let id = parse_id(&id)?;
    let bytes = state
        .store
        .fraud_proof(id)
        .await?
        .ok_or_else(no_such_case)?;
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"fraud-case-{id}.proof\""
    ))
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Resolve {
    /// `confirmed` or `dismissed`.
    resolution: Resolution,
    /// Why.
    note: String,
    /// Who decides (the operator's name or staff id).
    operator: String,
}

/// An operator's name and note for a decision (a case resolution, a held deposit),
/// trimmed and bounded: `400 operator_required` / `note_required` otherwise.
pub(super) fn operator_and_note<'a>(
    operator: &'a str,
    note: &'a str,
) -> Result<(&'a str, &'a str), ApiError> {
    let operator = operator.trim();
    let note = note.trim();
    if operator.is_empty() || operator.len() > MAX_OPERATOR {
        return Err(ApiError::bad_request(
            "operator_required",
            format!(
                "`operator` must name who decides (1 to {MAX_OPERATOR} bytes); it is recorded with the decision"
            ),
        ));
    }
    if note.is_empty() || note.len() > MAX_NOTE {
        return Err(ApiError::bad_request(
            "note_required",
            format!(
                "`note` must say why (1 to {MAX_NOTE} bytes); it is recorded with the decision"
            ),
        ));
    }
    Ok((operator, note))
}

/// `POST /api/v1/fraud-cases/{id}/resolve` (admin): records an operator's final decision.
pub async fn resolve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let id = parse_id(&id)?;
    let req: Resolve = parse_json(&body)?;
    let (operator, note) = operator_and_note(&req.operator, &req.note)?;
    let (case, newly) = match state
        .store
        .resolve_fraud_case(id, req.resolution, note, operator, now())
        .await
    {
        Err(crate::store::StoreError::NotFound("fraud case")) => return Err(no_such_case()),
        other => other?,
    };
    if newly {
        tracing::info!(
            "fraud case {id} resolved as {} by {operator} (refunded {})",
            req.resolution.as_str(),
            case.refunded
        );
    }
    Ok(Json(serde_json::json!({
        "case": case,
        "already_resolved": !newly,
    })))
}

/// Largest reported proof body (two spends and two certificates are about 2 KB).
const MAX_REPORT: usize = 32 * 1024;

/// `POST /api/v1/fraud-proofs`: a payee reports a fraud proof it kept (a terminal that
/// declined a double spend offline). The proof is verified against the root and opened as
/// a case once (201; 200 when the case was open already), revoking the culprit when it is
/// a device of this FI. Limited per client address like the challenges.
pub async fn report(
    State(state): State<AppState>,
    client: super::ClientAddr,
    body: Bytes,
) -> Result<(StatusCode, Json<ops_api::FraudProofAnswer>), ApiError> {
    state.settings.abuse.challenge(&client)?;
    if body.len() > MAX_REPORT {
        return Err(ApiError::bad_request(
            "proof_too_large",
            "a fraud proof is a few kilobytes: send the proof's own bytes, base64, in `proof`",
        ));
    }
    let req: ops_api::FraudProofReport = parse_json(&body)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(req.proof.trim())
        .map_err(|_| ApiError::bad_request("malformed_proof", "`proof` must be base64"))?;
    let reported = crate::settle::report_fraud_proof(
        &state.store,
        &state.settler,
        &state.trust,
        &bytes,
        now(),
    )
    .await
    .map_err(|e| match e {
        crate::settle::ReportError::Refused(why) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "proof_refused",
            format!("this is not a valid fraud proof ({why}); send the proof the terminal kept, unchanged"),
        ),
        crate::settle::ReportError::Store(e) => e.into(),
    })?;
    Ok((
        if reported.opened {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(ops_api::FraudProofAnswer {
            case_opened: reported.opened,
            culprit: reported.culprit.to_string(),
            note: reported.note.to_string(),
            overlap: reported.overlap,
        }),
    ))
}
