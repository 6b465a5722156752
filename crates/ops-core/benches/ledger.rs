//! Range ledger at 10^6 recorded spends: insert and overlap query.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ops_core::NoteId;
use ops_core::ledger::{Insert, RangeLedger};

const SPENDS: u64 = 1_000_000;
const NOTES: u64 = 100_000;

fn note(i: u64) -> NoteId {
    let mut n = [0u8; 32];
    // Spread ids like hashes would be.
    n[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    n[8..16].copy_from_slice(&i.to_be_bytes());
    NoteId(n)
}

fn spend_id(i: u64) -> NoteId {
    let mut n = [0xffu8; 32];
    n[..8].copy_from_slice(&i.to_be_bytes());
    NoteId(n)
}

/// 10^6 spends over 10^5 notes, ten disjoint ranges of 10 per note.
fn filled() -> RangeLedger<()> {
    let mut l = RangeLedger::new();
    for i in 0..SPENDS {
        let (n, k) = (i % NOTES, i / NOTES);
        let r = l.insert(note(n), k * 10, k * 10 + 10, spend_id(i), ());
        assert_eq!(r, Insert::Recorded);
    }
    l
}

fn bench(c: &mut Criterion) {
    let mut l = filled();
    assert_eq!(l.len() as u64, SPENDS);
    let mut i = 0u64;
    c.bench_function("ledger overlap query (miss) at 1e6", |b| {
        b.iter(|| {
            i = i.wrapping_add(7919);
            l.find_overlap(&note(i % NOTES), 200, 210).is_none()
        })
    });
    c.bench_function("ledger overlap query (hit) at 1e6", |b| {
        b.iter(|| {
            i = i.wrapping_add(7919);
            l.find_overlap(&note(i % NOTES), 55, 56).is_some()
        })
    });
    let mut next = SPENDS;
    c.bench_function("ledger insert at 1e6", |b| {
        b.iter(|| {
            next += 1;
            let n = next % NOTES;
            let k = 100 + next / NOTES;
            l.insert(note(n), k * 10, k * 10 + 10, spend_id(next), ()) == Insert::Recorded
        })
    });
    c.bench_function("ledger fill 1e6 spends", |b| {
        b.iter_batched(|| (), |_| filled().len(), BatchSize::PerIteration)
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
