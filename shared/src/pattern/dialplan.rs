//! Contexts, includes and ignore patterns, and the lookup of spec §5.
//!
//! Build with [`DialplanBuilder`] in configuration-file order, then
//! [`DialplanBuilder::build`] sorts every context and compiles its index once.
//! [`Dialplan`] answers through the index; [`LinearScan`] answers the same
//! questions the way Asterisk itself does (a scan of each sorted list) and is
//! the reference the index is tested against.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::error::PatternError;
use super::index::{ContextIndex, NameRef};
use super::matching::{MatchResult, Mode, match_one, match_raw, up_to_nul, without_dashes};
use super::order::pattern_tokens;
use super::parse::{Extension, OrderKey, cmp_keys, compare};

/// `AST_PBX_MAX_STACK`: a lookup gives up after visiting this many contexts.
const MAX_VISITED_CONTEXTS: usize = 128;

/// Outcome of [`DialplanBuilder::add_extension`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Added {
    New,
    /// Equal under the ordering to this earlier, kept extension (stored name):
    /// Asterisk rejects the later line (spec §2.5).
    DuplicateOf(String),
}

/// One extension found by a lookup.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Match {
    pub context: String,
    /// Stored name of the extension.
    pub exten: String,
}

/// Collects a dialplan in configuration-file order.
#[derive(Debug, Clone, Default)]
pub struct DialplanBuilder {
    contexts: HashMap<String, ContextDraft>,
}

#[derive(Debug, Clone, Default)]
struct ContextDraft {
    extensions: BTreeSet<InSortOrder>,
    includes: Vec<String>,
    ignorepats: Vec<String>,
}

/// An extension ordered by [`compare`], so that a `BTreeSet` is a context's
/// sorted list and finds duplicates as it inserts.
#[derive(Debug, Clone)]
struct InSortOrder(Extension);

impl PartialEq for InSortOrder {
    fn eq(&self, other: &Self) -> bool {
        compare(&self.0, &other.0).is_eq()
    }
}
impl Eq for InSortOrder {}
impl PartialOrd for InSortOrder {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InSortOrder {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        compare(&self.0, &other.0)
    }
}

impl DialplanBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates an empty context if there is none of that (case-sensitive) name.
    pub fn add_context(&mut self, context: &str) {
        self.context(context);
    }

    /// Adds `exten => name,...` to `context` (created if missing). A name equal
    /// to an earlier one under the ordering is dropped (spec §2.5).
    pub fn add_extension(&mut self, context: &str, name: &str) -> Result<Added, PatternError> {
        let draft = self.context(context);
        let extension = InSortOrder(Extension::parse(name)?);
        if let Some(earlier) = draft.extensions.get(&extension) {
            return Ok(Added::DuplicateOf(earlier.0.name().to_owned()));
        }
        draft.extensions.insert(extension);
        Ok(Added::New)
    }

    /// Adds `include => included`, unless an earlier include of `context`
    /// has the same name ignoring case (even a dangling one, spec §2.6).
    pub fn add_include(&mut self, context: &str, included: &str) {
        let included = included.trim_matches([' ', '\t']);
        let includes = &mut self.context(context).includes;
        if !includes
            .iter()
            .any(|known| known.eq_ignore_ascii_case(included))
        {
            includes.push(included.to_owned());
        }
    }

    /// Adds `ignorepat => pattern`, unless an earlier one of `context` is
    /// equal ignoring case. Ignore patterns keep their blanks (Asterisk stores
    /// them as written). Rejected: a NUL byte, and a pattern with a `[` never
    /// closed (Asterisk would keep it, but it can never match anything).
    pub fn add_ignorepat(&mut self, context: &str, pattern: &str) -> Result<(), PatternError> {
        let ignorepats = &mut self.context(context).ignorepats;
        let start = pattern.len() - pattern.trim_start_matches([' ', '\t']).len();
        let pattern = pattern.trim_matches([' ', '\t']);
        if let Some(at) = pattern.find('\0') {
            return Err(PatternError::new(start + at, "NUL byte in ignore pattern"));
        }
        if let Some(body) = pattern.strip_prefix('_')
            && let Err(at) = pattern_tokens(body.as_bytes())
        {
            return Err(PatternError::new(
                start + 1 + at,
                "`[` without a closing `]`",
            ));
        }
        if !ignorepats
            .iter()
            .any(|known| known.eq_ignore_ascii_case(pattern))
        {
            ignorepats.push(pattern.to_owned());
        }
        Ok(())
    }

    /// Sorts every context and compiles its index: done once, looked up many times.
    pub fn build(self) -> Dialplan {
        let contexts = self
            .contexts
            .into_iter()
            .map(|(name, draft)| {
                let extensions: Vec<Extension> = draft
                    .extensions
                    .into_iter()
                    .map(|sorted| sorted.0)
                    .collect();
                let index = ContextIndex::build(&extensions);
                let context = Context {
                    name: name.clone(),
                    extensions,
                    includes: draft.includes,
                    ignorepats: draft.ignorepats,
                    index,
                };
                (name, context)
            })
            .collect();
        Dialplan { contexts }
    }

    fn context(&mut self, name: &str) -> &mut ContextDraft {
        self.contexts.entry(name.to_owned()).or_default()
    }
}

