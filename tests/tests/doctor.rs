//! `patchbay doctor` and `GET /api/patchbay/1.0/doctor` against a real
//! Asterisk 22: a good set-up passes; a base config with a transport that
//! Patchbay also writes, a missing include line and an AMI user without
//! enough classes are each diagnosed with the lines to fix.
//!
//! Uses 127.0.0.211 and AMI port 15351.

use std::process::Command;
use std::time::Duration;

use anyhow::Context;
use patchbay_e2e::app::{PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use serde_json::{Value, json};

/// Runs the real binary: (exit code, what it printed).
fn doctor(ami: &str) -> anyhow::Result<(i32, String)> {
    let exe = std::env::current_exe()?;
    let binary = exe.parent().and_then(|deps| deps.parent()).context("target/<profile>/deps")?.join("patchbay");
    let output = Command::new(binary).args(["doctor", "--ami", ami]).env_remove("PATCHBAY_AMI").output()?;
    let text = String::from_utf8(output.stdout)? + &String::from_utf8(output.stderr)?;
    Ok((output.status.code().context("exited by a signal")?, text))
}

/// The API's findings for one check: (severity, message, fix lines).
fn findings_of(report: &Value, check: &str) -> Vec<(String, String, Vec<String>)> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["check"] == check)
        .map(|f| {
            let fix = f["fix"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect();
            (f["severity"].as_str().unwrap_or_default().to_owned(), f["message"].as_str().unwrap_or_default().to_owned(), fix)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_passes_a_good_asterisk_and_names_each_fix_on_a_bad_one() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("doctor", "127.0.0.211", 15351).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let token = server.admin_token().await?;
    // The seed's shared transport-udp would collide with the base config's
    // own (doctor says so): this Asterisk keeps the admin's.
    let transports = server.expect(&token, "GET", "/1.1/sip/transports", None, 200).await?;
    let seeded = transports["items"][0]["uuid"].as_str().context("the seeded transport")?;
    server.expect(&token, "DELETE", &format!("/1.1/sip/transports/{seeded}"), None, 204).await?;
    eventually("Patchbay to write its files", Duration::from_secs(30), || async {
        let (_, status) = server.call(&token, "GET", "/api/patchbay/1.0/status", None).await.ok()?;
        let written = std::fs::read_to_string(asterisk.config_dir().join("patchbay-pjsip.conf")).unwrap_or_default();
        status["in_sync"].as_bool().filter(|in_sync| *in_sync && !written.contains("[transport-udp]"))
    })
    .await?;

    // The test suite's base config: includes in place, one transport of the admin's.
    let (code, text) = doctor(&asterisk.ami_url())?;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("ok       pjsip.conf includes patchbay-pjsip.conf."), "{text}");
    assert!(text.contains("PJSIP transports loaded: transport-udp."), "{text}");
    assert!(text.ends_with("Asterisk is ready for Patchbay.\n"), "{text}");
    assert!(!text.contains("PROBLEM"), "{text}");
    assert!(text.contains("modules Patchbay relies on are loaded."), "{text}");
    let report = server.expect(&token, "GET", "/api/patchbay/1.0/doctor", None, 200).await?;
    assert_eq!(report["ok"], true, "{report:#}");

    // Patchbay now also writes a transport-udp, and extensions.conf loses its include.
    server.expect(&token, "POST", "/1.1/sip/transports", Some(json!({"name": "transport-udp", "options": [["protocol", "udp"], ["bind", "127.0.0.211:5062"]]})), 201).await?;
    let extensions = asterisk.config_dir().join("extensions.conf");
    let without_include = std::fs::read_to_string(&extensions)?.replace("#tryinclude patchbay-extensions*.conf", "");
    std::fs::write(&extensions, without_include)?;

    let report = server.expect(&token, "GET", "/api/patchbay/1.0/doctor", None, 200).await?;
    assert_eq!(report["ok"], false, "{report:#}");
    let collisions: Vec<_> = findings_of(&report, "collisions").into_iter().filter(|(severity, ..)| severity == "problem").collect();
    assert_eq!(collisions.len(), 1, "{report:#}");
    assert!(collisions[0].1.starts_with("pjsip.conf defines what Patchbay also writes"), "{report:#}");
    assert_eq!(collisions[0].2, ["[transport-udp] (type = transport)"]);
    let includes: Vec<_> = findings_of(&report, "include").into_iter().filter(|(severity, ..)| severity == "problem").collect();
    assert_eq!(includes.len(), 1, "{report:#}");
    assert!(includes[0].1.starts_with("extensions.conf does not include patchbay-extensions.conf"), "{report:#}");
    assert_eq!(includes[0].2, ["#tryinclude patchbay-extensions*.conf"]);

    // The CLI reads Patchbay's files as Asterisk has them: the dialplan's
    // main file is empty (every context is in a tenant's file), so without
    // the database it can only say which line to have (a warning).
    let (code, text) = doctor(&asterisk.ami_url())?;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("WARNING  Patchbay writes every dialplan context in its tenant's file"), "{text}");
    assert!(text.contains("\n             #tryinclude patchbay-extensions*.conf\n"), "{text}");

    // An AMI user that may read config but not run commands or originate calls.
    let manager = asterisk.config_dir().join("manager.conf");
    let mut manager_text = std::fs::read_to_string(&manager)?;
    manager_text.push_str("[limited]\nsecret = limited-secret\nread = system,call\nwrite = system,config\n");
    std::fs::write(&manager, manager_text)?;
    asterisk.connect_ami().await?.command("manager reload").await?;
    let (code, text) = doctor("ami://limited:limited-secret@127.0.0.1:15351")?;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("PROBLEM  The AMI user `limited` lacks the class(es) write call,command,originate"), "{text}");
    assert!(text.contains("write = system,config,call,command,originate"), "{text}");

    let (code, text) = doctor("ami://patchbay:wrong-secret@127.0.0.1:15351")?;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("PROBLEM  Asterisk refused the AMI login of `patchbay` (Authentication failed)"), "{text}");
    assert!(text.contains("\n             [patchbay]\n             secret = THE SECRET IN --ami\n"), "{text}");

    let (code, text) = doctor("ami://patchbay:secret@127.0.0.211:1")?;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("PROBLEM  Cannot reach Asterisk's AMI: "), "{text}");
    Ok(())
}
