//! Certificates: the project's compact two-tier PKI (central-bank root → FI → device).

use serde::Serialize;

use crate::cbor::{Decoder, Encoder, MapReader};
use crate::error::DecodeError;
use crate::ids::{CertId, PublicKey, sha256};
use crate::msg::{Body, MAX_LABEL_LEN, Signed, currency, text, types};
use crate::webauthn::{MAX_ORIGIN_LEN, MAX_ORIGINS, MAX_RP_ID_LEN, WebAuthnPolicy};

/// Maximum number of CRL floor-limit tiers.
pub const MAX_FLOOR_TIERS: usize = 8;
/// Largest hop limit a certificate may set.
pub const MAX_HOP_LIMIT: u8 = 16;

/// What a certificate's key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The central bank's root (self-signed, pinned in the apps).
    Root = 0,
    /// A financial institution: certifies devices, issues notes, signs its CRL.
    Fi = 1,
    /// A wallet or POS device: signs spends and receipts.
    Device = 2,
}

impl Role {
    fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Role::Root),
            1 => Some(Role::Fi),
            2 => Some(Role::Device),
            _ => None,
        }
    }
}

/// One tier of the CRL-freshness floor limit: amounts up to `up_to` need a CRL from each
/// relevant issuer at most `max_crl_age` seconds old (`u64::MAX`: no CRL needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FloorTier {
    /// Largest amount of this tier (inclusive).
    pub up_to: u64,
    /// Largest CRL age in seconds.
    pub max_crl_age: u64,
}

impl FloorTier {
    /// The central bank's default floor limits (an EMV-style policy): up to 2,000 minor units
    /// with no CRL, up to 50,000 with a CRL at most 7 days old, up to 500,000 with one at
    /// most a day old; nothing larger offline.
    pub fn default_tiers() -> Vec<FloorTier> {
        const DAY: u64 = 86_400;
        vec![
            FloorTier {
                up_to: 2_000,
                max_crl_age: u64::MAX,
            },
            FloorTier {
                up_to: 50_000,
                max_crl_age: 7 * DAY,
            },
            FloorTier {
                up_to: 500_000,
                max_crl_age: DAY,
            },
        ]
    }
}

/// Limits an issuer places on a certificate's holder. All optional; which ones a role
/// needs is a verification rule (see `docs/PROTOCOL.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// FI: the currency it issues.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// FI: largest note it may issue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_note_value: Option<u64>,
    /// FI: largest number of offline spends from one of its issuances.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop_limit: Option<u8>,
    /// Device: largest value the FI lets it hold at once (checked per issuance offline,
    /// in total by the FI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_outstanding: Option<u64>,
    /// Root: CRL-freshness floor-limit tiers, ascending by `up_to`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub floor_limits: Vec<FloorTier>,
    /// Device: largest value one payment may take from it (rule V26, checked by every
    /// payee and by the FI at deposit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_payment: Option<u64>,
    /// Device: largest value one payment may take from it without user verification (the
    /// assertion's UV flag; a plain signature never verifies its user): small payments by
    /// presence alone, the rest with PIN or biometrics (rule V27).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_without_uv: Option<u64>,
}

impl Limits {
    fn field_count(&self) -> usize {
        usize::from(self.currency.is_some())
            + usize::from(self.max_note_value.is_some())
            + usize::from(self.hop_limit.is_some())
            + usize::from(self.max_outstanding.is_some())
            + usize::from(!self.floor_limits.is_empty())
            + usize::from(self.max_payment.is_some())
            + usize::from(self.max_without_uv.is_some())
    }

