//! The dial simulator in real Chromium: a trunk, an outcall `_**99.` (strip
//! 4, caller ID "ACME"), a literal `418.` and a user with a line, all created
//! through the API; the page then simulates in wasm at each keystroke.

use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer};
use patchbay_e2e::browser::Browser;
use fantoccini::Locator;
use serde_json::{Value, json};
use std::time::Duration;

const C: &str = "/api/confd/1.1";

async fn post(server: &PatchbayServer, token: &str, path: &str, body: Value) -> anyhow::Result<Value> {
    server.expect(token, "POST", &format!("{C}{path}"), Some(body), 201).await
}

async fn put(server: &PatchbayServer, token: &str, path: &str, body: Value) -> anyhow::Result<()> {
    server.expect(token, "PUT", &format!("{C}{path}"), Some(body), 204).await.map(|_| ())
}

/// Trunk `carrier`, outcall `to-carrier` (`_**99.` strip 4, `418.`), incall
/// 5551234 → Alice, Alice's line 1001 in `default`. Returns Alice's id.
async fn provision(server: &PatchbayServer, token: &str) -> anyhow::Result<u64> {
    let endpoint = post(server, token, "/endpoints/sip", json!({
        "name": "carrier", "label": "Carrier",
        "aor_section_options": [["contact", "sip:127.0.0.31:5060"]],
        "identify_section_options": [["match", "127.0.0.31"]],
    })).await?;
    let trunk = post(server, token, "/trunks", json!({"context": "from-extern"})).await?;
    put(server, token, &format!("/trunks/{}/endpoints/sip/{}", trunk["id"], endpoint["uuid"].as_str().unwrap()), json!({})).await?;

    let outcall = post(server, token, "/outcalls", json!({"name": "to-carrier"})).await?;
    put(server, token, &format!("/outcalls/{}/trunks", outcall["id"]), json!({"trunks": [{"id": trunk["id"]}]})).await?;
    let pattern = post(server, token, "/extensions", json!({"exten": "_**99.", "context": "to-extern"})).await?;
    put(server, token, &format!("/outcalls/{}/extensions/{}", outcall["id"], pattern["id"]),
        json!({"strip_digits": 4, "caller_id": "\"ACME\" <5551234>"})).await?;
    let literal = post(server, token, "/extensions", json!({"exten": "418.", "context": "to-extern"})).await?;
    put(server, token, &format!("/outcalls/{}/extensions/{}", outcall["id"], literal["id"]), json!({})).await?;

    let user = post(server, token, "/users", json!({"firstname": "Alice", "caller_id": "\"Alice\""})).await?;
    let line = post(server, token, "/lines", json!({"context": "default"})).await?;
    let number = post(server, token, "/extensions", json!({"exten": "1001", "context": "default"})).await?;
    put(server, token, &format!("/lines/{}/extensions/{}", line["id"], number["id"]), json!({})).await?;
    put(server, token, &format!("/users/{}/lines/{}", user["id"], line["id"]), json!({})).await?;

    let incall = post(server, token, "/incalls", json!({"destination": {"type": "user", "user_id": user["id"]}})).await?;
    let did = post(server, token, "/extensions", json!({"exten": "5551234", "context": "from-extern"})).await?;
    put(server, token, &format!("/incalls/{}/extensions/{}", incall["id"], did["id"]), json!({})).await?;
    Ok(user["id"].as_u64().expect("user id"))
}

