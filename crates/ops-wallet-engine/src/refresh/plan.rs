//! The refresh planner: which free ranges a sync returns to the account so that the same
//! amount comes back as fresher or fewer notes. Pure: a snapshot, the notes that still await
//! their deposit, `now` and a policy in, a plan (or nothing to do) out.
//!
//! Two reasons to return a range, in this order:
//! 1. **expiry**: it expires within [`RefreshPolicy::expiring_within`] (soonest first);
//! 2. **consolidation**: spendable value lies on more than [`RefreshPolicy::max_notes`]
//!    ranges; the smallest are returned until at most [`RefreshPolicy::target_notes`] would
//!    remain, counting the notes the FI issues for the returned total (it splits an amount
//!    at its certificate's `max_note_value`).
//!
//! What is never returned: ranges claimed by any saga (they are not in the free view), notes
//! of a received payment that sync will deposit whole ([`awaiting_deposit`]), other
//! currencies than the FI's, notes at their hop limit (the return is one more hop: V9),
//! notes expiring within [`RefreshPolicy::margin`] (the return could reach the FI after the
//! note expired: V14), and anything at all once the device certificate is about to expire
//! (every spend needs it valid: V13). One refresh returns at most [`MAX_RETURNED`] ranges.

use std::collections::BTreeSet;

use ops_core::ids::NoteId;
use ops_core::msg::payment::MAX_CHAINS;
use ops_core::order::sort_stable_by_key;
use ops_core::wallet::Piece;

use crate::saga::{ReceiveState, SagaRecord, SagaState, deposit};
use crate::snapshot::Snapshot;
use crate::types::SagaId;

const DAY: u64 = 86_400;

/// Most ranges one refresh returns: the return is one payment to the FI, which carries at
/// most `MAX_CHAINS` (8) chains, all covered by one approval (a batch signature covers 2 to
/// 8 spends). A wallet with more to renew renews the rest at the next sync.
pub const MAX_RETURNED: usize = MAX_CHAINS;

/// When a sync renews notes. See `docs/ENGINE.md` §4 for why these defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// Renew a note expiring within this many seconds. Default 14 days: twice the home
    /// screen's warning window (`Config::warn_within`, 7 days), so a wallet that syncs
    /// weekly renews before any warning shows; about a sixth of the FI's 90-day note
    /// lifetime, so a note is renewed at most once in about 76 days (one approval).
    pub expiring_within: u64,
    /// Leave alone a note expiring within this many seconds. Default 1 hour: the return must
    /// reach the FI before the note expires, or it is refused and the range stays held.
    pub margin: u64,
    /// Consolidate when spendable value lies on more than this many ranges. Default 4: a
    /// payment of the whole balance then needs at most 4 spends, half of the 8 one payment
    /// (and one approval) may carry, which leaves room for the notes that arrive between
    /// syncs.
    pub max_notes: usize,
    /// Consolidating returns the smallest ranges until at most this many remain, the new
    /// notes included. Default 2 (the largest range kept, the rest merged): below
    /// `max_notes`, so the wallet does not consolidate again at the next sync.
    pub target_notes: usize,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            expiring_within: 14 * DAY,
            margin: 3_600,
            max_notes: 4,
            target_notes: 2,
        }
    }
}

/// A free range as the planner weighs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// The range.
    pub piece: Piece,
    /// Its note's expiry.
    pub expires: u64,
}

impl Range {
    fn value(&self) -> u64 {
        self.piece.to.saturating_sub(self.piece.from)
    }
}

/// What to return, decided over plain ranges (the pure core of [`plan_refresh`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The ranges to return: the expiring ones (soonest first), then the smallest.
    pub pieces: Vec<Piece>,
    /// How many of `pieces` are returned because they expire soon.
    pub expiring: usize,
    /// Spendable ranges before.
    pub notes_before: usize,
    /// Notes the FI issues for the returned total.
    pub issued: usize,
    /// Spendable ranges after: those kept plus `issued`.
    pub notes_after: usize,
}

/// A renewal to start: return `pieces` (worth `amount` of `currency`), load `amount` again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshPlan {
    /// The FI's currency (the only one it loads).
    pub currency: String,
    /// The ranges returned.
    pub pieces: Vec<Piece>,
    /// Their total, loaded again.
    pub amount: u64,
    /// How many of `pieces` are returned because they expire soon.
    pub expiring: usize,
    /// Spendable ranges in `currency` before.
    pub notes_before: usize,
    /// Notes the FI is expected to issue for `amount`.
    pub issued: usize,
    /// Spendable ranges after.
    pub notes_after: usize,
}

/// How many notes the FI issues for `amount` (it splits at `max_note`).
fn notes_for(amount: u64, max_note: u64) -> usize {
    usize::try_from(amount.div_ceil(max_note.max(1))).unwrap_or(usize::MAX)
}

