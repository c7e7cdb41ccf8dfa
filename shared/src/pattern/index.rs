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
    nodes: Vec<Node>,
    /// Per node: its byte edges (sorted by byte, `label` = the byte), then its
    /// class edges (`label` = index in `classes`).
    edges: Vec<Edge>,
    /// Per node: ranks ending there, then ranks reaching a `.`, then a `!`;
    /// each group sorted.
    ranks: Vec<u32>,
    classes: Vec<ByteSet>,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    first_edge: u32,
    byte_edges: u32,
    class_edges: u32,
    /// Child through an empty set / blank, or `NONE`.
    skip_child: u32,
    first_rank: u32,
    finished: u32,
    dot: u32,
    bang: u32,
    /// Smallest rank whose name continues past this node with anything but
    /// a `!` (a `.`, or any edge): YES in canmatch/matchmore at the end.
    left_min: u32,
    /// Smallest rank of every name whose path goes through this node.
    subtree_min: u32,
    /// Most elements (edges) any path below can still take, or `NONE` when a
    /// `.`/`!` lies below (a wildcard can absorb any length).
    reach: u32,
    /// Bit `d` set: a name ends (or reaches a `!`) exactly `d` dialled
    /// characters below; bit 63 stands for "63 or more".
    ends_at: u64,
    /// Fewest dialled characters to a `.` or `!` below, or `NONE`.
    wildcard_at: u32,
}

