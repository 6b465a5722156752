//! Stable sorting with one sort routine for every element type.
//!
//! `slice::sort_by` is generic: each element type and each comparison closure gets its own
//! copy of the standard library's merge sort (3–5 KB of WebAssembly each). The apps sort a
//! dozen kinds of lists, so [`sort_stable_by`] sorts a list of positions with one
//! comparison behind a `dyn` reference (one copy of the sort in the whole bundle) and then
//! moves the elements into that order. Same result as `sort_by`, stable; the cost is one
//! `Vec<usize>` and an indirect call per comparison, nothing next to what the lists hold.

use core::cmp::Ordering;

/// Sorts `items` by `compare`, keeping equal elements in their order (like
/// `slice::sort_by`).
pub fn sort_stable_by<T>(items: &mut Vec<T>, compare: impl Fn(&T, &T) -> Ordering) {
    let order = sorted_positions(items.len(), &|a, b| match (items.get(a), items.get(b)) {
        (Some(a), Some(b)) => compare(a, b),
        _ => Ordering::Equal,
    });
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(
        order
            .into_iter()
            .filter_map(|i| slots.get_mut(i).and_then(Option::take)),
    );
}

/// Sorts `items` by the key `key` gives, keeping equal keys in their order (like
/// `slice::sort_by_key`).
pub fn sort_stable_by_key<T, K: Ord>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    sort_stable_by(items, |a, b| key(a).cmp(&key(b)));
}

/// The positions `0..n` in the order `compare` gives, stable. Not generic: this is the
/// one place the standard library's sort is instantiated for [`sort_stable_by`].
#[inline(never)]
fn sorted_positions(n: usize, compare: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| compare(a, b));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_order_as_the_standard_stable_sort() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in [0usize, 1, 2, 3, 7, 20, 21, 100, 1000] {
            let items: Vec<(u8, usize)> = (0..len)
                .map(|i| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    ((seed % 5) as u8, i)
                })
                .collect();
            let mut expected = items.clone();
            expected.sort_by_key(|(k, _)| *k);
            let mut got = items.clone();
            sort_stable_by_key(&mut got, |(k, _)| *k);
            assert_eq!(got, expected, "len {len}");
            let mut reversed = items;
            sort_stable_by(&mut reversed, |a, b| b.0.cmp(&a.0));
            expected.sort_by_key(|a| core::cmp::Reverse(a.0));
            assert_eq!(reversed, expected, "len {len}, descending");
        }
    }

    #[test]
    fn elements_are_moved_not_cloned() {
        let mut items = vec![String::from("b"), String::from("a"), String::from("c")];
        sort_stable_by(&mut items, |a, b| a.cmp(b));
        assert_eq!(items, ["a", "b", "c"]);
    }
}
