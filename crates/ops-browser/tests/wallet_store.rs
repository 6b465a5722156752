//! The IndexedDB wallet store in headless Chromium: the engine's store conformance suite
//! (the same functions `MemoryStore` passes natively), then what only a real database
//! shows: two handles (two tabs) racing, an aborted commit, reopening.
//!
//! Every test works on a fresh database of its own, deleted when the test ends.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::cell::Cell;

use futures_util::future::join_all;
use ops_browser::wallet_store::IdbWalletStore;
use ops_core::ids::CertId;
use ops_core::wallet::WalletNote;
use ops_wallet_engine::saga::SagaRecord;
use ops_wallet_engine::store::conformance::{claim, entry, note, record};
use ops_wallet_engine::store::{
    Batch, HistoryStore, HistoryWrite, NoteStore, NoteWrite, SagaStore, SagaWrite, SettingsStore,
    SettingsWrite, StoreError, TrustStore, TrustWrite, WalletStore, Write,
};
use ops_wallet_engine::types::{
    Claim, ClaimStatus, HistoryEntry, Identity, SagaId, Settings, TrustBundle,
};
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
        "ops-wallet-test-{}-{n}-{}",
        js_sys::Date::now() as u64,
        (js_sys::Math::random() * 1e9) as u64
    )
}

/// A store on a fresh database; the database is deleted when this is dropped.
struct Fresh {
    store: IdbWalletStore,
}

impl Fresh {
    async fn new() -> Self {
        Self {
            store: IdbWalletStore::open(&fresh_name()).await.unwrap(),
        }
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        // Runs after `store` (and its connection) is dropped: deletion is not blocked.
        let name = self.store.name().to_owned();
        wasm_bindgen_futures::spawn_local(async move {
            IdbWalletStore::delete(&name).await.unwrap();
        });
    }
}

/// Deletes a database when dropped (for tests that open several handles on it).
struct DeleteOnDrop(String);

impl Drop for DeleteOnDrop {
    fn drop(&mut self) {
        let name = self.0.clone();
        wasm_bindgen_futures::spawn_local(async move {
            IdbWalletStore::delete(&name).await.unwrap();
        });
    }
}

impl NoteStore for Fresh {
    async fn notes(&self) -> Result<Vec<WalletNote>, StoreError> {
        self.store.notes().await
    }
    async fn claims(&self) -> Result<Vec<Claim>, StoreError> {
        self.store.claims().await
    }
    async fn received_spends(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        self.store.received_spends().await
    }
    async fn fraud_proofs(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        self.store.fraud_proofs().await
    }
}

impl SagaStore for Fresh {
    async fn saga(&self, id: &SagaId) -> Result<Option<SagaRecord>, StoreError> {
        self.store.saga(id).await
    }
    async fn sagas(&self) -> Result<Vec<SagaRecord>, StoreError> {
        self.store.sagas().await
    }
}

impl TrustStore for Fresh {
    async fn trust_bundle(&self) -> Result<Option<TrustBundle>, StoreError> {
        self.store.trust_bundle().await
    }
    async fn crls(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        self.store.crls().await
    }
}

impl HistoryStore for Fresh {
    async fn history(&self) -> Result<Vec<HistoryEntry>, StoreError> {
        self.store.history().await
    }
}

impl SettingsStore for Fresh {
    async fn identity(&self) -> Result<Option<Identity>, StoreError> {
        self.store.identity().await
    }
    async fn settings(&self) -> Result<Settings, StoreError> {
        self.store.settings().await
    }
}

impl WalletStore for Fresh {
    async fn apply(&self, batch: Batch) -> Result<(), StoreError> {
        self.store.apply(batch).await
    }
}

ops_wallet_engine::store_conformance_tests!(@async wasm_bindgen_test, Fresh::new().await);

// ---- What only a real IndexedDB shows --------------------------------------------------

fn batch(writes: Vec<Write>) -> Batch {
    Batch { writes }
}

fn put_saga(r: SagaRecord, expected: Option<u64>) -> Batch {
    batch(vec![Write::Saga(SagaWrite::Put {
        record: r,
        expected,
    })])
}

