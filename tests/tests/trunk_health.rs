//! Trunk health against the real Asterisk, with sipp as the far end:
//!
//! - An OPTIONS responder that stops answering: the trunk goes "down" after
//!   N missed OPTIONS (not before), and "up" again after M answered, with
//!   the round trip shown.
//! - A registrar answering 403: the trunk's health shows `Rejected — 403
//!   Forbidden` and the transition in its history, which survives a
//!   Patchbay restart.
//! - The trunks page in Chromium sees the state change without a reload,
//!   and the trunk's timeline draws it.
//!
//! - Two registrations on one registrar, one refused and one accepted:
//!   each trunk shows its own answer (matched by Call-ID and CSeq), and
//!   once Patchbay has read enough of PJSIP's history it clears it in
//!   Asterisk without losing an answer.
//! - Trunks that are not probed: a SIP trunk whose AOR has qualify off
//!   gets no OPTIONS; a disabled custom trunk is not watched.
//! - Changing a trunk's thresholds is audited as a change set and can be
//!   rolled back.
//!
//! Loopback 127.0.5.20–.34, AMI ports 16410–16413.

use std::time::{Duration, Instant};

use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_e2e::browser::Browser;
use patchbay_e2e::sipp::pbx::{API, id, uuid, wait_endpoints};
use patchbay_e2e::sipp::scenarios::{options_responder, registrar_accepting_only, registrar_refusing};
use patchbay_e2e::sipp::{Scenario, Sipp};
use serde_json::{Value, json};

/// A carrier trunk `name` at `ip:5060` whose AOR is qualified (Asterisk
/// keeps OPTIONS answers only then). Returns the trunk id.
async fn qualified_carrier(s: &PatchbayServer, t: &str, name: &str, ip: &str) -> anyhow::Result<i64> {
    carrier(s, t, name, ip, "300").await
}

