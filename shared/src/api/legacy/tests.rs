use super::*;
use crate::fixtures::opts;
use serde_json::json;

fn endpoint(body: serde_json::Value, usage: EndpointUse) -> TranslatedEndpoint {
    let body: LegacySipEndpoint = serde_json::from_value(body).unwrap();
    translate_sip_endpoint(&body, usage).unwrap()
}

#[test]
fn seed_000_dynamic_friend_waits_for_the_other_side_to_register() {
    let t = endpoint(json!({"username": "wazo-trunk", "secret": "pass", "type": "friend", "host": "dynamic"}), EndpointUse::Trunk);
    assert_eq!(t.name, "wazo-trunk");
    assert_eq!(t.label, "wazo-trunk");
    assert_eq!(t.sections.auth_section_options, opts(&[("username", "wazo-trunk"), ("password", "pass")]));
    assert_eq!(t.sections.outbound_auth_section_options, opts(&[("username", "wazo-trunk"), ("password", "pass")]));
    assert_eq!(t.sections.aor_section_options, opts(&[("max_contacts", "1"), ("remove_existing", "yes")]));
    assert_eq!(t.sections.identify_section_options, vec![]);
}

#[test]
fn seed_000_friend_with_a_host_gets_a_contact_and_an_identify() {
    let t = endpoint(json!({"username": "wazo-trunk", "secret": "pass", "type": "friend", "host": "wazo-b.example.com"}), EndpointUse::Trunk);
    assert_eq!(t.sections.aor_section_options, opts(&[("contact", "sip:wazo-trunk@wazo-b.example.com:5060")]));
    assert_eq!(t.sections.identify_section_options, opts(&[("match", "wazo-b.example.com")]));
    assert_eq!(t.sections.auth_section_options.len(), 2);
}

#[test]
fn seed_001_provider_peer_is_not_challenged_and_qualifies() {
    let t = endpoint(json!({
        "username": "0123456789", "secret": "s3cret", "type": "peer", "host": "voip.provider.example.com",
        "options": [["qualify", "yes"], ["qualifyfreq", "30"], ["nat", "force_rport,comedia"]]
    }), EndpointUse::Trunk);
    assert_eq!(t.sections.auth_section_options, vec![], "a provider never authenticates to us");
    assert_eq!(t.sections.outbound_auth_section_options, opts(&[("username", "0123456789"), ("password", "s3cret")]));
    assert_eq!(t.sections.aor_section_options, opts(&[("contact", "sip:0123456789@voip.provider.example.com:5060"), ("qualify_frequency", "30")]));
    assert_eq!(t.sections.endpoint_section_options, opts(&[("force_rport", "yes"), ("rewrite_contact", "yes"), ("rtp_symmetric", "yes")]));
}

#[test]
fn option_mapping_table() {
    type Case<'a> = (&'a str, &'a str, SipSectionKind, &'a [(&'a str, &'a str)]);
    let cases: [Case; 10] = [
        ("qualify", "no", SipSectionKind::Aor, &[("qualify_frequency", "0")]),
        ("nat", "yes", SipSectionKind::Endpoint, &[("rtp_symmetric", "yes"), ("rewrite_contact", "yes")]),
        ("dtmfmode", "rfc2833", SipSectionKind::Endpoint, &[("dtmf_mode", "rfc4733")]),
        ("dtmfmode", "info", SipSectionKind::Endpoint, &[("dtmf_mode", "info")]),
        ("sendrpid", "pai", SipSectionKind::Endpoint, &[("send_pai", "yes")]),
        ("session-timers", "originate", SipSectionKind::Endpoint, &[("timers", "always")]),
        ("callingpres", "prohib", SipSectionKind::Endpoint, &[("callerid_privacy", "prohib")]),
        ("maxexpiry", "3600", SipSectionKind::Aor, &[("maximum_expiration", "3600")]),
        ("transport", "tcp", SipSectionKind::Endpoint, &[("transport", "transport-tcp")]),
        ("fromdomain", "example.com", SipSectionKind::Endpoint, &[("from_domain", "example.com")]),
    ];
    for (key, value, kind, expected) in cases {
        let t = endpoint(json!({"username": "u", "host": "dynamic", "options": [[key, value]]}), EndpointUse::Line);
        let got: Vec<_> = t.sections.get(kind).iter().filter(|(k, _)| !["max_contacts", "remove_existing"].contains(&k.as_str())).cloned().collect();
        assert_eq!(got, opts(expected), "{key}={value}");
    }
}

