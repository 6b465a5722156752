//! Harness for the end-to-end tests: the issuer service as a real process, ChromeDriver
//! and headless Chromium, and small helpers to wait for what a user would see.
//!
//! `cargo xtask test` sets the environment this harness reads (see [`Settings`]); the
//! tests refuse to run without it instead of silently skipping.

pub mod minted;
pub mod pages;
pub mod shop;
pub mod webauthn;

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use thirtyfour::extensions::cdp::ChromeDevTools;
use thirtyfour::prelude::*;
use thirtyfour::{ChromiumLikeCapabilities, DesiredCapabilities};

/// Chromium flags that work headless, as root, on a closed network.
pub const CHROMIUM_FLAGS: [&str; 9] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// Why the harness could not set something up.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A required environment variable is missing.
    #[error("{0} is not set: run the end-to-end tests through `cargo xtask test`")]
    MissingEnv(&'static str),
    /// A process could not be started.
    #[error("cannot start {what}: {source}")]
    Spawn {
        /// What was being started.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Something did not happen in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The WebDriver session failed.
    #[error("webdriver: {0}")]
    WebDriver(#[from] WebDriverError),
}

/// Where the built apps and the tools are.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The assembled `dist/` folder.
    pub dist: PathBuf,
    /// The `ops-issuer` binary.
    pub issuer_bin: PathBuf,
    /// The Chromium binary.
    pub chromium: PathBuf,
    /// The ChromeDriver binary.
    pub chromedriver: PathBuf,
    /// Where screenshots go.
    pub artifacts: PathBuf,
    /// Test-only fixture pages (`webauthn/`), served under `/test/` next to the apps.
    pub test_pages: PathBuf,
}

impl Settings {
    /// Reads `OPS_DIST`, `OPS_ISSUER_BIN`, `OPS_CHROMIUM`, `OPS_CHROMEDRIVER`, `OPS_ARTIFACTS`,
    /// `OPS_TEST_PAGES`.
    pub fn from_env() -> Result<Self, HarnessError> {
        let var = |name: &'static str| {
            std::env::var_os(name)
                .map(PathBuf::from)
                .ok_or(HarnessError::MissingEnv(name))
        };
        Ok(Self {
            dist: var("OPS_DIST")?,
            issuer_bin: var("OPS_ISSUER_BIN")?,
            chromium: var("OPS_CHROMIUM")?,
            chromedriver: var("OPS_CHROMEDRIVER")?,
            artifacts: var("OPS_ARTIFACTS")?,
            test_pages: var("OPS_TEST_PAGES")?,
        })
    }
}

/// Kills process `pid` and all its descendants (SIGKILL).
fn kill_tree(pid: u32) {
    let script = format!(
        "tree() {{ for c in $(pgrep -P \"$1\"); do tree \"$c\"; done; echo \"$1\"; }}; \
         tree {pid} | xargs -r kill -9 2>/dev/null"
    );
    let _ = Command::new("sh").args(["-c", &script]).status();
}

/// Kills every Chromium process of profile `dir` (SIGKILL, as a power cut or a crash) and
/// removes the profile locks a killed Chromium leaves behind, so the next start with the
/// same `--user-data-dir` finds its data.
pub fn kill_chromium(dir: &Path) {
    let script = format!(
        "tree() {{ for c in $(pgrep -P \"$1\"); do tree \"$c\"; done; echo \"$1\"; }}; \
         for p in $(pgrep -f -- '--user-data-dir={}'); do tree \"$p\"; done | xargs -r kill -9 2>/dev/null",
        dir.display()
    );
    let _ = Command::new("sh").args(["-c", &script]).status();
    std::thread::sleep(Duration::from_millis(500));
    for lock in ["SingletonLock", "SingletonSocket", "SingletonCookie"] {
        let _ = std::fs::remove_file(dir.join(lock));
    }
}

/// Seconds since the Unix epoch (what the browsers' clocks say too).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|source| HarnessError::Io {
        what: "find a free port".into(),
        source,
    })?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|source| HarnessError::Io {
            what: "find a free port".into(),
            source,
        })
}

