//! Tenant isolation: a tenant admin sees only 401/404 for another tenant's
//! objects (400 for an association that mixes tenants), on every route of the
//! route table, and never their data: not in answers, lists, the snapshot,
//! the simulator, lints, the audit trail or the config preview.

use patchbay_backend::api::openapi::{CONFD_ROUTES, OTHER_ROUTES};
use patchbay_e2e::app::PatchbayServer;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Every master-tenant object below carries this marker (or the secret) in a field.
const MARK: &str = "mastermark";
const SECRET: &str = "MASTER-SECRET";

fn id(v: &Value) -> String {
    v["id"].as_i64().map(|id| id.to_string()).unwrap_or_else(|| panic!("no id in {v}"))
}
fn uuid(v: &Value) -> String {
    v["uuid"].as_str().unwrap_or_else(|| panic!("no uuid in {v}")).to_string()
}

/// Whether an answer shows anything of the master tenant.
fn leaks(answer: &Value, master_tenant: &str) -> bool {
    let text = answer.to_string();
    text.to_lowercase().contains(MARK) || text.contains(SECRET) || text.contains(master_tenant)
}

/// The object a path parameter names, from the segment(s) before it.
fn key_for(segments: &[&str], index: usize, keys: &HashMap<&'static str, String>) -> String {
    let before = segments[index - 1];
    let before2 = if index >= 2 { segments[index - 2] } else { "" };
    let kind = match (before2, before) {
        ("endpoints", "sip") => "endpoint_sip",
        ("registers", "sip") => "register_sip",
        ("registers", "iax") => "register_iax",
        ("endpoints", "iax") => "endpoint_iax",
        ("endpoints", "custom") => "endpoint_custom",
        (_, other) => other,
    };
    keys.get(kind).cloned().unwrap_or_else(|| panic!("no key for `{kind}` in {}", segments.join("/")))
}

