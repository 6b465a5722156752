//! What a transition may read: the store's contents at the moment the engine decides,
//! decoded once. Transitions are pure functions of a snapshot, a saga state, an event
//! and `now`.

use ops_core::crl_store::CrlStore;
use ops_core::ids::CertId;
use ops_core::ledger::RangeLedger;
use ops_core::msg::crl::Crl;
use ops_core::verify::{Policy, Verifier};
use ops_core::wallet::{WalletBook, WalletNote};
use ops_core::{Certificate, P256Provider, Spend};

use crate::error::EngineError;
use crate::store::WalletStore;
use crate::types::{Claim, Identity, TrustBundle};

/// The device's decoded identity.
#[derive(Debug, Clone)]
pub struct Device {
    /// As stored.
    pub identity: Identity,
    /// The device certificate.
    pub cert: Certificate,
    /// Its FI's certificate.
    pub fi: Certificate,
}

/// The decoded trust bundle.
#[derive(Debug, Clone)]
pub struct Trust {
    /// The pinned root.
    pub root: Certificate,
    /// Known FI certificates.
    pub fis: Vec<Certificate>,
    /// The root's verification policy.
    pub policy: Policy,
    /// The device's FI's counterparty block list, if the bundle holds one that its issuer
    /// (an FI of the bundle, or the root) signed.
    pub blocklist: Option<ops_core::BlockListBody>,
}

impl Trust {
    /// Decodes a stored bundle (the root's policy comes with it). The error describes the
    /// damaged record.
    pub fn decode(bundle: &TrustBundle) -> Result<Self, String> {
        let root = decode_cert(&bundle.root, "root certificate")?;
        let fis = bundle
            .fis
            .iter()
            .map(|f| decode_cert(f, "FI certificate"))
            .collect::<Result<Vec<_>, _>>()?;
        let blocklist = bundle.blocklist.as_deref().and_then(|b| {
            let issuer = ops_core::msg::blocklist::BlockList::from_bytes(b)
                .ok()?
                .body
                .issuer;
            let cert = core::iter::once(&root)
                .chain(fis.iter())
                .find(|c| c.id() == issuer)?;
            ops_core::BlockListBody::verified(b, cert, &P256Provider)
        });
        Ok(Self {
            policy: Policy::from_root(&root),
            root,
            fis,
            blocklist,
        })
    }

    /// The first payer of `payment` on the block list, if any.
    pub fn blocked_payer(&self, payment: &ops_core::Payment) -> Option<CertId> {
        let list = self.blocklist.as_ref()?;
        ops_core::blocked_payer(payment, &[list])
    }

    /// The certificate of a CRL issuer this bundle trusts: the root or one of its FIs.
    pub fn crl_issuer(&self, issuer: &CertId) -> Option<&Certificate> {
        core::iter::once(&self.root)
            .chain(self.fis.iter())
            .find(|c| c.id() == *issuer)
    }

    /// The newest CRL per issuer among `stored` (canonical bytes), each verified against
    /// its issuer in this bundle. A stored CRL was verified before it was stored; one that
    /// no longer verifies, or whose issuer left the bundle, is skipped rather than trusted.
    /// The error describes a record that does not decode.
    pub fn crl_store(&self, stored: Vec<Vec<u8>>) -> Result<CrlStore, String> {
        let mut crls = CrlStore::new();
        for b in stored {
            let crl = Crl::from_bytes(&b).map_err(|e| format!("CRL: {e}"))?;
            if let Some(issuer) = self.crl_issuer(&crl.body.issuer) {
                let _ = crls.insert(crl, issuer, &P256Provider);
            }
        }
        Ok(crls)
    }
}

fn decode_cert(bytes: &[u8], what: &str) -> Result<Certificate, String> {
    Certificate::from_bytes(bytes).map_err(|e| format!("{what}: {e}"))
}

/// The store's contents, decoded.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Every note held.
    pub notes: Vec<WalletNote>,
    /// Every claim.
    pub claims: Vec<Claim>,
    /// Received spends, by range.
    pub ledger: RangeLedger<Spend>,
    /// The device, once onboarded.
    pub device: Option<Device>,
    /// The trust bundle, once onboarded.
    pub trust: Option<Trust>,
    /// Verified CRLs.
    pub crls: CrlStore,
}

