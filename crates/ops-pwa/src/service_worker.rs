//! Writing `sw.js` for one app build.

use crate::precache::{PrecacheError, PrecacheList, list_build_files};
use std::path::{Path, PathBuf};

const TEMPLATE: &str = include_str!("sw.template.js");

/// What to generate a service worker for.
#[derive(Debug, Clone)]
pub struct ServiceWorkerConfig<'a> {
    /// Short app name used in cache names, e.g. `wallet` or `pos`.
    pub app: &'a str,
    /// The app's build output folder; `sw.js` is written into it.
    pub build_dir: &'a Path,
    /// Sub-folders that hold other apps (not precached, not served by this worker).
    pub nested_apps: &'a [&'a str],
    /// Further scope-relative path prefixes this worker must leave to the network (e.g. `api/`).
    pub network_only: &'a [&'a str],
}

/// What went wrong while writing the service worker.
#[derive(Debug, thiserror::Error)]
pub enum ServiceWorkerError {
    /// The build folder could not be listed.
    #[error(transparent)]
    Precache(#[from] PrecacheError),
    /// A value could not be encoded as JSON for the template.
    #[error("cannot encode the precache list: {0}")]
    Json(#[from] serde_json::Error),
    /// `sw.js` could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The path that failed.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
}

/// Lists the build, fills the template and writes `sw.js`. Returns the precache list.
pub fn write_service_worker(
    config: &ServiceWorkerConfig<'_>,
) -> Result<PrecacheList, ServiceWorkerError> {
    let list = list_build_files(config.build_dir, config.nested_apps)?;
    let exclude: Vec<String> = config
        .nested_apps
        .iter()
        .map(|dir| format!("{dir}/"))
        .chain(config.network_only.iter().map(|path| (*path).to_owned()))
        .collect();
    let source = TEMPLATE
        .replace("__APP__", config.app)
        .replace("__APP_JSON__", &serde_json::to_string(config.app)?)
        .replace("__VERSION_JSON__", &serde_json::to_string(&list.version)?)
        .replace("__PRECACHE_JSON__", &serde_json::to_string(&list.urls)?)
        .replace("__EXCLUDE_JSON__", &serde_json::to_string(&exclude)?);
    let path = config.build_dir.join(crate::SERVICE_WORKER_FILE);
    std::fs::write(&path, source).map_err(|source| ServiceWorkerError::Write { path, source })?;
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_carries_the_exact_file_list_and_version() {
        let dir = std::env::temp_dir().join(format!("ops-pwa-sw-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pos")).unwrap();
        std::fs::write(dir.join("index.html"), "<html></html>").unwrap();
        std::fs::write(dir.join("app-9f_bg.wasm"), "wasm").unwrap();
        std::fs::write(dir.join("pos/index.html"), "pos").unwrap();
        let list = write_service_worker(&ServiceWorkerConfig {
            app: "wallet",
            build_dir: &dir,
            nested_apps: &["pos"],
            network_only: &["api/"],
        })
        .unwrap();
        let sw = std::fs::read_to_string(dir.join("sw.js")).unwrap();
        assert!(sw.contains(r#"const PRECACHE = ["app-9f_bg.wasm","index.html"];"#));
        assert!(sw.contains(&format!(r#"const VERSION = "{}";"#, list.version)));
        assert!(sw.contains(r#"const EXCLUDE = ["pos/","api/"];"#));
        assert!(!sw.contains("__"), "every placeholder is filled");
        // Writing the worker does not change the version it announces.
        let again = write_service_worker(&ServiceWorkerConfig {
            app: "wallet",
            build_dir: &dir,
            nested_apps: &["pos"],
            network_only: &["api/"],
        })
        .unwrap();
        assert_eq!(list, again);
    }
}
