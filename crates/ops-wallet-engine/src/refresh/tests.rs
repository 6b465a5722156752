//! The planner, table-driven: which ranges a renewal returns and why, and what it never
//! touches.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use ops_core::NoteId;
use ops_core::wallet::{Piece, WalletNote};

use super::plan::{Range, RefreshPolicy, awaiting_deposit, choose, plan_refresh};
use crate::saga::{ReceiveState, SagaRecord, SagaState, deposit};
use crate::snapshot::{Device, Snapshot};
use crate::testkit::{NOW, identity, world};
use crate::types::{Claim, ClaimStatus, SagaId};

const DAY: u64 = 86_400;
const MAX_NOTE: u64 = 100_000;

/// A whole note `id` worth `value`, expiring `life` seconds after `NOW`.
fn r(id: u8, value: u64, life: u64) -> Range {
    Range {
        piece: Piece {
            note: NoteId([id; 32]),
            from: 0,
            to: value,
        },
        expires: NOW + life,
    }
}

/// `n` fresh notes 1..=n worth `value` each.
fn many(n: u8, value: u64) -> Vec<Range> {
    (1..=n).map(|i| r(i, value, 60 * DAY)).collect()
}

/// What a case expects: returned note ids in order, how many for expiry, ranges before,
/// notes issued, ranges after.
type Want = Option<(Vec<u8>, usize, usize, usize, usize)>;

