//! The store conformance suite: generic async functions that any [`WalletStore`] must
//! pass, each given a fresh, empty store. Natively the in-memory store runs them through
//! [`store_conformance_tests!`](crate::store_conformance_tests); the IndexedDB store runs
//! the same functions under `wasm-bindgen-test` with the macro's `@async` form.
//!
//! Test code exposed under the `conformance` feature: failures panic, as assertions do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use ops_core::ids::{CertId, NoteId};
use ops_core::wallet::WalletNote;

use super::{
    Batch, HistoryWrite, NoteWrite, SagaWrite, SettingsWrite, StoreError, TrustWrite, WalletStore,
    Write,
};
use crate::saga::{FundState, SagaRecord, SagaState};
use crate::types::{
    Claim, ClaimStatus, HistoryEntry, HistoryKind, HistoryState, Identity, SagaId, Settings,
    TrustBundle,
};

/// Runs every conformance function natively (`#[test]` + a blocking executor), or with
/// `@async <test attribute>` as async tests (e.g. `wasm_bindgen_test`). `$make` builds a
/// fresh empty store (it may `.await` in the async form).
#[macro_export]
macro_rules! store_conformance_tests {
    (@async $attr:meta, $make:expr) => {
        $crate::store_conformance_tests!(@each (@async $attr, $make)
            note_put_is_idempotent, claims_never_overlap, claim_needs_a_note_and_a_fitting_range,
            release_only_reserved_claims, claim_status_moves_per_saga, saga_versions_are_checked,
            batch_is_all_or_nothing, crl_keeps_the_newest, history_upserts_by_saga,
            settings_and_identity, received_spends_kept_once, release_keeps_other_sagas_ranges);
    };
    ($make:expr) => {
        $crate::store_conformance_tests!(@each (@sync $make)
            note_put_is_idempotent, claims_never_overlap, claim_needs_a_note_and_a_fitting_range,
            release_only_reserved_claims, claim_status_moves_per_saga, saga_versions_are_checked,
            batch_is_all_or_nothing, crl_keeps_the_newest, history_upserts_by_saga,
            settings_and_identity, received_spends_kept_once, release_keeps_other_sagas_ranges);
    };
    (@each $how:tt $($name:ident),+) => {
        $( $crate::store_conformance_tests!(@one $how $name); )+
    };
    (@one (@sync $make:expr) $name:ident) => {
        #[test]
        fn $name() {
            ::futures_executor::block_on($crate::store::conformance::$name(&$make));
        }
    };
    (@one (@async $attr:meta, $make:expr) $name:ident) => {
        #[$attr]
        async fn $name() {
            $crate::store::conformance::$name(&$make).await;
        }
    };
}

pub fn note(i: u8, value: u64) -> WalletNote {
    WalletNote {
        id: NoteId([i; 32]),
        value,
        spent: 0,
        hops: 0,
        hop_limit: 4,
        expires: 2_000_000_000,
        currency: "EUR".into(),
        provenance: vec![vec![i]],
        certs: Vec::new(),
    }
}

pub fn claim(saga: &str, i: u8, from: u64, to: u64) -> Claim {
    Claim {
        saga: SagaId(saga.into()),
        note: NoteId([i; 32]),
        from,
        to,
        status: ClaimStatus::Reserved,
    }
}

pub fn record(id: &str, version: u64, amount: u64) -> SagaRecord {
    SagaRecord {
        id: SagaId(id.into()),
        version,
        created: 1,
        updated: 1 + version,
        state: SagaState::Fund(FundState::Funded {
            amount,
            notes: Vec::new(),
        }),
    }
}

fn batch(writes: Vec<Write>) -> Batch {
    Batch { writes }
}

async fn put_notes<S: WalletStore>(s: &S, notes: &[(u8, u64)]) {
    let writes = notes
        .iter()
        .map(|(i, v)| Write::Note(NoteWrite::PutNote(note(*i, *v))))
        .collect();
    s.apply(batch(writes)).await.unwrap();
}

pub async fn note_put_is_idempotent<S: WalletStore>(s: &S) {
    put_notes(s, &[(1, 100)]).await;
    let mut changed = note(1, 999);
    changed.provenance = vec![vec![9]];
    s.apply(batch(vec![Write::Note(NoteWrite::PutNote(changed))]))
        .await
        .unwrap();
    let notes = s.notes().await.unwrap();
    assert_eq!(notes, vec![note(1, 100)], "the first copy is kept");
}

