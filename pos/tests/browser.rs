//! The POS app in real Chromium over its real IndexedDB till store: a terminal onboarded
//! with certificates of a test PKI; the keypad (buttons, physical keyboard, limits); a
//! sale's request found again, byte for byte, after the app is torn down and mounted again
//! (a reload); an upload interrupted in the middle of a deposit batch found again after a
//! reload, with the same frozen body and nothing posted twice; the back office behind the
//! PIN.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use ops_browser::testing::{by_test_id, click, fresh_root, press_key, text_of, wait_ms};
use ops_browser::till_store::{DB_NAME, IdbTillStore};
use ops_browser::wallet_store::IdbWalletStore;
use ops_core::testing::World;
use ops_pos::App;
use ops_wallet_engine::till::store::conformance::{entry, payment, queued};
use ops_wallet_engine::till::store::{
    PaymentWrite, QueueStore, QueueWrite, TillBatch, TillSagaStore, TillStore, TillWrite,
};
use ops_wallet_engine::till::{DepositStatus, TillCommand, TillConfig, TillEngine, TillIdentity};
use ops_wallet_engine::types::TrustBundle;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh till database and settings, onboarded as a terminal of FI 0 of a test PKI.
async fn onboarded() -> IdbTillStore {
    IdbWalletStore::delete(DB_NAME).await.unwrap();
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        s.clear().unwrap();
    }
    let w = World::new(2);
    let store = IdbTillStore::open_default().await.unwrap();
    let cert = {
        let mut w = World::new(2);
        w.certify_device(0, w.pos.cert.body.subject, None, Some("Test Shop".into()))
    };
    TillEngine::new(&store, TillConfig::default())
        .onboard(
            TillIdentity {
                terminal_cert: cert.to_bytes(),
                fi_cert: w.fis[0].to_bytes(),
                credential_id: None,
                account_id: 7,
            },
            TrustBundle {
                root: w.root.to_bytes(),
                fis: w.fis.iter().map(|f| f.to_bytes()).collect(),
                blocked: Vec::new(),
                blocklist_version: 0,
            },
        )
        .await
        .unwrap();
    store
}

/// Waits (up to 5 s) until element `id` is on the page.
async fn wait_for(id: &str) {
    for _ in 0..250 {
        if by_test_id(id).is_some() {
            return;
        }
        wait_ms(20).await.unwrap();
    }
    panic!("{id} never appeared; the page reads: {}", page_text());
}

/// Waits (up to 5 s) until button `id` can be pressed (no flow running).
async fn wait_enabled(id: &str) {
    for _ in 0..250 {
        if by_test_id(id)
            .and_then(|el| el.dyn_into::<web_sys::HtmlButtonElement>().ok())
            .is_some_and(|b| !b.disabled())
        {
            return;
        }
        wait_ms(20).await.unwrap();
    }
    panic!("{id} stayed disabled; the page reads: {}", page_text());
}

fn page_text() -> String {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
        .map(|b| b.inner_text())
        .unwrap_or_default()
}

