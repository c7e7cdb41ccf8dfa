//! The thin slice through every boundary: a trunk created through the API and
//! one created in the browser both reach a real Asterisk (PJSIPShowEndpoint),
//! and the page, in real Chromium, shows them and that Asterisk has them.

use patchbay_backend::ami::AmiMessage;
use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_e2e::browser::Browser;
use serde_json::json;
use std::time::Duration;

async fn asterisk_has_endpoint(ami: &patchbay_backend::ami::AmiClient, name: &str) -> bool {
    ami.send("PJSIPShowEndpoint", AmiMessage::new().with("Endpoint", name)).await.is_ok()
}

#[tokio::test]
async fn trunk_reaches_asterisk_and_the_page() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("spine", "127.0.0.20", 15120).await?;
    let ami = asterisk.connect_ami().await?;
    assert!(!asterisk_has_endpoint(&ami, "trunk-api").await, "a fresh Asterisk must not know the trunk yet");

    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let token = server.admin_token().await?;
    let endpoint = server
        .expect(&token, "POST", "/api/confd/1.1/endpoints/sip", Some(json!({
            "name": "trunk-api", "label": "Trunk via API",
            "aor_section_options": [["contact", "sip:127.0.0.21:5060"]],
            "identify_section_options": [["match", "127.0.0.21"]],
        })), 201)
        .await?;
    let trunk = server.expect(&token, "POST", "/api/confd/1.1/trunks", Some(json!({"context": "from-extern"})), 201).await?;
    let association = format!("/api/confd/1.1/trunks/{}/endpoints/sip/{}", trunk["id"], endpoint["uuid"].as_str().unwrap());
    server.expect(&token, "PUT", &association, None, 204).await?;

    let listed = server.expect(&token, "GET", "/api/confd/1.1/trunks", None, 200).await?;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["endpoint_sip"]["name"], "trunk-api");

    eventually("Asterisk to load trunk-api", Duration::from_secs(15), || async {
        asterisk_has_endpoint(&ami, "trunk-api").await.then_some(())
    })
    .await?;

    let browser = Browser::start().await?;
    browser.login(&server.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.wait_text("tr[data-trunk='trunk-api'] td.asterisk", "yes").await?;

    // The same through the page's own form.
    browser.click("form.trunk-form input[name=kind][value=sip]").await?;
    browser.fill("form.trunk-form input[name=name]", "trunk-ui").await?;
    browser.fill("form.trunk-form input[name=host]", "127.0.0.22").await?;
    browser.click("form.trunk-form button[type=submit]").await?;
    browser.wait_text("tr[data-trunk='trunk-ui'] td.asterisk", "yes").await?;
    assert!(asterisk_has_endpoint(&ami, "trunk-ui").await);
    browser.screenshot("trunks").await?;
    browser.close().await?;
    Ok(())
}
