//! PJSIP as one file per tenant, on a real Asterisk 22: each tenant's
//! sections are in its own `patchbay-pjsip_<tenant>.conf` (the base
//! `pjsip.conf` includes them with one glob line), what all tenants share
//! stays in `patchbay-pjsip.conf`, and a change to tenant A's trunk rewrites
//! A's file only: B's file reads back the same over AMI (`GetConfig`) and
//! was not written again (its modification time on disk is unchanged).
//! The dialplan likewise, in `patchbay-extensions_<tenant>.conf`.
//!
//! AMI port 16120; Asterisk on 127.0.2.20.

use std::time::{Duration, SystemTime};

use anyhow::Context;
use patchbay_backend::ami::config_writer::get_config;
use patchbay_backend::ami::{AmiClient, AmiMessage};
use patchbay_e2e::app::{PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use serde_json::{Value, json};

const C: &str = "/api/confd/1.1";

/// Waits until Patchbay has applied and checked `revision`, and says it is
/// live for every tenant.
async fn live(server: &PatchbayServer, token: &str, revision: u64) -> anyhow::Result<Value> {
    eventually(&format!("revision {revision} live"), Duration::from_secs(20), || async {
        let (status, _) = server.call_for(token, None, "GET", &format!("/api/patchbay/1.0/status?wait_for={revision}&timeout=2000"), None).await.ok()?;
        (status["revision_live"].as_u64().is_some_and(|live| live >= revision) && status["in_sync"] == true).then_some(status)
    })
    .await
}

async fn endpoint_listed(ami: &AmiClient, name: &str) -> bool {
    ami.send("PJSIPShowEndpoint", AmiMessage::new().with("Endpoint", name)).await.is_ok()
}

fn modified(path: &std::path::Path) -> anyhow::Result<SystemTime> {
    Ok(std::fs::metadata(path).with_context(|| path.display().to_string())?.modified()?)
}

#[tokio::test]
async fn a_change_to_one_tenant_rewrites_that_tenants_file_only() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("sync-units", "127.0.2.20", 16120).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let token = server.admin_token().await?;

    let mut tenants = Vec::new();
    let mut revision = 0;
    for (slug, host) in [("alpha", "10.20.0.1"), ("bravo", "10.20.0.2")] {
        let (tenant, _) = server.call_for(&token, None, "POST", "/api/auth/0.1/tenants", Some(json!({"name": slug, "slug": slug}))).await?;
        let uuid = tenant["uuid"].as_str().context("tenant uuid")?.to_string();
        let name = format!("{slug}-trunk");
        let (endpoint, _) = server.call_for(&token, Some(&uuid), "POST", &format!("{C}/endpoints/sip"), Some(json!({
            "name": name, "label": name,
            "auth_section_options": [["username", name], ["password", "units-secret-1"]],
            "aor_section_options": [["contact", format!("sip:{host}:5060")]],
            "identify_section_options": [["match", host]],
        })))
        .await?;
        let (trunk, _) = server.call_for(&token, Some(&uuid), "POST", &format!("{C}/trunks"), Some(json!({}))).await?;
        let endpoint_uuid = endpoint["uuid"].as_str().context("endpoint uuid")?.to_string();
        let (_, written) = server.call_for(&token, Some(&uuid), "PUT", &format!("{C}/trunks/{}/endpoints/sip/{endpoint_uuid}", trunk["id"]), None).await?;
        revision = revision.max(written);
        tenants.push((uuid, name, endpoint_uuid));
    }
    live(&server, &token, revision).await?;
    for (_, name, _) in &tenants {
        assert!(endpoint_listed(&ami, name).await, "{name} loaded");
    }

    // Each tenant's sections in its own file; the main file has none.
    let file_of = |tenant: &str| format!("patchbay-pjsip_{tenant}.conf");
    let main = get_config(&ami, "patchbay-pjsip.conf").await?;
    for (uuid, name, _) in &tenants {
        let own = get_config(&ami, &file_of(uuid)).await?;
        assert!(own.iter().any(|section| section.name == *name), "{name} in its tenant's file: {own:?}");
        assert!(own.iter().all(|section| section.name.contains(name.as_str())), "only {name}'s sections: {own:?}");
        assert!(!main.iter().any(|section| section.name.contains(name.as_str())), "{name} not in the main file: {main:?}");
    }
    let (alpha, bravo) = (&tenants[0], &tenants[1]);
    let bravo_before = get_config(&ami, &file_of(&bravo.0)).await?;
    let bravo_path = asterisk.config_dir().join(file_of(&bravo.0));
    let bravo_modified = modified(&bravo_path)?;
    let alpha_modified = modified(&asterisk.config_dir().join(file_of(&alpha.0)))?;

    // A change to alpha's trunk.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let path = format!("{C}/endpoints/sip/{}", alpha.2);
    let (mut endpoint, _) = server.call_for(&token, Some(&alpha.0), "GET", &path, None).await?;
    endpoint["aor_section_options"] = json!([["contact", "sip:10.20.0.9:5060"]]);
    let (_, revision) = server.call_for(&token, Some(&alpha.0), "PUT", &path, Some(endpoint)).await?;
    live(&server, &token, revision).await?;

    let alpha_after = get_config(&ami, &file_of(&alpha.0)).await?;
    assert!(
        alpha_after.iter().any(|section| section.lines.iter().any(|(key, value)| key == "contact" && value.contains("10.20.0.9"))),
        "alpha's file has the new contact: {alpha_after:?}"
    );
    assert_ne!(modified(&asterisk.config_dir().join(file_of(&alpha.0)))?, alpha_modified, "alpha's file written again");
    assert_eq!(get_config(&ami, &file_of(&bravo.0)).await?, bravo_before, "bravo's file reads back the same");
    assert_eq!(modified(&bravo_path)?, bravo_modified, "bravo's file was not written again");
    // And Asterisk runs alpha's new contact.
    let detail = ami.send("PJSIPShowEndpoint", AmiMessage::new().with("Endpoint", alpha.1.as_str())).await?;
    let contacts: Vec<String> = detail.items().filter(|item| item.event_name() == Some("AorDetail")).filter_map(|item| item.get("Contacts").map(str::to_string)).collect();
    assert!(contacts.iter().any(|contact| contact.contains("10.20.0.9")), "{contacts:?}");

    // The dialplan too: each tenant's contexts in its own
    // `patchbay-extensions_<tenant>.conf`, the main file empty, and a new DID
    // of alpha's (live at once, its file following) rewrites alpha's file only.
    let dialplan_of = |tenant: &str| format!("patchbay-extensions_{tenant}.conf");
    eventually("the dialplan files written", Duration::from_secs(20), || async {
        let (status, _) = server.call_for(&token, None, "GET", "/api/patchbay/1.0/status", None).await.ok()?;
        (status["dialplan_file_pending"] == false).then_some(())
    })
    .await?;
    assert!(get_config(&ami, "patchbay-extensions.conf").await.unwrap_or_default().is_empty(), "every context has a tenant");
    let (contexts, _) = server.call_for(&token, Some(&alpha.0), "GET", &format!("{C}/contexts"), None).await?;
    let incall_context = contexts["items"]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["type"] == "incall"))
        .and_then(|c| c["name"].as_str())
        .context("alpha's incall context")?
        .to_string();
    let alpha_dialplan = get_config(&ami, &dialplan_of(&alpha.0)).await?;
    assert!(alpha_dialplan.iter().any(|section| section.name == incall_context), "{incall_context} in alpha's file: {alpha_dialplan:?}");
    let bravo_dialplan_path = asterisk.config_dir().join(dialplan_of(&bravo.0));
    let bravo_dialplan = get_config(&ami, &dialplan_of(&bravo.0)).await?;
    assert!(!bravo_dialplan.is_empty() && !bravo_dialplan.iter().any(|section| section.name == incall_context), "{bravo_dialplan:?}");
    let bravo_dialplan_modified = modified(&bravo_dialplan_path)?;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (extension, _) =
        server.call_for(&token, Some(&alpha.0), "POST", &format!("{C}/extensions"), Some(json!({"exten": "5550123", "context": incall_context}))).await?;
    let (incall, _) = server.call_for(&token, Some(&alpha.0), "POST", &format!("{C}/incalls"), Some(json!({"destination": {"type": "none"}}))).await?;
    let (_, revision) =
        server.call_for(&token, Some(&alpha.0), "PUT", &format!("{C}/incalls/{}/extensions/{}", incall["id"], extension["id"]), None).await?;
    live(&server, &token, revision).await?;
    let shown = ami.command(&format!("dialplan show 5550123@{incall_context}")).await?;
    assert!(shown.iter().any(|line| line.contains("'5550123' =>")), "the DID is live: {shown:?}");
    eventually("the DID in alpha's dialplan file", Duration::from_secs(20), || async {
        let file = get_config(&ami, &dialplan_of(&alpha.0)).await.ok()?;
        format!("{file:?}").contains("5550123").then_some(())
    })
    .await?;
    assert_eq!(get_config(&ami, &dialplan_of(&bravo.0)).await?, bravo_dialplan, "bravo's dialplan file reads back the same");
    assert_eq!(modified(&bravo_dialplan_path)?, bravo_dialplan_modified, "bravo's dialplan file was not written again");
    Ok(())
}
