//! The central bank's endpoints:
//! - `POST /cb/v1/claims`, signed by a member FI: claims on other FIs' notes, verified,
//!   kept once and forwarded to their issuers; answered per claim;
//! - `POST /cb/v1/cycles` (admin): close a clearing cycle (net, settle reserves);
//! - `GET /cb/v1/reserves`: the reserve balances;
//! - `GET /cb/v1/audit` (admin): the clearing ledger's audit;
//! - `GET /cb/v1/crl`: the root CRL (revoked FIs), signed by the root;
//! - `POST /cb/v1/fis/{id}/revoke` (admin): revoke a member FI.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ops_api::clearing::{
    Claim, ClaimAnswer, ClaimAnswers, ClaimBatch, ClaimStatus, CycleStatement, MAX_CLAIMS, Reserves,
};
use ops_api::paths;
use ops_core::crl_store::CrlStore;
use ops_core::ledger::NoHistory;
use ops_core::verify::{Policy, Verifier};
use ops_core::{CertId, Certificate, CrlBody, Digest32, Payment};

use super::store::{CentralAudit, NewClaim};
use super::{CentralState, MemberFi};
use crate::api::clearing::{check_claim_age, check_claim_count};
use crate::api::{ApiError, now, parse_json};
use crate::clearing::signing;

/// The central bank's router.
pub(super) fn router(state: CentralState) -> Router {
    Router::new()
        .route(paths::CB_CLAIMS, post(claims))
        .route(paths::CB_CYCLES, post(close_cycle))
        .route(paths::CB_RESERVES, get(reserves))
        .route(paths::CB_AUDIT, get(audit))
        .route("/cb/v1/crl", get(crl))
        .route(paths::CB_CRLS, get(crls))
        .route(paths::CB_FRAUD_PROOFS, post(fraud_proofs))
        .route("/cb/v1/fis/{id}/revoke", post(revoke_fi))
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::api::MAX_BODY * 4,
        ))
        .with_state(state)
}

fn require_admin(state: &CentralState, headers: &HeaderMap) -> Result<(), ApiError> {
    crate::api::check_admin(
        &state.config.admin_token,
        headers,
        "the central bank's admin token",
    )
}

fn members(state: &CentralState) -> Vec<Certificate> {
    state.config.fis.iter().map(|f| f.cert.clone()).collect()
}

fn member<'a>(state: &'a CentralState, id: &str) -> Option<&'a MemberFi> {
    state
        .config
        .fis
        .iter()
        .find(|f| f.cert.id().to_string() == id)
}

