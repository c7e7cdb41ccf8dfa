//! Live differential test of Patchbay's dialplan matcher
//! (`patchbay_shared::pattern`) against a real Asterisk 22.
//!
//! A seeded generator (seed from `PATCHBAY_SEED`, else the clock; printed at
//! the start and in every failure) writes many small, adversarial dialplans
//! ("groups" of 1–4 contexts: overlapping prefixes, `X`/`N`/`Z` in both cases,
//! sets with ranges, `.` and `!` anywhere, literal `*`/`#`/`+`, dashes,
//! duplicates equal under Asterisk's ordering, includes with self-loops,
//! cycles, diamonds and dangling names) into `patchbay-extensions.conf` in one
//! `UpdateConfig` series, reloads `pbx_config`, and for every generated
//! dialled string compares Patchbay with Asterisk twice:
//!
//! - `Dialplan::matches` against `dialplan show EXTEN@CONTEXT`, the CLI blocks
//!   reordered into the real lookup order (depth-first over the include lists
//!   Asterisk reports, each context once — spec §8 item 11 explains why the
//!   raw CLI order can differ when includes form cycles);
//! - `Dialplan::winner` against the extension that really runs: every
//!   extension's priority 1 is `UserEvent(PbHit,Id: N,Q: ${PBQ},X: ${EXTEN})`, and each
//!   query is an `Originate Local/EXTEN@CONTEXT` carrying the inherited `__PBQ=<query id>`
//!   (`app_userevent.so` is loaded at run time: the harness's list lacks it);
//! - `Dialplan::exists` against `DIALPLAN_EXISTS(CONTEXT,EXTEN,1)`, evaluated
//!   on a probe channel (`ast_exists_extension` itself, for any string: the
//!   empty one and strings longer than a channel keeps included).
//!
//! The empty dialled string is special: `Originate Local/@CONTEXT` checks that
//! `""` exists, then runs the channel at `s` (a channel never keeps an empty
//! extension). So for `""` the extension that runs must be Patchbay's winner
//! of `s` when Patchbay says `""` exists (and nothing otherwise), it must run
//! with `${EXTEN}` = `s`, and Patchbay's own winner of `""` is none.
//!
//! Two runs: random groups (AMI port 15130, SIP/IAX address 127.0.0.30) and
//! edge groups — degenerate names (`_`, `_-`, `_!`, `_!X`, `_[]!`, 79-character
//! names) against empty, dash-only and maximum-length strings (AMI port
//! 16000, 127.0.1.1). `PATCHBAY_MATCHER_CORPUS=FILE` makes the edge run write
//! what Asterisk answered as a corpus for `patchbay dialplan-check`
//! (`tests/corpus/matcher-edges.jsonl` was recorded so).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use patchbay_backend::ami::config_writer::{Section, write_config};
use patchbay_backend::ami::{AmiClient, AmiError, AmiMessage};
use patchbay_e2e::app::eventually;
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_shared::pattern::{Dialplan, DialplanBuilder, Match};

/// Groups per run and queries per group: 60 × 10 = 600 fresh queries.
const GROUPS: usize = 60;
const QUERIES_PER_GROUP: usize = 10;
/// The edge run: 20 × 12 = 240 queries.
const EDGE_GROUPS: usize = 20;
const EDGE_QUERIES_PER_GROUP: usize = 12;
/// Characters a channel keeps of an extension (`AST_MAX_EXTENSION` - 1):
/// longer strings are only asked through `DIALPLAN_EXISTS` and the CLI.
const MAX_CHANNEL_EXTENSION: usize = 79;
/// Where the probe channel runs `DIALPLAN_EXISTS`.
const PROBE_CONTEXT: &str = "pbprobe";
/// Originates in flight at once.
const BATCH: usize = 60;

