//! What the payer sees before approving: the request checked offline (certificates back
//! to the root, the CRLs the wallet holds, expiry) and paid on paper (enough unreserved
//! value in notes that live long enough), without reserving anything.

use serde::{Deserialize, Serialize};

use crate::error::SagaError;
use crate::saga::pay;
use crate::snapshot::Snapshot;

/// Seconds left on a request below which the payer is warned to hurry.
pub const EXPIRES_SOON: u64 = 60;

/// A request as the confirmation screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestReview {
    /// Amount in minor units.
    pub amount: u64,
    /// ISO 4217 code.
    pub currency: String,
    /// The payee's name as its FI certified it (`None`: the certificate names nobody).
    pub payee: Option<String>,
    /// The name of the payee's FI, as the root certified it.
    pub fi: Option<String>,
    /// The label the request gives itself (not certified).
    pub label: Option<String>,
    /// Seconds until the request expires.
    pub seconds_left: u64,
    /// Things the payer should know before approving, in plain words.
    pub warnings: Vec<String>,
}

impl RequestReview {
    /// One line: "Pay 3.00 EUR to Corner Shop (certified by Demo Bank)".
    pub fn who(&self) -> String {
        let name = self
            .payee
            .clone()
            .or_else(|| self.label.clone())
            .unwrap_or_else(|| "a payee who gave no name".into());
        match &self.fi {
            Some(fi) => format!("{name} (certified by {fi})"),
            None => name,
        }
    }
}

/// Checks `request` with [`pay::check`], the checks of the payment itself, and describes it.
///
/// Errors are the ones the payment would meet: malformed, expired, for a revoked or
/// unknown payee, not affordable. Nothing is written.
pub fn review(
    request: &[u8],
    snap: &Snapshot,
    now: u64,
    min_life: u64,
) -> Result<RequestReview, SagaError> {
    let pay::Checked {
        request: req,
        payee: info,
        ..
    } = pay::check(request, snap, now, min_life)?;
    let seconds_left = req.expires.saturating_sub(now);
    let mut warnings = Vec::new();
    if seconds_left < EXPIRES_SOON {
        warnings.push(format!(
            "This request expires in {seconds_left} seconds: approve now, or ask the payee for a new one."
        ));
    }
    if let (Some(label), Some(name)) = (&req.label, &info.name)
        && !label.eq_ignore_ascii_case(name)
    {
        warnings.push(format!(
            "The request calls itself \"{label}\", but the bank certified the payee as \"{name}\": pay only if that is who you are paying."
        ));
    }
    if info.name.is_none() {
        warnings.push(
            "The payee's certificate gives no name: pay only if you know who showed you this request."
                .into(),
        );
    }
    Ok(RequestReview {
        amount: req.amount,
        currency: req.currency.clone(),
        payee: info.name,
        fi: info.fi_name,
        label: req.label,
        seconds_left,
        warnings,
    })
}