/// Chooses what to return among `ranges` (every spendable range of one currency that is not
/// awaiting a deposit), with notes issued at most `max_note` each. `None`: nothing to do.
pub fn choose(ranges: &[Range], max_note: u64, now: u64, policy: &RefreshPolicy) -> Option<Choice> {
    let n = ranges.len();
    let renewable: Vec<&Range> = ranges
        .iter()
        .filter(|r| r.value() > 0 && r.expires >= now.saturating_add(policy.margin))
        .collect();
    let soon = now.saturating_add(policy.expiring_within);
    let mut expiring: Vec<&Range> = renewable
        .iter()
        .copied()
        .filter(|r| r.expires < soon)
        .collect();
    sort_stable_by_key(&mut expiring, |r| {
        (r.expires, r.value(), r.piece.note, r.piece.from)
    });
    expiring.truncate(MAX_RETURNED);
    let mut rest: Vec<&Range> = renewable
        .iter()
        .copied()
        .filter(|r| !expiring.contains(r))
        .collect();
    sort_stable_by_key(&mut rest, |r| {
        (r.value(), r.expires, r.piece.note, r.piece.from)
    });
    let e = expiring.len();
    let e_sum: u64 = expiring.iter().map(|r| r.value()).sum();
    let after = |k: usize, sum: u64| n - e - k + notes_for(sum, max_note);
    let mut k = 0;
    let mut best = after(0, e_sum);
    if n > policy.max_notes && best > policy.target_notes {
        let mut sum = e_sum;
        for (i, r) in rest.iter().take(MAX_RETURNED - e).enumerate() {
            sum = sum.saturating_add(r.value());
            let c = after(i + 1, sum);
            if c < best {
                (best, k) = (c, i + 1);
            }
            if c <= policy.target_notes {
                break;
            }
        }
    }
    if e + k == 0 {
        return None;
    }
    let pieces: Vec<Piece> = expiring
        .iter()
        .chain(rest.iter().take(k))
        .map(|r| r.piece)
        .collect();
    let total: u64 = pieces.iter().map(|p| p.to - p.from).sum();
    Some(Choice {
        pieces,
        expiring: e,
        notes_before: n,
        issued: notes_for(total, max_note),
        notes_after: best,
    })
}

/// Plans a renewal over `snap` at `now`: the free ranges of the FI's currency, without the
/// notes in `awaiting` (see [`awaiting_deposit`]). `None`: nothing to renew, or the wallet
/// is not set up, or its certificate expires within the margin.
pub fn plan_refresh(
    snap: &Snapshot,
    awaiting: &BTreeSet<NoteId>,
    now: u64,
    policy: &RefreshPolicy,
) -> Option<RefreshPlan> {
    let device = snap.device.as_ref()?;
    let limits = &device.fi.body.limits;
    let currency = limits.currency.clone()?;
    let max_note = limits.max_note_value.unwrap_or(u64::MAX);
    if device.cert.body.not_after < now.saturating_add(policy.margin) {
        return None;
    }
    let ranges: Vec<Range> = snap
        .free_book()
        .notes
        .iter()
        .filter(|g| {
            g.currency == currency
                && g.available() > 0
                && g.hops < usize::from(g.hop_limit)
                && g.expires >= now
                && !awaiting.contains(&g.id)
        })
        .map(|g| Range {
            piece: Piece {
                note: g.id,
                from: g.spent,
                to: g.value,
            },
            expires: g.expires,
        })
        .collect();
    let c = choose(&ranges, max_note, now, policy)?;
    Some(RefreshPlan {
        currency,
        amount: c.pieces.iter().map(|p| p.to - p.from).sum(),
        pieces: c.pieces,
        expiring: c.expiring,
        notes_before: c.notes_before,
        issued: c.issued,
        notes_after: c.notes_after,
    })
}

/// The notes of received payments that sync will deposit: every payment received whose
/// deposit has not started and whose notes are all wholly unclaimed (exactly those
/// [`crate::Engine::start_deposits`] takes). A refresh leaves them to the deposit: returning
/// them would add a hop for nothing and the deposit would then skip the payment. A received
/// payment partly spent onward is never deposited; its free ranges are the wallet's to renew.
pub fn awaiting_deposit(sagas: &[SagaRecord], snap: &Snapshot) -> BTreeSet<NoteId> {
    let ids: BTreeSet<&SagaId> = sagas.iter().map(|r| &r.id).collect();
    let mut out = BTreeSet::new();
    for r in sagas {
        let SagaState::Receive(ReceiveState::Received { notes, .. }) = &r.state else {
            continue;
        };
        if ids.contains(&deposit::id_for(&r.id)) {
            continue;
        }
        if notes
            .iter()
            .all(|n| !snap.claims.iter().any(|c| c.note == *n))
        {
            out.extend(notes.iter().copied());
        }
    }
    out
}
