//! `/trunks` and the trunk ↔ endpoint associations.

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::listing::ListQuery;
use super::resource::body_object;
use crate::api::AppState;
use crate::store::{Kind, ObjectRow, objects};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use crate::store::Connection;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

pub use super::specs::TRUNK;
const COLUMNS: &[&str] = &["id", "context", "description", "name", "label", "outgoing_caller_id_format"];

/// Keys the client may set on a trunk, with their checks. `owner` is the
/// trunk's tenant.
fn apply_fields(conn: &Connection, caller: &Caller, owner: &str, input: &Map<String, Value>, trunk: &mut Map<String, Value>) -> ApiResult<()> {
    for (key, value) in input {
        match key.as_str() {
            "shared_with" => {
                let tenants = shared_with(conn, caller, owner, value, trunk)?;
                trunk.insert(key.clone(), json!(tenants));
            }
            "context" => {
                match value {
                    Value::Null => {}
                    Value::String(name) => super::contexts::require_context_named(conn, caller, name)?,
                    _ => return Err(ApiError::field("context", "must be a context name or null")),
                }
                trunk.insert("context".into(), value.clone());
            }
            "twilio_incoming" => {
                if !value.is_boolean() {
                    return Err(ApiError::field("twilio_incoming", "Not a valid boolean."));
                }
                trunk.insert(key.clone(), value.clone());
            }
            "outgoing_caller_id_format" => {
                if !matches!(value.as_str(), Some("+E164" | "E164" | "national")) {
                    return Err(ApiError::field("outgoing_caller_id_format", "Must be one of: +E164, E164, national."));
                }
                trunk.insert(key.clone(), value.clone());
            }
            // Patchbay's extension: the trunk's number plan (null removes it).
            "number_plan" => {
                if !value.is_null() {
                    let plan: patchbay_shared::numbers::NumberPlan = serde_json::from_value(value.clone())
                        .map_err(|e| ApiError::field("number_plan", e.to_string()))?;
                    if plan.habits().is_none() {
                        let known: Vec<&str> = patchbay_shared::numbers::COUNTRIES.iter().map(|c| c.iso).collect();
                        return Err(ApiError::field("number_plan", format!("unknown country (known: {})", known.join(", "))));
                    }
                }
                trunk.insert(key.clone(), value.clone());
            }
            "description" => {
                if !(value.is_null() || value.as_str().is_some_and(|text| text.len() <= 2048 && !text.contains(['\n', '\r']))) {
                    return Err(ApiError::field("description", "must be a single line of at most 2048 characters, or null"));
                }
                trunk.insert(key.clone(), value.clone());
            }
            _ => {} // read-only and unknown keys are ignored, as in Wazo
        }
    }
    Ok(())
}

/// `shared_with`: the tenants whose routes may dial this trunk
/// (`tenancy::trunk_usable_by`). The master admin shares its own tenant's
/// SIP and IAX trunks; a custom interface enters the owner's dialplan and is
/// never shared.
fn shared_with(conn: &Connection, caller: &Caller, owner: &str, value: &Value, trunk: &Map<String, Value>) -> ApiResult<Vec<String>> {
    caller.require_master()?;
    if owner != caller.account.tenant_uuid {
        return Err(ApiError::input("shared_with", "only the platform tenant's own trunks can be shared"));
    }
    let Some(list) = value.as_array() else { return Err(ApiError::input("shared_with", "must be a list of tenant uuids")) };
    if !list.is_empty() && trunk.get("endpoint_custom").is_some_and(|e| !e.is_null()) {
        return Err(ApiError::input("shared_with", "a custom trunk cannot be shared: its interface enters this tenant's dialplan"));
    }
    let known = crate::store::people::tenants(conn)?;
    let mut tenants: Vec<String> = Vec::new();
    for item in list {
        let uuid = item.as_str().filter(|uuid| *uuid != owner && known.iter().any(|t| t.uuid == *uuid));
        match uuid {
            Some(uuid) if !tenants.iter().any(|t| t == uuid) => tenants.push(uuid.to_string()),
            Some(_) => {}
            None => return Err(ApiError::input("shared_with", format!("Tenant was not found ('uuid': {item})"))),
        }
    }
    Ok(tenants)
}

