//! The document mapping and the plan, on stored rows built here (no database).

use super::doc::*;
use super::mapping::{self, Entry, Ids, Secrets, Stored};
use super::plan::{self, Action, Change};
use crate::store::{Kind, ObjectRow, Tenant};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

const MASTER: &str = "11111111-1111-1111-1111-111111111111";
const OTHER: &str = "22222222-2222-2222-2222-222222222222";
const SECRET: &str = "s3cret-value";

fn row(id: i64, uuid: Option<&str>, tenant: &str, body: Value) -> ObjectRow {
    ObjectRow { id, uuid: uuid.map(str::to_string), tenant_uuid: Some(tenant.to_string()), body }
}

/// A master tenant with a provider trunk (SIP, password), an outcall with one
/// pattern over it, a trunk without endpoint, and another tenant that has
/// an outcall of the same name.
fn stored() -> Stored {
    let mut rows: HashMap<Kind, Vec<ObjectRow>> = HashMap::new();
    rows.insert(Kind::Context, vec![
        row(1, None, MASTER, json!({"name": "to-extern", "label": "to-extern", "type": "outcall", "contexts": [], "context_uuid": "c1", "enabled": true})),
        row(2, None, MASTER, json!({"name": "default", "label": "default", "type": "internal", "contexts": [{"id": 1}], "context_uuid": "c2", "enabled": true})),
        row(3, None, OTHER, json!({"name": "other-out", "label": "Outcalls", "type": "outcall", "contexts": [], "context_uuid": "c3", "enabled": true})),
    ]);
    rows.insert(Kind::EndpointSip, vec![row(1, Some("ep-1"), MASTER, json!({
        "name": "provider", "label": null, "templates": [], "transport": null, "asterisk_id": null,
        "endpoint_section_options": [["context", "from-extern"]],
        "outbound_auth_section_options": [["username", "u"], ["password", SECRET]],
        "aor_section_options": [], "auth_section_options": [], "identify_section_options": [],
        "registration_section_options": [], "registration_outbound_auth_section_options": [],
        "legacy": {"secret": SECRET},
    }))]);
    rows.insert(Kind::Trunk, vec![
        row(1, None, MASTER, json!({"context": null, "twilio_incoming": false, "outgoing_caller_id_format": "+E164", "description": null,
                                   "endpoint_sip": {"uuid": "ep-1"}, "endpoint_iax": null, "endpoint_custom": null})),
        row(2, None, MASTER, json!({"context": null, "endpoint_sip": null, "endpoint_iax": null, "endpoint_custom": null})),
    ]);
    rows.insert(Kind::Extension, vec![
        row(1, None, MASTER, json!({"exten": "_0.", "context": "to-extern", "enabled": true})),
        row(2, None, OTHER, json!({"exten": "_0.", "context": "other-out", "enabled": true})),
    ]);
    rows.insert(Kind::Outcall, vec![
        row(1, None, MASTER, json!({"name": "national", "internal_caller_id": false, "ring_time": null, "description": null, "enabled": true,
                                   "preprocess_subroutine": null, "trunks": [{"id": 1}],
                                   "extensions": [{"id": 1, "strip_digits": 1, "external_prefix": null, "prefix": null, "caller_id": null}]})),
        row(2, None, OTHER, json!({"name": "theirs", "enabled": true, "trunks": [], "extensions": [{"id": 2, "strip_digits": 0}]})),
    ]);
    let tenants = vec![
        Tenant { uuid: MASTER.into(), name: "master".into(), slug: "master".into(), parent_uuid: None },
        Tenant { uuid: OTHER.into(), name: "Other".into(), slug: "other".into(), parent_uuid: Some(MASTER.into()) },
    ];
    Stored { tenants, rows }
}

fn master(stored: &Stored) -> &Tenant {
    &stored.tenants[0]
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn counter() -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        format!("new-uuid-{n}")
    }
}

/// Plans `doc` for the master tenant against `stored`.
fn plan_for(stored: &Stored, doc: &TenantDoc, env: &dyn Fn(&str) -> Option<String>) -> Result<(Vec<Change>, Vec<Entry>), Vec<String>> {
    let exported = mapping::export_tenant(stored, master(stored));
    let current: Vec<(String, Entry)> = exported.managed.into_iter().map(|e| ("master".to_string(), e)).collect();
    let mut ids = Ids::after(stored);
    let mut uuids = counter();
    let desired = mapping::desired_rows(doc, MASTER, stored, &mut ids, &mut uuids, &Secrets { env })?;
    let by_key = mapping::MANAGED_KINDS.iter().flat_map(|k| stored.of(*k).iter().map(move |r| ((*k, r.id), r.clone()))).collect();
    let tagged: Vec<(String, Entry)> = desired.entries.iter().cloned().map(|e| ("master".to_string(), e)).collect();
    Ok((plan::diff(&current, &by_key, &tagged), desired.entries))
}

