//! Dialplan changes applied live (`DialplanExtensionRemove`/`Add`) instead
//! of by a reload, and the in-place file edit that follows them (see the
//! module documentation of `sync`).

use super::EXTENSIONS_FILE;
use crate::ami::config_writer::{self, InPlaceEdit, Section as AmiSection};
use crate::ami::{AmiClient, AmiMessage, dialplan};
use patchbay_shared::render::live::{LivePriority, live_priorities};
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

/// The live edits that turn one extensions file into another: extensions
/// (labelled priorities included, see `render::live`), new and removed
/// contexts, and includes added at the end of a context or removed.
#[derive(Debug, Default)]
pub struct IncrementalPlan {
    /// (context, extension) to remove entirely.
    remove: Vec<(String, String)>,
    /// (context, extension, priorities) to add, in file order.
    add: Vec<(String, String, Vec<LivePriority>)>,
    /// (context, included context) to add, after the extensions.
    include: Vec<(String, String)>,
    /// (context, included context) to remove.
    exclude: Vec<(String, String)>,
    /// Contexts to remove, last.
    drop_contexts: Vec<String>,
    /// The same change to the file, edited in place (no reload).
    file_edits: Vec<FileEdit>,
}

/// One change to the file.
#[derive(Debug)]
enum FileEdit {
    /// In context `context`, replace `delete` lines from index `at` by `insert`.
    Window { context: String, at: usize, delete: usize, insert: Lines },
    /// A new context with its lines, before `before` (at the end: `None`).
    Add { context: String, before: Option<String>, lines: Lines },
    Drop { context: String },
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

/// Contexts by name; `None` when a name repeats (the file would then say
/// something a live edit cannot address).
fn by_name(sections: &[AmiSection]) -> Option<BTreeMap<&str, &AmiSection>> {
    let map: BTreeMap<&str, &AmiSection> = sections.iter().map(|section| (section.name.trim(), section)).collect();
    (map.len() == sections.len()).then_some(map)
}

impl IncrementalPlan {
    /// `None` when the change needs a reload: contexts reordered, includes
    /// reordered or inserted before others, a non-extension line other than
    /// `include` changed, a priority this cannot express, too many edits.
    pub fn new(current: &[AmiSection], desired: &[AmiSection]) -> Option<IncrementalPlan> {
        if current.is_empty() {
            return None;
        }
        IncrementalPlan::between(current, desired)
    }

    /// [`new`](Self::new), also from nothing: `current` is some tenants'
    /// units of a dialplan Asterisk holds (a tenant new to it has none).
    pub fn between(current: &[AmiSection], desired: &[AmiSection]) -> Option<IncrementalPlan> {
        let (old_contexts, new_contexts) = (by_name(current)?, by_name(desired)?);
        // The contexts both have, in the same order in both.
        let kept_old: Vec<&str> = current.iter().map(|s| s.name.trim()).filter(|name| new_contexts.contains_key(name)).collect();
        let kept_new: Vec<&str> = desired.iter().map(|s| s.name.trim()).filter(|name| old_contexts.contains_key(name)).collect();
        if kept_old != kept_new {
            return None;
        }
        let mut plan = IncrementalPlan::default();
        for old in current {
            if !new_contexts.contains_key(old.name.trim()) {
                plan.drop_contexts.push(old.name.trim().to_string());
                plan.file_edits.push(FileEdit::Drop { context: old.name.trim().to_string() });
            }
        }
        for (index, new) in desired.iter().enumerate() {
            let name = new.name.trim();
            let (new_other, new_extensions) = split_context(new)?;
            let (old_other, old_extensions) = match old_contexts.get(name) {
                Some(old) => split_context(old)?,
                None => {
                    if new.lines.is_empty() {
                        return None; // an empty context cannot be created live
                    }
                    let before = desired[index + 1..].iter().map(|s| s.name.trim()).find(|next| old_contexts.contains_key(next)).map(str::to_string);
                    plan.file_edits.push(FileEdit::Add { context: name.to_string(), before, lines: new.lines.clone() });
                    (Vec::new(), Vec::new())
                }
            };
            plan.includes(name, &old_other, &new_other)?;
            if let Some(old) = old_contexts.get(name) {
                let (at, delete, insert) = changed_window(&old.lines, &new.lines);
                if delete > 0 || !insert.is_empty() {
                    plan.file_edits.push(FileEdit::Window { context: name.to_string(), at, delete, insert });
                }
            }
            let old_by_name: BTreeMap<&str, &FileExtension> = old_extensions.iter().map(|e| (e.name.as_str(), e)).collect();
            let new_by_name: BTreeMap<&str, &FileExtension> = new_extensions.iter().map(|e| (e.name.as_str(), e)).collect();
            if old_by_name.len() != old_extensions.len() || new_by_name.len() != new_extensions.len() {
                return None; // an extension split over several `exten` blocks
            }
            for (extension, old_extension) in &old_by_name {
                if new_by_name.get(extension) != Some(old_extension) {
                    plan.remove.push((name.to_string(), extension.to_string()));
                }
            }
            for new_extension in &new_extensions {
                if old_by_name.get(new_extension.name.as_str()) != Some(&new_extension) {
                    plan.add.push((name.to_string(), new_extension.name.clone(), live_priorities(&new_extension.lines)?));
                }
            }
        }
        // The file edit need not fit one message: it is written later, and
        // written whole when it does not.
        (plan.edits() <= INCREMENTAL_LIMIT).then_some(plan)
    }

