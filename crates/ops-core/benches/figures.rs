//! Figures for docs/PERFORMANCE.md (`cargo xtask bench`), without criterion: payment
//! sizes (1, 2 and 3 hops; with every certificate carried, with the payee holding the FI
//! certificates, with the payee holding every certificate) and the time to verify a
//! payment offline with each compiled provider, nothing cached.
//!
//! Prints one `BENCH <section> | <row> | <column> | <value> <unit>` line per figure (the
//! format `cargo xtask bench` collects); one run of this binary is one run of each figure.
//! Run: `cargo bench -p ops-core --bench figures`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark code

use ops_core::ledger::NoHistory;
use ops_core::provider::all_providers;
use ops_core::testing::{DAY, T0, World};
use ops_core::{Certificate, Payment, Role};
use std::time::{Duration, Instant};

/// Least time and count of timed verifications per figure.
const MIN_TIME: Duration = Duration::from_millis(600);
const MIN_ITERATIONS: usize = 20;

fn hops_label(hops: usize) -> String {
    if hops == 1 {
        "1 hop".to_owned()
    } else {
        format!("{hops} hops")
    }
}

/// The payment with only the certificates `keep` selects, re-encoded canonically.
fn carrying(payment: &Payment, keep: impl Fn(&Certificate) -> bool) -> Payment {
    let mut p = payment.clone();
    p.certs.retain(keep);
    p.canonical()
}

fn main() {
    let now = T0 + DAY;
    let mut world = World::new(3);
    world.publish_crls(now - 3600, &[], &ops_core::P256Provider);
    for hops in 1..=3 {
        let (request, payment) = world.payment(hops, 1_000, 250, now);
        let fis: Vec<Certificate> = payment
            .certs
            .iter()
            .filter(|c| c.body.role == Role::Fi)
            .cloned()
            .collect();
        let variants = [
            ("all certificates carried", payment.clone(), Vec::new()),
            (
                "payee holds the FI certificates",
                carrying(&payment, |c| c.body.role != Role::Fi),
                fis,
            ),
            (
                "payee holds every certificate",
                carrying(&payment, |_| false),
                payment.certs.clone(),
            ),
        ];
        for (column, variant, held) in variants {
            let bytes = variant.to_bytes();
            // The figure is of a payment that decodes and verifies as it is.
            let decoded = Payment::from_bytes(&bytes).expect("the variant decodes");
            let mut known = world.pos_known();
            known.extend(held);
            world
                .verifier(&known, &ops_core::P256Provider)
                .verify_payment(&request, false, &decoded, &NoHistory, now)
                .expect("the variant verifies");
            println!(
                "BENCH Payment size | {} | {column} | {} B",
                hops_label(hops),
                bytes.len()
            );
        }
        let known = world.pos_known();
        for provider in all_providers() {
            let verifier = world.verifier(&known, provider);
            let verify = || {
                verifier
                    .verify_payment(&request, false, &payment, &NoHistory, now)
                    .expect("the payment verifies");
            };
            for _ in 0..3 {
                verify();
            }
            let mut times = Vec::new();
            let started = Instant::now();
            while times.len() < MIN_ITERATIONS || started.elapsed() < MIN_TIME {
                let one = Instant::now();
                verify();
                times.push(one.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "BENCH Verification of a payment | {} | {} native | {:.4} ms",
                hops_label(hops),
                provider.name(),
                times[times.len() / 2]
            );
        }
    }
}