#[test]
fn the_planner_returns_expiring_notes_then_the_smallest() {
    let fresh = 60 * DAY;
    let cases: Vec<(&str, Vec<Range>, u64, Want)> = vec![
        ("an empty wallet", vec![], MAX_NOTE, None),
        (
            "three fresh notes",
            vec![r(1, 500, fresh), r(2, 300, fresh), r(3, 100, fresh)],
            MAX_NOTE,
            None,
        ),
        (
            "one note expiring within 14 days",
            vec![r(1, 500, 10 * DAY), r(2, 300, fresh)],
            MAX_NOTE,
            Some((vec![1], 1, 2, 1, 2)),
        ),
        (
            "expiring notes soonest first, merged into one",
            vec![r(1, 500, 10 * DAY), r(2, 300, 5 * DAY), r(3, 200, fresh)],
            MAX_NOTE,
            Some((vec![2, 1], 2, 3, 1, 2)),
        ),
        (
            "a note expiring within the margin is left alone",
            vec![r(1, 500, 1_800), r(2, 300, fresh)],
            MAX_NOTE,
            None,
        ),
        (
            "a note expiring just after the margin is renewed",
            vec![r(1, 500, 3_600), r(2, 300, fresh)],
            MAX_NOTE,
            Some((vec![1], 1, 2, 1, 2)),
        ),
        ("four notes: no consolidation", many(4, 100), MAX_NOTE, None),
        (
            "five notes: the four smallest into one",
            vec![
                r(1, 500, fresh),
                r(2, 100, fresh),
                r(3, 200, fresh),
                r(4, 300, fresh),
                r(5, 400, fresh),
            ],
            MAX_NOTE,
            Some((vec![2, 3, 4, 5], 0, 5, 1, 2)),
        ),
        (
            "six notes: five into one, the largest kept",
            vec![
                r(6, 600, fresh),
                r(1, 100, fresh),
                r(5, 500, fresh),
                r(2, 200, fresh),
                r(4, 400, fresh),
                r(3, 300, fresh),
            ],
            MAX_NOTE,
            Some((vec![1, 2, 3, 4, 5], 0, 6, 1, 2)),
        ),
        (
            "merging stops where the FI's note limit gains nothing more",
            many(6, 60_000),
            MAX_NOTE,
            Some((vec![1, 2, 3, 4, 5], 0, 6, 3, 4)),
        ),
        (
            "notes at the FI's limit cannot merge",
            many(5, MAX_NOTE),
            MAX_NOTE,
            None,
        ),
        (
            "one renewal returns at most eight ranges",
            many(12, 10),
            MAX_NOTE,
            Some(((1..=8).collect(), 0, 12, 1, 5)),
        ),
        (
            "ten expiring notes: the eight soonest",
            (1..=10).map(|i| r(i, 100, u64::from(i) * DAY)).collect(),
            MAX_NOTE,
            Some(((1..=8).collect(), 8, 10, 1, 3)),
        ),
        (
            "an expiring note and consolidation in one renewal",
            vec![
                r(1, 50, 10 * DAY),
                r(2, 100, fresh),
                r(3, 200, fresh),
                r(4, 300, fresh),
                r(5, 400, fresh),
                r(6, 900, fresh),
            ],
            MAX_NOTE,
            Some((vec![1, 2, 3, 4, 5], 1, 6, 1, 2)),
        ),
        (
            "expiring notes with few notes: no consolidation beyond them",
            vec![r(1, 100, 10 * DAY), r(2, 100, 12 * DAY), r(3, 500, fresh)],
            MAX_NOTE,
            Some((vec![1, 2], 2, 3, 1, 2)),
        ),
        (
            "the FI splits a large renewal at its note limit",
            vec![r(1, 80_000, 10 * DAY), r(2, 70_000, 11 * DAY)],
            MAX_NOTE,
            Some((vec![1, 2], 2, 2, 2, 2)),
        ),
    ];
    let policy = RefreshPolicy::default();
    for (name, ranges, max_note, want) in cases {
        let got = choose(&ranges, max_note, NOW, &policy).map(|c| {
            (
                c.pieces.iter().map(|p| p.note.0[0]).collect::<Vec<u8>>(),
                c.expiring,
                c.notes_before,
                c.issued,
                c.notes_after,
            )
        });
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn a_policy_can_renew_everything_or_nothing() {
    let ranges = vec![r(1, 500, 80 * DAY), r(2, 300, 89 * DAY)];
    let all = RefreshPolicy {
        expiring_within: 90 * DAY,
        ..RefreshPolicy::default()
    };
    let c = choose(&ranges, MAX_NOTE, NOW, &all).unwrap();
    assert_eq!((c.pieces.len(), c.expiring, c.notes_after), (2, 2, 1));
    let never = RefreshPolicy {
        expiring_within: 0,
        max_notes: usize::MAX,
        ..RefreshPolicy::default()
    };
    assert!(choose(&many(20, 5), MAX_NOTE, NOW, &never).is_none());
}

fn note(id: u8, value: u64, hops: usize, currency: &str) -> WalletNote {
    WalletNote {
        id: NoteId([id; 32]),
        value,
        spent: 0,
        hops,
        hop_limit: 4,
        expires: NOW + 60 * DAY,
        currency: currency.into(),
        provenance: Vec::new(),
        certs: Vec::new(),
    }
}

fn snapshot(notes: Vec<WalletNote>, claims: Vec<Claim>) -> Snapshot {
    let w = world(1);
    Snapshot {
        notes,
        claims,
        device: Some(Device {
            identity: identity(&w, 0),
            cert: w.wallets[0].cert.clone(),
            fi: w.fis[0].clone(),
        }),
        ..Snapshot::default()
    }
}

fn claim(saga: &str, id: u8, from: u64, to: u64) -> Claim {
    Claim {
        saga: SagaId(saga.into()),
        note: NoteId([id; 32]),
        from,
        to,
        status: ClaimStatus::Reserved,
    }
}

fn returned(plan: &super::RefreshPlan) -> Vec<(u8, u64, u64)> {
    plan.pieces
        .iter()
        .map(|p| (p.note.0[0], p.from, p.to))
        .collect()
}

#[test]
fn the_plan_never_touches_what_is_not_the_wallets_to_renew() {
    let policy = RefreshPolicy::default();
    let none = BTreeSet::new();
    // Six notes of the FI's currency: five returned, the largest kept.
    let six: Vec<WalletNote> = (1..=6)
        .map(|i| note(i, u64::from(i) * 100, 0, "EUR"))
        .collect();
    let plan = plan_refresh(&snapshot(six.clone(), vec![]), &none, NOW, &policy).unwrap();
    assert_eq!(plan.currency, "EUR");
    assert_eq!(
        (plan.amount, plan.notes_before, plan.notes_after),
        (1_500, 6, 2)
    );
    // A range claimed by a payment stays out; only the free gap of that note is returned.
    let held = vec![claim("pay:01", 1, 0, 60)];
    let plan = plan_refresh(&snapshot(six.clone(), held), &none, NOW, &policy).unwrap();
    assert_eq!(returned(&plan)[0], (1, 60, 100));
    assert_eq!(plan.amount, 1_440);
    // A note wholly claimed by another saga is not counted at all.
    let whole = vec![claim("pay:01", 1, 0, 100), claim("pay:02", 2, 0, 200)];
    let plan = plan_refresh(&snapshot(six.clone(), whole), &none, NOW, &policy);
    assert!(plan.is_none(), "four free notes left: nothing to do");
    // Notes at their hop limit (the return would be one hop too many), of another currency,
    // or awaiting their deposit are neither returned nor counted.
    let mut odd = six.clone();
    odd[0].hops = 4;
    odd[1].currency = "USD".into();
    let awaiting: BTreeSet<NoteId> = [NoteId([3; 32])].into();
    assert!(plan_refresh(&snapshot(odd, vec![]), &awaiting, NOW, &policy).is_none());
    // A received note one hop below the limit may still go back.
    let mut onward = six.clone();
    onward[0].hops = 3;
    let plan = plan_refresh(&snapshot(onward, vec![]), &none, NOW, &policy).unwrap();
    assert!(returned(&plan).contains(&(1, 0, 100)));
    // Expired notes are neither spendable nor returnable (the FI refuses them: V14).
    let mut old = six.clone();
    old[0].expires = NOW - 1;
    old[1].expires = NOW - 1;
    assert!(plan_refresh(&snapshot(old, vec![]), &none, NOW, &policy).is_none());
    // A device whose certificate is about to expire cannot sign a return.
    let cert_end = snapshot(vec![], vec![]).device.unwrap().cert.body.not_after;
    let late: Vec<WalletNote> = six
        .into_iter()
        .map(|mut n| {
            n.expires = cert_end + 30 * DAY;
            n
        })
        .collect();
    let at = |now| plan_refresh(&snapshot(late.clone(), vec![]), &none, now, &policy);
    assert!(at(cert_end - 2 * 3_600).is_some());
    assert!(at(cert_end - 60).is_none());
    // Not set up: nothing.
    assert!(plan_refresh(&Snapshot::default(), &none, NOW, &policy).is_none());
}

fn received(nonce: u8, notes: &[u8]) -> SagaRecord {
    SagaRecord {
        id: SagaId::new("receive", &[nonce]),
        version: 2,
        created: NOW,
        updated: NOW,
        state: SagaState::Receive(ReceiveState::Received {
            request: Vec::new(),
            payment: Vec::new(),
            amount: 100,
            notes: notes.iter().map(|&i| NoteId([i; 32])).collect(),
        }),
    }
}

#[test]
fn notes_awaiting_their_deposit_are_left_to_it() {
    let a = received(1, &[1, 2]); // untouched: sync deposits it
    let b = received(2, &[3]); // its deposit started
    let c = received(3, &[4, 5]); // note 4 partly spent onward: never deposited
    let mut deposit_of_b = b.clone();
    deposit_of_b.id = deposit::id_for(&b.id);
    let snap = snapshot(
        (1..=5).map(|i| note(i, 100, 1, "EUR")).collect(),
        vec![
            claim("pay:09", 4, 0, 30),
            claim(&deposit_of_b.id.0, 3, 0, 100),
        ],
    );
    let awaiting = awaiting_deposit(&[a, b, c, deposit_of_b], &snap);
    assert_eq!(awaiting, [NoteId([1; 32]), NoteId([2; 32])].into());
}
