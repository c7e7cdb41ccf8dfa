//! Wazo exactness (issue #12): error bodies, relation fields, IAX registers,
//! outgoing caller IDs, incall destinations, context ranges, merged SIP views
//! and transport fallback, each asserted against the body wazo-confd gives.

use patchbay_e2e::app::PatchbayServer;
use serde_json::{Value, json};

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}
fn uuid(v: &Value) -> String {
    v["uuid"].as_str().unwrap_or_else(|| panic!("no uuid in {v}")).to_string()
}

/// The 400 body of `method path body`.
async fn refused(s: &PatchbayServer, t: &str, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
    let (status, answer) = s.call(t, method, path, body).await?;
    assert_eq!(status, 400, "{method} {path}: {answer}");
    Ok(answer)
}

#[tokio::test]
async fn errors_read_as_wazo_writes_them() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let t = s.admin_token().await?;
    // Every invalid field at once, in marshmallow's words.
    let answer = refused(&s, &t, "POST", "/1.1/extensions", Some(json!({"exten": 42, "enabled": "yes"}))).await?;
    assert_eq!(
        answer,
        json!([
            "Input Error - context: ['Missing data for required field.']",
            "Input Error - enabled: ['Not a valid boolean.']",
            "Input Error - exten: ['Not a valid string.']",
        ])
    );
    let answer = refused(&s, &t, "POST", "/1.1/registers/iax", Some(json!({"remote_host": "a/b", "auth_username": "u", "remote_port": 70000}))).await?;
    assert_eq!(
        answer,
        json!([
            "Input Error - remote_host: ['String does not match expected pattern.']",
            "Input Error - remote_port: ['Must be greater than or equal to 0 and less than or equal to 65535.']",
        ])
    );
    let answer = refused(&s, &t, "POST", "/1.1/registers/iax", Some(json!({"remote_host": "h.example.com", "callback_extension": "100", "callback_context": "nowhere"}))).await?;
    assert_eq!(answer, json!(["Input Error - field 'callback_context': Context was not found ('callback_context': 'nowhere')"]));
    // Schema-wide rules only once every field passes, as marshmallow runs them.
    let answer = refused(&s, &t, "POST", "/1.1/registers/iax", Some(json!({"remote_host": "h.example.com", "auth_username": "u"}))).await?;
    assert_eq!(answer, json!(["Input Error - auth_username: ['Cannot set field \"auth_username\" if the field \"auth_password\" is not set']"]));
    // Wazo's exten regex error has no `Input Error` prefix.
    let answer = refused(&s, &t, "POST", "/1.1/extensions", Some(json!({"exten": "12a", "context": "default"}))).await?;
    assert_eq!(answer, json!(["exten: ['String does not match expected pattern.']"]));
    let answer = refused(&s, &t, "POST", "/1.1/extensions", Some(json!({"exten": "1234", "context": "nowhere"}))).await?;
    assert_eq!(answer, json!(["Input Error - field 'context': Context was not found ('context': 'nowhere')"]));
    // 404: xivo-dao's `Resource Not Found`, an integer id bare, a uuid quoted.
    assert_eq!(s.expect(&t, "GET", "/1.1/trunks/999", None, 404).await?, json!(["Resource Not Found - Trunk was not found ('id': 999)"]));
    assert_eq!(s.expect(&t, "GET", "/1.1/endpoints/sip/nope", None, 404).await?, json!(["Resource Not Found - EndpointSIP was not found ('uuid': 'nope')"]));
    assert_eq!(s.expect(&t, "DELETE", "/1.1/registers/iax/77", None, 404).await?, json!(["Resource Not Found - IAXRegister was not found ('id': 77)"]));
    // A POST without a body is a 400: the required fields, or the JSON error.
    assert_eq!(refused(&s, &t, "POST", "/1.1/outcalls", None).await?, json!(["Input Error - name: ['Missing data for required field.']"]));
    assert_eq!(refused(&s, &t, "POST", "/1.1/contexts", None).await?, json!(["Input Error - label: ['Missing data for required field.']"]));
    assert_eq!(refused(&s, &t, "POST", "/1.1/trunks", None).await?, json!(["Failed to decode JSON object: Expecting value: line 1 column 1 (char 0)"]));
    assert_eq!(s.expect(&t, "GET", "/1.1/trunks", None, 200).await?["total"], json!(0), "nothing was created");
    s.expect(&t, "POST", "/1.1/trunks", Some(json!({})), 201).await?;
    Ok(())
}

