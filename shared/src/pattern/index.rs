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
    /// Every node, the root first. The children of a node sit contiguously
    /// (byte children sorted by byte, then class children, then the skip
    /// child), and a node carries its own pruning summary and first ranks:
    /// a first-match search reads one half cache line per node, the one the
    /// parent's label comparison has already brought in.
    nodes: Vec<Node>,
    /// Per node (same index): the label of the edge into it and the node's
    /// `subtree_min`, apart so that choosing among siblings and queueing them
    /// reads a few 8-byte keys, not every sibling's node.
    keys: Vec<Key>,
    /// Per node (same index): where its rank lists are, for full walks.
    lists: Vec<RankLists>,
    /// Ranks ending at a node, then reaching a `.`, then a `!`; each group sorted.
    ranks: Vec<u32>,
    classes: Vec<ByteSet>,
}

/// One node: 32 bytes, aligned so that two share a cache line and none
/// straddles two. The pruning summary is kept small by saturating it:
/// `can_yield` may answer yes for a subtree that cannot yield (the search
/// then looks and finds nothing), never no for one that can.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Node {
    /// Bit `d` set: a name ends (or reaches a `!`) exactly `d` dialled
    /// characters below; bit 31 stands for "31 or more".
    ends_at: u32,
    /// Position of the first child (0 when there is none).
    first_child: u32,
    /// Byte children (bits 0–7: a name holds no NUL, so at most 255),
    /// class children (bits 8–30), and bit 31 set when the last child is
    /// a skip child (through an empty set / blank).
    children: u32,
    /// Smallest rank whose name continues past this node with anything but
    /// a `!` (a `.`, or any edge): YES in canmatch/matchmore at the end.
    left_min: u32,
    /// Smallest rank ending here, reaching a `.` here, a `!` here (or `NONE`).
    finished_min: u32,
    dot_min: u32,
    bang_min: u32,
    /// Most elements (edges) any path below can still take; `SATURATED`
    /// for 255 or more, or when a `.`/`!` lies below (any length).
    reach: u8,
    /// Fewest dialled characters to a `.` or `!` below; `SATURATED` for 255
    /// or more, or none.
    wildcard_at: u8,
    /// Bits 0–9: which of the digits `0`–`9` have a byte child; bits
    /// 10–15: how many byte children sort before `0` (`DIGITS_UNKNOWN`:
    /// too many to count). A dialled digit finds its byte child from these
    /// alone, without searching the children's labels.
    digits: u16,
}

const _: () = assert!(std::mem::size_of::<Node>() == 32);

/// "This many or more" in a node's one-byte summaries.
const SATURATED: u8 = u8::MAX;
const CLASS_CHILDREN_MAX: usize = (1 << 23) - 1;
const HAS_SKIP_CHILD: u32 = 1 << 31;
/// Bits 10–15 of `Node::digits` all set: the byte children are searched.
const DIGITS_UNKNOWN: u16 = 0x3f;

#[derive(Debug, Clone, Copy)]
struct Key {
    /// The byte of a byte edge, the index in `classes` of a class edge,
    /// `NONE` for a skip edge (an empty set / blank) and for the root.
    label: u32,
    /// Smallest rank of every name whose path goes through this node.
    subtree_min: u32,
}

#[derive(Debug, Clone, Copy)]
struct RankLists {
    first_rank: u32,
    finished: u32,
    dot: u32,
    bang: u32,
}

impl Node {
    /// Whether the subtree can offer any candidate in `mode` when `remaining`
    /// dialled characters are left: data left over is NO, and matchmore needs
    /// more pattern than data; match mode needs a name ending exactly at the
    /// end of the dialled string, or a wildcard before it.
    fn can_yield(&self, mode: Mode, remaining: usize) -> bool {
        let remaining = u32::try_from(remaining).unwrap_or(u32::MAX);
        let (reach, wildcard_at) = (u32::from(self.reach), u32::from(self.wildcard_at));
        match mode {
            Mode::Match => {
                // A saturated distance (255 or more, or none) compares as
                // 255: "below `remaining`" when more than 255 characters
                // remain, a yes that may be wrong and is then only a look.
                wildcard_at < remaining || self.ends_at & (1 << remaining.min(31)) != 0
            }
            Mode::CanMatch => self.reach == SATURATED || reach >= remaining,
            Mode::MatchMore => self.reach == SATURATED || reach > remaining,
        }
    }

    fn byte_children(&self) -> usize {
        (self.children & 0xff) as usize
    }

