//! Seeds 000, 001 and 002 run verbatim (as far as the documented calls go)
//! against the real binary, then the simulator follows the call.

use patchbay_e2e::app::PatchbayServer;
use serde_json::{Value, json};

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}
fn uuid(v: &Value) -> String {
    v["uuid"].as_str().unwrap_or_else(|| panic!("no uuid in {v}")).to_string()
}

/// A phone provisioned entirely through the API: user, SIP endpoint, extension, line.
async fn provision_phone(s: &PatchbayServer, t: &str, prefix: &str, exten: &str, context: &str, name: &str) -> anyhow::Result<i64> {
    let user = s.expect(t, "POST", &format!("{prefix}/users"), Some(json!({"firstname": "Alice", "lastname": "Doe", "caller_id": "\"Alice Doe\""})), 201).await?;
    let endpoint = s
        .expect(t, "POST", &format!("{prefix}/endpoints/sip"), Some(json!({
            "name": name, "label": "Alice's phone",
            "auth_section_options": [["username", name], ["password", "phone-secret-1"]],
            "aor_section_options": [["max_contacts", "1"]],
        })), 201)
        .await?;
    let extension = s.expect(t, "POST", &format!("{prefix}/extensions"), Some(json!({"exten": exten, "context": context})), 201).await?;
    let line = s.expect(t, "POST", &format!("{prefix}/lines"), Some(json!({})), 201).await?;
    s.expect(t, "PUT", &format!("{prefix}/lines/{}/endpoints/sip/{}", id(&line), uuid(&endpoint)), None, 204).await?;
    s.expect(t, "PUT", &format!("{prefix}/lines/{}/extensions/{}", id(&line), id(&extension)), None, 204).await?;
    s.expect(t, "PUT", &format!("{prefix}/users/{}/lines/{}", id(&user), id(&line)), None, 204).await?;
    let shown = s.expect(t, "GET", &format!("{prefix}/lines/{}", id(&line)), None, 200).await?;
    assert_eq!(shown["extensions"][0]["exten"], json!(exten), "{shown}");
    assert_eq!(shown["users"][0]["id"], json!(id(&user)), "{shown}");
    assert_eq!(shown["endpoint_sip"]["uuid"], json!(uuid(&endpoint)), "{shown}");
    Ok(id(&user))
}

