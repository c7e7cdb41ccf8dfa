use super::*;
use crate::fixtures::{T, base};
use crate::model::*;
use serde_json::{Value, json};

/// The seed's table, every key used once.
fn seed_doc() -> Value {
    json!({
        "name": "ACME trunkstore",
        "account": {
            "caller_id": {"cid_name": "ACME", "cid_number": "+14155550100"},
            "emergency_caller_id": {"cid_name": "ACME 911", "cid_number": "+14155550911"},
            "trunks": 2
        },
        "servers": [{
            "name": "HQ PBX",
            "auth": {"auth_method": "password", "auth_user": "hq", "auth_password": "hq-secret", "ip": "127.0.0.71", "port": 5070},
            "options": {
                "caller_id": {"cid_name": "HQ", "cid_number": "+14155550200"},
                "inbound_format": "npan",
                "timeout": 20,
                "progress_timeout": 6,
                "delay": 1,
                "failover": {"e164": "+14155550999"},
                "sip_headers": [{"X-Account": "acme-42"}],
                "flags": [], "dynamic_flags": ["zone"], "ignore_early_media": false
            },
            "DIDs": {
                "+14158867900": {"caller_id": {"cid_name": "Sales", "cid_number": "+14158867900"}},
                "+14158867901": {"failover": {"sip": "sip:night@127.0.0.72:5060"}}
            }
        }, {
            "name": "Branch",
            "auth": {"auth_method": "IP", "ip": "127.0.0.73", "port": 5060},
            "options": {"enabled": false, "inbound_format": "e164"},
            "DIDs": {"4158867902": {}}
        }]
    })
}

fn errors_of(doc: Value) -> Value {
    errors_data(&validate(&doc).expect_err("must be refused"))
}

#[test]
fn the_seed_table_accepts_a_full_document_and_an_empty_one() {
    assert_eq!(validate(&seed_doc()), Ok(()));
    assert_eq!(validate(&json!({})), Ok(()));
}

#[test]
fn errors_name_the_key_path_and_the_rule_kazoo_style() {
    let mut doc = seed_doc();
    doc["servers"][0]["auth"]["auth_method"] = json!("token");
    doc["account"]["caller_id"]["cid_name"] = json!("x".repeat(36));
    doc["servers"][0]["options"]["caller_id"]["cid_number"] = json!("");
    doc["servers"][0]["options"]["media_handling"] = json!("proxy");
    doc["servers"][0]["options"]["timeout"] = json!("20");
    doc["servers"][1]["DIDs"]["41a"] = json!({});
    doc["servers"][1]["options"]["enabled"] = json!("no");
    let data = errors_of(doc);
    assert_eq!(data["servers.0.auth.auth_method"]["enum"]["target"], json!(["password", "Password", "IP", "ip"]), "{data}");
    assert_eq!(data["account.caller_id.cid_name"]["maxLength"]["target"], json!(35), "{data}");
    assert_eq!(data["servers.0.options.caller_id.cid_number"]["minLength"]["target"], json!(1), "{data}");
    assert!(data["servers.0.options.media_handling"]["enum"].is_object(), "{data}");
    assert_eq!(data["servers.0.options.timeout"]["type"]["target"], json!("integer"), "{data}");
    assert!(data["servers.1.DIDs.41a"]["pattern"].is_object(), "{data}");
    assert_eq!(data["servers.1.options.enabled"]["type"]["target"], json!("boolean"), "{data}");
    assert_eq!(data.as_object().unwrap().len(), 7, "{data}");
}

#[test]
fn lengths_follow_the_table_zero_for_account_one_for_servers_and_dids() {
    // account.caller_id: string(0..35): empty is fine.
    assert_eq!(validate(&json!({"account": {"caller_id": {"cid_name": ""}}})), Ok(()));
    let data = errors_of(json!({"servers": [{"auth": {}, "DIDs": {"+1": {"caller_id": {"cid_name": ""}}}}]}));
    assert!(data["servers.0.DIDs.+1.caller_id.cid_name"]["minLength"].is_object(), "{data}");
    let data = errors_of(json!({"servers": [{"auth": {"auth_user": "", "auth_password": ""}, "name": ""}]}));
    for key in ["servers.0.auth.auth_user", "servers.0.auth.auth_password", "servers.0.name"] {
        assert!(data[key]["minLength"].is_object(), "{key}: {data}");
    }
    // Every auth_method spelling of the table.
    for method in schema::AUTH_METHODS {
        assert_eq!(validate(&json!({"servers": [{"auth": {"auth_method": method}}]})), Ok(()), "{method}");
    }
}

