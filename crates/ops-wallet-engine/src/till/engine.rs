//! The till engine: loads a snapshot, runs a pure transition, commits its batch, returns
//! the commands. It holds nothing but a store reference and its configuration, so
//! dropping it at any point loses nothing: a new engine over the same store picks up
//! where the store stands ([`TillEngine::recover`]).

use ops_core::Payment;
use ops_core::msg::Body;

use super::decide::{self, SaleRef};
use super::error::{TillError, TillSagaError};
use super::reason::DeclineReason;
use super::saga::sale::{self, NewSale, request_of};
use super::saga::{
    self, Decision, DepositState, SaleState, TillCommand, TillEvent, TillSagaRecord, TillSagaState,
    TillTransition, deposit,
};
use super::snapshot::TillSnapshot;
use super::store::{DeclineWrite, TillBatch, TillStore, TillStoreError, TillWrite};
use super::types::{Decline, PaymentId};
use crate::saga::At;
use crate::types::SagaId;

/// The till engine's knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TillConfig {
    /// Seconds a sale's request stays valid unless the sale says otherwise.
    pub sale_lifetime: u64,
    /// Most payments in one deposit upload (the FI takes at most 256).
    pub batch_max_payments: usize,
    /// Most bytes of base64 payments in one upload (the FI's body limit is 256 KiB).
    pub batch_max_bytes: usize,
    /// How often a step that lost a race to another window is decided again.
    pub attempts: u32,
}

impl Default for TillConfig {
    fn default() -> Self {
        Self {
            sale_lifetime: 300,
            batch_max_payments: 64,
            batch_max_bytes: 192 * 1024,
            attempts: 4,
        }
    }
}

/// What a committed step returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TillOutput {
    /// The saga as stored now.
    pub record: TillSagaRecord,
    /// What the app must do next.
    pub commands: Vec<TillCommand>,
}

/// What presenting payment bytes to a sale decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    /// Approved (now or before, for the same payment) or declined.
    pub decision: Decision,
    /// The sale as stored now.
    pub record: TillSagaRecord,
    /// What the app must do next (the decision first; then sign the receipt, or show
    /// the request again).
    pub commands: Vec<TillCommand>,
}

/// The till engine over a store.
#[derive(Debug)]
pub struct TillEngine<'s, S> {
    store: &'s S,
    config: TillConfig,
}

fn sale_state(record: &TillSagaRecord) -> Result<&SaleState, TillError> {
    match &record.state {
        TillSagaState::Sale(s) => Ok(s),
        other => Err(TillSagaError::WrongState {
            kind: other.kind(),
            state: other.name(),
            event: "a payment",
        }
        .into()),
    }
}

/// Whether two byte strings are the same payment: the same [`Payment::hash`] (the same
/// issuances and spends, whatever certificates travel with them and whichever form each
/// signature takes), or the same bytes if either does not decode.
fn same_payment(a: &[u8], b: &[u8]) -> bool {
    match (Payment::from_bytes(a), Payment::from_bytes(b)) {
        (Ok(x), Ok(y)) => x.hash() == y.hash(),
        _ => a == b,
    }
}

fn payment_id(bytes: &[u8]) -> Option<PaymentId> {
    Payment::from_bytes(bytes).ok().map(|p| p.hash())
}

fn decision_of(commands: &[TillCommand]) -> Option<Decision> {
    commands.iter().find_map(|c| match c {
        TillCommand::Decided(d) => Some(d.clone()),
        _ => None,
    })
}

fn retryable(e: &TillError) -> bool {
    matches!(
        e,
        TillError::Store(
            TillStoreError::VersionConflict { .. } | TillStoreError::SpendRecorded { .. }
        )
    )
}

impl<'s, S: TillStore> TillEngine<'s, S> {
    /// An engine over `store`.
    pub fn new(store: &'s S, config: TillConfig) -> Self {
        Self { store, config }
    }

