//! The trunk form's number plan in real Chromium: a country and formats
//! chosen, a number typed, and every step of its conversion shown at each
//! keystroke (computed in wasm by `shared::numbers`); the trunk then saved
//! with its plan, which the API reads back.

use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer};
use patchbay_e2e::browser::Browser;
use serde_json::json;

const FORM: &str = "form.trunk-form";

async fn steps(browser: &Browser, expected: &[(&str, &str)]) -> anyhow::Result<()> {
    for (step, value) in expected {
        browser.wait_text(&format!("{FORM} .number-steps li[data-step={step}] code"), value).await?;
    }
    Ok(())
}

#[tokio::test]
async fn the_trunk_form_previews_each_step_of_a_number() -> anyhow::Result<()> {
    let server = PatchbayServer::start(None).await?;
    let token = server.admin_token().await?;
    let browser = Browser::start().await?;
    browser.login(&server.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.click("header.topbar a[href='/trunks']").await?;

    browser.click(&format!("{FORM} input[name=kind][value=sip]")).await?;
    browser.fill(&format!("{FORM} input[name=name]"), "ca-carrier").await?;
    browser.fill(&format!("{FORM} input[name=host]"), "127.0.1.40").await?;
    browser.select(&format!("{FORM} select[name=number_country]"), "CA").await?;
    browser.select(&format!("{FORM} select[name=number_outbound]"), "plus_e164").await?;
    browser.select(&format!("{FORM} select[name=number_caller_id]"), "national_significant").await?;
    browser.select(&format!("{FORM} select[name=number_inbound]"), "e164").await?;

    browser.fill(&format!("{FORM} input[name=number_sample]"), "514 555 0100").await?;
    steps(&browser, &[
        ("typed", "514 555 0100"),
        ("e164", "+15145550100"),
        ("outbound", "+15145550100"),
        ("caller_id", "5145550100"),
        ("inbound", "15145550100"),
    ])
    .await?;
    // Another number, abroad: the preview follows the keystrokes.
    browser.fill(&format!("{FORM} input[name=number_sample]"), "011 44 20 7123 4567").await?;
    steps(&browser, &[("e164", "+442071234567"), ("outbound", "+442071234567"), ("caller_id", "011442071234567"), ("inbound", "442071234567")]).await?;

    browser.click(&format!("{FORM} button[type=submit]")).await?;
    browser.text_of("tr[data-trunk='ca-carrier']").await?;
    let trunks = server.expect(&token, "GET", "/api/confd/1.1/trunks", None, 200).await?;
    let trunk = trunks["items"].as_array().into_iter().flatten().find(|t| t["name"] == "ca-carrier").cloned().unwrap_or_default();
    assert_eq!(
        trunk["number_plan"],
        json!({"country": "CA", "outbound": "plus_e164", "caller_id": "national_significant", "inbound": "e164"}),
        "{trunk}"
    );
    assert_eq!(browser.page_errors().await?, Vec::<String>::new());
    browser.close().await?;
    Ok(())
}