#[tokio::test]
async fn generated_names_are_wazo_hashes() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let t = s.admin_token().await?;
    // xivo-dao's generate_hash: 8 of [a-z0-9], for SIP endpoints, templates and IAX endpoints.
    for path in ["/1.1/endpoints/sip", "/1.1/endpoints/sip/templates", "/1.1/endpoints/iax"] {
        let made = s.expect(&t, "POST", path, Some(json!({})), 201).await?;
        let name = made["name"].as_str().unwrap_or_default().to_string();
        assert!(name.len() == 8 && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()), "{path}: {name}");
    }
    let iax = s.expect(&t, "POST", "/1.1/endpoints/iax", Some(json!({})), 201).await?;
    assert_eq!((iax["type"].clone(), iax["host"].clone()), (json!("friend"), json!("dynamic")));
    Ok(())
}

#[tokio::test]
async fn iax_registers_and_trunk_relations() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let t = s.admin_token().await?;
    let register = s
        .expect(&t, "POST", "/1.1/registers/iax", Some(json!({"auth_username": "pbx-a", "auth_password": "s3cret", "remote_host": "iax.example.com", "remote_port": 4569, "callback_extension": "100", "callback_context": "from-extern"})), 201)
        .await?;
    assert_eq!(register["enabled"], json!(true));
    assert_eq!(register["trunk"], Value::Null);
    let trunk = s.expect(&t, "POST", "/1.1/trunks", Some(json!({"context": "from-extern"})), 201).await?;
    let iax = s.expect(&t, "POST", "/1.1/endpoints/iax", Some(json!({"name": "pbx-a"})), 201).await?;
    s.expect(&t, "PUT", &format!("/1.1/trunks/{}/endpoints/iax/{}", id(&trunk), id(&iax)), None, 204).await?;
    let reg_path = format!("/1.1/trunks/{}/registers/iax/{}", id(&trunk), id(&register));
    s.expect(&t, "PUT", &reg_path, None, 204).await?;
    s.expect(&t, "PUT", &reg_path, None, 204).await?; // the same pair again: a no-op
    let shown = s.expect(&t, "GET", &format!("/1.1/trunks/{}", id(&trunk)), None, 200).await?;
    assert_eq!(shown["register_iax"], json!({"id": id(&register), "links": [{"rel": "register_iax", "href": format!("/api/confd/1.1/registers/iax/{}", id(&register))}]}));
    assert_eq!(shown["endpoint_iax"], json!({"id": id(&iax), "name": "pbx-a", "links": [{"rel": "endpoint_iax", "href": format!("/api/confd/1.1/endpoints/iax/{}", id(&iax))}]}));
    assert_eq!(shown["endpoint_sip"], Value::Null);
    assert_eq!(shown["endpoint_custom"], Value::Null);
    assert_eq!(shown["register_sip"], Value::Null);
    assert_eq!(shown["outcalls"], json!([]));
    let got = s.expect(&t, "GET", &format!("/1.1/registers/iax/{}", id(&register)), None, 200).await?;
    assert_eq!(got["trunk"]["id"], json!(id(&trunk)), "{got}");
    // One register per trunk, one trunk per register, not on a SIP trunk.
    let second = s.expect(&t, "POST", "/1.1/registers/iax", Some(json!({"remote_host": "other.example.com"})), 201).await?;
    let answer = refused(&s, &t, "PUT", &format!("/1.1/trunks/{}/registers/iax/{}", id(&trunk), id(&second)), None).await?;
    assert_eq!(answer, json!([format!("Resource Error - Trunk is associated with a IAXRegister ('trunk_id': {}, 'register_iax_id': {})", id(&trunk), id(&register))]));
    let sip_trunk = s.expect(&t, "POST", "/1.1/trunks", Some(json!({})), 201).await?;
    let sip = s
        .expect(&t, "POST", "/1.1/endpoints/sip", Some(json!({"name": "carrier",
            "auth_section_options": [["username", "carrier-in"], ["password", "p4ss"]],
            "registration_section_options": [["client_uri", "sip:me@carrier.example.com"], ["server_uri", "sip:carrier.example.com"]]})), 201)
        .await?;
    s.expect(&t, "PUT", &format!("/1.1/trunks/{}/endpoints/sip/{}", id(&sip_trunk), uuid(&sip)), None, 204).await?;
    let shown = s.expect(&t, "GET", &format!("/1.1/trunks/{}", id(&sip_trunk)), None, 200).await?;
    // The trunk's endpoint summary: the auth username and the client URI only.
    assert_eq!(shown["endpoint_sip"]["auth_section_options"], json!([["username", "carrier-in"]]), "{shown}");
    assert_eq!(shown["endpoint_sip"]["registration_section_options"], json!([["client_uri", "sip:me@carrier.example.com"]]), "{shown}");
    let answer = refused(&s, &t, "PUT", &format!("/1.1/trunks/{}/registers/iax/{}", id(&sip_trunk), id(&second)), None).await?;
    assert_eq!(answer, json!([format!("Resource Error - Trunk is associated with a Endpoint ('trunk_id': {}, 'protocol': 'sip')", id(&sip_trunk))]));
    let answer = refused(&s, &t, "PUT", &format!("/1.1/trunks/{}/registers/iax/{}", id(&sip_trunk), id(&register)), None).await?;
    assert!(answer[0].as_str().unwrap().starts_with("Resource Error - Trunk is associated with a IAXRegister"), "{answer}");
    // Partial PUT, then the register goes with its trunk.
    s.expect(&t, "PUT", &format!("/1.1/registers/iax/{}", id(&register)), Some(json!({"remote_port": 4570})), 204).await?;
    let got = s.expect(&t, "GET", &format!("/1.1/registers/iax/{}", id(&register)), None, 200).await?;
    assert_eq!((got["remote_port"].clone(), got["remote_host"].clone()), (json!(4570), json!("iax.example.com")));
    s.expect(&t, "DELETE", &format!("/1.1/trunks/{}", id(&trunk)), None, 204).await?;
    s.expect(&t, "GET", &format!("/1.1/registers/iax/{}", id(&register)), None, 404).await?;
    // A custom endpoint's relations.
    let custom_trunk = s.expect(&t, "POST", "/1.1/trunks", Some(json!({})), 201).await?;
    let custom = s.expect(&t, "POST", "/1.1/endpoints/custom", Some(json!({"interface": "Local", "interface_suffix": "@from-extern"})), 201).await?;
    s.expect(&t, "PUT", &format!("/1.1/trunks/{}/endpoints/custom/{}", id(&custom_trunk), id(&custom)), None, 204).await?;
    let got = s.expect(&t, "GET", &format!("/1.1/endpoints/custom/{}", id(&custom)), None, 200).await?;
    assert_eq!((got["interface"].clone(), got["line"].clone(), got["trunk"]["id"].clone()), (json!("Local"), Value::Null, json!(id(&custom_trunk))));
    let shown = s.expect(&t, "GET", &format!("/1.1/trunks/{}", id(&custom_trunk)), None, 200).await?;
    assert_eq!(shown["endpoint_custom"]["interface"], json!("Local"), "{shown}");
    Ok(())
}

