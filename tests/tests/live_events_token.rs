//! `/api/patchbay/1.0/events` takes the token as `?token=` too (a browser's
//! `EventSource` cannot send `X-Auth-Token`): a valid one streams the
//! snapshot, a bad one is refused, and no other route accepts it.

use patchbay_e2e::app::PatchbayServer;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn events_accept_the_token_as_a_query_parameter() -> anyhow::Result<()> {
    let server = PatchbayServer::start(None).await?;
    let token = server.admin_token().await?;
    let events = format!("{}/api/patchbay/1.0/events", server.base_url);

    let mut response = reqwest::get(format!("{events}?token={token}")).await?;
    assert_eq!(response.status(), 200);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(content_type.starts_with("text/event-stream"), "{content_type}");
    // The first event is the whole live state.
    let mut buffer = String::new();
    let first: Value = loop {
        if let Some(end) = buffer.find("\n\n") {
            let data: String = buffer[..end].lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
            if !data.is_empty() {
                break serde_json::from_str(&data)?;
            }
            buffer.drain(..end + 2);
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk()).await??;
        buffer.push_str(&String::from_utf8_lossy(&chunk.expect("the stream stays open")).replace("\r\n", "\n"));
    };
    assert_eq!(first["kind"], "snapshot", "{first}");
    assert_eq!(first["state"]["connected"], false, "{first}");

    for bad in ["bad", "", "00000000-0000-0000-0000-000000000000"] {
        let refused = reqwest::get(format!("{events}?token={bad}")).await?;
        assert_eq!(refused.status(), 401, "?token={bad}");
    }
    assert_eq!(reqwest::get(&events).await?.status(), 401);
    // A tenant admin's token opens the stream too (of its own endpoints'
    // events only: tests/tests/containment.rs checks what it holds).
    let tenant = server.expect(&token, "POST", "/api/auth/0.1/tenants", Some(json!({"name": "Acme", "slug": "acme"})), 201).await?;
    let user = json!({"username": "acme-admin", "password": "acme-password-1", "tenant_uuid": tenant["uuid"], "role": "tenant_admin"});
    server.expect(&token, "POST", "/api/auth/0.1/users", Some(user), 201).await?;
    let acme = server.login("acme-admin", "acme-password-1").await?;
    assert_eq!(reqwest::get(format!("{events}?token={acme}")).await?.status(), 200);
    // Only that route: the same valid token in the URL opens nothing else.
    for other in ["/api/patchbay/1.0/live", "/api/confd/1.1/trunks"] {
        let refused = reqwest::get(format!("{}{other}?token={token}", server.base_url)).await?;
        assert_eq!(refused.status(), 401, "{other}");
    }
    // The header still works, and wins over the query.
    let both = reqwest::Client::new().get(format!("{events}?token=bad")).header("X-Auth-Token", &token).send().await?;
    assert_eq!(both.status(), 200);
    Ok(())
}
