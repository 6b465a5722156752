//! `ops verify-payment`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use ops_core::crl_store::{CrlError, CrlStore};
use ops_core::ledger::NoHistory;
use ops_core::provider::default_provider;
use ops_core::verify::{Policy, Verifier};
use ops_core::{CertId, Certificate, Crl, CryptoProvider, Payment, PaymentRequest};
use thiserror::Error;

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
    /// A CRL the payee holds (repeatable). A list from an issuer of a certificate the
    /// payment relies on must verify against the root, a --cert or a certificate carried in
    /// the payment; a list from any other issuer is ignored with a note.
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

/// Why a `--crl` was not applied.
#[derive(Debug, Error)]
pub enum CrlLoadError {
    /// No certificate the payment relies on was issued by this issuer: the list cannot
    /// change the verdict, so it is left out (the command notes it and goes on).
    #[error("issuer {issuer} issued no certificate the payment relies on")]
    NotInvolved {
        /// The CRL's issuer.
        issuer: CertId,
    },
    /// The issuer matters to the payment, but its certificate is neither the root, given
    /// with --cert, nor carried in the payment, so the list's signature cannot be checked.
    #[error("issuer {issuer} of the CRL is unknown")]
    UnknownIssuer {
        /// The CRL's issuer.
        issuer: CertId,
    },
    /// The list does not verify against its issuer's certificate.
    #[error("{0}")]
    Invalid(#[from] CrlError),
}

/// The certificates at hand for checking `--crl` lists (the root, `--cert` and the
/// payment's), and the issuers whose lists can change the verdict on the payment.
#[derive(Debug)]
pub struct CrlIssuers<'a> {
    at_hand: BTreeMap<CertId, &'a Certificate>,
    involved: BTreeSet<CertId>,
}

impl<'a> CrlIssuers<'a> {
    /// The issuers involved in `payment` answering `request`: the root (it certifies every
    /// FI) and the issuer of every certificate the request or the payment names (issuing
    /// FIs, note owners, payees) that is at hand. A certificate not at hand fails
    /// verification (rule V10) whatever the lists say, so its issuer does not matter. This
    /// is a superset of the issuers the verifier consults.
    pub fn new(
        root: &'a Certificate,
        known: &'a [Certificate],
        request: &PaymentRequest,
        payment: &'a Payment,
    ) -> Self {
        let at_hand: BTreeMap<CertId, &Certificate> = std::iter::once(root)
            .chain(known)
            .chain(&payment.certs)
            .map(|c| (c.id(), c))
            .collect();
        let named = std::iter::once(request.payee).chain(payment.chains.iter().flat_map(|ch| {
            [ch.issuance.body.issuer, ch.issuance.body.owner]
                .into_iter()
                .chain(ch.spends.iter().map(|s| s.body.payee))
        }));
        let mut involved = BTreeSet::from([root.id()]);
        involved.extend(
            named
                .filter_map(|id| at_hand.get(&id))
                .filter_map(|c| c.body.issuer),
        );
        Self { at_hand, involved }
    }

    /// Whether `issuer`'s list can change the verdict.
    pub fn is_involved(&self, issuer: &CertId) -> bool {
        self.involved.contains(issuer)
    }

