//! Test harness: the real `ops-issuer` process on loopback with a temporary data folder,
//! and a client that plays wallets and POS terminals with ops-core's message types.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    missing_docs
)]

pub mod clearing;
pub mod postgres;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ops_core::ids::Digest32;
use ops_core::msg::Signed;
use ops_core::sig::SoftwareKey;
use ops_core::testing::secret_from_seed;
use ops_core::{CertId, Certificate, Chain, Issuance, Payment, Spend, SpendBody};
use serde_json::{Value, json};

/// A running server.
pub struct Server {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    pub database: Option<String>,
    pub http: reqwest::Client,
    /// The admin token the server generated into its data folder (or was given).
    pub admin_token: String,
    /// Remove `dir` when dropped (servers started on a folder of their own).
    owns_dir: bool,
}

/// Limits the harness relaxes unless a test sets them: the suites sign up many accounts,
/// read balances and ask for WebAuthn challenges often from one address.
const RELAXED: [(&str, &str); 4] = [
    ("--signups-per-address-per-hour", "1000000"),
    ("--reads-per-address-per-minute", "1000000"),
    ("--challenges-per-address-per-minute", "1000000"),
    ("--auth-failures-per-address-per-minute", "1000000"),
];

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A fresh temporary folder.
pub fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "ops-issuer-test-{tag}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(dir.join("dist/pos")).unwrap();
    for f in ["index.html", "sw.js", "pos/index.html", "pos/sw.js"] {
        std::fs::write(dir.join("dist").join(f), "app").unwrap();
    }
    dir
}

impl Server {
    /// Starts the server on a new data folder (SQLite unless `database` is given).
    pub async fn start(tag: &str, database: Option<String>) -> Self {
        let mut server = Self::start_in(temp_dir(tag), database).await;
        server.owns_dir = true;
        server
    }

    /// Starts the server on `dir` (kept across restarts).
    pub async fn start_in(dir: PathBuf, database: Option<String>) -> Self {
        Self::start_with(dir, database, &[]).await
    }

    /// Starts the server on `dir` with extra command-line arguments.
    pub async fn start_with(dir: PathBuf, database: Option<String>, extra: &[&str]) -> Self {
        Self::launch(dir, database, extra, None).await
    }

    /// Starts the server on `dir` with `RUST_LOG=info`, its output written to `log`.
    pub async fn start_logged(
        dir: PathBuf,
        database: Option<String>,
        extra: &[&str],
        log: &std::path::Path,
    ) -> Self {
        Self::launch(dir, database, extra, Some(log)).await
    }