impl Node {
    /// Whether the subtree can offer any candidate in `mode` when `remaining`
    /// dialled characters are left: data left over is NO, and matchmore needs
    /// more pattern than data; match mode needs a name ending exactly at the
    /// end of the dialled string, or a wildcard before it.
    fn can_yield(&self, mode: Mode, remaining: usize) -> bool {
        let remaining = u32::try_from(remaining).unwrap_or(u32::MAX);
        match mode {
            Mode::Match => {
                self.wildcard_at < remaining || self.ends_at & (1 << remaining.min(63)) != 0
            }
            Mode::CanMatch => self.reach == NONE || self.reach >= remaining,
            Mode::MatchMore => self.reach == NONE || self.reach > remaining,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Edge {
    label: u32,
    child: u32,
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
    /// Best-first: the frontier is a min-heap of `(subtree_min, depth, node)`;
    /// a node's candidates are all ranks of its subtree, so once the smallest
    /// bound on the heap is not below the best rank found, nothing left can win.
    pub(crate) fn first_match(&self, dialled: &[u8], mode: Mode) -> Option<(u32, MatchResult)> {
        let mut best = Best(None);
        let can_yield = |node: &Node, depth: usize| node.can_yield(mode, dialled.len() - depth);
        let mut frontier = BinaryHeap::new();
        let root = &self.nodes[ROOT as usize];
        if can_yield(root, 0) {
            frontier.push(Reverse((root.subtree_min, 0, ROOT)));
        }
        let mut children = Vec::new();
        while let Some(Reverse((bound, depth, id))) = frontier.pop() {
            if !best.can_be_beaten_by(bound) {
                break;
            }
            let node = &self.nodes[id as usize];
            let Some(&byte) = dialled.get(depth) else {
                // The dialled string ran out here. No skip closure: an empty
                // set left at the end is "more pattern".
                if mode != Mode::MatchMore {
                    best.offer(self.finished_ranks(node).first(), MatchResult::Yes);
                }
                best.offer(self.bang_ranks(node).first(), MatchResult::YesBang);
                if mode != Mode::Match && node.left_min != NONE {
                    best.offer(Some(&node.left_min), MatchResult::Yes);
                }
                continue;
            };
            best.offer(self.dot_ranks(node).first(), MatchResult::Yes);
            best.offer(self.bang_ranks(node).first(), MatchResult::YesBang);
            let mut enqueue = |child: u32, depth: usize| {
                let node = &self.nodes[child as usize];
                if can_yield(node, depth) {
                    frontier.push(Reverse((node.subtree_min, depth, child)));
                }
            };
            if node.skip_child != NONE {
                // Empty sets vanish while a character waits.
                enqueue(node.skip_child, depth);
            }
            children.clear();
            self.push_children(node, byte, &mut children);
            for &child in &children {
                enqueue(child, depth + 1);
            }
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
                let node = &self.nodes[id as usize];
                sink(Reached::Wildcards {
                    dot: self.dot_ranks(node),
                    bang: self.bang_ranks(node),
                });
                self.push_children(node, byte, &mut next);
            }
            std::mem::swap(&mut active, &mut next);
            next.clear();
            if active.is_empty() {
                return;
            }
        }
        // No skip closure here: an empty set left at the end is "more pattern".
        for &id in &active {
            let node = &self.nodes[id as usize];
            sink(Reached::End {
                finished: self.finished_ranks(node),
                bang: self.bang_ranks(node),
            });
        }
    }

    /// Empty sets vanish while a character waits: their children are active too.
    fn add_skip_children(&self, active: &mut Vec<u32>) {
        let mut at = 0;
        while at < active.len() {
            let skip_child = self.nodes[active[at] as usize].skip_child;
            if skip_child != NONE {
                active.push(skip_child);
            }
            at += 1;
        }
    }

    fn push_children(&self, node: &Node, byte: u8, next: &mut Vec<u32>) {
        let start = node.first_edge as usize;
        let byte_edges = &self.edges[start..start + node.byte_edges as usize];
        if let Ok(found) = byte_edges.binary_search_by_key(&u32::from(byte), |edge| edge.label) {
            next.push(byte_edges[found].child);
        }
        let class_start = start + node.byte_edges as usize;
        let class_edges = &self.edges[class_start..class_start + node.class_edges as usize];
        for edge in class_edges {
            if self.classes[edge.label as usize].contains(byte) {
                next.push(edge.child);
            }
        }
    }

    fn finished_ranks(&self, node: &Node) -> &[u32] {
        let start = node.first_rank as usize;
        &self.ranks[start..start + node.finished as usize]
    }

    fn dot_ranks(&self, node: &Node) -> &[u32] {
        let start = (node.first_rank + node.finished) as usize;
        &self.ranks[start..start + node.dot as usize]
    }

    fn bang_ranks(&self, node: &Node) -> &[u32] {
        let start = (node.first_rank + node.finished + node.dot) as usize;
        &self.ranks[start..start + node.bang as usize]
    }
}

/// The smallest-rank candidate found so far by a first-match search.
struct Best(Option<(u32, MatchResult)>);

impl Best {
    fn offer(&mut self, rank: Option<&u32>, result: MatchResult) {
        if let Some(&rank) = rank
            && self.can_be_beaten_by(rank)
        {
            self.0 = Some((rank, result));
        }
    }

    fn can_be_beaten_by(&self, rank: u32) -> bool {
        self.0.is_none_or(|(known, _)| rank < known)
    }
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
        let mut index = ContextIndex {
            nodes: Vec::with_capacity(self.nodes.len()),
            edges: Vec::new(),
            ranks: Vec::new(),
            classes: std::mem::take(&mut self.classes),
        };
        for draft in &mut self.nodes {
            draft.children.sort_unstable_by_key(|&(label, _)| label);
        }
        // Depth-first preorder: a chain of single-child nodes (the `XXXXXXX`
        // tail of a route) sits contiguously in memory, so walking it reads
        // consecutive cache lines instead of scattered ones.
        let order = self.preorder();
        let mut new_id = vec![0; self.nodes.len()];
        for (position, &old) in order.iter().enumerate() {
            new_id[old as usize] = position as u32;
        }
        for &old in &order {
            let draft = &self.nodes[old as usize];
            let old = old as usize;
            let (left_min, subtree_min, reach) = (left_mins[old], subtree_mins[old], reaches[old]);
            let mut node = Node {
                first_edge: index.edges.len() as u32,
                byte_edges: 0,
                class_edges: 0,
                skip_child: NONE,
                first_rank: index.ranks.len() as u32,
                finished: draft.finished.len() as u32,
                dot: draft.dot.len() as u32,
                bang: draft.bang.len() as u32,
                left_min,
                subtree_min,
                reach,
                ends_at: ends_at[old],
                wildcard_at: wildcards_at[old],
            };
            for &(label, child) in &draft.children {
                let child = new_id[child as usize];
                match label {
                    Label::Byte(byte) => {
                        node.byte_edges += 1;
                        index.edges.push(Edge {
                            label: byte.into(),
                            child,
                        });
                    }
                    Label::Class(id) => {
                        node.class_edges += 1;
                        index.edges.push(Edge { label: id, child });
                    }
                    Label::Skip => node.skip_child = child,
                }
            }
            index
                .ranks
                .extend(draft.finished.iter().chain(&draft.dot).chain(&draft.bang));
            index.nodes.push(node);
        }
        index
    }

    /// Node ids in depth-first preorder, children in label order.
    fn preorder(&self) -> Vec<u32> {
        let mut order = Vec::with_capacity(self.nodes.len());
        let mut pending = vec![ROOT];
        while let Some(id) = pending.pop() {
            order.push(id);
            let children = &self.nodes[id as usize].children;
            pending.extend(children.iter().rev().map(|&(_, child)| child));
        }
        order
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
