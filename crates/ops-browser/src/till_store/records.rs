//! Till records as IndexedDB values: a plain object with the key and index fields and `v`
//! (the engine's serde record packed with postcard), built with the wallet store's
//! helpers. See [`super::schema`].

use js_sys::Array;
use ops_core::ids::{CertId, NoteId, to_hex};
use ops_wallet_engine::till::saga::TillSagaRecord;
use ops_wallet_engine::till::types::{
    AcceptedPayment, Decline, DepositStatus, KeptProof, LedgerEntry, PaymentId, QueueEntry,
};
use wasm_bindgen::JsValue;

use super::schema::{DECLINES, LEDGER, PAYMENTS, PROOFS, QUEUE, SAGAS};
use crate::wallet_store::error::IdbError;
use crate::wallet_store::records::{bytes, object, packed, saga_key};

pub(crate) use crate::wallet_store::records::{
    crl_number, decode_bytes, decode_packed, keyed_packed, note_key, saga_key as saga_id_key,
};

/// The field holding the record itself (as in the wallet's store).
const VALUE: &str = "v";

/// The trust record ids.
pub(crate) const IDENTITY_ID: &str = "identity";
/// The trust bundle's id.
pub(crate) const BUNDLE_ID: &str = "bundle";
/// The last contact's id.
pub(crate) const LAST_ONLINE_ID: &str = "last_online";
/// The prefix of CRL ids (`crl:<issuer hex>`).
pub(crate) const CRL_PREFIX: &str = "crl:";

/// A number as key text: 20 decimal digits, so every `u64` is exact and sorts.
pub(crate) fn num_key(n: u64) -> JsValue {
    JsValue::from_str(&format!("{n:020}"))
}

/// A payment's key (its id in hex).
pub(crate) fn payment_key(id: &PaymentId) -> JsValue {
    JsValue::from_str(&to_hex(&id.0))
}

/// A ledger entry's key, `[note, from]`.
pub(crate) fn ledger_key(note: &NoteId, from: u64) -> JsValue {
    Array::of2(&note_key(note), &num_key(from)).into()
}

/// A saga record as stored: `{id, finished, v}` (`finished` is 0 or 1: booleans are not
/// IndexedDB keys).
pub(crate) fn saga(r: &TillSagaRecord) -> Result<JsValue, IdbError> {
    let finished = if r.state.is_finished() { 1.0 } else { 0.0 };
    object(&[
        ("id", saga_key(&r.id)),
        ("finished", JsValue::from_f64(finished)),
        (VALUE, packed(SAGAS, r)?),
    ])
}

/// An accepted payment as stored: `{id, at, v}`.
pub(crate) fn payment(p: &AcceptedPayment) -> Result<JsValue, IdbError> {
    object(&[
        ("id", payment_key(&p.id)),
        ("at", num_key(p.accepted_at)),
        (VALUE, packed(PAYMENTS, p)?),
    ])
}

/// A ledger entry as stored: `{note, from, v}`.
pub(crate) fn ledger(e: &LedgerEntry) -> Result<JsValue, IdbError> {
    object(&[
        ("note", note_key(&e.note)),
        ("from", num_key(e.from)),
        (VALUE, packed(LEDGER, e)?),
    ])
}

/// A queue entry as stored: `{payment, status, batch?, v}`; `batch` only while posting,
/// so the `batch` index holds exactly the payments an upload holds.
pub(crate) fn queue(e: &QueueEntry) -> Result<JsValue, IdbError> {
    let mut fields = vec![
        ("payment", payment_key(&e.payment)),
        ("status", JsValue::from_str(e.status.code())),
        (VALUE, packed(QUEUE, e)?),
    ];
    if let DepositStatus::Posting { batch } = &e.status {
        fields.push(("batch", saga_key(batch)));
    }
    object(&fields)
}

/// A decline as stored: `{id, at, v}`.
pub(crate) fn decline(d: &Decline) -> Result<JsValue, IdbError> {
    object(&[
        ("id", JsValue::from_str(&d.id)),
        ("at", num_key(d.at)),
        (VALUE, packed(DECLINES, d)?),
    ])
}

/// A fraud proof's key (its id in hex).
pub(crate) fn proof_key(p: &KeptProof) -> JsValue {
    JsValue::from_str(&to_hex(&p.id.0))
}

/// A kept fraud proof as stored: `{id, v}`.
pub(crate) fn proof(p: &KeptProof) -> Result<JsValue, IdbError> {
    object(&[("id", proof_key(p)), (VALUE, packed(PROOFS, p)?)])
}

/// A CRL's id in `till_trust`.
pub(crate) fn crl_key(issuer: &CertId) -> JsValue {
    JsValue::from_str(&format!("{CRL_PREFIX}{}", to_hex(issuer.as_bytes())))
}

/// A CRL as stored: `{id, number, v}` (`number` as decimal text, `v` its bytes).
pub(crate) fn crl(key: JsValue, number: u64, value: &[u8]) -> Result<JsValue, IdbError> {
    object(&[
        ("id", key),
        ("number", JsValue::from_str(&number.to_string())),
        (VALUE, bytes(value)),
    ])
}
