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
    announce(step);
    let started = Instant::now();
    let program = command.get_program().to_string_lossy().into_owned();
    let status = command.status().map_err(|source| XtaskError::Spawn {
        program: program.clone(),
        source,
        fix: fix.to_owned(),
    })?;
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
