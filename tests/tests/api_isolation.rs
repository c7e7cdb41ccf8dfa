//! References never cross tenants, secrets never leave, and every PUT is
//! partial — tried as a hostile tenant would, against the real binary.
//!
//! Tenant "alpha" (the master tenant, populated by the master admin) and
//! tenant "bravo" (a sub-tenant, populated by its own admin) each get trunks
//! of every kind, contexts, outcalls, incalls, users and lines. Then bravo —
//! as its tenant admin and as the master admin acting for it — puts alpha's
//! ids and context/section names (and the master's `default`) into every
//! reference field of every resource, on create and on update: every attempt
//! is a 400 in the words a missing reference gets, nothing changes, and
//! bravo's rendered configuration names nothing of alpha's.

use patchbay_e2e::app::PatchbayServer;
use serde_json::{Value, json};

const ALPHA_SECRET: &str = "alpha-Secret-7731";
const BRAVO_SECRET: &str = "bravo-Secret-9952";

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}
fn uuid(v: &Value) -> String {
    v["uuid"].as_str().unwrap_or_else(|| panic!("no uuid in {v}")).to_string()
}

/// One tenant's population, every name carrying `mark`.
struct Population {
    trunk: i64,
    endpoint: Value,
    template: String,
    iax: i64,
    custom: i64,
    internal: String,
    incall_ctx: String,
    outcall_ctx: String,
    context_id: i64,
    outcall: i64,
    incall: i64,
    user: i64,
    line: i64,
    register: i64,
    group: i64,
}

async fn context_named(s: &PatchbayServer, t: &str, tenant: Option<&str>, kind: &str) -> anyhow::Result<(String, i64)> {
    let contexts = call_as(s, t, tenant, "GET", &format!("/1.1/contexts?type={kind}"), None).await?.1;
    let first = &contexts["items"][0];
    Ok((first["name"].as_str().unwrap_or_else(|| panic!("no {kind} context: {contexts}")).to_string(), id(first)))
}

/// A call as `t`, acting for `tenant` when given (`Wazo-Tenant`).
async fn call_as(s: &PatchbayServer, t: &str, tenant: Option<&str>, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<(u16, Value)> {
    let mut request = reqwest::Client::new().request(method.parse()?, format!("{}{}", s.base_url, path)).header("X-Auth-Token", t);
    if let Some(tenant) = tenant {
        request = request.header("Wazo-Tenant", tenant);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await?;
    let status = answer.status().as_u16();
    let text = answer.text().await?;
    Ok((status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) }))
}

async fn ok(s: &PatchbayServer, t: &str, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
    let (status, answer) = call_as(s, t, None, method, path, body.clone()).await?;
    assert!((200..300).contains(&status), "{method} {path} {body:?}: {status} {answer}");
    Ok(answer)
}

/// `mark`'s Local channel interface: custom interfaces are unique across
/// tenants (as in Wazo), and Asterisk reads `Local` in any case.
fn local_interface(mark: &str) -> &'static str {
    if mark.starts_with("alpha") { "Local" } else if mark.starts_with("bravo") { "LOCAL" } else { "LoCaL" }
}

