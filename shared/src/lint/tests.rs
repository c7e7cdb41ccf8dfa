use super::*;
use crate::fixtures::{self, opts};

fn codes(s: &Snapshot) -> Vec<&'static str> {
    lint_snapshot(s).iter().map(|l| l.code).collect()
}

fn find<'a>(lints: &'a [Lint], code: &str) -> &'a Lint {
    lints.iter().find(|l| l.code == code).unwrap_or_else(|| panic!("no {code} in {lints:#?}"))
}

#[test]
fn the_clean_seed_000_has_no_errors_or_warnings() {
    // Two PBXs interconnected: only the missing emergency route is worth a warning.
    let lints = lint_snapshot(&fixtures::seed_000());
    assert!(lints.iter().all(|l| l.severity == Severity::Info || l.code == "no-emergency-route"), "{lints:#?}");
}

#[test]
fn seed_001_literal_418_dot_is_reported_not_rewritten() {
    let s = fixtures::seed_001();
    let lints = lint_snapshot(&s);
    let l = find(&lints, "literal-with-pattern-characters");
    assert_eq!(l.message.split(';').next().unwrap(), "Asterisk treats this as the literal string `418.`");
    assert!(l.message.contains("did you mean `_418.`?"));
    assert_eq!(l.objects, [ObjectRef::new(ObjectKind::Extension, 20)]);
    assert!(crate::render::render(&s).extensions.to_text().contains("exten => 418.,1,"), "rendered as written");
}

#[test]
fn exact_duplicates_under_asterisk_ordering() {
    let mut s = fixtures::seed_000();
    s.extensions.push(fixtures::extension(40, "_**99X.", "to-extern"));
    s.extensions.push(fixtures::extension(41, "_**99[0-9].", "to-extern"));
    s.outcalls[0].extensions.push(fixtures::pattern(40, Some(4), None));
    s.outcalls[0].extensions.push(fixtures::pattern(41, Some(4), None));
    let lints = lint_snapshot(&s);
    let dup = find(&lints, "duplicate-extension");
    assert!(dup.message.contains("`_**99[0-9].` in `to-extern` never runs"), "{}", dup.message);
    assert!(dup.message.contains("`_**99X.`"), "{}", dup.message);
    assert_eq!(dup.objects, [ObjectRef::new(ObjectKind::Extension, 41)]);
}

#[test]
fn a_pattern_covered_by_earlier_ones_is_shadowed() {
    let mut s = fixtures::seed_000();
    let add = |s: &mut Snapshot, id: u64, exten: &str| {
        s.extensions.push(fixtures::extension(id, exten, "to-extern"));
        s.outcalls[0].extensions.push(fixtures::pattern(id, None, None));
    };
    // A one-member position sorts before a two-member set: `_02XX` and
    // `_03XX` come first and take every number `_0[2-3]X[0-9]` matches.
    add(&mut s, 40, "_0[2-3]X[0-9]");
    add(&mut s, 41, "_02XX");
    assert!(!codes(&s).contains(&"shadowed-pattern"), "03xx still reaches it");
    add(&mut s, 42, "_03XX");
    let lints = lint_snapshot(&s);
    let l = find(&lints, "shadowed-pattern");
    assert_eq!(l.message, "`_0[2-3]X[0-9]` in `to-extern` never wins: every number it matches is taken first by `_02XX`, `_03XX`");
    assert_eq!(l.objects, [ObjectRef::new(ObjectKind::Extension, 40)]);
    // A wider pattern that still wins some numbers is not reported.
    add(&mut s, 43, "_0[1-3]XX");
    let shadowed: Vec<String> = lint_snapshot(&s).into_iter().filter(|l| l.code == "shadowed-pattern").map(|l| l.message).collect();
    assert_eq!(shadowed.len(), 1, "{shadowed:#?}");
}

#[test]
fn an_outcall_pattern_that_takes_an_internal_number() {
    let mut s = fixtures::seed_000();
    // A second internal context whose line number `2001` is only reached
    // through an include searched after `to-extern`.
    s.contexts.push(fixtures::context(4, "office", ContextKind::Internal, &[]));
    s.contexts[0].contexts.push(IdRef { id: ContextId(4) });
    s.extensions.push(fixtures::extension(50, "2001", "office"));
    s.endpoints_sip.push(fixtures::endpoint("ep-bob", "bob-phone", SipSections::default()));
    s.lines.push(Line { id: LineId(2), tenant_uuid: fixtures::T.into(), user_id: None, endpoint_sip: Some(UuidRef::new("ep-bob")), extension_id: Some(ExtensionId(50)) });
    s.extensions.push(fixtures::extension(51, "_XXXX", "to-extern"));
    s.outcalls[0].extensions.push(fixtures::pattern(51, None, None));
    let lints = lint_snapshot(&s);
    let swallowed = find(&lints, "outcall-swallows-internal-number");
    assert_eq!(swallowed.severity, Severity::Error);
    assert!(swallowed.message.starts_with("from `default`, dialling 2001 (a line in `office`) matches outcall pattern `_XXXX` in `to-extern` first"), "{}", swallowed.message);
    let overlap = find(&lints, "outcall-pattern-overlaps-internal-number");
    assert!(overlap.message.contains("also matches 1001, but 1001 is an extension of `default` itself"), "{}", overlap.message);
    assert!(!lints.iter().any(|l| l.code == "outcall-swallows-internal-number" && l.message.contains("1001")));
}

#[test]
fn outcalls_without_trunks_and_unused_trunks() {
    let mut s = fixtures::seed_000();
    s.outcalls[0].trunks.clear();
    let lints = lint_snapshot(&s);
    assert_eq!(find(&lints, "outcall-without-trunk").severity, Severity::Error);
    assert_eq!(find(&lints, "trunk-not-used-by-any-outcall").objects, [ObjectRef::new(ObjectKind::Trunk, 1)]);
    s.outcalls[0].enabled = false;
    assert!(!codes(&s).contains(&"outcall-without-trunk"), "a disabled outcall is not expected to dial");
}