#[test]
fn export_names_references_and_writes_secrets_as_references() {
    let stored = stored();
    let doc = mapping::export_tenant(&stored, master(&stored)).doc;
    assert_eq!(doc.slug, "master");
    assert_eq!(doc.contexts.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["to-extern", "default"]);
    assert_eq!(doc.contexts[1].includes, ["to-extern"]);
    // The endpoint-less trunk has no name to be known by: not described.
    assert_eq!(doc.trunks.len(), 1);
    let trunk = &doc.trunks[0];
    assert_eq!(trunk.name, "provider");
    let sip = trunk.sip.as_ref().expect("sip");
    assert_eq!(sip.outbound_auth[1], ("password".into(), Text::Secret(SecretRef { secret: "env:PATCHBAY_SECRET_MASTER_PROVIDER_OUTBOUND_AUTH_PASSWORD".into() })));
    assert_eq!(doc.outcalls[0].trunks, ["provider"]);
    assert_eq!(doc.outcalls[0].patterns[0].exten, "_0.");
    assert_eq!(doc.outcalls[0].patterns[0].strip_digits, Some(json!(1)));
    // Nothing of the other tenant.
    assert!(doc.outcalls.iter().all(|o| o.name != "theirs"));
    let whole = ConfigDoc { patchbay_config: FORMAT_VERSION, tenants: vec![doc] };
    for format in [Format::Yaml, Format::Toml, Format::Json] {
        let text = whole.to_text(format).expect("writes");
        assert!(!text.contains(SECRET), "{format:?}:\n{text}");
        assert_eq!(ConfigDoc::from_text(&text, format).expect("reads back"), whole, "{format:?}:\n{text}");
    }
}

#[test]
fn documents_refuse_unknown_fields_and_other_versions() {
    let error = ConfigDoc::from_text("patchbay_config: 1\ntenants:\n- slug: m\n  name: m\n  outcals: []\n", Format::Yaml).unwrap_err();
    assert!(error.contains("outcals"), "{error}");
    let error = ConfigDoc::from_text("patchbay_config: 2\n", Format::Yaml).unwrap_err();
    assert!(error.contains("version 2"), "{error}");
}

#[test]
fn the_export_of_a_tenant_plans_no_change() {
    let stored = stored();
    let doc = mapping::export_tenant(&stored, master(&stored)).doc;
    // The env variable is not set: the stored secret is kept.
    let (changes, _) = plan_for(&stored, &doc, &no_env).expect("valid");
    assert!(changes.is_empty(), "{changes:#?}");
}

#[test]
fn one_strip_edited_plans_exactly_that_outcall() {
    let stored = stored();
    let mut doc = mapping::export_tenant(&stored, master(&stored)).doc;
    doc.outcalls[0].patterns[0].strip_digits = Some(json!(2));
    let (changes, _) = plan_for(&stored, &doc, &no_env).expect("valid");
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!((changes[0].action, changes[0].kind, changes[0].name.as_str()), (Action::Update, "outcall", "national"));
    assert_eq!(changes[0].fields, ["extensions"]);
    assert_eq!(changes[0].after.as_ref().unwrap().body["extensions"][0]["strip_digits"], json!(2));
}

#[test]
fn new_objects_get_fresh_ids_in_document_order_and_names_resolve_to_them() {
    let stored = stored();
    let mut doc = mapping::export_tenant(&stored, master(&stored)).doc;
    doc.trunks.push(TrunkDoc {
        name: "backup".into(),
        context: None,
        twilio_incoming: false,
        outgoing_caller_id_format: "+E164".into(),
        description: None,
        sip: None,
        iax: None,
        custom: Some(CustomDoc { interface_suffix: Some("@default".into()), enabled: true }),
        register: None,
        number_plan: None,
    });
    doc.outcalls[0].trunks = vec!["backup".into(), "provider".into()];
    doc.outcalls[0].patterns.push(PatternDoc {
        exten: "_00.".into(),
        context: "to-extern".into(),
        enabled: true,
        strip_digits: None,
        external_prefix: None,
        prefix: None,
        caller_id: None,
    });
    let (changes, _) = plan_for(&stored, &doc, &no_env).expect("valid");
    let summary: Vec<(Action, &str, &str)> = changes.iter().map(|c| (c.action, c.kind, c.name.as_str())).collect();
    assert_eq!(summary, [
        (Action::Create, "endpoint_custom", "backup"),
        (Action::Create, "trunk", "backup"),
        (Action::Create, "extension", "_00.@to-extern"),
        (Action::Update, "outcall", "national"),
    ]);
    // Ids follow every stored id of the kind, whichever tenant has it.
    assert_eq!(changes[1].after.as_ref().unwrap().id, 3);
    assert_eq!(changes[1].after.as_ref().unwrap().body["endpoint_custom"], json!({"id": 1}));
    assert_eq!(changes[2].after.as_ref().unwrap().id, 3);
    let outcall = &changes[3].after.as_ref().unwrap().body;
    assert_eq!(outcall["trunks"], json!([{"id": 3}, {"id": 1}]));
    assert_eq!(outcall["extensions"][1]["id"], json!(3));
}

