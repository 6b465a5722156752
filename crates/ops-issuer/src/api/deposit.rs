//! `POST /api/v1/deposits`: a payee uploads a payment it received offline.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use ops_core::CertId;

use super::{ApiError, AppState, ClientAddr, now, parse_base64, parse_hex, parse_json};
use crate::settle::{self, DepositError, Settlement};
use crate::store::DepositStatus;

/// Admits a deposit for `depositor`: the request must be allowed to act on the depositor
/// device's account (its account token, a passkey session of one of its devices, or the
/// admin token). Depositing consumes the final notes in the FI's ledger, which only their
/// owner may do: a later spend of a deposited note is the owner's double spend. Only then
/// is the device's rate-limit bucket charged, so nobody can exhaust someone else's.
async fn admit_depositor(
    state: &AppState,
    client: &ClientAddr,
    headers: &HeaderMap,
    depositor: &CertId,
) -> Result<(), ApiError> {
    let id = depositor.to_string();
    let authenticate = async {
        let account = state
            .settler
            .account_of(&state.store, depositor)
            .await
            .map_err(deposit_error)?;
        super::auth::authorize_account(state, headers, account, "depositing for a device").await
    };
    // Failures are counted per client address; the device's bucket only after success.
    state
        .settings
        .abuse
        .authenticated(client, authenticate)
        .await?;
    state.settings.device_limit.check(&id)
}

/// Verifies and settles the payment. Idempotent by note: the same payment again, in any
/// bytes, credits nothing more (`credited: 0`).
pub async fn deposit(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ops_api::DepositOutcome>), ApiError> {
    let req: ops_api::DepositRequest = parse_json(&body)?;
    let bytes = parse_base64("payment", &req.payment)?;
    let depositor = CertId(parse_hex::<16>("depositor", &req.depositor)?);
    admit_depositor(&state, &client, &headers, &depositor).await?;
    settle(&state, bytes, Settlement::Deposit(depositor)).await
}

/// Most payments in one batch upload (the 256 KiB body limit also bounds it: about 280
/// single-hop or 125 three-hop payments).
pub const MAX_BATCH_PAYMENTS: usize = 256;

/// `POST /api/v1/deposits/batch`: a payee syncing many payments at once. Each payment is
/// settled exactly as by [`deposit`] (they share the group commit); the answer lists, in
/// order, each payment's outcome or its error, so one refused payment never hides the
/// others. The request itself is refused only when it is malformed.
pub async fn deposit_batch(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ops_api::DepositBatchResponse>, ApiError> {
    let req: ops_api::DepositBatchRequest = parse_json(&body)?;
    if req.payments.is_empty() {
        return Err(ApiError::bad_request(
            "no_payments",
            "the batch holds no payments; send at least one in `payments`",
        ));
    }
    if req.payments.len() > MAX_BATCH_PAYMENTS {
        return Err(ApiError::bad_request(
            "too_many_payments",
            format!(
                "{} payments in one upload; send at most {MAX_BATCH_PAYMENTS} per request",
                req.payments.len()
            ),
        ));
    }
    let depositor = CertId(parse_hex::<16>("depositor", &req.depositor)?);
    admit_depositor(&state, &client, &headers, &depositor).await?;
    let count = req.payments.len();
    let mut tasks = tokio::task::JoinSet::new();
    for (index, text) in req.payments.into_iter().enumerate() {
        let state = state.clone();
        tasks.spawn(async move {
            let outcome = match parse_base64("payment", &text) {
                Ok(bytes) => settle::deposit(
                    &state.store,
                    &state.settler,
                    &state.trust,
                    bytes,
                    Settlement::Deposit(depositor),
                    now(),
                )
                .await
                .map_err(deposit_error),
                Err(e) => Err(e),
            };
            (index, outcome)
        });
    }
    let mut results: Vec<Option<ops_api::BatchItem>> = vec![None; count];
    let (mut settled, mut refused) = (0usize, 0usize);
    while let Some(joined) = tasks.join_next().await {
        let (index, outcome) = joined.map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("a settlement task failed ({e}); upload the batch again: settled payments are not credited twice"),
            )
        })?;
        let item = match outcome {
            Ok(o) => {
                settled += 1;
                ops_api::BatchItem::Ok { ok: o }
            }
            Err(e) => {
                refused += 1;
                if e.status.is_server_error() {
                    tracing::error!("batch deposit {index}: {}: {}", e.code, e.message);
                }
                ops_api::BatchItem::Refused {
                    status: e.status.as_u16(),
                    error: ops_api::ErrorDetail {
                        code: e.code.to_owned(),
                        message: e.message,
                    },
                }
            }
        };
        if let Some(slot) = results.get_mut(index) {
            *slot = Some(item);
        }
    }
    let results = results.into_iter().collect::<Option<Vec<_>>>().ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "a payment of the batch got no answer; upload the batch again: settled payments are not credited twice",
        )
    })?;
    Ok(Json(ops_api::DepositBatchResponse {
        settled,
        refused,
        results,
    }))
}

/// `POST /api/v1/defund`: a wallet returns the unspent ranges of its notes as a payment to
/// this FI (final payee: the FI's certificate id); the signing device's account is
/// credited, once.
pub async fn defund(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<ops_api::DepositOutcome>), ApiError> {
    let req: ops_api::DefundRequest = parse_json(&body)?;
    let bytes = parse_base64("payment", &req.payment)?;
    settle(&state, bytes, Settlement::Defund).await
}

/// Settles and answers: 200 with the outcome when credited (now or before), 202 when the
/// deposit is held for review.
async fn settle(
    state: &AppState,
    bytes: Vec<u8>,
    kind: Settlement,
) -> Result<(StatusCode, Json<ops_api::DepositOutcome>), ApiError> {
    let outcome = settle::deposit(
        &state.store,
        &state.settler,
        &state.trust,
        bytes,
        kind,
        now(),
    )
    .await
    .map_err(deposit_error)?;
    let status = match outcome.status {
        DepositStatus::Credited => StatusCode::OK,
        DepositStatus::Held => StatusCode::ACCEPTED,
        DepositStatus::Rejected => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "deposit_rejected",
                format!(
                    "this payment was held for review (hold {}) and an operator rejected it: it relies on value its payer had already spent; nothing is credited",
                    outcome.held_id.unwrap_or_default()
                ),
            ));
        }
    };
    Ok((status, Json(outcome)))
}

/// The API answer for a refused deposit: what went wrong and what to do.
pub(super) fn deposit_error(e: DepositError) -> ApiError {
    match e {
        e @ DepositError::AlreadyDecided { .. } => ApiError::new(
            StatusCode::CONFLICT,
            "already_decided",
            format!(
                "{e}; a decision on a held deposit is final: read it with GET /api/v1/held-deposits"
            ),
        ),
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
        e @ DepositError::RevokedByHolder { .. } => ApiError::new(
            StatusCode::FORBIDDEN,
            "device_revoked",
            format!(
                "{e}; it can no longer deposit or defund: use another device of the account (GET /api/v1/accounts/{{id}}/devices lists them)"
            ),
        ),
        e @ DepositError::Blocked(_) => ApiError::new(
            StatusCode::FORBIDDEN,
            "blocked_counterparty",
            format!(
                "{e}; it cannot be credited: sync the device so it holds the current block list (GET /api/v1/trust) and refuses such payments"
            ),
        ),
        e @ DepositError::Clearing(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "clearing_refused",
            format!("{e}; a claim goes to the FI that issued the notes"),
        ),
        DepositError::Store(s) => s.into(),
    }
}
