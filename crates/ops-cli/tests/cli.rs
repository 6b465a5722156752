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

fn tmp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ops-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn odd_hex_and_bad_characters_are_named() {
    let out = ops(&["inspect", "a1 00 0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("odd number of hex digits: 5"), "{err}");
    assert!(err.contains("hint:"), "{err}");

    let out = ops(&["inspect", "a1 0g 01"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid hex character 'g' at line 1, column 5"),
        "{err}"
    );

    // The same in a file: a vector with its last digit cut off.
    let dir = tmp_dir("odd");
    let text = std::fs::read_to_string(v("receipt")).unwrap();
    let cut = dir.join("receipt.hex");
    std::fs::write(&cut, &text.trim_end()[..text.trim_end().len() - 1]).unwrap();
    let out = ops(&["inspect", cut.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("odd number of hex digits"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_50_mb_file_is_refused_unread() {
    let dir = tmp_dir("big-file");
    let big = dir.join("big.hex");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(50_000_000)
        .unwrap();
    let out = ops(&["inspect", big.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("50000000 bytes") && err.contains("3604096-byte input limit"),
        "{err}"
    );
    assert!(err.contains("nothing was read"), "{err}");
    assert!(
        err.contains("hint:") && err.contains("single message"),
        "{err}"
    );
}

#[test]
fn a_50_mb_stream_is_refused_after_the_limit() {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ops"))
        .args(["inspect", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'0'; 64 * 1024];
        let mut written: u64 = 0;
        while written < 50_000_000 {
            // The pipe breaks when `ops` stops reading and exits.
            if stdin.write_all(&chunk).is_err() {
                break;
            }
            written += chunk.len() as u64;
        }
        written
    });
    let out = child.wait_with_output().unwrap();
    let written = writer.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "stdin: more than the 3604096-byte input limit: stopped after reading 3604097 bytes"
        ),
        "{err}"
    );
    // What the pipe took is the limit plus at most a few chunks of buffering.
    assert!(written < 3_604_097 + 4 * 1024 * 1024, "{written}");
}

#[test]
fn a_crl_of_an_issuer_the_payment_does_not_involve_is_ignored_with_a_note() {
    use ops_core::{CertId, Crl, CrlBody, Signature};
    let stranger = CertId([0x42; 16]);
    let crl = Crl {
        body: CrlBody {
            issuer: stranger,
            number: 1,
            issued: 1_767_225_600,
            revoked: vec![1, 2, 3],
        },
        signature: Signature::Es256([0; 64]),
    };
    let dir = tmp_dir("crl");
    let other = dir.join("other-crl.hex");
    std::fs::write(&other, ops_core::ids::to_hex(&crl.to_bytes())).unwrap();
    let out = ops(&[
        "verify-payment",
        "--request",
        &v("payment-request"),
        "--payment",
        &v("payment-1hop"),
        "--root",
        &v("root-certificate"),
        "--crl",
        other.to_str().unwrap(),
        "--crl",
        &v("crl"),
        "--time",
        NOW,
    ]);
    std::fs::remove_dir_all(&dir).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "note: --crl {}: ignored the revocation list of issuer {stranger}",
            other.display()
        )),
        "{err}"
    );
    assert!(err.contains("relies on no certificate it issued"), "{err}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["result"], "accepted");
}