pub async fn claims_never_overlap<S: WalletStore>(s: &S) {
    put_notes(s, &[(1, 100), (2, 50)]).await;
    s.apply(batch(vec![Write::Note(NoteWrite::Claim(vec![
        claim("a", 1, 0, 40),
        claim("a", 2, 0, 50),
    ]))]))
    .await
    .unwrap();
    let e = s
        .apply(batch(vec![Write::Note(NoteWrite::Claim(vec![
            claim("b", 1, 40, 60),
            claim("b", 1, 39, 41),
        ]))]))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::RangeTaken { holder, .. } if holder.0 == "a"),
        "{e:?}"
    );
    // Nothing of the refused batch was written, adjacent ranges are free.
    assert_eq!(s.claims().await.unwrap().len(), 2);
    s.apply(batch(vec![Write::Note(NoteWrite::Claim(vec![claim(
        "b", 1, 40, 100,
    )]))]))
    .await
    .unwrap();
    // Two claims inside one batch that overlap each other are refused too.
    put_notes(s, &[(3, 10)]).await;
    let e = s
        .apply(batch(vec![Write::Note(NoteWrite::Claim(vec![
            claim("c", 3, 0, 6),
            claim("c", 3, 5, 10),
        ]))]))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::RangeTaken { .. }));
    assert_eq!(s.claims().await.unwrap().len(), 3);
}

pub async fn claim_needs_a_note_and_a_fitting_range<S: WalletStore>(s: &S) {
    put_notes(s, &[(1, 100)]).await;
    let e = s
        .apply(batch(vec![Write::Note(NoteWrite::Claim(vec![claim(
            "a", 9, 0, 1,
        )]))]))
        .await
        .unwrap_err();
    assert_eq!(e, StoreError::UnknownNote(NoteId([9; 32])));
    for (from, to) in [(0, 101), (5, 5), (7, 3)] {
        let e = s
            .apply(batch(vec![Write::Note(NoteWrite::Claim(vec![claim(
                "a", 1, from, to,
            )]))]))
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::OutsideNote { .. }), "{from}..{to}");
    }
    assert!(s.claims().await.unwrap().is_empty());
}

pub async fn release_only_reserved_claims<S: WalletStore>(s: &S) {
    put_notes(s, &[(1, 100)]).await;
    s.apply(batch(vec![Write::Note(NoteWrite::Claim(vec![
        claim("a", 1, 0, 10),
        claim("b", 1, 10, 20),
    ]))]))
    .await
    .unwrap();
    s.apply(batch(vec![Write::Note(NoteWrite::SetClaimStatus {
        saga: SagaId("b".into()),
        status: ClaimStatus::Signed,
    })]))
    .await
    .unwrap();
    let e = s
        .apply(batch(vec![Write::Note(NoteWrite::Release {
            saga: SagaId("b".into()),
        })]))
        .await
        .unwrap_err();
    assert_eq!(e, StoreError::NotReleasable(SagaId("b".into())));
    s.apply(batch(vec![Write::Note(NoteWrite::Release {
        saga: SagaId("a".into()),
    })]))
    .await
    .unwrap();
    let left = s.claims().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].saga.0, "b");
}

pub async fn release_keeps_other_sagas_ranges<S: WalletStore>(s: &S) {
    // A middle reservation released leaves a hole; the later one stays exactly as it was.
    put_notes(s, &[(1, 100)]).await;
    for (name, from, to) in [("a", 0, 10), ("b", 10, 30), ("c", 30, 35)] {
        s.apply(batch(vec![Write::Note(NoteWrite::Claim(vec![claim(
            name, 1, from, to,
        )]))]))
        .await
        .unwrap();
    }
    s.apply(batch(vec![Write::Note(NoteWrite::Release {
        saga: SagaId("b".into()),
    })]))
    .await
    .unwrap();
    let mut left: Vec<(String, u64, u64)> = s
        .claims()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.saga.0, c.from, c.to))
        .collect();
    left.sort();
    assert_eq!(left, vec![("a".into(), 0, 10), ("c".into(), 30, 35)]);
    // The hole can be claimed again.
    s.apply(batch(vec![Write::Note(NoteWrite::Claim(vec![claim(
        "d", 1, 10, 30,
    )]))]))
    .await
    .unwrap();
}

