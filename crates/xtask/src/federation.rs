//! `cargo xtask run --second-fi`: a demo of the two tiers with real processes. The demo
//! central bank's root (created by the first FI's demo ceremony in `ops-issuer-data/`)
//! certifies a second FI, "Demo Bank B"; each FI runs its own `ops-issuer` (A on the
//! given port, B on the next) with its own database and the other as a peer, and the
//! central bank's `ops-central` clears between them (on the port ten above A's).

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use crate::process::{XtaskError, announce, run};
use crate::tools::Toolchain;

/// The folders of the demo: FI A's data folder (also the demo's key ceremony), FI B's,
/// and the central bank's.
struct Folders {
    a: PathBuf,
    b: PathBuf,
    central: PathBuf,
}

fn io(what: &Path) -> impl FnOnce(std::io::Error) -> XtaskError + '_ {
    move |source| XtaskError::Spawn {
        program: format!("file {}", what.display()),
        source,
        fix: "Check the folder's permissions and the free disk space.".into(),
    }
}

fn copy(from: &Path, to: &Path) -> Result<(), XtaskError> {
    std::fs::copy(from, to).map(|_| ()).map_err(io(from))
}

/// Writes a private key file copy owner-only (the services refuse others).
fn copy_key(from: &Path, to: &Path) -> Result<(), XtaskError> {
    copy(from, to)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600)).map_err(io(to))?;
    }
    Ok(())
}

fn private_dir(dir: &Path) -> Result<(), XtaskError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    }
    Ok(())
}

/// Runs the ceremony steps that are missing (each file is created once and kept).
fn ceremony(issuer: &Path, f: &Folders) -> Result<(), XtaskError> {
    let fix = "Delete the demo folders (ops-issuer-data*, ops-central-data) to start over.";
    if !f.a.join("fi.cert").is_file() {
        private_dir(&f.a)?;
        if !f.a.join("root.cert").is_file() {
            run(
                "creating the demo central bank",
                Command::new(issuer)
                    .args(["create-root", "--name", "Demo Central Bank", "--dir"])
                    .arg(&f.a),
                fix,
            )?;
        }
        run(
            "certifying Demo Bank (FI A)",
            Command::new(issuer)
                .args([
                    "create-fi",
                    "--name",
                    "Demo Bank",
                    "--serial",
                    "10",
                    "--dir",
                ])
                .arg(&f.a),
            fix,
        )?;
    }
    // The central bank keeps the root key; B's key is made beside it, then moved.
    private_dir(&f.central)?;
    for file in ["root.cert", "root.key"] {
        if !f.central.join(file).is_file() {
            copy_key(&f.a.join(file), &f.central.join(file))?;
        }
    }
    let b_keys = f.central.join("fi-b");
    if !b_keys.join("fi.cert").is_file() {
        private_dir(&b_keys)?;
        copy_key(&f.central.join("root.key"), &b_keys.join("root.key"))?;
        copy(&f.central.join("root.cert"), &b_keys.join("root.cert"))?;
        run(
            "certifying Demo Bank B (FI B)",
            Command::new(issuer)
                .args([
                    "create-fi",
                    "--name",
                    "Demo Bank B",
                    "--serial",
                    "11",
                    "--dir",
                ])
                .arg(&b_keys),
            fix,
        )?;
        std::fs::remove_file(b_keys.join("root.key")).map_err(io(&b_keys))?;
    }
    private_dir(&f.b)?;
    for file in ["fi.cert", "fi.key", "root.cert"] {
        if !f.b.join(file).is_file() {
            copy_key(&b_keys.join(file), &f.b.join(file))?;
        }
    }
    // Each FI knows the other (settlement verifies the other's notes).
    for (dir, peer) in [(&f.a, &f.b), (&f.b, &f.a)] {
        private_dir(&dir.join("peer-fis"))?;
        copy(&peer.join("fi.cert"), &dir.join("peer-fis/peer.cert"))?;
    }
    Ok(())
}

