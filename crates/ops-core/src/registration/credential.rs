//! What a registration yields: the credential the FI stores and what stands behind its
//! attestation.

use crate::ids::PublicKey;
use crate::webauthn::flags;

use super::AttestationFormat;

/// What stands behind a registered credential's attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttestationTrust {
    /// No attestation (`none`): nothing is known about the authenticator.
    None,
    /// Self attestation (`packed` without x5c): proves possession of the credential key only.
    SelfAttestation,
    /// Certificate attestation (`packed` x5c or `fido-u2f`): the signature verifies under the
    /// leaf certificate. The chain (leaf first, DER) is recorded but not anchored to any
    /// root: this verifier holds no FIDO metadata (see `docs/WEBAUTHN.md`).
    Certificate {
        /// The `x5c` certificates, leaf first, DER.
        chain_der: Vec<Vec<u8>>,
    },
}

/// A credential that passed registration: what the FI stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredCredential {
    /// The credential ID (what `allowCredentials` names at login).
    pub credential_id: Vec<u8>,
    /// The credential's P-256 public key (SEC1 compressed).
    pub public_key: PublicKey,
    /// The COSE_Key bytes exactly as the authenticator sent them.
    pub cose_key: Vec<u8>,
    /// The sign count at registration (store it; later assertions must exceed it).
    pub sign_count: u32,
    /// The authenticator model's AAGUID (all zero for U2F and many `none` registrations).
    pub aaguid: [u8; 16],
    /// The attestation format.
    pub format: AttestationFormat,
    /// The authenticator data flags.
    pub flags: u8,
    /// What stands behind the attestation.
    pub attestation: AttestationTrust,
}

impl RegisteredCredential {
    /// Whether the credential is a synced passkey: backup eligible (BE set), so the key
    /// may be copied to the user's other devices. Device-bound keys (security keys,
    /// platform authenticators that do not sync) have BE clear.
    pub fn is_synced(&self) -> bool {
        self.flags & flags::BE != 0
    }
}