/// A carrier trunk `name` at `ip:5060` with the AOR's `qualify_frequency`.
async fn carrier(s: &PatchbayServer, t: &str, name: &str, ip: &str, qualify_frequency: &str) -> anyhow::Result<i64> {
    let endpoint = s
        .expect(t, "POST", &format!("{API}/endpoints/sip"), Some(json!({
            "name": name, "label": format!("carrier {name}"),
            "endpoint_section_options": [["allow", "!all,ulaw"]],
            "aor_section_options": [["contact", format!("sip:{ip}:5060")], ["qualify_frequency", qualify_frequency]],
            "identify_section_options": [["match", ip]],
        })), 201)
        .await?;
    let trunk = s.expect(t, "POST", &format!("{API}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
    s.expect(t, "PUT", &format!("{API}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&endpoint)), None, 204).await?;
    Ok(id(&trunk))
}

fn samples(health: &Value) -> Vec<(u64, Option<f64>)> {
    health["samples"].as_array().cloned().unwrap_or_default().iter().map(|s| (s["at_ms"].as_u64().unwrap_or(0), s["rtt_ms"].as_f64())).collect()
}

/// The reachability transitions `(at_ms, to)`.
fn changes(health: &Value) -> Vec<(u64, String)> {
    health["history"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|t| t["kind"] == "reachability")
        .map(|t| (t["at_ms"].as_u64().unwrap_or(0), t["to"].as_str().unwrap_or("").to_owned()))
        .collect()
}

/// Answered/missed outcomes in a row that end at `at_ms` (inclusive).
fn run_before(samples: &[(u64, Option<f64>)], at_ms: u64, answered: bool) -> usize {
    samples.iter().rev().skip_while(|s| s.0 > at_ms).take_while(|s| s.1.is_some() == answered).count()
}

#[tokio::test]
async fn a_silent_trunk_goes_down_after_n_misses_and_up_after_m_answers() -> anyhow::Result<()> {
    const PBX: &str = "127.0.5.20";
    const FAR: &str = "127.0.5.21";
    const QUIET: &str = "127.0.5.29";
    let asterisk = AsteriskInstance::start("health-options", PBX, 16410).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let t = server.admin_token().await?;
    let mut far = Sipp::start("health-far", Scenario::Xml(&options_responder()), FAR, 5060, None, 5000, &[])?;
    far.wait_listening().await?;
    let trunk = qualified_carrier(&server, &t, "carrier-a", FAR).await?;
    wait_endpoints(&ami, &["carrier-a"]).await?;
    let path = format!("/api/patchbay/1.0/trunks/{trunk}/health");
    let (status, errors) = server.call(&t, "PUT", &path, Some(json!({"down_after_misses": 0}))).await?;
    assert_eq!(status, 400, "{errors}");
    assert!(errors.to_string().contains("down_after_misses"), "{errors}");
    let policy = server.expect(&t, "PUT", &path, Some(json!({"down_after_misses": 3, "up_after_answers": 2, "probe_every_s": 1})), 200).await?;
    assert_eq!(policy["policy"]["probe_every_ms"], 1000, "{policy}");

    // Beside it, trunks that must never be probed: a SIP trunk whose AOR
    // has qualify off (qualify_frequency 0), with an OPTIONS asked every
    // second, and a disabled custom trunk.
    let mut quiet = Sipp::start("health-quiet", Scenario::Xml(&options_responder()), QUIET, 5060, None, 5000, &[])?;
    quiet.wait_listening().await?;
    let unqualified = carrier(&server, &t, "carrier-quiet", QUIET, "0").await?;
    wait_endpoints(&ami, &["carrier-quiet"]).await?;
    server.expect(&t, "PUT", &format!("/api/patchbay/1.0/trunks/{unqualified}/health"), Some(json!({"probe_every_s": 1})), 200).await?;
    let custom = server.expect(&t, "POST", &format!("{API}/endpoints/custom"), Some(json!({"interface": "PJSIP/carrier-quiet", "enabled": false})), 201).await?;
    let custom_trunk = server.expect(&t, "POST", &format!("{API}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
    server.expect(&t, "PUT", &format!("{API}/trunks/{}/endpoints/custom/{}", id(&custom_trunk), id(&custom)), None, 204).await?;

    let up = eventually("the trunk up with a round trip", Duration::from_secs(20), || async {
        let h = server.expect(&t, "GET", &path, None, 200).await.ok()?;
        (h["reachability"] == "up" && h["last_rtt_ms"].is_number()).then_some(h)
    })
    .await;
    let up = match up {
        Ok(up) => up,
        Err(e) => {
            let h = server.expect(&t, "GET", &path, None, 200).await?;
            let mut contacts = ami.command("pjsip show contacts").await.unwrap_or_default();
            contacts.extend(ami.command("pjsip show aor carrier-a").await.unwrap_or_default());
            anyhow::bail!("{e}\nhealth: {h}\ncontacts: {contacts:?}\nfar end: {:?}\n{}", far.received_requests(), asterisk.console_tail());
        }
    };
    eprintln!("up, round trip {} ms", up["last_rtt_ms"]);

    // The far end stops answering.
    drop(far);
    let silent_at = Instant::now();
    let seen_up_with_misses = std::sync::atomic::AtomicBool::new(false);
    let down = eventually("the trunk down", Duration::from_secs(30), || async {
        let h = server.expect(&t, "GET", &path, None, 200).await.ok()?;
        let s = samples(&h);
        let trailing_misses = s.iter().rev().take_while(|x| x.1.is_none()).count();
        if h["reachability"] == "up" && (1..3).contains(&trailing_misses) {
            seen_up_with_misses.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        (h["reachability"] == "down").then_some(h)
    })
    .await?;
    eprintln!("down {:?} after the far end went silent", silent_at.elapsed());
    let s = samples(&down);
    let (down_at, to) = changes(&down).last().cloned().expect("a transition");
    assert_eq!(to, "down");
    assert_eq!(run_before(&s, down_at, false), 3, "down at the third missed OPTIONS, not before: {s:?}");
    assert!(seen_up_with_misses.into_inner(), "one or two misses left the trunk up");

    // Over all that time (dozens of one-second intervals), the trunk with
    // qualify off got no OPTIONS and stays unknown; the disabled custom
    // trunk is not watched at all.
    assert!(!quiet.received_requests().iter().any(|r| r.starts_with("OPTIONS ")), "OPTIONS sent to a trunk with qualify off: {:?}", quiet.received_requests());
    let h = server.expect(&t, "GET", &format!("/api/patchbay/1.0/trunks/{unqualified}/health"), None, 200).await?;
    assert_eq!(h["reachability"], "unknown", "{h}");
    assert!(h["samples"].as_array().is_some_and(Vec::is_empty), "{h}");
    let live = server.expect(&t, "GET", "/api/patchbay/1.0/live", None, 200).await?;
    let watched: Vec<&String> = live["health"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
    assert_eq!(watched, ["carrier-a", "carrier-quiet"], "only SIP trunks are watched: {live}");
    let (status, refused) = server.call(&t, "GET", &format!("/api/patchbay/1.0/trunks/{}/health", id(&custom_trunk)), None).await?;
    assert_eq!(status, 400, "a custom trunk has no health: {refused}");
    drop(quiet);

    // Answering again: up at the second answer.
    let mut far = Sipp::start("health-far-again", Scenario::Xml(&options_responder()), FAR, 5060, None, 5000, &[])?;
    far.wait_listening().await?;
    let back = eventually("the trunk up again", Duration::from_secs(30), || async {
        let h = server.expect(&t, "GET", &path, None, 200).await.ok()?;
        (h["reachability"] == "up").then_some(h)
    })
    .await?;
    let s = samples(&back);
    let (up_at, to) = changes(&back).last().cloned().expect("a transition");
    assert_eq!(to, "up");
    assert_eq!(run_before(&s, up_at, true), 2, "up at the second answered OPTIONS: {s:?}");
    assert!(back["last_rtt_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{back}");
    let kinds: Vec<String> = changes(&back).into_iter().map(|c| c.1).collect();
    assert_eq!(kinds, ["up", "down", "up"], "{back}");
    Ok(())
}

#[tokio::test]
async fn a_refused_registration_shows_403_in_the_history_across_a_restart() -> anyhow::Result<()> {
    const PBX: &str = "127.0.5.22";
    const REGISTRAR: &str = "127.0.5.23";
    let asterisk = AsteriskInstance::start("health-register", PBX, 16411).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let t = server.admin_token().await?;
    let mut registrar = Sipp::start("health-registrar", Scenario::Xml(&registrar_refusing(403, "Forbidden")), REGISTRAR, 5060, None, 100, &["-aa"])?;
    registrar.wait_listening().await?;
    let trunk = server.expect(&t, "POST", &format!("{API}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
    let sip = server
        .expect(&t, "POST", &format!("{API}/endpoints/sip"), Some(json!({"username": "acct", "secret": "pw", "type": "peer", "host": REGISTRAR})), 201)
        .await?;
    server.expect(&t, "PUT", &format!("{API}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&sip)), None, 204).await?;
    let register = server
        .expect(&t, "POST", &format!("{API}/registers/sip"), Some(json!({"auth_username": "acct", "auth_password": "pw", "transport": "udp", "remote_host": REGISTRAR})), 201)
        .await?;
    let started = Instant::now();
    server.expect(&t, "PUT", &format!("{API}/trunks/{}/registers/sip/{}", id(&trunk), id(&register)), None, 204).await?;

    let path = format!("/api/patchbay/1.0/trunks/{}/health", id(&trunk));
    let shown = eventually("the health to show the registrar's 403", Duration::from_secs(30), || async {
        let h = server.expect(&t, "GET", &path, None, 200).await.ok()?;
        (h["registration"]["code"] == 403).then_some(h)
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}\nregistrar: {:?}", registrar.received_requests()))?;
    eprintln!("registration failure shown by the API {:?} after the registration was attached (config applied, REGISTER sent, 403, shown)", started.elapsed());
    assert_eq!(shown["registration"]["status"], "Rejected", "{shown}");
    assert_eq!(shown["registration"]["reason"], "Forbidden", "{shown}");
    let refused: Vec<Value> = shown["history"].as_array().cloned().unwrap_or_default().into_iter().filter(|t| t["kind"] == "registration" && t["to"]["code"] == 403).collect();
    assert_eq!(refused.len(), 1, "{shown}");
    assert!(registrar.received_requests().iter().any(|r| r.starts_with("REGISTER ")), "{:?}", registrar.received_requests());

    // Patchbay restarts (killed, as a crash): the history is still there,
    // the same transition at the same time.
    let dir = server.kill();
    let db = dir.0.join("patchbay.db");
    let server = PatchbayServer::start_on(dir, db, Some(&asterisk.ami_url())).await?;
    let t = server.admin_token().await?;
    let after = server.expect(&t, "GET", &path, None, 200).await?;
    let kept: Vec<Value> = after["history"].as_array().cloned().unwrap_or_default().into_iter().filter(|t| t["kind"] == "registration" && t["to"]["code"] == 403).collect();
    assert_eq!(kept, refused, "{after}");
    assert_eq!(after["registration"]["code"], 403, "{after}");
    assert_eq!(after["registration"]["reason"], "Forbidden", "{after}");
    Ok(())
}

#[tokio::test]
async fn the_trunks_page_follows_the_health_without_a_reload() -> anyhow::Result<()> {
    const PBX: &str = "127.0.5.24";
    const FAR: &str = "127.0.5.25";
    const REGISTRAR: &str = "127.0.5.26";
    let asterisk = AsteriskInstance::start("health-page", PBX, 16412).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let t = server.admin_token().await?;
    let trunk = qualified_carrier(&server, &t, "carrier-a", FAR).await?;
    wait_endpoints(&ami, &["carrier-a"]).await?;
    server
        .expect(&t, "PUT", &format!("/api/patchbay/1.0/trunks/{trunk}/health"), Some(json!({"down_after_misses": 1, "up_after_answers": 1, "probe_every_s": 1})), 200)
        .await?;

    let browser = Browser::start().await?;
    browser.login(&server.base_url, "admin", ADMIN_PASSWORD).await?;
    browser.click("header.topbar a[href='/trunks']").await?;
    // Nothing answers: down.
    let cell = "tr[data-trunk='carrier-a'] td.health";
    browser.text_of(&format!("{cell} [data-health='down']")).await?;
    browser.click("tr[data-trunk='carrier-a'] button.operate").await?;
    browser.text_of(".trunk-health svg.health-timeline rect[data-state='down']").await?;

    // The far end starts answering: the same page shows it up, with the
    // round trip, pushed over the event stream.
    let mut far = Sipp::start("health-page-far", Scenario::Xml(&options_responder()), FAR, 5060, None, 5000, &[])?;
    far.wait_listening().await?;
    let shown = Instant::now();
    let text = eventually("the list to show the trunk up", Duration::from_secs(20), || async {
        let text = browser.client.find(fantoccini::Locator::Css(&format!("{cell} [data-health='up']"))).await.ok()?.text().await.ok()?;
        Some(text)
    })
    .await?;
    eprintln!("page showed up {:?} after the far end answered: {text}", shown.elapsed());
    assert!(text.starts_with("up, ") && text.ends_with(" ms"), "{text}");
    browser.text_of(".trunk-health svg.health-timeline rect[data-state='up']").await?;
    browser.text_of(".trunk-health svg.health-timeline polyline.rtt").await?;
    let history = browser.text_of(".trunk-health .health-history").await?;
    assert!(history.contains("down → up"), "{history}");
    let shot = browser.screenshot("trunk-health").await?;
    eprintln!("screenshot: {}", shot.display());

    // A registration failure, on the open page: the list shows the
    // registrar's 403 and reason, pushed over the event stream. Timed from
    // the registrar's answer (its first REGISTER, answered at once) and
    // from the API call that attached the registration.
    let mut registrar = Sipp::start("health-page-registrar", Scenario::Xml(&registrar_refusing(403, "Forbidden")), REGISTRAR, 5060, None, 100, &["-aa"])?;
    registrar.wait_listening().await?;
    let refused = trunk_for(&server, &t, "acct", REGISTRAR).await?;
    let name = server.expect(&t, "GET", &format!("{API}/trunks/{refused}"), None, 200).await?["endpoint_sip"]["name"].as_str().unwrap_or_default().to_owned();
    wait_endpoints(&ami, &[name.as_str()]).await?;
    // Away and back: the list is read again with the new trunk.
    browser.click("header.topbar a[href='/audit']").await?;
    browser.click("header.topbar a[href='/trunks']").await?;
    let cell = format!("tr[data-trunk='{name}'] td.health");
    browser.text_of(&cell).await?;
    let attached = Instant::now();
    attach_registration(&server, &t, refused, "acct", REGISTRAR).await?;
    let mut answered: Option<Instant> = None;
    let shown = loop {
        if answered.is_none() && registrar.received_requests().iter().any(|r| r.starts_with("REGISTER ")) {
            answered = Some(Instant::now());
        }
        let text = match browser.client.find(fantoccini::Locator::Css(&cell)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains("403") {
            break text;
        }
        anyhow::ensure!(attached.elapsed() < Duration::from_secs(30), "the page never showed the 403: {text:?}; registrar: {:?}", registrar.received_requests());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let now = Instant::now();
    let since_answer = answered.map(|at| now - at);
    eprintln!("FIGURE registration failure shown on the page {since_answer:?} after the registrar's 403 ({:?} after the API call attaching it)", now - attached);
    assert!(shown.contains("Rejected — 403 Forbidden"), "{shown}");

    // The thresholds set above are in the audit, as a change set of their
    // own, on the audit page; rolling it back restores the defaults.
    browser.click("header.topbar a[href='/audit']").await?;
    let audit = eventually("the thresholds' change on the audit page", Duration::from_secs(10), || async {
        let text = browser.text_of("table.audit-log").await.ok()?;
        text.contains("health_policy trunk").then_some(text)
    })
    .await?;
    assert!(audit.contains("down_after_misses") && audit.contains("probe_every_s"), "{audit}");
    let list = server.expect(&t, "GET", "/api/patchbay/1.0/change-sets", None, 200).await?;
    let changed: Vec<Value> = list["items"].as_array().cloned().unwrap_or_default().into_iter().filter(|cs| cs["changes"][0]["action"] == "health_policy").collect();
    assert_eq!(changed.len(), 1, "{list}");
    assert_eq!(changed[0]["changes"][0]["before"]["down_after_misses"], 3, "{list}");
    assert_eq!(changed[0]["changes"][0]["after"]["down_after_misses"], 1, "{list}");
    server.expect(&t, "POST", &format!("/api/patchbay/1.0/change-sets/{}/rollback", changed[0]["id"]), None, 200).await?;
    // The health task takes the restored thresholds at once (told, not polled).
    let restored = Instant::now();
    eventually("the default thresholds back in force", Duration::from_secs(5), || async {
        let policy = server.expect(&t, "GET", &format!("/api/patchbay/1.0/trunks/{trunk}/health"), None, 200).await.ok()?["policy"].clone();
        ((&policy["down_after_misses"], &policy["up_after_answers"], &policy["probe_every_ms"]) == (&json!(3), &json!(2), &json!(30_000))).then_some(())
    })
    .await?;
    eprintln!("thresholds restored in force {:?} after the rollback", restored.elapsed());
    let list = server.expect(&t, "GET", "/api/patchbay/1.0/change-sets", None, 200).await?;
    assert_eq!(list["items"][0]["changes"][0]["action"], "rollback_health_policy", "{list}");
    let (status, conflict) = server.call(&t, "POST", &format!("/api/patchbay/1.0/change-sets/{}/rollback", changed[0]["id"]), None).await?;
    assert_eq!(status, 409, "{conflict}");

    let errors = browser.page_errors().await?;
    assert!(errors.is_empty(), "{errors:?}");
    browser.close().await?;
    drop(far);
    Ok(())
}

/// A trunk registering as `user` at `registrar` (legacy shapes, as seed
/// 001). Returns the trunk id.
async fn registering_trunk(s: &PatchbayServer, t: &str, user: &str, registrar: &str) -> anyhow::Result<i64> {
    let trunk = trunk_for(s, t, user, registrar).await?;
    attach_registration(s, t, trunk, user, registrar).await?;
    Ok(trunk)
}

/// A trunk with the SIP endpoint of `user` at `registrar`, not registering yet.
async fn trunk_for(s: &PatchbayServer, t: &str, user: &str, registrar: &str) -> anyhow::Result<i64> {
    let trunk = s.expect(t, "POST", &format!("{API}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
    let sip = s.expect(t, "POST", &format!("{API}/endpoints/sip"), Some(json!({"username": user, "secret": "pw", "type": "peer", "host": registrar})), 201).await?;
    s.expect(t, "PUT", &format!("{API}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&sip)), None, 204).await?;
    Ok(id(&trunk))
}

/// Makes `trunk` register as `user` at `registrar`.
async fn attach_registration(s: &PatchbayServer, t: &str, trunk: i64, user: &str, registrar: &str) -> anyhow::Result<()> {
    let register = s
        .expect(t, "POST", &format!("{API}/registers/sip"), Some(json!({"auth_username": user, "auth_password": "pw", "transport": "udp", "remote_host": registrar})), 201)
        .await?;
    s.expect(t, "PUT", &format!("{API}/trunks/{trunk}/registers/sip/{}", id(&register)), None, 204).await?;
    Ok(())
}

/// The entry numbers `pjsip show history` lists.
async fn history_numbers(ami: &patchbay_backend::ami::AmiClient) -> Vec<u32> {
    ami.command("pjsip show history").await.unwrap_or_default().iter().filter_map(|l| l.split_whitespace().next()?.parse().ok()).collect()
}

#[tokio::test]
async fn two_registrations_on_one_registrar_get_their_own_answers_and_the_history_is_cleared() -> anyhow::Result<()> {
    const PBX: &str = "127.0.5.30";
    const REGISTRAR: &str = "127.0.5.31";
    const FAR: &str = "127.0.5.32";
    let asterisk = AsteriskInstance::start("health-two-registrations", PBX, 16413).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let t = server.admin_token().await?;
    let mut registrar = Sipp::start("health-registrar-two", Scenario::Xml(&registrar_accepting_only("good")), REGISTRAR, 5060, None, 1000, &["-aa"])?;
    registrar.wait_listening().await?;
    let refused = registering_trunk(&server, &t, "bad", REGISTRAR).await?;
    let accepted = registering_trunk(&server, &t, "good", REGISTRAR).await?;
    let registration = |trunk: i64| format!("/api/patchbay/1.0/trunks/{trunk}/registration");
    let health = |trunk: i64| format!("/api/patchbay/1.0/trunks/{trunk}/health");

    // Each trunk shows its own registrar answer, by the health task and by
    // the registration check, though both REGISTERs went to one address.
    let shown = eventually("each trunk's own answer in its health", Duration::from_secs(30), || async {
        let bad = server.expect(&t, "GET", &health(refused), None, 200).await.ok()?;
        let good = server.expect(&t, "GET", &health(accepted), None, 200).await.ok()?;
        (bad["registration"]["code"] == 403 && good["registration"]["code"] == 200).then_some((bad, good))
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}\nregistrar: {:?}", registrar.received_requests()))?;
    assert_eq!(shown.0["registration"]["status"], "Rejected", "{}", shown.0);
    assert_eq!(shown.0["registration"]["reason"], "Forbidden", "{}", shown.0);
    assert_eq!(shown.1["registration"]["status"], "Registered", "{}", shown.1);
    assert_eq!(shown.1["registration"]["reason"], "OK", "{}", shown.1);
    let bad = server.expect(&t, "GET", &registration(refused), None, 200).await?;
    assert_eq!((&bad["registrations"][0]["last_code"], &bad["registrations"][0]["status"]), (&json!(403), &json!("Rejected")), "{bad}");
    let good = server.expect(&t, "GET", &registration(accepted), None, 200).await?;
    assert_eq!((&good["registrations"][0]["last_code"], &good["registrations"][0]["status"]), (&json!(200), &json!("Registered")), "{good}");
    // The answers name their REGISTER: not the same Call-ID.
    assert_ne!(bad["registrations"][0]["answers"][0]["call_id"], good["registrations"][0]["answers"][0]["call_id"], "{bad}\n{good}");
    let registers = registrar.received_requests().iter().filter(|r| r.starts_with("REGISTER ")).count();

    // SIP traffic fills PJSIP's history (OPTIONS to a far end, asked by
    // this test over its own AMI connection), then a reader reads it:
    // Patchbay clears Asterisk's copy once it has read enough.
    let mut far = Sipp::start("health-history-far", Scenario::Xml(&options_responder()), FAR, 5060, None, 5000, &[])?;
    far.wait_listening().await?;
    let _ = qualified_carrier(&server, &t, "carrier-far", FAR).await?;
    wait_endpoints(&ami, &["carrier-far"]).await?;
    eventually("PJSIP's history to pass 64 entries", Duration::from_secs(30), || async {
        for _ in 0..5 {
            let _ = ami.send("PJSIPQualify", patchbay_backend::ami::AmiMessage::new().with("Endpoint", "carrier-far")).await;
        }
        let numbers = history_numbers(&ami).await;
        (numbers.len() > 70).then_some(())
    })
    .await?;
    let before_clear = history_numbers(&ami).await.len();
    let again = server.expect(&t, "GET", &registration(refused), None, 200).await?;
    let after_clear = history_numbers(&ami).await;
    eprintln!("PJSIP history: {before_clear} entries before the read, {} after", after_clear.len());
    assert!(after_clear.len() < 20 && after_clear.iter().all(|n| *n < 20), "Asterisk's history was not cleared: {after_clear:?}");
    // Nothing was lost: both answers are still known, with no new REGISTER.
    assert_eq!(again["registrations"][0]["last_code"], 403, "{again}");
    let good = server.expect(&t, "GET", &registration(accepted), None, 200).await?;
    assert_eq!(good["registrations"][0]["last_code"], 200, "{good}");
    let bad = server.expect(&t, "GET", &health(refused), None, 200).await?;
    assert_eq!(bad["registration"]["code"], 403, "{bad}");
    assert_eq!(registrar.received_requests().iter().filter(|r| r.starts_with("REGISTER ")).count(), registers, "no REGISTER was needed again: {:?}", registrar.received_requests());
    drop(far);
    Ok(())
}
