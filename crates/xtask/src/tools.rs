//! Installing the tools the build and the tests need, only where missing.
//!
//! Versions that work on this machine kind are recorded in `../shared/TOOLCHAIN.md`:
//! Trunk 0.21.14 (0.22 needs a newer rustc), the wasm-bindgen CLI at exactly the version
//! the workspace pins, wasm-opt from the npm package `binaryen` 132 (Debian's binaryen 108
//! produces a bundle that dies at start), and Debian's Chromium with its ChromeDriver.

use crate::process::{XtaskError, probe, run};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Trunk release that works with the machine's rustc.
pub const TRUNK_VERSION: &str = "0.21.14";
/// binaryen (wasm-opt) release from npm that produces working bundles.
pub const BINARYEN_VERSION: &str = "132.0.0";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// What a command is about to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Build the apps: wasm target, Trunk, wasm-bindgen, wasm-opt.
    Build,
    /// Drive a browser: Chromium and ChromeDriver.
    Browser,
    /// Everything.
    Test,
    /// Only the fuzzing tools: [`FUZZ_NIGHTLY`] and cargo-fuzz (`cargo xtask fuzz`).
    Fuzz,
    /// Everything but the fuzzing tools (`cargo xtask bench`).
    Bench,
}

/// Where the tools are, once ensured.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// `PATH` for child processes: project tools first.
    pub path_env: OsString,
    /// The Chromium binary.
    pub chromium: PathBuf,
    /// The ChromeDriver binary.
    pub chromedriver: PathBuf,
    /// Cargo's target folder for every build the xtask starts (see [`cargo_target_dir`]).
    pub cargo_target_dir: PathBuf,
    /// The nightly toolchain the apps' release wasm is built with ([`SIZE_NIGHTLY`]), or
    /// `None` when it could not be installed (the apps then build on stable, larger).
    pub size_nightly: Option<&'static str>,
}

/// The nightly toolchain that builds the apps' release wasm with the standard library
/// rebuilt for size (`-Zbuild-std`, `-Cpanic=immediate-abort`, no panic locations, no
/// `Debug` formatting): about 50 KB gzipped off the wallet. Pinned, so that every machine
/// builds the same bundle; only `rust-src` is needed (no prebuilt wasm standard library).
/// See docs/DECISIONS.md (bundle size).
pub const SIZE_NIGHTLY: &str = "nightly-2026-05-20";

/// The nightly toolchain the fuzz targets build with (cargo-fuzz needs a nightly): the
/// same pinned one as the apps' wasm, so a machine downloads one nightly, and a run today
/// builds the same as a run next month.
pub const FUZZ_NIGHTLY: &str = SIZE_NIGHTLY;

/// cargo-fuzz release installed when `cargo fuzz` is missing (a present one is used as is).
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// The flags [`SIZE_NIGHTLY`] builds the apps' wasm with (the `getrandom` backend from
/// `.cargo/config.toml` is repeated: this variable replaces that list).
pub const SIZE_RUSTFLAGS: &str = "--cfg getrandom_backend=\"wasm_js\" -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none";

/// Cargo's target folder: `CARGO_TARGET_DIR` if set; under CI (`CI=true`) a folder that
/// outlives the fresh clone CI builds in (`~/.cache/ops-wallet/target`), so a second run on
/// the same machine is incremental; otherwise `target/` in the workspace.
pub fn cargo_target_dir(root: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let in_ci = std::env::var("CI").is_ok_and(|value| value == "true");
    match (in_ci, std::env::var_os("HOME")) {
        (true, Some(home)) => PathBuf::from(home).join(".cache/ops-wallet/target"),
        _ => root.join("target"),
    }
}

