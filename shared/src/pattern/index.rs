//! The compiled form of one context: a trie over the elements of every
//! extension, so that a lookup costs what the dialled string costs, not what
//! the number of extensions costs.
//!
//! Each extension is a path from the root: one edge per [`Step`] (a byte, a
//! character class, or a skippable empty set), and its rank in the sorted
//! order is stored at the node where its path ends, tagged by how it ends
//! ([`Tail`]). Walking the dialled string keeps the set of nodes whose path
//! matches what was dialled so far; every rule of the linear scan then turns
//! into "collect the ranks found at those nodes and keep the smallest":
//!
//! * while characters remain, a `.` at an active node answers YES and a `!`
//!   YES-BANG, in every mode (the rest of the name is never looked at);
//! * when the string runs out, an active node answers YES for names ending
//!   there (not in matchmore), YES-BANG for a `!` there, and YES in
//!   canmatch/matchmore for every name going further (`left_min`).
//!
//! The smallest rank is what the linear scan would meet first, so even the
//! matchmore `!` veto (the first hit is a YES-BANG) comes out the same.
//!
//! First-match questions do not need every active node: each node knows the
//! smallest rank anywhere below it (`subtree_min`), a lower bound on what it
//! can still offer. [`ContextIndex::first_match`] explores the frontier
//! smallest bound first and stops as soon as that bound cannot beat the best
//! rank found, so a big dialplan costs little more than a small one.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::byteset::ByteSet;
use super::matching::{MatchResult, Mode, Step, Tail, steps};
use super::parse::Extension;

const ROOT: u32 = 0;
const NONE: u32 = u32::MAX;

#[derive(Debug, Clone)]
pub(crate) struct ContextIndex {
    /// Every record (see [`Record`]), the root's at 0, then each record's
    /// children's records together, depth first.
    words: Vec<u32>,
    /// `subtree_min` of the root (every other record's is in its parent).
    root_bound: u32,
    classes: Vec<ByteSet>,
}

/// One record of the trie: a node, the chain of single-child nodes above it
/// (path compression: a route's `XXXXXXX` tail, a literal's last digits),
/// and what a search needs of its children, in consecutive words of
/// [`ContextIndex::words`], so that a search reads one record per step, most
/// often one cache line, and never a child's record only to learn its bound:
///
/// | words | |
/// |---|---|
/// | `ENDS_AT` | bit `d`: a name ends (or reaches a `!`) exactly `d` dialled characters below the *head* (the first node of the chain); bit 31 for "31 or more" |
/// | `SUMMARY` | bits 0–7 `reach` and 8–15 `wildcard_at` of the head (one saturating byte each), 16–31 `digits` of the node |
/// | `SHAPE` | bits 0–7 byte children, 8–15 chain length, `HAS_SKIP` (the last child is through an empty set / blank), `HAS_RANKS`, bits 18–31 the words of ranks and names (`BLOCK_UNKNOWN`: too many, counted from the counts) |
/// | `CLASS_CHILDREN` | how many class children |
/// | `LEFT_MIN` | smallest rank whose name continues past the node with anything but a `!` (a `.`, or any edge): YES in canmatch/matchmore at the end |
/// | with `HAS_RANKS` | how many ranks end at the node, reach a `.` there, a `!` there (10 bits each; `WIDE_COUNTS`: in the three next words); those ranks, each group sorted; the byte lengths of the names of each group's first rank (8 bits each, `NOT_INLINE` for none or 255 bytes and more), then those names' bytes, four per word: the winner's name is read from the record that gave it |
/// | chain | one label per node of the chain, two per word (a byte, or `CLASS_LABEL` + a class) |
/// | byte labels | the byte children's bytes, sorted, four per word |
/// | class labels | the class children's classes (indices in `classes`) |
/// | children | per child (bytes, classes, skip): its `subtree_min`, then its record's position |
///
/// A node of a chain has one child, not through an empty set, and no name
/// ends or reaches a wildcard there: its summary is the head's shifted, its
/// `left_min` is the record's own bound, and it offers nothing else.
///
/// The summaries are kept small by saturating them: `can_yield` may answer
/// yes for a subtree that cannot yield (the search then looks and finds
/// nothing), never no for one that can.
#[derive(Debug, Clone, Copy)]
struct Record<'a>(&'a [u32]);

const ENDS_AT: usize = 0;
const SUMMARY: usize = 1;
const SHAPE: usize = 2;
const CLASS_CHILDREN: usize = 3;
const LEFT_MIN: usize = 4;
const HEADER: usize = 5;
const HAS_SKIP: u32 = 1 << 16;
const HAS_RANKS: u32 = 1 << 17;
/// The three rank counts do not fit in 10 bits each: they follow in three words.
const WIDE_COUNTS: u32 = 1 << 31;
const COUNT_MAX: usize = (1 << 10) - 1;
/// The length of a name that is not in the record.
const NOT_INLINE: u32 = 0xff;
const BLOCK_SHIFT: u32 = 18;
const BLOCK_UNKNOWN: usize = (1 << 14) - 1;
/// Labels from this value on are classes (`label - CLASS_LABEL` in `classes`).
const CLASS_LABEL: u32 = 256;
/// Longest chain in one record (a longer one continues in a child record).
const CHAIN_MAX: usize = u8::MAX as usize;
/// A chain label is 16 bits: a class beyond this ends the chain.
const CHAIN_LABEL_MAX: u32 = u16::MAX as u32;