/// The value of a text field.
fn value_of(id: &str) -> String {
    by_test_id(id)
        .and_then(|el| el.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
        .map(|t| t.value())
        .unwrap_or_default()
}

async fn wait_value(id: &str) -> String {
    for _ in 0..250 {
        let v = value_of(id);
        if !v.is_empty() {
            return v;
        }
        wait_ms(20).await.unwrap();
    }
    panic!("{id} stayed empty; the page reads: {}", page_text());
}

#[wasm_bindgen_test]
async fn keypad_builds_an_amount_and_charges_it() {
    let _store = onboarded().await;
    let mounted = leptos::mount::mount_to(fresh_root().unwrap(), App);
    wait_for("key-charge").await;
    assert_eq!(text_of("amount"), "€0.00");
    for key in ["key-1", "key-2", "key-5"] {
        click(key).await.unwrap();
    }
    assert_eq!(text_of("amount"), "€1.25");
    press_key("9").await.unwrap();
    assert_eq!(text_of("amount"), "€12.59");
    press_key("Backspace").await.unwrap();
    assert_eq!(text_of("amount"), "€1.25");
    press_key("Enter").await.unwrap();
    wait_for("requesting").await;
    assert_eq!(text_of("request-amount"), "Ask the customer to pay €1.25");
    assert!(by_test_id("key-1").is_none(), "no keypad while requesting");
    wait_enabled("cancel-request").await;
    click("cancel-request").await.unwrap();
    wait_for("key-charge").await;
    for _ in 0..100 {
        if text_of("message").contains("Sale cancelled") {
            break;
        }
        wait_ms(20).await.unwrap();
    }
    assert!(
        text_of("message").contains("Sale cancelled"),
        "{}",
        text_of("message")
    );
    drop(mounted);
}

#[wasm_bindgen_test]
async fn refuses_an_empty_charge_and_amounts_over_the_limit() {
    let _store = onboarded().await;
    let mounted = leptos::mount::mount_to(fresh_root().unwrap(), App);
    wait_for("key-charge").await;
    click("key-charge").await.unwrap();
    assert_eq!(text_of("message"), "Enter an amount first.");
    assert!(by_test_id("requesting").is_none());
    for _ in 0..7 {
        press_key("9").await.unwrap();
    }
    assert_eq!(text_of("amount"), "€99,999.99");
    click("key-00").await.unwrap();
    assert_eq!(text_of("amount"), "€99,999.99");
    assert!(
        text_of("message").starts_with("The largest amount this terminal accepts is 99,999.99")
    );
    click("key-clear").await.unwrap();
    assert_eq!(text_of("amount"), "€0.00");
    drop(mounted);
}

#[wasm_bindgen_test]
async fn a_reload_in_the_middle_of_a_sale_shows_the_same_request() {
    let store = onboarded().await;
    let mounted = leptos::mount::mount_to(fresh_root().unwrap(), App);
    wait_for("key-charge").await;
    for key in ["key-3", "key-0", "key-0"] {
        click(key).await.unwrap();
    }
    click("key-charge").await.unwrap();
    wait_for("requesting").await;
    let request = wait_value("request-out").await;
    // The page goes away (a reload, a crash): a new app over the same database.
    drop(mounted);
    let again = leptos::mount::mount_to(fresh_root().unwrap(), App);
    wait_for("requesting").await;
    assert_eq!(
        wait_value("request-out").await,
        request,
        "the same request bytes"
    );
    assert_eq!(text_of("request-amount"), "Ask the customer to pay €3.00");
    // One sale in the store, still open.
    let open = store.unfinished().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].state.name(), "open");
    drop(again);
}

#[wasm_bindgen_test]
async fn a_reload_in_the_middle_of_a_deposit_batch_keeps_the_batch() {
    let store = onboarded().await;
    // Two accepted payments wait in the queue.
    let mut writes = Vec::new();
    for i in [1u8, 2] {
        writes.push(TillWrite::Payment(PaymentWrite::Accept {
            payment: payment(i, 100 + u64::from(i)),
            ledger: vec![entry(i, 0, 10, i, i)],
        }));
        writes.push(TillWrite::Queue(QueueWrite::Enqueue(queued(
            i,
            100 + u64::from(i),
        ))));
    }
    store.apply(TillBatch { writes }).await.unwrap();
    // An upload starts; the tab dies before the bank answers.
    let engine = TillEngine::new(&store, TillConfig::default());
    let first = engine
        .start_deposit(1_000)
        .await
        .unwrap()
        .expect("an upload");
    let body = |commands: &[TillCommand]| {
        commands
            .iter()
            .find_map(|c| match c {
                TillCommand::Post { body, .. } => Some(body.clone()),
                _ => None,
            })
            .expect("a post")
    };
    let frozen = body(&first.commands);
    // The app comes back: the status says what awaits, the queue shows them posting.
    let mounted = leptos::mount::mount_to(fresh_root().unwrap(), App);
    wait_for("key-charge").await;
    for _ in 0..100 {
        if text_of("status-line").contains("€2.03 in 2 payments") {
            break;
        }
        wait_ms(20).await.unwrap();
    }
    assert!(
        text_of("status-line").contains("Awaiting deposit: €2.03 in 2 payments"),
        "{}",
        text_of("status-line")
    );
    click("open-office").await.unwrap();
    wait_for("unlock-submit").await;
    click("unlock-submit").await.unwrap();
    wait_for("queue-row").await;
    for _ in 0..100 {
        if text_of("queue").matches("being deposited").count() == 2 {
            break;
        }
        wait_ms(20).await.unwrap();
    }
    assert_eq!(
        text_of("queue").matches("being deposited").count(),
        2,
        "{}",
        text_of("queue")
    );
    drop(mounted);
    // The same upload, the same body: nothing is taken into a second batch.
    let engine = TillEngine::new(&store, TillConfig::default());
    let resumed = engine
        .start_deposit(2_000)
        .await
        .unwrap()
        .expect("the same upload");
    assert_eq!(resumed.record.id, first.record.id);
    assert_eq!(body(&resumed.commands), frozen);
    let queue = store.queue().await.unwrap();
    assert_eq!(queue.len(), 2);
    assert!(queue.iter().all(
        |e| matches!(&e.status, DepositStatus::Posting { batch } if *batch == first.record.id)
    ));
}
