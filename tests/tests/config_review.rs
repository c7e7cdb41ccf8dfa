//! The config review's diff against a real Asterisk: once applied, the
//! preview's `applied` texts equal its `files`; a change made while Asterisk
//! is away shows as a difference, in the API and as a `+` line on the config
//! page in real Chromium.
//!
//! AMI port 15240, SIP address 127.0.0.140 (the config_review range,
//! 15240-15249 / 127.0.0.140-149).

use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_e2e::browser::Browser;
use serde_json::{Value, json};
use std::time::Duration;

async fn add_outcall(server: &PatchbayServer, token: &str, name: &str, pattern: &str, trunk: &Value) -> anyhow::Result<()> {
    let outcall = server.expect(token, "POST", "/api/confd/1.1/outcalls", Some(json!({"name": name})), 201).await?;
    let trunks = format!("/api/confd/1.1/outcalls/{}/trunks", outcall["id"]);
    server.expect(token, "PUT", &trunks, Some(json!({"trunks": [{"id": trunk["id"]}]})), 204).await?;
    let exten = server.expect(token, "POST", "/api/confd/1.1/extensions", Some(json!({"exten": pattern, "context": "to-extern"})), 201).await?;
    let path = format!("/api/confd/1.1/outcalls/{}/extensions/{}", outcall["id"], exten["id"]);
    server.expect(token, "PUT", &path, Some(json!({})), 204).await?;
    Ok(())
}

#[tokio::test]
async fn preview_reports_what_was_applied_and_the_page_diffs_it() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("config-review", "127.0.0.140", 15240).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let token = server.admin_token().await?;

    let endpoint = server
        .expect(&token, "POST", "/api/confd/1.1/endpoints/sip", Some(json!({
            "name": "review-carrier", "label": "Review carrier",
            "aor_section_options": [["contact", "sip:127.0.0.141:5060"]],
            "identify_section_options": [["match", "127.0.0.141"]],
        })), 201)
        .await?;
    let trunk = server.expect(&token, "POST", "/api/confd/1.1/trunks", Some(json!({"context": "from-extern"})), 201).await?;
    let association = format!("/api/confd/1.1/trunks/{}/endpoints/sip/{}", trunk["id"], endpoint["uuid"].as_str().unwrap());
    server.expect(&token, "PUT", &association, None, 204).await?;
    add_outcall(&server, &token, "route-applied", "_0.", &trunk).await?;

    // Applied: the texts Asterisk took are the preview, file for file.
    let preview = eventually("the preview's applied texts to equal its files", Duration::from_secs(20), || async {
        let preview = server.expect(&token, "GET", "/api/patchbay/1.0/config/preview", None, 200).await.ok()?;
        (preview["applied"] == preview["files"]).then_some(preview)
    })
    .await?;
    assert_eq!(preview["connected"], json!(true), "{preview}");
    let files = preview["files"].as_object().unwrap();
    assert_eq!(files.keys().collect::<Vec<_>>(), ["extensions.conf", "iax.conf", "pjsip.conf"]);
    assert!(files["extensions.conf"].as_str().unwrap().contains("_0."), "{preview}");
    assert!(files["pjsip.conf"].as_str().unwrap().contains("review-carrier"), "{preview}");

    // Asterisk goes away; a new route is in the database only.
    drop(asterisk);
    eventually("Patchbay to see Asterisk gone", Duration::from_secs(20), || async {
        let status = server.expect(&token, "GET", "/api/patchbay/1.0/status", None, 200).await.ok()?;
        (status["connected"] == json!(false)).then_some(())
    })
    .await?;
    add_outcall(&server, &token, "route-pending", "_7.", &trunk).await?;
    let pending = server.expect(&token, "GET", "/api/patchbay/1.0/config/preview", None, 200).await?;
    assert_eq!(pending["connected"], json!(false), "{pending}");
    assert_ne!(pending["applied"], pending["files"], "{pending}");
    // What was applied is still what Asterisk had when last seen.
    assert_eq!(pending["applied"], preview["applied"]);
    assert!(pending["files"]["extensions.conf"].as_str().unwrap().contains("_7."), "{pending}");
    assert!(!pending["applied"]["extensions.conf"].as_str().unwrap().contains("_7."), "{pending}");
    assert_eq!(pending["applied"]["pjsip.conf"], pending["files"]["pjsip.conf"], "only the dialplan changed");

    // The page shows the new route as an added line of the extensions diff.
    let browser = Browser::start().await?;
    browser.login(&server.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.click("header.topbar a[href='/config']").await?;
    let added = "details[data-file='extensions.conf'] pre.config-diff .diff-add";
    let lines = eventually("a + line for _7. on the config page", Duration::from_secs(15), || async {
        let elements = browser.client.find_all(fantoccini::Locator::Css(added)).await.ok()?;
        let mut texts = Vec::new();
        for element in elements {
            texts.push(element.text().await.ok()?);
        }
        texts.iter().any(|line| line.starts_with("+ ") && line.contains("_7.")).then_some(texts)
    })
    .await?;
    assert!(lines.iter().all(|line| !line.contains("_0.")), "the applied route is not new: {lines:?}");
    let pjsip = browser.text_of("details[data-file='pjsip.conf'] pre.config-diff").await?;
    assert!(pjsip.contains("No change since the last apply"), "{pjsip}");
    browser.screenshot("config-review-diff").await?;
    browser.close().await?;
    Ok(())
}