/// Polls `check` every 100 ms until it returns true or `timeout` passes.
pub async fn wait_until(
    what: &str,
    timeout: Duration,
    mut check: impl AsyncFnMut() -> bool,
) -> Result<(), HarnessError> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if check().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(HarnessError::Timeout(timeout, what.to_owned()))
}

/// The issuer service, running as its own process.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl Server {
    /// Starts `ops-issuer` serving `dist` on `127.0.0.1:port` and waits until it answers.
    pub async fn start(settings: &Settings, dist: &Path, port: u16) -> Result<Self, HarnessError> {
        Self::start_with_args(settings, dist, port, &[]).await
    }

    /// Like [`Server::start`], with extra `ops-issuer` flags (a policy, say).
    pub async fn start_with_args(
        settings: &Settings,
        dist: &Path,
        port: u16,
        args: &[&str],
    ) -> Result<Self, HarnessError> {
        let child = Command::new(&settings.issuer_bin)
            .args(args)
            .arg("--dist")
            .arg(dist)
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                what: settings.issuer_bin.display().to_string(),
                source,
            })?;
        let server = Self { child, port };
        wait_until(
            "the issuer service to answer /healthz",
            Duration::from_secs(20),
            async || http_get_status(port, "/healthz") == Some(200),
        )
        .await?;
        Ok(server)
    }

    /// Kills the process (SIGKILL) and waits for it: the network is gone for the browser.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One plain HTTP/1.1 request with a JSON body on loopback, as an API client sends it
