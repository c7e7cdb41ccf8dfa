//! `/contexts`. Names are generated (`ctx-<slug>-<type>-<uuid>`) unless the
//! client supplies a legacy name (`default`, `from-extern`...), which the seed
//! scripts rely on.

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::listing::ListQuery;
use super::resource::{Spec, body_object};
use crate::api::AppState;
use crate::store::{Kind, ObjectRow, objects};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Json;
use crate::store::Connection;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

pub const CONTEXT: Spec = Spec { kind: Kind::Context, noun: "Context", path: "contexts", rel: "contexts", by_uuid: false };
const COLUMNS: &[&str] = &["id", "name", "label", "description", "type"];
const TYPES: &[&str] = &["internal", "incall", "outcall", "services", "others"];
const RESERVED: &[&str] = &["authentication", "general", "global", "globals", "parkedcalls", "xivo-features", "zonemessages"];
/// The range lists a context carries, in Wazo's order.
pub use crate::store::contexts::{RANGE_FIELDS, new_context, open_ranges};

/// The range lists of a request body, checked as Wazo's `RangeSchema`
/// (`start`/`end` digit strings of at most 16 and of the same length,
/// `start <= end`; `did_length` an integer >= 0 on incall ranges). Every
/// invalid list is named, each with marshmallow's `{index: {field: [...]}}`.
fn ranges_from(input: &Map<String, Value>) -> Result<Vec<(&'static str, Value)>, Vec<String>> {
    use patchbay_shared::model::ContextRange;
    use patchbay_shared::validate::FieldError;
    let mut accepted = Vec::new();
    let mut errors: Vec<FieldError> = Vec::new();
    for field in RANGE_FIELDS {
        let Some(value) = input.get(field) else { continue };
        let Some(items) = value.as_array() else {
            errors.push(FieldError::new(field, "Invalid type."));
            continue;
        };
        let before = errors.len();
        let mut ranges = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let mut problem = |key: &str, message: &str| errors.push(FieldError::new(format!("{field}[{index}].{key}"), message));
            let text = |key: &str| match item.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => Ok(Some(text.clone())),
                Some(_) => Err("Not a valid string."),
            };
            let start = text("start").unwrap_or_else(|message| {
                problem("start", message);
                None
            });
            let end = text("end").unwrap_or_else(|message| {
                problem("end", message);
                None
            });
            let did_length = match item.get("did_length") {
                Some(value) if field == "incall_ranges" && !value.is_null() => match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
                    Some(n) => Some(n),
                    None if value.as_i64().is_some() => {
                        problem("did_length", "Must be greater than or equal to 0.");
                        None
                    }
                    None => {
                        problem("did_length", "Not a valid integer.");
                        None
                    }
                },
                _ => None,
            };
            let Some(start) = start else {
                if item.get("start").is_none_or(Value::is_null) {
                    problem("start", "Missing data for required field.");
                }
                continue;
            };
            let range = ContextRange { start, end: end.filter(|e| !e.is_empty()), did_length };
            for (key, message) in range.problems() {
                problem(key, &message);
            }
            ranges.push(range);
        }
        if errors.len() == before {
            accepted.push((field, serde_json::to_value(&ranges).unwrap_or(Value::Null)));
        }
    }
    if errors.is_empty() { Ok(accepted) } else { Err(super::docs::schema_messages(errors)) }
}


/// The context's range lists as Wazo shows them: every list present, `end`
/// filled in (it defaults to `start`), `did_length` on incall ranges only.
fn present_ranges(stored: &Value, map: &mut Map<String, Value>) {
    for field in RANGE_FIELDS {
        let items = stored.get(field).and_then(Value::as_array).cloned().unwrap_or_default();
        let shown: Vec<Value> = items
            .iter()
            .map(|item| {
                let start = item.get("start").cloned().unwrap_or(Value::Null);
                let end = item.get("end").filter(|e| !e.is_null() && e.as_str() != Some("")).cloned().unwrap_or_else(|| start.clone());
                if field == "incall_ranges" {
                    json!({"start": start, "end": end, "did_length": item.get("did_length").and_then(Value::as_u64).unwrap_or(0)})
                } else {
                    json!({"start": start, "end": end})
                }
            })
            .collect();
        map.insert(field.into(), Value::Array(shown));
    }
}

/// The context of that name, if the caller may see it.
pub fn find_named(conn: &Connection, caller: &Caller, name: &str) -> ApiResult<Option<ObjectRow>> {
    Ok(objects::find_where(conn, Kind::Context, "name", &serde_json::json!(name), Some(&caller.visible))?)
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
        present_ranges(&row.body, map);
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
    // No body: the required label is missing, as for every resource with a required field.
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::field("label", "Missing data for required field."));
    }
    let input: Map<String, Value> = body_object(&body)?;
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
    let ranges = ranges_from(&input).map_err(ApiError::BadRequest)?;
    let response = state.store.write(|tx| {
        if let Some(name) = name
            && objects::taken(tx, Kind::Context, "name", &json!(name), 0)?
        {
            return Err(ApiError::resource(format!("Context already exists ('name': '{name}')")));
        }
        let slug = crate::bootstrap::tenant_slug(tx, &caller.tenant_uuid)?;
        let (_, mut body) = new_context(&slug, &label, kind, name);
        if let Some(description) = input.get("description").and_then(Value::as_str) {
            body["description"] = json!(description);
        }
        // Wazo's defaults: no ranges, so nothing may be bound until some are given.
        for field in RANGE_FIELDS {
            body[field] = json!([]);
        }
        for (field, value) in &ranges {
            body[*field] = value.clone();
        }
        let draft = ObjectRow { id: objects::next_id(tx, Kind::Context)?, uuid: None, tenant_uuid: Some(caller.tenant_uuid.clone()), body: body.clone() };
        check_context(&draft)?;
        let row = CONTEXT.insert(tx, &caller, body, true)?;
        Ok(CONTEXT.created(&row, present(tx, &row)?))
    })?;
    state.request_apply();
    Ok(response)
}

/// `PUT /contexts/{id}`: `label`, `description`, `enabled` and the range
/// lists, each replaced as a whole (the name and type stay).
pub async fn update(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, body: axum::body::Bytes) -> ApiResult<axum::http::StatusCode> {
    let input = body_object(&body)?;
    let ranges = ranges_from(&input).map_err(ApiError::BadRequest)?;
    state.store.write(|tx| {
        let before = CONTEXT.find(tx, &caller, &id)?;
        let mut body = before.body.clone();
        for key in ["label", "description", "enabled"] {
            if let Some(value) = input.get(key) {
                body[key] = value.clone();
            }
        }
        for (field, value) in &ranges {
            body[*field] = value.clone();
        }
        check_context(&ObjectRow { body: body.clone(), ..before.clone() })?;
        CONTEXT.replace(tx, &caller, &before, body)
    })?;
    state.request_apply();
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
    state.request_apply();
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
    state.request_apply();
    Ok(axum::http::StatusCode::NO_CONTENT)
}
