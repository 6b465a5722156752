//! Fuzzing with cargo-fuzz and libFuzzer: the bounded step of `cargo xtask test` and the
//! longer on-demand runs of `cargo xtask fuzz [target] [seconds]` (docs/FUZZING.md).
//!
//! The targets are the `[[bin]]`s of `fuzz/Cargo.toml`, built once with the pinned nightly
//! ([`crate::tools::FUZZ_NIGHTLY`]) in release mode with debug assertions (so integer
//! overflow is a crash) and without a sanitizer (the workspace forbids `unsafe`; a
//! sanitizer would halve the executions for bugs safe Rust cannot have). They then run
//! side by side, one per core, each for a bounded time. Seeds are read from
//! `fuzz/corpus/<target>/` and never written; what libFuzzer finds goes to a working corpus
//! beside the build (kept between runs, so coverage accumulates), crashes to
//! `<target dir>/fuzz/artifacts/<target>/`. Any crash, timeout or out-of-memory fails.

use crate::process::{XtaskError, announce, run};
use crate::tools::{FUZZ_NIGHTLY, Toolchain};
use std::fs::File;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Seconds each target runs in `cargo xtask test` unless `OPS_FUZZ_SECONDS` says otherwise.
/// Twelve targets on two cores at 15 s each take 90 s; the working corpus outlives the
/// run, so coverage keeps growing from one CI run to the next (docs/FUZZING.md).
pub const TEST_SECONDS: u64 = 15;
/// Seconds each target runs in `cargo xtask fuzz` when no time is given.
pub const ON_DEMAND_SECONDS: u64 = 600;
/// The environment variable that overrides [`TEST_SECONDS`].
pub const SECONDS_ENV: &str = "OPS_FUZZ_SECONDS";
/// libFuzzer's limit for one input: slower is reported as a hang (a bug in a decoder).
const UNIT_TIMEOUT_SECONDS: u64 = 10;
/// libFuzzer's memory limit per process, in MB: well above any decoder's bounded needs.
const RSS_LIMIT_MB: u64 = 1024;
/// Lines of a failing target's log shown in the error.
const LOG_TAIL_LINES: usize = 40;

/// Where the fuzzing of one checkout lives.
#[derive(Debug, Clone)]
pub struct FuzzPaths {
    /// The cargo-fuzz crate (`fuzz/`).
    pub fuzz_dir: PathBuf,
    /// Cargo's target folder for the fuzz build (`<target dir>/fuzz`).
    pub target_dir: PathBuf,
}

impl FuzzPaths {
    /// The paths for the checkout at `root` built into `toolchain`'s target folder (under
    /// CI the cache folder, so the build and the working corpus outlive the clone).
    pub fn new(root: &Path, toolchain: &Toolchain) -> Self {
        Self {
            fuzz_dir: root.join("fuzz"),
            target_dir: toolchain.cargo_target_dir.join("fuzz"),
        }
    }

    /// The seed corpus of `target`, in the repository (read only).
    fn seeds(&self, target: &str) -> PathBuf {
        self.fuzz_dir.join("corpus").join(target)
    }

    /// The working corpus of `target`: where libFuzzer writes the inputs it finds.
    fn working_corpus(&self, target: &str) -> PathBuf {
        self.target_dir.join("corpus").join(target)
    }

    /// Where a crashing input of `target` is written.
    fn artifacts(&self, target: &str) -> PathBuf {
        self.target_dir.join("artifacts").join(target)
    }

    /// The log of `target`'s last run.
    fn log(&self, target: &str) -> PathBuf {
        self.target_dir.join("logs").join(format!("{target}.log"))
    }
}

/// The fuzz targets: the `[[bin]]` names of `fuzz/Cargo.toml`, in file order.
pub fn targets(paths: &FuzzPaths) -> Result<Vec<String>, XtaskError> {
    let manifest = paths.fuzz_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|source| XtaskError::Io {
        what: format!("read {}", manifest.display()),
        source,
    })?;
    Ok(bin_names(&text))
}

