//! Asterisk nodes (`/api/patchbay/1.0/nodes`, master admin only) and a
//! tenant's placement (`/api/patchbay/1.0/tenants/{uuid}/node`). The
//! secret is write-only: no answer carries it, and a PUT without it keeps it;
//! so is `ari_secret`. `ari_url` (`http://host:port`), `ari_username` and
//! `ari_secret` set together give the node ARI access (`crate::ari`);
//! `"ari_url": null` takes it away.

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::resource::body_object;
use crate::api::AppState;
use crate::fleet::Fleet;
use crate::store::StoreError;
use crate::store::nodes::{self, Node};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// How long a move waits for the new node to hold the tenant.
const MOVE_TIMEOUT: Duration = Duration::from_secs(30);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/nodes", get(list).post(create))
        .route("/nodes/{id}", get(one).put(update).delete(remove))
        .route("/tenants/{uuid}/node", get(placement).put(move_tenant))
}

fn fleet(state: &AppState) -> ApiResult<&Fleet> {
    state.fleet.as_ref().ok_or_else(|| ApiError::Internal("no fleet".into()))
}

/// The link of `tenant`'s node (its live state, its AMI session), or the
/// server's link when Patchbay drives no node for it.
pub fn link_for(state: &AppState, tenant: &str) -> crate::sync::AsteriskLink {
    match state.fleet.as_ref().map(|fleet| fleet.node_of(tenant)) {
        Some(Ok(Some((_, link)))) => link,
        _ => state.asterisk.clone(),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found_key("Node", "id", id)
}

fn node_id(id: &str) -> ApiResult<i64> {
    id.parse().map_err(|_| not_found(id))
}

/// `GET /nodes`: every node, its state and its tenants.
async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require_master()?;
    let items = fleet(&state)?.overview()?;
    Ok(Json(json!({"total": items.len(), "items": items})))
}

async fn one(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    caller.require_master()?;
    let wanted = node_id(&id)?;
    let items = fleet(&state)?.overview()?;
    items.into_iter().find(|node| node["id"] == json!(wanted)).map(Json).ok_or_else(|| not_found(&id))
}

/// The fields of `input` over `node` (all required when `creating`).
fn apply_fields(node: &mut Node, input: &Map<String, Value>, creating: bool) -> ApiResult<()> {
    let mut errors = Vec::new();
    let missing = |key: &str| creating && !input.contains_key(key);
    for key in ["name", "host", "port", "username", "secret"] {
        if missing(key) {
            errors.push(ApiError::schema(key, &["Missing data for required field.".into()]));
        }
    }
    let text = |key: &str, ok: &dyn Fn(&str) -> bool, rule: &str, errors: &mut Vec<String>| -> Option<String> {
        match input.get(key) {
            None => None,
            Some(Value::String(text)) if ok(text) => Some(text.clone()),
            Some(_) => {
                errors.push(ApiError::schema(key, &[rule.to_string()]));
                None
            }
        }
    };
    let printable = |t: &str| !t.is_empty() && t.len() <= 255 && !t.chars().any(char::is_control);
    if let Some(name) = text(
        "name",
        &|t| (1..=64).contains(&t.len()) && t.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
        "1 to 64 of a-z A-Z 0-9 - _ .",
        &mut errors,
    ) {
        node.name = name;
    }
    if let Some(host) = text("host", &|t| printable(t) && !t.contains([' ', '/', '@']), "a host name or IP address", &mut errors) {
        node.host = host;
    }
    if let Some(username) = text("username", &|t| printable(t) && !t.contains([':', '@']), "1 to 255 printable characters, no : or @", &mut errors) {
        node.username = username;
    }
    if let Some(secret) = text("secret", &printable, "1 to 255 printable characters", &mut errors) {
        node.secret = secret;
    }
    match input.get("port") {
        None => {}
        Some(port) => match port.as_u64().and_then(|port| u16::try_from(port).ok()).filter(|port| *port > 0) {
            Some(port) => node.port = port,
            None => errors.push(ApiError::schema("port", &["Must be greater than or equal to 1 and less than or equal to 65535.".into()])),
        },
    }
    match input.get("is_default") {
        None => {}
        Some(Value::Bool(is_default)) => node.is_default = *is_default,
        Some(_) => errors.push(ApiError::schema("is_default", &["Not a valid boolean.".into()])),
    }
    apply_ari(node, input, &mut errors);
    if let Some(unknown) = input.keys().find(|key| !["name", "host", "port", "username", "secret", "is_default", "id", "ari_url", "ari_username", "ari_secret"].contains(&key.as_str())) {
        errors.push(ApiError::schema(unknown, &["Unknown field.".into()]));
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::BadRequest(errors)) }
}

