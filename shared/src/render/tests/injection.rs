//! Every string field of every object, poisoned with Asterisk syntax: it is
//! either refused by validation, or inert in the rendered files (same
//! sections, same statements, nothing evaluable).

use super::super::*;
use crate::fixtures;
use crate::model::*;
use crate::validate;

const PAYLOADS: [&str; 12] = [
    "\n", "\r", "[", "]", ";", ",", "=", "#include x", "\n#include x", "\n[evil]\ntype=endpoint",
    "${SHELL(id)}", "$[1+1]",
];

/// Payloads validation must refuse in every field.
fn must_be_refused(payload: &str) -> bool {
    payload.contains(['\n', '\r']) || payload.contains("${") || payload.contains("$[")
}

/// Everything the fixtures have: trunks of every kind, a DID with a
/// caller-ID mode, a user with an outgoing caller ID, a template, settings.
fn everything() -> Snapshot {
    let mut s = fixtures::trunk_kinds();
    let seed = fixtures::seed_000();
    s.endpoints_sip.extend(seed.endpoints_sip.into_iter().filter(|e| e.name == "wazo-trunk"));
    sip(&mut s, "wazo-trunk").sections.endpoint_section_options.push(("callerid".into(), "\"Wazo B\" <100>".into()));
    s.trunks.push(fixtures::trunk(5, Some("from-extern"), Some(TrunkEndpoint::Sip("ep-wazo".into()))));
    s.extensions.push(fixtures::extension(18, "101", "from-extern"));
    let mut incall = fixtures::incall_to_user(4, 18, 1);
    incall.caller_id_mode = Some(CallerIdMode::Prepend);
    incall.caller_id_name = Some("VIP".into());
    incall.description = Some("front desk".into());
    s.incalls.push(incall);
    s.extensions.push(fixtures::extension(19, "102", "from-extern"));
    let mut to_ext = fixtures::incall_to_user(5, 19, 1);
    to_ext.destination = Destination::Extension { exten: "1001".into(), context: "default".into() };
    s.incalls.push(to_ext);
    s.users[0].outgoing_caller_id = Some("\"Bob\" <555>".into());
    s.outcalls[0].description = Some("all trunks".into());
    s.outcalls[0].preprocess_subroutine = Some("default".into());
    s.outcalls[0].extensions[0].prefix = Some("9".into());
    let mut tpl = fixtures::endpoint("tpl", "tpl-global", SipSections {
        endpoint_section_options: fixtures::opts(&[("language", "en_US")]),
        ..Default::default()
    });
    tpl.asterisk_id = Some("ast1".into());
    s.sip_templates.push(tpl);
    s.endpoints_sip[0].templates.push(UuidRef::new("tpl"));
    s.pjsip_global.options.insert("user_agent".into(), "Patchbay".into());
    s.pjsip_system.options.insert("timer_t1".into(), "500".into());
    assert_eq!(validate::snapshot(&s), vec![], "the clean fixture is valid");
    s
}

type Mutator = (&'static str, fn(&mut Snapshot, &str));

fn sip<'a>(s: &'a mut Snapshot, name: &str) -> &'a mut EndpointSip {
    s.endpoints_sip.iter_mut().find(|e| e.name == name).unwrap()
}

/// Renames a context everywhere it is referenced, so a poisoned name is
/// seen by the renderer instead of silently unlinking objects.
fn rename_context(s: &mut Snapshot, old: &str, new: &str) {
    for c in s.contexts.iter_mut().filter(|c| c.name == old) {
        c.name = new.into();
    }
    for e in s.extensions.iter_mut().filter(|e| e.context == old) {
        e.context = new.into();
    }
    for t in s.trunks.iter_mut().filter(|t| t.context.as_deref() == Some(old)) {
        t.context = Some(new.into());
    }
}

fn set_option(list: &mut [(String, String)], index: usize, key: bool, p: &str) {
    let entry = &mut list[index];
    if key { entry.0.push_str(p) } else { entry.1.push_str(p) }
}