async fn populate(s: &PatchbayServer, t: &str, mark: &str, secret: &str) -> anyhow::Result<Population> {
    let (internal, _) = context_named(s, t, None, "internal").await?;
    let (incall_ctx, _) = context_named(s, t, None, "incall").await?;
    let (outcall_ctx, _) = context_named(s, t, None, "outcall").await?;
    let context = ok(s, t, "POST", "/1.1/contexts", Some(json!({"name": format!("{mark}-lc"), "label": format!("{mark}-ctx"), "type": "internal"}))).await?;
    let trunk = ok(s, t, "POST", "/1.1/trunks", Some(json!({"context": incall_ctx}))).await?;
    let endpoint = ok(
        s,
        t,
        "POST",
        "/1.1/endpoints/sip",
        Some(json!({"name": format!("{mark}-provider"), "label": format!("{mark} provider"),
            "aor_section_options": [["contact", format!("sip:{mark}.example.com")]],
            "auth_section_options": [["username", format!("{mark}-in")], ["password", secret]],
            "outbound_auth_section_options": [["username", format!("{mark}-out")], ["password", secret]],
            "endpoint_section_options": [["context", incall_ctx]]})),
    )
    .await?;
    ok(s, t, "PUT", &format!("/1.1/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&endpoint)), None).await?;
    let register = ok(s, t, "POST", "/1.1/registers/sip", Some(json!({"auth_username": format!("{mark}-reg"), "auth_password": secret, "remote_host": format!("{mark}.example.com")}))).await?;
    ok(s, t, "PUT", &format!("/1.1/trunks/{}/registers/sip/{}", id(&trunk), id(&register)), None).await?;
    let template = ok(s, t, "POST", "/1.1/endpoints/sip/templates", Some(json!({"label": format!("{mark}-tpl")}))).await?;
    let iax_trunk = ok(s, t, "POST", "/1.1/trunks", Some(json!({}))).await?;
    let iax = ok(s, t, "POST", "/1.1/endpoints/iax", Some(json!({"name": format!("{mark}-iax"), "options": [["secret", secret], ["context", incall_ctx]]}))).await?;
    ok(s, t, "PUT", &format!("/1.1/trunks/{}/endpoints/iax/{}", id(&iax_trunk), id(&iax)), None).await?;
    let custom_trunk = ok(s, t, "POST", "/1.1/trunks", Some(json!({}))).await?;
    let custom = ok(s, t, "POST", "/1.1/endpoints/custom", Some(json!({"interface": local_interface(mark), "interface_suffix": format!("@{mark}-lc")}))).await?;
    ok(s, t, "PUT", &format!("/1.1/trunks/{}/endpoints/custom/{}", id(&custom_trunk), id(&custom)), None).await?;
    let pattern = ok(s, t, "POST", "/1.1/extensions", Some(json!({"exten": "_9X.", "context": outcall_ctx}))).await?;
    let outcall = ok(s, t, "POST", "/1.1/outcalls", Some(json!({"name": format!("{mark}-out"), "preprocess_subroutine": internal}))).await?;
    ok(s, t, "PUT", &format!("/1.1/outcalls/{}/trunks", id(&outcall)), Some(json!({"trunks": [{"id": id(&trunk)}, {"id": id(&iax_trunk)}, {"id": id(&custom_trunk)}]}))).await?;
    ok(s, t, "PUT", &format!("/1.1/outcalls/{}/extensions/{}", id(&outcall), id(&pattern)), Some(json!({"strip_digits": 1}))).await?;
    let user = ok(s, t, "POST", "/1.1/users", Some(json!({"firstname": format!("{mark}-user")}))).await?;
    let line = ok(s, t, "POST", "/1.1/lines", Some(json!({}))).await?;
    let phone = ok(s, t, "POST", "/1.1/endpoints/sip", Some(json!({"name": format!("{mark}-phone"), "auth_section_options": [["username", format!("{mark}-phone")], ["password", secret]]}))).await?;
    let number = ok(s, t, "POST", "/1.1/extensions", Some(json!({"exten": "1001", "context": internal}))).await?;
    ok(s, t, "PUT", &format!("/1.1/lines/{}/endpoints/sip/{}", id(&line), uuid(&phone)), None).await?;
    ok(s, t, "PUT", &format!("/1.1/lines/{}/extensions/{}", id(&line), id(&number)), None).await?;
    ok(s, t, "PUT", &format!("/1.1/users/{}/lines/{}", id(&user), id(&line)), None).await?;
    let did = ok(s, t, "POST", "/1.1/extensions", Some(json!({"exten": "5550100", "context": incall_ctx}))).await?;
    let incall = ok(s, t, "POST", "/1.1/incalls", Some(json!({"destination": {"type": "user", "user_id": id(&user)}}))).await?;
    ok(s, t, "PUT", &format!("/1.1/incalls/{}/extensions/{}", id(&incall), id(&did)), None).await?;
    let group = ok(s, t, "POST", "/1.1/groups", Some(json!({"label": format!("{mark}-group")}))).await?;
    let owner = ok(s, t, "GET", &format!("/1.1/users/{}", id(&user)), None).await?;
    ok(s, t, "PUT", &format!("/1.1/groups/{}/members/users", id(&group)), Some(json!({"users": [{"uuid": uuid(&owner)}]}))).await?;
    let group_did = ok(s, t, "POST", "/1.1/extensions", Some(json!({"exten": "5550101", "context": incall_ctx}))).await?;
    let group_incall = ok(s, t, "POST", "/1.1/incalls", Some(json!({"destination": {"type": "group", "group_id": id(&group)}}))).await?;
    ok(s, t, "PUT", &format!("/1.1/incalls/{}/extensions/{}", id(&group_incall), id(&group_did)), None).await?;
    Ok(Population {
        group: id(&group),
        trunk: id(&trunk),
        endpoint,
        template: uuid(&template),
        iax: id(&iax),
        custom: id(&custom),
        internal,
        incall_ctx,
        outcall_ctx,
        context_id: id(&context),
        outcall: id(&outcall),
        incall: id(&incall),
        user: id(&user),
        line: id(&line),
        register: id(&register),
    })
}

/// Everything bravo can list, to check that refused requests changed nothing.
async fn everything(s: &PatchbayServer, t: &str) -> anyhow::Result<Value> {
    let mut all = serde_json::Map::new();
    for path in [
        "/1.1/trunks", "/1.1/endpoints/sip", "/1.1/endpoints/sip/templates", "/1.1/endpoints/iax", "/1.1/endpoints/custom",
        "/1.1/registers/sip", "/1.1/contexts", "/1.1/extensions", "/1.1/outcalls", "/1.1/incalls", "/1.1/users", "/1.1/lines",
        "/1.1/groups",
    ] {
        all.insert(path.into(), ok(s, t, "GET", path, None).await?);
    }
    Ok(Value::Object(all))
}

#[tokio::test]
async fn references_never_cross_tenants() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let admin = s.admin_token().await?;
    let alpha = populate(&s, &admin, "alphamark", ALPHA_SECRET).await?;
    let tenant = ok(&s, &admin, "POST", "/api/auth/0.1/tenants", Some(json!({"name": "Bravo", "slug": "bravo"}))).await?;
    let bravo_tenant = uuid(&tenant);
    ok(&s, &admin, "POST", "/api/auth/0.1/users", Some(json!({"username": "bravo-admin", "password": "bravo-password-1", "tenant_uuid": bravo_tenant, "role": "tenant_admin"}))).await?;
    let bravo_admin = s.login("bravo-admin", "bravo-password-1").await?;
    let bravo = populate(&s, &bravo_admin, "bravomark", BRAVO_SECRET).await?;
    let alpha_name = alpha.endpoint["name"].as_str().unwrap().to_string();
    let bravo_name = bravo.endpoint["name"].as_str().unwrap().to_string();

    // Trunk operations: another tenant's trunk is not found, like a missing
    // one; the tenant's own is found (503: no Asterisk here).
    for (method, what, body) in [
        ("GET", "maintenance", None),
        ("PUT", "maintenance", Some(json!({"maintenance": true}))),
        ("POST", "qualify", None),
        ("POST", "test-call", Some(json!({"number": "100"}))),
        ("GET", "registration", None),
    ] {
        for (trunk, expected) in [(alpha.trunk, 404), (999_999, 404), (bravo.trunk, 503)] {
            let path = format!("/api/patchbay/1.0/trunks/{trunk}/{what}");
            let (status, answer) = call_as(&s, &bravo_admin, None, method, &path, body.clone()).await?;
            assert_eq!(status, expected, "{method} {path}: {answer}");
        }
    }

    // (method, path, body, field named in the 400): alpha's things and the master's `default`.
    let incall_to = |destination: Value| json!({"destination": destination});
    let trunk_destination = |trunk: i64, failover: Value| json!({"type": "trunk", "trunk_id": trunk, "failover": failover});
    let attempts: Vec<(&str, String, Value, &str)> = vec![
        ("POST", "/1.1/incalls".into(), incall_to(json!({"type": "trunk", "trunk_id": alpha.trunk})), "destination"),
        ("POST", "/1.1/incalls".into(), incall_to(json!({"type": "user", "user_id": alpha.user})), "destination"),
        ("POST", "/1.1/incalls".into(), incall_to(json!({"type": "group", "group_id": alpha.group})), "destination"),
        ("PUT", format!("/1.1/groups/{}/members/users", bravo.group), json!({"users": [{"uuid": "00000000-0000-0000-0000-000000000000"}]}), "users"),
        ("POST", "/1.1/incalls".into(), incall_to(json!({"type": "extension", "exten": "1001", "context": "default"})), "destination"),
        ("POST", "/1.1/incalls".into(), incall_to(json!({"type": "extension", "exten": "1001", "context": alpha.internal})), "destination"),
        ("POST", "/1.1/incalls".into(), incall_to(trunk_destination(bravo.trunk, json!({"type": "extension", "exten": "1001", "context": "default"}))), "destination"),
        ("PUT", format!("/1.1/incalls/{}", bravo.incall), incall_to(json!({"type": "trunk", "trunk_id": alpha.trunk})), "destination"),
        ("POST", "/1.1/endpoints/sip".into(), json!({"endpoint_section_options": [["context", "default"]]}), "endpoint_section_options"),
        ("POST", "/1.1/endpoints/sip".into(), json!({"endpoint_section_options": [["subscribe_context", alpha.internal]]}), "endpoint_section_options"),
        ("POST", "/1.1/endpoints/sip".into(), json!({"aor_section_options": [["contact", "sip:evil.example.com"]], "endpoint_section_options": [["outbound_auth", format!("outbound_auth_{alpha_name}")]]}), "endpoint_section_options"),
        ("POST", "/1.1/endpoints/sip".into(), json!({"endpoint_section_options": [["aors", alpha_name]]}), "endpoint_section_options"),
        ("POST", "/1.1/endpoints/sip".into(), json!({"identify_section_options": [["endpoint", alpha_name], ["match", "10.1.2.3"]]}), "identify_section_options"),
        ("POST", "/1.1/endpoints/sip".into(), json!({"registration_section_options": [["server_uri", "sip:evil.example.com"], ["client_uri", "sip:x@evil.example.com"], ["outbound_auth", format!("auth_reg_{alpha_name}")]]}), "registration_section_options"),
        ("POST", "/1.1/endpoints/sip".into(), json!({"templates": [{"uuid": alpha.template}]}), "templates"),
        ("PUT", format!("/1.1/endpoints/sip/{}", uuid(&bravo.endpoint)), json!({"endpoint_section_options": [["context", "default"]]}), "endpoint_section_options"),
        ("POST", "/1.1/endpoints/iax".into(), json!({"name": "bravomark-steal", "options": [["context", "default"]]}), "options"),
        ("POST", "/1.1/endpoints/custom".into(), json!({"interface": "LOCal", "interface_suffix": "@default"}), "interface"),
        ("POST", "/1.1/endpoints/custom".into(), json!({"interface": "lOCAL", "interface_suffix": "@alphamark-lc"}), "interface"),
        ("POST", "/1.1/outcalls".into(), json!({"name": "bravomark-steal", "preprocess_subroutine": "default"}), "preprocess_subroutine"),
        ("PUT", format!("/1.1/outcalls/{}", bravo.outcall), json!({"preprocess_subroutine": alpha.internal}), "preprocess_subroutine"),
        ("PUT", format!("/1.1/outcalls/{}/trunks", bravo.outcall), json!({"trunks": [{"id": alpha.trunk}]}), "trunks"),
        ("POST", "/1.1/trunks".into(), json!({"context": "default"}), "context"),
        ("PUT", format!("/1.1/trunks/{}", bravo.trunk), json!({"context": alpha.incall_ctx}), "context"),
        ("POST", "/1.1/extensions".into(), json!({"exten": "666", "context": "default"}), "context"),
        ("POST", "/1.1/extensions".into(), json!({"exten": "_X.", "context": alpha.outcall_ctx}), "context"),
        ("PUT", format!("/1.1/contexts/{}/contexts", bravo.context_id), json!({"contexts": [{"id": alpha.context_id}]}), "contexts"),
    ];
    for acting in [None, Some(bravo_tenant.as_str())] {
        let token = if acting.is_some() { &admin } else { &bravo_admin };
        let before = everything(&s, &bravo_admin).await?;
        for (method, path, body, field) in &attempts {
            let (status, answer) = call_as(&s, token, acting, method, path, Some(body.clone())).await?;
            let who = if acting.is_some() { "master acting for bravo" } else { "bravo's admin" };
            assert_eq!(status, 400, "{who}: {method} {path} {body}: {answer}");
            let text = answer.to_string();
            // Refused as a reference that does not resolve (or, for a key Patchbay
            // never lets a client set, as an unknown option).
            let refused = text.contains("was not found") || text.contains("invalid variable");
            assert!(refused && text.contains(field), "{who}: {method} {path} {body}: {answer}");
            assert!(!text.contains(ALPHA_SECRET), "{answer}");
        }
        assert_eq!(everything(&s, &bravo_admin).await?, before, "a refused request changed something");
    }
    // Foreign reads exactly like missing.
    let (_, foreign) = call_as(&s, &bravo_admin, None, "POST", "/1.1/incalls", Some(incall_to(json!({"type": "user", "user_id": alpha.user})))).await?;
    let (_, missing) = call_as(&s, &bravo_admin, None, "POST", "/1.1/incalls", Some(incall_to(json!({"type": "user", "user_id": 987654})))).await?;
    assert_eq!(foreign.to_string().replace(&alpha.user.to_string(), "N"), missing.to_string().replace("987654", "N"));
    // Paths naming alpha's objects are 404, as missing ones.
    for path in [
        format!("/1.1/trunks/{}/endpoints/sip/{}", bravo.trunk, uuid(&alpha.endpoint)),
        format!("/1.1/trunks/{}/endpoints/iax/{}", bravo.trunk, alpha.iax),
        format!("/1.1/trunks/{}/endpoints/custom/{}", bravo.trunk, alpha.custom),
        format!("/1.1/trunks/{}/registers/sip/{}", bravo.trunk, alpha.register),
        format!("/1.1/outcalls/{}/extensions/{}", alpha.outcall, 1),
        format!("/1.1/lines/{}/endpoints/sip/{}", alpha.line, uuid(&bravo.endpoint)),
        format!("/1.1/users/{}/lines/{}", bravo.user, alpha.line),
        format!("/1.1/incalls/{}", alpha.incall),
        format!("/1.1/groups/{}", alpha.group),
        format!("/1.1/groups/{}/members/users", alpha.group),
    ] {
        let (status, answer) = call_as(&s, &bravo_admin, None, "PUT", &path, Some(json!({}))).await?;
        assert_eq!(status, 404, "PUT {path}: {answer}");
    }
    // The same fields with bravo's own things are accepted: the 400s above
    // are about whose things they are, not a broken route.
    ok(&s, &bravo_admin, "POST", "/1.1/endpoints/sip", Some(json!({"endpoint_section_options": [["context", bravo.internal], ["outbound_auth", format!("outbound_auth_{bravo_name}")]]}))).await?;
    ok(&s, &bravo_admin, "POST", "/1.1/incalls", Some(incall_to(trunk_destination(bravo.trunk, json!({"type": "extension", "exten": "1001", "context": bravo.internal}))))).await?;
    ok(&s, &bravo_admin, "POST", "/1.1/endpoints/custom", Some(json!({"interface": "local", "interface_suffix": "@bravomark-lc/n"}))).await?;
    // Bravo's rendered configuration names nothing of alpha's: every section
    // of bravo (its endpoints and contexts) in the files Patchbay writes.
    let preview = ok(&s, &admin, "GET", "/api/patchbay/1.0/config/preview", None).await?;
    let mut bravo_sections = 0;
    for (file, text) in preview["files"].as_object().expect("files in the preview") {
        for section in text.as_str().unwrap_or("").split("\n[").skip(1) {
            let header = section.split(']').next().unwrap_or("");
            if header.contains("bravo") {
                bravo_sections += 1;
                // A section's statements, without the comment that labels the next one.
                let section: String = section.lines().filter(|line| !line.starts_with(';')).collect::<Vec<_>>().join("\n");
                let names_alpha = section
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                    .any(|word| word.contains("alphamark") || [&alpha.internal, &alpha.incall_ctx, &alpha.outcall_ctx].contains(&&word.to_string()));
                assert!(!names_alpha, "{file}: bravo's [{section}] names alpha");
            }
        }
    }
    assert!(bravo_sections >= 8, "bravo's sections are in the preview ({bravo_sections}): {preview}");
    Ok(())
}

#[tokio::test]
async fn secrets_never_leave() -> anyhow::Result<()> {
    let s = PatchbayServer::start_logged(None).await?;
    let admin = s.admin_token().await?;
    let tenant = ok(&s, &admin, "POST", "/api/auth/0.1/tenants", Some(json!({"name": "Bravo", "slug": "bravo"}))).await?;
    ok(&s, &admin, "POST", "/api/auth/0.1/users", Some(json!({"username": "bravo-admin", "password": "bravo-password-1", "tenant_uuid": uuid(&tenant), "role": "tenant_admin"}))).await?;
    let t = s.login("bravo-admin", "bravo-password-1").await?;
    let bravo = populate(&s, &t, "bravomark", BRAVO_SECRET).await?;
    // Legacy chan_sip endpoint with a secret, then updated with another.
    let legacy = ok(&s, &t, "POST", "/1.1/endpoints/sip", Some(json!({"username": "legacy-peer", "secret": BRAVO_SECRET, "type": "friend", "host": "peer.example.com"}))).await?;
    ok(&s, &t, "PUT", &format!("/1.1/endpoints/sip/{}", uuid(&legacy)), Some(json!({"secret": format!("{BRAVO_SECRET}-2")}))).await?;
    ok(&s, &t, "PUT", &format!("/1.1/registers/sip/{}", bravo.register), Some(json!({"auth_password": format!("{BRAVO_SECRET}-3")}))).await?;

    // A tenant admin reads every route it may read: no secret anywhere.
    let mut reads = vec![];
    for path in [
        "/1.1/trunks", "/1.1/endpoints/sip", "/1.1/endpoints/sip/templates", "/1.1/endpoints/iax", "/1.1/registers/sip",
        "/1.1/outcalls", "/1.1/incalls", "/1.1/users", "/1.1/lines",
        "/api/patchbay/1.0/snapshot", "/api/patchbay/1.0/config/preview", "/api/patchbay/1.0/audit",
    ] {
        reads.push((path.to_string(), call_as(&s, &t, None, "GET", path, None).await?.1));
    }
    let shown = ok(&s, &t, "GET", &format!("/1.1/endpoints/sip/{}", uuid(&legacy)), None).await?;
    assert!(shown.get("legacy").is_none(), "the stored legacy body is internal: {shown}");
    reads.push(("endpoint".into(), shown));
    for (path, answer) in &reads {
        assert!(!answer.to_string().contains(BRAVO_SECRET), "{path} shows the secret to a tenant admin: {answer}");
    }
    // What the tenant admin reads instead of a secret, sent back, keeps the secret.
    let endpoint = ok(&s, &t, "GET", &format!("/1.1/endpoints/sip/{}", uuid(&bravo.endpoint)), None).await?;
    assert!(endpoint["auth_section_options"].to_string().contains("********"), "{endpoint}");
    ok(&s, &t, "PUT", &format!("/1.1/endpoints/sip/{}", uuid(&bravo.endpoint)), Some(json!({"auth_section_options": endpoint["auth_section_options"]}))).await?;
    let seen_by_master = ok(&s, &admin, "GET", &format!("/1.1/endpoints/sip/{}", uuid(&bravo.endpoint)), None).await?;
    assert!(seen_by_master["auth_section_options"].as_array().unwrap().contains(&json!(["password", BRAVO_SECRET])), "{seen_by_master}");

    // The audit log, read by the master (who may read secrets elsewhere),
    // records that secrets changed, never their values.
    let audit = ok(&s, &admin, "GET", "/api/patchbay/1.0/audit?limit=10000", None).await?;
    let text = audit.to_string();
    assert!(text.contains("bravomark"), "the audit has bravo's changes: {text}");
    assert!(!text.contains(BRAVO_SECRET), "the audit shows a secret");
    assert!(text.contains("(changed)"), "the audit says a secret changed");
    // Nor does the server's log (at debug level).
    let log = s.log();
    assert!(log.contains("Patchbay listening"), "the log was captured: {log}");
    assert!(!log.contains(BRAVO_SECRET) && !log.contains("bravo-password-1"), "the log shows a secret");
    Ok(())
}

#[tokio::test]
async fn every_put_is_partial() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let admin = s.admin_token().await?;
    let p = populate(&s, &admin, "partial", "partial-secret-1").await?;
    let objects = [
        format!("/1.1/trunks/{}", p.trunk),
        format!("/1.1/endpoints/sip/{}", uuid(&p.endpoint)),
        format!("/1.1/endpoints/sip/templates/{}", p.template),
        format!("/1.1/endpoints/iax/{}", p.iax),
        format!("/1.1/endpoints/custom/{}", p.custom),
        format!("/1.1/registers/sip/{}", p.register),
        format!("/1.1/contexts/{}", p.context_id),
        format!("/1.1/outcalls/{}", p.outcall),
        format!("/1.1/incalls/{}", p.incall),
        format!("/1.1/users/{}", p.user),
        format!("/1.1/lines/{}", p.line),
    ];
    for path in &objects {
        let before = ok(&s, &admin, "GET", path, None).await?;
        ok(&s, &admin, "PUT", path, Some(json!({}))).await?;
        let after = ok(&s, &admin, "GET", path, None).await?;
        assert_eq!(after, before, "PUT {path} {{}} changed the object");
    }
    // One field given, one field changed.
    let before = ok(&s, &admin, "GET", &objects[7], None).await?;
    ok(&s, &admin, "PUT", &objects[7], Some(json!({"description": "only this"}))).await?;
    let mut after = ok(&s, &admin, "GET", &objects[7], None).await?;
    assert_eq!(after["description"], json!("only this"));
    after["description"] = before["description"].clone();
    assert_eq!(after, before);
    Ok(())
}
