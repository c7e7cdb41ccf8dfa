//! Seeded random dialplans and dialled strings, shared by the property tests
//! and the benchmark. Deterministic: the same seed gives the same material.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use patchbay_shared::pattern::{Dialplan, DialplanBuilder};

/// SplitMix64: tiny, fast, and good enough to explore a matcher.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn percent(&mut self, chance: usize) -> bool {
        self.below(100) < chance
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Characters that mean something somewhere (specials, letters that are or
/// are not classes, a multi-byte character, separators) plus digits.
const NAME_CHARS: &[&str] = &[
    "0", "1", "2", "3", "5", "7", "9", "X", "N", "Z", "x", "n", "z", ".", "!", "-", " ", "*", "#",
    "+", "a", "s", "B", "_", "]", "é",
];
const SET_CHARS: &[&str] = &[
    "0", "1", "2", "4", "5", "8", "9", "-", "a", "c", "X", " ", "\\", ".", "!", "*", "[", "é",
];

/// A set such as `[1-5]`, `[]`, `[5-1]`, `[-5]`, `[a\b]`.
fn random_set(rng: &mut Rng) -> String {
    let length = rng.below(5);
    let body: String = (0..length).map(|_| *rng.pick(SET_CHARS)).collect();
    format!("[{body}]")
}

/// A name as someone could write it after `exten =>`; mostly well-formed,
/// sometimes not (unclosed `[`, `/`, `,`), to exercise the errors too.
pub fn random_name(rng: &mut Rng) -> String {
    let mut name = String::new();
    if rng.percent(65) {
        name.push('_');
    }
    let length = rng.below(7);
    for _ in 0..length {
        match rng.below(100) {
            0..=14 => name.push_str(&random_set(rng)),
            15 => name.push_str(rng.pick::<&str>(&["[12", "/1", ",", "[", "\0"])),
            _ => name.push_str(rng.pick::<&str>(NAME_CHARS)),
        }
    }
    name
}

/// A dialled string near `name`: what it matches, a prefix of that, an
/// extension, a mutation, the name itself (the `_` quirk), or noise.
pub fn dialled_near(rng: &mut Rng, name: &str) -> String {
    let matching = instance_of(rng, name);
    let mut dialled: Vec<char> = match rng.below(10) {
        0 => name.chars().collect(),
        1 => (0..rng.below(6))
            .flat_map(|_| rng.pick(NAME_CHARS).chars())
            .collect(),
        _ => matching.chars().collect(),
    };
    match rng.below(6) {
        0 if !dialled.is_empty() => {
            let keep = rng.below(dialled.len());
            dialled.truncate(keep);
        }
        1 => dialled.extend(rng.pick(NAME_CHARS).chars()),
        2 if !dialled.is_empty() => {
            let at = rng.below(dialled.len());
            dialled[at] = rng.pick(NAME_CHARS).chars().next().unwrap_or('0');
        }
        3 => {
            let at = rng.below(dialled.len() + 1);
            dialled.insert(at, '-');
        }
        _ => {}
    }
    dialled.into_iter().collect()
}

/// A string the name is meant to match (classes replaced by a member).
fn instance_of(rng: &mut Rng, name: &str) -> String {
    let Some(pattern) = name.strip_prefix('_') else {
        return name.to_owned();
    };
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            'X' | 'x' => out.push(char::from(b'0' + rng.below(10) as u8)),
            'N' | 'n' => out.push(char::from(b'2' + rng.below(8) as u8)),
            'Z' | 'z' => out.push(char::from(b'1' + rng.below(9) as u8)),
            '.' | '!' => {
                for _ in 0..rng.below(4) {
                    out.push_str(rng.pick::<&str>(&["1", "5", "*", "a", "#"]));
                }
            }
            '[' => {
                let body: Vec<char> = chars.by_ref().take_while(|&c| c != ']').collect();
                if let Some(&member) = body.get(rng.below(body.len().max(1))) {
                    out.push(member);
                }
            }
            ' ' => {}
            other => out.push(other),
        }
    }
    out
}

/// Names at the edges of what a name can be: empty patterns, dashes only,
/// a wildcard right after `_`, empty sets, and very long names.
pub fn degenerate_name(rng: &mut Rng) -> String {
    match rng.below(12) {
        0 => "_".to_owned(),
        1 => "_-".to_owned(),
        2 => "_---".to_owned(),
        3 => "_!".to_owned(),
        4 => "_!X".to_owned(),
        5 => "_.".to_owned(),
        6 => "_[]".to_owned(),
        7 => "_[]!".to_owned(),
        8 => "_-!".to_owned(),
        9 => "-".to_owned(),
        10 => format!("_{}", "X".repeat(MAX_CHANNEL_EXTENSION)),
        _ => "1".repeat(MAX_CHANNEL_EXTENSION + rng.below(3)),
    }
}

/// Characters a channel keeps of an extension (`AST_MAX_EXTENSION` - 1).
pub const MAX_CHANNEL_EXTENSION: usize = 79;

/// Dialled strings at the edges: empty, separators only, a NUL, the
/// longest a channel keeps and longer.
pub fn edge_dialled(rng: &mut Rng) -> String {
    match rng.below(9) {
        0 => String::new(),
        1 => "-".repeat(1 + rng.below(4)),
        2 => "\0".to_owned(),
        3 => "\u{0}123".to_owned(),
        4 => "1".repeat(MAX_CHANNEL_EXTENSION),
        5 => "1".repeat(MAX_CHANNEL_EXTENSION + 1 + rng.below(200)),
        6 => "-1".repeat(MAX_CHANNEL_EXTENSION),
        7 => "*".repeat(1 + rng.below(3)),
        _ => "s".to_owned(),
    }
}

/// One random group: contexts with extensions, includes (cycles, dangling
/// and case-variant names included) and ignore patterns, plus the names used.
pub struct RandomPlan {
    pub dialplan: Dialplan,
    pub contexts: Vec<String>,
    pub names: Vec<String>,
}

pub fn random_plan(rng: &mut Rng, extensions_per_context: usize) -> RandomPlan {
    let contexts: Vec<String> = (0..1 + rng.below(4)).map(|n| format!("c{n}")).collect();
    let mut builder = DialplanBuilder::new();
    let mut names = Vec::new();
    for context in &contexts {
        builder.add_context(context);
        for _ in 0..rng.below(extensions_per_context + 1) {
            let name = if rng.percent(5) {
                degenerate_name(rng)
            } else {
                random_name(rng)
            };
            // Malformed names are refused with an error; nothing else to check.
            if builder.add_extension(context, &name).is_ok() {
                names.push(name);
            }
        }
        for _ in 0..rng.below(3) {
            let included = match rng.below(4) {
                0 => "missing".to_owned(),
                1 => rng.pick(&contexts).to_uppercase(),
                _ => rng.pick(&contexts).clone(),
            };
            builder.add_include(context, &included);
        }
        if rng.percent(30) {
            let pattern = random_name(rng);
            let _refused_or_added = builder.add_ignorepat(context, &pattern);
        }
    }
    RandomPlan {
        dialplan: builder.build(),
        contexts,
        names,
    }
}