    /// Checks `crl` against its issuer's certificate and keeps it in `crls` (the newest per
    /// issuer). A list from an issuer the payment does not involve is neither checked nor
    /// kept: [`CrlLoadError::NotInvolved`], which the caller reports as a note.
    pub fn load(
        &self,
        crls: &mut CrlStore,
        crl: Crl,
        provider: &dyn CryptoProvider,
    ) -> Result<(), CrlLoadError> {
        let issuer = crl.body.issuer;
        if !self.is_involved(&issuer) {
            return Err(CrlLoadError::NotInvolved { issuer });
        }
        let cert = self
            .at_hand
            .get(&issuer)
            .ok_or(CrlLoadError::UnknownIssuer { issuer })?;
        crls.insert(crl, cert, provider)?;
        Ok(())
    }
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
    let mut given = Vec::with_capacity(a.crl.len());
    for c in &a.crl {
        given.push((c.as_str(), decode("crl", c, Crl::from_bytes)?));
    }
    let issuers = CrlIssuers::new(&root, &known, &request, &payment);
    let mut crls = CrlStore::new();
    for (arg, crl) in given {
        match issuers.load(&mut crls, crl, provider) {
            Ok(()) => {}
            Err(CrlLoadError::NotInvolved { issuer }) => eprintln!(
                "note: --crl {arg}: ignored the revocation list of issuer {issuer}: the payment \
                 relies on no certificate it issued"
            ),
            Err(e) => {
                let hint = match e {
                    CrlLoadError::UnknownIssuer { .. } => {
                        "pass the issuer's certificate with --cert"
                    }
                    _ => "the CRL is not signed by its issuer; fetch it again",
                };
                return Err(Failure::input(format!("--crl {arg}: {e}"), hint));
            }
        }
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

#[cfg(test)]
mod tests {
    use ops_core::P256Provider;
    use ops_core::testing::{T0, World, sign_body};
    use ops_core::{CrlBody, Signature};

    use super::*;

    fn crl_of(issuer: CertId, key: &ops_core::sig::SoftwareKey) -> Crl {
        sign_body(
            CrlBody {
                issuer,
                number: 1,
                issued: T0,
                revoked: vec![],
            },
            key,
        )
    }

    #[test]
    fn lists_of_uninvolved_issuers_are_ignored_not_errors() {
        // Wallet 0 and the POS are certified by FI 0; FI 1 takes no part in the payment.
        let mut w = World::new(1);
        let (request, payment) = w.payment(1, 1000, 250, T0 + 60);
        let known = vec![w.pos.cert.clone(), w.fis[1].clone()];
        let issuers = CrlIssuers::new(&w.root, &known, &request, &payment);
        assert!(issuers.is_involved(&w.root.id()));
        assert!(issuers.is_involved(&w.fis[0].id()));
        assert!(!issuers.is_involved(&w.fis[1].id()));

        let mut crls = CrlStore::new();
        let p = &P256Provider;
        // The root's and FI 0's lists are checked and kept.
        issuers
            .load(&mut crls, crl_of(w.root.id(), &w.root_key), p)
            .unwrap();
        issuers
            .load(&mut crls, crl_of(w.fis[0].id(), &w.fi_keys[0]), p)
            .unwrap();
        assert!(crls.get(&w.fis[0].id()).is_some());

        // FI 1's list (its certificate at hand, the list even badly signed) and a list from an
        // issuer nobody knows are left out, and say whose they were.
        for issuer in [w.fis[1].id(), CertId([0x42; 16])] {
            let bogus = Crl {
                body: crl_of(issuer, &w.fi_keys[0]).body,
                signature: Signature::Es256([0; 64]),
            };
            match issuers.load(&mut crls, bogus, p) {
                Err(CrlLoadError::NotInvolved { issuer: i }) => assert_eq!(i, issuer),
                other => panic!("{other:?}"),
            }
            assert!(crls.get(&issuer).is_none());
        }
    }

    #[test]
    fn lists_of_involved_issuers_are_still_checked() {
        let mut w = World::new(1);
        let (request, payment) = w.payment(1, 1000, 250, T0 + 60);
        let known = vec![w.pos.cert.clone()];
        let issuers = CrlIssuers::new(&w.root, &known, &request, &payment);
        // FI 0's list signed by FI 1: refused.
        let forged = crl_of(w.fis[0].id(), &w.fi_keys[1]);
        let mut crls = CrlStore::new();
        assert!(matches!(
            issuers.load(&mut crls, forged, &P256Provider),
            Err(CrlLoadError::Invalid(_))
        ));
        // A device certificate naming an FI whose certificate is not at hand: that FI is
        // involved, so its list is an error with a hint, as before.
        let mut payment = payment;
        payment.certs.retain(|c| c.id() != w.fis[0].id());
        let issuers = CrlIssuers::new(&w.root, &known, &request, &payment);
        let crl = crl_of(w.fis[0].id(), &w.fi_keys[0]);
        assert!(matches!(
            issuers.load(&mut crls, crl, &P256Provider),
            Err(CrlLoadError::UnknownIssuer { .. })
        ));
    }
}
