//! Group commit (`Store::record_batch`) on SQLite and PostgreSQL: a refused deposit inside
//! a batch leaves the others recorded and credited once; a payment twice in one batch is
//! credited once (idempotency by note); credits summed per account equal the deposits;
//! an overlap is recorded, covered once and its excess in one case.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use ops_core::ids::sha256;
use ops_core::{CertId, Digest32, NoteId};
use ops_issuer::store::{
    ConsumptionKind, HoldPolicy, LedgerNote, NewDeposit, NewFraudCase, NoteKind, RecordError,
    SpendRecord, Store,
};

/// The note (or spend) id named `name` in these scenarios.
fn note_id(name: &str) -> NoteId {
    NoteId(sha256(name.as_bytes()))
}

/// The certificate id named `name` in these scenarios.
fn cert_id(name: &str) -> CertId {
    CertId(sha256(name.as_bytes())[..16].try_into().unwrap())
}

/// A note of 1,000 issued to "wallet".
fn issuance(note: &str) -> LedgerNote {
    LedgerNote {
        id: note_id(note),
        value: 1_000,
        owner: cert_id("wallet"),
        kind: NoteKind::Issuance,
    }
}

fn final_note(spend: &SpendRecord) -> LedgerNote {
    LedgerNote {
        id: spend.spend_id,
        value: spend.to - spend.from,
        owner: spend.payee,
        kind: NoteKind::Spend,
    }
}

fn deposit(hash: &str, account_id: i64, note: &str, from: u64, to: u64) -> NewDeposit {
    let spend = SpendRecord {
        spend_id: note_id(&format!("spend-{hash}")),
        input: issuance(note),
        from,
        to,
        payee: cert_id("pos"),
        signer: cert_id("wallet"),
        bytes: vec![1, 2, 3],
    };
    NewDeposit {
        payment_hash: Digest32(sha256(hash.as_bytes())),
        kind: ConsumptionKind::Deposit,
        depositor: cert_id("pos"),
        account_id,
        amount: to - from,
        finals: vec![final_note(&spend)],
        spends: vec![spend],
        payment: std::sync::Arc::new(vec![7]),
        forward: Vec::new(),
        hold: HoldPolicy {
            enabled: true,
            max_excess_per_culprit: 1_000_000,
        },
        release: None,
        now: 1_800_000_000,
    }
}

fn synthetic_case(recorded: &[u8], new: &SpendRecord) -> Result<NewFraudCase, String> {
    assert_eq!(
        recorded,
        [1, 2, 3],
        "the recorded spend's bytes reach the builder"
    );
    Ok(NewFraudCase {
        kind: "spends",
        spend_a: note_id("spend-r1"),
        spend_b: new.spend_id,
        input_note: new.input.id,
        culprit: cert_id("wallet"),
        culprit_serial: 4242,
        overlap: 3,
        proof: vec![9],
    })
}

fn no_proof(_: &[u8], _: &SpendRecord) -> Result<NewFraudCase, String> {
    Err("test: no proof can be built".into())
}