#[test]
fn auth_is_required_and_shapes_are_checked() {
    let data = errors_of(json!({"servers": [{"name": "x"}]}));
    assert!(data["servers.0.auth"]["required"].is_object(), "{data}");
    let data = errors_of(json!({"servers": {"a": 1}}));
    assert_eq!(data["servers"]["type"]["target"], json!("array"), "{data}");
    let data = errors_of(json!({"servers": [{"auth": {}, "options": {"sip_headers": ["X-A: b"], "flags": [1]}}]}));
    assert!(data["servers.0.options.sip_headers.0"]["type"].is_object(), "{data}");
    assert!(data["servers.0.options.flags.0"]["type"].is_object(), "{data}");
    let data = errors_of(json!({"account": {"trunks": 1.5}}));
    assert!(data["account.trunks"]["type"].is_object(), "{data}");
}

#[test]
fn defaults_are_filled_as_the_table_states() {
    let mut doc = json!({"servers": [{"auth": {}, "DIDs": {"+1415": {}}}]});
    fill_defaults(&mut doc);
    let options = &doc["servers"][0]["options"];
    assert_eq!(options["enabled"], json!(true));
    assert_eq!(options["media_handling"], json!("bypass"));
    assert_eq!(options["delay"], json!(0));
    assert_eq!(options["force_outbound"], json!(false));
    assert_eq!(doc["servers"][0]["DIDs"]["+1415"]["force_outbound"], json!(false));
    let mut empty = json!({});
    fill_defaults(&mut empty);
    assert_eq!(empty, json!({"servers": []}));
    // Explicit values stay.
    let mut doc = json!({"servers": [{"auth": {}, "options": {"enabled": false, "media_handling": "process"}}]});
    fill_defaults(&mut doc);
    assert_eq!(doc["servers"][0]["options"]["enabled"], json!(false));
    assert_eq!(doc["servers"][0]["options"]["media_handling"], json!("process"));
}

#[test]
fn patch_merges_objects_replaces_arrays_and_null_removes() {
    let mut doc = json!({"name": "a", "account": {"trunks": 2, "caller_id": {"cid_name": "X"}}, "servers": [{"auth": {}}]});
    merge_patch(&mut doc, &json!({"account": {"trunks": 5, "caller_id": null}, "servers": [], "extra": 1}));
    assert_eq!(doc, json!({"name": "a", "account": {"trunks": 5}, "servers": [], "extra": 1}));
}

#[test]
fn inbound_formats() {
    use InboundFormat::*;
    for did in ["+14158867900", "14158867900", "4158867900"] {
        assert_eq!(inbound_number(E164, did, None).as_deref(), Some("+14158867900"), "{did}");
        assert_eq!(inbound_number(Npan, did, None).as_deref(), Some("4158867900"), "{did}");
        assert_eq!(inbound_number(OneNpan, did, None).as_deref(), Some("14158867900"), "{did}");
    }
    assert_eq!(inbound_number(Username, "+14158867900", Some("hq")).as_deref(), Some("hq"));
    assert_eq!(inbound_number(Username, "+14158867900", None), None);
    // Outside the NANP there is no NPA-NXX form.
    assert_eq!(inbound_number(Npan, "+442071234567", None).as_deref(), Some("442071234567"));
    assert_eq!(inbound_number(E164, "+442071234567", None).as_deref(), Some("+442071234567"));
}

