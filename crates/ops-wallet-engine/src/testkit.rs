//! Test fixtures: onboarded wallets over memory stores, a fake FI answering the engine's
//! posts (with account books: loads debit once per idempotency key, returns and deposits
//! credit once per note range), an authenticator answering its sign commands, and the
//! invariant checks every crash test runs (value conserved, no range held twice, claims
//! match their sagas).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use futures_executor::block_on;
use ops_core::ids::{Nonce, NoteId, sha256};
use ops_core::msg::Signed;
use ops_core::testing::{DAY, DeviceSigner, T0, World, sign_body};
use ops_core::{IssuanceBody, P256Provider, PaymentRequest, ReceiptBody};

use crate::saga::fi::b64;
use crate::saga::{
    Command, DefundState, DepositState, Event, FundState, PayState, ReceiveState, RefreshState,
    SagaState, Shown, SignItem,
};
use crate::store::{MemoryStore, NoteStore, SagaStore};
use crate::types::{Assertion, ClaimStatus, Identity, SagaId, TrustBundle};
use crate::{Config, Engine};

/// The time tests run at.
pub const NOW: u64 = T0 + DAY;

pub fn identity(w: &World, i: usize) -> Identity {
    Identity {
        device_cert: w.wallets[i].cert.to_bytes(),
        fi_cert: w.fis[i % 2].to_bytes(),
        credential_id: vec![i as u8; 8],
        account_id: i as u64 + 1,
    }
}

pub fn bundle(w: &World) -> TrustBundle {
    TrustBundle {
        root: w.root.to_bytes(),
        fis: w.fis.iter().map(|f| f.to_bytes()).collect(),
        blocklist: None,
    }
}

/// The fake FI's books (one per test thread, emptied by [`world`]).
#[derive(Debug, Default)]
pub struct Bank {
    /// Account balance per wallet: starts at 0; loads debit, returns and deposits credit.
    pub balance: BTreeMap<usize, i64>,
    /// Loads by (wallet, idempotency key, amount): the answer given, given again on a repeat.
    pub loads: BTreeMap<(usize, String, u64), String>,
    /// Final spends settled (a return or deposit posted again credits nothing).
    pub settled: BTreeSet<NoteId>,
}

thread_local! {
    static BANK: RefCell<Bank> = RefCell::new(Bank::default());
}

/// Reads or changes the fake FI's books.
pub fn bank<R>(f: impl FnOnce(&mut Bank) -> R) -> R {
    BANK.with(|b| f(&mut b.borrow_mut()))
}

/// A world with fresh CRLs and `n` wallets (and empty FI books).
pub fn world(n: usize) -> World {
    bank(|b| *b = Bank::default());
    let mut w = World::new(n);
    w.publish_crls(NOW - 60, &[], &P256Provider);
    w
}

pub fn engine(store: &MemoryStore) -> Engine<'_, MemoryStore> {
    Engine::new(store, Config::default())
}

/// A store with wallet `i` onboarded and the world's CRLs.
pub fn onboarded(w: &World, i: usize) -> MemoryStore {
    let store = MemoryStore::new();
    let e = engine(&store);
    block_on(e.onboard(identity(w, i), bundle(w))).unwrap();
    for crl in w.crls.iter() {
        block_on(e.store_crl(&crl.to_bytes())).unwrap();
    }
    store
}

/// A POS request carrying the certificates a payer needs.
pub fn pos_request(w: &World, amount: u64, seed: u8, created: u64) -> PaymentRequest {
    let mut r = w.request(amount, seed, created);
    r.certs = vec![w.pos.cert.clone(), w.fis[0].clone()];
    r
}

/// The authenticator of wallet `i` answers a sign command.
pub fn sign(w: &mut World, i: usize, items: &[SignItem]) -> Vec<Assertion> {
    let DeviceSigner::WebAuthn(auth) = &mut w.wallets[i].signer else {
        panic!("wallet signs with WebAuthn");
    };
    items
        .iter()
        .map(|it| {
            let a = auth.assert(&it.challenge);
            Assertion {
                authenticator_data: a.authenticator_data,
                client_data_json: a.client_data_json,
                signature_der: a.signature_der,
            }
        })
        .collect()
}

