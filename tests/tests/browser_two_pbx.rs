//! Seed 000 (two PBXs interconnected) completed in real Chromium on two
//! Patchbays, each driving its own Asterisk, by typing and clicking only
//! (the API only reads back ids for the pickers' values):
//!
//! - B: trunk `wazo-trunk` that authenticates both ways and accepts A's
//!   registration (chan_sip's `host=dynamic`), user 101's phone, the
//!   incall `101` in `from-extern`, and `**99` back to A;
//! - A: trunk `wazo-trunk` to B, registering, the outcall `_**99.` that
//!   strips 4 digits, alice's phone and the incall `102`.
//!
//! Then a sipp phone on A dials `**99101`: the call crosses both Asterisks
//! and rings user 101's sipp phone on B, which answers; and the way back
//! (B's phone dials `**99102`, over A's registered contact).
//!
//! Addresses 127.0.4.10 (A), .11 (B), .12 (A's phone), .13 (B's phone);
//! AMI ports 16300 (A) and 16301 (B).

use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_e2e::browser::Browser;
use patchbay_e2e::sipp::pbx::{API, contacts, wait_endpoints, wait_registered};
use patchbay_e2e::sipp::{Scenario, Sipp};
use std::time::{Duration, Instant};

const A_IP: &str = "127.0.4.10";
const B_IP: &str = "127.0.4.11";
const A_PHONE_IP: &str = "127.0.4.12";
const B_PHONE_IP: &str = "127.0.4.13";

/// The seed's trunk, typed into the trunk form: `wazo-trunk` / `pass`
/// both ways, `from-extern`, gsm added to the codecs. `far_end` is B's
/// address on A (A registers to it); on B it is `None`: A registers to B.
async fn seed_trunk(browser: &Browser, far_end: Option<&str>) -> anyhow::Result<()> {
    let form = "form.trunk-form";
    browser.click("header.topbar a[href='/trunks']").await?;
    browser.click(&format!("{form} input[name=kind][value=sip]")).await?;
    browser.fill(&format!("{form} input[name=name]"), "wazo-trunk").await?;
    browser.select(&format!("{form} select[name=context]"), "from-extern").await?;
    if let Some(host) = far_end {
        browser.fill(&format!("{form} input[name=host]"), host).await?;
    }
    browser.click(&format!("{form} input[name=auth][value=both]")).await?;
    browser.fill(&format!("{form} input[name=username]"), "wazo-trunk").await?;
    browser.fill(&format!("{form} input[name=password]"), "pass").await?;
    match far_end {
        Some(_) => browser.click(&format!("{form} input[name=register]")).await?,
        None => browser.click(&format!("{form} input[name=accept_register]")).await?,
    }
    browser.click(&format!("{form} input[name=codec][value=gsm]")).await?;
    // The far PBX answers OPTIONS, but B's side has no contact until A registers.
    browser.click(&format!("{form} input[name=qualify]")).await?;
    browser.click(&format!("{form} button[type=submit]")).await?;
    browser.text_of("tr[data-trunk='wazo-trunk']").await?;
    Ok(())
}

/// A user with extension `exten` and a phone at `phone_ip` (a sipp phone).
async fn user_with_phone(browser: &Browser, firstname: &str, exten: &str, endpoint: &str, phone_ip: &str) -> anyhow::Result<()> {
    browser.click("header.topbar a[href='/users']").await?;
    browser.fill("form.user-form input[name=firstname]", firstname).await?;
    browser.fill("form.user-form input[name=exten]", exten).await?;
    browser.fill("form.user-form input[name=endpoint_name]", endpoint).await?;
    browser.click("form.user-form input[name=phone_kind][value=address]").await?;
    browser.fill("form.user-form input[name=phone_address]", &format!("{phone_ip}:5060")).await?;
    browser.click("form.user-form button[type=submit]").await?;
    browser.wait_text("table.users td.exten", &format!("{exten} @default")).await?;
    Ok(())
}