fn fill(path: &str, keys: &HashMap<&'static str, String>) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    segments
        .iter()
        .enumerate()
        .map(|(index, segment)| if segment.starts_with('{') { key_for(&segments, index, keys) } else { segment.to_string() })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn tenant_admin_never_sees_another_tenant() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let admin = s.admin_token().await?;
    let tenants = s.expect(&admin, "GET", "/api/auth/0.1/tenants", None, 200).await?;
    let master_tenant = tenants["items"].as_array().unwrap().iter().find(|t| t["slug"] == "master").map(uuid).expect("master tenant");
    let tenant = s.expect(&admin, "POST", "/api/auth/0.1/tenants", Some(json!({"name": "Acme", "slug": "acme"})), 201).await?;
    let acme = uuid(&tenant);
    s.expect(&admin, "POST", "/api/auth/0.1/users", Some(json!({"username": "acme-admin", "password": "acme-password-1", "tenant_uuid": acme, "role": "tenant_admin"})), 201).await?;
    let t = s.login("acme-admin", "acme-password-1").await?;
    // A tenant admin may not create tenants or master accounts, nor act for another tenant.
    s.expect(&t, "POST", "/api/auth/0.1/tenants", Some(json!({"name": "Evil"})), 401).await?;
    s.expect(&t, "POST", "/api/auth/0.1/users", Some(json!({"username": "evil", "password": "evil-password", "role": "master_admin"})), 401).await?;
    s.expect(&t, "POST", "/api/auth/0.1/users", Some(json!({"username": "evil", "password": "evil-password", "tenant_uuid": master_tenant})), 400).await?;
    // Its own tenant only (whose `parent_uuid` names the master tenant, as in wazo-auth).
    let listed = s.expect(&t, "GET", "/api/auth/0.1/tenants", None, 200).await?;
    assert_eq!(listed["total"], json!(1), "{listed}");
    assert_eq!(listed["items"][0]["uuid"], json!(acme), "{listed}");
    let answer = reqwest::Client::new()
        .get(format!("{}/api/confd/1.1/trunks", s.base_url))
        .header("X-Auth-Token", &t)
        .header("Wazo-Tenant", &master_tenant)
        .send()
        .await?;
    assert_eq!(answer.status().as_u16(), 401, "Wazo-Tenant of another tenant");
    assert!(!answer.text().await?.contains(MARK));

    // Master-tenant objects, every one marked, the SIP ones with secrets.
    let trunk = s.expect(&admin, "POST", "/1.1/trunks", Some(json!({"context": "from-extern"})), 201).await?;
    let sip = s
        .expect(&admin, "POST", "/1.1/endpoints/sip", Some(json!({"name": "mastermark-trunk", "label": "mastermark",
            "outbound_auth_section_options": [["username", "u"], ["password", SECRET]],
            "auth_section_options": [["username", "mastermark"], ["password", SECRET]]})), 201)
        .await?;
    s.expect(&admin, "PUT", &format!("/1.1/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&sip)), None, 204).await?;
    let template = s.expect(&admin, "POST", "/1.1/endpoints/sip/templates", Some(json!({"label": "mastermark-tpl"})), 201).await?;
    let ext = s.expect(&admin, "POST", "/1.1/extensions", Some(json!({"exten": "_**99.", "context": "to-extern"})), 201).await?;
    let did = s.expect(&admin, "POST", "/1.1/extensions", Some(json!({"exten": "5550001", "context": "from-extern"})), 201).await?;
    let outcall = s.expect(&admin, "POST", "/1.1/outcalls", Some(json!({"name": "mastermark-out", "description": "mastermark"})), 201).await?;
    s.expect(&admin, "PUT", &format!("/1.1/outcalls/{}/trunks", id(&outcall)), Some(json!({"trunks": [{"id": trunk["id"]}]})), 204).await?;
    s.expect(&admin, "PUT", &format!("/1.1/outcalls/{}/extensions/{}", id(&outcall), id(&ext)), Some(json!({"caller_id": "\"mastermark\" <555>"})), 204).await?;
    let user = s.expect(&admin, "POST", "/1.1/users", Some(json!({"firstname": "Mastermark", "outgoing_caller_id": "\"mastermark\" <556>"})), 201).await?;
    assert!(user["uuid"].is_string(), "a user has both id and uuid: {user}");
    let line = s.expect(&admin, "POST", "/1.1/lines", Some(json!({})), 201).await?;
    let incall = s.expect(&admin, "POST", "/1.1/incalls", Some(json!({"destination": {"type": "user", "user_id": user["id"]}, "description": "mastermark"})), 201).await?;
    s.expect(&admin, "PUT", &format!("/1.1/incalls/{}/extensions/{}", id(&incall), id(&did)), None, 204).await?;
    let iax = s.expect(&admin, "POST", "/1.1/endpoints/iax", Some(json!({"name": "mastermark-iax"})), 201).await?;
    let custom = s.expect(&admin, "POST", "/1.1/endpoints/custom", Some(json!({"interface": "Local/mastermark"})), 201).await?;
    let register = s
        .expect(&admin, "POST", "/1.1/registers/sip", Some(json!({"auth_username": "mastermark", "auth_password": SECRET, "remote_host": "mastermark.example.com"})), 201)
        .await?;
    let register_iax = s
        .expect(&admin, "POST", "/1.1/registers/iax", Some(json!({"auth_username": "mastermark", "auth_password": SECRET, "remote_host": "mastermark.example.com"})), 201)
        .await?;
    let context = s.expect(&admin, "POST", "/1.1/contexts", Some(json!({"name": "mastermark-ctx", "label": "mastermark"})), 201).await?;
    let group = s.expect(&admin, "POST", "/1.1/groups", Some(json!({"label": "mastermark-group"})), 201).await?;
    let transports = s.expect(&admin, "GET", "/1.1/sip/transports", None, 200).await?;
    let transport = uuid(&transports["items"][0]);

    let master: HashMap<&'static str, String> = HashMap::from([
        ("trunks", id(&trunk)),
        ("endpoint_sip", uuid(&sip)),
        ("templates", uuid(&template)),
        ("endpoint_iax", id(&iax)),
        ("endpoint_custom", id(&custom)),
        ("register_sip", id(&register)),
        ("register_iax", id(&register_iax)),
        ("transports", transport.clone()),
        ("contexts", id(&context)),
        ("extensions", id(&ext)),
        ("outcalls", id(&outcall)),
        ("incalls", id(&incall)),
        ("users", id(&user)),
        ("lines", id(&line)),
        ("groups", id(&group)),
    ]);

    // Acme's own objects, to pair with the master's in associations.
    let own_trunk = s.expect(&t, "POST", "/1.1/trunks", Some(json!({})), 201).await?;
    let own_sip = s.expect(&t, "POST", "/1.1/endpoints/sip", Some(json!({"name": "acme-trunk"})), 201).await?;
    let own_outcall = s.expect(&t, "POST", "/1.1/outcalls", Some(json!({"name": "acme-out"})), 201).await?;
    let own_incall = s.expect(&t, "POST", "/1.1/incalls", Some(json!({"destination": {"type": "none"}})), 201).await?;
    let own_user = s.expect(&t, "POST", "/1.1/users", Some(json!({"firstname": "Acme"})), 201).await?;
    let own_line = s.expect(&t, "POST", "/1.1/lines", Some(json!({})), 201).await?;
    let own_group = s.expect(&t, "POST", "/1.1/groups", Some(json!({"label": "acme-group"})), 201).await?;
    let own_contexts = s.expect(&t, "GET", "/1.1/contexts", None, 200).await?;
    assert!(!leaks(&own_contexts, &master_tenant), "{own_contexts}");
    let own_context = id(&own_contexts["items"][0]);
    let own: HashMap<&'static str, String> = HashMap::from([
        ("trunks", id(&own_trunk)),
        ("outcalls", id(&own_outcall)),
        ("incalls", id(&own_incall)),
        ("users", id(&own_user)),
        ("lines", id(&own_line)),
        ("groups", id(&own_group)),
        ("contexts", own_context),
    ]);

    // Every route of the table, both prefixes, every method.
    let mut checked = 0;
    for prefix in ["/1.1", "/api/confd/1.1"] {
        for (template_path, methods, _) in CONFD_ROUTES {
            let transport_route = template_path.starts_with("/sip/transports");
            for method in methods.iter().map(|m| m.to_uppercase()) {
                let params = template_path.matches('{').count();
                let body = Some(json!({"name": "x", "options": {}, "trunks": [{"id": trunk["id"]}], "contexts": [{"id": context["id"]}]}));
                let mut variants = vec![fill(template_path, &master)];
                // Own first object, the master's second one: still nothing of the master.
                let association = params == 2 || (params == 1 && (template_path.ends_with("}/trunks") || template_path.ends_with("}/contexts")));
                if association {
                    let first = template_path.split('/').nth(1).unwrap();
                    let mut mixed = master.clone();
                    mixed.insert(first_key(first), own[first_key(first)].clone());
                    variants.push(fill(template_path, &mixed));
                }
                for path in variants {
                    let url = format!("{prefix}{path}");
                    let (status, answer) = s.call(&t, &method, &url, body.clone()).await?;
                    checked += 1;
                    assert!(!leaks(&answer, &master_tenant), "{method} {url}: {status} leaks {answer}");
                    match (params, method.as_str()) {
                        // Transports are shared by all tenants (no tenant, no secret): read yes, write master only.
                        (_, "GET") if transport_route => assert_eq!(status, 200, "{method} {url}: {answer}"),
                        _ if transport_route => assert_eq!(status, 401, "{method} {url}: {answer}"),
                        _ if template_path.starts_with("/asterisk/pjsip/") => assert_eq!(status, 401, "{method} {url}: {answer}"),
                        (0, "GET") => assert_eq!(status, 200, "{method} {url}: {answer}"),
                        // Creating in one's own tenant is allowed; the body here is wrong or names the master's objects.
                        (0, "POST") => assert!(matches!(status, 201 | 400), "{method} {url}: {status} {answer}"),
                        // Tenant-wide settings: master only, except the legacy general (the tenant's own template).
                        (0, _) if template_path.starts_with("/asterisk/sip/") => assert!(matches!(status, 204 | 400), "{method} {url}: {status} {answer}"),
                        (0, _) => assert_eq!(status, 401, "{method} {url}: {answer}"),
                        // Own outcall with the master's trunk, own context including the master's: 400 naming the field.
                        _ if path.starts_with(&format!("/outcalls/{}/trunks", own["outcalls"])) || path.starts_with(&format!("/contexts/{}/contexts", own["contexts"])) => {
                            assert_eq!(status, 400, "{method} {url}: {answer}")
                        }
                        _ => assert_eq!(status, 404, "{method} {url}: {answer}"),
                    }
                }
            }
            if template_path.matches('{').count() == 0 && methods.contains(&"post") {
                let url = format!("{prefix}{template_path}?recurse=true");
                let (status, list) = s.call(&t, "GET", &url, None).await?;
                assert_eq!(status, 200, "{url}: {list}");
                assert!(!leaks(&list, &master_tenant), "{url}: {list}");
            }
        }
    }
    assert!(checked >= 200, "{checked}");
    // The master's trunk with Acme's endpoint (the reverse of the pairs above).
    for method in ["PUT", "DELETE"] {
        let path = format!("/1.1/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&own_sip));
        let (status, answer) = s.call(&t, method, &path, None).await?;
        assert_eq!(status, 404, "{method} {path}: {answer}");
    }
    // Looking a user up by uuid is also 404.
    s.expect(&t, "GET", &format!("/1.1/users/{}", uuid(&user)), None, 404).await?;

    // A master acting for Acme that mixes tenants gets `different tenants`.
    let (status, body) = s.call(&admin, "PUT", &format!("/1.1/outcalls/{}/trunks", id(&own_outcall)), Some(json!({"trunks": [{"id": trunk["id"]}]}))).await?;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("different tenants"), "{body}");
    let (status, body) = s.call(&admin, "PUT", &format!("/1.1/trunks/{}/endpoints/sip/{}", id(&own_trunk), uuid(&sip)), None).await?;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("different tenants"), "{body}");

    // Patchbay's own routes.
    for (path, methods, _, _) in OTHER_ROUTES {
        if path.ends_with("/events") {
            // A stream that never ends (a tenant admin gets its own
            // endpoints' events): tests/tests/containment.rs reads it.
            continue;
        }
        for method in methods.iter().map(|m| m.to_uppercase()) {
            let body = (method == "POST").then(|| json!({"dialed": "**99101", "trunk_id": trunk["id"]}));
            let (status, answer) = s.call(&t, &method, path, body).await?;
            // The tenant list names the master tenant as Acme's `parent_uuid`, nothing more.
            let uuid_check = if *path == "/api/auth/0.1/tenants" { "no uuid to look for" } else { master_tenant.as_str() };
            assert!(!leaks(&answer, uuid_check), "{method} {path}: {status} leaks {answer}");
        }
    }
    let snapshot = s.expect(&t, "GET", "/api/patchbay/1.0/snapshot", None, 200).await?;
    assert!(!leaks(&snapshot, &master_tenant), "snapshot leaks master data");
    assert!(snapshot.to_string().contains("acme-trunk"), "the tenant's own snapshot: {snapshot}");
    for body in [
        json!({"dialed": "**99101", "user_id": user["id"]}),
        json!({"dialed": "5550001", "trunk_id": trunk["id"]}),
        json!({"dialed": "**99101", "context": "default"}),
        json!({"dialed": "**99101", "context": "to-extern"}),
        json!({"dialed": "5550001", "context": "from-extern", "tenant_uuid": master_tenant}),
    ] {
        let (status, trace) = s.call(&t, "POST", "/api/patchbay/1.0/simulate", Some(body.clone())).await?;
        assert!(!leaks(&trace, &master_tenant), "simulate {body}: {status} leaks {trace}");
    }
    let lint = s.expect(&t, "GET", "/api/patchbay/1.0/lint", None, 200).await?;
    assert!(!leaks(&lint, &master_tenant), "lint leaks: {lint}");
    let (status, preview) = s.call(&t, "GET", "/api/patchbay/1.0/config/preview", None).await?;
    assert_eq!(status, 401, "{preview}");
    assert!(!leaks(&preview, &master_tenant));
    let audit = s.expect(&t, "GET", "/api/patchbay/1.0/audit?limit=100000", None, 200).await?;
    assert!(!leaks(&audit, &master_tenant), "audit leaks master data");
    let entries = audit["items"].as_array().unwrap();
    assert!(!entries.is_empty() && entries.iter().all(|e| e["tenant_uuid"] == json!(acme)), "{audit}");
    // The master still sees its own secrets (the check above is not vacuous).
    let preview = s.expect(&admin, "GET", "/api/patchbay/1.0/config/preview", None, 200).await?;
    assert!(preview.to_string().contains(SECRET));
    Ok(())
}

fn first_key(segment: &str) -> &'static str {
    match segment {
        "trunks" => "trunks",
        "outcalls" => "outcalls",
        "incalls" => "incalls",
        "users" => "users",
        "lines" => "lines",
        "contexts" => "contexts",
        "groups" => "groups",
        other => panic!("no own object for /{other}"),
    }
}
