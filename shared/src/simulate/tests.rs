use super::*;
use crate::fixtures::{self, T};

fn run(s: &Snapshot, caller: Caller<'_>, dialled: &str) -> Trace {
    simulate(s, T, caller, dialled)
}

fn dials(trace: &Trace) -> Vec<&str> {
    trace.outcall.as_ref().expect("an outcall").trunks.iter().filter_map(|t| t.dial.as_deref()).collect()
}

fn winner(trace: &Trace) -> (String, String) {
    let w = trace.winner.as_ref().expect("a winner");
    (w.context.clone(), w.exten.clone())
}

#[test]
fn seed_000_star_star_99_goes_to_the_other_pbx() {
    let t = run(&fixtures::seed_000(), Caller::User(UserId(1)), "**99101");
    assert_eq!(t.context.as_deref(), Some("default"));
    assert_eq!(t.contexts_searched, ["default", "to-extern"]);
    assert_eq!(winner(&t), ("to-extern".into(), "_**99.".into()));
    assert_eq!(t.kind, RouteKind::Outcall);
    let out = t.outcall.as_ref().unwrap();
    assert_eq!(out.number, "101");
    assert_eq!(out.strip_digits, 4);
    assert_eq!(dials(&t), ["PJSIP/101@wazo-trunk"]);
    assert_eq!(out.failover_policy, FailoverPolicy::default());
    assert_eq!(out.caller_id.caller_id, Presented { name: "Alice Doe".into(), number: "1001".into() });
    assert_eq!(out.caller_id.layer, callerid::Layer::Default);
    assert_eq!(t.overlap.verdict, OverlapVerdict::CompleteButLongerMatches);
}

#[test]
fn a_prefix_alone_says_keep_dialling() {
    let t = run(&fixtures::seed_000(), Caller::User(UserId(1)), "**99");
    assert_eq!(t.kind, RouteKind::None);
    assert_eq!(t.overlap.verdict, OverlapVerdict::KeepDialling);
    assert!(t.explanation.last().unwrap().contains("keep dialling"), "{:?}", t.explanation);
    let none = run(&fixtures::seed_000(), Caller::User(UserId(1)), "7");
    assert_eq!(none.overlap.verdict, OverlapVerdict::NoRoute);
}

#[test]
fn an_empty_number_runs_nothing_and_says_why() {
    let t = run(&fixtures::seed_000(), Caller::User(UserId(1)), "");
    assert_eq!(t.kind, RouteKind::None);
    assert_eq!(t.winner, None);
    assert!(t.explanation.last().unwrap().contains("starts such a call at `s`"), "{:?}", t.explanation);
}

#[test]
fn internal_extensions_ring_the_line() {
    let t = run(&fixtures::seed_000(), Caller::User(UserId(1)), "1001");
    assert_eq!(t.kind, RouteKind::User);
    assert_eq!(t.destination.as_deref(), Some("PJSIP/alice-phone"));
    assert_eq!(t.overlap.verdict, OverlapVerdict::Complete);
}

#[test]
fn seed_000_the_did_from_the_trunk_rings_the_user() {
    let t = run(&fixtures::seed_000(), Caller::Trunk(TrunkId(1)), "101");
    assert_eq!(winner(&t), ("from-extern".into(), "101".into()));
    assert_eq!(t.kind, RouteKind::Incall);
    assert_eq!(t.destination.as_deref(), Some("PJSIP/alice-phone"));
    let plus = run(&fixtures::seed_000(), Caller::Trunk(TrunkId(1)), "+101");
    assert_eq!(plus.dialled, "101");
    assert_eq!(plus.kind, RouteKind::Incall);
    assert!(plus.explanation.iter().any(|e| e.contains("strips the leading `+`")));
}

#[test]
fn seed_001_literal_418_dot_never_matches_a_real_number() {
    let s = fixtures::seed_001();
    let t = run(&s, Caller::User(UserId(1)), "4181234567");
    assert_eq!(t.kind, RouteKind::None);
    assert_eq!(t.overlap.verdict, OverlapVerdict::NoRoute);
    let literal = run(&s, Caller::User(UserId(1)), "418.");
    assert_eq!(winner(&literal), ("to-extern".into(), "418.".into()));
    let did = run(&s, Caller::Trunk(TrunkId(1)), "4185550100");
    assert_eq!(did.destination.as_deref(), Some("PJSIP/alice-phone"));
}

