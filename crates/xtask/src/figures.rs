//! `cargo xtask figures`: the figures of a payment as a shopper feels it (issue 13), from
//! the end-to-end test that pays the POS through both fake cameras, written to
//! docs/FIGURES.md with the machine they were measured on.

use std::path::Path;
use std::process::Command;

use crate::process::{XtaskError, announce, run};
use crate::tools::{self, Need};

/// Builds the apps and the FI, runs the figures test, writes docs/FIGURES.md.
pub fn measure(root: &Path) -> Result<(), XtaskError> {
    let toolchain = tools::ensure(root, Need::Test)?;
    crate::apps::build(root, &toolchain)?;
    crate::apps::build_test_pages(root, &toolchain)?;
    let cargo = |args: &[&str]| {
        let mut command = Command::new("cargo");
        command
            .current_dir(root)
            .args(tools::FAST_DEPENDENCIES)
            .args(args)
            .env("PATH", &toolchain.path_env)
            .env("CARGO_TARGET_DIR", &toolchain.cargo_target_dir)
            .env(tools::SUITE_DEBUG_INFO.0, tools::SUITE_DEBUG_INFO.1);
        command
    };
    run(
        "building the issuer service",
        &mut cargo(&["build", "--locked", "-p", "ops-issuer"]),
        "Read the compiler output above.",
    )?;
    let artifacts = root.join("target/e2e");
    run(
        "paying the POS through both cameras, 1, 2 and 3 hops, three runs each",
        crate::suite::e2e_env(
            &mut cargo(&[
                "test",
                "--locked",
                "-p",
                "ops-e2e",
                "--test",
                "wallet_pos",
                "figures",
                "--",
                "--ignored",
                "--nocapture",
            ]),
            root,
            &toolchain,
            &artifacts,
        ),
        "The figures test failed; the lines above name the step.",
    )?;
    let table =
        std::fs::read_to_string(artifacts.join("figures.md")).map_err(|source| XtaskError::Io {
            what: "read target/e2e/figures.md".into(),
            source,
        })?;
    let machine = crate::machine::summary();
    let doc = format!(
        "# Figures of a payment (`cargo xtask figures`)\n\n\
         Measured by `tests/tests/wallet_pos.rs::figures_of_payments_through_the_cameras`: the\n\
         wallet app (phone size) pays the POS app (1280×800) in two headless Chromium\n\
         instances with the FI stopped. Each camera leg is what a camera would see: the test\n\
         reads the QR code a page shows (its canvas, decoded natively) and plays it to the\n\
         other browser's fake camera as a video, the payment's frames with every fourth\n\
         dropped. \"Charge → Approved\" runs from pressing Charge on the POS to the Approved\n\
         screen, both legs included; the decision time runs from the payment's last frame\n\
         read by the POS to the decision on screen (`data-decision-ms`). Three runs each.\n\n\
         Machine: {machine}. Release wasm builds, Chromium headless.\n\n{table}"
    );
    std::fs::write(root.join("docs/FIGURES.md"), doc).map_err(|source| XtaskError::Io {
        what: "write docs/FIGURES.md".into(),
        source,
    })?;
    announce("wrote docs/FIGURES.md");
    println!("{table}");
    Ok(())
}
