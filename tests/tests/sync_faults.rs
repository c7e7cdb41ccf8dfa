//! The sync task against a real Asterisk when things go wrong: Asterisk
//! killed and replaced by a fresh one, a wrong AMI password, a configuration
//! Asterisk refuses, a Patchbay restart with a change still pending.
//!
//! AMI ports 15150–15169 and SIP addresses 127.0.0.50–69 are this file's.

use patchbay_backend::ami::config_writer::get_config;
use patchbay_backend::ami::{AmiClient, AmiMessage};
use patchbay_e2e::app::{PatchbayServer, TempDir, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn has_endpoint(ami: &AmiClient, name: &str) -> bool {
    ami.send("PJSIPShowEndpoint", AmiMessage::new().with("Endpoint", name)).await.is_ok()
}

/// A SIP trunk `name` to `host` through the API; returns the endpoint.
async fn create_trunk(server: &PatchbayServer, token: &str, name: &str, host: &str, endpoint_options: Value) -> anyhow::Result<Value> {
    let endpoint = server
        .expect(token, "POST", "/api/confd/1.1/endpoints/sip", Some(json!({
            "name": name, "label": name,
            "aor_section_options": [["contact", format!("sip:{host}:5060")]],
            "identify_section_options": [["match", host]],
            "endpoint_section_options": endpoint_options,
        })), 201)
        .await?;
    let trunk = server.expect(token, "POST", "/api/confd/1.1/trunks", Some(json!({"context": "from-extern"})), 201).await?;
    let association = format!("/api/confd/1.1/trunks/{}/endpoints/sip/{}", trunk["id"], endpoint["uuid"].as_str().unwrap_or_default());
    server.expect(token, "PUT", &association, None, 204).await?;
    Ok(endpoint)
}

async fn status(server: &PatchbayServer) -> anyhow::Result<Value> {
    Ok(reqwest::get(format!("{}/api/patchbay/1.0/status", server.base_url)).await?.json().await?)
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
    let down = status(&server).await?;
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
        status(&server).await.ok().filter(|s| s["in_sync"] == true && s["last_error"].is_null())
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
    let refused = eventually("a refused-login status", Duration::from_secs(10), || async {
        status(&server).await.ok().filter(|s| s["message"].as_str().is_some_and(|m| m.contains("refused Patchbay's AMI login")))
    })
    .await?;
    eprintln!("status: {refused}");
    assert_eq!(refused["connected"], false);
    // Still serving, still the same clear message, a while later.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(is_alive(server.pid()), "patchbay exited");
    let later = status(&server).await?;
    assert!(later["message"].as_str().unwrap_or_default().contains("refused Patchbay's AMI login"), "{later}");
    assert!(!later.to_string().contains(secret), "the secret leaked: {later}");
    let token = server.admin_token().await?;
    server.expect(&token, "GET", "/api/confd/1.1/trunks", None, 200).await?;
    // The API keeps working and accepts changes while Asterisk is unreachable.
    create_trunk(&server, &token, "trunk-auth", "127.0.0.62", json!([])).await?;
    assert!(is_alive(server.pid()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configuration_asterisk_refuses_leaves_the_previous_one_in_place() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("sync-reject", "127.0.0.52", 15152).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let token = server.admin_token().await?;
    let ami = asterisk.connect_ami().await?;
    create_trunk(&server, &token, "trunk-good", "127.0.0.63", json!([])).await?;
    eventually("trunk-good applied", Duration::from_secs(15), || async {
        let s = status(&server).await.ok()?;
        (has_endpoint(&ami, "trunk-good").await && s["in_sync"] == true).then_some(())
    })
    .await?;
    let good_file = get_config(&ami, "patchbay-pjsip.conf").await?;

    // Passes Patchbay's validation (a known key, any value), but Asterisk
    // refuses to load an endpoint with an unknown DTMF mode.
    let bad = create_trunk(&server, &token, "trunk-bad", "127.0.0.64", json!([["dtmf_mode", "bogus"]])).await?;
    let refused = eventually("the refusal in the status", Duration::from_secs(15), || async {
        status(&server).await.ok().filter(|s| s["last_error"].as_str().is_some_and(|e| e.contains("trunk-bad")))
    })
    .await?;
    eprintln!("status: {refused}");
    assert_eq!(refused["in_sync"], false);
    assert!(refused["last_error"].as_str().unwrap_or_default().contains("previous configuration was restored"), "{refused}");
    assert!(has_endpoint(&ami, "trunk-good").await, "the previous configuration must stay loaded");
    assert!(!has_endpoint(&ami, "trunk-bad").await);
    assert_eq!(get_config(&ami, "patchbay-pjsip.conf").await?, good_file, "the previous file must be back");

    // Fixing it applies it.
    let uuid = bad["uuid"].as_str().unwrap_or_default();
    let mut fixed = server.expect(&token, "GET", &format!("/api/confd/1.1/endpoints/sip/{uuid}"), None, 200).await?;
    fixed["endpoint_section_options"] = json!([["dtmf_mode", "rfc4733"]]);
    server.expect(&token, "PUT", &format!("/api/confd/1.1/endpoints/sip/{uuid}"), Some(fixed), 204).await?;
    eventually("trunk-bad fixed and loaded", Duration::from_secs(15), || async {
        let s = status(&server).await.ok()?;
        (has_endpoint(&ami, "trunk-bad").await && s["last_error"].is_null() && s["in_sync"] == true).then_some(())
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
