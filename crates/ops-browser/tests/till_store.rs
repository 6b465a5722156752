//! The IndexedDB till store in headless Chromium: the till engine's store conformance
//! suite (the same 17 functions `TillMemoryStore` passes natively), then what only a real
//! database shows: two handles (two windows of the terminal) racing to approve one sale
//! or to accept one range, an aborted commit, reopening.
//!
//! Every test works on a fresh database of its own, deleted when the test ends.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::cell::Cell;

use futures_util::future::join_all;
use ops_browser::till_store::IdbTillStore;
use ops_core::ids::{CertId, NoteId};
use ops_wallet_engine::till::DeclineReason;
use ops_wallet_engine::till::saga::{SaleState, TillSagaRecord};
use ops_wallet_engine::till::store::conformance::{
    decline, entry, note, open, payment, pid, queued, record,
};
use ops_wallet_engine::till::store::{
    DeclineStore, DeclineWrite, PaymentStore, PaymentWrite, QueueStore, QueueWrite, SagaWrite,
    TillBatch, TillSagaStore, TillStore, TillStoreError, TillTrustStore, TillWrite, TrustWrite,
};
use ops_wallet_engine::till::types::{
    AcceptedPayment, Decline, DepositStatus, KeptProof, LedgerEntry, PaymentId, QueueEntry,
    TillIdentity,
};
use ops_wallet_engine::types::{SagaId, TrustBundle};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

thread_local! {
    static NEXT: Cell<u32> = const { Cell::new(0) };
}

/// A database name no other test (or earlier run) uses.
fn fresh_name() -> String {
    let n = NEXT.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    format!(
        "ops-till-test-{}-{n}-{}",
        js_sys::Date::now() as u64,
        (js_sys::Math::random() * 1e9) as u64
    )
}

/// A store on a fresh database; the database is deleted when this is dropped.
struct Fresh {
    store: IdbTillStore,
}

impl Fresh {
    async fn new() -> Self {
        Self {
            store: IdbTillStore::open(&fresh_name()).await.unwrap(),
        }
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        // Runs before `store` (and its connection) is dropped; the deletion runs later,
        // once the connection is closed.
        let name = self.store.name().to_owned();
        wasm_bindgen_futures::spawn_local(async move {
            IdbTillStore::delete(&name).await.unwrap();
        });
    }
}

/// Deletes a database when dropped (for tests that open several handles on it).
struct DeleteOnDrop(String);

impl Drop for DeleteOnDrop {
    fn drop(&mut self) {
        let name = self.0.clone();
        wasm_bindgen_futures::spawn_local(async move {
            IdbTillStore::delete(&name).await.unwrap();
        });
    }
}

impl TillSagaStore for Fresh {
    async fn saga(&self, id: &SagaId) -> Result<Option<TillSagaRecord>, TillStoreError> {
        self.store.saga(id).await
    }
    async fn sagas(&self) -> Result<Vec<TillSagaRecord>, TillStoreError> {
        self.store.sagas().await
    }
    async fn unfinished(&self) -> Result<Vec<TillSagaRecord>, TillStoreError> {
        self.store.unfinished().await
    }
}

