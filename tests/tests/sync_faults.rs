//! The sync task against a real Asterisk when things go wrong: Asterisk
//! killed and replaced by a fresh one, a wrong AMI password, a configuration
//! Asterisk refuses, a Patchbay restart with a change still pending, an
//! Asterisk restart (transports and registrations), a value changed on the
//! way back.
//!
//! AMI ports 15150–15169 and SIP addresses 127.0.0.50–69 are this file's.

mod sync_support;

use patchbay_backend::ami::config_writer::get_config;
use patchbay_backend::ami::{AmiClient, AmiMessage};
use patchbay_e2e::app::{PatchbayServer, TempDir, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use sync_support::{has_endpoint, sip_trunk, status};

/// A SIP trunk `name` to `host` through the API; returns the endpoint.
async fn create_trunk(server: &PatchbayServer, token: &str, name: &str, host: &str, endpoint_options: Value) -> anyhow::Result<Value> {
    Ok(sip_trunk(server, token, name, host, endpoint_options, Some("from-extern")).await?.0)
}

fn is_alive(pid: u32) -> bool {
    // A zombie has exited: state `Z` in /proc/PID/stat.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_asterisk_gets_the_configuration_back_within_5_s() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("sync-kill", "127.0.0.50", 15150).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let token = server.admin_token().await?;
    create_trunk(&server, &token, "trunk-kill", "127.0.0.60", json!([])).await?;
    let ami = asterisk.connect_ami().await?;
    eventually("trunk-kill in Asterisk", Duration::from_secs(15), || async { has_endpoint(&ami, "trunk-kill").await.then_some(()) }).await?;

    // A change in flight when Asterisk dies.
    create_trunk(&server, &token, "trunk-late", "127.0.0.61", json!([])).await?;
    drop(ami);
    drop(asterisk);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let down = status(&server, &token).await?;
    eprintln!("status while Asterisk is down: {down}");

    // A new Asterisk under the same name: a wiped config directory.
    let asterisk = AsteriskInstance::start("sync-kill", "127.0.0.50", 15150).await?;
    let back = Instant::now();
    assert!(!asterisk.config_dir().join("patchbay-pjsip.conf").exists(), "the new instance must start empty");
    let ami = asterisk.connect_ami().await?;
    eventually("both trunks in the new Asterisk", Duration::from_secs(5), || async {
        (has_endpoint(&ami, "trunk-kill").await && has_endpoint(&ami, "trunk-late").await).then_some(())
    })
    .await
    .map_err(|error| anyhow::anyhow!("{error}\n{}", asterisk.console_tail()))?;
    eprintln!("in sync {:?} after Asterisk was back", back.elapsed());
    let synced = eventually("status in_sync", Duration::from_secs(5), || async {
        status(&server, &token).await.ok().filter(|s| s["in_sync"] == true && s["last_error"].is_null())
    })
    .await?;
    assert_eq!(synced["connected"], true);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_ami_password_is_a_clear_status_and_no_crash_loop() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("sync-auth", "127.0.0.51", 15151).await?;
    let secret = "definitely-wrong-secret";
    let url = format!("ami://patchbay:{secret}@127.0.0.1:{}", asterisk.ami_port());
    let server = PatchbayServer::start(Some(&url)).await?;
    let token = server.admin_token().await?;
    let refused = eventually("a refused-login status", Duration::from_secs(10), || async {
        status(&server, &token).await.ok().filter(|s| s["message"].as_str().is_some_and(|m| m.contains("refused Patchbay's AMI login")))
    })
    .await?;
    eprintln!("status: {refused}");
    assert_eq!(refused["connected"], false);
    // Still serving, still the same clear message, a while later.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(is_alive(server.pid()), "patchbay exited");
    let later = status(&server, &token).await?;
    assert!(later["message"].as_str().unwrap_or_default().contains("refused Patchbay's AMI login"), "{later}");
    assert!(!later.to_string().contains(secret), "the secret leaked: {later}");
    server.expect(&token, "GET", "/api/confd/1.1/trunks", None, 200).await?;
    // The API keeps working and accepts changes while Asterisk is unreachable.
    create_trunk(&server, &token, "trunk-auth", "127.0.0.62", json!([])).await?;
    assert!(is_alive(server.pid()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_object_asterisk_refuses_is_reported_and_the_rest_applies() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("sync-reject", "127.0.0.52", 15152).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let token = server.admin_token().await?;
    let ami = asterisk.connect_ami().await?;
    create_trunk(&server, &token, "trunk-good", "127.0.0.63", json!([])).await?;
    eventually("trunk-good applied", Duration::from_secs(15), || async {
        let s = status(&server, &token).await.ok()?;
        (has_endpoint(&ami, "trunk-good").await && s["in_sync"] == true).then_some(())
    })
    .await?;

    // Passes Patchbay's validation (a known key whose value it does not
    // check yet: the API refuses what it knows Asterisk refuses, such as an
    // unknown DTMF mode), but Asterisk refuses to load an endpoint with an
    // unknown ToS value. A trunk added
    // with it still gets its file written: only that endpoint is refused.
    let bad = create_trunk(&server, &token, "trunk-bad", "127.0.0.64", json!([["tos_audio", "bogus"]])).await?;
    create_trunk(&server, &token, "trunk-next", "127.0.0.66", json!([])).await?;
    let refused = eventually("the refusal in the status", Duration::from_secs(15), || async {
        // `pending` false: a pass covered every change made so far (the two
        // trunks may have reached Asterisk in one pass or in two).
        status(&server, &token).await.ok().filter(|s| {
            s["pending"] == false
                && s["failed"].as_array().is_some_and(|failed| failed.iter().any(|f| f["section"] == "trunk-bad" && f["section_type"] == "endpoint"))
        })
    })
    .await?;
    eprintln!("status: {refused}");
    assert_eq!(refused["in_sync"], false);
    assert!(refused["last_error"].is_null(), "a refused object is not a failed pass: {refused}");
    assert!(has_endpoint(&ami, "trunk-good").await, "the other endpoints stay loaded");
    assert!(has_endpoint(&ami, "trunk-next").await, "a change made with the refused one applies");
    assert!(!has_endpoint(&ami, "trunk-bad").await);
    // Read through the base file: its glob includes the tenant's own file.
    let file = get_config(&ami, "pjsip.conf").await?;
    assert!(file.iter().any(|section| section.name == "trunk-bad"), "the file is written as the database says");

    // Fixing it applies it.
    let uuid = bad["uuid"].as_str().unwrap_or_default();
    let mut fixed = server.expect(&token, "GET", &format!("/api/confd/1.1/endpoints/sip/{uuid}"), None, 200).await?;
    fixed["endpoint_section_options"] = json!([["dtmf_mode", "rfc4733"]]);
    server.expect(&token, "PUT", &format!("/api/confd/1.1/endpoints/sip/{uuid}"), Some(fixed), 204).await?;
    eventually("trunk-bad fixed and loaded", Duration::from_secs(15), || async {
        let s = status(&server, &token).await.ok()?;
        (has_endpoint(&ami, "trunk-bad").await && s["last_error"].is_null() && s["in_sync"] == true && s["failed"] == json!([])).then_some(())
    })
    .await?;
    assert!(has_endpoint(&ami, "trunk-good").await);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_made_while_asterisk_is_down_survives_a_patchbay_restart() -> anyhow::Result<()> {
    // Nothing listens on 15153 yet.
    let url = "ami://patchbay:patchbay-test-secret@127.0.0.1:15153";
    let server = PatchbayServer::start(Some(url)).await?;
    let token = server.admin_token().await?;
    create_trunk(&server, &token, "trunk-pending", "127.0.0.65", json!([])).await?;
    let db = server.db.clone();
    let dir: TempDir = server.kill();

    let asterisk = AsteriskInstance::start("sync-pending", "127.0.0.53", 15153).await?;
    let server = PatchbayServer::start_on(dir, db, Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    eventually("the pending trunk in Asterisk", Duration::from_secs(10), || async { has_endpoint(&ami, "trunk-pending").await.then_some(()) }).await?;
    drop(server);
    Ok(())
}

/// Whether Asterisk lists both transports and the registration right now.
async fn transports_and_registration(ami_url: &str) -> anyhow::Result<(bool, Vec<String>)> {
    let url: patchbay_backend::ami::AmiUrl = ami_url.parse()?;
    let ami = AmiClient::connect(url, patchbay_backend::ami::ClientOptions::default()).await?;
    let transports = ami.command("pjsip show transports").await.unwrap_or_default();
    let listed = |name: &str| transports.iter().any(|line| line.trim_start().starts_with("Transport:") && line.contains(name));
    let registrations = ami.send("PJSIPShowRegistrationsOutbound", AmiMessage::new()).await;
    let registered = registrations.is_ok_and(|answer| answer.items().any(|item| item.get("ObjectName") == Some("trunk-reg")));
    Ok((listed("transport-udp") && listed("transport-pb") && registered, transports))
}

// AMI port 15311 and SIP address 127.0.0.171 (the far end 127.0.0.182,
// where nothing listens) come from the containment work's range, not from
// this file's.
#[tokio::test(flavor = "multi_thread")]
async fn after_a_restart_in_sync_waits_for_transports_and_registrations() -> anyhow::Result<()> {
    let mut asterisk = AsteriskInstance::start("sync-restart", "127.0.0.171", 15311).await?;
    let ami_url = asterisk.ami_url();
    let server = PatchbayServer::start(Some(&ami_url)).await?;
    let token = server.admin_token().await?;
    // A transport Patchbay manages beside the base config's `transport-udp`
    // (which Patchbay's seeded one names too), and a registration on it.
    let transport = server
        .expect(&token, "POST", "/api/confd/1.1/sip/transports", Some(json!({
            "name": "transport-pb", "options": [["protocol", "udp"], ["bind", "127.0.0.171:5070"]],
        })), 201)
        .await?;
    let endpoint = server
        .expect(&token, "POST", "/api/confd/1.1/endpoints/sip", Some(json!({
            "name": "trunk-reg", "label": "trunk-reg", "transport": {"uuid": transport["uuid"]},
            "aor_section_options": [["contact", "sip:127.0.0.182:5060"]],
            "registration_section_options": [["server_uri", "sip:127.0.0.182:5060"], ["client_uri", "sip:pb@127.0.0.182:5060"], ["retry_interval", "60"]],
        })), 201)
        .await?;
    let trunk = server.expect(&token, "POST", "/api/confd/1.1/trunks", Some(json!({"context": "from-extern"})), 201).await?;
    let association = format!("/api/confd/1.1/trunks/{}/endpoints/sip/{}", trunk["id"], endpoint["uuid"].as_str().unwrap_or_default());
    server.expect(&token, "PUT", &association, None, 204).await?;
    let synced = eventually("in sync with both transports and the registration", Duration::from_secs(20), || async {
        let s = status(&server, &token).await.ok()?;
        let (listed, _) = transports_and_registration(&ami_url).await.ok()?;
        (s["in_sync"] == true && listed).then_some(s)
    })
    .await
    .map_err(|error| anyhow::anyhow!("{error}\n{}", asterisk.console_tail()))?;
    // The base config owns `transport-udp`: Patchbay did not write a second one.
    assert!(synced["from_base_config"].as_array().is_some_and(|from| from.contains(&json!("transport-udp (transport)"))), "{synced}");
    let ami = asterisk.connect_ami().await?;
    let file = get_config(&ami, "patchbay-pjsip.conf").await?;
    assert!(!file.iter().any(|section| section.name == "transport-udp"), "{file:?}");
    assert!(file.iter().any(|section| section.name == "transport-pb"), "{file:?}");
    drop(ami);

    asterisk.kill();
    let down = eventually("status while Asterisk is down", Duration::from_secs(10), || async {
        status(&server, &token).await.ok().filter(|s| s["connected"] == false)
    })
    .await?;
    assert_eq!(down["in_sync"], false, "{down}");

    // Watch the status from before the restart until it says in sync: each
    // time it does, Asterisk must list the transports and the registration.
    let watch = async {
        loop {
            let s = status(&server, &token).await?;
            if s["in_sync"] == true {
                let (listed, transports) = transports_and_registration(&ami_url).await?;
                anyhow::ensure!(listed, "status says in sync but Asterisk lists {transports:?}: {s}");
                return Ok(s);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let watched = tokio::time::timeout(Duration::from_secs(40), async {
        let (booted, watched) = tokio::join!(asterisk.start_again(), watch);
        booted?;
        watched
    })
    .await
    .map_err(|_| anyhow::anyhow!("status never came back in sync"))??;
    eprintln!("in sync after the restart: {watched}");
    assert!(watched["last_error"].is_null(), "{watched}");
    Ok(())
}

// AMI port 15312 and SIP address 127.0.0.172 (far end 127.0.0.183) come from
// the containment work's range.
