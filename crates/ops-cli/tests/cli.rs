//! Runs the `ops` binary on the documented test vectors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/vectors")
}

fn ops(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ops"))
        .args(args)
        .output()
        .unwrap()
}

fn v(name: &str) -> String {
    vectors().join(format!("{name}.hex")).display().to_string()
}

// The vectors are made at T0 + 1 day (2026-01-02T00:00:00Z).
const NOW: &str = "1767312000";

#[test]
fn inspect_every_vector() {
    for entry in std::fs::read_dir(vectors()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "hex") {
            continue;
        }
        let out = ops(&["inspect", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(json["decoded"]["type"].is_string());
        assert!(json["ids"].is_object());
    }
}

#[test]
fn inspect_rejects_garbage_with_a_hint() {
    let out = ops(&["inspect", "a10003"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error:") && err.contains("hint:"), "{err}");
}

#[test]
fn verify_payment_accepts_and_rejects() {
    let base = [
        "verify-payment",
        "--request",
        &v("payment-request"),
        "--payment",
        &v("payment-1hop"),
        "--root",
        &v("root-certificate"),
        "--crl",
        &v("crl"),
        "--time",
        NOW,
    ];
    let out = ops(&base);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["amount"], 250);
    // The received note id the summary reports is the spend id `inspect` derives.
    let pay = ops(&["inspect", &v("payment-1hop")]);
    let pay: serde_json::Value = serde_json::from_slice(&pay.stdout).unwrap();
    assert_eq!(
        json["received_notes"][0]["id"],
        pay["ids"]["received_note_ids"][0]
    );

    // The 3-hop payment does not answer the 1-hop request: rule V3.
    let mut args = base.to_vec();
    let p3 = v("payment-3hop");
    args[4] = &p3;
    let out = ops(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rule V3"));

    // A used request: rule V1.
    let mut args = base.to_vec();
    args.push("--used");
    let out = ops(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rule V1"));
}