#[test]
fn codecs_fold_into_one_allow_and_unknown_options_are_reported() {
    let t = endpoint(json!({"username": "u", "options": [["disallow", "all"], ["allow", "alaw,ulaw"], ["allow", "gsm"], ["canreinvite", "no"]]}), EndpointUse::Line);
    assert_eq!(t.sections.endpoint_section_options, opts(&[("allow", "!all,alaw,ulaw,gsm")]));
    assert_eq!(t.ignored.len(), 1);
    assert_eq!(t.ignored[0].key, "canreinvite");
}

#[test]
fn insecure_invite_removes_the_inbound_challenge() {
    let t = endpoint(json!({"username": "u", "secret": "p", "host": "h.example.com", "options": [["insecure", "port,invite"]]}), EndpointUse::Trunk);
    assert_eq!(t.sections.auth_section_options, vec![]);
    let user = endpoint(json!({"username": "u", "secret": "p", "type": "user", "host": "h.example.com"}), EndpointUse::Trunk);
    assert_eq!(user.sections.outbound_auth_section_options, vec![], "type=user is inbound only");
    assert_eq!(user.sections.aor_section_options, vec![]);
}

#[test]
fn legacy_fields_are_validated() {
    let body: LegacySipEndpoint = serde_json::from_value(json!({"username": "a b", "secret": "x\ny", "host": "h;x"})).unwrap();
    let errors = translate_sip_endpoint(&body, EndpointUse::Trunk).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["username", "username", "secret", "host"]);
    let nameless: LegacySipEndpoint = serde_json::from_value(json!({"secret": "x"})).unwrap();
    assert_eq!(translate_sip_endpoint(&nameless, EndpointUse::Line).unwrap_err()[0].field, "username");
}

#[test]
fn seed_000_register_becomes_a_registration_that_recovers() {
    let reg: LegacySipRegister = serde_json::from_value(json!({
        "auth_username": "wazo-trunk", "auth_password": "pass", "transport": "udp", "remote_host": "wazo-b.example.com"
    })).unwrap();
    let mut sections = SipSections { registration_section_options: opts(&[("server_uri", "sip:old")]), ..Default::default() };
    apply_register(&reg, &mut sections).unwrap();
    assert_eq!(sections.registration_section_options, opts(&[
        ("server_uri", "sip:wazo-b.example.com"),
        ("client_uri", "sip:wazo-trunk@wazo-b.example.com"),
        ("expiration", "120"),
        ("transport", "transport-udp"),
        ("auth_rejection_permanent", "no"),
        ("retry_interval", "20"),
        ("forbidden_retry_interval", "30"),
        ("fatal_retry_interval", "30"),
        ("max_retries", "10000"),
    ]));
    assert_eq!(sections.registration_outbound_auth_section_options, opts(&[("username", "wazo-trunk"), ("password", "pass")]));
    let mut ep = crate::fixtures::endpoint("u", "wazo-trunk", sections);
    ep.label = None;
    assert_eq!(crate::validate::endpoint_sip(&ep), vec![], "the result passes PJSIP validation");
}

#[test]
fn register_with_port_callback_and_explicit_sip_username() {
    let reg: LegacySipRegister = serde_json::from_value(json!({
        "sip_username": "0123456789", "auth_username": "acct", "auth_password": "pw",
        "remote_host": "voip.example.com", "remote_port": 5080, "callback_extension": "4185550100", "expiration": 300
    })).unwrap();
    let mut sections = SipSections::default();
    apply_register(&reg, &mut sections).unwrap();
    assert_eq!(sections.registration_section_options[..4], opts(&[
        ("server_uri", "sip:voip.example.com:5080"),
        ("client_uri", "sip:0123456789@voip.example.com:5080"),
        ("contact_user", "4185550100"),
        ("expiration", "300"),
    ])[..]);
    assert_eq!(sections.registration_outbound_auth_section_options, opts(&[("username", "acct"), ("password", "pw")]));
}

