//! Test helpers (feature `test-util`): a software WebAuthn authenticator producing genuine
//! assertions from a p256 key, and a deterministic world of certificates and notes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer as _;

use crate::der::raw_to_der;
use crate::ids::{PublicKey, sha256};
use crate::webauthn::{RawAssertion, flags};

/// A key from a seed, reproducibly.
pub fn secret_from_seed(label: &str, seed: u64) -> [u8; 32] {
    let mut m = label.as_bytes().to_vec();
    m.extend_from_slice(&seed.to_be_bytes());
    sha256(&m)
}

/// An assertion as the browser returns it (owned).
#[derive(Debug, Clone)]
pub struct OwnedAssertion {
    pub authenticator_data: Vec<u8>,
    pub client_data_json: Vec<u8>,
    pub signature_der: Vec<u8>,
}

impl OwnedAssertion {
    pub fn as_raw(&self) -> RawAssertion<'_> {
        RawAssertion {
            authenticator_data: &self.authenticator_data,
            client_data_json: &self.client_data_json,
            signature_der: &self.signature_der,
        }
    }
}

/// A software authenticator with a platform-like behaviour (UP|UV, counter, Chromium-style
/// `clientDataJSON`). Knobs let tests produce the variants real browsers emit.
#[derive(Debug, Clone)]
pub struct SoftAuthenticator {
    key: SigningKey,
    pub rp_id: String,
    pub origin: String,
    pub flags: u8,
    pub counter: u32,
    /// Emit the high-S form of each signature.
    pub high_s: bool,
    /// Add Chromium's `other_keys_can_be_added_here` member.
    pub extra_client_data: bool,
}

impl SoftAuthenticator {
    pub fn new(seed: u64, rp_id: &str, origin: &str) -> Self {
        let key =
            SigningKey::from_slice(&secret_from_seed("ops soft authenticator", seed)).unwrap();
        Self {
            key,
            rp_id: rp_id.into(),
            origin: origin.into(),
            flags: flags::UP | flags::UV,
            counter: 0,
            high_s: false,
            extra_client_data: false,
        }
    }

    pub fn public_key(&self) -> PublicKey {
        let p = self.key.verifying_key().to_encoded_point(true);
        let mut a = [0u8; 33];
        a.copy_from_slice(p.as_bytes());
        PublicKey(a)
    }

    /// `navigator.credentials.get` with this challenge.
    pub fn assert(&mut self, challenge: &[u8]) -> OwnedAssertion {
        self.counter += 1;
        let c = URL_SAFE_NO_PAD.encode(challenge);
        let extra = if self.extra_client_data {
            ",\"other_keys_can_be_added_here\":\"do not compare clientDataJSON against a template. See https://goo.gl/yabPex\""
        } else {
            ""
        };
        let json = format!(
            "{{\"type\":\"webauthn.get\",\"challenge\":\"{c}\",\"origin\":\"{}\",\"crossOrigin\":false{extra}}}",
            self.origin
        );
        self.sign_parts(json.as_bytes())
    }

    /// Signs arbitrary `clientDataJSON` with the current flags and counter.
    pub fn sign_parts(&self, client_data_json: &[u8]) -> OwnedAssertion {
        let mut ad = sha256(self.rp_id.as_bytes()).to_vec();
        ad.push(self.flags);
        ad.extend_from_slice(&self.counter.to_be_bytes());
        self.sign_authenticator_data(&ad, client_data_json)
    }

    /// Signs arbitrary authenticator data and `clientDataJSON`.
    pub fn sign_authenticator_data(&self, ad: &[u8], client_data_json: &[u8]) -> OwnedAssertion {
        let ad = ad.to_vec();
        let mut msg = ad.clone();
        msg.extend_from_slice(&sha256(client_data_json));
        let sig: p256::ecdsa::Signature = self.key.sign(&msg);
        let sig = if self.high_s {
            let (r, s) = sig.split_scalars();
            p256::ecdsa::Signature::from_scalars(r, -*s).unwrap()
        } else {
            sig
        };
        let mut raw = [0u8; 64];
        raw.copy_from_slice(&sig.to_bytes());
        OwnedAssertion {
            authenticator_data: ad,
            client_data_json: client_data_json.to_vec(),
            signature_der: raw_to_der(&raw),
        }
    }
}

use crate::crl_store::CrlStore;
use crate::ids::{CertId, Digest32, Nonce, NoteId};
use crate::msg::cert::{CertBody, Certificate, FloorTier, Limits, Role};
use crate::msg::crl::CrlBody;
use crate::msg::issuance::{Issuance, IssuanceBody};
use crate::msg::payment::{Chain, Payment};
use crate::msg::request::PaymentRequest;
use crate::msg::spend::{Spend, SpendBody};
use crate::msg::{Body, Signed};
use crate::provider::CryptoProvider;
use crate::sig::{Signature, SoftwareKey};
use crate::verify::{Policy, Verifier};
use crate::webauthn::{AssertionWire, WebAuthnPolicy};

