//! Seed 004 (Kazoo 4.3 connectivity / trunkstore): the seed's curl calls run
//! verbatim (no body, as written) against the real binary, then full
//! documents: what they materialize in the Wazo API, Kazoo-style 400s naming
//! the key, and tenant isolation.

use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer};
use patchbay_shared::kazoo::md5::md5_hex;
use serde_json::{Value, json};

async fn user_auth(s: &PatchbayServer, user: &str, password: &str, account_name: &str) -> anyhow::Result<(u16, Value)> {
    let credentials = md5_hex(format!("{user}:{password}").as_bytes());
    // No token needed: the call answers one.
    s.call("", "PUT", "/v2/user_auth", Some(json!({"data": {"credentials": credentials, "account_name": account_name}}))).await
}

fn assert_envelope(answer: &Value, token: &str) {
    assert_eq!(answer["status"], json!("success"), "{answer}");
    assert_eq!(answer["auth_token"], json!(token), "{answer}");
    assert!(answer["request_id"].as_str().is_some_and(|r| !r.is_empty()), "{answer}");
}

#[tokio::test]
async fn seed_004_curl_calls_verbatim() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    // Kazoo's way in: md5("user:password") and the account (tenant) name.
    let (status, auth) = user_auth(&s, "admin", ADMIN_PASSWORD, "master").await?;
    assert_eq!(status, 201, "{auth}");
    let token = auth["auth_token"].as_str().unwrap().to_string();
    let account = auth["data"]["account_id"].as_str().unwrap().to_string();
    let (status, wrong) = user_auth(&s, "admin", "not-the-password", "master").await?;
    assert_eq!((status, wrong["error"].as_str()), (401, Some("401")), "{wrong}");

    let base = format!("/v2/accounts/{account}/connectivity");
    // Fetch (list): nothing yet.
    let list = s.expect(&token, "GET", &base, None, 200).await?;
    assert_envelope(&list, &token);
    assert_eq!(list["data"], json!([]));
    // Create, without a body: the schema's defaults.
    let created = s.expect(&token, "PUT", &base, None, 201).await?;
    assert_envelope(&created, &token);
    let id = created["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32, "Kazoo ids are 32 hex digits: {id}");
    assert_eq!(created["data"]["servers"], json!([]), "{created}");
    assert!(created["revision"].as_str().is_some_and(|r| r.starts_with("1-")), "{created}");
    let list = s.expect(&token, "GET", &base, None, 200).await?;
    assert_eq!(list["data"], json!([id]));
    // Fetch one.
    let fetched = s.expect(&token, "GET", &format!("{base}/{id}"), None, 200).await?;
    assert_envelope(&fetched, &token);
    assert_eq!(fetched["data"], created["data"]);
    // Change (POST replaces), Patch (PATCH merges): both without a body.
    let changed = s.expect(&token, "POST", &format!("{base}/{id}"), None, 200).await?;
    assert_envelope(&changed, &token);
    assert!(changed["revision"].as_str().is_some_and(|r| r.starts_with("2-")), "{changed}");
    let patched = s.expect(&token, "PATCH", &format!("{base}/{id}"), None, 200).await?;
    assert!(patched["revision"].as_str().is_some_and(|r| r.starts_with("3-")), "{patched}");
    assert_eq!(patched["data"]["id"], json!(id));
    // Remove.
    let removed = s.expect(&token, "DELETE", &format!("{base}/{id}"), None, 200).await?;
    assert_envelope(&removed, &token);
    let (status, gone) = s.call(&token, "GET", &format!("{base}/{id}"), None).await?;
    assert_eq!((status, gone["status"].as_str(), gone["error"].as_str()), (404, Some("error"), Some("404")), "{gone}");
    // No token: Kazoo's 401.
    let (status, denied) = s.call("", "GET", &base, None).await?;
    assert_eq!((status, denied["error"].as_str()), (401, Some("401")), "{denied}");
    Ok(())
}