/// Everything a store holds, read through one handle.
#[derive(Debug, PartialEq)]
struct Contents {
    notes: Vec<WalletNote>,
    claims: Vec<Claim>,
    spends: Vec<Vec<u8>>,
    fraud: Vec<Vec<u8>>,
    sagas: Vec<SagaRecord>,
    trust: Option<TrustBundle>,
    crls: Vec<Vec<u8>>,
    history: Vec<HistoryEntry>,
    identity: Option<Identity>,
    settings: Settings,
}

async fn contents(s: &IdbWalletStore) -> Contents {
    let mut claims = s.claims().await.unwrap();
    claims.sort_by_key(|c| (c.note, c.from));
    Contents {
        notes: s.notes().await.unwrap(),
        claims,
        spends: s.received_spends().await.unwrap(),
        fraud: s.fraud_proofs().await.unwrap(),
        sagas: s.sagas().await.unwrap(),
        trust: s.trust_bundle().await.unwrap(),
        crls: s.crls().await.unwrap(),
        history: s.history().await.unwrap(),
        identity: s.identity().await.unwrap(),
        settings: s.settings().await.unwrap(),
    }
}

/// A batch writing to every concern (and so to every object store).
fn everything(tag: u8) -> Batch {
    batch(vec![
        Write::Note(NoteWrite::PutNote(note(tag, 100))),
        Write::Note(NoteWrite::Claim(vec![claim("s", tag, 0, 30)])),
        Write::Note(NoteWrite::RecordSpends(vec![vec![tag, 1], vec![tag, 2]])),
        Write::Note(NoteWrite::KeepFraudProof(vec![tag, 3])),
        Write::Saga(SagaWrite::Put {
            record: record("s", 0, 30),
            expected: None,
        }),
        Write::Trust(TrustWrite::SetBundle(TrustBundle {
            root: vec![tag],
            fis: vec![vec![tag, 4]],
            blocklist: None,
        })),
        Write::Trust(TrustWrite::PutCrl {
            issuer: CertId([tag; 16]),
            number: u64::MAX - 1,
            bytes: vec![tag, 5],
        }),
        Write::History(HistoryWrite::Put(entry("s", 3))),
        Write::Settings(SettingsWrite::SetIdentity(Identity {
            device_cert: vec![tag],
            fi_cert: vec![tag, 6],
            credential_id: vec![tag, 7],
            account_id: 42,
        })),
        Write::Settings(SettingsWrite::SetSettings(Settings {
            qr_preset: Some("dense".into()),
            camera: Some("back".into()),
            last_sync: None,
        })),
        Write::Settings(SettingsWrite::SetLastSync(1_700_000_000)),
    ])
}

#[wasm_bindgen_test]
async fn two_tabs_racing_one_saga_one_wins() {
    let name = fresh_name();
    let _cleanup = DeleteOnDrop(name.clone());
    let a = IdbWalletStore::open(&name).await.unwrap();
    let b = IdbWalletStore::open(&name).await.unwrap();
    a.apply(put_saga(record("x", 0, 1), None)).await.unwrap();
    // Both tabs read version 0 and decide a different next step.
    assert_eq!(
        b.saga(&SagaId("x".into())).await.unwrap().unwrap().version,
        0
    );
    let (ra, rb) = futures_util::future::join(
        a.apply(put_saga(record("x", 1, 10), Some(0))),
        b.apply(put_saga(record("x", 1, 20), Some(0))),
    )
    .await;
    let (won, lost) = match (ra, rb) {
        (Ok(()), Err(e)) => (10, e),
        (Err(e), Ok(())) => (20, e),
        other => panic!("exactly one tab must win: {other:?}"),
    };
    assert_eq!(
        lost,
        StoreError::VersionConflict {
            saga: SagaId("x".into()),
            expected: Some(0),
            found: Some(1)
        }
    );
    for s in [&a, &b] {
        assert_eq!(
            s.saga(&SagaId("x".into())).await.unwrap(),
            Some(record("x", 1, won))
        );
    }
}

