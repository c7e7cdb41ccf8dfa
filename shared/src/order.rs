//! One stable sort for the crate's lists (the render, the snapshot's
//! lookups, lint). `sort_by` compiles a copy of the standard sort for every
//! call site (each closure is its own type): about 4 KB of code each in the
//! browser's wasm. These sort an index list through one non-generic
//! function instead, so the sort code is compiled once; the callers sort
//! lists of a few thousand items at most, where the indirect comparison
//! costs nothing measurable.

use std::cmp::Ordering;

/// The stable order of `len` items under `cmp` (by index).
fn order(len: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_by(|&a, &b| cmp(a, b));
    order
}

/// `items` sorted stably by `cmp`, as `slice::sort_by` does.
pub fn sort_by<T>(items: &mut Vec<T>, cmp: impl Fn(&T, &T) -> Ordering) {
    let order = order(items.len(), &|a, b| cmp(&items[a], &items[b]));
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(order.into_iter().filter_map(|i| slots[i].take()));
}

/// `items` sorted stably by `key`, as `slice::sort_by_key` does.
pub fn sort_by_key<T, K: Ord>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

#[cfg(test)]
mod tests {
    use super::{sort_by, sort_by_key};

    #[test]
    fn sorts_stably_as_the_standard_sort_does() {
        let words = ["pear", "fig", "apple", "kiwi", "date", "plum", "lime", "", "banana", "fig"];
        let mut ours: Vec<(usize, &str)> = words.iter().copied().enumerate().collect();
        let mut theirs = ours.clone();
        sort_by_key(&mut ours, |(_, w)| w.len());
        theirs.sort_by_key(|(_, w)| w.len());
        assert_eq!(ours, theirs);
        sort_by(&mut ours, |a, b| b.1.cmp(a.1));
        theirs.sort_by(|a, b| b.1.cmp(a.1));
        assert_eq!(ours, theirs);
        let mut empty: Vec<u8> = Vec::new();
        sort_by_key(&mut empty, |x| *x);
        assert!(empty.is_empty());
    }
}
