//! Configuration as code with the real binary: a server populated through
//! the REST API (trunks of every kind, an outcall, a user with a line, a
//! group with a DID to it, a sub-tenant) is exported (no secret in the
//! file; the group and its members by name and uuid), the file is planned and
//! applied with the CLI to a fresh server's stopped database (secrets from
//! `env:` references), and the fresh server then exports the same document
//! and renders the same Asterisk config. Applying the same file again changes
//! nothing (empty plan, no audit line); editing one route's strip plans and
//! applies exactly that outcall, with the dialplan line that changes; a
//! tenant admin works only on its own tenant.

use patchbay_e2e::app::{PatchbayServer, database_arg, repo_root};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const PROVIDER_SECRET: &str = "prov-Secret-4821";
const REGISTER_SECRET: &str = "reg-Secret-9317";
const IAX_SECRET: &str = "iax-Secret-5560";
const PHONE_SECRET: &str = "phone-Secret-7702";
const ACME_SECRET: &str = "acme-Secret-3388";

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}
fn uuid(v: &Value) -> String {
    v["uuid"].as_str().unwrap_or_else(|| panic!("no uuid in {v}")).to_string()
}

/// A request with a text body (the document), as a CI pipeline sends it.
async fn send_text(s: &PatchbayServer, token: &str, path: &str, content_type: &str, body: &str) -> anyhow::Result<(u16, Value)> {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", s.base_url))
        .header("X-Auth-Token", token)
        .header("Content-Type", content_type)
        .body(body.to_string())
        .send()
        .await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
}

async fn export(s: &PatchbayServer, token: &str, query: &str) -> anyhow::Result<String> {
    let shown = s.expect(token, "GET", &format!("/api/patchbay/1.0/export{query}"), None, 200).await?;
    Ok(shown.as_str().unwrap_or_else(|| panic!("export is text: {shown}")).to_string())
}

async fn audit_total(s: &PatchbayServer, token: &str) -> anyhow::Result<i64> {
    Ok(s.expect(token, "GET", "/api/patchbay/1.0/audit?limit=1000", None, 200).await?["total"].as_i64().unwrap_or(-1))
}

/// The `patchbay` binary next to this test's `deps/`.
fn patchbay(args: &[&str], db: &Path, env: &[(String, String)]) -> anyhow::Result<(bool, String, String)> {
    let exe = std::env::current_exe()?;
    let binary = exe.parent().and_then(Path::parent).expect("target/<profile>").join("patchbay");
    let output = Command::new(binary).args(args).arg("--db").arg(database_arg(db)).envs(env.iter().cloned()).current_dir(repo_root()).output()?;
    Ok((output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned()))
}

/// The preview's files with each tenant uuid replaced by its slug.
async fn with_tenant_slugs(s: &PatchbayServer, token: &str, files: &Value) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let tenants = s.expect(token, "GET", "/api/auth/0.1/tenants", None, 200).await?;
    let mut out = std::collections::BTreeMap::new();
    for (name, text) in files.as_object().expect("files") {
        let mut text = text.as_str().expect("file text").to_string();
        for tenant in tenants["items"].as_array().expect("tenants") {
            text = text.replace(tenant["uuid"].as_str().expect("uuid"), tenant["slug"].as_str().expect("slug"));
        }
        out.insert(name.clone(), text);
    }
    Ok(out)
}

/// Every `{secret: "env:NAME"}` of a document.
fn secret_refs(doc: &Value, out: &mut Vec<String>) {
    match doc {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("secret") {
                out.push(reference.clone());
            }
            map.values().for_each(|v| secret_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| secret_refs(v, out)),
        _ => {}
    }
}