async fn scenario(store: &Store) {
    let shop = store.create_account("shop", 0, 1).await.unwrap();
    let other = store.create_account("other", 0, 1).await.unwrap();
    let good = deposit("p1", shop.id, "n1", 0, 10);
    let missing_account = deposit("p2", 999_999, "n2", 0, 10);
    let second = deposit("p3", other.id, "n1", 10, 25);
    let overlap = deposit("p4", shop.id, "n1", 5, 15);
    let jobs: Vec<(&NewDeposit, ops_issuer::store::FraudBuilder<'_>)> = vec![
        (&good, &no_proof),
        (&missing_account, &no_proof),
        (&second, &no_proof),
        (&good, &no_proof),
        (&overlap, &no_proof),
    ];
    let out = store.record_batch(&jobs).await;
    assert_eq!(out.len(), 5);
    let first = out[0].as_ref().unwrap();
    assert_eq!((first.amount, first.spends_recorded), (10, 1));
    assert!(out[1].is_err(), "unknown account refused");
    assert_eq!(out[2].as_ref().unwrap().amount, 15);
    let again = out[3].as_ref().unwrap();
    assert_eq!(
        (again.amount, again.credited, again.spends_recorded),
        (10, 0, 0),
        "same payment: its note is credited once"
    );
    assert!(
        matches!(out[4], Err(RecordError::UnprovableConflict(_))),
        "{:?}",
        out[4]
    );
    assert_eq!(store.account(shop.id).await.unwrap().unwrap().balance, 10);
    assert_eq!(store.account(other.id).await.unwrap().unwrap().balance, 15);
    let t = store.totals().await.unwrap();
    assert_eq!((t.deposits, t.spends, t.credited), (2, 2, 25));

    // A batch with nothing refused commits as one transaction, credits summed per account.
    let batch: Vec<NewDeposit> = (0..20)
        .map(|i| {
            let account = if i % 2 == 0 { shop.id } else { other.id };
            deposit(&format!("q{i}"), account, "n3", i * 10, i * 10 + 10)
        })
        .collect();
    let jobs: Vec<(&NewDeposit, ops_issuer::store::FraudBuilder<'_>)> =
        batch.iter().map(|d| (d, &no_proof as _)).collect();
    assert!(store.record_batch(&jobs).await.iter().all(Result::is_ok));
    assert_eq!(store.account(shop.id).await.unwrap().unwrap().balance, 110);
    assert_eq!(store.account(other.id).await.unwrap().unwrap().balance, 115);

    // Conflicts found by the multi-row statements, resolved inside the batch: a hop
    // recorded by an earlier batch (a retry of the same spend: not recorded again), and
    // an overlap with another body (a fraud case; the payee is still credited).
    let r1 = deposit("r1", shop.id, "n9", 0, 10);
    assert!(store.record_batch(&[(&r1, &no_proof)]).await[0].is_ok());
    // A second hop spending r1's note [0,5): the first hop is shared and recorded once; the
    // note r1 deposited is a claim too, so this is a double spend by its owner "pos".
    let mut shared_hop = deposit("r2", other.id, "n9", 0, 5);
    shared_hop.spends[0].input = final_note(&r1.spends[0]);
    shared_hop.spends[0].signer = cert_id("pos");
    shared_hop.spends[0].payee = cert_id("pos2");
    shared_hop.finals = vec![final_note(&shared_hop.spends[0])];
    shared_hop.spends.insert(0, r1.spends[0].clone());
    shared_hop.amount = 5;
    let mut overlap = deposit("r3", other.id, "n9", 5, 8);
    overlap.spends[0].spend_id = note_id("spend-r3");
    let plain = deposit("r4", shop.id, "n10", 0, 7);
    let jobs: Vec<(&NewDeposit, ops_issuer::store::FraudBuilder<'_>)> = vec![
        (&shared_hop, &no_proof),
        (&overlap, &synthetic_case),
        (&plain, &no_proof),
    ];
    let out: Vec<_> = store
        .record_batch(&jobs)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!((out[0].spends_recorded, out[0].fraud_cases), (1, 1));
    assert_eq!(
        (out[1].spends_recorded, out[1].fraud_cases, out[1].credited),
        (1, 1, 3)
    );
    assert_eq!((out[2].spends_recorded, out[2].credited), (1, 7));
    let t = store.totals().await.unwrap();
    assert_eq!(t.fraud_cases, 2);
    // Excess: 5 (r1's deposited note spent onward) + 3 (r3 inside r1's range).
    assert_eq!(t.fraud_debited + t.fraud_shortfall, 8);
    // A retry of the overlap, with another builder: nothing new.
    let again = store.record_batch(&[(&overlap, &no_proof)]).await;
    let again = again[0].as_ref().unwrap();
    assert_eq!(
        (again.credited, again.spends_recorded, again.fraud_cases),
        (0, 0, 0)
    );
    let audit = store.audit().await.unwrap();
    assert!(audit.violations.is_empty(), "{audit:?}");
}

#[tokio::test]
async fn a_refused_deposit_leaves_the_rest_of_its_batch_on_sqlite() {
    let dir = common::temp_dir("batch");
    let store = Store::connect(dir.join("issuer.sqlite").to_str().unwrap())
        .await
        .unwrap();
    scenario(&store).await;
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_refused_deposit_leaves_the_rest_of_its_batch_on_postgres() {
    let pg = common::postgres::Postgres::start();
    let db = pg.create_database("batch").await;
    let store = Store::connect(&db).await.unwrap();
    scenario(&store).await;
}
