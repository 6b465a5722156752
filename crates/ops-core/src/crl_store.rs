//! The newest verified CRL per issuer, as a payee or wallet holds them.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::ids::CertId;
use crate::msg::cert::Certificate;
use crate::msg::crl::Crl;
use crate::msg::payment::MAX_PAYMENT_CRLS;
use crate::msg::request::{CrlHeld, MAX_REQUEST_CRLS};
use crate::provider::CryptoProvider;
use crate::sig::{SignatureError, verify_signature};

/// Why a CRL was not stored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CrlError {
    /// The CRL names another issuer than the certificate given.
    #[error("CRL is for issuer {crl}, not for certificate {cert}")]
    WrongIssuer {
        /// Issuer named by the CRL.
        crl: CertId,
        /// Certificate supplied.
        cert: CertId,
    },
    /// The issuer signature does not verify.
    #[error("CRL signature: {0}")]
    Signature(#[from] SignatureError),
}

/// Newest CRL per issuer.
#[derive(Debug, Clone, Default)]
pub struct CrlStore {
    by_issuer: BTreeMap<CertId, Crl>,
}

impl CrlStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Verifies `crl` against its issuer's certificate and keeps it if it is newer than the
    /// held one (higher number). Returns whether it was kept. The caller must have checked
    /// that `issuer` itself chains to the root.
    pub fn insert(
        &mut self,
        crl: Crl,
        issuer: &Certificate,
        provider: &dyn CryptoProvider,
    ) -> Result<bool, CrlError> {
        let id = issuer.id();
        if crl.body.issuer != id {
            return Err(CrlError::WrongIssuer {
                crl: crl.body.issuer,
                cert: id,
            });
        }
        verify_signature(
            provider,
            &issuer.body.subject,
            None,
            &crl.body_bytes(),
            &crl.signature,
        )?;
        let newer = self.is_newer(&crl);
        if newer {
            self.by_issuer.insert(id, crl);
        }
        Ok(newer)
    }

    /// Keeps `crl`, already verified against its issuer (`Verifier::carried_crls`), if it
    /// is newer than the held one.
    pub(crate) fn adopt_verified(&mut self, crl: Crl) {
        if self.is_newer(&crl) {
            self.by_issuer.insert(crl.body.issuer, crl);
        }
    }

    /// Whether `crl` is news to this store: none held of its issuer, or a lower number.
    pub fn is_newer(&self, crl: &Crl) -> bool {
        self.by_issuer
            .get(&crl.body.issuer)
            .is_none_or(|held| held.body.number < crl.body.number)
    }

    /// The held CRL of `issuer`.
    pub fn get(&self, issuer: &CertId) -> Option<&Crl> {
        self.by_issuer.get(issuer)
    }

    /// Whether the held CRL of `cert`'s issuer lists it.
    pub fn is_revoked(&self, cert: &Certificate) -> bool {
        cert.body
            .issuer
            .and_then(|i| self.by_issuer.get(&i))
            .is_some_and(|crl| crl.body.is_revoked(cert.body.serial))
    }

    /// Age in seconds at `now` of the held CRL of `issuer`, if any.
    pub fn age(&self, issuer: &CertId, now: u64) -> Option<u64> {
        self.by_issuer
            .get(issuer)
            .map(|c| now.saturating_sub(c.body.issued))
    }

    /// What a payment request names as held (PROTOCOL.md §3.2): each issuer with the
    /// number of its held CRL, by issuer, at most `MAX_REQUEST_CRLS`.
    pub fn held(&self) -> Vec<CrlHeld> {
        self.by_issuer
            .values()
            .take(MAX_REQUEST_CRLS)
            .map(|c| CrlHeld {
                issuer: c.body.issuer,
                number: c.body.number,
            })
            .collect()
    }

    /// The CRLs to carry in a payment answering a request whose payee holds `payee_holds`:
    /// for each issuer named there, the CRL this store holds if its number is higher
    /// (at most `MAX_PAYMENT_CRLS`, lowest issuer ids first). Issuers the request does not
    /// name get nothing: the payee could not check their signature.
    pub fn newer_than(&self, payee_holds: &[CrlHeld]) -> Vec<Crl> {
        payee_holds
            .iter()
            .filter_map(|h| {
                self.by_issuer
                    .get(&h.issuer)
                    .filter(|mine| mine.body.number > h.number)
            })
            .take(MAX_PAYMENT_CRLS)
            .cloned()
            .collect()
    }

    /// All held CRLs (to pass along to peers).
    pub fn iter(&self) -> impl Iterator<Item = &Crl> {
        self.by_issuer.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::P256Provider;
    use crate::msg::crl::CrlBody;
    use crate::testing::{T0, World, sign_body};

    #[test]
    fn keeps_newest_verified_crl() {
        let w = World::new(1);
        let fi = &w.fis[0];
        let crl = |number, revoked: Vec<u64>| {
            sign_body(
                CrlBody {
                    issuer: fi.id(),
                    number,
                    issued: T0 + number,
                    revoked,
                },
                &w.fi_keys[0],
            )
        };
        let mut s = CrlStore::new();
        assert!(s.insert(crl(2, vec![101]), fi, &P256Provider).unwrap());
        assert!(
            !s.insert(crl(1, vec![]), fi, &P256Provider).unwrap(),
            "older ignored"
        );
        assert!(s.is_revoked(&w.wallets[0].cert) == (w.wallets[0].cert.body.serial == 101));
        assert_eq!(s.age(&fi.id(), T0 + 10), Some(8));
        assert!(
            s.insert(
                crl(3, vec![w.wallets[0].cert.body.serial]),
                fi,
                &P256Provider
            )
            .unwrap()
        );
        assert!(s.is_revoked(&w.wallets[0].cert));
        // Wrong issuer and forged signature.
        assert!(matches!(
            s.insert(crl(4, vec![]), &w.fis[1], &P256Provider),
            Err(CrlError::WrongIssuer { .. })
        ));
        let forged = sign_body(
            CrlBody {
                issuer: fi.id(),
                number: 9,
                issued: T0,
                revoked: vec![],
            },
            &w.fi_keys[1],
        );
        assert!(matches!(
            s.insert(forged, fi, &P256Provider),
            Err(CrlError::Signature(_))
        ));
        assert_eq!(s.iter().count(), 1);
    }
}