/// Cargo's `--config` for the debug builds of the suite: dependencies (not the workspace's
/// own crates) at `opt-level = 1`. The tests spend most of their time in the dependencies'
/// P-256 arithmetic, which unoptimized is many times slower: `ops-wallet-engine`'s unit
/// tests took 58 s with it and 10 s without. Debug assertions and overflow checks stay on
/// everywhere, and warm CI runs do not rebuild dependencies, so only a cold run pays (about
/// a minute). See docs/FUZZING.md (suite time).
pub const FAST_DEPENDENCIES: [&str; 2] = ["--config", "profile.dev.package.\"*\".opt-level=1"];

/// Debug information of the suite's native debug builds (environment variable and value):
/// line tables only, so a panic's backtrace still names file and line, without the
/// variable and type information nobody reads in CI. Full debug information made the ~80
/// test binaries several GB and their linking a large part of the native test step.
pub const SUITE_DEBUG_INFO: (&str, &str) = ("CARGO_PROFILE_DEV_DEBUG", "line-tables-only");

/// Debug information of the wasm the browser tests run: none. wasm-bindgen-test-runner
/// rewrites each test wasm before Chromium loads it, and with debug information each was
/// 100-200 MB, which took longer than the tests. A panic still names its file and line
/// (that is not debug information) and stack traces keep function names.
pub const BROWSER_TEST_DEBUG_INFO: (&str, &str) = ("CARGO_PROFILE_DEV_DEBUG", "false");

/// Under CI (`CI=true`), cargo keeps no incremental-compilation state: nothing is edited
/// between two builds of a CI run, and that state took 7 GB of the cache folder.
pub fn no_incremental_in_ci(command: &mut Command) {
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        command.env("CARGO_INCREMENTAL", "0");
    }
}

/// Checks every tool `need` requires and installs the missing ones.
pub fn ensure(root: &Path, need: Need) -> Result<Toolchain, XtaskError> {
    let path_env = project_path(root);
    let toolchain = Toolchain {
        path_env,
        chromium: PathBuf::from(CHROMIUM),
        chromedriver: PathBuf::from(CHROMEDRIVER),
        cargo_target_dir: cargo_target_dir(root),
        size_nightly: None,
    };
    let mut toolchain = toolchain;
    if matches!(need, Need::Build | Need::Test | Need::Bench) {
        toolchain.size_nightly = ensure_size_nightly(&toolchain);
        ensure_wasm_target(&toolchain)?;
        ensure_trunk(&toolchain)?;
        ensure_wasm_bindgen(root, &toolchain)?;
        ensure_wasm_opt(root, &toolchain)?;
    }
    if matches!(need, Need::Browser | Need::Test | Need::Bench) {
        ensure_chromium(&toolchain)?;
    }
    if matches!(need, Need::Test | Need::Bench) {
        ensure_postgres(&toolchain)?;
        ensure_axe(root, &toolchain)?;
    }
    if matches!(need, Need::Test | Need::Fuzz) {
        ensure_fuzz_nightly(&toolchain)?;
        ensure_cargo_fuzz(&toolchain)?;
    }
    Ok(toolchain)
}

/// [`FUZZ_NIGHTLY`], installed through rustup when missing (minimal profile: the fuzz
/// build needs no standard-library source).
fn ensure_fuzz_nightly(toolchain: &Toolchain) -> Result<(), XtaskError> {
    let installed = || {
        probe(
            "rustup",
            ["run", FUZZ_NIGHTLY, "rustc", "--version"],
            &toolchain.path_env,
        )
    };
    if let Some(version) = installed() {
        ok("rust toolchain for fuzzing", &version);
        return Ok(());
    }
    run(
        &format!("installing {FUZZ_NIGHTLY} for the fuzz targets (rustup, under a minute)"),
        Command::new("rustup")
            .args(["toolchain", "install", FUZZ_NIGHTLY, "--profile", "minimal"])
            .env("PATH", &toolchain.path_env),
        &format!(
            "Check that rustup can reach its distribution server, then run `rustup toolchain install {FUZZ_NIGHTLY} --profile minimal`."
        ),
    )
}