/// "This many or more" in a node's one-byte summaries.
const SATURATED: u8 = u8::MAX;
/// Bits 10–15 of `digits` all set: the byte children are searched.
const DIGITS_UNKNOWN: u16 = 0x3f;

/// Where the parts of one record start (word offsets from its first word).
#[derive(Debug, Clone, Copy)]
struct Layout {
    chain: usize,
    chain_len: usize,
    byte_labels: usize,
    class_labels: usize,
    children: usize,
}

impl<'a> Record<'a> {
    /// Whether the subtree can offer any candidate in `mode` when `remaining`
    /// dialled characters are left at the head: data left over is NO, and
    /// matchmore needs more pattern than data; match mode needs a name
    /// ending exactly at the end of the dialled string, or a wildcard before it.
    #[inline(always)]
    fn can_yield(self, mode: Mode, remaining: usize) -> bool {
        let remaining = u32::try_from(remaining).unwrap_or(u32::MAX);
        let summary = self.0[SUMMARY];
        let (reach, wildcard_at) = (summary & 0xff, (summary >> 8) & 0xff);
        match mode {
            Mode::Match => {
                // A saturated distance (255 or more, or none) compares as
                // 255: "below `remaining`" when more than 255 characters
                // remain, a yes that may be wrong and is then only a look.
                wildcard_at < remaining || self.0[ENDS_AT] & (1 << remaining.min(31)) != 0
            }
            Mode::CanMatch => reach == u32::from(SATURATED) || reach >= remaining,
            Mode::MatchMore => reach == u32::from(SATURATED) || reach > remaining,
        }
    }

    fn shape(self) -> u32 {
        self.0[SHAPE]
    }

    fn byte_children(self) -> usize {
        (self.shape() & 0xff) as usize
    }

    fn class_children(self) -> usize {
        self.0[CLASS_CHILDREN] as usize
    }

    #[inline(always)]
    fn layout(self) -> Layout {
        let shape = self.shape();
        let block = (shape >> BLOCK_SHIFT) as usize;
        let chain = if block != BLOCK_UNKNOWN {
            HEADER + block
        } else {
            let (_, _, names) = self.ranks();
            names + 1 + inline_bytes(self.0[names]).div_ceil(4)
        };
        let chain_len = ((shape >> 8) & 0xff) as usize;
        let byte_labels = chain + chain_len.div_ceil(2);
        let class_labels = byte_labels + self.byte_children().div_ceil(4);
        Layout {
            chain,
            chain_len,
            byte_labels,
            class_labels,
            children: class_labels + self.class_children(),
        }
    }

    #[inline(always)]
    fn chain_label(self, layout: Layout, i: usize) -> u32 {
        (self.0[layout.chain + i / 2] >> (16 * (i % 2))) & 0xffff
    }

    /// Where the ranks start, how many end at the node, reach a `.` there,
    /// a `!` there, and where the word of the names' lengths is.
    #[inline(always)]
    fn ranks(self) -> (usize, [usize; 3], usize) {
        if self.shape() & HAS_RANKS == 0 {
            return (HEADER, [0; 3], HEADER);
        }
        let packed = self.0[HEADER];
        let (counts, start) = if packed & WIDE_COUNTS == 0 {
            ([packed & 0x3ff, (packed >> 10) & 0x3ff, (packed >> 20) & 0x3ff], HEADER + 1)
        } else {
            ([self.0[HEADER + 1], self.0[HEADER + 2], self.0[HEADER + 3]], HEADER + 4)
        };
        let counts = counts.map(|count| count as usize);
        (start, counts, start + counts.iter().sum::<usize>())
    }

    /// The ranks ending at the node, reaching a `.` there, a `!` there.
    fn rank_lists(self) -> [&'a [u32]; 3] {
        let (start, counts, _) = self.ranks();
        let (finished, rest) = self.0[start..].split_at(counts[0]);
        let (dot, rest) = rest.split_at(counts[1]);
        [finished, dot, &rest[..counts[2]]]
    }

    /// The smallest rank of each of [`Self::rank_lists`] (or `NONE`), and
    /// where the word of the names' lengths is.
    #[inline(always)]
    fn first_ranks(self) -> ([u32; 3], usize) {
        if self.shape() & HAS_RANKS == 0 {
            return ([NONE; 3], HEADER);
        }
        let (at, [finished, dot, bang], names) = self.ranks();
        let first = |count: usize, at: usize| if count == 0 { NONE } else { self.0[at] };
        ([first(finished, at), first(dot, at + finished), first(bang, at + finished + dot)], names)
    }

    fn left_min(self) -> u32 {
        self.0[LEFT_MIN]
    }

