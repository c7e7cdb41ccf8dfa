//! Dialplan changes applied live (`DialplanExtensionRemove`/`Add`) instead
//! of by a reload, and the in-place file edit that follows them (see the
//! module documentation of `sync`).

use super::EXTENSIONS_FILE;
use crate::ami::config_writer::Section as AmiSection;
use crate::ami::{AmiClient, AmiError, AmiMessage};
use std::collections::BTreeMap;

/// Extension changes up to this many are applied live rather than by reload.
const INCREMENTAL_LIMIT: usize = 200;

/// One `exten` and its `same` lines, as written in a context.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileExtension {
    /// The extension name (pattern, possibly with `/callerid`).
    name: String,
    /// The lines, `exten` first.
    lines: Vec<(String, String)>,
}

/// `key = value` lines.
type Lines = Vec<(String, String)>;

/// A context split into its non-extension lines and its extensions.
fn split_context(section: &AmiSection) -> Option<(Lines, Vec<FileExtension>)> {
    let mut other = Vec::new();
    let mut extensions: Vec<FileExtension> = Vec::new();
    for (key, value) in &section.lines {
        let value = value.trim_start_matches('>').trim();
        match key.trim() {
            "exten" => {
                let name = value.split(',').next()?.trim().to_string();
                extensions.push(FileExtension { name, lines: vec![("exten".into(), value.to_string())] });
            }
            "same" => extensions.last_mut()?.lines.push(("same".into(), value.to_string())),
            key => other.push((key.to_string(), value.to_string())),
        }
    }
    Some((other, extensions))
}

/// The live edits that turn one extensions file into another, when only
/// extensions (not contexts, includes or their order) differ.
#[derive(Debug, Default)]
pub struct IncrementalPlan {
    /// (context, extension) to remove entirely.
    remove: Vec<(String, String)>,
    /// (context, extension, priorities as (application, data)).
    add: Vec<(String, String, Lines)>,
    /// The same change to the file, edited in place (no reload).
    file_edits: Vec<FileEdit>,
}

/// In context `context`, replace `delete` lines from index `at` by `insert`.
#[derive(Debug)]
struct FileEdit {
    context: String,
    at: usize,
    delete: usize,
    insert: Lines,
}

/// The window of `new` that differs from `old`: (start, old lines to drop,
/// new lines to put there).
fn changed_window(old: &[(String, String)], new: &[(String, String)]) -> (usize, usize, Lines) {
    let same = |a: &(String, String), b: &(String, String)| a.0.trim() == b.0.trim() && a.1.trim_start_matches('>').trim() == b.1.trim_start_matches('>').trim();
    let prefix = old.iter().zip(new).take_while(|(a, b)| same(a, b)).count();
    let room = old.len().min(new.len()) - prefix;
    let suffix = old.iter().rev().zip(new.iter().rev()).take(room).take_while(|(a, b)| same(a, b)).count();
    (prefix, old.len() - prefix - suffix, new[prefix..new.len() - suffix].to_vec())
}

impl IncrementalPlan {
    /// `None` when the change needs a reload (contexts or includes changed,
    /// labels, too many edits, a line this cannot express).
    pub fn new(current: &[AmiSection], desired: &[AmiSection]) -> Option<IncrementalPlan> {
        if current.len() != desired.len() || current.is_empty() {
            return None;
        }
        let mut plan = IncrementalPlan::default();
        for (old, new) in current.iter().zip(desired) {
            if old.name.trim() != new.name.trim() {
                return None;
            }
            let (old_other, old_extensions) = split_context(old)?;
            let (new_other, new_extensions) = split_context(new)?;
            if old_other != new_other {
                return None;
            }
            let (at, delete, insert) = changed_window(&old.lines, &new.lines);
            if delete > 0 || !insert.is_empty() {
                plan.file_edits.push(FileEdit { context: new.name.clone(), at, delete, insert });
            }
            let old_by_name: BTreeMap<&str, &FileExtension> = old_extensions.iter().map(|e| (e.name.as_str(), e)).collect();
            let new_by_name: BTreeMap<&str, &FileExtension> = new_extensions.iter().map(|e| (e.name.as_str(), e)).collect();
            if old_by_name.len() != old_extensions.len() || new_by_name.len() != new_extensions.len() {
                return None; // an extension split over several `exten` blocks
            }
            for (name, old_extension) in &old_by_name {
                if new_by_name.get(name) != Some(old_extension) {
                    plan.remove.push((old.name.clone(), name.to_string()));
                }
            }
            for (name, new_extension) in &new_by_name {
                if old_by_name.get(name) != Some(new_extension) {
                    plan.add.push((new.name.clone(), name.to_string(), priorities(new_extension)?));
                }
            }
        }
        // The file edit need not fit one message: it is written later, and
        // written whole when it does not.
        (plan.remove.len() + plan.add.len() <= INCREMENTAL_LIMIT).then_some(plan)
    }

