//! Offline verification of 1-hop and 3-hop payments with each compiled provider.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use ops_core::ledger::NoHistory;
use ops_core::provider::all_providers;
use ops_core::testing::{DAY, T0, World};

fn bench(c: &mut Criterion) {
    let now = T0 + DAY;
    let mut w = World::new(3);
    w.publish_crls(now - 3600, &[], &ops_core::P256Provider);
    let one = w.payment(1, 1_000, 250, now);
    let three = w.payment(3, 1_000, 250, now);
    let known = w.pos_known();
    for p in all_providers() {
        let v = w.verifier(&known, p);
        for (name, (req, pay)) in [("1-hop", &one), ("3-hop", &three)] {
            v.verify_payment(req, false, pay, &NoHistory, now).unwrap();
            c.bench_function(&format!("verify {name} payment/{}", p.name()), |b| {
                b.iter(|| v.verify_payment(req, false, pay, &NoHistory, now).unwrap())
            });
        }
    }
    let bytes = three.1.to_bytes();
    c.bench_function("decode 3-hop payment", |b| {
        b.iter(|| ops_core::Payment::from_bytes(&bytes).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
