//! The central bank's database: claims forwarded between FIs with their issuers' answers,
//! clearing cycles with each FI's net position, the reserve accounts, and the root CRL's
//! entries. SQLite by default, PostgreSQL by URL, like the FI's store.

use std::collections::BTreeMap;

use ops_api::clearing::{ClaimStatus, CycleStatement, Position};
use ops_core::{CertId, Digest32};
use sqlx::AnyPool;

use crate::store::{Backend, Hex, StoreError, begin_write, db_int, open_pool};

/// A kept claim's answer so far (the columns of a [`StoredClaim`]).
#[derive(sqlx::FromRow)]
struct ClaimRow {
    id: i64,
    status: String,
    credited: i64,
    reason: String,
}

/// A credited claim to net: who forwarded it, on whose notes, for how much.
#[derive(sqlx::FromRow)]
struct NetRow {
    id: i64,
    from_fi: Hex<CertId>,
    issuer: Hex<CertId>,
    credited: i64,
}

/// A new row's id (`RETURNING id`).
#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}

/// An FI's reserve balance.
#[derive(sqlx::FromRow)]
struct ReserveRow {
    fi: String,
    balance: i64,
}

/// A sum (`total`).
#[derive(sqlx::FromRow)]
struct TotalRow {
    total: i64,
}

/// A root CRL entry's serial.
#[derive(sqlx::FromRow)]
struct SerialRow {
    serial: i64,
}

/// The ledger's counts, for the audit.
#[derive(sqlx::FromRow)]
struct CountsRow {
    claims: i64,
    netted: i64,
    unnetted: i64,
    cycles: i64,
}

/// A netted claim, for the audit.
#[derive(sqlx::FromRow)]
struct NettedRow {
    cycle: i64,
    from_fi: String,
    issuer: String,
    credited: i64,
    status: String,
}

/// A stored position.
#[derive(sqlx::FromRow)]
struct PositionRow {
    cycle: i64,
    fi: String,
    net: i64,
}

/// A closed cycle's recorded totals.
#[derive(sqlx::FromRow)]
struct CycleRow {
    id: i64,
    claims: i64,
    gross: i64,
}

/// The number and signing time of a member's CRL held.
#[derive(sqlx::FromRow)]
struct HeldCrlRow {
    number: i64,
    issued: i64,
}

/// A member's CRL (canonical bytes).
#[derive(sqlx::FromRow)]
struct CrlRow {
    crl: Vec<u8>,
}

/// The central bank's database.
#[derive(Debug, Clone)]
pub struct CentralStore {
    pool: AnyPool,
    backend: Backend,
}

/// A claim as the central bank keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClaim {
    /// Its row.
    pub id: i64,
    /// What the issuer answered so far.
    pub status: ClaimStatus,
    /// The issuer's total for it.
    pub credited: i64,
    /// Why refused or held.
    pub reason: String,
}

/// A claim to keep (once).
#[derive(Debug, Clone)]
pub struct NewClaim<'a> {
    /// The forwarding FI.
    pub from_fi: CertId,
    /// The issuing FI.
    pub issuer: CertId,
    /// Payment hash.
    pub payment_hash: Digest32,
    /// The merchant credited.
    pub depositor: CertId,
    /// When it was credited.
    pub deposited_at: u64,
    /// The payment's bytes.
    pub payment: &'a [u8],
}

/// One broken rule of the central bank's ledger.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CentralViolation {
    /// Which rule.
    pub rule: &'static str,
    /// The cycle, FI or claim concerned.
    pub subject: String,
    /// What the numbers are.
    pub detail: String,
}

/// The central bank's audit.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CentralAudit {
    /// Claims kept.
    pub claims: i64,
    /// Credited claims netted in a cycle.
    pub netted: i64,
    /// Credited claims not netted yet.
    pub unnetted: i64,
    /// Cycles closed.
    pub cycles: i64,
    /// Sum of the reserve balances (zero when sound).
    pub reserves_sum: i64,
    /// Every violation; empty when sound.
    pub violations: Vec<CentralViolation>,
}

fn status_of(s: &str) -> Result<ClaimStatus, StoreError> {
    ClaimStatus::parse(s).ok_or_else(|| StoreError::Corrupt(format!("claim status {s:?}")))
}