/// A compiled dialplan: every question of spec §5/§6, in time that depends
/// on the dialled string rather than on the number of extensions.
#[derive(Debug, Clone)]
pub struct Dialplan {
    contexts: HashMap<String, Context>,
}

#[derive(Debug, Clone)]
struct Context {
    name: String,
    /// Sorted (§4); a rank is an index in this list.
    extensions: Vec<Extension>,
    includes: Vec<String>,
    ignorepats: Vec<String>,
    index: ContextIndex,
}

/// How a context's own extensions are searched.
#[derive(Debug, Clone, Copy)]
enum Search {
    Indexed,
    /// Asterisk's own way: try each extension of the sorted list in turn.
    Linear,
}

impl Context {
    /// The first extension (in sorted order) that does not answer NO, and
    /// where the index holds its name (if it does).
    fn first_match(
        &self,
        search: Search,
        dialled: &str,
        mode: Mode,
    ) -> Option<(usize, MatchResult, Option<NameRef>)> {
        match search {
            Search::Linear => self
                .extensions
                .iter()
                .enumerate()
                .find_map(|(rank, extension)| {
                    let result = match_one(extension, dialled, mode);
                    result.is_match().then_some((rank, result, None))
                }),
            Search::Indexed => {
                let data = up_to_nul(dialled.as_bytes());
                let walked = self.index.first_match(&dash_free(data), mode);
                let walked = walked.map(|(rank, result, name)| (rank as usize, result, Some(name)));
                match (walked, self.same_pattern_rank(data, mode)) {
                    (Some(walked), Some(quirk)) if walked.0 < quirk => Some(walked),
                    (_, Some(quirk)) => Some((quirk, MatchResult::Yes, None)),
                    (walked, None) => walked,
                }
            }
        }
    }

    /// The stored name of `rank`, from the index's record when it holds it
    /// (the line the search has just read) rather than the extension list.
    fn name_of(&self, rank: usize, name: Option<NameRef>) -> String {
        name.and_then(|name| self.index.name(name))
            .unwrap_or_else(|| self.extensions[rank].name().to_owned())
    }

    /// Ranks of every extension matching in match mode, in sorted order.
    fn all_matches(&self, search: Search, dialled: &str) -> Vec<usize> {
        match search {
            Search::Linear => (0..self.extensions.len())
                .filter(|&rank| match_one(&self.extensions[rank], dialled, Mode::Match).is_match())
                .collect(),
            Search::Indexed => {
                let data = up_to_nul(dialled.as_bytes());
                let mut ranks: Vec<usize> = self
                    .index
                    .all_matches(&dash_free(data))
                    .into_iter()
                    .map(|rank| rank as usize)
                    .collect();
                if let Some(quirk) = self.same_pattern_rank(data, Mode::Match)
                    && let Err(at) = ranks.binary_search(&quirk)
                {
                    ranks.insert(at, quirk);
                }
                ranks
            }
        }
    }