    /// The include changes of one context: only removals and additions at
    /// the end keep Asterisk's include order (the search order) equal to
    /// the file's. Any other non-extension line must not change.
    fn includes(&mut self, context: &str, old: &Lines, new: &Lines) -> Option<()> {
        let split = |lines: &Lines| -> (Vec<String>, Lines) {
            let (includes, other): (Lines, Lines) = lines.iter().cloned().partition(|(key, _)| key == "include");
            (includes.into_iter().map(|(_, value)| value).collect(), other)
        };
        let ((old_includes, old_other), (new_includes, new_other)) = (split(old), split(new));
        if old_other != new_other {
            return None;
        }
        let kept: Vec<&String> = old_includes.iter().filter(|include| new_includes.contains(include)).collect();
        if new_includes.iter().take(kept.len()).collect::<Vec<_>>() != kept {
            return None;
        }
        for include in &old_includes {
            if !new_includes.contains(include) {
                self.exclude.push((context.to_string(), include.clone()));
            }
        }
        for include in &new_includes[kept.len()..] {
            self.include.push((context.to_string(), include.clone()));
        }
        Some(())
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
            if let Some(priorities) = found.as_ref().and_then(|extension| live_priorities(&extension.lines)) {
                self.add.push((context.clone(), name.clone(), priorities));
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

    /// The file edits, in place, that make the file say what the live
    /// edits did.
    fn in_place_edits(&self) -> Vec<InPlaceEdit> {
        let mut edits = Vec::new();
        for edit in &self.file_edits {
            match edit {
                FileEdit::Drop { context } => edits.push(InPlaceEdit::DelCat { cat: context.clone() }),
                FileEdit::Window { context, at, delete, insert } => {
                    edits.extend((0..*delete).map(|_| InPlaceEdit::Delete { cat: context.clone(), line: *at }));
                    edits.extend(insert.iter().enumerate().map(|(offset, (var, value))| InPlaceEdit::Insert {
                        cat: context.clone(),
                        line: at + offset,
                        var: var.clone(),
                        value: value.clone(),
                    }));
                }
                FileEdit::Add { context, before, lines } => {
                    edits.push(InPlaceEdit::NewCat { cat: context.clone(), before: before.clone() });
                    edits.extend(lines.iter().map(|(var, value)| InPlaceEdit::Append { cat: context.clone(), var: var.clone(), value: value.clone() }));
                }
            }
        }
        edits
    }

    /// The one `UpdateConfig` (source = destination, no reload) that makes
    /// the file say what the live edits did; `None` when it would not fit
    /// in one AMI message.
    pub fn file_message(&self, file: &str) -> Option<AmiMessage> {
        config_writer::in_place_message(file, &self.in_place_edits())
    }

    pub fn is_empty(&self) -> bool {
        self.edits() == 0
    }

    pub fn edits(&self) -> usize {
        self.remove.len() + self.add.len() + self.include.len() + self.exclude.len() + self.drop_contexts.len()
    }
}

/// Applies `plan` to the live dialplan (no reload), then edits the file in
/// place without reloading so a later reload loads the same thing. The
/// caller verifies both (GetConfig and `dialplan show`) and falls back to a
/// full write and reload.
pub async fn incremental_dialplan(client: &AmiClient, plan: &IncrementalPlan) -> anyhow::Result<()> {
    apply_live(client, plan).await?;
    persist(client, EXTENSIONS_FILE, plan).await
}

/// The file part of [`incremental_dialplan`] alone.
pub async fn persist(client: &AmiClient, file: &str, plan: &IncrementalPlan) -> anyhow::Result<()> {
    Ok(config_writer::edit_in_place(client, file, &plan.in_place_edits()).await?)
}

/// The live part of [`incremental_dialplan`] alone: extensions removed,
/// then added (creating new contexts), then includes, then contexts gone.
pub async fn apply_live(client: &AmiClient, plan: &IncrementalPlan) -> anyhow::Result<()> {
    for (context, extension) in &plan.remove {
        dialplan::remove_extension(client, context, extension).await?;
    }
    for (context, extension, priorities) in &plan.add {
        for priority in priorities {
            dialplan::add_priority(client, context, extension, priority.number, &priority.application, &priority.data).await?;
        }
    }
    for (context, included) in &plan.exclude {
        dialplan::remove_include(client, context, included).await?;
    }
    for (context, included) in &plan.include {
        dialplan::add_include(client, context, included).await?;
    }
    for context in &plan.drop_contexts {
        dialplan::remove_context(client, context).await?;
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
        let priorities: Vec<(usize, &str, &str)> = plan.add[0].2.iter().map(|p| (p.number, p.application.as_str(), p.data.as_str())).collect();
        assert_eq!(priorities, [(1, "NoOp", "b"), (2, "Dial", "PJSIP/${EXTEN}@t,30")]);
        let file = plan.file_message(EXTENSIONS_FILE).unwrap();
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
    fn reordering_needs_a_reload() {
        let old = [context("a", &[("include", "x"), ("include", "y")]), context("b", &[("exten", "1,1,NoOp()")])];
        let includes_swapped = [context("a", &[("include", "y"), ("include", "x")]), context("b", &[("exten", "1,1,NoOp()")])];
        assert!(IncrementalPlan::new(&old, &includes_swapped).is_none(), "the include order is the search order");
        let inserted_first = [context("a", &[("include", "w"), ("include", "x"), ("include", "y")]), context("b", &[("exten", "1,1,NoOp()")])];
        assert!(IncrementalPlan::new(&old, &inserted_first).is_none());
        let contexts_swapped = [old[1].clone(), old[0].clone()];
        assert!(IncrementalPlan::new(&old, &contexts_swapped).is_none());
        let switch = [context("a", &[("include", "x"), ("include", "y"), ("switch", "Realtime/a@b")]), old[1].clone()];
        assert!(IncrementalPlan::new(&old, &switch).is_none());
    }

    #[test]
    fn a_new_labelled_pattern_a_new_context_and_its_include_go_live() {
        let old = [context("pb-internal", &[("exten", "100,1,Answer()")]), context("pb-out", &[("include", "pb-internal")])];
        let new = [
            context("pb-internal", &[("exten", "100,1,Answer()")]),
            context("pb-new", &[("exten", "_0X.,1,NoOp(route)"), ("same", "n,GotoIf(${SET}?dial)"), ("same", "n,Set(CALLERID(num)=1)"), ("same", "n(dial),Gosub(sub,s,1(${EXTEN}))")]),
            context("pb-out", &[("include", "pb-internal"), ("include", "pb-new")]),
        ];
        let plan = IncrementalPlan::new(&old, &new).expect("live");
        assert_eq!(plan.remove, []);
        assert_eq!(plan.add.len(), 1);
        let jump = &plan.add[0].2[1];
        assert_eq!((jump.application.as_str(), jump.data.as_str()), ("GotoIf", "${SET}?4"));
        assert_eq!(plan.include, [("pb-out".to_string(), "pb-new".to_string())]);
        let file = plan.file_message(EXTENSIONS_FILE).unwrap();
        let edits: Vec<(&str, &str)> = file.headers.iter().skip(2).map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(&edits[..3], [("Action-000000", "NewCat"), ("Cat-000000", "pb-new"), ("Match-000000", "pb-out")], "placed where the renderer puts it");
        assert!(edits.contains(&("Value-000004", "n(dial),Gosub(sub,s,1(${EXTEN}))")), "the file keeps the labels: {edits:?}");
        assert!(edits.iter().any(|(k, v)| k.starts_with("Action-") && *v == "Insert"), "the include line");
        // And back: the context and the include go away live.
        let undo = IncrementalPlan::new(&new, &old).expect("live");
        assert_eq!(undo.drop_contexts, ["pb-new".to_string()]);
        assert_eq!(undo.exclude, [("pb-out".to_string(), "pb-new".to_string())]);
    }

    #[test]
    fn comparison_ignores_what_asterisk_normalises() {
        let written = [context("a", &[("exten", "1,1,NoOp()")])];
        let read = [context("a", &[("exten", ">1,1,NoOp() ")])];
        assert!(crate::sync::same_config(&written, &read));
        assert!(!crate::sync::same_config(&written, &[]));
    }
}