    async fn launch(
        dir: PathBuf,
        database: Option<String>,
        extra: &[&str],
        log: Option<&std::path::Path>,
    ) -> Self {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ops-issuer"));
        cmd.arg("--dist")
            .arg(dir.join("dist"))
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(extra)
            .env("RUST_LOG", if log.is_some() { "info" } else { "warn" })
            .stdin(Stdio::null());
        for (flag, value) in RELAXED {
            if !extra.contains(&flag) {
                cmd.arg(flag).arg(value);
            }
        }
        if let Some(log) = log {
            let out = std::fs::File::create(log).unwrap();
            cmd.stderr(out.try_clone().unwrap()).stdout(out);
        }
        if let Some(db) = &database {
            cmd.arg("--database").arg(db);
        }
        let child = cmd.spawn().unwrap();
        let mut server = Server {
            child,
            port,
            dir,
            database,
            http: reqwest::Client::new(),
            admin_token: String::new(),
            owns_dir: false,
        };
        for _ in 0..300 {
            let status = server
                .http
                .get(server.url("/healthz"))
                .send()
                .await
                .map(|r| r.status().as_u16());
            if status.is_ok_and(|s| s == 200) {
                let flag = |name: &str| {
                    extra
                        .iter()
                        .position(|a| *a == name)
                        .map(|i| extra[i + 1].to_owned())
                };
                server.admin_token = match flag("--admin-token") {
                    Some(token) => token,
                    None => {
                        let file = flag("--admin-token-file")
                            .map_or_else(|| server.dir.join("data/admin.token"), PathBuf::from);
                        std::fs::read_to_string(&file)
                            .expect("the server wrote its admin token file")
                            .trim()
                            .to_owned()
                    }
                };
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not answer /healthz within 30 s");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// SIGKILL, no clean-up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(self.url(path)).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// POST to an admin endpoint with the admin token.
    pub async fn admin_post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.admin_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// GET an admin endpoint with the admin token.
    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The `/metrics` counters (read with the admin token).
    pub async fn metrics(&self) -> std::collections::BTreeMap<String, i64> {
        let text = self
            .http
            .get(self.url("/metrics"))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(k, v)| (k.to_owned(), v.parse().unwrap()))
            .collect()
    }

    /// POST with `Authorization: Bearer token`.
    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// GET with `Authorization: Bearer token`.
    pub async fn get_as(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A new demo account; returns its id.
    pub async fn sign_up(&self, name: &str) -> i64 {
        self.sign_up_with_token(name).await.0
    }

    /// A new demo account; returns its id and its access token (shown once).
    pub async fn sign_up_with_token(&self, name: &str) -> (i64, String) {
        let (s, v) = self.post("/api/v1/accounts", json!({"name": name})).await;
        assert_eq!(s, 201, "{v}");
        (
            v["id"].as_i64().unwrap(),
            v["token"].as_str().unwrap().to_owned(),
        )
    }

    /// The balance of `account`, read with the admin token.
    pub async fn balance(&self, account: i64) -> i64 {
        let (s, v) = self.admin_get(&format!("/api/v1/accounts/{account}")).await;
        assert_eq!(s, 200, "{v}");
        v["balance"].as_i64().unwrap()
    }

    /// A second connection to the server's database (the same SQLite file or PostgreSQL
    /// database), to look at or plant rows the API does not expose.
    pub async fn store(&self) -> ops_issuer::store::Store {
        let location = self.database.clone().unwrap_or_else(|| {
            self.dir
                .join("data/issuer.sqlite")
                .to_string_lossy()
                .into_owned()
        });
        ops_issuer::store::Store::connect(&location).await.unwrap()
    }

    /// Registers a software-key device for `account` (admin endpoint).
    pub async fn device(&self, account: i64, seed: u64) -> Device {
        self.device_limited(account, seed, None).await
    }

    /// Registers a software-key device for `account` whose certificate allows it to hold
    /// at most `max_outstanding` (the server's default if `None`).
    pub async fn device_limited(
        &self,
        account: i64,
        seed: u64,
        max_outstanding: Option<u64>,
    ) -> Device {
        let key = SoftwareKey::from_secret(&secret_from_seed("issuer test device", seed)).unwrap();
        let (s, v) = self
            .admin_post(
                "/api/v1/devices",
                json!({"account_id": account, "public_key": key.public_key().to_string(), "max_outstanding": max_outstanding}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let cert = Certificate::from_bytes(&STANDARD.decode(v["cert"].as_str().unwrap()).unwrap())
            .unwrap();
        assert_eq!(cert.id().to_string(), v["cert_id"].as_str().unwrap());
        Device { key, cert, account }
    }

    /// This FI's certificate, from the trust bundle.
    pub async fn fi_cert(&self) -> Certificate {
        let (_, v) = self.get("/api/v1/trust").await;
        let b = STANDARD.decode(v["fis"][0].as_str().unwrap()).unwrap();
        Certificate::from_bytes(&b).unwrap()
    }

    /// Funds `device` with `amount` (with the admin token); returns the issued notes.
    pub async fn fund(&self, device: &Device, amount: u64) -> Vec<Issuance> {
        let (s, v) = self
            .admin_post(
                "/api/v1/fund",
                json!({"device": device.cert.id().to_string(), "amount": amount}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| Issuance::from_bytes(&STANDARD.decode(n.as_str().unwrap()).unwrap()).unwrap())
            .collect()
    }

    /// Deposits `payment` for `depositor` (with the admin token, which may act on any
    /// account).
    pub async fn deposit(&self, payment: &Payment, depositor: CertId) -> (u16, Value) {
        self.admin_post(
            "/api/v1/deposits",
            json!({"payment": STANDARD.encode(payment.to_bytes()), "depositor": depositor.to_string()}),
        )
        .await
    }

    /// Checks that the sum of all balances plus outstanding notes (less unrecovered fraud
    /// and what dismissed cases refunded, both borne by the FI) equals the starting
    /// balances of `accounts` accounts.
    pub async fn assert_conserved(&self, starting: i64) {
        let m = self.metrics().await;
        assert_eq!(
            m["ops_balances_total"] + m["ops_outstanding_value"]
                - m["ops_fraud_shortfall_total"]
                - m["ops_fraud_refunded_total"],
            m["ops_accounts"] * starting,
            "value not conserved: {m:?}"
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A device with its key.
pub struct Device {
    pub key: SoftwareKey,
    pub cert: Certificate,
    pub account: i64,
}

impl Device {
    pub fn id(&self) -> CertId {
        self.cert.id()
    }

    /// Signs a spend of `[from, to)` of `input` to `payee`.
    pub fn spend(
        &self,
        input: ops_core::NoteId,
        from: u64,
        to: u64,
        payee: CertId,
        tag: u8,
    ) -> Spend {
        let body = SpendBody {
            input,
            from,
            to,
            payee,
            request: Digest32([tag; 32]),
            time: now(),
        };
        let signature = self.key.sign(&Signed::body_bytes_of(&body));
        Signed { body, signature }
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A one-chain payment.
pub fn payment(certs: Vec<Certificate>, issuance: &Issuance, spends: Vec<Spend>) -> Payment {
    Payment {
        certs,
        chains: vec![Chain {
            issuance: issuance.clone(),
            spends,
        }],
        crls: Vec::new(),
    }
}

/// The starting balance of a demo account (the server's default).
pub const STARTING: i64 = 100_000;

/// Runs `futures` at once on this task (the server sees the requests concurrently) and
/// returns their outputs in order; no extra dependency.
pub async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|v| v.unwrap()).collect()
}

/// One list, both engines: a SQLite test per scenario, and one PostgreSQL cluster running
/// every scenario in its own database (the test named first). Each scenario is an
/// `async fn(&Server)` of the invoking file, optionally with extra server flags
/// (`name with ["--flag", "value"]`); the file imports `Server` and declares `mod common`.
#[allow(unused_macros)]
macro_rules! on_both_engines {
    ($postgres:ident: $($name:ident $(with [$($flag:expr),*])?),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let flags: &[&str] = &[$($($flag),*)?];
                    let s = Server::start_with(common::temp_dir(stringify!($name)), None, flags).await;
                    super::$name(&s).await;
                }
            )*
        }

        #[tokio::test]
        async fn $postgres() {
            let pg = common::postgres::Postgres::start();
            $(
                let flags: &[&str] = &[$($($flag),*)?];
                let db = pg.create_database(&stringify!($name).replace('_', "")).await;
                let s = Server::start_with(common::temp_dir(concat!("pg-", stringify!($name))), Some(db), flags).await;
                $name(&s).await;
                drop(s);
            )*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_engines;