#[test]
fn what_the_document_leaves_out_is_deleted_but_what_it_cannot_describe_stays() {
    let stored = stored();
    let mut doc = mapping::export_tenant(&stored, master(&stored)).doc;
    doc.outcalls.clear();
    let (changes, _) = plan_for(&stored, &doc, &no_env).expect("valid");
    let summary: Vec<(Action, &str, &str)> = changes.iter().map(|c| (c.action, c.kind, c.name.as_str())).collect();
    // Deletions go first, dependents before what they use.
    assert_eq!(summary, [(Action::Delete, "outcall", "national"), (Action::Delete, "extension", "_0.@to-extern")]);
    // The endpoint-less trunk (id 2) and the other tenant's objects are untouched.
    assert!(changes.iter().all(|c| c.before.as_ref().is_none_or(|r| r.tenant_uuid.as_deref() == Some(MASTER) && !(c.kind == "trunk" && r.id == 2))));
}

#[test]
fn names_resolve_inside_the_tenant_only() {
    let stored = stored();
    let mut doc = mapping::export_tenant(&stored, master(&stored)).doc;
    // `theirs` exists, in the other tenant: here it is a new outcall, not theirs.
    doc.outcalls[0].name = "theirs".into();
    doc.outcalls[0].trunks = vec!["provider".into(), "nowhere".into()];
    let errors = plan_for(&stored, &doc, &no_env).expect_err("refused");
    assert_eq!(errors, ["Input Error - tenants[master].outcalls[0].trunks: trunk 'nowhere' is not in this tenant's trunks"]);
    doc.outcalls[0].trunks = vec!["provider".into()];
    let (changes, _) = plan_for(&stored, &doc, &no_env).expect("valid");
    let created = changes.iter().find(|c| c.kind == "outcall" && c.action == Action::Create).expect("a new outcall");
    assert_eq!(created.after.as_ref().unwrap().id, 3);
    assert!(changes.iter().any(|c| c.kind == "outcall" && c.action == Action::Delete && c.name == "national"));
}

#[test]
fn secrets_come_from_the_environment_or_are_kept_never_from_the_file() {
    let stored = stored();
    let exported = mapping::export_tenant(&stored, master(&stored)).doc;
    let env = |name: &str| (name == "PATCHBAY_SECRET_MASTER_PROVIDER_OUTBOUND_AUTH_PASSWORD").then(|| "n3w".to_string());
    let (changes, _) = plan_for(&stored, &exported, &env).expect("valid");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].fields, ["outbound_auth_section_options"]);
    assert_eq!(changes[0].after.as_ref().unwrap().body["outbound_auth_section_options"][1], json!(["password", "n3w"]));
    // Unmanaged keys (the legacy body) are kept as they are.
    assert_eq!(changes[0].after.as_ref().unwrap().body["legacy"], json!({"secret": SECRET}));

    let mut doc = exported.clone();
    doc.trunks[0].sip.as_mut().unwrap().outbound_auth[1].1 = Text::Plain("in-clear".into());
    let errors = plan_for(&stored, &doc, &no_env).expect_err("refused");
    assert!(errors[0].contains("outbound_auth.password: is a secret"), "{errors:?}");

    let mut doc = exported.clone();
    doc.trunks[0].sip.as_mut().unwrap().auth.push(("password".into(), Text::Secret(SecretRef { secret: "keep".into() })));
    let errors = plan_for(&stored, &doc, &no_env).expect_err("nothing to keep");
    assert!(errors[0].contains("auth.password: {secret: \"keep\"} but the server has no secret here"), "{errors:?}");

    let mut doc = exported;
    doc.trunks[0].sip.as_mut().unwrap().auth.push(("password".into(), Text::Secret(SecretRef { secret: "env:UNSET_VAR".into() })));
    let errors = plan_for(&stored, &doc, &no_env).expect_err("nothing to keep");
    assert!(errors[0].contains("UNSET_VAR is not set and the server has no secret here"), "{errors:?}");
}

