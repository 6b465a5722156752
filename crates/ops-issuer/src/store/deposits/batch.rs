//! Group commit of deposits into the per-note ledger. Every deposit of a batch is recorded
//! in its own savepoint, in order: its spends (each new one a claim on its input note), then
//! the consumption of each final note (a claim of the whole note). A claim first tries to
//! cover its whole range in one statement (the common case: nothing overlaps); otherwise
//! its free units become coverage and its covered units are its excess, by earlier claim,
//! each overlapping pair a fraud case. A deposit whose excess relies on a culprit revoked
//! before it, or above the per-culprit cap, is rolled back to its savepoint and held for an
//! operator. Credits are summed per account and applied after the whole batch, in account
//! order; then the culprits are debited (so a culprit's own credit in the batch is there to
//! recover from). The database remains the judge of coverage: the PostgreSQL exclusion
//! constraints and the SQLite trigger refuse any unit covered twice.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use ops_core::{CertId, Digest32, NoteId};
use sqlx::{Acquire, Any, AnyConnection, Transaction};

use super::coverage::{ClaimRef, Fragment, overlap, split};
use super::{
    DepositOutcome, DepositStatus, FraudBuilder, LedgerNote, NewDeposit, NewFraudCase, RecordError,
    SpendRecord, debit_culprit, open_case, revoke,
};
use crate::store::accounts::IdRow;
use crate::store::deposits::SerialRow;
use crate::store::types::{Hex, hex};
use crate::store::{Backend, StoreError, db_int};

/// A coverage fragment as stored.
#[derive(sqlx::FromRow)]
struct FragmentRow {
    range_from: i64,
    range_to: i64,
    claim_kind: String,
    claim: Hex<NoteId>,
}

/// An earlier spend of a note, with its bytes.
#[derive(sqlx::FromRow)]
struct EarlierSpendRow {
    spend_id: Hex<NoteId>,
    range_from: i64,
    range_to: i64,
    spend: Vec<u8>,
}

/// The value a consumption credited (`consumptions.value`).
#[derive(sqlx::FromRow)]
struct ConsumedRow {
    value: i64,
}

/// A hold of a note: its id, status and amount.
#[derive(sqlx::FromRow)]
struct HoldRow {
    id: i64,
    status: String,
    amount: i64,
}

/// What a culprit did before a deposit: whether it is listed, and its earlier excess.
#[derive(sqlx::FromRow)]
struct CulpritRow {
    listed: i64,
    earlier: i64,
}

/// A stored unsigned range bound or value.
fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// An earlier claim that overlaps a new one.
#[derive(Debug)]
struct Conflict {
    other: ClaimRef,
    /// The earlier spend's bytes (for a spend).
    other_bytes: Option<Vec<u8>>,
    overlap: u64,
    /// Units of the new claim that `other` had covered first.
    excess: u64,
}