impl CentralStore {
    /// Opens and migrates the database at `location`.
    pub async fn connect(location: &str) -> Result<Self, StoreError> {
        let (pool, backend) = open_pool(location).await?;
        if backend == Backend::Sqlite {
            sqlx::migrate!("migrations-central/sqlite")
                .run(&pool)
                .await?;
        } else {
            sqlx::migrate!("migrations-central/postgres")
                .run(&pool)
                .await?;
        }
        Ok(Self { pool, backend })
    }

    /// Keeps each of `claims` unless kept before, in one transaction; returns them as
    /// stored, in order.
    pub async fn keep_claims(
        &self,
        claims: &[NewClaim<'_>],
        now: u64,
    ) -> Result<Vec<StoredClaim>, StoreError> {
        let mut tx = begin_write(&self.pool, self.backend).await?;
        let mut out = Vec::with_capacity(claims.len());
        for claim in claims {
            sqlx::query(
                "INSERT INTO claims (from_fi, issuer, payment_hash, depositor, deposited_at, payment, created) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (from_fi, issuer, payment_hash) DO NOTHING",
            )
            .bind(Hex(claim.from_fi))
            .bind(Hex(claim.issuer))
            .bind(Hex(claim.payment_hash))
            .bind(Hex(claim.depositor))
            .bind(db_int(claim.deposited_at)?)
            .bind(claim.payment)
            .bind(db_int(now)?)
            .execute(&mut *tx)
            .await?;
            let r: ClaimRow = sqlx::query_as(
                "SELECT id, status, credited, reason FROM claims \
                 WHERE from_fi = $1 AND issuer = $2 AND payment_hash = $3",
            )
            .bind(Hex(claim.from_fi))
            .bind(Hex(claim.issuer))
            .bind(Hex(claim.payment_hash))
            .fetch_one(&mut *tx)
            .await?;
            out.push(StoredClaim {
                id: r.id,
                status: status_of(&r.status)?,
                credited: r.credited,
                reason: r.reason,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Keeps the issuers' answers `(claim id, status, credited, reason)` in one
    /// transaction, each unless a final one was kept before (an answer is the issuer's
    /// total, the same on every retry; a final one never changes; a pending one changes
    /// nothing).
    pub async fn answer(
        &self,
        answers: &[(i64, ClaimStatus, i64, String)],
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool, self.backend).await?;
        for (id, status, credited, reason) in answers {
            if *status == ClaimStatus::Pending {
                continue;
            }
            sqlx::query(
                "UPDATE claims SET status = $1, credited = $2, reason = $3 \
                 WHERE id = $4 AND status IN ('pending', 'held')",
            )
            .bind(status.as_str())
            .bind(if *status == ClaimStatus::Credited {
                (*credited).max(0)
            } else {
                0
            })
            .bind(reason)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Closes a clearing cycle: nets every credited claim not netted yet into each FI's
    /// position (what its merchants were credited for others' notes, less what others'
    /// merchants were credited for its notes), moves the reserve balances by it, all in one
    /// transaction. A cycle with no claims is not opened (cycle 0 in the statement).
    pub async fn close_cycle(&self, now: u64) -> Result<CycleStatement, StoreError> {
        let mut tx = begin_write(&self.pool, self.backend).await?;
        let rows: Vec<NetRow> = sqlx::query_as(
            "SELECT id, from_fi, issuer, credited FROM claims \
             WHERE status = 'credited' AND cycle IS NULL ORDER BY id",
        )
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(CycleStatement {
                cycle: 0,
                claims: 0,
                gross: 0,
                positions: Vec::new(),
            });
        }
        let mut net: BTreeMap<CertId, i64> = BTreeMap::new();
        let mut gross = 0i64;
        let mut ids = Vec::with_capacity(rows.len());
        for NetRow {
            id,
            from_fi: from,
            issuer,
            credited,
        } in rows
        {
            ids.push(id);
            gross = gross
                .checked_add(credited)
                .ok_or_else(|| StoreError::Corrupt("gross overflows".into()))?;
            *net.entry(from.0).or_default() += credited;
            *net.entry(issuer.0).or_default() -= credited;
        }
        let claims = i64::try_from(ids.len()).unwrap_or(i64::MAX);
        let IdRow { id: cycle } = sqlx::query_as(
            "INSERT INTO cycles (closed_at, claims, gross) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(db_int(now)?)
        .bind(claims)
        .bind(gross)
        .fetch_one(&mut *tx)
        .await?;
        for id in ids {
            let netted =
                sqlx::query("UPDATE claims SET cycle = $1 WHERE id = $2 AND cycle IS NULL")
                    .bind(cycle)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            if netted.rows_affected() != 1 {
                // A concurrent close netted it first: this one nets nothing.
                tx.rollback().await?;
                return Err(StoreError::Conflict);
            }
        }
        let mut positions = Vec::with_capacity(net.len());
        for (fi, amount) in net {
            sqlx::query("INSERT INTO positions (cycle, fi, net) VALUES ($1, $2, $3)")
                .bind(cycle)
                .bind(Hex(fi))
                .bind(amount)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO reserves (fi, balance) VALUES ($1, $2) \
                 ON CONFLICT (fi) DO UPDATE SET balance = reserves.balance + excluded.balance",
            )
            .bind(Hex(fi))
            .bind(amount)
            .execute(&mut *tx)
            .await?;
            positions.push(Position {
                fi: fi.to_string(),
                net: amount,
            });
        }
        tx.commit().await?;
        Ok(CycleStatement {
            cycle,
            claims,
            gross,
            positions,
        })
    }

    /// Every FI's reserve balance.
    pub async fn reserves(&self) -> Result<Vec<Position>, StoreError> {
        let rows: Vec<ReserveRow> = sqlx::query_as("SELECT fi, balance FROM reserves ORDER BY fi")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Position {
                fi: r.fi,
                net: r.balance,
            })
            .collect())
    }

    /// What the claims of `from_fi` on `issuer`'s notes were credited, in total (netted or
    /// not).
    pub async fn credited_between(
        &self,
        from_fi: &CertId,
        issuer: &CertId,
    ) -> Result<i64, StoreError> {
        let row: TotalRow = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(credited), 0) AS BIGINT) AS total FROM claims \
             WHERE from_fi = $1 AND issuer = $2 AND status = 'credited'",
        )
        .bind(Hex(*from_fi))
        .bind(Hex(*issuer))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.total)
    }

    /// Revokes FI `fi` (its certificate serial) in the root CRL; whether it was new.
    pub async fn revoke_fi(
        &self,
        serial: u64,
        fi: &CertId,
        reason: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "INSERT INTO root_revocations (serial, fi, reason, revoked_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (serial) DO NOTHING",
        )
        .bind(db_int(serial)?)
        .bind(Hex(*fi))
        .bind(reason)
        .bind(db_int(now)?)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// The root CRL's entries (serials ascending) and its version (how many there are).
    pub async fn root_revocations(&self) -> Result<Vec<u64>, StoreError> {
        let rows: Vec<SerialRow> =
            sqlx::query_as("SELECT serial FROM root_revocations ORDER BY serial")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|r| u64::try_from(r.serial).unwrap_or(0))
            .collect())
    }

    /// Recomputes the clearing ledger and lists every broken rule: positions sum to zero
    /// per cycle and each equals the claims netted in it; every reserve balance is the sum
    /// of its FI's positions and the balances sum to zero; a cycle's gross and count are
    /// its claims'.
    pub async fn audit(&self) -> Result<CentralAudit, StoreError> {
        let mut a = CentralAudit::default();
        let mut v = Vec::new();
        let counts: CountsRow = sqlx::query_as(
            "SELECT COUNT(*) AS claims, \
             COALESCE(SUM(CASE WHEN status = 'credited' AND cycle IS NOT NULL THEN 1 ELSE 0 END), 0) AS netted, \
             COALESCE(SUM(CASE WHEN status = 'credited' AND cycle IS NULL THEN 1 ELSE 0 END), 0) AS unnetted, \
             (SELECT COUNT(*) FROM cycles) AS cycles FROM claims",
        )
        .fetch_one(&self.pool)
        .await?;
        a.claims = counts.claims;
        a.netted = counts.netted;
        a.unnetted = counts.unnetted;
        a.cycles = counts.cycles;
        // Positions recomputed from the claims of each cycle.
        let mut expected: BTreeMap<(i64, String), i64> = BTreeMap::new();
        let mut per_cycle: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
        let netted: Vec<NettedRow> = sqlx::query_as(
            "SELECT cycle, from_fi, issuer, credited, status FROM claims WHERE cycle IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        for NettedRow {
            cycle,
            from_fi: from,
            issuer,
            credited,
            status,
        } in netted
        {
            if status != "credited" {
                v.push(CentralViolation {
                    rule: "netted_claim_credited",
                    subject: format!("cycle {cycle}"),
                    detail: format!("a {status} claim was netted"),
                });
            }
            *expected.entry((cycle, from)).or_default() += credited;
            *expected.entry((cycle, issuer)).or_default() -= credited;
            let c = per_cycle.entry(cycle).or_default();
            c.0 += 1;
            c.1 += credited;
        }
        let mut stored: BTreeMap<(i64, String), i64> = BTreeMap::new();
        let mut by_fi: BTreeMap<String, i64> = BTreeMap::new();
        let mut cycle_sum: BTreeMap<i64, i64> = BTreeMap::new();
        let positions: Vec<PositionRow> = sqlx::query_as("SELECT cycle, fi, net FROM positions")
            .fetch_all(&self.pool)
            .await?;
        for PositionRow { cycle, fi, net } in positions {
            *by_fi.entry(fi.clone()).or_default() += net;
            *cycle_sum.entry(cycle).or_default() += net;
            stored.insert((cycle, fi), net);
        }
        expected.retain(|_, n| *n != 0);
        stored.retain(|_, n| *n != 0);
        if expected != stored {
            v.push(CentralViolation {
                rule: "positions_are_the_claims",
                subject: "positions".into(),
                detail: format!("stored {stored:?}, the netted claims give {expected:?}"),
            });
        }
        for (cycle, sum) in cycle_sum {
            if sum != 0 {
                v.push(CentralViolation {
                    rule: "cycle_nets_to_zero",
                    subject: format!("cycle {cycle}"),
                    detail: format!("positions sum to {sum}"),
                });
            }
        }
        let cycles: Vec<CycleRow> = sqlx::query_as("SELECT id, claims, gross FROM cycles")
            .fetch_all(&self.pool)
            .await?;
        for CycleRow { id, claims, gross } in cycles {
            let found = per_cycle.get(&id).copied().unwrap_or_default();
            if found != (claims, gross) {
                v.push(CentralViolation {
                    rule: "cycle_totals",
                    subject: format!("cycle {id}"),
                    detail: format!(
                        "recorded {claims} claims of {gross}, its claims are {} of {}",
                        found.0, found.1
                    ),
                });
            }
        }
        for p in self.reserves().await? {
            a.reserves_sum += p.net;
            let sum = by_fi.remove(&p.fi).unwrap_or(0);
            if sum != p.net {
                v.push(CentralViolation {
                    rule: "reserve_is_positions",
                    subject: p.fi.clone(),
                    detail: format!("reserve {} but positions sum to {sum}", p.net),
                });
            }
        }
        for (fi, sum) in by_fi {
            if sum != 0 {
                v.push(CentralViolation {
                    rule: "reserve_is_positions",
                    subject: fi,
                    detail: format!("no reserve account but positions sum to {sum}"),
                });
            }
        }
        if a.reserves_sum != 0 {
            v.push(CentralViolation {
                rule: "reserves_net_to_zero",
                subject: "reserves".into(),
                detail: format!("reserve balances sum to {}", a.reserves_sum),
            });
        }
        a.violations = v;
        Ok(a)
    }
}

