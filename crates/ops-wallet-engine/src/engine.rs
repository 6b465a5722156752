//! The engine: loads a snapshot, runs a pure transition, commits its batch, returns the
//! commands. It holds nothing but a store reference and its configuration, so dropping it
//! at any point loses nothing: a new engine over the same store picks up where the store
//! stands ([`Engine::recover`]).

use ops_core::PaymentRequest;
use ops_core::crl_store::CrlStore;
use ops_core::ids::to_hex;
use ops_core::msg::crl::Crl;

use crate::error::{EngineError, SagaError};
use crate::refresh::RefreshPolicy;
use crate::saga::receive::Ask;
use crate::saga::{
    self, At, Command, DepositState, Event, ReceiveState, SagaRecord, SagaState, Transition,
    defund, deposit, fund, pay, receive,
};
use crate::snapshot::Snapshot;
use crate::store::{Batch, SettingsWrite, StoreError, TrustWrite, WalletStore, Write};
use crate::types::{Identity, SagaId, TrustBundle};

/// The engine's knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Notes expiring within this many seconds are not used to pay.
    pub min_life: u64,
    /// Seconds a request this wallet shows stays valid.
    pub request_lifetime: u64,
    /// Warn about notes or the certificate expiring within this many seconds.
    pub warn_within: u64,
    /// How often a start that lost a race for a range selects again.
    pub reserve_attempts: u32,
    /// When a sync renews notes (expiry, consolidation).
    pub refresh: RefreshPolicy,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            min_life: 600,
            request_lifetime: 600,
            warn_within: 7 * 86_400,
            reserve_attempts: 3,
            refresh: RefreshPolicy::default(),
        }
    }
}

/// What a committed step returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The saga as stored now.
    pub record: SagaRecord,
    /// What the app must do next.
    pub commands: Vec<Command>,
}

/// What [`Engine::prepare_pay`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    /// A new payment: commit this transition.
    Start(Transition),
    /// The request already has an unfinished payment: here it is, with its commands.
    Existing(Output),
}

/// The wallet engine over a store.
#[derive(Debug)]
pub struct Engine<'s, S> {
    store: &'s S,
    config: Config,
}

impl<'s, S: WalletStore> Engine<'s, S> {
    /// An engine over `store`.
    pub fn new(store: &'s S, config: Config) -> Self {
        Self { store, config }
    }