    /// Child `i` (bytes first, then classes, then the skip child): its bound
    /// and its record's position.
    #[inline(always)]
    fn child(self, layout: Layout, i: usize) -> (u32, u32) {
        let at = layout.children + 2 * i;
        (self.0[at], self.0[at + 1])
    }

    /// The position among the byte children of the one labelled `byte`.
    #[inline(always)]
    fn byte_child(self, layout: Layout, byte: u8) -> Option<usize> {
        let digits = (self.0[SUMMARY] >> 16) as u16;
        let before = digits >> 10;
        if byte.is_ascii_digit() && before != DIGITS_UNKNOWN {
            let bit = 1 << (byte - b'0');
            return (digits & bit != 0)
                .then(|| usize::from(before) + (digits & (bit - 1)).count_ones() as usize);
        }
        let label = |i: usize| (self.0[layout.byte_labels + i / 4] >> (8 * (i % 4))) as u8;
        let (mut low, mut high) = (0, self.byte_children());
        while low < high {
            let middle = low + (high - low) / 2;
            match label(middle).cmp(&byte) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }
}

/// How many bytes of names a record holds, from its word of lengths.
fn inline_bytes(lengths: u32) -> usize {
    (0..3)
        .map(|list| (lengths >> (8 * list)) & 0xff)
        .filter(|&length| length != NOT_INLINE)
        .sum::<u32>() as usize
}

/// Where the name of a rank offered by a record is: the position of the
/// record's word of names' lengths times four plus the list (0 ending
/// there, 1 `.`, 2 `!`), or `NONE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameRef(u32);

/// How a record's chain meets the dialled string.
enum Chain {
    /// Every label matched: the node is at this depth.
    Through(usize),
    /// The dialled string ran out inside the chain.
    RanOut,
    /// A label refused a dialled character.
    Refused,
}

/// A frontier entry of [`ContextIndex::first_match`]: `(subtree_min, depth,
/// record, cursor)` packed into one integer, so that the heap compares
/// entries in one instruction pair instead of a four-field tuple comparison.
///
/// Cursor 0: the record itself, its head at `depth`. Cursor `i + 1`: the
/// class children of the record from its `i`-th on, reached by the dialled
/// character at `depth` (the record's node, below its chain); its bound is
/// the `i`-th class child's, the smallest of them since a record keeps its
/// class children in increasing bound order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry(u128);

impl Entry {
    #[inline(always)]
    fn new(bound: u32, depth: usize, record: u32, cursor: u32) -> Entry {
        let depth = u32::try_from(depth).expect("a dialled string shorter than 2^32");
        Entry((u128::from(bound) << 96) | (u128::from(depth) << 64) | (u128::from(record) << 32) | u128::from(cursor))
    }

    fn bound(self) -> u32 {
        (self.0 >> 96) as u32
    }

    fn depth(self) -> usize {
        (self.0 >> 64) as u32 as usize
    }

    fn record(self) -> u32 {
        (self.0 >> 32) as u32
    }

    fn cursor(self) -> u32 {
        self.0 as u32
    }
}

impl ContextIndex {
    /// `extensions` must be in sorted order: a rank is an index in it.
    pub(crate) fn build(extensions: &[Extension]) -> ContextIndex {
        let mut draft = Draft::default();
        for (rank, extension) in extensions.iter().enumerate() {
            let rank = u32::try_from(rank).expect("fewer than 4 billion extensions");
            draft.insert(extension, rank);
        }
        draft.freeze(extensions)
    }

    fn record(&self, at: u32) -> Record<'_> {
        Record(&self.words[at as usize..])
    }

