use super::*;
use crate::fixtures::{self, opts};
use crate::model::*;

/// The single error of `errors`, asserting its field and a message fragment.
fn single(errors: Vec<FieldError>, field: &str, fragment: &str) {
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    assert_eq!(errors[0].field, field, "{errors:#?}");
    assert!(errors[0].message.contains(fragment), "{:?} lacks {fragment:?}", errors[0].message);
}

fn snapshot_errors(s: &Snapshot) -> Vec<String> {
    snapshot(s).iter().map(|e| format!("{} {}", e.object, e.error)).collect()
}

fn assert_snapshot_error(s: &Snapshot, fragment: &str) {
    let errors = snapshot_errors(s);
    assert!(errors.iter().any(|e| e.contains(fragment)), "no {fragment:?} in {errors:#?}");
}

#[test]
fn the_seed_scenarios_are_valid() {
    for (name, s) in [("000", fixtures::seed_000()), ("001", fixtures::seed_001()), ("kinds", fixtures::trunk_kinds())] {
        assert_eq!(snapshot_errors(&s), Vec::<String>::new(), "seed {name}");
    }
}

fn sip_with(kind: SipSectionKind, key: &str, value: &str) -> Vec<FieldError> {
    let mut ep = fixtures::endpoint("u1", "ep", SipSections::default());
    ep.sections.push(kind, key, value);
    endpoint_sip(&ep)
}

#[test]
fn option_keys_must_be_real_options_of_their_section() {
    single(sip_with(SipSectionKind::Endpoint, "qualify", "yes"), "endpoint_section_options", "invalid variable (qualify)");
    single(sip_with(SipSectionKind::Endpoint, "qualify", "yes"), "endpoint_section_options", "qualify_frequency");
    single(sip_with(SipSectionKind::Endpoint, "type", "endpoint"), "endpoint_section_options", "written by Patchbay");
    single(sip_with(SipSectionKind::Auth, "secret", "x"), "auth_section_options", "`password`");
    single(sip_with(SipSectionKind::Registration, "max_random_initial_delay", "0"), "registration_section_options", "must be one of (auth_rejection_permanent,");
    single(sip_with(SipSectionKind::Identify, "endpoint_name", "x"), "identify_section_options", "match_header");
    assert_eq!(sip_with(SipSectionKind::Aor, "qualify_frequency", "60"), vec![]);
    assert_eq!(sip_with(SipSectionKind::OutboundAuth, "username", "u"), vec![]);
    assert_eq!(sip_with(SipSectionKind::RegistrationOutboundAuth, "password", "p;w"), vec![]);
    assert_eq!(sip_with(SipSectionKind::Identify, "match_header", "X-Dest-User: abc123"), vec![]);
}

#[test]
fn option_values_refuse_what_could_change_the_config_or_be_evaluated() {
    let cases = [
        ("", "may not be empty"),
        ("pa\nss", "control characters"),
        ("pa\rss", "control characters"),
        ("${SHELL(id)}", "`${` and `$[`"),
        ("$[1+1]", "`${` and `$[`"),
        (" padded", "blanks"),
    ];
    for (value, fragment) in cases {
        single(sip_with(SipSectionKind::Auth, "password", value), "auth_section_options", fragment);
    }
    single(sip_with(SipSectionKind::Endpoint, "callerid", "Bob, Inc <5>"), "endpoint_section_options", "','");
    single(sip_with(SipSectionKind::Endpoint, "context", "from;x"), "endpoint_section_options", "';'");
    single(sip_with(SipSectionKind::Endpoint, "set_var", "NOEQUALS"), "endpoint_section_options", "NAME=value");
    single(sip_with(SipSectionKind::Endpoint, "set_var", "A B=1"), "endpoint_section_options", "variable name");
    single(sip_with(SipSectionKind::Identify, "match_header", "X Dest: a"), "identify_section_options", "header name");
    assert_eq!(sip_with(SipSectionKind::Endpoint, "set_var", "PJSIP_HEADER(add,X-Foo)=bar baz"), vec![]);
}

