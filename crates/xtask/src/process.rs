//! Running child commands with a visible step line and errors that say what to do.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Why a command of the xtask failed.
#[derive(Debug, thiserror::Error)]
pub enum XtaskError {
    /// The command line was not understood.
    #[error("{0}")]
    Usage(&'static str),
    /// A program could not be started at all.
    #[error("cannot start `{program}`: {source}. {fix}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
        /// What to do about it.
        fix: String,
    },
    /// A step ran and failed.
    #[error("{step} failed ({status}). {fix}")]
    StepFailed {
        /// The step's description.
        step: String,
        /// Exit status as text.
        status: String,
        /// What to do about it.
        fix: String,
    },
    /// A tool is missing and cannot be installed from here.
    #[error("{0}")]
    MissingTool(String),
    /// The build output is not a working app.
    /// An app's wasm is over its size budget.
    #[error(
        "{file} is {gzipped} bytes gzipped, over the {budget}-byte budget: find what grew with `twiggy top` on the wasm (see docs/DECISIONS.md, bundle size) and bring it back under"
    )]
    OverBudget {
        /// The wasm file.
        file: String,
        /// Its gzipped size.
        gzipped: usize,
        /// The budget.
        budget: usize,
    },
    #[error("the {app} build is not installable: {source}")]
    App {
        /// Which app.
        app: &'static str,
        /// What is wrong.
        source: ops_pwa::FinishError,
    },
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Prints a step header.
pub fn announce(text: &str) {
    println!("\n==> {text}");
}

/// Runs `command`, streaming its output; fails with `fix` as the advice.
pub fn run(step: &str, command: &mut Command, fix: &str) -> Result<(), XtaskError> {
    run_tests(step, command, fix, &mut TestTally::default())
}

/// Passed and failed test counts, summed over `cargo test` runs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TestTally {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
}

impl TestTally {
    /// Adds the counts of a libtest summary line (`test result: ok. 3 passed; 0 failed; …`).
    pub fn add_summary_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split([';', '.']) {
            let mut words = part.split_whitespace();
            if let (Some(count), Some(kind)) = (words.next(), words.next()) {
                match (count.parse::<u64>(), kind) {
                    (Ok(n), "passed") => self.passed += n,
                    (Ok(n), "failed") => self.failed += n,
                    _ => {}
                }
            }
        }
    }
}

/// Runs `command`, echoing its stdout line by line and adding every libtest summary line
/// to `tally`; fails with `fix` as the advice.
pub fn run_tests(
    step: &str,
    command: &mut Command,
    fix: &str,
    tally: &mut TestTally,
) -> Result<(), XtaskError> {
    run_with_lines(step, command, fix, &mut |line| tally.add_summary_line(line))
}

/// Runs `command` like [`run`] and returns its stdout as well (every line is echoed too).
pub fn run_collecting(step: &str, command: &mut Command, fix: &str) -> Result<String, XtaskError> {
    let mut output = String::new();
    run_with_lines(step, command, fix, &mut |line| {
        output.push_str(line);
        output.push('\n');
    })?;
    Ok(output)
}

/// Runs `command`, echoing its stdout line by line and handing each line to `each`; fails
/// with `fix` as the advice.
fn run_with_lines(
    step: &str,
    command: &mut Command,
    fix: &str,
    each: &mut dyn FnMut(&str),
) -> Result<(), XtaskError> {
    use std::io::BufRead;
    announce(step);
    let started = Instant::now();
    let program = command.get_program().to_string_lossy().into_owned();
    let spawn_error = |source| XtaskError::Spawn {
        program: program.clone(),
        source,
        fix: fix.to_owned(),
    };
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            println!("{line}");
            each(&line);
        }
    }
    let status = child.wait().map_err(spawn_error)?;
    if !status.success() {
        return Err(XtaskError::StepFailed {
            step: step.to_owned(),
            status: status.to_string(),
            fix: fix.to_owned(),
        });
    }
    println!("    ({step}: {:.0} s)", started.elapsed().as_secs_f64());
    Ok(())
}

/// Runs `program args` quietly and returns its trimmed stdout, or `None` if it is missing
/// or fails. Used to probe installed tools.
pub fn probe<I, S>(program: impl AsRef<OsStr>, args: I, path_env: &OsStr) -> Option<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let output = Command::new(program)
        .args(args)
        .env("PATH", path_env)
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Copies a folder tree.
pub fn copy_dir(from: &Path, to: &Path) -> Result<(), XtaskError> {
    ops_pwa::copy_tree(from, to).map_err(|source| XtaskError::Io {
        what: format!("copy {} to {}", from.display(), to.display()),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_reads_libtest_and_wasm_bindgen_summaries() {
        let mut tally = TestTally::default();
        tally.add_summary_line("test result: ok. 8 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.02s");
        tally.add_summary_line(
            "test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 filtered out; finished in 0.62s",
        );
        tally.add_summary_line("running 2 tests");
        tally.add_summary_line("test keypad::tests::x ... ok");
        assert_eq!(
            tally,
            TestTally {
                passed: 10,
                failed: 1
            }
        );
    }
}
