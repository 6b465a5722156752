//! The fast path of group commit: a batch in which no claim overlaps anything is recorded
//! with a few multi-row statements for the whole batch (spends, notes, coverage,
//! consumptions, the upload log), instead of statements per deposit. It runs inside a
//! savepoint: the moment any claim does not cover its whole range (an overlap, which needs
//! fraud cases and maybe a hold), any final note is held, or a release is in the batch, it
//! answers `None`, the caller rolls the savepoint back and records the batch deposit by
//! deposit (`batch::record_one`). The database stays the judge: a coverage row the
//! constraints refuse is simply not inserted (PostgreSQL `ON CONFLICT DO NOTHING` over the
//! exclusion constraints; SQLite the `NOT EXISTS` filter, and the trigger for two rows of
//! one statement, reported as an error the caller treats like a conflict).

use std::collections::{HashMap, HashSet};

use ops_core::NoteId;
use sqlx::AnyConnection;

use super::{DepositOutcome, DepositStatus, LedgerNote, NewDeposit, RecordError};
use crate::store::types::{Hex, hex};
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

/// One value of a multi-row statement.
#[derive(Debug, Clone)]
enum Val {
    Text(String),
    Int(i64),
    Bytes(Vec<u8>),
}

/// The first column of a row an `INSERT … RETURNING` returned: a note id (`spend_id`,
/// `note_id` or `claim`), named `id` by the statements below.
#[derive(sqlx::FromRow)]
struct ReturnedRow {
    id: Hex<NoteId>,
}

/// Runs `INSERT … VALUES <rows> <tail>` in chunks; returns the note id (`RETURNING … AS
/// id`) of every row the statement returned. `head` ends just before `VALUES`; with `sqlite_filter`, SQLite
/// inserts `SELECT * FROM (VALUES …) AS v WHERE <filter>` instead.
async fn insert_rows(
    conn: &mut AnyConnection,
    head: &str,
    rows: &[Vec<Val>],
    tail: &str,
    sqlite_filter: Option<(Backend, &str)>,
) -> Result<Vec<NoteId>, RecordError> {
    let Some(cols) = rows.first().map(Vec::len) else {
        return Ok(Vec::new());
    };
    let mut returned = Vec::new();
    let mut at = 0;
    for size in chunk_sizes(rows.len()) {
        let values = placeholders(size, cols);
        let sql = match sqlite_filter {
            Some((Backend::Sqlite, filter)) => {
                format!("{head} SELECT * FROM (VALUES {values}) AS v WHERE {filter} {tail}")
            }
            _ => format!("{head} VALUES {values} {tail}"),
        };
        let mut q = sqlx::query_as::<_, ReturnedRow>(&sql);
        for row in &rows[at..at + size] {
            for v in row {
                q = match v {
                    Val::Text(t) => q.bind(t.clone()),
                    Val::Int(i) => q.bind(*i),
                    Val::Bytes(b) => q.bind(b.clone()),
                };
            }
        }
        for r in q.fetch_all(&mut *conn).await? {
            returned.push(r.id.0);
        }
        at += size;
    }
    Ok(returned)
}