/// Waits until the attribute `name` of `css` is `expected`.
async fn wait_attribute(browser: &Browser, css: &str, name: &str, expected: &str) -> anyhow::Result<()> {
    let mut last = String::new();
    for _ in 0..75 {
        last = attribute(browser, css, name).await.unwrap_or_default();
        if last == expected {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("`{css}` has {name}={last:?}, expected {expected:?}")
}

async fn attribute(browser: &Browser, css: &str, name: &str) -> anyhow::Result<String> {
    let element = browser.client.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(css)).await?;
    Ok(element.attr(name).await?.unwrap_or_default())
}

#[tokio::test]
async fn simulator_follows_each_keystroke() -> anyhow::Result<()> {
    let server = PatchbayServer::start(None).await?;
    let token = server.admin_token().await?;
    let alice = provision(&server, &token).await?;

    let browser = Browser::start().await?;
    browser.login(&server.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.screenshot("portal").await?;
    // Client-side navigation: the topbar link, no reload.
    browser.click("header.topbar a[href='/simulator']").await?;
    browser.click(&format!("select[name=caller] option[value='user:{alice}']")).await?;

    browser.fill("input[name=dialled]", "**99101").await?;
    browser.wait_text(".trace .outcall code.number", "101").await?;
    browser.wait_text(".trace li[data-trunk='carrier'] code.dial", "PJSIP/101@carrier").await?;
    browser.wait_text(".trace code.callerid", "\"ACME\" <5551234>").await?;
    browser.wait_text(".trace .winner code.pattern", "_**99.").await?;
    wait_attribute(&browser, ".trace", "data-kind", "outcall").await?;
    let ms: f64 = attribute(&browser, ".trace", "data-ms").await?.parse()?;
    println!("simulate per keystroke (small config): {ms:.3} ms");
    browser.screenshot("simulator").await?;

    browser.fill("input[name=dialled]", "**9").await?;
    browser.wait_text(".trace .verdict strong", "Keep dialling").await?;
    wait_attribute(&browser, ".trace", "data-verdict", "keep-dialling").await?;

    // The literal `418.` is flagged beside its row.
    let warning = browser.text_of("tr[data-exten='418.'] li[data-code='literal-with-pattern-characters']").await?;
    assert!(warning.contains("_418."), "{warning}");

    // An inbound call on the DID reaches Alice.
    browser.click("select[name=caller] option[value^='trunk:']").await?;
    browser.fill("input[name=dialled]", "5551234").await?;
    wait_attribute(&browser, ".trace", "data-kind", "incall").await?;
    browser.screenshot("simulator-incall").await?;
    browser.close().await?;
    Ok(())
}

/// Speed at scale: 10 000 generated outcall patterns (added in wasm, labelled
/// synthetic), one digit typed at a time; prints what each keystroke's
/// simulation took in Chromium (no timed assertion: figures for the report).
#[tokio::test]
async fn simulator_keystrokes_at_ten_thousand_patterns() -> anyhow::Result<()> {
    let server = PatchbayServer::start(None).await?;
    let token = server.admin_token().await?;
    let alice = provision(&server, &token).await?;

    let browser = Browser::start().await?;
    browser.login(&server.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.client.goto(&format!("{}/simulator?synthetic=10000&caller=user:{alice}", server.base_url)).await?;
    let banner = browser.text_of(".synthetic[data-synthetic='10000']").await?;
    assert!(banner.contains("Synthetic dialplan"), "{banner}");
    let timing = browser.text_of(".build-timing").await?;
    let mut timing = timing;
    for _ in 0..100 {
        if timing.contains("compiled") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        timing = browser.text_of(".build-timing").await?;
    }
    println!("10k synthetic: {timing}");
    assert!(timing.contains("100"), "the 10 000 patterns are loaded: {timing}");

    // `_6NNNNNX.` patterns: 6 00123 4 5 6 7 → `_600123X.`, strip 1.
    let dialled = "60012345";
    let input = browser.client.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css("input[name=dialled]")).await?;
    input.clear().await?;
    let mut figures = Vec::new();
    for end in 1..=dialled.len() {
        // ASCII digits: a byte index is a character index.
        input.send_keys(&dialled[end - 1..end]).await?;
        let typed = &dialled[..end];
        wait_attribute(&browser, ".trace", "data-dialled", typed).await?;
        let ms: f64 = attribute(&browser, ".trace", "data-ms").await?.parse()?;
        figures.push(format!("{typed}: {ms:.3} ms"));
    }
    println!("simulate per keystroke at 10k patterns: {}", figures.join(", "));
    wait_attribute(&browser, ".trace", "data-kind", "outcall").await?;
    browser.wait_text(".trace .winner code.pattern", "_600123X.").await?;
    browser.wait_text(".trace .outcall code.number", "0012345").await?;
    // A miss and a literal, too.
    input.clear().await?;
    input.send_keys("800125").await?;
    wait_attribute(&browser, ".trace", "data-dialled", "800125").await?;
    println!("literal 800125 at 10k: {} ms", attribute(&browser, ".trace", "data-ms").await?);
    browser.wait_text(".trace .winner code.pattern", "800125").await?;
    browser.screenshot("simulator-10k").await?;
    browser.close().await?;
    Ok(())
}
