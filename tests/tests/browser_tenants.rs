//! Tenants in real Chromium. Tenant A (the platform's own) and tenant B each
//! get a trunk, an outgoing route with a caller ID, a user and a DID. B's
//! tenant admin sees B's objects on every page and nothing of A's, not even
//! by editing a URL; master-only pages are not offered, and the trunks page
//! lists B's own trunks by name and state. The master admin
//! switches tenant with the topbar selector (`Wazo-Tenant`).

use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer};
use patchbay_e2e::browser::Browser;
use fantoccini::Locator;
use serde_json::{Value, json};
use std::time::Duration;

const C: &str = "/api/confd/1.1";
const B_ADMIN: &str = "beta-admin";
const B_PASSWORD: &str = "beta-admin-password";

/// One tenant's objects; every name and caller ID carries `mark`.
struct Made {
    outcall: Value,
    user: Value,
}

async fn provision(s: &PatchbayServer, token: &str, mark: &str, contexts: (&str, &str, &str), pattern: &str, did: &str, number: &str) -> anyhow::Result<Made> {
    let (internal, outcall_ctx, incall_ctx) = contexts;
    let title = format!("{}{}", mark[..1].to_uppercase(), &mark[1..]);
    let endpoint = s.expect(token, "POST", &format!("{C}/endpoints/sip"), Some(json!({"name": format!("carrier-{mark}"), "label": mark})), 201).await?;
    let trunk = s.expect(token, "POST", &format!("{C}/trunks"), Some(json!({"context": incall_ctx})), 201).await?;
    s.expect(token, "PUT", &format!("{C}/trunks/{}/endpoints/sip/{}", trunk["id"], endpoint["uuid"].as_str().unwrap()), None, 204).await?;
    let outcall = s.expect(token, "POST", &format!("{C}/outcalls"), Some(json!({"name": format!("{mark}-route")})), 201).await?;
    let ext = s.expect(token, "POST", &format!("{C}/extensions"), Some(json!({"exten": pattern, "context": outcall_ctx})), 201).await?;
    s.expect(token, "PUT", &format!("{C}/outcalls/{}/extensions/{}", outcall["id"], ext["id"]),
        Some(json!({"caller_id": format!("\"{title} Corp\" <{did}>")})), 204).await?;
    s.expect(token, "PUT", &format!("{C}/outcalls/{}/trunks", outcall["id"]), Some(json!({"trunks": [{"id": trunk["id"]}]})), 204).await?;
    let user = s.expect(token, "POST", &format!("{C}/users"), Some(json!({"firstname": format!("{title}user"), "caller_id": format!("\"{title} User\"")})), 201).await?;
    let line = s.expect(token, "POST", &format!("{C}/lines"), Some(json!({"context": internal})), 201).await?;
    let num = s.expect(token, "POST", &format!("{C}/extensions"), Some(json!({"exten": number, "context": internal})), 201).await?;
    s.expect(token, "PUT", &format!("{C}/lines/{}/extensions/{}", line["id"], num["id"]), None, 204).await?;
    s.expect(token, "PUT", &format!("{C}/users/{}/lines/{}", user["id"], line["id"]), None, 204).await?;
    let incall = s.expect(token, "POST", &format!("{C}/incalls"), Some(json!({"destination": {"type": "user", "user_id": user["id"]}})), 201).await?;
    let did_ext = s.expect(token, "POST", &format!("{C}/extensions"), Some(json!({"exten": did, "context": incall_ctx})), 201).await?;
    s.expect(token, "PUT", &format!("{C}/incalls/{}/extensions/{}", incall["id"], did_ext["id"]), None, 204).await?;
    Ok(Made { outcall, user })
}

/// The page's HTML, lower-cased.
async fn page(browser: &Browser) -> anyhow::Result<String> {
    Ok(browser.client.source().await?.to_lowercase())
}

async fn assert_no_alpha(browser: &Browser, where_: &str) -> anyhow::Result<()> {
    let html = page(browser).await?;
    assert!(!html.contains("alpha"), "{where_} shows tenant A: {html}");
    Ok(())
}

