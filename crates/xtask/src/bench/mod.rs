//! `cargo xtask bench`: the performance figures of issue 15, written to
//! docs/PERFORMANCE.md with the machine they were measured on.
//!
//! Every source of figures is a benchmark or an ignored test that prints `BENCH` lines
//! (format in [`results`]); this command runs each source several times, collects the
//! lines and writes a table per section with the median, minimum and maximum of each
//! figure. A source that fails leaves its sections out and is named, with the reason,
//! under "Not measured yet"; the command then fails after writing the document.

mod report;
mod results;
mod sizes;

use crate::process::{XtaskError, announce, run, run_collecting};
use crate::tools::{self, Need, Toolchain};
use results::Figures;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Runs per figure when neither `--runs` nor `OPS_BENCH_RUNS` says otherwise.
pub const DEFAULT_RUNS: usize = 3;

/// The sources, by the names `--only` takes, with the sections each fills.
const SOURCES: [(&str, &str); 7] = [
    (
        "core",
        "payment size and native verification (ops-core bench `figures`)",
    ),
    (
        "transport",
        "animated-QR transfer next to BC-UR (ops-transport bench `figures`)",
    ),
    (
        "wasm",
        "verification in headless Chromium (ops-core test `verify_wasm`)",
    ),
    (
        "settlement",
        "settlement deposits per second (ops-issuer bench `deposits`)",
    ),
    ("sizes", "bundle sizes (release build of the apps)"),
    (
        "worker",
        "QR decode time in the worker (end-to-end test `transport_browser`)",
    ),
    (
        "coldstart",
        "offline cold start (end-to-end test `pwa_offline`)",
    ),
];

/// What `cargo xtask bench` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Runs per figure.
    pub runs: usize,
    /// Only these sources (all when `None`); the result then goes to the target folder.
    pub only: Option<Vec<String>>,
}

impl Options {
    /// Reads `[--runs N] [--only a,b]`; `OPS_BENCH_RUNS` sets the runs when `--runs` does
    /// not.
    pub fn parse(args: &[String]) -> Option<Self> {
        let from_env = std::env::var("OPS_BENCH_RUNS")
            .ok()
            .and_then(|v| v.parse().ok());
        let mut options = Self {
            runs: from_env.filter(|n| *n > 0).unwrap_or(DEFAULT_RUNS),
            only: None,
        };
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            match arg.as_str() {
                "--runs" => options.runs = rest.next()?.parse().ok().filter(|n| *n > 0)?,
                "--only" => {
                    let names: Vec<String> = rest
                        .next()?
                        .split(',')
                        .map(|s| s.trim().to_owned())
                        .collect();
                    if names
                        .iter()
                        .any(|n| !SOURCES.iter().any(|(name, _)| name == n))
                    {
                        return None;
                    }
                    options.only = Some(names);
                }
                _ => return None,
            }
        }
        Some(options)
    }

    fn wants(&self, source: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == source))
    }
}

/// Everything a source needs to run.
struct Bench<'a> {
    root: &'a Path,
    toolchain: &'a Toolchain,
    runs: usize,
    figures: Figures,
    missing: Vec<(String, String)>,
}