/// A trunk no longer shared with a tenant leaves that tenant's routes (as a
/// deleted trunk leaves every route): they would not render otherwise.
fn unshared(conn: &Connection, caller: &Caller, trunk: &ObjectRow, after: &Value) -> ApiResult<()> {
    let still = |tenant: &str| after["shared_with"].as_array().is_some_and(|l| l.iter().any(|t| t == tenant));
    super::interconnect::remove_from_outcalls(conn, caller, trunk.id, |outcall| {
        let tenant = outcall.tenant_uuid.as_deref().unwrap_or_default();
        Some(tenant) != trunk.tenant_uuid.as_deref() && !still(tenant)
    })
}

/// A trunk shared with the caller's tenant, as its tenant admin sees it:
/// the name and kind, nothing of the owner's endpoint, context or routes.
pub fn shared_summary(conn: &Connection, row: &ObjectRow) -> ApiResult<Value> {
    let name = match sip_uuid(&row.body) {
        Some(uuid) => objects::get_by_uuid(conn, Kind::EndpointSip, uuid, None)?.and_then(|e| e.body.get("name").cloned()),
        None => match row.body["endpoint_iax"]["id"].as_i64() {
            Some(id) => objects::get(conn, Kind::EndpointIax, id, None)?.and_then(|e| e.body.get("name").cloned()),
            None => None,
        },
    };
    let kind = if row.body["endpoint_iax"].is_object() { "iax" } else if row.body["endpoint_sip"].is_object() { "sip" } else { "none" };
    Ok(json!({"id": row.id, "name": name, "kind": kind, "shared": true}))
}


pub use crate::store::trunks::sip_uuid;

fn defaults() -> Map<String, Value> {
    let mut trunk = Map::new();
    trunk.insert("context".into(), Value::Null);
    trunk.insert("twilio_incoming".into(), json!(false));
    trunk.insert("outgoing_caller_id_format".into(), json!("+E164"));
    trunk.insert("description".into(), Value::Null);
    trunk.insert("endpoint_sip".into(), Value::Null);
    trunk.insert("endpoint_iax".into(), Value::Null);
    trunk.insert("endpoint_custom".into(), Value::Null);
    trunk.insert("register_iax".into(), Value::Null);
    trunk
}

/// The trunks as the API shows them: each one's endpoint summary and
/// outcalls (those of `visible` tenants; `None`: all) filled in, the
/// relations of the whole list fetched at once.
pub fn present_all(conn: &Connection, rows: &[ObjectRow], visible: Option<&[String]>) -> ApiResult<Vec<Value>> {
    let relations = crate::store::trunks::relations(conn, rows, visible)?;
    rows.iter().zip(relations).map(|(row, relations)| present_with(conn, row, relations)).collect()
}

/// One trunk as the API shows it (see [`present_all`]).
pub fn present(conn: &Connection, row: &ObjectRow, visible: Option<&[String]>) -> ApiResult<Value> {
    Ok(present_all(conn, std::slice::from_ref(row), visible)?.pop().unwrap_or(Value::Null))
}