    /// The smallest rank that does not answer NO, with its answer: what a
    /// scan of the sorted list stops at. `dialled` must be dash-free.
    ///
    /// Best-first: the frontier is a min-heap of [`Entry`] `(subtree_min,
    /// depth, record, cursor)` plus its smallest entry kept apart; a record's
    /// candidates are all ranks of its subtree, so once the smallest bound is
    /// not below the best rank found, nothing left can win. A record is
    /// queued on its bound alone (read in its parent); whether it can yield
    /// is checked when it is taken out. A record's class children are queued
    /// as one entry, on the smallest of their bounds, and only when that
    /// entry is taken out is the first of them that admits the dialled
    /// character queued (with an entry for the ones after it): most class
    /// children are never looked at, a literal's rank wins first.
    pub(crate) fn first_match(&self, dialled: &[u8], mode: Mode) -> Option<(u32, MatchResult, NameRef)> {
        let mut best = Best(None);
        // The smallest entry of the frontier is kept apart in `next`: a
        // record's best child is usually explored right after it, and needs
        // no trip through the heap.
        let mut frontier = Frontier::new();
        let mut next = Some(Entry::new(self.root_bound, 0, ROOT, 0));
        loop {
            let smallest = match next.take() {
                Some(entry) => frontier.exchange_if_smaller(entry),
                None => match frontier.pop() {
                    Some(top) => top,
                    None => break,
                },
            };
            let (bound, depth, at) = (smallest.bound(), smallest.depth(), smallest.record());
            if !best.can_be_beaten_by(bound) {
                break;
            }
            let record = self.record(at);
            let cursor = smallest.cursor();
            if cursor != 0 {
                // The class children from `cursor - 1` on, at the record's node.
                let layout = record.layout();
                let byte = dialled[depth];
                let byte_children = record.byte_children();
                let class_labels = &record.0[layout.class_labels..layout.children];
                let from = cursor as usize - 1;
                let admitting = class_labels[from..]
                    .iter()
                    .position(|&class| self.classes[class as usize].contains(byte));
                if let Some(offset) = admitting {
                    let class = from + offset;
                    let (bound, child) = record.child(layout, byte_children + class);
                    frontier.enqueue(&best, &mut next, bound, depth + 1, child, 0);
                    if class + 1 < class_labels.len() {
                        let (rest, _) = record.child(layout, byte_children + class + 1);
                        frontier.enqueue(&best, &mut next, rest, depth, at, class as u32 + 2);
                    }
                }
                continue;
            }
            // Whether a subtree can yield is only checked here: the record
            // is read once, when (and if) its bound is the smallest.
            if !record.can_yield(mode, dialled.len() - depth) {
                continue;
            }
            let layout = record.layout();
            let depth = match self.follow_chain(record, layout, dialled, depth) {
                Chain::Through(depth) => depth,
                // Inside a chain every name goes further: YES unless in
                // match mode, and the smallest of them is the bound.
                Chain::RanOut => {
                    if mode != Mode::Match {
                        best.offer(bound, MatchResult::Yes, NameRef(NONE));
                    }
                    continue;
                }
                Chain::Refused => continue,
            };
            let ([finished_min, dot_min, bang_min], names) = record.first_ranks();
            let name = |list: u32| NameRef((at + names as u32) << 2 | list);
            let Some(&byte) = dialled.get(depth) else {
                // The dialled string ran out here. No skip closure: an empty
                // set left at the end is "more pattern".
                if mode != Mode::MatchMore {
                    best.offer(finished_min, MatchResult::Yes, name(0));
                }
                best.offer(bang_min, MatchResult::YesBang, name(2));
                if mode != Mode::Match {
                    best.offer(record.left_min(), MatchResult::Yes, NameRef(NONE));
                }
                continue;
            };
            best.offer(dot_min, MatchResult::Yes, name(1));
            best.offer(bang_min, MatchResult::YesBang, name(2));
            let byte_children = record.byte_children();
            if record.shape() & HAS_SKIP != 0 {
                // Empty sets vanish while a character waits.
                let (bound, child) = record.child(layout, byte_children + record.class_children());
                frontier.enqueue(&best, &mut next, bound, depth, child, 0);
            }
            if let Some(found) = record.byte_child(layout, byte) {
                let (bound, child) = record.child(layout, found);
                frontier.enqueue(&best, &mut next, bound, depth + 1, child, 0);
            }
            if record.class_children() != 0 {
                let (bound, _) = record.child(layout, byte_children);
                frontier.enqueue(&best, &mut next, bound, depth, at, 1);
            }
        }
        best.0
    }

    /// Every rank matching in match mode, sorted. `dialled` must be dash-free.
    pub(crate) fn all_matches(&self, dialled: &[u8]) -> Vec<u32> {
        let mut found = Vec::new();
        let mut pending = vec![(ROOT, 0)];
        while let Some((at, depth)) = pending.pop() {
            let record = self.record(at);
            let layout = record.layout();
            let Chain::Through(depth) = self.follow_chain(record, layout, dialled, depth) else {
                continue;
            };
            let [finished, dot, bang] = record.rank_lists();
            let Some(&byte) = dialled.get(depth) else {
                // No skip closure here: an empty set left at the end is "more pattern".
                found.extend(finished.iter().chain(bang));
                continue;
            };
            found.extend(dot.iter().chain(bang));
            if record.shape() & HAS_SKIP != 0 {
                // Empty sets vanish while a character waits: their children are active too.
                let skip = record.byte_children() + record.class_children();
                pending.push((record.child(layout, skip).1, depth));
            }
            self.for_each_child(record, layout, byte, |(_, child)| pending.push((child, depth + 1)));
        }
        // Each name has one path, reached at one depth: no duplicates to drop.
        found.sort_unstable();
        found
    }

    /// Matches the record's chain against the dialled characters from `depth` on.
    #[inline(always)]
    fn follow_chain(&self, record: Record<'_>, layout: Layout, dialled: &[u8], depth: usize) -> Chain {
        let ahead = &dialled[depth..];
        let length = layout.chain_len;
        for (i, &byte) in ahead.iter().take(length).enumerate() {
            if !self.admits(record.chain_label(layout, i), byte) {
                return Chain::Refused;
            }
        }
        if ahead.len() < length { Chain::RanOut } else { Chain::Through(depth + length) }
    }

