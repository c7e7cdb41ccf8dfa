//! Seed 004 (Kazoo connectivity) with real calls: one Asterisk driven by
//! Patchbay over AMI, the customer's PBX ("server") and the carrier played by
//! sipp. The server, its DIDs and their options come in only through
//! `PUT /v2/accounts/{tenant}/connectivity`; the carrier is a Wazo-API trunk
//! identified by its address whose context is the tenant's incall context
//! (`from-extern`), where the DIDs' extensions are.
//!
//! - The DID reaches the server with the Request-URI user in the server's
//!   `inbound_format` (`e164` and `npan`).
//! - A server that does not answer (rings forever, or is not there at all)
//!   fails over to `failover.sip` after `timeout`.
//! - `enabled: false` rejects the call (403) and the server sees nothing.
//! - `account.trunks: 1` rejects (503) a second call while the first is up.
//!
//! - `1npan` and `username` (a password-authenticated server, reached at
//!   its address) formats, the server's `sip_headers` in the INVITE, and its
//!   `delay` before the INVITE leaves.
//!
//! - Calls from a server present the DID's `caller_id` when the calling
//!   number is that DID, else the server's, and the account's for a server
//!   with none (Kazoo: DID > server > account).
//!
//! - `progress_timeout`: a server that sends no progress (a bare 100) is
//!   cancelled after it, well before `timeout`, and the call fails over.
//! - `failover.e164`: an unanswered DID goes out again as that number,
//!   through the tenant's outgoing route and its carrier trunk.
//!
//! AMI ports 15170–15173, 16010, 16011, 17000 and 17001; addresses
//! 127.0.0.70–.84, 127.0.1.20–.27 and 127.0.11.1–.20.

use std::time::{Duration, Instant};

