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
//! Loopback 127.0.5.20–.29, AMI ports 16410–16412.

use std::time::{Duration, Instant};

use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_e2e::browser::Browser;
use patchbay_e2e::sipp::pbx::{API, id, uuid, wait_endpoints};
use patchbay_e2e::sipp::scenarios::{options_responder, registrar_refusing};
use patchbay_e2e::sipp::{Scenario, Sipp};
use serde_json::{Value, json};

/// A carrier trunk `name` at `ip:5060` whose AOR is qualified (Asterisk
/// keeps OPTIONS answers only then). Returns the trunk id.
async fn qualified_carrier(s: &PatchbayServer, t: &str, name: &str, ip: &str) -> anyhow::Result<i64> {
    let endpoint = s
        .expect(t, "POST", &format!("{API}/endpoints/sip"), Some(json!({
            "name": name, "label": format!("carrier {name}"),
            "endpoint_section_options": [["allow", "!all,ulaw"]],
            "aor_section_options": [["contact", format!("sip:{ip}:5060")], ["qualify_frequency", "300"]],
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
    let errors = browser.page_errors().await?;
    assert!(errors.is_empty(), "{errors:?}");
    browser.close().await?;
    drop(far);
    Ok(())
}
