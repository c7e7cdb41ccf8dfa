//! `patchbay backup` while a server is serving and taking writes, then
//! `patchbay restore` into a fresh path: a server on the restored database
//! lists every object identically (secrets included), its accounts log in,
//! and the master admin's config preview is the same rendered files.

use patchbay_e2e::app::{ADMIN_PASSWORD, PatchbayServer, TempDir, database_arg, on_postgres, patchbay_binary};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}
fn uuid(v: &Value) -> String {
    v["uuid"].as_str().unwrap_or_else(|| panic!("no uuid in {v}")).to_string()
}

/// Runs the binary with an empty config file, so a config installed on this
/// machine cannot change what the test does; returns success, stdout+stderr.
fn patchbay(args: &[&str], dir: &Path) -> anyhow::Result<(bool, String)> {
    let config = dir.join("empty.toml");
    std::fs::write(&config, "")?;
    let output = Command::new(patchbay_binary()?).args(args).env("PATCHBAY_CONFIG", &config).env_remove("PATCHBAY_DB").output()?;
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    Ok((output.status.success(), text))
}

/// Every list a restore must reproduce, as the master admin sees it (all tenants).
const LISTS: &[&str] = &[
    "/api/confd/1.1/trunks",
    "/api/confd/1.1/endpoints/sip",
    "/api/confd/1.1/endpoints/sip/templates",
    "/api/confd/1.1/sip/transports",
    "/api/confd/1.1/registers/sip",
    "/api/confd/1.1/contexts",
    "/api/confd/1.1/extensions",
    "/api/confd/1.1/outcalls",
    "/api/confd/1.1/incalls",
    "/api/confd/1.1/users",
    "/api/confd/1.1/lines",
    "/api/confd/1.1/endpoints/iax",
    "/api/confd/1.1/endpoints/custom",
    "/api/confd/1.1/asterisk/pjsip/global",
    "/api/auth/0.1/tenants",
];

async fn everything(s: &PatchbayServer, t: &str) -> anyhow::Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for path in LISTS {
        let url = if path.contains("/asterisk/") { path.to_string() } else { format!("{path}?recurse=true") };
        out.push((path.to_string(), s.expect(t, "GET", &url, None, 200).await?));
    }
    out.push(("preview".into(), s.expect(t, "GET", "/api/patchbay/1.0/config/preview", None, 200).await?));
    Ok(out)
}

