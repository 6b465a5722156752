//! The till store conformance suite: generic async functions that any [`TillStore`] must
//! pass, each given a fresh, empty store. Natively the in-memory store runs them through
//! [`till_store_conformance_tests!`](crate::till_store_conformance_tests); an IndexedDB
//! store runs the same functions under `wasm-bindgen-test` with the macro's `@async` form.
//!
//! Test code exposed under the `conformance` feature: failures panic, as assertions do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use ops_core::ids::{CertId, Digest32, NoteId};

use super::{
    DeclineWrite, PaymentWrite, QueueWrite, SagaWrite, TillBatch, TillStore, TillStoreError,
    TillWrite, TrustWrite,
};
use crate::till::reason::DeclineReason;
use crate::till::saga::{SaleState, TillSagaRecord, TillSagaState};
use crate::till::types::{
    AcceptedPayment, Decline, DepositStatus, KeptProof, LedgerEntry, PaymentId, QueueEntry,
    TillIdentity,
};
use crate::types::{SagaId, TrustBundle};

/// Runs every conformance function natively (`#[test]` + a blocking executor), or with
/// `@async <test attribute>` as async tests (e.g. `wasm_bindgen_test`). `$make` builds a
/// fresh empty store (it may `.await` in the async form).
#[macro_export]
macro_rules! till_store_conformance_tests {
    (@async $attr:meta, $make:expr) => {
        $crate::till_store_conformance_tests!(@each (@async $attr, $make)
            till_saga_versions_are_checked, till_unfinished_lists_open_sagas,
            till_accept_stores_payment_and_ledger, till_overlapping_spend_is_refused,
            till_same_spend_is_kept_once, till_overlaps_inside_one_write_are_refused,
            till_payment_is_accepted_once, till_overlapping_query_is_exact,
            till_payments_by_period, till_queue_enqueue_is_idempotent,
            till_queue_assign_only_uploadable, till_queue_settle_only_in_its_batch,
            till_queue_release_returns_a_batch, till_batch_is_all_or_nothing,
            till_declines_logged_once_by_period, till_fraud_proofs_kept_once,
            till_trust_and_last_online);
    };
    ($make:expr) => {
        $crate::till_store_conformance_tests!(@each (@sync $make)
            till_saga_versions_are_checked, till_unfinished_lists_open_sagas,
            till_accept_stores_payment_and_ledger, till_overlapping_spend_is_refused,
            till_same_spend_is_kept_once, till_overlaps_inside_one_write_are_refused,
            till_payment_is_accepted_once, till_overlapping_query_is_exact,
            till_payments_by_period, till_queue_enqueue_is_idempotent,
            till_queue_assign_only_uploadable, till_queue_settle_only_in_its_batch,
            till_queue_release_returns_a_batch, till_batch_is_all_or_nothing,
            till_declines_logged_once_by_period, till_fraud_proofs_kept_once,
            till_trust_and_last_online);
    };
    (@each $how:tt $($name:ident),+) => {
        $( $crate::till_store_conformance_tests!(@one $how $name); )+
    };
    (@one (@sync $make:expr) $name:ident) => {
        #[test]
        fn $name() {
            ::futures_executor::block_on($crate::till::store::conformance::$name(&$make));
        }
    };
    (@one (@async $attr:meta, $make:expr) $name:ident) => {
        #[$attr]
        async fn $name() {
            $crate::till::store::conformance::$name(&$make).await;
        }
    };
}

pub fn pid(i: u8) -> PaymentId {
    Digest32([i; 32])
}

pub fn note(i: u8) -> NoteId {
    NoteId([i; 32])
}

pub fn record(id: &str, version: u64, state: SaleState) -> TillSagaRecord {
    TillSagaRecord {
        id: SagaId(id.into()),
        version,
        created: 1,
        updated: 1 + version,
        state: TillSagaState::Sale(state),
    }
}

pub fn open(id: &str, version: u64) -> TillSagaRecord {
    record(
        id,
        version,
        SaleState::Open {
            request: vec![1, 2, 3],
        },
    )
}

pub fn payment(i: u8, at: u64) -> AcceptedPayment {
    AcceptedPayment {
        id: pid(i),
        sale: SagaId(format!("sale:{i}")),
        amount: 100 + u64::from(i),
        currency: "EUR".into(),
        reference: Some(format!("order {i}")),
        accepted_at: at,
        payer: Some(CertId([i; 16])),
        bytes: vec![i; 40],
    }
}

