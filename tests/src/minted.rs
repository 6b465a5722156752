//! A wallet minted with the FI's own key, for the end-to-end tests that need payments no
//! honest wallet app makes (wrong amounts, expired money, chains over the hop limit, double
//! spends).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test helpers: a failure stops the test

/// A wallet minted with the FI's own key from the server's data folder (as if the FI had
/// certified and funded it), able to sign whatever a broken or cheating wallet would.
pub struct Minted {
    /// The FI's key.
    pub fi_key: ops_core::sig::SoftwareKey,
    /// The FI's certificate.
    pub fi: ops_core::Certificate,
    /// The wallet's key.
    pub key: ops_core::sig::SoftwareKey,
    /// The wallet's certificate.
    pub cert: ops_core::Certificate,
}

impl Minted {
    /// The minted wallet of the FI whose data folder is `fi_dir`.
    pub fn new(fi_dir: &std::path::Path) -> Self {
        let secret: [u8; 32] = ops_core::ids::from_hex(
            std::fs::read_to_string(fi_dir.join("fi.key"))
                .unwrap()
                .trim(),
        )
        .and_then(|b| b.try_into().ok())
        .expect("the FI key in hex");
        let fi_key = ops_core::sig::SoftwareKey::from_secret(&secret).expect("the FI key");
        let fi = ops_core::Certificate::from_bytes(&std::fs::read(fi_dir.join("fi.cert")).unwrap())
            .unwrap();
        let key = ops_core::sig::SoftwareKey::from_secret(&[7u8; 32]).unwrap();
        let now = crate::unix_now();
        let mut m = Self {
            cert: fi.clone(),
            fi_key,
            fi,
            key,
        };
        m.cert = m.certificate(9_000_001, now + 30 * 86_400);
        m
    }

    /// A device certificate for the minted key, valid until `not_after`.
    pub fn certificate(&self, serial: u64, not_after: u64) -> ops_core::Certificate {
        self.certificate_limited(serial, not_after, None, None)
    }

    /// [`Self::certificate`] with the bank's offline limits: the most one payment may take
    /// (`max_payment`) and the most without user verification (`max_without_uv`; the
    /// minted key signs plain ES256, never user-verified).
    pub fn certificate_limited(
        &self,
        serial: u64,
        not_after: u64,
        max_payment: Option<u64>,
        max_without_uv: Option<u64>,
    ) -> ops_core::Certificate {
        ops_core::testing::sign_body(
            ops_core::CertBody {
                serial,
                role: ops_core::Role::Device,
                subject: self.key.public_key(),
                issuer: Some(self.fi.id()),
                not_before: not_after.min(crate::unix_now()) - 86_400,
                not_after,
                name: None,
                limits: ops_core::Limits {
                    max_outstanding: Some(10_000_000),
                    max_payment,
                    max_without_uv,
                    ..ops_core::Limits::default()
                },
                webauthn: None,
            },
            &self.fi_key,
        )
    }

    /// A note of `amount` to `owner` in `currency`, expiring at `expires`.
    pub fn note(
        &self,
        seed: u8,
        owner: &ops_core::Certificate,
        amount: u64,
        currency: &str,
        expires: u64,
    ) -> ops_core::Issuance {
        let now = crate::unix_now();
        ops_core::testing::sign_body(
            ops_core::IssuanceBody {
                nonce: ops_core::Nonce([seed; 16]),
                issuer: self.fi.id(),
                owner: owner.id(),
                amount,
                currency: currency.into(),
                issued: now.min(expires) - 120,
                expires,
            },
            &self.fi_key,
        )
    }

    /// A payment for `request_text` spending `ranges[i]` of `notes[i]`, signed by `cert`'s
    /// key at `time`.
    pub fn pay(
        &self,
        request_text: &str,
        cert: &ops_core::Certificate,
        notes: &[ops_core::Issuance],
        ranges: &[(u64, u64)],
        time: u64,
    ) -> Vec<u8> {
        let request = ops_core::PaymentRequest::from_bytes(
            &ops_transport::base45::decode(request_text).unwrap(),
        )
        .unwrap();
        let chains = notes
            .iter()
            .zip(ranges)
            .map(|(note, (from, to))| ops_core::Chain {
                issuance: note.clone(),
                spends: vec![ops_core::testing::sign_body(
                    ops_core::SpendBody {
                        input: note.note_id(),
                        from: *from,
                        to: *to,
                        payee: request.payee,
                        request: request.hash(),
                        time,
                    },
                    &self.key,
                )],
            })
            .collect();
        ops_core::Payment {
            certs: vec![cert.clone(), self.fi.clone()],
            chains,
            crls: Vec::new(),
        }
        .canonical()
        .to_bytes()
    }

    /// A payment for `request_text` of a fresh note of `amount` that went through `hops`
    /// minted holders (holder 0 → holder 1 → … → the payee), each hop signed at an
    /// increasing time ending at `time`.
    pub fn chain_payment(
        &self,
        request_text: &str,
        hops: usize,
        amount: u64,
        seed: u8,
        time: u64,
    ) -> Vec<u8> {
        let request = ops_core::PaymentRequest::from_bytes(
            &ops_transport::base45::decode(request_text).unwrap(),
        )
        .unwrap();
        let holders: Vec<(ops_core::sig::SoftwareKey, ops_core::Certificate)> = (0..hops)
            .map(|h| {
                let key = ops_core::sig::SoftwareKey::from_secret(&[100 + h as u8; 32]).unwrap();
                let cert = ops_core::testing::sign_body(
                    ops_core::CertBody {
                        serial: 9_100_000 + h as u64,
                        role: ops_core::Role::Device,
                        subject: key.public_key(),
                        issuer: Some(self.fi.id()),
                        not_before: time - 86_400,
                        not_after: time + 30 * 86_400,
                        name: None,
                        limits: ops_core::Limits {
                            max_outstanding: Some(10_000_000),
                            ..ops_core::Limits::default()
                        },
                        webauthn: None,
                    },
                    &self.fi_key,
                );
                (key, cert)
            })
            .collect();
        let note = self.note(seed, &holders[0].1, amount, "EUR", time + 30 * 86_400);
        let mut input = note.note_id();
        let mut spends = Vec::new();
        for h in 0..hops {
            let last = h + 1 == hops;
            let spend = ops_core::testing::sign_body(
                ops_core::SpendBody {
                    input,
                    from: 0,
                    to: amount,
                    payee: if last {
                        request.payee
                    } else {
                        holders[h + 1].1.id()
                    },
                    request: if last {
                        request.hash()
                    } else {
                        ops_core::Digest32([h as u8; 32])
                    },
                    time: time - (hops - 1 - h) as u64,
                },
                &holders[h].0,
            );
            input = spend.id();
            spends.push(spend);
        }
        let mut certs: Vec<_> = holders.into_iter().map(|(_, c)| c).collect();
        certs.push(self.fi.clone());
        ops_core::Payment {
            certs,
            chains: vec![ops_core::Chain {
                issuance: note,
                spends,
            }],
            crls: Vec::new(),
        }
        .canonical()
        .to_bytes()
    }
}