/// Runs the sources, writes the report.
pub fn measure(root: &Path, options: &Options) -> Result<(), XtaskError> {
    let started = Instant::now();
    let load_at_start = crate::machine::load_average();
    let date = crate::machine::output_of("date", ["-u", "+%Y-%m-%d %H:%M UTC"], None)
        .unwrap_or_else(|| "an unknown date".into());
    let toolchain = tools::ensure(root, Need::Bench)?;
    let mut bench = Bench {
        root,
        toolchain: &toolchain,
        runs: options.runs,
        figures: Figures::default(),
        missing: Vec::new(),
    };
    for (name, what) in SOURCES {
        if !options.wants(name) {
            continue;
        }
        let outcome = match name {
            "core" => bench.core(),
            "transport" => bench.transport(),
            "wasm" => bench.wasm(),
            "settlement" => bench.settlement(),
            "sizes" => bench.sizes(),
            "worker" => bench.worker(),
            _ => bench.cold_start(),
        };
        if let Err(error) = outcome {
            println!("\n    not measured: {what}: {error}");
            bench.missing.push((what.to_owned(), error.to_string()));
        }
    }
    let context = report::Context {
        runs: options.runs,
        machine: crate::machine::summary(),
        system: crate::machine::system(),
        rustc: crate::machine::output_of("rustc", ["--version"], Some(&toolchain.path_env))
            .unwrap_or_else(|| "rustc (version unknown)".into()),
        chromium: crate::machine::output_of(
            &toolchain.chromium.to_string_lossy(),
            ["--version"],
            None,
        )
        .unwrap_or_else(|| "Chromium (version unknown)".into()),
        date,
        load_at_start,
        load_at_end: crate::machine::load_average(),
        minutes: started.elapsed().as_secs_f64() / 60.0,
        missing: bench.missing.clone(),
    };
    let doc = report::render(&bench.figures, &context);
    let path = match options.only {
        None => root.join("docs/PERFORMANCE.md"),
        Some(_) => toolchain.cargo_target_dir.join("PERFORMANCE-partial.md"),
    };
    std::fs::write(&path, &doc).map_err(|source| XtaskError::Io {
        what: format!("write {}", path.display()),
        source,
    })?;
    announce(&format!(
        "wrote {} in {:.1} minutes",
        path.display(),
        context.minutes
    ));
    if bench.missing.is_empty() {
        Ok(())
    } else {
        Err(XtaskError::MissingTool(format!(
            "{} source(s) not measured (listed in {}): {}",
            bench.missing.len(),
            path.display(),
            bench
                .missing
                .iter()
                .map(|(what, _)| what.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        )))
    }
}

impl Bench<'_> {
    /// `cargo ARGS` in the workspace with the project's tools and target folder.
    fn cargo(&self, args: &[&str]) -> Command {
        let mut command = Command::new("cargo");
        command
            .current_dir(self.root)
            .args(args)
            .env("PATH", &self.toolchain.path_env)
            .env("CARGO_TARGET_DIR", &self.toolchain.cargo_target_dir);
        command
    }

    /// `cargo ARGS` for the debug builds the end-to-end tests run, as `cargo xtask test`
    /// builds them (dependencies optimised).
    fn cargo_debug(&self, args: &[&str]) -> Command {
        let mut command = self.cargo(&[]);
        command.args(tools::FAST_DEPENDENCIES).args(args);
        command
    }

    /// Runs `make(run)` for every run and collects its `BENCH` lines; fails when a run
    /// fails or prints none.
    fn collect(
        &mut self,
        step: &str,
        fix: &str,
        runs: usize,
        make: &dyn Fn(&Self, usize) -> Command,
    ) -> Result<(), XtaskError> {
        let mut gathered = Figures::default();
        for run in 0..runs {
            let output = run_collecting(
                &format!("{step} (run {} of {runs})", run + 1),
                &mut make(self, run),
                fix,
            )?;
            if gathered.add_output(&output) == 0 {
                return Err(XtaskError::MissingTool(format!(
                    "{step} printed no BENCH line"
                )));
            }
        }
        // Only whole sets of runs reach the report.
        for section in gathered.sections() {
            for (row, column, unit, values) in gathered.in_section(section) {
                for value in values {
                    self.figures.add(results::Sample {
                        key: results::Key {
                            section: section.to_owned(),
                            row: row.to_owned(),
                            column: column.to_owned(),
                        },
                        value: *value,
                        unit: unit.to_owned(),
                    });
                }
            }
        }
        Ok(())
    }

    fn core(&mut self) -> Result<(), XtaskError> {
        self.collect(
            "payment sizes and native verification (cargo bench -p ops-core --bench figures)",
            "`cargo bench -p ops-core --bench figures` reproduces the error above.",
            self.runs,
            &|b, _| b.cargo(&["bench", "--locked", "-p", "ops-core", "--bench", "figures"]),
        )
    }

    fn transport(&mut self) -> Result<(), XtaskError> {
        // The payments measured by `core`, when it ran; the bench's defaults otherwise.
        let size = |row: &str| {
            self.figures
                .median("Payment size", row, "all certificates carried")
        };
        let payments = match (size("1 hop"), size("3 hops")) {
            (Some(one), Some(three)) => format!("1-hop={one:.0},3-hop={three:.0}"),
            _ => "1-hop=672,3-hop=1537".to_owned(),
        };
        self.collect(
            "animated-QR transfer next to BC-UR (cargo bench -p ops-transport --bench figures)",
            "`cargo bench -p ops-transport --bench figures` reproduces the error above.",
            self.runs,
            &|b, run| {
                let mut command = b.cargo(&[
                    "bench",
                    "--locked",
                    "-p",
                    "ops-transport",
                    "--bench",
                    "figures",
                ]);
                command
                    .env("OPS_BENCH_RUN", run.to_string())
                    .env("OPS_BENCH_PAYMENT_BYTES", &payments);
                command
            },
        )
    }

    fn wasm(&mut self) -> Result<(), XtaskError> {
        let chromedriver = self.toolchain.chromedriver.clone();
        self.collect(
            "verification in headless Chromium (ops-core test verify_wasm, release wasm)",
            "The wasm verification test failed; crates/ops-core/webdriver.json holds Chromium's flags.",
            self.runs,
            &|b, _| {
                let mut command = b.cargo(&[
                    "test",
                    "--release",
                    "--locked",
                    "--target",
                    "wasm32-unknown-unknown",
                    "-p",
                    "ops-core",
                    "--test",
                    "verify_wasm",
                    "--",
                    "--include-ignored",
                    "--nocapture",
                ]);
                command
                    .env(
                        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                        "wasm-bindgen-test-runner",
                    )
                    .env("CHROMEDRIVER", &chromedriver)
                    .env("WASM_BINDGEN_TEST_TIMEOUT", "120");
                command
            },
        )
    }

    fn settlement(&mut self) -> Result<(), XtaskError> {
        self.collect(
            "settlement throughput on SQLite and PostgreSQL (cargo bench -p ops-issuer --bench deposits)",
            "`cargo bench -p ops-issuer --bench deposits` reproduces the error above (it needs PostgreSQL's initdb).",
            self.runs,
            &|b, _| b.cargo(&["bench", "--locked", "-p", "ops-issuer", "--bench", "deposits"]),
        )
    }

    /// Builds the apps (needed by the end-to-end sources too) and measures their sizes.
    fn sizes(&mut self) -> Result<(), XtaskError> {
        crate::apps::build(self.root, self.toolchain)?;
        announce("bundle sizes: raw, gzip, brotli");
        let lines = sizes::lines(&self.root.join("dist"))?;
        print!("{lines}");
        self.figures.add_output(&lines);
        Ok(())
    }

    /// The end-to-end harness's prerequisites: the apps (built by [`Self::sizes`] when it
    /// ran) and the FI binary. Returns where screenshots go.
    fn e2e_ready(&self) -> Result<PathBuf, XtaskError> {
        if !self.root.join("dist/index.html").exists() {
            crate::apps::build(self.root, self.toolchain)?;
        }
        run(
            "building the issuer service for the end-to-end figures",
            &mut self.cargo_debug(&["build", "--locked", "-p", "ops-issuer"]),
            "Read the compiler output above.",
        )?;
        Ok(self.root.join("target/e2e"))
    }

    fn e2e_command(&self, artifacts: &Path, args: &[&str]) -> Command {
        let mut command = self.cargo_debug(&["test", "--locked", "-p", "ops-e2e"]);
        command.args(args);
        crate::suite::e2e_env(&mut command, self.root, self.toolchain, artifacts);
        command
    }

    fn worker(&mut self) -> Result<(), XtaskError> {
        // Fresh test pages: a page from an older build would measure older code.
        crate::apps::build_transport_page(self.root, self.toolchain)?;
        let artifacts = self.e2e_ready()?;
        self.collect(
            "QR decode per 640x480 camera frame in the worker (end-to-end, headless Chromium)",
            "The transport end-to-end test failed; the lines above name the step.",
            self.runs,
            &|b, _| {
                b.e2e_command(
                    &artifacts,
                    &[
                        "--test",
                        "transport_browser",
                        "the_scanner_decodes_a_payment_in_the_qr_worker_byte_for_byte",
                        "--",
                        "--nocapture",
                    ],
                )
            },
        )
    }

    fn cold_start(&mut self) -> Result<(), XtaskError> {
        let artifacts = self.e2e_ready()?;
        self.collect(
            "offline cold start from the service-worker cache (end-to-end, headless Chromium)",
            "The cold-start test failed; the lines above name the step.",
            self.runs,
            &|b, _| {
                b.e2e_command(
                    &artifacts,
                    &[
                        "--test",
                        "pwa_offline",
                        "cold_start_offline_figures",
                        "--",
                        "--ignored",
                        "--nocapture",
                    ],
                )
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn options_take_runs_and_known_sources_only() {
        let o = Options::parse(&args("--runs 5 --only core,sizes")).unwrap();
        assert_eq!(o.runs, 5);
        assert!(o.wants("core") && o.wants("sizes") && !o.wants("wasm"));
        assert_eq!(Options::parse(&args("--runs 0")), None);
        assert_eq!(Options::parse(&args("--only nonsense")), None);
        assert_eq!(Options::parse(&args("--fast")), None);
        assert!(Options::parse(&[]).is_some_and(|o| o.wants("coldstart")));
    }
}