/// cargo-fuzz, installed with `cargo install --locked` when `cargo fuzz` is missing.
fn ensure_cargo_fuzz(toolchain: &Toolchain) -> Result<(), XtaskError> {
    if let Some(version) = probe("cargo", ["fuzz", "--version"], &toolchain.path_env) {
        ok("cargo-fuzz", &version);
        return Ok(());
    }
    let mut command = Command::new("cargo");
    command
        .args([
            "install",
            "--locked",
            "cargo-fuzz",
            "--version",
            CARGO_FUZZ_VERSION,
        ])
        .env("PATH", &toolchain.path_env)
        // Its build is the tool's own, not the project's: keep it out of the cache folder.
        .env_remove("CARGO_TARGET_DIR");
    no_incremental_in_ci(&mut command);
    run(
        &format!(
            "installing cargo-fuzz {CARGO_FUZZ_VERSION} (cargo install --locked, about 2 minutes; once per machine)"
        ),
        &mut command,
        &format!(
            "Run `cargo install --locked cargo-fuzz --version {CARGO_FUZZ_VERSION}` by hand to see the full error."
        ),
    )
}

/// axe-core, the accessibility engine the end-to-end tests run on every screen.
pub const AXE_VERSION: &str = "4.10.2";

/// Where [`ensure_axe`] puts axe-core's browser script.
pub fn axe_script(root: &Path) -> PathBuf {
    root.join(".tools/node_modules/axe-core/axe.min.js")
}

fn ensure_axe(root: &Path, toolchain: &Toolchain) -> Result<(), XtaskError> {
    let manifest = root.join(".tools/node_modules/axe-core/package.json");
    let installed = std::fs::read_to_string(&manifest).unwrap_or_default();
    if axe_script(root).exists() && installed.contains(&format!("\"version\": \"{AXE_VERSION}\"")) {
        ok("axe-core", AXE_VERSION);
        return Ok(());
    }
    if probe("npm", ["--version"], &toolchain.path_env).is_none() {
        return Err(XtaskError::MissingTool(
            "npm is missing, and it installs axe-core for the accessibility checks: run `apt-get install -y nodejs npm`, then retry".into(),
        ));
    }
    run(
        &format!(
            "installing axe-core {AXE_VERSION} (npm) into .tools/ for the accessibility checks"
        ),
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(root.join(".tools"))
            .arg(format!("axe-core@{AXE_VERSION}"))
            .env("PATH", &toolchain.path_env),
        "Check that npm can reach its registry (`npm view axe-core version`).",
    )
}

/// `PATH` with the project's npm tools and cargo's install folder in front.
fn project_path(root: &Path) -> OsString {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from("/root/.cargo"));
    let mut parts = vec![
        root.join(".tools/node_modules/.bin"),
        cargo_home.join("bin"),
    ];
    if let Some(path) = std::env::var_os("PATH") {
        parts.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(parts).unwrap_or_default()
}

fn ok(tool: &str, version: &str) {
    println!("    ok: {tool} {version}");
}

/// [`SIZE_NIGHTLY`] with `rust-src`, installed when missing. A machine where rustup cannot
/// install it still builds the apps, on stable and larger, and says so.
fn ensure_size_nightly(toolchain: &Toolchain) -> Option<&'static str> {
    let has_source = || {
        probe(
            "rustup",
            ["run", SIZE_NIGHTLY, "rustc", "--print", "sysroot"],
            &toolchain.path_env,
        )
        .is_some_and(|sysroot| {
            Path::new(&sysroot)
                .join("lib/rustlib/src/rust/library/Cargo.lock")
                .exists()
        })
    };
    if has_source() {
        ok("rust toolchain for the apps' wasm", SIZE_NIGHTLY);
        return Some(SIZE_NIGHTLY);
    }
    let installed = run(
        "installing the pinned nightly Rust with its source (rustup, under a minute), to build the apps' wasm small",
        Command::new("rustup")
            .args([
                "toolchain",
                "install",
                SIZE_NIGHTLY,
                "--profile",
                "minimal",
                "--component",
                "rust-src",
            ])
            .env("PATH", &toolchain.path_env),
        "rustup could not install it; the apps are built on stable instead.",
    );
    if installed.is_ok() && has_source() {
        return Some(SIZE_NIGHTLY);
    }
    println!(
        "    note: {SIZE_NIGHTLY} is not available, so the apps' wasm is built on stable (about 50 KB gzipped larger); `rustup toolchain install {SIZE_NIGHTLY} --profile minimal --component rust-src` fixes it"
    );
    None
}