/// splitmix64: small, seedable, good enough to explore.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn seed() -> u64 {
    std::env::var("PATCHBAY_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

/// Characters a dialled string is made of (no `h`/`i`/`t`/`s`: a `_.` also
/// runs as the `h` handler, whose second event must not be taken for the
/// call's; no `@`, `/`, `,`, `;`, blanks: a Local channel or the config file
/// would read them).
const DIAL_CHARS: &[u8] = b"0123456789012501255*#+-abc";

/// One pattern token with how to produce a character it matches.
fn pattern_token(rng: &mut Rng) -> (String, Vec<u8>) {
    let digits = || b"0123456789".to_vec();
    match rng.below(20) {
        0..=5 => {
            let d = *rng.pick(b"012555");
            ((d as char).to_string(), vec![d])
        }
        6 => (rng.pick(&["X", "x"]).to_string(), digits()),
        7 => (rng.pick(&["N", "n"]).to_string(), b"23456789".to_vec()),
        8 => (rng.pick(&["Z", "z"]).to_string(), b"123456789".to_vec()),
        9..=11 => {
            let (set, members): (&str, &[u8]) = *rng.pick(&[
                ("[0-9]", b"0123456789".as_slice()),
                ("[1-3]", b"123"),
                ("[2-9]", b"23456789"),
                ("[13-5]", b"1345"),
                ("[*#]", b"*#"),
                ("[a-c]", b"abc"),
                ("[5]", b"5"),
                ("[05-]", b"05"),
                ("[+1]", b"+1"),
                ("[]", b""),
            ]);
            (set.to_owned(), members.to_vec())
        }
        12 => ("*".into(), b"*".to_vec()),
        13 => ("#".into(), b"#".to_vec()),
        14 => ("+".into(), b"+".to_vec()),
        15 => ("-".into(), Vec::new()),
        16 => ("a".into(), b"a".to_vec()),
        _ => {
            let d = *rng.pick(b"0125");
            ((d as char).to_string(), vec![d])
        }
    }
}

/// A generated extension: its written name and a generator of strings it matches.
#[derive(Clone)]
struct GenExten {
    name: String,
    /// Per position: characters that match (empty = consumes nothing); then
    /// whether the pattern ends in a wildcard (`.`/`!`) accepting a tail.
    parts: Vec<Vec<u8>>,
    tail: bool,
}

fn gen_extension(rng: &mut Rng, prefix: &[(String, Vec<u8>)]) -> GenExten {
    if rng.chance(25) {
        // A literal: digits, *, #, +, letters, dashes.
        let len = 1 + rng.below(5);
        let mut name = String::new();
        let mut parts = Vec::new();
        for i in 0..len {
            let c = *rng.pick(b"0125012555*#+-ab");
            if c == b'-' && i == 0 {
                name.push('1');
                parts.push(vec![b'1']);
                continue;
            }
            name.push(c as char);
            parts.push(if c == b'-' { Vec::new() } else { vec![c] });
        }
        return GenExten { name, parts, tail: false };
    }
    let mut name = String::from("_");
    let mut parts = Vec::new();
    // Overlapping prefixes: often start with a prefix shared in the group.
    if !prefix.is_empty() && rng.chance(50) {
        for (text, members) in &prefix[..1 + rng.below(prefix.len())] {
            name.push_str(text);
            parts.push(members.clone());
        }
    }
    let len = rng.below(4) + usize::from(parts.is_empty());
    for _ in 0..len {
        let (text, members) = pattern_token(rng);
        name.push_str(&text);
        parts.push(members);
    }
    let mut tail = false;
    match rng.below(10) {
        0..=2 => {
            name.push('.');
            tail = true;
        }
        3..=4 => {
            name.push('!');
            tail = true;
        }
        5 => {
            // A wildcard mid-pattern: the rest is dead (spec §8 item 2).
            name.push(*rng.pick(&['.', '!']));
            name.push_str("12");
            tail = true;
        }
        _ => {}
    }
    if name == "_" {
        name.push('1');
        parts.push(b"1".to_vec());
    }
    GenExten { name, parts, tail }
}

/// An equal-under-ordering twin of a name, when one is easy to write.
fn twin(name: &str) -> Option<String> {
    let t = if let Some(body) = name.strip_prefix('_') {
        let swapped = body
            .replacen("X", "[0-9]", 1)
            .replacen("N", "[2-9]", 1)
            .replacen("x", "X", 1);
        if swapped != body {
            format!("_{swapped}")
        } else {
            format!("_{body}[]")
        }
    } else if name.len() > 1 {
        format!("{}-{}", &name[..1], &name[1..])
    } else {
        return None;
    };
    Some(t)
}

fn sample(rng: &mut Rng, ext: &GenExten) -> String {
    let mut s = Vec::new();
    for members in &ext.parts {
        if !members.is_empty() {
            s.push(*rng.pick(members));
        }
    }
    if ext.tail {
        for _ in 0..rng.below(4) {
            s.push(*rng.pick(DIAL_CHARS));
        }
    }
    // Mutations near the match: truncate, extend, replace, dashes.
    match rng.below(10) {
        0 if s.len() > 1 => {
            s.truncate(s.len() - 1);
        }
        1 => s.push(*rng.pick(b"0159#")),
        2 if !s.is_empty() => {
            let i = rng.below(s.len());
            s[i] = *rng.pick(DIAL_CHARS);
        }
        3 if !s.is_empty() => {
            let i = rng.below(s.len() + 1);
            s.insert(i, b'-');
        }
        _ => {}
    }
    String::from_utf8(s).unwrap()
}

/// Strings at the edges: empty, separators only, the longest a channel
/// keeps, longer than that, and specials alone.
fn edge_dialled(rng: &mut Rng) -> String {
    let digits = |n: usize| -> String { (0..n).map(|i| char::from(b'0' + (i % 10) as u8)).collect() };
    match rng.below(12) {
        0..=2 => String::new(),
        3 => "-".into(),
        4 => "-".repeat(2 + rng.below(3)),
        5 => "-1-".into(),
        6 => "1".repeat(MAX_CHANNEL_EXTENSION),
        7 => digits(MAX_CHANNEL_EXTENSION),
        8 => digits(MAX_CHANNEL_EXTENSION + 1 + rng.below(120)),
        9 => "1-".repeat(MAX_CHANNEL_EXTENSION / 2),
        10 => rng.pick(&["*", "#", "+", "a"]).to_string(),
        _ => rng.pick(&["4", "41", "418", "4-1-8", "4180"]).to_string(),
    }
}

/// Names at the edges of what `exten =>` accepts.
fn edge_extension(rng: &mut Rng) -> String {
    let long_pattern = format!("_{}", "X".repeat(MAX_CHANNEL_EXTENSION));
    let long_literal: String = (0..MAX_CHANNEL_EXTENSION).map(|i| char::from(b'0' + (i % 10) as u8)).collect();
    let names = [
        "_!", "_", "_-", "_---", "_!X", "_-!", "_[]!", "_[]", "_X.", "_X!", "_.", "_X", "_-X-",
        "_*!", "418", "4-1-8", "_4!", "_41.", "1",
    ];
    match rng.below(names.len() + 2) {
        n if n < names.len() => names[n].to_owned(),
        n if n == names.len() => long_pattern,
        _ => long_literal,
    }
}

fn random_dialled(rng: &mut Rng) -> String {
    if rng.chance(5) {
        return edge_dialled(rng);
    }
    if rng.chance(3) {
        // Long, up to the 79 characters a channel keeps.
        return (0..40 + rng.below(40))
            .map(|_| *rng.pick(b"0123456789") as char)
            .collect();
    }
    (0..1 + rng.below(6))
        .map(|_| *rng.pick(DIAL_CHARS) as char)
        .collect()
}

struct Query {
    context: String,
    dialled: String,
}

impl Query {
    /// Whether a Local channel can carry the string (longer ones are cut).
    fn can_be_called(&self) -> bool {
        self.dialled.len() <= MAX_CHANNEL_EXTENSION
    }
}

struct Generated {
    sections: Vec<Section>,
    builder: DialplanBuilder,
    contexts: Vec<String>,
    /// Marker id → (context, written name).
    ids: Vec<(String, String)>,
    /// Per context: its entries in file order, for a recorded corpus.
    entries: HashMap<String, Vec<(&'static str, String)>>,
    queries: Vec<Query>,
}

/// What the generator draws: random material, or the edges.
#[derive(Clone, Copy, PartialEq)]
enum Material {
    Random,
    Edges,
}

fn generate(rng: &mut Rng, material: Material) -> Generated {
    let mut sections = Vec::new();
    let mut builder = DialplanBuilder::new();
    let mut contexts = Vec::new();
    let mut ids = Vec::new();
    let mut entries: HashMap<String, Vec<(&'static str, String)>> = HashMap::new();
    let mut queries = Vec::new();
    let (groups, per_group) = match material {
        Material::Random => (GROUPS, QUERIES_PER_GROUP),
        Material::Edges => (EDGE_GROUPS, EDGE_QUERIES_PER_GROUP),
    };
    for g in 0..groups {
        let names: Vec<String> = (0..1 + rng.below(4)).map(|i| format!("m{g}x{i}")).collect();
        let prefix: Vec<(String, Vec<u8>)> = (0..1 + rng.below(3)).map(|_| pattern_token(rng)).collect();
        let mut group_extens = Vec::new();
        for ctx in &names {
            let mut lines = Vec::new();
            builder.add_context(ctx);
            let mut written: Vec<String> = Vec::new();
            for _ in 0..rng.below(9) {
                let mut ext = gen_extension(rng, &prefix);
                if material == Material::Edges || rng.chance(4) {
                    ext = GenExten { name: edge_extension(rng), parts: Vec::new(), tail: true };
                }
                let mut to_write = vec![ext.name.clone()];
                if rng.chance(15) {
                    to_write.push(ext.name.clone());
                }
                if rng.chance(20)
                    && let Some(t) = twin(&ext.name)
                {
                    to_write.push(t);
                }
                if rng.chance(10) && !written.is_empty() {
                    to_write.push(rng.pick(&written).clone());
                }
                for name in to_write {
                    let id = ids.len();
                    ids.push((ctx.clone(), name.clone()));
                    lines.push((
                        "exten".to_owned(),
                        format!("{name},1,UserEvent(PbHit,Id: {id},Q: ${{PBQ}},X: ${{EXTEN}})"),
                    ));
                    builder
                        .add_extension(ctx, &name)
                        .unwrap_or_else(|e| panic!("generated name {name:?} refused: {e:?}"));
                    entries.entry(ctx.clone()).or_default().push(("exten", name.clone()));
                    written.push(name);
                }
                group_extens.push(ext);
            }
            // Includes: self, cycles, diamonds, duplicates, dangling.
            for _ in 0..rng.below(4) {
                let included = if rng.chance(8) {
                    format!("m{g}gone")
                } else {
                    rng.pick(&names).clone()
                };
                lines.push(("include".to_owned(), included.clone()));
                builder.add_include(ctx, &included);
                entries.entry(ctx.clone()).or_default().push(("include", included.clone()));
            }
            sections.push(Section {
                name: ctx.clone(),
                lines,
            });
            contexts.push(ctx.clone());
        }
        for _ in 0..per_group {
            let dialled = if material == Material::Edges && rng.chance(70) {
                edge_dialled(rng)
            } else if !group_extens.is_empty() && rng.chance(75) {
                let ext = rng.pick(&group_extens).clone();
                sample(rng, &ext)
            } else {
                random_dialled(rng)
            };
            queries.push(Query {
                context: rng.pick(&names).clone(),
                dialled,
            });
        }
    }
    // The probe: `DIALPLAN_EXISTS` needs a channel to run on.
    sections.push(Section {
        name: PROBE_CONTEXT.to_owned(),
        lines: vec![
            (
                "exten".to_owned(),
                "s,1,UserEvent(PbExists,Q: ${PBQ},E: ${DIALPLAN_EXISTS(${PBCTX},${PBX},1)})".to_owned(),
            ),
            ("exten".to_owned(), "s,2,Hangup()".to_owned()),
        ],
    });
    Generated {
        sections,
        builder,
        contexts,
        ids,
        entries,
        queries,
    }
}


/// `Include => 'NAME'` lines of `dialplan show CONTEXT`, in order.
fn parse_includes(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix("Include =>")?;
            let rest = rest.trim_start().strip_prefix('\'')?;
            Some(rest.split('\'').next()?.to_owned())
        })
        .collect()
}

/// The CLI blocks in the real lookup order: depth-first over the include
/// lists, each context at most once per lookup (visited ignores case).
fn real_order(
    start: &str,
    blocks: &[(String, Vec<String>)],
    includes: &HashMap<String, Vec<String>>,
) -> Vec<Match> {
    fn walk(
        ctx: &str,
        blocks: &[(String, Vec<String>)],
        includes: &HashMap<String, Vec<String>>,
        visited: &mut Vec<String>,
        out: &mut Vec<Match>,
    ) {
        if visited.iter().any(|v| v.eq_ignore_ascii_case(ctx)) {
            return;
        }
        let Some(incs) = includes.get(ctx) else {
            return;
        };
        if let Some((_, names)) = blocks.iter().find(|(name, _)| name == ctx) {
            out.extend(names.iter().map(|n| Match {
                context: ctx.to_owned(),
                exten: n.clone(),
            }));
        }
        visited.push(ctx.to_owned());
        for inc in incs {
            walk(inc, blocks, includes, visited, out);
        }
    }
    let mut out = Vec::new();
    walk(start, blocks, includes, &mut Vec::new(), &mut out);
    out
}

#[derive(Default)]
struct Observed {
    /// Query id → first marker id seen, with the `${EXTEN}` it ran with.
    hits: HashMap<usize, (usize, String)>,
    /// Query ids that saw a second event (the `h` handler, or worse).
    repeated: HashSet<usize>,
    /// Query id → `DIALPLAN_EXISTS` on the probe channel.
    exists: HashMap<usize, bool>,
    /// ActionIDs of finished Originates.
    done: HashSet<String>,
}

fn collect_events(ami: &AmiClient) -> Arc<Mutex<Observed>> {
    let observed = Arc::new(Mutex::new(Observed::default()));
    let mut events = ami.subscribe();
    let sink = observed.clone();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    let mut seen = sink.lock().unwrap();
                    let seen = &mut *seen;
                    let query = event.get("Q").and_then(|q| q.trim().parse().ok());
                    match (event.event_name(), event.get("UserEvent")) {
                        (Some("UserEvent"), Some("PbHit")) => {
                            let id = event.get("Id").and_then(|i| i.trim().parse().ok());
                            let exten = event.get("X").unwrap_or_default().trim().to_owned();
                            if let (Some(q), Some(id)) = (query, id) {
                                match seen.hits.entry(q) {
                                    Entry::Occupied(_) => {
                                        seen.repeated.insert(q);
                                    }
                                    Entry::Vacant(first) => {
                                        first.insert((id, exten));
                                    }
                                }
                            }
                        }
                        (Some("UserEvent"), Some("PbExists")) => {
                            if let Some(q) = query {
                                seen.exists.insert(q, event.get("E").map(str::trim) == Some("1"));
                            }
                        }
                        (Some("OriginateResponse"), _) => {
                            if let Some(a) = event.action_id() {
                                seen.done.insert(a.to_owned());
                            }
                        }
                        _ => {}
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    panic!("lost {n} AMI events: the collector fell behind")
                }
                Err(_) => return,
            }
        }
    });
    observed
}