fn present_with(conn: &Connection, row: &ObjectRow, relations: crate::store::trunks::Relations) -> ApiResult<Value> {
    let mut body = TRUNK.present(row);
    // Wazo's summary shows only the `username` of the auth section and
    // the `client_uri` of the registration.
    let endpoint_sip = relations.endpoint_sip.map(|endpoint| {
        let only = |section: &str, key: &str| -> Vec<Value> {
            endpoint.body[section].as_array().into_iter().flatten().filter(|pair| pair[0] == key).cloned().collect()
        };
        json!({
            "uuid": endpoint.uuid,
            "name": endpoint.body.get("name"),
            "label": endpoint.body.get("label"),
            "auth_section_options": only("auth_section_options", "username"),
            "registration_section_options": only("registration_section_options", "client_uri"),
            "links": super::specs::ENDPOINT_SIP.links(&endpoint),
        })
    });
    if let Value::Object(map) = &mut body {
        map.insert("name".into(), endpoint_sip.as_ref().and_then(|e| e.get("name").cloned()).unwrap_or(Value::Null));
        map.insert("label".into(), endpoint_sip.as_ref().and_then(|e| e.get("label").cloned()).unwrap_or(Value::Null));
        map.insert("endpoint_sip".into(), endpoint_sip.unwrap_or(Value::Null));
        // Wazo's TrunkSchema relations: `endpoint_iax {id, name}`,
        // `endpoint_custom {id, interface}`, `register_iax {id}`, with links.
        let iax = match row.body["endpoint_iax"]["id"].as_i64() {
            Some(id) => objects::get(conn, Kind::EndpointIax, id, None)?
                .map(|e| json!({"id": e.id, "name": e.body["name"], "links": super::specs::ENDPOINT_IAX.links(&e)})),
            None => None,
        };
        let custom = match row.body["endpoint_custom"]["id"].as_i64() {
            Some(id) => objects::get(conn, Kind::EndpointCustom, id, None)?
                .map(|e| json!({"id": e.id, "interface": e.body["interface"], "links": super::specs::ENDPOINT_CUSTOM.links(&e)})),
            None => None,
        };
        let register_iax = match row.body["register_iax"]["id"].as_i64() {
            Some(id) => objects::get(conn, Kind::RegisterIax, id, None)?.map(|r| super::docs::summary(&super::specs::REGISTER_IAX, &r)),
            None => None,
        };
        let register_sip = match row.body["register_sip"]["id"].as_i64() {
            Some(id) => objects::get(conn, Kind::RegisterSip, id, None)?.map(|r| super::docs::summary(&super::specs::REGISTER_SIP, &r)),
            None => None,
        };
        if let Some(custom) = &custom {
            map.insert("name".into(), custom["interface"].clone());
        } else if let Some(iax) = &iax {
            map.insert("name".into(), iax["name"].clone());
        }
        map.insert("endpoint_iax".into(), iax.unwrap_or(Value::Null));
        map.insert("endpoint_custom".into(), custom.unwrap_or(Value::Null));
        map.insert("register_iax".into(), register_iax.unwrap_or(Value::Null));
        map.insert("register_sip".into(), register_sip.unwrap_or(Value::Null));
        let outcalls: Vec<Value> = relations
            .outcalls
            .iter()
            .map(|o| json!({"id": o.id, "name": o.name, "links": super::specs::OUTCALL.links_by_id(o.id)}))
            .collect();
        map.insert("outcalls".into(), Value::Array(outcalls));
    }
    Ok(body)
}

pub async fn list(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    let query = ListQuery::parse(&params, COLUMNS)?;
    state.store.read(|conn| {
        let rows = TRUNK.list_visible(conn, &caller, query.recurse)?;
        let visible = Some(caller.visible.as_slice());
        let items = present_all(conn, &rows, visible)?;
        Ok(Json(query.apply(items, COLUMNS, "id")))
    })
}

pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    state.store.read(|conn| Ok(Json(present(conn, &TRUNK.find(conn, &caller, &id)?, Some(caller.visible.as_slice()))?)))
}

pub async fn create(State(state): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    let input = super::resource::body_required(&body)?;
    let response = state.store.write(|tx| {
        let mut trunk = defaults();
        apply_fields(tx, &caller, &caller.tenant_uuid, &input, &mut trunk)?;
        let row = TRUNK.insert(tx, &caller, Value::Object(trunk), true)?;
        Ok::<_, ApiError>(TRUNK.created(&row, present(tx, &row, Some(caller.visible.as_slice()))?))
    })?;
    state.request_apply();
    Ok(response)
}

