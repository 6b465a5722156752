//! The error body every refused request carries.

use serde::{Deserialize, Serialize};

/// `{"error": {"code": "…", "message": "…"}}`: a stable code to branch on and a message
/// that says what went wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// An error's code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable machine-readable code (`docs/API.md`, "Errors").
    pub code: String,
    /// What went wrong and what to do, for a person.
    pub message: String,
}

impl ErrorBody {
    /// An error body.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_body_has_the_documented_shape() {
        let e = ErrorBody::new("malformed_json", "send JSON");
        let v = serde_json::to_value(&e).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({"error": {"code": "malformed_json", "message": "send JSON"}})
        );
        let back: Result<ErrorBody, _> = serde_json::from_value(v);
        assert_eq!(back.ok(), Some(e));
    }
}