#[test]
fn an_extension_is_bound_once() {
    let stored = stored();
    let mut doc = mapping::export_tenant(&stored, master(&stored)).doc;
    doc.extensions.push(ExtensionDoc { exten: "_0.".into(), context: "to-extern".into(), enabled: true });
    let errors = plan_for(&stored, &doc, &no_env).expect_err("refused");
    assert_eq!(errors, ["Input Error - tenants[master].extensions[0]: extension _0.@to-extern is already used by outcall 'national'"]);
}

#[test]
fn config_diff_shows_the_changed_lines_only() {
    let before: BTreeMap<String, String> =
        [("extensions.conf".to_string(), "[a]\nexten => 1,1,NoOp()\nsame => n,Goto(${EXTEN:1})\nsame => n,Hangup()\n".to_string()), ("iax.conf".into(), "x\n".into())].into();
    let mut after = before.clone();
    after.insert("extensions.conf".into(), "[a]\nexten => 1,1,NoOp()\nsame => n,Goto(${EXTEN:2})\nsame => n,Hangup()\n".into());
    let diff = plan::config_diff(&before, &after);
    assert_eq!(diff.len(), 1);
    assert_eq!(diff["extensions.conf"], ["@@ line 3", "-same => n,Goto(${EXTEN:1})", "+same => n,Goto(${EXTEN:2})"]);
    assert!(plan::config_diff(&before, &before).is_empty());
}

#[test]
fn a_failover_policy_is_exported_only_when_it_is_not_the_default_and_plans_as_one_field() {
    use patchbay_shared::model::{FailoverPolicy, FailureOutcome};
    let stored = stored();
    let mut doc = mapping::export_tenant(&stored, master(&stored)).doc;
    assert_eq!(doc.outcalls[0].failover_policy, None, "rows without a policy hold the default");
    let mut policy = FailoverPolicy::default();
    policy.stop_on.push(FailureOutcome::Code(480));
    doc.outcalls[0].failover_policy = Some(policy.clone());
    let (changes, _) = plan_for(&stored, &doc, &no_env).expect("valid");
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].fields, ["failover_policy"]);
    assert_eq!(changes[0].after.as_ref().unwrap().body["failover_policy"]["stop_on"], json!(["486", "600", "603", "404", "480"]));
}

/// A trunk's number plan and an outcall's emergency settings: absent from
/// the export of rows without them, planned as one field each when the
/// document sets them, exported back from the planned rows, and then no
/// change.
#[test]
fn number_plans_and_emergency_settings_round_trip() {
    use patchbay_shared::model::Emergency;
    use patchbay_shared::numbers::{DidSource, NumberPlan, OutboundFormat};
    let stored = stored();
    let mut doc = mapping::export_tenant(&stored, master(&stored)).doc;
    assert!(doc.trunks.iter().all(|t| t.number_plan.is_none()));
    assert_eq!(doc.outcalls[0].emergency, None);
    let plan = NumberPlan {
        country: "CA".into(),
        outbound: OutboundFormat::PlusE164,
        caller_id: OutboundFormat::E164,
        inbound: Some(OutboundFormat::E164),
        did_from: DidSource::Diversion,
    };
    let emergency = Emergency { callback_number: "5145550100".into(), test_number: Some("933".into()) };
    let provider = doc.trunks.iter().position(|t| t.sip.is_some()).expect("the provider trunk");
    doc.trunks[provider].number_plan = Some(plan.clone());
    doc.outcalls[0].emergency = Some(emergency.clone());
    let (changes, _) = plan_for(&stored, &doc, &no_env).expect("valid");
    let fields: Vec<&[String]> = changes.iter().map(|c| c.fields.as_slice()).collect();
    assert_eq!(changes.len(), 2, "{changes:#?}");
    assert!(fields.contains(&&["number_plan".to_string()][..]), "{fields:?}");
    assert!(fields.contains(&&["emergency".to_string()][..]), "{fields:?}");

    // The planned rows, stored: exported as set, and planning the same
    // document again changes nothing.
    let mut applied = stored.clone();
    for change in &changes {
        let after = change.after.clone().expect("an update");
        let kind = change.kind_key.expect("a stored kind");
        for row in applied.rows.get_mut(&kind).into_iter().flatten() {
            if row.id == after.id {
                *row = after.clone();
            }
        }
    }
    let again = mapping::export_tenant(&applied, master(&applied)).doc;
    assert_eq!(again.trunks[provider].number_plan, Some(plan));
    assert_eq!(again.outcalls[0].emergency, Some(emergency));
    let (changes, _) = plan_for(&applied, &again, &no_env).expect("valid");
    assert!(changes.is_empty(), "{changes:#?}");
}

