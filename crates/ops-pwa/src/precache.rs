//! Listing the files of a build and hashing them into a version.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What went wrong while reading a build folder.
#[derive(Debug, thiserror::Error)]
pub enum PrecacheError {
    /// A file or folder of the build could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path that failed.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A file name is not valid UTF-8 and cannot be put in a URL list.
    #[error("file name {0:?} is not UTF-8; rename it")]
    NonUtf8Name(PathBuf),
    /// The build folder holds no `index.html`, so there is no app shell to cache.
    #[error("{0} has no index.html: build the app first")]
    NoIndex(PathBuf),
}

/// The files of one app build, as URLs relative to the app's scope, with a version hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrecacheList {
    /// Relative URLs, sorted, e.g. `index.html`, `icons/icon-192.png`.
    pub urls: Vec<String>,
    /// Hex SHA-256 over every file's path and contents, first 16 characters.
    pub version: String,
}

/// Lists every file below `root` except the service worker itself and the folders named in
/// `exclude_dirs` (another app nested under this one, such as `pos`).
pub fn list_build_files(root: &Path, exclude_dirs: &[&str]) -> Result<PrecacheList, PrecacheError> {
    let mut files = Vec::new();
    collect(root, root, exclude_dirs, &mut files)?;
    files.sort();
    if !files.iter().any(|(url, _)| url == "index.html") {
        return Err(PrecacheError::NoIndex(root.to_path_buf()));
    }
    let mut hasher = Sha256::new();
    for (url, path) in &files {
        let bytes = std::fs::read(path).map_err(|source| PrecacheError::Read {
            path: path.clone(),
            source,
        })?;
        hasher.update((url.len() as u64).to_be_bytes());
        hasher.update(url.as_bytes());
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(&bytes);
    }
    let digest = hasher.finalize();
    let version = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Ok(PrecacheList {
        urls: files.into_iter().map(|(url, _)| url).collect(),
        version,
    })
}

fn collect(
    root: &Path,
    dir: &Path,
    exclude_dirs: &[&str],
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), PrecacheError> {
    let read_err = |source| PrecacheError::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let path = entry.path();
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_str()
            .ok_or_else(|| PrecacheError::NonUtf8Name(path.clone()))?
            .replace('\\', "/");
        let file_type = entry.file_type().map_err(read_err)?;
        if file_type.is_dir() {
            if dir == root && exclude_dirs.contains(&relative.as_str()) {
                continue;
            }
            collect(root, &path, exclude_dirs, out)?;
        } else if relative != crate::SERVICE_WORKER_FILE {
            out.push((relative, path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ops-pwa-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("icons")).unwrap();
        std::fs::create_dir_all(dir.join("pos")).unwrap();
        std::fs::write(dir.join("index.html"), "<html></html>").unwrap();
        std::fs::write(dir.join("app-1234_bg.wasm"), [0u8, 97, 115, 109]).unwrap();
        std::fs::write(dir.join("icons/icon-192.png"), [1u8, 2, 3]).unwrap();
        std::fs::write(dir.join("sw.js"), "old worker").unwrap();
        std::fs::write(dir.join("pos/index.html"), "<html>pos</html>").unwrap();
        dir
    }

    #[test]
    fn lists_every_file_but_the_worker_and_excluded_apps() {
        let dir = build_dir("list");
        let list = list_build_files(&dir, &["pos"]).unwrap();
        assert_eq!(
            list.urls,
            ["app-1234_bg.wasm", "icons/icon-192.png", "index.html"]
        );
        assert_eq!(list.version.len(), 16);
    }

    #[test]
    fn version_changes_with_any_file_content() {
        let dir = build_dir("version");
        let before = list_build_files(&dir, &["pos"]).unwrap().version;
        std::fs::write(dir.join("icons/icon-192.png"), [1u8, 2, 4]).unwrap();
        let after = list_build_files(&dir, &["pos"]).unwrap().version;
        assert_ne!(before, after);
        // The excluded app and the worker itself do not change this app's version.
        std::fs::write(dir.join("pos/index.html"), "changed").unwrap();
        std::fs::write(dir.join("sw.js"), "changed").unwrap();
        assert_eq!(after, list_build_files(&dir, &["pos"]).unwrap().version);
    }

    #[test]
    fn a_folder_without_index_is_refused() {
        let dir = build_dir("noindex");
        std::fs::remove_file(dir.join("index.html")).unwrap();
        assert!(matches!(
            list_build_files(&dir, &["pos"]),
            Err(PrecacheError::NoIndex(_))
        ));
    }
}