/// Builds the services, makes the demo's keys and runs the three processes until one
/// stops (then stops the others).
pub fn serve(root: &Path, toolchain: &Toolchain, addr: &str) -> Result<(), XtaskError> {
    let (host, port) = addr
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
        .ok_or(XtaskError::Usage(crate::USAGE))?;
    let (port_b, port_cb) = (port + 1, port + 10);
    run(
        "building the FI and central bank services (cargo build --release -p ops-issuer)",
        Command::new("cargo")
            .current_dir(root)
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "ops-issuer",
                "--bins",
            ])
            .env("CARGO_TARGET_DIR", &toolchain.cargo_target_dir),
        "Read the compiler output above.",
    )?;
    let bin = toolchain.cargo_target_dir.join("release");
    let issuer = bin.join("ops-issuer");
    let folders = Folders {
        a: root.join("ops-issuer-data"),
        b: root.join("ops-issuer-data-b"),
        central: root.join("ops-central-data"),
    };
    ceremony(&issuer, &folders)?;
    let central_url = format!("http://{host}:{port_cb}");
    let fi = |data: &Path, port: u16| {
        let mut c = Command::new(&issuer);
        c.current_dir(root)
            .arg("--dist")
            .arg(root.join("dist"))
            .arg("--addr")
            .arg(format!("{host}:{port}"))
            .arg("--data-dir")
            .arg(data)
            .args(["--central-bank", &central_url]);
        c
    };
    // The central bank lists each FI at this address, and the apps link to it when a user
    // chooses another bank: `localhost` rather than a loopback IP, which WebAuthn refuses
    // as a relying party.
    let public = if host == "127.0.0.1" {
        "localhost"
    } else {
        host
    };
    let mut central = Command::new(bin.join("ops-central"));
    central
        .current_dir(root)
        .arg("--data-dir")
        .arg(&folders.central)
        .arg("--addr")
        .arg(format!("{host}:{port_cb}"))
        .arg("--fi")
        .arg(format!(
            "{}=http://{public}:{port}",
            folders.a.join("fi.cert").display()
        ))
        .arg("--fi")
        .arg(format!(
            "{}=http://{public}:{port_b}",
            folders.b.join("fi.cert").display()
        ));
    announce(&format!(
        "Demo Bank: wallet http://localhost:{port}/ and POS http://localhost:{port}/pos/; Demo Bank B: http://localhost:{port_b}/ and /pos/; central bank {central_url} (Ctrl-C stops all three)"
    ));
    let mut children: Vec<(String, Child)> = Vec::new();
    for (name, mut command) in [
        ("Demo Bank", fi(&folders.a, port)),
        ("Demo Bank B", fi(&folders.b, port_b)),
        ("the central bank", central),
    ] {
        match command.spawn() {
            Ok(child) => children.push((name.to_owned(), child)),
            Err(source) => {
                stop(&mut children);
                return Err(XtaskError::Spawn {
                    program: name.to_owned(),
                    source,
                    fix: "Was the build above complete?".into(),
                });
            }
        }
    }
    // Wait until one stops; then stop the others.
    loop {
        let stopped = children
            .iter_mut()
            .find_map(|(name, child)| match child.try_wait() {
                Ok(Some(status)) => Some((name.clone(), status)),
                _ => None,
            });
        if let Some((name, status)) = stopped {
            {
                stop(&mut children);
                return Err(XtaskError::StepFailed {
                    step: format!("{name}'s service"),
                    status: status.to_string(),
                    fix: format!(
                        "Read its output above; if a port is taken, pass another base: `cargo xtask run --second-fi --addr {host}:9080`."
                    ),
                });
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

fn stop(children: &mut [(String, Child)]) {
    for (_, child) in children {
        let _ = child.kill();
        let _ = child.wait();
    }
}