const MUTATORS: &[Mutator] = &[
    ("tenant.uuid", |s, p| {
        let new = format!("tenant-a{p}");
        s.tenants[0].uuid = new.clone();
        // Every object moves with its tenant: render leaves out objects
        // that point into another tenant.
        for o in &mut s.contexts { o.tenant_uuid = new.clone() }
        for o in &mut s.extensions { o.tenant_uuid = new.clone() }
        for o in &mut s.trunks { o.tenant_uuid = new.clone() }
        for o in &mut s.endpoints_sip { o.tenant_uuid = new.clone() }
        for o in &mut s.sip_templates { o.tenant_uuid = new.clone() }
        for o in &mut s.endpoints_iax { o.tenant_uuid = new.clone() }
        for o in &mut s.endpoints_custom { o.tenant_uuid = new.clone() }
        for o in &mut s.outcalls { o.tenant_uuid = new.clone() }
        for o in &mut s.incalls { o.tenant_uuid = new.clone() }
        for o in &mut s.users { o.tenant_uuid = new.clone() }
        for o in &mut s.lines { o.tenant_uuid = new.clone() }
    }),
    ("tenant.name", |s, p| s.tenants[0].name.push_str(p)),
    ("tenant.slug", |s, p| s.tenants[0].slug.push_str(p)),
    ("context.name", |s, p| rename_context(s, "from-extern", &format!("from-extern{p}"))),
    ("context.label", |s, p| s.contexts[0].label.push_str(p)),
    ("context.description", |s, p| s.contexts[0].description = Some(format!("d{p}"))),
    ("extension.exten (line)", |s, p| s.extensions[0].exten.push_str(p)),
    ("extension.exten (outcall)", |s, p| s.extensions.iter_mut().find(|e| e.exten == "_9X.").unwrap().exten.push_str(p)),
    ("extension.exten (incall)", |s, p| s.extensions.iter_mut().find(|e| e.exten == "101").unwrap().exten.push_str(p)),
    ("endpoint.name (trunk)", |s, p| sip(s, "wazo-trunk").name.push_str(p)),
    ("endpoint.name (line)", |s, p| sip(s, "alice-phone").name.push_str(p)),
    ("endpoint.label", |s, p| sip(s, "wazo-trunk").label = Some(format!("Wazo B{p}"))),
    ("endpoint.asterisk_id", |s, p| sip(s, "wazo-trunk").asterisk_id = Some(format!("a{p}"))),
    ("endpoint option key", |s, p| set_option(&mut sip(s, "alice-phone").sections.endpoint_section_options, 0, true, p)),
    ("endpoint option value (allow)", |s, p| set_option(&mut sip(s, "alice-phone").sections.endpoint_section_options, 0, false, p)),
    ("endpoint option value (set_var header)", |s, p| set_option(&mut sip(s, "shared-provider").sections.endpoint_section_options, 1, false, p)),
    ("endpoint option value (callerid)", |s, p| sip(s, "wazo-trunk").sections.endpoint_section_options[0].1 = format!("\"X{p}\" <1>")),
    ("aor contact", |s, p| set_option(&mut sip(s, "wazo-trunk").sections.aor_section_options, 0, false, p)),
    ("auth password (secret)", |s, p| set_option(&mut sip(s, "wazo-trunk").sections.auth_section_options, 1, false, p)),
    ("auth username", |s, p| set_option(&mut sip(s, "wazo-trunk").sections.auth_section_options, 0, false, p)),
    ("identify match", |s, p| set_option(&mut sip(s, "wazo-trunk").sections.identify_section_options, 0, false, p)),
    ("identify match_header", |s, p| set_option(&mut sip(s, "shared-provider").sections.identify_section_options, 0, false, p)),
    ("outbound auth password", |s, p| set_option(&mut sip(s, "bandwidth").sections.outbound_auth_section_options, 1, false, p)),
    ("registration client_uri", |s, p| set_option(&mut sip(s, "wazo-trunk").sections.registration_section_options, 1, false, p)),
    ("registration auth password", |s, p| set_option(&mut sip(s, "wazo-trunk").sections.registration_outbound_auth_section_options, 1, false, p)),
    ("template name", |s, p| s.sip_templates[0].name.push_str(p)),
    ("template option value", |s, p| set_option(&mut s.sip_templates[0].sections.endpoint_section_options, 0, false, p)),
    ("transport name", |s, p| s.transports[0].name.push_str(p)),
    ("transport option key", |s, p| set_option(&mut s.transports[0].options, 0, true, p)),
    ("transport option value", |s, p| set_option(&mut s.transports[0].options, 1, false, p)),
    ("pjsip global value", |s, p| { s.pjsip_global.options.get_mut("user_agent").unwrap().push_str(p); }),
    ("pjsip global key", |s, p| {
        let value = s.pjsip_global.options.remove("user_agent").unwrap();
        s.pjsip_global.options.insert(format!("user_agent{p}"), value);
    }),
    ("pjsip system value", |s, p| { s.pjsip_system.options.get_mut("timer_t1").unwrap().push_str(p); }),
    ("iax name", |s, p| s.endpoints_iax[0].name.push_str(p)),
    ("iax host", |s, p| s.endpoints_iax[0].host.push_str(p)),
    ("iax option key", |s, p| set_option(&mut s.endpoints_iax[0].options, 0, true, p)),
    ("iax option value", |s, p| set_option(&mut s.endpoints_iax[0].options, 0, false, p)),
    ("custom interface", |s, p| s.endpoints_custom[0].interface.push_str(p)),
    ("custom interface_suffix", |s, p| s.endpoints_custom[0].interface_suffix = Some(format!("@pbx-b-in{p}"))),
    ("outcall name", |s, p| s.outcalls[0].name.push_str(p)),
    ("outcall description", |s, p| s.outcalls[0].description = Some(format!("d{p}"))),
    ("outcall preprocess_subroutine", |s, p| s.outcalls[0].preprocess_subroutine = Some(format!("default{p}"))),
    ("outcall external_prefix", |s, p| s.outcalls[0].extensions[0].external_prefix = Some(format!("00{p}"))),
    ("outcall prefix", |s, p| s.outcalls[0].extensions[0].prefix = Some(format!("9{p}"))),
    ("outcall caller_id name", |s, p| s.outcalls[0].extensions[0].caller_id = Some(format!("\"AC{p}ME\" <5551234>"))),
    ("outcall caller_id number", |s, p| s.outcalls[0].extensions[0].caller_id = Some(format!("\"ACME\" <555{p}>"))),
    ("incall caller_id_name", |s, p| s.incalls[0].caller_id_name = Some(format!("VIP{p}"))),
    ("incall description", |s, p| s.incalls[0].description = Some(format!("d{p}"))),
    ("incall destination exten", |s, p| s.incalls[1].destination = Destination::Extension { exten: format!("1001{p}"), context: "default".into() }),
    ("incall destination context", |s, p| s.incalls[1].destination = Destination::Extension { exten: "1001".into(), context: format!("default{p}") }),
    ("user firstname", |s, p| s.users[0].firstname.push_str(p)),
    ("user lastname", |s, p| s.users[0].lastname = Some(format!("Doe{p}"))),
    ("user caller_id", |s, p| s.users[0].caller_id = Some(format!("\"Alice{p}\""))),
    ("user outgoing_caller_id name", |s, p| s.users[0].outgoing_caller_id = Some(format!("\"Bob{p}\" <555>"))),
    ("user outgoing_caller_id number", |s, p| s.users[0].outgoing_caller_id = Some(format!("\"Bob\" <555{p}>"))),
];