/// The fake FI's answer at `now` to wallet `i`'s post. A load issues one note at `now`
/// expiring 90 days later and debits the account, once per idempotency key (a repeat gets
/// the first answer, as the real FI gives); a return or deposit credits the account once
/// per final spend.
pub fn fi_answer(
    w: &World,
    i: usize,
    path: &str,
    body: &str,
    key: &str,
    now: u64,
) -> (u16, String) {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    match path {
        ops_api::paths::FUND => {
            let amount = v["amount"].as_u64().unwrap();
            let slot = (i, key.to_string(), amount);
            if let Some(answer) = bank(|b| b.loads.get(&slot).cloned()) {
                return (201, answer);
            }
            let mut seed = key.as_bytes().to_vec();
            seed.push(i as u8);
            let mut nonce = [0; 16];
            nonce.copy_from_slice(&sha256(&seed)[..16]);
            let iss = sign_body(
                IssuanceBody {
                    nonce: Nonce(nonce),
                    issuer: w.fis[i % 2].id(),
                    owner: w.wallets[i].id(),
                    amount,
                    currency: "EUR".into(),
                    issued: now,
                    expires: now + 90 * DAY,
                },
                &w.fi_keys[i % 2],
            );
            let body = ops_api::FundResponse {
                account_id: 1,
                balance: 0,
                notes: vec![b64(&iss.to_bytes())],
                note_ids: vec![iss.note_id().to_string()],
                replayed: false,
            };
            let answer = serde_json::to_string(&body).unwrap();
            bank(|b| {
                b.loads.insert(slot, answer.clone());
                *b.balance.entry(i).or_default() -= i64::try_from(amount).unwrap();
            });
            (201, answer)
        }
        ops_api::paths::DEFUND | ops_api::paths::DEPOSITS => {
            let payment = ops_core::Payment::from_bytes(
                &crate::saga::fi::unb64(v["payment"].as_str().unwrap()).unwrap(),
            )
            .unwrap();
            let finals: Vec<_> = payment.chains.iter().filter_map(|c| c.last()).collect();
            let amount: u64 = finals.iter().map(|s| s.body.value()).sum();
            let credited = bank(|b| {
                if finals.iter().any(|s| b.settled.contains(&s.id())) {
                    return 0;
                }
                b.settled.extend(finals.iter().map(|s| s.id()));
                *b.balance.entry(i).or_default() += i64::try_from(amount).unwrap();
                amount
            });
            let outcome = ops_api::DepositOutcome {
                payment_hash: payment.hash().to_string(),
                account_id: 1,
                status: ops_api::DepositStatus::Credited,
                amount: i64::try_from(amount).unwrap(),
                credited: i64::try_from(credited).unwrap(),
                spends_recorded: 1,
                fraud_cases: 0,
                held_id: None,
            };
            (200, serde_json::to_string(&outcome).unwrap())
        }
        _ => (404, String::new()),
    }
}

/// The POS's receipt for a payment.
pub fn receipt(w: &mut World, req: &PaymentRequest, payment: &[u8], time: u64) -> Vec<u8> {
    let p = ops_core::Payment::from_bytes(payment).unwrap();
    let body = ReceiptBody {
        payment: p.hash(),
        request: req.hash(),
        payee: w.pos.id(),
        amount: req.amount,
        time,
    };
    let signature = w.pos.sign(&Signed::body_bytes_of(&body));
    Signed { body, signature }.to_bytes()
}