/// The `name`s of the `[[bin]]` tables of a Cargo manifest.
fn bin_names(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin
            && let Some(value) = line
                .strip_prefix("name")
                .map(str::trim_start)
                .and_then(|rest| rest.strip_prefix('='))
        {
            names.push(value.trim().trim_matches('"').to_owned());
        }
    }
    names
}

/// The host's target triple as the fuzz nightly sees it (`x86_64-unknown-linux-gnu`).
fn host_triple(toolchain: &Toolchain) -> Result<String, XtaskError> {
    crate::process::probe(
        "rustup",
        ["run", FUZZ_NIGHTLY, "rustc", "-vV"],
        &toolchain.path_env,
    )
    .and_then(|info| {
        info.lines()
            .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
    })
    .ok_or_else(|| {
        XtaskError::MissingTool(format!(
            "`rustup run {FUZZ_NIGHTLY} rustc -vV` names no host; install it with `rustup toolchain install {FUZZ_NIGHTLY} --profile minimal`"
        ))
    })
}

/// Builds the fuzz targets (`only` one, or all) and returns the folder of their binaries.
pub fn build(
    paths: &FuzzPaths,
    toolchain: &Toolchain,
    only: Option<&str>,
) -> Result<PathBuf, XtaskError> {
    let triple = host_triple(toolchain)?;
    let mut command = Command::new("cargo");
    command
        .current_dir(&paths.fuzz_dir)
        .args(["fuzz", "build", "--release", "--debug-assertions"])
        .args(["--sanitizer", "none", "--codegen-units", "16"])
        .args(["--target", &triple, "--target-dir"])
        .arg(&paths.target_dir)
        .args(only)
        .env("PATH", &toolchain.path_env)
        .env("RUSTUP_TOOLCHAIN", FUZZ_NIGHTLY)
        .stdin(Stdio::null());
    crate::tools::no_incremental_in_ci(&mut command);
    let what = only.map_or_else(
        || "every fuzz target".to_owned(),
        |t| format!("fuzz target {t}"),
    );
    run(
        &format!(
            "building {what} (cargo fuzz build, {FUZZ_NIGHTLY}, release with debug assertions)"
        ),
        &mut command,
        "Read the compiler output above; `cd fuzz && cargo fuzz build` reproduces it.",
    )?;
    Ok(paths.target_dir.join(triple).join("release"))
}

/// What one target's run did, from libFuzzer's final statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FuzzStats {
    /// Inputs executed (`stat::number_of_executed_units`, or the `DONE` line's `#N`).
    pub executions: Option<u64>,
    /// Average executions per second.
    pub execs_per_second: Option<u64>,
    /// Inputs added to the working corpus in this run.
    pub new_units: Option<u64>,
    /// Coverage points reached (`cov:` of the last status line).
    pub coverage: Option<u64>,
    /// Inputs in the corpus at the end (`corp:` of the last status line).
    pub corpus: Option<u64>,
    /// Peak memory in MB.
    pub peak_rss_mb: Option<u64>,
    /// Where libFuzzer wrote a crashing input, if it did.
    pub artifact: Option<String>,
}

impl FuzzStats {
    /// Reads the statistics from libFuzzer's output (`-print_final_stats=1`).
    pub fn parse(log: &str) -> Self {
        let mut stats = Self::default();
        let number = |text: &str| {
            text.trim()
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|digits| digits.parse::<u64>().ok())
        };
        for line in log.lines() {
            let line = line.trim();
            if let Some((key, value)) = line
                .strip_prefix("stat::")
                .and_then(|rest| rest.split_once(':'))
            {
                match key {
                    "number_of_executed_units" => stats.executions = number(value),
                    "average_exec_per_sec" => stats.execs_per_second = number(value),
                    "new_units_added" => stats.new_units = number(value),
                    "peak_rss_mb" => stats.peak_rss_mb = number(value),
                    _ => {}
                }
            } else if let Some(rest) = line.strip_prefix('#') {
                // A status line: `#123 NEW cov: 45 ft: 67 corp: 8/90b ... exec/s: 10 rss: 30Mb`.
                let mut words = rest.split_whitespace();
                let count = words.next().and_then(number);
                let mut words = words.peekable();
                if words.peek() == Some(&"DONE") {
                    stats.executions = stats.executions.or(count);
                }
                let words: Vec<&str> = words.collect();
                for pair in words.windows(2) {
                    match pair[0] {
                        "cov:" => stats.coverage = number(pair[1]),
                        "corp:" => stats.corpus = number(pair[1]),
                        _ => {}
                    }
                }
            } else if let Some((_, path)) = line.split_once("Test unit written to ") {
                stats.artifact = Some(path.trim().to_owned());
            }
        }
        stats
    }
}