/// A ledger entry: `[from, to)` of note `n` spent by spend `s`, brought by payment `p`.
pub fn entry(n: u8, from: u64, to: u64, s: u8, p: u8) -> LedgerEntry {
    LedgerEntry {
        note: note(n),
        from,
        to,
        spend: NoteId([s; 32]),
        payment: pid(p),
        bytes: vec![s, n],
    }
}

pub fn queued(i: u8, at: u64) -> QueueEntry {
    QueueEntry {
        payment: pid(i),
        amount: 100 + u64::from(i),
        currency: "EUR".into(),
        accepted_at: at,
        status: DepositStatus::Pending,
        updated: at,
    }
}

pub fn decline(id: &str, at: u64, reason: DeclineReason) -> Decline {
    Decline {
        id: id.into(),
        sale: Some(SagaId("sale:1".into())),
        at,
        reason,
        rule: Some(5),
        detail: "detail".into(),
        amount: Some(100),
        currency: Some("EUR".into()),
        payment: None,
    }
}

fn accept(p: AcceptedPayment, ledger: Vec<LedgerEntry>) -> TillWrite {
    TillWrite::Payment(PaymentWrite::Accept { payment: p, ledger })
}

fn put(record: TillSagaRecord, expected: Option<u64>) -> TillWrite {
    TillWrite::Saga(SagaWrite::Put { record, expected })
}

fn batch(writes: Vec<TillWrite>) -> TillBatch {
    TillBatch { writes }
}

fn batch_id(s: &str) -> SagaId {
    SagaId(s.into())
}

pub async fn till_saga_versions_are_checked<S: TillStore>(s: &S) {
    s.apply(batch(vec![put(open("a", 0), None)])).await.unwrap();
    let e = s
        .apply(batch(vec![put(open("a", 0), None)]))
        .await
        .unwrap_err();
    assert!(
        matches!(e, TillStoreError::VersionConflict { found: Some(0), .. }),
        "{e:?}"
    );
    let e = s
        .apply(batch(vec![put(open("a", 5), Some(0))]))
        .await
        .unwrap_err();
    assert!(matches!(e, TillStoreError::BadVersion { .. }), "{e:?}");
    s.apply(batch(vec![put(open("a", 1), Some(0))]))
        .await
        .unwrap();
    let e = s
        .apply(batch(vec![put(open("a", 1), Some(0))]))
        .await
        .unwrap_err();
    assert!(
        matches!(e, TillStoreError::VersionConflict { found: Some(1), .. }),
        "a second window deciding on version 0 loses"
    );
    assert_eq!(
        s.saga(&SagaId("a".into())).await.unwrap().unwrap().version,
        1
    );
    assert_eq!(s.saga(&SagaId("b".into())).await.unwrap(), None);
}

pub async fn till_unfinished_lists_open_sagas<S: TillStore>(s: &S) {
    let cancelled = record("c", 0, SaleState::Cancelled { request: vec![9] });
    s.apply(batch(vec![
        put(open("b", 0), None),
        put(cancelled, None),
        put(open("a", 0), None),
    ]))
    .await
    .unwrap();
    let all: Vec<String> = s
        .sagas()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.0)
        .collect();
    assert_eq!(all, vec!["a", "b", "c"]);
    let open: Vec<String> = s
        .unfinished()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.0)
        .collect();
    assert_eq!(open, vec!["a", "b"]);
}

pub async fn till_accept_stores_payment_and_ledger<S: TillStore>(s: &S) {
    s.apply(batch(vec![accept(
        payment(1, 50),
        vec![entry(1, 0, 10, 11, 1), entry(2, 5, 7, 12, 1)],
    )]))
    .await
    .unwrap();
    assert_eq!(s.payment(&pid(1)).await.unwrap(), Some(payment(1, 50)));
    assert_eq!(s.payment(&pid(2)).await.unwrap(), None);
    assert_eq!(
        s.ledger().await.unwrap(),
        vec![entry(1, 0, 10, 11, 1), entry(2, 5, 7, 12, 1)]
    );
    assert_eq!(
        s.overlapping(&note(1), 9, 20).await.unwrap(),
        vec![entry(1, 0, 10, 11, 1)]
    );
    assert!(s.overlapping(&note(1), 10, 20).await.unwrap().is_empty());
    assert!(s.overlapping(&note(3), 0, 10).await.unwrap().is_empty());
}