/// Originates every call, `BATCH` at a time, and waits for each answer.
async fn originate_all(
    ami: &AmiClient,
    observed: &Arc<Mutex<Observed>>,
    calls: Vec<AmiMessage>,
    asterisk: &AsteriskInstance,
    seed: u64,
) -> anyhow::Result<()> {
    for chunk in calls.chunks(BATCH) {
        let mut pending = Vec::new();
        for originate in chunk {
            let answer = ami.send("Originate", originate.clone()).await?;
            pending.push(answer.response.action_id().unwrap_or_default().to_owned());
        }
        let answered = eventually("every Originate of the batch to answer", Duration::from_secs(20), || async {
            let seen = observed.lock().unwrap();
            pending.iter().all(|a| seen.done.contains(a)).then_some(())
        })
        .await;
        answered.map_err(|e| anyhow::anyhow!("seed {seed}: {e}:\n{}", asterisk.console_tail()))?;
    }
    Ok(())
}

/// What Asterisk answered for one query, for a recorded corpus.
struct Answer {
    matches: Option<Vec<Match>>,
    exists: bool,
}

#[tokio::test(flavor = "multi_thread")]
async fn the_matcher_agrees_with_a_live_asterisk() -> anyhow::Result<()> {
    differential("live-matcher", "127.0.0.30", 15130, Material::Random).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_matcher_agrees_with_a_live_asterisk_on_edge_strings() -> anyhow::Result<()> {
    differential("live-matcher-edges", "127.0.1.1", 16000, Material::Edges).await
}

async fn differential(name: &str, ip: &str, port: u16, material: Material) -> anyhow::Result<()> {
    let seed = seed();
    eprintln!("{name} seed: PATCHBAY_SEED={seed}");
    let started = Instant::now();
    let mut rng = Rng(seed);
    let generated = generate(&mut rng, material);
    let dialplan: Dialplan = generated.builder.clone().build();

    let asterisk = AsteriskInstance::start(name, ip, port).await?;
    let ami = asterisk.connect_ami().await?;
    // The harness's explicit module list lacks UserEvent (it has
    // func_dialplan, which trunk number plans need). (`module load` is
    // refused over AMI's Command; ModuleLoad is not.)
    for module in ["app_userevent.so"] {
        let load = AmiMessage::new().with("Module", module).with("LoadType", "load");
        ami.send("ModuleLoad", load).await?;
    }
    write_config(
        &ami,
        "patchbay-extensions.conf",
        &generated.sections,
        Some("pbx_config"),
    )
    .await?;
    // The reload runs after its Success: wait until the last context is there.
    let probe_header = format!("[ Context '{PROBE_CONTEXT}'");
    let loaded = eventually("the dialplan to load", Duration::from_secs(15), || async {
        let out = ami.command(&format!("dialplan show {PROBE_CONTEXT}")).await;
        out.is_ok_and(|out| out.iter().any(|l| l.contains(&probe_header))).then_some(())
    })
    .await;
    loaded.map_err(|e| anyhow::anyhow!("seed {seed}: {e}:\n{}", asterisk.console_tail()))?;
    let loaded = started.elapsed();

    // The include lists and stored orders as Asterisk holds them.
    let mut includes = HashMap::new();
    let mut orders = HashMap::new();
    for ctx in &generated.contexts {
        let out = ami.command(&format!("dialplan show {ctx}")).await?;
        let blocks = patchbay_e2e::asterisk::parse_dialplan_show(&out);
        anyhow::ensure!(
            blocks.first().is_some_and(|b| &b.0 == ctx),
            "seed {seed}: context {ctx} not loaded: {out:?}"
        );
        // Stored order: the context's own listing equals Patchbay's sort.
        let ours: Vec<String> = dialplan
            .stored_order(ctx)
            .unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect();
        anyhow::ensure!(
            blocks[0].1 == ours,
            "seed {seed}: stored order of {ctx}: Asterisk {:?}, Patchbay {ours:?}",
            blocks[0].1
        );
        includes.insert(ctx.clone(), parse_includes(&out));
        orders.insert(ctx.clone(), blocks[0].1.clone());
    }

    let mut failures = Vec::new();
    let mut answers: Vec<Answer> = Vec::new();
    let mut cli_first_differs = 0;
    for (q, query) in generated.queries.iter().enumerate() {
        // `dialplan show @CONTEXT` lists the whole context: the CLI cannot be
        // asked about the empty string.
        if query.dialled.is_empty() {
            answers.push(Answer { matches: None, exists: false });
            continue;
        }
        let out = match ami
            .command(&format!("dialplan show {}@{}", query.dialled, query.context))
            .await
        {
            Ok(out) => out,
            // Nothing matches: the CLI answers with an error.
            Err(AmiError::ActionFailed { message, .. })
                if message.contains("There is no existence of") =>
            {
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        };
        let blocks = patchbay_e2e::asterisk::parse_dialplan_show(&out);
        let theirs = real_order(&query.context, &blocks, &includes);
        let ours = dialplan.matches(&query.context, &query.dialled);
        if theirs != ours {
            failures.push(format!(
                "q{q} {:?}@{}: matches differ\n  Asterisk {theirs:?}\n  Patchbay {ours:?}\n  CLI {out:?}",
                query.dialled, query.context
            ));
        }
        let raw_first = blocks
            .iter()
            .find(|b| !b.1.is_empty())
            .map(|b| (b.0.clone(), b.1[0].clone()));
        let real_first = theirs.first().map(|m| (m.context.clone(), m.exten.clone()));
        if raw_first != real_first {
            cli_first_differs += 1;
        }
        answers.push(Answer { matches: Some(theirs), exists: false });
    }
    let cli_done = started.elapsed();

    // Execution: Originate every query a channel can carry; and every query
    // on the probe channel, for `DIALPLAN_EXISTS`.
    let observed = collect_events(&ami);
    let mut calls = Vec::new();
    for (q, query) in generated.queries.iter().enumerate() {
        if query.can_be_called() {
            calls.push(
                AmiMessage::new()
                    .with("Channel", format!("Local/{}@{}", query.dialled, query.context))
                    .with("Application", "Wait")
                    .with("Data", "1")
                    .with("Timeout", "5000")
                    .with("Variable", format!("__PBQ={q}"))
                    .with("Async", "true"),
            );
        }
        calls.push(
            AmiMessage::new()
                .with("Channel", format!("Local/s@{PROBE_CONTEXT}"))
                .with("Application", "Wait")
                .with("Data", "1")
                .with("Timeout", "5000")
                .with("Variable", format!("__PBQ={q}"))
                .with("Variable", format!("__PBCTX={}", query.context))
                .with("Variable", format!("__PBX={}", query.dialled))
                .with("Async", "true"),
        );
    }
    originate_all(&ami, &observed, calls, &asterisk, seed).await?;
    // Events of one connection arrive in order; a short grace for the last.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = observed.lock().unwrap();
    for (q, query) in generated.queries.iter().enumerate() {
        let (context, dialled) = (query.context.as_str(), query.dialled.as_str());
        let case = format!("q{q} {dialled:?}@{context}");
        let ours_exists = dialplan.exists(context, dialled);
        match seen.exists.get(&q) {
            Some(&theirs) => {
                answers[q].exists = theirs;
                if theirs != ours_exists {
                    failures.push(format!(
                        "{case}: DIALPLAN_EXISTS {theirs}, Patchbay exists {ours_exists}"
                    ));
                }
            }
            None => failures.push(format!("{case}: the probe channel reported nothing")),
        }
        if !query.can_be_called() {
            continue;
        }
        let ran = seen.hits.get(&q).map(|(id, exten)| {
            let (context, written) = &generated.ids[*id];
            (context.clone(), written.clone(), exten.clone())
        });
        // A call for "" checks that "" exists, then runs at `s`.
        let (expected, expected_exten) = if dialled.is_empty() {
            anyhow::ensure!(
                dialplan.winner(context, "").is_none(),
                "{case}: Patchbay names a winner for the empty string"
            );
            let runs_s = ours_exists.then(|| dialplan.winner(context, "s")).flatten();
            (runs_s, "s")
        } else {
            (dialplan.winner(context, dialled), dialled)
        };
        let expected = expected.map(|m| (m.context, m.exten, expected_exten.to_owned()));
        if ran != expected {
            failures.push(format!(
                "{case}: executed {ran:?}, Patchbay expects {expected:?}"
            ));
        }
    }
    let total = started.elapsed();
    eprintln!(
        "{name}: {} queries over {} contexts / {} extension lines; \
         load {loaded:?}, CLI {:?}, calls {:?}; raw CLI first line differed from the \
         real order {cli_first_differs} times; {} calls ran an extension; h-handler repeats {}",
        generated.queries.len(),
        generated.contexts.len(),
        generated.ids.len(),
        cli_done - loaded,
        total - cli_done,
        seen.hits.len(),
        seen.repeated.len()
    );
    if let Ok(path) = std::env::var("PATCHBAY_MATCHER_CORPUS")
        && material == Material::Edges
        && failures.is_empty()
    {
        let text = corpus_text(&generated, &orders, &includes, &answers, seed);
        std::fs::write(&path, text)?;
        eprintln!("{name}: corpus written to {path}");
    }
    if !failures.is_empty() {
        let shown: Vec<&String> = failures.iter().take(15).collect();
        panic!(
            "PATCHBAY_SEED={seed}: {} disagreements with Asterisk (first {}):\n{}",
            failures.len(),
            shown.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(())
}

/// The run as a corpus in the format of `shared/corpus/README.md`, one group
/// per context family (`m{g}x…`), `canmatch`/`matchmore`/`ignorepat` left
/// out (only chan_iax2's dialplan request reports them).
fn corpus_text(
    generated: &Generated,
    orders: &HashMap<String, Vec<String>>,
    includes: &HashMap<String, Vec<String>>,
    answers: &[Answer],
    seed: u64,
) -> String {
    let mut text = String::new();
    let meta = serde_json::json!({
        "type": "meta", "profile": "edges", "seed": seed,
        "generator": "tests/tests/live_matcher.rs (edge run)",
        "queries": generated.queries.len(),
        "recorded": "stored order and includes: dialplan show; matches: dialplan show EXTEN@CONTEXT in real lookup order (null for \"\"); winner: first of matches (null for \"\": no call runs it), each executed through Local; exists: DIALPLAN_EXISTS(CONTEXT,EXTEN,1)",
    });
    let _ = writeln!(text, "{meta}");
    let mut groups: Vec<String> = Vec::new();
    for context in &generated.contexts {
        if !groups.contains(&group_of(context)) {
            groups.push(group_of(context));
        }
    }
    for group in &groups {
        write_group(&mut text, group, generated, orders, includes, answers);
    }
    text
}

/// Contexts `m{g}x{i}` form group `m{g}`.
fn group_of(context: &str) -> String {
    context.split('x').next().unwrap_or(context).to_owned()
}

/// One group of a corpus: its contexts, then its queries.
fn write_group(
    text: &mut String,
    group: &str,
    generated: &Generated,
    orders: &HashMap<String, Vec<String>>,
    includes: &HashMap<String, Vec<String>>,
    answers: &[Answer],
) {
    let pair = |m: &Match| serde_json::json!([m.context, m.exten]);
    for context in generated.contexts.iter().filter(|c| group_of(c) == group) {
        let entries: Vec<serde_json::Value> = generated.entries.get(context).into_iter().flatten()
            .map(|(kind, value)| serde_json::json!({"kind": kind, "value": value}))
            .collect();
        let record = serde_json::json!({
            "type": "context", "group": group_of(context), "context": context,
            "entries": entries, "asterisk_order": orders[context],
            "asterisk_includes": includes[context], "asterisk_ignorepats": [],
        });
        let _ = writeln!(text, "{record}");
    }
    for (q, (query, answer)) in generated.queries.iter().zip(answers).enumerate() {
        if group_of(&query.context) != group {
            continue;
        }
        let matches = answer.matches.as_ref().map(|list| list.iter().map(pair).collect::<Vec<_>>());
        let winner = answer.matches.as_ref().and_then(|list| list.first()).map(pair);
        let record = serde_json::json!({
            "type": "query", "group": group_of(&query.context), "id": format!("edge-q{q:03}"),
            "context": query.context, "exten": query.dialled,
            "winner": winner, "matches": matches, "exists": answer.exists,
        });
        let _ = writeln!(text, "{record}");
    }
}
