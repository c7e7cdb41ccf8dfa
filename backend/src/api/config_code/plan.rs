//! What applying a document changes, without I/O: the rows to create,
//! update and delete (exactly those whose stored document differs, with the
//! fields that differ), and a line diff of rendered configuration.

use super::mapping::{Entry, MANAGED_KINDS};
use crate::store::{Kind, ObjectRow};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub action: Action,
    pub kind: &'static str,
    pub tenant: String,
    pub name: String,
    /// Top-level fields whose value changes (every field on create and delete).
    pub fields: Vec<String>,
    #[serde(skip)]
    pub kind_key: Option<Kind>,
    #[serde(skip)]
    pub before: Option<ObjectRow>,
    #[serde(skip)]
    pub after: Option<ObjectRow>,
}

impl Change {
    pub fn kind(&self) -> Kind {
        self.kind_key.unwrap_or(Kind::Context)
    }
}

/// A stored document compared by meaning: a null field and an absent one
/// are the same, at any depth.
pub fn normalized(value: &Value) -> Value {
    super::doc::without_nulls(value.clone())
}

fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    let empty = Map::new();
    let (before, after) = (normalized(before), normalized(after));
    let (b, a) = (before.as_object().unwrap_or(&empty), after.as_object().unwrap_or(&empty));
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|key| b.get(*key) != a.get(*key)).cloned().collect()
}

fn position(kind: Kind) -> usize {
    MANAGED_KINDS.iter().position(|k| *k == kind).unwrap_or(usize::MAX)
}

/// `current`: the rows the document's tenants have and it manages (what an
/// export of them describes); `stored`: a lookup of any stored row by
/// (kind, id), so that a desired row found among unmanaged ones is an
/// update, not a create; `desired`: what the document describes.
/// Deletions come first (in reverse write order), then creates and updates
/// in write order.
pub fn diff(current: &[(String, Entry)], stored: &HashMap<(Kind, i64), ObjectRow>, desired: &[(String, Entry)]) -> Vec<Change> {
    let wanted: HashMap<(Kind, i64), ()> = desired.iter().map(|(_, e)| ((e.kind, e.row.id), ())).collect();
    let mut deletes: Vec<Change> = current
        .iter()
        .filter(|(_, e)| !wanted.contains_key(&(e.kind, e.row.id)))
        .map(|(tenant, e)| Change {
            action: Action::Delete,
            kind: e.kind.as_str(),
            tenant: tenant.clone(),
            name: e.name.clone(),
            fields: changed_fields(&e.row.body, &Value::Null),
            kind_key: Some(e.kind),
            before: Some(e.row.clone()),
            after: None,
        })
        .collect();
    deletes.sort_by_key(|c| std::cmp::Reverse(position(c.kind())));
    let mut writes: Vec<Change> = Vec::new();
    for (tenant, e) in desired {
        let before = stored.get(&(e.kind, e.row.id));
        let (action, fields) = match before {
            None => (Action::Create, changed_fields(&Value::Null, &e.row.body)),
            Some(before) => {
                let mut fields = changed_fields(&before.body, &e.row.body);
                if before.uuid != e.row.uuid {
                    fields.insert(0, "uuid".into());
                }
                if fields.is_empty() {
                    continue;
                }
                (Action::Update, fields)
            }
        };
        writes.push(Change {
            action,
            kind: e.kind.as_str(),
            tenant: tenant.clone(),
            name: e.name.clone(),
            fields,
            kind_key: Some(e.kind),
            before: before.cloned(),
            after: Some(e.row.clone()),
        });
    }
    writes.sort_by_key(|c| position(c.kind()));
    deletes.extend(writes);
    deletes
}

/// A unified-style line diff of each file (`-` removed, `+` added, with a
/// `@@ line N` marker before each run of changes); files left unchanged are
/// left out.
pub fn config_diff(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let empty = String::new();
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let old: Vec<&str> = before.get(name).unwrap_or(&empty).lines().collect();
        let new: Vec<&str> = after.get(name).unwrap_or(&empty).lines().collect();
        let lines = line_diff(&old, &new);
        if !lines.is_empty() {
            out.insert(name.clone(), lines);
        }
    }
    out
}

/// Longest common subsequence on the lines between the common head and
/// tail (a plan changes a few lines of a long file, so the middle is small).
fn line_diff(old: &[&str], new: &[&str]) -> Vec<String> {
    let head = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let tail = old[head..].iter().rev().zip(new[head..].iter().rev()).take_while(|(a, b)| a == b).count();
    let (a, b) = (&old[head..old.len() - tail], &new[head..new.len() - tail]);
    if a.is_empty() && b.is_empty() {
        return Vec::new();
    }
    // lcs[i][j]: common length of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut in_run = false;
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            in_run = false;
            i += 1;
            j += 1;
            continue;
        }
        if !in_run {
            out.push(format!("@@ line {}", head + j + 1));
            in_run = true;
        }
        if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("-{}", a[i]));
            i += 1;
        } else {
            out.push(format!("+{}", b[j]));
            j += 1;
        }
    }
    out
}
