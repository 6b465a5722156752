//! The admin bearer token. Admin endpoints are never open: the token is configured
//! (`--admin-token`), read from a file, or generated on first start into an owner-only file
//! in the data folder. Only its SHA-256 is kept in memory; requests are compared in
//! constant time.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Name of the generated token file in the data folder.
pub const TOKEN_FILE: &str = "admin.token";

/// Shortest token accepted (a generated token is 64 hex digits).
pub const MIN_LEN: usize = 16;

/// Why the admin token could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AdminTokenError {
    /// The token file could not be read or written.
    #[error("admin token file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The token file can be read by other users.
    #[error(
        "admin token file {0} is readable by other users; run `chmod 600 {0}` or delete it to have a new one generated"
    )]
    Permissions(PathBuf),
    /// The configured or stored token is too short.
    #[error(
        "the admin token from {0} is shorter than {MIN_LEN} characters; use a long random token (or delete the file to have one generated)"
    )]
    TooShort(String),
    /// No randomness for a new token.
    #[error("no randomness for a new admin token: {0}")]
    Random(String),
}

/// Where the admin token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `--admin-token` on the command line.
    CommandLine,
    /// An existing file.
    File(PathBuf),
    /// A file generated now.
    Generated(PathBuf),
}

/// The admin token, held as its SHA-256.
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

impl AdminToken {
    /// A token from its text (no length check).
    pub fn new(token: &str) -> Self {
        Self {
            digest: ops_core::ids::sha256(token.as_bytes()),
        }
    }

    /// Whether `given` is the token. Compares the SHA-256 of both in constant time, so
    /// neither the content nor the length of the token leaks through timing.
    pub fn matches(&self, given: &str) -> bool {
        let other = ops_core::ids::sha256(given.as_bytes());
        let diff = self
            .digest
            .iter()
            .zip(other.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }

    /// The token from `configured` if given, else from `file`, else generated into `file`
    /// (owner-only, `0600`). Never returns or logs the token text.
    pub fn load_or_create(
        configured: Option<&str>,
        file: &Path,
    ) -> Result<(Self, TokenSource), AdminTokenError> {
        if let Some(token) = configured {
            let token = token.trim();
            if token.len() < MIN_LEN {
                return Err(AdminTokenError::TooShort("--admin-token".into()));
            }
            return Ok((Self::new(token), TokenSource::CommandLine));
        }
        match std::fs::read_to_string(file) {
            Ok(text) => {
                check_private(file)?;
                let token = text.trim();
                if token.len() < MIN_LEN {
                    return Err(AdminTokenError::TooShort(file.display().to_string()));
                }
                Ok((Self::new(token), TokenSource::File(file.to_owned())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let token = generate()?;
                write_private(file, &token)?;
                Ok((Self::new(&token), TokenSource::Generated(file.to_owned())))
            }
            Err(source) => Err(AdminTokenError::Io {
                path: file.to_owned(),
                source,
            }),
        }
    }
}

/// 32 random bytes in hex.
fn generate() -> Result<String, AdminTokenError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| AdminTokenError::Random(e.to_string()))?;
    Ok(ops_core::ids::to_hex(&bytes))
}

/// Writes `token` to a new file readable by its owner only; refuses to overwrite.
fn write_private(path: &Path, token: &str) -> Result<(), AdminTokenError> {
    let io = |source| AdminTokenError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(io)?;
    f.write_all(token.as_bytes()).map_err(io)?;
    f.write_all(b"\n").map_err(io)?;
    f.sync_all().map_err(io)
}

/// Refuses a token file that group or others may read or write.
fn check_private(path: &Path) -> Result<(), AdminTokenError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .map_err(|source| AdminTokenError::Io {
                path: path.to_owned(),
                source,
            })?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(AdminTokenError::Permissions(path.to_owned()));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "ops-admin-token-{tag}-{}-{}",
            std::process::id(),
            crate::api::now()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn generated_once_owner_only_then_reused() {
        let dir = temp("gen");
        let file = dir.join(TOKEN_FILE);
        let (a, source) = AdminToken::load_or_create(None, &file).unwrap();
        assert_eq!(source, TokenSource::Generated(file.clone()));
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.trim().len(), 64);
        assert!(a.matches(text.trim()));
        assert!(!a.matches(""));
        assert!(!a.matches(&text.trim()[..63]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (b, source) = AdminToken::load_or_create(None, &file).unwrap();
        assert_eq!(source, TokenSource::File(file.clone()));
        assert!(b.matches(text.trim()));
        assert!(!format!("{b:?}").contains(text.trim()));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[cfg(unix)]
    #[test]
    fn readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = temp("perm");
        let file = dir.join(TOKEN_FILE);
        AdminToken::load_or_create(None, &file).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            AdminToken::load_or_create(None, &file),
            Err(AdminTokenError::Permissions(_))
        ));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn short_configured_token_is_refused() {
        let file = temp("short").join(TOKEN_FILE);
        assert!(matches!(
            AdminToken::load_or_create(Some("short"), &file),
            Err(AdminTokenError::TooShort(_))
        ));
        let (t, source) =
            AdminToken::load_or_create(Some("a-long-enough-token-here"), &file).unwrap();
        assert_eq!(source, TokenSource::CommandLine);
        assert!(t.matches("a-long-enough-token-here"));
        assert!(!file.exists(), "a configured token writes no file");
    }
}
