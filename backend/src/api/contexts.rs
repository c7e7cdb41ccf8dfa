//! `/contexts`. Names are generated (`ctx-<slug>-<type>-<uuid>`) unless the
//! client supplies a legacy name (`default`, `from-extern`...), which the seed
//! scripts rely on.

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::listing::ListQuery;
use super::resource::{Spec, body_object};
use crate::server::AppState;
use crate::store::{Kind, ObjectRow, objects};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Json;
use rusqlite::Connection;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

pub const CONTEXT: Spec = Spec { kind: Kind::Context, noun: "Context", path: "contexts", rel: "contexts", by_uuid: false };
const COLUMNS: &[&str] = &["id", "name", "label", "description", "type"];
const TYPES: &[&str] = &["internal", "incall", "outcall", "services", "others"];
const RESERVED: &[&str] = &["authentication", "general", "global", "globals", "parkedcalls", "xivo-features", "zonemessages"];

/// The context of that name, if the caller may see it.
pub fn find_named(conn: &Connection, caller: &Caller, name: &str) -> ApiResult<Option<ObjectRow>> {
    Ok(objects::list(conn, Kind::Context, Some(&caller.visible))?
        .into_iter()
        .find(|row| row.body.get("name").and_then(Value::as_str) == Some(name)))
}

pub fn require_context_named(conn: &Connection, caller: &Caller, name: &str) -> ApiResult<()> {
    match find_named(conn, caller, name)? {
        Some(_) => Ok(()),
        None => Err(ApiError::input("field 'context'", format!("Context was not found ('context': '{name}')"))),
    }
}

fn legacy_name_ok(name: &str) -> bool {
    (1..=39).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !RESERVED.contains(&name)
}

/// Builds a context document; `name` is the legacy client-chosen name, if any.
pub fn new_context(tenant_slug: &str, label: &str, kind: &str, name: Option<&str>) -> (String, Value) {
    let uuid = uuid::Uuid::new_v4().to_string();
    let name = name.map(str::to_string).unwrap_or_else(|| format!("ctx-{tenant_slug}-{kind}-{uuid}"));
    let body = json!({
        "name": name, "label": label, "type": kind, "description": null, "enabled": true,
        "contexts": [], "context_uuid": uuid,
    });
    (uuid, body)
}

fn present(conn: &Connection, row: &ObjectRow) -> ApiResult<Value> {
    let mut body = CONTEXT.present(row);
    let includes = row.body.get("contexts").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut shown = Vec::new();
    for include in includes {
        if let Some(id) = include.get("id").and_then(Value::as_i64)
            && let Some(included) = objects::get(conn, Kind::Context, id, None)?
        {
            shown.push(json!({"id": id, "name": included.body.get("name"), "label": included.body.get("label"), "links": CONTEXT.links(&included)}));
        }
    }
    if let Value::Object(map) = &mut body {
        map.insert("contexts".into(), Value::Array(shown));
        if let Some(uuid) = map.remove("context_uuid") {
            map.insert("uuid".into(), uuid);
        }
    }
    Ok(body)
}

pub async fn list(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    let query = ListQuery::parse(&params, COLUMNS)?;
    state.store.read(|conn| {
        let rows = CONTEXT.list_visible(conn, &caller, query.recurse)?;
        let items = rows.iter().map(|row| present(conn, row)).collect::<ApiResult<Vec<_>>>()?;
        Ok(Json(query.apply(items, COLUMNS, "id")))
    })
}

pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    state.store.read(|conn| Ok(Json(present(conn, &CONTEXT.find(conn, &caller, &id)?)?)))
}

pub async fn create(State(state): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    let input: Map<String, Value> = super::resource::body_required(&body)?;
    let kind = match input.get("type") {
        None => "internal",
        Some(value) => value
            .as_str()
            .filter(|kind| TYPES.contains(kind))
            .ok_or_else(|| ApiError::field("type", format!("Must be one of: {}.", TYPES.join(", "))))?,
    };
    let name = match input.get("name") {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.as_str().filter(|name| legacy_name_ok(name)).ok_or_else(|| {
            ApiError::field("name", "must be 1 to 39 characters among a-z A-Z 0-9 _ - and not a reserved name")
        })?),
    };
    let label = match input.get("label").or(input.get("name")) {
        Some(Value::String(label)) if (1..=128).contains(&label.len()) && !label.contains(['\n', '\r']) => label.clone(),
        _ => return Err(ApiError::field("label", "is required: a single line of 1 to 128 characters")),
    };
    let response = state.store.write(|tx| {
        if let Some(name) = name
            && objects::list(tx, Kind::Context, None)?.iter().any(|row| row.body.get("name").and_then(Value::as_str) == Some(name))
        {
            return Err(ApiError::resource(format!("Context already exists ('name': '{name}')")));
        }
        let slug = crate::bootstrap::tenant_slug(tx, &caller.tenant_uuid)?;
        let (_, mut body) = new_context(&slug, &label, kind, name);
        if let Some(description) = input.get("description").and_then(Value::as_str) {
            body["description"] = json!(description);
        }
        let draft = ObjectRow { id: objects::next_id(tx, Kind::Context)?, uuid: None, tenant_uuid: Some(caller.tenant_uuid.clone()), body: body.clone() };
        check_context(&draft)?;
        let row = CONTEXT.insert(tx, &caller, body, true)?;
        Ok(CONTEXT.created(&row, present(tx, &row)?))
    })?;
    state.asterisk.request_apply();
    Ok(response)
}