#[test]
fn caller_id_precedence_is_did_then_server_then_account() {
    let mut doc = Connectivity::from_value(&seed_doc()).unwrap();
    // The calling number is a DID with a caller ID: the DID wins, in any format.
    for calling in ["+14158867900", "4158867900", "14158867900"] {
        let (level, cid) = caller_id(&doc, 0, Some(calling), false).unwrap();
        assert_eq!((level, cid.cid_name.as_deref()), (CallerIdLevel::Did, Some("Sales")), "{calling}");
    }
    // A DID without a caller ID, or another number: the server's.
    let (level, cid) = caller_id(&doc, 0, Some("+14158867901"), false).unwrap();
    assert_eq!((level, cid.cid_name.as_deref()), (CallerIdLevel::Server, Some("HQ")));
    assert_eq!(caller_id(&doc, 0, None, false).unwrap().0, CallerIdLevel::Server);
    // A server without one: the account's.
    let (level, cid) = caller_id(&doc, 1, Some("4158867902"), false).unwrap();
    assert_eq!((level, cid.cid_name.as_deref()), (CallerIdLevel::Account, Some("ACME")));
    // Emergency: emergency_caller_id first (server, then account), even over a DID's.
    let (level, cid) = caller_id(&doc, 0, Some("+14158867900"), true).unwrap();
    assert_eq!((level, cid.cid_name.as_deref()), (CallerIdLevel::Account, Some("ACME 911")));
    doc.servers[0].options.emergency_caller_id = Some(KazooCallerId { cid_name: Some("HQ 911".into()), cid_number: None });
    assert_eq!(caller_id(&doc, 0, None, true).unwrap().1.cid_name.as_deref(), Some("HQ 911"));
    // An empty object does not count: the next level is used.
    doc.servers[0].options.caller_id = Some(KazooCallerId::default());
    assert_eq!(caller_id(&doc, 0, None, false).unwrap().0, CallerIdLevel::Account);
    doc.account = None;
    assert_eq!(caller_id(&doc, 0, None, false), None);
}

struct Counter(u64);

impl Allocator for Counter {
    fn trunk_id(&mut self) -> TrunkId {
        self.0 += 1;
        TrunkId(100 + self.0)
    }
    fn extension_id(&mut self) -> ExtensionId {
        self.0 += 1;
        ExtensionId(100 + self.0)
    }
    fn incall_id(&mut self) -> IncallId {
        self.0 += 1;
        IncallId(100 + self.0)
    }
    fn endpoint_uuid(&mut self) -> String {
        self.0 += 1;
        format!("0000-kz-{}", self.0)
    }
}

const TENANCY: Tenancy<'static> = Tenancy { tenant_uuid: T, incall_context: "from-extern", outbound_context: Some("to-extern") };
const DOC_ID: &str = "0123456789abcdef0123456789abcdef";

fn mapped(doc: &Value) -> Result<Mapped, Vec<KazooError>> {
    map(DOC_ID, &Connectivity::from_value(doc).unwrap(), &TENANCY, &mut Counter(0))
}

fn with(mapped: &Mapped) -> Snapshot {
    let mut s = base();
    s.trunks.extend(mapped.trunks.iter().cloned());
    s.endpoints_sip.extend(mapped.endpoints_sip.iter().cloned());
    s.extensions.extend(mapped.extensions.iter().cloned());
    s.incalls.extend(mapped.incalls.iter().cloned());
    s
}

fn trunk_destination(i: &Incall) -> &TrunkDestination {
    match &i.destination {
        Destination::Trunk(d) => d,
        other => panic!("not a trunk destination: {other:?}"),
    }
}

#[test]
fn servers_become_trunks_with_sip_endpoints() {
    let m = mapped(&seed_doc()).unwrap();
    assert_eq!(m.trunks.len(), 2);
    let hq = &m.endpoints_sip[0];
    assert_eq!(hq.name, format!("kz-{DOC_ID}-0"));
    assert_eq!(hq.label.as_deref(), Some("HQ PBX"));
    // Password: the PBX authenticates (and may register) to us.
    assert!(hq.sections.auth_section_options.contains(&("username".into(), "hq".into())));
    assert!(hq.sections.auth_section_options.contains(&("password".into(), "hq-secret".into())));
    assert!(hq.sections.aor_section_options.contains(&("contact".into(), "sip:127.0.0.71:5070".into())));
    assert!(hq.sections.identify_section_options.is_empty());
    // The server-level caller ID (server > account) rides on the endpoint.
    assert!(hq.sections.endpoint_section_options.contains(&("set_var".into(), "PB_OUTCID_NAME=HQ".into())));
    assert!(hq.sections.endpoint_section_options.contains(&("set_var".into(), "PB_OUTCID_NUM=+14155550200".into())));
    assert!(hq.sections.endpoint_section_options.contains(&("direct_media".into(), "yes".into())));
    // IP: identify by address, no auth.
    let branch = &m.endpoints_sip[1];
    assert_eq!(branch.sections.identify_section_options, vec![("match".to_string(), "127.0.0.73".to_string())]);
    assert!(branch.sections.auth_section_options.is_empty());
    assert!(branch.sections.endpoint_section_options.contains(&("set_var".into(), "PB_OUTCID_NAME=ACME".into())));
    assert_eq!(m.trunks[0].endpoint, Some(TrunkEndpoint::Sip(hq.uuid.clone())));
    assert_eq!(m.trunks[0].context.as_deref(), Some("to-extern"));
}

