use super::*;
use crate::fixtures::{self, opts};
use crate::model::*;

mod injection;

/// The lines of the sections named `name` with `type = kind`.
fn pjsip_section(r: &Rendered, name: &str, kind: &str) -> Vec<(String, String)> {
    let found: Vec<&Section> = r.pjsip.sections_named(name).filter(|s| s.values("type").next() == Some(kind)).collect();
    assert_eq!(found.len(), 1, "[{name}] type={kind} in\n{}", r.pjsip.to_text());
    found[0].lines.clone()
}

fn has_pjsip_section(r: &Rendered, name: &str, kind: &str) -> bool {
    r.pjsip.sections_named(name).any(|s| s.values("type").next() == Some(kind))
}

/// The dialplan lines of one context.
fn context_lines(r: &Rendered, name: &str) -> Vec<String> {
    let section = r.extensions.sections_named(name).next().unwrap_or_else(|| panic!("no [{name}]"));
    section.lines.iter().map(|(k, v)| format!("{k} => {v}")).collect()
}

fn contains_line(lines: &[String], wanted: &str) {
    assert!(lines.iter().any(|l| l == wanted), "no line {wanted:?} in {lines:#?}");
}

#[test]
fn seed_000_two_pbxs_through_star_star_99() {
    let r = render(&fixtures::seed_000());
    let default = context_lines(&r, "default");
    contains_line(&default, "include => to-extern");
    contains_line(&default, "exten => 1001,1,Dial(PJSIP/alice-phone)");
    let out = context_lines(&r, "to-extern");
    contains_line(&out, "same => n(dial),Gosub(pb-outcall-3,s,1(${FILTER(0-9*#+,${EXTEN:4})}))");
    let sub = context_lines(&r, "pb-outcall-3");
    contains_line(&sub, "same => n(trunk1),HangupCauseClear()");
    contains_line(&sub, "same => n,Dial(PJSIP/${ARG1}@wazo-trunk)");
    let did = context_lines(&r, "from-extern");
    contains_line(&did, "exten => 101,1,NoOp(incall 4)");
    contains_line(&did, "same => n,Dial(PJSIP/alice-phone)");

    let endpoint = pjsip_section(&r, "wazo-trunk", "endpoint");
    assert!(endpoint.contains(&("context".into(), "from-extern".into())));
    assert!(endpoint.contains(&("outbound_auth".into(), "outbound_auth_wazo-trunk".into())));
    assert!(endpoint.contains(&("auth".into(), "wazo-trunk".into())));
    let registration = pjsip_section(&r, "wazo-trunk", "registration");
    assert!(registration.contains(&("outbound_auth".into(), "auth_reg_wazo-trunk".into())));
    assert!(registration.contains(&("endpoint".into(), "wazo-trunk".into())));
    // Asterisk refuses a registration naming an endpoint without `line = yes`.
    assert!(registration.contains(&("line".into(), "yes".into())));
    assert!(registration.contains(&("auth_rejection_permanent".into(), "no".into())));
    assert_eq!(pjsip_section(&r, "auth_reg_wazo-trunk", "auth")[1..], opts(&[("username", "wazo-trunk"), ("password", "pass")])[..]);
    assert_eq!(pjsip_section(&r, "wazo-trunk", "identify")[1..], opts(&[("endpoint", "wazo-trunk"), ("match", "wazo-b.example.com")])[..]);
}

#[test]
fn trunk_sections_come_in_wazo_order() {
    let r = render(&fixtures::seed_000());
    let order: Vec<String> = r.pjsip.sections.iter()
        .filter(|s| s.name.contains("wazo-trunk"))
        .map(|s| format!("{}:{}", s.name, s.values("type").next().unwrap()))
        .collect();
    assert_eq!(order, [
        "wazo-trunk:endpoint", "wazo-trunk:aor", "wazo-trunk:auth", "wazo-trunk:identify",
        "outbound_auth_wazo-trunk:auth", "auth_reg_wazo-trunk:auth", "wazo-trunk:registration",
    ]);
}

