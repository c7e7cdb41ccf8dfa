//! Tenant self-service in real Chromium. The platform admin shares its
//! trunk `platform-carrier` with tenant Beta by ticking a box on the trunks
//! page; Beta's tenant admin then, only by typing and clicking, creates a
//! user with a phone, sets its outgoing caller ID, gives it a DID, routes
//! `_9.` through the shared trunk, and simulates an outgoing and an incoming
//! call. Everything else of the platform (marked `alpha`) and of a third
//! tenant (marked `gamma`) stays invisible to Beta: pages, pickers, the
//! simulator's callers and contexts, the audit log; and the shared trunk
//! shows its name and state, never its host or credentials.
//!
//! Then screenshots of the tenant admin's pages at 1280 and 390 px in both
//! themes (`target/screenshots/tenant-*`).
//!
//! No Asterisk: the simulator runs `shared::simulate` in the browser.

use fantoccini::Locator;
use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer, eventually};
use patchbay_e2e::browser::{Browser, SipTrunk, create_sip_trunk};
use serde_json::{Value, json};
use std::time::Duration;

const C: &str = "/api/confd/1.1";
const SHARED_HOST: &str = "192.0.2.77";
const SHARED_SECRET: &str = "platform-secret-77";

/// A trunk, a route and a user of one tenant, every name carrying `mark`.
async fn private_objects(s: &PatchbayServer, token: &str, mark: &str, internal: &str, outcall_ctx: &str) -> anyhow::Result<()> {
    let endpoint = s.expect(token, "POST", &format!("{C}/endpoints/sip"), Some(json!({"name": format!("{mark}-private")})), 201).await?;
    let trunk = s.expect(token, "POST", &format!("{C}/trunks"), Some(json!({})), 201).await?;
    s.expect(token, "PUT", &format!("{C}/trunks/{}/endpoints/sip/{}", trunk["id"], endpoint["uuid"].as_str().unwrap_or_default()), None, 204).await?;
    let outcall = s.expect(token, "POST", &format!("{C}/outcalls"), Some(json!({"name": format!("{mark}-route")})), 201).await?;
    let ext = s.expect(token, "POST", &format!("{C}/extensions"), Some(json!({"exten": "_0.", "context": outcall_ctx})), 201).await?;
    s.expect(token, "PUT", &format!("{C}/outcalls/{}/extensions/{}", outcall["id"], ext["id"]), Some(json!({"caller_id": format!("{mark} corp")})), 204).await?;
    s.expect(token, "POST", &format!("{C}/users"), Some(json!({"firstname": format!("{mark}user")})), 201).await?;
    s.expect(token, "POST", &format!("{C}/extensions"), Some(json!({"exten": "1999", "context": internal})), 201).await?;
    Ok(())
}

/// The name of `token`'s tenant's first context of `kind`.
async fn context_of(s: &PatchbayServer, token: &str, kind: &str) -> anyhow::Result<String> {
    let contexts = s.expect(token, "GET", &format!("{C}/contexts"), None, 200).await?;
    contexts["items"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["type"] == kind))
        .and_then(|c| c["name"].as_str().map(str::to_string))
        .ok_or_else(|| anyhow::anyhow!("no {kind} context in {contexts}"))
}

/// Beta's page shows nothing of the platform's or Gamma's objects.
async fn nothing_foreign(browser: &Browser, where_: &str) -> anyhow::Result<()> {
    let html = browser.client.source().await?.to_lowercase();
    for mark in ["alpha", "gamma", SHARED_HOST, SHARED_SECRET, "from-extern", "to-extern"] {
        assert!(!html.contains(mark), "{where_} shows `{mark}`");
    }
    Ok(())
}

fn id_of(list: &Value, key: &str, value: &str) -> Option<i64> {
    list["items"].as_array()?.iter().find(|item| item[key] == value)?["id"].as_i64()
}

