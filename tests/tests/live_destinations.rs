//! Incall destinations beyond `user` (issue #12) on a real Asterisk 22: each
//! DID made through the API is applied by the sync task, and
//! `dialplan show DID@from-extern` must run the application Wazo's `endcall`
//! / `custom` destinations run.
//!
//! AMI port 16201, SIP address 127.0.3.1 (the wazo-exact range).

use patchbay_backend::ami::AmiClient;
use patchbay_e2e::app::{PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use serde_json::{Value, json};
use std::time::Duration;

async fn did_to(server: &PatchbayServer, token: &str, exten: &str, destination: Value) -> anyhow::Result<()> {
    let extension = server.expect(token, "POST", "/api/confd/1.1/extensions", Some(json!({"exten": exten, "context": "from-extern"})), 201).await?;
    let incall = server.expect(token, "POST", "/api/confd/1.1/incalls", Some(json!({"destination": destination})), 201).await?;
    server.expect(token, "PUT", &format!("/api/confd/1.1/incalls/{}/extensions/{}", incall["id"], extension["id"]), None, 204).await?;
    Ok(())
}

/// The lines of `dialplan show EXTEN@from-extern`.
async fn shown(ami: &AmiClient, exten: &str) -> Vec<String> {
    ami.command(&format!("dialplan show {exten}@from-extern")).await.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn hangup_and_custom_destinations_reach_the_dialplan() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("wazo-exact-dest", "127.0.3.1", 16201).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let token = server.admin_token().await?;
    let ami = asterisk.connect_ami().await?;
    let cases = [
        ("7101", json!({"type": "hangup", "cause": "busy", "timeout": 5}), "Busy(5)"),
        ("7102", json!({"type": "hangup", "cause": "congestion"}), "Congestion()"),
        ("7103", json!({"type": "hangup", "cause": "normal"}), "Hangup()"),
        ("7104", json!({"type": "custom", "command": "Playback(tt-monkeys,noanswer)"}), "Playback(tt-monkeys,noanswer)"),
        ("7105", json!({"type": "none"}), "Hangup()"),
    ];
    for (exten, destination, _) in &cases {
        did_to(&server, &token, exten, destination.clone()).await?;
    }
    for (exten, _, app) in &cases {
        let lines = eventually(&format!("{exten} runs {app}"), Duration::from_secs(30), || async {
            let lines = shown(&ami, exten).await;
            lines.iter().any(|line| line.contains(app)).then_some(lines)
        })
        .await?;
        assert!(lines.iter().any(|line| line.contains(&format!("'{exten}' =>"))), "{exten}: {lines:?}");
    }
    let status = server.expect(&token, "GET", "/api/patchbay/1.0/status", None, 200).await?;
    assert_eq!(status["in_sync"], json!(true), "{status}");
    Ok(())
}