#[wasm_bindgen_test]
async fn eight_tabs_racing_one_saga_exactly_one_wins() {
    let name = fresh_name();
    let _cleanup = DeleteOnDrop(name.clone());
    let mut tabs = Vec::new();
    for _ in 0..8 {
        tabs.push(IdbWalletStore::open(&name).await.unwrap());
    }
    tabs[0]
        .apply(put_saga(record("x", 0, 1), None))
        .await
        .unwrap();
    let results = join_all(
        tabs.iter()
            .enumerate()
            .map(|(i, t)| t.apply(put_saga(record("x", 1, 100 + i as u64), Some(0)))),
    )
    .await;
    let winners: Vec<usize> = (0..8).filter(|i| results[*i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for r in results.iter().filter(|r| r.is_err()) {
        assert!(
            matches!(r, Err(StoreError::VersionConflict { found: Some(1), .. })),
            "{r:?}"
        );
    }
    let stored = tabs[7].saga(&SagaId("x".into())).await.unwrap().unwrap();
    assert_eq!(stored, record("x", 1, 100 + winners[0] as u64));
}

#[wasm_bindgen_test]
async fn two_tabs_claiming_one_range_one_gets_range_taken() {
    let name = fresh_name();
    let _cleanup = DeleteOnDrop(name.clone());
    let a = IdbWalletStore::open(&name).await.unwrap();
    let b = IdbWalletStore::open(&name).await.unwrap();
    a.apply(batch(vec![Write::Note(NoteWrite::PutNote(note(1, 100)))]))
        .await
        .unwrap();
    // Each tab reserves from the same snapshot: a claim and its saga, one decision.
    let reserve = |saga: &str, from, to| {
        batch(vec![
            Write::Note(NoteWrite::Claim(vec![claim(saga, 1, from, to)])),
            Write::Saga(SagaWrite::Put {
                record: record(saga, 0, to - from),
                expected: None,
            }),
        ])
    };
    let (ra, rb) = futures_util::future::join(
        a.apply(reserve("pa", 0, 60)),
        b.apply(reserve("pb", 40, 100)),
    )
    .await;
    let (winner, lost) = match (ra, rb) {
        (Ok(()), Err(e)) => ("pa", e),
        (Err(e), Ok(())) => ("pb", e),
        other => panic!("exactly one tab must win: {other:?}"),
    };
    assert!(
        matches!(&lost, StoreError::RangeTaken { holder, .. } if holder.0 == winner),
        "{lost:?}"
    );
    // The loser's saga was not written either (same transaction).
    let seen = contents(&b).await;
    assert_eq!(seen.claims.len(), 1);
    assert_eq!(seen.claims[0].saga.0, winner);
    assert_eq!(seen.sagas.len(), 1);
    assert_eq!(seen.sagas[0].id.0, winner);
}

#[wasm_bindgen_test]
async fn a_commit_aborted_after_its_writes_leaves_nothing() {
    let name = fresh_name();
    let _cleanup = DeleteOnDrop(name.clone());
    let a = IdbWalletStore::open(&name).await.unwrap();
    let b = IdbWalletStore::open(&name).await.unwrap();
    let empty = contents(&a).await;
    // Every write issued to IndexedDB, then the transaction aborted (a crash before
    // the commit).
    a.fail_next_apply();
    let e = a.apply(everything(1)).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Backend(m) if m.contains("injected")),
        "{e:?}"
    );
    assert_eq!(contents(&a).await, empty);
    assert_eq!(
        contents(&b).await,
        empty,
        "the other tab sees nothing either"
    );
    drop(a);
    drop(b);
    let reopened = IdbWalletStore::open(&name).await.unwrap();
    assert_eq!(contents(&reopened).await, empty);
    // A guard failing at the last write of a full batch: nothing either.
    let mut refused = everything(2);
    refused.push(Write::Saga(SagaWrite::Put {
        record: record("s", 1, 1),
        expected: Some(5),
    }));
    let e = reopened.apply(refused).await.unwrap_err();
    assert!(matches!(e, StoreError::VersionConflict { .. }), "{e:?}");
    assert_eq!(contents(&reopened).await, empty);
    // The same batch without the failure commits.
    reopened.apply(everything(2)).await.unwrap();
    assert_ne!(contents(&reopened).await, empty);
}

