//! The admin commands of the `ops-issuer` binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

fn issuer(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ops-issuer"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ceremony_and_account_commands() {
    let dir = std::env::temp_dir().join(format!("ops-issuer-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let keys = dir.join("keys");
    let k = keys.to_str().unwrap();
    let (ok, out, err) = issuer(&["create-root", "--dir", k, "--name", "CB"]);
    assert!(ok, "{err}");
    let (ok, _, err) = issuer(&[
        "create-fi",
        "--dir",
        k,
        "--name",
        "Bank",
        "--max-note-value",
        "5000",
    ]);
    assert!(ok, "{err}");
    let secret = std::fs::read_to_string(keys.join("root.key")).unwrap();
    assert!(!out.contains(secret.trim()), "a private key was printed");
    let bundle = dir.join("trust.json");
    let (ok, _, err) = issuer(&[
        "export-trust",
        "--dir",
        k,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    assert!(!v.to_string().contains(secret.trim()));
    assert_eq!(v["fis"].as_array().unwrap().len(), 1);
    // A second root in the same folder is refused; the first key is untouched.
    let (ok, _, err) = issuer(&["create-root", "--dir", k]);
    assert!(!ok && err.contains("already exists"), "{err}");
    assert_eq!(
        std::fs::read_to_string(keys.join("root.key")).unwrap(),
        secret
    );

    let db = dir.join("issuer.sqlite");
    let d = db.to_str().unwrap();
    let (ok, out, err) = issuer(&[
        "--database",
        d,
        "create-account",
        "--name",
        "ops",
        "--balance",
        "50",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("account 1 (ops) created with balance 50"),
        "{out}"
    );
    let (ok, out, err) = issuer(&[
        "--database",
        d,
        "credit-account",
        "--id",
        "1",
        "--amount",
        "25",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("balance 75"), "{out}");
    let (ok, _, err) = issuer(&[
        "--database",
        d,
        "credit-account",
        "--id",
        "9",
        "--amount",
        "1",
    ]);
    assert!(!ok && err.contains("not found"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
