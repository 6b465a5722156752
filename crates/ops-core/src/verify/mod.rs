//! Offline verification of a payment against the payee's outstanding request.
//!
//! Every rule is numbered as in `docs/PROTOCOL.md` §6 and has its own [`VerifyError`]
//! variant. Time is passed in; nothing here reads a clock.

use std::collections::{BTreeMap, BTreeSet};

use crate::crl_store::CrlStore;
use crate::ids::{CertId, Digest32, NoteId};
use crate::ledger::{Insert, RangeLedger, SpendHistory};
use crate::msg::cert::{Certificate, FloorTier, Role};
use crate::msg::crl::Crl;
use crate::msg::fraud::FraudProof;
use crate::msg::payment::{Chain, Payment};
use crate::msg::request::PaymentRequest;
use crate::msg::spend::Spend;
use crate::provider::CryptoProvider;
use crate::sig::verify_signature;

mod ctx;
mod error;

use ctx::Ctx;
pub use error::VerifyError;

/// Default clock-skew tolerance in seconds.
pub const DEFAULT_CLOCK_SKEW: u64 = 300;

/// The payee's verification policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Seconds of clock difference tolerated between devices.
    pub clock_skew: u64,
    /// CRL-freshness floor limits (ascending). Empty: no freshness requirement.
    pub floor_limits: Vec<FloorTier>,
}

impl Policy {
    /// The policy the central bank sets in its root certificate, with the default skew.
    pub fn from_root(root: &Certificate) -> Self {
        Self {
            clock_skew: DEFAULT_CLOCK_SKEW,
            floor_limits: root.body.limits.floor_limits.clone(),
        }
    }

    /// Largest CRL age allowed for `amount`, or `None` if the amount is above every tier.
    pub fn max_crl_age(&self, amount: u64) -> Option<u64> {
        if self.floor_limits.is_empty() {
            return Some(u64::MAX);
        }
        self.floor_limits
            .iter()
            .find(|t| amount <= t.up_to)
            .map(|t| t.max_crl_age)
    }
}

/// A note the payee received (the final spend of a chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedNote {
    /// Its id (the final spend's id).
    pub id: NoteId,
    /// Its value.
    pub value: u64,
    /// Hops from the issuance (spending it again makes `hops + 1`).
    pub hops: usize,
    /// The issuing FI's hop limit.
    pub hop_limit: u8,
    /// Expiry inherited from the issuance.
    pub expires: u64,
}

/// What a successful verification returns.
#[derive(Debug, Clone)]
pub struct VerifiedPayment {
    /// Hash of the request answered (mark it used); `None` for a deposit.
    pub request: Option<Digest32>,
    /// Amount received.
    pub amount: u64,
    /// Every distinct spend on every chain (final and provenance); record them with
    /// [`record`].
    pub spends: Vec<Spend>,
    /// The notes the payee now owns, in chain order (`received[i]` is the last spend of
    /// `payment.chains[i]`; see `wallet::WalletNote::from_chain`).
    pub received: Vec<ReceivedNote>,
}

/// Records a verified payment's spends in the payee's ledger. Returns the number newly
/// recorded (spends already known are idempotent retries).
pub fn record(ledger: &mut RangeLedger<Spend>, verified: &VerifiedPayment) -> usize {
    let mut n = 0;
    for s in &verified.spends {
        let b = &s.body;
        if ledger.insert(b.input, b.from, b.to, s.id(), s.clone()) == Insert::Recorded {
            n += 1;
        }
    }
    n
}

/// Everything the payee trusts and holds.
#[derive(Clone, Copy)]
pub struct Verifier<'a> {
    /// The pinned central-bank root certificate.
    pub root: &'a Certificate,
    /// Certificates the payee holds (its own, its FI's, ...).
    pub known_certs: &'a [Certificate],
    /// The newest CRLs the payee holds.
    pub crls: &'a CrlStore,
    /// Skew and floor limits.
    pub policy: &'a Policy,
    /// Signature backend.
    pub provider: &'a dyn CryptoProvider,
}

/// What a payer learns from a checked payment request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayeeInfo {
    /// The payee's certified name, if its certificate has one.
    pub name: Option<String>,
    /// The certifying FI's name.
    pub fi_name: Option<String>,
    /// The request's own (uncertified) label.
    pub label: Option<String>,
}