#[test]
fn seed_003_auth_only_trunk_never_registers() {
    let r = render(&fixtures::trunk_kinds());
    assert!(pjsip_section(&r, "bandwidth", "endpoint").contains(&("outbound_auth".into(), "outbound_auth_bandwidth".into())));
    assert!(has_pjsip_section(&r, "outbound_auth_bandwidth", "auth"));
    assert!(!has_pjsip_section(&r, "bandwidth", "registration"), "it must not register");
    assert!(!has_pjsip_section(&r, "auth_reg_bandwidth", "auth"));
    assert!(!has_pjsip_section(&r, "bandwidth", "auth"), "no inbound challenge");
}

#[test]
fn header_matched_trunk_identifies_by_header() {
    let r = render(&fixtures::trunk_kinds());
    let endpoint = pjsip_section(&r, "shared-provider", "endpoint");
    assert!(endpoint.contains(&("identify_by".into(), "header,auth_username,username".into())));
    assert!(endpoint.contains(&("set_var".into(), "PJSIP_HEADER(add,X-Tenant)=acme".into())));
    assert_eq!(pjsip_section(&r, "shared-provider", "identify")[1..], opts(&[("endpoint", "shared-provider"), ("match_header", "X-Dest-User: abc123")])[..]);
}

#[test]
fn every_trunk_kind_has_its_dial_string_in_failover_order() {
    let r = render(&fixtures::trunk_kinds());
    let sub = context_lines(&r, "pb-outcall-7");
    let dials: Vec<&String> = sub.iter().filter(|l| l.contains("Dial(")).collect();
    assert_eq!(dials, [
        "same => n,Dial(PJSIP/${ARG1}@bandwidth)",
        "same => n,Dial(PJSIP/${ARG1}@shared-provider)",
        "same => n,Dial(Local/${ARG1}@pbx-b-in)",
        "same => n,Dial(IAX2/iax-peer/${ARG1})",
    ]);
    for n in 1..=4 {
        contains_line(&sub, &format!("same => n(trunk{n}),HangupCauseClear()"));
    }
    // The default policy, after trunk 1: codes first, then classes.
    contains_line(&sub, "same => n,GotoIf($[\"${PB_SIP_CODE}\" = \"408\"]?trunk2)");
    contains_line(&sub, "same => n,GotoIf($[\"${PB_SIP_CODE}\" = \"486\"]?stop)");
    contains_line(&sub, "same => n,GotoIf($[\"${PB_SIP_CODE:0:1}\" = \"5\"]?trunk2)");
    contains_line(&sub, "same => n,GotoIf($[\"${DIALSTATUS}\" = \"NOANSWER\"]?trunk2)");
    contains_line(&sub, "same => n(trunk1_nosip),GotoIf($[\"${DIALSTATUS}\" = \"BUSY\"]?stop)");
    // After the last trunk, moving on means giving up.
    contains_line(&sub, "same => n,GotoIf($[\"${PB_SIP_CODE:0:1}\" = \"5\"]?exhausted)");
    assert!(!sub.iter().any(|l| l.contains("\"BUSY\"]?trunk")), "BUSY must not fail over");
    let out = context_lines(&r, "to-extern");
    contains_line(&out, "same => n(dial),Gosub(pb-outcall-7,s,1(00${FILTER(0-9*#+,${EXTEN:1})}))");
    contains_line(&out, "same => n,Set(CALLERID(name)=ACME)");
    contains_line(&out, "same => n,Set(CALLERID(num)=5551234)");
    let iax = &r.iax.sections[0];
    assert_eq!(iax.name, "iax-peer");
    assert_eq!(iax.lines, opts(&[("type", "friend"), ("host", "iax.example.com"), ("context", "from-extern"), ("secret", "iaxpw"), ("qualify", "yes")]));
}

