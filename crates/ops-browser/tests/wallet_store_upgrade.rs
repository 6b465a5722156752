//! The wallet database's upgrade from version 1 (pre-release, records as JSON text) to
//! version 2 (records packed with postcard): the old data is emptied, and the store works.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use js_sys::{Object, Promise, Reflect};
use ops_browser::wallet_store::IdbWalletStore;
use ops_browser::wallet_store::schema::{DB_VERSION, STORES};
use ops_wallet_engine::store::{SagaStore, SettingsStore};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{IdbDatabase, IdbOpenDbRequest, IdbTransactionMode};

wasm_bindgen_test_configure!(run_in_browser);

/// Waits for `req` to succeed.
async fn done(req: &web_sys::IdbRequest) -> JsValue {
    let promise = Promise::new(&mut |resolve, reject| {
        req.set_onsuccess(Some(&resolve));
        req.set_onerror(Some(&reject));
    });
    JsFuture::from(promise).await.unwrap();
    req.result().unwrap()
}

/// A version-1 database as the pre-release app left it: every store, and a saga record
/// and the identity as JSON text.
async fn version_one(name: &str) {
    let factory = web_sys::window().unwrap().indexed_db().unwrap().unwrap();
    let req: IdbOpenDbRequest = factory.open_with_u32(name, 1).unwrap();
    let during = req.clone();
    let upgrade = Closure::<dyn FnMut()>::new(move || {
        let db: IdbDatabase = during.result().unwrap().unchecked_into();
        for store in STORES {
            let params = web_sys::IdbObjectStoreParameters::new();
            let key = if store == "claims" { "note" } else { "id" };
            params.set_key_path(&JsValue::from_str(key));
            db.create_object_store_with_optional_parameters(store, &params)
                .unwrap();
        }
    });
    req.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let db: IdbDatabase = done(&req).await.unchecked_into();
    let tx = db
        .transaction_with_str_and_mode("sagas", IdbTransactionMode::Readwrite)
        .unwrap();
    let record = Object::new();
    Reflect::set(&record, &"id".into(), &"pay:old".into()).unwrap();
    Reflect::set(
        &record,
        &"v".into(),
        &r#"{"id":"pay:old","version":1,"state":{"flow":"pay"}}"#.into(),
    )
    .unwrap();
    done(&tx.object_store("sagas").unwrap().put(&record).unwrap()).await;
    db.close();
}

#[wasm_bindgen_test]
async fn a_version_one_database_is_emptied_and_then_works() {
    let name = "ops-wallet-upgrade-test";
    let _ = IdbWalletStore::delete(name).await;
    version_one(name).await;
    let store = IdbWalletStore::open(name).await.unwrap();
    assert_eq!(DB_VERSION, 2);
    assert!(
        store.sagas().await.unwrap().is_empty(),
        "the JSON record is gone"
    );
    assert_eq!(store.identity().await.unwrap(), None);
    drop(store);
    IdbWalletStore::delete(name).await.unwrap();
}
