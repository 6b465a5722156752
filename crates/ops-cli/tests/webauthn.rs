//! Runs `ops webauthn …` on JSON documents made from the W3C WebAuthn test vectors
//! (`docs/vectors/webauthn/cli/*.json`): `*.pass.json` must print `ok` and exit 0,
//! `*.fail.json` must exit 2 naming the failing check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/vectors/webauthn/cli")
}

fn ops(sub: &str, file: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ops"))
        .args(["webauthn", sub])
        .arg(file)
        .output()
        .unwrap()
}

fn run(name: &str) -> Output {
    let sub = if name.starts_with("registration") {
        "verify-registration"
    } else {
        "verify-assertion"
    };
    ops(sub, &dir().join(name))
}

#[test]
fn every_document_passes_or_fails_as_named() {
    let mut seen = (0, 0);
    for entry in std::fs::read_dir(dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let out = run(&name);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        if name.ends_with(".pass.json") {
            seen.0 += 1;
            assert!(out.status.success(), "{name}: {stderr}");
            assert_eq!(stdout.lines().next(), Some("ok"), "{name}");
        } else if name.ends_with(".fail.json") {
            seen.1 += 1;
            assert_eq!(out.status.code(), Some(2), "{name}: {stdout} {stderr}");
            assert!(stderr.contains("refused:"), "{name}: {stderr}");
            assert!(!stdout.contains("ok"), "{name}: {stdout}");
        }
    }
    assert!(seen.0 >= 3 && seen.1 >= 4, "documents found: {seen:?}");
}

#[test]
fn registration_summary() {
    let out = run("registration-packed-x5c.pass.json");
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    for want in [
        "format: packed",
        "attestation: certificate chain of 1",
        "aaguid: 876ca4f52071c3e9b25509ef2cdf7ed6",
        "credential_id: yab1s0YtAoc_6gxWhiI0-Z8IFygITlEbt3YCAaiQVKU",
        "flags: 0x4d (UP UV BE AT)",
        "sign_count: 0",
    ] {
        assert!(s.contains(want), "missing {want:?} in:\n{s}");
    }
}

#[test]
fn failing_checks_are_named() {
    for (name, want) in [
        ("registration-cross-origin.fail.json", "cross-origin"),
        (
            "registration-packed-self-device-bound.fail.json",
            "backup-eligible",
        ),
        (
            "assertion-packed-self-counter.fail.json",
            "sign count 0 is not greater than the stored 4",
        ),
        ("assertion-cross-origin.fail.json", "cross-origin"),
    ] {
        let out = run(name);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{name}: {err}");
    }
}

#[test]
fn bad_input_exits_1_with_a_hint() {
    let tmp = std::env::temp_dir().join(format!("ops-webauthn-{}.json", std::process::id()));
    std::fs::write(&tmp, br#"{"rp_id": "example.org"}"#).unwrap();
    let out = ops("verify-registration", &tmp);
    std::fs::remove_file(&tmp).ok();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn an_oversized_document_is_refused_unread() {
    let tmp = std::env::temp_dir().join(format!("ops-webauthn-big-{}.json", std::process::id()));
    // Valid JSON, 100 000 bytes: whitespace after the object.
    let mut doc = br#"{"rp_id": "example.org"}"#.to_vec();
    doc.resize(100_000, b' ');
    std::fs::write(&tmp, &doc).unwrap();
    let out = ops("verify-registration", &tmp);
    std::fs::remove_file(&tmp).ok();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("100000 bytes, more than the 65536-byte input limit"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
}