pub async fn till_overlapping_spend_is_refused<S: TillStore>(s: &S) {
    s.apply(batch(vec![accept(
        payment(1, 50),
        vec![entry(1, 0, 10, 11, 1)],
    )]))
    .await
    .unwrap();
    for (from, to) in [(9, 12), (0, 1), (3, 5), (0, 10)] {
        let e = s
            .apply(batch(vec![
                put(open("x", 0), None),
                accept(
                    payment(2, 60),
                    vec![entry(2, 0, 5, 21, 2), entry(1, from, to, 22, 2)],
                ),
            ]))
            .await
            .unwrap_err();
        assert_eq!(
            e,
            TillStoreError::SpendRecorded {
                note: note(1),
                from,
                to,
                held: NoteId([11; 32])
            }
        );
    }
    // Nothing of the refused batches was written; adjacent ranges are free.
    assert_eq!(s.payment(&pid(2)).await.unwrap(), None);
    assert_eq!(s.saga(&SagaId("x".into())).await.unwrap(), None);
    assert_eq!(s.ledger().await.unwrap().len(), 1);
    s.apply(batch(vec![accept(
        payment(2, 60),
        vec![entry(1, 10, 20, 22, 2)],
    )]))
    .await
    .unwrap();
    assert_eq!(s.ledger().await.unwrap().len(), 2);
}

pub async fn till_same_spend_is_kept_once<S: TillStore>(s: &S) {
    // Two payments sharing a provenance hop: the identical spend is recorded once, under
    // the payment that brought it first.
    s.apply(batch(vec![accept(
        payment(1, 50),
        vec![entry(1, 0, 10, 11, 1), entry(2, 0, 4, 12, 1)],
    )]))
    .await
    .unwrap();
    s.apply(batch(vec![accept(
        payment(2, 60),
        vec![entry(1, 0, 10, 11, 2), entry(2, 4, 8, 13, 2)],
    )]))
    .await
    .unwrap();
    let ledger = s.ledger().await.unwrap();
    assert_eq!(
        ledger,
        vec![
            entry(1, 0, 10, 11, 1),
            entry(2, 0, 4, 12, 1),
            entry(2, 4, 8, 13, 2)
        ]
    );
    // The same spend id over another range is a conflict.
    let e = s
        .apply(batch(vec![accept(
            payment(3, 70),
            vec![entry(1, 0, 5, 11, 3)],
        )]))
        .await
        .unwrap_err();
    assert!(matches!(e, TillStoreError::SpendRecorded { .. }), "{e:?}");
}

pub async fn till_overlaps_inside_one_write_are_refused<S: TillStore>(s: &S) {
    let e = s
        .apply(batch(vec![accept(
            payment(1, 50),
            vec![entry(1, 0, 6, 11, 1), entry(1, 5, 10, 12, 1)],
        )]))
        .await
        .unwrap_err();
    assert!(matches!(e, TillStoreError::SpendRecorded { .. }), "{e:?}");
    assert!(s.ledger().await.unwrap().is_empty());
    assert_eq!(s.payment(&pid(1)).await.unwrap(), None);
}

pub async fn till_payment_is_accepted_once<S: TillStore>(s: &S) {
    s.apply(batch(vec![accept(
        payment(1, 50),
        vec![entry(1, 0, 10, 11, 1)],
    )]))
    .await
    .unwrap();
    let e = s
        .apply(batch(vec![accept(
            payment(1, 99),
            vec![entry(1, 0, 10, 11, 1)],
        )]))
        .await
        .unwrap_err();
    assert_eq!(e, TillStoreError::PaymentExists(pid(1)));
    assert_eq!(s.payment(&pid(1)).await.unwrap().unwrap().accepted_at, 50);
}

pub async fn till_overlapping_query_is_exact<S: TillStore>(s: &S) {
    let top = u64::MAX;
    s.apply(batch(vec![accept(
        payment(1, 50),
        vec![
            entry(1, 0, 10, 11, 1),
            entry(1, 10, 20, 12, 1),
            entry(1, 30, 40, 13, 1),
            entry(1, top - 5, top, 14, 1),
            entry(2, 0, 100, 15, 1),
        ],
    )]))
    .await
    .unwrap();
    let spans = |v: Vec<LedgerEntry>| v.into_iter().map(|e| (e.from, e.to)).collect::<Vec<_>>();
    assert_eq!(
        spans(s.overlapping(&note(1), 5, 35).await.unwrap()),
        vec![(0, 10), (10, 20), (30, 40)]
    );
    assert_eq!(
        spans(s.overlapping(&note(1), 20, 30).await.unwrap()),
        vec![]
    );
    assert_eq!(
        spans(s.overlapping(&note(1), 19, 31).await.unwrap()),
        vec![(10, 20), (30, 40)]
    );
    assert_eq!(
        spans(s.overlapping(&note(1), 0, top).await.unwrap()),
        vec![(0, 10), (10, 20), (30, 40), (top - 5, top)]
    );
    assert_eq!(
        spans(s.overlapping(&note(1), top - 1, top).await.unwrap()),
        vec![(top - 5, top)]
    );
    assert_eq!(spans(s.overlapping(&note(1), 7, 7).await.unwrap()), vec![]);
}

