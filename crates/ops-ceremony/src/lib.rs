//! Key ceremony: the central bank's root key and self-signed certificate, an FI key
//! certified by the root with its limits, and the trust bundle the apps pin. The commands
//! ([`cli::CeremonyCommand`]) are part of the `ops` CLI and of the issuer service's binary.
//!
//! A key directory holds `root.key`, `root.cert`, `fi.key`, `fi.cert` (and optionally
//! `peer-fis/*.cert`, other FIs' certificates the settlement verifier must know). Keys are
//! 32 secret bytes in hex, written with owner-only permissions and never printed;
//! certificates are the canonical message bytes.

pub mod cli;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ops_core::ids::{from_hex, to_hex};
use ops_core::msg::cert::FloorTier;
use ops_core::msg::{Body, Signed};
use ops_core::sig::SoftwareKey;
use ops_core::{CertBody, Certificate, Limits, Role};

/// One day in seconds.
pub const DAY: u64 = 86_400;

/// A key ceremony step failed.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    /// File system failure.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key or certificate already exists: a ceremony never overwrites one.
    #[error("{0} already exists: a ceremony never overwrites a key; use another --dir")]
    Exists(PathBuf),
    /// A key or certificate file is malformed.
    #[error("{0} is not a valid key or certificate file")]
    Malformed(PathBuf),
    /// The operating system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
    /// A private key file that group or others may read or write: refused, as the admin
    /// token file is.
    #[error(
        "private key file {0} is readable or writable by other users; run `chmod 600 {0}` (and check who could have copied it)"
    )]
    KeyNotPrivate(PathBuf),
}

/// What the service trusts and signs with.
#[derive(Debug, Clone)]
pub struct Trust {
    /// The pinned central-bank root.
    pub root: Certificate,
    /// This FI's certificate.
    pub fi: Certificate,
    /// This FI's signing key.
    pub fi_key: SoftwareKey,
    /// Other FIs' certificates (settlement must know every FI).
    pub peer_fis: Vec<Certificate>,
}

impl Trust {
    /// Every FI certificate known (this FI first).
    pub fn fis(&self) -> Vec<Certificate> {
        let mut v = vec![self.fi.clone()];
        v.extend(self.peer_fis.iter().cloned());
        v
    }

    /// The trust bundle the apps pin: the root and every FI certificate, base64.
    pub fn bundle(&self) -> serde_json::Value {
        serde_json::json!({
            "root": STANDARD.encode(self.root.to_bytes()),
            "root_id": self.root.id().to_string(),
            "fis": self.fis().iter().map(|c| STANDARD.encode(c.to_bytes())).collect::<Vec<_>>(),
            "fi_id": self.fi.id().to_string(),
        })
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CeremonyError + '_ {
    move |source| CeremonyError::Io {
        path: path.to_owned(),
        source,
    }
}

fn random_secret() -> Result<[u8; 32], CeremonyError> {
    let mut s = [0u8; 32];
    getrandom::getrandom(&mut s).map_err(|e| CeremonyError::Random(e.to_string()))?;
    Ok(s)
}

/// A fresh random signing key and its secret.
fn new_key() -> Result<([u8; 32], SoftwareKey), CeremonyError> {
    // A random 32-byte string is a valid P-256 scalar with overwhelming probability;
    // bounded retries cover the rest.
    for _ in 0..8 {
        let s = random_secret()?;
        if let Ok(k) = SoftwareKey::from_secret(&s) {
            return Ok((s, k));
        }
    }
    Err(CeremonyError::Random("no valid key in 8 draws".into()))
}

/// Writes a secret key with owner-only permissions; refuses to overwrite.
fn write_key(path: &Path, secret: &[u8; 32]) -> Result<(), CeremonyError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CeremonyError::Exists(path.to_owned())
        } else {
            CeremonyError::Io {
                path: path.to_owned(),
                source: e,
            }
        }
    })?;
    f.write_all(to_hex(secret).as_bytes()).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// Refuses a private key file that group or others may read or write.
fn check_private(path: &Path) -> Result<(), CeremonyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .map_err(io(path))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(CeremonyError::KeyNotPrivate(path.to_owned()));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Reads a private key file (32 secret bytes in hex), refusing one that others may read.
pub fn read_key(path: &Path) -> Result<SoftwareKey, CeremonyError> {
    check_private(path)?;
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let bytes = from_hex(text.trim()).ok_or_else(|| CeremonyError::Malformed(path.to_owned()))?;
    let secret: [u8; 32] = bytes
        .try_into()
        .map_err(|_| CeremonyError::Malformed(path.to_owned()))?;
    SoftwareKey::from_secret(&secret).map_err(|_| CeremonyError::Malformed(path.to_owned()))
}

fn write_cert(path: &Path, cert: &Certificate) -> Result<(), CeremonyError> {
    if path.exists() {
        return Err(CeremonyError::Exists(path.to_owned()));
    }
    std::fs::write(path, cert.to_bytes()).map_err(io(path))
}

/// Reads a certificate file.
pub fn read_cert(path: &Path) -> Result<Certificate, CeremonyError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    Certificate::from_bytes(&bytes).map_err(|_| CeremonyError::Malformed(path.to_owned()))
}

/// Signs `body` with `key`.
pub fn sign<B: Body>(body: B, key: &SoftwareKey) -> Signed<B> {
    let signature = key.sign(&Signed::body_bytes_of(&body));
    Signed { body, signature }
}