/// One target's finished run.
#[derive(Debug)]
struct Outcome {
    target: String,
    passed: bool,
    status: String,
    seconds: f64,
    stats: FuzzStats,
    log: PathBuf,
}

/// A target being fuzzed.
struct Running {
    target: String,
    child: Child,
    started: Instant,
    echo: Option<std::thread::JoinHandle<()>>,
}

fn io_error(what: String) -> impl FnOnce(std::io::Error) -> XtaskError {
    move |source| XtaskError::Io { what, source }
}

fn create_dir(dir: &Path) -> Result<(), XtaskError> {
    std::fs::create_dir_all(dir).map_err(io_error(format!("create {}", dir.display())))
}

/// Starts `target`'s binary for `seconds`, its output into its log (and to the terminal
/// when `echo`).
fn start(
    paths: &FuzzPaths,
    bin_dir: &Path,
    target: &str,
    seconds: u64,
    echo: bool,
) -> Result<Running, XtaskError> {
    let working = paths.working_corpus(target);
    let artifacts = paths.artifacts(target);
    let log_path = paths.log(target);
    for dir in [&working, &artifacts] {
        create_dir(dir)?;
    }
    if let Some(parent) = log_path.parent() {
        create_dir(parent)?;
    }
    // Every writer appends, so libFuzzer's two streams and the echo never overwrite.
    File::create(&log_path).map_err(io_error(format!("create {}", log_path.display())))?;
    let append = || {
        std::fs::OpenOptions::new()
            .append(true)
            .open(&log_path)
            .map_err(io_error(format!("open {}", log_path.display())))
    };
    let log = append()?;
    let log_for_stdout = append()?;
    let binary = bin_dir.join(target);
    let mut command = Command::new(&binary);
    // New inputs go to the first corpus folder: the working one, never the seeds.
    command.arg(&working);
    let seeds = paths.seeds(target);
    if seeds.is_dir() {
        command.arg(&seeds);
    }
    command
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={UNIT_TIMEOUT_SECONDS}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_for_stdout))
        .stderr(if echo {
            Stdio::piped()
        } else {
            Stdio::from(log)
        });
    let mut child = command.spawn().map_err(|source| XtaskError::Spawn {
        program: binary.display().to_string(),
        source,
        fix: "Build the fuzz targets first (`cargo xtask fuzz` does).".into(),
    })?;
    // One target on demand: show libFuzzer's progress while keeping the log.
    let echo = child.stderr.take().map(|stderr| {
        let log_path = log_path.clone();
        std::thread::spawn(move || {
            let mut log = std::fs::OpenOptions::new()
                .append(true)
                .open(&log_path)
                .ok();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("{line}");
                if let Some(file) = log.as_mut() {
                    let _ = writeln!(file, "{line}");
                }
            }
        })
    });
    Ok(Running {
        target: target.to_owned(),
        child,
        started: Instant::now(),
        echo,
    })
}

