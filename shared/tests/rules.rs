//! Every row of the rule table (§7 of `shared/spec/dialplan-patterns.md`),
//! each observed on a real Asterisk 22.10.1.

use patchbay_shared::pattern::{Added, Dialplan, DialplanBuilder};

/// Builds a dialplan from `(context, items)`; an item is `include NAME`,
/// `ignorepat PATTERN` or an extension name, in file order.
fn dialplan(contexts: &[(&str, &[&str])]) -> Dialplan {
    let mut builder = DialplanBuilder::new();
    for (context, items) in contexts {
        builder.add_context(context);
        for item in *items {
            if let Some(included) = item.strip_prefix("include ") {
                builder.add_include(context, included);
            } else if let Some(pattern) = item.strip_prefix("ignorepat ") {
                builder
                    .add_ignorepat(context, pattern)
                    .expect("valid ignore pattern");
            } else {
                builder
                    .add_extension(context, item)
                    .expect("valid extension name");
            }
        }
    }
    builder.build()
}

/// `expected` is the spec's notation: flags `ECMI` (`-` = false; C is
/// "exists or canmatch", as the spec's observations report it), then the
/// ordered matches: bare names from `context`, `ctx:name` from includes.
fn check(plan: &Dialplan, context: &str, dialled: &str, expected: &str) {
    let flag = |set: bool, letter: char| if set { letter } else { '-' };
    let exists = plan.exists(context, dialled);
    let mut got = [
        flag(exists, 'E'),
        flag(exists || plan.canmatch(context, dialled), 'C'),
        flag(plan.matchmore(context, dialled), 'M'),
        flag(plan.ignorepat(context, dialled), 'I'),
    ]
    .iter()
    .collect::<String>();
    let matches = plan.matches(context, dialled);
    for found in &matches {
        got.push(' ');
        if found.context != context {
            got.push_str(&format!("{}:", found.context));
        }
        got.push_str(&found.exten);
    }
    assert_eq!(got, expected, "{dialled:?} in {context}");
    assert_eq!(
        plan.winner(context, dialled).as_ref(),
        matches.first(),
        "winner of {dialled:?}"
    );
    let reference = plan.linear_scan();
    assert_eq!(reference.exists(context, dialled), exists);
    assert_eq!(
        reference.winner(context, dialled).as_ref(),
        matches.first()
    );
    assert_eq!(
        reference.matches(context, dialled),
        matches,
        "reference scan of {dialled:?}"
    );
    assert_eq!(
        reference.matchmore(context, dialled),
        plan.matchmore(context, dialled)
    );
    assert_eq!(
        reference.canmatch(context, dialled),
        plan.canmatch(context, dialled)
    );
}

fn one_context(extensions: &[&str]) -> Dialplan {
    dialplan(&[("c", extensions)])
}

#[test]
fn r01_no_underscore_is_literal() {
    let plan = one_context(&["X."]);
    check(&plan, "c", "12", "----");
    check(&plan, "c", "X.", "EC-- X.");
}

#[test]
fn r02_x_is_a_digit() {
    let plan = one_context(&["_1X"]);
    check(&plan, "c", "10", "EC-- _1X");
    check(&plan, "c", "1a", "----");
    check(&plan, "c", "1", "-CM-");
}

#[test]
fn r03_z_is_one_to_nine() {
    let plan = one_context(&["_2Z"]);
    check(&plan, "c", "20", "----");
    check(&plan, "c", "21", "EC-- _2Z");
}

#[test]
fn r04_n_is_two_to_nine() {
    let plan = one_context(&["_3N"]);
    check(&plan, "c", "31", "----");
    check(&plan, "c", "32", "EC-- _3N");
}

#[test]
fn r05_lower_case_letters() {
    check(&one_context(&["_4x"]), "c", "45", "EC-- _4x");
}

#[test]
fn r06_range() {
    let plan = one_context(&["_[1-5]"]);
    check(&plan, "c", "3", "EC-- _[1-5]");
    check(&plan, "c", "6", "----");
}

#[test]
fn r07_mixed_set() {
    let plan = one_context(&["_7[13-5]"]);
    check(&plan, "c", "74", "EC-- _7[13-5]");
    check(&plan, "c", "72", "----");
}

#[test]
fn r08_letters_in_a_set_are_literal() {
    let plan = one_context(&["_8[X]", "_9[a-c]"]);
    check(&plan, "c", "8X", "EC-- _8[X]");
    check(&plan, "c", "85", "----");
    check(&plan, "c", "9b", "EC-- _9[a-c]");
    check(&plan, "c", "9B", "----");
}