#[wasm_bindgen_test]
async fn reopening_sees_everything_committed() {
    let name = fresh_name();
    let _cleanup = DeleteOnDrop(name.clone());
    let a = IdbWalletStore::open(&name).await.unwrap();
    a.apply(everything(7)).await.unwrap();
    a.apply(batch(vec![
        Write::Note(NoteWrite::SetClaimStatus {
            saga: SagaId("s".into()),
            status: ClaimStatus::Signed,
        }),
        Write::Saga(SagaWrite::Put {
            record: record("s", 1, 30),
            expected: Some(0),
        }),
    ]))
    .await
    .unwrap();
    let before = contents(&a).await;
    assert_eq!(before.notes, vec![note(7, 100)]);
    assert_eq!(before.claims[0].status, ClaimStatus::Signed);
    assert_eq!(before.crls, vec![vec![7, 5]]);
    assert_eq!(before.settings.last_sync, Some(1_700_000_000));
    drop(a);
    let b = IdbWalletStore::open(&name).await.unwrap();
    assert_eq!(contents(&b).await, before);
    // The guards see the reopened data: the signed range stays held.
    let e = b
        .apply(batch(vec![Write::Note(NoteWrite::Release {
            saga: SagaId("s".into()),
        })]))
        .await
        .unwrap_err();
    assert_eq!(e, StoreError::NotReleasable(SagaId("s".into())));
    let e = b
        .apply(batch(vec![Write::Note(NoteWrite::Claim(vec![claim(
            "t", 7, 29, 31,
        )]))]))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::RangeTaken { .. }), "{e:?}");
    // u64 keys and numbers survive exactly.
    b.apply(batch(vec![Write::Note(NoteWrite::PutNote(note(
        8,
        u64::MAX,
    )))]))
    .await
    .unwrap();
    b.apply(batch(vec![Write::Note(NoteWrite::Claim(vec![claim(
        "big",
        8,
        u64::MAX - 3,
        u64::MAX,
    )]))]))
    .await
    .unwrap();
    let big: Vec<Claim> = b
        .claims()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.saga.0 == "big")
        .collect();
    assert_eq!(big, vec![claim("big", 8, u64::MAX - 3, u64::MAX)]);
    // Deleting the database (once its connections are closed) leaves an empty one.
    drop(b);
    IdbWalletStore::delete(&name).await.unwrap();
    let c = IdbWalletStore::open(&name).await.unwrap();
    assert!(c.notes().await.unwrap().is_empty());
    assert!(c.sagas().await.unwrap().is_empty());
}

#[wasm_bindgen_test]
async fn a_large_batch_commits_in_one_transaction() {
    let s = Fresh::new().await;
    let notes: Vec<Write> = (0..200u8)
        .map(|i| Write::Note(NoteWrite::PutNote(note(i, 1_000))))
        .collect();
    let started = js_sys::Date::now();
    s.apply(batch(notes)).await.unwrap();
    let put_ms = js_sys::Date::now() - started;
    // 200 claims in one batch: each reads its note and the note's claims first.
    let claims: Vec<Claim> = (0..200u8).map(|i| claim("big", i, 0, 500)).collect();
    let started = js_sys::Date::now();
    s.apply(batch(vec![Write::Note(NoteWrite::Claim(claims))]))
        .await
        .unwrap();
    let claim_ms = js_sys::Date::now() - started;
    let started = js_sys::Date::now();
    let held = s.claims().await.unwrap();
    let read_ms = js_sys::Date::now() - started;
    assert_eq!(held.len(), 200);
    console_log!(
        "IndexedDB store: 200 notes in one batch {put_ms} ms, 200 guarded claims in one batch {claim_ms} ms, reading 200 claims {read_ms} ms"
    );
    s.apply(batch(vec![Write::Note(NoteWrite::Release {
        saga: SagaId("big".into()),
    })]))
    .await
    .unwrap();
    assert!(s.claims().await.unwrap().is_empty());
}
