//! Replays a differential corpus recorded from a real Asterisk
//! (`shared/corpus/README.md` gives the JSON Lines schema).
//!
//! Every group is built independently, from its `context` records in file
//! order. A case is one context (stored order, includes, ignore patterns) or
//! one query (winner, matches, exists, canmatch, matchmore, ignorepat).
//!
//! `canmatch`, `matchmore` and `ignorepat` may be absent from a query: a
//! corpus recorded without chan_iax2's dialplan request (the live test's
//! edge corpus asks `DIALPLAN_EXISTS`, which knows only `exists`) leaves
//! them out, and they are then not compared.

use serde::Deserialize;

use super::dialplan::{Dialplan, DialplanBuilder, Match};

/// Outcome of [`check`]: one line per failed case in `disagreements`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub passed: usize,
    pub failed: usize,
    pub disagreements: Vec<String>,
}

impl Report {
    fn record(&mut self, disagreement: Option<String>) {
        match disagreement {
            None => self.passed += 1,
            Some(line) => {
                self.failed += 1;
                self.disagreements.push(line);
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Record {
    Meta {},
    Context(ContextRecord),
    Query(QueryRecord),
}

#[derive(Debug, Deserialize)]
struct ContextRecord {
    group: String,
    context: String,
    entries: Vec<Entry>,
    asterisk_order: Vec<String>,
    asterisk_includes: Vec<String>,
    asterisk_ignorepats: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
enum Entry {
    Exten(String),
    Include(String),
    Ignorepat(String),
}

#[derive(Debug, Deserialize)]
struct QueryRecord {
    group: String,
    id: String,
    context: String,
    exten: String,
    winner: Option<(String, String)>,
    matches: Option<Vec<(String, String)>>,
    exists: bool,
    #[serde(default)]
    canmatch: Option<bool>,
    #[serde(default)]
    matchmore: Option<bool>,
    #[serde(default)]
    ignorepat: Option<bool>,
}

/// A group's records, in file order.
#[derive(Default)]
struct Group {
    contexts: Vec<ContextRecord>,
    queries: Vec<QueryRecord>,
}

/// Replays a whole corpus. Unreadable lines count as failed cases.
pub fn check(jsonl: &str) -> Report {
    let mut report = Report::default();
    let mut groups: Vec<(String, Group)> = Vec::new();
    for (number, line) in jsonl.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record = match serde_json::from_str::<Record>(line) {
            Ok(record) => record,
            Err(error) => {
                report.record(Some(format!(
                    "line {}: expected a corpus record, got {error}",
                    number + 1
                )));
                continue;
            }
        };
        let group_name = match &record {
            Record::Meta {} => continue,
            Record::Context(context) => &context.group,
            Record::Query(query) => &query.group,
        };
        if groups.last().is_none_or(|(name, _)| name != group_name) {
            groups.push((group_name.clone(), Group::default()));
        }
        let group = &mut groups.last_mut().expect("just pushed").1;
        match record {
            Record::Meta {} => {}
            Record::Context(context) => group.contexts.push(context),
            Record::Query(query) => group.queries.push(query),
        }
    }
    for (_, group) in &groups {
        check_group(group, &mut report);
    }
    report
}

fn check_group(group: &Group, report: &mut Report) {
    let mut builder = DialplanBuilder::new();
    let mut load_errors: Vec<(String, String)> = Vec::new();
    for context in &group.contexts {
        builder.add_context(&context.context);
        for entry in &context.entries {
            let loaded = match entry {
                Entry::Exten(name) => builder.add_extension(&context.context, name).map(drop),
                Entry::Include(name) => {
                    builder.add_include(&context.context, name);
                    Ok(())
                }
                Entry::Ignorepat(pattern) => builder.add_ignorepat(&context.context, pattern),
            };
            if let Err(error) = loaded {
                load_errors.push((context.context.clone(), error.to_string()));
            }
        }
    }
    let dialplan = builder.build();
    for context in &group.contexts {
        let errors: Vec<&str> = load_errors
            .iter()
            .filter(|(name, _)| *name == context.context)
            .map(|(_, error)| error.as_str())
            .collect();
        report.record(check_context(&dialplan, context, &errors));
    }
    for query in &group.queries {
        report.record(check_query(&dialplan, query));
    }
}

fn check_context(
    dialplan: &Dialplan,
    record: &ContextRecord,
    load_errors: &[&str],
) -> Option<String> {
    let name = &record.context;
    let mut differences = Differences::default();
    differences.compare(
        "order",
        &Some(record.asterisk_order.clone()),
        &owned(dialplan.stored_order(name)),
    );
    differences.compare(
        "includes",
        &Some(record.asterisk_includes.clone()),
        &owned(dialplan.includes(name)),
    );
    differences.compare(
        "ignorepats",
        &Some(record.asterisk_ignorepats.clone()),
        &owned(dialplan.ignorepats(name)),
    );
    if !load_errors.is_empty() {
        differences.compare("load errors", &Vec::<&str>::new(), &load_errors.to_vec());
    }
    differences.report(name)
}

fn check_query(dialplan: &Dialplan, query: &QueryRecord) -> Option<String> {
    let (context, dialed) = (query.context.as_str(), query.exten.as_str());
    let mut differences = Differences::default();
    differences.compare(
        "winner",
        &query.winner,
        &dialplan.winner(context, dialed).map(pair),
    );
    if let Some(expected) = &query.matches {
        let got: Vec<(String, String)> = dialplan
            .matches(context, dialed)
            .into_iter()
            .map(pair)
            .collect();
        differences.compare("matches", expected, &got);
    }
    let exists = dialplan.exists(context, dialed);
    differences.compare("exists", &query.exists, &exists);
    // Recorded through chan_iax2, which asks canmatch only when exists is
    // false: the field is "exists or canmatch" (they differ for a dialled
    // `_X.` equal to a pattern, spec §3.4 and §6).
    if let Some(expected) = query.canmatch {
        let canmatch = exists || dialplan.canmatch(context, dialed);
        differences.compare("canmatch", &expected, &canmatch);
    }
    if let Some(expected) = query.matchmore {
        differences.compare("matchmore", &expected, &dialplan.matchmore(context, dialed));
    }
    if let Some(expected) = query.ignorepat {
        differences.compare("ignorepat", &expected, &dialplan.ignorepat(context, dialed));
    }
    differences.report(&query.id)
}

fn owned(names: Option<Vec<&str>>) -> Option<Vec<String>> {
    names.map(|names| names.into_iter().map(str::to_owned).collect())
}

fn pair(found: Match) -> (String, String) {
    (found.context, found.exten)
}

/// The fields of one case that disagree, rendered as
/// `"<case>: expected a=.., b=.., got a=.., b=.."`.
#[derive(Default)]
struct Differences {
    expected: Vec<String>,
    got: Vec<String>,
}

impl Differences {
    fn compare<T: PartialEq + std::fmt::Debug>(&mut self, field: &str, expected: &T, got: &T) {
        if expected != got {
            self.expected.push(format!("{field}={expected:?}"));
            self.got.push(format!("{field}={got:?}"));
        }
    }

    fn report(self, case: &str) -> Option<String> {
        (!self.expected.is_empty()).then(|| {
            format!(
                "{case}: expected {}, got {}",
                self.expected.join(", "),
                self.got.join(", ")
            )
        })
    }
}
