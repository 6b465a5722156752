//! What an assertion must satisfy: the WebAuthn binding a certificate carries, and the
//! flag rules derived from it (or from a registration policy).

use serde::{Deserialize, Serialize};

use super::{MAX_ORIGIN_LEN, MAX_ORIGINS, MAX_RP_ID_LEN};
use crate::error::DecodeError;

/// Whether credentials that may be synced or exported (backup eligible: BE set) are
/// accepted. The one value that tells a synced-passkey check from a device-bound one:
/// spends take it from the signer certificate ([`WebAuthnPolicy::synced_keys`]), logins
/// and registrations from the FI's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SyncedKeys {
    /// BE set is refused ([`super::WebAuthnError::BackupEligible`]): device-bound keys only.
    #[default]
    Refused,
    /// BE may be set or clear (a synced passkey, certified as such).
    Accepted,
}

/// The flag rules of one check: UP always, then these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagRules {
    /// UV must be set.
    pub user_verification: bool,
    /// Whether BE may be set. BS without BE is malformed whatever this says.
    pub synced_keys: SyncedKeys,
}

/// The WebAuthn binding of a key, carried in its certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebAuthnPolicy {
    /// The RP ID the credential is scoped to.
    pub rp_id: String,
    /// Origins assertions may come from (index order is significant for templates).
    pub origins: Vec<String>,
    /// Whether every assertion must carry UV.
    pub user_verification: bool,
    /// The key is a synced passkey (backup eligible, BE set at registration): assertions
    /// with BE set are accepted. The FI certifies such keys with a lower outstanding-value
    /// limit. `false` (device-bound): BE set is refused. Either way BS without BE is
    /// malformed, and an assertion with BE clear is accepted. This is the certificate's
    /// encoding (key 4, written only when true); checks use [`Self::synced_keys`].
    #[serde(default, skip_serializing_if = "is_false")]
    pub synced: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl WebAuthnPolicy {
    /// The origin list implied when a certificate omits it: `["https://<rp id>"]`.
    pub fn default_origins(&self) -> Vec<String> {
        vec![format!("https://{}", self.rp_id)]
    }

    /// Whether assertions under this policy may carry BE: [`SyncedKeys::Accepted`] exactly
    /// when the certificate says `synced`.
    pub fn synced_keys(&self) -> SyncedKeys {
        if self.synced {
            SyncedKeys::Accepted
        } else {
            SyncedKeys::Refused
        }
    }

    /// The flag rules assertions under this policy are checked with.
    pub fn flag_rules(&self) -> FlagRules {
        FlagRules {
            user_verification: self.user_verification,
            synced_keys: self.synced_keys(),
        }
    }

    /// This policy with its BE tolerance set from `synced_keys` (the login check's policy
    /// for a device whose certificate says, or does not say, `synced`).
    pub fn with_synced_keys(self, synced_keys: SyncedKeys) -> Self {
        Self {
            synced: synced_keys == SyncedKeys::Accepted,
            ..self
        }
    }

    /// Checks the policy's own limits and that origins are template-safe ASCII.
    pub fn validate(&self) -> Result<(), DecodeError> {
        let bad = |why| DecodeError::InvalidValue {
            what: "webauthn policy",
            why,
        };
        if self.rp_id.is_empty() || self.rp_id.len() > MAX_RP_ID_LEN {
            return Err(bad("RP ID empty or too long"));
        }
        if self.origins.is_empty() || self.origins.len() > MAX_ORIGINS {
            return Err(bad("between 1 and 8 origins required"));
        }
        for o in &self.origins {
            let safe = o
                .bytes()
                .all(|b| (0x21..0x7f).contains(&b) && b != b'"' && b != b'\\');
            if o.is_empty() || o.len() > MAX_ORIGIN_LEN || !safe {
                return Err(bad(
                    "origin must be 1-128 printable ASCII bytes without quotes",
                ));
            }
        }
        Ok(())
    }
}