/// Runs `targets` for `seconds` each, `jobs` at a time, and prints a table of executions
/// per target; fails when any target crashed, hung or ran out of memory.
pub fn run_bounded(
    paths: &FuzzPaths,
    bin_dir: &Path,
    targets: &[String],
    seconds: u64,
    jobs: usize,
) -> Result<(), XtaskError> {
    let jobs = jobs.clamp(1, targets.len().max(1));
    let echo = targets.len() == 1;
    let step = format!(
        "fuzzing {} target(s) for {seconds} s each, {jobs} at a time (libFuzzer; logs in {})",
        targets.len(),
        paths.target_dir.join("logs").display()
    );
    announce(&step);
    let started = Instant::now();
    let mut queue = targets.iter();
    let mut running: Vec<Running> = Vec::new();
    let mut outcomes: Vec<Outcome> = Vec::new();
    loop {
        while running.len() < jobs {
            let Some(target) = queue.next() else { break };
            running.push(start(paths, bin_dir, target, seconds, echo)?);
        }
        if running.is_empty() {
            break;
        }
        let mut still = Vec::with_capacity(running.len());
        for mut job in running {
            match job.child.try_wait() {
                Ok(Some(status)) => {
                    if let Some(echo) = job.echo.take() {
                        let _ = echo.join();
                    }
                    outcomes.push(finish(paths, job, status.success(), status.to_string()));
                }
                Ok(None) => still.push(job),
                Err(error) => {
                    let _ = job.child.kill();
                    let _ = job.child.wait();
                    outcomes.push(finish(paths, job, false, error.to_string()));
                }
            }
        }
        running = still;
        std::thread::sleep(Duration::from_millis(100));
    }
    outcomes.sort_by_key(|o| targets.iter().position(|t| *t == o.target));
    print_table(&outcomes);
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.passed).collect();
    for outcome in &failed {
        print_failure(paths, bin_dir, outcome);
    }
    if failed.is_empty() {
        println!("    ({step}: {:.0} s)", started.elapsed().as_secs_f64());
        return Ok(());
    }
    let names: Vec<&str> = failed.iter().map(|o| o.target.as_str()).collect();
    Err(XtaskError::StepFailed {
        step: "fuzzing".into(),
        status: format!("{} crashed: {}", names.len(), names.join(", ")),
        fix: "Each failing target's log tail, crashing input and reproduction command are above; fix the code (not the target), then add the input to fuzz/corpus/<target>/ so it stays covered.".into(),
    })
}

fn finish(paths: &FuzzPaths, job: Running, passed: bool, status: String) -> Outcome {
    let log = paths.log(&job.target);
    let text = std::fs::read(&log)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    Outcome {
        stats: FuzzStats::parse(&text),
        seconds: job.started.elapsed().as_secs_f64(),
        target: job.target,
        passed,
        status,
        log,
    }
}

