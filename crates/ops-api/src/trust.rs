//! `GET /api/v1/trust` and `GET /api/v1/crl`.

use serde::{Deserialize, Serialize};

/// The trust bundle the apps pin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustBundle {
    /// The central bank's root certificate, base64.
    pub root: String,
    /// Its id, hex.
    pub root_id: String,
    /// The FI certificates this service knows, base64 each.
    pub fis: Vec<String>,
    /// This FI's certificate id, hex.
    pub fi_id: String,
    /// This FI's counterparty block list, signed, base64: certificates its devices must
    /// neither pay nor accept payment from (docs/PROTOCOL.md §6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocklist: Option<String>,
}

/// This FI's signed CRL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrlResponse {
    /// The issuing FI's certificate id, hex.
    pub issuer: String,
    /// The CRL number (grows with every revocation).
    pub version: u64,
    /// When this list was signed (Unix seconds).
    pub issued: u64,
    /// The revoked serials.
    pub revoked: Vec<u64>,
    /// The signed CRL's canonical bytes, base64.
    pub crl: String,
    /// The other FIs' (and the central bank's) signed CRLs this FI received through the
    /// central bank, base64 each: a device adopts every one it can verify, so a culprit
    /// another FI revoked is declined here too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,
}
