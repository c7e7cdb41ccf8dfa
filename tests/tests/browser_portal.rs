//! The admin portal in real Chromium, typing and clicking only (the API is
//! used to read back, never to configure):
//!
//! - seeds 001 (a registering provider) and 003 (authenticate without
//!   registering) completed in the browser against a Patchbay driving a real
//!   Asterisk; then the provider's call to the public number rings the
//!   user's phone, and the phone's `418…` call reaches the seed-003
//!   provider, authenticated, with no REGISTER;
//! - an object of every kind (SIP, IAX and custom trunks, user, outcall,
//!   incall) created, edited and deleted through the forms;
//! - every page visited quickly while every request is slow: no panic and
//!   no console error; then screenshots of each page at 1280 px and 390 px
//!   in the light and dark themes;
//! - a page whose code cannot be fetched says so and offers a reload.
//!
//! Addresses 127.0.0.230 (Asterisk), .231 (seed-001 provider), .232 (the
//! user's phone), .233 (seed-003 provider); AMI port 15370.

use fantoccini::Locator;
use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_e2e::browser::{Browser, SipTrunk, create_sip_trunk};
use patchbay_e2e::sipp::pbx::{API, registrations, wait_endpoints, wait_registered};
use patchbay_e2e::sipp::provider::{PROVIDER_SECRET, PROVIDER_USER, provider_registrar, provider_uas_challenging_invite};
use patchbay_e2e::sipp::{Scenario, Sipp};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The id of the trunk whose endpoint is `name`, read back from the API.
async fn trunk_id(server: &PatchbayServer, token: &str, name: &str) -> anyhow::Result<i64> {
    let trunks = server.expect(token, "GET", &format!("{API}/trunks"), None, 200).await?;
    trunks["items"]
        .as_array()
        .and_then(|all| all.iter().find(|t| t["name"] == name))
        .and_then(|t| t["id"].as_i64())
        .ok_or_else(|| anyhow::anyhow!("no trunk {name} in {trunks}"))
}

fn find<'a>(list: &'a Value, key: &str, value: &str) -> Option<&'a Value> {
    list["items"].as_array()?.iter().find(|item| item[key] == value)
}

/// Option `key` of section `field` of a SIP endpoint body.
fn option<'a>(endpoint: &'a Value, field: &str, key: &str) -> Option<&'a str> {
    endpoint[field].as_array()?.iter().rev().find(|p| p[0] == key)?[1].as_str()
}

async fn assert_no_page_errors(browser: &Browser, when: &str) -> anyhow::Result<()> {
    let errors = browser.page_errors().await?;
    assert!(errors.is_empty(), "page errors {when}: {errors:?}");
    Ok(())
}

