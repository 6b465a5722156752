//! `POST /api/v1/refunds/run` (admin): refunds the notes of lost, stolen or replaced
//! devices whose deposit deadline has passed (`store::refunds`). The service also runs it
//! by itself every hour; this endpoint runs it now and lists what it refunded.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;

use super::{ApiError, AppState, now, require_admin};
use crate::store::REFUND_GRACE;

/// Runs the refunds at the current time.
pub async fn run(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let refunds = state.store.refund_lost_devices(now(), REFUND_GRACE).await?;
    let total: i64 = refunds.iter().map(|r| r.amount).sum();
    Ok(Json(serde_json::json!({
        "refunds": refunds,
        "total": total,
        "grace_seconds": REFUND_GRACE,
    })))
}
