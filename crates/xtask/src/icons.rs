//! Rendering the app icons (PNG) from their SVG sources with headless Chromium.
//!
//! The PNGs are committed; run `cargo xtask icons` after editing an `icons/*.svg`.

use crate::process::{XtaskError, run};
use crate::tools::Toolchain;
use std::path::Path;
use std::process::Command;

/// Sizes the manifests declare.
const SIZES: [u32; 2] = [192, 512];

/// Renders `icon.svg` and `maskable.svg` of both apps to PNG at every size.
pub fn render(root: &Path, toolchain: &Toolchain) -> Result<(), XtaskError> {
    let scratch = std::env::temp_dir().join(format!("ops-icons-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|source| XtaskError::Io {
        what: "create a scratch folder".into(),
        source,
    })?;
    for app in ["web", "pos"] {
        for kind in ["icon", "maskable"] {
            let svg_path = root.join(app).join("icons").join(format!("{kind}.svg"));
            let svg = std::fs::read_to_string(&svg_path).map_err(|source| XtaskError::Io {
                what: format!("read {}", svg_path.display()),
                source,
            })?;
            for size in SIZES {
                let page = scratch.join(format!("{app}-{kind}-{size}.html"));
                let html = format!(
                    "<!doctype html><html><body style=\"margin:0;background:transparent\"><div style=\"width:{size}px;height:{size}px\">{}</div></body></html>",
                    svg.replacen(
                        "<svg ",
                        &format!("<svg width=\"{size}\" height=\"{size}\" "),
                        1
                    )
                );
                std::fs::write(&page, html).map_err(|source| XtaskError::Io {
                    what: format!("write {}", page.display()),
                    source,
                })?;
                let out = root
                    .join(app)
                    .join("icons")
                    .join(format!("{kind}-{size}.png"));
                run(
                    &format!("rendering {}", out.display()),
                    Command::new(&toolchain.chromium)
                        .args([
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--hide-scrollbars",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--default-background-color=00000000",
                        ])
                        .arg(format!("--window-size={size},{size}"))
                        .arg(format!("--screenshot={}", out.display()))
                        .arg(format!("file://{}", page.display())),
                    "Chromium could not render the icon; check the SVG opens in a browser.",
                )?;
            }
        }
    }
    Ok(())
}