    /// Also re-applies `extensions` (context, extension) as `desired` has
    /// them (removes them when it has none), whatever the live dialplan has.
    pub fn force(&mut self, extensions: &[(String, String)], desired: &[AmiSection]) {
        for (context, name) in extensions {
            let key = (context.clone(), name.clone());
            if !self.remove.contains(&key) {
                self.remove.push(key);
            }
            if self.add.iter().any(|(c, n, _)| c == context && n == name) {
                continue;
            }
            let found = desired
                .iter()
                .filter(|section| section.name.trim() == context)
                .filter_map(split_context)
                .flat_map(|(_, extensions)| extensions)
                .find(|extension| &extension.name == name);
            if let Some(lines) = found.as_ref().and_then(priorities) {
                self.add.push((context.clone(), name.clone(), lines));
            }
        }
    }

    /// The (context, extension) pairs the live edits touch.
    pub fn touched(&self) -> Vec<(String, String)> {
        let mut touched: Vec<(String, String)> = self.remove.clone();
        touched.extend(self.add.iter().map(|(context, name, _)| (context.clone(), name.clone())));
        touched.sort();
        touched.dedup();
        touched
    }

    /// The one `UpdateConfig` (source = destination, no reload) that makes
    /// the file say what the live edits did; `None` when it would not fit
    /// in one AMI message.
    pub fn file_message(&self) -> Option<AmiMessage> {
        let mut message = AmiMessage::new().with("SrcFilename", EXTENSIONS_FILE).with("DstFilename", EXTENSIONS_FILE);
        let mut number = 0;
        let mut push = |message: &mut AmiMessage, fields: &[(&str, &str)]| {
            for (key, value) in fields {
                message.headers.push((format!("{key}-{number:06}"), value.to_string()));
            }
            number += 1;
        };
        for edit in &self.file_edits {
            let at = edit.at.to_string();
            for _ in 0..edit.delete {
                // By line index: `same` lines repeat, a value match would not do.
                push(&mut message, &[("Action", "Delete"), ("Cat", &edit.context), ("Line", &at)]);
            }
            for (offset, (key, value)) in edit.insert.iter().enumerate() {
                let line = (edit.at + offset).to_string();
                push(&mut message, &[("Action", "Insert"), ("Cat", &edit.context), ("Var", key), ("Value", value), ("Line", &line)]);
            }
        }
        // + Action and ActionID.
        (message.headers.len() + 2 <= crate::ami::MAX_HEADER_LINES).then_some(message)
    }

    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.add.is_empty()
    }

    pub fn edits(&self) -> usize {
        self.remove.len() + self.add.len()
    }
}

/// `exten => NAME,1,App(data)` / `same => n,App(data)` → (App, data), in
/// order. `None` for labels or explicit priorities other than 1, n.
fn priorities(extension: &FileExtension) -> Option<Vec<(String, String)>> {
    extension
        .lines
        .iter()
        .enumerate()
        .map(|(index, (key, value))| {
            let rest = if key == "exten" { value.split_once(',')?.1 } else { value.as_str() };
            let (priority, application) = rest.split_once(',')?;
            let expected = if index == 0 { "1" } else { "n" };
            if priority.trim() != expected {
                return None;
            }
            let application = application.trim();
            Some(match application.split_once('(') {
                Some((app, data)) => (app.trim().to_string(), data.strip_suffix(')')?.to_string()),
                None => (application.to_string(), String::new()),
            })
        })
        .collect()
}

