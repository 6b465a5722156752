//! Till test fixtures: a terminal onboarded over a memory store (the world's POS, software
//! key), payments built by the world's wallets for the till's own requests (any range of
//! any note, through any chain of hops), the terminal's key answering receipt commands, a
//! fake FI answering deposit uploads (idempotent per final note, as the real one), and the
//! invariant checks the crash tests run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};

use futures_executor::block_on;
use ops_core::ids::{CertId, Digest32, NoteId};
use ops_core::testing::{DeviceSigner, World, sign_body};
use ops_core::{
    Chain, Issuance, IssuanceBody, Payment, PaymentRequest, Signature, Spend, SpendBody,
};

use super::engine::{Presented, TillConfig, TillEngine, TillOutput};
use super::saga::{
    Decision, ReceiptSigner, SaleState, TerminalSignature, TillCommand, TillEvent, TillSagaState,
};
use super::store::{DeclineStore, PaymentStore, QueueStore, TillMemoryStore, TillSagaStore};
use super::types::{DepositStatus, PaymentId, TillIdentity};
use crate::testkit::{NOW, bundle};
use crate::types::{Assertion, SagaId};

pub use crate::testkit::world;

pub fn till_identity(w: &World) -> TillIdentity {
    TillIdentity {
        terminal_cert: w.pos.cert.to_bytes(),
        fi_cert: w.fis[0].to_bytes(),
        credential_id: None,
        account_id: 99,
    }
}

pub fn engine(store: &TillMemoryStore) -> TillEngine<'_, TillMemoryStore> {
    TillEngine::new(store, TillConfig::default())
}

/// A till onboarded as the world's POS, holding the world's CRLs (fetched at `NOW`).
pub fn till(w: &World) -> TillMemoryStore {
    let store = TillMemoryStore::new();
    let e = engine(&store);
    block_on(e.onboard(till_identity(w), bundle(w))).unwrap();
    for crl in w.crls.iter() {
        block_on(e.store_crl(&crl.to_bytes(), NOW)).unwrap();
    }
    store
}

/// Starts a sale for `amount` EUR (nonce `[seed; 16]`) at `now`: its id and request.
pub fn sale(store: &TillMemoryStore, seed: u8, amount: u64, now: u64) -> (SagaId, PaymentRequest) {
    let e = engine(store);
    let out = block_on(e.new_sale(&e.ask([seed; 16], amount, "EUR", None), now)).unwrap();
    let Some(TillCommand::ShowRequest { bytes, .. }) = out.commands.first() else {
        panic!("a sale starts by showing its request: {:?}", out.commands)
    };
    (out.record.id, PaymentRequest::from_bytes(bytes).unwrap())
}

/// A note of `value` EUR issued to wallet `i` by its FI (seed makes it unique).
pub fn note(w: &World, i: usize, value: u64, seed: u8) -> Issuance {
    w.issue(i % 2, w.wallets[i].id(), value, seed)
}

/// A note with any issuance fields (expiry, currency, issue time).
pub fn note_with(
    w: &World,
    i: usize,
    value: u64,
    seed: u8,
    f: impl FnOnce(&mut IssuanceBody),
) -> Issuance {
    let mut body = note(w, i, value, seed).body;
    f(&mut body);
    sign_body(body, &w.fi_keys[i % 2])
}

/// Wallet `i` signs a spend of `[from, to)` of `input` to `payee` naming `request`.
pub fn spend(
    w: &mut World,
    i: usize,
    input: NoteId,
    (from, to): (u64, u64),
    payee: CertId,
    request: Digest32,
    time: u64,
) -> Spend {
    World::spend_by(
        &mut w.wallets[i],
        SpendBody {
            input,
            from,
            to,
            payee,
            request,
            time,
        },
    )
}

/// The certificates a payment from these wallets carries: each wallet's and every FI.
pub fn certs(w: &World, wallets: &[usize]) -> Vec<ops_core::Certificate> {
    let mut v: Vec<_> = wallets.iter().map(|i| w.wallets[*i].cert.clone()).collect();
    v.extend(w.fis.iter().cloned());
    v
}

