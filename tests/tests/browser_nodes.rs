//! The nodes page in real Chromium, with two real Asterisks: the master
//! admin adds the second node through the form (its secret never comes
//! back to the page), sees both nodes connected and in sync, moves tenant
//! Beta to the new node by clicking, and the new node's Asterisk then holds
//! Beta's endpoint while the first lets it go; the simulator page names
//! Beta's node.
//!
//! Loopback 127.0.6.4–.6, AMI ports 16504–16505.

use std::time::Duration;

use patchbay_backend::ami::{AmiClient, AmiMessage};
use patchbay_e2e::app::{PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_e2e::browser::Browser;
use serde_json::json;

const C: &str = "/api/confd/1.1";

async fn has_endpoint(ami: &AmiClient, name: &str) -> bool {
    ami.send("PJSIPShowEndpoint", AmiMessage::new().with("Endpoint", name)).await.is_ok()
}

#[tokio::test]
async fn a_node_is_added_and_a_tenant_moved_by_clicking() -> anyhow::Result<()> {
    let (one, two) = tokio::try_join!(AsteriskInstance::start("fleet-web-1", "127.0.6.4", 16504), AsteriskInstance::start("fleet-web-2", "127.0.6.5", 16505))?;
    let s = PatchbayServer::start(Some(&one.ami_url())).await?;
    let (ami1, ami2) = (one.connect_ami().await?, two.connect_ami().await?);
    let admin = s.admin_token().await?;
    let tenant = s.expect(&admin, "POST", "/api/auth/0.1/tenants", Some(json!({"name": "Beta Telecom", "slug": "beta"})), 201).await?;
    let beta = tenant["uuid"].as_str().unwrap_or_default().to_string();
    let (endpoint, _) = s
        .call_for(&admin, Some(&beta), "POST", &format!("{C}/endpoints/sip"), Some(json!({
            "name": "beta-desk", "label": "desk",
            "aor_section_options": [["contact", "sip:127.0.6.6:5060"]],
            "identify_section_options": [["match", "127.0.6.6"]],
        })))
        .await?;
    let (trunk, _) = s.call_for(&admin, Some(&beta), "POST", &format!("{C}/trunks"), Some(json!({}))).await?;
    let association = format!("{C}/trunks/{}/endpoints/sip/{}", trunk["id"], endpoint["uuid"].as_str().unwrap_or_default());
    s.call_for(&admin, Some(&beta), "PUT", &association, None).await?;
    eventually("node 1 to hold Beta's endpoint", Duration::from_secs(20), || async { has_endpoint(&ami1, "beta-desk").await.then_some(()) }).await?;

    let url = AsteriskInstance::ami_url_for(16505);
    let credentials = url.trim_start_matches("ami://").split_once('@').map(|(c, _)| c.to_string()).unwrap_or_default();
    let (user, secret) = credentials.split_once(':').unwrap_or_default();

    let browser = Browser::start().await?;
    browser.login(&s.base_url, "admin", patchbay_e2e::app::ADMIN_PASSWORD).await?;
    browser.click("header.topbar a[href='/nodes']").await?;
    browser.wait_text("h1", "Nodes").await?;
    // The node `--ami` made is listed, the default one.
    browser.text_of("tr[data-node='default']").await?;

    // Add node n2 through the form.
    browser.fill("form.node-form input[name=name]", "n2").await?;
    browser.fill("form.node-form input[name=host]", "127.0.0.1").await?;
    browser.fill("form.node-form input[name=port]", "16505").await?;
    browser.fill("form.node-form input[name=username]", user).await?;
    browser.fill("form.node-form input[name=secret]", secret).await?;
    browser.click("form.node-form button[type=submit]").await?;
    browser.text_of("tr[data-node='n2']").await?;
    for node in ["default", "n2"] {
        let mut shown = String::new();
        for _ in 0..50 {
            // The page reloads its list on each change; a visit refreshes it.
            browser.client.goto(&format!("{}/nodes", s.base_url)).await?;
            shown = browser.text_of(&format!("tr[data-node='{node}'] .node-state")).await?;
            if shown == "connected, in sync" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        assert_eq!(shown, "connected, in sync", "node {node}");
    }
    let html = browser.client.source().await?;
    assert!(!html.contains(secret), "the page shows the AMI secret");

    // Move Beta to n2 by clicking.
    let n2 = s.expect(&admin, "GET", "/api/patchbay/1.0/nodes", None, 200).await?["items"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["name"] == "n2").map(|n| n["id"].to_string()))
        .unwrap_or_default();
    browser.select("tr[data-node='default'] li[data-tenant='beta'] select[name=move-to]", &n2).await?;
    browser.click("tr[data-node='default'] li[data-tenant='beta'] button.move").await?;
    browser.text_of("tr[data-node='n2'] li[data-tenant='beta']").await?;
    // Done means n2 holds it; n1 then lets it go.
    assert!(has_endpoint(&ami2, "beta-desk").await, "node 2 lacks Beta's endpoint after the move");
    eventually("node 1 to let Beta go", Duration::from_secs(20), || async { (!has_endpoint(&ami1, "beta-desk").await).then_some(()) }).await?;
    let placed = s.expect(&admin, "GET", &format!("/api/patchbay/1.0/tenants/{beta}/node"), None, 200).await?;
    assert_eq!(placed["node"], "n2", "{placed}");

    // The simulator names the acting tenant's node.
    browser.select("select[name=tenant]", &beta).await?;
    browser.click("header.topbar a[href='/simulator']").await?;
    browser.wait_text(".tenant-node strong", "n2").await?;
    let errors = browser.page_errors().await?;
    assert!(errors.is_empty(), "{errors:?}");
    browser.close().await?;
    Ok(())
}
