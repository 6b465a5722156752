//! Clearing between FIs, on the FI's side (docs/API.md, "Clearing"): the outbox of claims
//! on other FIs' notes that this FI's merchants were credited for (queued in the deposit's
//! own transaction, see `deposits::batch`), their answers, and the accounts of peer FIs
//! whose merchants claimed this FI's notes.

use sqlx::{AnyConnection, Row};

use super::{LedgerNote, Store, StoreError, db_int};
use ops_api::clearing::{ClaimStatus, ClearingSummary, Position};

/// A claim waiting to be forwarded (or asked again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxClaim {
    /// Its row.
    pub id: i64,
    /// The issuing FI (hex).
    pub issuer: String,
    /// The payment's hash (hex).
    pub payment_hash: String,
    /// The merchant device credited (hex).
    pub depositor: String,
    /// The payment's canonical bytes.
    pub payment: Vec<u8>,
    /// When the merchant was credited.
    pub deposited_at: u64,
}

/// Queues, in the deposit's transaction, the claims of a credited payment on each issuer
/// in `issuers` (once per issuer and payment).
pub(crate) async fn queue(
    conn: &mut AnyConnection,
    issuers: &[String],
    payment_hash: &str,
    depositor: &str,
    payment: &[u8],
    now: u64,
) -> Result<(), StoreError> {
    for issuer in issuers {
        sqlx::query(
            "INSERT INTO clearing_outbox (issuer, payment_hash, depositor, payment, deposited_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (issuer, payment_hash) DO NOTHING",
        )
        .bind(issuer)
        .bind(payment_hash)
        .bind(depositor)
        .bind(payment)
        .bind(db_int(now)?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// The account of peer FI `fi` (hex) at this FI, created on first use.
    pub async fn peer_account(&self, fi: &str, now: u64) -> Result<i64, StoreError> {
        if let Some(id) = self.existing_peer_account(fi).await? {
            return Ok(id);
        }
        let mut tx = self.begin_write().await?;
        let account: i64 = sqlx::query(
            "INSERT INTO accounts (name, balance, created) VALUES ($1, 0, $2) RETURNING id",
        )
        .bind(format!("clearing: FI {fi}"))
        .bind(db_int(now)?)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let linked = sqlx::query(
            "INSERT INTO peer_accounts (fi, account_id) VALUES ($1, $2) ON CONFLICT (fi) DO NOTHING",
        )
        .bind(fi)
        .bind(account)
        .execute(&mut *tx)
        .await?;
        if linked.rows_affected() == 1 {
            tx.commit().await?;
            return Ok(account);
        }
        // A concurrent request linked one first: use it, create nothing.
        tx.rollback().await?;
        self.existing_peer_account(fi)
            .await?
            .ok_or(StoreError::NotFound("peer account"))
    }

    async fn existing_peer_account(&self, fi: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query("SELECT account_id FROM peer_accounts WHERE fi = $1")
                .bind(fi)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get::<i64, _>(0))
                .transpose()?,
        )
    }

    /// The value of `finals` consumed for `account` (whenever): what a claim has been
    /// credited in total, the same on every retry.
    pub async fn consumed_for(
        &self,
        account: i64,
        finals: &[LedgerNote],
    ) -> Result<i64, StoreError> {
        let mut total = 0i64;
        let mut seen = std::collections::HashSet::new();
        for f in finals {
            if !seen.insert(f.id.as_str()) {
                continue;
            }
            let row = sqlx::query(
                "SELECT value FROM consumptions WHERE note_id = $1 AND account_id = $2",
            )
            .bind(&f.id)
            .bind(account)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(r) = row {
                total += r.try_get::<i64, _>(0)?;
            }
        }
        Ok(total)
    }

    /// Up to `limit` claims after row `after` not answered finally yet (pending, or held
    /// at the issuer), oldest first.
    pub async fn claims_to_forward(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OutboxClaim>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, issuer, payment_hash, depositor, payment, deposited_at FROM clearing_outbox \
             WHERE status IN ('pending', 'held') AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(db_int(limit as u64)?)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxClaim {
                    id: r.try_get(0)?,
                    issuer: r.try_get(1)?,
                    payment_hash: r.try_get(2)?,
                    depositor: r.try_get(3)?,
                    payment: r.try_get(4)?,
                    deposited_at: u64::try_from(r.try_get::<i64, _>(5)?).unwrap_or(0),
                })
            })
            .collect()
    }

    /// Keeps the issuers' answers `(claim id, status, credited, reason)` in one
    /// transaction (a pending answer changes nothing).
    pub async fn answer_claims(
        &self,
        answers: &[(i64, ClaimStatus, i64, String)],
        now: u64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for (id, status, credited, reason) in answers {
            if *status == ClaimStatus::Pending {
                continue;
            }
            sqlx::query(
                "UPDATE clearing_outbox SET status = $1, credited = $2, reason = $3, answered_at = $4 \
                 WHERE id = $5",
            )
            .bind(status.as_str())
            .bind((*credited).max(0))
            .bind(reason)
            .bind(db_int(now)?)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// This FI's clearing state: its claims by status, and what it owes each peer.
    pub async fn clearing_summary(&self) -> Result<ClearingSummary, StoreError> {
        let mut s = ClearingSummary::default();
        for r in sqlx::query(
            "SELECT status, COUNT(*), CAST(COALESCE(SUM(credited), 0) AS BIGINT) \
             FROM clearing_outbox GROUP BY status",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let status: String = r.try_get(0)?;
            let count: i64 = r.try_get(1)?;
            match ClaimStatus::parse(&status) {
                Some(ClaimStatus::Pending) => s.pending += count,
                Some(ClaimStatus::Held) => s.held += count,
                Some(ClaimStatus::Credited) => {
                    s.credited += count;
                    s.credited_value += r.try_get::<i64, _>(2)?;
                }
                Some(ClaimStatus::Rejected | ClaimStatus::Refused) => s.refused += count,
                None => return Err(StoreError::Corrupt(format!("claim status {status:?}"))),
            }
        }
        for r in sqlx::query(
            "SELECT p.fi, a.balance FROM peer_accounts p JOIN accounts a ON a.id = p.account_id \
             ORDER BY p.fi",
        )
        .fetch_all(&self.pool)
        .await?
        {
            s.owed_to_peers.push(Position {
                fi: r.try_get(0)?,
                net: r.try_get(1)?,
            });
        }
        Ok(s)
    }
}

impl Store {
    /// The peer FI whose account `account` is, if it is one.
    pub async fn peer_of_account(
        &self,
        account: i64,
    ) -> Result<Option<ops_core::CertId>, StoreError> {
        let Some(row) = sqlx::query("SELECT fi FROM peer_accounts WHERE account_id = $1")
            .bind(account)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let fi: String = row.try_get(0)?;
        ops_core::ids::from_hex(&fi)
            .and_then(|v| <[u8; 16]>::try_from(v).ok())
            .map(|id| Some(ops_core::CertId(id)))
            .ok_or_else(|| StoreError::Corrupt(format!("peer FI id {fi}")))
    }
}

/// A peer FI's (or the root's) CRL this FI holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCrl {
    /// Its issuer (hex).
    pub issuer: String,
    /// Its number.
    pub number: u64,
    /// When it was signed.
    pub issued: u64,
    /// The signed list's canonical bytes.
    pub crl: Vec<u8>,
}

