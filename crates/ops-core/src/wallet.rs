//! Wallet-side bookkeeping: the notes a device holds, coin selection (fewest hops first,
//! then fewest inputs), and the state machine of an outgoing payment
//! (`Reserved → Signed → Sent`, or `Aborted`), all serde-serialisable so the apps can
//! persist every step before showing it and resume after a crash or reload.
//!
//! Each note is consumed from the left: `[0, spent)` is gone, `[spent, value)` is free.
//! A reservation moves `spent` forward at once, so a crash can never hand the same range
//! to two payments; only an abort *before signing* gives a range back.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::DecodeError;
use crate::ids::{CertId, Digest32, NoteId, sha256};
use crate::msg::cert::Certificate;
use crate::msg::issuance::Issuance;
use crate::msg::payment::{Chain, MAX_CHAINS, Payment};
use crate::msg::request::PaymentRequest;
use crate::msg::spend::{Spend, SpendBody};
use crate::sig::batch_signatures;
use crate::webauthn::AssertionWire;

/// Serde helper: bytes as lowercase hex.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::ids::to_hex(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        crate::ids::from_hex(&s).ok_or_else(|| serde::de::Error::custom("invalid hex"))
    }
}

mod hex_list {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|b| crate::ids::to_hex(b)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter()
            .map(|s| crate::ids::from_hex(s).ok_or_else(|| serde::de::Error::custom("invalid hex")))
            .collect()
    }
}

/// A note the wallet owns, with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletNote {
    /// Note id.
    pub id: NoteId,
    /// Total value.
    pub value: u64,
    /// `[0, spent)` is consumed or reserved.
    pub spent: u64,
    /// Spends from the issuance to this note (0 for a fresh issuance).
    pub hops: usize,
    /// The issuing FI's hop limit.
    pub hop_limit: u8,
    /// Expiry (Unix seconds).
    pub expires: u64,
    /// Currency code.
    pub currency: String,
    /// Canonical bytes: the issuance, then each spend of the chain to this note.
    #[serde(with = "hex_list")]
    pub provenance: Vec<Vec<u8>>,
    /// Canonical bytes of the certificates a payee needs for the provenance (issuing FI,
    /// earlier owners and their FIs), besides the wallet's own certificate chain.
    #[serde(with = "hex_list", default)]
    pub certs: Vec<Vec<u8>>,
}

impl WalletNote {
    /// A freshly issued note.
    pub fn from_issuance(iss: &Issuance, hop_limit: u8) -> Self {
        Self {
            id: iss.note_id(),
            value: iss.body.amount,
            spent: 0,
            hops: 0,
            hop_limit,
            expires: iss.body.expires,
            currency: iss.body.currency.clone(),
            provenance: vec![iss.to_bytes()],
            certs: Vec::new(),
        }
    }

    /// The same note, remembering `certs` (e.g. the issuing FI's, when it is not the
    /// wallet's own FI).
    pub fn with_certs(mut self, certs: &[Certificate]) -> Self {
        self.certs = certs.iter().map(Certificate::to_bytes).collect();
        self
    }

    /// A note received as the last spend of `chain` (after verification), keeping from
    /// `payment_certs` those its provenance needs.
    pub fn from_chain(chain: &Chain, hop_limit: u8, payment_certs: &[Certificate]) -> Option<Self> {
        let last = chain.last()?;
        let mut needed: Vec<CertId> = vec![chain.issuance.body.issuer, chain.issuance.body.owner];
        let n = chain.spends.len();
        needed.extend(
            chain
                .spends
                .iter()
                .take(n.saturating_sub(1))
                .map(|s| s.body.payee),
        );
        let owner_fis: Vec<CertId> = payment_certs
            .iter()
            .filter(|c| needed.contains(&c.id()))
            .filter_map(|c| c.body.issuer)
            .collect();
        needed.extend(owner_fis);
        let certs = payment_certs
            .iter()
            .filter(|c| needed.contains(&c.id()))
            .map(Certificate::to_bytes)
            .collect();
        let mut provenance = vec![chain.issuance.to_bytes()];
        provenance.extend(chain.spends.iter().map(Spend::to_bytes));
        Some(Self {
            id: last.id(),
            value: last.body.value(),
            spent: 0,
            hops: chain.spends.len(),
            hop_limit,
            expires: chain.issuance.body.expires,
            currency: chain.issuance.body.currency.clone(),
            provenance,
            certs,
        })
    }

