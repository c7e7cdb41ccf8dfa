//! `/endpoints/sip`: PJSIP endpoints (the seven section option lists).
//! Legacy chan_sip bodies (seeds 000/001) are translated by `patchbay_shared`.

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::listing::ListQuery;
use super::resource::{Spec, body_object};
use crate::server::AppState;
use crate::store::{Kind, ObjectRow, objects};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use rusqlite::Connection;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

pub const ENDPOINT_SIP: Spec =
    Spec { kind: Kind::EndpointSip, noun: "EndpointSIP", path: "endpoints/sip", rel: "endpoint_sip", by_uuid: true };
const COLUMNS: &[&str] = &["name", "label", "asterisk_id", "template"];

pub const SECTIONS: &[&str] = &[
    "aor_section_options",
    "auth_section_options",
    "endpoint_section_options",
    "identify_section_options",
    "registration_section_options",
    "registration_outbound_auth_section_options",
    "outbound_auth_section_options",
];

fn present(conn: &Connection, row: &ObjectRow) -> ApiResult<Value> {
    let mut body = ENDPOINT_SIP.present(row);
    let trunk = objects::list(conn, Kind::Trunk, None)?
        .into_iter()
        .find(|trunk| super::trunks::sip_uuid(&trunk.body) == row.uuid.as_deref())
        .map(|trunk| json!({"id": trunk.id, "links": super::trunks::TRUNK.links(&trunk)}));
    if let Value::Object(map) = &mut body {
        map.insert("trunk".into(), trunk.unwrap_or(Value::Null));
        map.entry("line").or_insert(Value::Null);
    }
    Ok(body)
}

fn name_in_use(conn: &Connection, name: &str, except: Option<&str>) -> ApiResult<bool> {
    Ok(objects::list(conn, Kind::EndpointSip, None)?
        .iter()
        .any(|row| row.body.get("name").and_then(Value::as_str) == Some(name) && row.uuid.as_deref() != except))
}

fn validate_and_merge(conn: &Connection, input: Map<String, Value>, endpoint: &mut Map<String, Value>, uuid: Option<&str>) -> ApiResult<()> {
    let input = super::sip_input::endpoint_sip_input(input)?;
    for (key, value) in input {
        if key == "name" {
            let name = value.as_str().ok_or_else(|| ApiError::input("name", "must be a string"))?;
            if name_in_use(conn, name, uuid)? {
                return Err(ApiError::resource(format!("EndpointSIP already exists ('name': '{name}')")));
            }
        }
        endpoint.insert(key, value);
    }
    Ok(())
}

pub fn field_errors(errors: Vec<(String, String)>) -> ApiError {
    ApiError::BadRequest(errors.into_iter().map(|error| format!("Input Error - {}: {}", error.0, error.1)).collect())
}

fn defaults() -> Map<String, Value> {
    let mut endpoint = Map::new();
    endpoint.insert("name".into(), json!(random_name()));
    endpoint.insert("label".into(), Value::Null);
    for section in SECTIONS {
        endpoint.insert((*section).into(), json!([]));
    }
    endpoint.insert("templates".into(), json!([]));
    endpoint.insert("transport".into(), Value::Null);
    endpoint.insert("asterisk_id".into(), Value::Null);
    endpoint
}

/// 8 random `[a-z0-9]` characters, as Wazo names endpoints created without one.
fn random_name() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..8).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

pub async fn list(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    let query = ListQuery::parse(&params, COLUMNS)?;
    state.store.read(|conn| {
        let rows = ENDPOINT_SIP.list_visible(conn, &caller, query.recurse)?;
        let items = rows.iter().map(|row| present(conn, row)).collect::<ApiResult<Vec<_>>>()?;
        Ok(Json(query.apply(items, COLUMNS, "label")))
    })
}

pub async fn get(State(state): State<AppState>, caller: Caller, Path(uuid): Path<String>) -> ApiResult<Json<Value>> {
    state.store.read(|conn| Ok(Json(present(conn, &ENDPOINT_SIP.find(conn, &caller, &uuid)?)?)))
}

pub async fn create(State(state): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    let input = body_object(&body)?;
    let response = state.store.write(|tx| {
        let mut endpoint = defaults();
        validate_and_merge(tx, input, &mut endpoint, None)?;
        let row = ENDPOINT_SIP.insert(tx, &caller, Value::Object(endpoint), true)?;
        Ok::<_, ApiError>(ENDPOINT_SIP.created(&row, present(tx, &row)?))
    })?;
    Ok(response)
}

pub async fn update(State(state): State<AppState>, caller: Caller, Path(uuid): Path<String>, body: Bytes) -> ApiResult<StatusCode> {
    let input = body_object(&body)?;
    state.store.write(|tx| {
        let before = ENDPOINT_SIP.find(tx, &caller, &uuid)?;
        let mut endpoint = before.body.as_object().cloned().unwrap_or_default();
        validate_and_merge(tx, input, &mut endpoint, before.uuid.as_deref())?;
        ENDPOINT_SIP.replace(tx, &caller, &before, Value::Object(endpoint))
    })?;
    state.asterisk.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

/// Deleting an endpoint leaves its trunk with `endpoint_sip: null`.
pub async fn delete(State(state): State<AppState>, caller: Caller, Path(uuid): Path<String>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let before = ENDPOINT_SIP.find(tx, &caller, &uuid)?;
        for trunk in objects::list(tx, Kind::Trunk, None)? {
            if super::trunks::sip_uuid(&trunk.body) == before.uuid.as_deref() {
                let mut body = trunk.body.clone();
                body["endpoint_sip"] = Value::Null;
                super::trunks::TRUNK.replace(tx, &caller, &trunk, body)?;
            }
        }
        ENDPOINT_SIP.remove(tx, &caller, &before)
    })?;
    state.asterisk.request_apply();
    Ok(StatusCode::NO_CONTENT)
}