fn document() -> Value {
    json!({"data": {
        "name": "ACME trunkstore",
        "account": {"caller_id": {"cid_name": "ACME", "cid_number": "+14155550100"}, "trunks": 2},
        "servers": [{
            "name": "HQ PBX",
            "auth": {"auth_method": "password", "auth_user": "hq", "auth_password": "hq-secret-1"},
            "options": {"inbound_format": "npan", "timeout": 20, "failover": {"e164": "+14155550999"}},
            "DIDs": {"+14158867900": {}, "+14158867901": {"failover": {"sip": "sip:night@127.0.0.72:5060"}}}
        }, {
            "name": "Branch",
            "auth": {"auth_method": "IP", "ip": "127.0.0.73", "port": 5060},
            "options": {"enabled": false, "inbound_format": "e164"},
            "DIDs": {"4158867902": {}}
        }]
    }})
}

fn named<'a>(items: &'a Value, key: &str, prefix: &str) -> Vec<&'a Value> {
    items["items"].as_array().unwrap().iter().filter(|i| i[key].as_str().is_some_and(|n| n.starts_with(prefix))).collect()
}

#[tokio::test]
async fn documents_materialize_as_trunks_endpoints_extensions_and_incalls() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let token = s.admin_token().await?;
    let (_, auth) = user_auth(&s, "admin", ADMIN_PASSWORD, "master").await?;
    let account = auth["data"]["account_id"].as_str().unwrap().to_string();
    let base = format!("/v2/accounts/{account}/connectivity");
    let created = s.expect(&token, "PUT", &base, Some(document()), 201).await?;
    let id = created["data"]["id"].as_str().unwrap().to_string();
    // Defaults filled, private keys hidden.
    assert_eq!(created["data"]["servers"][0]["options"]["media_handling"], json!("bypass"));
    assert_eq!(created["data"]["servers"][0]["options"]["enabled"], json!(true));
    assert_eq!(created["data"]["servers"][0]["options"]["delay"], json!(0));
    assert_eq!(created["data"]["servers"][0]["DIDs"]["+14158867900"]["force_outbound"], json!(false));
    assert!(!created["data"].as_object().unwrap().keys().any(|k| k.starts_with("pvt_")), "{created}");

    // The same model as the Wazo API.
    let prefix = format!("kz-{id}-");
    let endpoints = s.expect(&token, "GET", "/1.1/endpoints/sip", None, 200).await?;
    let mut eps = named(&endpoints, "name", &prefix);
    eps.sort_by_key(|e| e["name"].as_str().map(str::to_owned));
    assert_eq!(eps.len(), 2, "{endpoints}");
    assert!(eps[0]["auth_section_options"].as_array().unwrap().contains(&json!(["username", "hq"])), "{}", eps[0]);
    assert!(eps[1]["identify_section_options"].as_array().unwrap().contains(&json!(["match", "127.0.0.73"])), "{}", eps[1]);
    let trunks = s.expect(&token, "GET", "/1.1/trunks", None, 200).await?;
    assert_eq!(named(&trunks, "name", &prefix).len(), 2, "{trunks}");
    let incalls = s.expect(&token, "GET", "/1.1/incalls", None, 200).await?;
    let ours: Vec<&Value> = incalls["items"].as_array().unwrap().iter().filter(|i| i["destination"]["type"] == json!("trunk")).collect();
    assert_eq!(ours.len(), 3, "{incalls}");
    let numbers: Vec<&Value> = ours.iter().map(|i| &i["destination"]["number"]).collect();
    assert_eq!(numbers, vec![&json!("4158867900"), &json!("4158867901"), &json!("+14158867902")], "{incalls}");
    assert_eq!(ours[0]["destination"]["call_limit"]["max"], json!(2));
    assert_eq!(ours[2]["destination"]["enabled"], json!(false));
    // The simulator follows a DID from the incall context.
    let trace = s.expect(&token, "POST", "/api/patchbay/1.0/simulate", Some(json!({"dialed": "+14158867900", "context": "from-extern"})), 200).await?;
    let text = trace["explanation"].to_string();
    assert!(text.contains("inbound_format npan") && text.contains("14155550999@to-extern"), "{trace}");

    // PATCH merges: the account limit changes, the servers stay.
    let patched = s.expect(&token, "PATCH", &format!("{base}/{id}"), Some(json!({"data": {"account": {"trunks": 1}}})), 200).await?;
    assert_eq!(patched["data"]["servers"].as_array().map(Vec::len), Some(2), "{patched}");
    let incalls = s.expect(&token, "GET", "/1.1/incalls", None, 200).await?;
    let limits: Vec<&Value> = incalls["items"].as_array().unwrap().iter().filter(|i| i["destination"]["type"] == json!("trunk")).map(|i| &i["destination"]["call_limit"]["max"]).collect();
    assert_eq!(limits, vec![&json!(1), &json!(1), &json!(1)], "{incalls}");
    // POST replaces: one server, one DID left; the rest is gone.
    let mut one = document();
    one["data"]["servers"].as_array_mut().unwrap().truncate(1);
    one["data"]["servers"][0]["DIDs"] = json!({"+14158867900": {}});
    s.expect(&token, "POST", &format!("{base}/{id}"), Some(one), 200).await?;
    let endpoints = s.expect(&token, "GET", "/1.1/endpoints/sip", None, 200).await?;
    assert_eq!(named(&endpoints, "name", &prefix).len(), 1, "{endpoints}");
    let extensions = s.expect(&token, "GET", "/1.1/extensions", None, 200).await?;
    let dids = named(&extensions, "exten", "1415886790");
    assert_eq!(dids.len(), 1, "{extensions}");
    // A DID that is already an extension of the incall context is refused by key.
    let mut clash = document();
    clash["data"]["servers"] = json!([{"auth": {"auth_method": "ip", "ip": "127.0.0.74"}, "DIDs": {"+14158867900": {}}}]);
    let (status, answer) = s.call(&token, "PUT", &base, Some(clash)).await?;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["data"]["servers.0.DIDs.+14158867900"]["unique"].is_object(), "{answer}");
    // DELETE removes everything it made.
    s.expect(&token, "DELETE", &format!("{base}/{id}"), None, 200).await?;
    let endpoints = s.expect(&token, "GET", "/1.1/endpoints/sip", None, 200).await?;
    assert!(named(&endpoints, "name", &prefix).is_empty(), "{endpoints}");
    let incalls = s.expect(&token, "GET", "/1.1/incalls", None, 200).await?;
    assert!(!incalls["items"].as_array().unwrap().iter().any(|i| i["destination"]["type"] == json!("trunk")), "{incalls}");
    let extensions = s.expect(&token, "GET", "/1.1/extensions", None, 200).await?;
    assert!(named(&extensions, "exten", "1415886790").is_empty(), "{extensions}");
    Ok(())
}