#[test]
fn dids_become_extensions_and_incalls_to_their_server() {
    let m = mapped(&seed_doc()).unwrap();
    let extens: Vec<(&str, &str)> = m.extensions.iter().map(|e| (e.exten.as_str(), e.context.as_str())).collect();
    assert_eq!(extens, vec![("14158867900", "from-extern"), ("14158867901", "from-extern"), ("4158867902", "from-extern")]);
    assert_eq!(m.incalls.len(), 3);
    for (incall, ext) in m.incalls.iter().zip(&m.extensions) {
        assert_eq!(incall.extension_id, Some(ext.id));
    }
    let sales = trunk_destination(&m.incalls[0]);
    assert_eq!(sales.trunk_id, m.trunks[0].id);
    assert_eq!(sales.number.as_deref(), Some("4158867900"), "npan");
    assert_eq!((sales.timeout, sales.progress_timeout, sales.delay), (Some(20), Some(6), Some(1)));
    assert_eq!(sales.sip_headers, vec![("X-Account".to_string(), "acme-42".to_string())]);
    assert_eq!(sales.call_limit, Some(CallLimit { group: format!("kz-{DOC_ID}"), max: 2 }));
    // The server's failover, unless the DID has its own.
    assert_eq!(sales.failover, Some(TrunkFailover::Extension { exten: "14155550999".into(), context: "to-extern".into() }));
    let night = trunk_destination(&m.incalls[1]);
    assert_eq!(night.failover, Some(TrunkFailover::Sip { uri: "sip:night@127.0.0.72:5060".into() }));
    let branch = trunk_destination(&m.incalls[2]);
    assert_eq!(branch.number.as_deref(), Some("+14158867902"), "e164");
    assert!(!branch.enabled);
}

#[test]
fn force_outbound_sends_the_did_over_the_carriers() {
    let mut doc = seed_doc();
    doc["servers"][0]["DIDs"]["+14158867900"]["force_outbound"] = json!(true);
    let m = mapped(&doc).unwrap();
    assert_eq!(m.incalls[0].destination, Destination::Extension { exten: "14158867900".into(), context: "to-extern".into() });
    assert!(matches!(m.incalls[1].destination, Destination::Trunk(_)));
}

#[test]
fn what_the_schema_allows_but_cannot_be_realized_is_refused_by_key() {
    let doc = json!({"servers": [
        {"auth": {"auth_method": "Password"}, "options": {"inbound_format": "username", "sip_headers": [{"Via": "x"}, {"X-Ok": "a,b)"}]},
         "DIDs": {"+": {}, "+1415": {"failover": {"sip": "http://x"}}}},
        {"auth": {"auth_method": "ip"}, "DIDs": {"1415": {"failover": {"e164": "12a"}}}}
    ]});
    let data = errors_data(&mapped(&doc).unwrap_err());
    for (key, rule) in [
        ("servers.0.auth.auth_user", "required"),
        ("servers.0.auth.auth_password", "required"),
        ("servers.0.options.sip_headers.0.Via", "format"),
        ("servers.0.options.sip_headers.1.X-Ok", "format"),
        ("servers.0.DIDs.+", "minLength"),
        ("servers.0.options.inbound_format", "required"),
        ("servers.1.auth.ip", "required"),
        ("servers.1.DIDs.1415", "unique"),
    ] {
        assert!(data[key][rule].is_object(), "{key} {rule}: {data}");
    }
    let doc = json!({"servers": [{"auth": {"auth_user": "u", "auth_password": "p"}, "DIDs": {"+1415": {"failover": {"sip": "http://x"}}, "+1416": {"failover": {"e164": "12a"}}}}]});
    let data = errors_data(&mapped(&doc).unwrap_err());
    assert!(data["servers.0.DIDs.+1415.failover.sip"]["format"].is_object(), "{data}");
    assert!(data["servers.0.DIDs.+1416.failover.e164"]["pattern"].is_object(), "{data}");
}

