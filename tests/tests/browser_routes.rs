//! The routes pages in real Chromium: an outcall created through the form
//! (with an inline field error first), then shown in the list and in the
//! config review.

use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer};
use patchbay_e2e::browser::Browser;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn outcall_form_and_config_review() -> anyhow::Result<()> {
    let server = PatchbayServer::start(None).await?;
    let token = server.admin_token().await?;
    let endpoint = server
        .expect(&token, "POST", "/api/confd/1.1/endpoints/sip", Some(json!({"name": "carrier", "label": "Carrier"})), 201)
        .await?;
    let trunk = server.expect(&token, "POST", "/api/confd/1.1/trunks", Some(json!({"context": "from-extern"})), 201).await?;
    let path = format!("/api/confd/1.1/trunks/{}/endpoints/sip/{}", trunk["id"], endpoint["uuid"].as_str().unwrap());
    server.expect(&token, "PUT", &path, None, 204).await?;

    let browser = Browser::start().await?;
    browser.login(&server.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.click("header.topbar a[href='/outcalls']").await?;

    // A bad pattern: the API's message appears next to the pattern field.
    browser.fill("form.new-outcall input[name=name]", "bad-route").await?;
    browser.fill("form.new-outcall input[name=pattern]", "abc").await?;
    browser.click("form.new-outcall button[type=submit]").await?;
    let message = browser.text_of("form.new-outcall .field-error[data-field=pattern]").await?;
    // The API's field name is shown as the form's label.
    assert!(message.starts_with("Pattern / number:"), "{message}");
    // The outcall the first step created was deleted again.
    let outcalls = server.expect(&token, "GET", "/api/confd/1.1/outcalls", None, 200).await?;
    assert_eq!(outcalls["total"], json!(0), "a failed creation left {outcalls}");

    // A failure in a later step (the pattern's caller ID): outcall and
    // extension are both removed.
    browser.fill("form.new-outcall input[name=pattern]", "_5.").await?;
    browser.fill("form.new-outcall input[name=caller_id]", &"9".repeat(90)).await?;
    browser.click("form.new-outcall button[type=submit]").await?;
    let message = browser.text_of("form.new-outcall .field-error[data-field=caller_id]").await?;
    assert!(message.starts_with("Caller ID:"), "{message}");
    let outcalls = server.expect(&token, "GET", "/api/confd/1.1/outcalls", None, 200).await?;
    assert_eq!(outcalls["total"], json!(0), "a failed creation left {outcalls}");
    let extensions = server.expect(&token, "GET", "/api/confd/1.1/extensions", None, 200).await?;
    assert!(!extensions.to_string().contains("_5."), "a failed creation left {extensions}");
    assert!(browser.client.find(fantoccini::Locator::Css("tr[data-outcall='bad-route']")).await.is_err());
    // Emptied with keys (WebDriver's clear() fires no `input` event).
    let caller_id = browser.client.find(fantoccini::Locator::Css("form.new-outcall input[name=caller_id]")).await?;
    caller_id.send_keys("\u{E009}a\u{E009}\u{E003}").await?;

    browser.fill("form.new-outcall input[name=name]", "route-ui").await?;
    browser.fill("form.new-outcall input[name=pattern]", "_0.").await?;
    browser.fill("form.new-outcall input[name=strip_digits]", "1").await?;
    browser.click(&format!("form.new-outcall input[name=trunk][value='{}']", trunk["id"])).await?;
    browser.click("form.new-outcall button[type=submit]").await?;
    browser.wait_text("tr[data-outcall='route-ui'] td:nth-child(3)", "carrier").await?;
    // The form is reset for the next route.
    let name = browser.client.find(fantoccini::Locator::Css("form.new-outcall input[name=name]")).await?.prop("value").await?;
    assert_eq!(name.as_deref(), Some(""));
    browser.screenshot("outcalls").await?;

    // Keyboard only: Tab to the fields, Enter submits.
    browser.click("form.new-outcall input[name=name]").await?;
    let active = browser.client.active_element().await?;
    active.send_keys("route-keys").await?;
    for text in ["\u{E004}", "_7.", "\u{E007}"] {
        browser.client.active_element().await?.send_keys(text).await?;
    }
    browser.text_of("tr[data-outcall='route-keys']").await?;

    browser.click("header.topbar a[href='/config']").await?;
    let config = browser.text_of("details[data-file='extensions.conf'] pre").await?;
    assert!(config.contains("_0."), "{config}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    browser.screenshot("config").await?;
    browser.close().await?;
    Ok(())
}
