//! `cargo xtask`: the project's commands, usable on a fresh machine.
//!
//! - `cargo xtask run`: installs what is missing, builds both apps in release mode and
//!   serves the wallet at `http://localhost:8080/` and the POS at `/pos/`.
//! - `cargo xtask test`: installs what is missing, then runs every check and test: format,
//!   lints, native tests, `wasm-bindgen-test` in headless Chromium, a release build of the
//!   apps, and the end-to-end browser tests; every fuzz target runs too, for a bounded
//!   time (docs/FUZZING.md).
//! - `cargo xtask fuzz [target|all] [seconds]`: runs one fuzz target, or all of them side
//!   by side, for longer (default 600 s each).
//! - `cargo xtask build`: only builds the apps into `dist/`.
//! - `cargo xtask icons`: renders the app icons from their SVG sources (needs Chromium).
//! - `cargo xtask figures`: a payment's figures as a shopper feels it (docs/FIGURES.md).
//! - `cargo xtask bench [--runs N] [--only SOURCE,…]`: the performance figures of issue 15
//!   (docs/PERFORMANCE.md): sizes, transfer, verification, decode, settlement, cold start.

mod apps;
mod bench;
mod federation;
mod figures;
mod fuzz;
mod icons;
mod machine;
mod process;
mod size;
mod suite;
mod tools;

use process::XtaskError;
use std::path::PathBuf;

const USAGE: &str = "usage: cargo xtask <run [--addr 127.0.0.1:8080] [--second-fi] | test | fuzz [target|all] [seconds] | build | icons | figures | bench [--runs N] [--only core,transport,wasm,settlement,sizes,worker,coldstart]>";

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nxtask: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn dispatch(args: &[String]) -> Result<(), XtaskError> {
    let root = workspace_root();
    match args.first().map(String::as_str) {
        Some("run") => {
            let mut addr = "127.0.0.1:8080".to_owned();
            let mut second_fi = false;
            let mut rest = args.iter().skip(1);
            while let Some(arg) = rest.next() {
                match (arg.as_str(), rest.clone().next()) {
                    ("--addr", Some(a)) => {
                        addr = a.clone();
                        rest.next();
                    }
                    ("--second-fi", _) => second_fi = true,
                    _ => return Err(XtaskError::Usage(USAGE)),
                }
            }
            let toolchain = tools::ensure(&root, tools::Need::Build)?;
            apps::build(&root, &toolchain)?;
            if second_fi {
                federation::serve(&root, &toolchain, &addr)
            } else {
                apps::serve(&root, &toolchain, &addr)
            }
        }
        Some("test") => suite::run_all(&root),
        Some("fuzz") => {
            let (target, seconds) = fuzz_args(&args[1..])?;
            let toolchain = tools::ensure(&root, tools::Need::Fuzz)?;
            fuzz::on_demand(&root, &toolchain, target, seconds)
        }
        Some("build") => {
            let toolchain = tools::ensure(&root, tools::Need::Build)?;
            apps::build(&root, &toolchain)
        }
        Some("icons") => {
            let toolchain = tools::ensure(&root, tools::Need::Browser)?;
            icons::render(&root, &toolchain)
        }
        Some("figures") => figures::measure(&root),
        Some("bench") => {
            let options = bench::Options::parse(&args[1..]).ok_or(XtaskError::Usage(USAGE))?;
            bench::measure(&root, &options)
        }
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(XtaskError::Usage(USAGE)),
    }
}

/// `[target|all] [seconds]` of `cargo xtask fuzz`: a lone number is the seconds.
fn fuzz_args(args: &[String]) -> Result<(Option<&str>, u64), XtaskError> {
    let seconds = |text: &str| text.parse::<u64>().ok().filter(|s| *s > 0);
    match args {
        [] => Ok((None, fuzz::ON_DEMAND_SECONDS)),
        [one] => Ok(match seconds(one) {
            Some(s) => (None, s),
            None => (Some(one.as_str()), fuzz::ON_DEMAND_SECONDS),
        }),
        [target, time] => seconds(time)
            .map(|s| (Some(target.as_str()), s))
            .ok_or(XtaskError::Usage(USAGE)),
        _ => Err(XtaskError::Usage(USAGE)),
    }
}

/// The workspace root: two levels above this crate.
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(|crates| crates.parent())
        .map_or(manifest.clone(), PathBuf::from)
}