/// Wallet `i` pays `request` with `[from, to)` of `iss`, signed at `time`.
pub fn pay(
    w: &mut World,
    i: usize,
    iss: &Issuance,
    range: (u64, u64),
    request: &PaymentRequest,
    time: u64,
) -> Payment {
    let s = spend(
        w,
        i,
        iss.note_id(),
        range,
        request.payee,
        request.hash(),
        time,
    );
    Payment {
        certs: certs(w, &[i]),
        chains: vec![Chain {
            issuance: iss.clone(),
            spends: vec![s],
        }],
        crls: Vec::new(),
    }
    .canonical()
}

/// The canonical bytes of a payment of `amount` for `request` from a fresh note of wallet
/// `i` (seed makes the note unique).
pub fn fresh_payment(
    w: &mut World,
    i: usize,
    seed: u8,
    request: &PaymentRequest,
    now: u64,
) -> Vec<u8> {
    let iss = note(w, i, 100_000, seed);
    pay(w, i, &iss, (0, request.amount), request, now).to_bytes()
}

/// The terminal's key (the world's POS software key) answers a receipt command.
pub fn sign_receipt(w: &World, body: &[u8]) -> TerminalSignature {
    let DeviceSigner::Software(k) = &w.pos.signer else {
        panic!("the POS has a software key")
    };
    let Signature::Es256(raw) = k.sign(body) else {
        panic!("a software key signs ES256")
    };
    TerminalSignature::Es256(raw.to_vec())
}

/// The WebAuthn answer of wallet `i`'s authenticator (used as a terminal's passkey).
pub fn assert_with(w: &mut World, i: usize, challenge: &[u8; 32]) -> TerminalSignature {
    let DeviceSigner::WebAuthn(a) = &mut w.wallets[i].signer else {
        panic!("wallets sign with WebAuthn")
    };
    let a = a.assert(challenge);
    TerminalSignature::WebAuthn(Assertion {
        authenticator_data: a.authenticator_data,
        client_data_json: a.client_data_json,
        signature_der: a.signature_der,
    })
}

/// Presents `bytes` to `sale` at `now`.
pub fn present(store: &TillMemoryStore, sale: &SagaId, bytes: &[u8], now: u64) -> Presented {
    block_on(engine(store).present(sale, bytes, now)).unwrap()
}

/// Presents and expects an approval.
pub fn approve(store: &TillMemoryStore, sale: &SagaId, bytes: &[u8], now: u64) -> Presented {
    let p = present(store, sale, bytes, now);
    assert!(
        matches!(p.decision, Decision::Approved(_)),
        "expected an approval: {:?}",
        p.decision
    );
    p
}

/// Presents and expects a decline; returns it.
pub fn decline(
    store: &TillMemoryStore,
    sale: &SagaId,
    bytes: &[u8],
    now: u64,
) -> super::types::Decline {
    match present(store, sale, bytes, now).decision {
        Decision::Declined(d) => d,
        Decision::Approved(a) => panic!("expected a decline, got {a:?}"),
    }
}

/// The fake FI's deposit books: each final note credited once (as the real FI: idempotent
/// per note, not per bytes), with knobs to hold, refuse or ask to retry given payments.
#[derive(Debug, Default)]
pub struct FakeFi {
    /// Final notes consumed, with the payment that consumed them.
    pub consumed: BTreeMap<NoteId, PaymentId>,
    /// What was credited per payment (summed over every upload).
    pub credited: BTreeMap<PaymentId, u64>,
    /// Uploads received.
    pub posts: usize,
    /// Payments answered "held".
    pub hold: BTreeSet<PaymentId>,
    /// Payments refused (422).
    pub refuse: BTreeSet<PaymentId>,
    /// Payments answered 503 within the batch.
    pub retry: BTreeSet<PaymentId>,
}

impl FakeFi {
    /// Total credited to the merchant.
    pub fn total(&self) -> u64 {
        self.credited.values().sum()
    }

