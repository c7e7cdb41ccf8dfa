//! `/healthz`, `/readyz` and `/metrics` on the real binary: after a few API
//! calls the scrape counts exactly those calls under their route templates,
//! with histogram buckets and status labels, and names no tenant, endpoint
//! or secret. Without Asterisk the AMI gauges read "not connected"; with a
//! real Asterisk 22 (127.0.0.200, AMI 15340) one apply is timed under its
//! mode and the gauges follow the connection, the sync state and the
//! pending changes.

use patchbay_backend::ami::AmiMessage;
use patchbay_e2e::app::{PatchbayServer, eventually};
use patchbay_e2e::asterisk::AsteriskInstance;
use serde_json::json;
use std::time::Duration;

/// The value of the one sample named `name` whose labels include every
/// `label="value"` pair of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, label_text) = series.split_once('{').map_or((series, ""), |(m, rest)| (m, rest.trim_end_matches('}')));
        let wanted = metric == name && labels.iter().all(|(k, v)| label_text.split(',').any(|pair| pair == format!("{k}=\"{v}\"")));
        wanted.then(|| value.parse().expect("a number"))
    })
}

async fn get(s: &PatchbayServer, path: &str) -> anyhow::Result<(u16, String, String)> {
    let response = reqwest::get(format!("{}{path}", s.base_url)).await?;
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    Ok((status, content_type, response.text().await?))
}

async fn audit_len(s: &PatchbayServer, t: &str) -> anyhow::Result<usize> {
    let audit = s.expect(t, "GET", "/api/patchbay/1.0/audit?limit=1000", None, 200).await?;
    Ok(audit["items"].as_array().map_or(0, Vec::len))
}

#[tokio::test]
async fn metrics_count_api_calls_by_route_template() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let t = s.admin_token().await?;
    let audited_before = audit_len(&s, &t).await?;

    let (status, _, body) = get(&s, "/healthz").await?;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, _, _) = get(&s, "/readyz").await?;
    assert_eq!(status, 200);

    // Three trunks through the prefixed API, one through the short alias,
    // one refused, and reads of two of them by id.
    let mut ids = Vec::new();
    for _ in 0..3 {
        let trunk = s.expect(&t, "POST", "/api/confd/1.1/trunks", Some(json!({"context": "default"})), 201).await?;
        ids.push(trunk["id"].as_i64().expect("trunk id"));
    }
    s.expect(&t, "POST", "/1.1/trunks", Some(json!({"context": "default"})), 201).await?;
    let (refused, _) = s.call(&t, "POST", "/api/confd/1.1/trunks", Some(json!({"context": 42}))).await?;
    assert_eq!(refused, 400);
    for id in &ids[..2] {
        s.expect(&t, "GET", &format!("/api/confd/1.1/trunks/{id}"), None, 200).await?;
    }
    // Names and a secret that must never reach the unauthenticated scrape.
    s.expect(&t, "POST", "/api/auth/0.1/tenants", Some(json!({"name": "Scrape Tenant Name", "slug": "scrapeslug"})), 201).await?;
    s.expect(
        &t,
        "POST",
        "/api/confd/1.1/endpoints/sip",
        Some(json!({"name": "scrape-endpoint-name", "auth_section_options": [["username", "scrape-user"], ["password", "scrape-secret-pw"]]})),
        201,
    )
    .await?;
    let (status, _) = s.call("not-a-token", "GET", "/api/confd/1.1/trunks", None).await?;
    assert_eq!(status, 401);
    let audited_since_start = audit_len(&s, &t).await? - audited_before;

    let (status, content_type, text) = get(&s, "/metrics").await?;
    assert_eq!(status, 200, "{text}");
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let posts = [("method", "POST"), ("route", "/api/confd/1.1/trunks"), ("status", "201")];
    assert_eq!(sample(&text, "patchbay_http_requests_total", &posts), Some(3.0), "{text}");
    assert_eq!(sample(&text, "patchbay_http_request_duration_seconds_count", &posts), Some(3.0), "{text}");
    assert_eq!(sample(&text, "patchbay_http_request_duration_seconds_bucket", &[posts[0], posts[1], posts[2], ("le", "+Inf")]), Some(3.0));
    let buckets = text.lines().filter(|l| l.starts_with("patchbay_http_request_duration_seconds_bucket{") && l.contains("route=\"/api/confd/1.1/trunks\"") && l.contains("status=\"201\"")).count();
    assert!(buckets > 5, "histogram buckets for POST /trunks:\n{text}");
    let sum = sample(&text, "patchbay_http_request_duration_seconds_sum", &posts).expect("a sum");
    assert!(sum > 0.0, "{text}");
    // The alias, the refusal and the unauthenticated call are their own series.
    assert_eq!(sample(&text, "patchbay_http_requests_total", &[("method", "POST"), ("route", "/1.1/trunks"), ("status", "201")]), Some(1.0));
    assert_eq!(sample(&text, "patchbay_http_requests_total", &[("method", "POST"), ("route", "/api/confd/1.1/trunks"), ("status", "400")]), Some(1.0));
    assert_eq!(sample(&text, "patchbay_http_requests_total", &[("method", "GET"), ("route", "/api/confd/1.1/trunks"), ("status", "401")]), Some(1.0));
    // Reads by id are counted under the template, never under the raw path.
    assert_eq!(sample(&text, "patchbay_http_requests_total", &[("method", "GET"), ("route", "/api/confd/1.1/trunks/{id}"), ("status", "200")]), Some(2.0));
    for id in &ids {
        assert!(!text.contains(&format!("/trunks/{id}\"")), "raw path for trunk {id} in:\n{text}");
    }
    assert_eq!(sample(&text, "patchbay_http_requests_total", &[("route", "/healthz"), ("status", "200")]), Some(1.0));
    assert_eq!(sample(&text, "patchbay_http_requests_total", &[("route", "/readyz"), ("status", "200")]), Some(1.0));
    for private in ["Scrape Tenant Name", "scrapeslug", "scrape-endpoint-name", "scrape-user", "scrape-secret-pw", "admin", &t] {
        assert!(!text.contains(private), "{private:?} in the unauthenticated scrape:\n{text}");
    }
    // No Asterisk: nothing connected, nothing in sync, every audited change pending.
    assert_eq!(sample(&text, "patchbay_asterisk_connected", &[]), Some(0.0));
    assert_eq!(sample(&text, "patchbay_asterisk_reconnects_total", &[]), Some(0.0));
    assert_eq!(sample(&text, "patchbay_asterisk_in_sync", &[]), Some(0.0));
    assert!(audited_since_start >= 5, "4 trunks, a tenant and an endpoint are audited: {audited_since_start}");
    assert_eq!(sample(&text, "patchbay_pending_changes", &[]), Some(audited_since_start as f64), "{text}");
    assert_eq!(sample(&text, "patchbay_database_up", &[]), Some(1.0));
    assert!(text.trim_end().ends_with("# EOF"), "{text}");

    // A second scrape counts the first one, under its own template.
    let (_, _, again) = get(&s, "/metrics").await?;
    assert_eq!(sample(&again, "patchbay_http_requests_total", &[("route", "/metrics"), ("status", "200")]), Some(1.0), "{again}");
    assert_eq!(sample(&again, "patchbay_http_requests_total", &posts), Some(3.0));
    Ok(())
}