fn or_dash(value: Option<u64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn print_table(outcomes: &[Outcome]) {
    println!(
        "    {:<26} {:>11} {:>8} {:>7} {:>7} {:>5} {:>6}  result",
        "target", "executions", "exec/s", "cov", "corpus", "new", "time"
    );
    for o in outcomes {
        println!(
            "    {:<26} {:>11} {:>8} {:>7} {:>7} {:>5} {:>5.0}s  {}",
            o.target,
            or_dash(o.stats.executions),
            or_dash(o.stats.execs_per_second),
            or_dash(o.stats.coverage),
            or_dash(o.stats.corpus),
            or_dash(o.stats.new_units),
            o.seconds,
            if o.passed { "ok" } else { "CRASH" },
        );
    }
    let total: u64 = outcomes.iter().filter_map(|o| o.stats.executions).sum();
    println!("    {:<26} {total:>11}", "total executions");
}

fn print_failure(paths: &FuzzPaths, bin_dir: &Path, outcome: &Outcome) {
    let text = std::fs::read(&outcome.log)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
    println!(
        "\n---- fuzz target {} failed ({}); last lines of {}:",
        outcome.target,
        outcome.status,
        outcome.log.display()
    );
    for line in tail {
        println!("    {line}");
    }
    // The panic message sits above a long backtrace: repeat it where it is seen.
    if let Some(at) = lines.iter().position(|line| line.contains("panicked at")) {
        let message = lines[at..].iter().take(2).copied().collect::<Vec<_>>();
        println!("  panic: {}", message.join(" "));
    }
    let binary = bin_dir.join(&outcome.target);
    match &outcome.stats.artifact {
        Some(input) => println!(
            "  crashing input: {input}\n  reproduce: {} {input}",
            binary.display()
        ),
        None => println!(
            "  no input was written; crashing inputs go to {}",
            paths.artifacts(&outcome.target).display()
        ),
    }
}

/// The seconds per target for `cargo xtask test`: [`SECONDS_ENV`] if set, else
/// [`TEST_SECONDS`].
pub fn test_seconds() -> Result<u64, XtaskError> {
    match std::env::var(SECONDS_ENV) {
        Ok(text) => text.trim().parse().map_err(|_| {
            XtaskError::Usage("OPS_FUZZ_SECONDS must be a whole number of seconds per target")
        }),
        Err(_) => Ok(TEST_SECONDS),
    }
}

/// Cores to fuzz on: one target per core.
pub fn jobs() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The fuzz step of `cargo xtask test`: builds every target, runs each for
/// [`test_seconds`] on every core, fails on any crash.
pub fn test_step(root: &Path, toolchain: &Toolchain) -> Result<(), XtaskError> {
    let paths = FuzzPaths::new(root, toolchain);
    let targets = targets(&paths)?;
    let seconds = test_seconds()?;
    let bin_dir = build(&paths, toolchain, None)?;
    run_bounded(&paths, &bin_dir, &targets, seconds, jobs())
}

/// `cargo xtask fuzz [target|all] [seconds]`: longer runs on demand.
pub fn on_demand(
    root: &Path,
    toolchain: &Toolchain,
    target: Option<&str>,
    seconds: u64,
) -> Result<(), XtaskError> {
    let paths = FuzzPaths::new(root, toolchain);
    let all = targets(&paths)?;
    let chosen: Vec<String> = match target {
        None | Some("all") => all,
        Some(name) if all.iter().any(|t| t == name) => vec![name.to_owned()],
        Some(name) => {
            return Err(XtaskError::MissingTool(format!(
                "no fuzz target `{name}`; the targets are: {}",
                all.join(", ")
            )));
        }
    };
    let only = match chosen.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    };
    let bin_dir = build(&paths, toolchain, only)?;
    run_bounded(&paths, &bin_dir, &chosen, seconds, jobs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_names_are_read_from_the_manifest() {
        let manifest = r#"
[package]
name = "ops-core-fuzz"

[dependencies]
name-like = "1"

[[bin]]
name = "decode_any"
path = "fuzz_targets/decode_any.rs"

[[bin]]
path = "fuzz_targets/ndef.rs"
name="ndef"
"#;
        assert_eq!(bin_names(manifest), ["decode_any", "ndef"]);
    }

    #[test]
    fn final_stats_and_the_done_line_are_parsed() {
        let log = "\
INFO: Seed: 1234
#2\tINITED cov: 10 ft: 11 corp: 1/1b exec/s: 0 rss: 30Mb
#4096\tpulse  cov: 100 ft: 120 corp: 20/300b lim: 4 exec/s: 2048 rss: 31Mb
#52311\tDONE   cov: 412 ft: 990 corp: 57/1843b lim: 98 exec/s: 2615 rss: 45Mb
Done 52311 runs in 21 second(s)
stat::number_of_executed_units: 52311
stat::average_exec_per_sec:     2491
stat::new_units_added:          31
stat::slowest_unit_time_sec:    0
stat::peak_rss_mb:              45
";
        assert_eq!(
            FuzzStats::parse(log),
            FuzzStats {
                executions: Some(52311),
                execs_per_second: Some(2491),
                new_units: Some(31),
                coverage: Some(412),
                corpus: Some(57),
                peak_rss_mb: Some(45),
                artifact: None,
            }
        );
    }

    #[test]
    fn a_crash_names_its_input_and_executions_come_from_the_stats() {
        let log = "\
#1000\tNEW    cov: 50 ft: 60 corp: 5/50b lim: 4 exec/s: 0 rss: 30Mb
thread '<unnamed>' panicked at fuzz_targets/ndef.rs:20:9
==1234== ERROR: libFuzzer: deadly signal
artifact_prefix='/t/fuzz/artifacts/ndef/'; Test unit written to /t/fuzz/artifacts/ndef/crash-abc
stat::number_of_executed_units: 1001
";
        let stats = FuzzStats::parse(log);
        assert_eq!(stats.executions, Some(1001));
        assert_eq!(
            stats.artifact.as_deref(),
            Some("/t/fuzz/artifacts/ndef/crash-abc")
        );
        assert_eq!(stats.coverage, Some(50));
    }
}