#[tokio::test]
async fn bad_documents_get_kazoo_400s_naming_the_key() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let token = s.admin_token().await?;
    let (_, auth) = user_auth(&s, "admin", ADMIN_PASSWORD, "master").await?;
    let account = auth["data"]["account_id"].as_str().unwrap().to_string();
    let base = format!("/v2/accounts/{account}/connectivity");
    let cases = [
        (json!({"servers": [{"auth": {"auth_method": "token"}}]}), "servers.0.auth.auth_method", "enum"),
        (json!({"account": {"caller_id": {"cid_name": "x".repeat(36)}}}), "account.caller_id.cid_name", "maxLength"),
        (json!({"servers": [{"auth": {}, "options": {"caller_id": {"cid_number": ""}}}]}), "servers.0.options.caller_id.cid_number", "minLength"),
        (json!({"servers": [{"name": "no auth"}]}), "servers.0.auth", "required"),
        (json!({"servers": [{"auth": {}, "DIDs": {"+1-415": {}}}]}), "servers.0.DIDs.+1-415", "pattern"),
        (json!({"servers": [{"auth": {}, "options": {"inbound_format": "sip"}}]}), "servers.0.options.inbound_format", "enum"),
        (json!({"servers": [{"auth": {}, "options": {"media_handling": "proxy"}}]}), "servers.0.options.media_handling", "enum"),
        (json!({"servers": [{"auth": {}, "options": {"timeout": "20"}}]}), "servers.0.options.timeout", "type"),
        (json!({"account": {"trunks": "2"}}), "account.trunks", "type"),
        (json!({"servers": {}}), "servers", "type"),
        // Allowed by the schema, impossible to realize: still named by key.
        (json!({"servers": [{"auth": {"auth_method": "IP"}}]}), "servers.0.auth.ip", "required"),
        (json!({"servers": [{"auth": {"auth_user": "u", "auth_password": "p"}, "options": {"sip_headers": [{"Via": "x"}]}}]}), "servers.0.options.sip_headers.0.Via", "format"),
    ];
    for (doc, key, rule) in cases {
        let (status, answer) = s.call(&token, "PUT", &base, Some(json!({"data": doc}))).await?;
        assert_eq!(status, 400, "{key}: {answer}");
        assert_eq!((answer["status"].as_str(), answer["error"].as_str(), answer["message"].as_str()), (Some("error"), Some("400"), Some("invalid data")), "{answer}");
        let failed = &answer["data"][key][rule];
        assert!(failed["message"].is_string() && !failed["target"].is_null(), "{key} {rule}: {answer}");
    }
    // Nothing was stored by any of them.
    let list = s.expect(&token, "GET", &base, None, 200).await?;
    assert_eq!(list["data"], json!([]));
    // PATCH validates the merged document.
    let created = s.expect(&token, "PUT", &base, None, 201).await?;
    let id = created["data"]["id"].as_str().unwrap();
    let (status, answer) = s.call(&token, "PATCH", &format!("{base}/{id}"), Some(json!({"data": {"servers": [{"auth": {"port": "x"}}]}}))).await?;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["data"]["servers.0.auth.port"]["type"].is_object(), "{answer}");
    Ok(())
}