    /// Answers a `POST /api/v1/deposits/batch` body from `depositor`.
    pub fn answer(&mut self, depositor: CertId, body: &str) -> (u16, String) {
        self.posts += 1;
        let req: ops_api::DepositBatchRequest = serde_json::from_str(body).unwrap();
        assert_eq!(req.depositor, depositor.to_string());
        let mut results = Vec::new();
        let (mut settled, mut refused) = (0, 0);
        for b in req.payments {
            let p = Payment::from_bytes(&crate::saga::fi::unb64(&b).unwrap()).unwrap();
            let id = p.hash();
            let refusal = |status: u16, code: &str| ops_api::BatchItem::Refused {
                status,
                error: ops_api::ErrorDetail {
                    code: code.into(),
                    message: "refused by the fake FI".into(),
                },
            };
            let finals: Vec<&Spend> = p.chains.iter().filter_map(Chain::last).collect();
            let amount: u64 = finals.iter().map(|s| s.body.value()).sum();
            let outcome = |status, credited: u64, held_id| ops_api::BatchItem::Ok {
                ok: ops_api::DepositOutcome {
                    payment_hash: id.to_string(),
                    account_id: 99,
                    status,
                    amount: amount as i64,
                    credited: credited as i64,
                    spends_recorded: 0,
                    fraud_cases: 0,
                    held_id,
                },
            };
            let item = if self.retry.contains(&id) {
                refused += 1;
                refusal(503, "unavailable")
            } else if self.refuse.contains(&id) {
                refused += 1;
                refusal(422, "payment_invalid")
            } else if self.hold.contains(&id) {
                settled += 1;
                outcome(ops_api::DepositStatus::Held, 0, Some(7))
            } else {
                assert!(finals.iter().all(|s| s.body.payee == depositor));
                let mut credited = 0;
                for s in &finals {
                    if let std::collections::btree_map::Entry::Vacant(v) =
                        self.consumed.entry(s.id())
                    {
                        v.insert(id);
                        credited += s.body.value();
                    }
                }
                *self.credited.entry(id).or_default() += credited;
                settled += 1;
                outcome(ops_api::DepositStatus::Credited, credited, None)
            };
            results.push(item);
        }
        let answer = ops_api::DepositBatchResponse {
            settled,
            refused,
            results,
        };
        (200, serde_json::to_string(&answer).unwrap())
    }
}

/// Runs commands as a cooperative app would until nothing more is asked: signs receipts
/// with the POS key, answers uploads from `fi`. Returns the decisions and receipts shown.
pub fn complete(
    w: &World,
    store: &TillMemoryStore,
    fi: &mut FakeFi,
    commands: Vec<TillCommand>,
    now: u64,
) -> Shown {
    let e = engine(store);
    let mut shown = Shown::default();
    let mut queue = commands;
    let mut rounds = 0;
    while let Some(c) = queue.pop() {
        rounds += 1;
        assert!(rounds < 200, "commands never settle");
        let (saga, event) = match c {
            TillCommand::SignReceipt { sale, body, signer } => {
                assert_eq!(signer, ReceiptSigner::Software);
                (sale, TillEvent::ReceiptSigned(sign_receipt(w, &body)))
            }
            TillCommand::Post { saga, body, .. } => {
                let (status, body) = fi.answer(w.pos.id(), &body);
                (saga, TillEvent::Http { status, body })
            }
            TillCommand::ShowRequest { sale, bytes } => {
                shown.requests.push((sale, bytes));
                continue;
            }
            TillCommand::ShowReceipt { sale, bytes } => {
                shown.receipts.push((sale, bytes));
                continue;
            }
            TillCommand::Decided(d) => {
                shown.decisions.push(d);
                continue;
            }
            TillCommand::Notify { .. } => continue,
        };
        let out: TillOutput = block_on(e.handle(&saga, event, now)).unwrap();
        queue.extend(out.commands);
    }
    shown
}

/// What the app showed.
#[derive(Debug, Default, Clone)]
pub struct Shown {
    pub requests: Vec<(SagaId, Vec<u8>)>,
    pub receipts: Vec<(SagaId, Vec<u8>)>,
    pub decisions: Vec<Decision>,
}

/// Uploads everything waiting until nothing waits (each upload answered by `fi`).
pub fn deposit_all(w: &World, store: &TillMemoryStore, fi: &mut FakeFi, now: u64) {
    for _ in 0..20 {
        match block_on(engine(store).start_deposit(now)).unwrap() {
            Some(out) => {
                complete(w, store, fi, out.commands, now);
            }
            None => return,
        }
    }
    panic!("deposits never finish");
}

