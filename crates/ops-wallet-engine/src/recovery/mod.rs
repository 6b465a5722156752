//! Start-up recovery: one pass over every unfinished saga, one fixed rule per state.
//!
//! | flow | state | rule |
//! |---|---|---|
//! | pay | reserved | request still valid: ask again for the signatures over the frozen bodies; expired: release the ranges |
//! | pay | signed, handed over | show the same payment bytes again |
//! | receive | shown | request still valid: show it again; expired: close |
//! | receive | scanned | verify the frozen bytes at the frozen scan time, store or refuse |
//! | fund | requested | post the same body with the same idempotency key |
//! | defund | reserved | ask again for the signatures over the frozen bodies |
//! | defund | signed | post the same payment bytes |
//! | deposit | posting | post the same payment bytes |
//! | refresh | reserved | release the ranges (the next sync plans again) |
//! | refresh | returning | post the same return bytes |
//! | refresh | reissuing | post the same load with the same idempotency key |
//!
//! A rule that moves a saga commits like any step; if another window moved it first
//! (version conflict) the saga is reported as skipped. [`RecoveryReport::sentences`] says
//! what was done, one plain-language line per saga ([`words`]).

pub mod words;

use ops_core::PaymentRequest;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::saga::{
    self, Command, Event, Flow, PayState, ReceiveState, RefreshState, SagaRecord, SagaState,
};
use crate::store::{StoreError, WalletStore};
use crate::types::SagaId;

/// What recovery did with one saga.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Released the ranges of a payment that was never signed (its request expired).
    Released,
    /// Asks again for signatures over the same frozen bodies.
    Resign,
    /// Shows the same bytes again (a signed payment, or a request).
    Reshow,
    /// Posts the same request again.
    Repost,
    /// Verified a scanned payment (stored, or refused and the request shown again).
    Verified,
    /// Closed a request that expired unpaid.
    Closed,
    /// Another window moved it first.
    Skipped,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The saga.
    pub saga: SagaId,
    /// Its flow.
    pub flow: Flow,
    /// The amount it moves and its currency, when its state knows them.
    pub amount: Option<(u64, String)>,
    /// Its state before recovery.
    pub was: &'static str,
    /// Its state after recovery.
    pub after: &'static str,
    /// What was done.
    pub action: Action,
    /// Commands for the app.
    pub commands: Vec<Command>,
}

/// What recovery did, for the app to show when it matters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// One entry per unfinished saga.
    pub entries: Vec<Recovered>,
}

impl RecoveryReport {
    /// Whether there was nothing to recover.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries with `action`.
    pub fn count(&self, action: Action) -> usize {
        self.entries.iter().filter(|e| e.action == action).count()
    }

    /// Every command, in saga order.
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        self.entries.iter().flat_map(|e| e.commands.iter())
    }
}

fn request_expired(bytes: &[u8], now: u64) -> bool {
    PaymentRequest::from_bytes(bytes).map_or(true, |r| r.expires < now)
}

enum Rule {
    /// Feed this event.
    Event(Event, Action),
    /// Only re-issue the pending commands.
    Pending(Action),
}

fn rule(record: &SagaRecord, now: u64) -> Option<Rule> {
    Some(match &record.state {
        SagaState::Pay(PayState::Reserved { request, .. }) => {
            if request_expired(request, now) {
                Rule::Event(Event::Abort, Action::Released)
            } else {
                Rule::Pending(Action::Resign)
            }
        }
        SagaState::Pay(PayState::Signed { .. } | PayState::HandedOver { .. }) => {
            Rule::Pending(Action::Reshow)
        }
        SagaState::Receive(ReceiveState::Shown { request }) => {
            if request_expired(request, now) {
                Rule::Event(Event::Abort, Action::Closed)
            } else {
                Rule::Pending(Action::Reshow)
            }
        }
        SagaState::Receive(ReceiveState::Scanned { .. }) => {
            Rule::Event(Event::Verify, Action::Verified)
        }
        SagaState::Fund(_) | SagaState::Deposit(_) => Rule::Pending(Action::Repost),
        SagaState::Defund(saga::DefundState::Reserved { .. }) => Rule::Pending(Action::Resign),
        SagaState::Defund(_) => Rule::Pending(Action::Repost),
        // A renewal is maintenance the sync started, not a payment the user asked for: no
        // approval prompt at start-up; nothing has left the wallet, the next sync plans again.
        SagaState::Refresh(RefreshState::Reserved { .. }) => {
            Rule::Event(Event::Abort, Action::Released)
        }
        SagaState::Refresh(_) => Rule::Pending(Action::Repost),
        _ => return None,
    })
}

impl<S: WalletStore> Engine<'_, S> {
    /// Walks every unfinished saga and applies its state's rule (see the module docs).
    pub async fn recover(&self, now: u64) -> Result<RecoveryReport, EngineError> {
        let mut report = RecoveryReport::default();
        for record in self.store().sagas().await? {
            if record.state.is_finished() {
                continue;
            }
            let Some(rule) = rule(&record, now) else {
                continue;
            };
            let was = record.state.name();
            let base = Recovered {
                saga: record.id.clone(),
                flow: record.state.flow(),
                amount: record.state.amount(),
                was,
                after: was,
                action: Action::Skipped,
                commands: Vec::new(),
            };
            let entry = match rule {
                Rule::Pending(action) => Recovered {
                    action,
                    commands: self.resume(&record.id).await?,
                    ..base
                },
                Rule::Event(event, action) => {
                    let snap = self.snapshot().await?;
                    let t = saga::advance(&record, event, &snap, now)?;
                    match self.commit(t).await {
                        Ok(out) => Recovered {
                            after: out.record.state.name(),
                            action,
                            commands: out.commands,
                            ..base
                        },
                        Err(EngineError::Store(StoreError::VersionConflict { .. })) => base,
                        Err(e) => return Err(e),
                    }
                }
            };
            report.entries.push(entry);
        }
        Ok(report)
    }
}
