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
            return Ok(report);
        };
        after = last.id;
        let batch = ClaimBatch {
            from_fi: trust.fi.id().to_string(),
            claims: claims
                .iter()
                .map(|c| Claim {
                    issuer: c.issuer.clone(),
                    payment: STANDARD.encode(&c.payment),
                    depositor: c.depositor.clone(),
                    deposited_at: c.deposited_at,
                })
                .collect(),
        };
        let answers = post(http, trust, url, &batch).await?;
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
        for (claim, answer) in claims.iter().zip(&answers.answers) {
            use ops_api::clearing::ClaimStatus as S;
            report.sent += 1;
            match answer.status {
                S::Credited => report.credited += 1,
                S::Held => report.held += 1,
                S::Rejected | S::Refused => report.refused += 1,
                S::Pending => report.pending += 1,
            }
            store
                .answer_claim(
                    claim.id,
                    answer.status,
                    answer.credited,
                    &answer.reason,
                    now,
                )
                .await?;
        }
    }
}

/// Posts one signed batch.
async fn post(
    http: &reqwest::Client,
    trust: &Trust,
    url: &str,
    batch: &ClaimBatch,
) -> Result<ClaimAnswers, ClearingError> {
    let path = ops_api::paths::CB_CLAIMS;
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