fn ensure_wasm_target(toolchain: &Toolchain) -> Result<(), XtaskError> {
    let installed = probe(
        "rustup",
        ["target", "list", "--installed"],
        &toolchain.path_env,
    )
    .unwrap_or_default();
    if installed
        .lines()
        .any(|line| line.trim() == "wasm32-unknown-unknown")
    {
        ok("rust target", "wasm32-unknown-unknown");
        return Ok(());
    }
    run(
        "installing the Rust target wasm32-unknown-unknown (rustup, under a minute)",
        Command::new("rustup")
            .args(["target", "add", "wasm32-unknown-unknown"])
            .env("PATH", &toolchain.path_env),
        "Check that rustup can reach its distribution server, then run `rustup target add wasm32-unknown-unknown`.",
    )
}

fn ensure_trunk(toolchain: &Toolchain) -> Result<(), XtaskError> {
    let wanted = format!("trunk {TRUNK_VERSION}");
    if probe("trunk", ["--version"], &toolchain.path_env).as_deref() == Some(wanted.as_str()) {
        ok("trunk", TRUNK_VERSION);
        return Ok(());
    }
    run(
        &format!(
            "installing Trunk {TRUNK_VERSION} (cargo install, about 10 minutes on 2 cores; once per machine)"
        ),
        Command::new("cargo")
            .args(["install", "trunk", "--version", TRUNK_VERSION, "--locked"])
            .env("PATH", &toolchain.path_env),
        &format!(
            "Run `cargo install trunk --version {TRUNK_VERSION} --locked` by hand to see the full error."
        ),
    )
}

/// The wasm-bindgen version pinned with `=` in the workspace manifest.
fn pinned_wasm_bindgen(root: &Path) -> Result<String, XtaskError> {
    let manifest =
        std::fs::read_to_string(root.join("Cargo.toml")).map_err(|source| XtaskError::Io {
            what: "read Cargo.toml".into(),
            source,
        })?;
    manifest
        .lines()
        .find_map(|line| {
            let rest = line.trim().strip_prefix("wasm-bindgen = \"=")?;
            rest.split('"').next().map(str::to_owned)
        })
        .ok_or_else(|| {
            XtaskError::MissingTool(
                "Cargo.toml must pin `wasm-bindgen = \"=X.Y.Z\"` so the CLI can match it".into(),
            )
        })
}

fn ensure_wasm_bindgen(root: &Path, toolchain: &Toolchain) -> Result<(), XtaskError> {
    let version = pinned_wasm_bindgen(root)?;
    let wanted = format!("wasm-bindgen {version}");
    let cli = probe("wasm-bindgen", ["--version"], &toolchain.path_env);
    let runner = probe(
        "wasm-bindgen-test-runner",
        ["--version"],
        &toolchain.path_env,
    );
    if cli.as_deref() == Some(wanted.as_str()) && runner.is_some() {
        ok("wasm-bindgen-cli", &version);
        return Ok(());
    }
    // Not `--locked`: the CLI's lock file pins a dependency version that is not published.
    run(
        &format!(
            "installing wasm-bindgen-cli {version} to match the pinned crate (cargo install, about 4 minutes)"
        ),
        Command::new("cargo")
            .args([
                "install",
                "wasm-bindgen-cli",
                "--version",
                &version,
                "--force",
            ])
            .env("PATH", &toolchain.path_env),
        &format!(
            "Run `cargo install wasm-bindgen-cli --version {version}` by hand to see the full error."
        ),
    )
}

