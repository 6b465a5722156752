//! Clearing between FIs, on the FI's side (docs/API.md, "Clearing"): the outbox of claims
//! on other FIs' notes that this FI's merchants were credited for (queued in the deposit's
//! own transaction, see `deposits::batch`), their answers, and the accounts of peer FIs
//! whose merchants claimed this FI's notes.

use ops_core::{CertId, Digest32};
use sqlx::AnyConnection;

use super::accounts::IdRow;
use super::types::Hex;
use super::{LedgerNote, Store, StoreError, db_int};
use ops_api::clearing::{ClaimStatus, ClearingSummary, Position};

/// A claim waiting to be forwarded (or asked again).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxClaim {
    /// Its row.
    pub id: i64,
    /// The issuing FI.
    #[sqlx(try_from = "Hex<CertId>")]
    pub issuer: CertId,
    /// The payment's hash.
    #[sqlx(try_from = "Hex<Digest32>")]
    pub payment_hash: Digest32,
    /// The merchant device credited.
    #[sqlx(try_from = "Hex<CertId>")]
    pub depositor: CertId,
    /// The payment's canonical bytes.
    pub payment: Vec<u8>,
    /// When the merchant was credited.
    #[sqlx(try_from = "i64")]
    pub deposited_at: u64,
}

/// A peer FI's account (`peer_accounts.account_id`).
#[derive(sqlx::FromRow)]
struct PeerAccountRow {
    account_id: i64,
}

/// The peer FI of an account (`peer_accounts.fi`).
#[derive(sqlx::FromRow)]
struct PeerRow {
    fi: Hex<CertId>,
}

/// A consumption's credited value (`consumptions.value`).
#[derive(sqlx::FromRow)]
struct ValueRow {
    value: i64,
}

/// Claims of one status: how many, and the value credited.
#[derive(sqlx::FromRow)]
struct StatusRow {
    status: String,
    claims: i64,
    credited: i64,
}

/// What this FI owes a peer: the balance of the peer's account.
#[derive(sqlx::FromRow)]
struct OwedRow {
    fi: String,
    balance: i64,
}

/// The held CRL's number and signing time of one issuer.
#[derive(sqlx::FromRow)]
struct HeldCrlRow {
    number: i64,
    issued: i64,
}

/// A serial a peer revoked, and when this FI first saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct PeerRevocation {
    /// The peer FI (or the root) that revoked it.
    #[sqlx(try_from = "Hex<CertId>")]
    pub issuer: CertId,
    /// The revoked serial.
    #[sqlx(try_from = "i64")]
    pub serial: u64,
    /// When this FI first saw it on the peer's CRL (Unix seconds).
    #[sqlx(try_from = "i64")]
    pub seen_at: u64,
}

/// A fraud case's proof, to hand to the central bank.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ForeignProof {
    /// The case.
    pub id: i64,
    /// The fraud proof's canonical bytes.
    pub proof: Vec<u8>,
}