    /// §3.4: a dialled `_...` equal to a stored pattern under the ordering
    /// matches it. Duplicates are merged, so at most one extension qualifies;
    /// it is found by binary search in the sorted list.
    fn same_pattern_rank(&self, data: &[u8], mode: Mode) -> Option<usize> {
        if mode != Mode::Match {
            return None;
        }
        let tokens = pattern_tokens(data.strip_prefix(b"_")?).ok()?;
        let key = OrderKey::Pattern(tokens);
        self.extensions
            .binary_search_by(|extension| cmp_keys(extension.order_key(), &key))
            .ok()
    }
}

/// `data` without its dashes, copied only when it has some.
fn dash_free(data: &[u8]) -> Cow<'_, [u8]> {
    if data.contains(&b'-') {
        Cow::Owned(without_dashes(data).collect())
    } else {
        Cow::Borrowed(data)
    }
}

/// The empty extension (a C string: a leading NUL ends it) is never run.
fn never_runs(dialed: &str) -> bool {
    up_to_nul(dialed.as_bytes()).is_empty()
}

/// The contexts a lookup has searched: one list for the whole lookup, names
/// compared ignoring case (spec §5, §8.9), at most 128 of them.
#[derive(Default)]
struct Visited<'a>(Vec<&'a str>);

impl<'a> Visited<'a> {
    fn admits(&self, name: &str) -> bool {
        self.0.len() < MAX_VISITED_CONTEXTS
            && !self.0.iter().any(|seen| seen.eq_ignore_ascii_case(name))
    }

    fn record(&mut self, name: &'a str) {
        self.0.push(name);
    }
}

impl Dialplan {
    /// Every extension matching `dialed` in match mode, in real lookup order
    /// (first = the one a call runs). Empty for the empty string, which no
    /// call runs (see [`Self::winner`]).
    pub fn matches(&self, context: &str, dialed: &str) -> Vec<Match> {
        self.all_matches(Search::Indexed, context, dialed)
    }

    /// The extension a call to `dialed@context` runs, if any.
    ///
    /// `None` for the empty string (or one starting with a NUL), even where
    /// [`Self::exists`] is true: Asterisk never runs an empty extension, a
    /// channel created for one starts at `s` instead (spec §6, "Empty dialled
    /// string").
    pub fn winner(&self, context: &str, dialed: &str) -> Option<Match> {
        self.run_by(Search::Indexed, context, dialed)
    }

    /// `ast_exists_extension`.
    pub fn exists(&self, context: &str, dialed: &str) -> bool {
        self.find(Search::Indexed, context, dialed, Mode::Match)
            .is_some()
    }

    /// `ast_canmatch_extension`.
    pub fn canmatch(&self, context: &str, dialed: &str) -> bool {
        self.find(Search::Indexed, context, dialed, Mode::CanMatch)
            .is_some()
    }

    /// `ast_matchmore_extension`, with the `!` veto of §5.
    pub fn matchmore(&self, context: &str, dialed: &str) -> bool {
        self.find(Search::Indexed, context, dialed, Mode::MatchMore)
            .is_some()
    }

    /// `ast_ignore_pattern`: an ignore pattern of `context` itself (not of its
    /// includes) matches `dialed` exactly (match mode).
    pub fn ignorepat(&self, context: &str, dialed: &str) -> bool {
        self.contexts.get(context).is_some_and(|context| {
            context.ignorepats.iter().any(|pattern| {
                match_raw(pattern.as_bytes(), dialed.as_bytes(), Mode::Match).is_match()
            })
        })
    }

    /// The context's extensions as `dialplan show CONTEXT` lists them.
    pub fn stored_order(&self, context: &str) -> Option<Vec<&str>> {
        let context = self.contexts.get(context)?;
        Some(context.extensions.iter().map(Extension::name).collect())
    }

    pub fn includes(&self, context: &str) -> Option<Vec<&str>> {
        Some(
            self.contexts
                .get(context)?
                .includes
                .iter()
                .map(String::as_str)
                .collect(),
        )
    }

    pub fn ignorepats(&self, context: &str) -> Option<Vec<&str>> {
        Some(
            self.contexts
                .get(context)?
                .ignorepats
                .iter()
                .map(String::as_str)
                .collect(),
        )
    }