/// Populates `s` through the REST API: SIP (with a legacy registration),
/// IAX and custom trunks, an outcall with two patterns over two trunks, a
/// user with a phone line, a DID to that user, and a sub-tenant with its own
/// trunk and outcall. Creation order: patterns, then the line's extension,
/// then the DID (the order an apply allocates new ids in, so the ids that the
/// dialplan mentions come out the same on a fresh server).
async fn populate(s: &PatchbayServer, t: &str) -> anyhow::Result<()> {
    let p = "/api/confd/1.1";
    let sip = s
        .expect(t, "POST", &format!("{p}/endpoints/sip"), Some(json!({"username": "provider", "secret": PROVIDER_SECRET, "type": "peer", "host": "sip.provider.example"})), 201)
        .await?;
    let sip_trunk = s.expect(t, "POST", &format!("{p}/trunks"), Some(json!({"context": "from-extern", "description": "main provider"})), 201).await?;
    s.expect(t, "PUT", &format!("{p}/trunks/{}/endpoints/sip/{}", id(&sip_trunk), uuid(&sip)), None, 204).await?;
    let register = s
        .expect(t, "POST", &format!("{p}/registers/sip"), Some(json!({"auth_username": "provider", "auth_password": REGISTER_SECRET, "transport": "udp", "remote_host": "sip.provider.example"})), 201)
        .await?;
    s.expect(t, "PUT", &format!("{p}/trunks/{}/registers/sip/{}", id(&sip_trunk), id(&register)), None, 204).await?;

    let iax = s
        .expect(t, "POST", &format!("{p}/endpoints/iax"), Some(json!({"name": "pbx-iax", "type": "friend", "host": "192.0.2.9", "options": [["secret", IAX_SECRET], ["qualify", "yes"]]})), 201)
        .await?;
    let iax_trunk = s.expect(t, "POST", &format!("{p}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
    s.expect(t, "PUT", &format!("{p}/trunks/{}/endpoints/iax/{}", id(&iax_trunk), id(&iax)), None, 204).await?;

    let custom = s.expect(t, "POST", &format!("{p}/endpoints/custom"), Some(json!({"interface": "Local", "interface_suffix": "@from-extern"})), 201).await?;
    let custom_trunk = s.expect(t, "POST", &format!("{p}/trunks"), Some(json!({})), 201).await?;
    s.expect(t, "PUT", &format!("{p}/trunks/{}/endpoints/custom/{}", id(&custom_trunk), id(&custom)), None, 204).await?;

    let outcall = s.expect(t, "POST", &format!("{p}/outcalls"), Some(json!({"name": "national", "description": "France"})), 201).await?;
    for (exten, strip, prefix) in [("_0XXXXXXXXX", 1, "0033"), ("_00.", 2, "")] {
        let ext = s.expect(t, "POST", &format!("{p}/extensions"), Some(json!({"exten": exten, "context": "to-extern"})), 201).await?;
        let settings = json!({"strip_digits": strip, "external_prefix": prefix, "caller_id": "\"ACME\" <0123456789>"});
        s.expect(t, "PUT", &format!("{p}/outcalls/{}/extensions/{}", id(&outcall), id(&ext)), Some(settings), 204).await?;
    }
    let trunks = json!({"trunks": [{"id": id(&sip_trunk)}, {"id": id(&iax_trunk)}, {"id": id(&custom_trunk)}]});
    s.expect(t, "PUT", &format!("{p}/outcalls/{}/trunks", id(&outcall)), Some(trunks), 204).await?;

    let user = s.expect(t, "POST", &format!("{p}/users"), Some(json!({"firstname": "Alice", "lastname": "Doe", "caller_id": "\"Alice Doe\"", "outgoing_caller_id": "anonymous"})), 201).await?;
    let phone = s
        .expect(t, "POST", &format!("{p}/endpoints/sip"), Some(json!({
            "name": "alice-phone", "label": "Alice's phone",
            "auth_section_options": [["username", "alice-phone"], ["password", PHONE_SECRET]],
            "aor_section_options": [["max_contacts", "1"]],
        })), 201)
        .await?;
    let line_ext = s.expect(t, "POST", &format!("{p}/extensions"), Some(json!({"exten": "1001", "context": "default"})), 201).await?;
    let line = s.expect(t, "POST", &format!("{p}/lines"), Some(json!({})), 201).await?;
    s.expect(t, "PUT", &format!("{p}/lines/{}/endpoints/sip/{}", id(&line), uuid(&phone)), None, 204).await?;
    s.expect(t, "PUT", &format!("{p}/lines/{}/extensions/{}", id(&line), id(&line_ext)), None, 204).await?;
    s.expect(t, "PUT", &format!("{p}/users/{}/lines/{}", id(&user), id(&line)), None, 204).await?;

    let did = s.expect(t, "POST", &format!("{p}/extensions"), Some(json!({"exten": "0123456789", "context": "from-extern"})), 201).await?;
    let incall = s.expect(t, "POST", &format!("{p}/incalls"), Some(json!({"destination": {"type": "user", "user_id": id(&user), "ring_time": 25}, "description": "main number"})), 201).await?;
    s.expect(t, "PUT", &format!("{p}/incalls/{}/extensions/{}", id(&incall), id(&did)), None, 204).await?;
    // A group with Alice, and a second DID that rings it.
    let group = s.expect(t, "POST", &format!("{p}/groups"), Some(json!({"label": "Sales", "timeout": 20})), 201).await?;
    s.expect(t, "PUT", &format!("{p}/groups/{}/members/users", id(&group)), Some(json!({"users": [{"uuid": uuid(&user)}]})), 204).await?;
    let sales_did = s.expect(t, "POST", &format!("{p}/extensions"), Some(json!({"exten": "0123456790", "context": "from-extern"})), 201).await?;
    let sales = s.expect(t, "POST", &format!("{p}/incalls"), Some(json!({"destination": {"type": "group", "group_id": id(&group), "ring_time": 15}})), 201).await?;
    s.expect(t, "PUT", &format!("{p}/incalls/{}/extensions/{}", id(&sales), id(&sales_did)), None, 204).await?;

    // A sub-tenant, populated by its own admin.
    let acme = s.expect(t, "POST", "/api/auth/0.1/tenants", Some(json!({"name": "ACME", "slug": "acme"})), 201).await?;
    s.expect(t, "POST", "/api/auth/0.1/users", Some(json!({"username": "acme-admin", "password": "acme-password-1", "tenant_uuid": acme["uuid"], "role": "tenant_admin"})), 201).await?;
    let a = s.login("acme-admin", "acme-password-1").await?;
    let contexts = s.expect(&a, "GET", &format!("{p}/contexts"), None, 200).await?;
    let outcall_context = contexts["items"].as_array().unwrap().iter().find(|c| c["type"] == "outcall").map(|c| c["name"].clone()).expect("acme outcall context");
    let acme_sip = s
        .expect(&a, "POST", &format!("{p}/endpoints/sip"), Some(json!({
            "name": "acme-provider",
            "outbound_auth_section_options": [["username", "acme"], ["password", ACME_SECRET]],
            "aor_section_options": [["contact", "sip:acme.provider.example"]],
        })), 201)
        .await?;
    let acme_trunk = s.expect(&a, "POST", &format!("{p}/trunks"), Some(json!({})), 201).await?;
    s.expect(&a, "PUT", &format!("{p}/trunks/{}/endpoints/sip/{}", id(&acme_trunk), uuid(&acme_sip)), None, 204).await?;
    let acme_out = s.expect(&a, "POST", &format!("{p}/outcalls"), Some(json!({"name": "acme-out"})), 201).await?;
    let ext = s.expect(&a, "POST", &format!("{p}/extensions"), Some(json!({"exten": "_9.", "context": outcall_context})), 201).await?;
    s.expect(&a, "PUT", &format!("{p}/outcalls/{}/extensions/{}", id(&acme_out), id(&ext)), Some(json!({"strip_digits": 1})), 204).await?;
    s.expect(&a, "PUT", &format!("{p}/outcalls/{}/trunks", id(&acme_out)), Some(json!({"trunks": [{"id": id(&acme_trunk)}]})), 204).await?;
    Ok(())
}

#[tokio::test]
async fn export_apply_round_trip_idempotence_and_a_one_route_plan() -> anyhow::Result<()> {
    let source = PatchbayServer::start(None).await?;
    let ts = source.admin_token().await?;
    populate(&source, &ts).await?;

    // Export everything: readable YAML, names not ids, no secret in clear.
    let exported = export(&source, &ts, "?tenant=*").await?;
    for secret in [PROVIDER_SECRET, REGISTER_SECRET, IAX_SECRET, PHONE_SECRET, ACME_SECRET] {
        assert!(!exported.contains(secret), "secret {secret} in the export:\n{exported}");
    }
    let doc: Value = serde_json::to_value(serde_yaml::from_str::<serde_yaml::Value>(&exported)?)?;
    let master = &doc["tenants"][0];
    assert_eq!(master["slug"], "master");
    let outcall = &master["outcalls"][0];
    assert_eq!(outcall["name"], "national", "{exported}");
    assert_eq!(outcall["trunks"], json!(["provider", "pbx-iax", "Local"]), "trunks by name, in failover order:\n{exported}");
    assert_eq!(outcall["patterns"][0]["strip_digits"], json!(1));
    assert_eq!(master["incalls"][0]["destination"]["user"], master["users"][0]["uuid"], "{exported}");
    assert_eq!(master["users"][0]["lines"][0]["extension"], json!({"exten": "1001", "context": "default"}));
    // The group by its name, its members by uuid, only its non-default settings.
    let group = &master["groups"][0];
    assert_eq!((&group["label"], &group["members"], &group["settings"]), (&json!("Sales"), &json!([master["users"][0]["uuid"]]), &json!({"timeout": 20})), "{exported}");
    assert_eq!(master["incalls"][1]["destination"], json!({"type": "group", "group": group["name"], "ring_time": 15}), "{exported}");
    assert_eq!(doc["tenants"][1]["slug"], "acme");
    let mut refs = Vec::new();
    secret_refs(&doc, &mut refs);
    // Each secret is an env reference of its own; the apply below gives each its value.
    let value_of = |reference: &str| -> Option<&str> {
        let name = reference.strip_prefix("env:")?;
        if name.contains("ACME_PROVIDER") {
            Some(ACME_SECRET)
        } else if name.contains("_REGISTER_") || name.contains("_REGISTRATION_OUTBOUND_AUTH_") {
            Some(REGISTER_SECRET)
        } else if name.contains("PBX_IAX") {
            Some(IAX_SECRET)
        } else if name.contains("ALICE_PHONE") {
            Some(PHONE_SECRET)
        } else if name.contains("MASTER_PROVIDER") {
            Some(PROVIDER_SECRET)
        } else {
            None
        }
    };
    assert!(refs.len() >= 5, "{refs:?}");
    let mut env = Vec::new();
    for reference in &refs {
        let value = value_of(reference).unwrap_or_else(|| panic!("unexpected secret reference {reference}"));
        env.push((reference.trim_start_matches("env:").to_string(), value.to_string()));
    }

    // A fresh server, stopped: the CLI plans then applies the file to its database.
    let fresh = PatchbayServer::start(None).await?;
    let fresh_db = fresh.db.clone();
    let dir = fresh.kill();
    let file = dir.0.join("patchbay.yaml");
    std::fs::write(&file, &exported)?;
    let file_arg = file.to_string_lossy().into_owned();
    let (ok, plan, stderr) = patchbay(&["plan", "-f", &file_arg], &fresh_db, &env)?;
    assert!(ok, "plan failed: {stderr}\n{plan}");
    assert!(plan.contains("+ create outcall \"national\" (master)"), "{plan}");
    assert!(plan.contains("+ create tenant acme"), "{plan}");
    assert!(plan.contains("--- extensions.conf"), "{plan}");
    for secret in [PROVIDER_SECRET, REGISTER_SECRET, IAX_SECRET, PHONE_SECRET, ACME_SECRET] {
        assert!(!plan.contains(secret), "secret {secret} in the plan:\n{plan}");
    }
    // Without the environment, a fresh server has nothing to keep: refused, nothing written.
    let (ok, _, stderr) = patchbay(&["apply", "-f", &file_arg], &fresh_db, &[])?;
    assert!(!ok && stderr.contains("is not set and the server has no secret here"), "{stderr}");
    let (ok, applied, stderr) = patchbay(&["apply", "-f", &file_arg], &fresh_db, &env)?;
    assert!(ok, "apply failed: {stderr}\n{applied}");
    assert!(applied.contains(": applied"), "{applied}");
    // The CLI export of the stopped database is the API export of the source.
    let (ok, cli_export, stderr) = patchbay(&["export"], &fresh_db, &[])?;
    assert!(ok, "{stderr}");
    assert_eq!(cli_export, exported, "CLI export of the fresh database differs from the source's export");

    let fresh = PatchbayServer::start_on(dir, fresh_db.clone(), None).await?;
    let tf = fresh.admin_token().await?;
    assert_eq!(export(&fresh, &tf, "?tenant=*").await?, exported, "round trip changed the document");
    let source_preview = source.expect(&ts, "GET", "/api/patchbay/1.0/config/preview", None, 200).await?;
    let fresh_preview = fresh.expect(&tf, "GET", "/api/patchbay/1.0/config/preview", None, 200).await?;
    // Identical but for each tenant's uuid (`set_var = __WAZO_TENANT_UUID=`),
    // which every server draws for itself.
    let source_files = with_tenant_slugs(&source, &ts, &source_preview["files"]).await?;
    let fresh_files = with_tenant_slugs(&fresh, &tf, &fresh_preview["files"]).await?;
    for (name, text) in &source_files {
        let fresh_text = fresh_files.get(name).cloned().unwrap_or_default();
        let first = text.lines().zip(fresh_text.lines()).find(|(a, b)| a != b);
        assert_eq!(&fresh_text, text, "{name} differs after the round trip, first at {first:?}");
    }
    assert_eq!(fresh_files.len(), source_files.len());
    // The env references set the secrets.
    let endpoints = fresh.expect(&tf, "GET", "/api/confd/1.1/endpoints/sip?search=alice-phone", None, 200).await?;
    let phone = endpoints["items"].as_array().unwrap().iter().find(|e| e["name"] == "alice-phone").cloned().expect("alice-phone");
    assert!(phone["auth_section_options"].as_array().unwrap().contains(&json!(["password", PHONE_SECRET])), "{phone}");

    // The same file again: an empty plan, and an apply that writes nothing.
    let audit_before = audit_total(&fresh, &tf).await?;
    let (status, plan) = send_text(&fresh, &tf, "/api/patchbay/1.0/plan", "application/yaml", &exported).await?;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["changes"], json!([]), "{plan}");
    assert_eq!(plan["config_diff"], json!({}), "{plan}");
    let (status, applied) = send_text(&fresh, &tf, "/api/patchbay/1.0/apply", "application/yaml", &exported).await?;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["changes"], json!([]), "{applied}");
    assert_eq!(audit_total(&fresh, &tf).await?, audit_before, "a no-op apply wrote audit lines");

    // One route's strip edited: the plan lists exactly that outcall, and the dialplan line.
    let mut edited: serde_yaml::Value = serde_yaml::from_str(&exported)?;
    edited["tenants"][0]["outcalls"][0]["patterns"][0]["strip_digits"] = serde_yaml::Value::from(3);
    let edited_text = serde_yaml::to_string(&edited)?;
    let (status, plan) = send_text(&fresh, &tf, "/api/patchbay/1.0/plan", "application/yaml", &edited_text).await?;
    assert_eq!(status, 200, "{plan}");
    let changes = plan["changes"].as_array().cloned().unwrap_or_default();
    assert_eq!(changes.len(), 1, "{plan}");
    assert_eq!(changes[0]["action"], "update");
    assert_eq!(changes[0]["kind"], "outcall");
    assert_eq!(changes[0]["name"], "national");
    assert_eq!(changes[0]["fields"], json!(["extensions"]));
    let diff: Vec<String> = plan["config_diff"]["extensions.conf"].as_array().cloned().unwrap_or_default().iter().filter_map(|l| l.as_str().map(str::to_string)).collect();
    assert!(diff.iter().any(|l| l.starts_with('-') && l.contains("EXTEN:1")), "{diff:#?}");
    assert!(diff.iter().any(|l| l.starts_with('+') && l.contains("EXTEN:3")), "{diff:#?}");
    assert_eq!(audit_total(&fresh, &tf).await?, audit_before, "a plan wrote audit lines");
    // The same document as JSON applies it.
    let as_json = serde_json::to_string(&serde_json::to_value(&edited)?)?;
    let (status, applied) = send_text(&fresh, &tf, "/api/patchbay/1.0/apply", "application/json", &as_json).await?;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["changes"].as_array().map(Vec::len), Some(1), "{applied}");
    let outcalls = fresh.expect(&tf, "GET", "/api/confd/1.1/outcalls", None, 200).await?;
    let national = outcalls["items"].as_array().unwrap().iter().find(|o| o["name"] == "national").cloned().expect("national");
    let strips: Vec<Value> = national["extensions"].as_array().unwrap().iter().map(|e| e["strip_digits"].clone()).collect();
    assert_eq!(strips, vec![json!(3), json!(2)], "{national}");
    // One change set: every audit line of that apply names it.
    let audit = fresh.expect(&tf, "GET", "/api/patchbay/1.0/audit?limit=1000", None, 200).await?;
    let lines: Vec<&Value> = audit["items"].as_array().unwrap().iter().take((audit["total"].as_i64().unwrap() - audit_before) as usize).collect();
    assert_eq!(lines.len(), 1, "{audit}");
    let change_set = applied["change_set"].as_str().unwrap();
    assert!(lines.iter().all(|l| l["account"].as_str().unwrap().ends_with(&format!("config-as-code:{change_set}"))), "{lines:?}");
    assert!(!audit.to_string().contains(PHONE_SECRET));
    Ok(())
}