pub async fn till_payments_by_period<S: TillStore>(s: &S) {
    s.apply(batch(vec![
        accept(payment(3, 200), vec![]),
        accept(payment(1, 100), vec![]),
        accept(payment(2, 100), vec![]),
        accept(payment(4, 300), vec![]),
    ]))
    .await
    .unwrap();
    let ids = |v: Vec<AcceptedPayment>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.payments_between(100, 300).await.unwrap()),
        vec![pid(1), pid(2), pid(3)],
        "[from, to): by time then id"
    );
    assert_eq!(ids(s.payments_between(0, 100).await.unwrap()), vec![]);
    assert_eq!(ids(s.payments_between(0, u64::MAX).await.unwrap()).len(), 4);
}

pub async fn till_queue_enqueue_is_idempotent<S: TillStore>(s: &S) {
    s.apply(batch(vec![TillWrite::Queue(QueueWrite::Enqueue(queued(
        1, 10,
    )))]))
    .await
    .unwrap();
    let mut changed = queued(1, 99);
    changed.amount = 5;
    s.apply(batch(vec![TillWrite::Queue(QueueWrite::Enqueue(changed))]))
        .await
        .unwrap();
    assert_eq!(s.queue().await.unwrap(), vec![queued(1, 10)]);
    assert_eq!(s.queue_entry(&pid(1)).await.unwrap(), Some(queued(1, 10)));
    assert_eq!(s.queue_entry(&pid(2)).await.unwrap(), None);
}

fn assign(ids: &[u8], b: &str, at: u64) -> TillWrite {
    TillWrite::Queue(QueueWrite::Assign {
        payments: ids.iter().map(|i| pid(*i)).collect(),
        batch: batch_id(b),
        at,
    })
}

fn settle(i: u8, b: &str, status: DepositStatus) -> TillWrite {
    TillWrite::Queue(QueueWrite::Settle {
        payment: pid(i),
        batch: batch_id(b),
        status,
        at: 30,
    })
}

pub async fn till_queue_assign_only_uploadable<S: TillStore>(s: &S) {
    s.apply(batch(
        (1..=3)
            .map(|i| TillWrite::Queue(QueueWrite::Enqueue(queued(i, u64::from(i)))))
            .collect(),
    ))
    .await
    .unwrap();
    s.apply(batch(vec![assign(&[1, 2], "b1", 20)]))
        .await
        .unwrap();
    // A second upload cannot take a payment the first one holds, nor an unknown one.
    let e = s
        .apply(batch(vec![assign(&[3, 2], "b2", 21)]))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        TillStoreError::NotUploadable {
            payment: pid(2),
            status: "posting"
        }
    );
    let e = s
        .apply(batch(vec![assign(&[9], "b2", 21)]))
        .await
        .unwrap_err();
    assert_eq!(e, TillStoreError::NotQueued(pid(9)));
    assert_eq!(
        s.queue_entry(&pid(3)).await.unwrap().unwrap().status,
        DepositStatus::Pending,
        "nothing of the refused batch"
    );
    let awaiting: Vec<PaymentId> = s
        .awaiting()
        .await
        .unwrap()
        .iter()
        .map(|e| e.payment)
        .collect();
    assert_eq!(awaiting, vec![pid(1), pid(2), pid(3)]);
    // Credited and refused payments are never uploaded again; disputed ones are.
    s.apply(batch(vec![
        settle(1, "b1", DepositStatus::Credited { credited_now: 101 }),
        settle(2, "b1", DepositStatus::Disputed { held_id: Some(7) }),
    ]))
    .await
    .unwrap();
    let awaiting: Vec<PaymentId> = s
        .awaiting()
        .await
        .unwrap()
        .iter()
        .map(|e| e.payment)
        .collect();
    assert_eq!(
        awaiting,
        vec![pid(2), pid(3)],
        "credited leaves; disputed still awaits"
    );
    let e = s
        .apply(batch(vec![assign(&[1], "b2", 22)]))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        TillStoreError::NotUploadable {
            status: "credited",
            ..
        }
    ));
    s.apply(batch(vec![assign(&[2, 3], "b2", 22)]))
        .await
        .unwrap();
    let e = s.queue_entry(&pid(2)).await.unwrap().unwrap();
    assert_eq!(
        (e.status, e.updated),
        (
            DepositStatus::Posting {
                batch: batch_id("b2")
            },
            22
        )
    );
}

