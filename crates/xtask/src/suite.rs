//! `cargo xtask test`: every check and test of the project, in order of cost.

use crate::process::{TestTally, XtaskError, run, run_tests};
use crate::tools::{self, Need};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Packages whose code runs in the browser; linted for wasm32 too. (The transport test
/// fixture page is left out on purpose: it turns on `ops-transport-web`'s `test-hooks`,
/// and this lint checks the code the apps build; the native lint of the whole workspace
/// and the fixture's Trunk build cover the hooks.)
const WASM_PACKAGES: [&str; 9] = [
    "ops-wallet",
    "ops-pos",
    "ops-browser",
    "ops-core",
    "ops-transport",
    "ops-transport-web",
    "ops-qr-worker",
    "ops-wallet-engine",
    "ops-api",
];
/// Packages with `wasm-bindgen-test` tests that run in headless Chromium.
const BROWSER_TEST_PACKAGES: [&str; 3] = ["ops-wallet", "ops-pos", "ops-browser"];
/// The fake camera's video; `crates/ops-transport-web/webdriver.json` points Chromium at it.
const FAKE_CAMERA_VIDEO: &str = "/tmp/ops-fake-camera/payment.y4m";

/// Runs the whole suite; stops at the first failing step.
pub fn run_all(root: &Path) -> Result<(), XtaskError> {
    let started = Instant::now();
    let mut tally = TestTally::default();
    let toolchain = tools::ensure(root, Need::Test)?;
    let cargo = |args: &[&str]| {
        let mut command = Command::new("cargo");
        command
            .current_dir(root)
            .args(tools::FAST_DEPENDENCIES)
            .args(args)
            .env("PATH", &toolchain.path_env)
            .env("CARGO_TARGET_DIR", &toolchain.cargo_target_dir)
            .env(tools::SUITE_DEBUG_INFO.0, tools::SUITE_DEBUG_INFO.1);
        tools::no_incremental_in_ci(&mut command);
        command
    };
    let with_packages = |base: &[&str], packages: &[&str]| {
        let mut args: Vec<&str> = base.to_vec();
        for package in packages {
            args.extend(["-p", package]);
        }
        args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()
    };

    run(
        "checking formatting (cargo fmt)",
        &mut cargo(&["fmt", "--all", "--", "--check"]),
        "Run `cargo fmt --all` and commit the result.",
    )?;
    run(
        "linting native code (cargo clippy -D warnings)",
        &mut cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
        "Fix the lints above; `cargo clippy --workspace --all-targets -- -D warnings` reproduces them.",
    )?;
    let wasm_lint = with_packages(
        &["clippy", "--target", "wasm32-unknown-unknown", "--locked"],
        &WASM_PACKAGES,
    );
    let mut wasm_lint_args: Vec<&str> = wasm_lint.iter().map(String::as_str).collect();
    wasm_lint_args.extend(["--", "-D", "warnings"]);
    run(
        "building and linting the browser crates for wasm32 (cargo clippy --target wasm32-unknown-unknown)",
        &mut cargo(&wasm_lint_args),
        "Code that runs in the browser must build for wasm32-unknown-unknown; fix the errors above.",
    )?;
    run_tests(
        "running native tests (cargo test --workspace)",
        &mut cargo(&["test", "--workspace", "--locked", "--exclude", "ops-e2e"]),
        "A native test failed; the lines above name it.",
        &mut tally,
    )?;
    crate::fuzz::test_step(root, &toolchain)?;
    run(
        "writing the fake-camera video for the scanner test (animated QR of a payment test vector)",
        &mut cargo(&[
            "run",
            "--locked",
            "--quiet",
            "-p",
            "ops-transport",
            "--example",
            "fake_camera",
            "--",
            FAKE_CAMERA_VIDEO,
        ]),
        "The scanner's browser test needs this video; `cargo run -p ops-transport --example fake_camera` reproduces the error above.",
    )?;
    let browser_tests = with_packages(
        &["test", "--target", "wasm32-unknown-unknown", "--locked"],
        &BROWSER_TEST_PACKAGES,
    );
    let browser_test_args: Vec<&str> = browser_tests.iter().map(String::as_str).collect();
    run_tests(
        "running wasm-bindgen tests in headless Chromium",
        cargo(&browser_test_args)
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            )
            .env("CHROMEDRIVER", &toolchain.chromedriver)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
            .env(
                tools::BROWSER_TEST_DEBUG_INFO.0,
                tools::BROWSER_TEST_DEBUG_INFO.1,
            ),
        "A browser test failed; the lines above name it (the crate's webdriver.json holds Chromium's flags).",
        &mut tally,
    )?;
    run_tests(
        "running the transport browser tests (fake camera, Web NFC double) in headless Chromium",
        cargo(&[
            "test",
            "--target",
            "wasm32-unknown-unknown",
            "--locked",
            "-p",
            "ops-transport-web",
            "--",
            "--nocapture",
        ])
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        )
        .env("CHROMEDRIVER", &toolchain.chromedriver)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
        .env(
            tools::BROWSER_TEST_DEBUG_INFO.0,
            tools::BROWSER_TEST_DEBUG_INFO.1,
        ),
        "A transport browser test failed; the lines above name it (crates/ops-transport-web/webdriver.json holds Chromium's fake-camera flags; the decode times are printed above).",
        &mut tally,
    )?;
    crate::apps::build(root, &toolchain)?;
    crate::apps::build_test_pages(root, &toolchain)?;
    run(
        "building the issuer service for the end-to-end tests",
        &mut cargo(&["build", "--locked", "-p", "ops-issuer"]),
        "Read the compiler output above.",
    )?;
    let artifacts = root.join("target/e2e");
    run_tests(
        "running the end-to-end tests in headless Chromium (tests/)",
        e2e_env(
            &mut cargo(&[
                "test",
                "--locked",
                "-p",
                "ops-e2e",
                "--",
                "--test-threads=1",
            ]),
            root,
            &toolchain,
            &artifacts,
        ),
        "An end-to-end test failed; the lines above name it. Screenshots are in target/e2e/.",
        &mut tally,
    )?;
    println!(
        "\nAll checks passed in {:.1} minutes. Screenshots: {}",
        started.elapsed().as_secs_f64() / 60.0,
        artifacts.display()
    );
    println!("{} passed, {} failed", tally.passed, tally.failed);
    Ok(())
}

/// The environment the end-to-end harness reads (`ops_e2e::Settings`): the built apps, the
/// FI binary, Chromium and ChromeDriver, where screenshots go, the test pages, axe-core.
pub fn e2e_env<'c>(
    command: &'c mut Command,
    root: &Path,
    toolchain: &crate::tools::Toolchain,
    artifacts: &Path,
) -> &'c mut Command {
    command
        .env("OPS_DIST", root.join("dist"))
        .env(
            "OPS_ISSUER_BIN",
            toolchain.cargo_target_dir.join("debug/ops-issuer"),
        )
        .env("OPS_CHROMIUM", &toolchain.chromium)
        .env("OPS_CHROMEDRIVER", &toolchain.chromedriver)
        .env("OPS_ARTIFACTS", artifacts)
        .env("OPS_TEST_PAGES", root.join(crate::apps::TEST_PAGES))
        .env("OPS_AXE", crate::tools::axe_script(root))
}