/// Runs commands as a cooperative app would until the saga stops asking: signs, hands
/// over and confirms payments, closes requests nobody will pay, answers posts.
pub fn complete(w: &mut World, i: usize, store: &MemoryStore, commands: Vec<Command>, now: u64) {
    let e = engine(store);
    let mut queue = commands;
    let mut rounds = 0;
    while let Some(c) = queue.pop() {
        rounds += 1;
        assert!(rounds < 100, "commands never settle");
        let (saga, event) = match c {
            Command::Sign { saga, items } => {
                let a = sign(w, i, &items);
                (saga, Event::Signed(a))
            }
            Command::Show {
                saga,
                what: Shown::Payment,
                ..
            } => {
                let r = block_on(e.saga(&saga)).unwrap();
                if matches!(r.state, SagaState::Pay(PayState::Signed { .. })) {
                    (saga, Event::HandedOver)
                } else {
                    (saga, Event::Confirmed)
                }
            }
            Command::Show {
                saga,
                what: Shown::Request,
                ..
            } => (saga, Event::Abort),
            Command::Post {
                saga,
                path,
                body,
                idempotency_key,
            } => {
                let (status, body) = fi_answer(w, i, &path, &body, &idempotency_key, now);
                (saga, Event::Http { status, body })
            }
            Command::Notify { .. } => continue,
        };
        let out = block_on(e.handle(&saga, event, now)).unwrap();
        queue.extend(out.commands);
    }
}

/// Figures of one wallet, from two independent sources.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Books {
    /// Σ note values.
    pub notes: u64,
    /// Σ funded + received, from the sagas.
    pub came_in: u64,
    pub free: u64,
    pub reserved: u64,
    pub handed_over: u64,
    pub spent: u64,
    /// Notes with free value left.
    pub free_notes: usize,
}

/// Checks the invariants of a store and returns its books:
/// * no range held twice, every claim inside its note;
/// * every claim belongs to a saga whose state holds it with that status, and every
///   saga holding value has exactly its claims;
/// * value conserved: free + reserved + handed over = funded + received − confirmed spent.
pub fn check(store: &MemoryStore) -> Books {
    block_on(check_async(store))
}

