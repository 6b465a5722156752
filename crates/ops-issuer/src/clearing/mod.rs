//! Clearing on the FI's side (docs/API.md, "Clearing"): deposits of other FIs' notes were
//! credited to this FI's merchants and queued as claims in the same transaction
//! (`store::clearing`); [`forward`] sends what is pending (or held at the issuer) to the
//! central bank, signed with this FI's key, and keeps each answer. The central bank
//! forwards each claim to the issuing FI, which records its spends in its ledger
//! (`api::clearing`): every spend of a note reaches the one ledger of its issuer.

pub mod signing;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ops_api::clearing::{Claim, ClaimAnswers, ClaimBatch, MAX_CLAIMS};

use crate::ceremony::Trust;
use crate::store::{Store, StoreError};

/// Why a clearing run failed (every claim stays queued for the next run).
#[derive(Debug, thiserror::Error)]
pub enum ClearingError {
    /// No central bank is configured.
    #[error("no central bank is configured: start the service with --central-bank URL")]
    NoCentralBank,
    /// The central bank could not be reached or refused the batch.
    #[error("the central bank at {url} did not take the claims: {reason}")]
    CentralBank {
        /// Where it was asked.
        url: String,
        /// What happened.
        reason: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one clearing run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ForwardReport {
    /// Claims sent.
    pub sent: usize,
    /// Answered credited.
    pub credited: usize,
    /// Answered held at the issuer (asked again next run).
    pub held: usize,
    /// Answered refused or rejected.
    pub refused: usize,
    /// Not answered (the issuer unreachable; asked again next run).
    pub pending: usize,
    /// Newer CRLs of other FIs (or the root) kept from the central bank.
    pub crls_kept: usize,
    /// Fraud proofs against other FIs' devices handed to the central bank.
    pub proofs_forwarded: usize,
}

/// Sends up to `rounds` batches of queued claims to the central bank at `url` and keeps
/// the answers.
pub async fn forward(
    store: &Store,
    trust: &Trust,
    http: &reqwest::Client,
    url: Option<&str>,
    now: u64,
) -> Result<ForwardReport, ClearingError> {
    let url = url.ok_or(ClearingError::NoCentralBank)?;
    let mut report = ForwardReport::default();
    let mut after = 0i64;
    loop {
        let claims = store.claims_to_forward(after, MAX_CLAIMS).await?;
        let Some(last) = claims.last() else {
            // Cases against other FIs' devices go to their FIs, which revoke them; then
            // the lists, which the answers may have changed.
            report.proofs_forwarded = forward_proofs(store, trust, http, url, now).await?;
            report.crls_kept = refresh_peer_crls(store, trust, http, url, now).await?;
            return Ok(report);
        };
        after = last.id;
        let batch = ClaimBatch {
            from_fi: trust.fi.id().to_string(),
            claims: claims
                .iter()
                .map(|c| Claim {
                    issuer: c.issuer.to_string(),
                    payment: STANDARD.encode(&c.payment),
                    depositor: c.depositor.to_string(),
                    deposited_at: c.deposited_at,
                })
                .collect(),
        };
        let answers: ClaimAnswers =
            post(http, trust, url, ops_api::paths::CB_CLAIMS, &batch).await?;
        if answers.answers.len() != claims.len() {
            return Err(ClearingError::CentralBank {
                url: url.to_owned(),
                reason: format!(
                    "{} answers for {} claims",
                    answers.answers.len(),
                    claims.len()
                ),
            });
        }
        let mut kept = Vec::with_capacity(claims.len());
        for (claim, answer) in claims.iter().zip(&answers.answers) {
            use ops_api::clearing::ClaimStatus as S;
            report.sent += 1;
            match answer.status {
                S::Credited => report.credited += 1,
                S::Held => report.held += 1,
                S::Rejected | S::Refused => report.refused += 1,
                S::Pending => report.pending += 1,
            }
            kept.push((
                claim.id,
                answer.status,
                answer.credited,
                answer.reason.clone(),
            ));
        }
        store.answer_claims(&kept, now).await?;
    }
}

/// Hands the proofs of cases whose culprit is another FI's device to the central bank
/// (which passes each to that FI); returns how many were delivered.
async fn forward_proofs(
    store: &Store,
    trust: &Trust,
    http: &reqwest::Client,
    url: &str,
    now: u64,
) -> Result<usize, ClearingError> {
    let cases = store.foreign_culprit_proofs(MAX_CLAIMS).await?;
    if cases.is_empty() {
        return Ok(0);
    }
    let batch = ops_api::clearing::ProofBatch {
        from_fi: trust.fi.id().to_string(),
        proofs: cases.iter().map(|c| STANDARD.encode(&c.proof)).collect(),
    };
    let answers: ops_api::clearing::ProofAnswers =
        post(http, trust, url, ops_api::paths::CB_FRAUD_PROOFS, &batch).await?;
    let done: Vec<i64> = cases
        .iter()
        .zip(&answers.done)
        .filter(|(_, d)| **d)
        .map(|(c, _)| c.id)
        .collect();
    store.mark_forwarded(&done, now).await?;
    Ok(done.len())
}

/// Posts one signed request to the central bank's `path`.
async fn post<B: serde::Serialize, A: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    trust: &Trust,
    url: &str,
    path: &str,
    batch: &B,
) -> Result<A, ClearingError> {
    let failed = |reason: String| ClearingError::CentralBank {
        url: url.to_owned(),
        reason,
    };
    let body = serde_json::to_vec(batch).map_err(|e| failed(e.to_string()))?;
    let mut request = http
        .post(format!("{}{path}", url.trim_end_matches('/')))
        .header("content-type", "application/json")
        .body(body.clone());
    for (name, value) in signing::sign(&trust.fi_key, trust.fi.id(), path, &body) {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| failed(e.to_string()))?;
    if !status.is_success() {
        return Err(failed(format!("{status}: {text}")));
    }
    serde_json::from_str(&text).map_err(|e| failed(format!("unreadable answer: {e}")))
}

/// Decodes a signed CRL and checks it was signed by its issuer among `issuers`; returns it
/// with its issuer's certificate.
pub fn verified_crl<'a>(
    bytes: &[u8],
    issuers: &'a [ops_core::Certificate],
) -> Result<(ops_core::Crl, &'a ops_core::Certificate), String> {
    let crl = ops_core::Crl::from_bytes(bytes).map_err(|e| format!("not a CRL: {e}"))?;
    let issuer = issuers
        .iter()
        .find(|c| c.id() == crl.body.issuer)
        .ok_or_else(|| format!("a CRL of {}, not an issuer known here", crl.body.issuer))?;
    ops_core::crl_store::CrlStore::new()
        .insert(crl.clone(), issuer, &ops_core::provider::RingProvider)
        .map_err(|e| format!("the CRL of {} does not verify: {e}", crl.body.issuer))?;
    Ok((crl, issuer))
}

