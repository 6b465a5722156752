//! Group commit with multi-row statements: a batch of deposits is recorded with one
//! `INSERT` of its deposit rows and one `INSERT` of its spends (per chunk of at most
//! [`MAX_ROWS`] rows), instead of statements per deposit. Conflicts — a payment recorded
//! before, a spend recorded before (a retry or a shared hop), an overlapping spend (a double
//! spend) — are what the databases report back by *not* returning a row, and are then
//! resolved one by one. A single deposit is a batch of one (`Store::record_deposit`).
//! The database remains the judge of overlaps: the PostgreSQL exclusion constraint (`ON CONFLICT DO NOTHING`), and
//! on SQLite the `NOT EXISTS` filter with the trigger behind it (an overlap between two
//! rows of the same statement aborts it, and the caller records the batch deposit by
//! deposit instead).

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::{Any, Row, Transaction};

use super::{
    DepositOutcome, FraudBuilder, NewDeposit, OUTCOME_BY_HASH, RecordError, SpendRecord, credit,
    open_case, outcome,
};
use crate::store::{Backend, StoreError, db_int};

/// Most rows per multi-row statement (8 parameters per spend row: 512 parameters).
pub const MAX_ROWS: usize = 64;

/// Splits `n` rows into chunks whose sizes are powers of two (at most [`MAX_ROWS`]), so
/// each connection prepares at most 7 statement shapes per table.
fn chunk_sizes(mut n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    while n > 0 {
        let mut size = MAX_ROWS;
        while size > n {
            size /= 2;
        }
        out.push(size);
        n -= size;
    }
    out
}

/// `($1, $2, …), (…)`: `rows` groups of `cols` numbered placeholders.
fn placeholders(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let group: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", group.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts the deposit rows (outcome columns as if every spend records and no fraud case
/// opens; corrected later when not); returns the hashes that were new.
async fn insert_deposit_rows(
    tx: &mut Transaction<'static, Any>,
    deposits: &[&NewDeposit],
) -> Result<HashSet<String>, RecordError> {
    let mut new = HashSet::with_capacity(deposits.len());
    let mut at = 0;
    for size in chunk_sizes(deposits.len()) {
        let sql = format!(
            "INSERT INTO deposits (payment_hash, depositor, account_id, amount, spends_recorded, fraud_cases, created) \
             VALUES {} ON CONFLICT (payment_hash) DO NOTHING RETURNING payment_hash",
            placeholders(size, 7)
        );
        let mut q = sqlx::query(&sql);
        for d in &deposits[at..at + size] {
            let spends = i64::try_from(d.spends.len())
                .map_err(|_| StoreError::Corrupt("too many spends".into()))?;
            q = q
                .bind(d.payment_hash.clone())
                .bind(d.depositor.clone())
                .bind(d.account_id)
                .bind(db_int(d.amount)?)
                .bind(spends)
                .bind(0i64)
                .bind(db_int(d.now)?);
        }
        for row in q.fetch_all(&mut **tx).await? {
            new.insert(row.try_get::<String, _>(0)?);
        }
        at += size;
    }
    Ok(new)
}

/// Inserts spends that overlap nothing recorded; returns the ids inserted.
async fn insert_spend_rows(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    rows: &[(&NewDeposit, &SpendRecord)],
) -> Result<HashSet<String>, RecordError> {
    let mut inserted = HashSet::with_capacity(rows.len());
    let mut at = 0;
    for size in chunk_sizes(rows.len()) {
        let values = placeholders(size, 8);
        let sql = match backend {
            Backend::Postgres => format!(
                "INSERT INTO spends (spend_id, input_note, range_from, range_to, payee, signer, deposit, spend) \
                 VALUES {values} ON CONFLICT DO NOTHING RETURNING spend_id"
            ),
            // SQLite names the VALUES columns column1…column8.
            Backend::Sqlite => format!(
                "INSERT INTO spends (spend_id, input_note, range_from, range_to, payee, signer, deposit, spend) \
                 SELECT * FROM (VALUES {values}) AS v \
                 WHERE NOT EXISTS (SELECT 1 FROM spends s WHERE s.input_note = v.column2 \
                   AND s.range_from < v.column4 AND s.range_to > v.column3) \
                 RETURNING spend_id"
            ),
        };
        let mut q = sqlx::query(&sql);
        for (d, s) in &rows[at..at + size] {
            q = q
                .bind(s.spend_id.clone())
                .bind(s.input_note.clone())
                .bind(db_int(s.from)?)
                .bind(db_int(s.to)?)
                .bind(s.payee.clone())
                .bind(s.signer.clone())
                .bind(d.payment_hash.clone())
                .bind(s.bytes.clone());
        }
        for row in q.fetch_all(&mut **tx).await? {
            inserted.insert(row.try_get::<String, _>(0)?);
        }
        at += size;
    }
    Ok(inserted)
}

/// A spend the database did not insert: the same spend recorded before (`Ok(false)`), or
/// an overlap with another body: a fraud case (`Ok(true)` if it is new).
async fn resolve_conflict(
    tx: &mut Transaction<'static, Any>,
    deposit: &NewDeposit,
    spend: &SpendRecord,
    fraud: FraudBuilder<'_>,
) -> Result<bool, RecordError> {
    let row = sqlx::query(
        "SELECT spend_id, spend FROM spends \
         WHERE input_note = $1 AND range_from < $2 AND range_to > $3 \
         ORDER BY range_from LIMIT 1",
    )
    .bind(&spend.input_note)
    .bind(db_int(spend.to)?)
    .bind(db_int(spend.from)?)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::Conflict)?;
    let id: String = row.try_get(0)?;
    if id == spend.spend_id {
        return Ok(false);
    }
    let bytes: Vec<u8> = row.try_get(1)?;
    let case = fraud(&bytes, spend).map_err(RecordError::UnprovableConflict)?;
    Ok(open_case(tx, &case, &deposit.payment_hash, deposit.now).await?)
}

