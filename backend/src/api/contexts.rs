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
    let input: Map<String, Value> = body_object(&body)?;
    let kind = match input.get("type") {
        None => "internal",
        Some(value) => value
            .as_str()
            .filter(|kind| TYPES.contains(kind))
            .ok_or_else(|| ApiError::input("type", format!("Must be one of: {}.", TYPES.join(", "))))?,
    };
    let name = match input.get("name") {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.as_str().filter(|name| legacy_name_ok(name)).ok_or_else(|| {
            ApiError::input("name", "must be 1 to 39 characters among a-z A-Z 0-9 _ - and not a reserved name")
        })?),
    };
    let label = match input.get("label").or(input.get("name")) {
        Some(Value::String(label)) if (1..=128).contains(&label.len()) && !label.contains(['\n', '\r']) => label.clone(),
        _ => return Err(ApiError::input("label", "is required: a single line of 1 to 128 characters")),
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
        let row = CONTEXT.insert(tx, &caller, body, true)?;
        Ok(CONTEXT.created(&row, present(tx, &row)?))
    })?;
    state.asterisk.request_apply();
    Ok(response)
}