#[test]
fn mapped_objects_pass_the_shared_validation() {
    let m = mapped(&seed_doc()).unwrap();
    for ep in &m.endpoints_sip {
        assert_eq!(crate::validate::endpoint_sip(ep), vec![], "{ep:?}");
    }
    for i in &m.incalls {
        assert_eq!(crate::validate::incall(i), vec![], "{i:?}");
    }
    let s = with(&m);
    let errors = crate::validate::snapshot(&s);
    let before = crate::validate::snapshot(&base());
    assert_eq!(errors, before, "the mapping adds no error");
}

fn dialplan_of(s: &Snapshot, context: &str, exten: &str) -> Vec<String> {
    let plan = crate::render::DialplanPlan::new(s);
    plan.extension(context, exten).unwrap_or_else(|| panic!("{exten}@{context}")).priorities.iter().map(|p| p.app.clone()).collect()
}

#[test]
fn render_dials_the_server_then_fails_over() {
    let m = mapped(&seed_doc()).unwrap();
    let s = with(&m);
    let ep = format!("kz-{DOC_ID}-0");
    let id = m.incalls[0].id;
    let apps = dialplan_of(&s, "from-extern", "14158867900");
    let group = format!("kz-{DOC_ID}");
    let expected = [
        format!("Set(GROUP(pb-limit)={group})"),
        format!("GotoIf($[${{GROUP_COUNT({group}@pb-limit)}} > 2]?full)"),
        "Wait(1)".to_string(),
        format!("Dial(PJSIP/4158867900@{ep},20^6,b(pb-incall-headers-{id}^s^1))"),
        "GotoIf($[\"${DIALSTATUS}\" = \"ANSWER\"]?done)".to_string(),
        "Goto(to-extern,14155550999,1)".to_string(),
        "Hangup(34)".to_string(),
    ];
    for app in &expected {
        assert!(apps.contains(app), "{app} missing from {apps:#?}");
    }
    // The headers' pre-dial handler.
    let handler = dialplan_of(&s, &format!("pb-incall-headers-{id}"), "s");
    assert_eq!(handler, vec!["Set(PJSIP_HEADER(add,X-Account)=acme-42)".to_string(), "Return()".to_string()]);
    // SIP-URI failover goes through the server's endpoint.
    let night = dialplan_of(&s, "from-extern", "14158867901");
    assert!(night.contains(&format!("Dial(PJSIP/{ep}/sip:night@127.0.0.72:5060)")), "{night:#?}");
    // A disabled server rejects.
    let branch = dialplan_of(&s, "from-extern", "4158867902");
    assert_eq!(branch.last().map(String::as_str), Some("Hangup(21)"), "{branch:#?}");
    assert!(!branch.iter().any(|a| a.starts_with("Dial(")), "{branch:#?}");
}

#[test]
fn the_simulator_explains_did_server_format_and_failover() {
    let m = mapped(&seed_doc()).unwrap();
    let s = with(&m);
    let trace = crate::simulate::simulate(&s, T, crate::simulate::Caller::Context("from-extern"), "+14158867900");
    assert_eq!(trace.kind, crate::simulate::RouteKind::Incall);
    assert_eq!(trace.destination, Some(format!("PJSIP/4158867900@kz-{DOC_ID}-0")));
    let text = trace.explanation.join("\n");
    for needle in ["DID +14158867900", "server 0 (HQ PBX)", "inbound_format npan", "`4158867900`", "20^6", "X-Account", "at most 2 concurrent", "14155550999@to-extern"] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    let trace = crate::simulate::simulate(&s, T, crate::simulate::Caller::Context("from-extern"), "4158867902");
    assert!(trace.explanation.join("\n").contains("disabled: the call is rejected (cause 21)"), "{:#?}", trace.explanation);
}