impl CentralStore {
    /// Keeps member `fi`'s verified CRL if newer than the one held.
    pub async fn keep_fi_crl(
        &self,
        fi: &CertId,
        number: u64,
        issued: u64,
        crl: &[u8],
    ) -> Result<(), StoreError> {
        let held: Option<HeldCrlRow> =
            sqlx::query_as("SELECT number, issued FROM fi_crls WHERE fi = $1")
                .bind(Hex(*fi))
                .fetch_optional(&self.pool)
                .await?;
        if let Some(h) = held
            && (h.number, h.issued) >= (db_int(number)?, db_int(issued)?)
        {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO fi_crls (fi, number, issued, crl) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (fi) DO UPDATE SET number = excluded.number, issued = excluded.issued, \
             crl = excluded.crl WHERE fi_crls.number < excluded.number \
             OR (fi_crls.number = excluded.number AND fi_crls.issued < excluded.issued)",
        )
        .bind(Hex(*fi))
        .bind(db_int(number)?)
        .bind(db_int(issued)?)
        .bind(crl)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The members' CRLs held (canonical bytes).
    pub async fn fi_crls(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows: Vec<CrlRow> = sqlx::query_as("SELECT crl FROM fi_crls ORDER BY fi")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| r.crl).collect())
    }
}
