//! `GET /api/v1/banks`: the banks a user can choose — this FI first, then the other member
//! FIs the central bank listed at the last clearing run, by name. A bank is listed only if
//! this FI holds its certificate (chained to the root at start-up): its name comes from
//! that certificate, and only an `http(s)` address is passed on.
//!
//! JSON for API clients; for a browser (`Accept: text/html`) a page with each bank's
//! wallet and POS links, which the apps' set-up screens link to ("Choose your bank"). The
//! page is served by the FI, not built into the apps: a list in the apps' bundle cost 5 to
//! 7 KB gzipped (docs/DECISIONS.md), and choosing a bank needs the network anyway.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use ops_api::{Bank, Banks};
use ops_core::Certificate;

use super::{ApiError, AppState};

/// The name a bank is shown by: its certified name, else its id.
fn shown_name(cert: &Certificate) -> String {
    cert.body
        .name
        .clone()
        .unwrap_or_else(|| format!("FI {}", cert.id()))
}

/// Whether `url` may be offered as a link: an absolute `http`/`https` address.
pub(crate) fn is_web_address(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && r.len() <= 200 && !r.contains(char::is_whitespace))
}

/// The banks a user can choose: JSON, or the page for a browser.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let banks = banks(&state).await?;
    let wants_page = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let mut response = if wants_page {
        let mut page = Html(page(&banks)).into_response();
        // Nothing on the page runs or loads: names are escaped, and the policy says so too.
        page.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
        );
        page
    } else {
        Json(banks).into_response()
    };
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    Ok(response)
}

/// Text made safe for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page a user chooses their bank on: each bank with links to its wallet and its POS.
fn page(banks: &Banks) -> String {
    let mut items = String::new();
    for (i, bank) in banks.banks.iter().enumerate() {
        let name = escape(&bank.name);
        let base = escape(&bank.url);
        let this = if i == 0 { " (this app's bank)" } else { "" };
        items.push_str(&format!(
            "<li data-testid=\"bank\"><strong>{name}</strong>{this}: \
             <a href=\"{base}/\" data-testid=\"wallet-link\">{name} wallet</a> · \
             <a href=\"{base}/pos/\" data-testid=\"pos-link\">{name} POS</a></li>"
        ));
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Choose your bank</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:0 auto;max-width:40rem;padding:1rem;line-height:1.5}}\
         li{{margin:.75rem 0}}a{{color:#0b57d0}}</style></head>\
         <body><main><h1>Choose your bank</h1>\
         <p>A wallet or a terminal is set up with one bank, in that bank's own app. \
         Open your bank's app to set up, or to pay and be paid as its customer.</p>\
         <ul data-testid=\"banks\">{items}</ul></main></body></html>"
    )
}

/// This FI first, then the other listed banks by name.
async fn banks(state: &AppState) -> Result<Banks, ApiError> {
    let own = state.trust.fi.id();
    let mut others: Vec<Bank> = state
        .store
        .bank_directory()
        .await?
        .into_iter()
        .filter(|listed| listed.fi_id != own && is_web_address(&listed.url))
        .filter_map(|listed| {
            let cert = state
                .trust
                .peer_fis
                .iter()
                .find(|c| c.id() == listed.fi_id)?;
            Some(Bank {
                id: listed.fi_id.to_string(),
                name: shown_name(cert),
                url: listed.url,
            })
        })
        .collect();
    others.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    let mut banks = vec![Bank {
        id: own.to_string(),
        name: shown_name(&state.trust.fi),
        url: String::new(),
    }];
    banks.extend(others);
    Ok(Banks { banks })
}

#[cfg(test)]
mod tests {
    use super::{Bank, Banks, escape, is_web_address, page};

    #[test]
    fn the_page_escapes_names_and_addresses() {
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
        let html = page(&Banks {
            banks: vec![
                Bank {
                    id: "aa".into(),
                    name: "Bank <A>".into(),
                    url: String::new(),
                },
                Bank {
                    id: "bb".into(),
                    name: "B\"><script>".into(),
                    url: "http://localhost:8081".into(),
                },
            ],
        });
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("<a href=\"/\" data-testid=\"wallet-link\">Bank &lt;A&gt; wallet</a>")
        );
        assert!(html.contains("href=\"http://localhost:8081/pos/\""));
        assert!(html.contains("(this app's bank)"));
    }

    #[test]
    fn only_web_addresses_are_offered() {
        assert!(is_web_address("http://127.0.0.1:8081"));
        assert!(is_web_address("https://bank-b.example"));
        for bad in [
            "javascript:alert(1)",
            "http://",
            "data:text/html,x",
            "//evil",
            "http://a b",
            "ftp://x",
        ] {
            assert!(!is_web_address(bad), "{bad}");
        }
    }
}
