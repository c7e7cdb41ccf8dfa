//! Live status and test calls against a real Asterisk 22, configured only
//! through the REST API:
//!
//! - a registering trunk whose provider refuses it (403 to every REGISTER)
//!   is `Rejected` on `/live`, and the `Registry` AMI event that told
//!   Patchbay so has the fields `live.rs` reads;
//! - `/events` (Server-Sent Events) opens with a snapshot and then carries
//!   the registration's changes (`Rejected`, then `Registered` once the
//!   provider accepts);
//! - `POST /calls` answers `answered` for an extension whose phone answers
//!   and `failed`, with a cause, for one that does not exist.
//!
//! AMI ports 15220–15222; addresses 127.0.0.120 (Asterisk), .121 (provider)
//! for the rejection; .122, .123 for the event stream; .124 (Asterisk), .125
//! (phone) for the calls.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use patchbay_backend::ami::{AmiClient, AmiMessage};
use patchbay_e2e::app::{PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_e2e::sipp::pbx::{API, id, registrations, sipp_phone, uuid, wait_endpoints};
use patchbay_e2e::sipp::{Scenario, Sipp};
use serde_json::{Value, json};

const PROVIDER_USER: &str = "0123456789";
const PROVIDER_SECRET: &str = "s3cret";

/// A provider refusing every REGISTER with a 403 (they share one Call-ID:
/// one sipp call, looping).
const REGISTRAR_FORBIDDEN: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="registrar: 403 forever">
  <label id="next" />
  <recv request="REGISTER" />
  <send next="next">
    <![CDATA[
      SIP/2.0 403 Forbidden
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
</scenario>
"#;

/// A provider accepting every REGISTER at once.
const REGISTRAR_ACCEPTING: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="registrar: 200 forever">
  <label id="next" />
  <recv request="REGISTER" />
  <send next="next">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Contact:]
      [last_Expires:]
      Content-Length: 0
    ]]>
  </send>
</scenario>
"#;

