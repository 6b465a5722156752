//! Serving the built wallet and POS with offline-first caching headers.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{Redirect, Response};
use axum::routing::get;
use std::path::{Path, PathBuf};
use tower_http::services::ServeDir;

/// The built apps are missing or incomplete.
#[derive(Debug, thiserror::Error)]
pub enum AppsError {
    /// A required file of the build is missing.
    #[error("{0} is missing: build the apps first with `cargo xtask build` (or `cargo xtask run`)")]
    Missing(PathBuf),
}

/// A router serving the wallet from `dist/` at `/` and the POS from `dist/pos/` at `/pos/`.
pub fn apps_router(dist: &Path) -> Result<Router, AppsError> {
    for required in ["index.html", "sw.js", "pos/index.html", "pos/sw.js"] {
        let path = dist.join(required);
        if !path.is_file() {
            return Err(AppsError::Missing(path));
        }
    }
    Ok(Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/pos", get(|| async { Redirect::permanent("/pos/") }))
        .fallback_service(ServeDir::new(dist).append_index_html_on_directories(true))
        .layer(middleware::from_fn(caching_headers)))
}

/// Cache policy: the shell entry points and the workers are revalidated on every load, so
/// a new deployment is seen; files whose names carry a content hash are immutable.
async fn caching_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let file = path.rsplit('/').next().unwrap_or_default();
    let policy = if file.is_empty()
        || file == "index.html"
        || file == "sw.js"
        || file.ends_with(".webmanifest")
    {
        "no-cache"
    } else if is_content_hashed(file) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    if file.ends_with(".webmanifest") {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/manifest+json"),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Trunk names hashed outputs `name-<16 hex>.ext` or `name-<16 hex>_bg.wasm`.
fn is_content_hashed(file: &str) -> bool {
    let stem = file.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        (8..=16).contains(&hash.len()) && hash.chars().all(|c| c.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn dist() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ops-issuer-dist-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pos")).unwrap();
        for (file, text) in [
            ("index.html", "wallet"),
            ("sw.js", "sw"),
            ("pos/index.html", "pos"),
            ("pos/sw.js", "pos sw"),
            ("manifest.webmanifest", "{}"),
            ("ops-wallet-0123456789abcdef_bg.wasm", "wasm"),
        ] {
            std::fs::write(dir.join(file), text).unwrap();
        }
        dir
    }

    async fn get(router: &Router, uri: &str) -> (u16, String, String) {
        let response = router
            .clone()
            .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let cache = response
            .headers()
            .get(header::CACHE_CONTROL)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, cache, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn serves_both_apps_with_their_cache_policies() {
        let router = apps_router(&dist()).unwrap();
        assert_eq!(
            get(&router, "/").await,
            (200, "no-cache".into(), "wallet".into())
        );
        assert_eq!(
            get(&router, "/pos/").await,
            (200, "no-cache".into(), "pos".into())
        );
        assert_eq!(get(&router, "/pos/sw.js").await.1, "no-cache");
        let (status, cache, _) = get(&router, "/ops-wallet-0123456789abcdef_bg.wasm").await;
        assert_eq!(
            (status, cache.as_str()),
            (200, "public, max-age=31536000, immutable")
        );
        assert_eq!(get(&router, "/pos").await.0, 308);
        assert_eq!(get(&router, "/nothing-here").await.0, 404);
    }

    #[test]
    fn refuses_to_start_without_a_build() {
        let empty = std::env::temp_dir().join(format!("ops-issuer-empty-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        assert!(matches!(apps_router(&empty), Err(AppsError::Missing(_))));
    }

    #[test]
    fn recognises_trunk_hashed_names() {
        assert!(is_content_hashed("ops-wallet-0123456789abcdef_bg.wasm"));
        assert!(is_content_hashed("style-0123456789abcdef.css"));
        assert!(!is_content_hashed("manifest.webmanifest"));
        assert!(!is_content_hashed("icon-192.png"));
    }
}