#[test]
fn register_errors_name_the_field() {
    let cases = [
        (json!({"remote_host": "h"}), "sip_username"),
        (json!({"remote_host": "h:5060", "sip_username": "u"}), "remote_host"),
        (json!({"remote_host": "h", "auth_username": "u"}), "auth_password"),
        (json!({"remote_host": "h", "sip_username": "u", "transport": "sctp"}), "transport"),
        (json!({"remote_host": "h", "sip_username": "u/x"}), "sip_username"),
    ];
    for (body, field) in cases {
        let reg: LegacySipRegister = serde_json::from_value(body.clone()).unwrap();
        let errors = apply_register(&reg, &mut SipSections::default()).unwrap_err();
        assert_eq!(errors[0].field, field, "{body}");
    }
}

#[test]
fn seed_000_general_codecs_go_to_the_global_template() {
    let body: LegacySipGeneral = serde_json::from_value(json!({
        "options": {"useragent": "PBX A", "nat": "yes"},
        "ordered_options": [["disallow", "all"], ["allow", "gsm"], ["autocreatepeer", "no"]]
    })).unwrap();
    let t = translate_sip_general(&body).unwrap();
    assert_eq!(t.global.get("user_agent").map(String::as_str), Some("PBX A"));
    assert_eq!(t.template_endpoint_options, opts(&[("rtp_symmetric", "yes"), ("rewrite_contact", "yes"), ("allow", "!all,gsm")]));
    assert_eq!(t.ignored.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(), ["autocreatepeer"]);
    let register: LegacySipGeneral = serde_json::from_value(json!({"ordered_options": [["register", "x@y"]]})).unwrap();
    assert_eq!(translate_sip_general(&register).unwrap_err()[0].field, "ordered_options");
}

/// Seed 000's `PUT /asterisk/sip/general {"allow": "gsm"}` adds gsm to
/// chan_sip's defaults (PJSIP would otherwise allow gsm only), and a
/// `disallow` without `all` removes from them.
#[test]
fn allow_without_disallow_all_keeps_chan_sip_default_codecs() {
    let t = translate_sip_general(&LegacySipGeneral { options: [("allow".to_owned(), "gsm".to_owned())].into(), ordered_options: vec![] }).unwrap();
    assert_eq!(t.template_endpoint_options, opts(&[("allow", "ulaw,gsm,alaw")]));
    let t = endpoint(json!({"username": "u", "options": [["allow", "g722"], ["disallow", "gsm"]]}), EndpointUse::Trunk);
    assert!(t.sections.endpoint_section_options.contains(&("allow".to_owned(), "ulaw,gsm,alaw,g722,!gsm".to_owned())), "{:?}", t.sections);
}

/// A trunk that authenticates its far end (`friend`/`user` with a secret) is
/// found by the username of the authenticated retry: the far PBX's From
/// carries its caller's number, not the trunk's name.
#[test]
fn authenticating_trunks_are_identified_by_auth_username() {
    let friend = endpoint(json!({"username": "wazo-trunk", "secret": "pass", "type": "friend", "host": "dynamic"}), EndpointUse::Trunk);
    assert!(friend.sections.endpoint_section_options.contains(&("identify_by".to_owned(), "username,ip,auth_username".to_owned())), "{:?}", friend.sections);
    let peer = endpoint(json!({"username": "0123456789", "secret": "s3cret", "type": "peer", "host": "voip.provider.example.com"}), EndpointUse::Trunk);
    assert!(!peer.sections.endpoint_section_options.iter().any(|(k, _)| k == "identify_by"), "{:?}", peer.sections);
    let line = endpoint(json!({"username": "phone", "secret": "pass", "type": "friend"}), EndpointUse::Line);
    assert!(!line.sections.endpoint_section_options.iter().any(|(k, _)| k == "identify_by"), "{:?}", line.sections);
}