pub async fn till_queue_settle_only_in_its_batch<S: TillStore>(s: &S) {
    s.apply(batch(vec![
        TillWrite::Queue(QueueWrite::Enqueue(queued(1, 1))),
        TillWrite::Queue(QueueWrite::Enqueue(queued(2, 2))),
    ]))
    .await
    .unwrap();
    s.apply(batch(vec![assign(&[1], "b1", 20)])).await.unwrap();
    let e = s
        .apply(batch(vec![settle(
            2,
            "b1",
            DepositStatus::Credited { credited_now: 0 },
        )]))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        TillStoreError::NotInBatch {
            payment: pid(2),
            batch: batch_id("b1")
        }
    );
    let e = s
        .apply(batch(vec![settle(
            1,
            "b0",
            DepositStatus::Credited { credited_now: 0 },
        )]))
        .await
        .unwrap_err();
    assert!(
        matches!(e, TillStoreError::NotInBatch { .. }),
        "a stale upload's answer"
    );
    s.apply(batch(vec![settle(
        1,
        "b1",
        DepositStatus::Refused {
            code: "payment_invalid".into(),
            message: "m".into(),
        },
    )]))
    .await
    .unwrap();
    let e = s
        .apply(batch(vec![settle(
            1,
            "b1",
            DepositStatus::Credited { credited_now: 1 },
        )]))
        .await
        .unwrap_err();
    assert!(
        matches!(e, TillStoreError::NotInBatch { .. }),
        "settled once"
    );
    assert_eq!(
        s.queue_entry(&pid(1)).await.unwrap().unwrap().status.code(),
        "refused"
    );
}

pub async fn till_queue_release_returns_a_batch<S: TillStore>(s: &S) {
    s.apply(batch(
        (1..=3)
            .map(|i| TillWrite::Queue(QueueWrite::Enqueue(queued(i, u64::from(i)))))
            .collect(),
    ))
    .await
    .unwrap();
    s.apply(batch(vec![
        assign(&[1, 2], "b1", 20),
        assign(&[3], "b2", 20),
    ]))
    .await
    .unwrap();
    s.apply(batch(vec![
        settle(1, "b1", DepositStatus::Credited { credited_now: 101 }),
        TillWrite::Queue(QueueWrite::Release {
            batch: batch_id("b1"),
            at: 40,
        }),
    ]))
    .await
    .unwrap();
    let q = s.queue().await.unwrap();
    let st: Vec<(&str, u64)> = q.iter().map(|e| (e.status.code(), e.updated)).collect();
    assert_eq!(st, vec![("credited", 30), ("pending", 40), ("posting", 20)]);
    // What still awaits the FI: everything but the credited one, in the same order.
    let waiting: Vec<&str> = s
        .awaiting()
        .await
        .unwrap()
        .iter()
        .map(|e| e.status.code())
        .collect();
    assert_eq!(waiting, vec!["pending", "posting"]);
}

pub async fn till_batch_is_all_or_nothing<S: TillStore>(s: &S) {
    let id = TillIdentity {
        terminal_cert: vec![1],
        fi_cert: vec![2],
        credential_id: None,
        account_id: 7,
    };
    let e = s
        .apply(batch(vec![
            put(open("a", 0), None),
            accept(payment(1, 50), vec![entry(1, 0, 10, 11, 1)]),
            TillWrite::Queue(QueueWrite::Enqueue(queued(1, 50))),
            TillWrite::Decline(DeclineWrite::Log(decline(
                "d1",
                50,
                DeclineReason::Tampered,
            ))),
            TillWrite::Decline(DeclineWrite::KeepProof(KeptProof::new(vec![1], None, 50))),
            TillWrite::Trust(TrustWrite::SetIdentity(id)),
            TillWrite::Trust(TrustWrite::SetLastOnline(50)),
            // Refused last: the store must roll back everything above.
            put(open("a", 0), None),
        ]))
        .await
        .unwrap_err();
    assert!(matches!(e, TillStoreError::VersionConflict { .. }), "{e:?}");
    assert!(s.sagas().await.unwrap().is_empty());
    assert_eq!(s.payment(&pid(1)).await.unwrap(), None);
    assert!(s.ledger().await.unwrap().is_empty());
    assert!(s.queue().await.unwrap().is_empty());
    assert!(s.declines_between(0, u64::MAX).await.unwrap().is_empty());
    assert!(s.fraud_proofs().await.unwrap().is_empty());
    assert_eq!(s.identity().await.unwrap(), None);
    assert_eq!(s.last_online().await.unwrap(), None);
}

