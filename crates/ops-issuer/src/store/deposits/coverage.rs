//! The arithmetic of the per-note ledger, without I/O: which units of a new claim on a
//! note are still free (they become its coverage) and which were covered first by which
//! earlier claim (its excess, by claim).

use std::collections::BTreeMap;

use ops_core::NoteId;

/// A claim on a note: a spend of it, or its consumption by a deposit or a defund.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClaimRef {
    /// A spend of the note (its id).
    Spend(NoteId),
    /// The note consumed whole by a deposit or a defund (the note's id).
    Consumption(NoteId),
}

impl ClaimRef {
    /// The `claim_kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            ClaimRef::Spend(_) => "spend",
            ClaimRef::Consumption(_) => "consumption",
        }
    }

    /// The `claim` column.
    pub fn id(&self) -> NoteId {
        match self {
            ClaimRef::Spend(id) | ClaimRef::Consumption(id) => *id,
        }
    }

    /// Reads the two columns back; `None` for an unknown kind.
    pub fn from_columns(kind: &str, id: NoteId) -> Option<Self> {
        match kind {
            "spend" => Some(ClaimRef::Spend(id)),
            "consumption" => Some(ClaimRef::Consumption(id)),
            _ => None,
        }
    }
}

/// Units `[from, to)` of a note that `claim` covered first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// First unit.
    pub from: u64,
    /// One past the last unit.
    pub to: u64,
    /// The claim that covered them.
    pub claim: ClaimRef,
}

/// How a new claim of `[from, to)` splits against the note's existing `fragments` (any
/// order, disjoint): the free gaps in ascending order, and per earlier claim the number of
/// units of the new range it had covered first. The gaps' sizes plus the excess sum to
/// `to - from`.
pub fn split(
    from: u64,
    to: u64,
    fragments: &[Fragment],
) -> (Vec<(u64, u64)>, BTreeMap<ClaimRef, u64>) {
    let mut sorted: Vec<&Fragment> = fragments
        .iter()
        .filter(|f| f.from < to && from < f.to)
        .collect();
    sorted.sort_by_key(|f| f.from);
    let mut gaps = Vec::new();
    let mut excess: BTreeMap<ClaimRef, u64> = BTreeMap::new();
    let mut at = from;
    for f in sorted {
        let start = f.from.max(from);
        let end = f.to.min(to);
        if start > at {
            gaps.push((at, start));
        }
        let covered = end.saturating_sub(start.max(at));
        if covered > 0 {
            *excess.entry(f.claim.clone()).or_default() += covered;
        }
        at = at.max(end);
    }
    if at < to {
        gaps.push((at, to));
    }
    (gaps, excess)
}

/// Units two half-open ranges share.
pub fn overlap(a: (u64, u64), b: (u64, u64)) -> u64 {
    a.1.min(b.1).saturating_sub(a.0.max(b.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A note id named by one letter (`a`, `b`, …), for readable layouts.
    fn id(name: &str) -> NoteId {
        NoteId([name.bytes().next().unwrap_or(0); 32])
    }

    fn frag(from: u64, to: u64, name: &str) -> Fragment {
        Fragment {
            from,
            to,
            claim: ClaimRef::Spend(id(name)),
        }
    }

    #[test]
    fn a_claim_on_a_free_note_is_all_gap() {
        let (gaps, excess) = split(0, 600, &[]);
        assert_eq!(gaps, vec![(0, 600)]);
        assert!(excess.is_empty());
    }

    #[test]
    fn the_partial_overlap_of_the_issue_counts_every_covered_unit() {
        // [0,100) and [100,200) recorded; [0,600) claims 200 covered units and 400 free.
        let f = [frag(0, 100, "a"), frag(100, 200, "b")];
        let (gaps, excess) = split(0, 600, &f);
        assert_eq!(gaps, vec![(200, 600)]);
        assert_eq!(excess.values().sum::<u64>(), 200);
        assert_eq!(excess[&ClaimRef::Spend(id("a"))], 100);
        assert_eq!(excess[&ClaimRef::Spend(id("b"))], 100);
        // Then [200,1000): 400 covered by the [0,600) claim's fragment, 400 free.
        let f2 = [frag(0, 100, "a"), frag(100, 200, "b"), frag(200, 600, "c")];
        let (gaps, excess) = split(200, 1000, &f2);
        assert_eq!(gaps, vec![(600, 1000)]);
        assert_eq!(excess.values().sum::<u64>(), 400);
    }

    #[test]
    fn gaps_between_and_around_fragments() {
        let f = [frag(10, 20, "a"), frag(30, 40, "b")];
        let (gaps, excess) = split(0, 50, &f);
        assert_eq!(gaps, vec![(0, 10), (20, 30), (40, 50)]);
        assert_eq!(excess.values().sum::<u64>(), 20);
        let (gaps, excess) = split(15, 35, &f);
        assert_eq!(gaps, vec![(20, 30)]);
        assert_eq!(excess.values().sum::<u64>(), 10);
    }

    #[test]
    fn gaps_and_excess_always_add_up_to_the_claim() {
        // Every disjoint layout of up to 4 fragments on a 12-unit note, every claim.
        let mut layouts: Vec<Vec<Fragment>> = vec![vec![]];
        for a in 0..12u64 {
            for b in a + 1..=12 {
                layouts.push(vec![frag(a, b, "x")]);
                if b < 12 {
                    for c in b..12 {
                        layouts.push(vec![frag(a, b, "x"), frag(c, 12, "y")]);
                    }
                }
            }
        }
        for f in &layouts {
            for from in 0..12 {
                for to in from + 1..=12 {
                    let (gaps, excess) = split(from, to, f);
                    let free: u64 = gaps.iter().map(|(a, b)| b - a).sum();
                    assert_eq!(free + excess.values().sum::<u64>(), to - from);
                    for (a, b) in &gaps {
                        assert!(f.iter().all(|x| overlap((*a, *b), (x.from, x.to)) == 0));
                    }
                }
            }
        }
    }

    #[test]
    fn overlap_of_ranges() {
        assert_eq!(overlap((0, 100), (50, 200)), 50);
        assert_eq!(overlap((0, 100), (100, 200)), 0);
        assert_eq!(overlap((10, 20), (0, 100)), 10);
    }
}