/// 2026-01-01T00:00:00Z.
pub const T0: u64 = 1_767_225_600;
/// One day.
pub const DAY: u64 = 86_400;

/// How a device signs.
#[derive(Debug, Clone)]
pub enum DeviceSigner {
    Software(SoftwareKey),
    WebAuthn(SoftAuthenticator),
}

/// A certified device.
#[derive(Debug, Clone)]
pub struct Device {
    pub cert: Certificate,
    pub signer: DeviceSigner,
}

impl Device {
    pub fn id(&self) -> CertId {
        self.cert.id()
    }

    /// Signs a body the way this device's certificate demands.
    pub fn sign(&mut self, body: &[u8]) -> Signature {
        match &mut self.signer {
            DeviceSigner::Software(k) => k.sign(body),
            DeviceSigner::WebAuthn(a) => {
                let policy = self.cert.body.webauthn.clone().unwrap();
                let challenge = sha256(body);
                let raw = a.assert(&challenge);
                Signature::WebAuthn(Box::new(
                    AssertionWire::from_raw(&raw.as_raw(), &policy, &challenge).unwrap(),
                ))
            }
        }
    }
}

impl Device {
    /// Signs several bodies with one approval: a WebAuthn device makes ONE assertion over
    /// the batch challenge and hands each body its share (`Signature::WebAuthnBatch`; the
    /// plain WebAuthn form for a single body); a software key signs each body.
    pub fn sign_batch(&mut self, bodies: &[Vec<u8>]) -> Vec<Signature> {
        match &mut self.signer {
            DeviceSigner::Software(k) => bodies.iter().map(|b| k.sign(b)).collect(),
            DeviceSigner::WebAuthn(a) => {
                let policy = self.cert.body.webauthn.clone().unwrap();
                let digests: Vec<[u8; 32]> = bodies.iter().map(|b| sha256(b)).collect();
                let challenge = crate::batch::challenge(&digests).unwrap();
                let raw = a.assert(&challenge);
                let wire = AssertionWire::from_raw(&raw.as_raw(), &policy, &challenge).unwrap();
                crate::sig::batch_signatures(wire, &digests).unwrap()
            }
        }
    }
}

pub fn sign_body<B: Body>(body: B, key: &SoftwareKey) -> Signed<B> {
    let signature = key.sign(&Signed::body_bytes_of(&body));
    Signed { body, signature }
}

pub fn wallet_policy() -> WebAuthnPolicy {
    WebAuthnPolicy {
        rp_id: "wallet.example".into(),
        origins: vec!["https://wallet.example".into()],
        user_verification: true,
        synced: false,
    }
}

/// A deterministic world: a root, two FIs, wallets (WebAuthn) and a POS (software key).
#[derive(Debug, Clone)]
pub struct World {
    pub root_key: SoftwareKey,
    pub root: Certificate,
    pub fi_keys: Vec<SoftwareKey>,
    pub fis: Vec<Certificate>,
    pub wallets: Vec<Device>,
    pub pos: Device,
    pub crls: CrlStore,
    pub policy: Policy,
    next_serial: u64,
}

fn key(label: &str, seed: u64) -> SoftwareKey {
    SoftwareKey::from_secret(&secret_from_seed(label, seed)).unwrap()
}

impl World {
    /// A world with `wallets` WebAuthn wallets certified by FI 0 (wallet i by FI i % 2).
    pub fn new(wallets: usize) -> Self {
        let root_key = key("ops root", 0);
        let root = sign_body(
            CertBody {
                serial: 1,
                role: Role::Root,
                subject: root_key.public_key(),
                issuer: None,
                not_before: T0 - 365 * DAY,
                not_after: T0 + 10 * 365 * DAY,
                name: Some("Central Bank".into()),
                limits: Limits {
                    floor_limits: FloorTier::default_tiers(),
                    ..Limits::default()
                },
                webauthn: None,
            },
            &root_key,
        );
        let mut w = World {
            policy: Policy::from_root(&root),
            root_key,
            root,
            fi_keys: Vec::new(),
            fis: Vec::new(),
            wallets: Vec::new(),
            pos: Device {
                cert: Signed {
                    body: dummy_body(),
                    signature: Signature::Es256([0; 64]),
                },
                signer: DeviceSigner::Software(key("ops pos", 0)),
            },
            crls: CrlStore::new(),
            next_serial: 100,
        };
        for i in 0..2 {
            let k = key("ops fi", i);
            let cert = sign_body(
                CertBody {
                    serial: 10 + i,
                    role: Role::Fi,
                    subject: k.public_key(),
                    issuer: Some(w.root.id()),
                    not_before: T0 - 30 * DAY,
                    not_after: T0 + 5 * 365 * DAY,
                    name: Some(format!("Bank {i}")),
                    limits: Limits {
                        currency: Some("EUR".into()),
                        max_note_value: Some(100_000),
                        hop_limit: Some(4),
                        ..Limits::default()
                    },
                    webauthn: None,
                },
                &w.root_key,
            );
            w.fi_keys.push(k);
            w.fis.push(cert);
        }
        for i in 0..wallets {
            let auth = SoftAuthenticator::new(i as u64, "wallet.example", "https://wallet.example");
            let d = w.certify_device(i % 2, auth.public_key(), Some(wallet_policy()), None);
            w.wallets.push(Device {
                cert: d,
                signer: DeviceSigner::WebAuthn(auth),
            });
        }
        let pos_key = key("ops pos", 0);
        let pos_cert = w.certify_device(0, pos_key.public_key(), None, Some("Corner Shop".into()));
        w.pos = Device {
            cert: pos_cert,
            signer: DeviceSigner::Software(pos_key),
        };
        w
    }