pub async fn till_declines_logged_once_by_period<S: TillStore>(s: &S) {
    s.apply(batch(vec![
        TillWrite::Decline(DeclineWrite::Log(decline(
            "b",
            20,
            DeclineReason::WrongAmount,
        ))),
        TillWrite::Decline(DeclineWrite::Log(decline("a", 20, DeclineReason::Tampered))),
        TillWrite::Decline(DeclineWrite::Log(decline(
            "c",
            10,
            DeclineReason::Unreadable,
        ))),
    ]))
    .await
    .unwrap();
    s.apply(batch(vec![TillWrite::Decline(DeclineWrite::Log(decline(
        "a",
        99,
        DeclineReason::AlreadySpent,
    )))]))
    .await
    .unwrap();
    let got: Vec<(String, u64, DeclineReason)> = s
        .declines_between(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.id, d.at, d.reason))
        .collect();
    assert_eq!(
        got,
        vec![
            ("c".into(), 10, DeclineReason::Unreadable),
            ("a".into(), 20, DeclineReason::Tampered),
            ("b".into(), 20, DeclineReason::WrongAmount),
        ],
        "kept once, by time then id"
    );
    assert_eq!(s.declines_between(11, 20).await.unwrap().len(), 0);
    assert_eq!(s.declines_between(20, 21).await.unwrap().len(), 2);
}

pub async fn till_fraud_proofs_kept_once<S: TillStore>(s: &S) {
    let p = KeptProof::new(vec![1, 2, 3], Some(SagaId("sale:1".into())), 5);
    s.apply(batch(vec![
        TillWrite::Decline(DeclineWrite::KeepProof(p.clone())),
        TillWrite::Decline(DeclineWrite::KeepProof(KeptProof::new(
            vec![1, 2, 3],
            None,
            9,
        ))),
        TillWrite::Decline(DeclineWrite::KeepProof(KeptProof::new(vec![4], None, 9))),
    ]))
    .await
    .unwrap();
    let proofs = s.fraud_proofs().await.unwrap();
    assert_eq!(proofs.len(), 2);
    assert!(proofs.contains(&p), "the first copy is kept");
}

pub async fn till_trust_and_last_online<S: TillStore>(s: &S) {
    assert_eq!(s.identity().await.unwrap(), None);
    assert_eq!(s.trust_bundle().await.unwrap(), None);
    let id = TillIdentity {
        terminal_cert: vec![1, 2],
        fi_cert: vec![3],
        credential_id: Some(vec![9, 9]),
        account_id: 7,
    };
    let bundle = TrustBundle {
        root: vec![4],
        fis: vec![vec![5], vec![6]],
        blocklist: None,
    };
    let crl = |i: u8, number: u64| {
        TillWrite::Trust(TrustWrite::PutCrl {
            issuer: CertId([i; 16]),
            number,
            bytes: vec![i, number as u8],
        })
    };
    s.apply(batch(vec![
        TillWrite::Trust(TrustWrite::SetIdentity(id.clone())),
        TillWrite::Trust(TrustWrite::SetBundle(bundle.clone())),
        crl(1, 5),
        crl(1, 3),
        crl(2, 1),
        TillWrite::Trust(TrustWrite::SetLastOnline(100)),
        TillWrite::Trust(TrustWrite::SetLastOnline(90)),
    ]))
    .await
    .unwrap();
    assert_eq!(s.identity().await.unwrap(), Some(id));
    assert_eq!(s.trust_bundle().await.unwrap(), Some(bundle));
    let mut crls = s.crls().await.unwrap();
    crls.sort();
    assert_eq!(crls, vec![vec![1, 5], vec![2, 1]], "the newest per issuer");
    assert_eq!(s.last_online().await.unwrap(), Some(100), "kept if later");
    s.apply(batch(vec![TillWrite::Trust(TrustWrite::SetLastOnline(
        u64::MAX,
    ))]))
    .await
    .unwrap();
    assert_eq!(s.last_online().await.unwrap(), Some(u64::MAX));
}
