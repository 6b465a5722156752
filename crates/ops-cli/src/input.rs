//! Reading a message given as a file path, hex, base64 or stdin.

use std::io::Read as _;

use base64::Engine as _;

use crate::Failure;

fn decode_text(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return None;
    }
    if let Some(b) = ops_core::ids::from_hex(&compact) {
        return Some(b);
    }
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    engines.iter().find_map(|e| e.decode(&compact).ok())
}

/// The message bytes from a path, `-` (stdin), hex or base64.
pub fn read_message(arg: &str) -> Result<Vec<u8>, Failure> {
    let raw = if arg == "-" {
        let mut v = Vec::new();
        std::io::stdin().read_to_end(&mut v).map_err(|e| {
            Failure::input(
                format!("cannot read stdin: {e}"),
                "pipe the message in, or pass it as an argument",
            )
        })?;
        Some(v)
    } else if std::path::Path::new(arg).is_file() {
        Some(std::fs::read(arg).map_err(|e| {
            Failure::input(
                format!("cannot read {arg}: {e}"),
                "check the path and its permissions",
            )
        })?)
    } else {
        None
    };
    match raw {
        // A file or stdin: text (hex/base64) if it decodes as such, else raw CBOR bytes.
        Some(bytes) => Ok(std::str::from_utf8(&bytes)
            .ok()
            .and_then(decode_text)
            .unwrap_or(bytes)),
        None => decode_text(arg).ok_or_else(|| {
            Failure::input(
                format!("{arg:.40}: not a file, nor hex, nor base64"),
                "pass a path to a .hex/.cbor file, a hex string, or base64",
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64_forms() {
        assert_eq!(read_message("a1 00 01").unwrap(), vec![0xa1, 0, 1]);
        assert_eq!(read_message("oQAB").unwrap(), vec![0xa1, 0, 1]);
        assert!(read_message("!!!").is_err());
    }
}