    /// Free value.
    pub fn available(&self) -> u64 {
        self.value.saturating_sub(self.spent)
    }

    /// The provenance as a chain prefix (issuance and earlier spends).
    pub fn chain_prefix(&self) -> Result<Chain, DecodeError> {
        let (first, rest) = self
            .provenance
            .split_first()
            .ok_or(DecodeError::InvalidValue {
                what: "provenance",
                why: "empty",
            })?;
        Ok(Chain {
            issuance: Issuance::from_bytes(first)?,
            spends: rest
                .iter()
                .map(|b| Spend::from_bytes(b))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// A range of one note chosen to pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    /// The note.
    pub note: NoteId,
    /// Start (inclusive).
    pub from: u64,
    /// End (exclusive).
    pub to: u64,
}

/// Why no selection is possible.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SelectError {
    /// Not enough spendable value in this currency.
    #[error("only {available} spendable, {needed} needed: sync with your bank to load more")]
    InsufficientFunds {
        /// Spendable value.
        available: u64,
        /// Requested amount.
        needed: u64,
    },
    /// The value is spread over more notes than one payment may carry.
    #[error("the amount needs more than {MAX_CHAINS} notes: pay in parts or sync to consolidate")]
    TooFragmented,
}

/// The notes a wallet holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletBook {
    /// All notes, spent or not.
    pub notes: Vec<WalletNote>,
}

impl WalletBook {
    fn eligible(&self, currency: &str, now: u64, min_life: u64) -> Vec<&WalletNote> {
        self.notes
            .iter()
            .filter(|n| {
                n.currency == currency
                    && n.available() > 0
                    && n.hops < usize::from(n.hop_limit)
                    && n.expires >= now.saturating_add(min_life)
            })
            .collect()
    }

    /// Chooses ranges paying exactly `amount`: the lowest hop count that can pay at all,
    /// then the fewest notes (one note if any suffices, the smallest such; else largest
    /// first). Notes expiring within `min_life` seconds of `now` or at their hop limit are
    /// skipped. Does not reserve.
    pub fn select(
        &self,
        amount: u64,
        currency: &str,
        now: u64,
        min_life: u64,
    ) -> Result<Vec<Piece>, SelectError> {
        let eligible = self.eligible(currency, now, min_life);
        let total: u64 = eligible
            .iter()
            .map(|n| n.available())
            .fold(0, u64::saturating_add);
        if total < amount || amount == 0 {
            return Err(SelectError::InsufficientFunds {
                available: total,
                needed: amount,
            });
        }
        let mut levels: Vec<usize> = eligible.iter().map(|n| n.hops).collect();
        levels.sort_unstable();
        levels.dedup();
        let mut fragmented = false;
        for max_hops in levels {
            let mut c: Vec<&WalletNote> = eligible
                .iter()
                .copied()
                .filter(|n| n.hops <= max_hops)
                .collect();
            if c.iter().map(|n| n.available()).fold(0, u64::saturating_add) < amount {
                continue;
            }
            if let Some(one) = c
                .iter()
                .filter(|n| n.available() >= amount)
                .min_by_key(|n| (n.hops, n.available(), n.expires))
            {
                return Ok(vec![Piece {
                    note: one.id,
                    from: one.spent,
                    to: one.spent + amount,
                }]);
            }
            crate::order::sort_stable_by_key(&mut c, |n| {
                (core::cmp::Reverse(n.available()), n.hops, n.expires)
            });
            let mut left = amount;
            let mut pieces = Vec::new();
            for n in c {
                if left == 0 {
                    break;
                }
                let take = n.available().min(left);
                pieces.push(Piece {
                    note: n.id,
                    from: n.spent,
                    to: n.spent + take,
                });
                left -= take;
            }
            if pieces.len() <= MAX_CHAINS {
                return Ok(pieces);
            }
            fragmented = true;
        }
        if fragmented {
            Err(SelectError::TooFragmented)
        } else {
            Err(SelectError::InsufficientFunds {
                available: total,
                needed: amount,
            })
        }
    }