#[test]
fn r09_reversed_range_never_matches() {
    let plan = one_context(&["_[5-1]"]);
    check(&plan, "c", "3", "----");
    check(&plan, "c", "5", "----");
}

#[test]
fn r10_empty_set_vanishes_mid_pattern() {
    let plan = one_context(&["_8[]9"]);
    check(&plan, "c", "89", "EC-- _8[]9");
    check(&plan, "c", "8", "-CM-");
}

#[test]
fn r11_empty_set_at_the_end_never_matches() {
    let plan = one_context(&["_7[]"]);
    check(&plan, "c", "7", "-CM-");
    check(&plan, "c", "71", "----");
}

#[test]
fn r12_dash_in_a_set_is_a_member_but_dialled_dashes_are_skipped() {
    let plan = one_context(&["_6[-5]"]);
    check(&plan, "c", "65", "EC-- _6[-5]");
    check(&plan, "c", "6-", "-CM-");
}

#[test]
fn r13_dot_is_one_or_more() {
    let plan = one_context(&["_9."]);
    check(&plan, "c", "9", "-CM-");
    check(&plan, "c", "91", "ECM- _9.");
    check(&plan, "c", "9123", "ECM- _9.");
}

#[test]
fn r14_bang_is_zero_or_more_and_vetoes_matchmore() {
    let plan = one_context(&["_8!"]);
    check(&plan, "c", "8", "EC-- _8!");
    check(&plan, "c", "8123", "EC-- _8!");
}

#[test]
fn r15_wildcard_mid_pattern_ends_it() {
    let plan = one_context(&["_1.5", "_2!5"]);
    check(&plan, "c", "12", "ECM- _1.5");
    check(&plan, "c", "1999", "ECM- _1.5");
    check(&plan, "c", "2", "EC-- _2!5");
    check(&plan, "c", "2777", "EC-- _2!5");
}

#[test]
fn r16_dashes_ignored_in_literals() {
    let plan = one_context(&["555-1212"]);
    check(&plan, "c", "5551212", "EC-- 555-1212");
    check(&plan, "c", "55-51-212", "EC-- 555-1212");
}

#[test]
fn r17_dashes_ignored_in_patterns_and_dialled_strings() {
    let plan = one_context(&["_6NX-XXXX"]);
    check(&plan, "c", "6201234", "EC-- _6NX-XXXX");
    check(&plan, "c", "620-1234", "EC-- _6NX-XXXX");
}

#[test]
fn r18_case_sensitive() {
    let plan = one_context(&["abc", "_s!"]);
    check(&plan, "c", "abc", "EC-- abc");
    check(&plan, "c", "ABC", "----");
    check(&plan, "c", "s", "EC-- _s!");
    check(&plan, "c", "sx", "EC-- _s!");
    check(&plan, "c", "S", "----");
}

#[test]
fn r19_specials_are_literal_and_x_needs_a_digit() {
    let plan = one_context(&["_*XX", "_X.", "_+X."]);
    check(&plan, "c", "*12", "EC-- _*XX");
    check(&plan, "c", "12", "ECM- _X.");
    check(&plan, "c", "+44", "ECM- _+X.");
    check(&plan, "c", "#1", "----");
}

#[test]
fn r20_dot_alone_matches_anything() {
    let plan = one_context(&["_."]);
    for dialled in ["*12", "#1", "a"] {
        check(&plan, "c", dialled, "ECM- _.");
    }
}

#[test]
fn r21_literal_first_then_specificity() {
    let plan = one_context(&["_X.", "_4XX", "418", "_41!"]);
    check(&plan, "c", "418", "EC-- 418 _41! _4XX _X.");
    check(&plan, "c", "419", "EC-- _41! _4XX _X.");
    check(&plan, "c", "42", "ECM- _X.");
}

#[test]
fn r22_documentation_example() {
    let plan = one_context(&[
        "_6XX1", "_64XX", "_640X", "_6.", "_64NX", "_6[45]NX", "_6[34]NX",
    ]);
    check(
        &plan,
        "c",
        "6421",
        "ECM- _64NX _64XX _6[34]NX _6[45]NX _6XX1 _6.",
    );
    check(&plan, "c", "6401", "ECM- _640X _64XX _6XX1 _6.");
}

