//! Renewing notes at sync: the planner ([`plan`]) decides which free ranges go back to the
//! account, and [`Engine::start_refresh`] starts the renewal saga
//! ([`crate::saga::refresh`]) that returns them and loads the same amount again.

pub mod plan;

#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod tests;

pub use plan::{
    Choice, MAX_RETURNED, Range, RefreshPlan, RefreshPolicy, awaiting_deposit, choose, plan_refresh,
};

use ops_core::ids::sha256;

use crate::engine::{Engine, Output};
use crate::error::EngineError;
use crate::saga::{self, At, SagaState, Transition, refresh};
use crate::store::{StoreError, WalletStore};
use crate::types::SagaId;

/// A renewal's id: `refresh:` and the first 16 bytes of SHA-256 over `now` and the ranges
/// it returns. Two windows that plan the same renewal at the same moment name the same
/// saga, and only one of them can create it.
pub fn refresh_id(plan: &RefreshPlan, now: u64) -> SagaId {
    let mut m = b"ops refresh ".to_vec();
    m.extend_from_slice(&now.to_be_bytes());
    for p in &plan.pieces {
        m.extend_from_slice(&p.note.0);
        m.extend_from_slice(&p.from.to_be_bytes());
        m.extend_from_slice(&p.to.to_be_bytes());
    }
    SagaId::new("refresh", &sha256(&m)[..16])
}

impl<S: WalletStore> Engine<'_, S> {
    /// What a renewal at `now` would return, without starting it.
    pub async fn refresh_plan(&self, now: u64) -> Result<Option<RefreshPlan>, EngineError> {
        let sagas = self.store().sagas().await?;
        let snap = self.snapshot().await?;
        let awaiting = awaiting_deposit(&sagas, &snap);
        Ok(plan_refresh(&snap, &awaiting, now, &self.config().refresh))
    }

    /// Starts renewing notes (at sync, after the deposits): claims the planned ranges and
    /// asks for the approval of their return. `None` when there is nothing to renew. If a
    /// renewal is unfinished, returns it with what to do next instead of planning another.
    /// If another window took a range first, plans again from what is left.
    pub async fn start_refresh(&self, now: u64) -> Result<Option<Output>, EngineError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sagas = self.store().sagas().await?;
            let snap = self.snapshot().await?;
            let open = sagas
                .iter()
                .find(|r| matches!(&r.state, SagaState::Refresh(s) if !s.is_finished()));
            if let Some(open) = open {
                return Ok(Some(Output {
                    commands: saga::pending_commands(open, &snap),
                    record: open.clone(),
                }));
            }
            let awaiting = awaiting_deposit(&sagas, &snap);
            let Some(plan) = plan_refresh(&snap, &awaiting, now, &self.config().refresh) else {
                return Ok(None);
            };
            let id = refresh_id(&plan, now);
            let at = At {
                id: &id,
                created: now,
                now,
            };
            let step = refresh::start(&at, &plan, &snap)?;
            let t = Transition::create(id, step.map(SagaState::Refresh), now);
            match self.commit(t).await {
                Err(EngineError::Store(
                    StoreError::RangeTaken { .. } | StoreError::VersionConflict { .. },
                )) if attempt < self.config().reserve_attempts => {}
                other => return other.map(Some),
            }
        }
    }
}