    fn note_mut(&mut self, id: &NoteId) -> Option<&mut WalletNote> {
        self.notes.iter_mut().find(|n| n.id == *id)
    }

    /// The note with this id.
    pub fn note(&self, id: &NoteId) -> Option<&WalletNote> {
        self.notes.iter().find(|n| n.id == *id)
    }

    /// Spendable value in `currency` at `now`.
    pub fn balance(&self, currency: &str, now: u64) -> u64 {
        self.eligible(currency, now, 0)
            .iter()
            .map(|n| n.available())
            .fold(0, u64::saturating_add)
    }
}

/// Where an outgoing payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutgoingState {
    /// Ranges reserved, nothing signed: safe to abort and release.
    Reserved,
    /// Spends signed and the payment assembled: it may already be visible to the payee, so
    /// the ranges stay consumed whatever happens next.
    Signed,
    /// Handed over (the payee acknowledged, or the user confirmed).
    Sent,
    /// Given up. Ranges were released only if it was aborted while `Reserved`.
    Aborted,
}

/// An illegal transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("cannot {action} a payment that is {from:?}")]
pub struct StateError {
    /// What was attempted.
    pub action: &'static str,
    /// The current state.
    pub from: OutgoingState,
}

/// An outgoing payment, persisted at every step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingPayment {
    /// Hash of the request being paid.
    pub request: Digest32,
    /// The payee's certificate id.
    pub payee: CertId,
    /// Amount.
    pub amount: u64,
    /// The ranges paying it.
    pub pieces: Vec<Piece>,
    /// State.
    pub state: OutgoingState,
    /// Certificates the payee already holds (those carried in its request): left out of
    /// the payment to keep it small.
    #[serde(default)]
    pub payee_known: Vec<CertId>,
    /// The payment's canonical bytes once signed (resend these exact bytes on retry).
    #[serde(with = "hex_bytes", default, skip_serializing_if = "Vec::is_empty")]
    pub payment: Vec<u8>,
}

impl OutgoingPayment {
    /// Selects and reserves ranges for `request`. Persist the book and the returned value
    /// together before asking the user to sign.
    pub fn reserve(
        book: &mut WalletBook,
        request: &PaymentRequest,
        now: u64,
        min_life: u64,
    ) -> Result<Self, SelectError> {
        let pieces = book.select(request.amount, &request.currency, now, min_life)?;
        for p in &pieces {
            if let Some(n) = book.note_mut(&p.note) {
                n.spent = p.to;
            }
        }
        Ok(Self {
            request: request.hash(),
            payee: request.payee,
            amount: request.amount,
            pieces,
            state: OutgoingState::Reserved,
            payee_known: request.certs.iter().map(Certificate::id).collect(),
            payment: Vec::new(),
        })
    }

    /// The spend bodies to sign, one per piece, in order.
    pub fn spend_bodies(&self, now: u64) -> Vec<SpendBody> {
        self.pieces
            .iter()
            .map(|p| SpendBody {
                input: p.note,
                from: p.from,
                to: p.to,
                payee: self.payee,
                request: self.request,
                time: now,
            })
            .collect()
    }

