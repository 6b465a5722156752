//! Certificate lookup, chain checks and validity checks shared by the verification entry
//! points, with a cache so each certificate is checked once per verification.

use std::collections::{BTreeMap, BTreeSet};

use super::{Verifier, VerifyError};
use crate::ids::CertId;
use crate::msg::cert::{Certificate, Role};
use crate::sig::verify_signature;

pub(super) struct Ctx<'a> {
    pub(super) v: &'a Verifier<'a>,
    pub(super) certs: BTreeMap<CertId, &'a Certificate>,
    pub(super) checked: BTreeSet<CertId>,
    pub(super) issuers_used: BTreeSet<CertId>,
}

impl<'a> Ctx<'a> {
    /// A context knowing the pinned root, the payee's certificates and `carried` (those a
    /// request or payment brings); the first of equal ids wins (the payee's own copy).
    pub(super) fn new(v: &'a Verifier<'a>, carried: &'a [Certificate]) -> Self {
        let mut certs: BTreeMap<CertId, &'a Certificate> = BTreeMap::new();
        certs.insert(v.root.id(), v.root);
        for c in v.known_certs.iter().chain(carried.iter()) {
            certs.entry(c.id()).or_insert(c);
        }
        Self {
            v,
            certs,
            checked: BTreeSet::new(),
            issuers_used: BTreeSet::new(),
        }
    }

    pub(super) fn lookup(&self, id: &CertId) -> Result<&'a Certificate, VerifyError> {
        self.certs
            .get(id)
            .copied()
            .ok_or(VerifyError::UnknownCertificate(*id))
    }

    fn chain_err(id: CertId, reason: &'static str) -> VerifyError {
        VerifyError::CertificateChain { id, reason }
    }

    /// Checks the certificate `id` chains to the root with the given role, its signature,
    /// and revocation. Validity in time is checked at each use.
    pub(super) fn check_cert(
        &mut self,
        id: &CertId,
        role: Role,
    ) -> Result<&'a Certificate, VerifyError> {
        let cert = self.lookup(id)?;
        if cert.body.role != role {
            return Err(Self::chain_err(*id, "certificate has the wrong role"));
        }
        if self.checked.contains(id) {
            return Ok(cert);
        }
        let issuer_id = cert.body.issuer.ok_or(Self::chain_err(*id, "no issuer"))?;
        let issuer = match role {
            Role::Fi => {
                if issuer_id != self.v.root.id() {
                    return Err(Self::chain_err(
                        *id,
                        "FI certificate not issued by the root",
                    ));
                }
                self.v.root
            }
            Role::Device => self.check_cert(&issuer_id, Role::Fi).map_err(|e| match e {
                VerifyError::UnknownCertificate(_) | VerifyError::CertificateChain { .. } => {
                    Self::chain_err(*id, "device certificate not issued by a certified FI")
                }
                other => other,
            })?,
            Role::Root => return Err(Self::chain_err(*id, "a root cannot appear on a chain")),
        };
        verify_signature(
            self.v.provider,
            &issuer.body.subject,
            issuer.body.webauthn.as_ref(),
            &cert.body_bytes(),
            &cert.signature,
        )
        .map_err(|_| Self::chain_err(*id, "issuer signature does not verify"))?;
        if self.v.crls.is_revoked(cert) {
            return Err(VerifyError::Revoked {
                id: *id,
                serial: cert.body.serial,
            });
        }
        self.issuers_used.insert(issuer_id);
        self.checked.insert(*id);
        Ok(cert)
    }

    /// Checks `cert` and, for devices, its FI are valid at `t`.
    pub(super) fn valid_at(&self, cert: &Certificate, t: u64) -> Result<(), VerifyError> {
        let skew = self.v.policy.clock_skew;
        let mut c = cert;
        loop {
            if !c.body.valid_at(t, skew) {
                return Err(VerifyError::CertificateNotValid {
                    id: c.id(),
                    at: t,
                    not_before: c.body.not_before,
                    not_after: c.body.not_after,
                });
            }
            match (c.body.role, c.body.issuer) {
                (Role::Device, Some(i)) => c = self.lookup(&i)?,
                _ => return Ok(()),
            }
        }
    }
}