#[test]
fn every_trunk_kind_dial_string_in_failover_order() {
    let t = run(&fixtures::trunk_kinds(), Caller::User(UserId(1)), "90123");
    assert_eq!(t.outcall.as_ref().unwrap().number, "000123");
    assert_eq!(dials(&t), [
        "PJSIP/000123@bandwidth",
        "PJSIP/000123@shared-provider",
        "Local/000123@pbx-b-in",
        "IAX2/iax-peer/000123",
    ]);
    let cid = &t.outcall.as_ref().unwrap().caller_id;
    assert_eq!(cid.caller_id, Presented { name: "ACME".into(), number: "5551234".into() });
    assert_eq!(cid.layer, callerid::Layer::OutcallCallerId);
}

#[test]
fn skipped_trunks_say_why() {
    let mut s = fixtures::trunk_kinds();
    s.endpoints_custom[0].enabled = false;
    s.outcalls[0].trunks.push(IdRef { id: TrunkId(99) });
    let t = run(&s, Caller::User(UserId(1)), "90123");
    let trunks = &t.outcall.as_ref().unwrap().trunks;
    assert_eq!(trunks[2].skipped.as_deref(), Some("trunk 3: its custom endpoint is disabled"));
    assert_eq!(trunks[4].skipped.as_deref(), Some("trunk 99 does not exist"));
}

#[test]
fn the_user_outgoing_caller_id_and_anonymous_reach_the_trace() {
    let mut s = fixtures::trunk_kinds();
    s.users[0].outgoing_caller_id = Some("anonymous".into());
    let cid = run(&s, Caller::User(UserId(1)), "90123").outcall.unwrap().caller_id;
    assert_eq!(cid.presentation, callerid::Presentation::Prohibited);
    s.users[0].outgoing_caller_id = Some("\"Bob\" <555>".into());
    let cid = run(&s, Caller::User(UserId(1)), "90123").outcall.unwrap().caller_id;
    assert_eq!(cid.caller_id, Presented { name: "Bob".into(), number: "555".into() });
}

#[test]
fn a_dialled_ampersand_cannot_add_a_dial_target() {
    let t = run(&fixtures::trunk_kinds(), Caller::User(UserId(1)), "9123&PJSIP/evil");
    assert_eq!(t.kind, RouteKind::Outcall);
    assert_eq!(dials(&t)[0], "PJSIP/00123@bandwidth");
}

#[test]
fn runner_ups_are_listed_in_asterisk_order() {
    let mut s = fixtures::trunk_kinds();
    s.extensions.push(fixtures::extension(31, "_9.", "to-extern"));
    s.outcalls.push(fixtures::outcall(8, "catch-all", &[1], vec![fixtures::pattern(31, None, None)]));
    let t = run(&s, Caller::User(UserId(1)), "90123");
    assert_eq!(winner(&t), ("to-extern".into(), "_9X.".into()));
    assert_eq!(t.runner_ups.iter().map(|m| m.exten.as_str()).collect::<Vec<_>>(), ["_9.".to_owned()]);
}

#[test]
fn callers_outside_the_tenant_get_no_route() {
    let t = simulate(&fixtures::seed_000(), "tenant-b", Caller::User(UserId(1)), "1001");
    assert_eq!(t.kind, RouteKind::None);
    assert!(t.explanation[0].contains("does not exist in this tenant"));
}

#[test]
fn a_simulator_built_once_answers_like_simulate() {
    for s in [fixtures::seed_000(), fixtures::seed_001(), fixtures::trunk_kinds()] {
        let sim = Simulator::new(&s);
        let callers = [Caller::User(UserId(1)), Caller::Trunk(TrunkId(1)), Caller::Context("to-extern"), Caller::User(UserId(99))];
        for caller in callers {
            for dialled in ["", "*", "**99", "**99101", "418", "4185550100", "+4185550100", "90123", "1001", "101", "7"] {
                assert_eq!(sim.simulate(T, caller, dialled), simulate(&s, T, caller, dialled), "{caller:?} {dialled}");
            }
        }
    }
}

#[test]
fn a_simulator_owns_a_shared_snapshot_with_many_patterns() {
    let mut s = fixtures::seed_000();
    let patterns: Vec<_> = (0..2000u64)
        .map(|i| {
            let id = 1000 + i;
            s.extensions.push(fixtures::extension(id, &format!("_7{i:04}XX"), "to-extern"));
            fixtures::pattern(id, Some(1), None)
        })
        .collect();
    s.outcalls.push(fixtures::outcall(50, "many", &[1], patterns));
    let sim = Simulator::new(std::sync::Arc::new(s));
    let t = sim.simulate(T, Caller::User(UserId(1)), "7123456");
    assert_eq!(winner(&t), ("to-extern".into(), "_71234XX".into()));
    assert_eq!(t.outcall.as_ref().unwrap().number, "123456");
    assert_eq!(t, simulate(sim.snapshot(), T, Caller::User(UserId(1)), "7123456"));
    assert_eq!(sim.simulate(T, Caller::User(UserId(1)), "71234").overlap.verdict, OverlapVerdict::KeepDialling);
}

