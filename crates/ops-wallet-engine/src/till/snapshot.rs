//! What a till transition may read, decoded once: the terminal's identity, the trust
//! bundle, the verified CRLs and, when a payment is being decided, the part of the range
//! ledger its spends touch.
//!
//! The ledger is read per payment ([`TillSnapshot::load_ledger_for`]): for each spend of
//! the payment, the store's recorded ranges of that note overlapping it (one indexed range
//! query each). The core's rule V23 only asks the history about those ranges, so the
//! verdict is the one a full ledger would give, and a decision costs `O(spends · log n)`
//! reads however many payments the till accepted before.

use ops_core::crl_store::CrlStore;
use ops_core::ledger::RangeLedger;
use ops_core::verify::Verifier;
use ops_core::{Certificate, P256Provider, Payment, Spend};

use super::error::TillError;
use super::store::TillStore;
use super::types::TillIdentity;
use crate::snapshot::Trust;

/// The terminal's decoded identity.
#[derive(Debug, Clone)]
pub struct Terminal {
    /// As stored.
    pub identity: TillIdentity,
    /// The terminal's certificate.
    pub cert: Certificate,
    /// Its FI's certificate.
    pub fi: Certificate,
}

/// The store's contents a transition needs, decoded.
#[derive(Debug, Clone, Default)]
pub struct TillSnapshot {
    /// The terminal, once set up.
    pub terminal: Option<Terminal>,
    /// The trust bundle, once set up.
    pub trust: Option<Trust>,
    /// Verified CRLs.
    pub crls: CrlStore,
    /// Recorded spends overlapping the payment being decided (empty otherwise).
    pub ledger: RangeLedger<Spend>,
}

fn cert(bytes: &[u8], what: &str) -> Result<Certificate, TillError> {
    Certificate::from_bytes(bytes).map_err(|e| TillError::Corrupt(format!("{what}: {e}")))
}

impl TillSnapshot {
    /// Reads and decodes identity, trust and CRLs (not the ledger).
    pub async fn load<S: TillStore>(store: &S) -> Result<Self, TillError> {
        let terminal = match store.identity().await? {
            Some(identity) => Some(Terminal {
                cert: cert(&identity.terminal_cert, "terminal certificate")?,
                fi: cert(&identity.fi_cert, "FI certificate")?,
                identity,
            }),
            None => None,
        };
        let trust = match store.trust_bundle().await? {
            Some(b) => Some(Trust::decode(&b).map_err(TillError::Corrupt)?),
            None => None,
        };
        let crls = match &trust {
            Some(t) => t
                .crl_store(store.crls().await?)
                .map_err(TillError::Corrupt)?,
            None => CrlStore::new(),
        };
        Ok(Self {
            terminal,
            trust,
            crls,
            ledger: RangeLedger::new(),
        })
    }

    /// Loads the recorded spends that overlap any spend of `payment` (final or provenance).
    pub async fn load_ledger_for<S: TillStore>(
        &mut self,
        store: &S,
        payment: &Payment,
    ) -> Result<(), TillError> {
        let mut ledger = RangeLedger::new();
        for chain in &payment.chains {
            for s in &chain.spends {
                let b = &s.body;
                for e in store.overlapping(&b.input, b.from, b.to).await? {
                    let spend = Spend::from_bytes(&e.bytes)
                        .map_err(|err| TillError::Corrupt(format!("recorded spend: {err}")))?;
                    ledger.insert(e.note, e.from, e.to, e.spend, spend);
                }
            }
        }
        self.ledger = ledger;
        Ok(())
    }

    /// The certificates the terminal holds besides a payment's own: its own, its FI's and
    /// every FI of the bundle.
    pub fn known_certs(&self) -> Vec<Certificate> {
        let mut v = Vec::new();
        if let Some(t) = &self.terminal {
            v.push(t.cert.clone());
            v.push(t.fi.clone());
        }
        if let Some(t) = &self.trust {
            v.extend(t.fis.iter().cloned());
        }
        v
    }

    /// A verifier over this snapshot's trust and CRLs with `known` as the known
    /// certificates.
    pub fn verifier<'a>(&'a self, trust: &'a Trust, known: &'a [Certificate]) -> Verifier<'a> {
        Verifier {
            root: &trust.root,
            known_certs: known,
            crls: &self.crls,
            policy: &trust.policy,
            provider: &P256Provider,
        }
    }
}
