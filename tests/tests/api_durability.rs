//! SIGKILL during a stream of writes: every acknowledged write survives.

use patchbay_e2e::app::PatchbayServer;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() -> anyhow::Result<()> {
    let s = PatchbayServer::start(None).await?;
    let t = s.admin_token().await?;
    let db = s.db.clone();
    let base = s.base_url.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (t, stop) = (t.clone(), stop.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut acknowledged = Vec::new();
            for i in 0..100_000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let name = format!("outcall-{i}");
                let sent = http.post(format!("{base}/1.1/outcalls")).header("X-Auth-Token", &t).json(&json!({"name": name})).send().await;
                match sent {
                    Ok(r) if r.status().as_u16() == 201 => acknowledged.push(name),
                    _ => break,
                }
            }
            acknowledged
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let dir = s.kill();
    stop.store(true, Ordering::SeqCst);
    let acknowledged = writer.await?;
    assert!(acknowledged.len() > 5, "only {} writes before the kill", acknowledged.len());
    let s = PatchbayServer::start_on(dir, db, None).await?;
    let t = s.admin_token().await?;
    let list = s.expect(&t, "GET", "/1.1/outcalls?limit=100000", None, 200).await?;
    let names: std::collections::HashSet<String> =
        list["items"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_string()).collect();
    for name in &acknowledged {
        assert!(names.contains(name), "acknowledged {name} lost after SIGKILL");
    }
    Ok(())
}
