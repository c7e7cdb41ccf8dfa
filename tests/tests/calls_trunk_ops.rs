//! Trunk operations with real calls: one Asterisk driven by Patchbay, two
//! carriers (T1, T2) and the phones played by sipp.
//!
//! - Failover by SIP response: route [T1, T2]; T1 answers 503 → the call
//!   arrives on T2; T1 answers 486 → the caller gets 486 and T2 never sees
//!   an INVITE (the outcall's default failover policy).
//! - Drain: T1 in maintenance (`PUT …/trunks/{id}/maintenance`) → a new call
//!   goes to T2 at once, while a call that was up on T1 before the drain
//!   stays up until the phone hangs up.
//!
//! - The trunk page's operations in Chromium: drain and back (read back
//!   from Asterisk), an OPTIONS now, a test call showing its SIP code.
//!
//! - A registrar answering 403: the trunk's registration shows `Rejected`
//!   with 403 Forbidden, read from PJSIP's message history.
//!
//! - Change sets and rollback: three change sets, the middle one deleting
//!   the route; its rollback brings the route back (Asterisk's dialplan
//!   file read back equals the one before the deletion) and calls work again, the others stay, and the
//!   rollback is a change set of its own; one that would break a reference
//!   is refused.
//!
//! Loopback 127.0.5.1–.18, AMI ports 16400–16404.

use std::time::{Duration, Instant};

use patchbay_backend::ami::config_writer::get_config;
use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer, eventually};
use patchbay_e2e::browser::Browser;
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_e2e::sipp::pbx::{API, id, sipp_phone, uuid, wait_endpoints};
use patchbay_e2e::sipp::scenarios::{far_end_refusing, options_responder, phone_expecting, phone_holding_call, registrar_refusing};
use patchbay_e2e::sipp::{Scenario, Sipp};
use serde_json::{Value, json};

/// Where one test's parts listen.
struct Addresses {
    pbx: &'static str,
    t1: &'static str,
    t2: &'static str,
    phone: &'static str,
}