/// (`Authorization: Bearer` when `bearer` is given); returns the status and the JSON
/// answer (`Value::Null` when the body is not JSON).
pub fn http_json(
    port: u16,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Result<(u16, Value), HarnessError> {
    let io = |what: &str| {
        let what = what.to_owned();
        move |source| HarnessError::Io { what, source }
    };
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(io("connect to the issuer"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(io("set a read timeout"))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(io("send the request"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(io("read the answer"))?;
    let text = String::from_utf8_lossy(&answer);
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let json = text
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    Ok((status, json))
}

/// Status code of a plain HTTP/1.1 GET on loopback, or `None` if nothing answers.
pub fn http_get_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// ChromeDriver plus one headless Chromium session.
pub struct Browser {
    driver_process: Child,
    /// `TMPDIR` of ChromeDriver and its Chromium: Chromium's profile and scratch folders
    /// (about 85 MB each) go here and are deleted with the browser, even when a test kills
    /// Chromium, which then cannot clean up after itself.
    scratch: PathBuf,
    /// The WebDriver session.
    pub driver: WebDriver,
}

impl Browser {
    /// Starts ChromeDriver on a free port and opens a fresh headless Chromium session.
    pub async fn start(settings: &Settings) -> Result<Self, HarnessError> {
        Self::start_with_flags(settings, &[]).await
    }

    /// Like [`Browser::start`], with extra Chromium flags (a fake camera, say).
    pub async fn start_with_flags(
        settings: &Settings,
        extra_flags: &[&str],
    ) -> Result<Self, HarnessError> {
        let port = free_port()?;
        let scratch =
            std::env::temp_dir().join(format!("ops-e2e-browser-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&scratch).map_err(|source| HarnessError::Io {
            what: format!("create {}", scratch.display()),
            source,
        })?;
        let mut driver_process = Command::new(&settings.chromedriver)
            .arg(format!("--port={port}"))
            .env("TMPDIR", &scratch)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                what: settings.chromedriver.display().to_string(),
                source,
            })?;
        let ready = wait_until(
            "ChromeDriver to listen",
            Duration::from_secs(20),
            async || http_get_status(port, "/status") == Some(200),
        )
        .await;
        if let Err(error) = ready {
            let _ = driver_process.kill();
            let _ = std::fs::remove_dir_all(&scratch);
            return Err(error);
        }
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(&settings.chromium.to_string_lossy())?;
        for flag in CHROMIUM_FLAGS.iter().chain(extra_flags) {
            caps.add_arg(flag)?;
        }
        let driver = match WebDriver::new(format!("http://127.0.0.1:{port}"), caps).await {
            Ok(driver) => driver,
            Err(error) => {
                let _ = driver_process.kill();
                let _ = std::fs::remove_dir_all(&scratch);
                return Err(error.into());
            }
        };
        driver.set_script_timeout(Duration::from_secs(30)).await?;
        Ok(Self {
            driver_process,
            scratch,
            driver,
        })
    }

    /// Runs an async script (the callback is the last argument) and returns its value.
    pub async fn run_async(&self, script: &str) -> Result<Value, HarnessError> {
        Ok(self
            .driver
            .execute_async(script, Vec::new())
            .await?
            .json()
            .clone())
    }

    /// Runs a synchronous script and returns its value.
    pub async fn run(&self, script: &str) -> Result<Value, HarnessError> {
        Ok(self
            .driver
            .execute(script, Vec::new())
            .await?
            .json()
            .clone())
    }

    /// Waits until an element with `data-testid="{id}"` is in the page.
    pub async fn wait_for_test_id(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<WebElement, HarnessError> {
        let selector = format!("[data-testid=\"{id}\"]");
        wait_until(&format!("element {selector}"), timeout, async || {
            self.driver.find(By::Css(selector.as_str())).await.is_ok()
        })
        .await?;
        Ok(self.driver.find(By::Css(selector.as_str())).await?)
    }

    /// Sets the viewport to `width`×`height` CSS pixels (a phone below 600) and saves a PNG screenshot under `settings.artifacts`.
    pub async fn screenshot(
        &self,
        settings: &Settings,
        name: &str,
        (width, height): (u32, u32),
    ) -> Result<PathBuf, HarnessError> {
        std::fs::create_dir_all(&settings.artifacts).map_err(|source| HarnessError::Io {
            what: format!("create {}", settings.artifacts.display()),
            source,
        })?;
        // Exact viewport (a headless window's size includes simulated browser chrome).
        let devtools = ChromeDevTools::new(self.driver.handle.clone());
        devtools
            .execute_cdp_with_params(
                "Emulation.setDeviceMetricsOverride",
                serde_json::json!({
                    "width": width, "height": height, "deviceScaleFactor": 1,
                    "mobile": width < 600,
                }),
            )
            .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let path = settings.artifacts.join(format!("{name}.png"));
        self.driver.screenshot(&path).await?;
        Ok(path)
    }

    /// Runs `source` in every document this browser opens from now on, before the page's
    /// own scripts (DevTools `Page.addScriptToEvaluateOnNewDocument`): a test double of a
    /// browser API the machine lacks, such as Web NFC.
    pub async fn add_script_on_new_documents(&self, source: &str) -> Result<(), HarnessError> {
        let devtools = ChromeDevTools::new(self.driver.handle.clone());
        devtools
            .execute_cdp_with_params(
                "Page.addScriptToEvaluateOnNewDocument",
                serde_json::json!({ "source": source }),
            )
            .await?;
        Ok(())
    }

    /// Ends the session and ChromeDriver.
    pub async fn close(mut self) {
        let _ = self.driver.clone().quit().await;
        let _ = self.driver_process.kill();
        let _ = self.driver_process.wait();
    }
}

impl Drop for Browser {
    /// A test that fails before [`Browser::close`] must not leave ChromeDriver (and its
    /// Chromium) running: they would hold the test's output pipe open.
    fn drop(&mut self) {
        // ChromeDriver's whole process tree: killing ChromeDriver alone leaves its
        // Chromium (and every renderer) running, and a suite of many browsers then runs
        // out of memory.
        kill_tree(self.driver_process.id());
        let _ = self.driver_process.kill();
        let _ = self.driver_process.wait();
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// Copies a build folder tree (to serve or modify a copy of it).
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), HarnessError> {
    ops_pwa::copy_tree(from, to).map_err(|source| HarnessError::Io {
        what: format!("copy {} to {}", from.display(), to.display()),
        source,
    })
}