/// Whether any of `notes` is in a hold.
async fn any_held(conn: &mut AnyConnection, notes: &[NoteId]) -> Result<bool, RecordError> {
    for chunk in notes.chunks(MAX_ROWS) {
        let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT note_id FROM held_notes WHERE note_id IN ({}) LIMIT 1",
            list.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for n in chunk {
            q = q.bind(Hex(*n));
        }
        if q.fetch_optional(&mut *conn).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

fn note_row(n: &LedgerNote) -> Result<Vec<Val>, StoreError> {
    Ok(vec![
        Val::Text(hex(&n.id)),
        Val::Int(db_int(n.value)?),
        Val::Text(hex(&n.owner)),
        Val::Text(n.kind.as_str().into()),
    ])
}

/// The SQLite filter for coverage rows (`v.column1..6` = note, from, to, value, kind, claim).
const COVERAGE_FILTER: &str = "NOT EXISTS (SELECT 1 FROM coverage c WHERE c.note_id = v.column1 \
     AND c.range_from < v.column3 AND c.range_to > v.column2)";

/// Inserts coverage rows; `false` if the database refused any (an overlap).
async fn cover(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[Vec<Val>],
) -> Result<bool, RecordError> {
    let tail = match backend {
        Backend::Postgres => "ON CONFLICT DO NOTHING RETURNING claim AS id",
        Backend::Sqlite => "RETURNING claim AS id",
    };
    let inserted = insert_rows(
        conn,
        "INSERT INTO coverage (note_id, range_from, range_to, note_value, claim_kind, claim)",
        rows,
        tail,
        Some((backend, COVERAGE_FILTER)),
    )
    .await?;
    Ok(inserted.len() == rows.len())
}

/// Records `jobs` if no claim overlaps anything; `None` to take the slow path.
pub(super) async fn record(
    conn: &mut AnyConnection,
    backend: Backend,
    jobs: &[&NewDeposit],
) -> Result<Option<Vec<DepositOutcome>>, RecordError> {
    if jobs.iter().any(|d| d.release.is_some()) {
        return Ok(None);
    }
    let finals: Vec<NoteId> = jobs
        .iter()
        .flat_map(|d| d.finals.iter().map(|f| f.id))
        .collect();
    if any_held(conn, &finals).await? {
        return Ok(None);
    }
    // Spends: each distinct spend once, attributed to its first deposit in the batch.
    let mut spend_owner: HashMap<NoteId, usize> = HashMap::new();
    let mut spend_rows = Vec::new();
    let mut spends = Vec::new();
    for (j, d) in jobs.iter().enumerate() {
        for s in &d.spends {
            if spend_owner.contains_key(&s.spend_id) {
                continue;
            }
            spend_owner.insert(s.spend_id, j);
            spends.push(s);
            spend_rows.push(vec![
                Val::Text(hex(&s.spend_id)),
                Val::Text(hex(&s.input.id)),
                Val::Int(db_int(s.from)?),
                Val::Int(db_int(s.to)?),
                Val::Text(hex(&s.payee)),
                Val::Text(hex(&s.signer)),
                Val::Text(hex(&d.payment_hash)),
                Val::Bytes(s.bytes.clone()),
            ]);
        }
    }
    let new_spends: HashSet<NoteId> = insert_rows(
        conn,
        "INSERT INTO spends (spend_id, input_note, range_from, range_to, payee, signer, deposit, spend)",
        &spend_rows,
        "ON CONFLICT (spend_id) DO NOTHING RETURNING spend_id AS id",
        None,
    )
    .await?
    .into_iter()
    .collect();
    // The notes claimed, then the new spends' coverage.
    let mut seen = HashSet::new();
    let mut note_rows = Vec::new();
    let mut cover_rows = Vec::new();
    for s in spends.iter().filter(|s| new_spends.contains(&s.spend_id)) {
        if seen.insert(s.input.id) {
            note_rows.push(note_row(&s.input)?);
        }
        cover_rows.push(vec![
            Val::Text(hex(&s.input.id)),
            Val::Int(db_int(s.from)?),
            Val::Int(db_int(s.to)?),
            Val::Int(db_int(s.input.value)?),
            Val::Text("spend".into()),
            Val::Text(hex(&s.spend_id)),
        ]);
    }
    // Consumptions: each distinct final note once, by its first deposit in the batch.
    let mut final_owner: HashMap<NoteId, usize> = HashMap::new();
    let mut consumption_rows = Vec::new();
    let mut final_notes = Vec::new();
    for (j, d) in jobs.iter().enumerate() {
        for f in &d.finals {
            if final_owner.contains_key(&f.id) {
                continue;
            }
            final_owner.insert(f.id, j);
            final_notes.push(f);
            consumption_rows.push(vec![
                Val::Text(hex(&f.id)),
                Val::Int(db_int(f.value)?),
                Val::Text(d.kind.as_str().into()),
                Val::Int(d.account_id),
                Val::Text(hex(&d.depositor)),
                Val::Text(hex(&d.payment_hash)),
                Val::Int(db_int(d.now)?),
            ]);
        }
    }
    let new_consumed: HashSet<NoteId> = insert_rows(
        conn,
        "INSERT INTO consumptions (note_id, value, kind, account_id, depositor, deposit, created)",
        &consumption_rows,
        "ON CONFLICT (note_id) DO NOTHING RETURNING note_id AS id",
        None,
    )
    .await?
    .into_iter()
    .collect();
    for f in final_notes.iter().filter(|f| new_consumed.contains(&f.id)) {
        if seen.insert(f.id) {
            note_rows.push(note_row(f)?);
        }
        cover_rows.push(vec![
            Val::Text(hex(&f.id)),
            Val::Int(0),
            Val::Int(db_int(f.value)?),
            Val::Int(db_int(f.value)?),
            Val::Text("consumption".into()),
            Val::Text(hex(&f.id)),
        ]);
    }
    insert_rows(
        conn,
        "INSERT INTO ledger_notes (note_id, value, owner, kind)",
        &note_rows,
        "ON CONFLICT (note_id) DO NOTHING",
        None,
    )
    .await?;
    match cover(conn, backend, &cover_rows).await {
        Ok(true) => {}
        Ok(false) => return Ok(None),
        // SQLite: two overlapping rows of one statement fire the trigger.
        Err(RecordError::Store(e)) if e.is_retryable() => return Ok(None),
        Err(e) => return Err(e),
    }
    // Outcomes and the upload log.
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut log_rows = Vec::new();
    let mut logged = HashSet::new();
    for (j, d) in jobs.iter().enumerate() {
        let recorded = d
            .spends
            .iter()
            .filter(|s| {
                new_spends.contains(&s.spend_id) && spend_owner.get(&s.spend_id) == Some(&j)
            })
            .count();
        let mut credited = 0i64;
        for f in &d.finals {
            if new_consumed.contains(&f.id) && final_owner.get(&f.id) == Some(&j) {
                credited += db_int(f.value)?;
            }
        }
        let recorded = i64::try_from(recorded).unwrap_or(i64::MAX);
        if logged.insert(d.payment_hash) {
            log_rows.push(vec![
                Val::Text(hex(&d.payment_hash)),
                Val::Text(hex(&d.depositor)),
                Val::Int(d.account_id),
                Val::Int(db_int(d.amount)?),
                Val::Int(recorded),
                Val::Int(0),
                Val::Int(db_int(d.now)?),
            ]);
        }
        outcomes.push(DepositOutcome {
            payment_hash: d.payment_hash.to_string(),
            account_id: d.account_id,
            status: DepositStatus::Credited,
            amount: db_int(d.amount)?,
            credited,
            spends_recorded: recorded,
            fraud_cases: 0,
            held_id: None,
        });
    }
    insert_rows(
        conn,
        "INSERT INTO deposits (payment_hash, depositor, account_id, amount, spends_recorded, fraud_cases, created)",
        &log_rows,
        "ON CONFLICT (payment_hash) DO UPDATE SET spends_recorded = deposits.spends_recorded + excluded.spends_recorded \
",
        None,
    )
    .await?;
    Ok(Some(outcomes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_up_to_the_limit_and_cover_every_row() {
        assert_eq!(chunk_sizes(0), Vec::<usize>::new());
        assert_eq!(chunk_sizes(13), vec![8, 4, 1]);
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