/// Figures of a till, checked for consistency:
/// * every approved or completed sale has exactly one accepted payment, naming it, of its
///   amount; every accepted payment belongs to such a sale;
/// * every accepted payment is in the deposit queue exactly once, with its amount, and a
///   payment being posted belongs to an unfinished upload that lists it;
/// * the ledger holds exactly the spends of the accepted payments, and no two recorded
///   ranges of a note overlap.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TillBooks {
    pub approved: u64,
    pub approved_count: usize,
    pub ledger: usize,
    pub pending: usize,
    pub posting: usize,
    pub credited: usize,
    pub declines: usize,
}

pub fn check(store: &TillMemoryStore) -> TillBooks {
    block_on(async {
        let sagas = store.sagas().await.unwrap();
        let payments = store.payments_between(0, u64::MAX).await.unwrap();
        let queue = store.queue().await.unwrap();
        let ledger = store.ledger().await.unwrap();
        let mut b = TillBooks::default();
        let mut paid_sales = BTreeSet::new();
        for r in &sagas {
            if let TillSagaState::Sale(s) = &r.state
                && let Some(a) = s.approval(&r.id)
            {
                let p = payments
                    .iter()
                    .find(|p| p.id == a.payment)
                    .expect("an approved sale has its payment");
                assert_eq!((&p.sale, p.amount), (&r.id, a.amount));
                assert!(paid_sales.insert(r.id.clone()));
                b.approved += a.amount;
                b.approved_count += 1;
            }
        }
        assert_eq!(
            payments.len(),
            paid_sales.len(),
            "every payment has its sale"
        );
        for p in &payments {
            let n = queue.iter().filter(|e| e.payment == p.id).count();
            assert_eq!(n, 1, "payment {} queued once", p.id);
            let spends: BTreeSet<NoteId> = Payment::from_bytes(&p.bytes)
                .unwrap()
                .chains
                .iter()
                .flat_map(|c| c.spends.iter().map(Spend::id))
                .collect();
            for s in spends {
                assert!(ledger.iter().any(|e| e.spend == s), "spend {s} recorded");
            }
        }
        assert_eq!(
            queue.len(),
            payments.len(),
            "nothing queued without a payment"
        );
        for e in &queue {
            match &e.status {
                DepositStatus::Pending => b.pending += 1,
                DepositStatus::Posting { batch } => {
                    b.posting += 1;
                    let r = sagas.iter().find(|r| r.id == *batch).expect("its upload");
                    match &r.state {
                        TillSagaState::Deposit(super::saga::DepositState::Posting {
                            payments,
                            ..
                        }) => assert!(payments.contains(&e.payment)),
                        other => panic!("posting in a finished upload: {other:?}"),
                    }
                }
                DepositStatus::Credited { .. } => b.credited += 1,
                _ => {}
            }
        }
        for (k, a) in ledger.iter().enumerate() {
            assert!(
                payments.iter().any(|p| p.id == a.payment),
                "ledger entry from an accepted payment"
            );
            for c in &ledger[k + 1..] {
                assert!(!a.overlaps(&c.note, c.from, c.to), "ranges recorded twice");
            }
        }
        b.ledger = ledger.len();
        b.declines = store.declines_between(0, u64::MAX).await.unwrap().len();
        b
    })
}

/// The sale's state.
pub fn sale_state(store: &TillMemoryStore, id: &SagaId) -> SaleState {
    match block_on(store.saga(id)).unwrap().unwrap().state {
        TillSagaState::Sale(s) => s,
        other => panic!("not a sale: {other:?}"),
    }
}

/// A certificate for wallet `i`'s key with any body changes (validity, limits), by its FI.
pub fn recertify(
    w: &World,
    i: usize,
    f: impl FnOnce(&mut ops_core::CertBody),
) -> ops_core::Certificate {
    let mut body = w.wallets[i].cert.body.clone();
    f(&mut body);
    sign_body(body, &w.fi_keys[i % 2])
}
