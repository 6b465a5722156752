//! The FI's revocations, held in memory for the settlement rule of
//! `ops_core::settlement` (when was a certificate revoked?) and for the devices their
//! holders revoked (lost, replaced, stolen: they no longer deposit or defund). Reloaded
//! from the database after this process revokes (a fraud case, a holder's revocation) and
//! at least every [`REFRESH`], so the
//! revocations of another instance or an operator apply within that time: a deposit
//! checked just before a reload is treated as having arrived before that revocation,
//! which the protocol's windows (hours to days) absorb.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use ops_core::CertId;

use crate::store::{Store, StoreError};

/// Longest time a revocation made elsewhere takes to apply here.
pub const REFRESH: Duration = Duration::from_secs(1);

/// The revocations at one moment.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Revocation time by certificate.
    pub times: HashMap<CertId, u64>,
    /// The reason of each certificate revoked by its holder (`lost`, `replaced`, `stolen`).
    pub by_holder: HashMap<CertId, String>,
    /// Serials other FIs revoked, by (issuer, serial): when this FI first saw them on the
    /// issuer's CRL (received through the central bank).
    pub peers: HashMap<(CertId, u64), u64>,
    /// Certificates on this FI's counterparty block list.
    pub blocked: std::collections::HashSet<CertId>,
    loaded: Option<Instant>,
}

impl Snapshot {
    /// When `cert` (one of `certs`) was revoked, by this FI or (as first seen here) by
    /// another.
    pub fn revoked_at(&self, cert: &CertId, certs: &[ops_core::Certificate]) -> Option<u64> {
        if let Some(t) = self.times.get(cert) {
            return Some(*t);
        }
        if self.peers.is_empty() {
            return None;
        }
        let c = certs.iter().find(|c| c.id() == *cert)?;
        self.peers.get(&(c.body.issuer?, c.body.serial)).copied()
    }
}

/// Whether a stored revocation reason is the holder's (the device left their control),
/// not the FI's (`double spend`).
pub fn holder_reason(reason: &str) -> bool {
    matches!(reason, "lost" | "replaced" | "stolen")
}

/// Revocation times by certificate id, reloaded when stale.
#[derive(Debug, Clone, Default)]
pub struct Revocations {
    snapshot: Arc<RwLock<Option<Arc<Snapshot>>>>,
}

impl Revocations {
    /// The current revocations, reloading them from `store` first when they are older
    /// than [`REFRESH`] or were invalidated.
    pub async fn current(&self, store: &Store) -> Result<Arc<Snapshot>, StoreError> {
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        let mut snapshot = Snapshot {
            loaded: Some(Instant::now()),
            ..Snapshot::default()
        };
        for entry in store.revocation_entries().await? {
            snapshot.times.insert(entry.cert_id, entry.revoked_at);
            if holder_reason(&entry.reason) {
                snapshot.by_holder.insert(entry.cert_id, entry.reason);
            }
        }
        for p in store.peer_revocations().await? {
            snapshot.peers.insert((p.issuer, p.serial), p.seen_at);
        }
        snapshot.blocked.extend(store.blocklist().await?.1);
        let snapshot = Arc::new(snapshot);
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&snapshot));
        Ok(snapshot)
    }

    /// Forgets the snapshot: the next check reloads (after this process revoked).
    pub fn invalidate(&self) {
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn fresh(&self) -> Option<Arc<Snapshot>> {
        let guard = self.snapshot.read().unwrap_or_else(PoisonError::into_inner);
        let s = guard.as_ref()?;
        s.loaded
            .is_some_and(|t| t.elapsed() < REFRESH)
            .then(|| Arc::clone(s))
    }
}