#[tokio::test]
async fn seed_000_two_wazo_interconnected() -> anyhow::Result<()> {
    // Wazo B: the trunk that waits for A to register, and the incall to user 101.
    let b = PatchbayServer::start(None).await?;
    let tb = b.admin_token().await?;
    let trunk = b.expect(&tb, "POST", "/1.1/trunks", Some(json!({"context": "default"})), 201).await?;
    let sip = b
        .expect(&tb, "POST", "/1.1/endpoints/sip", Some(json!({"username": "wazo-trunk", "secret": "pass", "type": "friend", "host": "dynamic"})), 201)
        .await?;
    assert_eq!(sip["name"], json!("wazo-trunk"));
    assert!(sip["auth_section_options"].as_array().is_some_and(|a| a.contains(&json!(["password", "pass"]))), "{sip}");
    b.expect(&tb, "PUT", &format!("/1.1/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&sip)), None, 204).await?;
    let shown = b.expect(&tb, "GET", &format!("/1.1/trunks/{}", id(&trunk)), None, 200).await?;
    assert_eq!(shown["endpoint_sip"]["name"], json!("wazo-trunk"));
    let user_b = provision_phone(&b, &tb, "/1.1", "1101", "default", "bob-phone").await?;
    let did = b.expect(&tb, "POST", "/1.1/extensions", Some(json!({"exten": "101", "context": "from-extern"})), 201).await?;
    let incall = b.expect(&tb, "POST", "/1.1/incalls", Some(json!({"destination": {"type": "user", "user_id": user_b}})), 201).await?;
    b.expect(&tb, "PUT", &format!("/1.1/incalls/{}/extensions/{}", id(&incall), id(&did)), None, 204).await?;
    let shown = b.expect(&tb, "GET", &format!("/1.1/incalls/{}", id(&incall)), None, 200).await?;
    assert_eq!(shown["extensions"][0]["exten"], json!("101"), "{shown}");
    let trace = b.expect(&tb, "POST", "/api/patchbay/1.0/simulate", Some(json!({"dialed": "101", "trunk_id": id(&trunk)})), 200).await;
    // The trunk's context is `default` on B (seed text): 101 is not in it, so only check it answers.
    assert!(trace.is_ok(), "{trace:?}");

    // Wazo A: trunk, registration, codecs, outcall.
    let a = PatchbayServer::start(None).await?;
    let ta = a.admin_token().await?;
    let trunk = a.expect(&ta, "POST", "/1.1/trunks", Some(json!({"context": "from-extern"})), 201).await?;
    let sip = a
        .expect(&ta, "POST", "/1.1/endpoints/sip", Some(json!({"username": "wazo-trunk", "secret": "pass", "type": "friend", "host": "wazo-b.example.com"})), 201)
        .await?;
    a.expect(&ta, "PUT", &format!("/1.1/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&sip)), None, 204).await?;
    let register = a
        .expect(&ta, "POST", "/1.1/registers/sip", Some(json!({"auth_username": "wazo-trunk", "auth_password": "pass", "transport": "udp", "remote_host": "wazo-b.example.com"})), 201)
        .await?;
    a.expect(&ta, "PUT", &format!("/1.1/trunks/{}/registers/sip/{}", id(&trunk), id(&register)), None, 204).await?;
    let endpoint = a.expect(&ta, "GET", &format!("/1.1/endpoints/sip/{}", uuid(&sip)), None, 200).await?;
    let registration = endpoint["registration_section_options"].as_array().cloned().unwrap_or_default();
    assert!(registration.contains(&json!(["server_uri", "sip:wazo-b.example.com"])), "{endpoint}");
    assert!(registration.contains(&json!(["client_uri", "sip:wazo-trunk@wazo-b.example.com"])), "{endpoint}");
    a.expect(&ta, "PUT", "/1.1/asterisk/sip/general", Some(json!({"options": {"allow": "gsm"}})), 204).await?;
    let templates = a.expect(&ta, "GET", "/1.1/endpoints/sip/templates", None, 200).await?;
    let global = templates["items"].as_array().unwrap().iter().find(|t| t["label"] == "global").cloned().unwrap();
    let allow = global["endpoint_section_options"].as_array().unwrap().iter().find(|o| o[0] == "allow").cloned();
    assert!(allow.is_some_and(|o| o[1].as_str().unwrap().contains("gsm")), "{global}");

    // `POST /outcalls` without a body: name is required (reference §2.10).
    let (status, errors) = a.call(&ta, "POST", "/1.1/outcalls", None).await?;
    assert_eq!(status, 400);
    assert!(errors[0].as_str().unwrap().contains("name"), "{errors}");
    let outcall = a.expect(&ta, "POST", "/1.1/outcalls", Some(json!({"name": "to-wazo-b"})), 201).await?;
    a.expect(&ta, "PUT", &format!("/1.1/outcalls/{}/trunks", id(&outcall)), Some(json!({"trunks": [{"id": id(&trunk)}]})), 204).await?;
    let pattern = a.expect(&ta, "POST", "/1.1/extensions", Some(json!({"exten": "_**99.", "context": "to-extern"})), 201).await?;
    a.expect(&ta, "PUT", &format!("/1.1/outcalls/{}/extensions/{}", id(&outcall), id(&pattern)), Some(json!({"strip_digits": 4})), 204).await?;
    let shown = a.expect(&ta, "GET", &format!("/1.1/outcalls/{}", id(&outcall)), None, 200).await?;
    assert_eq!(shown["trunks"][0]["id"], json!(id(&trunk)), "{shown}");
    assert_eq!(shown["extensions"][0]["exten"], json!("_**99."), "{shown}");
    assert_eq!(shown["extensions"][0]["strip_digits"], json!(4), "{shown}");

    let user_a = provision_phone(&a, &ta, "/1.1", "1001", "default", "alice-phone").await?;
    let trace = a.expect(&ta, "POST", "/api/patchbay/1.0/simulate", Some(json!({"dialed": "**99101", "user_id": user_a})), 200).await?;
    assert_eq!(trace["kind"], json!("outcall"), "{trace}");
    assert_eq!(trace["outcall"]["number"], json!("101"), "{trace}");
    assert_eq!(trace["outcall"]["trunks"][0]["dial"], json!("PJSIP/101@wazo-trunk"), "{trace}");
    Ok(())
}

#[tokio::test]
async fn seed_001_voip_provider() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let t = s.admin_token().await?;
    let contexts = s.expect(&t, "GET", "/1.1/contexts?type=incall", None, 200).await?;
    let incall_context = contexts["items"][0]["name"].as_str().unwrap().to_string();
    let trunk = s.expect(&t, "POST", "/1.1/trunks", Some(json!({"context": incall_context})), 201).await?;
    let sip = s
        .expect(&t, "POST", "/1.1/endpoints/sip", Some(json!({"username": "0123456789", "secret": "s3cret", "type": "peer", "host": "voip.provider.example.com"})), 201)
        .await?;
    s.expect(&t, "PUT", &format!("/1.1/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&sip)), None, 204).await?;
    let register = s
        .expect(&t, "POST", "/1.1/registers/sip", Some(json!({"auth_username": "0123456789", "auth_password": "s3cret", "transport": "udp", "remote_host": "voip.provider.example.com"})), 201)
        .await?;
    s.expect(&t, "PUT", &format!("/1.1/trunks/{}/registers/sip/{}", id(&trunk), id(&register)), None, 204).await?;
    let before = s.expect(&t, "GET", &format!("/1.1/endpoints/sip/{}", uuid(&sip)), None, 200).await?;
    // The seed's two PUTs, verbatim: only `options` (Wazo's PUT is partial).
    s.expect(&t, "PUT", &format!("/1.1/endpoints/sip/{}", uuid(&sip)), Some(json!({"options": [["qualify", "yes"]]})), 204).await?;
    s.expect(&t, "PUT", &format!("/1.1/endpoints/sip/{}", uuid(&sip)), Some(json!({"options": [["qualify", "yes"], ["qualifyfreq", "30"]]})), 204).await?;
    let endpoint = s.expect(&t, "GET", &format!("/1.1/endpoints/sip/{}", uuid(&sip)), None, 200).await?;
    assert!(endpoint["aor_section_options"].as_array().unwrap().contains(&json!(["qualify_frequency", "30"])), "{endpoint}");
    // Name, credentials, host and registration are what they were.
    assert_eq!(endpoint["name"], before["name"], "{endpoint}");
    assert_eq!(endpoint["name"], json!("0123456789"));
    for field in ["outbound_auth_section_options", "registration_section_options", "registration_outbound_auth_section_options", "identify_section_options"] {
        assert_eq!(endpoint[field], before[field], "{field} changed: {endpoint}");
    }
    assert!(endpoint["outbound_auth_section_options"].as_array().unwrap().contains(&json!(["password", "s3cret"])), "{endpoint}");
    assert!(endpoint["registration_section_options"].as_array().is_some_and(|r| !r.is_empty()), "{endpoint}");
    let contact = endpoint["aor_section_options"].as_array().unwrap().iter().find(|o| o[0] == "contact").cloned();
    assert_eq!(contact, Some(json!(["contact", "sip:0123456789@voip.provider.example.com:5060"])), "{endpoint}");

    let outcall = s.expect(&t, "POST", "/1.1/outcalls", Some(json!({"name": "provider"})), 201).await?;
    s.expect(&t, "PUT", &format!("/1.1/outcalls/{}/trunks", id(&outcall)), Some(json!({"trunks": [{"id": id(&trunk)}]})), 204).await?;
    let outcall_context = s.expect(&t, "GET", "/1.1/contexts?type=outcall", None, 200).await?["items"][0]["name"].as_str().unwrap().to_string();
    let pattern = s.expect(&t, "POST", "/1.1/extensions", Some(json!({"exten": "418.", "context": outcall_context})), 201).await?;
    s.expect(&t, "PUT", &format!("/1.1/outcalls/{}/extensions/{}", id(&outcall), id(&pattern)), None, 204).await?;
    let user = provision_phone(&s, &t, "/1.1", "1001", "default", "desk-phone").await?;
    let did = s.expect(&t, "POST", "/1.1/extensions", Some(json!({"exten": "5551234", "context": incall_context})), 201).await?;
    let incall = s.expect(&t, "POST", "/1.1/incalls", Some(json!({"destination": {"type": "user", "user_id": user}})), 201).await?;
    s.expect(&t, "PUT", &format!("/1.1/incalls/{}/extensions/{}", id(&incall), id(&did)), None, 204).await?;
    let trace = s.expect(&t, "POST", "/api/patchbay/1.0/simulate", Some(json!({"dialed": "5551234", "trunk_id": id(&trunk)})), 200).await?;
    assert_eq!(trace["kind"], json!("incall"), "{trace}");
    assert_eq!(trace["destination"], json!("PJSIP/desk-phone"), "{trace}");
    Ok(())
}

#[tokio::test]
async fn seed_002_pjsip_prefixed_api() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let t = s.admin_token().await?;
    let p = "/api/confd/1.1";
    s.expect(&t, "PUT", &format!("{p}/asterisk/pjsip/global"), Some(json!({"options": {"user_agent": "Wazo PBX", "endpoint_identifier_order": "auth_username,username,ip"}})), 204).await?;
    let global = s.expect(&t, "GET", &format!("{p}/asterisk/pjsip/global"), None, 200).await?;
    assert_eq!(global["options"]["user_agent"], json!("Wazo PBX"));
    s.expect(&t, "PUT", &format!("{p}/asterisk/pjsip/system"), Some(json!({"options": {}})), 204).await?;
    let transports = s.expect(&t, "GET", &format!("{p}/sip/transports"), None, 200).await?;
    let udp = transports["items"].as_array().unwrap().iter().find(|t| t["name"] == "transport-udp").cloned().expect("transport-udp is seeded");
    let mut options = udp["options"].as_array().cloned().unwrap();
    options.push(json!(["local_net", "192.168.0.0/16"]));
    options.push(json!(["external_signaling_address", "203.0.113.7"]));
    s.expect(&t, "PUT", &format!("{p}/sip/transports/{}", uuid(&udp)), Some(json!({"name": "transport-udp", "options": options})), 204).await?;
    let templates = s.expect(&t, "GET", &format!("{p}/endpoints/sip/templates"), None, 200).await?;
    let global = templates["items"].as_array().unwrap().iter().find(|t| t["label"] == "global").cloned().unwrap();
    s.expect(&t, "PUT", &format!("{p}/endpoints/sip/templates/{}", uuid(&global)), Some(json!({"endpoint_section_options": [["rtp_symmetric", "yes"], ["rewrite_contact", "yes"]]})), 204).await?;
    let endpoint = s
        .expect(&t, "POST", &format!("{p}/endpoints/sip"), Some(json!({
            "name": "provider-a", "label": "Provider A", "templates": [{"uuid": uuid(&global)}],
            "transport": {"uuid": uuid(&udp)},
            "endpoint_section_options": [["set_var", "PJSIP_HEADER(add,X-Custom)=value"], ["identify_by", "header,auth_username,username"]],
            "identify_section_options": [["match_header", "X-Dest-User: abc123"]],
            "outbound_auth_section_options": [["username", "0123456789"], ["password", "s3cret"]],
        })), 201)
        .await?;
    let trunk = s.expect(&t, "POST", &format!("{p}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
    s.expect(&t, "PUT", &format!("{p}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&endpoint)), None, 204).await?;
    let outcall = s.expect(&t, "POST", &format!("{p}/outcalls"), Some(json!({"name": "pstn", "internal_caller_id": false})), 201).await?;
    s.expect(&t, "PUT", &format!("{p}/outcalls/{}/trunks", id(&outcall)), Some(json!({"trunks": [{"id": id(&trunk)}]})), 204).await?;
    let pattern = s.expect(&t, "POST", &format!("{p}/extensions"), Some(json!({"exten": "_**99.", "context": "to-extern"})), 201).await?;
    s.expect(&t, "PUT", &format!("{p}/outcalls/{}/extensions/{}", id(&outcall), id(&pattern)), Some(json!({"strip_digits": 4, "caller_id": "\"XIVO\" <555>"})), 204).await?;
    let user = provision_phone(&s, &t, p, "1001", "default", "bob-phone").await?;
    let user_uuid = s.expect(&t, "GET", &format!("{p}/users/{user}"), None, 200).await?["uuid"].as_str().unwrap().to_string();
    s.expect(&t, "PUT", &format!("{p}/users/{user_uuid}"), Some(json!({"outgoing_caller_id": "\"Bob\" <555>"})), 204).await?;
    let shown = s.expect(&t, "GET", &format!("{p}/users/{user}"), None, 200).await?;
    assert_eq!(shown["outgoing_caller_id"], json!("\"Bob\" <555>"));
    let trace = s.expect(&t, "POST", "/api/patchbay/1.0/simulate", Some(json!({"dialed": "**99101", "user_id": user})), 200).await?;
    assert_eq!(trace["kind"], json!("outcall"), "{trace}");
    assert_eq!(trace["outcall"]["number"], json!("101"), "{trace}");
    assert_eq!(trace["outcall"]["trunks"][0]["dial"], json!("PJSIP/101@provider-a"), "{trace}");
    // The audit trail names who changed the outcall.
    let audit = s.expect(&t, "GET", "/api/patchbay/1.0/audit?kind=outcall", None, 200).await?;
    assert!(audit["items"].as_array().unwrap().iter().any(|e| e["account"] == "admin" && e["action"] == "create"), "{audit}");
    let spec = s.expect(&t, "GET", "/api/patchbay/1.0/openapi.json", None, 200).await?;
    assert!(spec["paths"]["/api/confd/1.1/outcalls/{id}/trunks"]["put"].is_object());
    Ok(())
}