#[tokio::test]
async fn tenant_admin_sees_only_its_tenant() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let admin = s.admin_token().await?;
    let tenant = s.expect(&admin, "POST", "/api/auth/0.1/tenants", Some(json!({"name": "Beta Telecom", "slug": "beta"})), 201).await?;
    let beta = tenant["uuid"].as_str().unwrap().to_string();
    s.expect(&admin, "POST", "/api/auth/0.1/users",
        Some(json!({"username": B_ADMIN, "password": B_PASSWORD, "tenant_uuid": beta, "role": "tenant_admin"})), 201).await?;
    let b = s.login(B_ADMIN, B_PASSWORD).await?;

    let a_made = provision(&s, &admin, "alpha", ("default", "to-extern", "from-extern"), "_0.", "5550100", "1001").await?;
    let contexts = s.expect(&b, "GET", &format!("{C}/contexts"), None, 200).await?;
    let of_type = |kind: &str| -> String {
        contexts["items"].as_array().unwrap().iter().find(|c| c["type"] == kind).and_then(|c| c["name"].as_str()).unwrap_or_else(|| panic!("no {kind} context: {contexts}")).to_string()
    };
    let (internal, outcall_ctx, incall_ctx) = (of_type("internal"), of_type("outcall"), of_type("incall"));
    let b_made = provision(&s, &b, "beta", (&internal, &outcall_ctx, &incall_ctx), "_9.", "5550200", "2001").await?;

    let browser = Browser::start().await?;
    browser.login(&s.base_url, B_ADMIN, B_PASSWORD).await?;
    browser.wait_text("header .tenant-name", "Beta Telecom").await?;
    // Master-only pages are not offered.
    for href in ["/config", "/asterisk"] {
        assert!(browser.client.find(Locator::Css(&format!("header.topbar a[href='{href}']"))).await.is_err(), "{href} in the nav");
    }

    // Outgoing routes: B's, with its caller ID; none of A's.
    browser.click("header.topbar a[href='/outcalls']").await?;
    let row = browser.text_of("tr[data-outcall='beta-route']").await?;
    assert!(row.contains("Beta Corp") && row.contains("carrier-beta"), "{row}");
    assert_no_alpha(&browser, "/outcalls").await?;
    // The new-route form proposes B's own outcall context.
    let mut context = String::new();
    for _ in 0..50 {
        context = browser.client.find(Locator::Css("form.new-outcall select[name=context]")).await?.prop("value").await?.unwrap_or_default();
        if context == outcall_ctx {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(context, outcall_ctx);
    browser.screenshot("self-service").await?;

    browser.click("header.topbar a[href='/incalls']").await?;
    browser.wait_text("table.incalls tbody tr td:first-child", &format!("5550200 @{incall_ctx}")).await?;
    assert_no_alpha(&browser, "/incalls").await?;

    browser.click("header.topbar a[href='/users']").await?;
    browser.text_of(&format!("tr[data-user='{}']", b_made.user["id"])).await?;
    assert_no_alpha(&browser, "/users").await?;

    browser.click("header.topbar a[href='/audit']").await?;
    browser.text_of("table.audit-log tbody tr").await?;
    assert_no_alpha(&browser, "/audit").await?;

    // The simulator: B's user dials out through B's route.
    browser.click("header.topbar a[href='/simulator']").await?;
    browser.click(&format!("select[name=caller] option[value='user:{}']", b_made.user["id"])).await?;
    browser.fill("input[name=dialled]", "9123").await?;
    browser.wait_text(".trace .winner code.pattern", "_9.").await?;
    browser.wait_text(".trace code.callerid", "\"Beta Corp\" <5550200>").await?;
    assert_no_alpha(&browser, "/simulator").await?;

    // Edited URLs to A's objects show nothing of A.
    browser.client.goto(&format!("{}/outcalls/{}", s.base_url, a_made.outcall["id"])).await?;
    let message = browser.text_of(".outcall-detail .error").await?;
    let mut message = message;
    for _ in 0..50 {
        if !message.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        message = browser.text_of(".outcall-detail .error").await?;
    }
    assert!(message.contains("No such outgoing route"), "{message}");
    assert_no_alpha(&browser, "A's outcall by URL").await?;
    // B's own outcall by URL works.
    browser.client.goto(&format!("{}/outcalls/{}", s.base_url, b_made.outcall["id"])).await?;
    browser.text_of("h1[data-outcall='beta-route']").await?;

    browser.client.goto(&format!("{}/simulator?caller=user:{}&dialled=0123", s.base_url, a_made.user["id"])).await?;
    let trace = browser.text_of(".trace").await?;
    assert!(trace.contains("does not exist in this tenant"), "{trace}");
    assert_no_alpha(&browser, "the simulator with A's user").await?;

    // The trunks page lists the trunks B's routes may use: B's own, by name.
    browser.client.goto(&format!("{}/trunks", s.base_url)).await?;
    browser.text_of("table.usable-trunks tr[data-trunk='carrier-beta'][data-shared='false']").await?;
    assert_no_alpha(&browser, "/trunks").await?;
    for path in ["/config"] {
        browser.client.goto(&format!("{}{path}", s.base_url)).await?;
        let text = browser.text_of(".forbidden").await?;
        assert!(text.contains("platform administrator"), "{path}: {text}");
        assert_no_alpha(&browser, path).await?;
    }
    browser.close().await?;

    // The master admin switches to B, then back to its own tenant.
    let browser = Browser::start().await?;
    browser.login(&s.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.click("header.topbar a[href='/outcalls']").await?;
    browser.text_of("tr[data-outcall='alpha-route']").await?;
    browser.click(&format!("select[name=tenant] option[value='{beta}']")).await?;
    browser.text_of("tr[data-outcall='beta-route']").await?;
    assert!(browser.client.find(Locator::Css("tr[data-outcall='alpha-route']")).await.is_err(), "A's route listed while acting for B");
    browser.screenshot("tenant-switcher").await?;
    browser.click("select[name=tenant] option[value='']").await?;
    browser.text_of("tr[data-outcall='alpha-route']").await?;
    browser.close().await?;
    Ok(())
}