    /// The name a [`NameRef`] of [`Self::first_match`] points to, when its
    /// record holds it.
    pub(crate) fn name(&self, found: NameRef) -> Option<String> {
        if found.0 == NONE {
            return None;
        }
        let (at, list) = ((found.0 >> 2) as usize, found.0 & 3);
        let lengths = self.words[at];
        let length = ((lengths >> (8 * list)) & 0xff) as usize;
        if length == NOT_INLINE as usize {
            return None;
        }
        let before = inline_bytes(lengths & ((1 << (8 * list)) - 1));
        let words = &self.words[at + 1 + before / 4..at + 1 + (before + length).div_ceil(4)];
        let mut bytes = Vec::with_capacity(4 * words.len());
        words.iter().for_each(|word| bytes.extend_from_slice(&word.to_le_bytes()));
        bytes.drain(..before % 4);
        bytes.truncate(length);
        String::from_utf8(bytes).ok()
    }

    #[inline(always)]
    fn admits(&self, label: u32, byte: u8) -> bool {
        match label.checked_sub(CLASS_LABEL) {
            None => label == u32::from(byte),
            Some(class) => self.classes[class as usize].contains(byte),
        }
    }

    /// The children of `record` reached by `byte` (its byte child, then every
    /// class child containing it), each as (bound, record position).
    #[inline(always)]
    fn for_each_child(&self, record: Record<'_>, layout: Layout, byte: u8, mut visit: impl FnMut((u32, u32))) {
        let byte_children = record.byte_children();
        if let Some(found) = record.byte_child(layout, byte) {
            visit(record.child(layout, found));
        }
        let class_labels = &record.0[layout.class_labels..layout.children];
        for (offset, &class) in class_labels.iter().enumerate() {
            if self.classes[class as usize].contains(byte) {
                visit(record.child(layout, byte_children + offset));
            }
        }
    }
}

/// Room the frontier's heap starts with, once the sorted array is full
/// (growing a heap step by step, realloc and copy, costs more than the
/// search itself).
const FRONTIER_CAPACITY: usize = 64;

/// Entries a first-match search keeps in order on the stack before it
/// moves its frontier to a heap: with class children queued as one entry, a
/// lookup in a 100,000-extension route table queues about four.
const FRONTIER_INLINE: usize = 16;

/// The frontier of a first-match search: a sorted array on the stack
/// (largest first, so the smallest is taken from the end) while it holds
/// few entries, a min-heap from the first push that does not fit on. The
/// array is made on the first push (most lookups of a small context queue
/// nothing) and the heap only then: most lookups never allocate.
struct Frontier {
    sorted: Option<[Entry; FRONTIER_INLINE]>,
    len: usize,
    heap: Option<BinaryHeap<Reverse<Entry>>>,
}

impl Frontier {
    #[inline(always)]
    fn new() -> Self {
        Frontier { sorted: None, len: 0, heap: None }
    }

    #[inline(always)]
    fn push(&mut self, entry: Entry) {
        if let Some(heap) = &mut self.heap {
            heap.push(Reverse(entry));
        } else if self.len < FRONTIER_INLINE {
            self.insert(entry);
        } else {
            self.spill(entry);
        }
    }

    /// Into the sorted array, which has room.
    #[inline(always)]
    fn insert(&mut self, entry: Entry) {
        let sorted = self.sorted.get_or_insert([Entry(0); FRONTIER_INLINE]);
        let mut at = self.len;
        while at > 0 && sorted[at - 1] < entry {
            sorted[at] = sorted[at - 1];
            at -= 1;
        }
        sorted[at] = entry;
        self.len += 1;
    }

    /// The sorted array is full: every entry moves to a heap.
    #[cold]
    fn spill(&mut self, entry: Entry) {
        let mut heap = BinaryHeap::with_capacity(FRONTIER_CAPACITY);
        let sorted = self.sorted.as_ref().map_or(&[][..], |sorted| &sorted[..self.len]);
        heap.extend(sorted.iter().map(|&queued| Reverse(queued)));
        heap.push(Reverse(entry));
        self.len = 0;
        self.heap = Some(heap);
    }

    /// Queues `(bound, depth, record, cursor)` if `bound` can beat the best
    /// rank found, into `next` if it is smaller than what `next` holds.
    #[inline(always)]
    fn enqueue(&mut self, best: &Best, next: &mut Option<Entry>, bound: u32, depth: usize, record: u32, cursor: u32) {
        if !best.can_be_beaten_by(bound) {
            return;
        }
        let entry = Entry::new(bound, depth, record, cursor);
        match *next {
            Some(kept) if kept <= entry => self.push(entry),
            Some(kept) => {
                self.push(kept);
                *next = Some(entry);
            }
            None => *next = Some(entry),
        }
    }

    #[inline(always)]
    fn pop(&mut self) -> Option<Entry> {
        if let Some(heap) = &mut self.heap {
            return heap.pop().map(|Reverse(entry)| entry);
        }
        let sorted = self.sorted.as_ref()?;
        self.len = self.len.checked_sub(1)?;
        Some(sorted[self.len])
    }

