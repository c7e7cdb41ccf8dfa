//! Helpers shared by the sync test files (`mod sync_support;` in each).

use patchbay_backend::ami::{AmiClient, AmiMessage};
use patchbay_backend::store::{Kind, Store, objects};
use patchbay_e2e::app::{PatchbayServer, TempDir, database_arg};
use serde_json::{Value, json};

pub async fn has_endpoint(ami: &AmiClient, name: &str) -> bool {
    ami.send("PJSIPShowEndpoint", AmiMessage::new().with("Endpoint", name)).await.is_ok()
}

/// The status as `token`'s caller sees it.
pub async fn status(server: &PatchbayServer, token: &str) -> anyhow::Result<Value> {
    server.expect(token, "GET", "/api/patchbay/1.0/status", None, 200).await
}

/// A SIP trunk `name` towards `host` through the API, inbound calls to
/// `context` (none: the endpoint's own); returns (endpoint, trunk).
pub async fn sip_trunk(server: &PatchbayServer, token: &str, name: &str, host: &str, endpoint_options: Value, context: Option<&str>) -> anyhow::Result<(Value, Value)> {
    let endpoint = server
        .expect(token, "POST", "/api/confd/1.1/endpoints/sip", Some(json!({
            "name": name, "label": name,
            "aor_section_options": [["contact", format!("sip:{host}:5060")]],
            "identify_section_options": [["match", host]],
            "endpoint_section_options": endpoint_options,
        })), 201)
        .await?;
    let body = context.map_or_else(|| json!({}), |context| json!({"context": context}));
    let trunk = server.expect(token, "POST", "/api/confd/1.1/trunks", Some(body), 201).await?;
    let association = format!("/api/confd/1.1/trunks/{}/endpoints/sip/{}", trunk["id"], endpoint["uuid"].as_str().unwrap_or_default());
    server.expect(token, "PUT", &association, None, 204).await?;
    Ok((endpoint, trunk))
}

/// Stops `server`, sets the endpoint's `endpoint_section_options` straight
/// in its database (a value the API's validation may refuse, as data written
/// before a rule existed would be), and starts it again on `ami`.
#[allow(dead_code)] // compiled into each sync test file; not every one uses it
pub async fn with_endpoint_options_in_db(server: PatchbayServer, endpoint: &Value, options: Value, ami: &str) -> anyhow::Result<PatchbayServer> {
    let db = server.db.clone();
    let dir: TempDir = server.kill();
    let uuid = endpoint["uuid"].as_str().unwrap_or_default().to_string();
    let store = Store::connect(&patchbay_backend::config::database(&database_arg(&db)).map_err(anyhow::Error::msg)?)?;
    store.write(|tx| {
        let row = objects::get_by_uuid(tx, Kind::EndpointSip, &uuid, None)?.expect("the endpoint is stored");
        let mut body = row.body.clone();
        body["endpoint_section_options"] = options;
        objects::update_body(tx, Kind::EndpointSip, row.id, &body)
    })?;
    drop(store);
    PatchbayServer::start_on(dir, db, Some(ami)).await
}
