//! Group commit (`Store::record_batch`) on SQLite and PostgreSQL: a refused deposit inside
//! a batch leaves the others recorded and credited once; a payment twice in one batch is
//! credited once; credits summed per account equal the deposits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ops_issuer::store::{NewDeposit, NewFraudCase, RecordError, SpendRecord, Store};

fn deposit(hash: &str, account_id: i64, note: &str, from: u64, to: u64) -> NewDeposit {
    NewDeposit {
        payment_hash: hash.into(),
        depositor: "pos".into(),
        account_id,
        amount: to - from,
        spends: vec![SpendRecord {
            spend_id: format!("spend-{hash}"),
            input_note: note.into(),
            from,
            to,
            payee: "pos".into(),
            signer: "wallet".into(),
            bytes: vec![1, 2, 3],
        }],
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
        spend_a: "spend-r1".into(),
        spend_b: new.spend_id.clone(),
        input_note: new.input_note.clone(),
        culprit: "wallet".into(),
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
    assert_eq!(
        out[3].as_ref().unwrap(),
        first,
        "same payment: first outcome"
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
    let mut shared_hop = deposit("r2", other.id, "n9", 10, 20);
    shared_hop.spends.insert(0, r1.spends[0].clone());
    shared_hop.amount = 10;
    let mut overlap = deposit("r3", other.id, "n9", 5, 8);
    overlap.spends[0].spend_id = "spend-r3".into();
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
    assert_eq!((out[0].spends_recorded, out[0].fraud_cases), (1, 0));
    assert_eq!(
        (out[1].spends_recorded, out[1].fraud_cases, out[1].amount),
        (0, 1, 3)
    );
    assert_eq!((out[2].spends_recorded, out[2].amount), (1, 7));
    assert_eq!(
        store.account(shop.id).await.unwrap().unwrap().balance,
        110 + 10 + 7
    );
    assert_eq!(
        store.account(other.id).await.unwrap().unwrap().balance,
        115 + 10 + 3
    );
    let t = store.totals().await.unwrap();
    assert_eq!(t.fraud_cases, 1);
    // The recorded outcome matches what the batch answered.
    let again = store.record_batch(&[(&overlap, &no_proof)]).await;
    assert_eq!(again[0].as_ref().unwrap(), &out[1]);
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