#[test]
fn the_simulator_tells_what_each_failure_of_each_trunk_leads_to() {
    let t = run(&fixtures::trunk_kinds(), Caller::Context("to-extern"), "9418555");
    let out = t.outcall.as_ref().expect("an outcall");
    let first = &out.trunks[0];
    let next_of = |failure: AttemptResult| first.on_failure.iter().find(|b| b.failure == failure).map(|b| (b.action, b.next.clone())).unwrap();
    let second = out.trunks[1].trunk_id;
    assert_eq!(next_of(AttemptResult::Sip(503)), (FailoverAction::NextTrunk, format!("trunk {second} is tried next")));
    assert_eq!(next_of(AttemptResult::Sip(486)), (FailoverAction::Stop, "the call ends: the caller gets 486 Busy Here".into()));
    let last = out.trunks.iter().rev().find(|t| t.dial.is_some()).unwrap();
    assert!(last.on_failure.iter().any(|b| b.failure == AttemptResult::Sip(503) && b.next.contains("no trunk is left")), "{:?}", last.on_failure);
    assert!(t.explanation.iter().any(|l| l.contains("the call ends on 486, 600, 603, 404")), "{:?}", t.explanation);
}

#[test]
fn following_chosen_failures_walks_the_trunks_until_one_stops() {
    let t = run(&fixtures::trunk_kinds(), Caller::Context("to-extern"), "9418555");
    let out = t.outcall.as_ref().expect("an outcall");
    let steps = follow_failures(out, &[AttemptResult::Sip(503), AttemptResult::Sip(486), AttemptResult::Sip(503)]);
    assert_eq!(steps.len(), 2, "{steps:#?}");
    assert!(steps[0].contains("503 Service Unavailable: trunk"), "{steps:#?}");
    assert!(steps[1].ends_with("the call ends: the caller gets 486 Busy Here"), "{steps:#?}");
    let answered = follow_failures(out, &[AttemptResult::Unreachable]);
    assert_eq!(answered.len(), 2);
    assert!(answered[1].ends_with(": answered"), "{answered:#?}");
}

fn plan(country: &str, outbound: OutboundFormat, caller_id: OutboundFormat, inbound: Option<OutboundFormat>) -> Option<crate::numbers::NumberPlan> {
    Some(crate::numbers::NumberPlan { country: country.into(), outbound, caller_id, inbound, did_from: Default::default() })
}

/// A tenant in Canada, one outcall through four trunks that want numbers in
/// different forms: what each trunk receives (Request-URI user and caller
/// ID) for a set of dialled strings.
#[test]
fn each_trunk_gets_numbers_and_caller_ids_in_its_own_format() {
    use OutboundFormat::*;
    let mut s = fixtures::trunk_kinds();
    s.trunks[0].number_plan = plan("CA", NationalSignificant, E164, None);
    s.trunks[1].number_plan = plan("CA", PlusE164, PlusE164, None);
    s.trunks[2].number_plan = plan("CA", E164, AsDialled, None);
    s.outcalls[0].extensions[0].external_prefix = None;
    s.outcalls[0].extensions[0].caller_id = Some("\"ACME\" <5145550199>".into());
    let table: &[(&str, [&str; 4])] = &[
        ("95145550100", ["5145550100", "+15145550100", "15145550100", "5145550100"]),
        ("915145550100", ["5145550100", "+15145550100", "15145550100", "15145550100"]),
        ("9011442071234567", ["011442071234567", "+442071234567", "442071234567", "011442071234567"]),
        ("95*98", ["5*98", "5*98", "5*98", "5*98"]),
    ];
    for (dialled, expected) in table {
        let trace = run(&s, Caller::User(UserId(1)), dialled);
        let out = trace.outcall.as_ref().expect("an outcall");
        let sent: Vec<&str> = out.trunks.iter().map(|t| t.number.as_str()).collect();
        assert_eq!(&sent, expected, "{dialled}");
        // The dial string carries the converted number.
        assert_eq!(out.trunks[0].dial.as_deref(), Some(format!("PJSIP/{}@bandwidth", expected[0]).as_str()));
        assert_eq!(out.trunks[3].dial.as_deref(), Some(format!("IAX2/iax-peer/{}", expected[3]).as_str()));
        let caller_ids: Vec<Option<&str>> = out.trunks.iter().map(|t| t.caller_id_number.as_deref()).collect();
        assert_eq!(caller_ids, [Some("15145550199"), Some("+15145550199"), None, None], "{dialled}");
    }
}

