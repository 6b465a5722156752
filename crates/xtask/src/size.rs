//! Bundle sizes as a phone downloads them.

use std::io::Write as _;

/// Most an app's WebAssembly may weigh gzipped (issue 11: "at most 400 KB gzipped").
pub const APP_WASM_GZIP_BUDGET: usize = 400_000;

/// Length of `bytes` gzipped at the best level (what a server's static gzip sends).
pub fn gzip_len(bytes: &[u8]) -> usize {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    if encoder.write_all(bytes).is_err() {
        return bytes.len();
    }
    encoder.finish().map_or(bytes.len(), |v| v.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetitive_bytes_shrink_and_the_budget_is_the_issues() {
        let bytes = vec![7u8; 100_000];
        let n = gzip_len(&bytes);
        assert!(n > 0 && n < 1_000, "{n}");
        assert_eq!(APP_WASM_GZIP_BUDGET, 400_000);
    }
}