#[test]
fn each_attempt_reads_the_sip_code_of_its_own_dial() {
    let mut s = fixtures::trunk_kinds();
    s.outcalls[0].failover_policy = FailoverPolicy {
        next_trunk_on: vec![FailureOutcome::Class(5)],
        stop_on: vec![FailureOutcome::Code(503), FailureOutcome::Unreachable],
        otherwise: FailoverAction::Stop,
    };
    let sub = context_lines(&render(&s), "pb-outcall-7");
    let after_first: Vec<&String> = sub.iter().skip_while(|l| !l.contains("(trunk1)")).take_while(|l| !l.contains("(trunk2)")).collect();
    let position = |needle: &str| after_first.iter().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle} in {after_first:#?}"));
    assert!(position("HangupCauseClear()") < position("Dial("));
    assert!(position("Dial(") < position("HANGUPCAUSE(${PB_CAUSE_CHANNELS},tech)"));
    assert!(position("= \"503\"]?stop") < position("= \"5\"]?trunk2"), "the code beats its class");
    contains_line(&sub, "same => n,Goto(stop)");
    contains_line(&sub, "same => n,Set(PB_SIP_CODE=${IF($[\"${PB_TECH_CAUSE:0:3}\" = \"SIP\"]?${PB_TECH_CAUSE:4:3})})");
    contains_line(&sub, "same => n(stop),GotoIf($[\"${PB_HANGUP_CAUSE}\" = \"\"]?done)");
    contains_line(&sub, "same => n,Hangup(${PB_HANGUP_CAUSE})");
    let unreachable: Vec<&String> = sub.iter().filter(|l| l.contains("(trunk1_nosip)")).collect();
    assert_eq!(unreachable.len(), 1);
    let next = &sub[sub.iter().position(|l| l.contains("(trunk1_nosip)")).unwrap() + 1];
    assert_eq!(next, "same => n,Goto(stop)", "unreachable stops with this policy");
}

#[test]
fn an_outcall_without_trunks_fails_with_congestion() {
    let mut s = fixtures::seed_000();
    s.outcalls[0].trunks.clear();
    let sub = context_lines(&render(&s), "pb-outcall-3");
    assert!(!sub.iter().any(|l| l.contains("Dial(")));
    contains_line(&sub, "same => n(exhausted),Hangup(34)");
}

#[test]
fn internal_caller_id_skips_every_other_layer() {
    let mut s = fixtures::trunk_kinds();
    s.outcalls[0].internal_caller_id = true;
    let out = context_lines(&render(&s), "to-extern");
    assert!(!out.iter().any(|l| l.contains("CALLERID")), "{out:#?}");
}

#[test]
fn templates_are_flattened_and_overridden_by_the_endpoint() {
    let mut s = fixtures::seed_000();
    let mut global = fixtures::endpoint("tpl-global", "global-tpl", SipSections {
        endpoint_section_options: opts(&[("allow", "!all,alaw"), ("direct_media", "no"), ("set_var", "TIMEOUT(absolute)=36000")]),
        aor_section_options: opts(&[("qualify_frequency", "60")]),
        ..Default::default()
    });
    global.transport = Some(UuidRef::new("tr-udp"));
    let mut reg = fixtures::endpoint("tpl-reg", "reg-tpl", SipSections {
        registration_section_options: opts(&[("retry_interval", "20"), ("auth_rejection_permanent", "yes")]),
        ..Default::default()
    });
    reg.templates = vec![UuidRef::new("tpl-global")];
    reg.transport = None;
    s.sip_templates = vec![global, reg];
    let trunk_ep = s.endpoints_sip.iter_mut().find(|e| e.name == "wazo-trunk").unwrap();
    trunk_ep.templates = vec![UuidRef::new("tpl-reg")];
    trunk_ep.transport = None;
    trunk_ep.sections.endpoint_section_options = opts(&[("allow", "!all,ulaw"), ("context", "default")]);
    let r = render(&s);
    let endpoint = pjsip_section(&r, "wazo-trunk", "endpoint");
    assert_eq!(endpoint, opts(&[
        ("type", "endpoint"), ("context", "default"), ("allow", "!all,ulaw"), ("direct_media", "no"),
        ("transport", "transport-udp"), ("aors", "wazo-trunk"), ("auth", "wazo-trunk"),
        ("outbound_auth", "outbound_auth_wazo-trunk"),
        ("set_var", "__WAZO_TENANT_UUID=tenant-a"), ("set_var", "TIMEOUT(absolute)=36000"),
    ]));
    let registration = pjsip_section(&r, "wazo-trunk", "registration");
    assert_eq!(registration[..3], opts(&[("type", "registration"), ("retry_interval", "20"), ("auth_rejection_permanent", "no")])[..]);
    assert!(pjsip_section(&r, "wazo-trunk", "aor").contains(&("qualify_frequency".into(), "60".into())));
    assert!(r.pjsip.sections_named("global-tpl").next().is_none(), "templates are never written");
}

