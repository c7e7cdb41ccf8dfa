//! Wire-shape tests: the JSON Wazo clients send and expect.

use super::*;
use serde_json::{Value, json};

fn parse<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("valid Wazo JSON")
}

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
    value: &T,
) {
    let json = serde_json::to_value(value).unwrap();
    let back: T = serde_json::from_value(json).unwrap();
    assert_eq!(&back, value);
}

#[test]
fn a_trunk_serializes_its_endpoint_as_wazo_does() {
    let trunk: Trunk = parse(json!({
        "id": 1, "tenant_uuid": "t1", "context": "from-extern",
        "endpoint_sip": {"uuid": "u-1", "label": "x", "links": []},
        "endpoint_iax": null, "endpoint_custom": null, "outcalls": []
    }));
    assert_eq!(trunk.endpoint, Some(TrunkEndpoint::Sip("u-1".into())));
    assert_eq!(trunk.outgoing_caller_id_format, CallerIdFormat::PlusE164);
    assert!(!trunk.twilio_incoming);
    let out = serde_json::to_value(&trunk).unwrap();
    assert_eq!(out["endpoint_sip"], json!({"uuid": "u-1"}));
    assert_eq!(out["endpoint_iax"], Value::Null);
    assert_eq!(out["outgoing_caller_id_format"], "+E164");
    round_trip(&trunk);
}

#[test]
fn a_trunk_with_two_endpoints_is_refused() {
    let err = serde_json::from_value::<Trunk>(json!({
        "id": 1, "tenant_uuid": "t1",
        "endpoint_sip": {"uuid": "u-1"}, "endpoint_custom": {"id": 3}
    }))
    .unwrap_err();
    assert!(err.to_string().contains("at most one endpoint"), "{err}");
}

#[test]
fn a_bare_trunk_has_no_context_and_no_endpoint() {
    let trunk: Trunk = parse(json!({"id": 7, "tenant_uuid": "t1", "twilio_incoming": null}));
    assert_eq!(trunk.context, None);
    assert_eq!(trunk.endpoint, None);
    round_trip(&trunk);
}

#[test]
fn sip_endpoint_sections_are_lists_of_pairs() {
    let ep: EndpointSip = parse(json!({
        "uuid": "u-1", "tenant_uuid": "t1", "name": "provider-a", "label": "Provider A",
        "endpoint_section_options": [["allow", "!all,ulaw"], ["set_var", "A=1"], ["set_var", "B=2"]],
        "identify_section_options": [["match", "voip.example.com"]],
        "templates": [{"uuid": "tpl", "label": "global"}],
        "transport": {"uuid": "tr"},
        "trunk": null, "line": null, "links": []
    }));
    assert_eq!(ep.sections.endpoint_section_options.len(), 3);
    assert_eq!(ep.sections.aor_section_options, vec![]);
    assert_eq!(ep.templates, vec![UuidRef::new("tpl")]);
    let out = serde_json::to_value(&ep).unwrap();
    assert_eq!(out["endpoint_section_options"][0], json!(["allow", "!all,ulaw"]));
    assert_eq!(out["registration_section_options"], json!([]));
    assert_eq!(out["transport"], json!({"uuid": "tr"}));
    round_trip(&ep);
}

#[test]
fn outcall_extensions_accept_wazo_id_and_extension_id() {
    let outcall: Outcall = parse(json!({
        "id": 3, "tenant_uuid": "t1", "name": "to-wazo-b",
        "trunks": [{"id": 1, "tenant_uuid": "t1"}, {"id": 2}],
        "extensions": [
            {"id": 17, "exten": "_**99.", "context": "to-extern", "strip_digits": 4},
            {"extension_id": 18, "caller_id": "\"ACME\" <5551234>"}
        ]
    }));
    assert!(outcall.enabled);
    assert_eq!(outcall.trunks, vec![IdRef { id: TrunkId(1) }, IdRef { id: TrunkId(2) }]);
    assert_eq!(outcall.extensions[0].extension_id, ExtensionId(17));
    assert_eq!(outcall.extensions[1].extension_id, ExtensionId(18));
    let out = serde_json::to_value(&outcall).unwrap();
    assert_eq!(out["extensions"][1]["id"], 18);
    round_trip(&outcall);
}