#[tokio::test]
async fn a_tenant_admin_exports_plans_and_applies_only_its_tenant() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let t = s.admin_token().await?;
    populate(&s, &t).await?;
    let a = s.login("acme-admin", "acme-password-1").await?;

    let own = export(&s, &a, "").await?;
    let doc: Value = serde_json::to_value(serde_yaml::from_str::<serde_yaml::Value>(&own)?)?;
    assert_eq!(doc["tenants"].as_array().map(Vec::len), Some(1), "{own}");
    assert_eq!(doc["tenants"][0]["slug"], "acme");
    assert!(!own.contains("national") && !own.contains(ACME_SECRET), "{own}");
    s.expect(&a, "GET", "/api/patchbay/1.0/export?tenant=master", None, 400).await?;
    // TOML too.
    let toml_text = export(&s, &a, "?format=toml").await?;
    assert!(toml_text.contains("[[tenants]]"), "{toml_text}");
    let (status, plan) = send_text(&s, &a, "/api/patchbay/1.0/plan", "application/toml", &toml_text).await?;
    assert_eq!((status, plan["changes"].clone()), (200, json!([])), "{plan}");

    // The master's document names the master tenant: refused as missing, nothing changed.
    let everything = export(&s, &t, "?tenant=*").await?;
    let audit_before = audit_total(&s, &t).await?;
    let (status, refused) = send_text(&s, &a, "/api/patchbay/1.0/apply", "application/yaml", &everything).await?;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.to_string().contains("Tenant was not found ('slug': 'master')"), "{refused}");

    // A reference to another tenant's trunk resolves inside acme only: refused.
    let mut edited: serde_yaml::Value = serde_yaml::from_str(&own)?;
    edited["tenants"][0]["outcalls"][0]["trunks"] = serde_yaml::to_value(vec!["provider"])?;
    let (status, refused) = send_text(&s, &a, "/api/patchbay/1.0/apply", "application/yaml", &serde_yaml::to_string(&edited)?).await?;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.to_string().contains("trunk 'provider' is not in this tenant's trunks"), "{refused}");
    // A secret in clear is refused.
    let mut edited: serde_yaml::Value = serde_yaml::from_str(&own)?;
    edited["tenants"][0]["trunks"][0]["sip"]["outbound_auth"][1][1] = serde_yaml::Value::from("in-clear");
    let (status, refused) = send_text(&s, &a, "/api/patchbay/1.0/apply", "application/yaml", &serde_yaml::to_string(&edited)?).await?;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.to_string().contains("is a secret"), "{refused}");
    assert_eq!(audit_total(&s, &t).await?, audit_before, "a refused apply wrote audit lines");

    // Its own change applies, through the REST checks: an invalid pattern is refused.
    let mut edited: serde_yaml::Value = serde_yaml::from_str(&own)?;
    edited["tenants"][0]["outcalls"][0]["patterns"][0]["exten"] = serde_yaml::Value::from("_9,.");
    let (status, refused) = send_text(&s, &a, "/api/patchbay/1.0/apply", "application/yaml", &serde_yaml::to_string(&edited)?).await?;
    assert_eq!(status, 400, "{refused}");
    edited["tenants"][0]["outcalls"][0]["patterns"][0]["exten"] = serde_yaml::Value::from("_8.");
    let (status, applied) = send_text(&s, &a, "/api/patchbay/1.0/apply", "application/yaml", &serde_yaml::to_string(&edited)?).await?;
    assert_eq!(status, 200, "{applied}");
    let kinds: Vec<(String, String)> = applied["changes"].as_array().unwrap().iter().map(|c| (c["action"].as_str().unwrap().into(), c["kind"].as_str().unwrap().into())).collect();
    assert_eq!(kinds, vec![("delete".into(), "extension".into()), ("create".into(), "extension".into()), ("update".into(), "outcall".into())], "{applied}");
    let extensions = s.expect(&a, "GET", "/api/confd/1.1/extensions", None, 200).await?;
    let extens: Vec<&str> = extensions["items"].as_array().unwrap().iter().filter_map(|e| e["exten"].as_str()).collect();
    assert_eq!(extens, vec!["_8."], "{extensions}");
    Ok(())
}