#[test]
fn global_and_system_carry_their_type() {
    let mut s = fixtures::base();
    s.pjsip_global.options.insert("user_agent".into(), "Patchbay".into());
    s.pjsip_system.options.insert("timer_t1".into(), "500".into());
    let r = render(&s);
    assert_eq!(r.pjsip.sections[0].lines, opts(&[("type", "global"), ("user_agent", "Patchbay")]));
    assert_eq!(r.pjsip.sections[1].lines, opts(&[("type", "system"), ("timer_t1", "500")]));
}

#[test]
fn user_outgoing_caller_id_travels_as_line_variables() {
    type Case<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)]);
    let cases: [Case; 5] = [
        (None, &[]),
        (Some("default"), &[]),
        (Some("anonymous"), &[("set_var", "PB_OUTCID_ANON=1")]),
        (Some("\"Bob\" <555>"), &[("set_var", "PB_OUTCID_SET=1"), ("set_var", "PB_OUTCID_NAME=Bob"), ("set_var", "PB_OUTCID_NUM=555")]),
        (Some("\"Bob\""), &[("set_var", "PB_OUTCID_SET=1"), ("set_var", "PB_OUTCID_NAME=Bob"), ("set_var", "PB_OUTCID_NUM=1001")]),
    ];
    for (setting, expected) in cases {
        let mut s = fixtures::base();
        s.users[0].outgoing_caller_id = setting.map(str::to_owned);
        let endpoint = pjsip_section(&render(&s), "alice-phone", "endpoint");
        let vars: Vec<(String, String)> = endpoint.into_iter().filter(|(k, v)| k == "set_var" && v.starts_with("PB_")).collect();
        assert_eq!(vars, opts(expected), "{setting:?}");
    }
}

#[test]
fn incall_caller_id_modes() {
    let cases = [
        (CallerIdMode::Overwrite, "same => n,Set(CALLERID(name)=VIP)"),
        (CallerIdMode::Prepend, "same => n,Set(CALLERID(name)=VIP - ${CALLERID(name)})"),
        (CallerIdMode::Append, "same => n,Set(CALLERID(name)=${CALLERID(name)} - VIP)"),
    ];
    for (mode, line) in cases {
        let mut s = fixtures::seed_000();
        s.incalls[0].caller_id_mode = Some(mode);
        s.incalls[0].caller_id_name = Some("VIP".into());
        contains_line(&context_lines(&render(&s), "from-extern"), line);
    }
}

#[test]
fn rendering_is_deterministic_and_independent_of_input_order() {
    let s = fixtures::trunk_kinds();
    let mut shuffled = s.clone();
    shuffled.trunks.reverse();
    shuffled.contexts.reverse();
    shuffled.extensions.reverse();
    shuffled.endpoints_sip.reverse();
    shuffled.outcalls.reverse();
    for (a, b) in [(render(&s), render(&s)), (render(&s), render(&shuffled))] {
        assert_eq!(a.pjsip.to_text(), b.pjsip.to_text());
        assert_eq!(a.extensions.to_text(), b.extensions.to_text());
        assert_eq!(a.iax.to_text(), b.iax.to_text());
    }
}

