//! Compile and lookup figures for the dialplan matcher (no harness: plain
//! `Instant` timings, many iterations, best of several runs).
//!
//! Native: `cargo bench -p patchbay-shared --bench matcher`
//!         (`-- --ratio 61`: only the 100k / 10 ratio, alternating rounds;
//!         `-- --profile 100000`: lookups only, for callgrind)
//! Wasm:   `node shared/benches/run-wasm.mjs` (builds for wasm32-wasip1 and
//!          runs this same program under Node's WASI with `--wasm`).
//! Figures are recorded in `shared/BENCH.md`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use patchbay_shared::pattern::{Added, Dialplan, DialplanBuilder};
use support::Rng;

const CONTEXT: &str = "routes";

/// A route table as a PBX has them: internal numbers and DIDs, national and
/// international routes with `X`/`N`/`Z`, sets, `.`/`!` catch-alls, feature codes.
fn realistic_name(rng: &mut Rng) -> String {
    let prefix_length = 1 + rng.below(5);
    let prefix = digits(rng, prefix_length);
    match rng.below(100) {
        0..=34 => {
            let length = 3 + rng.below(4);
            digits(rng, length)
        }
        35..=49 => format!("{}-{}", digits(rng, 3), digits(rng, 4)),
        50..=74 => {
            let tail = rng.pick(&["XXX", "NXXXXXX", "XXXX", "ZXX", "NXXNXXXXXX", "X-XXXX"]);
            format!("_{prefix}{tail}")
        }
        75..=84 => {
            let set = rng.pick(&["[2-5]", "[013]", "[6-9]", "[1-35-7]", "[49]"]);
            format!("_{prefix}{set}XX")
        }
        85..=94 => format!("_{prefix}{}", rng.pick(&["X.", "!", ".", "NX."])),
        _ => format!("{}{}", rng.pick(&["*", "#", "*7", "+33"]), digits(rng, 2)),
    }
}

fn digits(rng: &mut Rng, count: usize) -> String {
    (0..count)
        .map(|_| char::from(b'0' + rng.below(10) as u8))
        .collect()
}

/// Something a caller dials: a number one of the names matches, sometimes
/// cut short (overlap dialling) or a random number.
fn realistic_dialled(rng: &mut Rng, names: &[String]) -> String {
    if rng.percent(10) {
        let length = 7 + rng.below(5);
        return digits(rng, length);
    }
    let name = rng.pick(names).clone();
    let mut dialled = String::new();
    let mut chars = name.strip_prefix('_').unwrap_or(&name).chars();
    let is_pattern = name.starts_with('_');
    while let Some(c) = chars.next() {
        match c {
            'X' | 'N' | 'Z' if is_pattern => dialled.push(char::from(b'2' + rng.below(8) as u8)),
            '.' | '!' if is_pattern => (0..1 + rng.below(8)).for_each(|_| dialled.push('5')),
            '[' if is_pattern => {
                let body: Vec<char> = chars.by_ref().take_while(|&c| c != ']').collect();
                dialled.push(body[0]);
            }
            other => dialled.push(other),
        }
    }
    if rng.percent(20) {
        dialled.truncate(rng.below(dialled.len() + 1));
    }
    dialled
}

/// `count` names that are all distinct extensions (duplicates are skipped).
fn names(seed: u64, count: usize) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut builder = DialplanBuilder::new();
    let mut names = Vec::with_capacity(count);
    while names.len() < count {
        let name = realistic_name(&mut rng);
        if builder.add_extension(CONTEXT, &name) == Ok(Added::New) {
            names.push(name);
        }
    }
    names
}

fn compile(names: &[String]) -> Dialplan {
    let mut builder = DialplanBuilder::new();
    for name in names {
        builder
            .add_extension(CONTEXT, name)
            .expect("realistic names are valid");
    }
    builder.build()
}

/// Best of `runs` of `body`, each run timed as a whole.
fn best_of(runs: usize, mut body: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            body();
            start.elapsed()
        })
        .min()
        .expect("at least one run")
}

/// Average time of one lookup over `dialled`, best of 15 rounds of at least
/// `rounds_of` lookups each (many short rounds: on a shared machine, the
/// best one is the least disturbed).
fn lookup_time(dialled: &[String], rounds_of: usize, lookup: impl Fn(&str) -> bool) -> Duration {
    let passes = rounds_of.div_ceil(dialled.len()).max(1);
    let per_round = best_of(15, || {
        for _ in 0..passes {
            for number in dialled {
                black_box(lookup(black_box(number)));
            }
        }
    });
    per_round / (passes * dialled.len()) as u32
}

fn nanos(duration: Duration) -> String {
    format!("{:.0} ns", duration.as_secs_f64() * 1e9)
}