#[test]
fn number_to_dial_strips_then_prefixes() {
    let ext = |strip, prefix: Option<&str>| OutcallExtension {
        extension_id: ExtensionId(1),
        strip_digits: strip,
        external_prefix: prefix.map(str::to_owned),
        prefix: Some("ignored".into()),
        caller_id: None,
    };
    assert_eq!(ext(Some(4), None).number_to_dial("**99101"), "101");
    assert_eq!(ext(None, None).number_to_dial("4181234567"), "4181234567");
    assert_eq!(ext(Some(1), Some("0033")).number_to_dial("0612"), "0033612");
    assert_eq!(ext(Some(9), Some("7")).number_to_dial("12"), "7");
}

#[test]
fn incall_destinations_are_tagged_by_type() {
    let cases = [
        (json!({"type": "user", "user_id": 12}), Destination::User { user_id: UserId(12), ring_time: None }),
        (json!({"type": "none"}), Destination::None),
        (json!({"type": "hangup", "cause": "busy"}), Destination::Hangup { cause: HangupCause::Busy, timeout: None }),
        (json!({"type": "hangup", "cause": "congestion", "timeout": 5.0}), Destination::Hangup { cause: HangupCause::Congestion, timeout: Some(5.0) }),
        (json!({"type": "custom", "command": "Playback(tt-monkeys)"}), Destination::Custom { command: "Playback(tt-monkeys)".into() }),
        (
            json!({"type": "extension", "exten": "1001", "context": "default"}),
            Destination::Extension { exten: "1001".into(), context: "default".into() },
        ),
    ];
    for (json, expected) in cases {
        let incall: Incall = parse(json!({"id": 4, "tenant_uuid": "t1", "destination": json}));
        assert_eq!(incall.destination, expected);
        round_trip(&incall);
    }
}

#[test]
fn context_kind_defaults_to_internal_and_includes_keep_order() {
    let ctx: Context = parse(json!({
        "id": 1, "tenant_uuid": "t1", "name": "default", "label": "Default",
        "contexts": [{"id": 3, "name": "to-extern"}, {"id": 2}]
    }));
    assert_eq!(ctx.kind, ContextKind::Internal);
    assert!(ctx.enabled);
    assert_eq!(ctx.contexts, vec![IdRef { id: ContextId(3) }, IdRef { id: ContextId(2) }]);
    assert_eq!(serde_json::to_value(&ctx).unwrap()["type"], "internal");
    round_trip(&ctx);
}

#[test]
fn custom_endpoints_dial_interface_number_suffix() {
    let custom = EndpointCustom {
        id: CustomId(1),
        tenant_uuid: "t1".into(),
        interface: "Local".into(),
        interface_suffix: Some("@ctx".into()),
        enabled: true,
    };
    assert_eq!(custom.dial_string("0123"), "Local/0123@ctx");
}

#[test]
fn an_empty_snapshot_document_is_an_empty_snapshot() {
    let snapshot: Snapshot = parse(json!({}));
    assert_eq!(snapshot, Snapshot::default());
}

#[test]
fn context_ranges_compare_numbers_and_did_suffixes() {
    use super::{ContextRange, ContextRanges, RangeUse};
    let range = |start: &str, end: Option<&str>, did: Option<u32>| ContextRange { start: start.into(), end: end.map(Into::into), did_length: did };
    let users = range("1000", Some("1999"), None);
    assert!(users.contains("1000") && users.contains("1999") && !users.contains("2000") && !users.contains("999"));
    assert!(!users.contains("1*00"), "a non-numeric exten is in no range");
    assert!(range("1000", None, None).contains("1000") && !range("1000", None, None).contains("1001"));
    // did_length 4: only the last four digits of start/end count.
    let dids = range("5551000", Some("5551999"), Some(4));
    assert!(dids.contains("1234") && !dids.contains("5551234"));
    assert_eq!(range("10", Some("100"), None).problems(), vec![("_schema", "Start and end must be of the same length".to_string())]);
    assert_eq!(range("20", Some("10"), None).problems(), vec![("_schema", "Start of range must be lower than or equal to the end".to_string())]);
    assert_eq!(range("1a", None, None).problems(), vec![("start", "Invalid input.".to_string())]);
    let ranges = ContextRanges { user_ranges: Some(vec![users]), ..ContextRanges::default() };
    assert!(ranges.allows(RangeUse::User, "1500") && !ranges.allows(RangeUse::User, "2500"));
    assert!(ranges.allows(RangeUse::User, "_25XX"), "patterns are not checked");
    assert!(ranges.allows(RangeUse::Group, "2500"), "no stored group ranges: unrestricted");
    let empty = ContextRanges { group_ranges: Some(vec![]), ..ContextRanges::default() };
    assert!(!empty.allows(RangeUse::Group, "2500"), "stored but empty: nothing is in range, as in Wazo");
}