/// The seed's outcall: `_**99.`, 4 digits stripped, over `wazo-trunk`.
async fn outcall_star_star_99(browser: &Browser, server: &PatchbayServer, token: &str) -> anyhow::Result<()> {
    let trunks = server.expect(token, "GET", &format!("{API}/trunks"), None, 200).await?;
    let trunk_id = trunks["items"][0]["id"].as_i64().ok_or_else(|| anyhow::anyhow!("no trunk: {trunks}"))?;
    browser.click("header.topbar a[href='/outcalls']").await?;
    browser.fill("form.new-outcall input[name=name]", "to-the-other-wazo").await?;
    browser.fill("form.new-outcall input[name=pattern]", "_**99.").await?;
    browser.fill("form.new-outcall input[name=strip_digits]", "4").await?;
    browser.click(&format!("form.new-outcall input[name=trunk][value='{trunk_id}']")).await?;
    browser.click("form.new-outcall button[type=submit]").await?;
    browser.wait_text("tr[data-outcall='to-the-other-wazo'] td:nth-child(3)", "wazo-trunk").await?;
    Ok(())
}

/// The incall `did` in `from-extern` to the tenant's only user.
async fn incall_to_the_user(browser: &Browser, server: &PatchbayServer, token: &str, did: &str) -> anyhow::Result<()> {
    let users = server.expect(token, "GET", &format!("{API}/users"), None, 200).await?;
    let user_id = users["items"][0]["id"].as_i64().ok_or_else(|| anyhow::anyhow!("no user: {users}"))?;
    browser.click("header.topbar a[href='/incalls']").await?;
    browser.fill("form.new-incall input[name=did]", did).await?;
    browser.select("form.new-incall select[name=context]", "from-extern").await?;
    browser.select("form.new-incall select[name=destination]", "user").await?;
    browser.select("form.new-incall select[name=user]", &user_id.to_string()).await?;
    browser.click("form.new-incall button[type=submit]").await?;
    browser.text_of(&format!("tr[data-incall='{did}']")).await?;
    Ok(())
}

