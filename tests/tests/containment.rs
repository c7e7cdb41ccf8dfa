//! One tenant's bad value does not block another tenant, and the status is
//! per tenant, against a real Asterisk 22.
//!
//! Tenant Alpha's trunk gets an endpoint value Asterisk refuses (`from_user`
//! with a blank: res_pjsip refuses the whole endpoint). The value is written
//! straight into the database while Patchbay is stopped, so the test does
//! not depend on what the API's validation accepts. Then tenant Bravo adds a
//! trunk and an outgoing route: both must go live, Alpha's status must name
//! its refused endpoint and why, and Bravo's status must not name Alpha.
//!
//! AMI port 15310, SIP address 127.0.0.170 (far ends 127.0.0.180–182, where
//! nothing listens).

mod sync_support;

use patchbay_backend::ami::AmiMessage;
use patchbay_e2e::app::{PatchbayServer, eventually};
use patchbay_e2e::asterisk::{AsteriskInstance, parse_dialplan_show};
use serde_json::{Value, json};
use std::time::Duration;
use sync_support::{has_endpoint, sip_trunk, status, with_endpoint_options_in_db};

const C: &str = "/api/confd/1.1";

/// A tenant and its tenant admin; returns (tenant uuid, admin token).
async fn tenant(server: &PatchbayServer, master: &str, slug: &str) -> anyhow::Result<(String, String)> {
    let tenant = server.expect(master, "POST", "/api/auth/0.1/tenants", Some(json!({"name": slug, "slug": slug})), 201).await?;
    let uuid = tenant["uuid"].as_str().unwrap_or_default().to_string();
    let (username, password) = (format!("{slug}-admin"), format!("{slug}-password-1"));
    server
        .expect(master, "POST", "/api/auth/0.1/users", Some(json!({"username": username, "password": password, "tenant_uuid": uuid, "role": "tenant_admin"})), 201)
        .await?;
    Ok((uuid, server.login(&username, &password).await?))
}

/// The name of the tenant's context of `kind` (`outcall`, `incall`, …).
async fn context_of(server: &PatchbayServer, token: &str, kind: &str) -> anyhow::Result<String> {
    let contexts = server.expect(token, "GET", &format!("{C}/contexts"), None, 200).await?;
    contexts["items"]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["type"] == kind))
        .and_then(|c| c["name"].as_str())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no {kind} context: {contexts}"))
}