#[tokio::test]
async fn seeds_001_and_003_completed_in_the_browser_then_calls_cross() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.0.230";
    const PROVIDER_001_IP: &str = "127.0.0.231";
    const PHONE_IP: &str = "127.0.0.232";
    const PROVIDER_003_IP: &str = "127.0.0.233";
    let started = Instant::now();
    let asterisk = AsteriskInstance::start("portal-seeds", PBX_IP, 15370).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let token = server.admin_token().await?;
    let mut registrar = Sipp::start("portal-registrar-001", Scenario::Xml(&provider_registrar()), PROVIDER_001_IP, 5060, None, 1, &[])?;
    registrar.wait_listening().await?;

    let browser = Browser::start().await?;
    browser.login(&server.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.click("header.topbar a[href='/trunks']").await?;
    // Seed 001: username, password, the provider's server, registration.
    create_sip_trunk(&browser, &SipTrunk { username: PROVIDER_USER, password: PROVIDER_SECRET, name: "provider", host: PROVIDER_001_IP, port: "", register: true, qualify: false }).await?;
    // Seed 003: the same credentials, authentication only, no REGISTER.
    create_sip_trunk(&browser, &SipTrunk { username: PROVIDER_USER, password: PROVIDER_SECRET, name: "bandwidth", host: PROVIDER_003_IP, port: "5060", register: false, qualify: false }).await?;

    // The front desk user, its extension and its phone (at a fixed address).
    browser.click("header.topbar a[href='/users']").await?;
    browser.fill("form.user-form input[name=firstname]", "Front").await?;
    browser.fill("form.user-form input[name=lastname]", "Desk").await?;
    browser.fill("form.user-form input[name=exten]", "1001").await?;
    browser.fill("form.user-form input[name=endpoint_name]", "front-desk").await?;
    browser.click("form.user-form input[name=phone_kind][value=address]").await?;
    browser.fill("form.user-form input[name=phone_address]", &format!("{PHONE_IP}:5060")).await?;
    browser.click("form.user-form button[type=submit]").await?;
    browser.wait_text("table.users td.exten", "1001 @default").await?;
    let users = server.expect(&token, "GET", &format!("{API}/users"), None, 200).await?;
    let user_id = find(&users, "firstname", "Front").and_then(|u| u["id"].as_i64()).expect("the user was created");

    // Outgoing: the seed's `418.` first, which lint flags as you type.
    let (provider_id, bandwidth_id) = (trunk_id(&server, &token, "provider").await?, trunk_id(&server, &token, "bandwidth").await?);
    browser.click("header.topbar a[href='/outcalls']").await?;
    browser.fill("form.new-outcall input[name=name]", "provider").await?;
    browser.fill("form.new-outcall input[name=pattern]", "418.").await?;
    browser.text_of(".draft-lints li[data-code='literal-with-pattern-characters']").await?;
    browser.text_of(".draft-lints li[data-code='outcall-without-trunk']").await?;
    browser.fill("form.new-outcall input[name=pattern]", "_418.").await?;
    browser.click(&format!("form.new-outcall input[name=trunk][value='{provider_id}']")).await?;
    browser.click(&format!("form.new-outcall input[name=trunk][value='{bandwidth_id}']")).await?;
    // Keyboard reorder: the seed-003 provider first, the registering one as failover.
    browser.click(&format!("ol.failover li[data-trunk-id='{bandwidth_id}'] button[aria-label='Move up']")).await?;
    assert!(browser.client.find(Locator::Css(".draft-lints li")).await.is_err(), "no lint left on `_418.` with two trunks");
    browser.click("form.new-outcall button[type=submit]").await?;
    browser.wait_text("tr[data-outcall='provider'] td:nth-child(3)", "bandwidth → provider").await?;

    // Incoming: the public number rings the front desk.
    browser.click("header.topbar a[href='/incalls']").await?;
    browser.fill("form.new-incall input[name=did]", "5551234").await?;
    browser.select("form.new-incall select[name=destination]", "user").await?;
    browser.select("form.new-incall select[name=user]", &user_id.to_string()).await?;
    browser.click("form.new-incall button[type=submit]").await?;
    browser.text_of("tr[data-incall='5551234']").await?;
    assert_no_page_errors(&browser, "while configuring").await?;
    eprintln!("configured in the browser after {:?}", started.elapsed());

    // What Asterisk holds.
    wait_endpoints(&ami, &["provider", "bandwidth", "front-desk"]).await?;
    if let Err(e) = wait_registered(&ami, "provider").await {
        anyhow::bail!("{e}\nregistrar:\n{}\n{}", registrar.messages(), asterisk.console_tail());
    }
    assert!(registrar.messages().contains(&format!("username=\"{PROVIDER_USER}\"")), "{}", registrar.messages());
    let registered = registrations(&ami).await;
    assert!(!registered.iter().any(|(name, _)| name == "bandwidth"), "seed 003 must not register: {registered:?}");
    // The trunks page shows the registration live.
    browser.click("header.topbar a[href='/trunks']").await?;
    browser.wait_text("tr[data-trunk='provider'] td.registration .badge", "Registered").await?;
    drop(registrar);
    eprintln!("registered after {:?}", started.elapsed());

    // Seed 001: the provider calls the public number; the phone rings.
    let mut phone = Sipp::start("portal-phone-uas", Scenario::BuiltIn("uas"), PHONE_IP, 5060, None, 1, &[])?;
    phone.wait_listening().await?;
    let mut caller = Sipp::start("portal-provider-uac", Scenario::BuiltIn("uac"), PROVIDER_001_IP, 5060, Some(&format!("{PBX_IP}:5060")), 1, &["-s", "5551234"])?;
    if let Err(e) = caller.expect_success(Duration::from_secs(20)).await {
        anyhow::bail!("{e}\nphone received: {:?}\n{}", phone.received_requests(), asterisk.console_tail());
    }
    phone.expect_success(Duration::from_secs(10)).await?;
    let received = phone.received_requests();
    assert!(received.iter().any(|r| r.starts_with(&format!("INVITE sip:1001@{PHONE_IP}"))), "{received:?}");
    drop(phone);

    // Seed 003: the phone dials 418…; the provider challenges, the retry is
    // authenticated, and it never saw a REGISTER.
    let mut provider = Sipp::start("portal-provider-003", Scenario::Xml(&provider_uas_challenging_invite()), PROVIDER_003_IP, 5060, None, 1, &[])?;
    provider.wait_listening().await?;
    let mut phone = Sipp::start("portal-phone-uac", Scenario::BuiltIn("uac"), PHONE_IP, 5060, Some(&format!("{PBX_IP}:5060")), 1, &["-s", "4185550100"])?;
    if let Err(e) = phone.expect_success(Duration::from_secs(20)).await {
        anyhow::bail!("{e}\nprovider received: {}\n{}", provider.messages(), asterisk.console_tail());
    }
    provider.expect_success(Duration::from_secs(10)).await?;
    let received = provider.received_requests();
    let invites: Vec<&String> = received.iter().filter(|r| r.starts_with("INVITE ")).collect();
    assert_eq!(invites.len(), 2, "a challenged INVITE and its authenticated retry: {received:?}");
    assert!(invites.iter().all(|r| r.starts_with(&format!("INVITE sip:4185550100@{PROVIDER_003_IP}"))), "{received:?}");
    assert!(provider.messages().contains(&format!("username=\"{PROVIDER_USER}\"")), "{}", provider.messages());
    assert!(!received.iter().any(|r| r.starts_with("REGISTER")), "{received:?}");
    assert_no_page_errors(&browser, "at the end").await?;
    browser.screenshot("portal-seeds-trunks").await?;
    browser.close().await?;
    eprintln!("both calls done after {:?}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn every_kind_is_created_edited_and_deleted_in_the_browser() -> anyhow::Result<()> {
    let server = PatchbayServer::start(None).await?;
    let token = server.admin_token().await?;
    let browser = Browser::start().await?;
    browser.login(&server.base_url, "admin", ADMIN_PASSWORD).await?;

    // SIP trunk: created, then edited (qualify frequency, a codec, an
    // advanced option offered from Asterisk's names); the secret survives.
    browser.click("header.topbar a[href='/trunks']").await?;
    create_sip_trunk(&browser, &SipTrunk { username: PROVIDER_USER, password: PROVIDER_SECRET, name: "carrier", host: "192.0.2.10", port: "", register: false, qualify: true }).await?;
    let datalist = browser.client.find(Locator::Css("datalist#options-endpoint_section_options option[value='dtmf_mode']")).await;
    assert!(datalist.is_ok(), "the advanced key offers Asterisk's endpoint options");
    browser.click("tr[data-trunk='carrier'] button.edit").await?;
    browser.client.wait().for_element(Locator::Css("form.trunk-form[data-editing]")).await?;
    let password = browser.client.find(Locator::Css("form.trunk-form input[name=password]")).await?.prop("value").await?;
    assert_eq!(password.as_deref(), Some(""), "the secret is never shown");
    browser.fill("form.trunk-form input[name=qualify_frequency]", "30").await?;
    browser.click("form.trunk-form input[name=codec][value=g722]").await?;
    browser.click("form.trunk-form details.advanced summary").await?;
    browser.click("form.trunk-form button.add-option").await?;
    browser.fill("form.trunk-form tr[data-advanced='0'] input[name=advanced_key]", "dtmf_mode").await?;
    browser.fill("form.trunk-form tr[data-advanced='0'] input[name=advanced_value]", "rfc4733\t").await?;
    browser.click("form.trunk-form button[type=submit]").await?;
    let endpoint = eventually("the edited SIP endpoint", Duration::from_secs(10), || async {
        let all = server.expect(&token, "GET", &format!("{API}/endpoints/sip"), None, 200).await.ok()?;
        let endpoint = find(&all, "name", "carrier")?.clone();
        (option(&endpoint, "aor_section_options", "qualify_frequency") == Some("30")).then_some(endpoint)
    })
    .await?;
    assert_eq!(option(&endpoint, "endpoint_section_options", "allow"), Some("!all,ulaw,alaw,g722"), "{endpoint}");
    assert_eq!(option(&endpoint, "endpoint_section_options", "dtmf_mode"), Some("rfc4733"), "{endpoint}");
    assert_eq!(option(&endpoint, "outbound_auth_section_options", "password"), Some(PROVIDER_SECRET), "the secret was kept: {endpoint}");

    // IAX and custom trunks.
    browser.click("form.trunk-form input[name=kind][value=iax]").await?;
    browser.fill("form.trunk-form input[name=name]", "pbx-b").await?;
    browser.fill("form.trunk-form input[name=host]", "192.0.2.20").await?;
    browser.click("form.trunk-form button[type=submit]").await?;
    browser.text_of("tr[data-trunk='pbx-b']").await?;
    browser.click("form.trunk-form input[name=kind][value=custom]").await?;
    browser.fill("form.trunk-form input[name=name]", "Local").await?;
    browser.fill("form.trunk-form input[name=interface_suffix]", "@from-extern").await?;
    browser.click("form.trunk-form button[type=submit]").await?;
    if let Err(e) = browser.text_of("tr[data-trunk='Local']").await {
        let shown = browser.text_of("form.trunk-form").await.unwrap_or_default().replace('\n', " | ");
        let trunks = server.expect(&token, "GET", &format!("{API}/trunks"), None, 200).await?;
        let custom = server.expect(&token, "GET", &format!("{API}/endpoints/custom"), None, 200).await?;
        anyhow::bail!("{e}: the table shows {shown}\n{trunks}\n{custom}");
    }
    browser.click("tr[data-trunk='pbx-b'] button.edit").await?;
    browser.client.wait().for_element(Locator::Css("form.trunk-form[data-editing]")).await?;
    browser.fill("form.trunk-form input[name=host]", "192.0.2.21").await?;
    browser.click("form.trunk-form button[type=submit]").await?;
    eventually("the IAX host edited", Duration::from_secs(10), || async {
        let all = server.expect(&token, "GET", &format!("{API}/endpoints/iax"), None, 200).await.ok()?;
        (find(&all, "name", "pbx-b")?["host"] == "192.0.2.21").then_some(())
    })
    .await?;
    browser.click("tr[data-trunk='Local'] button.edit").await?;
    browser.client.wait().for_element(Locator::Css("form.trunk-form[data-editing]")).await?;
    browser.fill("form.trunk-form input[name=interface_suffix]", "@default").await?;
    browser.click("form.trunk-form button[type=submit]").await?;
    eventually("the custom suffix edited", Duration::from_secs(10), || async {
        let all = server.expect(&token, "GET", &format!("{API}/endpoints/custom"), None, 200).await.ok()?;
        (find(&all, "interface", "Local")?["interface_suffix"] == "@default").then_some(())
    })
    .await?;

    // User: created, renamed, outgoing caller ID set.
    browser.click("header.topbar a[href='/users']").await?;
    browser.fill("form.user-form input[name=firstname]", "Alice").await?;
    browser.fill("form.user-form input[name=exten]", "1002").await?;
    browser.fill("form.user-form input[name=endpoint_name]", "alice-phone").await?;
    browser.fill("form.user-form input[name=phone_password]", "phone-secret-1").await?;
    browser.click("form.user-form button[type=submit]").await?;
    browser.wait_text("table.users td.exten", "1002 @default").await?;
    let users = server.expect(&token, "GET", &format!("{API}/users"), None, 200).await?;
    let user_id = find(&users, "firstname", "Alice").and_then(|u| u["id"].as_i64()).expect("user created");
    browser.click(&format!("tr[data-user='{user_id}'] button.edit")).await?;
    browser.client.wait().for_element(Locator::Css("form.user-form[data-editing]")).await?;
    browser.fill("form.user-form input[name=outgoing_caller_id]", "\"Alice\" <5550102>").await?;
    browser.click("form.user-form button[type=submit]").await?;
    browser.wait_text(&format!("tr[data-user='{user_id}'] td.outgoing-caller-id"), "\"Alice\" <5550102>").await?;
    let endpoints = server.expect(&token, "GET", &format!("{API}/endpoints/sip"), None, 200).await?;
    let phone = find(&endpoints, "name", "alice-phone").expect("the phone endpoint");
    assert_eq!(option(phone, "auth_section_options", "password"), Some("phone-secret-1"), "the phone's secret was kept: {phone}");

    // Outcall: created, edited (pattern and strip).
    let carrier = trunk_id(&server, &token, "carrier").await?;
    browser.click("header.topbar a[href='/outcalls']").await?;
    browser.fill("form.new-outcall input[name=name]", "national").await?;
    browser.fill("form.new-outcall input[name=pattern]", "_0XXXXXXXXX").await?;
    browser.click(&format!("form.new-outcall input[name=trunk][value='{carrier}']")).await?;
    browser.click("form.new-outcall button[type=submit]").await?;
    browser.text_of("tr[data-outcall='national']").await?;
    browser.click("tr[data-outcall='national'] button.edit").await?;
    browser.client.wait().for_element(Locator::Css("form.new-outcall[data-editing]")).await?;
    browser.fill("form.new-outcall input[name=pattern]", "_00.").await?;
    browser.fill("form.new-outcall input[name=strip_digits]", "2").await?;
    browser.click("form.new-outcall button[type=submit]").await?;
    eventually("the outcall edited", Duration::from_secs(10), || async {
        let all = server.expect(&token, "GET", &format!("{API}/outcalls"), None, 200).await.ok()?;
        let pattern = &find(&all, "name", "national")?["extensions"][0];
        (pattern["exten"] == "_00." && pattern["strip_digits"] == 2).then_some(())
    })
    .await?;

    // Incall: a +1 DID to the user, then to a hangup, then to a group.
    let group = server.expect(&token, "POST", &format!("{API}/groups"), Some(serde_json::json!({"label": "sales"})), 201).await?;
    browser.click("header.topbar a[href='/incalls']").await?;
    browser.fill("form.new-incall input[name=did]", "+15145550100").await?;
    // Stored without its `+`, which incall contexts drop before the lookup; the form says so.
    browser.text_of("form.new-incall .plus-note").await?;
    browser.select("form.new-incall select[name=user]", &user_id.to_string()).await?;
    browser.click("form.new-incall button[type=submit]").await?;
    browser.text_of("tr[data-incall='15145550100']").await?;
    browser.click("tr[data-incall='15145550100'] button.edit").await?;
    browser.client.wait().for_element(Locator::Css("form.new-incall[data-editing]")).await?;
    browser.select("form.new-incall select[name=destination]", "hangup").await?;
    browser.select("form.new-incall select[name=cause]", "busy").await?;
    browser.click("form.new-incall button[type=submit]").await?;
    browser.wait_text("tr[data-incall='15145550100'] td:nth-child(2)", "hang up (busy)").await?;
    browser.click("tr[data-incall='15145550100'] button.edit").await?;
    browser.client.wait().for_element(Locator::Css("form.new-incall[data-editing]")).await?;
    browser.select("form.new-incall select[name=destination]", "group").await?;
    browser.select("form.new-incall select[name=group]", &group["id"].to_string()).await?;
    browser.click("form.new-incall button[type=submit]").await?;
    browser.wait_text("tr[data-incall='15145550100'] td:nth-child(2)", &format!("group sales (#{})", group["id"])).await?;

    // Delete everything, confirming each time; the trunk's confirmation
    // names the route that uses it.
    browser.click("tr[data-incall='15145550100'] button.delete").await?;
    browser.accept_confirm().await?;
    wait_gone(&browser, "tr[data-incall]").await?;
    browser.click("header.topbar a[href='/outcalls']").await?;
    browser.click("tr[data-outcall='national'] button.delete").await?;
    browser.accept_confirm().await?;
    wait_gone(&browser, "tr[data-outcall]").await?;
    browser.click("header.topbar a[href='/users']").await?;
    browser.click(&format!("tr[data-user='{user_id}'] button.delete")).await?;
    browser.accept_confirm().await?;
    wait_gone(&browser, "tr[data-user]").await?;
    browser.click("header.topbar a[href='/trunks']").await?;
    for name in ["carrier", "pbx-b", "Local"] {
        browser.click(&format!("tr[data-trunk='{name}'] button.delete")).await?;
        browser.accept_confirm().await?;
        wait_gone(&browser, &format!("tr[data-trunk='{name}']")).await?;
    }
    for path in ["trunks", "outcalls", "incalls", "users", "lines", "endpoints/sip", "endpoints/iax", "endpoints/custom"] {
        let list = server.expect(&token, "GET", &format!("{API}/{path}"), None, 200).await?;
        assert_eq!(list["total"], 0, "{path} left: {list}");
    }
    let extensions = server.expect(&token, "GET", &format!("{API}/extensions"), None, 200).await?;
    assert!(!extensions.to_string().contains("_00.") && !extensions.to_string().contains("1002"), "extensions left: {extensions}");
    assert_no_page_errors(&browser, "after editing and deleting").await?;
    browser.close().await?;
    Ok(())
}

/// Waits until nothing matches `css`.
async fn wait_gone(browser: &Browser, css: &str) -> anyhow::Result<()> {
    eventually(&format!("`{css}` to disappear"), Duration::from_secs(10), || async { browser.client.find(Locator::Css(css)).await.is_err().then_some(()) }).await
}

const PAGES: &[(&str, &str)] = &[
    ("/trunks", "trunks"),
    ("/outcalls", "outcalls"),
    ("/incalls", "incalls"),
    ("/users", "users"),
    ("/simulator", "simulator"),
    ("/config", "config"),
    ("/asterisk", "asterisk"),
    ("/audit", "audit"),
];

#[tokio::test]
async fn quick_navigation_during_slow_responses_then_screenshots() -> anyhow::Result<()> {
    let server = PatchbayServer::start(None).await?;
    let browser = Browser::start().await?;
    browser.login(&server.base_url, "admin", ADMIN_PASSWORD).await?;
    // Something on every page.
    browser.click("header.topbar a[href='/trunks']").await?;
    create_sip_trunk(&browser, &SipTrunk { username: PROVIDER_USER, password: PROVIDER_SECRET, name: "carrier", host: "192.0.2.10", port: "", register: true, qualify: true }).await?;

    // Every request now takes 700 ms: leave each page before its answers arrive.
    browser.slow_network(700).await?;
    for round in 0..3 {
        for (href, _) in PAGES {
            browser.click(&format!("header.topbar a[href='{href}']")).await?;
            tokio::time::sleep(Duration::from_millis(50 + 40 * round)).await;
        }
    }
    // Let the late answers land on the disposed pages.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_no_page_errors(&browser, "after quick navigation").await?;
    browser.slow_network(0).await?;

    for (dark, theme) in [(false, "light"), (true, "dark")] {
        browser.color_scheme(dark).await?;
        for (width, height) in [(1280, 900), (390, 844)] {
            browser.client.set_window_size(width, height).await?;
            for (href, name) in PAGES {
                browser.click(&format!("header.topbar a[href='{href}']")).await?;
                browser.client.wait().for_element(Locator::Css("main section h1")).await?;
                tokio::time::sleep(Duration::from_millis(400)).await;
                let title = browser.client.title().await?;
                assert!(title.ends_with("· Patchbay") && title.len() > "· Patchbay".len() + 1, "page title {title:?}");
                browser.screenshot(&format!("portal-{name}-{width}-{theme}")).await?;
                let wide = browser.wider_than_the_window().await?;
                assert!(wide.is_empty(), "{href} at {width} px scrolls sideways: {wide:?}");
            }
        }
    }
    assert_no_page_errors(&browser, "after the screenshots").await?;
    browser.close().await?;
    Ok(())
}

/// A page group whose code cannot be fetched (blocked here, as when an
/// update has removed the build this tab loaded) says so beside a reload
/// button instead of panicking; the shell and the other groups keep
/// working, and once the code can be fetched the reload brings the page.
#[tokio::test]
async fn a_page_whose_code_cannot_be_fetched_says_so_and_offers_a_reload() -> anyhow::Result<()> {
    let server = PatchbayServer::start(None).await?;
    let browser = Browser::start().await?;
    browser.login(&server.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.client.wait().for_element(Locator::Css("main section h1")).await?;
    browser.cdp("Network.enable", serde_json::json!({})).await?;
    browser.cdp("Network.setBlockedURLs", serde_json::json!({"urls": ["*split_platform.wasm"]})).await?;

    browser.click("header.topbar a[href='/config']").await?;
    let message = browser.text_of("main .load-failed p").await?;
    assert!(message.contains("could not be loaded"), "{message}");
    browser.screenshot("portal-load-failed").await?;
    browser.click("header.topbar a[href='/audit']").await?;
    browser.wait_text("main section h1", "Audit log").await?;
    // Only the blocked fetch was reported (the loader logs it), no panic.
    let errors = browser.page_errors().await?;
    assert!(!errors.is_empty() && errors.iter().all(|e| !e.contains("panicked")), "{errors:?}");

    // Back to the page, still blocked: the message again; then the code can
    // be fetched and the button reloads the app on that page.
    browser.click("header.topbar a[href='/config']").await?;
    browser.text_of("main .load-failed p").await?;
    browser.cdp("Network.setBlockedURLs", serde_json::json!({"urls": []})).await?;
    browser.click("main .load-failed button").await?;
    browser.wait_text("main section h1", "Config review").await?;
    assert_eq!(browser.client.current_url().await?.path(), "/config");
    assert_no_page_errors(&browser, "after the reload").await?;
    browser.close().await?;
    Ok(())
}
