//! Bad input per resource → 400 naming the field, and nothing changes.

use patchbay_e2e::app::PatchbayServer;
use serde_json::{Value, json};

async fn rejected(s: &PatchbayServer, t: &str, method: &str, path: &str, list: &str, body: Value, field: &str) -> anyhow::Result<()> {
    let before = s.expect(t, "GET", list, None, 200).await?;
    let audit_before = s.expect(t, "GET", "/api/patchbay/1.0/audit", None, 200).await?["total"].clone();
    let (status, errors) = s.call(t, method, path, Some(body.clone())).await?;
    assert_eq!(status, 400, "{method} {path} {body}: {errors}");
    let text = errors.as_array().and_then(|e| e.first()).and_then(Value::as_str).unwrap_or_default().to_string();
    assert!(text.contains(field), "{method} {path} {body}: expected field `{field}` in {errors}");
    let after = s.expect(t, "GET", list, None, 200).await?;
    assert_eq!(before, after, "{method} {path} {body} changed the list");
    assert_eq!(audit_before, s.expect(t, "GET", "/api/patchbay/1.0/audit", None, 200).await?["total"], "audit grew");
    Ok(())
}

#[tokio::test]
async fn bad_input_is_rejected_without_change() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let t = s.admin_token().await?;
    let long = "x".repeat(5000);
    let injections = ["a\nb", "[evil]", "a;b", "a,b", "${SHELL(id)}"];

    let ep = s.expect(&t, "POST", "/1.1/endpoints/sip", Some(json!({"name": "good-ep"})), 201).await?;
    let ep_path = format!("/1.1/endpoints/sip/{}", ep["uuid"].as_str().unwrap());
    for bad in injections.iter().copied().chain([long.as_str()]) {
        rejected(&s, &t, "POST", "/1.1/endpoints/sip", "/1.1/endpoints/sip", json!({"name": bad}), "name").await?;
        rejected(&s, &t, "PUT", &ep_path, "/1.1/endpoints/sip", json!({"endpoint_section_options": [["callerid", bad]]}), "endpoint_section_options").await?;
        rejected(&s, &t, "POST", "/1.1/extensions", "/1.1/extensions", json!({"exten": bad, "context": "default"}), "exten").await?;
        rejected(&s, &t, "POST", "/1.1/endpoints/custom", "/1.1/endpoints/custom", json!({"interface": bad}), "interface").await?;
        rejected(&s, &t, "POST", "/1.1/endpoints/iax", "/1.1/endpoints/iax", json!({"name": bad}), "name").await?;
        rejected(&s, &t, "POST", "/1.1/users", "/1.1/users", json!({"firstname": "A", "caller_id": bad}), "caller_id").await?;
    }
    // Every string field, per resource: injection characters, an oversized value
    // and wrong types, each naming the field. The rule depends on where the
    // field goes (shared::validate's table): names, hosts, patterns, caller IDs
    // refuse all of them; free text (labels, descriptions, user names, outcall
    // names: only ever written as `;` comments) and passwords (escaped option
    // values) may hold `[ ; ,` but never a control character or `${`; hosts may
    // be a bracketed IPv6 literal.
    #[derive(Clone, Copy, PartialEq)]
    enum Rule {
        Strict,
        FreeText,
        Host,
    }
    let string_fields: &[(&str, Value, &str, Rule)] = &[
        ("/1.1/endpoints/sip/templates", json!({}), "name", Rule::Strict),
        ("/1.1/endpoints/sip/templates", json!({}), "label", Rule::FreeText),
        ("/1.1/endpoints/sip", json!({}), "label", Rule::FreeText),
        ("/1.1/trunks", json!({}), "context", Rule::Strict),
        ("/1.1/extensions", json!({"exten": "1234"}), "context", Rule::Strict),
        ("/1.1/endpoints/custom", json!({"interface": "Local"}), "interface_suffix", Rule::Strict),
        ("/1.1/endpoints/iax", json!({}), "host", Rule::Host),
        ("/1.1/users", json!({}), "firstname", Rule::FreeText),
        ("/1.1/users", json!({"firstname": "A"}), "lastname", Rule::FreeText),
        ("/1.1/users", json!({"firstname": "A"}), "outgoing_caller_id", Rule::Strict),
        ("/1.1/outcalls", json!({}), "name", Rule::FreeText),
        ("/1.1/outcalls", json!({"name": "free-text"}), "description", Rule::FreeText),
        ("/1.1/outcalls", json!({"name": "o"}), "preprocess_subroutine", Rule::Strict),
        ("/1.1/incalls", json!({"destination": {"type": "none"}}), "caller_id_name", Rule::Strict),
        ("/1.1/registers/sip", json!({"auth_username": "u", "auth_password": "p"}), "remote_host", Rule::Host),
        ("/1.1/registers/sip", json!({"remote_host": "h.example.com", "auth_password": "p"}), "auth_username", Rule::Strict),
        ("/1.1/registers/sip", json!({"remote_host": "h.example.com"}), "sip_username", Rule::Strict),
        ("/1.1/registers/sip", json!({"remote_host": "h.example.com", "auth_username": "u"}), "auth_password", Rule::FreeText),
        ("/1.1/registers/sip", json!({"remote_host": "h.example.com", "sip_username": "u"}), "callback_extension", Rule::Strict),
        ("/1.1/registers/sip", json!({"remote_host": "h.example.com", "sip_username": "u"}), "transport", Rule::Strict),
        ("/1.1/sip/transports", json!({}), "name", Rule::Strict),
        ("/1.1/contexts", json!({"label": "ok"}), "name", Rule::Strict),
        ("/1.1/contexts", json!({}), "label", Rule::FreeText),
    ];
    for (path, base, field, rule) in string_fields {
        for bad in injections.iter().map(|bad| json!(bad)).chain([json!(long), json!(42), json!(["x"])]) {
            let punctuation = ["[evil]", "a;b", "a,b"].iter().any(|p| bad == json!(p));
            if (*rule == Rule::FreeText && punctuation) || (*rule == Rule::Host && bad == json!("[evil]")) {
                continue;
            }
            let mut body = base.clone();
            body[*field] = bad;
            rejected(&s, &t, "POST", path, path, body, field).await?;
        }
    }
    // Free text keeps its punctuation verbatim.
    let user = s.expect(&t, "POST", "/1.1/users", Some(json!({"firstname": "O'Brien; [Jr], A"})), 201).await?;
    assert_eq!(user["firstname"], json!("O'Brien; [Jr], A"));
    s.expect(&t, "DELETE", &format!("/1.1/users/{}", user["id"]), None, 204).await?;
    // Missing required fields.
    for (path, body, field) in [
        ("/1.1/endpoints/custom", json!({}), "interface"),
        ("/1.1/registers/sip", json!({}), "remote_host"),
        ("/1.1/sip/transports", json!({"options": []}), "name"),
        ("/1.1/extensions", json!({"exten": "1234"}), "context"),
    ] {
        rejected(&s, &t, "POST", path, path, body, field).await?;
    }
    // Unknown references.
    let nowhere = "00000000-0000-0000-0000-000000000000";
    rejected(&s, &t, "POST", "/1.1/endpoints/sip", "/1.1/endpoints/sip", json!({"transport": {"uuid": nowhere}}), "transport").await?;
    rejected(&s, &t, "PUT", &ep_path, "/1.1/endpoints/sip", json!({"templates": [{"uuid": nowhere}]}), "templates").await?;
    rejected(&s, &t, "POST", "/1.1/endpoints/sip", "/1.1/endpoints/sip", json!({"name": 42}), "name").await?;
    rejected(&s, &t, "POST", "/1.1/endpoints/sip", "/1.1/endpoints/sip", json!({"aor_section_options": [["max_contacts", 1]]}), "aor_section_options").await?;
    rejected(&s, &t, "POST", "/1.1/endpoints/sip", "/1.1/endpoints/sip", json!({"auth_section_options": [["password"]]}), "auth_section_options").await?;
    rejected(&s, &t, "POST", "/1.1/endpoints/sip", "/1.1/endpoints/sip", json!({"aor_section_options": "nope"}), "aor_section_options").await?;
    rejected(&s, &t, "POST", "/1.1/endpoints/sip", "/1.1/endpoints/sip", json!({"name": "good-ep"}), "already exists").await?;
    rejected(&s, &t, "POST", "/1.1/endpoints/sip", "/1.1/endpoints/sip", json!({"templates": [{"uuid": "00000000-0000-0000-0000-000000000000"}]}), "templates").await?;
    rejected(&s, &t, "POST", "/1.1/endpoints/sip", "/1.1/endpoints/sip", json!({"username": "ok", "secret": "a\nb"}), "secret").await?;
    rejected(&s, &t, "POST", "/1.1/trunks", "/1.1/trunks", json!({"context": "nope"}), "context").await?;
    rejected(&s, &t, "POST", "/1.1/trunks", "/1.1/trunks", json!({"twilio_incoming": "yes"}), "twilio_incoming").await?;
    rejected(&s, &t, "POST", "/1.1/extensions", "/1.1/extensions", json!({"context": "default"}), "exten").await?;
    rejected(&s, &t, "POST", "/1.1/extensions", "/1.1/extensions", json!({"exten": "100", "context": "no-such"}), "context").await?;
    rejected(&s, &t, "POST", "/1.1/extensions", "/1.1/extensions", json!({"exten": 100, "context": "default"}), "exten").await?;
    rejected(&s, &t, "POST", "/1.1/outcalls", "/1.1/outcalls", json!({}), "name").await?;
    rejected(&s, &t, "POST", "/1.1/outcalls", "/1.1/outcalls", json!({"name": "o", "enabled": "yes"}), "enabled").await?;
    rejected(&s, &t, "POST", "/1.1/outcalls", "/1.1/outcalls", json!({"name": "o", "ring_time": -1}), "ring_time").await?;
    rejected(&s, &t, "POST", "/1.1/outcalls", "/1.1/outcalls", json!({"name": "o\n[x]"}), "name").await?;
    rejected(&s, &t, "POST", "/1.1/incalls", "/1.1/incalls", json!({}), "destination").await?;
    rejected(&s, &t, "POST", "/1.1/incalls", "/1.1/incalls", json!({"destination": {"type": "user", "user_id": 999}}), "destination").await?;
    rejected(&s, &t, "POST", "/1.1/incalls", "/1.1/incalls", json!({"destination": {"type": "extension", "exten": "1;2", "context": "default"}}), "destination").await?;
    rejected(&s, &t, "POST", "/1.1/users", "/1.1/users", json!({"lastname": "x"}), "firstname").await?;
    rejected(&s, &t, "POST", "/1.1/users", "/1.1/users", json!({"firstname": "A", "outgoing_caller_id": "\"x\" <${EXTEN}>"}), "outgoing_caller_id").await?;
    rejected(&s, &t, "POST", "/1.1/registers/sip", "/1.1/registers/sip", json!({"remote_host": "a b"}), "remote_host").await?;
    rejected(&s, &t, "POST", "/1.1/registers/sip", "/1.1/registers/sip", json!({"remote_host": "h", "auth_username": "u"}), "auth_password").await?;
    rejected(&s, &t, "POST", "/1.1/registers/sip", "/1.1/registers/sip", json!({"remote_host": "h", "enabled": {"a": 1}}), "enabled").await?;
    // A body over the bound is refused before anything reads it.
    let huge = "y".repeat(1024 * 1024);
    rejected(&s, &t, "POST", "/1.1/registers/sip", "/1.1/registers/sip", json!({"remote_host": "h", "callback_extension": huge}), "body").await?;
    rejected(&s, &t, "POST", "/1.1/sip/transports", "/1.1/sip/transports", json!({"name": "t", "options": [["bind", "0.0.0.0;x"]]}), "options").await?;
    rejected(&s, &t, "PUT", "/1.1/asterisk/pjsip/global", "/1.1/asterisk/pjsip/global", json!({"options": {"user_agent": "a\nb"}}), "options").await?;
    rejected(&s, &t, "PUT", "/1.1/asterisk/pjsip/global", "/1.1/asterisk/pjsip/global", json!({"options": {"type": "x"}}), "options").await?;
    rejected(&s, &t, "POST", "/1.1/contexts", "/1.1/contexts", json!({"name": "a;b", "label": "x"}), "name").await?;

    let outcall = s.expect(&t, "POST", "/1.1/outcalls", Some(json!({"name": "out"})), 201).await?;
    let ext = s.expect(&t, "POST", "/1.1/extensions", Some(json!({"exten": "_9.", "context": "to-extern"})), 201).await?;
    let internal = s.expect(&t, "POST", "/1.1/extensions", Some(json!({"exten": "1000", "context": "default"})), 201).await?;
    let path = format!("/1.1/outcalls/{}/extensions/{}", outcall["id"], ext["id"]);
    let list = format!("/1.1/outcalls/{}", outcall["id"]);
    rejected(&s, &t, "PUT", &path, &list, json!({"strip_digits": -1}), "strip_digits").await?;
    rejected(&s, &t, "PUT", &path, &list, json!({"strip_digits": "4"}), "strip_digits").await?;
    rejected(&s, &t, "PUT", &path, &list, json!({"external_prefix": "0,1"}), "external_prefix").await?;
    rejected(&s, &t, "PUT", &path, &list, json!({"caller_id": "\"a\" <1>\n"}), "caller_id").await?;
    rejected(&s, &t, "PUT", &format!("/1.1/outcalls/{}/extensions/{}", outcall["id"], internal["id"]), &list, json!({}), "ContextType").await?;
    rejected(&s, &t, "PUT", &format!("/1.1/outcalls/{}/trunks", outcall["id"]), &list, json!({"trunks": [{"id": 999}]}), "trunks").await?;
    rejected(&s, &t, "PUT", &format!("/1.1/outcalls/{}/trunks", outcall["id"]), &list, json!({"trunks": "x"}), "trunks").await?;
    // Not JSON at all.
    let (status, _) = s.call(&t, "POST", "/1.1/outcalls", Some(json!([1, 2]))).await?;
    assert_eq!(status, 400);
    Ok(())
}
