//! `POST /api/v1/deposits`: a payee uploads a payment it received offline.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use ops_core::CertId;
use serde::Deserialize;

use super::{ApiError, AppState, now, parse_base64, parse_hex, parse_json};
use crate::settle::{self, DepositError, Settlement};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Deposit {
    /// The payment's canonical bytes, standard base64.
    payment: String,
    /// The depositor's (the final payee's) certificate id, hex.
    depositor: String,
}

/// Verifies and settles the payment; the same payment again returns the first outcome.
pub async fn deposit(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let req: Deposit = parse_json(&body)?;
    let bytes = parse_base64("payment", &req.payment)?;
    let depositor = CertId(parse_hex::<16>("depositor", &req.depositor)?);
    state.settings.device_limit.check(&depositor.to_string())?;
    settle(&state, bytes, Settlement::Deposit(depositor)).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defund {
    /// A payment of the wallet's unspent ranges to this FI, standard base64.
    payment: String,
}

/// `POST /api/v1/defund`: a wallet returns the unspent ranges of its notes as a payment to
/// this FI (final payee: the FI's certificate id); the signing device's account is
/// credited, once.
pub async fn defund(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let req: Defund = parse_json(&body)?;
    let bytes = parse_base64("payment", &req.payment)?;
    settle(&state, bytes, Settlement::Defund).await
}

async fn settle(
    state: &AppState,
    bytes: Vec<u8>,
    kind: Settlement,
) -> Result<Json<serde_json::Value>, ApiError> {
    let outcome = settle::deposit(
        &state.store,
        &state.settler,
        &state.trust,
        bytes,
        kind,
        now(),
    )
    .await
    .map_err(|e| match e {
        DepositError::Decode(m) => ApiError::bad_request(
            "malformed_payment",
            format!(
                "the payment does not decode ({m}); send the canonical bytes the wallet produced"
            ),
        ),
        DepositError::UnknownDepositor(id) => ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_depositor",
            format!("{id} is not a device registered here; register the payee device first"),
        ),
        DepositError::Verify(v) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "payment_invalid",
            format!("the payment does not verify: {v}; it cannot be credited"),
        ),
        e @ DepositError::DoubleSpendInPayment { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "double_spend_in_payment",
            format!("{e}; nothing is credited: a payee must refuse such a payment"),
        ),
        e @ DepositError::Revoked(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "revoked_signer",
            format!(
                "{e}; it cannot be credited: sync the POS so it holds a current CRL before accepting offline payments"
            ),
        ),
        DepositError::Unprovable(m) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unattributable_double_spend",
            format!("{m}; the payment overlaps a recorded spend and cannot be credited"),
        ),
        DepositError::Store(s) => s.into(),
    })?;
    Ok(Json(serde_json::json!(outcome)))
}