    /// `entry`, or the smallest queued entry if that one is smaller (which
    /// `entry` then replaces in the frontier).
    #[inline(always)]
    fn exchange_if_smaller(&mut self, entry: Entry) -> Entry {
        if let Some(heap) = &mut self.heap {
            return match heap.peek_mut() {
                Some(mut top) if top.0 < entry => std::mem::replace(&mut *top, Reverse(entry)).0,
                _ => entry,
            };
        }
        let Some(sorted) = &self.sorted else {
            return entry;
        };
        match self.len.checked_sub(1) {
            Some(last) if sorted[last] < entry => {
                let smallest = sorted[last];
                self.len = last;
                self.insert(entry);
                smallest
            }
            _ => entry,
        }
    }
}

/// The smallest-rank candidate found so far by a first-match search, and
/// where its name is.
struct Best(Option<(u32, MatchResult, NameRef)>);

impl Best {
    /// `rank` may be `NONE` (nothing to offer): it never beats anything.
    fn offer(&mut self, rank: u32, result: MatchResult, name: NameRef) {
        if rank != NONE && self.can_be_beaten_by(rank) {
            self.0 = Some((rank, result, name));
        }
    }

    fn can_be_beaten_by(&self, rank: u32) -> bool {
        self.0.is_none_or(|(known, _, _)| rank < known)
    }
}

/// The names of the first rank ending at `node`, reaching a `.` there, a
/// `!` there, as a record holds them (none for an empty list or a name of
/// 255 bytes or more).
fn inline_names<'a>(node: &DraftNode, extensions: &'a [Extension]) -> [Option<&'a str>; 3] {
    [&node.finished, &node.dot, &node.bang].map(|ranks| {
        let name = extensions[*ranks.first()? as usize].name();
        (name.len() < NOT_INLINE as usize).then_some(name)
    })
}

/// Bytes four per word, the first in the lowest bits.
fn pack_bytes(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    bytes.chunks(4).map(|four| four.iter().rev().fold(0u32, |word, &byte| word << 8 | u32::from(byte)))
}

/// A count or distance in one byte: `SATURATED` for 255 or more (and for
/// `NONE`, which is more).
fn saturate(value: u32) -> u8 {
    u8::try_from(value).unwrap_or(SATURATED)
}

/// `ends_at` bits 0–30 as they are, bit 31 for "31 or more".
fn saturate_distances(ends_at: u64) -> u32 {
    let far = ends_at >> 31 != 0;
    (ends_at as u32 & !(1 << 31)) | if far { 1 << 31 } else { 0 }
}

/// `Node::digits` of a node with these (sorted) children.
fn digit_children(children: &[(Label, u32)]) -> u16 {
    let bytes = children.iter().filter_map(|&(label, _)| match label {
        Label::Byte(byte) => Some(byte),
        _ => None,
    });
    let (mut digits, mut before) = (0u16, 0u16);
    for byte in bytes {
        if byte.is_ascii_digit() {
            digits |= 1 << (byte - b'0');
        } else if byte < b'0' {
            before = (before + 1).min(DIGITS_UNKNOWN);
        }
    }
    digits | before << 10
}

/// The trie while extensions are being inserted.
#[derive(Default)]
struct Draft {
    nodes: Vec<DraftNode>,
    class_ids: HashMap<ByteSet, u32>,
    classes: Vec<ByteSet>,
}

#[derive(Default)]
struct DraftNode {
    children: Vec<(Label, u32)>,
    finished: Vec<u32>,
    dot: Vec<u32>,
    bang: Vec<u32>,
}

/// Edge labels; the derived order puts byte edges first, sorted by byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Label {
    Byte(u8),
    Class(u32),
    Skip,
}

impl Draft {
    fn insert(&mut self, extension: &Extension, rank: u32) {
        if self.nodes.is_empty() {
            self.nodes.push(DraftNode::default());
        }
        let (steps, tail) = steps(extension.name().as_bytes());
        let mut node = ROOT;
        for step in steps {
            let label = match step {
                Step::Byte(byte) => Label::Byte(byte),
                Step::Class(set) => Label::Class(self.class_id(set)),
                Step::Skip => Label::Skip,
            };
            node = self.child(node, label);
        }
        // Ranks arrive in increasing order, so every list stays sorted.
        let node = &mut self.nodes[node as usize];
        match tail {
            Tail::End => node.finished.push(rank),
            Tail::Dot => node.dot.push(rank),
            Tail::Bang => node.bang.push(rank),
        }
    }

    fn class_id(&mut self, set: ByteSet) -> u32 {
        let next_id = self.classes.len() as u32;
        *self.class_ids.entry(set).or_insert_with(|| {
            self.classes.push(set);
            next_id
        })
    }

    fn child(&mut self, parent: u32, label: Label) -> u32 {
        let children = &self.nodes[parent as usize].children;
        if let Some(&(_, child)) = children.iter().find(|(known, _)| *known == label) {
            return child;
        }
        let child = self.nodes.len() as u32;
        self.nodes.push(DraftNode::default());
        self.nodes[parent as usize].children.push((label, child));
        child
    }

