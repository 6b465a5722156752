//! `ops verify-payment`.

use std::time::{SystemTime, UNIX_EPOCH};

use ops_core::crl_store::CrlStore;
use ops_core::ledger::NoHistory;
use ops_core::provider::default_provider;
use ops_core::verify::{Policy, Verifier};
use ops_core::{Certificate, Crl, Payment, PaymentRequest};

use crate::Failure;
use crate::input::read_message;

/// Arguments of `ops verify-payment`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The payment request (path, hex or base64).
    #[arg(long)]
    pub request: String,
    /// The payment (path, hex or base64).
    #[arg(long)]
    pub payment: String,
    /// The pinned central-bank root certificate (path, hex or base64).
    #[arg(long)]
    pub root: String,
    /// A CRL the payee holds (repeatable). Its issuer must be the root or a certificate
    /// given with --cert or carried in the payment.
    #[arg(long)]
    pub crl: Vec<String>,
    /// A certificate the payee already holds (repeatable).
    #[arg(long)]
    pub cert: Vec<String>,
    /// Verification time, Unix seconds (default: now).
    #[arg(long)]
    pub time: Option<u64>,
    /// Clock-skew tolerance in seconds.
    #[arg(long, default_value_t = ops_core::verify::DEFAULT_CLOCK_SKEW)]
    pub skew: u64,
    /// Treat the request as already used.
    #[arg(long)]
    pub used: bool,
}

fn decode<T>(
    what: &str,
    arg: &str,
    f: impl Fn(&[u8]) -> Result<T, ops_core::DecodeError>,
) -> Result<T, Failure> {
    let bytes = read_message(arg)?;
    f(&bytes).map_err(|e| {
        Failure::input(
            format!("--{what}: {e}"),
            "check that the right message was passed (try `ops inspect` on it)",
        )
    })
}

/// Runs the command.
pub fn run(a: &Args) -> Result<(), Failure> {
    let request = decode("request", &a.request, PaymentRequest::from_bytes)?;
    let payment = decode("payment", &a.payment, Payment::from_bytes)?;
    let root = decode("root", &a.root, Certificate::from_bytes)?;
    let known = a
        .cert
        .iter()
        .map(|c| decode("cert", c, Certificate::from_bytes))
        .collect::<Result<Vec<_>, _>>()?;
    let provider = default_provider();
    let mut crls = CrlStore::new();
    for c in &a.crl {
        let crl = decode("crl", c, Crl::from_bytes)?;
        let issuer = std::iter::once(&root)
            .chain(known.iter())
            .chain(payment.certs.iter())
            .find(|c| c.id() == crl.body.issuer)
            .ok_or_else(|| {
                Failure::input(
                    format!("--crl: issuer {} of the CRL is unknown", crl.body.issuer),
                    "pass the issuer's certificate with --cert",
                )
            })?;
        crls.insert(crl, issuer, provider).map_err(|e| {
            Failure::input(
                format!("--crl: {e}"),
                "the CRL is not signed by its issuer; fetch it again",
            )
        })?;
    }
    let now = match a.time {
        Some(t) => t,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    };
    let mut policy = Policy::from_root(&root);
    policy.clock_skew = a.skew;
    let verifier = Verifier {
        root: &root,
        known_certs: &known,
        crls: &crls,
        policy: &policy,
        provider,
    };
    match verifier.verify_payment(&request, a.used, &payment, &NoHistory, now) {
        Ok(v) => {
            let summary = serde_json::json!({
                "result": "accepted",
                "amount": v.amount,
                "currency": request.currency,
                "payee": request.payee,
                "request": v.request,
                "payment": payment.hash(),
                "spends_to_record": v.spends.len(),
                "received_notes": v.received.iter().map(|n| serde_json::json!({
                    "id": n.id, "value": n.value, "hops": n.hops, "expires": n.expires
                })).collect::<Vec<_>>(),
                "provider": provider.name(),
                "time": now,
            });
            crate::emit_json(&summary)
        }
        Err(e) => Err(Failure {
            code: 2,
            message: format!("payment rejected by rule V{}: {e}", e.rule()),
            hint: Some(match e.fraud_proof() {
                Some(p) => format!(
                    "double spend: keep this fraud proof for the FI: {}",
                    ops_core::ids::to_hex(&p.to_bytes())
                ),
                None => "see docs/PROTOCOL.md §6 for the rule; do not hand over goods".to_string(),
            }),
        }),
    }
}