/// The master tenant of [`stored`] with a user, a group of that user with
/// an extension and a non-default timeout, and a DID to the group.
fn stored_with_a_group() -> Stored {
    let mut stored = stored();
    let rows = &mut stored.rows;
    rows.insert(Kind::User, vec![row(1, Some("user-1"), MASTER, json!({"firstname": "Alice", "lastname": null, "caller_id": null, "outgoing_caller_id": null}))]);
    rows.get_mut(&Kind::Extension).unwrap().extend([
        row(3, None, MASTER, json!({"exten": "3000", "context": "default", "enabled": true})),
        row(4, None, MASTER, json!({"exten": "5550100", "context": "from-extern", "enabled": true})),
    ]);
    let mut group = (crate::api::groups::GROUPS.defaults)();
    group.extend([
        ("name".into(), json!("grp-master-sales")),
        ("label".into(), json!("Sales")),
        ("timeout".into(), json!(20)),
        ("user_members".into(), json!([{"user_id": 1, "priority": 0}])),
        ("extension_id".into(), json!(3)),
    ]);
    rows.insert(Kind::Group, vec![row(1, Some("group-1"), MASTER, Value::Object(group))]);
    rows.insert(Kind::Incall, vec![row(1, None, MASTER, json!({
        "extension_id": 4, "destination": {"type": "group", "group_id": 1, "ring_time": 12},
        "caller_id_mode": null, "caller_id_name": null, "description": null,
    }))]);
    stored
}

#[test]
fn groups_round_trip_with_their_members_extension_settings_and_incalls() {
    let stored = stored_with_a_group();
    let doc = mapping::export_tenant(&stored, master(&stored)).doc;
    assert_eq!(doc.groups.len(), 1, "{doc:#?}");
    let group = &doc.groups[0];
    assert_eq!((group.name.as_str(), group.label.as_str()), ("grp-master-sales", "Sales"));
    assert_eq!(group.members, ["user-1"]);
    assert_eq!(group.extension.as_ref().map(|e| (e.exten.as_str(), e.context.as_str())), Some(("3000", "default")));
    // Only what differs from Wazo's defaults.
    assert_eq!(group.settings, json!({"timeout": 20}).as_object().cloned().unwrap());
    // The incall names its group, not its id.
    assert_eq!(doc.incalls[0].destination, json!({"type": "group", "group": "grp-master-sales", "ring_time": 12}));
    let (changes, _) = plan_for(&stored, &doc, &no_env).expect("valid");
    assert!(changes.is_empty(), "{changes:#?}");

    // A second group, the DID sent to it, an unknown setting and member refused.
    let mut doc = doc;
    doc.groups.push(GroupDoc { name: "grp-master-support".into(), label: "Support".into(), settings: Default::default(), members: vec!["user-1".into()], extension: None });
    doc.incalls[0].destination = json!({"type": "group", "group": "grp-master-support"});
    let (changes, _) = plan_for(&stored, &doc, &no_env).expect("valid");
    let summary: Vec<(Action, &str, &str)> = changes.iter().map(|c| (c.action, c.kind, c.name.as_str())).collect();
    assert_eq!(summary, [(Action::Create, "group", "group grp-master-support"), (Action::Update, "incall", "5550100@from-extern")], "{changes:#?}");
    let created = &changes[0].after.as_ref().unwrap();
    assert_eq!(created.body["user_members"], json!([{"user_id": 1, "priority": 0}]));
    assert_eq!(created.body["ring_strategy"], json!("all"), "absent settings are Wazo's defaults");
    assert_eq!(changes[1].after.as_ref().unwrap().body["destination"], json!({"type": "group", "group_id": created.id}));
    let mut bad = doc.clone();
    bad.groups[1].settings.insert("rings".into(), json!(3));
    bad.groups[1].members.push("nobody".into());
    bad.incalls[0].destination = json!({"type": "group", "group": "grp-unknown"});
    let errors = plan_for(&stored, &bad, &no_env).unwrap_err();
    for wanted in ["groups[1].settings.rings", "groups[1].members", "incalls[0].destination.group"] {
        assert!(errors.iter().any(|e| e.contains(wanted)), "{wanted} in {errors:?}");
    }
}
