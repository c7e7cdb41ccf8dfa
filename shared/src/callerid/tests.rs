use super::*;

fn parsed(name: Option<&str>, number: Option<&str>) -> ParsedCallerId {
    ParsedCallerId { name: name.map(str::to_owned), number: number.map(str::to_owned) }
}

#[test]
fn parse_accepts_every_wazo_form() {
    let table = [
        (r#""ACME" <5551234>"#, parsed(Some("ACME"), Some("5551234"))),
        ("ACME Corp <+15551234>", parsed(Some("ACME Corp"), Some("+15551234"))),
        (r#""Alice Doe""#, parsed(Some("Alice Doe"), None)),
        ("Alice", parsed(Some("Alice"), None)),
        ("5551234", parsed(None, Some("5551234"))),
        ("+33123456789", parsed(None, Some("+33123456789"))),
        ("<555>", parsed(None, Some("555"))),
        (r#""" <555>"#, parsed(None, Some("555"))),
        (r#""O'Brien & Sons" <*99#>"#, parsed(Some("O'Brien & Sons"), Some("*99#"))),
        ("  Émilie  ", parsed(Some("Émilie"), None)),
    ];
    for (input, expected) in table {
        assert_eq!(parse(input), Ok(expected), "{input}");
    }
}

#[test]
fn parse_rejects_what_could_reach_asterisk_unescaped() {
    let table = [
        ("", "empty"),
        ("\"\"", "neither"),
        (r#""Bob" <55a5>"#, "not a number"),
        (r#""Bob <555>"#, "unclosed"),
        ("Bob>", "without `<`"),
        ("${SHELL(rm -rf /)}", "may not contain '$'"),
        (r#""$[1+1]" <555>"#, "may not contain '$'"),
        ("Bob\nexten => 1,1,Hangup", "may not contain '\\n'"),
        ("Bob\r", "may not contain '\\r'"),
        ("Bob;comment", "may not contain ';'"),
        ("Smith, John", "may not contain ','"),
        ("a=b", "may not contain '='"),
        ("[section]", "may not contain '['"),
        ("Bob (home)", "may not contain '('"),
        ("back\\slash", "may not contain '\\\\'"),
    ];
    for (input, fragment) in table {
        let err = parse(input).expect_err(input);
        assert!(err.contains(fragment), "{input:?}: {err}");
    }
}

#[test]
fn outgoing_setting_null_empty_and_default_are_the_same() {
    for value in [None, Some(""), Some("  "), Some("default")] {
        assert_eq!(OutgoingCallerId::from_setting(value), OutgoingCallerId::Default, "{value:?}");
    }
    assert_eq!(OutgoingCallerId::from_setting(Some("anonymous")), OutgoingCallerId::Anonymous);
    assert!(matches!(OutgoingCallerId::from_setting(Some("${X}")), OutgoingCallerId::Invalid(_)));
}

#[test]
fn a_users_own_caller_id_takes_the_line_number_when_it_has_none() {
    let user = |caller_id| CallingUser { caller_id, line_number: "1001", outgoing_caller_id: None };
    let p = |name: &str, number: &str| Presented { name: name.into(), number: number.into() };
    assert_eq!(user(Some(r#""Alice""#)).own(), p("Alice", "1001"));
    assert_eq!(user(Some(r#""Alice" <2000>"#)).own(), p("Alice", "2000"));
    assert_eq!(user(None).own(), p("1001", "1001"));
}

/// One row of the precedence table.
struct Case {
    internal: bool,
    /// `None`: the caller is a trunk, not a user.
    outgoing: Option<Option<&'static str>>,
    route: Option<&'static str>,
    name: &'static str,
    number: &'static str,
    presentation: Presentation,
    layer: Layer,
}

fn check(case: &Case) -> Resolved {
    let trunk_default = Presented { name: "Inbound".into(), number: "0999".into() };
    let user = case.outgoing.map(|outgoing_caller_id| CallingUser {
        caller_id: Some(r#""Alice""#),
        line_number: "1001",
        outgoing_caller_id,
    });
    let default = user.map(|u| u.own()).unwrap_or(trunk_default);
    let resolved = resolve(&CallerIdInputs {
        internal_caller_id: case.internal,
        user,
        route_caller_id: case.route,
        default: &default,
    });
    let label = format!(
        "internal={} outgoing={:?} route={:?}",
        case.internal, case.outgoing, case.route
    );
    assert_eq!(resolved.caller_id.name, case.name, "{label}");
    assert_eq!(resolved.caller_id.number, case.number, "{label}");
    assert_eq!(resolved.presentation, case.presentation, "{label}");
    assert_eq!(resolved.layer, case.layer, "{label}");
    resolved
}

const ACME: Option<&str> = Some(r#""ACME" <5551234>"#);
const BOB: Option<&str> = Some(r#""Bob" <555>"#);

#[test]
fn the_precedence_table() {
    use Layer::*;
    use Presentation::*;
    let cases = [
        // 1. internal_caller_id beats everything, even anonymous and a forced value.
        Case { internal: true, outgoing: Some(BOB), route: ACME, name: "Alice", number: "1001", presentation: Allowed, layer: InternalCallerId },
        Case { internal: true, outgoing: Some(Some("anonymous")), route: ACME, name: "Alice", number: "1001", presentation: Allowed, layer: InternalCallerId },
        Case { internal: true, outgoing: None, route: ACME, name: "Inbound", number: "0999", presentation: Allowed, layer: InternalCallerId },
        // 2. the user's outgoing caller ID beats the outcall's.
        Case { internal: false, outgoing: Some(BOB), route: ACME, name: "Bob", number: "555", presentation: Allowed, layer: UserOutgoingCallerId },
        Case { internal: false, outgoing: Some(BOB), route: None, name: "Bob", number: "555", presentation: Allowed, layer: UserOutgoingCallerId },
        Case { internal: false, outgoing: Some(Some(r#""Bob""#)), route: ACME, name: "Bob", number: "1001", presentation: Allowed, layer: UserOutgoingCallerId },
        Case { internal: false, outgoing: Some(Some("5550000")), route: ACME, name: "5550000", number: "5550000", presentation: Allowed, layer: UserOutgoingCallerId },
        Case { internal: false, outgoing: Some(Some("anonymous")), route: ACME, name: "ACME", number: "5551234", presentation: Prohibited, layer: UserOutgoingCallerId },
        Case { internal: false, outgoing: Some(Some("anonymous")), route: None, name: "Alice", number: "1001", presentation: Prohibited, layer: UserOutgoingCallerId },
        // 3. default / null / empty fall through to the outcall's caller ID.
        Case { internal: false, outgoing: Some(Some("default")), route: ACME, name: "ACME", number: "5551234", presentation: Allowed, layer: OutcallCallerId },
        Case { internal: false, outgoing: Some(None), route: ACME, name: "ACME", number: "5551234", presentation: Allowed, layer: OutcallCallerId },
        Case { internal: false, outgoing: Some(Some("")), route: ACME, name: "ACME", number: "5551234", presentation: Allowed, layer: OutcallCallerId },
        Case { internal: false, outgoing: None, route: ACME, name: "ACME", number: "5551234", presentation: Allowed, layer: OutcallCallerId },
        Case { internal: false, outgoing: Some(None), route: Some(r#""ACME""#), name: "ACME", number: "1001", presentation: Allowed, layer: OutcallCallerId },
        Case { internal: false, outgoing: Some(None), route: Some("5551234"), name: "5551234", number: "5551234", presentation: Allowed, layer: OutcallCallerId },
        // An unparseable user value is ignored, like Wazo does.
        Case { internal: false, outgoing: Some(Some("${SHELL(id)}")), route: ACME, name: "ACME", number: "5551234", presentation: Allowed, layer: OutcallCallerId },
        // 4. nothing set: the default.
        Case { internal: false, outgoing: Some(None), route: None, name: "Alice", number: "1001", presentation: Allowed, layer: Default },
        Case { internal: false, outgoing: Some(Some("default")), route: Some(""), name: "Alice", number: "1001", presentation: Allowed, layer: Default },
        Case { internal: false, outgoing: None, route: None, name: "Inbound", number: "0999", presentation: Allowed, layer: Default },
        Case { internal: false, outgoing: Some(None), route: Some("Bad; name"), name: "Alice", number: "1001", presentation: Allowed, layer: Default },
    ];
    for case in &cases {
        check(case);
    }
}

#[test]
fn the_explanation_says_why_each_higher_layer_did_not_apply() {
    let resolved = check(&Case {
        internal: false,
        outgoing: Some(Some("")),
        route: None,
        name: "Alice",
        number: "1001",
        presentation: Presentation::Allowed,
        layer: Layer::Default,
    });
    assert_eq!(
        resolved.explanation,
        vec![
            "the outcall does not set internal_caller_id",
            "the user's outgoing_caller_id is empty, treated as `default`",
            "the outcall pattern has no caller_id",
            "the default caller ID \"Alice\" <1001> is kept",
        ]
    );
    let anonymous = check(&Case {
        internal: false,
        outgoing: Some(Some("anonymous")),
        route: ACME,
        name: "ACME",
        number: "5551234",
        presentation: Presentation::Prohibited,
        layer: Layer::UserOutgoingCallerId,
    });
    assert_eq!(anonymous.explanation.len(), 2);
    assert!(anonymous.explanation[1].contains("`anonymous`"), "{:?}", anonymous.explanation);
}
