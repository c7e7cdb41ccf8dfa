//! Every route of the OpenAPI route table (`api::openapi`) is really mounted:
//! each (path, method), under both confd prefixes, answers with a token and is
//! never the generic "no such API route" 404, a 405, or the browser app.

use patchbay_backend::api::openapi::{CONFD_ROUTES, OTHER_ROUTES};
use patchbay_e2e::app::PatchbayServer;
use serde_json::{Value, json};

/// `{id}`-style parameters replaced by a value of the right shape that names nothing.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) if name.contains("uuid") => "00000000-0000-0000-0000-000000000000".to_string(),
            Some(_) => "999999".to_string(),
            None => segment.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_route_in_the_table_is_mounted() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let t = s.admin_token().await?;
    let mut routes: Vec<(String, &str)> = Vec::new();
    for prefix in ["/api/confd/1.1", "/1.1"] {
        for (path, methods, _) in CONFD_ROUTES {
            routes.extend(methods.iter().map(|m| (format!("{prefix}{path}"), *m)));
        }
    }
    for (path, methods, _, _) in OTHER_ROUTES {
        routes.extend(methods.iter().map(|m| (path.to_string(), *m)));
    }
    // The served document lists exactly the table.
    let spec = s.expect(&t, "GET", "/api/patchbay/1.0/openapi.json", None, 200).await?;
    let documented: usize = spec["paths"].as_object().unwrap().values().map(|item| item.as_object().unwrap().len()).sum();
    assert_eq!(documented, routes.len());

    let mut failures = Vec::new();
    for (path, method) in &routes {
        // The token route wants Basic credentials, not a token: a 401 still proves it is mounted.
        let body = matches!(*method, "post" | "put").then(|| json!({}));
        let url = concrete(path);
        if url.ends_with("/events") {
            // A stream that never ends: check the headers, never read the body.
            let response = reqwest::Client::new().get(format!("{}{url}", s.base_url)).header("X-Auth-Token", &t).send().await?;
            let sse = response.headers().get("content-type").is_some_and(|v| v.to_str().unwrap_or_default().starts_with("text/event-stream"));
            if response.status() != 200 || !sse {
                failures.push(format!("{method} {url}: {} {:?}", response.status(), response.headers()));
            }
            continue;
        }
        let (status, answer) = s.call(&t, &method.to_uppercase(), &url, body).await?;
        let generic = answer.to_string().contains("no such API route");
        let html = matches!(&answer, Value::String(text) if text.trim_start().starts_with('<'));
        if generic || html || status == 405 || status >= 500 {
            failures.push(format!("{method} {url}: {status} {answer}"));
        }
    }
    assert!(failures.is_empty(), "routes in the table that are not mounted:\n{}", failures.join("\n"));
    // And the check itself can fail: an unknown path is the generic 404.
    let (status, answer) = s.call(&t, "GET", "/api/confd/1.1/no-such-resource", None).await?;
    assert_eq!(status, 404);
    assert!(answer.to_string().contains("no such API route"), "{answer}");
    Ok(())
}
