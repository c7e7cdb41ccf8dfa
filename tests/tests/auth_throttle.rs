//! Failed logins are throttled per username and per source address, before
//! any password hash is computed, without locking out other accounts or
//! starving other routes; a revoked token is refused everywhere.
//!
//! The clients below connect from several loopback source addresses
//! (127.0.0.1 to 127.0.0.4) to tell the throttle's addresses apart. The
//! failed-login window is shortened through `PATCHBAY_LOGIN_LOCKOUT_SECS`, so
//! the lock can be waited out, yet kept well longer than the few password
//! checks each step makes within it, even on a loaded machine.

use patchbay_backend::api::auth::LOCKOUT_SECS_ENV;
use patchbay_backend::api::login_throttle::ThrottlePolicy;
use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer, eventually};
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

const LOCKOUT_SECS: u64 = 10;
const BURST: usize = 50;

/// A client whose connections come from `127.0.0.<last>`.
fn client_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))).build().expect("a client")
}

struct LoginAnswer {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
    took: Duration,
    token: Option<String>,
}

async fn login(client: &reqwest::Client, base_url: &str, username: &str, password: &str) -> anyhow::Result<LoginAnswer> {
    let started = Instant::now();
    let response = client.post(format!("{base_url}/api/auth/0.1/token")).basic_auth(username, Some(password)).send().await?;
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let body: Value = response.json().await?;
    let took = started.elapsed();
    let token = body["data"]["token"].as_str().map(str::to_string);
    Ok(LoginAnswer { status, retry_after, body, took, token })
}

fn mean_ms(answers: &[&LoginAnswer]) -> f64 {
    answers.iter().map(|a| a.took.as_secs_f64() * 1000.0).sum::<f64>() / answers.len().max(1) as f64
}

/// A throttled answer: 429, a `Retry-After` within the window, a Wazo error list.
fn assert_throttled(answer: &LoginAnswer, what: &str) {
    assert_eq!(answer.status, 429, "{what}: {}", answer.body);
    let retry_after = answer.retry_after.unwrap_or_else(|| panic!("{what}: no Retry-After"));
    assert!((1..=LOCKOUT_SECS).contains(&retry_after), "{what}: Retry-After {retry_after}");
    let messages = answer.body.as_array().unwrap_or_else(|| panic!("{what}: not a Wazo error list: {}", answer.body));
    assert!(messages.len() == 1 && messages[0].as_str().is_some_and(|m| m.contains("retry in")), "{what}: {}", answer.body);
}

