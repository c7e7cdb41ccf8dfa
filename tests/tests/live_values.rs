//! Option values against the real Asterisk 22: the API's value rules
//! (`patchbay_shared::validate`, table in `validate/pjsip_values.rs`) are
//! each backed by what Asterisk does with the value, and what the API
//! accepts reaches Asterisk byte for byte.
//!
//! 1. Per rule, a boundary value the API accepts and one it refuses are
//!    written straight to `patchbay-pjsip.conf` (the config writer, no API
//!    in between), one object each; after the reload Asterisk must hold the
//!    accepted object and not the refused one.
//! 2. Passwords that are awkward for the config syntax (leading `>`, inner
//!    blanks, `;`, `\`, `;--`, non-ASCII, long) read back from `GetConfig`
//!    and from the loaded auth (`PJSIPShowEndpoint` → `AuthDetail`)
//!    exactly as written. Edge blanks, which cannot round-trip, are refused.
//! 3. Through the REST API: bad values in several fields → one 400 listing
//!    each field, nothing stored.
//!
//! AMI ports 15300/15301, addresses 127.0.0.160/162 (one each: the two tests
//! run in parallel and each binds SIP port 5060; 127.0.0.161 is a far end where
//! nothing listens).

use std::time::{Duration, Instant};

use patchbay_backend::ami::config_writer::{Section, get_config, write_config};
use patchbay_backend::ami::{AmiClient, AmiMessage};
use patchbay_e2e::app::PatchbayServer;
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_shared::model::EndpointSip;
use serde_json::{Value, json};

const FILE: &str = "patchbay-pjsip.conf";
const FAR: &str = "127.0.0.161";

/// Which kind of object an option belongs to, and the API field carrying it.
#[derive(Clone, Copy, Debug)]
enum Object {
    Endpoint,
    Aor,
    Registration,
}

impl Object {
    fn field(self) -> &'static str {
        match self {
            Object::Endpoint => "endpoint_section_options",
            Object::Aor => "aor_section_options",
            Object::Registration => "registration_section_options",
        }
    }
}

/// One rule: the API accepts `accepted` and refuses `refused`, and so does
/// Asterisk when loading the object.
struct Rule {
    object: Object,
    key: &'static str,
    accepted: String,
    refused: String,
}

fn rule(object: Object, key: &'static str, accepted: impl Into<String>, refused: impl Into<String>) -> Rule {
    Rule { object, key, accepted: accepted.into(), refused: refused.into() }
}

fn rules() -> Vec<Rule> {
    use Object::*;
    let mut rules = vec![
        rule(Endpoint, "from_user", "+33-1.2_3~%41!&'()*,;=:ab", "a b"),
        rule(Endpoint, "rtp_timeout", "4294967295", "4294967296"),
        rule(Endpoint, "max_audio_streams", "0", "one"),
        rule(Endpoint, "dtmf_mode", "AUTO_INFO", "rfc2833"),
        rule(Endpoint, "100rel", "required", "maybe"),
        rule(Endpoint, "timers", "forced", "sometimes"),
        rule(Endpoint, "direct_media_method", "update", "bye"),
        rule(Endpoint, "connected_line_method", "reinvite", "info"),
        rule(Endpoint, "direct_media_glare_mitigation", "incoming", "both"),
        rule(Endpoint, "redirect_method", "uri_pjsip", "uri"),
        rule(Endpoint, "media_encryption", "sdes", "zrtp"),
        rule(Endpoint, "t38_udptl_ec", "redundancy", "crc"),
        rule(Endpoint, "identify_by", "ip, username,header", "ip,mac"),
        rule(Aor, "qualify_frequency", "86400", "86401"),
        rule(Aor, "max_contacts", "4294967295", "-1"),
        rule(Aor, "qualify_timeout", "3.5", "soon"),
        rule(Registration, "expiration", "120", "2m"),
        rule(Registration, "max_retries", "4294967295", "-1"),
        rule(Registration, "retry_interval", "60", "1.5"),
    ];
    // `from_user_handler` refuses each of these characters on its own.
    for bad in ["[", "\"", ">", "\\", "#", "é", "@", "/"] {
        rules.push(rule(Endpoint, "from_user", "ok", format!("a{bad}b")));
    }
    rules
}