#[test]
fn incall_destination_user_missing_or_without_line() {
    let mut s = fixtures::seed_000();
    s.incalls[0].destination = Destination::User { user_id: UserId(9), ring_time: None };
    assert!(codes(&s).contains(&"incall-user-missing"));
    let mut s = fixtures::seed_000();
    s.lines.clear();
    assert!(codes(&s).contains(&"incall-user-without-line"));
}

#[test]
fn registration_user_part_must_be_the_far_sides_aor_name() {
    let mut s = fixtures::seed_001();
    let lints = lint_snapshot(&s);
    assert!(!lints.iter().any(|l| l.code.starts_with("registration")), "{lints:#?}");
    let ep = s.endpoints_sip.iter_mut().find(|e| e.name == "provider").unwrap();
    ep.sections.registration_section_options = opts(&[("server_uri", "sip:voip.provider.example.com"), ("client_uri", "sip:voip.provider.example.com")]);
    let lints = lint_snapshot(&s);
    assert_eq!(find(&lints, "registration-without-user").objects, [ObjectRef::new(ObjectKind::EndpointSip, "ep-provider")]);
    assert!(find(&lints, "registration-rejection-permanent").message.contains("Rejected forever"));
    let ep = s.endpoints_sip.iter_mut().find(|e| e.name == "provider").unwrap();
    ep.sections.registration_section_options = opts(&[("client_uri", "sip:other@voip.provider.example.com"), ("auth_rejection_permanent", "no")]);
    let l = find(&lint_snapshot(&s), "registration-aor-name").clone();
    assert!(l.message.contains("registers as `other` but authenticates as `0123456789`"), "{}", l.message);
}

#[test]
fn the_seed_002_nat_mistake_is_caught() {
    let mut s = fixtures::base();
    s.transports[0].options.push(("external_media_port".into(), "203.0.113.7".into()));
    let l = find(&lint_snapshot(&s), "external-media-port-holds-address").clone();
    assert!(l.message.contains("the option is `external_media_address`"));
    s.transports[0].options.last_mut().unwrap().1 = "10000".into();
    assert!(!codes(&s).contains(&"external-media-port-holds-address"));
}

#[test]
fn samples_cover_each_position() {
    assert_eq!(samples("_1[2-3]"), ["12", "13"]);
    assert_eq!(samples("_N").len(), 8);
    assert_eq!(samples("_5!"), ["5", "50", "555"]);
    let long = samples("_XXXXXXXXXX");
    assert!(long.len() <= 2000, "{}", long.len());
    assert!(long.contains(&"0000000000".to_owned()));
}

/// Emergency routes: none at all; one whose number another pattern takes
/// first; one without a usable trunk.
#[test]
fn emergency_routes_missing_shadowed_or_without_trunk() {
    let s = fixtures::seed_000();
    let codes = |s: &Snapshot| lint_snapshot(s).into_iter().map(|l| (l.code, l.message)).collect::<Vec<_>>();
    assert!(codes(&s).iter().any(|(c, m)| *c == "no-emergency-route" && m.contains("Tenant A")), "{:?}", codes(&s));

    let mut s = fixtures::seed_000();
    s.extensions.push(fixtures::extension(40, "911", "to-extern"));
    s.outcalls.push(fixtures::outcall(9, "emergency", &[1], vec![fixtures::pattern(40, None, None)]));
    s.outcalls[1].emergency = Some(Emergency { callback_number: "5145550100".into(), test_number: Some("933".into()) });
    assert!(!codes(&s).iter().any(|(c, _)| c.starts_with("emergency") || *c == "no-emergency-route"), "{:?}", codes(&s));
    // Alice's line on 911 in `default`, searched before the include.
    s.extensions[0].exten = "911".into();
    let found = codes(&s);
    assert!(found.iter().any(|(c, m)| *c == "emergency-number-shadowed" && m.contains("dialling 911 runs `911` in `default`")), "{found:?}");
    // No usable trunk.
    s.outcalls[1].trunks.clear();
    assert!(codes(&s).iter().any(|(c, _)| *c == "emergency-route-without-trunk"), "{:?}", codes(&s));
}

/// `no-emergency-route` warns only for a tenant that can call out: an
/// enabled outcall with a trunk that exists. Outcalls that are all
/// disabled, or name no trunk (or only a deleted one), place no call.
#[test]
fn no_emergency_route_only_for_a_tenant_that_can_call_out() {
    let warned = |s: &Snapshot| lint_snapshot(s).iter().any(|l| l.code == "no-emergency-route");
    let s = fixtures::seed_000();
    assert!(warned(&s), "seed 000's outcall reaches a trunk");

    let mut s = fixtures::seed_000();
    s.outcalls.iter_mut().for_each(|o| o.enabled = false);
    assert!(!warned(&s), "every outcall disabled");

    let mut s = fixtures::seed_000();
    s.outcalls.iter_mut().for_each(|o| o.trunks.clear());
    assert!(!warned(&s), "no outcall names a trunk");

    let mut s = fixtures::seed_000();
    s.outcalls.iter_mut().for_each(|o| o.trunks = vec![IdRef { id: TrunkId(999) }]);
    assert!(!warned(&s), "the only trunk named does not exist");

    // One disabled trunkless route beside a working one: still warned.
    let mut s = fixtures::seed_000();
    s.outcalls.push(fixtures::outcall(9, "parked", &[], vec![]));
    s.outcalls[1].enabled = false;
    assert!(warned(&s));
}
