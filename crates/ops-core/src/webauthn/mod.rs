//! WebAuthn ES256 assertions — the single implementation of the assertion checks in the
//! project.
//!
//! A WebAuthn signature over a protocol message is an assertion whose challenge is
//! SHA-256 of the message's canonical bytes. [`verify_assertion`] is the one code path that
//! checks an assertion, for spends and receipts (`sig::verify_signature`), FI logins and
//! the CLI alike: it takes the assertion as one value ([`AssertionParts`]: the exact signed
//! bytes and `r || s`) and what it must match ([`Expected`]: the signer's
//! [`WebAuthnPolicy`], the challenge, and the stored sign count where one is kept). It
//! checks the RP ID hash, the flags (UP; UV where the policy requires it; BE refused unless
//! the policy accepts synced keys, [`SyncedKeys`]; BS without BE is malformed), the
//! ceremony type, challenge and origin, the ECDSA signature (high-S and low-S both
//! accepted) and the sign count.
//!
//! Modules, one concern each:
//! * `verify`: the check ([`verify_assertion`]) and its inputs;
//! * `compact`: wire compaction, a browser assertion ([`RawAssertion`]) to the compact
//!   form ([`AssertionWire::from_raw`]) and back to the signed bytes
//!   ([`AssertionWire::expand`]);
//! * `wire`: the compact form ([`AssertionWire`]) and its canonical CBOR;
//! * `policy`, `checks`, `client_data`, `authenticator_data`: the policy values and the
//!   building blocks ([`AuthenticatorData::parse`], [`check_flags`],
//!   [`check_client_data`], [`check_sign_count`]) that registration verification (feature
//!   `registration`) reuses with [`Ceremony::Create`].

mod authenticator_data;
mod checks;
mod client_data;
mod compact;
mod error;
mod policy;
mod verify;
mod wire;

pub use authenticator_data::AuthenticatorData;
pub use checks::{check_flags, check_sign_count};
pub use client_data::{Ceremony, ClientData, check_client_data};
pub use error::WebAuthnError;
pub use policy::{FlagRules, SyncedKeys, WebAuthnPolicy};
pub use verify::{AssertionInfo, AssertionParts, Expected, RawAssertion, verify_assertion};
pub use wire::{AssertionWire, AuthDataWire, ClientDataWire, TemplateVariant};

/// Authenticator data flag bits (WebAuthn Level 3 §6.1).
pub mod flags {
    /// User present.
    pub const UP: u8 = 0x01;
    /// User verified.
    pub const UV: u8 = 0x04;
    /// Backup eligible (the credential may be synced).
    pub const BE: u8 = 0x08;
    /// Backup state (the credential is synced).
    pub const BS: u8 = 0x10;
    /// Attested credential data included.
    pub const AT: u8 = 0x40;
    /// Extension data included.
    pub const ED: u8 = 0x80;
}

/// Maximum length of an RP ID (a DNS name).
pub const MAX_RP_ID_LEN: usize = 253;
/// Maximum number of allowed origins in a policy.
pub const MAX_ORIGINS: usize = 8;
/// Maximum length of one origin.
pub const MAX_ORIGIN_LEN: usize = 128;
/// Maximum length of raw authenticator data on the wire.
pub const MAX_RAW_AUTH_DATA: usize = 512;
/// Maximum length of raw `clientDataJSON` on the wire.
pub const MAX_RAW_CLIENT_DATA: usize = 1024;

#[cfg(test)]
mod tests;
