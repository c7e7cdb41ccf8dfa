//! Two Patchbays on one database (the shared store: one PostgreSQL
//! database under `PATCHBAY_TEST_DB=postgres`, else one SQLite file): what
//! one writes the other serves at once, writes made through both at the
//! same time all land with distinct ids, and a rule (one number per
//! context) holds across them.

use patchbay_e2e::app::{PatchbayServer, TempDir};
use serde_json::{Value, json};
use std::collections::BTreeSet;

async fn create(server: &PatchbayServer, token: &str, exten: String) -> anyhow::Result<(u16, Value)> {
    server.call(token, "POST", "/api/confd/1.1/extensions", Some(json!({"exten": exten, "context": "default"}))).await
}

#[tokio::test]
async fn two_servers_share_one_store() -> anyhow::Result<()> {
    let first = PatchbayServer::start(None).await?;
    let second = PatchbayServer::start_on(TempDir::new("second"), first.db.clone(), None).await?;
    let (a, b) = (first.admin_token().await?, second.admin_token().await?);

    // Written through one, served by the other.
    let created = first.expect(&a, "POST", "/api/confd/1.1/extensions", Some(json!({"exten": "1000", "context": "default"})), 201).await?;
    let seen = second.expect(&b, "GET", &format!("/api/confd/1.1/extensions/{}", created["id"]), None, 200).await?;
    assert_eq!(seen["exten"], "1000", "{seen}");

    // Both write at once: every create lands, ids never collide.
    let firsts = twenty_creates(&first, &a, 2000);
    let seconds = twenty_creates(&second, &b, 3000);
    let (firsts, seconds) = tokio::join!(firsts, seconds);
    let mut ids = BTreeSet::new();
    for (status, body) in firsts?.into_iter().chain(seconds?) {
        assert_eq!(status, 201, "{body}");
        assert!(ids.insert(body["id"].as_i64().expect("an id")), "id {} given twice", body["id"]);
    }
    let listed = first.expect(&a, "GET", "/api/confd/1.1/extensions?search=default&limit=1000", None, 200).await?;
    assert_eq!(listed["total"], 41, "{listed}");

    // One number per context, whichever server is asked.
    let (status, errors) = create(&second, &b, "1000".into()).await?;
    assert_eq!(status, 400, "{errors}");
    assert_eq!(errors, json!(["Resource Error - Extension already exists ('exten': '1000', 'context': 'default')"]));
    Ok(())
}

/// Twenty creates in sequence through `server`, numbers from `base`.
async fn twenty_creates(server: &PatchbayServer, token: &str, base: u32) -> anyhow::Result<Vec<(u16, Value)>> {
    let mut out = Vec::new();
    for n in 0..20 {
        out.push(create(server, token, (base + n).to_string()).await?);
    }
    Ok(out)
}
