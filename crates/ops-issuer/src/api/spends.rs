//! `POST /api/v1/spends/status`: whether spends were deposited, for a payer's history. No
//! account: a spend id (the SHA-256 of a spend's body) is known only to those who held the
//! spend; the answer is only when the FI recorded it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;

use super::{ApiError, AppState, parse_json};
use crate::store::HexId as _;
use ops_core::NoteId;

/// The largest body accepted: 64 ids of 64 hex digits with JSON framing, and room to spare.
const MAX_BODY: usize = 8 * 1024;

/// Answers one status per id asked, in the order asked.
pub async fn status(
    State(state): State<AppState>,
    client: super::ClientAddr,
    body: Bytes,
) -> Result<Json<ops_api::SpendStatusAnswer>, ApiError> {
    state.settings.abuse.challenge(&client)?;
    if body.len() > MAX_BODY {
        return Err(ApiError::bad_request(
            "query_too_large",
            format!(
                "ask about at most {} spends at a time",
                ops_api::MAX_SPEND_QUERY
            ),
        ));
    }
    let query: ops_api::SpendStatusQuery = parse_json(&body)?;
    if query.spends.is_empty() || query.spends.len() > ops_api::MAX_SPEND_QUERY {
        return Err(ApiError::bad_request(
            "bad_spend_count",
            format!(
                "`spends` must name 1 to {} spend ids; split a longer list",
                ops_api::MAX_SPEND_QUERY
            ),
        ));
    }
    let mut spend_ids = Vec::with_capacity(query.spends.len());
    for id in &query.spends {
        let Some(spend) = NoteId::parse_hex(id).filter(|_| is_spend_id(id)) else {
            return Err(ApiError::bad_request(
                "malformed_spend_id",
                format!(
                    "`{}` is not a spend id: 64 lowercase hex digits, the SHA-256 of the spend's body",
                    id.chars().take(80).collect::<String>()
                ),
            ));
        };
        spend_ids.push(spend);
    }
    Ok(Json(ops_api::SpendStatusAnswer {
        deposited_at: state.store.spends_deposited(&spend_ids).await?,
    }))
}

/// One encoding per id: exactly 64 lowercase hex digits (the form the FI stores).
fn is_spend_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::is_spend_id;

    #[test]
    fn a_spend_id_has_one_spelling() {
        assert!(is_spend_id(&"ab".repeat(32)));
        assert!(
            !is_spend_id(&"AB".repeat(32)),
            "upper case is another spelling"
        );
        assert!(!is_spend_id(&"ab".repeat(31)));
        assert!(!is_spend_id(&format!("{}zz", "ab".repeat(31))));
        assert!(!is_spend_id(&format!(" {}", "ab".repeat(32))));
    }
}
