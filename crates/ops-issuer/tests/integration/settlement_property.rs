//! A property test of settlement against the real service: random sequences of funding,
//! multi-hop payments with partial ranges, re-encodings, duplicates, overlaps, onward spends
//! before and after deposit, defunds, and deposits in random order and in parallel. After
//! every sequence the ledger audit finds no violation, the global sum holds, and every
//! answer agrees with an independent model of idempotency by note (a final note is credited
//! once, whatever carried it). Seeds are fixed (reproducible); `OPS_PROPERTY_SEEDS=N` runs
//! more.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use common::{Device, STARTING, Server};
use ops_core::{Certificate, Chain, Payment};
use serde_json::{Value, json};

/// A small deterministic generator (xorshift64*), so a failing seed replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A note some device holds: the chain that created it and its owner.
#[derive(Clone)]
struct Held {
    chain: Chain,
    owner: usize,
    value: u64,
    /// Where an honest owner's next spend would start.
    next: u64,
}

/// A payment ready to upload, with who deposits it.
#[derive(Clone)]
struct Upload {
    payment: Payment,
    /// Index of the depositing device, or `None` for a defund.
    depositor: Option<usize>,
}

struct World<'a> {
    s: &'a Server,
    rng: Rng,
    devices: Vec<Device>,
    /// Devices 0..wallets are wallets, the rest POS terminals.
    wallets: usize,
    fi: Certificate,
    held: Vec<Held>,
    uploads: Vec<Upload>,
    /// Final notes the model knows to be credited.
    credited: BTreeSet<String>,
    /// Every answer, per final note (to explain a failure).
    history: BTreeMap<String, Vec<String>>,
    tag: u8,
}