    fn encode(&self, e: &mut Encoder) {
        e.map(self.field_count());
        if let Some(c) = &self.currency {
            e.uint(1).text(c);
        }
        if let Some(v) = self.max_note_value {
            e.uint(2).uint(v);
        }
        if let Some(v) = self.hop_limit {
            e.uint(3).uint(u64::from(v));
        }
        if let Some(v) = self.max_outstanding {
            e.uint(4).uint(v);
        }
        if !self.floor_limits.is_empty() {
            e.uint(5).array(self.floor_limits.len());
            for t in &self.floor_limits {
                e.array(2).uint(t.up_to).uint(t.max_crl_age);
            }
        }
        if let Some(v) = self.max_payment {
            e.uint(6).uint(v);
        }
        if let Some(v) = self.max_without_uv {
            e.uint(7).uint(v);
        }
    }

    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let mut m = d.map(7)?;
        let mut l = Limits::default();
        if m.optional(1)? {
            l.currency = Some(currency(m.value())?);
        }
        if m.optional(2)? {
            l.max_note_value = Some(m.value().uint()?);
        }
        if m.optional(3)? {
            let h = m.value().u8("hop limit")?;
            if h == 0 || h > MAX_HOP_LIMIT {
                return Err(DecodeError::InvalidValue {
                    what: "hop limit",
                    why: "must be 1..=16",
                });
            }
            l.hop_limit = Some(h);
        }
        if m.optional(4)? {
            l.max_outstanding = Some(m.value().uint()?);
        }
        if m.optional(5)? {
            let d = m.value();
            let n = d.array(MAX_FLOOR_TIERS, "floor limits")?;
            if n == 0 {
                return Err(DecodeError::InvalidValue {
                    what: "floor limits",
                    why: "empty list must be omitted",
                });
            }
            for _ in 0..n {
                if d.array(2, "floor tier")? != 2 {
                    return Err(DecodeError::InvalidValue {
                        what: "floor tier",
                        why: "must be [up_to, max_crl_age]",
                    });
                }
                let up_to = d.uint()?;
                let max_crl_age = d.uint()?;
                if l.floor_limits.last().is_some_and(|p| p.up_to >= up_to) {
                    return Err(DecodeError::InvalidValue {
                        what: "floor limits",
                        why: "tiers must ascend strictly by amount",
                    });
                }
                l.floor_limits.push(FloorTier { up_to, max_crl_age });
            }
        }
        if m.optional(6)? {
            l.max_payment = Some(m.value().uint()?);
        }
        if m.optional(7)? {
            l.max_without_uv = Some(m.value().uint()?);
        }
        m.finish()?;
        Ok(l)
    }
}

/// The signed fields of a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertBody {
    /// Serial number, unique per issuer (what CRLs list).
    pub serial: u64,
    /// Role of the subject.
    pub role: Role,
    /// The subject's P-256 key.
    pub subject: PublicKey,
    /// The issuer certificate's id; `None` only for the self-signed root.
    pub issuer: Option<CertId>,
    /// Start of validity (Unix seconds).
    pub not_before: u64,
    /// End of validity (Unix seconds, inclusive).
    pub not_after: u64,
    /// Certified display name (FI name, merchant name), if any.
    pub name: Option<String>,
    /// Limits set by the issuer.
    pub limits: Limits,
    /// For keys in WebAuthn authenticators: the RP ID, origins, UV requirement and whether
    /// the key is a synced passkey.
    pub webauthn: Option<WebAuthnPolicy>,
}

/// A certificate.
pub type Certificate = Signed<CertBody>;

impl Body for CertBody {
    const TYPE: u64 = types::CERT;
    const NAME: &'static str = "certificate";
    const MAX_LEN: usize = 2048;

    fn field_count(&self) -> usize {
        5 + usize::from(self.issuer.is_some())
            + usize::from(self.name.is_some())
            + usize::from(self.limits != Limits::default())
            + usize::from(self.webauthn.is_some())
    }

    fn encode_fields(&self, e: &mut Encoder) {
        e.uint(2).uint(self.serial);
        e.uint(3).uint(self.role as u64);
        e.uint(4);
        self.subject.encode(e);
        if let Some(i) = &self.issuer {
            e.uint(5);
            i.encode(e);
        }
        e.uint(6).uint(self.not_before);
        e.uint(7).uint(self.not_after);
        if let Some(n) = &self.name {
            e.uint(8).text(n);
        }
        if self.limits != Limits::default() {
            e.uint(9);
            self.limits.encode(e);
        }
        if let Some(w) = &self.webauthn {
            let default_origins = w.origins == w.default_origins();
            e.uint(10).map(
                1 + usize::from(!default_origins)
                    + usize::from(w.user_verification)
                    + usize::from(w.synced),
            );
            e.uint(1).text(&w.rp_id);
            if !default_origins {
                e.uint(2).array(w.origins.len());
                for o in &w.origins {
                    e.text(o);
                }
            }
            if w.user_verification {
                e.uint(3).bool(true);
            }
            if w.synced {
                e.uint(4).bool(true);
            }
        }
    }

