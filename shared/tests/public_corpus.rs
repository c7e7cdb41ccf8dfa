//! The public differential corpus, recorded from a real Asterisk 22.10.1,
//! must replay without a single disagreement.

use patchbay_shared::pattern::corpus;

/// The corpus lives beside the repository (`shared/` next to the checkout).
const PUBLIC_CORPUS: &str = include_str!("../../../shared/corpus/patterns-public.jsonl");

/// `corpus` replays without a disagreement, over `cases` cases.
fn check_clean(corpus: &str, cases: usize) {
    let report = corpus::check(corpus);
    assert_eq!(report.disagreements, Vec::<String>::new());
    assert_eq!((report.passed, report.failed), (cases, 0));
}

#[test]
fn public_corpus_replays_without_disagreement() {
    // 2,000 queries and 179 contexts.
    check_clean(PUBLIC_CORPUS, 2179);
}

/// Empty, dash-only and maximum-length strings against `_`, `_-`, `_!`,
/// `_!X`, `_[]!` and long names, recorded by the live test's edge run
/// (`tests/tests/live_matcher.rs`; `exists` from `DIALPLAN_EXISTS`).
const EDGE_CORPUS: &str = include_str!("../../tests/corpus/matcher-edges.jsonl");

#[test]
fn edge_corpus_replays_without_disagreement() {
    // 240 queries and 53 contexts.
    check_clean(EDGE_CORPUS, 293);
}

#[test]
fn a_corpus_without_canmatch_compares_the_rest() {
    let corpus = r#"{"type": "context", "group": "g", "context": "c", "entries": [{"kind": "exten", "value": "_!"}], "asterisk_order": ["_!"], "asterisk_includes": [], "asterisk_ignorepats": []}
{"type": "query", "group": "g", "id": "g-q0", "context": "c", "exten": "", "winner": ["c", "_!"], "matches": null, "exists": true}
"#;
    assert_eq!(
        corpus::check(corpus).disagreements,
        vec!["g-q0: expected winner=Some((\"c\", \"_!\")), got winner=None".to_owned()]
    );
}

#[test]
fn a_wrong_expectation_is_reported_on_one_line() {
    let corpus = r#"{"type": "meta"}
{"type": "context", "group": "g", "context": "c", "entries": [{"kind": "exten", "value": "_X."}], "asterisk_order": ["_X."], "asterisk_includes": [], "asterisk_ignorepats": []}
{"type": "query", "group": "g", "id": "g-q0", "context": "c", "exten": "12", "winner": null, "matches": [], "exists": false, "canmatch": true, "matchmore": true, "ignorepat": false}
"#;
    let report = corpus::check(corpus);
    assert_eq!((report.passed, report.failed), (1, 1));
    assert_eq!(
        report.disagreements,
        vec![
            "g-q0: expected winner=None, matches=[], exists=false, \
             got winner=Some((\"c\", \"_X.\")), matches=[(\"c\", \"_X.\")], exists=true"
                .to_owned()
        ]
    );
}

#[test]
fn canmatch_is_compared_as_exists_or_canmatch() {
    // Dialling the pattern's own text: exists (§3.4), raw canmatch says no,
    // and the corpus (through chan_iax2) reports canmatch = true.
    let corpus = r#"{"type": "context", "group": "g", "context": "c", "entries": [{"kind": "exten", "value": "_X."}], "asterisk_order": ["_X."], "asterisk_includes": [], "asterisk_ignorepats": []}
{"type": "query", "group": "g", "id": "g-q0", "context": "c", "exten": "_X.", "winner": ["c", "_X."], "matches": [["c", "_X."]], "exists": true, "canmatch": true, "matchmore": false, "ignorepat": false}
"#;
    assert_eq!(corpus::check(corpus).disagreements, Vec::<String>::new());
}
