//! The key ceremony through the `ops` binary: root, FI certified by it with limits, the
//! trust bundle; private keys owner-only and never printed; nothing overwritten.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

fn ops(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ops"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn create_root_create_fi_export_trust() {
    let dir = std::env::temp_dir().join(format!("ops-cli-ceremony-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let keys = dir.join("keys");
    let k = keys.to_str().unwrap();
    let (ok, root_out, err) = ops(&["create-root", "--dir", k, "--name", "Test CB"]);
    assert!(ok, "{err}");
    assert!(root_out.contains("root certificate"), "{root_out}");
    let (ok, fi_out, err) = ops(&[
        "create-fi",
        "--dir",
        k,
        "--name",
        "Test Bank",
        "--max-note-value",
        "5000",
        "--hop-limit",
        "2",
    ]);
    assert!(ok, "{err}");
    for key in ["root.key", "fi.key"] {
        let secret = std::fs::read_to_string(keys.join(key)).unwrap();
        assert!(!root_out.contains(secret.trim()) && !fi_out.contains(secret.trim()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(keys.join(key))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
    }
    // The FI certificate is a protocol message: certified by the root, with its limits.
    let (ok, inspected, err) = ops(&["inspect", keys.join("fi.cert").to_str().unwrap()]);
    assert!(ok, "{err}");
    let (_, root, _) = ops(&["inspect", keys.join("root.cert").to_str().unwrap()]);
    let fi: serde_json::Value = serde_json::from_str(&inspected).unwrap();
    let root: serde_json::Value = serde_json::from_str(&root).unwrap();
    let body = &fi["decoded"]["message"]["body"];
    assert!(root["ids"]["certificate_id"].is_string(), "{root}");
    assert_eq!(body["issuer"], root["ids"]["certificate_id"], "{fi}");
    assert_eq!(body["role"], "fi");
    assert_eq!(body["limits"]["max_note_value"], 5000, "{fi}");
    assert_eq!(body["limits"]["hop_limit"], 2, "{fi}");
    let bundle = dir.join("trust.json");
    let (ok, _, err) = ops(&[
        "export-trust",
        "--dir",
        k,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    assert_eq!(v["fis"].as_array().unwrap().len(), 1);
    // A second root in the same folder: refused with what to do; the key is untouched.
    let before = std::fs::read(keys.join("root.key")).unwrap();
    let (ok, _, err) = ops(&["create-root", "--dir", k]);
    assert!(!ok);
    assert!(
        err.contains("already exists") && err.contains("hint:"),
        "{err}"
    );
    assert_eq!(std::fs::read(keys.join("root.key")).unwrap(), before);
    let _ = std::fs::remove_dir_all(&dir);
}
