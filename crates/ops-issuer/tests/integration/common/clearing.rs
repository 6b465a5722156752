//! Two FIs and a central bank as real processes (clearing tests and the deposit
//! benchmark): one key ceremony, each FI its own `ops-issuer` process and database, the
//! central bank's `ops-central` process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use ops_api::clearing::ClaimBatch;
use ops_ceremony::FiLimits;
use serde_json::Value;

use super::Server;

/// Copies the central bank's root (key and certificate) into `to`, then certifies a new FI
/// there; returns the FI's certificate.
pub fn ceremony_fi(
    root: &Path,
    to: &Path,
    name: &str,
    serial: u64,
    now: u64,
) -> ops_core::Certificate {
    std::fs::create_dir_all(to).unwrap();
    for f in ["root.key", "root.cert"] {
        std::fs::copy(root.join(f), to.join(f)).unwrap();
    }
    ops_ceremony::create_fi(to, name, serial, &FiLimits::default(), now).unwrap()
}

/// An FI's data folder: the root certificate (never its key), the FI's own key and
/// certificate, and its peer's certificate.
pub fn data_folder(server_dir: &Path, fi: &Path, peer: &Path) {
    let data = server_dir.join("data");
    std::fs::create_dir_all(data.join("peer-fis")).unwrap();
    for f in ["root.cert", "fi.cert", "fi.key"] {
        std::fs::copy(fi.join(f), data.join(f)).unwrap();
    }
    std::fs::copy(peer.join("fi.cert"), data.join("peer-fis/peer.cert")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for d in [&data, &data.join("peer-fis")] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        std::fs::set_permissions(data.join("fi.key"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
    }
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The central bank's process.
pub struct Central {
    child: Child,
    pub port: u16,
    pub token: String,
    pub http: reqwest::Client,
}

impl Central {
    pub async fn start(
        dir: &Path,
        port: u16,
        fis: &[(PathBuf, u16)],
        database: Option<String>,
    ) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ops-central"));
        cmd.arg("--data-dir")
            .arg(dir)
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null());
        for (cert, fi_port) in fis {
            cmd.arg("--fi")
                .arg(format!("{}=http://127.0.0.1:{fi_port}", cert.display()));
        }
        if let Some(db) = database {
            cmd.arg("--database").arg(db);
        }
        let mut child = cmd.spawn().unwrap();
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if http
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                let token = std::fs::read_to_string(dir.join("admin.token"))
                    .unwrap()
                    .trim()
                    .to_owned();
                return Self {
                    child,
                    port,
                    token,
                    http,
                };
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("ops-central did not answer /healthz within 30 s");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn admin(&self, post: bool, path: &str) -> (u16, Value) {
        let r = if post {
            self.http.post(self.url(path))
        } else {
            self.http.get(self.url(path))
        };
        let r = r.bearer_auth(&self.token).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Posts `batch` signed by `key` of `signer` (an FI's certified key).
    pub async fn claims(
        &self,
        key: &ops_core::sig::SoftwareKey,
        signer: ops_core::CertId,
        batch: &ClaimBatch,
    ) -> (u16, Value) {
        signed_post(
            &self.http,
            &self.url(ops_api::paths::CB_CLAIMS),
            ops_api::paths::CB_CLAIMS,
            key,
            signer,
            batch,
        )
        .await
    }
}

impl Drop for Central {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn signed_post(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    key: &ops_core::sig::SoftwareKey,
    signer: ops_core::CertId,
    batch: &ClaimBatch,
) -> (u16, Value) {
    let body = serde_json::to_vec(batch).unwrap();
    let mut request = http.post(url).header("content-type", "application/json");
    for (name, value) in ops_issuer::clearing::signing::sign(key, signer, path, &body) {
        request = request.header(name, value);
    }
    let r = request.body(body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

pub fn key(path: &Path) -> ops_core::sig::SoftwareKey {
    ops_ceremony::read_key(path).unwrap()
}

/// A central bank and two FIs (A and B) that know each other, each FI forwarding claims to
/// the central bank on request only (`--clearing-interval 0`).
pub struct Federation {
    /// The ceremony's folder: `root/` (the central bank's data folder), `a/`, `b/`.
    pub keys: PathBuf,
    pub fi_a: ops_core::Certificate,
    pub fi_b: ops_core::Certificate,
    pub a: Server,
    pub b: Server,
    pub cb: Central,
}

impl Federation {
    /// Three fresh databases on `pg` for A, B and the central bank, named `{prefix}_a`,
    /// `{prefix}_b` and `{prefix}_cb`.
    pub async fn postgres_databases(
        pg: &super::postgres::Postgres,
        prefix: &str,
    ) -> [Option<String>; 3] {
        [
            Some(pg.create_database(&format!("{prefix}_a")).await),
            Some(pg.create_database(&format!("{prefix}_b")).await),
            Some(pg.create_database(&format!("{prefix}_cb")).await),
        ]
    }

    /// Starts it on the given databases (`None`: SQLite in each data folder).
    pub async fn start(databases: [Option<String>; 3], now: u64) -> Self {
        let [db_a, db_b, db_cb] = databases;
        let keys = super::temp_dir("clearing-ceremony");
        ops_ceremony::create_root(&keys.join("root"), "Central Bank", now).unwrap();
        let fi_a = ceremony_fi(&keys.join("root"), &keys.join("a"), "Bank A", 10, now);
        let fi_b = ceremony_fi(&keys.join("root"), &keys.join("b"), "Bank B", 11, now);
        data_folder(&keys.join("fi-a"), &keys.join("a"), &keys.join("b"));
        data_folder(&keys.join("fi-b"), &keys.join("b"), &keys.join("a"));
        for fi in ["fi-a", "fi-b"] {
            let dist = keys.join(fi).join("dist/pos");
            std::fs::create_dir_all(&dist).unwrap();
            for f in ["index.html", "sw.js", "pos/index.html", "pos/sw.js"] {
                std::fs::write(keys.join(fi).join("dist").join(f), "app").unwrap();
            }
        }
        let cb_port = free_port();
        let cb_url = format!("http://127.0.0.1:{cb_port}");
        let flags = [
            "--central-bank",
            cb_url.as_str(),
            "--clearing-interval",
            "0",
        ];
        let a = Server::start_with(keys.join("fi-a"), db_a, &flags).await;
        let b = Server::start_with(keys.join("fi-b"), db_b, &flags).await;
        assert_eq!(
            (a.fi_cert().await, b.fi_cert().await),
            (fi_a.clone(), fi_b.clone())
        );
        let cb = Central::start(
            &keys.join("root"),
            cb_port,
            &[
                (keys.join("a/fi.cert"), a.port),
                (keys.join("b/fi.cert"), b.port),
            ],
            db_cb,
        )
        .await;
        Self {
            keys,
            fi_a,
            fi_b,
            a,
            b,
            cb,
        }
    }
}