/// Records `jobs` in `tx` (see the module documentation); outcomes in input order. Any
/// error leaves `tx` to be rolled back by the caller.
pub(super) async fn record(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    jobs: &[(&NewDeposit, FraudBuilder<'_>)],
) -> Result<Vec<DepositOutcome>, RecordError> {
    // One row per payment: a payment twice in a batch is recorded by its first occurrence.
    let mut unique: Vec<(&NewDeposit, FraudBuilder<'_>)> = Vec::with_capacity(jobs.len());
    let mut seen = HashSet::with_capacity(jobs.len());
    for (d, f) in jobs {
        if seen.insert(d.payment_hash.as_str()) {
            unique.push((d, *f));
        }
    }
    let deposits: Vec<&NewDeposit> = unique.iter().map(|(d, _)| *d).collect();
    let new = insert_deposit_rows(tx, &deposits).await?;
    let mut outcomes: HashMap<&str, DepositOutcome> = HashMap::with_capacity(unique.len());
    for d in &deposits {
        if new.contains(&d.payment_hash) {
            continue;
        }
        let r = sqlx::query(OUTCOME_BY_HASH)
            .bind(&d.payment_hash)
            .fetch_one(&mut **tx)
            .await?;
        outcomes.insert(d.payment_hash.as_str(), outcome(&r)?);
    }
    let fresh: Vec<(&NewDeposit, FraudBuilder<'_>)> = unique
        .into_iter()
        .filter(|(d, _)| new.contains(&d.payment_hash))
        .collect();
    let rows: Vec<(&NewDeposit, &SpendRecord)> = fresh
        .iter()
        .flat_map(|(d, _)| d.spends.iter().map(move |s| (*d, s)))
        .collect();
    let inserted = insert_spend_rows(tx, backend, &rows).await?;
    let mut credits: BTreeMap<i64, i64> = BTreeMap::new();
    for (d, fraud) in &fresh {
        let mut recorded = 0i64;
        let mut cases = 0i64;
        for s in &d.spends {
            if inserted.contains(&s.spend_id) {
                recorded += 1;
            } else if resolve_conflict(tx, d, s, *fraud).await? {
                cases += 1;
            }
        }
        let expected = i64::try_from(d.spends.len())
            .map_err(|_| StoreError::Corrupt("too many spends".into()))?;
        if (recorded, cases) != (expected, 0) {
            sqlx::query(
                "UPDATE deposits SET spends_recorded = $1, fraud_cases = $2 WHERE payment_hash = $3",
            )
            .bind(recorded)
            .bind(cases)
            .bind(&d.payment_hash)
            .execute(&mut **tx)
            .await?;
        }
        let amount = db_int(d.amount)?;
        let sum = credits.entry(d.account_id).or_default();
        *sum = sum
            .checked_add(amount)
            .ok_or_else(|| StoreError::Corrupt("credit overflows".into()))?;
        outcomes.insert(
            d.payment_hash.as_str(),
            DepositOutcome {
                payment_hash: d.payment_hash.clone(),
                account_id: d.account_id,
                amount,
                spends_recorded: recorded,
                fraud_cases: cases,
            },
        );
    }
    // Credits last, in account order (see `Store::record_batch`).
    for (account, amount) in credits {
        credit(tx, account, amount).await?;
    }
    jobs.iter()
        .map(|(d, _)| {
            outcomes
                .get(d.payment_hash.as_str())
                .cloned()
                .ok_or_else(|| StoreError::Corrupt("a batch outcome went missing".into()).into())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_up_to_the_limit_and_cover_every_row() {
        assert_eq!(chunk_sizes(0), Vec::<usize>::new());
        assert_eq!(chunk_sizes(1), vec![1]);
        assert_eq!(chunk_sizes(13), vec![8, 4, 1]);
        assert_eq!(chunk_sizes(64), vec![64]);
        assert_eq!(chunk_sizes(200), vec![64, 64, 64, 8]);
        for n in 0..300 {
            let c = chunk_sizes(n);
            assert_eq!(c.iter().sum::<usize>(), n);
            assert!(c.iter().all(|s| s.is_power_of_two() && *s <= MAX_ROWS));
        }
    }

    #[test]
    fn placeholders_number_rows_then_columns() {
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