    /// The position among the byte children of the one labelled `digit`
    /// (`Err(())`: not a digit, or too many byte children before `0`).
    fn digit_child(&self, digit: u8) -> Result<Option<usize>, ()> {
        let before = self.digits >> 10;
        if !digit.is_ascii_digit() || before == DIGITS_UNKNOWN {
            return Err(());
        }
        let bit = 1 << (digit - b'0');
        Ok((self.digits & bit != 0)
            .then(|| usize::from(before) + (self.digits & (bit - 1)).count_ones() as usize))
    }

    fn class_children(&self) -> usize {
        ((self.children & !HAS_SKIP_CHILD) >> 8) as usize
    }

    /// The child through an empty set / blank, or `NONE`.
    fn skip_child(&self) -> u32 {
        if self.children & HAS_SKIP_CHILD == 0 {
            return NONE;
        }
        self.first_child + (self.byte_children() + self.class_children()) as u32
    }
}

/// A frontier entry of [`ContextIndex::first_match`]: `(subtree_min, depth,
/// node)` packed into one integer, so that the heap compares entries in one
/// instruction pair instead of a three-field tuple comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry(u128);

impl Entry {
    fn new(bound: u32, depth: usize, node: u32) -> Entry {
        let depth = u64::try_from(depth).expect("a dialled string shorter than 2^64");
        Entry((u128::from(bound) << 96) | (u128::from(depth) << 32) | u128::from(node))
    }

    fn bound(self) -> u32 {
        (self.0 >> 96) as u32
    }

    fn depth(self) -> usize {
        ((self.0 >> 32) as u64) as usize
    }

    fn node(self) -> u32 {
        self.0 as u32
    }
}

/// What the full walk of [`ContextIndex::all_matches`] finds at one active node.
enum Reached<'a> {
    /// Dialled characters remain at this node.
    Wildcards { dot: &'a [u32], bang: &'a [u32] },
    /// The dialled string ran out at this node.
    End {
        finished: &'a [u32],
        bang: &'a [u32],
    },
}

impl ContextIndex {
    /// `extensions` must be in sorted order: a rank is an index in it.
    pub(crate) fn build(extensions: &[Extension]) -> ContextIndex {
        let mut draft = Draft::default();
        for (rank, extension) in extensions.iter().enumerate() {
            let rank = u32::try_from(rank).expect("fewer than 4 billion extensions");
            draft.insert(extension, rank);
        }
        draft.freeze()
    }

    /// The smallest rank that does not answer NO, with its answer: what a
    /// scan of the sorted list stops at. `dialled` must be dash-free.
    ///
    /// Best-first: the frontier is a min-heap of [`Entry`] `(subtree_min,
    /// depth, node)` plus its smallest entry kept apart; a node's candidates
    /// are all ranks of its subtree, so once the smallest bound is not below
    /// the best rank found, nothing left can win. A node is queued on its
    /// bound alone; whether it can yield is checked when it is taken out.
    pub(crate) fn first_match(&self, dialled: &[u8], mode: Mode) -> Option<(u32, MatchResult)> {
        let mut best = Best(None);
        let can_yield = |node: &Node, depth: usize| node.can_yield(mode, dialled.len() - depth);
        // The smallest entry of the frontier is kept apart in `next`: a node's
        // best child is usually explored right after it (the `XXXXXXX` tail of
        // a route), and needs no trip through the heap.
        let mut frontier = Frontier::new();
        let mut next = Some(Entry::new(self.keys[ROOT as usize].subtree_min, 0, ROOT));
        loop {
            let smallest = match next.take() {
                Some(entry) => frontier.exchange_if_smaller(entry),
                None => match frontier.pop() {
                    Some(top) => top,
                    None => break,
                },
            };
            let (bound, depth, id) = (smallest.bound(), smallest.depth(), smallest.node());
            if !best.can_be_beaten_by(bound) {
                break;
            }
            // Whether a subtree can yield is only checked here: the node is
            // read once, when (and if) its bound is the smallest.
            let node = &self.nodes[id as usize];
            if !can_yield(node, depth) {
                continue;
            }
            let Some(&byte) = dialled.get(depth) else {
                // The dialled string ran out here. No skip closure: an empty
                // set left at the end is "more pattern".
                if mode != Mode::MatchMore {
                    best.offer(node.finished_min, MatchResult::Yes);
                }
                best.offer(node.bang_min, MatchResult::YesBang);
                if mode != Mode::Match {
                    best.offer(node.left_min, MatchResult::Yes);
                }
                continue;
            };
            best.offer(node.dot_min, MatchResult::Yes);
            best.offer(node.bang_min, MatchResult::YesBang);
            let mut enqueue = |child: u32, depth: usize| {
                let bound = self.keys[child as usize].subtree_min;
                if !best.can_be_beaten_by(bound) {
                    return;
                }
                let entry = Entry::new(bound, depth, child);
                match next {
                    Some(kept) if kept <= entry => frontier.push(entry),
                    Some(kept) => {
                        frontier.push(kept);
                        next = Some(entry);
                    }
                    None => next = Some(entry),
                }
            };
            let skip_child = node.skip_child();
            if skip_child != NONE {
                // Empty sets vanish while a character waits.
                enqueue(skip_child, depth);
            }
            self.for_each_child(node, byte, |child| enqueue(child, depth + 1));
        }
        best.0
    }