use patchbay_backend::ami::{AmiClient, AmiMessage};
use patchbay_e2e::app::{PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_e2e::sipp::pbx::{API, id, uuid, wait_endpoints};
use patchbay_e2e::sipp::scenarios::{answered_call, ringing_until_cancelled};
use patchbay_e2e::sipp::{Scenario, Sipp, pcmu_sdp};
use serde_json::{Value, json};

const INCALL_CONTEXT: &str = "from-extern";

/// The master tenant's uuid: the Kazoo account id.
async fn tenant(s: &PatchbayServer, t: &str) -> anyhow::Result<String> {
    let tenants = s.expect(t, "GET", "/api/auth/0.1/tenants", None, 200).await?;
    let items = tenants["items"].as_array().cloned().unwrap_or_default();
    let master = items.iter().find(|i| i["name"] == json!("master")).or(items.first());
    Ok(master.and_then(|m| m["uuid"].as_str()).ok_or_else(|| anyhow::anyhow!("no tenant in {tenants}"))?.to_owned())
}

/// The carrier: a Wazo-API trunk whose calls (from `ips`) land in the incall
/// context. No direct media: sipp sends no RTP and expects no re-INVITE.
async fn carrier_trunk(s: &PatchbayServer, t: &str, ips: &[&str]) -> anyhow::Result<()> {
    let matches: Vec<Value> = ips.iter().map(|ip| json!(["match", ip])).collect();
    let endpoint = s
        .expect(t, "POST", &format!("{API}/endpoints/sip"), Some(json!({
            "name": "carrier", "label": "Carrier sending the DIDs",
            "endpoint_section_options": [["allow", "!all,ulaw"], ["direct_media", "no"]],
            "identify_section_options": matches,
        })), 201)
        .await?;
    let trunk = s.expect(t, "POST", &format!("{API}/trunks"), Some(json!({"context": INCALL_CONTEXT})), 201).await?;
    s.expect(t, "PUT", &format!("{API}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&endpoint)), None, 204).await?;
    Ok(())
}

/// The carrier as a trunk both ways: calls from `from_ip` land in the incall
/// context, and an outcall `pstn` sends `pattern` (in `to-extern`) to
/// `to_ip`.
async fn carrier_with_route(s: &PatchbayServer, t: &str, from_ip: &str, to_ip: &str, pattern: &str) -> anyhow::Result<()> {
    let endpoint = s
        .expect(t, "POST", &format!("{API}/endpoints/sip"), Some(json!({
            "name": "carrier", "label": "Carrier",
            "endpoint_section_options": [["allow", "!all,ulaw"], ["direct_media", "no"]],
            "aor_section_options": [["contact", format!("sip:{to_ip}:5060")]],
            "identify_section_options": [["match", from_ip]],
        })), 201)
        .await?;
    let trunk = s.expect(t, "POST", &format!("{API}/trunks"), Some(json!({"context": INCALL_CONTEXT})), 201).await?;
    s.expect(t, "PUT", &format!("{API}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&endpoint)), None, 204).await?;
    let outcall = s.expect(t, "POST", &format!("{API}/outcalls"), Some(json!({"name": "pstn"})), 201).await?;
    s.expect(t, "PUT", &format!("{API}/outcalls/{}/trunks", id(&outcall)), Some(json!({"trunks": [{"id": id(&trunk)}]})), 204).await?;
    let pattern = s.expect(t, "POST", &format!("{API}/extensions"), Some(json!({"exten": pattern, "context": "to-extern"})), 201).await?;
    s.expect(t, "PUT", &format!("{API}/outcalls/{}/extensions/{}", id(&outcall), id(&pattern)), None, 204).await?;
    Ok(())
}

/// Creates the connectivity document; its id.
async fn connectivity(s: &PatchbayServer, t: &str, account: &str, data: Value) -> anyhow::Result<String> {
    let created = s.expect(t, "PUT", &format!("/v2/accounts/{account}/connectivity"), Some(json!({"data": data})), 201).await?;
    Ok(created["data"]["id"].as_str().ok_or_else(|| anyhow::anyhow!("no id in {created}"))?.to_owned())
}

/// Waits until Asterisk's dialplan has each DID in the incall context.
async fn wait_dids(ami: &AmiClient, dids: &[&str]) -> anyhow::Result<()> {
    for did in dids {
        eventually(&format!("Asterisk to load DID {did}"), Duration::from_secs(15), || async {
            ami.send("ShowDialPlan", AmiMessage::new().with("Context", INCALL_CONTEXT).with("Extension", *did)).await.is_ok().then_some(())
        })
        .await?;
    }
    Ok(())
}

/// Everything up to a configured Asterisk: the instance, Patchbay, AMI, the
/// admin token and the Kazoo account (tenant) id.
async fn setup(name: &str, pbx_ip: &str, ami_port: u16) -> anyhow::Result<(AsteriskInstance, PatchbayServer, AmiClient, String, String)> {
    let asterisk = AsteriskInstance::start(name, pbx_ip, ami_port).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let t = server.admin_token().await?;
    let account = tenant(&server, &t).await?;
    Ok((asterisk, server, ami, t, account))
}

/// A carrier call that must fail with `code` (ACKed, in the INVITE's
/// transaction: same branch).
fn carrier_expecting_failure(code: u16) -> String {
    let sdp = pcmu_sdp("carrier", 1);
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="carrier: the call fails with {code}">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-invite
      From: carrier <sip:carrier@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:carrier@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      {sdp}
    ]]>
  </send>
  <recv response="100" optional="true" />
  <recv response="{code}" />
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-invite
      From: carrier <sip:carrier@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
</scenario>
"#
    )
}

fn invites(sipp: &Sipp) -> Vec<String> {
    sipp.received_requests().into_iter().filter(|r| r.starts_with("INVITE ")).collect()
}

/// A carrier call to `did` that must succeed (answered, then hung up).
async fn carrier_call(label: &str, carrier_ip: &str, pbx_ip: &str, did: &str, asterisk: &AsteriskInstance, far: &[&Sipp]) -> anyhow::Result<()> {
    let mut carrier = Sipp::start(label, Scenario::BuiltIn("uac"), carrier_ip, 5060, Some(&format!("{pbx_ip}:5060")), 1, &["-s", did])?;
    if let Err(e) = carrier.expect_success(Duration::from_secs(20)).await {
        let seen: Vec<Vec<String>> = far.iter().map(|s| s.received_requests()).collect();
        anyhow::bail!("{e}\nfar ends received: {seen:?}\n{}", asterisk.console_tail());
    }
    Ok(())
}

/// The carrier calls `did`; the server at `server_ip` rings and never
/// answers, and the call fails over to the far end at `far_ip` (sipp,
/// answering). The INVITEs the server and the far end received.
#[allow(clippy::too_many_arguments)]
async fn ringing_server_fails_over(label: &str, asterisk: &AsteriskInstance, carrier_ip: &str, pbx_ip: &str, did: &str, server_ip: &str, far_ip: &str) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let mut pbx = Sipp::start(&format!("server-ringing-{label}"), Scenario::Xml(&ringing_until_cancelled("180 Ringing")), server_ip, 5060, None, 1, &[])?;
    pbx.wait_listening().await?;
    let mut far = Sipp::start(&format!("failover-{label}"), Scenario::BuiltIn("uas"), far_ip, 5060, None, 1, &[])?;
    far.wait_listening().await?;
    carrier_call(&format!("carrier-{label}"), carrier_ip, pbx_ip, did, asterisk, &[&pbx, &far]).await?;
    far.expect_success(Duration::from_secs(10)).await?;
    pbx.expect_success(Duration::from_secs(10)).await?;
    Ok((invites(&pbx), invites(&far)))
}

/// The carrier calls `did`; the server at `ip` (sipp, answering) receives
/// exactly one INVITE, to `user`. Returns the server's sipp for more checks.
async fn did_reaches_server(asterisk: &AsteriskInstance, carrier_ip: &str, pbx_ip: &str, did: &str, ip: &str, user: &str) -> anyhow::Result<Sipp> {
    let mut pbx = Sipp::start(&format!("server-{user}"), Scenario::BuiltIn("uas"), ip, 5060, None, 1, &[])?;
    pbx.wait_listening().await?;
    carrier_call(&format!("carrier-{did}"), carrier_ip, pbx_ip, did, asterisk, &[&pbx]).await?;
    pbx.expect_success(Duration::from_secs(10)).await?;
    let received = invites(&pbx);
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].starts_with(&format!("INVITE sip:{user}@{ip}:5060 ")), "DID {did} as {user}: {received:?}");
    Ok(pbx)
}