#[test]
fn sip_names_follow_the_section_name_rule() {
    let name = |n: &str| {
        let mut ep = fixtures::endpoint("u1", n, SipSections::default());
        ep.label = None;
        endpoint_sip(&ep)
    };
    assert_eq!(name("wazo-trunk_1.b"), vec![]);
    single(name(""), "name", "may not be empty");
    single(name("a b"), "name", "' ' is not allowed");
    single(name("x]\n[evil"), "name", "']' is not allowed");
    single(name("global"), "name", "reserved");
    single(name("auth_reg_provider"), "name", "reserved for generated auth sections");
    single(name(&"a".repeat(80)), "name", "at most 79");
}

#[test]
fn too_many_options_are_refused() {
    let mut ep = fixtures::endpoint("u1", "ep", SipSections::default());
    ep.sections.endpoint_section_options = vec![("allow".into(), "ulaw".into()); 513];
    single(endpoint_sip(&ep), "endpoint_section_options", "at most 512");
}

#[test]
fn the_nat_example_of_seed_002_says_where_the_address_goes() {
    let t = Transport {
        uuid: "tr".into(),
        name: "transport-udp".into(),
        options: opts(&[("local_net", "192.168.0.0/16"), ("external_media_port", "203.0.113.7"), ("external_signaling_address", "203.0.113.7")]),
    };
    single(transport(&t), "options", "goes in `external_media_address`");
    let bad_value = Transport { options: opts(&[("bind", "0.0.0.0:5060;x")]), ..t };
    single(transport(&bad_value), "options", "';' is not allowed");
}

#[test]
fn exten_rules_depend_on_the_context_type() {
    use ContextKind::*;
    let ok = [("_**99.", Outcall), ("418.", Outcall), ("_+33.", Outcall), ("+33.", Outcall), ("_0XXXXXXXXX", Outcall), ("101", Incall), ("_1XX", Internal), ("*99#", Internal)];
    for (exten, kind) in ok {
        assert_eq!(extension(&fixtures::extension(1, exten, "ctx"), kind), vec![], "{exten} in {kind:?}");
    }
    let bad = [
        ("+33", Incall, "does not match"),
        ("418.", Incall, "does not match"),
        ("s", Internal, "does not match"),
        ("h", Incall, "does not match"),
        ("1,1,Hangup", Outcall, "does not match"),
        ("_1[23", Outcall, "unclosed `[`"),
        ("_1]2", Internal, "without a matching"),
        ("_1[[2]]", Outcall, "do not nest"),
        ("", Outcall, "does not match"),
    ];
    for (exten, kind, fragment) in bad {
        single(extension(&fixtures::extension(1, exten, "ctx"), kind), "exten", fragment);
    }
}

#[test]
fn context_rules() {
    let mut c = fixtures::context(1, "from-extern", ContextKind::Incall, &[2, 2]);
    single(context(&c), "contexts", "included twice");
    c.contexts = vec![IdRef { id: ContextId(1) }];
    single(context(&c), "contexts", "cannot include itself");
    c.contexts.clear();
    for (name, fragment) in [("general", "reserved"), ("pb-outcall-1", "reserved for Patchbay"), ("a;b", "';'"), ("ctx\n[x]", "'\\n'")] {
        c.name = name.into();
        single(context(&c), "name", fragment);
    }
}

#[test]
fn outcall_rules() {
    let mut o = fixtures::outcall(1, "out", &[1, 1], vec![]);
    single(outcall(&o), "trunks", "Cannot associate same trunk more than once");
    o.trunks.pop();
    let mut p = fixtures::pattern(5, Some(2), Some("Smith, John <555>"));
    p.external_prefix = Some("0a".into());
    o.extensions = vec![p];
    let errors = outcall(&o);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(errors[0].field, "extensions[0].external_prefix");
    assert_eq!(errors[1].field, "extensions[0].caller_id");
    o.extensions[0].external_prefix = Some("+00".into());
    o.extensions[0].caller_id = Some("".into());
    assert_eq!(outcall(&o), vec![]);
    o.preprocess_subroutine = Some("sub,1".into());
    single(outcall(&o), "preprocess_subroutine", "','");
}

#[test]
fn a_failover_policy_may_not_both_move_on_and_stop_on_one_outcome() {
    let mut o = fixtures::outcall(1, "out", &[1], vec![]);
    assert_eq!(outcall(&o), vec![]);
    o.failover_policy.next_trunk_on.push(FailureOutcome::Code(486));
    single(outcall(&o), "failover_policy", "`486` is both in next_trunk_on and in stop_on");
    // A class in one list and one of its codes in the other is a refinement.
    o.failover_policy.next_trunk_on.pop();
    o.failover_policy.stop_on.push(FailureOutcome::Code(503));
    assert_eq!(outcall(&o), vec![]);
}