    pub fn certify_device(
        &mut self,
        fi: usize,
        subject: PublicKey,
        webauthn: Option<WebAuthnPolicy>,
        name: Option<String>,
    ) -> Certificate {
        self.next_serial += 1;
        sign_body(
            CertBody {
                serial: self.next_serial,
                role: Role::Device,
                subject,
                issuer: Some(self.fis[fi].id()),
                not_before: T0 - 10 * DAY,
                not_after: T0 + 365 * DAY,
                name,
                limits: Limits {
                    max_outstanding: Some(100_000),
                    ..Limits::default()
                },
                webauthn,
            },
            &self.fi_keys[fi],
        )
    }

    /// Fresh CRLs from the root and both FIs issued at `issued`, revoking `revoked` serials.
    pub fn publish_crls(&mut self, issued: u64, revoked: &[u64], provider: &dyn CryptoProvider) {
        let root_crl = sign_body(
            CrlBody {
                issuer: self.root.id(),
                number: issued,
                issued,
                revoked: revoked.iter().copied().filter(|s| *s < 100).collect(),
            },
            &self.root_key,
        );
        self.crls
            .insert(root_crl, &self.root.clone(), provider)
            .unwrap();
        for i in 0..self.fis.len() {
            let crl = sign_body(
                CrlBody {
                    issuer: self.fis[i].id(),
                    number: issued,
                    issued,
                    revoked: revoked.iter().copied().filter(|s| *s >= 100).collect(),
                },
                &self.fi_keys[i],
            );
            self.crls
                .insert(crl, &self.fis[i].clone(), provider)
                .unwrap();
        }
    }

    pub fn issue(&self, fi: usize, owner: CertId, amount: u64, seed: u8) -> Issuance {
        sign_body(
            IssuanceBody {
                nonce: Nonce([seed; 16]),
                issuer: self.fis[fi].id(),
                owner,
                amount,
                currency: "EUR".into(),
                issued: T0,
                expires: T0 + 90 * DAY,
            },
            &self.fi_keys[fi],
        )
    }

    pub fn request(&self, amount: u64, seed: u8, created: u64) -> PaymentRequest {
        PaymentRequest {
            payee: self.pos.id(),
            amount,
            currency: "EUR".into(),
            nonce: Nonce([seed; 16]),
            created,
            expires: created + 600,
            label: Some("Till 1".into()),
            certs: Vec::new(),
            crls_held: Vec::new(),
        }
    }

    /// Signs a spend by `signer` (a wallet index, or `None` for the POS).
    pub fn spend_by(signer: &mut Device, body: SpendBody) -> Spend {
        let signature = signer.sign(&Signed::body_bytes_of(&body));
        Signed { body, signature }
    }

    /// A payment of `amount` from a note of `note_value` passed through `hops` wallets:
    /// wallet 0 → wallet 1 → ... → POS. Spends are made at `now`. Its certificate list is
    /// canonical (as decoded from its bytes): FI 0 and every signer with its FI, by id.
    pub fn payment(
        &mut self,
        hops: usize,
        note_value: u64,
        amount: u64,
        now: u64,
    ) -> (PaymentRequest, Payment) {
        let request = self.request(amount, hops as u8, now - 10);
        self.payment_answering(request, hops, note_value, now)
    }

