//! The API against the real server process with SQLite: every scenario of the suite (the
//! list in `suite::api_suite!`, shared with `api_postgres.rs`), and the checks of the data
//! folder's files, which only a SQLite deployment keeps there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::suite;

suite::api_suite!(sqlite);

/// The server prints where the admin token is, never the token; a configured token is
/// used as given (no file), a short one refused at start; a token file others can read is
/// refused.
#[tokio::test]
async fn admin_token_path_is_printed_never_the_token() {
    let dir = common::temp_dir("token-log");
    let log = dir.join("server.log");
    let s = common::Server::start_logged(dir.clone(), None, &[], &log).await;
    let text = std::fs::read_to_string(&log).unwrap();
    let file = dir.join("data/admin.token");
    assert!(
        text.contains(&file.display().to_string()),
        "the token's path is printed: {text}"
    );
    assert!(!text.contains(&s.admin_token), "the token was printed");
    drop(s);
    // Restart: the same token, read back from the file.
    let s = common::Server::start_in(dir.clone(), None).await;
    assert_eq!(
        s.admin_token,
        std::fs::read_to_string(&file).unwrap().trim()
    );
    drop(s);
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ops-issuer"))
            .arg("--dist")
            .arg(dir.join("dist"))
            .arg("--addr")
            .arg("127.0.0.1:1")
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(extra)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&["--admin-token", "short"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("shorter than 16"));
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = run(&[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("chmod 600"), "{err}");
    // A configured token writes no file and is the one required.
    let other = common::temp_dir("token-flag");
    let s = common::Server::start_with(
        other.clone(),
        None,
        &["--admin-token", "a-configured-admin-token"],
    )
    .await;
    assert!(!other.join("data/admin.token").exists());
    suite::admin_requires_token(&s).await;
    drop(s);
    // A token file elsewhere: generated there, owner-only, and required.
    let elsewhere = other.join("secrets/issuer-admin.token");
    let path = elsewhere.to_str().unwrap();
    let s = common::Server::start_with(other.clone(), None, &["--admin-token-file", path]).await;
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&elsewhere).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!other.join("data/admin.token").exists());
    suite::admin_requires_token(&s).await;
    drop(s);
    let _ = std::fs::remove_dir_all(other);
    let _ = std::fs::remove_dir_all(dir);
}

/// The data folder is owner-only (0700), the SQLite database and its WAL and shared-memory
/// files too (0600); a private key that others can read is refused at start, naming the
/// chmod to run.
#[tokio::test]
async fn data_files_are_owner_only_and_a_readable_fi_key_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = common::temp_dir("modes");
    let s = common::Server::start_in(dir.clone(), None).await;
    // Write something, so the WAL holds frames.
    s.sign_up("alice").await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let data = dir.join("data");
    assert_eq!(mode(&data), 0o700, "data folder");
    for f in [
        "issuer.sqlite",
        "issuer.sqlite-wal",
        "issuer.sqlite-shm",
        "fi.key",
        "admin.token",
    ] {
        let path = data.join(f);
        assert!(path.exists(), "{f}");
        assert_eq!(mode(&path), 0o600, "{f}");
    }
    drop(s);
    // An existing database others could read is made owner-only at the next start.
    std::fs::set_permissions(
        data.join("issuer.sqlite"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let s = common::Server::start_in(dir.clone(), None).await;
    assert_eq!(mode(&data.join("issuer.sqlite")), 0o600);
    drop(s);
    // fi.key readable by others: the service refuses to start and says what to run.
    std::fs::set_permissions(data.join("fi.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ops-issuer"))
        .arg("--dist")
        .arg(dir.join("dist"))
        .arg("--addr")
        .arg("127.0.0.1:1")
        .arg("--data-dir")
        .arg(&data)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fi.key") && err.contains("chmod 600"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