#[tokio::test]
async fn did_reaches_the_server_in_its_inbound_format() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.0.70";
    const CARRIER_IP: &str = "127.0.0.71";
    const E164_SERVER_IP: &str = "127.0.0.72";
    const NPAN_SERVER_IP: &str = "127.0.0.73";
    let started = Instant::now();
    let (asterisk, server, ami, t, account) = setup("kazoo-format", PBX_IP, 15170).await?;
    carrier_trunk(&server, &t, &[CARRIER_IP]).await?;
    let doc = connectivity(&server, &t, &account, json!({
        "name": "formats",
        "servers": [{
            "name": "e164 PBX",
            "auth": {"auth_method": "IP", "ip": E164_SERVER_IP, "port": 5060},
            "options": {"inbound_format": "e164", "media_handling": "process"},
            "DIDs": {"+14158867900": {}}
        }, {
            "name": "npan PBX",
            "auth": {"auth_method": "IP", "ip": NPAN_SERVER_IP, "port": 5060},
            "options": {"inbound_format": "npan", "media_handling": "process"},
            "DIDs": {"+14158867901": {}}
        }]
    }))
    .await?;
    wait_endpoints(&ami, &["carrier", &format!("kz-{doc}-0"), &format!("kz-{doc}-1")]).await?;
    wait_dids(&ami, &["14158867900", "14158867901"]).await?;
    eprintln!("configured after {:?}", started.elapsed());

    for (did, ip, user) in [("14158867900", E164_SERVER_IP, "+14158867900"), ("14158867901", NPAN_SERVER_IP, "4158867901")] {
        did_reaches_server(&asterisk, CARRIER_IP, PBX_IP, did, ip, user).await?;
    }
    eprintln!("calls done after {:?}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn unanswered_server_fails_over_to_the_sip_uri() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.0.74";
    const CARRIER_IP: &str = "127.0.0.75";
    const SERVER_IP: &str = "127.0.0.76";
    const FAILOVER_IP: &str = "127.0.0.77";
    const DID: &str = "14158867910";
    let started = Instant::now();
    let (asterisk, server, ami, t, account) = setup("kazoo-failover", PBX_IP, 15171).await?;
    carrier_trunk(&server, &t, &[CARRIER_IP]).await?;
    let doc = connectivity(&server, &t, &account, json!({
        "servers": [{
            "name": "HQ PBX",
            "auth": {"auth_method": "IP", "ip": SERVER_IP, "port": 5060},
            "options": {"inbound_format": "npan", "media_handling": "process", "timeout": 2,
                        "failover": {"sip": format!("sip:night@{FAILOVER_IP}:5060")}},
            "DIDs": {format!("+{DID}"): {}}
        }]
    }))
    .await?;
    wait_endpoints(&ami, &["carrier", &format!("kz-{doc}-0")]).await?;
    wait_dids(&ami, &[DID]).await?;
    eprintln!("configured after {:?}", started.elapsed());

    // The server rings and never answers.
    let (rung, received) = ringing_server_fails_over("1", &asterisk, CARRIER_IP, PBX_IP, DID, SERVER_IP, FAILOVER_IP).await?;
    assert_eq!(rung.len(), 1, "{rung:?}");
    assert!(received.len() == 1 && received[0].starts_with(&format!("INVITE sip:night@{FAILOVER_IP}:5060 ")), "{received:?}");
    eprintln!("failover from a ringing server after {:?}", started.elapsed());

    // No server at all: the INVITE goes unanswered until the timeout.
    let mut night = Sipp::start("failover-2", Scenario::BuiltIn("uas"), FAILOVER_IP, 5060, None, 1, &[])?;
    night.wait_listening().await?;
    carrier_call("carrier-2", CARRIER_IP, PBX_IP, DID, &asterisk, &[&night]).await?;
    night.expect_success(Duration::from_secs(10)).await?;
    let received = invites(&night);
    assert!(received.len() == 1 && received[0].starts_with(&format!("INVITE sip:night@{FAILOVER_IP}:5060 ")), "{received:?}");
    eprintln!("failover from an absent server after {:?}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn disabled_server_rejects_the_call() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.0.78";
    const CARRIER_IP: &str = "127.0.0.79";
    const SERVER_IP: &str = "127.0.0.80";
    const DID: &str = "14158867920";
    let started = Instant::now();
    let (asterisk, server, ami, t, account) = setup("kazoo-disabled", PBX_IP, 15172).await?;
    carrier_trunk(&server, &t, &[CARRIER_IP]).await?;
    let doc = connectivity(&server, &t, &account, json!({
        "servers": [{
            "name": "Disabled PBX",
            "auth": {"auth_method": "IP", "ip": SERVER_IP, "port": 5060},
            "options": {"enabled": false, "media_handling": "process"},
            "DIDs": {format!("+{DID}"): {}}
        }]
    }))
    .await?;
    wait_endpoints(&ami, &["carrier", &format!("kz-{doc}-0")]).await?;
    wait_dids(&ami, &[DID]).await?;

    let mut pbx = Sipp::start("server-disabled", Scenario::BuiltIn("uas"), SERVER_IP, 5060, None, 1, &[])?;
    pbx.wait_listening().await?;
    // Hangup(21), call rejected: 403.
    let mut carrier = Sipp::start("carrier-rejected", Scenario::Xml(&carrier_expecting_failure(403)), CARRIER_IP, 5060, Some(&format!("{PBX_IP}:5060")), 1, &["-s", DID])?;
    if let Err(e) = carrier.expect_success(Duration::from_secs(15)).await {
        anyhow::bail!("{e}\nserver received: {:?}\n{}", pbx.received_requests(), asterisk.console_tail());
    }
    assert!(invites(&pbx).is_empty(), "the disabled server got {:?}", pbx.received_requests());
    eprintln!("rejected after {:?}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn account_trunks_limit_rejects_a_second_concurrent_call() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.0.81";
    const CARRIER_IP: &str = "127.0.0.82";
    const CARRIER2_IP: &str = "127.0.0.83";
    const SERVER_IP: &str = "127.0.0.84";
    const DID: &str = "14158867930";
    let started = Instant::now();
    let (asterisk, server, ami, t, account) = setup("kazoo-limit", PBX_IP, 15173).await?;
    carrier_trunk(&server, &t, &[CARRIER_IP, CARRIER2_IP]).await?;
    let doc = connectivity(&server, &t, &account, json!({
        "account": {"trunks": 1},
        "servers": [{
            "name": "One-trunk PBX",
            "auth": {"auth_method": "IP", "ip": SERVER_IP, "port": 5060},
            "options": {"media_handling": "process"},
            "DIDs": {format!("+{DID}"): {}}
        }]
    }))
    .await?;
    wait_endpoints(&ami, &["carrier", &format!("kz-{doc}-0")]).await?;
    wait_dids(&ami, &[DID]).await?;

    let mut pbx = Sipp::start("server-limit", Scenario::BuiltIn("uas"), SERVER_IP, 5060, None, 1, &[])?;
    pbx.wait_listening().await?;
    // The first call stays up 6 s before its BYE.
    let mut first = Sipp::start("carrier-first", Scenario::BuiltIn("uac"), CARRIER_IP, 5060, Some(&format!("{PBX_IP}:5060")), 1, &["-s", DID, "-d", "6000"])?;
    eventually("the first call to reach the server", Duration::from_secs(10), || async { (!invites(&pbx).is_empty()).then_some(()) }).await?;
    // Hangup(34) at the limit: 503.
    let mut second = Sipp::start("carrier-second", Scenario::Xml(&carrier_expecting_failure(503)), CARRIER2_IP, 5060, Some(&format!("{PBX_IP}:5060")), 1, &["-s", DID])?;
    if let Err(e) = second.expect_success(Duration::from_secs(10)).await {
        anyhow::bail!("{e}\nserver received: {:?}\n{}", pbx.received_requests(), asterisk.console_tail());
    }
    assert!(first.wait(Duration::from_millis(0)).await.is_err(), "the first call must still be up when the second is refused");
    if let Err(e) = first.expect_success(Duration::from_secs(15)).await {
        anyhow::bail!("{e}\n{}", asterisk.console_tail());
    }
    pbx.expect_success(Duration::from_secs(5)).await?;
    assert_eq!(invites(&pbx).len(), 1, "only the first call reaches the server: {:?}", pbx.received_requests());
    eprintln!("limit checked after {:?}", started.elapsed());
    Ok(())
}


#[tokio::test]
async fn one_npan_and_username_formats_headers_and_delay_on_real_calls() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.1.20";
    const CARRIER_IP: &str = "127.0.1.21";
    const ONE_NPAN_SERVER_IP: &str = "127.0.1.22";
    const USERNAME_SERVER_IP: &str = "127.0.1.23";
    let started = Instant::now();
    let (asterisk, server, ami, t, account) = setup("kazoo-format2", PBX_IP, 16010).await?;
    carrier_trunk(&server, &t, &[CARRIER_IP]).await?;
    let doc = connectivity(&server, &t, &account, json!({
        "name": "formats-2",
        "servers": [{
            "name": "1npan PBX",
            "auth": {"auth_method": "IP", "ip": ONE_NPAN_SERVER_IP, "port": 5060},
            "options": {"inbound_format": "1npan", "media_handling": "process", "sip_headers": [{"X-Account": "acme-42"}], "delay": 2},
            "DIDs": {"+14158867940": {}}
        }, {
            "name": "username PBX",
            "auth": {"auth_method": "Password", "auth_user": "pbx-user-7", "auth_password": "pbx-secret-7"},
            "options": {"inbound_format": "username", "media_handling": "process", "ip": USERNAME_SERVER_IP, "port": 5060},
            "DIDs": {"+14158867941": {}}
        }]
    }))
    .await?;
    wait_endpoints(&ami, &["carrier", &format!("kz-{doc}-0"), &format!("kz-{doc}-1")]).await?;
    wait_dids(&ami, &["14158867940", "14158867941"]).await?;
    eprintln!("configured after {:?}", started.elapsed());

    for (did, ip, user) in [("14158867940", ONE_NPAN_SERVER_IP, "14158867940"), ("14158867941", USERNAME_SERVER_IP, "pbx-user-7")] {
        let sent = Instant::now();
        let pbx = did_reaches_server(&asterisk, CARRIER_IP, PBX_IP, did, ip, user).await?;
        let first = format!("INVITE sip:{user}@{ip}:5060 ");
        if user == "14158867940" {
            let header = pbx.header_of(&first, "X-Account");
            assert_eq!(header.as_deref(), Some("X-Account: acme-42"), "{}", pbx.messages());
            // `delay: 2`: the INVITE left at least two seconds after the carrier's.
            assert!(sent.elapsed() >= Duration::from_secs(2), "{:?}", sent.elapsed());
        }
    }
    eprintln!("calls done after {:?}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn calls_from_a_server_present_the_did_caller_id_then_the_servers_then_the_accounts() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.1.24";
    const CARRIER_IP: &str = "127.0.1.25";
    const SERVER_IP: &str = "127.0.1.26";
    const BRANCH_IP: &str = "127.0.11.20";
    let started = Instant::now();
    let (asterisk, server, ami, t, account) = setup("kazoo-callerid", PBX_IP, 16011).await?;
    // The carrier: DIDs arrive from it, and an outcall sends calls to it.
    carrier_with_route(&server, &t, CARRIER_IP, CARRIER_IP, "_+1NXXNXXXXXX").await?;
    let doc = connectivity(&server, &t, &account, json!({
        "name": "caller-ids",
        "account": {"caller_id": {"cid_name": "Acme", "cid_number": "+14155550300"}},
        "servers": [{
            "name": "HQ",
            "auth": {"auth_method": "IP", "ip": SERVER_IP, "port": 5060},
            "options": {"inbound_format": "e164", "media_handling": "process", "caller_id": {"cid_name": "HQ", "cid_number": "+14155550200"}},
            "DIDs": {"+14158867950": {"caller_id": {"cid_name": "Sales", "cid_number": "+14155550150"}}}
        }, {
            "name": "Branch (no caller ID of its own)",
            "auth": {"auth_method": "IP", "ip": BRANCH_IP, "port": 5060},
            "options": {"inbound_format": "e164", "media_handling": "process"},
            "DIDs": {"+14158867951": {}}
        }]
    }))
    .await?;
    wait_endpoints(&ami, &["carrier", &format!("kz-{doc}-0"), &format!("kz-{doc}-1")]).await?;
    wait_dids(&ami, &["14158867950", "14158867951"]).await?;
    eprintln!("configured after {:?}", started.elapsed());

    // Kazoo's precedence DID > server > account, every level set: the DID's
    // caller ID for its E.164 form and its 10 NANP digits; the server's for
    // any other calling number (not the account's); the account's for a
    // server with none (and a DID with none).
    for (server_ip, from, presented) in [
        (SERVER_IP, "+14158867950", "+14155550150"),
        (SERVER_IP, "4158867950", "+14155550150"),
        (SERVER_IP, "+14159999999", "+14155550200"),
        (BRANCH_IP, "+14158867951", "+14155550300"),
        (BRANCH_IP, "+14159999999", "+14155550300"),
    ] {
        let mut carrier = Sipp::start(&format!("carrier-cid-{from}"), Scenario::BuiltIn("uas"), CARRIER_IP, 5060, None, 1, &[])?;
        carrier.wait_listening().await?;
        let xml = answered_call("Server", from, None, &[]);
        let mut pbx = Sipp::start(&format!("server-cid-{from}"), Scenario::Xml(&xml), server_ip, 5060, Some(&format!("{PBX_IP}:5060")), 1, &["-s", "+12125550123"])?;
        if let Err(e) = pbx.expect_success(Duration::from_secs(20)).await {
            anyhow::bail!("{e}\ncarrier received: {}\n{}", carrier.messages(), asterisk.console_tail());
        }
        carrier.expect_success(Duration::from_secs(10)).await?;
        let invite = format!("INVITE sip:+12125550123@{CARRIER_IP}");
        let from_header = carrier.header_of(&invite, "From").unwrap_or_default();
        assert!(from_header.contains(&format!("<sip:{presented}@")), "{server_ip} calling {from}: {from_header}\n{}", carrier.messages());
    }
    eprintln!("calls done after {:?}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn a_server_without_progress_is_cancelled_after_progress_timeout_then_fails_over() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.11.1";
    const CARRIER_IP: &str = "127.0.11.2";
    const SERVER_IP: &str = "127.0.11.3";
    const FAILOVER_IP: &str = "127.0.11.4";
    const DID: &str = "14158867960";
    let started = Instant::now();
    let (asterisk, server, ami, t, account) = setup("kazoo-progress", PBX_IP, 17000).await?;
    carrier_trunk(&server, &t, &[CARRIER_IP]).await?;
    // `timeout` 20 s to answer, but `progress_timeout` 2 s to ring or send
    // early media: `Dial(…,20^2)`.
    let doc = connectivity(&server, &t, &account, json!({
        "servers": [{
            "name": "Silent PBX",
            "auth": {"auth_method": "IP", "ip": SERVER_IP, "port": 5060},
            "options": {"inbound_format": "npan", "media_handling": "process", "timeout": 20, "progress_timeout": 2,
                        "failover": {"sip": format!("sip:night@{FAILOVER_IP}:5060")}},
            "DIDs": {format!("+{DID}"): {}}
        }]
    }))
    .await?;
    wait_endpoints(&ami, &["carrier", &format!("kz-{doc}-0")]).await?;
    wait_dids(&ami, &[DID]).await?;
    eprintln!("configured after {:?}", started.elapsed());

    // The server only says 100 Trying: no ringing, no early media.
    let mut pbx = Sipp::start("server-silent", Scenario::Xml(&ringing_until_cancelled("100 Trying")), SERVER_IP, 5060, None, 1, &[])?;
    pbx.wait_listening().await?;
    let mut night = Sipp::start("failover-night", Scenario::BuiltIn("uas"), FAILOVER_IP, 5060, None, 1, &[])?;
    night.wait_listening().await?;
    let mut carrier = Sipp::start("carrier-progress", Scenario::BuiltIn("uac"), CARRIER_IP, 5060, Some(&format!("{PBX_IP}:5060")), 1, &["-s", DID])?;
    let server_rung = eventually("the server to get the INVITE", Duration::from_secs(10), || async {
        (!invites(&pbx).is_empty()).then(Instant::now)
    })
    .await?;
    let failover = format!("INVITE sip:night@{FAILOVER_IP}:5060 ");
    if !night.wait_request(&failover, Duration::from_secs(15)).await {
        anyhow::bail!("no failover INVITE\nserver: {}\nnight: {}\n{}", pbx.messages(), night.messages(), asterisk.console_tail());
    }
    let waited = server_rung.elapsed();
    // Cancelled after the 2 s without progress, long before the 20 s timeout
    // (the failover INVITE is seen through sipp's log, polled every 50 ms).
    assert!(waited >= Duration::from_secs(1) && waited < Duration::from_secs(10), "failover {waited:?} after the server's INVITE");
    if let Err(e) = carrier.expect_success(Duration::from_secs(20)).await {
        anyhow::bail!("{e}\n{}", asterisk.console_tail());
    }
    pbx.expect_success(Duration::from_secs(10)).await?;
    night.expect_success(Duration::from_secs(10)).await?;
    assert_eq!(invites(&pbx).len(), 1, "{}", pbx.messages());
    assert!(pbx.received_requests().iter().any(|r| r.starts_with("CANCEL ")), "{}", pbx.messages());
    eprintln!("progress timeout: failover {waited:?} after the server's INVITE; done after {:?}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn an_unanswered_did_fails_over_to_its_e164_number_through_the_carrier() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.11.10";
    const CARRIER_IP: &str = "127.0.11.11";
    const CARRIER_OUT_IP: &str = "127.0.11.12";
    const SERVER_IP: &str = "127.0.11.13";
    const DID: &str = "14158867970";
    const FAILOVER_NUMBER: &str = "14155550999";
    let started = Instant::now();
    let (asterisk, server, ami, t, account) = setup("kazoo-e164", PBX_IP, 17001).await?;
    // The carrier: DIDs arrive from CARRIER_IP, outgoing calls go to
    // CARRIER_OUT_IP (two sipps cannot share one address and port).
    carrier_with_route(&server, &t, CARRIER_IP, CARRIER_OUT_IP, "_1NXXNXXXXXX").await?;
    let doc = connectivity(&server, &t, &account, json!({
        "servers": [{
            "name": "Ringing PBX",
            "auth": {"auth_method": "IP", "ip": SERVER_IP, "port": 5060},
            "options": {"inbound_format": "npan", "media_handling": "process", "timeout": 2},
            "DIDs": {format!("+{DID}"): {"failover": {"e164": format!("+{FAILOVER_NUMBER}")}}}
        }]
    }))
    .await?;
    wait_endpoints(&ami, &["carrier", &format!("kz-{doc}-0")]).await?;
    wait_dids(&ami, &[DID]).await?;
    eprintln!("configured after {:?}", started.elapsed());

    // The server rings and never answers; after `timeout` the DID's
    // `failover.e164` is dialled through the route `_1NXXNXXXXXX` → carrier.
    let (rung, received) = ringing_server_fails_over("e164", &asterisk, CARRIER_IP, PBX_IP, DID, SERVER_IP, CARRIER_OUT_IP).await?;
    assert!(rung.len() == 1 && rung[0].starts_with(&format!("INVITE sip:{}@{SERVER_IP}:5060 ", &DID[1..])), "{rung:?}");
    assert!(
        received.len() == 1 && received[0].starts_with(&format!("INVITE sip:{FAILOVER_NUMBER}@{CARRIER_OUT_IP}:5060 ")),
        "{received:?}"
    );
    eprintln!("e164 failover after {:?}", started.elapsed());
    Ok(())
}