    /// Every rank matching in match mode, sorted. `dialled` must be dash-free.
    pub(crate) fn all_matches(&self, dialled: &[u8]) -> Vec<u32> {
        let mut found = Vec::new();
        self.walk(dialled, |reached| match reached {
            Reached::Wildcards { dot, bang } => found.extend(dot.iter().chain(bang)),
            Reached::End { finished, bang } => found.extend(finished.iter().chain(bang)),
        });
        // Each name has one path, reached at one depth: no duplicates to drop.
        found.sort_unstable();
        found
    }

    fn walk<'a>(&'a self, dialled: &[u8], mut sink: impl FnMut(Reached<'a>)) {
        let mut active = vec![ROOT];
        let mut next = Vec::new();
        for &byte in dialled {
            self.add_skip_children(&mut active);
            for &id in &active {
                sink(Reached::Wildcards {
                    dot: self.dot_ranks(id),
                    bang: self.bang_ranks(id),
                });
                self.for_each_child(&self.nodes[id as usize], byte, |child| next.push(child));
            }
            std::mem::swap(&mut active, &mut next);
            next.clear();
            if active.is_empty() {
                return;
            }
        }
        // No skip closure here: an empty set left at the end is "more pattern".
        for &id in &active {
            sink(Reached::End {
                finished: self.finished_ranks(id),
                bang: self.bang_ranks(id),
            });
        }
    }

    /// Empty sets vanish while a character waits: their children are active too.
    fn add_skip_children(&self, active: &mut Vec<u32>) {
        let mut at = 0;
        while at < active.len() {
            let skip_child = self.nodes[active[at] as usize].skip_child();
            if skip_child != NONE {
                active.push(skip_child);
            }
            at += 1;
        }
    }

    /// The children of `node` reached by `byte` (its byte child, then every
    /// class child containing it).
    fn for_each_child(&self, node: &Node, byte: u8, mut visit: impl FnMut(u32)) {
        let start = node.first_child as usize;
        let found = node.digit_child(byte).unwrap_or_else(|()| {
            let byte_keys = &self.keys[start..start + node.byte_children()];
            byte_keys.binary_search_by_key(&u32::from(byte), |key| key.label).ok()
        });
        if let Some(found) = found {
            visit((start + found) as u32);
        }
        let class_start = start + node.byte_children();
        let class_keys = &self.keys[class_start..class_start + node.class_children()];
        for (offset, key) in class_keys.iter().enumerate() {
            if self.classes[key.label as usize].contains(byte) {
                visit((class_start + offset) as u32);
            }
        }
    }

    fn finished_ranks(&self, id: u32) -> &[u32] {
        let lists = &self.lists[id as usize];
        let start = lists.first_rank as usize;
        &self.ranks[start..start + lists.finished as usize]
    }

    fn dot_ranks(&self, id: u32) -> &[u32] {
        let lists = &self.lists[id as usize];
        let start = (lists.first_rank + lists.finished) as usize;
        &self.ranks[start..start + lists.dot as usize]
    }

    fn bang_ranks(&self, id: u32) -> &[u32] {
        let lists = &self.lists[id as usize];
        let start = (lists.first_rank + lists.finished + lists.dot) as usize;
        &self.ranks[start..start + lists.bang as usize]
    }
}

/// Room the frontier of a first-match search starts with: lookups in a
/// 100,000-extension route table queue about a dozen entries, and growing
/// the heap step by step (realloc and copy, three times) cost a third of
/// such a lookup's instructions.
const FRONTIER_CAPACITY: usize = 32;

/// The min-heap of a first-match search.
struct Frontier(BinaryHeap<Reverse<Entry>>);

impl Frontier {
    fn new() -> Self {
        Frontier(BinaryHeap::new())
    }

    fn push(&mut self, entry: Entry) {
        // Allocated on first use only: many lookups never queue anything.
        if self.0.capacity() == 0 {
            self.0.reserve(FRONTIER_CAPACITY);
        }
        self.0.push(Reverse(entry));
    }