pub async fn claim_status_moves_per_saga<S: WalletStore>(s: &S) {
    put_notes(s, &[(1, 100)]).await;
    s.apply(batch(vec![Write::Note(NoteWrite::Claim(vec![
        claim("a", 1, 0, 10),
        claim("a", 1, 20, 30),
        claim("b", 1, 10, 20),
    ]))]))
    .await
    .unwrap();
    s.apply(batch(vec![Write::Note(NoteWrite::SetClaimStatus {
        saga: SagaId("a".into()),
        status: ClaimStatus::Spent,
    })]))
    .await
    .unwrap();
    for c in s.claims().await.unwrap() {
        let want = if c.saga.0 == "a" {
            ClaimStatus::Spent
        } else {
            ClaimStatus::Reserved
        };
        assert_eq!(c.status, want);
    }
}

pub async fn saga_versions_are_checked<S: WalletStore>(s: &S) {
    let put = |r: SagaRecord, expected| {
        batch(vec![Write::Saga(SagaWrite::Put {
            record: r,
            expected,
        })])
    };
    s.apply(put(record("x", 0, 1), None)).await.unwrap();
    // Creating it again: it exists.
    let e = s.apply(put(record("x", 0, 2), None)).await.unwrap_err();
    assert!(matches!(
        e,
        StoreError::VersionConflict {
            expected: None,
            found: Some(0),
            ..
        }
    ));
    s.apply(put(record("x", 1, 3), Some(0))).await.unwrap();
    // A second writer that read version 0 is refused.
    let e = s.apply(put(record("x", 1, 4), Some(0))).await.unwrap_err();
    assert_eq!(
        e,
        StoreError::VersionConflict {
            saga: SagaId("x".into()),
            expected: Some(0),
            found: Some(1)
        }
    );
    // Updating a saga that does not exist.
    let e = s.apply(put(record("y", 1, 1), Some(0))).await.unwrap_err();
    assert!(matches!(e, StoreError::VersionConflict { found: None, .. }));
    // The version must follow.
    let e = s.apply(put(record("x", 5, 1), Some(1))).await.unwrap_err();
    assert!(matches!(e, StoreError::BadVersion { .. }));
    let got = s.saga(&SagaId("x".into())).await.unwrap().unwrap();
    assert_eq!(got, record("x", 1, 3));
    assert_eq!(s.sagas().await.unwrap(), vec![record("x", 1, 3)]);
    assert_eq!(s.saga(&SagaId("z".into())).await.unwrap(), None);
}

pub async fn batch_is_all_or_nothing<S: WalletStore>(s: &S) {
    put_notes(s, &[(1, 100)]).await;
    s.apply(batch(vec![Write::Note(NoteWrite::Claim(vec![claim(
        "a", 1, 0, 50,
    )]))]))
    .await
    .unwrap();
    // Every concern written first, then a failing claim: none of it may stay.
    let e = s
        .apply(batch(vec![
            Write::Note(NoteWrite::PutNote(note(2, 5))),
            Write::Saga(SagaWrite::Put {
                record: record("s", 0, 1),
                expected: None,
            }),
            Write::History(HistoryWrite::Put(entry("s", 1))),
            Write::Settings(SettingsWrite::SetLastSync(77)),
            Write::Trust(TrustWrite::PutCrl {
                issuer: CertId([1; 16]),
                number: 1,
                bytes: vec![1],
            }),
            Write::Note(NoteWrite::Claim(vec![claim("s", 1, 49, 51)])),
        ]))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::RangeTaken { .. }));
    assert_eq!(s.notes().await.unwrap().len(), 1);
    assert!(s.sagas().await.unwrap().is_empty());
    assert!(s.history().await.unwrap().is_empty());
    assert_eq!(s.settings().await.unwrap().last_sync, None);
    assert!(s.crls().await.unwrap().is_empty());
    assert_eq!(s.claims().await.unwrap().len(), 1);
    // An empty batch is fine.
    s.apply(Batch::new()).await.unwrap();
}

