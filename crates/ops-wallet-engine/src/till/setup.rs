//! Set-up and trust: the terminal's identity and trust bundle (checked to chain to the
//! pinned root before anything is stored), trust refreshes that keep the pinned root, and
//! CRLs verified against the bundle. Each refresh from the FI records the contact time the
//! status line reports.

use ops_core::crl_store::CrlStore;
use ops_core::msg::cert::Role;
use ops_core::msg::crl::Crl;
use ops_core::sig::verify_signature;
use ops_core::{Certificate, P256Provider};

use super::engine::TillEngine;
use super::error::{TillError, TillSagaError};
use super::store::{TillBatch, TillStore, TillWrite, TrustWrite};
use super::types::TillIdentity;
use crate::saga::fi::unb64;
use crate::types::TrustBundle;

fn check_signed_by(cert: &Certificate, issuer: &Certificate) -> Result<(), TillSagaError> {
    verify_signature(
        &P256Provider,
        &issuer.body.subject,
        None,
        &cert.body_bytes(),
        &cert.signature,
    )
    .map_err(|e| TillSagaError::Untrusted(format!("{}: {e}", cert.id())))
}

fn decode_cert(bytes: &[u8], what: &'static str) -> Result<Certificate, TillSagaError> {
    Certificate::from_bytes(bytes).map_err(|source| TillSagaError::Malformed { what, source })
}

/// Converts the FI's `GET /api/v1/trust` answer (base64) into the stored bundle.
pub fn bundle_from_api(api: &ops_api::TrustBundle) -> Result<TrustBundle, TillSagaError> {
    let dec = |s: &str| {
        unb64(s).ok_or_else(|| TillSagaError::Untrusted("a certificate is not base64".into()))
    };
    Ok(TrustBundle {
        root: dec(&api.root)?,
        fis: api
            .fis
            .iter()
            .map(|f| dec(f))
            .collect::<Result<Vec<_>, _>>()?,
        blocklist: api.blocklist.as_deref().map(dec).transpose()?,
    })
}

impl<S: TillStore> TillEngine<'_, S> {
    /// Stores the terminal's identity and the trust bundle received at registration,
    /// after checking that they chain (terminal → FI → pinned root, signatures included).
    pub async fn onboard(
        &self,
        identity: TillIdentity,
        bundle: TrustBundle,
    ) -> Result<(), TillError> {
        let terminal = decode_cert(&identity.terminal_cert, "terminal certificate")?;
        let fi = decode_cert(&identity.fi_cert, "FI certificate")?;
        let root = decode_cert(&bundle.root, "root certificate")?;
        check_root(&root)?;
        if fi.body.role != Role::Fi || fi.body.issuer != Some(root.id()) {
            return Err(
                TillSagaError::Untrusted("the FI is not certified by the root".into()).into(),
            );
        }
        check_signed_by(&fi, &root)?;
        if terminal.body.role != Role::Device || terminal.body.issuer != Some(fi.id()) {
            return Err(
                TillSagaError::Untrusted("the terminal is not certified by its FI".into()).into(),
            );
        }
        check_signed_by(&terminal, &fi)?;
        if terminal.body.webauthn.is_some() && identity.credential_id.is_none() {
            return Err(TillSagaError::Untrusted(
                "the terminal's certificate is for a passkey: its credential id is needed to sign receipts".into(),
            )
            .into());
        }
        for f in &bundle.fis {
            check_fi(&decode_cert(f, "FI certificate")?, &root)?;
        }
        self.store()
            .apply(TillBatch::of(vec![
                TillWrite::Trust(TrustWrite::SetIdentity(identity)),
                TillWrite::Trust(TrustWrite::SetBundle(bundle)),
            ]))
            .await?;
        Ok(())
    }

    /// Replaces the FI certificates of the trust bundle with a newer list from the FI,
    /// keeping the pinned root (a bundle with another root is refused), and records the
    /// contact with the FI.
    pub async fn refresh_trust(&self, bundle: TrustBundle, now: u64) -> Result<(), TillError> {
        let held = self
            .store()
            .trust_bundle()
            .await?
            .ok_or(TillSagaError::NotSetUp)?;
        if bundle.root != held.root {
            return Err(TillSagaError::Untrusted(
                "the bank sent another root than the one pinned at set-up".into(),
            )
            .into());
        }
        let root = decode_cert(&bundle.root, "root certificate")?;
        for f in &bundle.fis {
            check_fi(&decode_cert(f, "FI certificate")?, &root)?;
        }
        self.store()
            .apply(TillBatch::of(vec![
                TillWrite::Trust(TrustWrite::SetBundle(bundle)),
                TillWrite::Trust(TrustWrite::SetLastOnline(now)),
            ]))
            .await?;
        Ok(())
    }

    /// Verifies a CRL against the trust bundle and keeps it if newer; records the contact
    /// with the FI. Returns whether it was newer.
    pub async fn store_crl(&self, bytes: &[u8], now: u64) -> Result<bool, TillError> {
        let snap = self.snapshot().await?;
        let trust = snap.trust.as_ref().ok_or(TillSagaError::NotSetUp)?;
        let crl = Crl::from_bytes(bytes).map_err(|source| TillSagaError::Malformed {
            what: "revocation list",
            source,
        })?;
        let issuer = trust.crl_issuer(&crl.body.issuer).ok_or_else(|| {
            TillSagaError::Untrusted("the revocation list's issuer is unknown".into())
        })?;
        CrlStore::new()
            .insert(crl.clone(), issuer, &P256Provider)
            .map_err(|e| TillSagaError::Untrusted(e.to_string()))?;
        let newer = snap.crls.is_newer(&crl);
        self.store()
            .apply(TillBatch::of(vec![
                TillWrite::Trust(TrustWrite::PutCrl {
                    issuer: crl.body.issuer,
                    number: crl.body.number,
                    bytes: bytes.to_vec(),
                }),
                TillWrite::Trust(TrustWrite::SetLastOnline(now)),
            ]))
            .await?;
        Ok(newer)
    }

    /// The largest amount the root's floor limits let the terminal accept offline (`None`:
    /// no limit), for the keypad to warn before "Charge".
    pub async fn offline_limit(&self) -> Result<Option<u64>, TillError> {
        let snap = self.snapshot().await?;
        let trust = snap.trust.as_ref().ok_or(TillSagaError::NotSetUp)?;
        Ok(trust.policy.floor_limits.last().map(|t| t.up_to))
    }
}

fn check_root(root: &Certificate) -> Result<(), TillSagaError> {
    if root.body.role != Role::Root || root.body.issuer.is_some() {
        return Err(TillSagaError::Untrusted(
            "the pinned root is not a root certificate".into(),
        ));
    }
    check_signed_by(root, root)
}

fn check_fi(fi: &Certificate, root: &Certificate) -> Result<(), TillSagaError> {
    if fi.body.role != Role::Fi || fi.body.issuer != Some(root.id()) {
        return Err(TillSagaError::Untrusted(format!(
            "{} is not an FI certified by the root",
            fi.id()
        )));
    }
    check_signed_by(fi, root)
}