#[tokio::test]
async fn tenant_admins_reach_only_their_own_account() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let admin = s.admin_token().await?;
    let tenant = s.expect(&admin, "POST", "/api/auth/0.1/tenants", Some(json!({"name": "Beta Corp", "slug": "beta"})), 201).await?;
    let beta = tenant["uuid"].as_str().unwrap().to_string();
    s.expect(&admin, "POST", "/api/auth/0.1/users", Some(json!({"username": "beta-admin", "password": "beta-password-1", "tenant_uuid": beta})), 201).await?;
    let (status, auth) = user_auth(&s, "beta-admin", "beta-password-1", "Beta Corp").await?;
    assert_eq!(status, 201, "{auth}");
    assert_eq!(auth["data"]["account_id"], json!(beta));
    let token = auth["auth_token"].as_str().unwrap().to_string();
    // The right credentials for another account name do not work.
    let (status, _) = user_auth(&s, "beta-admin", "beta-password-1", "master").await?;
    assert_eq!(status, 401);
    let (_, master) = user_auth(&s, "admin", ADMIN_PASSWORD, "master").await?;
    let master_account = master["data"]["account_id"].as_str().unwrap();
    let (status, answer) = s.call(&token, "GET", &format!("/v2/accounts/{master_account}/connectivity"), None).await?;
    assert_eq!((status, answer["error"].as_str()), (403, Some("403")), "{answer}");
    let created = s.expect(&token, "PUT", &format!("/v2/accounts/{beta}/connectivity"), Some(json!({"data": {"servers": [{"auth": {"auth_method": "ip", "ip": "127.0.0.75"}, "DIDs": {"+15550001": {}}}]}})), 201).await?;
    let id = created["data"]["id"].as_str().unwrap();
    // The master sees it under Beta's account, not under its own.
    s.expect(&admin, "GET", &format!("/v2/accounts/{beta}/connectivity/{id}"), None, 200).await?;
    let (status, _) = s.call(&admin, "GET", &format!("/v2/accounts/{master_account}/connectivity/{id}"), None).await?;
    assert_eq!(status, 404);
    Ok(())
}

#[tokio::test]
async fn user_auth_guessing_is_throttled() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(user_auth(&s, "admin", "not-the-password", "master").await?.0);
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|&status| status == 429), "{statuses:?}");
    // The right credentials wait too, while the account is locked.
    assert_eq!(user_auth(&s, "admin", ADMIN_PASSWORD, "master").await?.0, 429);
    // wazo-auth logins are keyed by username, not by Kazoo account: still open.
    let other = s.admin_token().await;
    assert!(other.is_ok(), "{other:?}");
    Ok(())
}