/// Applications available with the minimal module set of the live tests
/// (pbx builtins, app_dial, app_stack, func_hangupcause).
const MINIMAL_APPS: [&str; 8] = ["NoOp", "Dial", "Hangup", "Goto", "GotoIf", "Set", "Gosub", "HangupCauseClear"];

/// Checks extensions.conf the way pbx_config reads it: every statement is
/// `include`, `exten => NAME,1[(label)],App(args)` or `same => n[(label)],App(args)`;
/// every application exists in the minimal module set; every label a
/// Goto/GotoIf names exists in the same extension.
fn assert_valid_dialplan(file: &ConfigFile) {
    for section in &file.sections {
        let mut labels: Vec<String> = Vec::new();
        let mut targets: Vec<String> = Vec::new();
        let check_targets = |labels: &mut Vec<String>, targets: &mut Vec<String>| {
            for t in targets.drain(..) {
                assert!(labels.contains(&t), "[{}]: label {t:?} not defined", section.name);
            }
            labels.clear();
        };
        for (key, value) in &section.lines {
            let rest = match key.as_str() {
                "include" => continue,
                "exten" => {
                    check_targets(&mut labels, &mut targets);
                    let (name, rest) = value.split_once(',').expect("exten has a name");
                    assert!(!name.is_empty());
                    rest.strip_prefix('1').unwrap_or_else(|| panic!("first priority is 1: {value}"))
                }
                "same" => value.strip_prefix('n').unwrap_or_else(|| panic!("same => n: {value}")),
                other => panic!("unexpected key {other}"),
            };
            let rest = match rest.strip_prefix('(') {
                Some(labelled) => {
                    let (label, after) = labelled.split_once(')').unwrap();
                    labels.push(label.to_owned());
                    after
                }
                None => rest,
            };
            let call = rest.strip_prefix(',').unwrap_or_else(|| panic!("comma after priority: {value}"));
            let (app, args) = call.split_once('(').unwrap_or_else(|| panic!("App(args): {value}"));
            assert!(MINIMAL_APPS.contains(&app), "{app} is not in the minimal module set");
            assert!(args.ends_with(')'), "{value}");
            if app == "Goto" && !args.contains(',') {
                targets.push(args.trim_end_matches(')').to_owned());
            }
            if app == "GotoIf" {
                targets.push(args.rsplit_once('?').unwrap().1.trim_end_matches(')').to_owned());
            }
        }
        check_targets(&mut labels, &mut targets);
    }
}

#[test]
fn the_rendered_dialplan_is_valid_pbx_config_syntax() {
    for s in [fixtures::seed_000(), fixtures::seed_001(), fixtures::trunk_kinds()] {
        assert_valid_dialplan(&render(&s).extensions);
    }
}

#[test]
fn incall_hangup_and_custom_destinations_render_as_wazo_runs_them() {
    let mut s = fixtures::seed_000();
    let cases = [
        (Destination::None, "Hangup()"),
        (Destination::Hangup { cause: HangupCause::Normal, timeout: None }, "Hangup()"),
        (Destination::Hangup { cause: HangupCause::Busy, timeout: Some(4.5) }, "Busy(5)"),
        (Destination::Hangup { cause: HangupCause::Congestion, timeout: None }, "Congestion()"),
        (Destination::Custom { command: "Playback(tt-monkeys,noanswer)".into() }, "Playback(tt-monkeys,noanswer)"),
    ];
    for (destination, app) in cases {
        s.incalls[0].destination = destination.clone();
        let plan = DialplanPlan::new(&s);
        let did = plan.contexts.iter().flat_map(|c| &c.extensions).find(|e| matches!(e.role, ExtensionRole::Incall { .. })).expect("the DID");
        assert!(did.priorities.iter().any(|p| p.app == app), "{destination:?}: {:?}", did.priorities);
    }
}