/// `PUT /contexts/{id}`: `label`, `description`, `enabled` (the name and type stay).
pub async fn update(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, body: axum::body::Bytes) -> ApiResult<axum::http::StatusCode> {
    let input = body_object(&body)?;
    state.store.write(|tx| {
        let before = CONTEXT.find(tx, &caller, &id)?;
        let mut body = before.body.clone();
        for key in ["label", "description", "enabled"] {
            if let Some(value) = input.get(key) {
                body[key] = value.clone();
            }
        }
        check_context(&ObjectRow { body: body.clone(), ..before.clone() })?;
        CONTEXT.replace(tx, &caller, &before, body)
    })?;
    state.asterisk.request_apply();
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The shared rules for a context document (label, description: no control
/// characters, no `${`), on create as on update.
fn check_context(row: &ObjectRow) -> ApiResult<()> {
    let mut doc = crate::snapshot::document(row, false);
    if let Some(uuid) = doc.as_object_mut().and_then(|m| m.remove("context_uuid")) {
        doc["uuid"] = uuid;
    }
    let context: patchbay_shared::model::Context = super::docs::typed(&doc)?;
    super::docs::ok_or_400(patchbay_shared::validate::context(&context))
}

/// `DELETE /contexts/{id}`: refused while extensions, trunks or includes use it.
pub async fn delete(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<axum::http::StatusCode> {
    state.store.write(|tx| {
        let before = CONTEXT.find(tx, &caller, &id)?;
        let name = before.body.get("name").cloned().unwrap_or(Value::Null);
        if objects::list(tx, Kind::Extension, None)?.iter().any(|e| e.body.get("context") == Some(&name)) {
            return Err(ApiError::resource("Context is associated with a Extension"));
        }
        if objects::list(tx, Kind::Trunk, None)?.iter().any(|t| t.body.get("context") == Some(&name)) {
            return Err(ApiError::resource("Context is associated with a Trunk"));
        }
        for other in objects::list(tx, Kind::Context, None)? {
            let includes = other.body["contexts"].as_array().cloned().unwrap_or_default();
            let kept: Vec<Value> = includes.iter().filter(|c| c["id"].as_i64() != Some(before.id)).cloned().collect();
            if kept.len() != includes.len() {
                let mut body = other.body.clone();
                body["contexts"] = Value::Array(kept);
                CONTEXT.replace(tx, &caller, &other, body)?;
            }
        }
        CONTEXT.remove(tx, &caller, &before)
    })?;
    state.asterisk.request_apply();
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `PUT /contexts/{id}/contexts` `{"contexts": [{"id": 2}, ...]}`: ordered includes, same tenant.
pub async fn set_includes(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, body: axum::body::Bytes) -> ApiResult<axum::http::StatusCode> {
    let input = body_object(&body)?;
    state.store.write(|tx| {
        let context = CONTEXT.find(tx, &caller, &id)?;
        let list = input.get("contexts").and_then(Value::as_array).ok_or_else(|| ApiError::field("contexts", "Missing data for required field: a list of {\"id\": <context id>}"))?;
        let mut ids = Vec::new();
        for (index, item) in list.iter().enumerate() {
            let included_id = item.get("id").and_then(Value::as_i64).ok_or_else(|| ApiError::field(&format!("contexts[{index}].id"), "Not a valid integer."))?;
            let included = objects::get(tx, Kind::Context, included_id, Some(&caller.visible))?
                .ok_or_else(|| ApiError::input("field 'contexts'", format!("Context was not found ('id': {included_id})")))?;
            super::docs::same_tenant("context", &context, "included_context", &included)?;
            if included_id == context.id || ids.contains(&included_id) {
                return Err(ApiError::field("contexts", format!("context {included_id} cannot be included twice or in itself")));
            }
            ids.push(included_id);
        }
        let mut body = context.body.clone();
        body["contexts"] = json!(ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>());
        CONTEXT.replace(tx, &caller, &context, body)
    })?;
    state.asterisk.request_apply();
    Ok(axum::http::StatusCode::NO_CONTENT)
}
