//! Number plans on real calls: a trunk whose plan says Canada, called
//! numbers in `+E.164` and caller IDs in E.164, DIDs normalised to E.164.
//!
//! - Out: the phone dials `95145550100` (outcall `_9X.`, strip 1, caller ID
//!   `"Shop" <5145550199>`); the provider (sipp) receives
//!   `INVITE sip:+15145550100@…` with `15145550199` in From.
//! - In: the provider calls the DID in three forms (`5145550100`,
//!   `+15145550100`, `01115145550100`); each reaches the incall
//!   `15145550100` and rings the phone.
//!
//! - Emergency: the route `911` sends the site's callback number whatever
//!   the caller's own; lint names a tenant without one; the test mode calls
//!   the test number `933` through the route's trunk, never `911`.
//!
//! - DID in a header: the provider calls its pilot number `4165550000` (the
//!   Request-URI) and puts the DID in To, P-Preferred-Identity or
//!   Diversion; with the trunk's `did_from` set to that header, each call
//!   reaches the incall `15145550100`, while the two other headers carry a
//!   number without an incall.
//!
//! Addresses 127.0.1.10 (Asterisk), .11 (provider), .12 (phone); AMI 16000.
//! Emergency: 127.0.1.30 (Asterisk), .31 (provider), .32 (phone); AMI 16001.
//! DID in a header: 127.0.1.40 (Asterisk), .41 (provider), .42 (phone); AMI 16002.

use std::time::{Duration, Instant};