    /// The store.
    pub fn store(&self) -> &'s S {
        self.store
    }

    /// The configuration.
    pub fn config(&self) -> TillConfig {
        self.config
    }

    /// Reads a snapshot of identity, trust and CRLs.
    pub async fn snapshot(&self) -> Result<TillSnapshot, TillError> {
        TillSnapshot::load(self.store).await
    }

    /// One saga.
    pub async fn saga(&self, id: &SagaId) -> Result<TillSagaRecord, TillError> {
        self.store
            .saga(id)
            .await?
            .ok_or_else(|| TillError::UnknownSaga(id.clone()))
    }

    /// Commits a decided transition.
    pub async fn commit(&self, t: TillTransition) -> Result<TillOutput, TillError> {
        self.store.apply(t.batch).await?;
        Ok(TillOutput {
            record: t.record,
            commands: t.commands,
        })
    }

    /// A sale for `amount` of `currency` with the configured lifetime.
    pub fn ask(
        &self,
        nonce: [u8; 16],
        amount: u64,
        currency: &str,
        reference: Option<String>,
    ) -> NewSale {
        NewSale {
            nonce,
            amount,
            currency: currency.to_string(),
            reference,
            lifetime: self.config.sale_lifetime,
        }
    }

    /// Starts a sale: the request to show. Starting again with the same nonce returns the
    /// unfinished sale with the same request bytes.
    pub async fn new_sale(&self, ask: &NewSale, now: u64) -> Result<TillOutput, TillError> {
        let id = sale::id_for(&ask.nonce);
        let snap = self.snapshot().await?;
        if let Some(old) = self.store.saga(&id).await? {
            if old.state.is_finished() {
                return Err(
                    TillSagaError::Nothing("this sale is already closed; start a new one").into(),
                );
            }
            return Ok(TillOutput {
                commands: saga::pending_commands(&old, &snap),
                record: old,
            });
        }
        let at = At {
            id: &id,
            created: now,
            now,
        };
        let step = sale::start(&at, ask, &snap)?;
        self.commit(TillTransition::create(
            id,
            step.map(TillSagaState::Sale),
            now,
        ))
        .await
    }

    /// Feeds exactly one event: one transition, one batch.
    pub async fn step(
        &self,
        id: &SagaId,
        event: TillEvent,
        now: u64,
    ) -> Result<TillOutput, TillError> {
        let record = self.saga(id).await?;
        let snap = self.snapshot().await?;
        let t = saga::advance(&record, event, &snap, now)?;
        self.commit(t).await
    }

    /// Feeds `event` to saga `id`; payment bytes go through [`Self::present`].
    pub async fn handle(
        &self,
        id: &SagaId,
        event: TillEvent,
        now: u64,
    ) -> Result<TillOutput, TillError> {
        match event {
            TillEvent::Presented(bytes) => {
                let p = self.present(id, &bytes, now).await?;
                Ok(TillOutput {
                    record: p.record,
                    commands: p.commands,
                })
            }
            e => self.step(id, e, now).await,
        }
    }

    /// Cancels an open sale.
    pub async fn cancel(&self, id: &SagaId, now: u64) -> Result<TillOutput, TillError> {
        self.step(id, TillEvent::Cancel, now).await
    }

    /// Expires every open sale whose request expired before `now`.
    pub async fn expire_due(&self, now: u64) -> Result<Vec<TillOutput>, TillError> {
        let mut out = Vec::new();
        for r in self.store.unfinished().await? {
            if let TillSagaState::Sale(SaleState::Open { request }) = &r.state
                && now > request_of(request)?.expires
            {
                match self.step(&r.id, TillEvent::Expire, now).await {
                    Ok(o) => out.push(o),
                    Err(e) if retryable(&e) => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(out)
    }

    /// Logs a decline that changes no sale (the sale is closed, paid, or the bytes are
    /// too large to keep) and returns it.
    async fn decline_only(
        &self,
        record: TillSagaRecord,
        bytes: &[u8],
        reason: DeclineReason,
        detail: String,
        now: u64,
    ) -> Result<Presented, TillError> {
        let req = request_of(sale_state(&record)?.request())?;
        let sale = SaleRef {
            id: &record.id,
            request: &req,
        };
        let d = decide::decline(
            Some(sale),
            bytes,
            now,
            reason,
            None,
            detail,
            payment_id(bytes),
        );
        self.store
            .apply(TillBatch::of(vec![TillWrite::Decline(DeclineWrite::Log(
                d.clone(),
            ))]))
            .await?;
        let snap = self.snapshot().await?;
        let decision = Decision::Declined(d);
        let mut commands = vec![TillCommand::Decided(decision.clone())];
        commands.extend(
            saga::pending_commands(&record, &snap)
                .into_iter()
                .filter(|c| !matches!(c, TillCommand::Decided(_))),
        );
        Ok(Presented {
            decision,
            record,
            commands,
        })
    }

    /// Payment bytes arrived for sale `id` (scanned, read from a tag, pasted): decides
    /// them, exactly once. The bytes are frozen with the time first (a crash then decides
    /// the same bytes at the same time), then verified with every rule of the core against
    /// the terminal's trust, CRLs and range ledger; an approval is committed with the
    /// payment, its ledger entries and its deposit-queue entry before it is returned.
    ///
    /// The same payment again (any encoding) returns the same approval and writes nothing;
    /// another payment for a sale already paid, cancelled or expired is declined (logged).
    pub async fn present(
        &self,
        id: &SagaId,
        bytes: &[u8],
        now: u64,
    ) -> Result<Presented, TillError> {
        for _ in 0..self.config.attempts {
            let record = self.saga(id).await?;
            match sale_state(&record)? {
                SaleState::Open { .. } => {
                    if bytes.len() > Payment::MAX_LEN {
                        let detail = format!(
                            "{} bytes, more than a payment's {} bytes",
                            bytes.len(),
                            Payment::MAX_LEN
                        );
                        return self
                            .decline_only(record, bytes, DeclineReason::Unreadable, detail, now)
                            .await;
                    }
                    let snap = self.snapshot().await?;
                    let t =
                        saga::advance(&record, TillEvent::Presented(bytes.to_vec()), &snap, now)?;
                    match self.commit(t).await {
                        Ok(out) => return self.decide(&out.record.id, now).await,
                        Err(e) if retryable(&e) => continue,
                        Err(e) => return Err(e),
                    }
                }
                SaleState::Deciding { payment, .. } => {
                    if same_payment(payment, bytes) {
                        return self.decide(id, now).await;
                    }
                    return self
                        .decline_only(
                            record,
                            bytes,
                            DeclineReason::SaleAlreadyPaid,
                            "another payment for this sale is being decided".into(),
                            now,
                        )
                        .await;
                }
                s
                @ (SaleState::Approved { payment, .. } | SaleState::Completed { payment, .. }) => {
                    if payment_id(bytes) == Some(*payment) {
                        let approval = s
                            .approval(id)
                            .ok_or_else(|| TillError::Corrupt("approved sale".into()))?;
                        let snap = self.snapshot().await?;
                        let decision = Decision::Approved(approval);
                        let mut commands = vec![TillCommand::Decided(decision.clone())];
                        commands.extend(
                            saga::pending_commands(&record, &snap)
                                .into_iter()
                                .filter(|c| !matches!(c, TillCommand::Decided(_))),
                        );
                        return Ok(Presented {
                            decision,
                            record,
                            commands,
                        });
                    }
                    let detail = format!("the sale was paid by payment {payment}");
                    return self
                        .decline_only(record, bytes, DeclineReason::SaleAlreadyPaid, detail, now)
                        .await;
                }
                SaleState::Cancelled { .. } => {
                    return self
                        .decline_only(
                            record,
                            bytes,
                            DeclineReason::SaleCancelled,
                            "the sale was cancelled".into(),
                            now,
                        )
                        .await;
                }
                SaleState::Expired { .. } => {
                    return self
                        .decline_only(
                            record,
                            bytes,
                            DeclineReason::RequestExpired,
                            "the sale's request expired".into(),
                            now,
                        )
                        .await;
                }
            }
        }
        Err(TillError::Busy(id.clone()))
    }

    /// Decides the payment frozen in sale `id` (state `Deciding`) at the time it arrived.
    /// If another window decided it first, returns that window's decision.
    pub async fn decide(&self, id: &SagaId, now: u64) -> Result<Presented, TillError> {
        for _ in 0..self.config.attempts {
            let record = self.saga(id).await?;
            let SaleState::Deciding { payment, .. } = sale_state(&record)? else {
                return self.decided_elsewhere(record).await;
            };
            let mut snap = self.snapshot().await?;
            if let Ok(p) = Payment::from_bytes(payment) {
                snap.load_ledger_for(self.store, &p).await?;
            }
            let t = saga::advance(&record, TillEvent::Decide, &snap, now)?;
            match self.commit(t).await {
                Ok(out) => {
                    let decision = decision_of(&out.commands)
                        .ok_or_else(|| TillError::Corrupt("a decision without words".into()))?;
                    return Ok(Presented {
                        decision,
                        record: out.record,
                        commands: out.commands,
                    });
                }
                Err(e) if retryable(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(TillError::Busy(id.clone()))
    }

    /// The decision another window committed for a sale that was `Deciding` here.
    async fn decided_elsewhere(&self, record: TillSagaRecord) -> Result<Presented, TillError> {
        let snap = self.snapshot().await?;
        let state = sale_state(&record)?;
        let decision = match state.approval(&record.id) {
            Some(a) => Decision::Approved(a),
            None => {
                // Declined elsewhere: the newest decline logged for this sale.
                let newest = self
                    .store
                    .declines_between(record.created, u64::MAX)
                    .await?
                    .into_iter()
                    .filter(|d| d.sale.as_ref() == Some(&record.id))
                    .max_by_key(|d| d.at)
                    .ok_or(TillSagaError::Nothing(
                        "this sale has no payment being decided",
                    ))?;
                Decision::Declined(newest)
            }
        };
        let mut commands = vec![TillCommand::Decided(decision.clone())];
        commands.extend(
            saga::pending_commands(&record, &snap)
                .into_iter()
                .filter(|c| !matches!(c, TillCommand::Decided(_))),
        );
        Ok(Presented {
            decision,
            record,
            commands,
        })
    }

    /// Starts a deposit upload of the payments waiting (pending first, oldest first, then
    /// disputed ones to ask again), or returns the unfinished upload with its post.
    /// `None` when nothing waits.
    pub async fn start_deposit(&self, now: u64) -> Result<Option<TillOutput>, TillError> {
        for _ in 0..self.config.attempts {
            let snap = self.snapshot().await?;
            if let Some(open) = self
                .store
                .unfinished()
                .await?
                .into_iter()
                .find(|r| matches!(r.state, TillSagaState::Deposit(_)))
            {
                return Ok(Some(TillOutput {
                    commands: saga::pending_commands(&open, &snap),
                    record: open,
                }));
            }
            let mut waiting: Vec<_> = self
                .store
                .awaiting()
                .await?
                .into_iter()
                .filter(|e| e.status.uploadable())
                .collect();
            // Pending before disputed, each oldest first (the queue is by acceptance time).
            ops_core::order::sort_stable_by_key(&mut waiting, |e| {
                !matches!(e.status, super::types::DepositStatus::Pending)
            });
            let mut chosen = Vec::new();
            let mut size = 0usize;
            for e in waiting {
                if chosen.len() >= self.config.batch_max_payments {
                    break;
                }
                let p =
                    self.store.payment(&e.payment).await?.ok_or_else(|| {
                        TillError::Corrupt(format!("queued payment {}", e.payment))
                    })?;
                let b64 = p.bytes.len().div_ceil(3).saturating_mul(4) + 3;
                if !chosen.is_empty() && size.saturating_add(b64) > self.config.batch_max_bytes {
                    break;
                }
                size = size.saturating_add(b64);
                chosen.push((p.id, p.bytes));
            }
            if chosen.is_empty() {
                return Ok(None);
            }
            let ids: Vec<PaymentId> = chosen.iter().map(|(id, _)| *id).collect();
            let id = deposit::id_for(&ids, now);
            let at = At {
                id: &id,
                created: now,
                now,
            };
            let step = deposit::start(&at, &chosen, &snap)?;
            match self
                .commit(TillTransition::create(
                    id,
                    step.map(TillSagaState::Deposit),
                    now,
                ))
                .await
            {
                Ok(out) => return Ok(Some(out)),
                Err(TillError::Store(
                    TillStoreError::NotUploadable { .. } | TillStoreError::VersionConflict { .. },
                )) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(TillError::Busy(SagaId("deposit".into())))
    }

    /// What saga `id` wants done now (after a reload: the same request, the same receipt,
    /// the same upload).
    pub async fn resume(&self, id: &SagaId) -> Result<Vec<TillCommand>, TillError> {
        let record = self.saga(id).await?;
        let snap = self.snapshot().await?;
        Ok(saga::pending_commands(&record, &snap))
    }

    /// Whether an upload is being posted.
    pub async fn upload_in_flight(&self) -> Result<bool, TillError> {
        Ok(self.store.unfinished().await?.iter().any(|r| {
            matches!(
                r.state,
                TillSagaState::Deposit(DepositState::Posting { .. })
            )
        }))
    }

    /// A decline the app decided itself (e.g. a transport that gave up), logged like
    /// any other. Changes no sale.
    pub async fn log_decline(&self, d: Decline) -> Result<(), TillError> {
        self.store
            .apply(TillBatch::of(vec![TillWrite::Decline(DeclineWrite::Log(
                d,
            ))]))
            .await?;
        Ok(())
    }
}
