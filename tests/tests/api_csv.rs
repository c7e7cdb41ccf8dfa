//! CSV import and export over the API, against the real binary: users and
//! outcall patterns imported by a tenant admin come back in its export and
//! in the REST lists, exactly; another tenant's export does not show them;
//! a file with a bad row writes nothing, and every bad row is named with the
//! API's own message.

use patchbay_e2e::app::PatchbayServer;
use serde_json::{Value, json};

const CSV: &str = "/api/patchbay/1.0/csv";

async fn csv(s: &PatchbayServer, token: &str, method: &str, path: &str, body: Option<&str>) -> anyhow::Result<(u16, String)> {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", s.base_url);
    let request = if method == "POST" { client.post(url).body(body.unwrap_or_default().to_string()) } else { client.get(url) };
    let answer = request.header("X-Auth-Token", token).send().await?;
    Ok((answer.status().as_u16(), answer.text().await?))
}

async fn tenant_admin(s: &PatchbayServer, admin: &str, slug: &str) -> anyhow::Result<String> {
    let (status, tenant) = s.call(admin, "POST", "/api/auth/0.1/tenants", Some(json!({"name": slug, "slug": slug}))).await?;
    anyhow::ensure!(status < 300, "{status} {tenant}");
    let password = format!("{slug}-password-1");
    let body = json!({"username": format!("{slug}-admin"), "password": password, "tenant_uuid": tenant["uuid"], "role": "tenant_admin"});
    let (status, answer) = s.call(admin, "POST", "/api/auth/0.1/users", Some(body)).await?;
    anyhow::ensure!(status < 300, "{status} {answer}");
    s.login(&format!("{slug}-admin"), &password).await
}

#[tokio::test]
async fn users_and_patterns_round_trip_per_tenant_all_or_nothing() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let admin = s.admin_token().await?;
    let alpha = tenant_admin(&s, &admin, "alpha").await?;
    let bravo = tenant_admin(&s, &admin, "bravo").await?;

    // Users: one with an extension (the tenant's internal context by default), one without.
    let users = "firstname,lastname,exten,context,caller_id,outgoing_caller_id\r\nAda,Lovelace,1001,,\"\"\"Ada\"\" <1001>\",anonymous\r\nBob,,,,,\r\n";
    let (status, preview) = csv(&s, &alpha, "POST", &format!("{CSV}/users"), Some(users)).await?;
    assert_eq!(status, 200, "{preview}");
    let preview: Value = serde_json::from_str(&preview)?;
    assert_eq!(preview["errors"], json!(0), "{preview}");
    assert_eq!(s.expect(&alpha, "GET", "/api/confd/1.1/users", None, 200).await?["total"], json!(0), "a preview writes nothing");
    let (status, applied) = csv(&s, &alpha, "POST", &format!("{CSV}/users?apply=true"), Some(users)).await?;
    assert_eq!(status, 200, "{applied}");
    let (_, exported) = csv(&s, &alpha, "GET", &format!("{CSV}/users"), None).await?;
    let lines: Vec<&str> = exported.lines().collect();
    assert_eq!(lines.len(), 3, "{exported}");
    let context = lines.iter().find(|l| l.starts_with("Ada,")).and_then(|l| l.split(',').nth(3)).unwrap_or_default().to_string();
    assert!(!context.is_empty(), "{exported}");
    assert!(exported.contains(&format!("Ada,Lovelace,1001,{context},\"\"\"Ada\"\" <1001>\",anonymous")), "{exported}");
    // Wazo fills a missing caller ID from the name.
    assert!(exported.contains("Bob,,,,\"\"\"Bob\"\"\","), "{exported}");
    let listed = s.expect(&alpha, "GET", "/api/confd/1.1/users", None, 200).await?;
    assert_eq!(listed["total"], json!(2), "{listed}");

    // Outcall patterns: two patterns of one new outcall.
    let patterns = "outcall,pattern,strip_digits,caller_id\nprovider,_418.,0,\nprovider,_9.,1,5145550100\n";
    let (status, applied) = csv(&s, &alpha, "POST", &format!("{CSV}/outcalls?apply=true"), Some(patterns)).await?;
    assert_eq!(status, 200, "{applied}");
    let (_, exported) = csv(&s, &alpha, "GET", &format!("{CSV}/outcalls"), None).await?;
    assert!(exported.starts_with("outcall,pattern,context,strip_digits,prefix,external_prefix,caller_id\r\n"), "{exported}");
    assert!(exported.contains(",1,,,5145550100\r\n") && exported.contains("provider,_9.,"), "{exported}");
    let outcalls = s.expect(&alpha, "GET", "/api/confd/1.1/outcalls", None, 200).await?;
    assert_eq!(outcalls["total"], json!(1), "{outcalls}");
    assert_eq!(outcalls["items"][0]["extensions"].as_array().map(Vec::len), Some(2), "{outcalls}");

    // Another tenant sees none of it.
    for kind in ["users", "outcalls", "incalls"] {
        let (status, exported) = csv(&s, &bravo, "GET", &format!("{CSV}/{kind}"), None).await?;
        assert_eq!(status, 200);
        assert_eq!(exported.lines().count(), 1, "{kind}: {exported}");
    }

    // All or nothing: a good row, a taken extension, a bad pattern: nothing written, both errors said.
    let mixed = "outcall,pattern\nother,_7.\nprovider,_418.\nother,abc\n";
    let (status, refused) = csv(&s, &alpha, "POST", &format!("{CSV}/outcalls?apply=true"), Some(mixed)).await?;
    assert_eq!(status, 400, "{refused}");
    let refused: Value = serde_json::from_str(&refused)?;
    assert_eq!(refused["errors"], json!(2), "{refused}");
    assert_eq!(refused["rows"][0]["errors"], json!([]), "{refused}");
    assert!(refused["rows"][1]["errors"][0].as_str().unwrap_or_default().contains("Extension already exists"), "{refused}");
    assert!(refused["rows"][2]["errors"][0].as_str().unwrap_or_default().contains("exten"), "{refused}");
    assert_eq!(s.expect(&alpha, "GET", "/api/confd/1.1/outcalls", None, 200).await?["total"], json!(1), "nothing written");

    // A file the server cannot read: Wazo's message list, nothing else.
    let (status, answer) = csv(&s, &alpha, "POST", &format!("{CSV}/outcalls"), Some("pattern,colour\n_1.,blue\n")).await?;
    assert_eq!(status, 400);
    assert!(answer.contains("colour: ['Unknown field.']") && answer.contains("outcall: ['Missing data for required field.']"), "{answer}");
    Ok(())
}