fn cert(bytes: &[u8], what: &str) -> Result<Certificate, EngineError> {
    Certificate::from_bytes(bytes).map_err(|e| EngineError::Corrupt(format!("{what}: {e}")))
}

impl Snapshot {
    /// Reads and decodes everything a transition may need.
    pub async fn load<S: WalletStore>(store: &S) -> Result<Self, EngineError> {
        let notes = store.notes().await?;
        let claims = store.claims().await?;
        let mut ledger = RangeLedger::new();
        for b in store.received_spends().await? {
            let s = Spend::from_bytes(&b)
                .map_err(|e| EngineError::Corrupt(format!("received spend: {e}")))?;
            let id = s.id();
            let (input, from, to) = (s.body.input, s.body.from, s.body.to);
            ledger.insert(input, from, to, id, s);
        }
        let device = match store.identity().await? {
            Some(identity) => Some(Device {
                cert: cert(&identity.device_cert, "device certificate")?,
                fi: cert(&identity.fi_cert, "FI certificate")?,
                identity,
            }),
            None => None,
        };
        let trust = match store.trust_bundle().await? {
            Some(b) => Some(Trust::decode(&b).map_err(EngineError::Corrupt)?),
            None => None,
        };
        let crls = match &trust {
            Some(t) => t
                .crl_store(store.crls().await?)
                .map_err(EngineError::Corrupt)?,
            None => CrlStore::new(),
        };
        Ok(Self {
            notes,
            claims,
            ledger,
            device,
            trust,
            crls,
        })
    }

    /// The notes with every claimed range taken out: one entry per free gap, shaped as a
    /// [`WalletNote`] whose `[spent, value)` is the gap, so `ops_core`'s coin selection and
    /// balance work on it unchanged.
    pub fn free_book(&self) -> WalletBook {
        let mut notes = Vec::new();
        for n in &self.notes {
            let mut held: Vec<(u64, u64)> = self
                .claims
                .iter()
                .filter(|c| c.note == n.id)
                .map(|c| (c.from, c.to))
                .collect();
            held.sort_unstable();
            let mut at = 0;
            for (from, to) in held.into_iter().chain(core::iter::once((n.value, n.value))) {
                if from > at {
                    let mut gap = n.clone();
                    gap.spent = at;
                    gap.value = from;
                    notes.push(gap);
                }
                at = at.max(to);
            }
        }
        WalletBook { notes }
    }

    /// All notes as stored (for provenance look-ups).
    pub fn full_book(&self) -> WalletBook {
        WalletBook {
            notes: self.notes.clone(),
        }
    }

    /// Free value of one note.
    pub fn free_of(&self, note: &WalletNote) -> u64 {
        let held: u64 = self
            .claims
            .iter()
            .filter(|c| c.note == note.id)
            .map(Claim::value)
            .sum();
        note.value.saturating_sub(held)
    }

    /// The certificates this wallet knows besides a payment's own: its device and FI
    /// certificates and every FI of the bundle.
    pub fn known_certs(&self) -> Vec<Certificate> {
        let mut v = Vec::new();
        if let Some(d) = &self.device {
            v.push(d.cert.clone());
            v.push(d.fi.clone());
        }
        if let Some(t) = &self.trust {
            v.extend(t.fis.iter().cloned());
        }
        v
    }

    /// A verifier over this snapshot's trust, with `known` as the known certificates.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ClaimStatus, SagaId};
    use ops_core::NoteId;

    #[test]
    fn free_book_has_one_entry_per_gap() {
        let note = WalletNote {
            id: NoteId([1; 32]),
            value: 100,
            spent: 0,
            hops: 0,
            hop_limit: 4,
            expires: 10,
            currency: "EUR".into(),
            provenance: Vec::new(),
            certs: Vec::new(),
        };
        let claim = |from, to| Claim {
            saga: SagaId::new("pay", &[from as u8]),
            note: note.id,
            from,
            to,
            status: ClaimStatus::Reserved,
        };
        let s = Snapshot {
            notes: vec![note.clone()],
            claims: vec![claim(10, 20), claim(50, 100)],
            ..Snapshot::default()
        };
        let gaps: Vec<(u64, u64)> = s
            .free_book()
            .notes
            .iter()
            .map(|g| (g.spent, g.value))
            .collect();
        assert_eq!(gaps, vec![(0, 10), (20, 50)]);
        assert_eq!(s.free_of(&note), 40);
        assert_eq!(s.free_book().balance("EUR", 0), 40);
    }
}