impl Verifier<'_> {
    /// Payer side: checks that the certificates carried in `request` (or known) certify its
    /// payee through an FI to the root, are valid at `now` and unrevoked, and that the
    /// request is unexpired; returns the certified names to show before the user approves.
    pub fn check_request(
        &self,
        request: &PaymentRequest,
        now: u64,
    ) -> Result<PayeeInfo, VerifyError> {
        if now.saturating_add(self.policy.clock_skew) < request.created || now > request.expires {
            return Err(VerifyError::RequestExpired {
                now,
                created: request.created,
                expires: request.expires,
            });
        }
        let mut ctx = Ctx::new(self, &request.certs);
        let payee = ctx.check_cert(&request.payee, Role::Device)?;
        ctx.valid_at(payee, now)?;
        let fi_name = payee
            .body
            .issuer
            .and_then(|i| ctx.certs.get(&i))
            .and_then(|fi| fi.body.name.clone());
        Ok(PayeeInfo {
            name: payee.body.name.clone(),
            fi_name,
            label: request.label.clone(),
        })
    }

    /// Verifies `payment` against the outstanding `request` at time `now`, given whether the
    /// request was already used and the payee's spend history. On success the caller must
    /// [`record`] the spends and mark the request used, durably, before saying "approved".
    pub fn verify_payment(
        &self,
        request: &PaymentRequest,
        request_used: bool,
        payment: &Payment,
        history: &dyn SpendHistory,
        now: u64,
    ) -> Result<VerifiedPayment, VerifyError> {
        self.verify_payment_with_news(request, request_used, payment, history, now)
            .1
    }

    /// [`Self::verify_payment`], also returning the CRLs the payment carried that are news
    /// to the payee (V25 checked once): the payee keeps them whatever the verdict, so it
    /// declines the revoked from now on and passes the news on. Empty when a carried CRL
    /// fails V25 (the verdict says so).
    pub fn verify_payment_with_news(
        &self,
        request: &PaymentRequest,
        request_used: bool,
        payment: &Payment,
        history: &dyn SpendHistory,
        now: u64,
    ) -> (Vec<Crl>, Result<VerifiedPayment, VerifyError>) {
        let (news, refused) = match self.carried_crls(payment, now) {
            Ok(news) => (news, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        // V1, V2: the request.
        if request_used {
            return (news, Err(VerifyError::RequestUsed));
        }
        if now.saturating_add(self.policy.clock_skew) < request.created || now > request.expires {
            let expired = VerifyError::RequestExpired {
                now,
                created: request.created,
                expires: request.expires,
            };
            return (news, Err(expired));
        }
        // V25: revocations the payer carried apply to this payment already.
        if let Some(e) = refused {
            return (news, Err(e));
        }
        if news.is_empty() {
            let verdict = self.verify_chains(Some(request), &request.payee, payment, history, now);
            return (news, verdict);
        }
        let mut crls = self.crls.clone();
        for crl in &news {
            crls.adopt_verified(crl.clone());
        }
        let with_carried = Verifier {
            crls: &crls,
            ..*self
        };
        let verdict =
            with_carried.verify_chains(Some(request), &request.payee, payment, history, now);
        (news, verdict)
    }

    /// V25: checks every CRL `payment` carries — issued by the pinned root or by an FI
    /// certificate that passes V11 and is not revoked (held by the payee or carried in the
    /// payment), signed by that issuer, not issued after `now` plus the clock skew — and
    /// returns those newer than the payee's (higher number). [`Self::verify_payment`]
    /// applies them; a payee stores them too (even when the payment is then declined), so
    /// it passes them on and declines the revoked later.
    pub fn carried_crls(&self, payment: &Payment, now: u64) -> Result<Vec<Crl>, VerifyError> {
        if payment.crls.is_empty() {
            return Ok(Vec::new());
        }
        let root_id = self.root.id();
        let mut ctx = Ctx::new(self, &payment.certs);
        let mut newer = Vec::new();
        for crl in &payment.crls {
            let issuer_id = crl.body.issuer;
            let refuse = |reason| VerifyError::CarriedCrl {
                issuer: issuer_id,
                reason,
            };
            let issuer = if issuer_id == root_id {
                self.root
            } else {
                ctx.check_cert(&issuer_id, Role::Fi).map_err(|e| match e {
                    VerifyError::UnknownCertificate(_) => {
                        refuse("its issuer is no certificate the payee knows")
                    }
                    VerifyError::Revoked { .. } => refuse("its issuer is revoked"),
                    _ => refuse("its issuer is not an FI certified by the root"),
                })?
            };
            if crl.body.issued > now.saturating_add(self.policy.clock_skew) {
                return Err(refuse("it is dated in the future"));
            }
            verify_signature(
                self.provider,
                &issuer.body.subject,
                None,
                &crl.body_bytes(),
                &crl.signature,
            )
            .map_err(|_| refuse("its issuer's signature does not verify"))?;
            if self.crls.is_newer(crl) {
                newer.push(crl.clone());
            }
        }
        Ok(newer)
    }

    /// FI side (deposit at sync): the rules of [`Self::verify_payment`] that do not concern a
    /// request — every chain must end in a spend to `depositor`; V1–V3, V5, V6, V17, V18 and
    /// the request-time bound of V15 are not applied. The FI passes the CRLs it wants
    /// applied (guaranteed settlement: a payee that verified before a revocation reached it
    /// is honoured, so the FI may pass CRLs as they stood at the payee's acceptance).
    pub fn verify_deposit(
        &self,
        depositor: &CertId,
        payment: &Payment,
        history: &dyn SpendHistory,
        now: u64,
    ) -> Result<VerifiedPayment, VerifyError> {
        self.verify_chains(None, depositor, payment, history, now)
    }

    fn verify_chains(
        &self,
        request: Option<&PaymentRequest>,
        payee: &CertId,
        payment: &Payment,
        history: &dyn SpendHistory,
        now: u64,
    ) -> Result<VerifiedPayment, VerifyError> {
        let skew = self.policy.clock_skew;
        // V11: the pinned root itself.
        let root = self.root;
        let root_id = root.id();
        if root.body.role != Role::Root || root.body.issuer.is_some() {
            return Err(VerifyError::CertificateChain {
                id: root_id,
                reason: "pinned root is not a root certificate",
            });
        }
        verify_signature(
            self.provider,
            &root.body.subject,
            None,
            &root.body_bytes(),
            &root.signature,
        )
        .map_err(|_| VerifyError::CertificateChain {
            id: root_id,
            reason: "pinned root is not validly self-signed",
        })?;
        if !root.body.valid_at(now, skew) {
            return Err(VerifyError::CertificateNotValid {
                id: root_id,
                at: now,
                not_before: root.body.not_before,
                not_after: root.body.not_after,
            });
        }
        // V18: floor limit tier for this amount.
        let max_age = match request {
            Some(r) => self
                .policy
                .max_crl_age(r.amount)
                .ok_or(VerifyError::AboveFloorLimit {
                    amount: r.amount,
                    max: self.policy.floor_limits.last().map_or(0, |t| t.up_to),
                })?,
            None => u64::MAX,
        };

        let mut ctx = Ctx::new(self, &payment.certs);
        let req_hash = request.map(PaymentRequest::hash);
        let mut paid: u64 = 0;
        let mut finals: BTreeMap<NoteId, usize> = BTreeMap::new();
        // (spend, signer cert id) for every spend on every chain.
        let mut all: Vec<(&Spend, NoteId, CertId)> = Vec::new();
        let mut received = Vec::with_capacity(payment.chains.len());

        for (ci, chain) in payment.chains.iter().enumerate() {
            let note = check_chain(&mut ctx, ci, chain, request, req_hash, payee, now, &mut all)?;
            // V21
            if let Some(first) = finals.insert(note.id, ci) {
                return Err(VerifyError::DuplicateInput { first, second: ci });
            }
            paid = paid.saturating_add(note.value);
            received.push(note);
        }
        // V5
        if let Some(r) = request
            && paid != r.amount
        {
            return Err(VerifyError::AmountMismatch {
                paid,
                requested: r.amount,
            });
        }
        // V17: CRL freshness for every issuer whose certificates were relied on.
        if max_age != u64::MAX {
            for issuer in &ctx.issuers_used {
                let age = self.crls.age(issuer, now);
                if age.is_none_or(|a| a > max_age) {
                    return Err(VerifyError::CrlTooOld {
                        issuer: *issuer,
                        age,
                        max_age,
                    });
                }
            }
        }
        let proof =
            |a: &Spend, b: &Spend, signer: &CertId| -> Result<Box<FraudProof>, VerifyError> {
                let s = ctx.lookup(signer)?;
                let fi_id = s
                    .body
                    .issuer
                    .ok_or(VerifyError::UnknownCertificate(*signer))?;
                let fi = ctx.lookup(&fi_id)?;
                Ok(Box::new(FraudProof::new(
                    a.clone(),
                    b.clone(),
                    s.clone(),
                    fi.clone(),
                )))
            };
        // V22: overlaps inside the payment (shared identical provenance is fine).
        for (i, (a, ida, signer)) in all.iter().enumerate() {
            for (b, idb, _) in &all[i + 1..] {
                if ida != idb && a.body.overlaps(&b.body) {
                    return Err(VerifyError::DoubleSpendInPayment(proof(a, b, signer)?));
                }
            }
        }
        // V23: overlaps with what this payee recorded before.
        for (s, id, signer) in &all {
            let b = &s.body;
            if let Some(prev) = history.conflicting(&b.input, b.from, b.to, id) {
                return Err(VerifyError::DoubleSpend(proof(&prev, s, signer)?));
            }
        }
        // V26, V27: what each payment in the chains took from its payer — its spends that
        // answer one request, each counted once — within the payer's certificate limits.
        // (A list, not a map: at most 8 × 16 spends, and the apps' bundles stay small.)
        let mut taken: Vec<(CertId, Digest32, u64, u64)> = Vec::new();
        let mut counted = BTreeSet::new();
        for (s, id, signer) in &all {
            if !counted.insert(*id) {
                continue;
            }
            let value = s.body.to - s.body.from;
            let unverified = if s.signature.user_verified() {
                0
            } else {
                value
            };
            match taken
                .iter_mut()
                .find(|t| t.0 == *signer && t.1 == s.body.request)
            {
                Some(t) => {
                    t.2 = t.2.saturating_add(value);
                    t.3 = t.3.saturating_add(unverified);
                }
                None => taken.push((*signer, s.body.request, value, unverified)),
            }
        }
        for (signer, _, paid, unverified) in taken {
            let limits = &ctx.lookup(&signer)?.body.limits;
            if let Some(max) = limits.max_payment
                && paid > max
            {
                return Err(VerifyError::AbovePayerLimit { signer, paid, max });
            }
            if let Some(max) = limits.max_without_uv
                && unverified > max
            {
                return Err(VerifyError::UserVerificationRequired {
                    signer,
                    paid: unverified,
                    max,
                });
            }
        }
        let mut spends: Vec<Spend> = Vec::with_capacity(all.len());
        let mut seen = BTreeSet::new();
        for (s, id, _) in all {
            if seen.insert(id) {
                spends.push(s.clone());
            }
        }
        Ok(VerifiedPayment {
            request: req_hash,
            amount: paid,
            spends,
            received,
        })
    }
}

/// Rules V6–V16, V19, V20 and the V3/V4 binding of the final spend for one chain. Pushes
/// every spend (with its id and signer) to `all` for the overlap rules.
#[allow(clippy::too_many_arguments)]
fn check_chain<'a>(
    ctx: &mut Ctx<'a>,
    ci: usize,
    chain: &'a Chain,
    request: Option<&PaymentRequest>,
    req_hash: Option<Digest32>,
    payee: &CertId,
    now: u64,
    all: &mut Vec<(&'a Spend, NoteId, CertId)>,
) -> Result<ReceivedNote, VerifyError> {
    let skew = ctx.v.policy.clock_skew;
    let iss = &chain.issuance;
    let ib = &iss.body;
    // V6
    if let Some(r) = request
        && ib.currency != r.currency
    {
        return Err(VerifyError::CurrencyMismatch {
            chain: ci,
            found: ib.currency.clone(),
            requested: r.currency.clone(),
        });
    }
    // V10, V11, V16: the FI and the owner.
    let fi = ctx.check_cert(&ib.issuer, Role::Fi)?;
    ctx.valid_at(fi, ib.issued)?; // V13
    let fl = &fi.body.limits;
    // V12
    let not_allowed = |reason| VerifyError::IssuanceNotAllowed { chain: ci, reason };
    if fl.currency.as_deref() != Some(ib.currency.as_str()) {
        return Err(not_allowed(
            "the FI certificate does not allow this currency",
        ));
    }
    if fl.max_note_value.is_none_or(|m| ib.amount > m) {
        return Err(not_allowed("amount above the FI's maximum note value"));
    }
    let hop_limit = fl
        .hop_limit
        .ok_or(not_allowed("the FI certificate sets no hop limit"))?;
    let owner = ctx.check_cert(&ib.owner, Role::Device)?;
    if owner
        .body
        .limits
        .max_outstanding
        .is_some_and(|m| ib.amount > m)
    {
        return Err(not_allowed(
            "amount above the owner's outstanding-value limit",
        ));
    }
    ctx.valid_at(owner, ib.issued)?; // V13
    // V19
    verify_signature(
        ctx.v.provider,
        &fi.body.subject,
        None,
        &iss.body_bytes(),
        &iss.signature,
    )
    .map_err(|error| VerifyError::IssuanceSignature { chain: ci, error })?;
    // V14
    if now > ib.expires.saturating_add(skew) {
        return Err(VerifyError::NoteExpired {
            chain: ci,
            expires: ib.expires,
            at: now,
        });
    }
    // V9
    if chain.spends.len() > usize::from(hop_limit) {
        return Err(VerifyError::HopLimitExceeded {
            chain: ci,
            hops: chain.spends.len(),
            limit: hop_limit,
        });
    }
    let mut note_id = iss.note_id();
    let mut note_value = ib.amount;
    let mut note_owner = owner;
    let mut prev_time = ib.issued;
    let last = chain.spends.len();
    for (i, sp) in chain.spends.iter().enumerate() {
        let hop = i + 1;
        let b = &sp.body;
        if b.input != note_id {
            return Err(VerifyError::BrokenChain { chain: ci, hop }); // V7
        }
        if b.to > note_value {
            return Err(VerifyError::RangeOutsideNote {
                chain: ci,
                hop,
                to: b.to,
                value: note_value,
            }); // V8
        }
        // V15
        let order = |why| VerifyError::TimeOrder {
            chain: ci,
            hop,
            time: b.time,
            why,
        };
        if b.time.saturating_add(skew) < prev_time {
            return Err(order("before the note it spends was created"));
        }
        if b.time > now.saturating_add(skew) {
            return Err(order("in the payee's future"));
        }
        if hop == last
            && let Some(r) = request
            && b.time.saturating_add(skew) < r.created
        {
            return Err(order("before the request was created"));
        }
        // V14
        if b.time > ib.expires.saturating_add(skew) {
            return Err(VerifyError::NoteExpired {
                chain: ci,
                expires: ib.expires,
                at: b.time,
            });
        }
        ctx.valid_at(note_owner, b.time)?; // V13
        if hop == last {
            if req_hash.is_some_and(|h| b.request != h) {
                return Err(VerifyError::RequestMismatch { chain: ci }); // V3
            }
            if b.payee != *payee {
                return Err(VerifyError::WrongPayee {
                    chain: ci,
                    found: b.payee,
                }); // V4
            }
        }
        // V20 (plain or WebAuthn, as the signer's certificate demands)
        verify_signature(
            ctx.v.provider,
            &note_owner.body.subject,
            note_owner.body.webauthn.as_ref(),
            &sp.body_bytes(),
            &sp.signature,
        )
        .map_err(|error| VerifyError::SpendSignature {
            chain: ci,
            hop,
            error,
        })?;
        let id = sp.id();
        all.push((sp, id, note_owner.id()));
        if hop < last {
            note_owner = ctx.check_cert(&b.payee, Role::Device)?;
        }
        note_id = id;
        note_value = b.value();
        prev_time = b.time;
    }
    Ok(ReceivedNote {
        id: note_id,
        value: note_value,
        hops: last,
        hop_limit,
        expires: ib.expires,
    })
}

#[cfg(test)]
mod carried_tests;
#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod tests;