    fn freeze(mut self, extensions: &[Extension]) -> ContextIndex {
        if self.nodes.is_empty() {
            self.nodes.push(DraftNode::default());
        }
        let (left_mins, subtree_mins) = self.minimum_ranks();
        let reaches = self.reaches();
        let (ends_at, wildcards_at) = self.distances();
        // Byte children by byte (a search finds a byte's child among them),
        // class children by bound (a search takes them in that order).
        for draft in &mut self.nodes {
            draft.children.sort_unstable_by_key(|&(label, child)| match label {
                Label::Byte(byte) => (0, u32::from(byte)),
                Label::Class(_) => (1, subtree_mins[child as usize]),
                Label::Skip => (2, 0),
            });
        }
        // Record heads in layout order: the root first, then depth-first,
        // each record's children's records placed together as soon as the
        // record itself is visited. `tails[head]`: the node ending its chain.
        let mut order = vec![ROOT];
        let mut tails = vec![NONE; self.nodes.len()];
        let mut pending = vec![ROOT];
        while let Some(head) = pending.pop() {
            let tail = self.chain_end(head);
            tails[head as usize] = tail;
            let children = &self.nodes[tail as usize].children;
            order.extend(children.iter().map(|&(_, child)| child));
            pending.extend(children.iter().rev().map(|&(_, child)| child));
        }
        let mut position = vec![NONE; self.nodes.len()];
        let mut size = 0usize;
        for &head in &order {
            position[head as usize] = u32::try_from(size).ok().filter(|&at| at < 1 << 30).expect("an index under 4 GB");
            size += self.record_words(head, tails[head as usize], extensions);
        }
        let mut words = Vec::with_capacity(size);
        for &head in &order {
            let tail = tails[head as usize];
            let node = &self.nodes[tail as usize];
            let chain = self.chain_labels(head, tail);
            let count = |label_is: fn(&Label) -> bool| node.children.iter().filter(|(label, _)| label_is(label)).count();
            let byte_children = count(|label| matches!(label, Label::Byte(_)));
            let class_children = count(|label| matches!(label, Label::Class(_)));
            let has_skip = node.children.iter().any(|(label, _)| *label == Label::Skip);
            let has_ranks = !(node.finished.is_empty() && node.dot.is_empty() && node.bang.is_empty());
            let head = head as usize;
            words.push(saturate_distances(ends_at[head]));
            words.push(
                u32::from(saturate(reaches[head]))
                    | u32::from(saturate(wildcards_at[head])) << 8
                    | u32::from(digit_children(&node.children)) << 16,
            );
            let block = self.ranks_and_names_words(node, extensions).min(BLOCK_UNKNOWN);
            words.push(
                byte_children as u32
                    | (chain.len() as u32) << 8
                    | if has_skip { HAS_SKIP } else { 0 }
                    | if has_ranks { HAS_RANKS } else { 0 }
                    | (block as u32) << BLOCK_SHIFT,
            );
            words.push(u32::try_from(class_children).expect("fewer than 4 billion classes"));
            words.push(left_mins[tail as usize]);
            if has_ranks {
                let counts = [&node.finished, &node.dot, &node.bang].map(Vec::len);
                if counts.iter().all(|&count| count <= COUNT_MAX) {
                    words.push((counts[0] | counts[1] << 10 | counts[2] << 20) as u32);
                } else {
                    words.push(WIDE_COUNTS);
                    words.extend(counts.map(|count| count as u32));
                }
                words.extend(node.finished.iter().chain(&node.dot).chain(&node.bang));
                let names = inline_names(node, extensions);
                words.push(names.iter().enumerate().fold(0, |lengths, (list, name)| {
                    let length = name.map_or(NOT_INLINE, |name| name.len() as u32);
                    lengths | length << (8 * list)
                }));
                let bytes: Vec<u8> = names.iter().flatten().flat_map(|name| name.bytes()).collect();
                words.extend(pack_bytes(&bytes));
            }
            words.extend(chain.chunks(2).map(|two| two[0] | two.get(1).map_or(0, |label| label << 16)));
            let bytes: Vec<u8> = node
                .children
                .iter()
                .filter_map(|&(label, _)| match label {
                    Label::Byte(byte) => Some(byte),
                    _ => None,
                })
                .collect();
            words.extend(pack_bytes(&bytes));
            words.extend(node.children.iter().filter_map(|&(label, _)| match label {
                Label::Class(class) => Some(class),
                _ => None,
            }));
            for &(_, child) in &node.children {
                words.extend([subtree_mins[child as usize], position[child as usize]]);
            }
        }
        debug_assert_eq!(words.len(), size);
        assert!(size < 1 << 30, "an index under 4 GB");
        ContextIndex {
            words,
            root_bound: subtree_mins[ROOT as usize],
            classes: std::mem::take(&mut self.classes),
        }
    }

    /// A chain node: one child, not through an empty set (nor through a
    /// class beyond a 16-bit label), and no name ends or reaches a wildcard there.
    fn is_chain_link(&self, id: u32) -> bool {
        let node = &self.nodes[id as usize];
        node.children.len() == 1
            && match node.children[0].0 {
                Label::Byte(_) => true,
                Label::Class(class) => class <= CHAIN_LABEL_MAX - CLASS_LABEL,
                Label::Skip => false,
            }
            && node.finished.is_empty()
            && node.dot.is_empty()
            && node.bang.is_empty()
    }