    fn decode_fields(m: &mut MapReader<'_, '_>) -> Result<Self, DecodeError> {
        let serial = m.required(2)?.uint()?;
        let role = Role::from_u8(m.required(3)?.u8("role")?).ok_or(DecodeError::InvalidValue {
            what: "role",
            why: "unknown role",
        })?;
        let subject = PublicKey::decode_checked(m.required(4)?)?;
        let issuer = if m.optional(5)? {
            Some(CertId::decode(m.value())?)
        } else {
            None
        };
        let not_before = m.required(6)?.uint()?;
        let not_after = m.required(7)?.uint()?;
        if not_after < not_before {
            return Err(DecodeError::InvalidValue {
                what: "validity",
                why: "not_after before not_before",
            });
        }
        let name = if m.optional(8)? {
            Some(text(m.value(), MAX_LABEL_LEN, "name")?)
        } else {
            None
        };
        let limits = if m.optional(9)? {
            let l = Limits::decode(m.value())?;
            if l == Limits::default() {
                return Err(DecodeError::InvalidValue {
                    what: "limits",
                    why: "empty limits must be omitted",
                });
            }
            l
        } else {
            Limits::default()
        };
        let webauthn = if m.optional(10)? {
            let d = m.value();
            let mut w = d.map(4)?;
            let rp_id = text(w.required(1)?, MAX_RP_ID_LEN, "rp id")?;
            let origins = if w.optional(2)? {
                let od = w.value();
                let n = od.array(MAX_ORIGINS, "origins")?;
                let mut origins = Vec::with_capacity(n);
                for _ in 0..n {
                    origins.push(text(od, MAX_ORIGIN_LEN, "origin")?);
                }
                if origins == [format!("https://{rp_id}")] {
                    return Err(DecodeError::InvalidValue {
                        what: "origins",
                        why: "the default [\"https://<rp id>\"] must be omitted",
                    });
                }
                origins
            } else {
                vec![format!("https://{rp_id}")]
            };
            let user_verification = if w.optional(3)? {
                if !w.value().bool()? {
                    return Err(DecodeError::InvalidValue {
                        what: "user verification",
                        why: "false must be omitted",
                    });
                }
                true
            } else {
                false
            };
            let synced = if w.optional(4)? {
                if !w.value().bool()? {
                    return Err(DecodeError::InvalidValue {
                        what: "synced",
                        why: "false must be omitted",
                    });
                }
                true
            } else {
                false
            };
            w.finish()?;
            let p = WebAuthnPolicy {
                rp_id,
                origins,
                user_verification,
                synced,
            };
            p.validate()?;
            Some(p)
        } else {
            None
        };
        if (role == Role::Root) != issuer.is_none() {
            return Err(DecodeError::InvalidValue {
                what: "issuer",
                why: "the root has no issuer; every other certificate has one",
            });
        }
        Ok(Self {
            serial,
            role,
            subject,
            issuer,
            not_before,
            not_after,
            name,
            limits,
            webauthn,
        })
    }
}

impl CertBody {
    /// This body's certificate id.
    pub fn id(&self) -> CertId {
        cert_id_of(&Certificate::body_bytes_of(self))
    }

    /// Whether `t` lies in the validity period widened by `skew` seconds on both sides.
    pub fn valid_at(&self, t: u64, skew: u64) -> bool {
        t.saturating_add(skew) >= self.not_before && t <= self.not_after.saturating_add(skew)
    }
}

/// The id of the certificate whose body bytes are `body`: SHA-256 truncated to 16 bytes.
pub fn cert_id_of(body: &[u8]) -> CertId {
    let h = sha256(body);
    let mut id = [0u8; 16];
    id.copy_from_slice(&h[..16]);
    CertId(id)
}

impl Certificate {
    /// The certificate id (hash of the signed body).
    pub fn id(&self) -> CertId {
        self.body.id()
    }
}
