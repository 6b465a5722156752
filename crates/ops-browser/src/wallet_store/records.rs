//! Records as IndexedDB values: a plain object with the key fields and `v` (the serde
//! record packed with postcard, or canonical bytes, as a `Uint8Array`).
//! See [`super::schema`].

use js_sys::{Array, Object, Reflect, Uint8Array};
use ops_core::ids::{NoteId, sha256, to_hex};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};

use super::error::IdbError;
use ops_wallet_engine::types::{Claim, SagaId};

/// The field holding the record itself.
const VALUE: &str = "v";

/// An object with these fields.
pub(crate) fn object(fields: &[(&str, JsValue)]) -> Result<JsValue, IdbError> {
    let o = Object::new();
    for (name, value) in fields {
        Reflect::set(&o, &JsValue::from_str(name), value).map_err(IdbError::on("encode"))?;
    }
    Ok(o.into())
}

/// A serde record packed with postcard (a compact, non-self-describing encoding) as a
/// `Uint8Array`. Every record the engine stores is packed this way: the JSON decoder of
/// saga records alone was 58 KB of the wallet's wasm, postcard's a fraction of it (no
/// field names to match).
pub(crate) fn packed<T: Serialize>(store: &'static str, value: &T) -> Result<JsValue, IdbError> {
    postcard::to_allocvec(value)
        .map(|b| bytes(&b))
        .map_err(|e| IdbError::Corrupt {
            store,
            detail: format!("encode: {e}"),
        })
}

/// The packed serde record in `v` (see [`packed`]).
pub(crate) fn decode_packed<T: DeserializeOwned>(
    store: &'static str,
    record: &JsValue,
) -> Result<T, IdbError> {
    let b = decode_bytes(store, record)?;
    postcard::from_bytes(&b).map_err(|e| IdbError::Corrupt {
        store,
        detail: e.to_string(),
    })
}

/// Bytes as a `Uint8Array`.
pub(crate) fn bytes(value: &[u8]) -> JsValue {
    Uint8Array::from(value).into()
}

/// A text field of a stored object.
pub(crate) fn text(store: &'static str, record: &JsValue, field: &str) -> Result<String, IdbError> {
    Reflect::get(record, &JsValue::from_str(field))
        .ok()
        .and_then(|v| v.as_string())
        .ok_or_else(|| IdbError::Corrupt {
            store,
            detail: format!("no text field `{field}`"),
        })
}

/// The bytes in `v`.
pub(crate) fn decode_bytes(store: &'static str, record: &JsValue) -> Result<Vec<u8>, IdbError> {
    Reflect::get(record, &JsValue::from_str(VALUE))
        .ok()
        .and_then(|v| v.dyn_into::<Uint8Array>().ok())
        .map(|a| a.to_vec())
        .ok_or_else(|| IdbError::Corrupt {
            store,
            detail: "no bytes in `v`".into(),
        })
}

/// A note's key.
pub(crate) fn note_key(id: &NoteId) -> JsValue {
    JsValue::from_str(&to_hex(id.as_bytes()))
}

/// A claim's start as key text: 20 decimal digits, so `u64` is exact and sorts.
fn from_key(from: u64) -> String {
    format!("{from:020}")
}

/// A claim's key, `[note, from]`.
pub(crate) fn claim_key(c: &Claim) -> JsValue {
    Array::of2(&note_key(&c.note), &JsValue::from_str(&from_key(c.from))).into()
}

/// A claim as stored.
pub(crate) fn claim(store: &'static str, c: &Claim) -> Result<JsValue, IdbError> {
    object(&[
        ("note", note_key(&c.note)),
        ("from", JsValue::from_str(&from_key(c.from))),
        ("saga", saga_key(&c.saga)),
        (VALUE, packed(store, c)?),
    ])
}

/// A saga's key.
pub(crate) fn saga_key(id: &SagaId) -> JsValue {
    JsValue::from_str(&id.0)
}

/// The key of bytes kept once by content (received spends, fraud proofs).
pub(crate) fn content_key(value: &[u8]) -> JsValue {
    JsValue::from_str(&to_hex(&sha256(value)))
}

/// A record `{<key field>: key, v: packed}` (see [`packed`]).
pub(crate) fn keyed_packed<T: Serialize>(
    store: &'static str,
    key_field: &str,
    key: JsValue,
    value: &T,
) -> Result<JsValue, IdbError> {
    object(&[(key_field, key), (VALUE, packed(store, value)?)])
}

/// A record `{<key field>: key, v: bytes}`.
pub(crate) fn keyed_bytes(
    key_field: &str,
    key: JsValue,
    value: &[u8],
) -> Result<JsValue, IdbError> {
    object(&[(key_field, key), (VALUE, bytes(value))])
}

/// A CRL as stored: `{issuer, number, v}`.
pub(crate) fn crl(issuer: JsValue, number: u64, value: &[u8]) -> Result<JsValue, IdbError> {
    object(&[
        ("issuer", issuer),
        ("number", JsValue::from_str(&number.to_string())),
        (VALUE, bytes(value)),
    ])
}

/// A stored CRL's number.
pub(crate) fn crl_number(store: &'static str, record: &JsValue) -> Result<u64, IdbError> {
    text(store, record, "number")?
        .parse()
        .map_err(|e| IdbError::Corrupt {
            store,
            detail: format!("CRL number: {e}"),
        })
}