    /// The same lookups, answered by scanning each sorted list as Asterisk
    /// does: slow on big contexts, but the reference for the index.
    pub fn linear_scan(&self) -> LinearScan<'_> {
        LinearScan(self)
    }

    /// The extension a call runs: the match-mode lookup, except for the empty
    /// string. A channel created for an empty extension is given `s` instead
    /// (`__ast_channel_alloc`: `S_OR(exten, "s")`), so no call ever runs the
    /// lookup of `""`, although `ast_exists_extension` answers it
    /// (`DIALPLAN_EXISTS(ctx,,1)` is 1 for `_!`, `_`, `_-`, `_!X` on Asterisk
    /// 22.10.1, and `Originate Local/@ctx` ran nothing in a context holding
    /// only `_`: "sent to invalid extension ... s").
    fn run_by(&self, search: Search, start: &str, dialed: &str) -> Option<Match> {
        if never_runs(dialed) {
            return None;
        }
        self.find(search, start, dialed, Mode::Match)
    }

    fn find(&self, search: Search, start: &str, dialed: &str, mode: Mode) -> Option<Match> {
        let (context, rank, name) =
            self.find_from(search, start, dialed, mode, &mut Visited::default())?;
        Some(Match {
            context: context.name.clone(),
            exten: context.name_of(rank, name),
        })
    }

    /// `pbx_find_extension`: own extensions first, then includes depth-first.
    fn find_from<'a>(
        &'a self,
        search: Search,
        name: &str,
        dialed: &str,
        mode: Mode,
        visited: &mut Visited<'a>,
    ) -> Option<(&'a Context, usize, Option<NameRef>)> {
        if !visited.admits(name) {
            return None;
        }
        let context = self.contexts.get(name)?;
        match context.first_match(search, dialed, mode) {
            // The `!` veto: this context says no, and its includes are skipped.
            Some((_, MatchResult::YesBang, _)) if mode == Mode::MatchMore => return None,
            Some((rank, _, name)) => return Some((context, rank, name)),
            None => {}
        }
        visited.record(&context.name);
        context
            .includes
            .iter()
            .find_map(|included| self.find_from(search, included, dialed, mode, visited))
    }

    fn all_matches(&self, search: Search, start: &str, dialed: &str) -> Vec<Match> {
        let mut found = Vec::new();
        if never_runs(dialed) {
            return found;
        }
        self.collect_from(search, start, dialed, &mut Visited::default(), &mut found);
        found
    }

    /// The walk of [`Self::find_from`] in match mode, collecting every match.
    fn collect_from<'a>(
        &'a self,
        search: Search,
        name: &str,
        dialed: &str,
        visited: &mut Visited<'a>,
        found: &mut Vec<Match>,
    ) {
        if !visited.admits(name) {
            return;
        }
        let Some(context) = self.contexts.get(name) else {
            return;
        };
        found.extend(
            context
                .all_matches(search, dialed)
                .into_iter()
                .map(|rank| Match {
                    context: context.name.clone(),
                    exten: context.extensions[rank].name().to_owned(),
                }),
        );
        visited.record(&context.name);
        for included in &context.includes {
            self.collect_from(search, included, dialed, visited, found);
        }
    }
}

/// [`Dialplan`]'s lookups by linear scan (see [`Dialplan::linear_scan`]).
#[derive(Debug, Clone, Copy)]
pub struct LinearScan<'a>(&'a Dialplan);

impl LinearScan<'_> {
    pub fn matches(&self, context: &str, dialed: &str) -> Vec<Match> {
        self.0.all_matches(Search::Linear, context, dialed)
    }

    pub fn winner(&self, context: &str, dialed: &str) -> Option<Match> {
        self.0.run_by(Search::Linear, context, dialed)
    }

    pub fn exists(&self, context: &str, dialed: &str) -> bool {
        self.0
            .find(Search::Linear, context, dialed, Mode::Match)
            .is_some()
    }

    pub fn canmatch(&self, context: &str, dialed: &str) -> bool {
        self.0
            .find(Search::Linear, context, dialed, Mode::CanMatch)
            .is_some()
    }

    pub fn matchmore(&self, context: &str, dialed: &str) -> bool {
        self.0
            .find(Search::Linear, context, dialed, Mode::MatchMore)
            .is_some()
    }
}