/// Trunks with secrets and registration, outcall, incall, a user with a
/// phone, and a second tenant with its own admin and trunk.
async fn populate(s: &PatchbayServer, t: &str) -> anyhow::Result<()> {
    let p = "/api/confd/1.1";
    let incall_context = s.expect(t, "GET", &format!("{p}/contexts?type=incall"), None, 200).await?["items"][0]["name"].as_str().unwrap().to_string();
    let outcall_context = s.expect(t, "GET", &format!("{p}/contexts?type=outcall"), None, 200).await?["items"][0]["name"].as_str().unwrap().to_string();
    let trunk = s.expect(t, "POST", &format!("{p}/trunks"), Some(json!({"context": incall_context})), 201).await?;
    let sip = s
        .expect(t, "POST", "/1.1/endpoints/sip", Some(json!({"username": "0123456789", "secret": "backup-trunk-secret", "type": "peer", "host": "voip.provider.example.com"})), 201)
        .await?;
    s.expect(t, "PUT", &format!("{p}/trunks/{}/endpoints/sip/{}", id(&trunk), uuid(&sip)), None, 204).await?;
    let register = s
        .expect(t, "POST", "/1.1/registers/sip", Some(json!({"auth_username": "0123456789", "auth_password": "backup-trunk-secret", "transport": "udp", "remote_host": "voip.provider.example.com"})), 201)
        .await?;
    s.expect(t, "PUT", &format!("{p}/trunks/{}/registers/sip/{}", id(&trunk), id(&register)), None, 204).await?;
    let outcall = s.expect(t, "POST", &format!("{p}/outcalls"), Some(json!({"name": "provider"})), 201).await?;
    s.expect(t, "PUT", &format!("{p}/outcalls/{}/trunks", id(&outcall)), Some(json!({"trunks": [{"id": id(&trunk)}]})), 204).await?;
    let pattern = s.expect(t, "POST", &format!("{p}/extensions"), Some(json!({"exten": "_0XXXXXXXXX", "context": outcall_context})), 201).await?;
    s.expect(t, "PUT", &format!("{p}/outcalls/{}/extensions/{}", id(&outcall), id(&pattern)), Some(json!({"caller_id": "\"Office\" <5550100>"})), 204).await?;

    let user = s.expect(t, "POST", &format!("{p}/users"), Some(json!({"firstname": "Alice", "lastname": "Doe", "outgoing_caller_id": "\"Alice\" <5550101>"})), 201).await?;
    let phone = s
        .expect(t, "POST", &format!("{p}/endpoints/sip"), Some(json!({
            "name": "alice-phone", "auth_section_options": [["username", "alice-phone"], ["password", "backup-phone-secret"]],
            "aor_section_options": [["max_contacts", "1"]],
        })), 201)
        .await?;
    let extension = s.expect(t, "POST", &format!("{p}/extensions"), Some(json!({"exten": "1001", "context": "default"})), 201).await?;
    let line = s.expect(t, "POST", &format!("{p}/lines"), Some(json!({})), 201).await?;
    s.expect(t, "PUT", &format!("{p}/lines/{}/endpoints/sip/{}", id(&line), uuid(&phone)), None, 204).await?;
    s.expect(t, "PUT", &format!("{p}/lines/{}/extensions/{}", id(&line), id(&extension)), None, 204).await?;
    s.expect(t, "PUT", &format!("{p}/users/{}/lines/{}", id(&user), id(&line)), None, 204).await?;
    let did = s.expect(t, "POST", &format!("{p}/extensions"), Some(json!({"exten": "5551234", "context": incall_context})), 201).await?;
    let incall = s.expect(t, "POST", &format!("{p}/incalls"), Some(json!({"destination": {"type": "user", "user_id": id(&user)}})), 201).await?;
    s.expect(t, "PUT", &format!("{p}/incalls/{}/extensions/{}", id(&incall), id(&did)), None, 204).await?;

    let acme = s.expect(t, "POST", "/api/auth/0.1/tenants", Some(json!({"name": "Acme", "slug": "acme"})), 201).await?;
    s.expect(t, "POST", "/api/auth/0.1/users", Some(json!({"username": "acme-admin", "password": "acme-password-1", "tenant_uuid": uuid(&acme), "role": "tenant_admin"})), 201)
        .await?;
    let ta = s.login("acme-admin", "acme-password-1").await?;
    s.expect(&ta, "POST", &format!("{p}/contexts"), Some(json!({"name": "acme-in", "label": "Acme in", "type": "incall"})), 201).await?;
    let acme_trunk = s.expect(&ta, "POST", &format!("{p}/trunks"), Some(json!({"context": "acme-in"})), 201).await?;
    let acme_sip = s
        .expect(&ta, "POST", &format!("{p}/endpoints/sip"), Some(json!({
            "name": "acme-peer", "outbound_auth_section_options": [["username", "acme"], ["password", "acme-trunk-secret"]],
            "aor_section_options": [["contact", "sip:peer.acme.example.com"]],
        })), 201)
        .await?;
    s.expect(&ta, "PUT", &format!("{p}/trunks/{}/endpoints/sip/{}", id(&acme_trunk), uuid(&acme_sip)), None, 204).await?;
    Ok(())
}

/// Creates extensions `7000`, `7001`, … one after another until `stop`;
/// returns the ids acknowledged, in order.
async fn keep_writing(base_url: String, token: String, stop: Arc<AtomicBool>, acknowledged: Arc<std::sync::Mutex<Vec<i64>>>) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        let response = http
            .post(format!("{base_url}/api/confd/1.1/extensions"))
            .header("X-Auth-Token", &token)
            .json(&json!({"exten": format!("{}", 7000 + n), "context": "default"}))
            .send()
            .await?;
        anyhow::ensure!(response.status().as_u16() == 201, "writer: {}", response.text().await?);
        let created: Value = response.json().await?;
        acknowledged.lock().unwrap().push(id(&created));
        n += 1;
    }
    Ok(())
}

