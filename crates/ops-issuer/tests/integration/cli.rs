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

/// `ops-issuer audit`: exit 0 on a sound ledger, 1 with every violation listed, 2 when the
/// database cannot be read.
#[test]
fn audit_command_exits_non_zero_on_violations() {
    let dir = std::env::temp_dir().join(format!("ops-issuer-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("issuer.sqlite");
    let d = db.to_str().unwrap();
    let (ok, out, err) = issuer(&[
        "--database",
        d,
        "create-account",
        "--name",
        "a",
        "--balance",
        "500",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("created"), "{out}");
    let (ok, out, err) = issuer(&["--database", d, "audit"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("no violation"), "{out}");
    // Money appears in an account from nowhere: the audit names it and fails.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = ops_issuer::store::Store::connect(d).await.unwrap();
        sqlx::query("UPDATE accounts SET balance = balance + 1")
            .execute(store.pool())
            .await
            .unwrap();
        // And a unit of a note credited with no fraud case.
        sqlx::query("INSERT INTO ledger_notes (note_id, value, owner, kind) VALUES ('n', 10, 'o', 'issuance')")
            .execute(store.pool())
            .await
            .unwrap();
        sqlx::query("INSERT INTO spends (spend_id, input_note, range_from, range_to, payee, signer, deposit, spend) VALUES ('x', 'n', 0, 10, 'p', 'o', 'd', x'00')")
            .execute(store.pool())
            .await
            .unwrap();
    });
    let (ok, out, _) = issuer(&["--database", d, "audit"]);
    assert!(!ok, "{out}");
    assert!(out.contains("VIOLATION account_balance account 1"), "{out}");
    assert!(out.contains("VIOLATION note_conservation n"), "{out}");
    let status = Command::new(env!("CARGO_BIN_EXE_ops-issuer"))
        .args(["--database", d, "audit"])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let (_, json, _) = issuer(&["--database", d, "audit", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rules: Vec<&str> = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "note_conservation",
            "account_balance",
            "global_conservation"
        ],
        "{v}"
    );
    // A database that cannot be opened: status 2 with what failed.
    let status = Command::new(env!("CARGO_BIN_EXE_ops-issuer"))
        .args([
            "--database",
            "sqlite:///proc/no-such-ledger.sqlite?mode=ro",
            "audit",
        ])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}