/// A trunk's number plan: its endpoint's calls enter `pb-trunk-in-<id>`,
/// which writes each form of DID and looks it up in the trunk's context;
/// the outcall's attempt on it converts the number and the caller ID
/// through `pb-number-<id>-<format>` and dials the converted number.
#[test]
fn a_trunk_number_plan_renders_its_contexts() {
    use crate::numbers::{NumberPlan, OutboundFormat};
    let mut s = fixtures::seed_000();
    s.trunks[0].number_plan = Some(NumberPlan {
        country: "FR".into(),
        outbound: OutboundFormat::National,
        caller_id: OutboundFormat::PlusE164,
        inbound: Some(OutboundFormat::E164),
        did_from: Default::default(),
    });
    let r = render(&s);
    let endpoint = pjsip_section(&r, "wazo-trunk", "endpoint");
    assert!(endpoint.contains(&("context".into(), "pb-trunk-in-1".into())), "{endpoint:?}");
    let inbound = context_lines(&r, "pb-trunk-in-1");
    contains_line(&inbound, "exten => _0XXXXXXXXX,1,Set(__PB_DID_RECEIVED=${EXTEN})");
    contains_line(&inbound, "same => n,Set(PB_DID=33${EXTEN:1})");
    contains_line(&inbound, "same => n,GotoIf(${DIALPLAN_EXISTS(from-extern,${PB_DID},1)}?from-extern,${PB_DID},1)");
    contains_line(&inbound, "exten => s,1,Goto(from-extern,s,1)");
    let national = context_lines(&r, "pb-number-1-national");
    contains_line(&national, "exten => _+33XXXXXXXXX,1,Return(0${EXTEN:3})");
    contains_line(&national, "exten => _+XXXXXXXXXXX,1,Return(00${EXTEN:1})");
    contains_line(&national, "exten => _[0-9*#+].,1,Return(${EXTEN})");
    let plus = context_lines(&r, "pb-number-1-plus-e164");
    contains_line(&plus, "exten => _0XXXXXXXXX,1,Return(+33${EXTEN:1})");
    let sub = context_lines(&r, "pb-outcall-3");
    contains_line(&sub, "same => n,Set(PB_CALLER_NUM=${CALLERID(num)})");
    contains_line(&sub, "same => n,GosubIf($[\"${ARG1}\" != \"\"]?pb-number-1-national,${ARG1},1)");
    contains_line(&sub, "same => n,Set(PB_NUMBER=${GOSUB_RETVAL})");
    contains_line(&sub, "same => n,GosubIf($[\"${PB_CALLER_DIGITS}\" != \"\"]?pb-number-1-plus-e164,${PB_CALLER_DIGITS},1)");
    contains_line(&sub, "same => n,Dial(PJSIP/${PB_NUMBER}@wazo-trunk)");
    // The generated contexts load in the matcher without a refusal.
    let (_, rejected) = DialplanPlan::new(&s).matcher();
    assert_eq!(rejected, vec![]);
}

/// A plan whose country is not in the table (validation refuses it; a
/// stored row could still hold one) renders nothing of its own: no text
/// from it reaches a file.
#[test]
fn a_number_plan_with_an_unknown_country_renders_nothing() {
    use crate::numbers::{NumberPlan, OutboundFormat};
    let mut s = fixtures::seed_000();
    s.trunks[0].number_plan = Some(NumberPlan {
        country: "CA)\n[evil]\nexten => s,1,System(x)".into(),
        outbound: OutboundFormat::National,
        caller_id: OutboundFormat::National,
        inbound: Some(OutboundFormat::E164),
        did_from: Default::default(),
    });
    let r = render(&s);
    let text = format!("{}{}", r.extensions.to_text(), r.pjsip.to_text());
    assert!(!text.contains("evil") && !text.contains("pb-trunk-in-") && !text.contains("pb-number-"), "{text}");
    let endpoint = pjsip_section(&r, "wazo-trunk", "endpoint");
    assert!(endpoint.contains(&("context".into(), "from-extern".into())), "{endpoint:?}");
}