/// A user with a phone on `exten` in `default`, and an incall on `did`.
async fn user_with_incall(s: &PatchbayServer, t: &str, exten: &str, did: &str) -> anyhow::Result<(Value, Value, Value, Value)> {
    let user = s.expect(t, "POST", "/1.1/users", Some(json!({"firstname": "Alice", "lastname": "Doe"})), 201).await?;
    let phone = s.expect(t, "POST", "/1.1/endpoints/sip", Some(json!({"name": "alice-phone"})), 201).await?;
    let number = s.expect(t, "POST", "/1.1/extensions", Some(json!({"exten": exten, "context": "default"})), 201).await?;
    let line = s.expect(t, "POST", "/1.1/lines", Some(json!({})), 201).await?;
    s.expect(t, "PUT", &format!("/1.1/lines/{}/endpoints/sip/{}", id(&line), uuid(&phone)), None, 204).await?;
    s.expect(t, "PUT", &format!("/1.1/lines/{}/extensions/{}", id(&line), id(&number)), None, 204).await?;
    s.expect(t, "PUT", &format!("/1.1/users/{}/lines/{}", id(&user), id(&line)), None, 204).await?;
    let did = s.expect(t, "POST", "/1.1/extensions", Some(json!({"exten": did, "context": "from-extern"})), 201).await?;
    let incall = s.expect(t, "POST", "/1.1/incalls", Some(json!({"destination": {"type": "user", "user_id": id(&user)}})), 201).await?;
    s.expect(t, "PUT", &format!("/1.1/incalls/{}/extensions/{}", id(&incall), id(&did)), None, 204).await?;
    Ok((user, line, number, did))
}