fn ensure_wasm_opt(root: &Path, toolchain: &Toolchain) -> Result<(), XtaskError> {
    let found = probe("wasm-opt", ["--version"], &toolchain.path_env).unwrap_or_default();
    let major = BINARYEN_VERSION.split('.').next().unwrap_or_default();
    if found.contains(&format!("version {major}")) {
        ok("wasm-opt", &found);
        return Ok(());
    }
    if probe("npm", ["--version"], &toolchain.path_env).is_none() {
        return Err(XtaskError::MissingTool(
            "npm is missing, and it installs wasm-opt: run `apt-get install -y nodejs npm`, then retry".into(),
        ));
    }
    let prefix = root.join(".tools");
    run(
        &format!(
            "installing wasm-opt (npm package binaryen {BINARYEN_VERSION}) into .tools/ (under a minute)"
        ),
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(format!("binaryen@{BINARYEN_VERSION}"))
            .env("PATH", &toolchain.path_env),
        "Check that npm can reach its registry (`npm view binaryen version`).",
    )
}

fn ensure_chromium(toolchain: &Toolchain) -> Result<(), XtaskError> {
    let browser = probe(&toolchain.chromium, ["--version"], &toolchain.path_env);
    let driver = probe(&toolchain.chromedriver, ["--version"], &toolchain.path_env);
    if let (Some(browser), Some(driver)) = (&browser, &driver) {
        let major = |text: &str| {
            text.split_whitespace()
                .find(|word| word.chars().next().is_some_and(|c| c.is_ascii_digit()))
                .and_then(|version| version.split('.').next().map(str::to_owned))
        };
        if major(browser) == major(driver) {
            ok("chromium", browser);
            return Ok(());
        }
    }
    apt_install(
        toolchain,
        &["chromium", "chromium-driver"],
        "Chromium and ChromeDriver (about 2 minutes)",
        "Chromium and its ChromeDriver are missing or differ in version",
    )
}

/// Installs Debian `packages` (as root), or says in one line how to when not root.
fn apt_install(
    toolchain: &Toolchain,
    packages: &[&str],
    what: &str,
    why_missing: &str,
) -> Result<(), XtaskError> {
    let list = packages.join(" ");
    let is_root = probe("id", ["-u"], &toolchain.path_env).as_deref() == Some("0");
    if !is_root {
        return Err(XtaskError::MissingTool(format!(
            "{why_missing}: run `sudo apt-get install -y {list}`, then retry"
        )));
    }
    let apt = |args: &[&str]| {
        let mut command = Command::new("apt-get");
        command
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("PATH", &toolchain.path_env);
        command
    };
    let fix =
        format!("Run `apt-get update && apt-get install -y {list}` by hand to see the full error.");
    run(
        "updating Debian's package lists (apt-get update)",
        &mut apt(&["update", "-q"]),
        &fix,
    )?;
    let mut install_args = vec!["install", "-y", "-q"];
    install_args.extend_from_slice(packages);
    run(
        &format!("installing {what} from Debian (apt-get)"),
        &mut apt(&install_args),
        &fix,
    )
}

/// PostgreSQL for the issuer service's test suite (the tests start their own cluster on
/// loopback with `initdb` and `pg_ctl`; no server needs to be running).
fn ensure_postgres(toolchain: &Toolchain) -> Result<(), XtaskError> {
    let installed = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .any(|version| version.path().join("bin/initdb").is_file())
        })
        .unwrap_or(false);
    if installed {
        ok("postgresql", "(initdb found under /usr/lib/postgresql)");
        return Ok(());
    }
    apt_install(
        toolchain,
        &["postgresql"],
        "PostgreSQL (about a minute)",
        "PostgreSQL is missing (the issuer tests start one on loopback)",
    )
}
