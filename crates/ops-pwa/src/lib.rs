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