/// Takes a member FI's claims and forwards each to its issuer.
async fn claims(
    State(state): State<CentralState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ClaimAnswers>, ApiError> {
    let all = members(&state);
    let signer = signing::verify(&headers, &all, paths::CB_CLAIMS, &body).map_err(|e| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unsigned_claims",
            format!("{e}; a member FI signs its claims with its certified key"),
        )
    })?;
    let batch: ClaimBatch = parse_json(&body)?;
    let from_id = signer.id();
    let from = from_id.to_string();
    if batch.from_fi != from {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_your_claims",
            format!(
                "signed by {from} but claimed for {}: an FI claims for itself",
                batch.from_fi
            ),
        ));
    }
    check_claim_count(&batch)?;
    let revoked = state.store.root_revocations().await?;
    if revoked.contains(&signer.body.serial) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "fi_revoked",
            format!("{from} is revoked by the central bank; its claims are not cleared"),
        ));
    }
    let now = now();
    let mut answers: Vec<ClaimAnswer> = Vec::with_capacity(batch.claims.len());
    // The claims that pass the checks, kept in one transaction.
    let mut checked: Vec<(usize, CheckedClaim)> = Vec::new();
    for (i, claim) in batch.claims.iter().enumerate() {
        let mut answer = ClaimAnswer {
            payment_hash: String::new(),
            issuer: claim.issuer.clone(),
            status: ClaimStatus::Refused,
            credited: 0,
            fraud_cases: 0,
            reason: String::new(),
        };
        match check(&state, &from, &revoked, claim, now) {
            Err(reason) => answer.reason = reason,
            Ok(ok) => {
                answer.payment_hash = ok.payment_hash.to_string();
                checked.push((i, ok));
            }
        }
        answers.push(answer);
    }
    let new: Vec<NewClaim<'_>> = checked
        .iter()
        .filter_map(|(i, ok)| {
            let claim = batch.claims.get(*i)?;
            Some(NewClaim {
                from_fi: from_id,
                issuer: ok.issuer,
                payment_hash: ok.payment_hash,
                depositor: ok.depositor,
                deposited_at: claim.deposited_at,
                payment: &ok.payment,
            })
        })
        .collect();
    let stored = state.store.keep_claims(&new, now).await?;
    // Per issuer: (answer index, claim row, claim) to forward.
    let mut forward: BTreeMap<String, Vec<(usize, i64, &Claim)>> = BTreeMap::new();
    for ((i, _), stored) in checked.iter().zip(stored) {
        let (Some(answer), Some(claim)) = (answers.get_mut(*i), batch.claims.get(*i)) else {
            continue;
        };
        answer.status = stored.status;
        answer.credited = stored.credited;
        answer.reason = stored.reason;
        if !stored.status.is_final() {
            forward
                .entry(claim.issuer.clone())
                .or_default()
                .push((*i, stored.id, claim));
        }
    }
    for (issuer, items) in forward {
        let Some(fi) = member(&state, &issuer) else {
            continue;
        };
        let request = ClaimBatch {
            from_fi: from.clone(),
            claims: items.iter().map(|(_, _, c)| (*c).clone()).collect(),
        };
        match post_to_issuer(&state, fi, &request).await {
            Ok(got) if got.answers.len() == items.len() => {
                let kept: Vec<(i64, ClaimStatus, i64, String)> = items
                    .iter()
                    .zip(&got.answers)
                    .map(|((_, id, _), a)| (*id, a.status, a.credited, a.reason.clone()))
                    .collect();
                state.store.answer(&kept).await?;
                for ((i, _, _), a) in items.iter().zip(got.answers) {
                    if let Some(slot) = answers.get_mut(*i) {
                        slot.status = a.status;
                        slot.credited = if a.status == ClaimStatus::Credited {
                            a.credited
                        } else {
                            0
                        };
                        slot.fraud_cases = a.fraud_cases;
                        slot.reason = a.reason;
                    }
                }
            }
            Ok(got) => {
                let reason = format!(
                    "{issuer} answered {} of {} claims",
                    got.answers.len(),
                    items.len()
                );
                for (i, _, _) in &items {
                    pending(&mut answers, *i, &reason);
                }
            }
            Err(reason) => {
                for (i, _, _) in &items {
                    pending(&mut answers, *i, &reason);
                }
            }
        }
    }
    Ok(Json(ClaimAnswers { answers }))
}

/// Marks answer `i` as not answered by its issuer (asked again next time).
fn pending(answers: &mut [ClaimAnswer], i: usize, reason: &str) {
    if let Some(a) = answers.get_mut(i) {
        a.status = ClaimStatus::Pending;
        a.reason = format!("the issuer could not be asked: {reason}");
    }
}

/// Checks a claim before it is kept: the issuer is another member FI, not revoked; the
/// payment decodes and verifies back to the root at the time of the deposit, for the
/// depositor, and spends notes of that issuer. Returns its hash and bytes.
/// A claim that passed [`check`]: who it is on, whom it credited, its payment.
struct CheckedClaim {
    /// The issuing FI.
    issuer: CertId,
    /// The merchant device credited.
    depositor: CertId,
    /// The payment's hash.
    payment_hash: Digest32,
    /// The payment's canonical bytes.
    payment: Vec<u8>,
}

fn check(
    state: &CentralState,
    from: &str,
    revoked: &[u64],
    claim: &Claim,
    now: u64,
) -> Result<CheckedClaim, String> {
    let issuer = member(state, &claim.issuer)
        .ok_or_else(|| format!("{} is not a member FI", claim.issuer))?;
    if claim.issuer == from {
        return Err("an FI does not claim its own notes through clearing".into());
    }
    if revoked.contains(&issuer.cert.body.serial) {
        return Err(format!("{} is revoked by the central bank", claim.issuer));
    }
    check_claim_age(claim.deposited_at, now)?;
    let bytes = STANDARD
        .decode(claim.payment.trim())
        .map_err(|_| "the payment is not base64".to_owned())?;
    let payment =
        Payment::from_bytes(&bytes).map_err(|e| format!("the payment does not decode: {e}"))?;
    let depositor = ops_core::ids::from_hex(&claim.depositor)
        .and_then(|v| <[u8; 16]>::try_from(v).ok())
        .map(CertId)
        .ok_or_else(|| "the depositor is not a certificate id".to_owned())?;
    let issuer_id = issuer.cert.id();
    if !payment
        .chains
        .iter()
        .any(|c| c.issuance.body.issuer == issuer_id)
    {
        return Err(format!(
            "the payment spends no note {} issued",
            claim.issuer
        ));
    }
    let known = members(state);
    let crls = CrlStore::new();
    let policy = Policy::from_root(&state.config.root);
    let verifier = Verifier {
        root: &state.config.root,
        known_certs: &known,
        crls: &crls,
        policy: &policy,
        provider: &*state.provider,
    };
    verifier
        .verify_deposit(&depositor, &payment, &NoHistory, claim.deposited_at)
        .map_err(|e| format!("the payment does not verify: {e}"))?;
    Ok(CheckedClaim {
        issuer: issuer_id,
        depositor,
        payment_hash: payment.hash(),
        payment: bytes,
    })
}