/// A carrier trunk: IP-authenticated PJSIP endpoint `name` at `ip:5060`.
/// Returns the trunk id.
async fn carrier(s: &PatchbayServer, t: &str, name: &str, ip: &str) -> anyhow::Result<i64> {
    let endpoint = s
        .expect(t, "POST", &format!("{API}/endpoints/sip"), Some(json!({
            "name": name, "label": format!("carrier {name}"),
            "endpoint_section_options": [["allow", "!all,ulaw"]],
            "aor_section_options": [["contact", format!("sip:{ip}:5060")]],
            "identify_section_options": [["match", ip]],
        })), 201)
        .await?;
    let trunk = s.expect(t, "POST", &format!("{API}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
    s.expect(t, "PUT", &format!("{API}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&endpoint)), None, 204).await?;
    Ok(id(&trunk))
}

/// Asterisk, Patchbay, trunks `carrier-a` (T1) and `carrier-b` (T2), the
/// outcall `_418.` over [T1, T2] with the default failover policy, and the
/// phone. Returns the trunk ids.
async fn two_carriers(name: &str, at: &Addresses, ami_port: u16) -> anyhow::Result<(AsteriskInstance, PatchbayServer, String, i64, i64, i64)> {
    let asterisk = AsteriskInstance::start(name, at.pbx, ami_port).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let t = server.admin_token().await?;
    let t1 = carrier(&server, &t, "carrier-a", at.t1).await?;
    let t2 = carrier(&server, &t, "carrier-b", at.t2).await?;
    let outcall = server.expect(&t, "POST", &format!("{API}/outcalls"), Some(json!({"name": "carriers"})), 201).await?;
    assert_eq!(outcall["failover_policy"]["stop_on"], json!(["486", "600", "603", "404"]), "{outcall}");
    server.expect(&t, "PUT", &format!("{API}/outcalls/{}/trunks", id(&outcall)), Some(json!({"trunks": [{"id": t1}, {"id": t2}]})), 204).await?;
    let pattern = server.expect(&t, "POST", &format!("{API}/extensions"), Some(json!({"exten": "_418.", "context": "to-extern"})), 201).await?;
    server.expect(&t, "PUT", &format!("{API}/outcalls/{}/extensions/{}", id(&outcall), id(&pattern)), None, 204).await?;
    sipp_phone(&server, &t, "desk-phone", "1001", at.phone, "desk").await?;
    wait_endpoints(&ami, &["carrier-a", "carrier-b", "desk-phone"]).await?;
    // The subroutine with the policy is in the dialplan.
    eventually("the outcall subroutine in Asterisk's dialplan", Duration::from_secs(15), || async {
        let lines = ami.command("dialplan show pb-outcall-1").await.ok()?;
        lines.iter().any(|l| l.contains("HangupCauseClear")).then_some(())
    })
    .await?;
    Ok((asterisk, server, t, id(&outcall), t1, t2))
}

fn invites(sipp: &Sipp) -> Vec<String> {
    sipp.received_requests().into_iter().filter(|r| r.starts_with("INVITE ")).collect()
}

/// Starts T1 (refusing with `t1_refuses`, or answering) and T2 (answering,
/// OPTIONS answered automatically), places one call from the phone running
/// `phone` to `number`, and returns both far ends once the phone succeeded.
async fn call_through(label: &str, at: &Addresses, asterisk: &AsteriskInstance, t1_refuses: Option<(u16, &str)>, phone: Scenario<'_>, number: &str) -> anyhow::Result<(Sipp, Sipp)> {
    let mut t1 = match t1_refuses {
        Some((code, reason)) => Sipp::start(&format!("{label}-t1"), Scenario::Xml(&far_end_refusing(code, reason)), at.t1, 5060, None, 1, &["-aa"])?,
        None => Sipp::start(&format!("{label}-t1"), Scenario::BuiltIn("uas"), at.t1, 5060, None, 1, &["-aa"])?,
    };
    let mut t2 = Sipp::start(&format!("{label}-t2"), Scenario::BuiltIn("uas"), at.t2, 5060, None, 1, &["-aa"])?;
    t1.wait_listening().await?;
    t2.wait_listening().await?;
    let pbx = format!("{}:5060", at.pbx);
    let mut phone = Sipp::start(&format!("{label}-phone"), phone, at.phone, 5060, Some(&pbx), 1, &["-s", number, "-aa"])?;
    if let Err(e) = phone.expect_success(Duration::from_secs(20)).await {
        anyhow::bail!("{e}\nT1: {:?}\nT2: {:?}\n{}", t1.received_requests(), t2.received_requests(), asterisk.console_tail());
    }
    Ok((t1, t2))
}

/// The caller has its answer: give a wrong failover the time it would need
/// to reach T2, then check that T2 saw no INVITE.
async fn assert_t2_untouched(t2: &Sipp, why: &str) {
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(invites(t2).is_empty(), "T2 must never see an INVITE after {why}: {:?}", t2.received_requests());
}

#[tokio::test]
async fn failover_follows_the_sip_response_of_each_trunk() -> anyhow::Result<()> {
    let at = Addresses { pbx: "127.0.5.1", t1: "127.0.5.2", t2: "127.0.5.3", phone: "127.0.5.4" };
    let started = Instant::now();
    let (asterisk, server, t, outcall, _, _) = two_carriers("trunk-failover", &at, 16400).await?;
    eprintln!("configured after {:?}", started.elapsed());

    // 503 from T1: a trunk problem, the call moves on to T2 and is answered.
    let (mut t1, mut t2) = call_through("503", &at, &asterisk, Some((503, "Service Unavailable")), Scenario::BuiltIn("uac"), "4185550100").await?;
    t1.expect_success(Duration::from_secs(10)).await?;
    t2.expect_success(Duration::from_secs(10)).await?;
    assert_eq!(invites(&t1).len(), 1, "{:?}", t1.received_requests());
    let on_t2 = invites(&t2);
    assert!(on_t2.len() == 1 && on_t2[0].starts_with(&format!("INVITE sip:4185550100@{}", at.t2)), "{on_t2:?}");
    drop((t1, t2));

    // 486 from T1: an answer about the callee, the caller gets busy and T2
    // is never tried.
    let (mut t1, t2) = call_through("486", &at, &asterisk, Some((486, "Busy Here")), Scenario::Xml(&phone_expecting(486)), "4185550101").await?;
    t1.expect_success(Duration::from_secs(10)).await?;
    assert_eq!(invites(&t1).len(), 1, "{:?}", t1.received_requests());
    assert_t2_untouched(&t2, "a 486").await;
    drop((t1, t2));

    // 404 from T1: Wazo's subroutine would have tried T2 (CHANUNAVAIL); the
    // default policy stops and the caller gets the 404.
    let (_t1, t2) = call_through("404", &at, &asterisk, Some((404, "Not Found")), Scenario::Xml(&phone_expecting(404)), "4185550102").await?;
    assert_t2_untouched(&t2, "a 404").await;
    drop((_t1, t2));

    // The policy is the outcall's: contradictions are refused, and a policy
    // that moves on after 486 makes the busy T1 fall through to T2.
    let path = format!("{API}/outcalls/{outcall}");
    let (status, errors) = server.call(&t, "PUT", &path, Some(json!({"failover_policy": {"next_trunk_on": ["486"], "stop_on": ["486", "5xx"]}}))).await?;
    assert_eq!(status, 400, "{errors}");
    assert!(errors.to_string().contains("failover_policy") && errors.to_string().contains("486"), "{errors}");
    let (status, errors) = server.call(&t, "PUT", &path, Some(json!({"failover_policy": {"stop_on": ["busy"]}}))).await?;
    assert_eq!(status, 400, "{errors}");
    // The 486 test's jump target changes (stop → trunk2). A live edit
    // writes jumps to labels as priority numbers, so compare the lines
    // rather than look for a label.
    let ami = asterisk.connect_ami().await?;
    let jumps_on_486 = |lines: Vec<String>| -> Vec<String> { lines.into_iter().filter(|l| l.contains("\"486\"]?")).map(|l| l.trim().to_owned()).collect() };
    let before = jumps_on_486(ami.command("dialplan show pb-outcall-1").await?);
    assert!(!before.is_empty(), "no 486 test in the dialplan");
    server.expect(&t, "PUT", &path, Some(json!({"failover_policy": {"next_trunk_on": ["486"], "stop_on": ["603"]}})), 204).await?;
    let read = server.expect(&t, "GET", &path, None, 200).await?;
    assert_eq!(read["failover_policy"], json!({"next_trunk_on": ["486"], "stop_on": ["603"], "otherwise": "next_trunk"}));
    eventually("the new policy in Asterisk's dialplan", Duration::from_secs(15), || async {
        let now = jumps_on_486(ami.command("dialplan show pb-outcall-1").await.ok()?);
        (!now.is_empty() && now != before).then_some(())
    })
    .await?;
    let (_t1, mut t2) = call_through("486-moves-on", &at, &asterisk, Some((486, "Busy Here")), Scenario::BuiltIn("uac"), "4185550103").await?;
    t2.expect_success(Duration::from_secs(10)).await?;
    assert_eq!(invites(&t2).len(), 1, "{:?}", t2.received_requests());
    eprintln!("done after {:?}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn a_drained_trunk_is_skipped_and_its_calls_in_progress_continue() -> anyhow::Result<()> {
    let at = Addresses { pbx: "127.0.5.5", t1: "127.0.5.6", t2: "127.0.5.7", phone: "127.0.5.8" };
    let (asterisk, server, t, _, t1_id, _) = two_carriers("trunk-drain", &at, 16401).await?;
    let pbx = format!("{}:5060", at.pbx);
    let maintenance = format!("/api/patchbay/1.0/trunks/{t1_id}/maintenance");
    let read = server.expect(&t, "GET", &maintenance, None, 200).await?;
    assert_eq!(read["maintenance"], false, "{read}");
    let (status, errors) = server.call(&t, "PUT", &maintenance, Some(json!({"maintenance": "yes"}))).await?;
    assert_eq!(status, 400, "{errors}");

    // A call up on T1, held by the phone for a while.
    let mut t1 = Sipp::start("drain-t1", Scenario::BuiltIn("uas"), at.t1, 5060, None, 1, &["-aa"])?;
    let mut t2 = Sipp::start("drain-t2", Scenario::BuiltIn("uas"), at.t2, 5060, None, 1, &["-aa"])?;
    t1.wait_listening().await?;
    t2.wait_listening().await?;
    let mut held = Sipp::start("drain-held", Scenario::Xml(&phone_holding_call(5000)), at.phone, 5060, Some(&pbx), 1, &["-s", "4185550200", "-aa"])?;
    eventually("the first call to be answered on T1", Duration::from_secs(10), || async {
        t1.messages().contains("SIP/2.0 200 OK").then_some(())
    })
    .await?;

    // Drain T1: Asterisk holds it in maintenance (read back).
    let drained = server.expect(&t, "PUT", &maintenance, Some(json!({"maintenance": true})), 200).await?;
    assert_eq!(drained["maintenance"], true, "{drained}");
    assert_eq!(drained["endpoint"], "carrier-a", "{drained}");
    eprintln!("drain took {} ms (set and read back)", drained["elapsed_ms"]);
    let read = server.expect(&t, "GET", &maintenance, None, 200).await?;
    assert_eq!(read["maintenance"], true, "{read}");

    // A new call goes to T2 at once; T1 sees no second INVITE.
    let mut second = Sipp::start("drain-second", Scenario::BuiltIn("uac"), at.phone, 5070, Some(&pbx), 1, &["-s", "4185550201", "-aa"])?;
    if let Err(e) = second.expect_success(Duration::from_secs(20)).await {
        anyhow::bail!("{e}\nT1: {:?}\nT2: {:?}\n{}", t1.received_requests(), t2.received_requests(), asterisk.console_tail());
    }
    t2.expect_success(Duration::from_secs(10)).await?;
    let on_t2 = invites(&t2);
    assert!(on_t2.len() == 1 && on_t2[0].starts_with(&format!("INVITE sip:4185550201@{}", at.t2)), "{on_t2:?}");

    // The call on T1 was still up when the phone hung up: its BYE got 200.
    if let Err(e) = held.expect_success(Duration::from_secs(15)).await {
        anyhow::bail!("the call in progress on T1 did not survive the drain: {e}\n{}", asterisk.console_tail());
    }
    t1.expect_success(Duration::from_secs(10)).await?;
    assert_eq!(invites(&t1).len(), 1, "{:?}", t1.received_requests());
    assert!(t1.received_requests().iter().any(|r| r.starts_with("BYE ")), "{:?}", t1.received_requests());

    // Back in service; the audit names both changes.
    let back = server.expect(&t, "PUT", &maintenance, Some(json!({"maintenance": false})), 200).await?;
    assert_eq!(back["maintenance"], false, "{back}");
    let audit = server.expect(&t, "GET", "/api/patchbay/1.0/audit", None, 200).await?.to_string();
    assert!(audit.contains("\"drain\"") && audit.contains("\"undrain\""), "{audit}");
    drop((t1, t2));

    // Test trunk: an OPTIONS now, and test calls with their SIP codes.
    let mut t1 = Sipp::start("test-t1", Scenario::Xml(&far_end_refusing(486, "Busy Here")), at.t1, 5060, None, 1, &["-aa"])?;
    let mut t2 = Sipp::start("test-t2", Scenario::BuiltIn("uas"), at.t2, 5060, None, 1, &["-aa"])?;
    t1.wait_listening().await?;
    t2.wait_listening().await?;
    let busy = server.expect(&t, "POST", &format!("/api/patchbay/1.0/trunks/{t1_id}/test-call"), Some(json!({"number": "4185550300"})), 200).await?;
    assert_eq!(busy["outcome"]["cause"]["sip_code"], 486, "{busy}");
    assert_eq!(busy["outcome"]["result"], "busy", "{busy}");
    assert!(invites(&t1).iter().any(|r| r.starts_with(&format!("INVITE sip:4185550300@{}", at.t1))), "{:?}", t1.received_requests());
    let t2_id = t1_id + 1;
    let answered = server.expect(&t, "POST", &format!("/api/patchbay/1.0/trunks/{t2_id}/test-call"), Some(json!({"number": "4185550301"})), 200).await?;
    assert_eq!(answered["outcome"]["result"], "answered", "{answered}");
    assert_eq!(answered["outcome"]["cause"]["sip_code"], 200, "{answered}");
    eprintln!("test calls: busy in {} ms, answered in {} ms", busy["outcome"]["elapsed_ms"], answered["outcome"]["elapsed_ms"]);
    let (status, errors) = server.call(&t, "POST", &format!("/api/patchbay/1.0/trunks/{t2_id}/test-call"), Some(json!({"number": "1&PJSIP/x"}))).await?;
    assert_eq!(status, 400, "{errors}");
    assert!(errors.to_string().contains("number"), "{errors}");
    drop((t1, t2));

    // An OPTIONS now. Without qualify_frequency Asterisk sends it but keeps
    // no answer, which the reply says; with it, the contact's status and
    // round trip come back.
    let mut t1 = Sipp::start("options-t1", Scenario::Xml(&options_responder()), at.t1, 5060, None, 50, &[])?;
    t1.wait_listening().await?;
    let qualify = format!("/api/patchbay/1.0/trunks/{t1_id}/qualify");
    let unqualified = server.expect(&t, "POST", &qualify, None, 200).await?;
    assert_eq!(unqualified["contacts"][0]["status"], "NonQualified", "{unqualified}");
    assert!(unqualified["note"].as_str().is_some_and(|n| n.contains("qualify_frequency")), "{unqualified}");
    assert!(t1.wait_request("OPTIONS ", Duration::from_secs(5)).await, "{:?}", t1.received_requests());
    let trunk = server.expect(&t, "GET", &format!("{API}/trunks/{t1_id}"), None, 200).await?;
    let endpoint = trunk["endpoint_sip"]["uuid"].as_str().unwrap_or_default().to_owned();
    server
        .expect(&t, "PUT", &format!("{API}/endpoints/sip/{endpoint}"), Some(json!({"aor_section_options": [["contact", format!("sip:{}:5060", at.t1)], ["qualify_frequency", "300"]]})), 204)
        .await?;
    let last = std::sync::Mutex::new(Value::Null);
    let qualified = eventually("the OPTIONS of a qualified trunk to be answered", Duration::from_secs(20), || async {
        let answer = server.expect(&t, "POST", &qualify, None, 200).await.ok()?;
        *last.lock().unwrap() = answer.clone();
        (answer["contacts"][0]["status"] == "Reachable" && answer["contacts"][0]["rtt_ms"].is_number()).then_some(answer)
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}: last answer {}\nT1: {:?}", last.lock().unwrap(), t1.received_requests()))?;
    eprintln!("qualify: {qualified}");
    Ok(())
}

#[tokio::test]
async fn the_trunk_page_drains_qualifies_and_test_calls() -> anyhow::Result<()> {
    let at = Addresses { pbx: "127.0.5.9", t1: "127.0.5.10", t2: "127.0.5.11", phone: "127.0.5.12" };
    let (_asterisk, server, t, _, t1_id, _) = two_carriers("trunk-page", &at, 16402).await?;
    let maintenance = format!("/api/patchbay/1.0/trunks/{t1_id}/maintenance");
    let browser = Browser::start().await?;
    browser.login(&server.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.click("header.topbar a[href='/trunks']").await?;
    browser.click("tr[data-trunk='carrier-a'] button.operate").await?;
    let panel = ".trunk-operations";
    browser.wait_text(&format!("{panel} .maintenance-state"), "In service.").await?;

    browser.click(&format!("{panel} button.drain")).await?;
    browser.wait_text(&format!("{panel} .maintenance-state"), "Drained: new calls are refused.").await?;
    assert_eq!(server.expect(&t, "GET", &maintenance, None, 200).await?["maintenance"], true, "Asterisk holds the drain");
    browser.click(&format!("{panel} button.drain")).await?;
    browser.wait_text(&format!("{panel} .maintenance-state"), "In service.").await?;
    assert_eq!(server.expect(&t, "GET", &maintenance, None, 200).await?["maintenance"], false);

    browser.click(&format!("{panel} button.qualify")).await?;
    let contacts = browser.text_of(&format!("{panel} .qualify-result li")).await?;
    assert!(contacts.starts_with(&format!("sip:{}:5060", at.t1)), "{contacts}");

    browser.click(&format!("{panel} button.registration-check")).await?;
    browser.wait_text(&format!("{panel} .registration-result li"), "This trunk does not register.").await?;

    // An empty number is refused next to the field; a typed one is called.
    browser.click(&format!("{panel} form.test-call button[type=submit]")).await?;
    let refused = browser.text_of(&format!("{panel} form.test-call .error")).await?;
    assert!(refused.contains("Type the number"), "{refused}");
    // Room for two calls: a late retransmission of the qualify step's OPTIONS
    // (sent while nothing listened here) may reach sipp first and count as one.
    let mut t1 = Sipp::start("page-t1", Scenario::Xml(&far_end_refusing(486, "Busy Here")), at.t1, 5060, None, 2, &["-aa"])?;
    t1.wait_listening().await?;
    browser.fill(&format!("{panel} form.test-call input"), "4185550400").await?;
    browser.click(&format!("{panel} form.test-call button[type=submit]")).await?;
    let result = match browser.text_of(&format!("{panel} .call-result")).await {
        Ok(result) => result,
        Err(e) => {
            let shot = browser.screenshot("trunk-operations-failed").await?;
            anyhow::bail!("{e}: panel shows {:?} ({})\nT1: {:?}", browser.text_of(panel).await?, shot.display(), t1.received_requests());
        }
    };
    assert!(result.starts_with("busy: SIP 486"), "{result}");
    assert!(invites(&t1).iter().any(|r| r.starts_with(&format!("INVITE sip:4185550400@{}", at.t1))), "{:?}", t1.received_requests());
    for (width, height, label) in [(1280, 900, "wide"), (390, 844, "phone")] {
        browser.client.set_window_size(width, height).await?;
        let shot = browser.screenshot(&format!("trunk-operations-{label}")).await?;
        eprintln!("screenshot: {}", shot.display());
    }

    // The route's failover policy, edited in the outcall form: a bad entry
    // is refused next to the policy, a good one is stored.
    browser.client.set_window_size(1280, 900).await?;
    browser.click("header.topbar a[href='/outcalls']").await?;
    browser.click("tr[data-outcall='carriers'] button.edit").await?;
    let stop_on = "form.new-outcall input[name=stop_on]";
    assert_eq!(browser.client.find(fantoccini::Locator::Css(stop_on)).await?.prop("value").await?.as_deref(), Some("486, 600, 603, 404"));
    browser.fill(stop_on, "486, 600, 603, 404, busy").await?;
    browser.click("form.new-outcall button[type=submit]").await?;
    let refused = browser.text_of("form.new-outcall .field-error[data-field=failover_policy]").await?;
    assert!(refused.contains("busy"), "{refused}");
    browser.fill(stop_on, "486, 600, 603, 404, 480").await?;
    browser.click("form.new-outcall button[type=submit]").await?;
    eventually("the policy stored", Duration::from_secs(10), || async {
        let outcall = server.expect(&t, "GET", &format!("{API}/outcalls/1"), None, 200).await.ok()?;
        (outcall["failover_policy"]["stop_on"] == json!(["486", "600", "603", "404", "480"])).then_some(())
    })
    .await?;
    let errors = browser.page_errors().await?;
    assert!(errors.is_empty(), "{errors:?}");
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_refused_registration_shows_the_registrars_code_and_reason() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.5.13";
    const REGISTRAR_IP: &str = "127.0.5.14";
    let asterisk = AsteriskInstance::start("trunk-registration", PBX_IP, 16403).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let t = server.admin_token().await?;
    let mut registrar = Sipp::start("registrar-403", Scenario::Xml(&registrar_refusing(403, "Forbidden")), REGISTRAR_IP, 5060, None, 100, &["-aa"])?;
    registrar.wait_listening().await?;
    let trunk = server.expect(&t, "POST", &format!("{API}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
    let sip = server
        .expect(&t, "POST", &format!("{API}/endpoints/sip"), Some(json!({"username": "acct", "secret": "pw", "type": "peer", "host": REGISTRAR_IP})), 201)
        .await?;
    server.expect(&t, "PUT", &format!("{API}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&sip)), None, 204).await?;
    let register = server
        .expect(&t, "POST", &format!("{API}/registers/sip"), Some(json!({"auth_username": "acct", "auth_password": "pw", "transport": "udp", "remote_host": REGISTRAR_IP})), 201)
        .await?;
    server.expect(&t, "PUT", &format!("{API}/trunks/{}/registers/sip/{}", id(&trunk), id(&register)), None, 204).await?;
    eventually("the registration in Asterisk", Duration::from_secs(15), || async {
        patchbay_e2e::sipp::pbx::registrations(&ami).await.iter().any(|(name, _)| name == "acct").then_some(())
    })
    .await?;

    let path = format!("/api/patchbay/1.0/trunks/{}/registration", id(&trunk));
    let shown = eventually("the registration to show the registrar's 403", Duration::from_secs(20), || async {
        let answer = server.expect(&t, "GET", &path, None, 200).await.ok()?;
        let first = answer["registrations"][0].clone();
        (first["last_code"] == 403 && first["status"] == "Rejected").then_some(answer)
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}\nregistrar: {:?}", registrar.received_requests()))?;
    eprintln!("registration: {shown}");
    let first = &shown["registrations"][0];
    assert_eq!(first["last_reason"], "Forbidden", "{shown}");
    assert_eq!(first["server_uri"], format!("sip:{REGISTRAR_IP}"), "{shown}");
    assert!(registrar.received_requests().iter().any(|r| r.starts_with("REGISTER ")), "{:?}", registrar.received_requests());
    Ok(())
}

/// The change sets whose first change is `action` on `kind`, newest first.
fn change_sets_with(list: &Value, action: &str, kind: &str) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default().into_iter().filter(|cs| cs["changes"][0]["action"] == action && cs["changes"][0]["kind"] == kind).collect()
}

#[tokio::test]
async fn a_rollback_brings_a_deleted_route_back_and_its_calls_work_again() -> anyhow::Result<()> {
    let at = Addresses { pbx: "127.0.5.15", t1: "127.0.5.16", t2: "127.0.5.17", phone: "127.0.5.18" };
    let (asterisk, server, t, outcall, t1_id, _) = two_carriers("trunk-rollback", &at, 16404).await?;
    let ami = asterisk.connect_ami().await?;
    let endpoint_of = |trunk: &Value| trunk["endpoint_sip"]["uuid"].as_str().unwrap_or_default().to_owned();
    let a = endpoint_of(&server.expect(&t, "GET", &format!("{API}/trunks/{t1_id}"), None, 200).await?);
    let b = endpoint_of(&server.expect(&t, "GET", &format!("{API}/trunks/{}", t1_id + 1), None, 200).await?);

    // Three change sets: a label, the route deleted by mistake, a label.
    server.expect(&t, "PUT", &format!("{API}/endpoints/sip/{b}"), Some(json!({"label": "carrier B, renamed"})), 204).await?;
    // Asterisk's dialplan file as it stands before the deletion (read back
    // once the change is applied and checked).
    let status = server.expect(&t, "GET", "/api/patchbay/1.0/status?wait_for=0&timeout=15000", None, 200).await?;
    server.expect(&t, "GET", &format!("/api/patchbay/1.0/status?wait_for={}&timeout=15000", status["revision"]), None, 200).await?;
    // The route's tenant's own dialplan file (`patchbay-extensions_<tenant>.conf`).
    let route = server.expect(&t, "GET", &format!("{API}/outcalls/{outcall}"), None, 200).await?;
    let dialplan_name = format!("patchbay-extensions_{}.conf", route["tenant_uuid"].as_str().unwrap_or_default());
    let dialplan_file = || async { get_config(&ami, &dialplan_name).await.ok() };
    let without_deletion = eventually("the dialplan file with the route", Duration::from_secs(15), || async {
        dialplan_file().await.filter(|sections| sections.iter().any(|s| s.name == "pb-outcall-1"))
    })
    .await?;
    server.expect(&t, "DELETE", &format!("{API}/outcalls/{outcall}"), None, 204).await?;
    eventually("the route gone from Asterisk's dialplan", Duration::from_secs(15), || async {
        let lines = ami.command("dialplan show pb-outcall-1").await.unwrap_or_default();
        (!lines.iter().any(|l| l.contains("HangupCauseClear"))).then_some(())
    })
    .await?;
    server.expect(&t, "PUT", &format!("{API}/endpoints/sip/{a}"), Some(json!({"label": "carrier A, renamed"})), 204).await?;
    let (_t1, t2) = call_through("rollback-no-route", &at, &asterisk, None, Scenario::Xml(&phone_expecting(404)), "4185550500").await?;
    assert_t2_untouched(&t2, "a call without a route").await;
    drop((_t1, t2));

    // Roll back the middle one.
    let list = server.expect(&t, "GET", "/api/patchbay/1.0/change-sets", None, 200).await?;
    let deleted = change_sets_with(&list, "delete", "outcall");
    assert_eq!(deleted.len(), 1, "{list}");
    let rollback = format!("/api/patchbay/1.0/change-sets/{}/rollback", deleted[0]["id"]);
    // What the deletion did to Asterisk's config: the route's lines removed.
    let diff = server.expect(&t, "GET", &format!("/api/patchbay/1.0/change-sets/{}/diff", deleted[0]["id"]), None, 200).await?;
    let removed: Vec<&str> = diff["config_diff"]["extensions.conf"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    assert!(removed.iter().any(|l| l.starts_with('-') && l.contains("pb-outcall-1")), "{diff}");
    assert!(!removed.iter().any(|l| l.starts_with('+')), "a deletion only removes: {diff}");
    // From the audit page's buttons: the config change, then the rollback.
    let browser = Browser::start().await?;
    browser.login(&server.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.click("header.topbar a[href='/audit']").await?;
    browser.click(&format!("button.show-diff[data-change-set='{}']", deleted[0]["id"])).await?;
    eventually("the audit page showing the change set's config change", Duration::from_secs(15), || async {
        browser.text_of(".config-diff pre.diff").await.ok().filter(|text| text.contains("-[pb-outcall-1]")).map(|_| ())
    })
    .await?;
    browser.click(&format!("button.rollback[data-change-set='{}']", deleted[0]["id"])).await?;
    browser.accept_confirm().await?;
    browser.wait_text(".rollback-result", "Rolled back: 1 object(s) restored.").await?;
    let errors = browser.page_errors().await?;
    assert!(errors.is_empty(), "{errors:?}");
    browser.close().await?;
    // Twice is a conflict: the route exists again.
    let (status, conflict) = server.call(&t, "POST", &rollback, None).await?;
    assert_eq!(status, 409, "{conflict}");

    // The route is back as it was; the other two change sets stay.
    let route = server.expect(&t, "GET", &format!("{API}/outcalls/{outcall}"), None, 200).await?;
    assert_eq!(route["name"], "carriers", "{route}");
    assert_eq!(route["trunks"].as_array().map(Vec::len), Some(2), "{route}");
    assert_eq!(server.expect(&t, "GET", &format!("{API}/endpoints/sip/{a}"), None, 200).await?["label"], "carrier A, renamed");
    assert_eq!(server.expect(&t, "GET", &format!("{API}/endpoints/sip/{b}"), None, 200).await?["label"], "carrier B, renamed");
    let list = server.expect(&t, "GET", "/api/patchbay/1.0/change-sets", None, 200).await?;
    assert_eq!(list["items"][0]["changes"][0]["action"], "rollback", "the rollback is a change set of its own: {list}");
    assert_eq!(list["items"][0]["changes"][0]["kind"], "outcall", "{list}");
    assert_eq!(list["items"][0]["changes"].as_array().map(Vec::len), Some(1), "{list}");

    // Asterisk holds the route again (read back): its dialplan file is the
    // one from before the deletion, section for section and line for line
    // (the labels of the other two change sets are not in it), and the
    // live dialplan runs it; a call goes through T1.
    let last = std::sync::Mutex::new(Vec::new());
    let back = eventually("Asterisk's dialplan file equal to the one without the deletion", Duration::from_secs(20), || async {
        let now = dialplan_file().await?;
        let same = now == without_deletion;
        *last.lock().unwrap() = now;
        same.then_some(())
    })
    .await;
    if let Err(e) = back {
        let now: Vec<String> = last.lock().unwrap().iter().map(|s| s.name.clone()).collect();
        let before: Vec<String> = without_deletion.iter().map(|s| s.name.clone()).collect();
        anyhow::bail!("{e}: sections now {now:?}, before {before:?}");
    }
    eventually("the route back in Asterisk's dialplan", Duration::from_secs(15), || async {
        let lines = ami.command("dialplan show pb-outcall-1").await.ok()?;
        lines.iter().any(|l| l.contains("HangupCauseClear")).then_some(())
    })
    .await?;
    let (mut t1, t2) = call_through("rollback-route-back", &at, &asterisk, None, Scenario::BuiltIn("uac"), "4185550501").await?;
    t1.expect_success(Duration::from_secs(10)).await?;
    assert_eq!(invites(&t1).len(), 1, "{:?}", t1.received_requests());
    assert_t2_untouched(&t2, "a call answered on T1").await;

    // Rolling back the creation of the route's pattern would leave the
    // route pointing at nothing: refused, and nothing changes.
    let created: Vec<Value> = change_sets_with(&list, "create", "extension").into_iter().filter(|cs| cs["changes"][0]["after"]["exten"] == "_418.").collect();
    assert_eq!(created.len(), 1, "{list}");
    let (status, refused) = server.call(&t, "POST", &format!("/api/patchbay/1.0/change-sets/{}/rollback", created[0]["id"]), None).await?;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.to_string().contains("would break a reference"), "{refused}");
    let extensions = server.expect(&t, "GET", &format!("{API}/extensions"), None, 200).await?;
    assert!(extensions.to_string().contains("_418."), "{extensions}");
    Ok(())
}