/// Fetches the central bank's CRLs and keeps every newer one of another FI or the root,
/// verified; returns how many were kept. A list that does not verify is skipped (logged):
/// one bad list must not keep the others out.
pub async fn refresh_peer_crls(
    store: &Store,
    trust: &Trust,
    http: &reqwest::Client,
    url: &str,
    now: u64,
) -> Result<usize, ClearingError> {
    let failed = |reason: String| ClearingError::CentralBank {
        url: url.to_owned(),
        reason,
    };
    let response = http
        .get(format!(
            "{}{}",
            url.trim_end_matches('/'),
            ops_api::paths::CB_CRLS
        ))
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("{} for the CRLs", response.status())));
    }
    let bundle: ops_api::clearing::CrlBundle = response
        .json()
        .await
        .map_err(|e| failed(format!("unreadable CRLs: {e}")))?;
    let mut issuers = trust.peer_fis.clone();
    issuers.push(trust.root.clone());
    let mut kept = 0;
    for text in bundle.crls.iter().take(64) {
        let Ok(bytes) = STANDARD.decode(text.trim()) else {
            tracing::warn!("clearing: a CRL from the central bank is not base64; skipped");
            continue;
        };
        match verified_crl(&bytes, &issuers) {
            Ok((crl, _)) => {
                let peer = crate::store::PeerCrl {
                    issuer: crl.body.issuer,
                    number: crl.body.number,
                    issued: crl.body.issued,
                    crl: bytes,
                };
                if store.keep_peer_crl(&peer, &crl.body.revoked, now).await? {
                    kept += 1;
                }
            }
            // This FI's own list comes back too: not a peer's.
            Err(_) if text_is_own(&bytes, trust) => {}
            Err(e) => tracing::warn!("clearing: {e}; skipped"),
        }
    }
    keep_members(store, trust, &bundle.members, now).await?;
    Ok(kept)
}

/// Keeps the member FIs the central bank listed (the banks users can choose): only those
/// whose certificate this FI holds, with an `http(s)` address; at most 64.
async fn keep_members(
    store: &Store,
    trust: &Trust,
    members: &[ops_api::banks::Member],
    now: u64,
) -> Result<(), ClearingError> {
    let own = trust.fi.id();
    let listed: Vec<crate::store::ListedBank> = members
        .iter()
        .take(64)
        .filter(|m| crate::api::banks::is_web_address(&m.url))
        .filter_map(|m| {
            let id = <ops_core::CertId as crate::store::HexId>::parse_hex(&m.id)?;
            (id == own || trust.peer_fis.iter().any(|c| c.id() == id)).then(|| {
                crate::store::ListedBank {
                    fi_id: id,
                    url: m.url.clone(),
                }
            })
        })
        .collect();
    store.keep_bank_directory(&listed, now).await?;
    Ok(())
}

fn text_is_own(bytes: &[u8], trust: &Trust) -> bool {
    ops_core::Crl::from_bytes(bytes).is_ok_and(|c| c.body.issuer == trust.fi.id())
}