    /// The challenge to ask the authenticator with, ONCE, for all of `bodies` (as returned
    /// by [`Self::spend_bodies`]): `SHA-256(body)` for a single spend (the plain WebAuthn
    /// form), the batch challenge of [`crate::batch`] for 2..=8 spends. `None` for no
    /// spend or more than 8 (a payment never has that many).
    pub fn batch_challenge(bodies: &[SpendBody]) -> Option<[u8; 32]> {
        crate::batch::challenge(&Self::digests(bodies))
    }

    fn digests(bodies: &[SpendBody]) -> Vec<[u8; 32]> {
        bodies
            .iter()
            .map(|b| sha256(&Spend::body_bytes_of(b)))
            .collect()
    }

    /// [`Self::sign`] with one approval: `assertion` is the (compacted) assertion the
    /// authenticator made for [`Self::batch_challenge`]`(&bodies)`; each spend gets its
    /// share of it (its index and audit path, or the plain form for a single spend).
    /// Check the result with `sig::verify_signature` before handing it over if the
    /// assertion comes from outside the app's own code.
    pub fn sign_batch(
        &mut self,
        book: &WalletBook,
        bodies: Vec<SpendBody>,
        assertion: AssertionWire,
        own_certs: Vec<Certificate>,
    ) -> Result<Payment, SignError> {
        let sigs =
            batch_signatures(assertion, &Self::digests(&bodies)).ok_or(SignError::Mismatch)?;
        let spends = bodies
            .into_iter()
            .zip(sigs)
            .map(|(body, signature)| Spend { body, signature })
            .collect();
        self.sign(book, spends, own_certs)
    }

    /// Assembles the payment from the signed spends (same order as [`Self::spend_bodies`])
    /// and moves to `Signed`. `own_certs` is the wallet's certificate chain (its device and
    /// FI certificates); the certificates the notes' provenance needs are added, duplicates
    /// and those the payee already holds are left out. The returned payment's list is
    /// canonical (referenced certificates only, sorted by id: [`Payment::canonical`]).
    pub fn sign(
        &mut self,
        book: &WalletBook,
        spends: Vec<Spend>,
        own_certs: Vec<Certificate>,
    ) -> Result<Payment, SignError> {
        if self.state != OutgoingState::Reserved {
            return Err(SignError::State(StateError {
                action: "sign",
                from: self.state,
            }));
        }
        if spends.len() != self.pieces.len() {
            return Err(SignError::Mismatch);
        }
        let mut chains = Vec::with_capacity(spends.len());
        let mut certs: Vec<Certificate> = Vec::new();
        let add = |c: Certificate, certs: &mut Vec<Certificate>| {
            let id = c.id();
            if !self.payee_known.contains(&id) && !certs.iter().any(|k| k.id() == id) {
                certs.push(c);
            }
        };
        for c in own_certs {
            add(c, &mut certs);
        }
        for (p, s) in self.pieces.iter().zip(spends) {
            let b = &s.body;
            if (b.input, b.from, b.to, b.payee, b.request)
                != (p.note, p.from, p.to, self.payee, self.request)
            {
                return Err(SignError::Mismatch);
            }
            let note = book.note(&p.note).ok_or(SignError::Mismatch)?;
            for c in &note.certs {
                add(Certificate::from_bytes(c)?, &mut certs);
            }
            let mut chain = note.chain_prefix()?;
            chain.spends.push(s);
            chains.push(chain);
        }
        // Canonical in memory too, so the value returned is what the payee decodes.
        let payment = Payment {
            certs,
            chains,
            crls: Vec::new(),
        }
        .canonical();
        self.payment = payment.to_bytes();
        self.state = OutgoingState::Signed;
        Ok(payment)
    }

    /// Marks the payment handed over. Idempotent.
    pub fn mark_sent(&mut self) -> Result<(), StateError> {
        match self.state {
            OutgoingState::Signed | OutgoingState::Sent => {
                self.state = OutgoingState::Sent;
                Ok(())
            }
            from => Err(StateError {
                action: "mark sent",
                from,
            }),
        }
    }

