//! The compiled index must answer exactly like Asterisk's linear scan over
//! the sorted list, on random dialplans (seeded, so failures reproduce).
//!
//! `PATCHBAY_FUZZ_ITERATIONS` (default 400) and `PATCHBAY_FUZZ_SEED` make the
//! same test a longer fuzz-style run on stable Rust, bounded by its
//! iteration count (CI runs it in `scripts/test.sh`):
//! `PATCHBAY_FUZZ_ITERATIONS=200000 cargo test --release --test index_vs_scan`;
//! `PATCHBAY_FUZZ_SECONDS=N` stops it after N seconds whatever the machine's
//! load (it prints how far it got).
//!
//! The material includes the edges: empty, dash-only, NUL-led and very long
//! dialled strings, and names such as `_`, `_-`, `_!`, `_!X`, `_[]!`.

mod support;

use std::cmp::Ordering;
use std::time::{Duration, Instant};

use patchbay_shared::pattern::{Extension, compare};
use support::{Rng, dialled_near, edge_dialled, random_name, random_plan};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Runs `iterations` random plans (fewer if `PATCHBAY_FUZZ_SECONDS` runs
/// out first: a time budget for CI, not an assertion); each query compares
/// every answer.
fn check_random_plans(seed: u64, iterations: u64, extensions_per_context: usize) {
    let mut rng = Rng::new(seed);
    let budget = std::env::var("PATCHBAY_FUZZ_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .map(|seconds| Instant::now() + Duration::from_secs(seconds));
    for iteration in 0..iterations {
        if budget.is_some_and(|end| Instant::now() >= end) {
            eprintln!("seed {seed}: time budget spent after {iteration} of {iterations} iterations");
            return;
        }
        let plan = random_plan(&mut rng, extensions_per_context);
        let (dialplan, reference) = (&plan.dialplan, plan.dialplan.linear_scan());
        for _ in 0..30 {
            let near = if plan.names.is_empty() {
                String::new()
            } else {
                rng.pick(&plan.names).clone()
            };
            let dialled = if rng.percent(10) {
                edge_dialled(&mut rng)
            } else {
                dialled_near(&mut rng, &near)
            };
            let context = rng.pick(&plan.contexts);
            let case = format!("seed {seed}, iteration {iteration}: {dialled:?} in {context}");
            let matches = dialplan.matches(context, &dialled);
            assert_eq!(
                matches,
                reference.matches(context, &dialled),
                "matches, {case}"
            );
            assert_eq!(
                dialplan.winner(context, &dialled).as_ref(),
                matches.first(),
                "winner, {case}"
            );
            assert_eq!(
                reference.winner(context, &dialled).as_ref(),
                matches.first(),
                "scan winner, {case}"
            );
            assert_eq!(
                dialplan.exists(context, &dialled),
                reference.exists(context, &dialled),
                "exists, {case}"
            );
            if dialled.is_empty() {
                assert!(matches.is_empty(), "no extension runs for \"\", {case}");
            }
            assert_eq!(
                dialplan.canmatch(context, &dialled),
                reference.canmatch(context, &dialled),
                "canmatch, {case}"
            );
            assert_eq!(
                dialplan.matchmore(context, &dialled),
                reference.matchmore(context, &dialled),
                "matchmore, {case}"
            );
            // Nothing to compare for ignorepat; it must just answer.
            let _ = dialplan.ignorepat(context, &dialled);
        }
    }
}

#[test]
fn index_answers_like_the_linear_scan_on_small_dialplans() {
    let seed = env_number("PATCHBAY_FUZZ_SEED", 4_181_234);
    check_random_plans(seed, env_number("PATCHBAY_FUZZ_ITERATIONS", 400), 25);
}

#[test]
fn index_answers_like_the_linear_scan_on_crowded_contexts() {
    // Many names per context: shared trie paths, several candidates per node.
    check_random_plans(7, 6, 600);
}

#[test]
fn ordering_is_a_total_order() {
    let mut rng = Rng::new(99);
    let mut extensions = Vec::new();
    while extensions.len() < 300 {
        if let Ok(extension) = Extension::parse(&random_name(&mut rng)) {
            extensions.push(extension);
        }
    }
    for a in &extensions {
        for b in &extensions {
            assert_eq!(
                compare(a, b),
                compare(b, a).reverse(),
                "{} vs {}",
                a.name(),
                b.name()
            );
        }
    }
    for _ in 0..20_000 {
        let (a, b, c) = (
            rng.pick(&extensions),
            rng.pick(&extensions),
            rng.pick(&extensions),
        );
        if compare(a, b) != Ordering::Greater && compare(b, c) != Ordering::Greater {
            assert_ne!(
                compare(a, c),
                Ordering::Greater,
                "{} {} {}",
                a.name(),
                b.name(),
                c.name()
            );
        }
    }
}

#[test]
fn stored_order_is_strictly_increasing() {
    let mut rng = Rng::new(5);
    for _ in 0..50 {
        let plan = random_plan(&mut rng, 40);
        for context in &plan.contexts {
            let names = plan.dialplan.stored_order(context).expect("context exists");
            let parsed: Vec<Extension> = names
                .iter()
                .map(|name| Extension::parse(name).expect("stored names parse"))
                .collect();
            for pair in parsed.windows(2) {
                assert_eq!(
                    compare(&pair[0], &pair[1]),
                    Ordering::Less,
                    "{} then {}",
                    pair[0].name(),
                    pair[1].name()
                );
            }
        }
    }
}