/// Waits until the writer has `at_least` acknowledged writes (it runs until
/// stopped, so only its failure ends the wait early).
async fn wait_for_writes(acknowledged: &std::sync::Mutex<Vec<i64>>, at_least: usize, writer: &tokio::task::JoinHandle<anyhow::Result<()>>) -> anyhow::Result<()> {
    loop {
        let count = acknowledged.lock().unwrap().len();
        if count >= at_least {
            return Ok(());
        }
        anyhow::ensure!(!writer.is_finished(), "the writer stopped after {count} writes");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn backup_while_serving_restores_every_object_and_the_same_config() -> anyhow::Result<()> {
    let live = PatchbayServer::start(None).await?;
    let t = live.admin_token().await?;
    populate(&live, &t).await?;

    let work = TempDir::new("backup");
    let backup_file = work.0.join("patchbay-backup.db");
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::new()));
    let writer = tokio::spawn(keep_writing(live.base_url.clone(), t.clone(), stop.clone(), acknowledged.clone()));
    wait_for_writes(&acknowledged, 5, &writer).await?;
    let before_backup = acknowledged.lock().unwrap().len();
    let db = database_arg(&live.db);
    let backup_path = backup_file.to_string_lossy().to_string();
    if on_postgres() {
        // A PostgreSQL store is PostgreSQL's to back up: a clear refusal, nothing written.
        for args in [vec!["backup", "--db", &db, &backup_path], vec!["restore", "--db", &db, "--force", &backup_path]] {
            let (ok, output) = patchbay(&args, &work.0)?;
            assert!(!ok && output.contains("pg_dump"), "{args:?}: {output}");
            assert!(!backup_file.exists());
        }
        stop.store(true, Ordering::SeqCst);
        writer.await??;
        return Ok(());
    }
    let (ok, output) = tokio::task::spawn_blocking({
        let dir = work.0.clone();
        move || patchbay(&["backup", "--db", &db, &backup_path], &dir)
    })
    .await??;
    assert!(ok, "backup failed: {output}");
    // The server kept taking writes after the backup too.
    let after_backup = acknowledged.lock().unwrap().len();
    wait_for_writes(&acknowledged, after_backup + 5, &writer).await?;
    stop.store(true, Ordering::SeqCst);
    writer.await??;
    let written = acknowledged.lock().unwrap().clone();

    let restored_dir = TempDir::new("restored");
    let restored_db = restored_dir.0.join("patchbay.db");
    let restored_path = restored_db.to_string_lossy().to_string();
    let backup_path = backup_file.to_string_lossy().to_string();
    let (ok, output) = patchbay(&["restore", "--db", &restored_path, &backup_path], &work.0)?;
    assert!(ok, "restore failed: {output}");
    // A second restore onto the now existing database needs --force.
    let (ok, output) = patchbay(&["restore", "--db", &restored_path, &backup_path], &work.0)?;
    assert!(!ok && output.contains("--force"), "{output}");
    // A file that is not a Patchbay database is refused.
    let text_file = work.0.join("not-a-database.db");
    std::fs::write(&text_file, "not sqlite")?;
    let (ok, output) = patchbay(&["restore", "--db", &work.0.join("other.db").to_string_lossy(), &text_file.to_string_lossy()], &work.0)?;
    assert!(!ok, "{output}");
    assert!(!work.0.join("other.db").exists());

    let restored = PatchbayServer::start_on(restored_dir, restored_db, None).await?;
    let rt = restored.admin_token().await?;
    // The writes in the backup are the first k acknowledged ones, k at least
    // those acknowledged before it started: one consistent moment, no gap.
    let restored_extensions = restored.expect(&rt, "GET", "/api/confd/1.1/extensions?recurse=true", None, 200).await?;
    let mut in_backup: Vec<i64> = restored_extensions["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["exten"].as_str().is_some_and(|x| x.starts_with('7') && x.len() == 4))
        .map(id)
        .collect();
    in_backup.sort_unstable();
    let k = in_backup.len();
    assert!(k >= before_backup && k < written.len(), "{k} writes in the backup, {before_backup} acknowledged before it, {} in all", written.len());
    assert_eq!(in_backup, written[..k], "the backup holds a prefix of the writes");
    println!("writes: {before_backup} acknowledged before the backup started, {k} in the backup, {} in all", written.len());
    // Bring the live server back to that moment, then everything must match.
    for extension in &written[k..] {
        live.expect(&t, "DELETE", &format!("/api/confd/1.1/extensions/{extension}"), None, 204).await?;
    }
    let expected = everything(&live, &t).await?;
    let actual = everything(&restored, &rt).await?;
    for ((path, want), (_, got)) in expected.iter().zip(&actual) {
        assert_eq!(got, want, "{path} differs after restore");
    }
    let endpoints = actual.iter().find(|(path, _)| path.ends_with("/endpoints/sip")).map(|(_, v)| v.to_string()).unwrap();
    for secret in ["backup-trunk-secret", "backup-phone-secret", "acme-trunk-secret"] {
        assert!(endpoints.contains(secret), "{secret} missing from the restored endpoints");
    }
    let preview = &actual.last().unwrap().1;
    assert!(preview.to_string().contains("alice-phone") && preview.to_string().contains("acme-peer"), "{preview}");
    // Accounts came back with their passwords.
    restored.login("acme-admin", "acme-password-1").await?;
    restored.login("admin", ADMIN_PASSWORD).await?;
    Ok(())
}