/// Forwards claims to their issuer, signed with the root key.
async fn post_to_issuer(
    state: &CentralState,
    fi: &MemberFi,
    batch: &ClaimBatch,
) -> Result<ClaimAnswers, String> {
    let path = paths::CLEARING_CLAIMS;
    let body = serde_json::to_vec(batch).map_err(|e| e.to_string())?;
    let mut request = state
        .http
        .post(format!("{}{path}", fi.url.trim_end_matches('/')))
        .header("content-type", "application/json")
        .body(body.clone());
    for (name, value) in signing::sign(&state.config.root_key, state.config.root.id(), path, &body)
    {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("unreadable answer: {e}"))
}

/// Closes a clearing cycle.
async fn close_cycle(
    State(state): State<CentralState>,
    headers: HeaderMap,
) -> Result<Json<CycleStatement>, ApiError> {
    require_admin(&state, &headers)?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match state.store.close_cycle(now()).await {
            Ok(s) => return Ok(Json(s)),
            Err(e) if e.is_retryable() && attempt < 4 => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The reserve balances.
async fn reserves(State(state): State<CentralState>) -> Result<Json<Reserves>, ApiError> {
    Ok(Json(Reserves {
        balances: state.store.reserves().await?,
    }))
}

/// The clearing ledger's audit.
async fn audit(
    State(state): State<CentralState>,
    headers: HeaderMap,
) -> Result<Json<CentralAudit>, ApiError> {
    require_admin(&state, &headers)?;
    Ok(Json(state.store.audit().await?))
}

/// The root CRL: the member FIs the central bank revoked, signed by the root.
async fn crl(State(state): State<CentralState>) -> Result<Json<serde_json::Value>, ApiError> {
    let list = root_crl(&state).await?;
    Ok(Json(serde_json::json!({
        "issuer": state.config.root.id().to_string(),
        "version": list.body.number,
        "issued": list.body.issued,
        "revoked": list.body.revoked,
        "crl": STANDARD.encode(list.to_bytes()),
    })))
}

/// The root CRL and each member's latest CRL (fetched now from each member, verified
/// under its certificate; the last one held when a member does not answer).
async fn crls(
    State(state): State<CentralState>,
) -> Result<Json<ops_api::clearing::CrlBundle>, ApiError> {
    let members = members(&state);
    for fi in &state.config.fis {
        match fetch_crl(&state, fi, &members).await {
            Ok((crl, bytes)) => {
                state
                    .store
                    .keep_fi_crl(&fi.cert.id(), crl.body.number, crl.body.issued, &bytes)
                    .await?;
            }
            Err(e) => tracing::warn!("the CRL of {} could not be fetched: {e}", fi.url),
        }
    }
    let root = root_crl(&state).await?;
    let mut out = vec![STANDARD.encode(root.to_bytes())];
    out.extend(
        state
            .store
            .fi_crls()
            .await?
            .iter()
            .map(|b| STANDARD.encode(b)),
    );
    Ok(Json(ops_api::clearing::CrlBundle {
        crls: out,
        members: listed_members(&state.config.fis, &root.body.revoked),
    }))
}

/// The members the root has not revoked, with their services' addresses (the banks each
/// FI offers its users).
fn listed_members(fis: &[MemberFi], revoked: &[u64]) -> Vec<ops_api::banks::Member> {
    fis.iter()
        .filter(|fi| !revoked.contains(&fi.cert.body.serial))
        .map(|fi| ops_api::banks::Member {
            id: fi.cert.id().to_string(),
            url: fi.url.trim_end_matches('/').to_owned(),
        })
        .collect()
}

/// Member `fi`'s current CRL, verified.
async fn fetch_crl(
    state: &CentralState,
    fi: &MemberFi,
    members: &[Certificate],
) -> Result<(ops_core::Crl, Vec<u8>), String> {
    let response = state
        .http
        .get(format!("{}{}", fi.url.trim_end_matches('/'), paths::CRL))
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let body: ops_api::CrlResponse = response.json().await.map_err(|e| e.to_string())?;
    let bytes = STANDARD
        .decode(body.crl.trim())
        .map_err(|_| "the CRL is not base64".to_owned())?;
    let (crl, issuer) = crate::clearing::verified_crl(&bytes, members)?;
    if issuer.id() != fi.cert.id() {
        return Err(format!("{} served the CRL of {}", fi.url, issuer.id()));
    }
    Ok((crl, bytes))
}

/// The root CRL, signed now.
async fn root_crl(state: &CentralState) -> Result<ops_core::Crl, ApiError> {
    let revoked = state.store.root_revocations().await?;
    Ok(ops_ceremony::sign(
        CrlBody {
            issuer: state.config.root.id(),
            number: revoked.len() as u64 + 1,
            issued: now(),
            revoked,
        },
        &state.config.root_key,
    ))
}

/// Takes fraud proofs a member FI's ledger found against other FIs' devices and hands
/// each to the culprit's FI (its public `POST /api/v1/fraud-proofs`, which opens the case
/// there and revokes the device).
async fn fraud_proofs(
    State(state): State<CentralState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ops_api::clearing::ProofAnswers>, ApiError> {
    let all = members(&state);
    let signer = signing::verify(&headers, &all, paths::CB_FRAUD_PROOFS, &body).map_err(|e| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unsigned_proofs",
            format!("{e}; a member FI signs what it sends with its certified key"),
        )
    })?;
    let batch: ops_api::clearing::ProofBatch = parse_json(&body)?;
    if batch.from_fi != signer.id().to_string() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_your_proofs",
            "an FI sends proofs in its own name",
        ));
    }
    if batch.proofs.is_empty() || batch.proofs.len() > MAX_CLAIMS {
        return Err(ApiError::bad_request(
            "proofs_count",
            format!("send 1 to {MAX_CLAIMS} proofs per request"),
        ));
    }
    let mut answers = ops_api::clearing::ProofAnswers {
        done: Vec::new(),
        reasons: Vec::new(),
    };
    for text in &batch.proofs {
        let (done, reason) = match hand_over(&state, text).await {
            Ok(()) => (true, String::new()),
            // Not a proof (or not of a member's device): never deliverable.
            Err((final_, reason)) => (final_, reason),
        };
        answers.done.push(done);
        answers.reasons.push(reason);
    }
    Ok(Json(answers))
}