    /// [`Self::payment`] answering a given `request` (its amount and payee).
    pub fn payment_answering(
        &mut self,
        request: PaymentRequest,
        hops: usize,
        note_value: u64,
        now: u64,
    ) -> (PaymentRequest, Payment) {
        let amount = request.amount;
        let rh = request.hash();
        let issuance = self.issue(0, self.wallets[0].id(), note_value, 1);
        let mut chain = Chain {
            issuance: issuance.clone(),
            spends: Vec::new(),
        };
        let mut certs = vec![self.fis[0].clone(), self.wallets[0].cert.clone()];
        let mut input = issuance.note_id();
        for h in 0..hops {
            let last = h + 1 == hops;
            let payee = if last {
                self.pos.id()
            } else {
                self.wallets[h + 1].id()
            };
            let body = SpendBody {
                input,
                from: 0,
                to: amount,
                payee,
                request: if last { rh } else { Digest32([h as u8; 32]) },
                time: now - 5 + h as u64,
            };
            let s = Self::spend_by(&mut self.wallets[h], body);
            input = s.id();
            chain.spends.push(s);
            if !last {
                certs.push(self.wallets[h + 1].cert.clone());
                let fi = &self.fis[(h + 1) % 2];
                if !certs.contains(fi) {
                    certs.push(fi.clone());
                }
            }
        }
        (
            request,
            Payment {
                certs,
                chains: vec![chain],
                crls: Vec::new(),
            }
            .canonical(),
        )
    }

    /// A 1-hop payment of `amount` drawing on `notes` fresh notes of wallet 0 (each of
    /// `note_value`; the amount split as evenly as possible, the first notes taking the
    /// remainder), to the POS at `now`. `batch`: the wallet approves once (one assertion
    /// over all the spends); otherwise one assertion per spend.
    pub fn multi_note_payment(
        &mut self,
        notes: usize,
        note_value: u64,
        amount: u64,
        batch: bool,
        now: u64,
    ) -> (PaymentRequest, Payment) {
        let request = self.request(amount, 100 + notes as u8, now - 10);
        let rh = request.hash();
        let n = notes as u64;
        let mut chains = Vec::new();
        let mut bodies = Vec::new();
        for i in 0..notes {
            let issuance = self.issue(0, self.wallets[0].id(), note_value, 50 + i as u8);
            let share = amount / n + u64::from((i as u64) < amount % n);
            bodies.push(SpendBody {
                input: issuance.note_id(),
                from: 0,
                to: share,
                payee: self.pos.id(),
                request: rh,
                time: now - 5,
            });
            chains.push(Chain {
                issuance,
                spends: Vec::new(),
            });
        }
        let sigs = if batch {
            let bytes: Vec<Vec<u8>> = bodies.iter().map(Signed::body_bytes_of).collect();
            self.wallets[0].sign_batch(&bytes)
        } else {
            bodies
                .iter()
                .map(|b| self.wallets[0].sign(&Signed::body_bytes_of(b)))
                .collect()
        };
        for ((c, body), signature) in chains.iter_mut().zip(bodies).zip(sigs) {
            c.spends.push(Signed { body, signature });
        }
        let certs = vec![self.fis[0].clone(), self.wallets[0].cert.clone()];
        (
            request,
            Payment {
                certs,
                chains,
                crls: Vec::new(),
            }
            .canonical(),
        )
    }

    /// The certificates the POS holds itself.
    pub fn pos_known(&self) -> Vec<Certificate> {
        vec![self.pos.cert.clone()]
    }

    pub fn verifier<'a>(
        &'a self,
        known: &'a [Certificate],
        provider: &'a dyn CryptoProvider,
    ) -> Verifier<'a> {
        Verifier {
            root: &self.root,
            known_certs: known,
            crls: &self.crls,
            policy: &self.policy,
            provider,
        }
    }

    /// A note id for tests.
    pub fn note(i: u8) -> NoteId {
        NoteId([i; 32])
    }
}

/// A payment's bytes with its `certs` list written exactly as given (unsorted, duplicated,
/// unreferenced certificates kept), unlike [`Payment::to_bytes`], which canonicalises it.
/// For tests proving that decoders refuse such lists.
pub fn encode_payment_certs_as_given(p: &Payment) -> Vec<u8> {
    p.encode_certs_as_given()
}

fn dummy_body() -> CertBody {
    CertBody {
        serial: 0,
        role: Role::Device,
        subject: PublicKey([2; 33]),
        issuer: Some(CertId([0; 16])),
        not_before: 0,
        not_after: 0,
        name: None,
        limits: Limits::default(),
        webauthn: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_messages_round_trip() {
        let mut w = World::new(2);
        for c in [&w.root, &w.fis[0], &w.wallets[0].cert, &w.pos.cert] {
            let b = c.to_bytes();
            assert_eq!(
                &Certificate::from_bytes(&b).unwrap(),
                c,
                "{}",
                crate::ids::to_hex(&b)
            );
        }
        let (_, p) = w.payment(1, 100, 10, T0 + DAY);
        let s = &p.chains[0].spends[0];
        assert_eq!(&Spend::from_bytes(&s.to_bytes()).unwrap(), s);
    }
}