#[tokio::test]
async fn metrics_follow_an_apply_to_a_real_asterisk() -> anyhow::Result<()> {
    let asterisk = AsteriskInstance::start("ops-metrics", "127.0.0.200", 15340).await?;
    let ami = asterisk.connect_ami().await?;
    let s = PatchbayServer::start(Some(&asterisk.ami_url())).await?;
    let t = s.admin_token().await?;
    let scrape = || async { get(&s, "/metrics").await.map(|(_, _, text)| text).unwrap_or_default() };
    // Connected and in sync with the seeded configuration first.
    eventually("the first pass to find Asterisk in sync", Duration::from_secs(60), || async {
        let text = scrape().await;
        (sample(&text, "patchbay_asterisk_connected", &[]) == Some(1.0) && sample(&text, "patchbay_asterisk_in_sync", &[]) == Some(1.0)).then_some(())
    })
    .await?;
    let applies = |text: &str| -> f64 {
        ["full", "incremental"].iter().filter_map(|mode| sample(text, "patchbay_apply_duration_seconds_count", &[("mode", mode)])).sum()
    };
    let applies_before = applies(&scrape().await);

    let endpoint = s
        .expect(&t, "POST", "/api/confd/1.1/endpoints/sip", Some(json!({
            "name": "metrics-trunk", "aor_section_options": [["contact", "sip:127.0.0.201:5060"]],
            "identify_section_options": [["match", "127.0.0.201"]],
        })), 201)
        .await?;
    let trunk = s.expect(&t, "POST", "/api/confd/1.1/trunks", Some(json!({"context": "from-extern"})), 201).await?;
    s.expect(&t, "PUT", &format!("/api/confd/1.1/trunks/{}/endpoints/sip/{}", trunk["id"], endpoint["uuid"].as_str().unwrap()), None, 204).await?;
    eventually("Asterisk to load metrics-trunk", Duration::from_secs(30), || async {
        ami.send("PJSIPShowEndpoint", AmiMessage::new().with("Endpoint", "metrics-trunk")).await.is_ok().then_some(())
    })
    .await?;
    // The pass that wrote the trunk is timed; once in sync nothing is pending.
    let text = eventually("the apply to be counted and nothing pending", Duration::from_secs(30), || async {
        let text = scrape().await;
        let settled = applies(&text) > applies_before && sample(&text, "patchbay_asterisk_in_sync", &[]) == Some(1.0) && sample(&text, "patchbay_pending_changes", &[]) == Some(0.0);
        settled.then_some(text)
    })
    .await?;
    let full_buckets = text.lines().filter(|l| l.starts_with("patchbay_apply_duration_seconds_bucket{") && l.contains("mode=\"full\"")).count();
    assert!(full_buckets > 5, "a full apply (a new PJSIP endpoint needs a reload) with its buckets:\n{text}");
    assert!(sample(&text, "patchbay_apply_duration_seconds_sum", &[("mode", "full")]).is_some_and(|sum| sum > 0.0), "{text}");
    assert_eq!(sample(&text, "patchbay_asterisk_connected", &[]), Some(1.0));
    assert_eq!(sample(&text, "patchbay_asterisk_reconnects_total", &[]), Some(0.0));
    assert!(!text.contains("metrics-trunk"), "an endpoint name in the scrape:\n{text}");
    Ok(())
}
