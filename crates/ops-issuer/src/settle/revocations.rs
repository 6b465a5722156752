//! The FI's revocations, held in memory for the settlement rule of
//! `ops_core::settlement` (when was a certificate revoked?). Reloaded from the database
//! after this process revokes (a fraud case) and at least every [`REFRESH`], so the
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

#[derive(Debug)]
struct Snapshot {
    by_cert: Arc<HashMap<CertId, u64>>,
    loaded: Instant,
}

/// Revocation times by certificate id, reloaded when stale.
#[derive(Debug, Clone, Default)]
pub struct Revocations {
    snapshot: Arc<RwLock<Option<Arc<Snapshot>>>>,
}

impl Revocations {
    /// The current revocation times, reloading them from `store` first when they are
    /// older than [`REFRESH`] or were invalidated.
    pub async fn current(&self, store: &Store) -> Result<Arc<HashMap<CertId, u64>>, StoreError> {
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        let rows = store.revocation_times().await?;
        let by_cert: HashMap<CertId, u64> = rows
            .into_iter()
            .filter_map(|(id, at)| parse_cert_id(&id).map(|c| (c, at)))
            .collect();
        let map = Arc::new(by_cert);
        let snapshot = Arc::new(Snapshot {
            by_cert: Arc::clone(&map),
            loaded: Instant::now(),
        });
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(snapshot);
        Ok(map)
    }

    /// Forgets the snapshot: the next check reloads (after this process revoked).
    pub fn invalidate(&self) {
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn fresh(&self) -> Option<Arc<HashMap<CertId, u64>>> {
        let guard = self.snapshot.read().unwrap_or_else(PoisonError::into_inner);
        let s = guard.as_ref()?;
        (s.loaded.elapsed() < REFRESH).then(|| Arc::clone(&s.by_cert))
    }
}

fn parse_cert_id(hex_id: &str) -> Option<CertId> {
    let bytes = ops_core::ids::from_hex(hex_id)?;
    Some(CertId(bytes.try_into().ok()?))
}