/// Seed 001's registering trunk (legacy shape), the provider on `provider_ip`.
async fn registering_trunk(s: &PatchbayServer, t: &str, provider_ip: &str) -> anyhow::Result<()> {
    let trunk = s.expect(t, "POST", &format!("{API}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
    let sip = s
        .expect(t, "POST", &format!("{API}/endpoints/sip"), Some(json!({"username": PROVIDER_USER, "secret": PROVIDER_SECRET, "type": "peer", "host": provider_ip})), 201)
        .await?;
    s.expect(t, "PUT", &format!("{API}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&sip)), None, 204).await?;
    let register = s
        .expect(t, "POST", &format!("{API}/registers/sip"), Some(json!({"auth_username": PROVIDER_USER, "auth_password": PROVIDER_SECRET, "transport": "udp", "remote_host": provider_ip})), 201)
        .await?;
    s.expect(t, "PUT", &format!("{API}/trunks/{}/registers/sip/{}", id(&trunk), id(&register)), None, 204).await?;
    Ok(())
}

/// Waits for Asterisk to have registration `name`, then has it REGISTER now
/// (rather than after `max_random_initial_delay`).
async fn register_now(ami: &AmiClient, name: &str) -> anyhow::Result<()> {
    eventually(&format!("registration {name} to exist"), Duration::from_secs(15), || async {
        registrations(ami).await.iter().any(|(n, _)| n == name).then_some(())
    })
    .await?;
    ami.send("PJSIPRegister", AmiMessage::new().with("Registration", name)).await?;
    Ok(())
}

/// Every `Registry` event the client sees from now on.
fn collect_registry_events(ami: &AmiClient) -> (Arc<Mutex<Vec<AmiMessage>>>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut events = ami.subscribe();
    let sink = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) if event.event_name() == Some("Registry") => sink.lock().unwrap().push(event),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    (seen, task)
}

async fn live_registration(s: &PatchbayServer, t: &str, name: &str) -> Option<Value> {
    let live = s.expect(t, "GET", "/api/patchbay/1.0/live", None, 200).await.ok()?;
    live["registrations"].as_object()?.get(name).cloned()
}

#[tokio::test]
async fn rejected_registration_shows_on_live() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.0.120";
    const PROVIDER_IP: &str = "127.0.0.121";
    let started = Instant::now();
    let asterisk = AsteriskInstance::start("live-rejected", PBX_IP, 15220).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let (registry_events, collector) = collect_registry_events(&ami);
    let t = server.admin_token().await?;
    let mut registrar = Sipp::start("registrar-403", Scenario::Xml(REGISTRAR_FORBIDDEN), PROVIDER_IP, 5060, None, 1, &[])?;
    registrar.wait_listening().await?;

    registering_trunk(&server, &t, PROVIDER_IP).await?;
    register_now(&ami, PROVIDER_USER).await?;
    let rejected = eventually("Patchbay's /live to show the registration Rejected", Duration::from_secs(15), || async {
        live_registration(&server, &t, PROVIDER_USER).await.filter(|r| r["status"] == "Rejected")
    })
    .await
    .with_context(|| format!("registrar:\n{}\n{}", registrar.messages(), asterisk.console_tail()))?;
    eprintln!("rejected after {:?}: {rejected}", started.elapsed());
    assert!(registrar.messages().contains("SIP/2.0 403 Forbidden"), "{}", registrar.messages());
    assert_eq!(rejected["server_uri"], format!("sip:{PROVIDER_IP}"), "{rejected}");
    let history = rejected["history"].as_array().context("history")?;
    assert_eq!(history.last().map(|c| &c["status"]), Some(&json!("Rejected")), "{rejected}");

    // The event Asterisk 22 sends: `Username` is the client URI, `Domain`
    // the server URI (what live.rs matches the listed registration on),
    // and no `Cause` (res_pjsip_outbound_registration publishes NULL).
    let event = eventually("a Registry event with Status Rejected", Duration::from_secs(10), || async {
        registry_events.lock().unwrap().iter().find(|e| e.get("Status") == Some("Rejected")).cloned()
    })
    .await?;
    eprintln!("Registry event: {event:?}");
    assert_eq!(event.get("ChannelType"), Some("PJSIP"), "{event:?}");
    assert_eq!(event.get("Domain"), rejected["server_uri"].as_str(), "{event:?}");
    assert_eq!(event.get("Username"), rejected["client_uri"].as_str(), "{event:?}");
    // No AMI event carries the 403 (only Asterisk's log does): Patchbay has
    // no SIP code to show, and says so with a null `last_response`.
    assert_eq!(event.get("Cause"), None, "{event:?}");
    assert_eq!(rejected["last_response"], Value::Null, "{rejected}");
    assert!(rejected["client_uri"].as_str().is_some_and(|uri| uri.contains(PROVIDER_USER)), "{rejected}");
    collector.abort();
    eprintln!("done after {:?}", started.elapsed());
    Ok(())
}

/// A Server-Sent Events reader over a streaming response.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(s: &PatchbayServer, t: &str) -> anyhow::Result<EventStream> {
        let response = reqwest::Client::new()
            .get(format!("{}/api/patchbay/1.0/events", s.base_url))
            .header("X-Auth-Token", t)
            .send()
            .await?;
        if response.status() != 200 {
            bail!("/events: {}", response.status());
        }
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        Ok(EventStream { response, buffer: String::new() })
    }

    /// The next `data:` payload (keep-alive comments skipped), within `timeout`.
    async fn next(&mut self, timeout: Duration) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let data: Vec<&str> = block.lines().filter_map(|l| l.strip_prefix("data:")).map(|d| d.strip_prefix(' ').unwrap_or(d)).collect();
                if !data.is_empty() {
                    return Ok(serde_json::from_str(&data.join("\n"))?);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.context("no server-sent event in time")??;
            let Some(chunk) = chunk else { bail!("the event stream ended") };
            self.buffer.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }

    /// Reads events until `wanted` picks one, within `timeout`; the events seen.
    async fn until(&mut self, timeout: Duration, wanted: impl Fn(&Value) -> bool) -> anyhow::Result<Vec<Value>> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.next(left).await.with_context(|| format!("events so far: {seen:#?}"))?;
            let done = wanted(&event);
            seen.push(event);
            if done {
                return Ok(seen);
            }
        }
    }
}

fn registration_update(event: &Value, name: &str, status: &str) -> bool {
    event["kind"] == "registration" && event["registration"]["name"] == name && event["registration"]["status"] == status
}