impl World<'_> {
    fn certs(&mut self, chain: &Chain) -> Vec<Certificate> {
        // The devices on the chain, in a random order, sometimes twice, with or without
        // the FI's certificate: encodings the payer may choose.
        let mut ids: Vec<ops_core::CertId> = vec![chain.issuance.body.owner];
        ids.extend(chain.spends.iter().map(|s| s.body.payee));
        let mut certs: Vec<Certificate> = self
            .devices
            .iter()
            .filter(|d| ids.contains(&d.id()))
            .map(|d| d.cert.clone())
            .collect();
        if self.rng.chance(60) {
            certs.push(self.fi.clone());
        }
        if self.rng.chance(30) && !certs.is_empty() {
            let i = self.rng.below(certs.len() as u64) as usize;
            certs.push(certs[i].clone());
        }
        for i in (1..certs.len()).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            certs.swap(i, j);
        }
        certs
    }

    fn finals(p: &Payment) -> Vec<(String, u64)> {
        p.chains
            .iter()
            .filter_map(Chain::last)
            .map(|s| (s.id().to_string(), s.body.value()))
            .collect()
    }

    async fn fund(&mut self) {
        let w = self.rng.below(self.wallets as u64) as usize;
        let amount = 100 + self.rng.below(1_900);
        let (status, v) = self
            .s
            .admin_post(
                "/api/v1/fund",
                json!({"device": self.devices[w].id().to_string(), "amount": amount}),
            )
            .await;
        if status != 201 {
            // A revoked wallet, or one at its limit: refused, nothing written.
            assert!(matches!(status, 403 | 409 | 422), "{status}: {v}");
            return;
        }
        let notes = v["notes"].as_array().unwrap().iter().map(|n| {
            ops_core::Issuance::from_bytes(
                &base64::engine::general_purpose::STANDARD
                    .decode(n.as_str().unwrap())
                    .unwrap(),
            )
            .unwrap()
        });
        for n in notes {
            let value = n.body.amount;
            self.held.push(Held {
                chain: Chain {
                    issuance: n,
                    spends: Vec::new(),
                },
                owner: w,
                value,
                next: 0,
            });
        }
    }

    /// Spends a random range of a random held note (spent before or not: overlaps are
    /// the point) to a random device, or back to the FI (a defund).
    fn spend(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let i = self.rng.below(self.held.len() as u64) as usize;
        let note = self.held[i].clone();
        if note.chain.spends.len() >= 3 {
            return; // within the FI's hop limit
        }
        // Mostly honest (the next unspent range), sometimes any range: an overlap.
        let honest = self.rng.chance(75);
        if honest && note.next >= note.value {
            return;
        }
        let from = if honest {
            note.next
        } else if self.rng.chance(40) {
            0
        } else {
            self.rng.below(note.value)
        };
        let to = if self.rng.chance(40) {
            note.value
        } else {
            from + 1 + self.rng.below(note.value - from)
        };
        let input = match note.chain.spends.last() {
            Some(s) => s.id(),
            None => note.chain.issuance.note_id(),
        };
        self.tag = self.tag.wrapping_add(1);
        let defund = self.rng.chance(10);
        let payee_index = self.rng.below(self.devices.len() as u64) as usize;
        let payee = if defund {
            self.fi.id()
        } else {
            self.devices[payee_index].id()
        };
        if honest {
            self.held[i].next = to;
        }
        let spend = self.devices[note.owner].spend(input, from, to, payee, self.tag);
        let mut chain = note.chain.clone();
        chain.spends.push(spend);
        let certs = self.certs(&chain);
        let payment = Payment {
            certs,
            chains: vec![chain.clone()],
            crls: Vec::new(),
        };
        if defund {
            self.uploads.push(Upload {
                payment,
                depositor: None,
            });
            return;
        }
        // POS terminals deposit what they receive; wallets keep it to spend onward, and
        // sometimes deposit it too (before or after spending it onward).
        if payee_index >= self.wallets || self.rng.chance(25) {
            self.uploads.push(Upload {
                payment,
                depositor: Some(payee_index),
            });
        }
        self.held.push(Held {
            chain,
            owner: payee_index,
            value: to - from,
            next: 0,
        });
    }

    async fn upload(&self, u: &Upload) -> (u16, Value) {
        let bytes = base64::engine::general_purpose::STANDARD.encode(u.payment.to_bytes());
        match u.depositor {
            Some(d) => {
                self.s
                    .admin_post(
                        "/api/v1/deposits",
                        json!({"payment": bytes, "depositor": self.devices[d].id().to_string()}),
                    )
                    .await
            }
            None => {
                self.s
                    .post("/api/v1/defund", json!({"payment": bytes}))
                    .await
            }
        }
    }

    /// Checks a batch of answers against the model: the value newly credited is that of
    /// the distinct final notes, among the credited payments, that were not credited before.
    fn check(&mut self, batch: &[(&Upload, (u16, Value))]) {
        let mut expected = 0;
        let mut got = 0;
        for (u, (status, v)) in batch {
            assert!(
                matches!(status, 200 | 202 | 422),
                "unexpected answer {status}: {v}"
            );
            for (note, _) in Self::finals(&u.payment) {
                self.history
                    .entry(note)
                    .or_default()
                    .push(format!("{status} {v} (batch of {})", batch.len()));
            }
            if *status != 200 {
                continue;
            }
            assert_eq!(v["status"], "credited", "{v}");
            got += v["credited"].as_i64().unwrap();
            for (note, value) in Self::finals(&u.payment) {
                if self.credited.insert(note) {
                    expected += value as i64;
                }
            }
        }
        assert_eq!(
            got,
            expected,
            "credited value differs from the model: {batch:?}",
            batch = batch.iter().map(|(_, r)| r).collect::<Vec<_>>()
        );
    }

    async fn deposit_one(&mut self) {
        if self.uploads.is_empty() {
            return;
        }
        let i = self.rng.below(self.uploads.len() as u64) as usize;
        let mut u = self.uploads[i].clone();
        // Another encoding of the same payment, half the time.
        if self.rng.chance(50) {
            let chain = u.payment.chains[0].clone();
            u.payment.certs = self.certs(&chain);
        }
        let answer = self.upload(&u).await;
        self.check(&[(&u, answer)]);
    }

    /// An operator releases a random held deposit: what it credits is the model's too.
    async fn release_one(&mut self) {
        let (_, list) = self.s.admin_get("/api/v1/held-deposits").await;
        let held = list["held"].as_array().cloned().unwrap_or_default();
        if held.is_empty() {
            return;
        }
        let h = &held[self.rng.below(held.len() as u64) as usize];
        let id = h["id"].as_i64().unwrap();
        let (status, v) = self
            .s
            .admin_post(
                &format!("/api/v1/held-deposits/{id}/release"),
                json!({"operator": "property", "note": "released by the property test"}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        let values: BTreeMap<String, u64> = self
            .uploads
            .iter()
            .flat_map(|u| Self::finals(&u.payment))
            .collect();
        let mut expected = 0;
        for note in h["notes"].as_array().unwrap() {
            let note = note.as_str().unwrap().to_owned();
            let value = values[&note];
            if self.credited.insert(note) {
                expected += value as i64;
            }
        }
        assert_eq!(
            v["outcome"]["credited"].as_i64(),
            Some(expected),
            "{v}\nhold {h}\nhistory {:#?}",
            h["notes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| self.history.get(n.as_str().unwrap()))
                .collect::<Vec<_>>()
        );
    }

    async fn deposit_parallel(&mut self) {
        let n = (2 + self.rng.below(6)) as usize;
        let picks: Vec<Upload> = (0..n)
            .filter(|_| !self.uploads.is_empty())
            .map(|_| {
                let i = self.rng.below(self.uploads.len() as u64) as usize;
                self.uploads[i].clone()
            })
            .collect();
        let answers = futures_join(self, &picks).await;
        let batch: Vec<(&Upload, (u16, Value))> = picks.iter().zip(answers).collect();
        self.check(&batch);
    }
}

async fn futures_join(w: &World<'_>, picks: &[Upload]) -> Vec<(u16, Value)> {
    let mut set = Vec::new();
    for u in picks {
        set.push(w.upload(u));
    }
    let mut out = Vec::new();
    // Drive all requests at once: the server sees them concurrently.
    let joined = common::join_all(set).await;
    out.extend(joined);
    out
}

async fn sequence(s: &Server, seed: u64, steps: usize) {
    let mut devices = Vec::new();
    let mut accounts = Vec::new();
    for i in 0..8u64 {
        let account = s.sign_up(&format!("party {i}")).await;
        accounts.push(account);
        devices.push(s.device(account, seed * 100 + i).await);
    }
    let mut w = World {
        s,
        rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
        devices,
        wallets: 5,
        fi: s.fi_cert().await,
        held: Vec::new(),
        uploads: Vec::new(),
        credited: BTreeSet::new(),
        history: BTreeMap::new(),
        tag: 0,
    };
    for _ in 0..3 {
        w.fund().await;
    }
    for _ in 0..steps {
        match w.rng.below(20) {
            0 | 1 => w.fund().await,
            2..=9 => w.spend(),
            10..=14 => w.deposit_one().await,
            15 => w.release_one().await,
            _ => w.deposit_parallel().await,
        }
    }
    // Everything once more, in parallel: nothing new is credited beyond the model.
    let all = w.uploads.clone();
    let answers = futures_join(&w, &all).await;
    let batch: Vec<(&Upload, (u16, Value))> = all.iter().zip(answers).collect();
    w.check(&batch);
    let (status, report) = s.admin_get("/api/v1/audit").await;
    assert_eq!(status, 200);
    assert_eq!(report["ok"], true, "seed {seed}: {report:#}");
    s.assert_conserved(STARTING).await;
    let m = s.metrics().await;
    let mut per_kind = BTreeMap::new();
    for c in s.admin_get("/api/v1/fraud-cases").await.1["cases"]
        .as_array()
        .unwrap()
    {
        *per_kind
            .entry(c["kind"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    println!(
        "seed {seed}: {} uploads, {} notes credited, {} spends recorded, fraud cases {per_kind:?}, {} held, excess {}",
        w.uploads.len(),
        w.credited.len(),
        m["ops_spends_recorded"],
        report["held"],
        report["excess"]
    );
}

fn seeds(default: u64) -> u64 {
    std::env::var("OPS_PROPERTY_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test]
async fn random_settlement_sequences_keep_every_note_conserved_on_sqlite() {
    for seed in 1..=seeds(6) {
        let s = Server::start(&format!("property-{seed}"), None).await;
        sequence(&s, seed, 150).await;
    }
}

#[tokio::test]
async fn random_settlement_sequences_keep_every_note_conserved_on_postgres() {
    let pg = common::postgres::Postgres::start();
    for seed in 1..=seeds(3) {
        let db = pg.create_database(&format!("property{seed}")).await;
        let s = Server::start(&format!("pg-property-{seed}"), Some(db)).await;
        sequence(&s, 100 + seed, 150).await;
    }
}
