//! Build-time support for the installable apps.
//!
//! After Trunk has written an app's files, [`write_service_worker`] lists exactly those
//! files, hashes them into a build version, and writes `sw.js` from the template in
//! `sw.template.js`. The precache list therefore always equals the build output: there
//! is no hand-kept list to drift. [`check_manifest`] validates the web app manifest the
//! apps ship, so the build fails instead of shipping an app that cannot be installed.

mod manifest;
mod precache;
mod service_worker;

pub use manifest::{ManifestError, ManifestSummary, check_manifest};
pub use precache::{PrecacheError, PrecacheList, list_build_files};
pub use service_worker::{ServiceWorkerConfig, ServiceWorkerError, write_service_worker};

/// File name of the generated service worker inside an app's output folder.
pub const SERVICE_WORKER_FILE: &str = "sw.js";

/// One installable app of the build: where it sits in `dist/` and what its worker leaves alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppSpec {
    /// Short name, used in cache names and messages.
    pub name: &'static str,
    /// Folder inside `dist/` (empty for the app at the top).
    pub dir: &'static str,
    /// URL path the app is served at.
    pub url_path: &'static str,
    /// `display` mode its manifest must declare.
    pub display: &'static str,
    /// Sub-folders holding other apps.
    pub nested_apps: &'static [&'static str],
    /// Scope-relative prefixes left to the network.
    pub network_only: &'static [&'static str],
}

/// The two apps: the wallet at `/` and the POS at `/pos/`.
pub const APPS: [AppSpec; 2] = [
    AppSpec {
        name: "wallet",
        dir: "",
        url_path: "/",
        display: "standalone",
        nested_apps: &["pos"],
        network_only: &["api/"],
    },
    AppSpec {
        name: "pos",
        dir: "pos",
        url_path: "/pos/",
        display: "fullscreen",
        nested_apps: &[],
        network_only: &[],
    },
];

impl AppSpec {
    /// Writes this app's service worker into `dist` and checks its manifest.
    pub fn finish_build(&self, dist: &std::path::Path) -> Result<FinishedApp, FinishError> {
        let build_dir = dist.join(self.dir);
        let manifest = check_manifest(&build_dir.join("manifest.webmanifest"), self.display)?;
        let precache = write_service_worker(&ServiceWorkerConfig {
            app: self.name,
            build_dir: &build_dir,
            nested_apps: self.nested_apps,
            network_only: self.network_only,
        })?;
        Ok(FinishedApp { manifest, precache })
    }
}

/// The outcome of [`AppSpec::finish_build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedApp {
    /// The checked manifest.
    pub manifest: ManifestSummary,
    /// What the worker precaches.
    pub precache: PrecacheList,
}

/// Why an app build could not be finished.
#[derive(Debug, thiserror::Error)]
pub enum FinishError {
    /// The manifest is not fit for an installable app.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The worker could not be written.
    #[error(transparent)]
    ServiceWorker(#[from] ServiceWorkerError),
}

/// Copies a build folder tree from `from` into `to` (created if missing).
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