#[tokio::test]
async fn event_stream_sends_a_snapshot_then_registration_changes() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.0.122";
    const PROVIDER_IP: &str = "127.0.0.123";
    let started = Instant::now();
    let asterisk = AsteriskInstance::start("live-sse", PBX_IP, 15221).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let t = server.admin_token().await?;

    // Without a token: refused.
    let anonymous = reqwest::get(format!("{}/api/patchbay/1.0/events", server.base_url)).await?;
    assert_eq!(anonymous.status(), 401);

    let mut registrar = Sipp::start("registrar-sse-403", Scenario::Xml(REGISTRAR_FORBIDDEN), PROVIDER_IP, 5060, None, 1, &[])?;
    registrar.wait_listening().await?;
    registering_trunk(&server, &t, PROVIDER_IP).await?;
    register_now(&ami, PROVIDER_USER).await?;
    eventually("Patchbay's /live to show the registration Rejected", Duration::from_secs(15), || async {
        live_registration(&server, &t, PROVIDER_USER).await.filter(|r| r["status"] == "Rejected")
    })
    .await
    .with_context(|| format!("registrar:\n{}", registrar.messages()))?;

    // The stream opens with the whole state.
    let mut stream = EventStream::open(&server, &t).await?;
    let first = stream.next(Duration::from_secs(5)).await?;
    assert_eq!(first["kind"], "snapshot", "{first}");
    assert_eq!(first["state"]["registrations"][PROVIDER_USER]["status"], "Rejected", "{first}");

    // The provider now accepts: the change arrives as a `registration`
    // update, which live.rs only sends when it matched the `Registry` event
    // to the listed registration.
    drop(registrar);
    let mut registrar = Sipp::start("registrar-sse-200", Scenario::Xml(REGISTRAR_ACCEPTING), PROVIDER_IP, 5060, None, 1, &[])?;
    registrar.wait_listening().await?;
    ami.send("PJSIPRegister", AmiMessage::new().with("Registration", PROVIDER_USER)).await?;
    let seen = stream
        .until(Duration::from_secs(20), |e| registration_update(e, PROVIDER_USER, "Registered"))
        .await
        .with_context(|| format!("registrar:\n{}\n{}", registrar.messages(), asterisk.console_tail()))?;
    let registered = &seen.last().context("an event")?["registration"];
    // PJSIPRegister unregisters first: Rejected, Unregistered, Registered.
    let history: Vec<&str> = registered["history"].as_array().context("history")?.iter().filter_map(|c| c["status"].as_str()).collect();
    let rejected_at = history.iter().position(|s| *s == "Rejected").with_context(|| format!("Rejected in {registered}"))?;
    assert_eq!(history.last(), Some(&"Registered"), "{registered}");
    assert!(rejected_at < history.len() - 1, "{registered}");
    eprintln!("done after {:?}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn test_calls_answered_and_failed() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.0.124";
    const PHONE_IP: &str = "127.0.0.125";
    let started = Instant::now();
    let asterisk = AsteriskInstance::start("live-calls", PBX_IP, 15222).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let t = server.admin_token().await?;
    sipp_phone(&server, &t, "call-desk", "1001", PHONE_IP, "1001").await?;
    wait_endpoints(&ami, &["call-desk"]).await?;
    // The extension is in the dialplan too.
    eventually("extension 1001@default in Asterisk", Duration::from_secs(15), || async {
        let lines = ami.command("dialplan show 1001@default").await.ok()?;
        lines.iter().any(|l| l.contains("'1001'")).then_some(())
    })
    .await?;

    let mut phone = Sipp::start("phone-calls", Scenario::BuiltIn("uas"), PHONE_IP, 5060, None, 1, &[])?;
    phone.wait_listening().await?;
    let answered = server
        .expect(&t, "POST", "/api/patchbay/1.0/calls", Some(json!({"from_extension": "2000", "context": "default", "to": "1001"})), 200)
        .await
        .with_context(|| format!("phone:\n{}\n{}", phone.messages(), asterisk.console_tail()))?;
    eprintln!("answered call: {answered}");
    assert_eq!(answered["result"], "answered", "{answered}");
    assert_eq!(answered["cause"]["reason"], 4, "{answered}");
    phone.expect_success(Duration::from_secs(10)).await?;
    let received = phone.received_requests();
    assert!(received.iter().find(|r| !r.starts_with("OPTIONS ")).is_some_and(|r| r.starts_with(&format!("INVITE sip:1001@{PHONE_IP}"))), "{received:?}");
    assert!(phone.messages().contains("sip:2000@"), "caller id 2000:\n{}", phone.messages());

    let failed = server
        .expect(&t, "POST", "/api/patchbay/1.0/calls", Some(json!({"context": "default", "to": "9999"})), 200)
        .await?;
    eprintln!("failed call: {failed}");
    assert_eq!(failed["result"], "failed", "{failed}");
    assert!(failed["cause"]["reason"].is_u64() && failed["cause"]["reason"] != 4, "{failed}");
    assert!(failed["cause"]["reason_text"].as_str().is_some_and(|t| !t.is_empty() && t != "unknown"), "{failed}");

    // Refused before Asterisk: a dial string with a channel separator.
    let (status, refused) = server.call(&t, "POST", "/api/patchbay/1.0/calls", Some(json!({"context": "default", "to": "1001&PJSIP/x"}))).await?;
    assert_eq!(status, 400, "{refused}");
    eprintln!("done after {:?}", started.elapsed());
    Ok(())
}