/// A provider that puts the DID in the To header: every Request-URI enters
/// the same reading of To, whose user is looked up among the forms.
#[test]
fn a_did_read_from_the_to_header() {
    use crate::numbers::{DidSource, NumberPlan, OutboundFormat};
    let mut s = fixtures::seed_000();
    s.trunks[0].number_plan = Some(NumberPlan {
        country: "CA".into(),
        outbound: OutboundFormat::AsDialled,
        caller_id: OutboundFormat::AsDialled,
        inbound: Some(OutboundFormat::E164),
        did_from: DidSource::To,
    });
    let r = render(&s);
    let entry = context_lines(&r, "pb-trunk-in-1");
    contains_line(&entry, "exten => _[0-9a-zA-Z*#+].,1,Set(PB_DID_HEADER=${PJSIP_HEADER(read,To)})");
    contains_line(&entry, "same => n,GotoIf($[\"${PB_DID_FOUND}\" != \"\"]?pb-trunk-did-1,${PB_DID_FOUND},1)");
    let forms = context_lines(&r, "pb-trunk-did-1");
    contains_line(&forms, "same => n,Set(PB_DID=1${EXTEN})");
    let (_, rejected) = DialplanPlan::new(&s).matcher();
    assert_eq!(rejected, vec![]);
}

/// A group rings its members' lines together (priority order), for the
/// incall's `ring_time` or else the group's `timeout`, from the DID and
/// from the group's own extension.
#[test]
fn a_group_rings_its_members_together_from_its_incall_and_its_extension() {
    let mut s = fixtures::group_of_two();
    let r = render(&s);
    let incall = context_lines(&r, "from-extern");
    contains_line(&incall, "same => n,Dial(PJSIP/alice-phone&PJSIP/bob-phone,20)");
    let internal = context_lines(&r, "default");
    contains_line(&internal, "exten => 1500,1,NoOp(group 5)");
    contains_line(&internal, "same => n,Dial(PJSIP/alice-phone&PJSIP/bob-phone,20)");
    assert_valid_dialplan(&r.extensions);
    s.incalls[0].destination = Destination::Group { group_id: GroupId(5), ring_time: Some(7.5) };
    contains_line(&context_lines(&render(&s), "from-extern"), "same => n,Dial(PJSIP/alice-phone&PJSIP/bob-phone,8)");
    s.groups[0].enabled = false;
    let incall = context_lines(&render(&s), "from-extern");
    assert!(!incall.iter().any(|l| l.contains("Dial(")), "{incall:?}");
}

/// A group's label and caller-ID name reach the dialplan only escaped.
#[test]
fn a_group_caller_id_name_is_escaped() {
    let mut s = fixtures::group_of_two();
    s.groups[0].caller_id_mode = Some(CallerIdMode::Prepend);
    s.groups[0].caller_id_name = Some("Sales ${SHELL(id)}".into());
    let incall = context_lines(&render(&s), "from-extern");
    assert!(!incall.iter().any(|l| l.contains("${SHELL")), "{incall:?}");
}

#[test]
fn trunk_objects_are_the_trunks_sections_and_no_line_s() {
    let s = fixtures::seed_000();
    let r = render(&s);
    let objects = super::pjsip_trunk_objects(&s);
    let trunk: Vec<(String, String)> = r.pjsip.sections.iter()
        .filter(|s| s.name.contains("wazo-trunk"))
        .map(|s| (s.name.clone(), s.values("type").next().unwrap().to_owned()))
        .collect();
    assert_eq!(objects, trunk.into_iter().collect(), "every section of the trunk's endpoint, nothing else");
    let lines: Vec<&String> = s.lines.iter().filter_map(|l| Some(&s.endpoint_sip(&l.endpoint_sip.as_ref()?.uuid)?.name)).collect();
    assert!(!lines.is_empty() && lines.iter().all(|name| !objects.iter().any(|(n, _)| n == *name)), "a line's endpoint stays in the file");
}