impl Store {
    /// Keeps a verified peer CRL if it is newer than the one held (a higher number, or the
    /// same number signed later), and notes when each of its serials was first seen.
    /// Returns whether it was kept.
    pub async fn keep_peer_crl(
        &self,
        crl: &PeerCrl,
        revoked: &[u64],
        now: u64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let held = sqlx::query("SELECT number, issued FROM peer_crls WHERE issuer = $1")
            .bind(&crl.issuer)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(r) = held {
            let (number, issued): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
            if (number, issued) >= (db_int(crl.number)?, db_int(crl.issued)?) {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        sqlx::query(
            "INSERT INTO peer_crls (issuer, number, issued, crl) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (issuer) DO UPDATE SET number = excluded.number, \
             issued = excluded.issued, crl = excluded.crl",
        )
        .bind(&crl.issuer)
        .bind(db_int(crl.number)?)
        .bind(db_int(crl.issued)?)
        .bind(&crl.crl)
        .execute(&mut *tx)
        .await?;
        for serial in revoked {
            sqlx::query(
                "INSERT INTO peer_revocations (issuer, serial, seen_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (issuer, serial) DO NOTHING",
            )
            .bind(&crl.issuer)
            .bind(db_int(*serial)?)
            .bind(db_int(now)?)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The peer CRLs held, by issuer.
    pub async fn peer_crls(&self) -> Result<Vec<PeerCrl>, StoreError> {
        sqlx::query("SELECT issuer, number, issued, crl FROM peer_crls ORDER BY issuer")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(PeerCrl {
                    issuer: r.try_get(0)?,
                    number: u64::try_from(r.try_get::<i64, _>(1)?).unwrap_or(0),
                    issued: u64::try_from(r.try_get::<i64, _>(2)?).unwrap_or(0),
                    crl: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Every serial a peer revoked: (issuer hex, serial, when first seen here).
    pub async fn peer_revocations(&self) -> Result<Vec<(String, u64, u64)>, StoreError> {
        sqlx::query("SELECT issuer, serial, seen_at FROM peer_revocations")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    u64::try_from(r.try_get::<i64, _>(1)?).unwrap_or(0),
                    u64::try_from(r.try_get::<i64, _>(2)?).unwrap_or(0),
                ))
            })
            .collect()
    }
}

impl Store {
    /// Up to `limit` fraud cases (with a standalone proof) whose culprit is not a device
    /// of this FI and that were not passed to the central bank yet: `(case id, proof)`.
    pub async fn foreign_culprit_proofs(
        &self,
        limit: usize,
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        sqlx::query(
            "SELECT f.id, f.proof FROM fraud_cases f WHERE f.kind = 'spends' \
             AND f.forwarded_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.cert_id = f.culprit) \
             ORDER BY f.id LIMIT $1",
        )
        .bind(db_int(limit as u64)?)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
    }

    /// Marks cases as passed to the central bank.
    pub async fn mark_forwarded(&self, cases: &[i64], now: u64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for id in cases {
            sqlx::query("UPDATE fraud_cases SET forwarded_at = $1 WHERE id = $2")
                .bind(db_int(now)?)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