/// Rules the API applies although Asterisk *loads* the refused value:
/// pjproject cannot build a SIP message with a URI over its buffers
/// (`PJSIP_MAX_URL_SIZE`, `PJ_MAX_HOSTNAME`), so such a trunk loads and then
/// fails on every REGISTER or INVITE (`ast_sip_validate_uri_length` runs when
/// the registration starts, not when the file loads). Checked live too: the
/// refused value *does* load, so nobody mistakes these for load-time rules.
fn runtime_rules() -> Vec<Rule> {
    use Object::*;
    let host = |n: usize| "h".repeat(n);
    vec![
        rule(Aor, "contact", format!("sip:{}", host(116)), format!("sip:{}", host(117))),
        rule(Aor, "contact", format!("sip:u@{}:5060", host(127)), format!("sip:u@{}:5060", host(128))),
        rule(Registration, "server_uri", format!("sip:{}", host(116)), format!("sip:{}", host(117))),
        rule(Registration, "client_uri", format!("sip:{}@{FAR}", "u".repeat(255 - 5 - FAR.len())), format!("sip:{}@{FAR}", "u".repeat(256 - 5 - FAR.len()))),
    ]
}

/// The options of one test object: `type`, what the object needs to load at
/// all, then the option under test.
fn object_lines(object: Object, key: &str, value: &str) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: &str| {
        lines.retain(|(existing, _)| existing != k);
        lines.push((k.to_owned(), v.to_owned()));
    };
    match object {
        Object::Endpoint => put("type", "endpoint"),
        Object::Aor => put("type", "aor"),
        Object::Registration => {
            put("type", "registration");
            put("server_uri", &format!("sip:{FAR}"));
            put("client_uri", &format!("sip:user@{FAR}"));
            put("retry_interval", "3600");
        }
    }
    put(key, value);
    lines
}

/// `validate::endpoint_sip` on an endpoint carrying only this option.
fn api_errors(object: Object, key: &str, value: &str) -> Vec<String> {
    let ep: EndpointSip = serde_json::from_value(json!({
        "uuid": "u-1", "tenant_uuid": "t-1", "name": "probe",
        object.field(): [[key, value]],
    }))
    .expect("endpoint JSON");
    patchbay_shared::validate::endpoint_sip(&ep).iter().map(ToString::to_string).collect()
}