#[test]
fn r23_fewer_members_first_and_dot_before_bang() {
    let plan = one_context(&["_[0-4]", "_[4-8]", "_[4-5]", "_[0-9]", "_3.", "_3!"]);
    check(&plan, "c", "4", "EC-- _[4-5] _[0-4] _[4-8] _[0-9]");
    check(&plan, "c", "31", "ECM- _3. _3!");
}

#[test]
fn r24_longer_pattern_first_and_bang_veto() {
    let plan = one_context(&["_5!", "_5XX"]);
    check(&plan, "c", "5", "ECM- _5!");
    check(&plan, "c", "555", "EC-- _5XX _5!");
    check(&plan, "c", "5555", "EC-- _5!");
}

#[test]
fn r25_bang_pattern_beats_the_exact_pattern() {
    check(&one_context(&["_12", "_12!"]), "c", "12", "EC-- _12! _12");
    check(
        &one_context(&["_12", "_12!", "12"]),
        "c",
        "12",
        "EC-- 12 _12! _12",
    );
}

#[test]
fn r26_duplicates_first_wins() {
    let plan = one_context(&["_X5", "_[0-9]5", "12-34", "1234", "_N7", "_[2-9]7", "9 9 9"]);
    assert_eq!(
        plan.stored_order("c"),
        Some(vec!["12-34", "999", "_N7", "_X5"])
    );
    check(&plan, "c", "1234", "EC-- 12-34");
    let mut builder = DialplanBuilder::new();
    assert_eq!(builder.add_extension("c", "_X5"), Ok(Added::New));
    assert_eq!(
        builder.add_extension("c", "_[0-9]5"),
        Ok(Added::DuplicateOf("_X5".into()))
    );
}

#[test]
fn r27_empty_set_hides_a_later_exact_pattern() {
    let plan = one_context(&["_12[]", "_12"]);
    assert_eq!(plan.stored_order("c"), Some(vec!["_12[]"]));
    check(&plan, "c", "12", "-CM-");
}

#[test]
fn r28_own_extensions_before_includes() {
    let plan = dialplan(&[("A", &["_X.", "include B"]), ("B", &["123", "_1XX"])]);
    check(&plan, "A", "123", "ECM- _X. B:123 B:_1XX");
}

#[test]
fn r29_includes_in_order_and_local_bang_veto() {
    let plan = dialplan(&[
        ("E", &["include F", "include G"]),
        ("F", &["_1!"]),
        ("G", &["_12X"]),
        ("H", &["_1!", "include G"]),
    ]);
    check(&plan, "E", "1", "ECM- F:_1!");
    check(&plan, "E", "123", "EC-- F:_1! G:_12X");
    check(&plan, "H", "1", "EC-- _1!");
}

#[test]
fn r30_literal_canmatch_and_matchmore() {
    let plan = one_context(&["418"]);
    check(&plan, "c", "", "-CM-");
    check(&plan, "c", "4", "-CM-");
    check(&plan, "c", "41", "-CM-");
    check(&plan, "c", "418", "EC-- 418");
    check(&plan, "c", "4180", "----");
}

#[test]
fn r31_ignorepat_is_exact_and_of_its_own_context() {
    let plan = dialplan(&[
        ("A", &["_X.", "ignorepat 9", "ignorepat _8X"]),
        ("B", &["include A"]),
    ]);
    check(&plan, "A", "9", "-CMI");
    check(&plan, "A", "91", "ECM- _X.");
    check(&plan, "A", "81", "ECMI _X.");
    check(&plan, "B", "9", "-CM-");
}

#[test]
fn r32_empty_dialled_string() {
    // `exists` as `ast_exists_extension` answers it (`DIALPLAN_EXISTS(c,,1)`
    // is 1 for each of these), but no extension ever runs for "": a channel
    // created for an empty extension starts at `s` (observed: `Originate
    // Local/@c` with only `_` in c ends at "invalid extension ... s").
    check(&one_context(&["_!"]), "c", "", "EC--");
    check(&one_context(&["_X."]), "c", "", "-CM-");
    check(&one_context(&["_"]), "c", "", "EC--");
    check(&one_context(&["_-"]), "c", "", "EC--");
    check(&one_context(&["_!X"]), "c", "", "EC--");
    // An empty set before the `!` is "more pattern" once the string is out.
    check(&one_context(&["_[]!"]), "c", "", "-CM-");
    check(&one_context(&["418"]), "c", "", "-CM-");
    // Through an include, and with a NUL (C strings end there).
    let plan = dialplan(&[("A", &["include B"]), ("B", &["_!"])]);
    check(&plan, "A", "", "EC--");
    check(&plan, "A", "\u{0}123", "EC--");
}

