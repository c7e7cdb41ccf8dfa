//! Seed 000 with real calls: two Asterisks, each driven by its own Patchbay
//! over AMI and configured only through the REST API with the seed's calls.
//! A registers to B; a sipp phone on A dials `**99101`, the outcall strips
//! `**99` and sends `101` over the trunk, B's incall `101` in `from-extern`
//! rings user 101's sipp phone, which answers. Then the way back: B's
//! phone dials `**99102`, B sends `102` to A's registered contact, and A's
//! incall `102` rings A's phone.
//!
//! AMI ports 15190–15191; addresses 127.0.0.90 (A), .91 (B), .92 (A's
//! phone: sipp UAC, then UAS), .93 (B's user 101's phone: UAS, then UAC).

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
async fn seed_000_calls_both_ways_between_two_pbxs() -> anyhow::Result<()> {
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
    // The way back (the seed's trunk works both ways): B's `**99` to A.
    outcall_star_star_99(&b, &tb, id(&trunk)).await?;
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
    outcall_star_star_99(&a, &ta, id(&trunk)).await?;
    let user_alice = sipp_phone(&a, &ta, "alice-phone", "1001", A_PHONE_IP, "alice").await?;
    incall_to_user(&a, &ta, "102", "from-extern", user_alice).await?;
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
    assert!(received.iter().find(|r| !r.starts_with("OPTIONS ")).is_some_and(|r| r.starts_with(&format!("INVITE sip:101@{B_PHONE_IP}"))), "{received:?}");
    assert!(received.iter().any(|r| r.starts_with("BYE ")), "{received:?}");
    assert!(phone_a.messages().contains("SIP/2.0 200 OK"), "{}", phone_a.messages());
    eprintln!("call A to B done after {:?}", started.elapsed());

    // B to A: over A's registration (its contact's `line` parameter tells A
    // which endpoint the call is), challenged by A, to the incall `102`.
    drop(phone_a);
    let mut alice = Sipp::start("a-phone-alice", Scenario::BuiltIn("uas"), A_PHONE_IP, 5060, None, 1, &[])?;
    alice.wait_listening().await?;
    let mut phone_b = Sipp::start("b-phone", Scenario::BuiltIn("uac"), B_PHONE_IP, 5060, Some(&format!("{B_IP}:5060")), 1, &["-s", "**99102"])?;
    if let Err(e) = phone_b.expect_success(Duration::from_secs(20)).await {
        anyhow::bail!("{e}\nA's phone received: {:?}\nA:\n{}\nB:\n{}", alice.received_requests(), asterisk_a.console_tail(), asterisk_b.console_tail());
    }
    alice.expect_success(Duration::from_secs(10)).await?;
    let received = alice.received_requests();
    assert!(received.iter().find(|r| !r.starts_with("OPTIONS ")).is_some_and(|r| r.starts_with(&format!("INVITE sip:alice@{A_PHONE_IP}"))), "{received:?}");
    eprintln!("call B to A done after {:?}", started.elapsed());
    Ok(())
}

/// The seed's outcall: `_**99.` in `to-extern`, 4 digits stripped, over `trunk_id`.
async fn outcall_star_star_99(s: &PatchbayServer, t: &str, trunk_id: i64) -> anyhow::Result<()> {
    let outcall = s.expect(t, "POST", &format!("{API}/outcalls"), Some(json!({"name": "to-the-other-wazo"})), 201).await?;
    s.expect(t, "PUT", &format!("{API}/outcalls/{}/trunks", id(&outcall)), Some(json!({"trunks": [{"id": trunk_id}]})), 204).await?;
    let pattern = s.expect(t, "POST", &format!("{API}/extensions"), Some(json!({"exten": "_**99.", "context": "to-extern"})), 201).await?;
    s.expect(t, "PUT", &format!("{API}/outcalls/{}/extensions/{}", id(&outcall), id(&pattern)), Some(json!({"strip_digits": 4})), 204).await?;
    Ok(())
}
