//! Seed 000 with real calls: two Asterisks, each driven by its own Patchbay
//! over AMI and configured only through the REST API with the seed's calls.
//! A registers to B; a sipp phone on A dials `**99101`, the outcall strips
//! `**99` and sends `101` over the trunk, B's incall `101` in `from-extern`
//! rings user 101's sipp phone, which answers.
//!
//! AMI ports 15190–15191; addresses 127.0.0.90 (A), .91 (B), .92 (A's
//! phone, a sipp UAC), .93 (B's user 101's phone, a sipp UAS).

use std::time::{Duration, Instant};

use patchbay_e2e::app::{PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use patchbay_e2e::sipp::pbx::{API, contacts, id, incall_to_user, sipp_phone, uuid, wait_endpoints, wait_registered};
use patchbay_e2e::sipp::{Scenario, Sipp};
use serde_json::json;

const A_IP: &str = "127.0.0.90";
const B_IP: &str = "127.0.0.91";
const A_PHONE_IP: &str = "127.0.0.92";
const B_PHONE_IP: &str = "127.0.0.93";

#[tokio::test]
async fn seed_000_call_from_a_phone_on_a_rings_user_101_on_b() -> anyhow::Result<()> {
    let started = Instant::now();
    let (asterisk_a, asterisk_b) =
        tokio::try_join!(AsteriskInstance::start("calls-a", A_IP, 15190), AsteriskInstance::start("calls-b", B_IP, 15191))?;
    let (url_a, url_b) = (asterisk_a.ami_url(), asterisk_b.ami_url());
    let (a, b) = tokio::try_join!(PatchbayServer::start(Some(&url_a)), PatchbayServer::start(Some(&url_b)))?;
    let (ami_a, ami_b) = tokio::try_join!(asterisk_a.connect_ami(), asterisk_b.connect_ami())?;
    eprintln!("asterisks and servers up after {:?}", started.elapsed());

    // B: the trunk waiting for A's registration, user 101 and the incall.
    let tb = b.admin_token().await?;
    let trunk = b.expect(&tb, "POST", &format!("{API}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
    let sip = b
        .expect(&tb, "POST", &format!("{API}/endpoints/sip"), Some(json!({"username": "wazo-trunk", "secret": "pass", "type": "friend", "host": "dynamic"})), 201)
        .await?;
    b.expect(&tb, "PUT", &format!("{API}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&sip)), None, 204).await?;
    b.expect(&tb, "PUT", &format!("{API}/asterisk/sip/general"), Some(json!({"options": {"allow": "gsm"}})), 204).await?;
    let user_101 = sipp_phone(&b, &tb, "bob-phone", "1101", B_PHONE_IP, "101").await?;
    incall_to_user(&b, &tb, "101", "from-extern", user_101).await?;
    // B is ready before A registers (a REGISTER B refuses is retried late).
    wait_endpoints(&ami_b, &["wazo-trunk", "bob-phone"]).await?;

    // A: the trunk to B with its registration, the outcall, A's phone.
    let ta = a.admin_token().await?;
    let trunk = a.expect(&ta, "POST", &format!("{API}/trunks"), Some(json!({"context": "from-extern"})), 201).await?;
    let sip = a
        .expect(&ta, "POST", &format!("{API}/endpoints/sip"), Some(json!({"username": "wazo-trunk", "secret": "pass", "type": "friend", "host": B_IP})), 201)
        .await?;
    a.expect(&ta, "PUT", &format!("{API}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&sip)), None, 204).await?;
    let register = a
        .expect(&ta, "POST", &format!("{API}/registers/sip"), Some(json!({"auth_username": "wazo-trunk", "auth_password": "pass", "transport": "udp", "remote_host": B_IP})), 201)
        .await?;
    a.expect(&ta, "PUT", &format!("{API}/trunks/{}/registers/sip/{}", id(&trunk), id(&register)), None, 204).await?;
    a.expect(&ta, "PUT", &format!("{API}/asterisk/sip/general"), Some(json!({"options": {"allow": "gsm"}})), 204).await?;
    let outcall = a.expect(&ta, "POST", &format!("{API}/outcalls"), Some(json!({"name": "to-wazo-b"})), 201).await?;
    a.expect(&ta, "PUT", &format!("{API}/outcalls/{}/trunks", id(&outcall)), Some(json!({"trunks": [{"id": id(&trunk)}]})), 204).await?;
    let pattern = a.expect(&ta, "POST", &format!("{API}/extensions"), Some(json!({"exten": "_**99.", "context": "to-extern"})), 201).await?;
    a.expect(&ta, "PUT", &format!("{API}/outcalls/{}/extensions/{}", id(&outcall), id(&pattern)), Some(json!({"strip_digits": 4})), 204).await?;
    sipp_phone(&a, &ta, "alice-phone", "1001", A_PHONE_IP, "alice").await?;
    wait_endpoints(&ami_a, &["wazo-trunk", "alice-phone"]).await?;
    eprintln!("both configured after {:?}", started.elapsed());

    // The trunk is established: A is Registered, B has A's contact.
    wait_registered(&ami_a, "wazo-trunk").await?;
    let shown = eventually("B to show A's contact on wazo-trunk", Duration::from_secs(10), || async {
        contacts(&ami_b).await.iter().any(|(name, uri)| name.starts_with("wazo-trunk;") && uri.contains(A_IP)).then_some(())
    })
    .await;
    if let Err(e) = shown {
        anyhow::bail!("{e}: {:?}\nA:\n{}\nB:\n{}", contacts(&ami_b).await, asterisk_a.console_tail(), asterisk_b.console_tail());
    }
    eprintln!("registered after {:?}", started.elapsed());

    let mut phone_101 = Sipp::start("b-phone-101", Scenario::BuiltIn("uas"), B_PHONE_IP, 5060, None, 1, &[])?;
    phone_101.wait_listening().await?;
    let mut phone_a = Sipp::start("a-phone", Scenario::BuiltIn("uac"), A_PHONE_IP, 5060, Some(&format!("{A_IP}:5060")), 1, &["-s", "**99101"])?;
    let outcome = phone_a.expect_success(Duration::from_secs(20)).await;
    if let Err(e) = outcome {
        anyhow::bail!("{e}\nB's phone received: {:?}\nA:\n{}\nB:\n{}", phone_101.received_requests(), asterisk_a.console_tail(), asterisk_b.console_tail());
    }
    phone_101.expect_success(Duration::from_secs(10)).await?;
    let received = phone_101.received_requests();
    assert!(received.first().is_some_and(|r| r.starts_with(&format!("INVITE sip:101@{B_PHONE_IP}"))), "{received:?}");
    assert!(received.iter().any(|r| r.starts_with("BYE ")), "{received:?}");
    assert!(phone_a.messages().contains("SIP/2.0 200 OK"), "{}", phone_a.messages());
    eprintln!("call done after {:?}", started.elapsed());
    Ok(())
}
