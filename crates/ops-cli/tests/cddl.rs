//! The CDDL in `docs/PROTOCOL.md` §3 describes the test vectors: each vector validates
//! against the rule of its message type (with an independent CDDL implementation), and a
//! vector does not validate against the rules of other types.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The schema of `docs/PROTOCOL.md` §3. The `cddl` crate (0.9) mis-validates an occurrence
/// after a positional array entry (`[a, 1*16 b]`), so the `chain` rule is replaced by its
/// exact expansion (`chain-1 / chain-2 / …`, `chain-n = [a, b, …]`, up to 16 spends).
fn schema() -> String {
    let doc = std::fs::read_to_string(root().join("docs/PROTOCOL.md")).unwrap();
    let start = doc.find("```cddl\n").expect("a cddl block") + "```cddl\n".len();
    let len = doc[start..].find("```").unwrap();
    let block = &doc[start..start + len];
    let chain = block
        .lines()
        .find(|l| l.starts_with("chain = [issuance, 1*16 spend]"))
        .expect("the chain rule as documented");
    let mut rules = String::from("chain = chain-1");
    for n in 2..=16 {
        rules.push_str(&format!(" / chain-{n}"));
    }
    for n in 1..=16 {
        rules.push_str(&format!("\nchain-{n} = [issuance{}]", ", spend".repeat(n)));
    }
    block.replace(chain, &rules)
}

fn vector(name: &str) -> Vec<u8> {
    let hex = std::fs::read_to_string(root().join(format!("docs/vectors/{name}.hex"))).unwrap();
    let hex = hex.trim();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn validates(rule: &str, bytes: &[u8]) -> Result<(), String> {
    let cddl = format!("message = {rule}\n{}", schema());
    cddl::validate_cbor_from_slice(&cddl, bytes, None).map_err(|e| e.to_string())
}

const CASES: [(&str, &str); 20] = [
    ("root-certificate", "certificate"),
    ("fi-certificate", "certificate"),
    ("device-certificate-webauthn", "certificate"),
    ("device-certificate-pos", "certificate"),
    ("issuance", "issuance"),
    ("payment-request", "payment-request"),
    ("payment-request-3hop", "payment-request"),
    ("spend-webauthn", "spend"),
    ("spend-webauthn-raw", "spend"),
    ("payment-1hop", "payment"),
    ("payment-3hop", "payment"),
    ("receipt", "receipt"),
    ("crl", "crl"),
    ("block-list", "block-list"),
    ("fraud-proof", "fraud-proof"),
    ("spend-webauthn-batch", "spend"),
    ("payment-request-batch", "payment-request"),
    ("payment-batch", "payment"),
    ("payment-request-crls", "payment-request"),
    ("payment-1hop-crl", "payment"),
];

#[test]
fn every_vector_matches_its_cddl_rule() {
    for (file, rule) in CASES {
        if let Err(e) = validates(rule, &vector(file)) {
            panic!("{file}.hex does not match `{rule}`: {e}");
        }
    }
}

#[test]
fn vectors_do_not_match_other_rules() {
    for (file, rule) in CASES {
        for other in ["certificate", "issuance", "spend", "payment", "crl"] {
            if other != rule {
                assert!(
                    validates(other, &vector(file)).is_err(),
                    "{file}.hex wrongly matches `{other}`"
                );
            }
        }
    }
}