    fn pop(&mut self) -> Option<Entry> {
        self.0.pop().map(|Reverse(entry)| entry)
    }

    /// `entry`, or the smallest queued entry if that one is smaller (which
    /// `entry` then replaces in the heap).
    fn exchange_if_smaller(&mut self, entry: Entry) -> Entry {
        match self.0.peek_mut() {
            Some(mut top) if top.0 < entry => std::mem::replace(&mut *top, Reverse(entry)).0,
            _ => entry,
        }
    }
}

/// The smallest-rank candidate found so far by a first-match search.
struct Best(Option<(u32, MatchResult)>);

impl Best {
    /// `rank` may be `NONE` (nothing to offer): it never beats anything.
    fn offer(&mut self, rank: u32, result: MatchResult) {
        if rank != NONE && self.can_be_beaten_by(rank) {
            self.0 = Some((rank, result));
        }
    }

    fn can_be_beaten_by(&self, rank: u32) -> bool {
        self.0.is_none_or(|(known, _)| rank < known)
    }
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

    fn freeze(mut self) -> ContextIndex {
        if self.nodes.is_empty() {
            self.nodes.push(DraftNode::default());
        }
        let (left_mins, subtree_mins) = self.minimum_ranks();
        let reaches = self.reaches();
        let (ends_at, wildcards_at) = self.distances();
        for draft in &mut self.nodes {
            draft.children.sort_unstable_by_key(|&(label, _)| label);
        }
        // New positions: the root first, then depth-first, each node's
        // children placed together as soon as the node itself is visited.
        // A chain of single-child nodes (the `XXXXXXX` tail of a route) thus
        // sits contiguously in memory.
        let mut order = Vec::with_capacity(self.nodes.len());
        let mut new_id = vec![NONE; self.nodes.len()];
        let mut labels = vec![NONE; self.nodes.len()];
        order.push(ROOT);
        new_id[ROOT as usize] = 0;
        let mut pending = vec![ROOT];
        while let Some(id) = pending.pop() {
            for &(label, child) in &self.nodes[id as usize].children {
                new_id[child as usize] = order.len() as u32;
                labels[child as usize] = match label {
                    Label::Byte(byte) => byte.into(),
                    Label::Class(class) => class,
                    Label::Skip => NONE,
                };
                order.push(child);
            }
            let children = &self.nodes[id as usize].children;
            pending.extend(children.iter().rev().map(|&(_, child)| child));
        }
        let mut index = ContextIndex {
            nodes: Vec::with_capacity(order.len()),
            keys: Vec::with_capacity(order.len()),
            lists: Vec::with_capacity(order.len()),
            ranks: Vec::new(),
            classes: std::mem::take(&mut self.classes),
        };
        for &old in &order {
            let draft = &self.nodes[old as usize];
            let old = old as usize;
            let count = |label_is: fn(&Label) -> bool| {
                draft
                    .children
                    .iter()
                    .filter(|(label, _)| label_is(label))
                    .count() as u32
            };
            let first = |ranks: &[u32]| ranks.first().copied().unwrap_or(NONE);
            index.keys.push(Key {
                label: labels[old],
                subtree_min: subtree_mins[old],
            });
            let (byte_children, class_children) = (
                count(|label| matches!(label, Label::Byte(_))),
                count(|label| matches!(label, Label::Class(_))),
            );
            assert!(
                class_children as usize <= CLASS_CHILDREN_MAX,
                "more than {CLASS_CHILDREN_MAX} distinct character sets at one position"
            );
            let has_skip = draft.children.iter().any(|(label, _)| *label == Label::Skip);
            index.nodes.push(Node {
                ends_at: saturate_distances(ends_at[old]),
                first_child: draft
                    .children
                    .first()
                    .map_or(0, |&(_, child)| new_id[child as usize]),
                children: byte_children
                    | (class_children << 8)
                    | if has_skip { HAS_SKIP_CHILD } else { 0 },
                left_min: left_mins[old],
                finished_min: first(&draft.finished),
                dot_min: first(&draft.dot),
                bang_min: first(&draft.bang),
                reach: saturate(reaches[old]),
                wildcard_at: saturate(wildcards_at[old]),
                digits: digit_children(&draft.children),
            });
            index.lists.push(RankLists {
                first_rank: index.ranks.len() as u32,
                finished: draft.finished.len() as u32,
                dot: draft.dot.len() as u32,
                bang: draft.bang.len() as u32,
            });
            index
                .ranks
                .extend(draft.finished.iter().chain(&draft.dot).chain(&draft.bang));
        }
        index
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
