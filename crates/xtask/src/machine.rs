//! What a figure was measured on: CPU, cores, memory, system, compiler, browser, load.

use std::ffi::OsStr;

/// "2 cores, AMD EPYC, 24 GiB" from /proc where it exists.
pub fn summary() -> String {
    let cpu = proc_field("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = proc_field("/proc/meminfo", "MemTotal")
        .and_then(|v| v.split_whitespace().next().map(str::to_owned))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or_else(String::new, |kb| format!(", {} GiB", kb / 1_048_576));
    format!("{cores} cores, {cpu}{memory}")
}

/// The value after `name:` on the first line of `file` that starts with `name`.
fn proc_field(file: &str, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_once(':'))
        .map(|(_, value)| value.trim().to_owned())
}

/// The operating system's name (`PRETTY_NAME` of /etc/os-release) and kernel release.
pub fn system() -> String {
    let name = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| std::env::consts::OS.to_owned());
    match output_of("uname", ["-r"], None) {
        Some(kernel) => format!("{name}, Linux {kernel}"),
        None => name,
    }
}

/// The 1-, 5- and 15-minute load averages, as /proc/loadavg gives them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// The first line `program args` prints, or `None` when it cannot run.
pub fn output_of<I, S>(program: &str, args: I, path_env: Option<&OsStr>) -> Option<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = std::process::Command::new(program);
    command.args(args).stdin(std::process::Stdio::null());
    if let Some(path) = path_env {
        command.env("PATH", path);
    }
    let output = command.output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    output
        .status
        .success()
        .then(|| text.lines().next().unwrap_or_default().trim().to_owned())
}
