//! The FI's HTTP answers as the sagas read them: success, a definitive refusal, or a
//! reason to retry the same request later.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// How a saga treats an HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 2xx, with the body.
    Ok(String),
    /// A refusal that the same request would meet again (4xx other than 408 and 429).
    Refused(String),
    /// Try the same request again later (5xx, 408, 429).
    Retry(String),
}

/// Classifies an answer; refusals carry the FI's own message (`/api/v1` error body).
pub fn classify(status: u16, body: &str) -> Answer {
    let message = || match serde_json::from_str::<ops_api::ErrorBody>(body) {
        Ok(e) => format!("{} ({})", e.error.message, e.error.code),
        Err(_) => format!("the bank answered {status}"),
    };
    match status {
        200..=299 => Answer::Ok(body.to_string()),
        408 | 429 => Answer::Retry(message()),
        400..=499 => Answer::Refused(message()),
        _ => Answer::Retry(message()),
    }
}

/// Standard base64 of canonical bytes, as the API carries protocol messages.
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard base64.
pub fn unb64(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify(201, "{}"), Answer::Ok("{}".into()));
        assert_eq!(
            classify(
                409,
                r#"{"error":{"code":"insufficient_funds","message":"not enough"}}"#
            ),
            Answer::Refused("not enough (insufficient_funds)".into())
        );
        assert!(matches!(classify(503, ""), Answer::Retry(_)));
        assert!(matches!(classify(429, ""), Answer::Retry(_)));
        assert_eq!(unb64(&b64(&[1, 2, 3])), Some(vec![1, 2, 3]));
    }
}
