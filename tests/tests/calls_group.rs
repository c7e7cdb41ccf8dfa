//! An incall to a group, with real calls: a carrier (sipp) calls a DID whose
//! incall rings a group of two users; both phones ring at once, the first
//! answers, the other is cancelled. Configured only through the REST API.
//!
//! AMI port 15260; addresses 127.0.0.245 (Asterisk), .246 (carrier), .247
//! (Alice's phone, answers), .248 (Bob's phone, only rings).

use std::time::{Duration, Instant};

use patchbay_e2e::app::PatchbayServer;
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_e2e::sipp::pbx::{API, id, sipp_phone, uuid, wait_endpoints};
use patchbay_e2e::sipp::scenarios::{caller_accepting_reinvite, ringing_until_cancelled};
use patchbay_e2e::sipp::{Scenario, Sipp};
use serde_json::json;

#[tokio::test]
async fn an_incall_to_a_group_rings_both_members_and_one_answers() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.0.245";
    const CARRIER_IP: &str = "127.0.0.246";
    const ALICE_IP: &str = "127.0.0.247";
    const BOB_IP: &str = "127.0.0.248";
    let started = Instant::now();
    let asterisk = AsteriskInstance::start("calls-group", PBX_IP, 15260).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let t = server.admin_token().await?;

    // The carrier: identified by its address, its calls enter `from-extern`.
    let endpoint = server
        .expect(&t, "POST", &format!("{API}/endpoints/sip"), Some(json!({
            "name": "carrier", "label": "Carrier",
            "endpoint_section_options": [["allow", "!all,ulaw"]],
            "aor_section_options": [["contact", format!("sip:{CARRIER_IP}:5060")]],
            "identify_section_options": [["match", CARRIER_IP]],
        })), 201)
        .await?;
    let trunk = server.expect(&t, "POST", &format!("{API}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
    server.expect(&t, "PUT", &format!("{API}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&endpoint)), None, 204).await?;
    let alice = sipp_phone(&server, &t, "alice-phone", "1001", ALICE_IP, "1001").await?;
    let bob = sipp_phone(&server, &t, "bob-phone", "1002", BOB_IP, "1002").await?;
    let user_uuid = |user: serde_json::Value| user["uuid"].as_str().unwrap_or_default().to_string();
    let alice_uuid = user_uuid(server.expect(&t, "GET", &format!("{API}/users/{alice}"), None, 200).await?);
    let bob_uuid = user_uuid(server.expect(&t, "GET", &format!("{API}/users/{bob}"), None, 200).await?);

    // The group of both, and the DID that rings it.
    let group = server.expect(&t, "POST", &format!("{API}/groups"), Some(json!({"label": "sales", "timeout": 20})), 201).await?;
    server
        .expect(&t, "PUT", &format!("{API}/groups/{}/members/users", id(&group)), Some(json!({"users": [{"uuid": alice_uuid}, {"uuid": bob_uuid}]})), 204)
        .await?;
    let did = server.expect(&t, "POST", &format!("{API}/extensions"), Some(json!({"exten": "5550199", "context": "from-extern"})), 201).await?;
    let incall = server
        .expect(&t, "POST", &format!("{API}/incalls"), Some(json!({"destination": {"type": "group", "group_id": id(&group), "ring_time": 15}})), 201)
        .await?;
    server.expect(&t, "PUT", &format!("{API}/incalls/{}/extensions/{}", id(&incall), id(&did)), None, 204).await?;
    wait_endpoints(&ami, &["carrier", "alice-phone", "bob-phone"]).await?;
    eprintln!("configured after {:?}", started.elapsed());

    // The simulator says who rings before any call is made.
    let trace = server.expect(&t, "POST", "/api/patchbay/1.0/simulate", Some(json!({"trunk_id": id(&trunk), "dialed": "5550199"})), 200).await?;
    let why = trace["explanation"].to_string();
    assert!(why.contains("rings group") && why.contains("alice-phone") && why.contains("bob-phone"), "{trace}");
    assert_eq!(trace["destination"], json!("PJSIP/alice-phone&PJSIP/bob-phone"), "{trace}");

    let mut alice_phone = Sipp::start("group-alice", Scenario::BuiltIn("uas"), ALICE_IP, 5060, None, 1, &[])?;
    let bob_scenario = ringing_until_cancelled("180 Ringing");
    let mut bob_phone = Sipp::start("group-bob", Scenario::Xml(&bob_scenario), BOB_IP, 5060, None, 1, &[])?;
    alice_phone.wait_listening().await?;
    bob_phone.wait_listening().await?;
    let mut carrier = Sipp::start("group-carrier", Scenario::Xml(&caller_accepting_reinvite()), CARRIER_IP, 5060, Some(&format!("{PBX_IP}:5060")), 1, &["-s", "5550199"])?;
    if let Err(e) = carrier.expect_success(Duration::from_secs(25)).await {
        anyhow::bail!("{e}\nalice received: {:?}\nbob received: {:?}\n{}", alice_phone.received_requests(), bob_phone.received_requests(), asterisk.console_tail());
    }
    alice_phone.expect_success(Duration::from_secs(10)).await?;
    // Both rang: each phone got the INVITE of the same call.
    let invite = |received: Vec<String>, user: &str, ip: &str| received.iter().any(|r| r.starts_with(&format!("INVITE sip:{user}@{ip}")));
    assert!(invite(alice_phone.received_requests(), "1001", ALICE_IP), "{:?}", alice_phone.received_requests());
    assert!(invite(bob_phone.received_requests(), "1002", BOB_IP), "{:?}", bob_phone.received_requests());
    // Alice answered, so Bob's ringing was cancelled.
    if let Err(e) = bob_phone.expect_success(Duration::from_secs(10)).await {
        anyhow::bail!("{e}\nbob received: {:?}\n{}", bob_phone.received_requests(), asterisk.console_tail());
    }
    assert!(bob_phone.received_requests().iter().any(|r| r.starts_with("CANCEL ")), "{:?}", bob_phone.received_requests());
    eprintln!("call done after {:?}", started.elapsed());
    Ok(())
}
