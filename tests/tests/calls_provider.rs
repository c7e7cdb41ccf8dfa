//! Seeds 001 and 003 with real calls: one Asterisk driven by Patchbay over
//! AMI, configured only through the REST API, and a VoIP provider played by
//! sipp scenarios that challenge every request with a 401 and accept the
//! authenticated retry.
//!
//! - Seed 003 (authenticate outbound, never register): a call from the
//!   phone through the outcall reaches the provider, authenticated; no
//!   REGISTER ever reaches it and Asterisk has no outbound registration.
//! - Seed 001 (registering provider): the registration is `Registered`, and
//!   (on Asterisk and on Patchbay's `/live`), and a call from the provider to
//!   the public number (incall in `from-extern`) rings the user's phone.
//!
//! AMI ports 15192–15193; addresses 127.0.0.94 (Asterisk), .95 (provider),
//! .96 (phone, UAC), .97 (phone, UAS) for seed 003; 127.0.0.98 (Asterisk),
//! .99 (provider), .100 (phone, UAS) for seed 001.

use std::time::{Duration, Instant};

use patchbay_e2e::app::{PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_e2e::sipp::pbx::{API, id, incall_to_user, registrations, sipp_phone, uuid, wait_endpoints, wait_registered};
use patchbay_e2e::sipp::provider::{PROVIDER_SECRET, PROVIDER_USER, provider_registrar, provider_uas_challenging_invite};
use patchbay_e2e::sipp::scenarios::caller_accepting_reinvite;
use patchbay_e2e::sipp::{Scenario, Sipp};
use serde_json::json;

/// An outcall `_418.` in `to-extern` over `trunk_id`.
async fn outcall_418(s: &PatchbayServer, t: &str, trunk_id: i64) -> anyhow::Result<()> {
    let outcall = s.expect(t, "POST", &format!("{API}/outcalls"), Some(json!({"name": "provider"})), 201).await?;
    s.expect(t, "PUT", &format!("{API}/outcalls/{}/trunks", id(&outcall)), Some(json!({"trunks": [{"id": trunk_id}]})), 204).await?;
    // `_418.`: the seed's `418.` (no `_`) is a literal extension name in
    // Asterisk, which Patchbay renders (and simulates) as such.
    let pattern = s.expect(t, "POST", &format!("{API}/extensions"), Some(json!({"exten": "_418.", "context": "to-extern"})), 201).await?;
    s.expect(t, "PUT", &format!("{API}/outcalls/{}/extensions/{}", id(&outcall), id(&pattern)), None, 204).await?;
    Ok(())
}

#[tokio::test]
async fn seed_003_outbound_authentication_without_registering() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.0.94";
    const PROVIDER_IP: &str = "127.0.0.95";
    const PHONE_IP: &str = "127.0.0.96";
    let started = Instant::now();
    let asterisk = AsteriskInstance::start("calls-auth", PBX_IP, 15192).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let t = server.admin_token().await?;

    // The trunk in the PJSIP shape: the provider's address, outbound
    // authentication, and no registration.
    let endpoint = server
        .expect(&t, "POST", &format!("{API}/endpoints/sip"), Some(json!({
            "name": "bandwidth", "label": "Provider, auth without registration",
            "endpoint_section_options": [["allow", "!all,ulaw"]],
            "aor_section_options": [["contact", format!("sip:{PROVIDER_IP}:5060")]],
            "identify_section_options": [["match", PROVIDER_IP]],
            "outbound_auth_section_options": [["username", PROVIDER_USER], ["password", PROVIDER_SECRET]],
        })), 201)
        .await?;
    let trunk = server.expect(&t, "POST", &format!("{API}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
    server.expect(&t, "PUT", &format!("{API}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&endpoint)), None, 204).await?;
    outcall_418(&server, &t, id(&trunk)).await?;
    sipp_phone(&server, &t, "desk-phone", "1001", PHONE_IP, "desk").await?;
    wait_endpoints(&ami, &["bandwidth", "desk-phone"]).await?;
    eprintln!("configured after {:?}", started.elapsed());

    let mut provider = Sipp::start("provider-003", Scenario::Xml(&provider_uas_challenging_invite()), PROVIDER_IP, 5060, None, 1, &[])?;
    provider.wait_listening().await?;
    let mut phone = Sipp::start("phone-003", Scenario::BuiltIn("uac"), PHONE_IP, 5060, Some(&format!("{PBX_IP}:5060")), 1, &["-s", "4185550100"])?;
    if let Err(e) = phone.expect_success(Duration::from_secs(20)).await {
        anyhow::bail!("{e}\nprovider received: {}\n{}", provider.messages(), asterisk.console_tail());
    }
    provider.expect_success(Duration::from_secs(10)).await?;
    let received = provider.received_requests();
    let invites: Vec<&String> = received.iter().filter(|r| r.starts_with("INVITE ")).collect();
    assert_eq!(invites.len(), 2, "a challenged INVITE and its authenticated retry: {received:?}");
    assert!(invites.iter().all(|r| r.starts_with(&format!("INVITE sip:4185550100@{PROVIDER_IP}"))), "{received:?}");
    assert!(provider.messages().contains(&format!("username=\"{PROVIDER_USER}\"")), "{}", provider.messages());
    assert!(!received.iter().any(|r| r.starts_with("REGISTER")), "the trunk must not register: {received:?}");
    assert!(registrations(&ami).await.is_empty(), "no outbound registration: {:?}", registrations(&ami).await);
    let live = server.expect(&t, "GET", "/api/patchbay/1.0/live", None, 200).await?;
    assert!(live["registrations"].as_object().is_none_or(|r| r.is_empty()), "{live}");
    eprintln!("call done after {:?}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn seed_001_registered_provider_calls_the_public_number() -> anyhow::Result<()> {
    const PBX_IP: &str = "127.0.0.98";
    const PROVIDER_IP: &str = "127.0.0.99";
    const PHONE_IP: &str = "127.0.0.100";
    let started = Instant::now();
    let asterisk = AsteriskInstance::start("calls-provider", PBX_IP, 15193).await?;
    let server = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let ami = asterisk.connect_ami().await?;
    let t = server.admin_token().await?;
    // The registrar is up before the registration exists; it answers every
    // REGISTER until dropped.
    let mut registrar = Sipp::start("registrar-001", Scenario::Xml(&provider_registrar()), PROVIDER_IP, 5060, None, 1, &[])?;
    registrar.wait_listening().await?;

    // Seed 001 verbatim (legacy shape), the provider on PROVIDER_IP.
    let trunk = server.expect(&t, "POST", &format!("{API}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
    let sip = server
        .expect(&t, "POST", &format!("{API}/endpoints/sip"), Some(json!({"username": PROVIDER_USER, "secret": PROVIDER_SECRET, "type": "peer", "host": PROVIDER_IP})), 201)
        .await?;
    server.expect(&t, "PUT", &format!("{API}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&sip)), None, 204).await?;
    let register = server
        .expect(&t, "POST", &format!("{API}/registers/sip"), Some(json!({"auth_username": PROVIDER_USER, "auth_password": PROVIDER_SECRET, "transport": "udp", "remote_host": PROVIDER_IP})), 201)
        .await?;
    server.expect(&t, "PUT", &format!("{API}/trunks/{}/registers/sip/{}", id(&trunk), id(&register)), None, 204).await?;
    outcall_418(&server, &t, id(&trunk)).await?;
    let user = sipp_phone(&server, &t, "front-desk", "1001", PHONE_IP, "1001").await?;
    incall_to_user(&server, &t, "5551234", "from-extern", user).await?;
    wait_endpoints(&ami, &[PROVIDER_USER, "front-desk"]).await?;
    eprintln!("configured after {:?}", started.elapsed());

    if let Err(e) = wait_registered(&ami, PROVIDER_USER).await {
        anyhow::bail!("{e}\nregistrar:\n{}\n{}", registrar.messages(), asterisk.console_tail());
    }
    let received = registrar.received_requests();
    // REGISTERs, plus the aor's qualify OPTIONS when its timer fires before this check.
    assert!(received.iter().any(|r| r.starts_with(&format!("REGISTER sip:{PROVIDER_IP}"))), "{received:?}");
    assert!(
        received.iter().all(|r| r.starts_with(&format!("REGISTER sip:{PROVIDER_IP}")) || r.starts_with("OPTIONS ")),
        "{received:?}"
    );
    assert!(registrar.messages().contains(&format!("username=\"{PROVIDER_USER}\"")), "{}", registrar.messages());
    // Patchbay's live status says so too (from AMI events or its refresh).
    eventually("Patchbay's /live to show the registration Registered", Duration::from_secs(15), || async {
        let live = server.expect(&t, "GET", "/api/patchbay/1.0/live", None, 200).await.ok()?;
        let registration = live["registrations"].as_object()?.values().find(|r| r["name"] == PROVIDER_USER)?.clone();
        (registration["status"] == "Registered").then_some(())
    })
    .await?;
    // The provider's address is needed for its call.
    drop(registrar);
    eprintln!("registered after {:?}", started.elapsed());

    // The provider calls the public number from its own address.
    let mut phone = Sipp::start("phone-001", Scenario::BuiltIn("uas"), PHONE_IP, 5060, None, 1, &[])?;
    phone.wait_listening().await?;
    let mut provider = Sipp::start("provider-001", Scenario::Xml(&caller_accepting_reinvite()), PROVIDER_IP, 5060, Some(&format!("{PBX_IP}:5060")), 1, &["-s", "5551234"])?;
    if let Err(e) = provider.expect_success(Duration::from_secs(20)).await {
        anyhow::bail!("{e}\nphone received: {:?}\n{}", phone.received_requests(), asterisk.console_tail());
    }
    phone.expect_success(Duration::from_secs(10)).await?;
    let received = phone.received_requests();
    assert!(received.iter().find(|r| !r.starts_with("OPTIONS ")).is_some_and(|r| r.starts_with(&format!("INVITE sip:1001@{PHONE_IP}"))), "{received:?}");
    eprintln!("call done after {:?}", started.elapsed());
    Ok(())
}