/// What must not change: how many sections, and per section how many
/// statements with which kind of key (dialplan keys are kept verbatim).
fn shape(file: &ConfigFile) -> Vec<Vec<String>> {
    file.sections
        .iter()
        .map(|s| s.lines.iter().map(|(k, _)| if ["exten", "same", "include", "type"].contains(&k.as_str()) { k.clone() } else { "key".into() }).collect())
        .collect()
}

fn is_subsequence(small: &[String], big: &[String]) -> bool {
    let mut big = big.iter();
    small.iter().all(|x| big.any(|y| y == x))
}

/// The expressions Patchbay itself writes; anything else evaluable is an
/// injection.
const OWN_EXPRESSIONS: [&str; 19] = [
    "${EXTEN:", "${FILTER(", "${PB_OUTCID_SET}", "${PB_OUTCID_ANON}", "${PB_OUTCID_NAME}",
    "${PB_OUTCID_NUM}", "${CALLERID(name)}", "${ARG1}", "$[\"${DIALSTATUS}\"",
    // The failover policy's reading of each attempt (nested ones first).
    "${IF($[\"${PB_TECH_CAUSE:0:3}\" = \"SIP\"]?${PB_TECH_CAUSE:4:3})}",
    "${HANGUPCAUSE(${PB_CAUSE_CHANNELS},tech)}", "${HANGUPCAUSE(${PB_CAUSE_CHANNELS},ast)}",
    "${SHIFT(PB_CAUSE_CHANNELS)}", "$[\"${HANGUPCAUSE_KEYS()}\"", "${HANGUPCAUSE_KEYS()}",
    "$[\"${PB_SIP_CODE:0:1}\"", "$[\"${PB_SIP_CODE}\"", "$[\"${PB_HANGUP_CAUSE}\"", "${PB_HANGUP_CAUSE}",
];

