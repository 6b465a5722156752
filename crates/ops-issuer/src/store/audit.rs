//! The ledger audit: recomputes the per-note invariant and the account equations over the
//! whole database and lists every violation (docs/STORAGE.md, "Audit"). Read-only; it can
//! run at any time beside the service (`ops-issuer audit`, `GET /api/v1/audit`).

use std::collections::{BTreeMap, HashMap};

use sqlx::Row;

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

fn int(r: &sqlx::any::AnyRow, i: usize) -> Result<i64, StoreError> {
    Ok(r.try_get::<Option<i64>, _>(i)?.unwrap_or(0))
}

impl Store {
    /// Audits the whole ledger (see the module documentation).
    pub async fn audit(&self) -> Result<AuditReport, StoreError> {
        let pool = &self.pool;
        let mut report = AuditReport::default();
        let mut v = Vec::new();

        // Every note with a claim, its value as the ledger knows it.
        let mut value: HashMap<String, i64> = HashMap::new();
        for r in sqlx::query("SELECT note_id, value FROM ledger_notes")
            .fetch_all(pool)
            .await?
        {
            value.insert(r.try_get(0)?, int(&r, 1)?);
        }
        // Claims per note: spends, and the consumption of the note itself.
        let mut claimed: BTreeMap<String, i64> = BTreeMap::new();
        for r in sqlx::query(
            "SELECT input_note, CAST(SUM(range_to - range_from) AS BIGINT), COUNT(*) FROM spends GROUP BY input_note",
        )
        .fetch_all(pool)
        .await?
        {
            let note: String = r.try_get(0)?;
            *claimed.entry(note).or_default() += int(&r, 1)?;
            report.claims += u64::try_from(int(&r, 2)?).unwrap_or(0);
        }
        for r in sqlx::query("SELECT note_id, value FROM consumptions")
            .fetch_all(pool)
            .await?
        {
            let note: String = r.try_get(0)?;
            let amount = int(&r, 1)?;
            report.credited += amount;
            *claimed.entry(note).or_default() += amount;
            report.claims += 1;
        }
        // Coverage per note (and its one value), excess per note.
        let mut covered: HashMap<String, (i64, i64, i64)> = HashMap::new();
        for r in sqlx::query(
            "SELECT note_id, CAST(SUM(range_to - range_from) AS BIGINT), MIN(note_value), MAX(note_value), \
             MIN(range_from), MAX(range_to) FROM coverage GROUP BY note_id",
        )
        .fetch_all(pool)
        .await?
        {
            let note: String = r.try_get(0)?;
            let (sum, lo, hi, first, last) =
                (int(&r, 1)?, int(&r, 2)?, int(&r, 3)?, int(&r, 4)?, int(&r, 5)?);
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
        for r in sqlx::query(
            "SELECT c1.note_id, c1.range_from, c1.range_to, c2.range_from, c2.range_to \
             FROM coverage c1 JOIN coverage c2 ON c1.note_id = c2.note_id \
             AND c1.range_from < c2.range_from AND c2.range_from < c1.range_to",
        )
        .fetch_all(pool)
        .await?
        {
            v.push(Violation {
                rule: "coverage_disjoint",
                subject: r.try_get(0)?,
                detail: format!(
                    "units [{}, {}) and [{}, {}) both covered first",
                    int(&r, 1)?,
                    int(&r, 2)?,
                    int(&r, 3)?,
                    int(&r, 4)?
                ),
            });
        }
        let mut excess: HashMap<String, i64> = HashMap::new();
        for r in sqlx::query(
            "SELECT input_note, CAST(SUM(excess) AS BIGINT) FROM fraud_cases \
             WHERE kind <> 'legacy' GROUP BY input_note",
        )
        .fetch_all(pool)
        .await?
        {
            let e = int(&r, 1)?;
            report.excess += e;
            excess.insert(r.try_get(0)?, e);
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
                "SELECT n.note_id, n.amount, l.value FROM notes n JOIN ledger_notes l ON l.note_id = n.note_id \
                 WHERE l.value <> n.amount",
            ),
            (
                "spend_note_value",
                "SELECT l.note_id, s.range_to - s.range_from, l.value FROM ledger_notes l \
                 JOIN spends s ON s.spend_id = l.note_id WHERE l.value <> s.range_to - s.range_from",
            ),
            (
                "consumed_note_value",
                // A note another FI issued is recorded in that FI's ledger: here its
                // consumption must have been queued for clearing with its payment.
                "SELECT c.note_id, COALESCE(s.range_to - s.range_from, -1), c.value FROM consumptions c \
                 LEFT JOIN spends s ON s.spend_id = c.note_id \
                 WHERE (s.spend_id IS NULL AND NOT EXISTS \
                 (SELECT 1 FROM clearing_outbox o WHERE o.payment_hash = c.deposit)) \
                 OR c.value <> s.range_to - s.range_from",
            ),
        ] {
            for r in sqlx::query(sql).fetch_all(pool).await? {
                v.push(Violation {
                    rule,
                    subject: r.try_get(0)?,
                    detail: format!(
                        "the signed record says {}, the ledger {}",
                        int(&r, 1)?,
                        int(&r, 2)?
                    ),
                });
            }
        }
        // Fraud cases: what was duplicated is recovered or a shortfall, never both or more.
        for r in sqlx::query(
            "SELECT id, excess, debited, shortfall, refunded FROM fraud_cases \
             WHERE debited + shortfall <> excess OR debited < 0 OR shortfall < 0 OR refunded > debited",
        )
        .fetch_all(pool)
        .await?
        {
            v.push(Violation {
                rule: "case_recovery",
                subject: format!("fraud case {}", int(&r, 0)?),
                detail: format!(
                    "excess {}, debited {}, shortfall {}, refunded {}",
                    int(&r, 1)?,
                    int(&r, 2)?,
                    int(&r, 3)?,
                    int(&r, 4)?
                ),
            });
        }
        // Each account: what it started with, less what it funded, plus what it was
        // credited, less what fraud cases recovered from it, plus what dismissals refunded.
        for r in sqlx::query(
            "SELECT a.id, a.balance, a.opening, \
             CAST(COALESCE((SELECT SUM(n.amount) FROM notes n WHERE n.account_id = a.id), 0) AS BIGINT), \
             CAST(COALESCE((SELECT SUM(c.value) FROM consumptions c WHERE c.account_id = a.id), 0) AS BIGINT), \
             CAST(COALESCE((SELECT SUM(f.debited - f.refunded) FROM fraud_cases f \
                   JOIN devices d ON d.cert_id = f.culprit WHERE d.account_id = a.id), 0) AS BIGINT), \
             CAST(COALESCE((SELECT SUM(r.amount) FROM refunds r WHERE r.account_id = a.id), 0) AS BIGINT) \
             FROM accounts a",
        )
        .fetch_all(pool)
        .await?
        {
            report.accounts += 1;
            let (id, balance, opening, funded, credited, recovered, refunded) = (
                int(&r, 0)?,
                int(&r, 1)?,
                int(&r, 2)?,
                int(&r, 3)?,
                int(&r, 4)?,
                int(&r, 5)?,
                int(&r, 6)?,
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
        for r in sqlx::query(
            "SELECT r.note_id, r.amount, n.amount, \
             CAST(COALESCE((SELECT SUM(c.range_to - c.range_from) FROM coverage c \
                   WHERE c.note_id = r.note_id), 0) AS BIGINT) \
             FROM refunds r JOIN notes n ON n.note_id = r.note_id",
        )
        .fetch_all(pool)
        .await?
        {
            let (refunded, value, covered) = (int(&r, 1)?, int(&r, 2)?, int(&r, 3)?);
            report.refunded += refunded;
            if refunded + covered > value {
                v.push(Violation {
                    rule: "refund_within_unclaimed",
                    subject: r.try_get(0)?,
                    detail: format!(
                        "refunded {refunded} and covered {covered} of a note of {value}"
                    ),
                });
            }
        }
        // The global sum: every unit issued is unclaimed, or claimed, or duplicated by a case.
        // Value from other FIs enters this ledger as their issuances, or as the final notes
        // of their chains (recorded at their issuer, consumed here for a merchant).
        let g = sqlx::query(
            "SELECT \
             CAST(COALESCE((SELECT SUM(amount) FROM notes), 0) AS BIGINT), \
             CAST(COALESCE((SELECT SUM(l.value) FROM ledger_notes l WHERE (l.kind = 'issuance' \
                   AND NOT EXISTS (SELECT 1 FROM notes n WHERE n.note_id = l.note_id)) \
                   OR (l.kind = 'spend' AND NOT EXISTS (SELECT 1 FROM spends s WHERE s.spend_id = l.note_id))), 0) AS BIGINT), \
             CAST(COALESCE((SELECT SUM(range_to - range_from) FROM spends), 0) AS BIGINT), \
             CAST(COALESCE((SELECT SUM(range_to - range_from) FROM coverage), 0) AS BIGINT), \
             (SELECT COUNT(*) FROM held_deposits WHERE status = 'held')",
        )
        .fetch_one(pool)
        .await?;
        let (own, foreign, spent, cov) = (int(&g, 0)?, int(&g, 1)?, int(&g, 2)?, int(&g, 3)?);
        report.issued = own;
        report.held = int(&g, 4)?;
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