#[test]
fn user_caller_id_rules() {
    let mut u = fixtures::base().users.remove(0);
    for (value, ok) in [("\"Alice\" <1001>", true), ("\"Alice\"", true), ("Alice", false), ("\"Al${X}\"", false)] {
        u.caller_id = Some(value.into());
        assert_eq!(user(&u).is_empty(), ok, "{value}: {:?}", user(&u));
    }
    u.caller_id = None;
    for (value, ok) in [("", true), ("default", true), ("anonymous", true), ("\"Bob\" <555>", true), ("555", true), ("$[1+1]", false), ("Bob\n", false)] {
        u.outgoing_caller_id = Some(value.into());
        assert_eq!(user(&u).is_empty(), ok, "{value:?}: {:?}", user(&u));
    }
}

#[test]
fn custom_and_iax_rules() {
    let mut c = fixtures::trunk_kinds().endpoints_custom.remove(0);
    c.interface_suffix = Some("@ctx&PJSIP/x".into());
    single(endpoint_custom(&c), "interface_suffix", "'&'");
    c.interface_suffix = None;
    c.interface = "Local,foo".into();
    single(endpoint_custom(&c), "interface", "','");
    let mut i = fixtures::trunk_kinds().endpoints_iax.remove(0);
    i.options.push(("type".into(), "peer".into()));
    single(endpoint_iax(&i), "options", "own field");
    i.options.pop();
    i.host = "a b".into();
    single(endpoint_iax(&i), "host", "' '");
}

#[test]
fn incall_rules() {
    let mut i = fixtures::incall_to_user(1, 2, 3);
    i.caller_id_name = Some("VIP ${X}".into());
    single(incall(&i), "caller_id_name", "'$'");
    i.caller_id_name = None;
    i.destination = Destination::User { user_id: UserId(3), ring_time: Some(-1.0) };
    single(incall(&i), "destination.ring_time", "greater than or equal to 0");
    i.destination = Destination::Extension { exten: "1001,2".into(), context: "default".into() };
    single(incall(&i), "destination.exten", "','");
}

#[test]
fn pjsip_global_and_system_keys() {
    let mut g = PjsipGlobal::default();
    g.options.insert("user_agent".into(), "Patchbay".into());
    assert_eq!(pjsip_global(&g), vec![]);
    g.options.insert("type".into(), "global".into());
    single(pjsip_global(&g), "options", "invalid variable (type)");
    let mut s = PjsipSystem::default();
    s.options.insert("user_agent".into(), "x".into());
    single(pjsip_system(&s), "options", "invalid variable (user_agent)");
}

#[test]
fn references_must_exist() {
    let mut s = fixtures::seed_000();
    s.trunks[0].context = Some("nope".into());
    assert_snapshot_error(&s, "Context was not found ('context': 'nope')");
    let mut s = fixtures::seed_000();
    s.outcalls[0].trunks.push(IdRef { id: TrunkId(99) });
    assert_snapshot_error(&s, "Trunk was not found ('id': 99)");
    let mut s = fixtures::seed_000();
    s.incalls[0].destination = Destination::User { user_id: UserId(42), ring_time: None };
    assert_snapshot_error(&s, "User was not found ('user_id': 42)");
    let mut s = fixtures::seed_000();
    s.endpoints_sip[1].templates.push(UuidRef::new("missing"));
    assert_snapshot_error(&s, "endpoint_sip was not found");
}

#[test]
fn extensions_bind_to_contexts_of_the_right_type() {
    let mut s = fixtures::seed_000();
    s.outcalls[0].extensions.push(fixtures::pattern(18, None, None));
    assert_snapshot_error(&s, "ContextType 'incall' cannot be associated");
    assert_snapshot_error(&s, "associated with several objects: outcall 3, incall 4");
}

#[test]
fn tenants_do_not_mix() {
    let mut s = fixtures::seed_000();
    s.tenants.push(Tenant { uuid: "tenant-b".into(), name: "B".into(), slug: "b".into() });
    s.outcalls[0].tenant_uuid = "tenant-b".into();
    assert_snapshot_error(&s, "different tenants");
}

