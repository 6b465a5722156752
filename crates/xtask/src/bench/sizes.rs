//! Bundle sizes of the built apps and the QR worker: raw, gzip and brotli, as `BENCH`
//! lines (one sample: a build's sizes do not vary between runs).

use crate::process::XtaskError;
use std::path::Path;

/// Section of docs/PERFORMANCE.md these figures go to.
pub const SECTION: &str = "Bundle sizes";

/// Length of `bytes` compressed with brotli at the best quality (11, 4 MiB window): what
/// a server's static brotli sends.
pub fn brotli_len(bytes: &[u8]) -> usize {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    match brotli::BrotliCompress(&mut &bytes[..], &mut out, &params) {
        Ok(_) => out.len(),
        Err(_) => bytes.len(),
    }
}

/// Which of an app's files a row counts.
type Pick = fn(&str) -> bool;

/// The rows of each app: its wasm, its JavaScript (not the QR worker's, not the service
/// worker), every file its service worker precaches.
const GROUPS: [(&str, Pick); 3] = [
    ("wasm", |u| u.ends_with(".wasm") && !is_worker(u)),
    ("JavaScript", |u| {
        u.ends_with(".js") && !is_worker(u) && u != "sw.js"
    }),
    ("every precached file", |_| true),
];

/// The `BENCH` lines of the bundles in `dist/`: per app its wasm, its JavaScript and every
/// file its service worker precaches; the QR worker's wasm and JavaScript.
pub fn lines(dist: &Path) -> Result<String, XtaskError> {
    let mut out = String::new();
    for app in ops_pwa::APPS {
        let dir = dist.join(app.dir);
        let list =
            ops_pwa::list_build_files(&dir, app.nested_apps).map_err(|error| XtaskError::Io {
                what: format!("list the files of {}", dir.display()),
                source: std::io::Error::other(error.to_string()),
            })?;
        let label = if app.name == "pos" { "POS" } else { "wallet" };
        for (kind, pick) in GROUPS {
            let urls: Vec<&String> = list.urls.iter().filter(|u| pick(u)).collect();
            add_row(&mut out, &dir, &format!("{label}: {kind}"), &urls)?;
        }
        if app.name == "wallet" {
            let wasm: Vec<&String> = list
                .urls
                .iter()
                .filter(|u| is_worker(u) && u.ends_with(".wasm"))
                .collect();
            let js: Vec<&String> = list
                .urls
                .iter()
                .filter(|u| is_worker(u) && u.ends_with(".js"))
                .collect();
            add_row(&mut out, &dir, "QR worker: wasm", &wasm)?;
            add_row(
                &mut out,
                &dir,
                "QR worker: JavaScript (glue and loader)",
                &js,
            )?;
        }
    }
    Ok(out)
}

/// A file of the QR worker (its wasm, glue or loader).
fn is_worker(url: &str) -> bool {
    url.starts_with("ops-qr-worker")
}

/// Appends the raw, gzip and brotli lines of the files `urls` (summed, each compressed
/// on its own, as a server sends them) under `row`.
fn add_row(out: &mut String, dir: &Path, row: &str, urls: &[&String]) -> Result<(), XtaskError> {
    let (mut raw, mut gzip, mut brotli) = (0, 0, 0);
    for url in urls {
        let path = dir.join(url.as_str());
        let bytes = std::fs::read(&path).map_err(|source| XtaskError::Io {
            what: format!("read {}", path.display()),
            source,
        })?;
        raw += bytes.len();
        gzip += crate::size::gzip_len(&bytes);
        brotli += brotli_len(&bytes);
    }
    for (column, value) in [("raw", raw), ("gzip -9", gzip), ("brotli -q 11", brotli)] {
        out.push_str(&format!("BENCH {SECTION} | {row} | {column} | {value} B\n"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetitive_bytes_shrink_with_brotli() {
        let bytes = vec![7u8; 100_000];
        let n = brotli_len(&bytes);
        assert!(n > 0 && n < 1_000, "{n}");
    }
}