#[tokio::test]
async fn users_extensions_and_caller_ids() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let t = s.admin_token().await?;
    let (user, line, number, did) = user_with_incall(&s, &t, "1001", "5551234").await?;
    // Wazo's fill_caller_id: the full name, quoted.
    assert_eq!(user["caller_id"], json!("\"Alice Doe\""));
    let solo = s.expect(&t, "POST", "/1.1/users", Some(json!({"firstname": "Bob"})), 201).await?;
    assert_eq!(solo["caller_id"], json!("\"Bob\""));
    let kept = s.expect(&t, "POST", "/1.1/users", Some(json!({"firstname": "Carol", "caller_id": "\"Reception\" <100>"})), 201).await?;
    assert_eq!(kept["caller_id"], json!("\"Reception\" <100>"));
    // Relations of a user and of an extension.
    let shown = s.expect(&t, "GET", &format!("/1.1/users/{}", id(&user)), None, 200).await?;
    assert_eq!(shown["lines"][0]["id"], json!(id(&line)), "{shown}");
    assert_eq!(shown["lines"][0]["name"], json!("alice-phone"), "{shown}");
    assert_eq!(shown["lines"][0]["extensions"][0]["exten"], json!("1001"), "{shown}");
    assert_eq!(shown["incalls"][0]["extensions"][0]["exten"], json!("5551234"), "{shown}");
    let ext = s.expect(&t, "GET", &format!("/1.1/extensions/{}", id(&number)), None, 200).await?;
    assert_eq!(ext["lines"], json!([{"id": id(&line), "name": "alice-phone", "links": [{"rel": "lines", "href": format!("/api/confd/1.1/lines/{}", id(&line))}]}]));
    assert_eq!((ext["enabled"].clone(), ext["commented"].clone()), (json!(true), json!(false)));
    for key in ["group", "queue", "conference", "parking_lot", "incall", "outcall"] {
        assert_eq!(ext[key], Value::Null, "{key}: {ext}");
    }
    let did_shown = s.expect(&t, "GET", &format!("/1.1/extensions/{}", id(&did)), None, 200).await?;
    assert!(did_shown["incall"]["id"].is_i64(), "{did_shown}");
    // An extension in use says by what, as Wazo's extension type/typeval.
    let answer = refused(&s, &t, "DELETE", &format!("/1.1/extensions/{}", id(&number)), None).await?;
    assert_eq!(answer, json!([format!("Resource Error - Extension is associated with a user ('extension_id': {}, 'associated_id': '{}')", id(&number), id(&user))]));
    let answer = refused(&s, &t, "DELETE", &format!("/1.1/extensions/{}", id(&did)), None).await?;
    assert_eq!(answer, json!([format!("Resource Error - Extension is associated with a incall ('extension_id': {}, 'associated_id': '{}')", id(&did), did_shown["incall"]["id"])]));
    // The caller IDs the user may present: its DIDs (once each), then anonymous.
    let other_did = s.expect(&t, "POST", "/1.1/extensions", Some(json!({"exten": "5559999", "context": "from-extern"})), 201).await?;
    let second = s.expect(&t, "POST", "/1.1/incalls", Some(json!({"destination": {"type": "user", "user_id": id(&user)}})), 201).await?;
    s.expect(&t, "PUT", &format!("/1.1/incalls/{}/extensions/{}", id(&second), id(&other_did)), None, 204).await?;
    let callerids = s.expect(&t, "GET", &format!("/1.1/users/{}/callerids/outgoing", uuid(&user)), None, 200).await?;
    assert_eq!(
        callerids,
        json!({"items": [{"type": "associated", "number": "5551234"}, {"type": "associated", "number": "5559999"}, {"type": "anonymous"}], "total": 3})
    );
    let none = s.expect(&t, "GET", &format!("/1.1/users/{}/callerids/outgoing", id(&solo)), None, 200).await?;
    assert_eq!(none, json!({"items": [{"type": "anonymous"}], "total": 1}));
    s.expect(&t, "GET", "/1.1/users/424242/callerids/outgoing", None, 404).await?;
    Ok(())
}