/// Applies `plan` to the live dialplan (`DialplanExtensionRemove`/`Add`, no
/// reload), then edits the file in place without reloading so a later
/// reload loads the same thing. The caller verifies both (GetConfig and
/// `dialplan show`) and falls back to a full write and reload.
pub async fn incremental_dialplan(client: &AmiClient, plan: &IncrementalPlan) -> anyhow::Result<()> {
    apply_live(client, plan).await?;
    persist(client, plan).await
}

/// The file part of [`incremental_dialplan`] alone.
pub async fn persist(client: &AmiClient, plan: &IncrementalPlan) -> anyhow::Result<()> {
    let message = plan.file_message().ok_or_else(|| anyhow::anyhow!("the file edit does not fit in one AMI message"))?;
    client.send("UpdateConfig", message).await?;
    Ok(())
}

/// The live part of [`incremental_dialplan`] alone.
pub async fn apply_live(client: &AmiClient, plan: &IncrementalPlan) -> anyhow::Result<()> {
    for (context, extension) in &plan.remove {
        let headers = AmiMessage::new().with("Context", context.as_str()).with("Extension", extension.as_str());
        match client.send("DialplanExtensionRemove", headers).await {
            // Already absent (a forced re-apply after a reload): that is
            // what a remove wants.
            Ok(_) | Err(AmiError::ActionFailed { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    for (context, extension, priorities) in &plan.add {
        for (number, (application, data)) in priorities.iter().enumerate() {
            let headers = AmiMessage::new()
                .with("Context", context.as_str())
                .with("Extension", extension.as_str())
                .with("Priority", (number + 1).to_string())
                .with("Application", application.as_str())
                .with("ApplicationData", data.as_str())
                .with("Replace", "yes");
            client.send("DialplanExtensionAdd", headers).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(name: &str, lines: &[(&str, &str)]) -> AmiSection {
        AmiSection { name: name.into(), lines: lines.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    #[test]
    fn one_changed_route_is_one_remove_and_one_add() {
        let old = [context("out", &[("include", "x"), ("exten", "_0X.,1,NoOp(a)"), ("same", "n,Dial(PJSIP/${EXTEN}@t,30)"), ("exten", "100,1,Hangup()")])];
        let new = [context("out", &[("include", "x"), ("exten", "_0X.,1,NoOp(b)"), ("same", "n,Dial(PJSIP/${EXTEN}@t,30)"), ("exten", "100,1,Hangup()")])];
        let plan = IncrementalPlan::new(&old, &new).unwrap();
        assert_eq!(plan.remove, [("out".to_string(), "_0X.".to_string())]);
        assert_eq!(plan.add.len(), 1);
        assert_eq!(plan.add[0].2, [("NoOp".to_string(), "b".to_string()), ("Dial".to_string(), "PJSIP/${EXTEN}@t,30".to_string())]);
        let file = plan.file_message().unwrap();
        let edits: Vec<(&str, &str)> = file.headers.iter().skip(2).map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            edits,
            [
                ("Action-000000", "Delete"),
                ("Cat-000000", "out"),
                ("Line-000000", "1"),
                ("Action-000001", "Insert"),
                ("Cat-000001", "out"),
                ("Var-000001", "exten"),
                ("Value-000001", "_0X.,1,NoOp(b)"),
                ("Line-000001", "1"),
            ]
        );
    }

    #[test]
    fn include_or_context_changes_need_a_reload() {
        let old = [context("out", &[("include", "x"), ("exten", "1,1,NoOp()")])];
        let new = [context("out", &[("include", "y"), ("exten", "1,1,NoOp()")])];
        assert!(IncrementalPlan::new(&old, &new).is_none());
        let renamed = [context("out2", &[("include", "x"), ("exten", "1,1,NoOp()")])];
        assert!(IncrementalPlan::new(&old, &renamed).is_none());
        let labelled = [context("out", &[("include", "x"), ("exten", "1,1(start),NoOp()")])];
        assert!(IncrementalPlan::new(&old, &labelled).is_none());
    }

    #[test]
    fn comparison_ignores_what_asterisk_normalises() {
        let written = [context("a", &[("exten", "1,1,NoOp()")])];
        let read = [context("a", &[("exten", ">1,1,NoOp() ")])];
        assert!(crate::sync::same_config(&written, &read));
        assert!(!crate::sync::same_config(&written, &[]));
    }
}