#[test]
fn names_are_unique_in_their_namespace() {
    let mut s = fixtures::seed_000();
    s.endpoints_sip[1].name = "transport-udp".into();
    assert_snapshot_error(&s, "SIPTransport already exists");
    let mut s = fixtures::seed_000();
    s.extensions.push(fixtures::extension(99, "101", "from-extern"));
    assert_snapshot_error(&s, "Extension already exists ('exten': '101', 'context': 'from-extern')");
}

#[test]
fn one_endpoint_belongs_to_one_trunk_and_never_to_a_line() {
    let mut s = fixtures::seed_000();
    s.trunks.push(fixtures::trunk(2, None, Some(TrunkEndpoint::Sip("ep-wazo".into()))));
    assert_snapshot_error(&s, "already belongs to another trunk");
    let mut s = fixtures::seed_000();
    s.trunks[0].endpoint = Some(TrunkEndpoint::Sip("ep-alice".into()));
    assert_snapshot_error(&s, "Line is associated with a Endpoint");
}

#[test]
fn template_cycles_are_refused() {
    let mut s = fixtures::base();
    let mut a = fixtures::endpoint("tpl-a", "tpl-a", SipSections::default());
    let mut b = fixtures::endpoint("tpl-b", "tpl-b", SipSections::default());
    a.templates.push(UuidRef::new("tpl-b"));
    b.templates.push(UuidRef::new("tpl-a"));
    s.sip_templates = vec![a, b];
    assert_snapshot_error(&s, "Cannot use itself as template");
}

#[test]
fn uris_and_codec_lists_that_asterisk_would_refuse_are_refused_here() {
    single(sip_with(SipSectionKind::Aor, "contact", "sip:127.0.0.1;x,n"), "aor_section_options", "not allowed");
    single(sip_with(SipSectionKind::Aor, "contact", "127.0.0.1"), "aor_section_options", "SIP URI");
    single(sip_with(SipSectionKind::Endpoint, "allow", "ulaw;x"), "endpoint_section_options", "codec names");
    for (kind, key, value) in [
        (SipSectionKind::Aor, "contact", "sip:trunk@198.51.100.7:5060;transport=udp"),
        (SipSectionKind::Registration, "server_uri", "sip:voip.provider.example.com"),
        (SipSectionKind::Endpoint, "allow", "!all,ulaw,alaw"),
    ] {
        assert_eq!(sip_with(kind, key, value), vec![], "{key} = {value}");
    }
}

#[test]
fn option_values_fit_one_ami_header_line() {
    let ok_ascii = "x".repeat(text::MAX_OPTION_VALUE_BYTES);
    let ok_utf8 = "é".repeat(text::MAX_OPTION_VALUE_BYTES / 2);
    for value in [&ok_ascii, &ok_utf8] {
        assert!(sip_with(SipSectionKind::Auth, "password", value).is_empty());
    }
    let too_long_ascii = "x".repeat(text::MAX_OPTION_VALUE_BYTES + 1);
    let too_long_utf8 = "é".repeat(text::MAX_OPTION_VALUE_BYTES / 2 + 1);
    for value in [&too_long_ascii, &too_long_utf8] {
        single(sip_with(SipSectionKind::Auth, "password", value), "auth_section_options", "at most 1000 bytes");
    }
}

#[test]
fn custom_destinations_run_one_allowed_application() {
    let mut i = fixtures::incall_to_user(1, 1, 1);
    let errors_for = |i: &Incall| incall(i).into_iter().map(|e| (e.field, e.message)).collect::<Vec<_>>();
    i.destination = Destination::Custom { command: "Playback(tt-monkeys)".into() };
    assert!(errors_for(&i).is_empty(), "{:?}", errors_for(&i));
    for bad in ["System(rm -rf /)", "Playback", "Pb(x)", "Dial(PJSIP/other)", "Playback(${SHELL(id)})", "Playback(a;b)"] {
        i.destination = Destination::Custom { command: bad.into() };
        let errors = errors_for(&i);
        assert!(errors.iter().any(|(field, _)| field == "destination.command"), "{bad}: {errors:?}");
    }
    i.destination = Destination::Hangup { cause: HangupCause::Busy, timeout: Some(-1.0) };
    assert_eq!(errors_for(&i), vec![("destination.timeout".to_string(), "Must be greater than or equal to 0.".to_string())]);
}