/// The first event of `/events` for `token` (the live snapshot).
async fn first_event(server: &PatchbayServer, token: &str) -> anyhow::Result<Value> {
    let mut response = reqwest::get(format!("{}/api/patchbay/1.0/events?token={token}", server.base_url)).await?;
    anyhow::ensure!(response.status() == 200, "/events: {}", response.status());
    let mut buffer = String::new();
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let data: String = buffer[..end].lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
            if !data.is_empty() {
                return Ok(serde_json::from_str(&data)?);
            }
            buffer.drain(..end + 2);
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk()).await??.ok_or_else(|| anyhow::anyhow!("the stream ended"))?;
        buffer.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_value_asterisk_refuses_fails_only_its_own_object() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("containment", "127.0.0.170", 15310).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let master = server.admin_token().await?;
    let ami = asterisk.connect_ami().await?;

    // (c) The status wants a token.
    let anonymous = reqwest::get(format!("{}/api/patchbay/1.0/status", server.base_url)).await?;
    assert_eq!(anonymous.status(), 401);

    let (alpha, alpha_token) = tenant(&server, &master, "alpha").await?;
    let (bravo, _) = tenant(&server, &master, "bravo").await?;
    let (alpha_endpoint, _) = sip_trunk(&server, &alpha_token, "alpha-trunk", "127.0.0.180", json!([["from_user", "alphauser"]]), None).await?;
    eventually("alpha-trunk live and alpha in sync", Duration::from_secs(15), || async {
        let s = status(&server, &alpha_token).await.ok()?;
        (has_endpoint(&ami, "alpha-trunk").await && s["in_sync"] == true).then_some(())
    })
    .await?;

    // A value Asterisk refuses, put where the API would have put it.
    let uuid = alpha_endpoint["uuid"].as_str().unwrap_or_default().to_string();
    let server = with_endpoint_options_in_db(server, &alpha_endpoint, json!([["from_user", "alpha user"]]), &asterisk.ami_url()).await?;
    let master = server.admin_token().await?;
    let alpha_token = server.login("alpha-admin", "alpha-password-1").await?;
    let bravo_token = server.login("bravo-admin", "bravo-password-1").await?;

    // Bravo: a trunk and an outgoing route through it.
    sip_trunk(&server, &bravo_token, "bravo-trunk", "127.0.0.181", json!([]), None).await?;
    let outcall_context = context_of(&server, &bravo_token, "outcall").await?;
    let trunks = server.expect(&bravo_token, "GET", &format!("{C}/trunks"), None, 200).await?;
    let bravo_trunk = trunks["items"][0]["id"].clone();
    let outcall = server.expect(&bravo_token, "POST", &format!("{C}/outcalls"), Some(json!({"name": "bravo-route"})), 201).await?;
    let pattern = server.expect(&bravo_token, "POST", &format!("{C}/extensions"), Some(json!({"exten": "_8X.", "context": outcall_context})), 201).await?;
    server.expect(&bravo_token, "PUT", &format!("{C}/outcalls/{}/extensions/{}", outcall["id"], pattern["id"]), Some(json!({})), 204).await?;
    server.expect(&bravo_token, "PUT", &format!("{C}/outcalls/{}/trunks", outcall["id"]), Some(json!({"trunks": [{"id": bravo_trunk}]})), 204).await?;

    let bravo_status = eventually("bravo-trunk live and bravo in sync", Duration::from_secs(20), || async {
        let s = status(&server, &bravo_token).await.ok()?;
        (has_endpoint(&ami, "bravo-trunk").await && s["in_sync"] == true).then_some(s)
    })
    .await
    .map_err(|error| anyhow::anyhow!("{error}\n{}", asterisk.console_tail()))?;
    let shown = ami.command(&format!("dialplan show {outcall_context}")).await?;
    let patterns: Vec<String> = parse_dialplan_show(&shown).into_iter().flat_map(|(_, names)| names).collect();
    assert!(patterns.iter().any(|p| p == "_8X."), "bravo's route is not in the dialplan: {shown:?}");
    // Asterisk refused the new alpha-trunk and kept running the previous one.
    let held = ami.send("PJSIPShowEndpoint", AmiMessage::new().with("Endpoint", "alpha-trunk")).await?;
    let detail = held.items().find(|item| item.event_name() == Some("EndpointDetail")).cloned();
    assert_eq!(detail.as_ref().and_then(|d| d.get("FromUser")), Some("alphauser"), "{detail:?}");

    // Bravo sees its own endpoint and nothing of Alpha's.
    eprintln!("bravo's status: {bravo_status}");
    assert_eq!(bravo_status["endpoints"], json!(["bravo-trunk"]), "{bravo_status}");
    assert_eq!(bravo_status["failed"], json!([]), "{bravo_status}");
    let text = bravo_status.to_string();
    assert!(!text.contains("alpha") && !text.contains(&alpha), "bravo's status names alpha: {text}");

    // Alpha sees its refused endpoint, whose it is, and why.
    let alpha_status = status(&server, &alpha_token).await?;
    eprintln!("alpha's status: {alpha_status}");
    assert_eq!(alpha_status["in_sync"], false, "{alpha_status}");
    let failed = alpha_status["failed"].as_array().cloned().unwrap_or_default();
    let refused = failed
        .iter()
        .find(|f| f["section"] == "alpha-trunk" && f["section_type"] == "endpoint")
        .ok_or_else(|| anyhow::anyhow!("alpha's refused endpoint is not in its status: {alpha_status}"))?;
    assert_eq!(refused["owner"]["tenant_uuid"], json!(alpha), "{refused}");
    assert_eq!(refused["owner"]["object"], "endpoint_sip", "{refused}");
    assert_eq!(refused["owner"]["id"], json!(uuid), "{refused}");
    let reason = refused["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("keeps running the previous one") && reason.contains("from_user"), "{reason}");
    assert!(!reason.contains("alpha user"), "the reason names the key, not the value: {reason}");
    assert!(failed.iter().all(|f| f["owner"]["tenant_uuid"] == json!(alpha)), "{alpha_status}");
    assert!(!alpha_status.to_string().contains("bravo") && !alpha_status.to_string().contains(&bravo), "{alpha_status}");
    // Alpha's aor took its new version: only the refused section failed.
    assert!(!failed.iter().any(|f| f["section_type"] == "aor"), "{alpha_status}");

    // The master sees both tenants.
    let all = status(&server, &master).await?;
    assert!(all["failed"].as_array().is_some_and(|f| f.iter().any(|f| f["section"] == "alpha-trunk")), "{all}");
    assert!(all["endpoints"].as_array().is_some_and(|e| e.contains(&json!("bravo-trunk"))), "{all}");

    // Live state, polled and streamed, is per tenant too.
    let live = eventually("bravo-trunk in bravo's live view", Duration::from_secs(20), || async {
        let live = server.expect(&bravo_token, "GET", "/api/patchbay/1.0/live", None, 200).await.ok()?;
        live["endpoints"].get("bravo-trunk").is_some().then_some(live)
    })
    .await?;
    assert!(!live.to_string().contains("alpha"), "{live}");
    let all_live = server.expect(&master, "GET", "/api/patchbay/1.0/live", None, 200).await?;
    assert!(all_live["endpoints"].get("bravo-trunk").is_some(), "{all_live}");
    let alpha_live = server.expect(&alpha_token, "GET", "/api/patchbay/1.0/live", None, 200).await?;
    assert!(!alpha_live.to_string().contains("bravo"), "{alpha_live}");
    let first = first_event(&server, &bravo_token).await?;
    assert_eq!(first["kind"], "snapshot", "{first}");
    assert!(first["state"]["endpoints"].get("bravo-trunk").is_some(), "{first}");
    assert!(!first.to_string().contains("alpha"), "bravo's event stream names alpha: {first}");

    // Fixing the value brings Alpha back, without touching Bravo.
    let mut fixed = server.expect(&alpha_token, "GET", &format!("{C}/endpoints/sip/{uuid}"), None, 200).await?;
    fixed["endpoint_section_options"] = json!([["from_user", "alphauser"]]);
    server.expect(&alpha_token, "PUT", &format!("{C}/endpoints/sip/{uuid}"), Some(fixed), 204).await?;
    eventually("alpha-trunk back and alpha in sync", Duration::from_secs(15), || async {
        let s = status(&server, &alpha_token).await.ok()?;
        (has_endpoint(&ami, "alpha-trunk").await && s["in_sync"] == true && s["failed"] == json!([])).then_some(())
    })
    .await?;

    // An endpoint Asterisk never had is refused outright: not listed at all.
    sip_trunk(&server, &alpha_token, "alpha-new", "127.0.0.182", json!([["tos_audio", "bogus"]]), None).await?;
    let refused = eventually("alpha-new refused", Duration::from_secs(15), || async {
        let s = status(&server, &alpha_token).await.ok()?;
        s["failed"].as_array()?.iter().find(|f| f["section"] == "alpha-new" && f["section_type"] == "endpoint").cloned()
    })
    .await?;
    assert!(refused["reason"].as_str().is_some_and(|r| r.contains("PJSIPShowEndpoints does not list it")), "{refused}");
    assert!(!has_endpoint(&ami, "alpha-new").await);
    assert_eq!(status(&server, &bravo_token).await?["in_sync"], true, "alpha's refusal is not bravo's");
    assert!(has_endpoint(&ami, "bravo-trunk").await);
    Ok(())
}
