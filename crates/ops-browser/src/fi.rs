//! The apps' HTTP client to their FI (the origin that served the app), speaking the
//! `ops-api` contract: the wallet and the POS terminal share it.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Why a call to the bank failed, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FiError {
    /// No answer: offline, or the bank is down.
    #[error("the bank cannot be reached ({0}); check the connection and try again")]
    Unreachable(String),
    /// The bank refused, with its own words.
    #[error("the bank refused: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Its error code.
        code: String,
        /// Its message (what to do).
        message: String,
    },
    /// An answer this app does not understand.
    #[error("the bank's answer is not understood ({0}); update the app and try again")]
    Answer(String),
}

fn js_text(v: &wasm_bindgen::JsValue) -> String {
    v.as_string()
        .or_else(|| {
            v.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| "no detail".into())
}

/// Sends `method path` with an optional JSON `body`, bearer token and idempotency key;
/// returns the status and the body text.
pub async fn send(
    method: &str,
    path: &str,
    body: Option<&str>,
    bearer: Option<&str>,
    idempotency_key: Option<&str>,
) -> Result<(u16, String), FiError> {
    let window = web_sys::window().ok_or_else(|| FiError::Unreachable("no window".into()))?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    // Always ask the bank (a revocation list younger than its max-age would otherwise come
    // from the browser's cache and miss a revocation made a moment ago); an unchanged
    // answer still costs only a 304.
    init.set_cache(web_sys::RequestCache::NoCache);
    let headers = web_sys::Headers::new().map_err(|e| FiError::Unreachable(js_text(&e)))?;
    let set = |k: &str, v: &str| {
        headers
            .set(k, v)
            .map_err(|e| FiError::Unreachable(js_text(&e)))
    };
    if let Some(b) = body {
        set("content-type", "application/json")?;
        init.set_body(&wasm_bindgen::JsValue::from_str(b));
    }
    if let Some(t) = bearer {
        set("authorization", &format!("Bearer {t}"))?;
    }
    if let Some(k) = idempotency_key {
        set(ops_api::IDEMPOTENCY_KEY_HEADER, k)?;
    }
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init(path, &init)
        .map_err(|e| FiError::Unreachable(js_text(&e)))?;
    let response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|e| FiError::Unreachable(js_text(&e)))?;
    let response: web_sys::Response = response
        .dyn_into()
        .map_err(|_| FiError::Answer("not a response".into()))?;
    let text = JsFuture::from(
        response
            .text()
            .map_err(|e| FiError::Unreachable(js_text(&e)))?,
    )
    .await
    .map_err(|e| FiError::Unreachable(js_text(&e)))?;
    Ok((response.status(), text.as_string().unwrap_or_default()))
}

/// The bank's refusal in `body` (its `ops-api` error body), or a generic one.
pub fn refusal(status: u16, body: &str) -> FiError {
    match serde_json::from_str::<ops_api::ErrorBody>(body) {
        Ok(e) => FiError::Refused {
            status,
            code: e.error.code,
            message: e.error.message,
        },
        Err(_) => FiError::Refused {
            status,
            code: "unknown".into(),
            message: format!("the bank answered {status}; try again later"),
        },
    }
}

/// `GET path`, decoding a 2xx answer as `T`; anything else is the bank's refusal.
pub async fn get<T: DeserializeOwned>(path: &str, bearer: Option<&str>) -> Result<T, FiError> {
    decode(send("GET", path, None, bearer, None).await?)
}

/// `POST path` with `body` as JSON, decoding a 2xx answer as `T`; anything else is the
/// bank's refusal.
pub async fn post<T: DeserializeOwned, B: Serialize>(
    path: &str,
    body: &B,
    bearer: Option<&str>,
) -> Result<T, FiError> {
    let text = serde_json::to_string(body)
        .map_err(|e| FiError::Answer(format!("the request could not be written: {e}")))?;
    decode(send("POST", path, Some(&text), bearer, None).await?)
}

fn decode<T: DeserializeOwned>((status, answer): (u16, String)) -> Result<T, FiError> {
    if !(200..300).contains(&status) {
        return Err(refusal(status, &answer));
    }
    serde_json::from_str(&answer).map_err(|e| FiError::Answer(e.to_string()))
}