#[test]
fn hostile_header_values_and_numbers_never_reach_the_dialplan_raw() {
    let m = mapped(&seed_doc()).unwrap();
    let mut s = with(&m);
    if let Destination::Trunk(d) = &mut s.incalls[0].destination {
        d.sip_headers = vec![("X-A,b)".to_string(), "v)${SHELL(id)};x\n[evil]".to_string())];
        d.number = Some("1&PJSIP/evil,1".into());
        d.call_limit = Some(CallLimit { group: "g)}${X}".into(), max: 1 });
    }
    let text = crate::render::render(&s).extensions.to_text();
    assert!(!text.contains("${SHELL"), "{text}");
    assert!(!text.contains("[evil]"), "{text}");
    assert!(!text.contains("&PJSIP/evil"), "{text}");
    assert!(!text.contains("${X}"), "{text}");
    let bad = crate::validate::incall(&s.incalls[0]);
    let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"destination.sip_headers.0"), "{bad:?}");
    assert!(fields.contains(&"destination.number"), "{bad:?}");
    assert!(fields.contains(&"destination.call_limit.group"), "{bad:?}");
}

#[test]
fn trunk_destination_round_trips_on_the_wire() {
    let m = mapped(&seed_doc()).unwrap();
    let wire = serde_json::to_value(&m.incalls[0]).unwrap();
    assert_eq!(wire["destination"]["type"], json!("trunk"));
    assert_eq!(wire["destination"]["failover"]["type"], json!("extension"));
    let back: Incall = serde_json::from_value(wire).unwrap();
    assert_eq!(back, m.incalls[0]);
}

/// A DID's own caller ID (Kazoo: DID > server > account) applies to calls
/// from the server whose calling number is that DID: a lookup by calling
/// number before the outcall's caller-ID precedence.
#[test]
fn a_did_caller_id_is_looked_up_by_the_calling_number() {
    let m = mapped(&seed_doc()).unwrap();
    assert_eq!(
        m.trunks[0].caller_id_by_number,
        vec![
            NumberCallerId { calling: "14158867900".into(), name: "Sales".into(), number: "+14158867900".into() },
            NumberCallerId { calling: "4158867900".into(), name: "Sales".into(), number: "+14158867900".into() },
        ]
    );
    assert!(m.trunks[1].caller_id_by_number.is_empty());
    let mut s = with(&m);
    s.extensions.push(crate::fixtures::extension(90, "_1NXXNXXXXXX", "to-extern"));
    s.outcalls.push(crate::fixtures::outcall(90, "out", &[m.trunks[1].id.0], vec![crate::fixtures::pattern(90, None, None)]));
    let cid_context = format!("pb-trunk-cid-{}", m.trunks[0].id);
    assert_eq!(
        dialplan_of(&s, &cid_context, "+14158867900"),
        ["Set(PB_OUTCID_SET=1)", "Set(PB_OUTCID_NAME=Sales)", "Set(PB_OUTCID_NUM=+14158867900)", "Return()"]
    );
    // The NANP DID's 10 digits, as a server may send them.
    assert_eq!(dialplan_of(&s, &cid_context, "4158867900"), dialplan_of(&s, &cid_context, "+14158867900"));
    assert_eq!(dialplan_of(&s, &cid_context, "s")[1], format!("GotoIf(${{DIALPLAN_EXISTS({cid_context},${{ARG1}},1)}}?{cid_context},${{ARG1}},1)"));
    let out = dialplan_of(&s, "to-extern", "_1NXXNXXXXXX");
    assert!(out.contains(&"GosubIf($[\"${PB_OUTCID_BY_NUMBER}\" != \"\"]?${PB_OUTCID_BY_NUMBER},s,1(${FILTER(0-9+,${CALLERID(num)})}))".to_string()), "{out:#?}");
    let r = crate::render::render(&s);
    assert!(r.pjsip.to_text().contains(&format!("set_var = PB_OUTCID_BY_NUMBER={cid_context}")), "{}", r.pjsip.to_text());
}