/// `ari_url`, `ari_username`, `ari_secret` over the node's ARI access:
/// `ari_url: null` removes it; otherwise the three together, the ones not
/// sent kept from the node's access.
fn apply_ari(node: &mut Node, input: &Map<String, Value>, errors: &mut Vec<String>) {
    if input.get("ari_url") == Some(&Value::Null) {
        node.ari = None;
        return;
    }
    let printable = |t: &str| !t.is_empty() && t.len() <= 255 && !t.chars().any(char::is_control);
    let mut field = |key: &str, ok: &dyn Fn(&str) -> bool, rule: &str, kept: Option<&String>| -> Option<String> {
        match input.get(key) {
            None => kept.cloned(),
            Some(Value::String(text)) if ok(text) => Some(text.clone()),
            Some(_) => {
                errors.push(ApiError::schema(key, &[rule.to_string()]));
                None
            }
        }
    };
    let kept = node.ari.clone();
    let url = field(
        "ari_url",
        &|t| crate::ari::AriClient::valid_base(t),
        "an http:// URL with a host and a port, no path (http://host:8088)",
        kept.as_ref().map(|ari| &ari.url),
    );
    let username = field("ari_username", &|t| printable(t) && !t.contains(':'), "1 to 255 printable characters, no :", kept.as_ref().map(|ari| &ari.username));
    let secret = field("ari_secret", &printable, "1 to 255 printable characters", kept.as_ref().map(|ari| &ari.secret));
    let sent = ["ari_url", "ari_username", "ari_secret"].iter().any(|key| input.contains_key(*key));
    match (url, username, secret) {
        (Some(url), Some(username), Some(secret)) => node.ari = Some(crate::store::nodes::Ari { url, username, secret }),
        _ if sent && errors.is_empty() => errors.push(ApiError::schema("ari_url", &["ari_url, ari_username and ari_secret go together.".into()])),
        _ => {}
    }
}

/// An audit line for a node (kind `node`) or a placement (kind
/// `tenant_node`); a node's document never holds its secret, only whether
/// it changed.
fn audit(conn: &crate::store::Connection, caller: &Caller, tenant: Option<&str>, (action, kind, object_id): (&str, &str, &str), (before, after): (Option<Value>, Option<Value>)) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO audit (at, account, tenant_uuid, action, kind, object_id, before, after, change_set) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        crate::store::params![
            super::auth::now_unix(),
            caller.account.username,
            tenant,
            action,
            kind,
            object_id,
            before.map(|v| v.to_string()),
            after.map(|v| v.to_string()),
            caller.change_set
        ],
    )?;
    Ok(())
}

fn name_taken(error: StoreError, name: &str) -> ApiError {
    if error.constraint_violation() { ApiError::resource(format!("Node already exists ('name': '{name}')")) } else { error.into() }
}

/// `POST /nodes` `{name, host, port, username, secret, is_default}`: 201,
/// and its driver starts. The first node is the default one.
async fn create(State(state): State<AppState>, caller: Caller, body: axum::body::Bytes) -> ApiResult<Response> {
    caller.require_master()?;
    let input = body_object(&body)?;
    let mut node = Node { id: 0, name: String::new(), host: String::new(), port: 5038, username: String::new(), secret: String::new(), is_default: false, ari: None };
    apply_fields(&mut node, &input, true)?;
    let id = state.store.write(|tx| {
        if nodes::default_node(tx)?.is_none() {
            node.is_default = true;
        }
        let id = nodes::insert(tx, &node).map_err(|error| name_taken(error, &node.name))?;
        audit(tx, &caller, None, ("create", "node", &id.to_string()), (None, Some(Node { id, ..node.clone() }.to_json())))?;
        Ok::<_, ApiError>(id)
    })?;
    node.id = id;
    let fleet = fleet(&state)?;
    fleet.reconcile()?;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/patchbay/1.0/nodes/{id}")) {
        headers.insert(header::LOCATION, location);
    }
    Ok((StatusCode::CREATED, headers, Json(node.to_json())).into_response())
}