fn assert_inert(field: &str, payload: &str, baseline: &Rendered, rendered: &Rendered) {
    let label = format!("{field} + {payload:?}");
    for (name, base, got) in [("pjsip", &baseline.pjsip, &rendered.pjsip), ("extensions", &baseline.extensions, &rendered.extensions), ("iax", &baseline.iax, &rendered.iax)] {
        // Same sections; no statement added (an ignored, unparseable value
        // may remove its own statement).
        let (got_shape, base_shape) = (shape(got), shape(base));
        assert_eq!(got_shape.len(), base_shape.len(), "{label}: {name} section count changed");
        for (g, b) in got_shape.iter().zip(&base_shape) {
            assert!(is_subsequence(g, b), "{label}: {name} statements added: {g:?} vs {b:?}");
        }
        let text = got.to_text();
        assert!(text.lines().count() <= base.to_text().lines().count(), "{label}: {name} gained lines");
        for line in text.lines() {
            assert!(!line.starts_with('#'), "{label}: {line:?}");
            if let Some(header) = line.strip_prefix('[') {
                let name = header.strip_suffix(']').unwrap_or_else(|| panic!("{label}: {line:?}"));
                assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c)), "{label}: {line:?}");
            }
        }
        let mut rest = text.clone();
        for own in OWN_EXPRESSIONS {
            rest = rest.replace(own, "");
        }
        assert!(!rest.contains("${") && !rest.contains("$["), "{label}: evaluable text in {name}:\n{text}");
        if name == "extensions" {
            // Config values are never evaluated, but dialplan arguments are:
            // there the payload may not even survive as text.
            assert!(!text.contains("SHELL("), "{label}: payload survived in {name}:\n{text}");
        }
    }
    for section in &rendered.extensions.sections {
        for (key, value) in &section.lines {
            if key == "exten" || key == "same" {
                // One application per statement, its arguments closed.
                assert!(value.ends_with(')'), "{label}: {value:?}");
            }
        }
    }
}

#[test]
fn every_field_refuses_or_neutralises_asterisk_syntax() {
    let clean = everything();
    let baseline = render(&clean);
    for (field, mutate) in MUTATORS {
        for payload in PAYLOADS {
            let mut poisoned = clean.clone();
            mutate(&mut poisoned, payload);
            assert_ne!(poisoned, clean, "{field}: the mutator changed nothing");
            let errors = validate::snapshot(&poisoned);
            if must_be_refused(payload) {
                assert!(!errors.is_empty(), "{field} + {payload:?} was accepted by validation");
            }
            assert_inert(field, payload, &baseline, &render(&poisoned));
        }
    }
}

#[test]
fn fields_that_reach_the_dialplan_refuse_every_payload() {
    let dialplan_fields = [
        "extension.exten (line)", "extension.exten (outcall)", "extension.exten (incall)",
        "endpoint.name (trunk)", "endpoint.name (line)", "context.name", "iax name",
        "custom interface", "custom interface_suffix", "outcall external_prefix",
        "outcall preprocess_subroutine", "outcall caller_id name", "outcall caller_id number",
        "incall caller_id_name", "incall destination exten", "incall destination context",
        "user caller_id", "user outgoing_caller_id name", "user outgoing_caller_id number",
    ];
    for (field, mutate) in MUTATORS.iter().filter(|(f, _)| dialplan_fields.contains(f)) {
        // `#include` is only a directive at the start of a line; inside a
        // caller-ID name it is just text (`#` is a valid name character).
        for payload in PAYLOADS.into_iter().filter(|p| *p != "#include x") {
            let mut poisoned = everything();
            mutate(&mut poisoned, payload);
            assert!(!validate::snapshot(&poisoned).is_empty(), "{field} + {payload:?} was accepted");
        }
    }
}
