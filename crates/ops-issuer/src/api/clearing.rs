//! Clearing endpoints of the FI (docs/API.md, "Clearing"):
//! - `POST /api/v1/clearing/claims`, signed by the central bank: claims of other FIs'
//!   merchants on this FI's notes. Each is verified and its spends recorded in this FI's
//!   ledger like a deposit (overlaps become fraud cases here, at the issuer), its value
//!   consumed for the forwarding FI's account;
//! - `POST /api/v1/clearing/run` (admin): forward this FI's queued claims now;
//! - `GET /api/v1/clearing` (admin): the claims by status and what is owed to each peer.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use ops_api::clearing::{ClaimAnswer, ClaimAnswers, ClaimBatch, ClaimStatus, MAX_CLAIMS};
use ops_core::{CertId, Payment};

use super::{ApiError, AppState, now, parse_json, require_admin};
use crate::settle::{self, DepositError, Settlement};
use crate::store::DepositStatus;

/// How long after its merchant was credited a claim may still reach the issuer: the
/// deposit deadline of a note is its expiry plus one day (`REFUND_GRACE`), and a claim is
/// verified at the time its merchant was credited.
pub const CLAIM_WINDOW: u64 = 30 * 86_400;

/// Refuses a batch of no claim or of more than [`MAX_CLAIMS`] (the FI and the central
/// bank take the same batches).
pub(crate) fn check_claim_count(batch: &ClaimBatch) -> Result<(), ApiError> {
    if batch.claims.is_empty() || batch.claims.len() > MAX_CLAIMS {
        return Err(ApiError::bad_request(
            "claims_count",
            format!("send 1 to {MAX_CLAIMS} claims per request"),
        ));
    }
    Ok(())
}

/// Whether a claim on a deposit made at `deposited_at` may still be cleared at `now`: not
/// from the future (5 minutes of clock skew allowed) and within [`CLAIM_WINDOW`]; the
/// refusal in words otherwise.
pub(crate) fn check_claim_age(deposited_at: u64, now: u64) -> Result<(), String> {
    if deposited_at > now + 300 || deposited_at.saturating_add(CLAIM_WINDOW) < now {
        return Err(format!(
            "deposited at {deposited_at}: a claim must be cleared within {CLAIM_WINDOW} s of the deposit"
        ));
    }
    Ok(())
}

/// Takes claims forwarded by the central bank.
pub async fn claims(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ClaimAnswers>, ApiError> {
    let root = [state.trust.root.clone()];
    crate::clearing::signing::verify(&headers, &root, ops_api::paths::CLEARING_CLAIMS, &body)
        .map_err(|e| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unsigned_claims",
                format!("{e}; only the central bank forwards claims, signed with its root key"),
            )
        })?;
    let batch: ClaimBatch = parse_json(&body)?;
    check_claim_count(&batch)?;
    let peer = super::parse_hex::<16>("from_fi", &batch.from_fi).map(CertId)?;
    let own = state.trust.fi.id();
    let now = now();
    // Settled at once, so the settlement task commits them together (group commit).
    let mut tasks = tokio::task::JoinSet::new();
    for (i, claim) in batch.claims.into_iter().enumerate() {
        let state = state.clone();
        tasks.spawn(async move { (i, answer(&state, peer, own, &claim, now).await) });
    }
    let mut answers: Vec<Option<ClaimAnswer>> = vec![None; tasks.len()];
    while let Some(done) = tasks.join_next().await {
        let (i, a) = done.map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("a claim's settlement stopped ({e}); the central bank asks again"),
            )
        })?;
        if let Some(slot) = answers.get_mut(i) {
            *slot = Some(a);
        }
    }
    let answers = answers.into_iter().flatten().collect();
    Ok(Json(ClaimAnswers { answers }))
}

/// Settles one claim and says what became of it.
async fn answer(
    state: &AppState,
    peer: CertId,
    own: CertId,
    claim: &ops_api::clearing::Claim,
    now: u64,
) -> ClaimAnswer {
    let mut out = ClaimAnswer {
        payment_hash: String::new(),
        issuer: claim.issuer.clone(),
        status: ClaimStatus::Refused,
        credited: 0,
        fraud_cases: 0,
        reason: String::new(),
    };
    let refuse = |mut out: ClaimAnswer, reason: String| {
        out.reason = reason;
        out
    };
    if claim.issuer != own.to_string() {
        return refuse(out, format!("this FI is {own}, not {}", claim.issuer));
    }
    let Ok(bytes) = super::parse_base64("payment", &claim.payment) else {
        return refuse(out, "the payment is not base64".into());
    };
    let Ok(payment) = Payment::from_bytes(&bytes) else {
        return refuse(out, "the payment does not decode".into());
    };
    out.payment_hash = payment.hash().to_string();
    let Ok(depositor) = super::parse_hex::<16>("depositor", &claim.depositor).map(CertId) else {
        return refuse(out, "the depositor is not a certificate id".into());
    };
    if let Err(reason) = check_claim_age(claim.deposited_at, now) {
        return refuse(out, reason);
    }
    let finals = settle::final_notes_of(&payment, Some(own));
    let kind = Settlement::Clearing { peer, depositor };
    match settle::deposit(
        &state.store,
        &state.settler,
        &state.trust,
        bytes,
        kind,
        claim.deposited_at,
    )
    .await
    {
        Ok(outcome) => {
            out.fraud_cases = outcome.fraud_cases;
            out.status = match outcome.status {
                DepositStatus::Credited => ClaimStatus::Credited,
                DepositStatus::Held => ClaimStatus::Held,
                DepositStatus::Rejected => ClaimStatus::Rejected,
            };
            if out.status == ClaimStatus::Credited {
                match state.store.consumed_for(outcome.account_id, &finals).await {
                    Ok(total) => out.credited = total,
                    Err(e) => {
                        out.status = ClaimStatus::Pending;
                        out.reason = e.to_string();
                    }
                }
            }
            out
        }
        // A storage failure is this FI's problem, not the claim's: ask again.
        Err(DepositError::Store(e)) => {
            out.status = ClaimStatus::Pending;
            refuse(out, e.to_string())
        }
        Err(e) => refuse(out, e.to_string()),
    }
}

/// Forwards the queued claims to the central bank now.
pub async fn run(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<crate::clearing::ForwardReport>, ApiError> {
    require_admin(&state, &headers)?;
    crate::clearing::forward(
        &state.store,
        &state.trust,
        &state.settings.http,
        state.settings.central_bank.as_deref(),
        now(),
    )
    .await
    .map(Json)
    .map_err(|e| match e {
        crate::clearing::ClearingError::Store(s) => s.into(),
        e => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "clearing_failed",
            format!("{e}; the claims stay queued and the next run sends them again"),
        ),
    })
}

/// This FI's clearing state.
pub async fn summary(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ops_api::clearing::ClearingSummary>, ApiError> {
    require_admin(&state, &headers)?;
    Ok(Json(state.store.clearing_summary().await?))
}