    /// The store.
    pub fn store(&self) -> &'s S {
        self.store
    }

    /// The configuration.
    pub fn config(&self) -> Config {
        self.config
    }

    /// Reads a snapshot of the store.
    pub async fn snapshot(&self) -> Result<Snapshot, EngineError> {
        Snapshot::load(self.store).await
    }

    /// One saga.
    pub async fn saga(&self, id: &SagaId) -> Result<SagaRecord, EngineError> {
        self.store
            .saga(id)
            .await?
            .ok_or_else(|| EngineError::UnknownSaga(id.clone()))
    }

    /// Stores the device identity and the trust bundle received at onboarding, after
    /// checking that they decode and chain (device → FI → root).
    pub async fn onboard(
        &self,
        identity: Identity,
        bundle: TrustBundle,
    ) -> Result<(), EngineError> {
        let decode = |b: &[u8], what: &'static str| {
            ops_core::Certificate::from_bytes(b)
                .map_err(|source| EngineError::Saga(SagaError::Malformed { what, source }))
        };
        let device = decode(&identity.device_cert, "device certificate")?;
        let fi = decode(&identity.fi_cert, "FI certificate")?;
        let root = decode(&bundle.root, "root certificate")?;
        if device.body.issuer != Some(fi.id()) || fi.body.issuer != Some(root.id()) {
            return Err(SagaError::Answer(
                "the device certificate does not chain to the pinned root".into(),
            )
            .into());
        }
        let mut b = Batch::new();
        b.push(Write::Settings(SettingsWrite::SetIdentity(identity)));
        b.push(Write::Trust(TrustWrite::SetBundle(bundle)));
        self.store.apply(b).await?;
        Ok(())
    }

    /// Keeps the bank's current counterparty block list (signed; the snapshot uses it
    /// only if its issuer in the bundle signed it). A list no newer than the held one
    /// changes nothing.
    pub async fn store_blocklist(&self, bytes: Vec<u8>) -> Result<(), EngineError> {
        let Some(mut bundle) = self.store.trust_bundle().await? else {
            return Err(SagaError::NotOnboarded.into());
        };
        let number = |b: &[u8]| ops_core::BlockList::from_bytes(b).map(|l| l.body.number);
        let new = number(&bytes).map_err(|source| SagaError::Malformed {
            what: "block list",
            source,
        })?;
        if bundle
            .blocklist
            .as_deref()
            .is_some_and(|held| number(held).is_ok_and(|n| n >= new))
        {
            return Ok(());
        }
        bundle.blocklist = Some(bytes);
        let mut b = Batch::new();
        b.push(Write::Trust(TrustWrite::SetBundle(bundle)));
        self.store.apply(b).await?;
        Ok(())
    }

    /// Verifies a CRL against the trust bundle and keeps it if newer. Returns whether it
    /// was newer.
    pub async fn store_crl(&self, bytes: &[u8]) -> Result<bool, EngineError> {
        let snap = self.snapshot().await?;
        let trust = snap.trust.as_ref().ok_or(SagaError::NotOnboarded)?;
        let crl = Crl::from_bytes(bytes).map_err(|source| SagaError::Malformed {
            what: "revocation list",
            source,
        })?;
        let issuer = core::iter::once(&trust.root)
            .chain(trust.fis.iter())
            .find(|c| c.id() == crl.body.issuer)
            .ok_or_else(|| SagaError::Answer("the revocation list's issuer is unknown".into()))?;
        let mut check = CrlStore::new();
        check
            .insert(crl.clone(), issuer, &ops_core::P256Provider)
            .map_err(|e| SagaError::Answer(e.to_string()))?;
        let newer = snap.crls.is_newer(&crl);
        let mut b = Batch::new();
        b.push(Write::Trust(TrustWrite::PutCrl {
            issuer: crl.body.issuer,
            number: crl.body.number,
            bytes: bytes.to_vec(),
        }));
        self.store.apply(b).await?;
        Ok(newer)
    }

    /// Records a completed sync.
    pub async fn record_sync(&self, now: u64) -> Result<(), EngineError> {
        let mut b = Batch::new();
        b.push(Write::Settings(SettingsWrite::SetLastSync(now)));
        Ok(self.store.apply(b).await?)
    }

    /// Commits a decided transition.
    pub async fn commit(&self, t: Transition) -> Result<Output, EngineError> {
        self.store.apply(t.batch).await?;
        Ok(Output {
            record: t.record,
            commands: t.commands,
        })
    }

    /// The id of the saga paying `request`.
    pub fn pay_id(request: &[u8]) -> Result<SagaId, EngineError> {
        let req = PaymentRequest::from_bytes(request).map_err(|source| SagaError::Malformed {
            what: "payment request",
            source,
        })?;
        Ok(SagaId::new("pay", &req.hash().0))
    }

    /// Decides (without committing) the start of a payment of `request`, or finds the
    /// unfinished payment of that request (see [`Self::start_pay`]).
    pub async fn prepare_pay(&self, request: &[u8], now: u64) -> Result<Prepared, EngineError> {
        let id = Self::pay_id(request)?;
        let existing = self.store.saga(&id).await?;
        let snap = self.snapshot().await?;
        let at = At {
            id: &id,
            created: now,
            now,
        };
        match existing {
            None => {
                let step = pay::start(&at, request, &snap, self.config.min_life)?;
                Ok(Prepared::Start(Transition::create(
                    id,
                    step.map(SagaState::Pay),
                    now,
                )))
            }
            Some(old) => match &old.state {
                SagaState::Pay(pay::PayState::Released { .. }) => {
                    let step = pay::start(&at, request, &snap, self.config.min_life)?;
                    Ok(Prepared::Start(Transition::recreate(
                        &old,
                        step.map(SagaState::Pay),
                        now,
                    )))
                }
                s if !s.is_finished() => Ok(Prepared::Existing(Output {
                    commands: saga::pending_commands(&old, &snap),
                    record: old,
                })),
                _ => Err(SagaError::AlreadyStarted("paid").into()),
            },
        }
    }

    /// Checks and describes `request` for the payer's confirmation, reserving nothing:
    /// the errors are those the payment would meet (see [`crate::review::review`]).
    pub async fn review(
        &self,
        request: &[u8],
        now: u64,
    ) -> Result<crate::review::RequestReview, EngineError> {
        let snap = self.snapshot().await?;
        Ok(crate::review::review(
            request,
            &snap,
            now,
            self.config.min_life,
        )?)
    }

    /// Starts paying `request`, or, if it is already being paid, returns that payment with
    /// what to do next (the same signatures to ask for, or the same bytes to show). If
    /// another window took a range first, selects again from what is left.
    pub async fn start_pay(&self, request: &[u8], now: u64) -> Result<Output, EngineError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.prepare_pay(request, now).await? {
                Prepared::Existing(existing) => return Ok(existing),
                Prepared::Start(t) => match self.commit(t).await {
                    Err(EngineError::Store(StoreError::RangeTaken { .. }))
                        if attempt < self.config.reserve_attempts => {}
                    other => return other,
                },
            }
        }
    }

    /// Shows a request for `ask` (nonce from the app's random source).
    pub async fn start_receive(&self, ask: &Ask, now: u64) -> Result<Output, EngineError> {
        let id = SagaId::new("receive", &ask.nonce);
        let snap = self.snapshot().await?;
        let at = At {
            id: &id,
            created: now,
            now,
        };
        let step = receive::start(&at, ask, &snap)?;
        self.commit(Transition::create(id, step.map(SagaState::Receive), now))
            .await
    }

    /// A request for `amount` of `currency` with the configured lifetime.
    pub fn ask(&self, nonce: [u8; 16], amount: u64, currency: &str, label: Option<String>) -> Ask {
        Ask {
            nonce,
            amount,
            currency: currency.to_string(),
            label,
            lifetime: self.config.request_lifetime,
        }
    }

    /// Starts loading `amount`; `key` is a random idempotency key from the app.
    pub async fn start_fund(
        &self,
        key: &[u8; 16],
        amount: u64,
        now: u64,
    ) -> Result<Output, EngineError> {
        let id = SagaId::new("fund", key);
        let snap = self.snapshot().await?;
        let at = At {
            id: &id,
            created: now,
            now,
        };
        let step = fund::start(&at, &to_hex(key), amount, &snap)?;
        self.commit(Transition::create(id, step.map(SagaState::Fund), now))
            .await
    }

    /// Starts returning `amount` of `currency`; `key` is a random idempotency key.
    pub async fn start_defund(
        &self,
        key: &[u8; 16],
        amount: u64,
        currency: &str,
        now: u64,
    ) -> Result<Output, EngineError> {
        let id = SagaId::new("defund", key);
        let snap = self.snapshot().await?;
        let at = At {
            id: &id,
            created: now,
            now,
        };
        let step = defund::start(&at, &to_hex(key), amount, currency, &snap)?;
        self.commit(Transition::create(id, step.map(SagaState::Defund), now))
            .await
    }

    /// Starts a deposit for every received payment that has none yet and whose notes are
    /// wholly unspent; returns the new deposits (the others are skipped).
    pub async fn start_deposits(&self, now: u64) -> Result<Vec<Output>, EngineError> {
        let mut out = Vec::new();
        for r in self.store.sagas().await? {
            let SagaState::Receive(ReceiveState::Received {
                payment,
                amount,
                notes,
                ..
            }) = &r.state
            else {
                continue;
            };
            let id = deposit::id_for(&r.id);
            if self.store.saga(&id).await?.is_some() {
                continue;
            }
            let snap = self.snapshot().await?;
            let at = At {
                id: &id,
                created: now,
                now,
            };
            let received = deposit::Received {
                payment,
                amount: *amount,
                notes,
            };
            match deposit::start(&at, &received, &snap) {
                Ok(step) => out.push(
                    self.commit(Transition::create(id, step.map(SagaState::Deposit), now))
                        .await?,
                ),
                Err(SagaError::Nothing(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    /// Feeds `event` to saga `id`. A scanned payment is stored first, then verified in a
    /// second step (so a crash in between keeps the bytes).
    pub async fn handle(&self, id: &SagaId, event: Event, now: u64) -> Result<Output, EngineError> {
        let scanned = matches!(event, Event::Scanned(_));
        let out = self.step(id, event, now).await?;
        if scanned
            && matches!(
                out.record.state,
                SagaState::Receive(ReceiveState::Scanned { .. })
            )
        {
            return self.step(id, Event::Verify, now).await;
        }
        Ok(out)
    }

    /// Feeds exactly one event: one transition, one batch (no automatic follow-up).
    pub async fn step(&self, id: &SagaId, event: Event, now: u64) -> Result<Output, EngineError> {
        let record = self.saga(id).await?;
        let snap = self.snapshot().await?;
        let t = saga::advance(&record, event, &snap, now)?;
        self.commit(t).await
    }

    /// What saga `id` wants done now (after a reload: the same signatures, the same bytes,
    /// the same request).
    pub async fn resume(&self, id: &SagaId) -> Result<Vec<Command>, EngineError> {
        let record = self.saga(id).await?;
        let snap = self.snapshot().await?;
        Ok(saga::pending_commands(&record, &snap))
    }

    /// Whether a deposit saga exists for every received payment (for tests and sync).
    pub async fn deposits_pending(&self) -> Result<usize, EngineError> {
        Ok(self
            .store
            .sagas()
            .await?
            .iter()
            .filter(|r| matches!(r.state, SagaState::Deposit(DepositState::Posting { .. })))
            .count())
    }
}