pub async fn crl_keeps_the_newest<S: WalletStore>(s: &S) {
    let put = |n: u64, b: u8| {
        batch(vec![Write::Trust(TrustWrite::PutCrl {
            issuer: CertId([1; 16]),
            number: n,
            bytes: vec![b],
        })])
    };
    s.apply(put(2, 2)).await.unwrap();
    s.apply(put(1, 1)).await.unwrap();
    assert_eq!(s.crls().await.unwrap(), vec![vec![2]]);
    s.apply(put(3, 3)).await.unwrap();
    assert_eq!(s.crls().await.unwrap(), vec![vec![3]]);
    assert_eq!(s.trust_bundle().await.unwrap(), None);
    let b = TrustBundle {
        root: vec![1, 2],
        fis: vec![vec![3]],
        blocklist: None,
    };
    s.apply(batch(vec![Write::Trust(TrustWrite::SetBundle(b.clone()))]))
        .await
        .unwrap();
    assert_eq!(s.trust_bundle().await.unwrap(), Some(b));
}

pub fn entry(saga: &str, created: u64) -> HistoryEntry {
    HistoryEntry {
        saga: SagaId(saga.into()),
        kind: HistoryKind::Out,
        amount: 10,
        currency: "EUR".into(),
        counterparty: None,
        hops: Some(1),
        state: HistoryState::Reserved,
        created,
        updated: created,
        notes: None,
    }
}

pub async fn history_upserts_by_saga<S: WalletStore>(s: &S) {
    s.apply(batch(vec![
        Write::History(HistoryWrite::Put(entry("b", 5))),
        Write::History(HistoryWrite::Put(entry("a", 7))),
    ]))
    .await
    .unwrap();
    let mut moved = entry("b", 5);
    moved.state = HistoryState::Confirmed;
    moved.updated = 9;
    s.apply(batch(vec![Write::History(HistoryWrite::Put(
        moved.clone(),
    ))]))
    .await
    .unwrap();
    assert_eq!(s.history().await.unwrap(), vec![moved, entry("a", 7)]);
}

pub async fn settings_and_identity<S: WalletStore>(s: &S) {
    assert_eq!(s.identity().await.unwrap(), None);
    assert_eq!(s.settings().await.unwrap(), Settings::default());
    let id = Identity {
        device_cert: vec![1],
        fi_cert: vec![2],
        credential_id: vec![3],
        account_id: 4,
    };
    let settings = Settings {
        qr_preset: Some("slow".into()),
        camera: None,
        last_sync: Some(10),
    };
    s.apply(batch(vec![
        Write::Settings(SettingsWrite::SetIdentity(id.clone())),
        Write::Settings(SettingsWrite::SetSettings(settings.clone())),
        Write::Settings(SettingsWrite::SetLastSync(5)),
    ]))
    .await
    .unwrap();
    assert_eq!(s.identity().await.unwrap(), Some(id));
    assert_eq!(
        s.settings().await.unwrap(),
        settings,
        "an older sync time is ignored"
    );
    s.apply(batch(vec![Write::Settings(SettingsWrite::SetLastSync(20))]))
        .await
        .unwrap();
    assert_eq!(s.settings().await.unwrap().last_sync, Some(20));
}

pub async fn received_spends_kept_once<S: WalletStore>(s: &S) {
    s.apply(batch(vec![Write::Note(NoteWrite::RecordSpends(vec![
        vec![1, 2],
        vec![3],
        vec![1, 2],
    ]))]))
    .await
    .unwrap();
    s.apply(batch(vec![Write::Note(NoteWrite::RecordSpends(vec![
        vec![3],
    ]))]))
    .await
    .unwrap();
    let mut got = s.received_spends().await.unwrap();
    got.sort();
    assert_eq!(got, vec![vec![1, 2], vec![3]]);
    // Fraud proofs likewise, apart from the spends.
    for _ in 0..2 {
        s.apply(batch(vec![Write::Note(NoteWrite::KeepFraudProof(vec![
            7, 7,
        ]))]))
        .await
        .unwrap();
    }
    assert_eq!(s.fraud_proofs().await.unwrap(), vec![vec![7, 7]]);
    assert_eq!(s.received_spends().await.unwrap().len(), 2);
}