impl PaymentStore for Fresh {
    async fn payment(&self, id: &PaymentId) -> Result<Option<AcceptedPayment>, TillStoreError> {
        self.store.payment(id).await
    }
    async fn payments_between(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Vec<AcceptedPayment>, TillStoreError> {
        self.store.payments_between(from, to).await
    }
    async fn overlapping(
        &self,
        note: &NoteId,
        from: u64,
        to: u64,
    ) -> Result<Vec<LedgerEntry>, TillStoreError> {
        self.store.overlapping(note, from, to).await
    }
    async fn ledger(&self) -> Result<Vec<LedgerEntry>, TillStoreError> {
        self.store.ledger().await
    }
}

impl QueueStore for Fresh {
    async fn queue(&self) -> Result<Vec<QueueEntry>, TillStoreError> {
        self.store.queue().await
    }
    async fn queue_entry(&self, id: &PaymentId) -> Result<Option<QueueEntry>, TillStoreError> {
        self.store.queue_entry(id).await
    }
    async fn awaiting(&self) -> Result<Vec<QueueEntry>, TillStoreError> {
        self.store.awaiting().await
    }
}

impl DeclineStore for Fresh {
    async fn declines_between(&self, from: u64, to: u64) -> Result<Vec<Decline>, TillStoreError> {
        self.store.declines_between(from, to).await
    }
    async fn fraud_proofs(&self) -> Result<Vec<KeptProof>, TillStoreError> {
        self.store.fraud_proofs().await
    }
}

impl TillTrustStore for Fresh {
    async fn identity(&self) -> Result<Option<TillIdentity>, TillStoreError> {
        self.store.identity().await
    }
    async fn trust_bundle(&self) -> Result<Option<TrustBundle>, TillStoreError> {
        self.store.trust_bundle().await
    }
    async fn crls(&self) -> Result<Vec<Vec<u8>>, TillStoreError> {
        self.store.crls().await
    }
    async fn last_online(&self) -> Result<Option<u64>, TillStoreError> {
        self.store.last_online().await
    }
}

impl TillStore for Fresh {
    async fn apply(&self, batch: TillBatch) -> Result<(), TillStoreError> {
        self.store.apply(batch).await
    }
}

ops_wallet_engine::till_store_conformance_tests!(@async wasm_bindgen_test, Fresh::new().await);

// ---- What only a real IndexedDB shows --------------------------------------------------

const TOP: u64 = u64::MAX;

fn batch(writes: Vec<TillWrite>) -> TillBatch {
    TillBatch { writes }
}

fn put(record: TillSagaRecord, expected: Option<u64>) -> TillWrite {
    TillWrite::Saga(SagaWrite::Put { record, expected })
}

fn accept(p: AcceptedPayment, ledger: Vec<LedgerEntry>) -> TillWrite {
    TillWrite::Payment(PaymentWrite::Accept { payment: p, ledger })
}

fn enqueue(i: u8, at: u64) -> TillWrite {
    TillWrite::Queue(QueueWrite::Enqueue(queued(i, at)))
}

fn sale(id: &str) -> SagaId {
    SagaId(id.into())
}

/// The sale `id` approved with payment `i` at `at`, version `version`.
fn approved(id: &str, version: u64, i: u8, at: u64) -> TillSagaRecord {
    record(
        id,
        version,
        SaleState::Approved {
            request: vec![1, 2, 3],
            payment: pid(i),
            amount: 100 + u64::from(i),
            currency: "EUR".into(),
            approved_at: at,
        },
    )
}

/// What one approval commits: the sale's `Approved` record, the payment with its spends,
/// its queue entry (as the till engine's approval batch).
fn approval(
    id: &str,
    expected: Option<u64>,
    i: u8,
    at: u64,
    ledger: Vec<LedgerEntry>,
) -> TillBatch {
    let version = expected.map_or(0, |v| v + 1);
    batch(vec![
        put(approved(id, version, i, at), expected),
        accept(payment(i, at), ledger),
        enqueue(i, at),
    ])
}

/// Everything a store holds, read through one handle.
#[derive(Debug, PartialEq)]
struct Contents {
    sagas: Vec<TillSagaRecord>,
    unfinished: Vec<TillSagaRecord>,
    payments: Vec<AcceptedPayment>,
    ledger: Vec<LedgerEntry>,
    queue: Vec<QueueEntry>,
    awaiting: Vec<QueueEntry>,
    declines: Vec<Decline>,
    proofs: Vec<KeptProof>,
    identity: Option<TillIdentity>,
    bundle: Option<TrustBundle>,
    crls: Vec<Vec<u8>>,
    last_online: Option<u64>,
}

async fn contents(s: &IdbTillStore) -> Contents {
    Contents {
        sagas: s.sagas().await.unwrap(),
        unfinished: s.unfinished().await.unwrap(),
        payments: s.payments_between(0, TOP).await.unwrap(),
        ledger: s.ledger().await.unwrap(),
        queue: s.queue().await.unwrap(),
        awaiting: s.awaiting().await.unwrap(),
        declines: s.declines_between(0, TOP).await.unwrap(),
        proofs: s.fraud_proofs().await.unwrap(),
        identity: s.identity().await.unwrap(),
        bundle: s.trust_bundle().await.unwrap(),
        crls: s.crls().await.unwrap(),
        last_online: s.last_online().await.unwrap(),
    }
}

/// A batch writing to every concern (and so to every object store), with `u64` ends.
fn everything(tag: u8) -> TillBatch {
    batch(vec![
        put(open(&format!("sale:{tag}"), 0), None),
        accept(
            payment(tag, 50),
            vec![
                entry(tag, 0, 10, 11, tag),
                entry(tag, TOP - 5, TOP, 12, tag),
            ],
        ),
        enqueue(tag, 50),
        TillWrite::Decline(DeclineWrite::Log(decline(
            &format!("d{tag}"),
            TOP - 1,
            DeclineReason::AlreadySpent,
        ))),
        TillWrite::Decline(DeclineWrite::KeepProof(KeptProof::new(
            vec![tag, 1],
            Some(sale("sale:1")),
            50,
        ))),
        TillWrite::Trust(TrustWrite::SetIdentity(TillIdentity {
            terminal_cert: vec![tag],
            fi_cert: vec![tag, 2],
            credential_id: Some(vec![tag, 3]),
            account_id: TOP,
        })),
        TillWrite::Trust(TrustWrite::SetBundle(TrustBundle {
            root: vec![tag],
            fis: vec![vec![tag, 4]],
            blocklist: None,
        })),
        TillWrite::Trust(TrustWrite::PutCrl {
            issuer: CertId([tag; 16]),
            number: TOP - 1,
            bytes: vec![tag, 5],
        }),
        TillWrite::Trust(TrustWrite::SetLastOnline(TOP - 1)),
    ])
}

#[wasm_bindgen_test]
async fn two_windows_racing_to_approve_one_sale_one_wins() {
    let name = fresh_name();
    let _cleanup = DeleteOnDrop(name.clone());
    let a = IdbTillStore::open(&name).await.unwrap();
    let b = IdbTillStore::open(&name).await.unwrap();
    a.apply(batch(vec![put(open("sale:1", 0), None)]))
        .await
        .unwrap();
    assert_eq!(b.saga(&sale("sale:1")).await.unwrap().unwrap().version, 0);
    // Both windows decided the same payment from version 0 (at different moments).
    let spends = || vec![entry(1, 0, 60, 11, 1), entry(2, 0, 40, 12, 1)];
    let (ra, rb) = futures_util::future::join(
        a.apply(approval("sale:1", Some(0), 1, 100, spends())),
        b.apply(approval("sale:1", Some(0), 1, 200, spends())),
    )
    .await;
    let (won, lost) = match (ra, rb) {
        (Ok(()), Err(e)) => (100, e),
        (Err(e), Ok(())) => (200, e),
        other => panic!("exactly one window must win: {other:?}"),
    };
    assert_eq!(
        lost,
        TillStoreError::VersionConflict {
            saga: sale("sale:1"),
            expected: Some(0),
            found: Some(1)
        }
    );
    for s in [&a, &b] {
        let seen = contents(s).await;
        assert_eq!(seen.sagas, vec![approved("sale:1", 1, 1, won)]);
        assert_eq!(seen.payments, vec![payment(1, won)], "accepted once");
        assert_eq!(seen.ledger, spends());
        assert_eq!(seen.queue, vec![queued(1, won)], "queued once");
    }
}

#[wasm_bindgen_test]
async fn two_windows_accepting_one_range_one_gets_spend_recorded() {
    let name = fresh_name();
    let _cleanup = DeleteOnDrop(name.clone());
    let a = IdbTillStore::open(&name).await.unwrap();
    let b = IdbTillStore::open(&name).await.unwrap();
    // Two sales, two payments copying one range (partly): each window saw an empty
    // ledger when it decided.
    let (ra, rb) = futures_util::future::join(
        a.apply(approval(
            "sale:a",
            None,
            1,
            10,
            vec![entry(1, 0, 60, 11, 1)],
        )),
        b.apply(approval(
            "sale:b",
            None,
            2,
            10,
            vec![entry(1, 40, 100, 12, 2)],
        )),
    )
    .await;
    let (winner, spend, lost) = match (ra, rb) {
        (Ok(()), Err(e)) => (1u8, 11u8, e),
        (Err(e), Ok(())) => (2, 12, e),
        other => panic!("exactly one window must win: {other:?}"),
    };
    assert!(
        matches!(&lost, TillStoreError::SpendRecorded { note: n, held, .. }
            if *n == note(1) && *held == NoteId([spend; 32])),
        "{lost:?}"
    );
    // The loser's sale, payment and queue entry were not written (same transaction).
    let seen = contents(&a).await;
    let sale_id = if winner == 1 { "sale:a" } else { "sale:b" };
    assert_eq!(seen.sagas.len(), 1);
    assert_eq!(seen.sagas[0].id, sale(sale_id));
    assert_eq!(seen.payments, vec![payment(winner, 10)]);
    assert_eq!(seen.ledger.len(), 1);
    assert_eq!(seen.queue, vec![queued(winner, 10)]);
    assert_eq!(contents(&b).await, seen);
}

#[wasm_bindgen_test]
async fn eight_windows_racing_on_one_range_exactly_one_wins() {
    let name = fresh_name();
    let _cleanup = DeleteOnDrop(name.clone());
    let mut tabs = Vec::new();
    for _ in 0..8 {
        tabs.push(IdbTillStore::open(&name).await.unwrap());
    }
    // [5i, 5i + 50) of note 1: every two of them overlap.
    let results = join_all(tabs.iter().enumerate().map(|(i, t)| {
        let i = i as u8 + 1;
        let from = 5 * u64::from(i);
        t.apply(approval(
            &format!("sale:{i}"),
            None,
            i,
            10,
            vec![entry(1, from, from + 50, 10 + i, i)],
        ))
    }))
    .await;
    let winners: Vec<usize> = (0..8).filter(|i| results[*i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for r in results.iter().filter(|r| r.is_err()) {
        assert!(
            matches!(r, Err(TillStoreError::SpendRecorded { .. })),
            "{r:?}"
        );
    }
    let seen = contents(&tabs[7]).await;
    assert_eq!(seen.ledger.len(), 1);
    assert_eq!(seen.payments.len(), 1);
    assert_eq!(seen.sagas.len(), 1);
}

#[wasm_bindgen_test]
async fn a_commit_aborted_after_its_writes_leaves_nothing() {
    let name = fresh_name();
    let _cleanup = DeleteOnDrop(name.clone());
    let a = IdbTillStore::open(&name).await.unwrap();
    let b = IdbTillStore::open(&name).await.unwrap();
    let empty = contents(&a).await;
    // Every write issued to IndexedDB, then the transaction aborted (a crash before the
    // commit).
    a.fail_next_apply();
    let e = a.apply(everything(1)).await.unwrap_err();
    assert!(
        matches!(&e, TillStoreError::Backend(m) if m.contains("injected")),
        "{e:?}"
    );
    assert_eq!(contents(&a).await, empty);
    assert_eq!(
        contents(&b).await,
        empty,
        "the other window sees nothing either"
    );
    drop(a);
    drop(b);
    let reopened = IdbTillStore::open(&name).await.unwrap();
    assert_eq!(contents(&reopened).await, empty);
    // A guard refusing the last write of a full batch: nothing either.
    for last in [
        put(open("sale:2", 0), None),
        accept(payment(3, 1), vec![entry(2, 5, 6, 99, 3)]),
        TillWrite::Queue(QueueWrite::Assign {
            payments: vec![pid(9)],
            batch: sale("deposit:1"),
            at: 1,
        }),
    ] {
        let mut refused = everything(2);
        refused.push(last);
        let e = reopened.apply(refused).await.unwrap_err();
        assert!(
            matches!(
                e,
                TillStoreError::VersionConflict { .. }
                    | TillStoreError::SpendRecorded { .. }
                    | TillStoreError::NotQueued(_)
            ),
            "{e:?}"
        );
        assert_eq!(contents(&reopened).await, empty);
    }
    // The same batch without the failure commits.
    reopened.apply(everything(2)).await.unwrap();
    assert_ne!(contents(&reopened).await, empty);
}

#[wasm_bindgen_test]
async fn reopening_sees_everything_committed() {
    let name = fresh_name();
    let _cleanup = DeleteOnDrop(name.clone());
    let a = IdbTillStore::open(&name).await.unwrap();
    a.apply(everything(7)).await.unwrap();
    a.apply(batch(vec![
        put(approved("sale:7", 1, 7, 50), Some(0)),
        TillWrite::Queue(QueueWrite::Assign {
            payments: vec![pid(7)],
            batch: sale("deposit:1"),
            at: 60,
        }),
    ]))
    .await
    .unwrap();
    let before = contents(&a).await;
    assert_eq!(before.ledger[1].to, TOP);
    assert_eq!(before.crls, vec![vec![7, 5]]);
    assert_eq!(before.last_online, Some(TOP - 1));
    assert_eq!(before.declines[0].at, TOP - 1);
    assert_eq!(before.identity.as_ref().unwrap().account_id, TOP);
    assert_eq!(before.awaiting[0].status.code(), "posting");
    drop(a);
    let b = IdbTillStore::open(&name).await.unwrap();
    assert_eq!(contents(&b).await, before);
    // The guards see the reopened data.
    let e = b
        .apply(batch(vec![accept(payment(7, 1), vec![])]))
        .await
        .unwrap_err();
    assert_eq!(e, TillStoreError::PaymentExists(pid(7)));
    let e = b
        .apply(batch(vec![accept(
            payment(8, 1),
            vec![entry(7, TOP - 1, TOP, 13, 8)],
        )]))
        .await
        .unwrap_err();
    assert!(matches!(e, TillStoreError::SpendRecorded { .. }), "{e:?}");
    let e = b
        .apply(batch(vec![TillWrite::Queue(QueueWrite::Assign {
            payments: vec![pid(7)],
            batch: sale("deposit:2"),
            at: 61,
        })]))
        .await
        .unwrap_err();
    assert!(matches!(e, TillStoreError::NotUploadable { .. }), "{e:?}");
    assert_eq!(
        b.overlapping(&note(7), TOP - 1, TOP).await.unwrap(),
        vec![entry(7, TOP - 5, TOP, 12, 7)]
    );
    // The release finds the upload's payments through the reopened `batch` index.
    b.apply(batch(vec![TillWrite::Queue(QueueWrite::Release {
        batch: sale("deposit:1"),
        at: 70,
    })]))
    .await
    .unwrap();
    let e = b.queue_entry(&pid(7)).await.unwrap().unwrap();
    assert_eq!((e.status, e.updated), (DepositStatus::Pending, 70));
    // Deleting the database (once its connections are closed) leaves an empty one.
    drop(b);
    IdbTillStore::delete(&name).await.unwrap();
    let c = IdbTillStore::open(&name).await.unwrap();
    assert!(c.sagas().await.unwrap().is_empty());
    assert!(c.ledger().await.unwrap().is_empty());
}

#[wasm_bindgen_test]
async fn a_large_approval_batch_commits_in_one_transaction() {
    let s = Fresh::new().await;
    // 100 payments of 3 spends each, then a decision's reads and one more approval.
    let mut writes = Vec::new();
    for i in 0..100u8 {
        let spends = (0..3u64)
            .map(|k| entry(i, 100 * k, 100 * k + 50, i, i))
            .collect::<Vec<_>>();
        writes.push(accept(payment(i, u64::from(i)), spends));
        writes.push(enqueue(i, u64::from(i)));
    }
    let started = js_sys::Date::now();
    s.apply(batch(writes)).await.unwrap();
    let accept_ms = js_sys::Date::now() - started;
    let started = js_sys::Date::now();
    for k in 0..3u64 {
        assert_eq!(
            s.overlapping(&note(50), 100 * k + 10, 100 * k + 20)
                .await
                .unwrap()
                .len(),
            1
        );
    }
    let read_ms = js_sys::Date::now() - started;
    let started = js_sys::Date::now();
    s.apply(approval(
        "sale:x",
        None,
        200,
        500,
        vec![entry(50, 50, 100, 200, 200), entry(51, 150, 200, 201, 200)],
    ))
    .await
    .unwrap();
    let approve_ms = js_sys::Date::now() - started;
    assert_eq!(s.ledger().await.unwrap().len(), 302);
    assert_eq!(s.awaiting().await.unwrap().len(), 101);
    console_log!(
        "IndexedDB till store: 100 payments with 300 guarded spends in one batch {accept_ms} ms, 3 overlap reads {read_ms} ms, one approval batch {approve_ms} ms"
    );
}
