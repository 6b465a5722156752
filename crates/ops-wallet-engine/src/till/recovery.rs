//! Start-up recovery of the till: one pass over every unfinished saga, one fixed rule per
//! state.
//!
//! | flow | state | rule |
//! |---|---|---|
//! | sale | open | request still valid: show the same bytes again; expired: close it |
//! | sale | deciding | decide the frozen payment bytes at their frozen arrival time (approve and store, or decline) |
//! | sale | approved | show the approval and ask again for the receipt signature over the same body |
//! | deposit | posting | post the same body again (the FI settles each note once) |
//!
//! A rule that commits and meets a version conflict (another window got there first) is
//! reported as skipped.

use super::engine::TillEngine;
use super::error::TillError;
use super::saga::sale::request_of;
use super::saga::{self, Decision, SaleState, TillCommand, TillEvent, TillSagaState};
use super::store::{TillStore, TillStoreError};
use crate::types::SagaId;

/// What recovery did with one saga.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TillAction {
    /// Shows the same request again.
    Reshown,
    /// Closed a request that expired unpaid.
    Expired,
    /// Decided a payment that was being decided.
    Decided(Decision),
    /// Shows the approval and asks again for the receipt signature.
    Resign,
    /// Posts the same upload again.
    Repost,
    /// Another window moved it first.
    Skipped,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TillRecovered {
    /// The saga.
    pub saga: SagaId,
    /// Its flow ("sale", "deposit upload").
    pub kind: &'static str,
    /// The sale's amount and currency.
    pub amount: Option<(u64, String)>,
    /// Its state before recovery.
    pub was: &'static str,
    /// Its state after recovery.
    pub after: &'static str,
    /// What was done.
    pub action: TillAction,
    /// Commands for the app.
    pub commands: Vec<TillCommand>,
}

/// What recovery did, for the app to show when it matters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TillRecoveryReport {
    /// One entry per unfinished saga.
    pub entries: Vec<TillRecovered>,
}

impl TillRecoveryReport {
    /// Whether there was nothing to recover.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every command the app should run now.
    pub fn commands(&self) -> Vec<TillCommand> {
        self.entries
            .iter()
            .flat_map(|e| e.commands.iter().cloned())
            .collect()
    }

    /// One plain sentence per entry for the cashier, amounts formatted by `money(minor,
    /// currency)`.
    pub fn sentences(&self, money: impl Fn(u64, &str) -> String) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| {
                let what = match &e.amount {
                    Some((a, c)) => format!("The sale of {}", money(*a, c)),
                    None => "The deposit upload".to_string(),
                };
                match &e.action {
                    TillAction::Reshown => format!("{what} is open again with the same code."),
                    TillAction::Expired => {
                        format!("{what} expired unpaid while the terminal was off; nothing was taken.")
                    }
                    TillAction::Decided(Decision::Approved(a)) => format!(
                        "{what} was being checked when the terminal stopped: it is approved (payment {}).",
                        a.short_id
                    ),
                    TillAction::Decided(Decision::Declined(d)) => format!(
                        "{what} was being checked when the terminal stopped: it was declined. {}",
                        d.reason.cashier()
                    ),
                    TillAction::Resign => {
                        format!("{what} is approved; its receipt is being signed again.")
                    }
                    TillAction::Repost => {
                        "The deposit that was being sent to the bank is sent again; nothing is credited twice.".to_string()
                    }
                    TillAction::Skipped => {
                        format!("{what} was already handled in another window.")
                    }
                }
            })
            .collect()
    }
}

fn amount_of(state: &TillSagaState) -> Option<(u64, String)> {
    match state {
        TillSagaState::Sale(s) => request_of(s.request()).ok().map(|r| (r.amount, r.currency)),
        TillSagaState::Deposit(_) => None,
    }
}

impl<S: TillStore> TillEngine<'_, S> {
    /// Walks every unfinished saga and applies its rule (module docs).
    pub async fn recover(&self, now: u64) -> Result<TillRecoveryReport, TillError> {
        let mut report = TillRecoveryReport::default();
        for record in self.store().unfinished().await? {
            let amount = amount_of(&record.state);
            let was = record.state.name();
            let kind = record.state.kind();
            let snap = self.snapshot().await?;
            let (action, after, commands) = match &record.state {
                TillSagaState::Sale(SaleState::Open { request }) => {
                    if now > request_of(request)?.expires {
                        match self.step(&record.id, TillEvent::Expire, now).await {
                            Ok(out) => (TillAction::Expired, out.record.state.name(), out.commands),
                            Err(TillError::Store(TillStoreError::VersionConflict { .. })) => {
                                (TillAction::Skipped, was, Vec::new())
                            }
                            Err(e) => return Err(e),
                        }
                    } else {
                        (
                            TillAction::Reshown,
                            was,
                            saga::pending_commands(&record, &snap),
                        )
                    }
                }
                TillSagaState::Sale(SaleState::Deciding { .. }) => {
                    let p = self.decide(&record.id, now).await?;
                    (
                        TillAction::Decided(p.decision),
                        p.record.state.name(),
                        p.commands,
                    )
                }
                TillSagaState::Sale(SaleState::Approved { .. }) => (
                    TillAction::Resign,
                    was,
                    saga::pending_commands(&record, &snap),
                ),
                TillSagaState::Deposit(_) => (
                    TillAction::Repost,
                    was,
                    saga::pending_commands(&record, &snap),
                ),
                TillSagaState::Sale(_) => continue,
            };
            report.entries.push(super::recovery::TillRecovered {
                saga: record.id.clone(),
                kind,
                amount,
                was,
                after,
                action,
                commands,
            });
        }
        Ok(report)
    }
}
