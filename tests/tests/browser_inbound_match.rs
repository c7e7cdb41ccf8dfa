//! The trunk page's inbound match test in real Chromium: INVITEs pasted as
//! a provider sends them are identified as a trunk (by source network, by
//! header) and their number followed to the incall it reaches, computed in
//! the browser by `shared::inbound`. No Asterisk is needed.

use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer};
use patchbay_e2e::browser::Browser;
use serde_json::json;

const C: &str = "/api/confd/1.1";

/// A provider identified by network, one by header, and DID 5551234 to
/// the front desk's phone.
async fn provision(s: &PatchbayServer, token: &str) -> anyhow::Result<()> {
    for (name, identify) in [("provider", json!([["match", "203.0.113.0/24"]])), ("shared-provider", json!([["match_header", "X-Dest-User: abc123"]]))] {
        let endpoint = s.expect(token, "POST", &format!("{C}/endpoints/sip"), Some(json!({"name": name, "identify_section_options": identify})), 201).await?;
        let trunk = s.expect(token, "POST", &format!("{C}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
        s.expect(token, "PUT", &format!("{C}/trunks/{}/endpoints/sip/{}", trunk["id"], endpoint["uuid"].as_str().unwrap_or_default()), None, 204).await?;
    }
    let user = s.expect(token, "POST", &format!("{C}/users"), Some(json!({"firstname": "Front"})), 201).await?;
    let line = s.expect(token, "POST", &format!("{C}/lines"), Some(json!({"context": "default"})), 201).await?;
    let phone = s.expect(token, "POST", &format!("{C}/endpoints/sip"), Some(json!({"name": "front-desk"})), 201).await?;
    s.expect(token, "PUT", &format!("{C}/lines/{}/endpoints/sip/{}", line["id"], phone["uuid"].as_str().unwrap_or_default()), None, 204).await?;
    s.expect(token, "PUT", &format!("{C}/users/{}/lines/{}", user["id"], line["id"]), None, 204).await?;
    let incall = s.expect(token, "POST", &format!("{C}/incalls"), Some(json!({"destination": {"type": "user", "user_id": user["id"]}})), 201).await?;
    let did = s.expect(token, "POST", &format!("{C}/extensions"), Some(json!({"exten": "5551234", "context": "from-extern"})), 201).await?;
    s.expect(token, "PUT", &format!("{C}/incalls/{}/extensions/{}", incall["id"], did["id"]), None, 204).await?;
    Ok(())
}

#[tokio::test]
async fn a_pasted_invite_shows_its_trunk_and_the_incall_it_reaches() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let token = s.admin_token().await?;
    provision(&s, &token).await?;
    let browser = Browser::start().await?;
    browser.login(&s.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.click("header.topbar a[href='/trunks']").await?;

    // From the provider's network, the DID in the Request-URI.
    let invite = "INVITE sip:5551234@192.0.2.1 SIP/2.0\n\
Via: SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bK1;received=203.0.113.10\n\
From: \"Caller\" <sip:5145550123@voip.example.com>;tag=1\n\
To: <sip:5551234@192.0.2.1>\n\
Call-ID: 1@10.1.1.1\n\
CSeq: 1 INVITE\n";
    browser.fill(".invite-match textarea[name=invite]", invite).await?;
    let identified = browser.text_of(".invite-match p.identified[data-endpoint='provider'][data-method='ip']").await?;
    assert!(identified.contains("203.0.113.0/24"), "{identified}");
    browser.wait_text(".invite-match tr[data-source='Request-URI'][data-incall='5551234'] code.destination", "PJSIP/front-desk").await?;

    // A provider that sends `s` and the number in Diversion, from an address
    // no trunk lists, recognised by its header.
    let invite = "INVITE sip:s@192.0.2.1 SIP/2.0\n\
Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK2\n\
From: <sip:anonymous@anonymous.invalid>;tag=2\n\
To: <sip:s@192.0.2.1>\n\
Diversion: <sip:5551234@provider.example.com>;reason=unconditional\n\
X-Dest-User: abc123\n\
Call-ID: 2@198.51.100.20\n\
CSeq: 1 INVITE\n";
    browser.fill(".invite-match textarea[name=invite]", invite).await?;
    browser.text_of(".invite-match p.identified[data-endpoint='shared-provider'][data-method='header']").await?;
    browser.wait_text(".invite-match tr[data-source='Request-URI'] td.reaches", "no incall").await?;
    browser.wait_text(".invite-match tr[data-source='Diversion'][data-incall='5551234'] code.destination", "PJSIP/front-desk").await?;

    // Not an INVITE: said in words.
    browser.fill(".invite-match textarea[name=invite]", "REGISTER sip:x SIP/2.0\n").await?;
    let error = browser.text_of(".invite-match .invite-error").await?;
    assert!(error.contains("REGISTER"), "{error}");
    let errors = browser.page_errors().await?;
    assert!(errors.is_empty(), "page errors: {errors:?}");
    browser.screenshot("inbound-match").await?;
    browser.close().await?;
    Ok(())
}
