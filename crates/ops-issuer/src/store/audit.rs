//! The ledger audit: recomputes the per-note invariant and the account equations over the
//! whole database and lists every violation (docs/STORAGE.md, "Audit"). Read-only; it can
//! run at any time beside the service (`ops-issuer audit`, `GET /api/v1/audit`).

use std::collections::{BTreeMap, HashMap};

use super::{Store, StoreError};

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// Which rule (a stable code).
    pub rule: &'static str,
    /// The note, account or case concerned.
    pub subject: String,
    /// What the numbers are.
    pub detail: String,
}

/// The audit's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AuditReport {
    /// Notes checked (every note that has a claim on it).
    pub notes: u64,
    /// Claims on them: spends and consumptions.
    pub claims: u64,
    /// Accounts checked.
    pub accounts: u64,
    /// Value of the FI's own issuances.
    pub issued: i64,
    /// Value credited by deposits and defunds.
    pub credited: i64,
    /// Value claimed more than once (sum of the fraud cases' excess; cases migrated from
    /// before the per-note ledger, kind `legacy`, are outside it and not counted).
    pub excess: i64,
    /// Value of all notes not claimed by anything (still spendable or unspent).
    pub unclaimed: i64,
    /// Deposits waiting for an operator.
    pub held: i64,
    /// Value refunded to the holders of lost, stolen or replaced devices (units no claim
    /// covered by the notes' deposit deadline).
    pub refunded: i64,
    /// Every violation found; empty when the ledger is sound.
    pub violations: Vec<Violation>,
}

/// A stored integer, NULL (an empty sum) read as 0.
fn int(v: Option<i64>) -> i64 {
    v.unwrap_or(0)
}

// The rows the audit reads. Note ids stay text here: a malformed one is reported as the
// subject of a violation, never a reason for the audit to fail.

/// A note's value as the ledger knows it.
#[derive(sqlx::FromRow)]
struct NoteValueRow {
    note_id: String,
    value: Option<i64>,
}

/// The units a note's spends take, and how many spends.
#[derive(sqlx::FromRow)]
struct SpentRow {
    note_id: String,
    units: Option<i64>,
    spends: Option<i64>,
}

/// A note's coverage: units, the note value its rows give, the range they reach.
#[derive(sqlx::FromRow)]
struct CoverageRow {
    note_id: String,
    units: Option<i64>,
    lo: Option<i64>,
    hi: Option<i64>,
    first_unit: Option<i64>,
    last_unit: Option<i64>,
}

/// Two coverage rows of one note that overlap.
#[derive(sqlx::FromRow)]
struct OverlapRow {
    note_id: String,
    a_from: Option<i64>,
    a_to: Option<i64>,
    b_from: Option<i64>,
    b_to: Option<i64>,
}

/// The excess of a note's fraud cases.
#[derive(sqlx::FromRow)]
struct ExcessRow {
    note_id: String,
    excess: Option<i64>,
}

/// A note whose signed record and ledger disagree on its value.
#[derive(sqlx::FromRow)]
struct MismatchRow {
    note_id: String,
    signed: Option<i64>,
    ledger: Option<i64>,
}

/// A fraud case's recovery.
#[derive(sqlx::FromRow)]
struct RecoveryRow {
    id: Option<i64>,
    excess: Option<i64>,
    debited: Option<i64>,
    shortfall: Option<i64>,
    refunded: Option<i64>,
}

/// An account's balance and the terms of its equation.
#[derive(sqlx::FromRow)]
struct AccountRow {
    id: Option<i64>,
    balance: Option<i64>,
    opening: Option<i64>,
    funded: Option<i64>,
    credited: Option<i64>,
    recovered: Option<i64>,
    refunded: Option<i64>,
}

/// A refund, its note's value and what claims covered of it.
#[derive(sqlx::FromRow)]
struct RefundRow {
    note_id: String,
    refunded: Option<i64>,
    value: Option<i64>,
    covered: Option<i64>,
}

/// The global sums.
#[derive(sqlx::FromRow)]
struct GlobalRow {
    own: Option<i64>,
    #[sqlx(rename = "foreign_value")]
    foreign: Option<i64>,
    spent: Option<i64>,
    covered: Option<i64>,
    held: Option<i64>,
}

