//! Building both apps into `dist/` and serving them.

use crate::process::{XtaskError, announce, copy_dir, run};
use crate::tools::Toolchain;
use std::path::Path;
use std::process::Command;

/// Builds the wallet and the POS in release mode, assembles `dist/` (wallet at the top,
/// POS in `dist/pos/`), writes each app's service worker and checks each manifest.
pub fn build(root: &Path, toolchain: &Toolchain) -> Result<(), XtaskError> {
    if toolchain.size_nightly.is_some() {
        // Trunk runs cargo `--offline`; the first build of the standard library from
        // source must fetch its dependencies. Building the smallest app part online does.
        let mut command = Command::new("cargo");
        command.current_dir(root).args([
            "build",
            "--target=wasm32-unknown-unknown",
            "--manifest-path",
            "crates/ops-qr-worker/Cargo.toml",
            "--profile",
            "wasm-release",
            "--bin",
            "ops-qr-worker",
        ]);
        size_env(&mut command, toolchain);
        run(
            "building the standard library for wasm from source (pinned nightly, once per machine)",
            &mut command,
            "Read the compiler output above; the build falls back to stable when the nightly is missing.",
        )?;
    }
    let trunk = |step: &str, args: &[&str]| trunk_build(root, toolchain, step, args);
    trunk("building the wallet (Trunk, release)", &[])?;
    trunk(
        "building the POS (Trunk, release)",
        &[
            "pos/index.html",
            "--dist",
            "target/trunk/pos",
            "--public-url",
            "/pos/",
        ],
    )?;

    announce("assembling dist/ and generating the service workers");
    let dist = root.join("dist");
    if dist.exists() {
        std::fs::remove_dir_all(&dist).map_err(|source| XtaskError::Io {
            what: "remove the old dist/".into(),
            source,
        })?;
    }
    copy_dir(&root.join("target/trunk/wallet"), &dist)?;
    copy_dir(&root.join("target/trunk/pos"), &dist.join("pos"))?;
    // The POS scans with the wallet's QR worker: the same three files beside it, so its
    // service worker precaches them and it decodes offline like the wallet.
    for file in [
        "ops-qr-worker.js",
        "ops-qr-worker_bg.wasm",
        "ops-qr-worker_loader.js",
    ] {
        std::fs::copy(dist.join(file), dist.join("pos").join(file)).map_err(|source| {
            XtaskError::Io {
                what: format!("copy the QR worker's {file} beside the POS"),
                source,
            }
        })?;
    }
    for app in ops_pwa::APPS {
        let finished = app.finish_build(&dist).map_err(|source| XtaskError::App {
            app: app.name,
            source,
        })?;
        println!(
            "    {:<6} {} files precached, version {}, manifest display {}",
            app.name,
            finished.precache.urls.len(),
            finished.precache.version,
            finished.manifest.display,
        );
        for url in finished
            .precache
            .urls
            .iter()
            .filter(|u| u.ends_with(".wasm"))
        {
            let path = dist.join(app.dir).join(url);
            let bytes = std::fs::read(&path).map_err(|source| XtaskError::Io {
                what: format!("read {}", path.display()),
                source,
            })?;
            let gzipped = crate::size::gzip_len(&bytes);
            // The QR worker is a separate file with no budget of its own.
            let budgeted = !url.contains("qr-worker");
            let budget = crate::size::APP_WASM_GZIP_BUDGET;
            println!(
                "           {url}: {} bytes, {gzipped} bytes gzipped{}",
                bytes.len(),
                if budgeted {
                    format!(" (budget {} KB)", budget / 1000)
                } else {
                    String::new()
                }
            );
            if budgeted && gzipped > budget {
                // The budget holds for the build the pinned nightly makes; a stable
                // fallback (no nightly on this machine) is reported, not failed.
                if toolchain.size_nightly.is_some() {
                    return Err(XtaskError::OverBudget {
                        file: url.clone(),
                        gzipped,
                        budget,
                    });
                }
                println!(
                    "           OVER BUDGET by {} bytes gzipped (built on stable: the pinned nightly was not available)",
                    gzipped - budget
                );
            }
        }
    }
    Ok(())
}