#[tokio::test]
async fn context_ranges_bound_what_extensions_serve() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let t = s.admin_token().await?;
    let context = s
        .expect(&t, "POST", "/1.1/contexts", Some(json!({"label": "Office", "type": "internal",
            "user_ranges": [{"start": "1000", "end": "1099"}, {"start": "2000"}],
            "incall_ranges": [{"start": "5551000", "end": "5551999", "did_length": 4}]})), 201)
        .await?;
    assert_eq!(context["user_ranges"], json!([{"start": "1000", "end": "1099"}, {"start": "2000", "end": "2000"}]));
    assert_eq!(context["incall_ranges"], json!([{"start": "5551000", "end": "5551999", "did_length": 4}]));
    assert_eq!(context["group_ranges"], json!([]));
    // Every bad range list named at once, in marshmallow's nested form.
    let answer = refused(&s, &t, "PUT", &format!("/1.1/contexts/{}", id(&context)), Some(json!({
        "user_ranges": [{"start": "100", "end": "20"}, {"start": "1x"}],
        "queue_ranges": [{"start": "20", "end": "10"}],
        "group_ranges": "all",
    }))).await?;
    assert_eq!(
        answer,
        json!([
            "Input Error - user_ranges: {0: {'_schema': ['Start and end must be of the same length']}, 1: {'start': ['Invalid input.']}}",
            "Input Error - group_ranges: ['Invalid type.']",
            "Input Error - queue_ranges: {0: {'_schema': ['Start of range must be lower than or equal to the end']}}",
        ])
    );
    let name = context["name"].as_str().unwrap().to_string();
    let user = s.expect(&t, "POST", "/1.1/users", Some(json!({"firstname": "Dan"})), 201).await?;
    let line = s.expect(&t, "POST", "/1.1/lines", Some(json!({})), 201).await?;
    s.expect(&t, "PUT", &format!("/1.1/users/{}/lines/{}", id(&user), id(&line)), None, 204).await?;
    // Creating does not check ranges; binding to a line does.
    let outside = s.expect(&t, "POST", "/1.1/extensions", Some(json!({"exten": "1500", "context": name})), 201).await?;
    let answer = refused(&s, &t, "PUT", &format!("/1.1/lines/{}/extensions/{}", id(&line), id(&outside)), None).await?;
    assert_eq!(answer, json!([format!("Input Error - Extension '1500' is outside of range for context '{name}'")]));
    let inside = s.expect(&t, "POST", "/1.1/extensions", Some(json!({"exten": "1050", "context": name})), 201).await?;
    s.expect(&t, "PUT", &format!("/1.1/lines/{}/extensions/{}", id(&line), id(&inside)), None, 204).await?;
    // Editing a bound extension: it stays in range, and in a context of its use's type.
    let answer = refused(&s, &t, "PUT", &format!("/1.1/extensions/{}", id(&inside)), Some(json!({"exten": "1100"}))).await?;
    assert_eq!(answer, json!([format!("Input Error - Extension '1100' is outside of range for context '{name}'")]));
    let answer = refused(&s, &t, "PUT", &format!("/1.1/extensions/{}", id(&inside)), Some(json!({"context": "from-extern"}))).await?;
    assert_eq!(answer, json!(["Resource Error - ContextType 'incall' cannot be associated"]));
    s.expect(&t, "PUT", &format!("/1.1/extensions/{}", id(&inside)), Some(json!({"exten": "2000"})), 204).await?;
    let moved = s.expect(&t, "GET", &format!("/1.1/extensions/{}", id(&inside)), None, 200).await?;
    assert_eq!((moved["exten"].clone(), moved["context"].clone()), (json!("2000"), json!(name)));
    // An unbound extension moves freely.
    s.expect(&t, "PUT", &format!("/1.1/extensions/{}", id(&outside)), Some(json!({"context": "default"})), 204).await?;
    // The seeded contexts take any number.
    let default = s.expect(&t, "GET", "/1.1/contexts?name=default", None, 200).await?;
    assert_eq!(default["items"][0]["user_ranges"], json!([{"start": "0000000000000000", "end": "9999999999999999"}]));
    Ok(())
}