/// Creates the central bank's root key and self-signed certificate in `dir`
/// (`root.key`, `root.cert`), valid for ten years from `now`.
pub fn create_root(dir: &Path, name: &str, now: u64) -> Result<Certificate, CeremonyError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let (secret, key) = new_key()?;
    let cert = sign(
        CertBody {
            serial: 1,
            role: Role::Root,
            subject: key.public_key(),
            issuer: None,
            not_before: now.saturating_sub(DAY),
            not_after: now + 10 * 365 * DAY,
            name: Some(name.to_owned()),
            limits: Limits {
                floor_limits: FloorTier::default_tiers(),
                ..Limits::default()
            },
            webauthn: None,
        },
        &key,
    );
    write_key(&dir.join("root.key"), &secret)?;
    write_cert(&dir.join("root.cert"), &cert)?;
    Ok(cert)
}

/// The limits the root grants an FI.
#[derive(Debug, Clone)]
pub struct FiLimits {
    /// Currency it issues.
    pub currency: String,
    /// Largest note.
    pub max_note_value: u64,
    /// Largest number of offline hops.
    pub hop_limit: u8,
}

impl Default for FiLimits {
    fn default() -> Self {
        Self {
            currency: "EUR".into(),
            max_note_value: 100_000,
            hop_limit: 4,
        }
    }
}

/// Creates an FI key in `dir` and has the root (`root.key` in `dir`) certify it
/// (`fi.key`, `fi.cert`), valid for five years from `now`.
pub fn create_fi(
    dir: &Path,
    name: &str,
    serial: u64,
    limits: &FiLimits,
    now: u64,
) -> Result<Certificate, CeremonyError> {
    let root_key = read_key(&dir.join("root.key"))?;
    let root = read_cert(&dir.join("root.cert"))?;
    let (secret, key) = new_key()?;
    let cert = sign(
        CertBody {
            serial,
            role: Role::Fi,
            subject: key.public_key(),
            issuer: Some(root.id()),
            not_before: now.saturating_sub(DAY),
            not_after: now + 5 * 365 * DAY,
            name: Some(name.to_owned()),
            limits: Limits {
                currency: Some(limits.currency.clone()),
                max_note_value: Some(limits.max_note_value),
                hop_limit: Some(limits.hop_limit),
                ..Limits::default()
            },
            webauthn: None,
        },
        &root_key,
    );
    write_key(&dir.join("fi.key"), &secret)?;
    write_cert(&dir.join("fi.cert"), &cert)?;
    Ok(cert)
}

/// Loads the trust material from `dir`.
pub fn load(dir: &Path) -> Result<Trust, CeremonyError> {
    let root = read_cert(&dir.join("root.cert"))?;
    let fi = read_cert(&dir.join("fi.cert"))?;
    let fi_key = read_key(&dir.join("fi.key"))?;
    let mut peer_fis = Vec::new();
    let peers = dir.join("peer-fis");
    if peers.is_dir() {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&peers)
            .map_err(io(&peers))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "cert"))
            .collect();
        paths.sort();
        for p in paths {
            peer_fis.push(read_cert(&p)?);
        }
    }
    Ok(Trust {
        root,
        fi,
        fi_key,
        peer_fis,
    })
}

/// Loads the trust material from `dir`, first creating a demo central bank and FI there
/// if it holds none. Returns whether it created them.
pub fn ensure_demo(dir: &Path, now: u64) -> Result<(Trust, bool), CeremonyError> {
    if dir.join("fi.cert").is_file() {
        return Ok((load(dir)?, false));
    }
    if !dir.join("root.cert").is_file() {
        create_root(dir, "Demo Central Bank", now)?;
    }
    create_fi(dir, "Demo Bank", 10, &FiLimits::default(), now)?;
    Ok((load(dir)?, true))
}

/// Writes the trust bundle JSON to `path`.
pub fn export_bundle(dir: &Path, path: &Path) -> Result<(), CeremonyError> {
    let trust = load(dir)?;
    let text = serde_json::to_string_pretty(&trust.bundle()).unwrap_or_default();
    std::fs::write(path, text).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_ceremony_writes_private_keys_owner_only_and_chains() {
        let dir = std::env::temp_dir().join(format!("ops-ceremony-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (trust, created) = ensure_demo(&dir, 1_800_000_000).unwrap();
        assert!(created);
        assert_eq!(trust.fi.body.issuer, Some(trust.root.id()));
        #[cfg(unix)]
        for k in ["root.key", "fi.key"] {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join(k)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{k}");
        }
        let (again, created) = ensure_demo(&dir, 1_800_000_000).unwrap();
        assert!(!created);
        assert_eq!(again.fi.id(), trust.fi.id());
        assert!(matches!(
            create_root(&dir, "x", 1),
            Err(CeremonyError::Exists(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A private key that group or others can read is refused, naming the chmod to run.
    #[cfg(unix)]
    #[test]
    fn readable_fi_key_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("ops-ceremony-mode-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        ensure_demo(&dir, 1_800_000_000).unwrap();
        let key = dir.join("fi.key");
        for mode in [0o644, 0o640, 0o604, 0o620] {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = load(&dir).unwrap_err();
            assert!(matches!(err, CeremonyError::KeyNotPrivate(_)), "{mode:o}");
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(load(&dir).is_ok(), "owner-only read is fine");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