#[test]
fn only_separators_are_an_empty_number_that_does_run() {
    // A dash-only extension is kept by the channel (not replaced by `s`),
    // and every dash is skipped: observed `Originate Local/-@c` ran `_` and
    // `_-` with `${EXTEN}` = `-`, and DIALPLAN_EXISTS(c,---,1) = 1.
    check(&one_context(&["_"]), "c", "-", "EC-- _");
    check(&one_context(&["_-"]), "c", "---", "EC-- _-");
    check(&one_context(&["_!"]), "c", "-", "EC-- _!");
    check(&one_context(&["_!X"]), "c", "--", "EC-- _!X");
    check(&one_context(&["_X."]), "c", "-", "-CM-");
    check(&one_context(&["418"]), "c", "---", "-CM-");
}

#[test]
fn long_dialled_strings_have_no_limit_in_a_lookup() {
    // `ast_exists_extension` takes the whole string: DIALPLAN_EXISTS with
    // 100 and 300 digits against `_X.` is 1 (a channel keeps 79 characters,
    // but the lookup itself has no maximum).
    let long: String = (1..=300).map(|n| char::from(b'0' + (n % 10) as u8)).collect();
    let plan = one_context(&["_X.", &long[..100]]);
    check(&plan, "c", &long[..100], &format!("ECM- {} _X.", &long[..100]));
    check(&plan, "c", &long, "ECM- _X.");
    check(&plan, "c", &long[..79], "ECM- _X.");
}

#[test]
fn r33_dialled_pattern_equal_to_the_pattern() {
    let plan = one_context(&["_X."]);
    check(&plan, "c", "_X.", "EC-- _X.");
    check(&plan, "c", "_[0-9].", "EC-- _X.");
    check(&plan, "c", "_1", "----");
    // From the source: canmatch itself walks `_` against `X` and says no;
    // the observed C comes from "exists or canmatch".
    assert!(!plan.canmatch("c", "_X."));
}

#[test]
fn r34_include_names_case_sensitive_lookup_case_insensitive_duplicates() {
    let plan = dialplan(&[
        ("A", &["include r19b", "include R19B", "include r19c"]),
        ("R19B", &["2"]),
        ("r19c", &["3"]),
    ]);
    assert_eq!(plan.includes("A"), Some(vec!["r19b", "r19c"]));
    check(&plan, "A", "2", "----");
    check(&plan, "A", "3", "EC-- r19c:3");
}

#[test]
fn r35_include_cycles_are_harmless() {
    let plan = dialplan(&[
        ("A", &["_1X.", "include B", "include A"]),
        ("B", &["_1X", "include A"]),
    ]);
    check(&plan, "A", "12", "ECM- B:_1X");
    check(&plan, "A", "123", "ECM- _1X.");
}

#[test]
fn r36_one_visited_list_per_lookup() {
    let plan = dialplan(&[
        ("A", &["include C", "include B"]),
        ("C", &["include A", "include D"]),
        ("D", &["_X."]),
        ("B", &["123"]),
    ]);
    check(&plan, "A", "123", "ECM- D:_X. B:123");
}

#[test]
fn r37_visited_list_ignores_case() {
    let plan = dialplan(&[
        ("A", &["include vx", "include zz"]),
        ("zz", &["include VX"]),
        ("vx", &["1"]),
        ("VX", &["2"]),
    ]);
    check(&plan, "A", "1", "EC-- vx:1");
    check(&plan, "A", "2", "----");
}

#[test]
fn blanks_are_stripped_and_an_empty_pattern_equals_a_dash() {
    let plan = one_context(&["_", "_-", "9 9 9"]);
    assert_eq!(plan.stored_order("c"), Some(vec!["999", "_"]));
}

#[test]
fn lookups_give_up_after_128_contexts() {
    // A chain c0 -> c1 -> ... -> c200; only the last one has an extension.
    let names: Vec<String> = (0..=200).map(|n| format!("c{n}")).collect();
    let mut builder = DialplanBuilder::new();
    for pair in names.windows(2) {
        builder.add_include(&pair[0], &pair[1]);
    }
    builder.add_extension("c200", "1").expect("valid");
    builder.add_extension("c127", "2").expect("valid");
    builder.add_extension("c128", "3").expect("valid");
    let plan = builder.build();
    assert!(plan.exists("c0", "2"), "the 128th context is searched");
    assert!(!plan.exists("c0", "3"), "the 129th is not");
    assert!(plan.exists("c73", "1"));
    assert!(!plan.exists("c0", "1"));
}