#[tokio::test]
async fn incall_destinations_beyond_user() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let t = s.admin_token().await?;
    let mut renders = Vec::new();
    for (index, (destination, app)) in [
        (json!({"type": "none"}), "Hangup()"),
        (json!({"type": "hangup"}), "Hangup()"),
        (json!({"type": "hangup", "cause": "busy", "timeout": 4.5}), "Busy(5)"),
        (json!({"type": "hangup", "cause": "congestion"}), "Congestion()"),
        (json!({"type": "custom", "command": "Playback(tt-monkeys)"}), "Playback(tt-monkeys)"),
        (json!({"type": "extension", "exten": "1001", "context": "default"}), "Goto(default,1001,1)"),
    ]
    .into_iter()
    .enumerate()
    {
        let did = s.expect(&t, "POST", "/1.1/extensions", Some(json!({"exten": format!("555010{index}"), "context": "from-extern"})), 201).await?;
        let incall = s.expect(&t, "POST", "/1.1/incalls", Some(json!({"destination": destination})), 201).await?;
        s.expect(&t, "PUT", &format!("/1.1/incalls/{}/extensions/{}", id(&incall), id(&did)), None, 204).await?;
        renders.push((format!("555010{index}"), app));
        let shown = s.expect(&t, "GET", &format!("/1.1/incalls/{}", id(&incall)), None, 200).await?;
        if destination["type"] == "hangup" {
            assert!(shown["destination"]["cause"].is_string(), "{shown}");
        }
        if destination["cause"] == "congestion" {
            assert_eq!(shown["destination"]["timeout"], Value::Null, "busy/congestion always show their timeout: {shown}");
        }
    }
    let preview = s.expect(&t, "GET", "/api/patchbay/1.0/config/preview", None, 200).await?.to_string();
    for (did, app) in renders {
        assert!(preview.contains(&format!("exten = {did},")) || preview.contains(&format!("exten => {did},")), "{did} not rendered");
        assert!(preview.contains(app), "{app} not in the dialplan");
    }
    // Nested errors as marshmallow nests them.
    let answer = refused(&s, &t, "POST", "/1.1/incalls", Some(json!({"destination": {"type": "custom", "command": "System(reboot)"}}))).await?;
    assert_eq!(answer, json!(["Input Error - destination: {'command': ['String does not match expected pattern.']}"]));
    let answer = refused(&s, &t, "POST", "/1.1/incalls", Some(json!({"destination": {"type": "hangup", "cause": "busy", "timeout": -1}}))).await?;
    assert_eq!(answer, json!(["Input Error - destination: {'timeout': ['Must be greater than or equal to 0.']}"]));
    let answer = refused(&s, &t, "POST", "/1.1/incalls", Some(json!({"destination": {"type": "custom", "command": "Dial(PJSIP/other)"}}))).await?;
    assert!(answer[0].as_str().unwrap().starts_with("Input Error - destination: {'command': ["), "{answer}");
    Ok(())
}