impl Store {
    /// Audits the whole ledger (see the module documentation).
    pub async fn audit(&self) -> Result<AuditReport, StoreError> {
        let pool = &self.pool;
        let mut report = AuditReport::default();
        let mut v = Vec::new();

        // Every note with a claim, its value as the ledger knows it.
        let mut value: HashMap<String, i64> = HashMap::new();
        let rows: Vec<NoteValueRow> = sqlx::query_as("SELECT note_id, value FROM ledger_notes")
            .fetch_all(pool)
            .await?;
        for r in rows {
            value.insert(r.note_id, int(r.value));
        }
        // Claims per note: spends, and the consumption of the note itself.
        let mut claimed: BTreeMap<String, i64> = BTreeMap::new();
        let rows: Vec<SpentRow> = sqlx::query_as(
            "SELECT input_note AS note_id, CAST(SUM(range_to - range_from) AS BIGINT) AS units, \
             COUNT(*) AS spends FROM spends GROUP BY input_note",
        )
        .fetch_all(pool)
        .await?;
        for r in rows {
            *claimed.entry(r.note_id).or_default() += int(r.units);
            report.claims += u64::try_from(int(r.spends)).unwrap_or(0);
        }
        let rows: Vec<NoteValueRow> = sqlx::query_as("SELECT note_id, value FROM consumptions")
            .fetch_all(pool)
            .await?;
        for r in rows {
            let amount = int(r.value);
            report.credited += amount;
            *claimed.entry(r.note_id).or_default() += amount;
            report.claims += 1;
        }
        // Coverage per note (and its one value), excess per note.
        let mut covered: HashMap<String, (i64, i64, i64)> = HashMap::new();
        let rows: Vec<CoverageRow> = sqlx::query_as(
            "SELECT note_id, CAST(SUM(range_to - range_from) AS BIGINT) AS units, \
             MIN(note_value) AS lo, MAX(note_value) AS hi, \
             MIN(range_from) AS first_unit, MAX(range_to) AS last_unit FROM coverage GROUP BY note_id",
        )
        .fetch_all(pool)
        .await?;
        for r in rows {
            let note = r.note_id;
            let (sum, lo, hi, first, last) = (
                int(r.units),
                int(r.lo),
                int(r.hi),
                int(r.first_unit),
                int(r.last_unit),
            );
            if lo != hi {
                v.push(Violation {
                    rule: "coverage_one_value",
                    subject: note.clone(),
                    detail: format!("coverage rows give the note values {lo} and {hi}"),
                });
            }
            if first < 0 || last > lo {
                v.push(Violation {
                    rule: "coverage_within_value",
                    subject: note.clone(),
                    detail: format!("coverage reaches [{first}, {last}) of a note of {lo}"),
                });
            }
            covered.insert(note, (sum, lo, last));
        }
        let rows: Vec<OverlapRow> = sqlx::query_as(
            "SELECT c1.note_id, c1.range_from AS a_from, c1.range_to AS a_to, \
             c2.range_from AS b_from, c2.range_to AS b_to \
             FROM coverage c1 JOIN coverage c2 ON c1.note_id = c2.note_id \
             AND c1.range_from < c2.range_from AND c2.range_from < c1.range_to",
        )
        .fetch_all(pool)
        .await?;
        for r in rows {
            v.push(Violation {
                rule: "coverage_disjoint",
                subject: r.note_id,
                detail: format!(
                    "units [{}, {}) and [{}, {}) both covered first",
                    int(r.a_from),
                    int(r.a_to),
                    int(r.b_from),
                    int(r.b_to)
                ),
            });
        }
        let mut excess: HashMap<String, i64> = HashMap::new();
        let rows: Vec<ExcessRow> = sqlx::query_as(
            "SELECT input_note AS note_id, CAST(SUM(excess) AS BIGINT) AS excess FROM fraud_cases \
             WHERE kind <> 'legacy' GROUP BY input_note",
        )
        .fetch_all(pool)
        .await?;
        for r in rows {
            let e = int(r.excess);
            report.excess += e;
            excess.insert(r.note_id, e);
        }
        // The per-note invariant: what the claims took is what they covered first plus
        // the units a fraud case counts as duplicated; coverage within the note's value.
        let mut notes: std::collections::BTreeSet<&String> = claimed.keys().collect();
        notes.extend(covered.keys());
        notes.extend(excess.keys());
        for note in notes {
            report.notes += 1;
            let took = claimed.get(note).copied().unwrap_or(0);
            let (cov, cov_value, _) = covered.get(note).copied().unwrap_or((0, 0, 0));
            let dup = excess.get(note).copied().unwrap_or(0);
            if took != cov + dup {
                v.push(Violation {
                    rule: "note_conservation",
                    subject: note.clone(),
                    detail: format!(
                        "claims take {took} but {cov} is covered once and {dup} is in fraud cases: {} unaccounted",
                        took - cov - dup
                    ),
                });
            }
            match value.get(note) {
                None if took > 0 => v.push(Violation {
                    rule: "note_known",
                    subject: note.clone(),
                    detail: "claimed, but the ledger does not know its value".into(),
                }),
                Some(val) if cov > *val || (cov > 0 && cov_value != *val) => v.push(Violation {
                    rule: "note_value",
                    subject: note.clone(),
                    detail: format!("value {val}, covered {cov} (coverage says {cov_value})"),
                }),
                _ => {}
            }
        }
        // The ledger's values agree with the signed records.
        for (rule, sql) in [
            (
                "issuance_value",
                "SELECT n.note_id, n.amount AS signed, l.value AS ledger FROM notes n \
                 JOIN ledger_notes l ON l.note_id = n.note_id WHERE l.value <> n.amount",
            ),
            (
                "spend_note_value",
                "SELECT l.note_id, s.range_to - s.range_from AS signed, l.value AS ledger FROM ledger_notes l \
                 JOIN spends s ON s.spend_id = l.note_id WHERE l.value <> s.range_to - s.range_from",
            ),
            (
                "consumed_note_value",
                // A note another FI issued is recorded in that FI's ledger: here its
                // consumption must have been queued for clearing with its payment.
                "SELECT c.note_id, COALESCE(s.range_to - s.range_from, -1) AS signed, c.value AS ledger \
                 FROM consumptions c \
                 LEFT JOIN spends s ON s.spend_id = c.note_id \
                 WHERE (s.spend_id IS NULL AND NOT EXISTS \
                 (SELECT 1 FROM clearing_outbox o WHERE o.payment_hash = c.deposit)) \
                 OR c.value <> s.range_to - s.range_from",
            ),
        ] {
            let rows: Vec<MismatchRow> = sqlx::query_as(sql).fetch_all(pool).await?;
            for r in rows {
                v.push(Violation {
                    rule,
                    subject: r.note_id,
                    detail: format!(
                        "the signed record says {}, the ledger {}",
                        int(r.signed),
                        int(r.ledger)
                    ),
                });
            }
        }
        // Fraud cases: what was duplicated is recovered or a shortfall, never both or more.
        let rows: Vec<RecoveryRow> = sqlx::query_as(
            "SELECT id, excess, debited, shortfall, refunded FROM fraud_cases \
             WHERE debited + shortfall <> excess OR debited < 0 OR shortfall < 0 OR refunded > debited",
        )
        .fetch_all(pool)
        .await?;
        for r in rows {
            v.push(Violation {
                rule: "case_recovery",
                subject: format!("fraud case {}", int(r.id)),
                detail: format!(
                    "excess {}, debited {}, shortfall {}, refunded {}",
                    int(r.excess),
                    int(r.debited),
                    int(r.shortfall),
                    int(r.refunded)
                ),
            });
        }
        // Each account: what it started with, less what it funded, plus what it was
        // credited, less what fraud cases recovered from it, plus what dismissals refunded.
        let rows: Vec<AccountRow> = sqlx::query_as(
            "SELECT a.id, a.balance, a.opening, \
             CAST(COALESCE((SELECT SUM(n.amount) FROM notes n WHERE n.account_id = a.id), 0) AS BIGINT) AS funded, \
             CAST(COALESCE((SELECT SUM(c.value) FROM consumptions c WHERE c.account_id = a.id), 0) AS BIGINT) AS credited, \
             CAST(COALESCE((SELECT SUM(f.debited - f.refunded) FROM fraud_cases f \
                   JOIN devices d ON d.cert_id = f.culprit WHERE d.account_id = a.id), 0) AS BIGINT) AS recovered, \
             CAST(COALESCE((SELECT SUM(r.amount) FROM refunds r WHERE r.account_id = a.id), 0) AS BIGINT) AS refunded \
             FROM accounts a",
        )
        .fetch_all(pool)
        .await?;
        for r in rows {
            report.accounts += 1;
            let (id, balance, opening, funded, credited, recovered, refunded) = (
                int(r.id),
                int(r.balance),
                int(r.opening),
                int(r.funded),
                int(r.credited),
                int(r.recovered),
                int(r.refunded),
            );
            let expected = opening - funded + credited - recovered + refunded;
            if balance != expected {
                v.push(Violation {
                    rule: "account_balance",
                    subject: format!("account {id}"),
                    detail: format!(
                        "balance {balance}, but opening {opening} - funded {funded} + credited {credited} - recovered {recovered} + refunded {refunded} = {expected}"
                    ),
                });
            }
        }
        // A refund gives back only what no claim covered, once: refunded + covered never
        // exceeds the note's value.
        let rows: Vec<RefundRow> = sqlx::query_as(
            "SELECT r.note_id, r.amount AS refunded, n.amount AS value, \
             CAST(COALESCE((SELECT SUM(c.range_to - c.range_from) FROM coverage c \
                   WHERE c.note_id = r.note_id), 0) AS BIGINT) AS covered \
             FROM refunds r JOIN notes n ON n.note_id = r.note_id",
        )
        .fetch_all(pool)
        .await?;
        for r in rows {
            let (refunded, value, covered) = (int(r.refunded), int(r.value), int(r.covered));
            report.refunded += refunded;
            if refunded + covered > value {
                v.push(Violation {
                    rule: "refund_within_unclaimed",
                    subject: r.note_id,
                    detail: format!(
                        "refunded {refunded} and covered {covered} of a note of {value}"
                    ),
                });
            }
        }
        // The global sum: every unit issued is unclaimed, or claimed, or duplicated by a case.
        // Value from other FIs enters this ledger as their issuances, or as the final notes
        // of their chains (recorded at their issuer, consumed here for a merchant).
        let g: GlobalRow = sqlx::query_as(
            "SELECT \
             CAST(COALESCE((SELECT SUM(amount) FROM notes), 0) AS BIGINT) AS own, \
             CAST(COALESCE((SELECT SUM(l.value) FROM ledger_notes l WHERE (l.kind = 'issuance' \
                   AND NOT EXISTS (SELECT 1 FROM notes n WHERE n.note_id = l.note_id)) \
                   OR (l.kind = 'spend' AND NOT EXISTS (SELECT 1 FROM spends s WHERE s.spend_id = l.note_id))), 0) AS BIGINT) AS foreign_value, \
             CAST(COALESCE((SELECT SUM(range_to - range_from) FROM spends), 0) AS BIGINT) AS spent, \
             CAST(COALESCE((SELECT SUM(range_to - range_from) FROM coverage), 0) AS BIGINT) AS covered, \
             (SELECT COUNT(*) FROM held_deposits WHERE status = 'held') AS held",
        )
        .fetch_one(pool)
        .await?;
        let (own, foreign, spent, cov) = (int(g.own), int(g.foreign), int(g.spent), int(g.covered));
        report.issued = own;
        report.held = int(g.held);
        report.unclaimed = own + foreign + spent - cov - report.refunded;
        if report.unclaimed != own + foreign - report.credited - report.refunded + report.excess {
            v.push(Violation {
                rule: "global_conservation",
                subject: "ledger".into(),
                detail: format!(
                    "unclaimed {} but issued {} (+{foreign} of other FIs) - credited {} - refunded {} + excess {} = {}",
                    report.unclaimed,
                    own,
                    report.credited,
                    report.refunded,
                    report.excess,
                    own + foreign - report.credited - report.refunded + report.excess
                ),
            });
        }
        if report.unclaimed < 0 {
            v.push(Violation {
                rule: "global_unclaimed",
                subject: "ledger".into(),
                detail: format!("unclaimed value is {}", report.unclaimed),
            });
        }
        report.violations = v;
        Ok(report)
    }
}