pub async fn update(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, body: Bytes) -> ApiResult<StatusCode> {
    let input = body_object(&body)?;
    state.store.write(|tx| {
        let before = TRUNK.find(tx, &caller, &id)?;
        let mut trunk = before.body.as_object().cloned().unwrap_or_default();
        apply_fields(tx, &caller, before.tenant_uuid.as_deref().unwrap_or_default(), &input, &mut trunk)?;
        let after = Value::Object(trunk);
        unshared(tx, &caller, &before, &after)?;
        TRUNK.replace(tx, &caller, &before, after)
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

/// Deleting a trunk deletes its endpoint too (Wazo's cascade).
pub async fn delete(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let before = TRUNK.find(tx, &caller, &id)?;
        if let Some(uuid) = sip_uuid(&before.body)
            && let Some(endpoint) = objects::get_by_uuid(tx, Kind::EndpointSip, uuid, None)?
        {
            super::specs::ENDPOINT_SIP.remove(tx, &caller, &endpoint)?;
        }
        super::interconnect::trunk_deleted(tx, &caller, &before)?;
        TRUNK.remove(tx, &caller, &before)
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /trunks/{id}/endpoints/sip/{uuid}`: one endpoint per trunk, one trunk per endpoint.
pub async fn associate_sip(State(state): State<AppState>, caller: Caller, Path((id, uuid)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let trunk = TRUNK.find(tx, &caller, &id)?;
        let endpoint = super::specs::ENDPOINT_SIP.find(tx, &caller, &uuid)?;
        if trunk.tenant_uuid != endpoint.tenant_uuid {
            return Err(ApiError::resource(format!(
                "different tenants ('trunk_tenant_uuid': '{}', 'endpoint_tenant_uuid': '{}')",
                trunk.tenant_uuid.as_deref().unwrap_or(""),
                endpoint.tenant_uuid.as_deref().unwrap_or("")
            )));
        }
        let current = sip_uuid(&trunk.body);
        if current == Some(uuid.as_str()) {
            return Ok(()); // re-associating the same pair is a no-op
        }
        if current.is_some() || !trunk.body["endpoint_iax"].is_null() || !trunk.body["endpoint_custom"].is_null() {
            return Err(ApiError::resource(format!(
                "Trunk is associated with a Endpoint ('trunk_id': {}, 'endpoint': 'sip', 'endpoint_id': '{}')",
                trunk.id,
                current.unwrap_or_default()
            )));
        }
        if !trunk.body["register_iax"].is_null() {
            return Err(ApiError::resource(format!("Trunk is associated with a IAXRegister ('trunk_id': {})", trunk.id)));
        }
        if crate::store::lines::of_endpoint(tx, &uuid)?.is_some() {
            return Err(ApiError::resource(format!("Line is associated with a Endpoint ('endpoint': 'sip', 'endpoint_id': '{uuid}')")));
        }
        if let Some(owner) = crate::store::trunks::of_sip_endpoint(tx, &uuid)? {
            return Err(ApiError::resource(format!(
                "Trunk is associated with a Endpoint ('trunk_id': {}, 'endpoint': 'sip', 'endpoint_id': '{uuid}')",
                owner.id
            )));
        }
        let mut body = trunk.body.clone();
        body["endpoint_sip"] = json!({"uuid": uuid});
        TRUNK.replace(tx, &caller, &trunk, body)
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn dissociate_sip(State(state): State<AppState>, caller: Caller, Path((id, uuid)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let trunk = TRUNK.find(tx, &caller, &id)?;
        super::specs::ENDPOINT_SIP.find(tx, &caller, &uuid)?;
        if sip_uuid(&trunk.body) == Some(uuid.as_str()) {
            let mut body = trunk.body.clone();
            body["endpoint_sip"] = Value::Null;
            TRUNK.replace(tx, &caller, &trunk, body)?;
        }
        Ok::<_, ApiError>(())
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}