/// Verifies one proof and posts it to its culprit's FI; `Err((final, why))`.
async fn hand_over(state: &CentralState, text: &str) -> Result<(), (bool, String)> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| (true, "not base64".to_owned()))?;
    let proof = ops_core::FraudProof::from_bytes(&bytes)
        .map_err(|e| (true, format!("not a fraud proof: {e}")))?;
    proof
        .verify(&state.config.root, &*state.provider)
        .map_err(|e| (true, format!("does not prove a double spend: {e}")))?;
    let fi = member(state, &proof.signer_issuer.id().to_string())
        .ok_or_else(|| (true, "the culprit's FI is not a member".to_owned()))?;
    let response = state
        .http
        .post(format!(
            "{}{}",
            fi.url.trim_end_matches('/'),
            paths::FRAUD_PROOFS
        ))
        .json(&ops_api::FraudProofReport {
            proof: text.trim().to_owned(),
        })
        .send()
        .await
        .map_err(|e| (false, e.to_string()))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err((false, format!("{} answered {}", fi.url, response.status())))
    }
}

/// Revokes member FI `id` in the root CRL.
async fn revoke_fi(
    State(state): State<CentralState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let fi = member(&state, &id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_fi",
            format!("{id} is not a member FI"),
        )
    })?;
    let revoked = state
        .store
        .revoke_fi(
            fi.cert.body.serial,
            &fi.cert.id(),
            "revoked by the central bank",
            now(),
        )
        .await?;
    Ok(Json(
        serde_json::json!({ "fi": id, "revoked_now": revoked }),
    ))
}