#[tokio::test]
async fn failed_logins_are_throttled_and_revoked_tokens_refused() -> anyhow::Result<()> {
    let lockout = LOCKOUT_SECS.to_string();
    let s = PatchbayServer::start_with_env(None, &[(LOCKOUT_SECS_ENV, lockout.as_str())]).await?;
    let policy = ThrottlePolicy::default();
    let admin = s.admin_token().await?;
    let tenants = s.expect(&admin, "GET", "/api/auth/0.1/tenants", None, 200).await?;
    let master_tenant = tenants["items"][0]["uuid"].as_str().expect("master tenant").to_string();
    let acme = s.expect(&admin, "POST", "/api/auth/0.1/tenants", Some(json!({"name": "Acme", "slug": "acme"})), 201).await?;
    let acme_uuid = acme["uuid"].as_str().expect("tenant uuid").to_string();
    let acme_admin = json!({"username": "acme-admin", "password": "acme-password-1", "tenant_uuid": acme_uuid, "role": "tenant_admin"});
    s.expect(&admin, "POST", "/api/auth/0.1/users", Some(acme_admin), 201).await?;
    let (here, elsewhere) = (client_from(1), client_from(2));

    // A burst of wrong passwords for `admin` from 127.0.0.1; meanwhile another
    // account logs in, from another address and from the same one, and a
    // confd route keeps answering.
    let burst = {
        let (client, base_url) = (here.clone(), s.base_url.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            for n in 0..BURST {
                answers.push(login(&client, &base_url, "admin", &format!("wrong-{n}")).await?);
            }
            anyhow::Ok(answers)
        })
    };
    let mut rounds_during_burst = 0;
    loop {
        for (client, from) in [(&elsewhere, "127.0.0.2"), (&here, "127.0.0.1")] {
            let answer = login(client, &s.base_url, "acme-admin", "acme-password-1").await?;
            assert_eq!(answer.status, 201, "acme-admin from {from} during the burst: {}", answer.body);
        }
        s.expect(&admin, "GET", "/api/confd/1.1/trunks", None, 200).await?;
        rounds_during_burst += 1;
        if burst.is_finished() {
            break;
        }
    }
    let answers = burst.await??;
    let (checked, throttled) = answers.split_at(policy.failures_per_account);
    for (n, answer) in checked.iter().enumerate() {
        assert_eq!(answer.status, 401, "wrong password #{n}: {}", answer.body);
    }
    for (n, answer) in throttled.iter().enumerate() {
        assert_throttled(answer, &format!("wrong password #{}", n + checked.len()));
    }
    println!(
        "burst of {BURST}: {} checked (mean {:.1} ms), {} throttled (mean {:.2} ms); {rounds_during_burst} rounds of other logins and GET /trunks during it",
        checked.len(),
        mean_ms(&checked.iter().collect::<Vec<_>>()),
        throttled.len(),
        mean_ms(&throttled.iter().collect::<Vec<_>>()),
    );

    // The right password is refused too while the account is locked, from any address.
    assert_throttled(&login(&here, &s.base_url, "admin", ADMIN_PASSWORD).await?, "right password, same address");
    assert_throttled(&login(&elsewhere, &s.base_url, "admin", ADMIN_PASSWORD).await?, "right password, other address");
    // Until the window passes (throttled attempts do not extend it).
    let started = Instant::now();
    let master = eventually("the lock on admin to lift", Duration::from_secs(LOCKOUT_SECS + 10), || async {
        let answer = login(&here, &s.base_url, "admin", ADMIN_PASSWORD).await.ok()?;
        match answer.status {
            201 => answer.token,
            429 => None,
            other => panic!("right password for admin: {other} {}", answer.body),
        }
    })
    .await?;
    println!("admin could log in again after {:.1} s", started.elapsed().as_secs_f64());

    // A success clears the account's failures: twice the limit less two,
    // with a success between, never locks.
    let below = policy.failures_per_account - 1;
    for round in 0..2 {
        for n in 0..below {
            let answer = login(&here, &s.base_url, "admin", "still-wrong").await?;
            assert_eq!(answer.status, 401, "round {round}, failure {n}: {}", answer.body);
        }
        assert_eq!(login(&here, &s.base_url, "admin", ADMIN_PASSWORD).await?.status, 201, "round {round}");
    }

    // One address trying many usernames (unknown ones: each costs a hash
    // all the same) is locked for every username, other addresses are not.
    let sprayer = client_from(3);
    for n in 0..policy.failures_per_address {
        let answer = login(&sprayer, &s.base_url, &format!("nobody-{n}"), "guess-1234").await?;
        assert_eq!(answer.status, 401, "spray #{n}: {}", answer.body);
    }
    assert_throttled(&login(&sprayer, &s.base_url, "acme-admin", "acme-password-1").await?, "acme-admin from the spraying address");
    assert_eq!(login(&here, &s.base_url, "acme-admin", "acme-password-1").await?.status, 201, "acme-admin from 127.0.0.1");

    // Many logins at once: a few hash, a few wait, the rest are told to come
    // back (503 + Retry-After) rather than queued; other routes still answer.
    let crowd = client_from(4);
    let at_once = policy.failures_per_address - 4;
    let attempts: Vec<_> = (0..at_once)
        .map(|n| {
            let (crowd, base_url) = (crowd.clone(), s.base_url.clone());
            tokio::spawn(async move {
                let response = crowd.post(format!("{base_url}/api/auth/0.1/token")).basic_auth(format!("crowd-{n}"), Some("guess-1234")).send().await?;
                let retry_after = response.headers().get("retry-after").is_some();
                anyhow::Ok((response.status().as_u16(), retry_after))
            })
        })
        .collect();
    s.expect(&admin, "GET", "/api/confd/1.1/trunks", None, 200).await?;
    let (mut refused, mut busy) = (0, 0);
    for attempt in attempts {
        match attempt.await?? {
            (401, _) => refused += 1,
            (503, true) => busy += 1,
            other => panic!("a crowded login answered {other:?} (503 must carry Retry-After)"),
        }
    }
    println!("{at_once} logins at once: {refused} checked (401), {busy} told to retry (503)");

    // Tokens, as wazo-auth: GET → its data, HEAD → 204, DELETE revokes it.
    let token_path = |token: &str| format!("/api/auth/0.1/token/{token}");
    let data = s.expect("", "GET", &token_path(&master), None, 200).await?;
    assert_eq!(data["data"]["token"], json!(master), "{data}");
    assert_eq!(data["data"]["metadata"]["username"], json!("admin"), "{data}");
    s.expect("", "HEAD", &token_path(&master), None, 204).await?;
    s.expect("", "GET", &format!("{}?tenant={acme_uuid}", token_path(&master)), None, 200).await?;
    let acme_token = s.login("acme-admin", "acme-password-1").await?;
    s.expect("", "GET", &format!("{}?tenant={master_tenant}", token_path(&acme_token)), None, 403).await?;
    let events = format!("{}/api/patchbay/1.0/events", s.base_url);
    let stream = reqwest::get(format!("{events}?token={master}")).await?;
    assert_eq!(stream.status(), 200, "/events?token= before revocation");
    drop(stream);

    let revoked = s.expect("", "DELETE", &token_path(&master), None, 200).await?;
    assert_eq!(revoked, json!({"data": {"message": "success"}}));
    s.expect("", "GET", &token_path(&master), None, 404).await?;
    s.expect("", "HEAD", &token_path(&master), None, 404).await?;
    s.expect(&master, "GET", "/api/confd/1.1/trunks", None, 401).await?;
    s.expect(&master, "GET", "/api/patchbay/1.0/snapshot", None, 401).await?;
    assert_eq!(reqwest::get(format!("{events}?token={master}")).await?.status(), 401, "/events?token= after revocation");
    let with_header = reqwest::Client::new().get(&events).header("X-Auth-Token", &master).send().await?;
    assert_eq!(with_header.status(), 401, "/events with the header after revocation");
    // Revoking again (or an unknown token) is not an error, as wazo-auth;
    // the other tokens of the same account live on.
    s.expect("", "DELETE", &token_path(&master), None, 200).await?;
    s.expect(&admin, "GET", "/api/confd/1.1/trunks", None, 200).await?;
    Ok(())
}