/// Queues, in the deposit's transaction, the claims of a credited payment on each issuer
/// in `issuers` (once per issuer and payment).
pub(crate) async fn queue(
    conn: &mut AnyConnection,
    issuers: &[CertId],
    payment_hash: &Digest32,
    depositor: &CertId,
    payment: &[u8],
    now: u64,
) -> Result<(), StoreError> {
    for issuer in issuers {
        sqlx::query(
            "INSERT INTO clearing_outbox (issuer, payment_hash, depositor, payment, deposited_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (issuer, payment_hash) DO NOTHING",
        )
        .bind(Hex(*issuer))
        .bind(Hex(*payment_hash))
        .bind(Hex(*depositor))
        .bind(payment)
        .bind(db_int(now)?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// The account of peer FI `fi` at this FI, created on first use.
    pub async fn peer_account(&self, fi: &CertId, now: u64) -> Result<i64, StoreError> {
        if let Some(id) = self.existing_peer_account(fi).await? {
            return Ok(id);
        }
        let mut tx = self.begin_write().await?;
        let IdRow { id: account } = sqlx::query_as(
            "INSERT INTO accounts (name, balance, created) VALUES ($1, 0, $2) RETURNING id",
        )
        .bind(format!("clearing: FI {fi}"))
        .bind(db_int(now)?)
        .fetch_one(&mut *tx)
        .await?;
        let linked = sqlx::query(
            "INSERT INTO peer_accounts (fi, account_id) VALUES ($1, $2) ON CONFLICT (fi) DO NOTHING",
        )
        .bind(Hex(*fi))
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

    /// The account of peer FI `fi`, if it has one.
    async fn existing_peer_account(&self, fi: &CertId) -> Result<Option<i64>, StoreError> {
        let row: Option<PeerAccountRow> =
            sqlx::query_as("SELECT account_id FROM peer_accounts WHERE fi = $1")
                .bind(Hex(*fi))
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.account_id))
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
            if !seen.insert(f.id) {
                continue;
            }
            let row: Option<ValueRow> = sqlx::query_as(
                "SELECT value FROM consumptions WHERE note_id = $1 AND account_id = $2",
            )
            .bind(Hex(f.id))
            .bind(account)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(r) = row {
                total += r.value;
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
        Ok(sqlx::query_as(
            "SELECT id, issuer, payment_hash, depositor, payment, deposited_at FROM clearing_outbox \
             WHERE status IN ('pending', 'held') AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(db_int(limit as u64)?)
        .fetch_all(&self.pool)
        .await?)
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
        let statuses: Vec<StatusRow> = sqlx::query_as(
            "SELECT status, COUNT(*) AS claims, \
             CAST(COALESCE(SUM(credited), 0) AS BIGINT) AS credited \
             FROM clearing_outbox GROUP BY status",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in statuses {
            match ClaimStatus::parse(&r.status) {
                Some(ClaimStatus::Pending) => s.pending += r.claims,
                Some(ClaimStatus::Held) => s.held += r.claims,
                Some(ClaimStatus::Credited) => {
                    s.credited += r.claims;
                    s.credited_value += r.credited;
                }
                Some(ClaimStatus::Rejected | ClaimStatus::Refused) => s.refused += r.claims,
                None => {
                    return Err(StoreError::Corrupt(format!("claim status {:?}", r.status)));
                }
            }
        }
        let owed: Vec<OwedRow> = sqlx::query_as(
            "SELECT p.fi, a.balance FROM peer_accounts p JOIN accounts a ON a.id = p.account_id \
             ORDER BY p.fi",
        )
        .fetch_all(&self.pool)
        .await?;
        s.owed_to_peers = owed
            .into_iter()
            .map(|r| Position {
                fi: r.fi,
                net: r.balance,
            })
            .collect();
        Ok(s)
    }
}

impl Store {
    /// The peer FI whose account `account` is, if it is one.
    pub async fn peer_of_account(&self, account: i64) -> Result<Option<CertId>, StoreError> {
        let row: Option<PeerRow> =
            sqlx::query_as("SELECT fi FROM peer_accounts WHERE account_id = $1")
                .bind(account)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.fi.0))
    }
}

/// A peer FI's (or the root's) CRL this FI holds.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PeerCrl {
    /// Its issuer.
    #[sqlx(try_from = "Hex<CertId>")]
    pub issuer: CertId,
    /// Its number.
    #[sqlx(try_from = "i64")]
    pub number: u64,
    /// When it was signed.
    #[sqlx(try_from = "i64")]
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
        let held: Option<HeldCrlRow> =
            sqlx::query_as("SELECT number, issued FROM peer_crls WHERE issuer = $1")
                .bind(Hex(crl.issuer))
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(h) = held
            && (h.number, h.issued) >= (db_int(crl.number)?, db_int(crl.issued)?)
        {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO peer_crls (issuer, number, issued, crl) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (issuer) DO UPDATE SET number = excluded.number, \
             issued = excluded.issued, crl = excluded.crl",
        )
        .bind(Hex(crl.issuer))
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
            .bind(Hex(crl.issuer))
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
        Ok(
            sqlx::query_as("SELECT issuer, number, issued, crl FROM peer_crls ORDER BY issuer")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Every serial a peer revoked, with when it was first seen here.
    pub async fn peer_revocations(&self) -> Result<Vec<PeerRevocation>, StoreError> {
        Ok(
            sqlx::query_as("SELECT issuer, serial, seen_at FROM peer_revocations")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

impl Store {
    /// Up to `limit` fraud cases (with a standalone proof) whose culprit is not a device
    /// of this FI and that were not passed to the central bank yet.
    pub async fn foreign_culprit_proofs(
        &self,
        limit: usize,
    ) -> Result<Vec<ForeignProof>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT f.id, f.proof FROM fraud_cases f WHERE f.kind = 'spends' \
             AND f.forwarded_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.cert_id = f.culprit) \
             ORDER BY f.id LIMIT $1",
        )
        .bind(db_int(limit as u64)?)
        .fetch_all(&self.pool)
        .await?)
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