/// `PUT /nodes/{id}`: the fields sent, the others kept (the secret too).
/// A new address or credentials reconnect the node.
async fn update(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, body: axum::body::Bytes) -> ApiResult<StatusCode> {
    caller.require_master()?;
    let wanted = node_id(&id)?;
    let input = body_object(&body)?;
    state.store.write(|tx| {
        let mut node = nodes::get(tx, wanted)?.ok_or_else(|| not_found(&id))?;
        let before = node.clone();
        apply_fields(&mut node, &input, false)?;
        if before.is_default && !node.is_default {
            return Err(ApiError::input("is_default", "the default node stays the default until another node is made the default"));
        }
        nodes::update(tx, &node).map_err(|error| name_taken(error, &node.name))?;
        let mut after = node.to_json();
        after["secret"] = json!(if node.secret == before.secret { "(unchanged)" } else { "(changed)" });
        if node.ari.is_some() {
            let same = node.ari.as_ref().map(|ari| &ari.secret) == before.ari.as_ref().map(|ari| &ari.secret);
            after["ari_secret"] = json!(if same { "(unchanged)" } else { "(changed)" });
        }
        audit(tx, &caller, None, ("update", "node", &id), (Some(before.to_json()), Some(after)))?;
        Ok::<_, ApiError>(())
    })?;
    fleet(&state)?.reconcile()?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /nodes/{id}`: refused while tenants are on it.
async fn remove(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    caller.require_master()?;
    let wanted = node_id(&id)?;
    state.store.write(|tx| {
        let node = nodes::get(tx, wanted)?.ok_or_else(|| not_found(&id))?;
        let default = nodes::default_node(tx)?.map(|node| node.id);
        let on = nodes::placements(tx)?
            .into_iter()
            .filter(|(_, placement)| nodes::node_of(*placement, default) == Some(wanted) || placement.moving_from == Some(wanted))
            .count();
        if on > 0 {
            return Err(ApiError::resource(format!("Node '{}' holds {on} tenant(s): move them to another node first", node.name)));
        }
        if node.is_default && nodes::list(tx)?.len() > 1 {
            return Err(ApiError::resource(format!("Node '{}' is the default node: make another node the default first", node.name)));
        }
        nodes::delete(tx, wanted)?;
        audit(tx, &caller, None, ("delete", "node", &id), (Some(node.to_json()), None))?;
        Ok::<_, ApiError>(())
    })?;
    fleet(&state)?.reconcile()?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's uuid if the caller may see it, else Wazo's 404.
fn visible_tenant(caller: &Caller, uuid: &str) -> ApiResult<()> {
    if caller.visible.iter().any(|visible| visible == uuid) { Ok(()) } else { Err(ApiError::not_found_key("Tenant", "uuid", uuid)) }
}

/// `GET /tenants/{uuid}/node`: the node the tenant is on (and the one it is
/// leaving while a move is in progress).
async fn placement(State(state): State<AppState>, caller: Caller, Path(uuid): Path<String>) -> ApiResult<Json<Value>> {
    visible_tenant(&caller, &uuid)?;
    Ok(Json(tenant_node(&state, &uuid)?))
}

pub fn tenant_node(state: &AppState, tenant: &str) -> ApiResult<Value> {
    let (placement, default, all) = state.store.read(|conn| {
        Ok::<_, StoreError>((nodes::placement(conn, tenant)?, nodes::default_node(conn)?.map(|node| node.id), nodes::list(conn)?))
    })?;
    let placement = placement.ok_or_else(|| ApiError::not_found_key("Tenant", "uuid", tenant))?;
    let name = |id: Option<i64>| id.and_then(|id| all.iter().find(|node| node.id == id)).map(|node| node.name.clone());
    let node = nodes::node_of(placement, default);
    Ok(json!({
        "tenant_uuid": tenant,
        "node_id": node,
        "node": name(node),
        "moving_from": placement.moving_from,
        "moving_from_node": name(placement.moving_from),
    }))
}

/// `PUT /tenants/{uuid}/node` `{"node_id": N}` (master): moves the tenant
/// and answers once node N holds it (200), or 504 when it did not within
/// 30 s (the move goes on: the old node keeps the tenant until then).
async fn move_tenant(State(state): State<AppState>, caller: Caller, Path(uuid): Path<String>, body: axum::body::Bytes) -> ApiResult<Response> {
    caller.require_master()?;
    visible_tenant(&caller, &uuid)?;
    let input = body_object(&body)?;
    let to = match input.get("node_id") {
        None => return Err(ApiError::BadRequest(vec![ApiError::schema("node_id", &["Missing data for required field.".into()])])),
        Some(value) => value.as_i64().ok_or_else(|| ApiError::BadRequest(vec![ApiError::schema("node_id", &["Not a valid integer.".into()])]))?,
    };
    if state.store.read(|conn| nodes::get(conn, to))?.is_none() {
        return Err(ApiError::input("node_id", format!("Node was not found ('id': {to})")));
    }
    let before = tenant_node(&state, &uuid)?;
    state.store.write(|tx| audit(tx, &caller, Some(&uuid), ("update", "tenant_node", &uuid), (Some(json!({"node_id": before["node_id"]})), Some(json!({"node_id": to})))))?;
    let done = fleet(&state)?.move_tenant(&uuid, to, MOVE_TIMEOUT).await?;
    let mut answer = tenant_node(&state, &uuid)?;
    answer["moved"] = json!(done);
    let code = if done { StatusCode::OK } else { StatusCode::GATEWAY_TIMEOUT };
    Ok((code, Json(answer)).into_response())
}