/// Records a new claim `this` of `[from, to)` on `note`; returns the earlier claims it
/// overlaps.
async fn claim(
    conn: &mut AnyConnection,
    backend: Backend,
    note: &LedgerNote,
    from: u64,
    to: u64,
    this: &ClaimRef,
) -> Result<Vec<Conflict>, RecordError> {
    sqlx::query(
        "INSERT INTO ledger_notes (note_id, value, owner, kind) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (note_id) DO NOTHING",
    )
    .bind(Hex(note.id))
    .bind(db_int(note.value)?)
    .bind(Hex(note.owner))
    .bind(note.kind.as_str())
    .execute(&mut *conn)
    .await?;
    // The common case in one statement: nothing of the note overlaps the range.
    let whole = match backend {
        Backend::Postgres => {
            "INSERT INTO coverage (note_id, range_from, range_to, note_value, claim_kind, claim) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING note_id"
        }
        Backend::Sqlite => {
            "INSERT INTO coverage (note_id, range_from, range_to, note_value, claim_kind, claim) \
             SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM coverage \
             WHERE note_id = $1 AND range_from < $3 AND range_to > $2) RETURNING note_id"
        }
    };
    let inserted = sqlx::query(whole)
        .bind(Hex(note.id))
        .bind(db_int(from)?)
        .bind(db_int(to)?)
        .bind(db_int(note.value)?)
        .bind(this.kind())
        .bind(Hex(this.id()))
        .fetch_optional(&mut *conn)
        .await?;
    if inserted.is_some() {
        return Ok(Vec::new());
    }
    let rows: Vec<FragmentRow> = sqlx::query_as(
        "SELECT range_from, range_to, claim_kind, claim FROM coverage \
         WHERE note_id = $1 AND range_from < $2 AND range_to > $3 ORDER BY range_from",
    )
    .bind(Hex(note.id))
    .bind(db_int(to)?)
    .bind(db_int(from)?)
    .fetch_all(&mut *conn)
    .await?;
    let mut fragments = Vec::with_capacity(rows.len());
    for r in rows {
        let claim = ClaimRef::from_columns(&r.claim_kind, r.claim.0).ok_or_else(|| {
            StoreError::Corrupt(format!("coverage claim kind {:?}", r.claim_kind))
        })?;
        fragments.push(Fragment {
            from: unsigned(r.range_from),
            to: unsigned(r.range_to),
            claim,
        });
    }
    if fragments.is_empty() {
        // Refused although nothing overlaps: a concurrent writer (PostgreSQL) or a
        // different value for the note. Retried as a whole by the caller.
        return Err(StoreError::Conflict.into());
    }
    let (gaps, excess) = split(from, to, &fragments);
    for (a, b) in gaps {
        sqlx::query(
            "INSERT INTO coverage (note_id, range_from, range_to, note_value, claim_kind, claim) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Hex(note.id))
        .bind(db_int(a)?)
        .bind(db_int(b)?)
        .bind(db_int(note.value)?)
        .bind(this.kind())
        .bind(Hex(this.id()))
        .execute(&mut *conn)
        .await?;
    }
    // Every earlier claim on the note that overlaps: one case per pair, with the exact
    // overlap (the union of the claims is the union of the coverage, so there are some).
    let mut conflicts = Vec::new();
    let spends: Vec<EarlierSpendRow> = sqlx::query_as(
        "SELECT spend_id, range_from, range_to, spend FROM spends \
         WHERE input_note = $1 AND range_from < $2 AND range_to > $3 AND spend_id <> $4 \
         ORDER BY spend_id",
    )
    .bind(Hex(note.id))
    .bind(db_int(to)?)
    .bind(db_int(from)?)
    .bind(Hex(this.id()))
    .fetch_all(&mut *conn)
    .await?;
    for r in spends {
        let other = ClaimRef::Spend(r.spend_id.0);
        let range = (unsigned(r.range_from), unsigned(r.range_to));
        conflicts.push(Conflict {
            excess: excess.get(&other).copied().unwrap_or(0),
            other,
            other_bytes: Some(r.spend),
            overlap: overlap(range, (from, to)),
        });
    }
    if matches!(this, ClaimRef::Spend(_)) {
        let consumed: Option<ConsumedRow> =
            sqlx::query_as("SELECT value FROM consumptions WHERE note_id = $1")
                .bind(Hex(note.id))
                .fetch_optional(&mut *conn)
                .await?;
        if let Some(r) = consumed {
            let value = unsigned(r.value);
            let other = ClaimRef::Consumption(note.id);
            conflicts.push(Conflict {
                excess: excess.get(&other).copied().unwrap_or(0),
                other,
                other_bytes: None,
                overlap: overlap((0, value), (from, to)),
            });
        }
    }
    Ok(conflicts)
}

/// The fraud case for a new claim and an earlier one it overlaps.
async fn case_for(
    conn: &mut AnyConnection,
    note: &LedgerNote,
    new_spend: Option<&SpendRecord>,
    conflict: &Conflict,
    fraud: FraudBuilder<'_>,
) -> Result<NewFraudCase, RecordError> {
    match (new_spend, &conflict.other, &conflict.other_bytes) {
        // Two spends of the note: a standalone fraud proof.
        (Some(new), ClaimRef::Spend(_), Some(bytes)) => {
            fraud(bytes, new).map_err(RecordError::UnprovableConflict)
        }
        // A spend of a note its owner deposited (in either order): the spend signed by the
        // owner, against this FI's record of the deposit.
        (spend, _, bytes) => {
            let (spend_id, proof) = match (spend, bytes) {
                (Some(new), _) => (new.spend_id, new.bytes.clone()),
                (None, Some(b)) => (conflict.other.id(), b.clone()),
                (None, None) => {
                    return Err(StoreError::Corrupt("a conflict without a spend".into()).into());
                }
            };
            let serial: Option<SerialRow> =
                sqlx::query_as("SELECT serial FROM devices WHERE cert_id = $1")
                    .bind(Hex(note.owner))
                    .fetch_optional(&mut *conn)
                    .await?;
            let serial = serial.map_or(0, |r| r.serial);
            Ok(NewFraudCase {
                kind: "spend_and_deposit",
                spend_a: spend_id,
                spend_b: note.id,
                input_note: note.id,
                culprit: note.owner,
                culprit_serial: u64::try_from(serial).unwrap_or(0),
                overlap: conflict.overlap,
                proof,
            })
        }
    }
}

/// What recording one deposit produced, before the batch's credits and debits.
struct Recorded {
    outcome: DepositOutcome,
    /// Cases whose excess is to be recovered from their culprits.
    debits: Vec<i64>,
}

/// The hold that covers one of `finals`, as an outcome.
pub(super) async fn hold_of(
    conn: &mut AnyConnection,
    payment_hash: &Digest32,
    account: i64,
    finals: &[LedgerNote],
) -> Result<Option<DepositOutcome>, StoreError> {
    for f in finals {
        let row: Option<HoldRow> = sqlx::query_as(
            "SELECT h.id, h.status, h.amount FROM held_notes n \
             JOIN held_deposits h ON h.id = n.held_id WHERE n.note_id = $1",
        )
        .bind(Hex(f.id))
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(r) = row {
            let status = match r.status.as_str() {
                "held" => DepositStatus::Held,
                "rejected" => DepositStatus::Rejected,
                // Released: recorded like any deposit since; the ledger answers.
                _ => continue,
            };
            return Ok(Some(DepositOutcome {
                payment_hash: payment_hash.to_string(),
                account_id: account,
                status,
                amount: r.amount,
                credited: 0,
                spends_recorded: 0,
                fraud_cases: 0,
                held_id: Some(r.id),
            }));
        }
    }
    Ok(None)
}

/// Why a deposit must wait for an operator, if it must: it duplicates value of a culprit
/// revoked before it, or more than the cap allows.
async fn hold_reason(
    conn: &mut AnyConnection,
    backend: Backend,
    deposit: &NewDeposit,
    excess_by_culprit: &BTreeMap<CertId, u64>,
    revoked_now: &BTreeSet<CertId>,
) -> Result<Option<(CertId, u64, String)>, StoreError> {
    if !deposit.hold.enabled {
        return Ok(None);
    }
    for (culprit, excess) in excess_by_culprit {
        if *excess == 0 {
            continue;
        }
        if backend == Backend::Postgres {
            // Concurrent writers serialise per culprit, so two deposits duplicating one
            // culprit's value cannot both see it unrevoked or under the cap. (SQLite has
            // one writer.) Held to the end of the transaction; a deadlock is retried.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(Hex(*culprit))
                .execute(&mut *conn)
                .await?;
        }
        let CulpritRow { listed, earlier } = sqlx::query_as(
            "SELECT \
             (SELECT COUNT(*) FROM crl_entries WHERE cert_id = $1) AS listed, \
             CAST(COALESCE((SELECT SUM(excess) FROM fraud_cases WHERE culprit = $1 AND deposit <> $2), 0) AS BIGINT) AS earlier",
        )
        .bind(Hex(*culprit))
        .bind(Hex(deposit.payment_hash))
        .fetch_one(&mut *conn)
        .await?;
        let earlier = unsigned(earlier);
        if (listed > 0 && !revoked_now.contains(culprit)) || earlier > 0 {
            return Ok(Some((
                *culprit,
                *excess,
                format!(
                    "it credits {excess} more of value that {culprit} already spent, after {culprit} was revoked"
                ),
            )));
        }
        if earlier + excess > deposit.hold.max_excess_per_culprit {
            return Ok(Some((
                *culprit,
                *excess,
                format!(
                    "it credits {excess} of value that {culprit} spent twice, above the cap of {} per culprit",
                    deposit.hold.max_excess_per_culprit
                ),
            )));
        }
    }
    Ok(None)
}

/// Records one deposit in its own savepoint of `tx`.
async fn record_one(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    d: &NewDeposit,
    fraud: FraudBuilder<'_>,
) -> Result<Recorded, RecordError> {
    match &d.release {
        // An operator's release: the hold is decided with this recording, atomically.
        Some(r) => {
            let released = sqlx::query(
                "UPDATE held_deposits SET status = 'released', decided_by = $1, decision_note = $2, \
                 decided_at = $3 WHERE id = $4 AND status = 'held'",
            )
            .bind(&r.operator)
            .bind(&r.note)
            .bind(db_int(d.now)?)
            .bind(r.held_id)
            .execute(&mut **tx)
            .await?;
            if released.rows_affected() != 1 {
                return Err(StoreError::NotFound("held deposit still held").into());
            }
        }
        None => {
            if let Some(outcome) = hold_of(tx, &d.payment_hash, d.account_id, &d.finals).await? {
                return Ok(Recorded {
                    outcome,
                    debits: Vec::new(),
                });
            }
        }
    }
    let mut sp = tx.begin().await?;
    let mut recorded = 0i64;
    let mut credited = 0i64;
    let mut cases = Vec::new();
    let mut excess_by_culprit: BTreeMap<CertId, u64> = BTreeMap::new();
    let mut revoked_now = BTreeSet::new();
    for s in &d.spends {
        let new = sqlx::query(
            "INSERT INTO spends (spend_id, input_note, range_from, range_to, payee, signer, deposit, spend) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (spend_id) DO NOTHING RETURNING spend_id",
        )
        .bind(Hex(s.spend_id))
        .bind(Hex(s.input.id))
        .bind(db_int(s.from)?)
        .bind(db_int(s.to)?)
        .bind(Hex(s.payee))
        .bind(Hex(s.signer))
        .bind(Hex(d.payment_hash))
        .bind(&s.bytes)
        .fetch_optional(&mut *sp)
        .await?;
        if new.is_none() {
            continue; // The same spend recorded before: a shared hop or a retry.
        }
        recorded += 1;
        let this = ClaimRef::Spend(s.spend_id);
        for c in claim(&mut sp, backend, &s.input, s.from, s.to, &this).await? {
            let case = case_for(&mut sp, &s.input, Some(s), &c, fraud).await?;
            *excess_by_culprit.entry(case.culprit).or_default() += c.excess;
            if let Some(opened) =
                open_case(&mut sp, &case, c.excess, &hex(&d.payment_hash), d.now).await?
            {
                if opened.revoked_now {
                    revoked_now.insert(case.culprit);
                }
                cases.push((opened.id, c.excess));
            }
        }
    }
    let mut seen = HashSet::new();
    for f in &d.finals {
        if !seen.insert(f.id) {
            continue;
        }
        let new = sqlx::query(
            "INSERT INTO consumptions (note_id, value, kind, account_id, depositor, deposit, created) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (note_id) DO NOTHING RETURNING note_id",
        )
        .bind(Hex(f.id))
        .bind(db_int(f.value)?)
        .bind(d.kind.as_str())
        .bind(d.account_id)
        .bind(Hex(d.depositor))
        .bind(Hex(d.payment_hash))
        .bind(db_int(d.now)?)
        .fetch_optional(&mut *sp)
        .await?;
        if new.is_none() {
            continue; // Credited before: idempotency by note, whatever the bytes.
        }
        credited += db_int(f.value)?;
        let this = ClaimRef::Consumption(f.id);
        for c in claim(&mut sp, backend, f, 0, f.value, &this).await? {
            let case = case_for(&mut sp, f, None, &c, fraud).await?;
            *excess_by_culprit.entry(case.culprit).or_default() += c.excess;
            if let Some(opened) =
                open_case(&mut sp, &case, c.excess, &hex(&d.payment_hash), d.now).await?
            {
                if opened.revoked_now {
                    revoked_now.insert(case.culprit);
                }
                cases.push((opened.id, c.excess));
            }
        }
    }
    if let Some((culprit, excess, reason)) =
        hold_reason(&mut sp, backend, d, &excess_by_culprit, &revoked_now).await?
    {
        sp.rollback().await?;
        let held = hold(tx, d, culprit, excess, &reason).await?;
        return Ok(Recorded {
            outcome: held,
            debits: Vec::new(),
        });
    }
    sp.commit().await?;
    let opened = i64::try_from(cases.len()).unwrap_or(i64::MAX);
    // The upload log: one row per distinct payment hash, counting what its uploads did.
    sqlx::query(
        "INSERT INTO deposits (payment_hash, depositor, account_id, amount, spends_recorded, fraud_cases, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (payment_hash) DO UPDATE SET \
         spends_recorded = deposits.spends_recorded + excluded.spends_recorded, \
         fraud_cases = deposits.fraud_cases + excluded.fraud_cases",
    )
    .bind(Hex(d.payment_hash))
    .bind(Hex(d.depositor))
    .bind(d.account_id)
    .bind(db_int(d.amount)?)
    .bind(recorded)
    .bind(opened)
    .bind(db_int(d.now)?)
    .execute(&mut **tx)
    .await?;
    Ok(Recorded {
        outcome: DepositOutcome {
            payment_hash: d.payment_hash.to_string(),
            account_id: d.account_id,
            status: DepositStatus::Credited,
            amount: db_int(d.amount)?,
            credited,
            spends_recorded: recorded,
            fraud_cases: opened,
            held_id: None,
        },
        debits: cases
            .into_iter()
            .filter(|(_, excess)| *excess > 0)
            .map(|(id, _)| id)
            .collect(),
    })
}

/// Holds `d` for an operator: its payment and final notes are kept, nothing is credited,
/// and the culprit is revoked if it was not.
async fn hold(
    tx: &mut Transaction<'static, Any>,
    d: &NewDeposit,
    culprit: CertId,
    excess: u64,
    reason: &str,
) -> Result<DepositOutcome, RecordError> {
    let IdRow { id } = sqlx::query_as(
        "INSERT INTO held_deposits (payment_hash, kind, depositor, account_id, amount, culprit, excess, reason, payment, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(Hex(d.payment_hash))
    .bind(d.kind.as_str())
    .bind(Hex(d.depositor))
    .bind(d.account_id)
    .bind(db_int(d.amount)?)
    .bind(Hex(culprit))
    .bind(db_int(excess)?)
    .bind(reason)
    .bind(d.payment.as_slice())
    .bind(db_int(d.now)?)
    .fetch_one(&mut **tx)
    .await?;
    let mut claimed = 0;
    let mut distinct = HashSet::new();
    for f in &d.finals {
        if !distinct.insert(f.id) {
            continue;
        }
        claimed += sqlx::query(
            "INSERT INTO held_notes (note_id, held_id) VALUES ($1, $2) ON CONFLICT (note_id) DO NOTHING",
        )
        .bind(Hex(f.id))
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    }
    if claimed != distinct.len() as u64 {
        // Another upload of these notes was held first (a concurrent writer committed it
        // while this one recorded): answer with that hold, keep one hold per note.
        sqlx::query("DELETE FROM held_notes WHERE held_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM held_deposits WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        return hold_of(tx, &d.payment_hash, d.account_id, &d.finals)
            .await?
            .ok_or_else(|| StoreError::Conflict.into());
    }
    revoke(tx, &culprit, "double spend", super::SETTLEMENT, d.now).await?;
    Ok(DepositOutcome {
        payment_hash: d.payment_hash.to_string(),
        account_id: d.account_id,
        status: DepositStatus::Held,
        amount: db_int(d.amount)?,
        credited: 0,
        spends_recorded: 0,
        fraud_cases: 0,
        held_id: Some(id),
    })
}

/// Records `jobs` in `tx` (see the module documentation); outcomes in input order. Any
/// error leaves `tx` to be rolled back by the caller.
pub(super) async fn record(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    jobs: &[(&NewDeposit, FraudBuilder<'_>)],
) -> Result<Vec<DepositOutcome>, RecordError> {
    // The common case first: nothing overlaps, a few statements for the whole batch.
    let deposits: Vec<&NewDeposit> = jobs.iter().map(|(d, _)| *d).collect();
    let mut fast_path = tx.begin().await?;
    let fast = super::fast::record(&mut fast_path, backend, &deposits).await;
    let recorded = match fast {
        Ok(Some(outcomes)) => {
            fast_path.commit().await?;
            Some(outcomes)
        }
        Ok(None) => {
            fast_path.rollback().await?;
            None
        }
        Err(e) => return Err(e),
    };
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut debits = Vec::new();
    match recorded {
        Some(fast) => outcomes = fast,
        None => {
            for (d, fraud) in jobs {
                let r = record_one(tx, backend, d, *fraud).await?;
                debits.extend(r.debits);
                outcomes.push(r.outcome);
            }
        }
    }
    // Claims on other FIs' notes, queued with the credit they pay for (see
    // `store::clearing`): a crash cannot credit the merchant and lose the claim.
    for (o, (d, _)) in outcomes.iter().zip(jobs) {
        if o.credited > 0 && !d.forward.is_empty() {
            crate::store::clearing::queue(
                tx,
                &d.forward,
                &d.payment_hash,
                &d.depositor,
                &d.payment,
                d.now,
            )
            .await?;
        }
    }
    let mut credits: BTreeMap<i64, i64> = BTreeMap::new();
    for o in &outcomes {
        let sum = credits.entry(o.account_id).or_default();
        *sum = sum
            .checked_add(o.credited)
            .ok_or_else(|| StoreError::Corrupt("credit overflows".into()))?;
    }
    // Credits first, in account order (see `Store::record_batch`), then the debits.
    for (account, amount) in credits {
        if amount == 0 {
            continue;
        }
        let credited = sqlx::query("UPDATE accounts SET balance = balance + $1 WHERE id = $2")
            .bind(amount)
            .bind(account)
            .execute(&mut **tx)
            .await?;
        if credited.rows_affected() != 1 {
            return Err(StoreError::NotFound("depositor account").into());
        }
    }
    for case in debits {
        debit_culprit(tx, case).await?;
    }
    Ok(outcomes)
}
