//! Whether spends reached the FI (`POST /api/v1/spends/status`): a payer asks whether the
//! payments it handed over offline were deposited, so its history can say so. A spend id is
//! the SHA-256 of a spend's body, known only to those who held the spend (its payer and its
//! payees): asking needs no account, and the answer says no more than when the FI recorded
//! it.

use serde::{Deserialize, Serialize};

/// Most spend ids one query may name.
pub const MAX_SPEND_QUERY: usize = 64;

/// The body of `POST /api/v1/spends/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendStatusQuery {
    /// Spend ids: 64 lowercase hex digits each, 1 to [`MAX_SPEND_QUERY`].
    pub spends: Vec<String>,
}

/// The answer, in the order asked: for each spend id, when a deposit recorded it (Unix
/// seconds), or `None` if none has (yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendStatusAnswer {
    /// One entry per id asked.
    pub deposited_at: Vec<Option<u64>>,
}