/// One DID written four ways by providers reaches the same incall.
#[test]
fn inbound_dids_in_four_forms_reach_the_same_incall() {
    let mut s = fixtures::seed_001();
    s.trunks[0].number_plan = plan("CA", OutboundFormat::AsDialled, OutboundFormat::AsDialled, Some(OutboundFormat::E164));
    s.extensions.iter_mut().find(|e| e.exten == "4185550100").unwrap().exten = "14185550100".into();
    for did in ["+14185550100", "14185550100", "4185550100", "01114185550100", "+1 (418) 555-0100"] {
        let t = run(&s, Caller::Trunk(TrunkId(1)), did);
        assert_eq!(t.kind, RouteKind::Incall, "{did}: {:?}", t.explanation);
        assert_eq!(winner(&t), ("from-extern".into(), "14185550100".into()), "{did}");
        assert!(t.explanation.iter().any(|l| l.contains("writes it `14185550100`")), "{:?}", t.explanation);
    }
    // Without a plan the national form finds nothing.
    s.trunks[0].number_plan = None;
    assert_eq!(run(&s, Caller::Trunk(TrunkId(1)), "4185550100").kind, RouteKind::None);
}

/// An emergency call presents the callback number, even for a user with a
/// caller ID of their own, and in the trunk's caller-ID format.
#[test]
fn an_emergency_route_sends_the_callback_number() {
    let mut s = fixtures::seed_000();
    s.extensions.push(fixtures::extension(40, "911", "to-extern"));
    s.outcalls.push(fixtures::outcall(9, "emergency", &[1], vec![fixtures::pattern(40, None, None)]));
    s.outcalls[1].emergency = Some(Emergency { callback_number: "5145550100".into(), test_number: None });
    s.users[0].outgoing_caller_id = Some("\"Alice\" <4185550111>".into());
    s.trunks[0].number_plan = plan("CA", OutboundFormat::AsDialled, OutboundFormat::PlusE164, None);
    let t = run(&s, Caller::User(UserId(1)), "911");
    let out = t.outcall.as_ref().expect("the emergency outcall");
    assert_eq!(out.caller_id.caller_id.number, "5145550100");
    assert_eq!(out.trunks[0].number, "911");
    assert_eq!(out.trunks[0].caller_id_number.as_deref(), Some("+15145550100"));
    let r = crate::render::render(&s);
    let text = r.extensions.to_text();
    assert!(text.contains("Set(CALLERID(num)=5145550100)"), "{text}");
}

/// The test mode calls the test number through the route's trunk, in the
/// trunk's formats, and refuses a test number that is an emergency number.
#[test]
fn the_emergency_test_never_calls_an_emergency_number() {
    let mut s = fixtures::seed_000();
    s.extensions.push(fixtures::extension(40, "_9[13]1", "to-extern"));
    s.outcalls.push(fixtures::outcall(9, "emergency", &[1], vec![fixtures::pattern(40, None, None)]));
    s.outcalls[1].emergency = Some(Emergency { callback_number: "5145550100".into(), test_number: Some("933".into()) });
    s.trunks[0].number_plan = plan("CA", OutboundFormat::AsDialled, OutboundFormat::PlusE164, None);
    let test = emergency_test(&s, OutcallId(9)).unwrap();
    assert_eq!(test, EmergencyTest { trunk_id: TrunkId(1), endpoint: "wazo-trunk".into(), number: "933".into(), caller_id: "+15145550100".into() });
    s.outcalls[1].emergency.as_mut().unwrap().test_number = Some("911".into());
    assert!(emergency_test(&s, OutcallId(9)).unwrap_err().contains("is one of the route's emergency numbers"));
    assert!(emergency_test(&s, OutcallId(3)).unwrap_err().contains("not an emergency route"));
}

#[test]
fn an_incall_to_a_group_says_which_members_ring() {
    let s = fixtures::group_of_two();
    let t = run(&s, Caller::Trunk(TrunkId(1)), "101");
    assert_eq!(t.kind, RouteKind::Incall);
    assert_eq!(t.destination.as_deref(), Some("PJSIP/alice-phone&PJSIP/bob-phone"));
    let why = t.explanation.join("\n");
    assert!(why.contains("incall 4 rings group 5 (sales): user 1 (Alice) on PJSIP/alice-phone, user 2 (Bob) on PJSIP/bob-phone together for 20 s"), "{why}");
    let t = run(&s, Caller::User(UserId(1)), "1500");
    assert_eq!(t.destination.as_deref(), Some("PJSIP/alice-phone&PJSIP/bob-phone"));
    assert!(t.explanation.join("\n").contains("the extension rings group 5 (sales)"), "{:?}", t.explanation);
}
