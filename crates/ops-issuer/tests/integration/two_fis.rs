//! Two FIs side by side (issue 14, items 1 and 2): one central-bank ceremony, two FIs
//! each running its own `ops-issuer` process and database and knowing the other as a peer
//! (`peer-fis/`). A wallet of FI A pays a wallet of FI B offline, which passes the value on
//! to a merchant of FI B (two hops across FIs, within the hop limit); the merchant checks
//! the payment back to the root with what FI B publishes, and FI B credits it. Telling FI A
//! that its note was spent there is clearing (`tests/clearing.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::clearing::{ceremony_fi, data_folder};

#[tokio::test]
async fn a_wallet_of_one_fi_pays_a_merchant_of_another_offline() {
    let now = common::now();
    let keys = common::temp_dir("two-fis-ceremony");
    let root = ops_ceremony::create_root(&keys.join("root"), "Central Bank", now).unwrap();
    let fi_a = ceremony_fi(&keys.join("root"), &keys.join("a"), "Bank A", 10, now);
    let fi_b = ceremony_fi(&keys.join("root"), &keys.join("b"), "Bank B", 11, now);
    let (dir_a, dir_b) = (common::temp_dir("fi-a"), common::temp_dir("fi-b"));
    data_folder(&dir_a, &keys.join("a"), &keys.join("b"));
    data_folder(&dir_b, &keys.join("b"), &keys.join("a"));
    let a = common::Server::start_in(dir_a.clone(), None).await;
    let b = common::Server::start_in(dir_b.clone(), None).await;
    assert_eq!(a.fi_cert().await, fi_a);
    assert_eq!(b.fi_cert().await, fi_b);

    // Alice banks with A, Bob and the shop with B.
    let alice = a.device(a.sign_up("alice").await, 1).await;
    let bob = b.device(b.sign_up("bob").await, 2).await;
    let shop_account = b.sign_up("shop").await;
    let shop = b.device(shop_account, 3).await;
    assert_eq!(alice.cert.body.issuer, Some(fi_a.id()));
    assert_eq!(bob.cert.body.issuer, Some(fi_b.id()));
    let notes = a.fund(&alice, 1_000).await;

    // Offline: Alice pays Bob 400 of A's note; Bob passes it on to the shop.
    let to_bob = alice.spend(notes[0].note_id(), 0, 400, bob.id(), 1);
    let to_shop = bob.spend(to_bob.id(), 0, 400, shop.id(), 2);
    let payment = common::payment(
        vec![
            fi_a.clone(),
            alice.cert.clone(),
            bob.cert.clone(),
            fi_b.clone(),
        ],
        &notes[0],
        vec![to_bob, to_shop],
    )
    .canonical();

    // The shop checks it back to the root with what its bank publishes (both FIs).
    let (_, trust) = b.get(ops_api::paths::TRUST).await;
    let bundle: ops_api::TrustBundle = serde_json::from_value(trust).unwrap();
    let fis: Vec<ops_core::Certificate> = bundle
        .fis
        .iter()
        .map(|c| {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD.decode(c).unwrap();
            ops_core::Certificate::from_bytes(&bytes).unwrap()
        })
        .collect();
    assert!(
        fis.contains(&fi_a) && fis.contains(&fi_b),
        "B publishes both FIs"
    );
    let known: Vec<ops_core::Certificate> =
        fis.iter().cloned().chain([shop.cert.clone()]).collect();
    let crls = ops_core::crl_store::CrlStore::new();
    let policy = ops_core::verify::Policy::from_root(&root);
    let verifier = ops_core::verify::Verifier {
        root: &root,
        known_certs: &known,
        crls: &crls,
        policy: &policy,
        provider: &ops_core::P256Provider,
    };
    let checked = verifier
        .verify_deposit(
            &shop.id(),
            &ops_core::Payment::from_bytes(&payment.to_bytes()).unwrap(),
            &ops_core::ledger::NoHistory,
            now,
        )
        .unwrap();
    assert_eq!((checked.amount, checked.received[0].hops), (400, 2));

    // Online again: the shop deposits at B, which credits it once.
    let before = b.balance(shop_account).await;
    let (status, v) = b.deposit(&payment, shop.id()).await;
    assert!(status == 200 || status == 201, "{v}");
    let (status, v) = b.deposit(&payment, shop.id()).await;
    assert!(status == 200 || status == 201, "{v}");
    assert_eq!(b.balance(shop_account).await, before + 400, "credited once");
    let audit = b.store().await.audit().await.unwrap();
    assert!(audit.violations.is_empty(), "{:?}", audit.violations);
    drop((a, b));
    for d in [keys, dir_a, dir_b] {
        let _ = std::fs::remove_dir_all(d);
    }
}