    /// The node ending the chain that starts at `head`.
    fn chain_end(&self, head: u32) -> u32 {
        let mut node = head;
        for _ in 0..CHAIN_MAX {
            if !self.is_chain_link(node) {
                break;
            }
            node = self.nodes[node as usize].children[0].1;
        }
        node
    }

    /// The labels from `head` down to `tail`, as a record stores them.
    fn chain_labels(&self, head: u32, tail: u32) -> Vec<u32> {
        let mut labels = Vec::new();
        let mut node = head;
        while node != tail {
            let (label, child) = self.nodes[node as usize].children[0];
            labels.push(match label {
                Label::Byte(byte) => u32::from(byte),
                Label::Class(class) => CLASS_LABEL + class,
                Label::Skip => unreachable!("a chain never crosses an empty set"),
            });
            node = child;
        }
        labels
    }

    /// Words of the record from `head` to `tail` (see [`Record`]).
    fn record_words(&self, head: u32, tail: u32, extensions: &[Extension]) -> usize {
        let node = &self.nodes[tail as usize];
        let bytes = node.children.iter().filter(|(label, _)| matches!(label, Label::Byte(_))).count();
        let classes = node.children.iter().filter(|(label, _)| matches!(label, Label::Class(_))).count();
        HEADER
            + self.ranks_and_names_words(node, extensions)
            + self.chain_labels(head, tail).len().div_ceil(2)
            + bytes.div_ceil(4)
            + classes
            + 2 * node.children.len()
    }

    /// Words of a record's ranks and names (none without ranks).
    fn ranks_and_names_words(&self, node: &DraftNode, extensions: &[Extension]) -> usize {
        let counts = [&node.finished, &node.dot, &node.bang].map(Vec::len);
        let ranks = counts.iter().sum::<usize>();
        if ranks == 0 {
            return 0;
        }
        let counts = if counts.iter().all(|&count| count <= COUNT_MAX) { 1 } else { 4 };
        let names = inline_names(node, extensions).iter().flatten().map(|name| name.len()).sum::<usize>();
        counts + ranks + 1 + names.div_ceil(4)
    }

    /// `left_min` and `subtree_min` of every node. Children are always
    /// created after their parent, so a reverse scan sees every subtree
    /// before its root.
    fn minimum_ranks(&self) -> (Vec<u32>, Vec<u32>) {
        let mut subtree_min = vec![NONE; self.nodes.len()];
        let mut left_min = vec![NONE; self.nodes.len()];
        for (id, node) in self.nodes.iter().enumerate().rev() {
            let below = node
                .children
                .iter()
                .map(|&(_, child)| subtree_min[child as usize])
                .chain(node.dot.first().copied())
                .min()
                .unwrap_or(NONE);
            left_min[id] = below;
            let here = [node.finished.first(), node.bang.first()]
                .into_iter()
                .flatten()
                .copied();
            subtree_min[id] = here.fold(below, u32::min);
        }
        (left_min, subtree_min)
    }

    /// `ends_at` and `wildcard_at` of every node (reverse scan). An empty set
    /// is crossed only while a character waits, so a name ending right after
    /// it does not end at distance 0 from the node before it.
    fn distances(&self) -> (Vec<u64>, Vec<u32>) {
        const SATURATED: u64 = 1 << 63;
        let mut ends_at = vec![0u64; self.nodes.len()];
        let mut wildcard_at = vec![NONE; self.nodes.len()];
        for (id, node) in self.nodes.iter().enumerate().rev() {
            let mut ends = u64::from(!node.finished.is_empty() || !node.bang.is_empty());
            let mut wildcard = if node.dot.is_empty() && node.bang.is_empty() {
                NONE
            } else {
                0
            };
            for &(label, child) in &node.children {
                let (child_ends, child_wildcard) =
                    (ends_at[child as usize], wildcard_at[child as usize]);
                if label == Label::Skip {
                    ends |= child_ends & !1;
                    wildcard = wildcard.min(child_wildcard);
                } else {
                    ends |= (child_ends << 1) | (child_ends & SATURATED);
                    wildcard = wildcard.min(child_wildcard.saturating_add(1));
                }
            }
            ends_at[id] = ends;
            wildcard_at[id] = wildcard;
        }
        (ends_at, wildcard_at)
    }

    /// `reach` of every node (reverse scan, as in [`Self::minimum_ranks`]).
    fn reaches(&self) -> Vec<u32> {
        let mut reach = vec![0; self.nodes.len()];
        for (id, node) in self.nodes.iter().enumerate().rev() {
            reach[id] = if !node.dot.is_empty() || !node.bang.is_empty() {
                NONE
            } else {
                node.children
                    .iter()
                    .map(|&(_, child)| reach[child as usize].saturating_add(1))
                    .max()
                    .unwrap_or(0)
            };
        }
        reach
    }
}