    /// Gives up. From `Reserved` the ranges go back to their notes (when they are still the
    /// notes' most recent reservation); from `Signed` they stay consumed, because the signed
    /// spends may have reached the payee. A `Sent` payment cannot be aborted.
    pub fn abort(&mut self, book: &mut WalletBook) -> Result<(), StateError> {
        match self.state {
            OutgoingState::Reserved => {
                for p in &self.pieces {
                    if let Some(n) = book.note_mut(&p.note)
                        && n.spent == p.to
                    {
                        n.spent = p.from;
                    }
                }
                self.state = OutgoingState::Aborted;
                Ok(())
            }
            OutgoingState::Signed => {
                self.state = OutgoingState::Aborted;
                Ok(())
            }
            OutgoingState::Aborted => Ok(()),
            from @ OutgoingState::Sent => Err(StateError {
                action: "abort",
                from,
            }),
        }
    }
}

/// Why a payment could not be assembled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignError {
    /// Wrong state.
    #[error(transparent)]
    State(#[from] StateError),
    /// The signed spends do not match the reserved pieces.
    #[error("the signed spends do not match the reserved ranges")]
    Mismatch,
    /// A stored provenance entry does not decode.
    #[error("stored provenance is corrupt: {0}")]
    Provenance(#[from] DecodeError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::NoHistory;
    use crate::provider::P256Provider;
    use crate::testing::{DAY, T0, World};

    fn note(id: u8, value: u64, hops: usize) -> WalletNote {
        WalletNote {
            id: NoteId([id; 32]),
            value,
            spent: 0,
            hops,
            hop_limit: 4,
            expires: T0 + 30 * DAY,
            currency: "EUR".into(),
            provenance: Vec::new(),
            certs: Vec::new(),
        }
    }

    #[test]
    fn selection_prefers_fewest_hops_then_fewest_inputs() {
        let book = WalletBook {
            notes: vec![
                note(1, 100, 2),
                note(2, 60, 0),
                note(3, 50, 0),
                note(4, 500, 3),
            ],
        };
        // 0-hop notes can pay 80 with two inputs: preferred over the 2-hop single note.
        let p = book.select(80, "EUR", T0, 0).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].note, p[0].to), (NoteId([2; 32]), 60));
        assert_eq!((p[1].note, p[1].to), (NoteId([3; 32]), 20));
        // 40: one 0-hop note suffices; the smallest that does.
        let p = book.select(40, "EUR", T0, 0).unwrap();
        assert_eq!(
            p,
            vec![Piece {
                note: NoteId([3; 32]),
                from: 0,
                to: 40
            }]
        );
        // 150: needs hop level 2 (60 + 50 + 100).
        let p = book.select(150, "EUR", T0, 0).unwrap();
        assert_eq!(p[0].note, NoteId([1; 32]));
        assert_eq!(p.iter().map(|p| p.to - p.from).sum::<u64>(), 150);
        // 700: needs everything, and there is only 710.
        assert_eq!(book.select(700, "EUR", T0, 0).unwrap().len(), 4);
        assert!(matches!(
            book.select(711, "EUR", T0, 0),
            Err(SelectError::InsufficientFunds { available: 710, .. })
        ));
        assert!(book.select(10, "USD", T0, 0).is_err());
        // Notes at the hop limit or about to expire are skipped.
        let mut b = book.clone();
        b.notes[3].hops = 4;
        assert_eq!(b.balance("EUR", T0), 210);
        assert!(b.select(60, "EUR", T0 + 29 * DAY, 2 * DAY).is_err());
    }

    #[test]
    fn state_machine_reserve_sign_send_and_abort() {
        let mut w = World::new(2);
        let now = T0 + DAY;
        let iss = w.issue(0, w.wallets[0].id(), 1_000, 42);
        let mut book = WalletBook {
            notes: vec![WalletNote::from_issuance(&iss, 4)],
        };
        let req = w.request(300, 9, now - 5);

        // Abort while reserved releases the range.
        let mut p = OutgoingPayment::reserve(&mut book, &req, now, 0).unwrap();
        assert_eq!(book.notes[0].spent, 300);
        p.abort(&mut book).unwrap();
        assert_eq!(book.notes[0].spent, 0);
        assert_eq!(p.state, OutgoingState::Aborted);

        let p = OutgoingPayment::reserve(&mut book, &req, now, 0).unwrap();
        // Persist and resume through JSON.
        let json = serde_json::to_string(&(&book, &p)).unwrap();
        let (mut book, mut p): (WalletBook, OutgoingPayment) = serde_json::from_str(&json).unwrap();
        assert!(p.mark_sent().is_err(), "cannot send before signing");
        let spends: Vec<Spend> = p
            .spend_bodies(now)
            .into_iter()
            .map(|b| World::spend_by(&mut w.wallets[0], b))
            .collect();
        let certs = vec![w.fis[0].clone(), w.wallets[0].cert.clone()];
        let payment = p.sign(&book, spends.clone(), certs.clone()).unwrap();
        assert_eq!(p.state, OutgoingState::Signed);
        assert!(p.sign(&book, spends, certs).is_err(), "cannot sign twice");
        // The payee accepts it.
        w.publish_crls(now - 60, &[], &P256Provider);
        let known = w.pos_known();
        w.verifier(&known, &P256Provider)
            .verify_payment(&req, false, &payment, &NoHistory, now)
            .unwrap();
        p.mark_sent().unwrap();
        p.mark_sent().unwrap();
        assert!(p.abort(&mut book).is_err());
        assert_eq!(book.notes[0].spent, 300, "sent ranges stay consumed");
        assert_eq!(book.balance("EUR", now), 700);
    }

    #[test]
    fn abort_after_signing_keeps_ranges() {
        let mut w = World::new(1);
        let now = T0 + DAY;
        let iss = w.issue(0, w.wallets[0].id(), 1_000, 42);
        let mut book = WalletBook {
            notes: vec![WalletNote::from_issuance(&iss, 4)],
        };
        let req = w.request(300, 9, now - 5);
        let mut p = OutgoingPayment::reserve(&mut book, &req, now, 0).unwrap();
        let spends = p
            .spend_bodies(now)
            .into_iter()
            .map(|b| World::spend_by(&mut w.wallets[0], b))
            .collect();
        p.sign(&book, spends, Vec::new()).unwrap();
        p.abort(&mut book).unwrap();
        assert_eq!(book.notes[0].spent, 300);
    }

    #[test]
    fn received_note_is_respent_with_the_certificates_it_needs() {
        let mut w = World::new(3);
        let now = T0 + DAY;
        w.publish_crls(now - 60, &[], &P256Provider);
        // Wallet 0 pays wallet 1 (certified by FI 1); wallet 1 keeps the note.
        let (_, first) = w.payment(1, 1_000, 400, now - 100);
        let mut chain = first.chains[0].clone();
        let mut b = chain.spends[0].body.clone();
        b.payee = w.wallets[1].id();
        chain.spends[0] = World::spend_by(&mut w.wallets[0], b);
        let note = WalletNote::from_chain(&chain, 4, &first.certs).unwrap();
        assert_eq!(
            note.certs.len(),
            2,
            "FI 0 (issuer) and wallet 0 (earlier owner)"
        );
        let mut book = WalletBook { notes: vec![note] };
        // The POS shows a request carrying its own certificate and FI 0's.
        let mut req = w.request(150, 3, now - 5);
        req.certs = vec![w.pos.cert.clone(), w.fis[0].clone()];
        let mut p = OutgoingPayment::reserve(&mut book, &req, now, 0).unwrap();
        let spends = p
            .spend_bodies(now)
            .into_iter()
            .map(|b| World::spend_by(&mut w.wallets[1], b))
            .collect();
        let own = vec![w.wallets[1].cert.clone(), w.fis[1].clone()];
        let payment = p.sign(&book, spends, own).unwrap();
        let ids: Vec<CertId> = payment.certs.iter().map(Certificate::id).collect();
        let mut expected = vec![w.wallets[1].id(), w.fis[1].id(), w.wallets[0].id()];
        expected.sort();
        assert_eq!(ids, expected, "sorted by id");
        // The POS (which holds FI 0's certificate) accepts it.
        let known = vec![w.pos.cert.clone(), w.fis[0].clone()];
        let v = w
            .verifier(&known, &P256Provider)
            .verify_payment(&req, false, &payment, &NoHistory, now)
            .unwrap();
        assert_eq!(v.received[0].hops, 2);
        // A POS that does not hold FI 0's certificate cannot.
        let pos_only = w.pos_known();
        let e = w
            .verifier(&pos_only, &P256Provider)
            .verify_payment(&req, false, &payment, &NoHistory, now)
            .unwrap_err();
        assert_eq!(e.rule(), 10);
    }

    /// One approval per payment: three notes, one authenticator prompt, one assertion.
    #[test]
    fn three_notes_signed_with_one_assertion() {
        use crate::testing::DeviceSigner;
        let mut w = World::new(2);
        let now = T0 + DAY;
        let notes = (0..3)
            .map(|i| WalletNote::from_issuance(&w.issue(0, w.wallets[0].id(), 100, 40 + i), 4))
            .collect();
        let mut book = WalletBook { notes };
        let req = w.request(250, 9, now - 5);
        let mut p = OutgoingPayment::reserve(&mut book, &req, now, 0).unwrap();
        assert_eq!(p.pieces.len(), 3);
        let bodies = p.spend_bodies(now);
        let challenge = OutgoingPayment::batch_challenge(&bodies).unwrap();
        let policy = w.wallets[0].cert.body.webauthn.clone().unwrap();
        let DeviceSigner::WebAuthn(auth) = &mut w.wallets[0].signer else {
            unreachable!()
        };
        let raw = auth.assert(&challenge); // the single prompt
        assert_eq!(auth.counter, 1);
        let wire = AssertionWire::from_raw(&raw.as_raw(), &policy, &challenge).unwrap();
        let certs = vec![w.fis[0].clone(), w.wallets[0].cert.clone()];
        let payment = p
            .sign_batch(&book, bodies.clone(), wire.clone(), certs.clone())
            .unwrap();
        assert_eq!(p.state, OutgoingState::Signed);
        assert_eq!(Payment::from_bytes(&p.payment).unwrap(), payment);
        w.publish_crls(now - 60, &[], &P256Provider);
        let known = w.pos_known();
        let v = w
            .verifier(&known, &P256Provider)
            .verify_payment(&req, false, &payment, &NoHistory, now)
            .unwrap();
        assert_eq!(v.amount, 250);
        // The same assertion handed to other bodies (the 50 left, another request) fails.
        let req2 = w.request(30, 10, now - 5);
        let mut p2 = OutgoingPayment::reserve(&mut book, &req2, now, 0).unwrap();
        let b2 = p2.spend_bodies(now);
        let pay2 = p2.sign_batch(&book, b2, wire, certs).unwrap();
        let e = w
            .verifier(&known, &P256Provider)
            .verify_payment(&req2, false, &pay2, &NoHistory, now)
            .unwrap_err();
        assert_eq!(e.rule(), 20);
        // One spend: the plain WebAuthn form, challenge SHA-256(body).
        let one = &bodies[..1];
        assert_eq!(
            OutgoingPayment::batch_challenge(one),
            Some(sha256(&Spend::body_bytes_of(&one[0])))
        );
        assert_eq!(OutgoingPayment::batch_challenge(&[]), None);
    }
}