#[tokio::test]
async fn seed_000_on_two_patchbays_in_the_browser_then_calls_cross() -> anyhow::Result<()> {
    let started = Instant::now();
    let (asterisk_a, asterisk_b) =
        tokio::try_join!(AsteriskInstance::start("portal-two-a", A_IP, 16300), AsteriskInstance::start("portal-two-b", B_IP, 16301))?;
    let (url_a, url_b) = (asterisk_a.ami_url(), asterisk_b.ami_url());
    let (a, b) = tokio::try_join!(PatchbayServer::start(Some(&url_a)), PatchbayServer::start(Some(&url_b)))?;
    let (ami_a, ami_b) = tokio::try_join!(asterisk_a.connect_ami(), asterisk_b.connect_ami())?;
    let (ta, tb) = (a.admin_token().await?, b.admin_token().await?);
    let browser = Browser::start().await?;

    // B first: ready for A's registration before A sends it.
    browser.login(&b.base_url, "admin", ADMIN_PASSWORD).await?;
    seed_trunk(&browser, None).await?;
    user_with_phone(&browser, "Bob", "101", "bob-phone", B_PHONE_IP).await?;
    incall_to_the_user(&browser, &b, &tb, "101").await?;
    outcall_star_star_99(&browser, &b, &tb).await?;
    let errors = browser.page_errors().await?;
    assert!(errors.is_empty(), "page errors on B: {errors:?}");
    browser.screenshot("two-pbx-b-trunks").await?;
    wait_endpoints(&ami_b, &["wazo-trunk", "bob-phone"]).await?;

    // A: the other Patchbay (another origin: its own login).
    browser.login(&a.base_url, "admin", ADMIN_PASSWORD).await?;
    seed_trunk(&browser, Some(B_IP)).await?;
    outcall_star_star_99(&browser, &a, &ta).await?;
    user_with_phone(&browser, "Alice", "102", "alice-phone", A_PHONE_IP).await?;
    incall_to_the_user(&browser, &a, &ta, "102").await?;
    let errors = browser.page_errors().await?;
    assert!(errors.is_empty(), "page errors on A: {errors:?}");
    wait_endpoints(&ami_a, &["wazo-trunk", "alice-phone"]).await?;
    eprintln!("both configured in the browser after {:?}", started.elapsed());

    // The trunk is established: A registered, B holds A's contact, and A's
    // trunk page says so.
    if let Err(e) = wait_registered(&ami_a, "wazo-trunk").await {
        anyhow::bail!("{e}\nA:\n{}\nB:\n{}", asterisk_a.console_tail(), asterisk_b.console_tail());
    }
    let shown = eventually("B to show A's contact on wazo-trunk", Duration::from_secs(10), || async {
        contacts(&ami_b).await.iter().any(|(name, uri)| name.starts_with("wazo-trunk;") && uri.contains(A_IP)).then_some(())
    })
    .await;
    if let Err(e) = shown {
        anyhow::bail!("{e}: {:?}\nA:\n{}\nB:\n{}", contacts(&ami_b).await, asterisk_a.console_tail(), asterisk_b.console_tail());
    }
    browser.click("header.topbar a[href='/trunks']").await?;
    browser.wait_text("tr[data-trunk='wazo-trunk'] td.registration .badge", "Registered").await?;
    browser.screenshot("two-pbx-a-trunks").await?;
    eprintln!("registered after {:?}", started.elapsed());

    // A's phone dials **99101: through A, over the trunk, through B, to 101.
    let mut bob = Sipp::start("portal-two-bob", Scenario::BuiltIn("uas"), B_PHONE_IP, 5060, None, 1, &[])?;
    bob.wait_listening().await?;
    let mut alice = Sipp::start("portal-two-alice-uac", Scenario::BuiltIn("uac"), A_PHONE_IP, 5060, Some(&format!("{A_IP}:5060")), 1, &["-s", "**99101"])?;
    if let Err(e) = alice.expect_success(Duration::from_secs(20)).await {
        anyhow::bail!("{e}\nB's phone received: {:?}\nA:\n{}\nB:\n{}", bob.received_requests(), asterisk_a.console_tail(), asterisk_b.console_tail());
    }
    bob.expect_success(Duration::from_secs(10)).await?;
    let received = bob.received_requests();
    assert!(received.iter().find(|r| !r.starts_with("OPTIONS ")).is_some_and(|r| r.starts_with(&format!("INVITE sip:101@{B_PHONE_IP}"))), "{received:?}");
    assert!(received.iter().any(|r| r.starts_with("BYE ")), "{received:?}");
    eprintln!("call A to B after {:?}", started.elapsed());

    // The way back: B's phone dials **99102, B sends 102 to A's registered contact.
    drop((alice, bob));
    let mut alice = Sipp::start("portal-two-alice-uas", Scenario::BuiltIn("uas"), A_PHONE_IP, 5060, None, 1, &[])?;
    alice.wait_listening().await?;
    let mut bob = Sipp::start("portal-two-bob-uac", Scenario::BuiltIn("uac"), B_PHONE_IP, 5060, Some(&format!("{B_IP}:5060")), 1, &["-s", "**99102"])?;
    if let Err(e) = bob.expect_success(Duration::from_secs(20)).await {
        anyhow::bail!("{e}\nA's phone received: {:?}\nA:\n{}\nB:\n{}", alice.received_requests(), asterisk_a.console_tail(), asterisk_b.console_tail());
    }
    alice.expect_success(Duration::from_secs(10)).await?;
    let received = alice.received_requests();
    assert!(received.iter().find(|r| !r.starts_with("OPTIONS ")).is_some_and(|r| r.starts_with(&format!("INVITE sip:102@{A_PHONE_IP}"))), "{received:?}");
    eprintln!("call B to A after {:?}", started.elapsed());
    let errors = browser.page_errors().await?;
    assert!(errors.is_empty(), "page errors: {errors:?}");
    browser.close().await?;
    Ok(())
}
