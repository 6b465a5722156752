//! Checking a web app manifest against what an installable offline app needs.

use serde_json::Value;
use std::path::{Path, PathBuf};

/// Why a manifest does not make the app installable.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The manifest file could not be read.
    #[error("cannot read the manifest {path}: {source}")]
    Read {
        /// The manifest path.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The manifest is not JSON.
    #[error("the manifest is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A required text member is missing or empty.
    #[error("the manifest needs a non-empty \"{0}\"")]
    Missing(&'static str),
    /// `display` is not the mode this app must use.
    #[error("the manifest's display is {found:?}; this app must use {expected:?}")]
    Display {
        /// The mode found.
        found: String,
        /// The mode required.
        expected: String,
    },
    /// A colour member is not a `#rrggbb` colour.
    #[error("the manifest's \"{0}\" must be a #rrggbb colour")]
    Colour(&'static str),
    /// No icon of a required size and purpose.
    #[error("the manifest has no {purpose} PNG icon of {size}x{size}")]
    Icon {
        /// The pixel size required.
        size: u32,
        /// `any` or `maskable`.
        purpose: &'static str,
    },
    /// An icon named in the manifest is not in the build.
    #[error("the manifest names icon {0}, which is not in the build")]
    IconFileMissing(String),
}

/// The checked fields of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestSummary {
    /// `name`.
    pub name: String,
    /// `display` mode.
    pub display: String,
    /// `theme_color`.
    pub theme_color: String,
    /// Icon sources, relative to the manifest.
    pub icons: Vec<String>,
}

/// Checks the manifest at `path` (inside a build folder) for an app that must use
/// `expected_display`. Icons are looked up relative to the manifest's folder.
pub fn check_manifest(
    path: &Path,
    expected_display: &str,
) -> Result<ManifestSummary, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let manifest: Value = serde_json::from_str(&text)?;
    let text_field = |key: &'static str| -> Result<String, ManifestError> {
        match manifest.get(key).and_then(Value::as_str) {
            Some(value) if !value.trim().is_empty() => Ok(value.to_owned()),
            _ => Err(ManifestError::Missing(key)),
        }
    };
    let name = text_field("name")?;
    text_field("short_name")?;
    text_field("start_url")?;
    text_field("scope")?;
    text_field("id")?;
    let display = text_field("display")?;
    if display != expected_display {
        return Err(ManifestError::Display {
            found: display,
            expected: expected_display.to_owned(),
        });
    }
    let theme_color = text_field("theme_color")?;
    for key in ["theme_color", "background_color"] {
        if !is_hex_colour(&text_field(key)?) {
            return Err(ManifestError::Colour(key));
        }
    }
    let icons = manifest
        .get("icons")
        .and_then(Value::as_array)
        .ok_or(ManifestError::Missing("icons"))?;
    for size in [192, 512] {
        for purpose in ["any", "maskable"] {
            if !icons.iter().any(|icon| icon_matches(icon, size, purpose)) {
                return Err(ManifestError::Icon { size, purpose });
            }
        }
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut sources = Vec::new();
    for icon in icons {
        let src = icon
            .get("src")
            .and_then(Value::as_str)
            .ok_or(ManifestError::Missing("icons[].src"))?;
        if !base.join(src).is_file() {
            return Err(ManifestError::IconFileMissing(src.to_owned()));
        }
        sources.push(src.to_owned());
    }
    Ok(ManifestSummary {
        name,
        display,
        theme_color,
        icons: sources,
    })
}

fn is_hex_colour(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].chars().all(|c| c.is_ascii_hexdigit())
}

fn icon_matches(icon: &Value, size: u32, purpose: &str) -> bool {
    let wanted = format!("{size}x{size}");
    let sizes_ok = icon
        .get("sizes")
        .and_then(Value::as_str)
        .is_some_and(|sizes| sizes.split_whitespace().any(|s| s == wanted));
    let type_ok = icon.get("type").and_then(Value::as_str) == Some("image/png");
    let purposes = icon.get("purpose").and_then(Value::as_str).unwrap_or("any");
    sizes_ok && type_ok && purposes.split_whitespace().any(|p| p == purpose)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, manifest: &Value) -> PathBuf {
        std::fs::create_dir_all(dir.join("icons")).unwrap();
        for size in [192, 512] {
            std::fs::write(dir.join(format!("icons/icon-{size}.png")), "png").unwrap();
            std::fs::write(dir.join(format!("icons/maskable-{size}.png")), "png").unwrap();
        }
        let path = dir.join("manifest.webmanifest");
        std::fs::write(&path, manifest.to_string()).unwrap();
        path
    }

    fn good() -> Value {
        let mut icons = Vec::new();
        for size in [192, 512] {
            icons.push(serde_json::json!({"src": format!("icons/icon-{size}.png"), "sizes": format!("{size}x{size}"), "type": "image/png", "purpose": "any"}));
            icons.push(serde_json::json!({"src": format!("icons/maskable-{size}.png"), "sizes": format!("{size}x{size}"), "type": "image/png", "purpose": "maskable"}));
        }
        serde_json::json!({
            "id": "/", "name": "OPS Wallet", "short_name": "Wallet", "start_url": "/", "scope": "/",
            "display": "standalone", "theme_color": "#0b3d91", "background_color": "#ffffff",
            "icons": icons,
        })
    }

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ops-manifest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn accepts_a_complete_manifest() {
        let path = write(&dir("good"), &good());
        let summary = check_manifest(&path, "standalone").unwrap();
        assert_eq!(summary.name, "OPS Wallet");
        assert_eq!(summary.icons.len(), 4);
    }

    #[test]
    fn refuses_the_wrong_display_mode() {
        let path = write(&dir("display"), &good());
        assert!(matches!(
            check_manifest(&path, "fullscreen"),
            Err(ManifestError::Display { .. })
        ));
    }

    #[test]
    fn refuses_a_manifest_without_maskable_icons() {
        let mut manifest = good();
        manifest["icons"] = Value::Array(
            manifest["icons"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|icon| icon["purpose"] != "maskable")
                .cloned()
                .collect(),
        );
        let path = write(&dir("maskable"), &manifest);
        assert!(matches!(
            check_manifest(&path, "standalone"),
            Err(ManifestError::Icon {
                purpose: "maskable",
                ..
            })
        ));
    }

    #[test]
    fn refuses_bad_colours_and_missing_names_and_files() {
        let mut manifest = good();
        manifest["theme_color"] = Value::from("blue");
        let path = write(&dir("colour"), &manifest);
        assert!(matches!(
            check_manifest(&path, "standalone"),
            Err(ManifestError::Colour(_))
        ));

        let mut manifest = good();
        manifest["short_name"] = Value::from(" ");
        let path = write(&dir("name"), &manifest);
        assert!(matches!(
            check_manifest(&path, "standalone"),
            Err(ManifestError::Missing("short_name"))
        ));

        let d = dir("file");
        let path = write(&d, &good());
        std::fs::remove_file(d.join("icons/maskable-512.png")).unwrap();
        assert!(matches!(
            check_manifest(&path, "standalone"),
            Err(ManifestError::IconFileMissing(_))
        ));
    }
}