/// The dialplan of `size` extensions and the 2,000 dialled strings the
/// lookups are timed over (the same seeds for every run).
fn material(size: usize) -> (Dialplan, Vec<String>) {
    let names = names(2, size);
    let plan = compile(&names);
    let mut rng = Rng::new(3);
    let dialled = (0..2000)
        .map(|_| realistic_dialled(&mut rng, &names))
        .collect();
    (plan, dialled)
}

/// The ratio of the goal, measured so that both sides see the same machine:
/// rounds of 10-extension and 100k-extension winner lookups alternate
/// (`rounds` of each, every round at least 20,000 lookups over the same
/// 2,000 dialled strings), and the ratio is taken between the best rounds
/// and between the medians. On a loaded machine the separate figures of
/// the table above drift apart from one size to the next; alternating
/// rounds keeps the load the same for both.
fn interleaved_ratio(rounds: usize) {
    let (small_plan, small_dialled) = material(10);
    let (large_plan, large_dialled) = material(100_000);
    let round = |plan: &Dialplan, dialled: &[String]| {
        let passes = 20_000usize.div_ceil(dialled.len());
        let start = Instant::now();
        for _ in 0..passes {
            for number in dialled {
                black_box(plan.winner(CONTEXT, black_box(number)).is_some());
            }
        }
        start.elapsed() / (passes * dialled.len()) as u32
    };
    let (mut small, mut large) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        small.push(round(&small_plan, &small_dialled));
        large.push(round(&large_plan, &large_dialled));
    }
    small.sort_unstable();
    large.sort_unstable();
    let ratio = |large: Duration, small: Duration| large.as_secs_f64() / small.as_secs_f64();
    println!(
        "winner, {rounds} alternating rounds each: 10 → best {} / median {}, 100k → best {} / median {}",
        nanos(small[0]),
        nanos(small[rounds / 2]),
        nanos(large[0]),
        nanos(large[rounds / 2])
    );
    println!(
        "ratio winner 100k / 10: {:.2}x (best rounds), {:.2}x (medians)",
        ratio(large[0], small[0]),
        ratio(large[rounds / 2], small[rounds / 2])
    );
}

/// `--profile N`: 3 passes of winner lookups over the dialled strings of
/// the N-extension plan and nothing else, for `valgrind --tool=callgrind`
/// (instruction and cache-miss counts do not depend on the machine's load).
fn profile(size: usize) {
    let (plan, dialled) = material(size);
    let found = (0..3)
        .flat_map(|_| &dialled)
        .filter(|number| plan.winner(CONTEXT, black_box(number)).is_some())
        .count();
    println!("{size} extensions: {found} winners in {} lookups", 3 * dialled.len());
}

fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    let value_of = |flag: &str| {
        let at = arguments.iter().position(|argument| argument == flag)?;
        arguments.get(at + 1)?.parse::<usize>().ok()
    };
    if let Some(size) = value_of("--profile") {
        return profile(size);
    }
    if let Some(rounds) = value_of("--ratio") {
        return interleaved_ratio(rounds.max(1));
    }
    let wasm_only = arguments.iter().any(|argument| argument == "--wasm");
    let compile_sizes: &[usize] = if wasm_only {
        &[10_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    let lookup_sizes: &[usize] = if wasm_only {
        &[10_000]
    } else {
        &[10, 1_000, 10_000, 100_000]
    };

    println!("compile (parse + sort + index), best of 3:");
    for &size in compile_sizes {
        let names = names(1, size);
        let time = best_of(3, || drop(black_box(compile(&names))));
        println!(
            "  {size:>7} extensions: {:>8.1} ms",
            time.as_secs_f64() * 1e3
        );
    }

    println!(
        "lookup, mean per call over 2000 dialled strings, best of 15 rounds (winner / canmatch / matchmore / linear-scan winner):"
    );
    for &size in lookup_sizes {
        let (plan, dialled) = material(size);
        let winner = lookup_time(&dialled, 20_000, |number| {
            plan.winner(CONTEXT, number).is_some()
        });
        let canmatch = lookup_time(&dialled, 20_000, |number| plan.canmatch(CONTEXT, number));
        let matchmore = lookup_time(&dialled, 20_000, |number| plan.matchmore(CONTEXT, number));
        let scan = plan.linear_scan();
        let linear = lookup_time(&dialled[..200], 200_000 / size.max(1), |number| {
            scan.winner(CONTEXT, number).is_some()
        });
        println!(
            "  {size:>7} extensions: {:>8} / {:>8} / {:>8} / {:>12}",
            nanos(winner),
            nanos(canmatch),
            nanos(matchmore),
            nanos(linear)
        );
    }
    if !wasm_only {
        interleaved_ratio(31);
    }
}
