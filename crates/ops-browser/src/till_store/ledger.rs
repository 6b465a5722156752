//! The range ledger's two queries, on `till_ledger` keyed `[note, from]`, through any
//! transaction (the commit's own, for the guard; a `readonly` one, for reads).
//!
//! Recorded ranges of one note never overlap, so the ranges overlapping `[from, to)` are
//! the one with the greatest start at or below `from` (if it reaches past `from`: one
//! reverse cursor step) and those starting in `[from + 1, to)` (one forward key range).

use ops_core::ids::NoteId;
use ops_wallet_engine::till::types::LedgerEntry;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbCursorDirection, IdbCursorWithValue, IdbKeyRange, IdbObjectStore};

use super::records::{decode_packed, ledger_key};
use super::schema::LEDGER;
use crate::wallet_store::error::IdbError;
use crate::wallet_store::request::{request, request_all};

/// Keys of `note` with a start in `[from, to]` (`to_open`: `[from, to)`).
fn starts(note: &NoteId, from: u64, to: u64, to_open: bool) -> Result<IdbKeyRange, IdbError> {
    IdbKeyRange::bound_with_lower_open_and_upper_open(
        &ledger_key(note, from),
        &ledger_key(note, to),
        false,
        to_open,
    )
    .map_err(IdbError::on("key range"))
}

/// The entry with the greatest key in `range`, if any (one reverse cursor step).
async fn last_in(
    store: &IdbObjectStore,
    range: &IdbKeyRange,
) -> Result<Option<LedgerEntry>, IdbError> {
    let req = store
        .open_cursor_with_range_and_direction(range, IdbCursorDirection::Prev)
        .map_err(IdbError::on("openCursor"))?;
    let found = request("openCursor", &req).await?;
    if found.is_null() || found.is_undefined() {
        return Ok(None);
    }
    let cursor: IdbCursorWithValue = found
        .dyn_into()
        .map_err(|v: JsValue| IdbError::js("openCursor", &v))?;
    let value = cursor.value().map_err(IdbError::on("cursor value"))?;
    decode_packed(LEDGER, &value).map(Some)
}

/// The commit's guard: the recorded range of `note` overlapping `[from, to)`, if any.
/// Only the range with the greatest start below `to` can (as `TillMemoryStore` checks).
pub(crate) async fn overlap(
    store: &IdbObjectStore,
    note: &NoteId,
    from: u64,
    to: u64,
) -> Result<Option<LedgerEntry>, IdbError> {
    if from >= to {
        return Ok(None);
    }
    let below_to = starts(note, 0, to, true)?;
    Ok(last_in(store, &below_to)
        .await?
        .filter(|e| e.overlaps(note, from, to)))
}

/// Every recorded range of `note` overlapping `[from, to)`, ascending.
pub(crate) async fn overlapping(
    store: &IdbObjectStore,
    note: &NoteId,
    from: u64,
    to: u64,
) -> Result<Vec<LedgerEntry>, IdbError> {
    let mut v = Vec::new();
    if from >= to {
        return Ok(v);
    }
    if let Some(e) = last_in(store, &starts(note, 0, from, false)?).await?
        && e.overlaps(note, from, to)
    {
        v.push(e);
    }
    if let Some(start) = from.checked_add(1)
        && start < to
    {
        let req = store
            .get_all_with_key(&starts(note, start, to, true)?.into())
            .map_err(IdbError::on("getAll"))?;
        for r in request_all("getAll", &req).await? {
            v.push(decode_packed(LEDGER, &r)?);
        }
    }
    Ok(v)
}