#[tokio::test]
async fn merged_sip_views_and_transport_fallback() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let t = s.admin_token().await?;
    let base = s.expect(&t, "POST", "/1.1/endpoints/sip/templates", Some(json!({"label": "base", "endpoint_section_options": [["allow", "ulaw"], ["dtmf_mode", "rfc4733"]]})), 201).await?;
    let child = s
        .expect(&t, "POST", "/1.1/endpoints/sip/templates", Some(json!({"label": "child", "templates": [{"uuid": uuid(&base)}], "endpoint_section_options": [["allow", "alaw"]], "aor_section_options": [["qualify_frequency", "30"]]})), 201)
        .await?;
    let merged = s.expect(&t, "GET", &format!("/1.1/endpoints/sip/templates/{}?view=merged", uuid(&child)), None, 200).await?;
    assert_eq!(merged["endpoint_section_options"], json!([["allow", "alaw"], ["dtmf_mode", "rfc4733"]]));
    assert_eq!(merged["aor_section_options"], json!([["qualify_frequency", "30"]]));
    let plain = s.expect(&t, "GET", &format!("/1.1/endpoints/sip/templates/{}", uuid(&child)), None, 200).await?;
    assert_eq!(plain["endpoint_section_options"], json!([["allow", "alaw"]]));
    let endpoint = s.expect(&t, "POST", "/1.1/endpoints/sip", Some(json!({"name": "merged-ep", "templates": [{"uuid": uuid(&child)}], "endpoint_section_options": [["dtmf_mode", "info"]]})), 201).await?;
    let merged = s.expect(&t, "GET", &format!("/1.1/endpoints/sip/{}?view=merged", uuid(&endpoint)), None, 200).await?;
    assert_eq!(merged["endpoint_section_options"], json!([["allow", "alaw"], ["dtmf_mode", "info"]]));
    let answer = refused(&s, &t, "GET", &format!("/1.1/endpoints/sip/{}?view=flat", uuid(&endpoint)), None).await?;
    assert_eq!(answer, json!(["Input Error - view: ['Must be one of: merged.']"]));

    // Transports: a used one goes only with a fallback, which takes its users.
    let tcp = s.expect(&t, "POST", "/1.1/sip/transports", Some(json!({"name": "transport-tcp", "options": [["protocol", "tcp"], ["bind", "0.0.0.0:5060"]]})), 201).await?;
    let udp = s.expect(&t, "GET", "/1.1/sip/transports?name=transport-udp", None, 200).await?["items"][0].clone();
    s.expect(&t, "PUT", &format!("/1.1/endpoints/sip/{}", uuid(&endpoint)), Some(json!({"transport": {"uuid": uuid(&tcp)}})), 204).await?;
    s.expect(&t, "PUT", &format!("/1.1/endpoints/sip/templates/{}", uuid(&base)), Some(json!({"transport": {"uuid": uuid(&tcp)}})), 204).await?;
    let answer = refused(&s, &t, "DELETE", &format!("/1.1/sip/transports/{}", uuid(&tcp)), None).await?;
    assert_eq!(answer, json!(["Resource Error - Transport is associated with a EndpointSIP"]));
    s.expect(&t, "DELETE", &format!("/1.1/sip/transports/{}?fallback=nope", uuid(&tcp)), None, 404).await?;
    s.expect(&t, "DELETE", &format!("/1.1/sip/transports/{}?fallback={}", uuid(&tcp), uuid(&udp)), None, 204).await?;
    let moved = s.expect(&t, "GET", &format!("/1.1/endpoints/sip/{}", uuid(&endpoint)), None, 200).await?;
    assert_eq!(moved["transport"]["uuid"], json!(uuid(&udp)), "{moved}");
    let moved = s.expect(&t, "GET", &format!("/1.1/endpoints/sip/templates/{}", uuid(&base)), None, 200).await?;
    assert_eq!(moved["transport"]["uuid"], json!(uuid(&udp)), "{moved}");
    s.expect(&t, "GET", &format!("/1.1/sip/transports/{}", uuid(&tcp)), None, 404).await?;

    // The OpenAPI document describes the new routes and parameters.
    let spec = s.expect(&t, "GET", "/api/patchbay/1.0/openapi.json", None, 200).await?;
    for path in ["/api/confd/1.1/registers/iax", "/api/confd/1.1/registers/iax/{id}", "/api/confd/1.1/trunks/{id}/registers/iax/{register_id}", "/api/confd/1.1/users/{id}/callerids/outgoing"] {
        assert!(spec["paths"][path].is_object(), "{path} missing");
    }
    let delete = &spec["paths"]["/api/confd/1.1/sip/transports/{uuid}"]["delete"]["parameters"];
    assert!(delete.as_array().unwrap().iter().any(|p| p["name"] == "fallback" && p["in"] == "query"), "{delete}");
    Ok(())
}