/// The environment of every release wasm build: the target folder, and the pinned
/// nightly with the standard library rebuilt for size when it is installed.
fn size_env(command: &mut Command, toolchain: &Toolchain) {
    command
        .env("PATH", &toolchain.path_env)
        .env("CARGO_TARGET_DIR", &toolchain.cargo_target_dir);
    if let Some(nightly) = toolchain.size_nightly {
        command
            .env("RUSTUP_TOOLCHAIN", nightly)
            .env("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort")
            .env("CARGO_UNSTABLE_BUILD_STD_FEATURES", "optimize_for_size")
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
                crate::tools::SIZE_RUSTFLAGS,
            );
    }
}

/// Runs `trunk build --release=true ARGS` in the workspace root.
fn trunk_build(
    root: &Path,
    toolchain: &Toolchain,
    step: &str,
    args: &[&str],
) -> Result<(), XtaskError> {
    // Trunk copies wasm-bindgen's whole `snippets/` folder, shared by every build in the
    // target folder: without this, one page's JavaScript snippets end up in the next
    // app's `dist/` (and its service worker's precache).
    let snippets = toolchain
        .cargo_target_dir
        .join("wasm-bindgen/release/snippets");
    if snippets.exists() {
        std::fs::remove_dir_all(&snippets).map_err(|source| XtaskError::Io {
            what: format!("remove {}", snippets.display()),
            source,
        })?;
    }
    let mut command = Command::new("trunk");
    command
        .current_dir(root)
        .args(["build", "--release=true"])
        .args(args)
        .env("PATH", &toolchain.path_env)
        // Trunk's own colour codes garble CI logs.
        .env("NO_COLOR", "true");
    size_env(&mut command, toolchain);
    run(
        step,
        &mut command,
        "Read the compiler output above; `trunk build --release` reproduces it.",
    )
}

/// Folder of the test-only fixture pages (never part of `dist/`).
pub const TEST_PAGES: &str = "target/trunk/test-pages";

/// Builds the test-only fixture pages into [`TEST_PAGES`]; the end-to-end tests serve them
/// next to a copy of the apps.
pub fn build_test_pages(root: &Path, toolchain: &Toolchain) -> Result<(), XtaskError> {
    trunk_build(
        root,
        toolchain,
        "building the WebAuthn test fixture page (Trunk, test only)",
        &[
            "tests/webauthn-page/index.html",
            "--dist",
            &format!("{TEST_PAGES}/webauthn"),
            "--public-url",
            "/test/webauthn/",
        ],
    )?;
    build_transport_page(root, toolchain)
}

/// Builds only the transport test fixture page (with its QR worker) into [`TEST_PAGES`].
pub fn build_transport_page(root: &Path, toolchain: &Toolchain) -> Result<(), XtaskError> {
    trunk_build(
        root,
        toolchain,
        "building the transport test fixture page with its QR decoder worker (Trunk, test only)",
        &[
            "tests/transport-page/index.html",
            "--dist",
            &format!("{TEST_PAGES}/transport"),
            "--public-url",
            "/test/transport/",
        ],
    )
}

/// Serves `dist/` with the issuer service until interrupted.
pub fn serve(root: &Path, toolchain: &Toolchain, addr: &str) -> Result<(), XtaskError> {
    let port = addr.rsplit(':').next().unwrap_or("8080");
    println!(
        "\n    The wallet will be at http://localhost:{port}/ and the POS at http://localhost:{port}/pos/ (Ctrl-C stops)."
    );
    run(
        "starting the issuer service (cargo run --release -p ops-issuer)",
        Command::new("cargo")
            .current_dir(root)
            .args([
                "run",
                "--release",
                "--quiet",
                "-p",
                "ops-issuer",
                "--",
                "--dist",
            ])
            .arg(root.join("dist"))
            .args(["--addr", addr])
            .env("CARGO_TARGET_DIR", &toolchain.cargo_target_dir),
        "If the port is taken, pass another: `cargo xtask run --addr 127.0.0.1:8081`.",
    )
}