use patchbay_e2e::app::{PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_e2e::sipp::pbx::{API, id, incall_to_user, sipp_phone, uuid, wait_endpoints};
use patchbay_e2e::sipp::scenarios::answered_call;
use patchbay_e2e::sipp::{Scenario, Sipp};
use serde_json::json;


/// A provider trunk `name` at `ip` (identified by its address, sending PAI),
/// whose calls land in `from-extern`. No connected-line updates: Asterisk
/// would otherwise re-INVITE the provider's answered call with the phone's
/// identity, at a moment that depends on the load, which sipp's plain
/// caller scenarios do not expect.
async fn provider_trunk(server: &PatchbayServer, t: &str, name: &str, ip: &str) -> anyhow::Result<serde_json::Value> {
    let endpoint = server
        .expect(t, "POST", &format!("{API}/endpoints/sip"), Some(json!({
            "name": name, "label": format!("provider {name}"),
            "endpoint_section_options": [["allow", "!all,ulaw"], ["send_pai", "yes"], ["send_connected_line", "no"]],
            "aor_section_options": [["contact", format!("sip:{ip}:5060")]],
            "identify_section_options": [["match", ip]],
        })), 201)
        .await?;
    let trunk = server.expect(t, "POST", &format!("{API}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
    server.expect(t, "PUT", &format!("{API}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&endpoint)), None, 204).await?;
    Ok(trunk)
}

#[tokio::test]
async fn a_trunk_number_plan_converts_numbers_both_ways() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.1.10";
    const PROVIDER_IP: &str = "127.0.1.11";
    const PHONE_IP: &str = "127.0.1.12";
    let started = Instant::now();
    let asterisk = AsteriskInstance::start("calls-numbers", PBX_IP, 16000).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let t = server.admin_token().await?;

    let trunk = provider_trunk(&server, &t, "carrier", PROVIDER_IP).await?;
    let plan = json!({"country": "CA", "outbound": "plus_e164", "caller_id": "e164", "inbound": "e164"});
    server.expect(&t, "PUT", &format!("{API}/trunks/{}", id(&trunk)), Some(json!({"number_plan": plan})), 204).await?;
    // A partial PUT of another key keeps the plan.
    server.expect(&t, "PUT", &format!("{API}/trunks/{}", id(&trunk)), Some(json!({"description": "CA carrier"})), 204).await?;
    let read = server.expect(&t, "GET", &format!("{API}/trunks/{}", id(&trunk)), None, 200).await?;
    assert_eq!(read["number_plan"], plan, "{read}");
    // An unknown country is refused, naming the field.
    let (status, body) = server.call(&t, "PUT", &format!("{API}/trunks/{}", id(&trunk)), Some(json!({"number_plan": {"country": "ZZ"}}))).await?;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("number_plan"), "{body}");

    let outcall = server.expect(&t, "POST", &format!("{API}/outcalls"), Some(json!({"name": "canada"})), 201).await?;
    server.expect(&t, "PUT", &format!("{API}/outcalls/{}/trunks", id(&outcall)), Some(json!({"trunks": [{"id": id(&trunk)}]})), 204).await?;
    let pattern = server.expect(&t, "POST", &format!("{API}/extensions"), Some(json!({"exten": "_9X.", "context": "to-extern"})), 201).await?;
    server
        .expect(&t, "PUT", &format!("{API}/outcalls/{}/extensions/{}", id(&outcall), id(&pattern)), Some(json!({"strip_digits": 1, "caller_id": "\"Shop\" <5145550199>"})), 204)
        .await?;
    let user = sipp_phone(&server, &t, "desk", "1001", PHONE_IP, "1001").await?;
    incall_to_user(&server, &t, "15145550100", "from-extern", user).await?;
    wait_endpoints(&ami, &["carrier", "desk"]).await?;
    eprintln!("configured after {:?}", started.elapsed());

    // Out: the provider sees the number in +E.164 and the caller ID in E.164.
    let mut provider = Sipp::start("numbers-provider", Scenario::BuiltIn("uas"), PROVIDER_IP, 5060, None, 1, &[])?;
    provider.wait_listening().await?;
    let mut phone = Sipp::start("numbers-phone", Scenario::BuiltIn("uac"), PHONE_IP, 5060, Some(&format!("{PBX_IP}:5060")), 1, &["-s", "95145550100"])?;
    if let Err(e) = phone.expect_success(Duration::from_secs(20)).await {
        anyhow::bail!("{e}\nprovider received: {}\n{}", provider.messages(), asterisk.console_tail());
    }
    provider.expect_success(Duration::from_secs(10)).await?;
    let invite = format!("INVITE sip:+15145550100@{PROVIDER_IP}");
    assert!(provider.received_requests().iter().any(|r| r.starts_with(&invite)), "{:?}", provider.received_requests());
    let messages = provider.messages();
    let from = provider.header_of(&invite, "From").unwrap_or_default();
    assert!(from.contains("\"Shop\" <sip:15145550199@"), "{from}\n{messages}");
    let pai = provider.header_of(&invite, "P-Asserted-Identity").unwrap_or_default();
    assert!(pai.contains("sip:15145550199@"), "{pai}\n{messages}");
    drop(provider);
    drop(phone);
    eprintln!("outbound call after {:?}", started.elapsed());

    // In: three forms of the DID reach the same incall.
    let mut desk = Sipp::start("numbers-desk", Scenario::BuiltIn("uas"), PHONE_IP, 5060, None, 3, &[])?;
    desk.wait_listening().await?;
    for did in ["5145550100", "+15145550100", "01115145550100"] {
        let mut caller = Sipp::start(&format!("numbers-in-{did}"), Scenario::BuiltIn("uac"), PROVIDER_IP, 5060, Some(&format!("{PBX_IP}:5060")), 1, &["-s", did])?;
        if let Err(e) = caller.expect_success(Duration::from_secs(20)).await {
            anyhow::bail!("DID {did}: {e}\ndesk received: {:?}\n{}", desk.received_requests(), asterisk.console_tail());
        }
    }
    desk.expect_success(Duration::from_secs(10)).await?;
    let invites: Vec<String> = desk.received_requests().into_iter().filter(|r| r.starts_with("INVITE ")).collect();
    assert_eq!(invites.len(), 3, "{invites:?}");
    assert!(invites.iter().all(|r| r.starts_with(&format!("INVITE sip:1001@{PHONE_IP}"))), "{invites:?}");
    eprintln!("inbound calls after {:?}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn an_emergency_route_sends_the_callback_number_and_its_test_mode_calls_the_test_number() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.1.30";
    const PROVIDER_IP: &str = "127.0.1.31";
    const PHONE_IP: &str = "127.0.1.32";
    let started = Instant::now();
    let asterisk = AsteriskInstance::start("calls-emergency", PBX_IP, 16001).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let t = server.admin_token().await?;

    let trunk = provider_trunk(&server, &t, "psap-carrier", PROVIDER_IP).await?;
    server
        .expect(&t, "PUT", &format!("{API}/trunks/{}", id(&trunk)), Some(json!({"number_plan": {"country": "US", "caller_id": "plus_e164"}})), 204)
        .await?;
    // An ordinary route first: lint says the tenant has no emergency route.
    let outcall = server.expect(&t, "POST", &format!("{API}/outcalls"), Some(json!({"name": "long-distance"})), 201).await?;
    server.expect(&t, "PUT", &format!("{API}/outcalls/{}/trunks", id(&outcall)), Some(json!({"trunks": [{"id": id(&trunk)}]})), 204).await?;
    let lint = server.expect(&t, "GET", "/api/patchbay/1.0/lint", None, 200).await?;
    assert!(lint["items"].as_array().into_iter().flatten().any(|l| l["code"] == "no-emergency-route"), "{lint}");

    let emergency = server
        .expect(&t, "POST", &format!("{API}/outcalls"), Some(json!({"name": "emergency", "emergency": {"callback_number": "2125550100", "test_number": "933"}})), 201)
        .await?;
    server.expect(&t, "PUT", &format!("{API}/outcalls/{}/trunks", id(&emergency)), Some(json!({"trunks": [{"id": id(&trunk)}]})), 204).await?;
    let pattern = server.expect(&t, "POST", &format!("{API}/extensions"), Some(json!({"exten": "911", "context": "to-extern"})), 201).await?;
    server.expect(&t, "PUT", &format!("{API}/outcalls/{}/extensions/{}", id(&emergency), id(&pattern)), None, 204).await?;
    let lint = server.expect(&t, "GET", "/api/patchbay/1.0/lint", None, 200).await?;
    assert!(!lint["items"].as_array().into_iter().flatten().any(|l| l["code"].as_str().is_some_and(|c| c.contains("emergency"))), "{lint}");
    // A test number that is an emergency number is refused.
    let (status, body) = server
        .call(&t, "PUT", &format!("{API}/outcalls/{}", id(&emergency)), Some(json!({"emergency": {"callback_number": "2125550100", "test_number": "911"}})))
        .await?;
    assert_eq!(status, 204, "{body}");
    let (status, body) = server.call(&t, "POST", &format!("/api/patchbay/1.0/outcalls/{}/emergency-test", id(&emergency)), None).await?;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("one of the route's emergency numbers"), "{body}");
    server
        .expect(&t, "PUT", &format!("{API}/outcalls/{}", id(&emergency)), Some(json!({"emergency": {"callback_number": "2125550100", "test_number": "933"}})), 204)
        .await?;
    let user = sipp_phone(&server, &t, "lobby", "1001", PHONE_IP, "1001").await?;
    server.expect(&t, "PUT", &format!("{API}/users/{user}"), Some(json!({"outgoing_caller_id": "\"Lobby\" <4155550199>"})), 204).await?;
    wait_endpoints(&ami, &["psap-carrier", "lobby"]).await?;
    eprintln!("configured after {:?}", started.elapsed());

    // A real emergency call: the callback number, in the trunk's format.
    let mut provider = Sipp::start("emergency-provider", Scenario::BuiltIn("uas"), PROVIDER_IP, 5060, None, 1, &[])?;
    provider.wait_listening().await?;
    let mut phone = Sipp::start("emergency-phone", Scenario::BuiltIn("uac"), PHONE_IP, 5060, Some(&format!("{PBX_IP}:5060")), 1, &["-s", "911"])?;
    if let Err(e) = phone.expect_success(Duration::from_secs(20)).await {
        anyhow::bail!("{e}\nprovider received: {}\n{}", provider.messages(), asterisk.console_tail());
    }
    provider.expect_success(Duration::from_secs(10)).await?;
    let invite = format!("INVITE sip:911@{PROVIDER_IP}");
    let from = provider.header_of(&invite, "From").unwrap_or_default();
    assert!(from.contains("<sip:+12125550100@"), "{from}\n{}", provider.messages());
    drop(provider);

    // The test mode: 933 through the same trunk, never 911.
    let mut provider = Sipp::start("emergency-test", Scenario::BuiltIn("uas"), PROVIDER_IP, 5060, None, 1, &[])?;
    provider.wait_listening().await?;
    let report = server.expect(&t, "POST", &format!("/api/patchbay/1.0/outcalls/{}/emergency-test", id(&emergency)), None, 200).await?;
    assert_eq!(report["trunk_id"], json!(id(&trunk)), "{report}");
    assert_eq!(report["number"], "933", "{report}");
    assert_eq!(report["caller_id"], "+12125550100", "{report}");
    assert_eq!(report["outcome"]["cause"]["sip_code"], 200, "{report}");
    provider.expect_success(Duration::from_secs(10)).await?;
    let received = provider.received_requests();
    assert!(received.iter().any(|r| r.starts_with(&format!("INVITE sip:933@{PROVIDER_IP}"))), "{received:?}");
    assert!(!received.iter().any(|r| r.contains("sip:911@")), "{received:?}");
    let from = provider.header_of(&format!("INVITE sip:933@{PROVIDER_IP}"), "From").unwrap_or_default();
    assert!(from.contains("+12125550100"), "{from}");
    eprintln!("emergency calls after {:?}", started.elapsed());
    Ok(())
}

/// A provider's call to its pilot number (`-s`, the Request-URI) carrying
/// `to`, `ppi` and `diversion` as the users of the To, P-Preferred-Identity
/// and Diversion headers.
fn provider_call_with_did_headers(to: &str, ppi: &str, diversion: &str) -> String {
    let headers = [
        format!("P-Preferred-Identity: <sip:{ppi}@[local_ip]>"),
        format!("Diversion: <sip:{diversion}@[local_ip]>;reason=unconditional"),
    ];
    answered_call("Caller", "2125550123", Some(to), &headers)
}

#[tokio::test]
async fn a_did_taken_from_a_header_reaches_its_incall_whatever_the_request_uri() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.1.40";
    const PROVIDER_IP: &str = "127.0.1.41";
    const PHONE_IP: &str = "127.0.1.42";
    /// The provider's pilot number: the Request-URI of every call, no incall.
    const PILOT: &str = "4165550000";
    /// A number in the headers that do not hold the DID: no incall either.
    const OTHER: &str = "4165559999";
    let started = Instant::now();
    let asterisk = AsteriskInstance::start("calls-did-from", PBX_IP, 16002).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let t = server.admin_token().await?;

    let trunk = provider_trunk(&server, &t, "did-carrier", PROVIDER_IP).await?;
    let user = sipp_phone(&server, &t, "front", "1001", PHONE_IP, "1001").await?;
    incall_to_user(&server, &t, "15145550100", "from-extern", user).await?;
    wait_endpoints(&ami, &["did-carrier", "front"]).await?;
    eprintln!("configured after {:?}", started.elapsed());

    let mut desk = Sipp::start("did-from-desk", Scenario::BuiltIn("uas"), PHONE_IP, 5060, None, 3, &[])?;
    desk.wait_listening().await?;
    // (did_from, header as Asterisk's dialplan reads it, To, PPI, Diversion):
    // the DID in a different form each time, read in E.164.
    let cases = [
        ("to", "To", "5145550100", OTHER, OTHER),
        ("p_preferred_identity", "P-Preferred-Identity", OTHER, "+15145550100", OTHER),
        ("diversion", "Diversion", OTHER, OTHER, "15145550100"),
    ];
    let entry = format!("dialplan show pb-trunk-in-{}", id(&trunk));
    for (did_from, header, to, ppi, diversion) in cases {
        let plan = json!({"country": "CA", "inbound": "e164", "did_from": did_from});
        server.expect(&t, "PUT", &format!("{API}/trunks/{}", id(&trunk)), Some(json!({"number_plan": plan})), 204).await?;
        let read = server.expect(&t, "GET", &format!("{API}/trunks/{}", id(&trunk)), None, 200).await?;
        assert_eq!(read["number_plan"]["did_from"], did_from, "{read}");
        let reads_header = format!("PJSIP_HEADER(read,{header})");
        eventually(&format!("the trunk's entry to read {header}"), Duration::from_secs(15), || async {
            let lines = ami.command(&entry).await.ok()?;
            lines.iter().any(|line| line.contains(&reads_header)).then_some(())
        })
        .await?;
        let xml = provider_call_with_did_headers(to, ppi, diversion);
        let mut caller = Sipp::start(&format!("did-from-{did_from}"), Scenario::Xml(&xml), PROVIDER_IP, 5060, Some(&format!("{PBX_IP}:5060")), 1, &["-s", PILOT])?;
        if let Err(e) = caller.expect_success(Duration::from_secs(20)).await {
            anyhow::bail!("did_from {did_from}: {e}\ndesk received: {:?}\n{}", desk.received_requests(), asterisk.console_tail());
        }
    }
    desk.expect_success(Duration::from_secs(10)).await?;
    let invites: Vec<String> = desk.received_requests().into_iter().filter(|r| r.starts_with("INVITE ")).collect();
    assert_eq!(invites.len(), 3, "{invites:?}");
    assert!(invites.iter().all(|r| r.starts_with(&format!("INVITE sip:1001@{PHONE_IP}"))), "{invites:?}");

    // Back to the Request-URI: the pilot number has no incall, so the same
    // call is refused (the headers are no longer read).
    let plan = json!({"country": "CA", "inbound": "e164"});
    server.expect(&t, "PUT", &format!("{API}/trunks/{}", id(&trunk)), Some(json!({"number_plan": plan})), 204).await?;
    eventually("the trunk's entry to stop reading headers", Duration::from_secs(15), || async {
        let lines = ami.command(&entry).await.ok()?;
        (!lines.iter().any(|line| line.contains("PJSIP_HEADER(read,"))).then_some(())
    })
    .await?;
    let xml = provider_call_with_did_headers("15145550100", "15145550100", "15145550100");
    let mut caller = Sipp::start("did-from-request-uri", Scenario::Xml(&xml), PROVIDER_IP, 5060, Some(&format!("{PBX_IP}:5060")), 1, &["-s", PILOT])?;
    assert!(caller.expect_success(Duration::from_secs(15)).await.is_err(), "a call to the pilot number was answered");
    eprintln!("calls after {:?}", started.elapsed());
    Ok(())
}