async fn check_async(store: &MemoryStore) -> Books {
    let notes = store.notes().await.unwrap();
    let claims = store.claims().await.unwrap();
    let sagas = store.sagas().await.unwrap();
    for (k, a) in claims.iter().enumerate() {
        let n = notes
            .iter()
            .find(|n| n.id == a.note)
            .expect("claim on a held note");
        assert!(a.from < a.to && a.to <= n.value, "claim inside its note");
        for b in &claims[k + 1..] {
            assert!(
                !a.overlaps(&b.note, b.from, b.to),
                "range held twice: {a:?} {b:?}"
            );
        }
    }
    let mut b = Books {
        notes: notes.iter().map(|n| n.value).sum(),
        ..Books::default()
    };
    for c in &claims {
        match c.status {
            ClaimStatus::Reserved => b.reserved += c.value(),
            ClaimStatus::Signed => b.handed_over += c.value(),
            ClaimStatus::Spent => b.spent += c.value(),
        }
    }
    b.free = b.notes - b.reserved - b.handed_over - b.spent;
    b.free_notes = notes
        .iter()
        .filter(|n| {
            let held: u64 = claims
                .iter()
                .filter(|c| c.note == n.id)
                .map(|c| c.value())
                .sum();
            held < n.value
        })
        .count();
    for r in &sagas {
        let held: Vec<_> = claims.iter().filter(|c| c.saga == r.id).collect();
        let total: u64 = held.iter().map(|c| c.value()).sum();
        let (want_status, want_total): (Option<ClaimStatus>, u64) = match &r.state {
            SagaState::Fund(FundState::Funded { amount, .. }) => {
                b.came_in += amount;
                (None, 0)
            }
            SagaState::Fund(_) => (None, 0),
            SagaState::Receive(ReceiveState::Received { amount, .. }) => {
                b.came_in += amount;
                (None, 0)
            }
            SagaState::Receive(_) => (None, 0),
            SagaState::Pay(p) => {
                let amount = PaymentRequest::from_bytes(p.request()).unwrap().amount;
                match p {
                    PayState::Reserved { .. } => (Some(ClaimStatus::Reserved), amount),
                    PayState::Signed { .. }
                    | PayState::HandedOver { .. }
                    | PayState::Abandoned { .. } => (Some(ClaimStatus::Signed), amount),
                    PayState::Confirmed { .. } => (Some(ClaimStatus::Spent), amount),
                    PayState::Released { .. } => (None, 0),
                }
            }
            SagaState::Defund(d) => match d.clone() {
                DefundState::Reserved { pieces, .. } => (
                    Some(ClaimStatus::Reserved),
                    crate::saga::spending::total(&pieces),
                ),
                DefundState::Signed { pieces, .. } | DefundState::Refused { pieces, .. } => (
                    Some(ClaimStatus::Signed),
                    crate::saga::spending::total(&pieces),
                ),
                DefundState::Done { amount, .. } => (Some(ClaimStatus::Spent), amount),
                DefundState::Released { .. } => (None, 0),
            },
            SagaState::Deposit(d) => match d.clone() {
                DepositState::Posting { amount, .. }
                | DepositState::Held { amount }
                | DepositState::Refused { amount, .. } => (Some(ClaimStatus::Signed), amount),
                DepositState::Deposited { amount, .. } => (Some(ClaimStatus::Spent), amount),
            },
            SagaState::Refresh(s) => match s.clone() {
                RefreshState::Reserved { pieces, .. } => (
                    Some(ClaimStatus::Reserved),
                    crate::saga::spending::total(&pieces),
                ),
                RefreshState::Returning { pieces, .. } => (
                    Some(ClaimStatus::Signed),
                    crate::saga::spending::total(&pieces),
                ),
                RefreshState::Held { amount, .. } | RefreshState::Refused { amount, .. } => {
                    (Some(ClaimStatus::Signed), amount)
                }
                RefreshState::Reissuing { amount, .. } | RefreshState::Failed { amount, .. } => {
                    (Some(ClaimStatus::Spent), amount)
                }
                RefreshState::Done { amount, .. } => {
                    b.came_in += amount;
                    (Some(ClaimStatus::Spent), amount)
                }
                RefreshState::Cancelled { .. } => (None, 0),
            },
        };
        assert_eq!(total, want_total, "claims of {} ({})", r.id, r.state.name());
        if let Some(s) = want_status {
            assert!(
                held.iter().all(|c| c.status == s),
                "claim status of {}",
                r.id
            );
        }
    }
    assert!(
        claims.iter().all(|c| sagas.iter().any(|r| r.id == c.saga)),
        "every claim has its saga"
    );
    assert_eq!(b.notes, b.came_in, "notes = funded + received");
    assert_eq!(b.free + b.reserved + b.handed_over, b.came_in - b.spent);
    b
}

pub fn saga_state(store: &MemoryStore, id: &SagaId) -> SagaState {
    block_on(store.saga(id)).unwrap().unwrap().state
}

/// Wallet `payee` shows a request for `amount` (nonce `[nonce; 16]`): its receive saga and
/// the request's bytes.
pub fn show_request(payee: &MemoryStore, nonce: u8, amount: u64) -> (crate::SagaId, Vec<u8>) {
    let e = engine(payee);
    let out = block_on(e.start_receive(&e.ask([nonce; 16], amount, "EUR", None), NOW)).unwrap();
    let Some(Command::Show {
        what: Shown::Request,
        bytes,
        ..
    }) = out.commands.first().cloned()
    else {
        panic!("a receive starts by showing its request")
    };
    (out.record.id, bytes)
}

/// Wallet 0 (`payer`) pays `request` with one approval: the signed payment's bytes.
pub fn pay_request(w: &mut World, payer: &MemoryStore, request: &[u8]) -> Vec<u8> {
    let out = block_on(engine(payer).start_pay(request, NOW)).unwrap();
    let Some(Command::Sign { saga, items }) = out.commands.first().cloned() else {
        panic!("a payment starts by asking for its approval")
    };
    let a = sign(w, 0, &items);
    let out = block_on(engine(payer).step(&saga, Event::Signed(a), NOW)).unwrap();
    let Some(Command::Show { bytes, .. }) = out.commands.first().cloned() else {
        panic!("a signed payment is shown")
    };
    bytes
}