async fn reload_pjsip(ami: &AmiClient) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match ami.send("Reload", AmiMessage::new().with("Module", "res_pjsip.so")).await {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() < deadline => {
                eprintln!("reload: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Names of the loaded objects of one kind.
async fn loaded(ami: &AmiClient, object: Object) -> anyhow::Result<Vec<String>> {
    let (action, event) = match object {
        Object::Endpoint => ("PJSIPShowEndpoints", "EndpointList"),
        Object::Aor => ("PJSIPShowAors", "AorList"),
        Object::Registration => ("PJSIPShowRegistrationsOutbound", "OutboundRegistrationDetail"),
    };
    // An empty list is an error answer ("No ... found").
    let Ok(answer) = ami.send(action, AmiMessage::new()).await else { return Ok(Vec::new()) };
    Ok(answer
        .items()
        .filter(|e| e.event_name() == Some(event))
        .filter_map(|e| e.get("ObjectName"))
        .map(str::to_owned)
        .collect())
}

/// Polls until every name in `present` is loaded (the reload runs after
/// its answer), then returns what is loaded.
async fn loaded_once_present(ami: &AmiClient, asterisk: &AsteriskInstance, object: Object, present: &[String]) -> anyhow::Result<Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let names = loaded(ami, object).await?;
        if present.iter().all(|n| names.contains(n)) {
            return Ok(names);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{object:?}: {:?} never all loaded (have {names:?}):\n{}",
            present,
            asterisk.console_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_value_rule_is_what_asterisk_does() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("values-rules", "127.0.0.160", 15300).await?;
    let ami = asterisk.connect_ami().await?;
    let rules = rules();
    let runtime = runtime_rules();

    // The API side of each rule.
    for r in rules.iter().chain(&runtime) {
        let accepted = api_errors(r.object, r.key, &r.accepted);
        assert!(accepted.is_empty(), "API refuses {} = {:?}: {accepted:?}", r.key, r.accepted);
        let refused = api_errors(r.object, r.key, &r.refused);
        assert!(!refused.is_empty(), "API accepts {} = {:?}", r.key, r.refused);
        assert!(refused.iter().any(|e| e.contains(r.object.field()) && e.contains(r.key)), "{refused:?}");
    }

    // Asterisk's side: one object per value, all in one file.
    let mut sections = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        sections.push(Section { name: format!("acc-{i}"), lines: object_lines(r.object, r.key, &r.accepted) });
        sections.push(Section { name: format!("ref-{i}"), lines: object_lines(r.object, r.key, &r.refused) });
    }
    for (i, r) in runtime.iter().enumerate() {
        sections.push(Section { name: format!("run-{i}"), lines: object_lines(r.object, r.key, &r.refused) });
    }
    write_config(&ami, FILE, &sections, None).await?;
    reload_pjsip(&ami).await?;

    let mut mismatches = Vec::new();
    for object in [Object::Endpoint, Object::Aor, Object::Registration] {
        let mine: Vec<(usize, &Rule)> = rules.iter().enumerate().filter(|(_, r)| std::mem::discriminant(&r.object) == std::mem::discriminant(&object)).collect();
        let accepted: Vec<String> = mine.iter().map(|(i, _)| format!("acc-{i}")).collect();
        let runtime_loaded: Vec<String> = runtime
            .iter()
            .enumerate()
            .filter(|(_, r)| std::mem::discriminant(&r.object) == std::mem::discriminant(&object))
            .map(|(i, _)| format!("run-{i}"))
            .collect();
        let wanted: Vec<String> = accepted.iter().chain(&runtime_loaded).cloned().collect();
        let names = loaded_once_present(&ami, &asterisk, object, &wanted).await?;
        for (i, r) in mine {
            if names.contains(&format!("ref-{i}")) {
                mismatches.push(format!("{object:?} {} = {:?}: the API refuses it, Asterisk loaded it", r.key, r.refused));
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    Ok(())
}

/// Passwords that look like config syntax; each must be held as written.
fn awkward_passwords() -> Vec<String> {
    let mut values: Vec<String> = [
        ">secret", ">>two", "=>arrow", "in ner  spaces", "p;w", "a\\;b", "ends\\", "\\", ";--block--;",
        "#include x", "[cat]", "a=b", "ünïcødé", "tab-free\u{a0}nbsp",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // The longest the API takes (validate::text::MAX_OPTION_VALUE_BYTES),
    // once with the `>` that the config writer doubles.
    values.push("x".repeat(1000));
    values.push(format!(">{}", "y".repeat(999)));
    values
}

#[tokio::test(flavor = "multi_thread")]
async fn awkward_secrets_reach_asterisk_byte_for_byte() -> anyhow::Result<()> {
    let passwords = awkward_passwords();
    for p in &passwords {
        let errors = api_errors_auth(p);
        assert!(errors.is_empty(), "API refuses password {p:?}: {errors:?}");
    }
    let too_long = "z".repeat(1001);
    assert!(api_errors_auth(&too_long).iter().any(|e| e.contains("at most 1000 bytes")));
    // Blanks at either end cannot round-trip (the AMI header parser and the
    // config parser strip them): refused at the API.
    for p in [" lead", "trail ", " both "] {
        let errors = api_errors_auth(p);
        assert!(errors.iter().any(|e| e.contains("auth_section_options") && e.contains("blank")), "{p:?}: {errors:?}");
    }

    let asterisk = AsteriskInstance::start("values-secrets", "127.0.0.162", 15301).await?;
    let ami = asterisk.connect_ami().await?;
    let mut sections = Vec::new();
    for (i, p) in passwords.iter().enumerate() {
        let name = format!("rt-{i}");
        sections.push(Section { name: name.clone(), lines: vec![("type".into(), "endpoint".into()), ("auth".into(), name.clone())] });
        sections.push(Section {
            name: name.clone(),
            lines: vec![("type".into(), "auth".into()), ("username".into(), "user".into()), ("password".into(), p.clone())],
        });
    }
    write_config(&ami, FILE, &sections, None).await?;

    // The file as Asterisk parses it.
    let read_back = get_config(&ami, FILE).await?;
    for (i, p) in passwords.iter().enumerate() {
        let name = format!("rt-{i}");
        let auth = read_back
            .iter()
            .find(|s| s.name == name && s.lines.iter().any(|(k, v)| k == "type" && v == "auth"))
            .unwrap_or_else(|| panic!("{name} missing from GetConfig: {read_back:?}"));
        let held: Vec<&str> = auth.lines.iter().filter(|(k, _)| k == "password").map(|(_, v)| v.as_str()).collect();
        assert_eq!(held, [p.as_str()], "GetConfig of {name}");
    }

    // What res_pjsip loaded.
    reload_pjsip(&ami).await?;
    let names: Vec<String> = (0..passwords.len()).map(|i| format!("rt-{i}")).collect();
    loaded_once_present(&ami, &asterisk, Object::Endpoint, &names).await?;
    for (i, p) in passwords.iter().enumerate() {
        let answer = ami.send("PJSIPShowEndpoint", AmiMessage::new().with("Endpoint", format!("rt-{i}"))).await?;
        let auth = answer
            .items()
            .find(|e| e.event_name() == Some("AuthDetail"))
            .unwrap_or_else(|| panic!("rt-{i}: no AuthDetail:\n{}", asterisk.console_tail()));
        // Compared without printing: a mismatch names the index only.
        assert!(auth.get("Password") == Some(p.as_str()), "rt-{i}: the loaded password differs from the one written");
    }

    // Why the API stops at 1000 bytes: a value much longer than Asterisk's
    // 1024-byte manager line, written directly, does not arrive (the write
    // fails or the file is left without it).
    let long = "w".repeat(2000);
    let sections = [Section {
        name: "too-long".into(),
        lines: vec![("type".into(), "auth".into()), ("username".into(), "user".into()), ("password".into(), long.clone())],
    }];
    let written = tokio::time::timeout(Duration::from_secs(20), write_config(&ami, FILE, &sections, None)).await;
    let held = get_config(&ami, FILE).await?;
    let arrived = held.iter().any(|s| s.lines.iter().any(|(k, v)| k == "password" && *v == long));
    assert!(!arrived, "a 2000-byte value arrived intact (write: {:?}): the 1000-byte API limit could be raised", written.map(|r| r.is_ok()));
    Ok(())
}

fn api_errors_auth(password: &str) -> Vec<String> {
    let ep: EndpointSip = serde_json::from_value(json!({
        "uuid": "u-1", "tenant_uuid": "t-1", "name": "probe",
        "auth_section_options": [["username", "user"], ["password", password]],
    }))
    .expect("endpoint JSON");
    patchbay_shared::validate::endpoint_sip(&ep).iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn the_api_lists_every_bad_value_and_stores_nothing() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let t = s.admin_token().await?;
    let list = "/1.1/endpoints/sip";
    let before = s.expect(&t, "GET", list, None, 200).await?;
    let bad = json!({
        "name": "hostile",
        "endpoint_section_options": [["from_user", "a b"], ["dtmf_mode", "rfc2833"]],
        "aor_section_options": [["qualify_frequency", "86401"]],
        "auth_section_options": [["username", "u"], ["password", " padded "]],
        "registration_section_options": [["server_uri", format!("sip:{}", "h".repeat(200))], ["contact_user", "a\"b"]],
    });
    let (status, errors) = s.call(&t, "POST", list, Some(bad.clone())).await?;
    assert_eq!(status, 400, "{errors}");
    let errors: Vec<&str> = errors.as_array().expect("a list of errors").iter().filter_map(Value::as_str).collect();
    for (field, key) in [
        ("endpoint_section_options", "from_user"),
        ("endpoint_section_options", "dtmf_mode"),
        ("aor_section_options", "qualify_frequency"),
        ("auth_section_options", "password"),
        ("registration_section_options", "server_uri"),
        ("registration_section_options", "contact_user"),
    ] {
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("Input Error - {field}:")) && e.contains(key)),
            "no error for {field} {key} in {errors:?}"
        );
    }
    assert!(errors.iter().all(|e| !e.contains("padded")), "an error quotes the password: {errors:?}");
    assert_eq!(s.expect(&t, "GET", list, None, 200).await?, before, "POST stored something");

    // PUT on an existing endpoint: same answer, the endpoint unchanged.
    let ep = s.expect(&t, "POST", list, Some(json!({"name": "calm"})), 201).await?;
    let path = format!("{list}/{}", ep["uuid"].as_str().expect("uuid"));
    let stored = s.expect(&t, "GET", &path, None, 200).await?;
    let mut update = bad;
    update["name"] = json!("calm");
    let (status, errors) = s.call(&t, "PUT", &path, Some(update)).await?;
    assert_eq!(status, 400, "{errors}");
    assert_eq!(errors.as_array().map(Vec::len), Some(4), "one line per section with every bad value in it: {errors}");
    assert_eq!(s.expect(&t, "GET", &path, None, 200).await?, stored, "PUT changed the endpoint");
    Ok(())
}