#[tokio::test]
async fn a_tenant_admin_configures_and_simulates_its_own_tenant_through_a_shared_trunk() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let admin = s.admin_token().await?;
    let mut tenants = Vec::new();
    for slug in ["beta", "gamma"] {
        let name = format!("{}{} Telecom", slug[..1].to_uppercase(), &slug[1..]);
        let tenant = s.expect(&admin, "POST", "/api/auth/0.1/tenants", Some(json!({"name": name, "slug": slug})), 201).await?;
        let uuid = tenant["uuid"].as_str().unwrap_or_default().to_string();
        let username = format!("{slug}-admin");
        s.expect(&admin, "POST", "/api/auth/0.1/users",
            Some(json!({"username": username, "password": format!("{slug}-password"), "tenant_uuid": uuid, "role": "tenant_admin"})), 201).await?;
        tenants.push((uuid, s.login(&username, &format!("{slug}-password")).await?));
    }
    let [(beta, beta_token), (_, gamma_token)] = [tenants[0].clone(), tenants[1].clone()];
    private_objects(&s, &admin, "alpha", "default", "to-extern").await?;
    let (g_internal, g_out) = (context_of(&s, &gamma_token, "internal").await?, context_of(&s, &gamma_token, "outcall").await?);
    private_objects(&s, &gamma_token, "gamma", &g_internal, &g_out).await?;

    // The platform admin creates its carrier and shares it with Beta.
    let browser = Browser::start().await?;
    browser.login(&s.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.click("header.topbar a[href='/trunks']").await?;
    let carrier = SipTrunk { name: "platform-carrier", host: SHARED_HOST, port: "", username: "platform", password: SHARED_SECRET, register: false, qualify: true };
    create_sip_trunk(&browser, &carrier).await?;
    browser.click("tr[data-trunk='platform-carrier'] td.sharing summary").await?;
    browser.click(&format!("tr[data-trunk='platform-carrier'] input[name=share][value='{beta}']")).await?;
    browser.wait_text("tr[data-trunk='platform-carrier'] summary.shared-with", "Beta Telecom").await?;
    let trunks = s.expect(&admin, "GET", &format!("{C}/trunks"), None, 200).await?;
    let shared = trunks["items"].as_array().and_then(|all| all.iter().find(|t| t["name"] == "platform-carrier")).cloned().expect("the shared trunk");
    assert_eq!(shared["shared_with"], json!([beta]), "{shared}");
    let shared_id = shared["id"].as_i64().unwrap_or_default();
    browser.close().await?;

    // Beta's admin: the trunks page lists the shared trunk, by name and state.
    let browser = Browser::start().await?;
    browser.login(&s.base_url, "beta-admin", "beta-password").await?;
    browser.wait_text("header .tenant-name", "Beta Telecom").await?;
    browser.click("header.topbar a[href='/trunks']").await?;
    let row = browser.text_of("table.usable-trunks tr[data-trunk='platform-carrier'][data-shared='true']").await?;
    assert!(row.contains("SIP") && row.contains("shared"), "{row}");
    nothing_foreign(&browser, "/trunks").await?;

    // A user with a phone, then its outgoing caller ID.
    browser.click("header.topbar a[href='/users']").await?;
    browser.fill("form.user-form input[name=firstname]", "Bea").await?;
    browser.fill("form.user-form input[name=exten]", "2001").await?;
    browser.fill("form.user-form input[name=endpoint_name]", "bea-phone").await?;
    browser.fill("form.user-form input[name=phone_password]", "bea-phone-secret").await?;
    browser.click("form.user-form button[type=submit]").await?;
    let users = eventually("Bea's user", Duration::from_secs(10), || async {
        let users = s.expect(&beta_token, "GET", &format!("{C}/users"), None, 200).await.ok()?;
        id_of(&users, "firstname", "Bea").map(|id| (users, id))
    })
    .await?;
    let user_id = users.1;
    browser.click(&format!("tr[data-user='{user_id}'] button.edit")).await?;
    browser.client.wait().for_element(Locator::Css("form.user-form[data-editing]")).await?;
    browser.fill("form.user-form input[name=outgoing_caller_id]", "\"Beta Desk\" <5550200>").await?;
    browser.click("form.user-form button[type=submit]").await?;
    browser.wait_text(&format!("tr[data-user='{user_id}'] td.outgoing-caller-id"), "\"Beta Desk\" <5550200>").await?;
    nothing_foreign(&browser, "/users").await?;

    // A route through the shared trunk: the picker offers it and nothing foreign.
    browser.click("header.topbar a[href='/outcalls']").await?;
    browser.fill("form.new-outcall input[name=name]", "beta-out").await?;
    browser.fill("form.new-outcall input[name=pattern]", "_9.").await?;
    browser.fill("form.new-outcall input[name=strip_digits]", "1").await?;
    browser.click(&format!("form.new-outcall input[name=trunk][value='{shared_id}']")).await?;
    let offered = browser.client.find_all(Locator::Css("form.new-outcall input[name=trunk]")).await?.len();
    assert_eq!(offered, 1, "only the shared trunk is offered");
    assert!(browser.client.find(Locator::Css(".draft-lints li[data-code='outcall-without-trunk']")).await.is_err(), "the shared trunk is usable");
    browser.click("form.new-outcall button[type=submit]").await?;
    browser.wait_text("tr[data-outcall='beta-out'] td:nth-child(3)", "platform-carrier").await?;
    nothing_foreign(&browser, "/outcalls").await?;
    // The list is searched by the API: a word in no route's name empties it.
    browser.fill("input[name=search]", "nomatch").await?;
    eventually("the route filtered out", Duration::from_secs(10), || async {
        browser.client.find(Locator::Css("tr[data-outcall='beta-out']")).await.is_err().then_some(())
    })
    .await?;
    browser.wait_text(".pager .page-info", "none").await?;
    browser.fill("input[name=search]", "beta").await?;
    browser.text_of("tr[data-outcall='beta-out']").await?;
    browser.wait_text(".pager .page-info", "1–1 of 1").await?;

    // The DID to Bea: the user picker offers Beta's users only.
    browser.click("header.topbar a[href='/incalls']").await?;
    browser.fill("form.new-incall input[name=did]", "5550200").await?;
    browser.select("form.new-incall select[name=destination]", "user").await?;
    browser.select("form.new-incall select[name=user]", &user_id.to_string()).await?;
    let user_options = browser.client.find_all(Locator::Css("form.new-incall select[name=user] option")).await?;
    for option in user_options {
        let value = option.prop("value").await?.unwrap_or_default();
        assert!(value.is_empty() || value == user_id.to_string(), "a foreign user offered: {value}");
    }
    browser.click("form.new-incall button[type=submit]").await?;
    browser.text_of("tr[data-incall='5550200']").await?;
    nothing_foreign(&browser, "/incalls").await?;

    // The simulator: callers and contexts are Beta's only.
    browser.click("header.topbar a[href='/simulator']").await?;
    browser.select("select[name=caller]", &format!("user:{user_id}")).await?;
    let beta_contexts = s.expect(&beta_token, "GET", &format!("{C}/contexts"), None, 200).await?;
    let own_contexts: Vec<String> = beta_contexts["items"].as_array().cloned().unwrap_or_default().iter().filter_map(|c| c["name"].as_str().map(str::to_string)).collect();
    for option in browser.client.find_all(Locator::Css("select[name=caller] option")).await? {
        let value = option.prop("value").await?.unwrap_or_default();
        match value.split_once(':') {
            Some(("user", id)) => assert_eq!(id, user_id.to_string(), "a foreign user among the callers"),
            Some(("ctx", name)) => assert!(own_contexts.iter().any(|c| c == name), "a foreign context among the callers: {name}"),
            other => panic!("an unexpected caller {other:?}: the shared trunk is not Beta's inbound trunk"),
        }
    }
    // Outgoing: `_9.` strips the 9, dials the shared trunk, with Bea's caller ID.
    browser.fill("input[name=dialled]", "9123").await?;
    browser.wait_text(".trace .winner code.pattern", "_9.").await?;
    browser.wait_text(".trace li[data-trunk='platform-carrier'] code.dial", "PJSIP/123@platform-carrier").await?;
    browser.wait_text(".trace code.callerid", "\"Beta Desk\" <5550200>").await?;
    nothing_foreign(&browser, "/simulator (outgoing)").await?;
    // Incoming: the DID, arriving in Beta's incall context, rings Bea's phone.
    let incall_ctx = context_of(&s, &beta_token, "incall").await?;
    browser.select("select[name=caller]", &format!("ctx:{incall_ctx}")).await?;
    browser.fill("input[name=dialled]", "5550200").await?;
    browser.wait_text(".trace[data-kind='incall'] .winner code.pattern", "5550200").await?;
    let rings = browser.text_of(".trace code.destination").await?;
    assert!(rings.contains("bea-phone"), "the DID rings Bea's phone: {rings}");
    nothing_foreign(&browser, "/simulator (incoming)").await?;

    // The audit log: Beta's changes, nobody else's.
    browser.click("header.topbar a[href='/audit']").await?;
    browser.text_of("table.audit-log tbody tr").await?;
    nothing_foreign(&browser, "/audit").await?;
    // Objects by name, not by id.
    let log = browser.text_of("table.audit-log tbody").await?;
    for line in ["update outcall beta-out", "create user Bea", "create extension 5550200@", "create endpoint sip bea-phone"] {
        assert!(log.contains(line), "no `{line}` in the audit log: {log}");
    }
    let errors = browser.page_errors().await?;
    assert!(errors.is_empty(), "page errors: {errors:?}");
    // The tenant admin's pages, as its admin sees them, in both themes and widths.
    for (dark, theme) in [(false, "light"), (true, "dark")] {
        browser.color_scheme(dark).await?;
        for (width, height) in [(1280, 900), (390, 844)] {
            browser.client.set_window_size(width, height).await?;
            for page in ["trunks", "outcalls", "incalls", "users", "simulator", "audit"] {
                browser.click(&format!("header.topbar a[href='/{page}']")).await?;
                browser.client.wait().for_element(Locator::Css("main section h1")).await?;
                tokio::time::sleep(Duration::from_millis(400)).await;
                browser.screenshot(&format!("tenant-{page}-{width}-{theme}")).await?;
                let wide = browser.wider_than_the_window().await?;
                assert!(wide.is_empty(), "/{page} at {width} px scrolls sideways: {wide:?}");
            }
        }
    }
    let errors = browser.page_errors().await?;
    assert!(errors.is_empty(), "page errors: {errors:?}");
    browser.close().await?;

    // Read back: Beta may dial the trunk, never read it.
    s.expect(&beta_token, "GET", &format!("{C}/trunks/{shared_id}"), None, 404).await?;
    s.expect(&beta_token, "PUT", &format!("{C}/trunks/{shared_id}"), Some(json!({"shared_with": []})), 404).await?;
    let usable = s.expect(&beta_token, "GET", "/api/patchbay/1.0/usable_trunks", None, 200).await?.to_string();
    let snapshot = s.expect(&beta_token, "GET", "/api/patchbay/1.0/snapshot", None, 200).await?.to_string();
    for text in [&usable, &snapshot] {
        assert!(!text.contains(SHARED_HOST) && !text.contains(SHARED_SECRET) && !text.contains("gamma") && !text.contains("alpha"), "{text}");
    }
    // Gamma may not dial it: it is not shared with Gamma.
    let g_route = s.expect(&gamma_token, "GET", &format!("{C}/outcalls"), None, 200).await?;
    let g_route = id_of(&g_route, "name", "gamma-route").expect("gamma's route");
    s.expect(&gamma_token, "PUT", &format!("{C}/outcalls/{g_route}/trunks"), Some(json!({"trunks": [{"id": shared_id}]})), 400).await?;
    // Unsharing takes the trunk out of Beta's route.
    s.expect(&admin, "PUT", &format!("{C}/trunks/{shared_id}"), Some(json!({"shared_with": []})), 204).await?;
    let routes = s.expect(&beta_token, "GET", &format!("{C}/outcalls"), None, 200).await?;
    assert_eq!(routes["items"][0]["trunks"], json!([]), "{routes}");
    Ok(())
}
