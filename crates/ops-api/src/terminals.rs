//! Merchants and their POS terminals: the operator certifies an account's merchant name
//! (`POST /api/v1/accounts/{id}/merchant`, admin); the merchant registers terminals with
//! the account's token or a passkey session (`POST /api/v1/terminals/challenge`, then
//! `POST /api/v1/terminals`), proving possession of each terminal's key.
//!
//! A terminal without an authenticator keeps a non-extractable WebCrypto P-256 key; the
//! proof is that key's ECDSA signature (SHA-256, `r ‖ s` as WebCrypto returns it) over
//! [`TERMINAL_PROOF_PREFIX`] followed by the challenge bytes. The prefix keeps the
//! signature from meaning anything else the key may sign (receipts).

use serde::{Deserialize, Serialize};

/// What a terminal signs before the challenge to prove it holds its key.
pub const TERMINAL_PROOF_PREFIX: &[u8] = b"OPS terminal registration v1\0";

/// `POST /api/v1/accounts/{id}/merchant` (admin): the name the FI has checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantRequest {
    /// The merchant's name as certified in its terminals' certificates (1 to 64 bytes of
    /// visible text); `null` ends the account's merchant status for new terminals.
    pub name: Option<String>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantResponse {
    /// The account.
    pub account_id: i64,
    /// Its certified merchant name, if any.
    pub merchant_name: Option<String>,
}

/// `POST /api/v1/terminals/challenge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalChallengeRequest {
    /// The merchant's account.
    pub account_id: i64,
}

/// The answer (`201`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalChallenge {
    /// Names the challenge in the registration.
    pub challenge_id: String,
    /// 32 random bytes, base64url.
    pub challenge: String,
    /// Unix seconds after which it is refused.
    pub expires: u64,
    /// The name the terminal's certificate will carry.
    pub merchant_name: String,
}

/// `POST /api/v1/terminals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalRegistration {
    /// From [`TerminalChallenge::challenge_id`].
    pub challenge_id: String,
    /// The terminal's key: SEC1 compressed P-256, hex (33 bytes).
    pub public_key: String,
    /// The proof: ECDSA P-256 / SHA-256 over [`TERMINAL_PROOF_PREFIX`] ‖ challenge,
    /// `r ‖ s` (64 bytes), base64url.
    pub signature: String,
    /// The merchant's own name for this terminal ("Till 2"), stored, never certified.
    #[serde(default)]
    pub label: Option<String>,
}

/// The answer (`201`): the terminal's certificate and its chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalRegistered {
    /// The certificate id, hex.
    pub cert_id: String,
    /// The certificate, standard base64.
    pub cert: String,
    /// The FI's certificate and the root's, standard base64.
    pub chain: Vec<String>,
}

/// The proof message for `challenge`.
pub fn terminal_proof_message(challenge: &[u8]) -> Vec<u8> {
    let mut message = TERMINAL_PROOF_PREFIX.to_vec();
    message.extend_from_slice(challenge);
    message
}
