//! A small durable key-value store in IndexedDB (text values), for the few settings an app
//! must not lose in a crash: Chromium writes localStorage to disk lazily, and a killed
//! browser loses what it had not written yet; an IndexedDB transaction is on disk when it
//! completes.

use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbTransactionMode};

use crate::wallet_store::IdbError;

const STORE: &str = "kv";

async fn open(db_name: &str) -> Result<IdbDatabase, IdbError> {
    crate::wallet_store::open_database(db_name, 1, |db, _| {
        if !db.object_store_names().contains(STORE) {
            db.create_object_store(STORE)?;
        }
        Ok(())
    })
    .await
}

/// The text stored under `key` in database `db_name`, if any.
pub async fn get(db_name: &str, key: &str) -> Result<Option<String>, IdbError> {
    let db = open(db_name).await?;
    let tx = db
        .transaction_with_str(STORE)
        .map_err(IdbError::on("begin read"))?;
    let req = tx
        .object_store(STORE)
        .and_then(|s| s.get(&JsValue::from_str(key)))
        .map_err(IdbError::on("get"))?;
    let value = crate::wallet_store::request_future("get", &req).await?;
    db.close();
    Ok(value.as_string())
}

/// Stores `value` under `key` in database `db_name`; returns once the write is committed.
pub async fn put(db_name: &str, key: &str, value: &str) -> Result<(), IdbError> {
    let db = open(db_name).await?;
    let tx = db
        .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
        .map_err(IdbError::on("begin write"))?;
    let completion = crate::wallet_store::Completion::of(&tx);
    let req = tx
        .object_store(STORE)
        .and_then(|s| s.put_with_key(&JsValue::from_str(value), &JsValue::from_str(key)))
        .map_err(IdbError::on("put"))?;
    crate::wallet_store::request_future("put", &req).await?;
    let done = completion.wait(&tx).await;
    db.close();
    done
}
