//! `/outcalls`: outgoing routes, their ordered trunks and their extensions.

use super::auth::Caller;
use super::docs::{Resource, no_fill, no_hook, ok_or_400, same_tenant, taken, typed};
use super::error::{ApiError, ApiResult};
use super::resource::body_object;
use crate::api::AppState;
use crate::store::{Kind, ObjectRow, objects};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use crate::store::Connection;
use serde_json::{Map, Value, json};
use super::extensions::{EXTENSIONS, extension_summary, require_context_type, require_free};
use patchbay_shared::model::{ContextKind, FailoverPolicy, Outcall, OutcallExtension, TrunkId};
use patchbay_shared::tenancy::{Directory, Target};
use patchbay_shared::validate;

fn doc(row: &ObjectRow) -> Value {
    super::docs::document(&OUTCALLS, row)
}

pub static OUTCALLS: Resource = Resource {
    spec: super::specs::OUTCALL,
    columns: &["id", "name", "description", "preprocess_subroutine"],
    default_order: "id",
    writable: &["name", "internal_caller_id", "ring_time", "description", "enabled", "preprocess_subroutine", "failover_policy", "emergency"],
    required: &["name"],
    defaults: || {
        json!({"internal_caller_id": false, "ring_time": null, "description": null, "enabled": true,
               "preprocess_subroutine": null, "trunks": [], "extensions": [],
               "failover_policy": FailoverPolicy::default()})
        .as_object()
        .cloned()
        .unwrap_or_default()
    },
    check: check_outcall,
    present: present_outcall,
    before_delete: no_hook,
    tenant_scoped: true,
    master_write: false,
    fill: no_fill,
};

fn check_outcall(conn: &Connection, _: &Caller, row: &ObjectRow) -> ApiResult<()> {
    let outcall: Outcall = typed(&doc(row))?;
    ok_or_400(validate::outcall(&outcall))?;
    if taken(conn, Kind::Outcall, "name", &json!(outcall.name), row.id)? {
        return Err(ApiError::resource(format!("Outcall already exists ('name': '{}')", outcall.name)));
    }
    Ok(())
}

fn present_outcall(conn: &Connection, res: &Resource, row: &ObjectRow) -> ApiResult<Value> {
    let mut body = res.spec.present(row);
    let mut trunks = Vec::new();
    for trunk in row.body["trunks"].as_array().cloned().unwrap_or_default() {
        if let Some(id) = trunk["id"].as_i64()
            && let Some(t) = objects::get(conn, Kind::Trunk, id, None)?
        {
            if t.tenant_uuid != row.tenant_uuid {
                // Another tenant's trunk shared with this one: its name only.
                trunks.push(super::trunks::shared_summary(conn, &t)?);
                continue;
            }
            let shown = super::trunks::present(conn, &t, row.tenant_uuid.as_ref().map(std::slice::from_ref))?;
            trunks.push(json!({"id": id, "tenant_uuid": t.tenant_uuid, "name": shown["name"], "endpoint_sip": shown["endpoint_sip"],
                               "endpoint_custom": shown["endpoint_custom"], "links": super::trunks::TRUNK.links(&t)}));
        }
    }
    let mut extensions = Vec::new();
    for ext in row.body["extensions"].as_array().cloned().unwrap_or_default() {
        let mut shown = extension_summary(conn, ext["id"].as_i64().unwrap_or(0))?;
        for key in ["strip_digits", "external_prefix", "prefix", "caller_id"] {
            shown[key] = ext.get(key).cloned().unwrap_or(Value::Null);
        }
        extensions.push(shown);
    }
    body["trunks"] = Value::Array(trunks);
    body["extensions"] = Value::Array(extensions);
    // Rows from before the policy existed, and partial policies, read back
    // complete: what the renderer uses.
    let policy: FailoverPolicy = serde_json::from_value(row.body["failover_policy"].clone()).unwrap_or_default();
    body["failover_policy"] = json!(policy);
    body["schedules"] = json!([]);
    body["call_permissions"] = json!([]);
    Ok(body)
}

/// `PUT /outcalls/{id}/trunks` `{"trunks": [{"id": 5}, ...]}`: ordered, replaces.
pub async fn outcall_trunks(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, body: Bytes) -> ApiResult<StatusCode> {
    let input = body_object(&body)?;
    state.store.write(|tx| {
        let outcall = OUTCALLS.find(tx, &caller, &id)?;
        let list = input.get("trunks").and_then(Value::as_array).ok_or_else(|| ApiError::field("trunks", "Missing data for required field: a list of {\"id\": <trunk id>}"))?;
        let mut ids: Vec<i64> = Vec::new();
        for (index, item) in list.iter().enumerate() {
            let trunk_id = item.get("id").and_then(Value::as_i64).ok_or_else(|| ApiError::field(&format!("trunks[{index}].id"), "Not a valid integer."))?;
            // The outcall's own trunks and those shared with its tenant (`tenancy::trunk_usable_by`).
            let usable = outcall.tenant_uuid.as_deref().is_some_and(|tenant| {
                crate::store::directory::StoreDirectory::new(tx).resolves(tenant, &Target::Trunk(TrunkId(trunk_id as u64)))
            });
            if !usable {
                let trunk = objects::get(tx, Kind::Trunk, trunk_id, Some(&caller.visible))?
                    .ok_or_else(|| ApiError::input("field 'trunks'", format!("Trunk was not found ('id': {trunk_id})")))?;
                same_tenant("outcall", &outcall, "trunk", &trunk)?;
            }
            if ids.contains(&trunk_id) {
                return Err(ApiError::resource("Operation not permitted. Cannot associate same trunk more than once"));
            }
            ids.push(trunk_id);
        }
        let mut body = outcall.body.clone();
        body["trunks"] = json!(ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>());
        OUTCALLS.spec.replace(tx, &caller, &outcall, body)
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

/// `outcall_extension_put`'s work inside a transaction (also used by the CSV import).
pub fn outcall_extension_in(tx: &Connection, caller: &Caller, id: &str, ext_id: &str, input: &Map<String, Value>) -> ApiResult<()> {
    let outcall = OUTCALLS.find(tx, caller, id)?;
    let ext = EXTENSIONS.find(tx, caller, ext_id)?;
    same_tenant("outcall", &outcall, "extension", &ext)?;
    require_context_type(tx, &ext, ContextKind::Outcall)?;
    require_free(tx, &ext, ("outcall", outcall.id))?;
    let mut list = outcall.body["extensions"].as_array().cloned().unwrap_or_default();
    let position = list.iter().position(|e| e["id"].as_i64() == Some(ext.id));
    let mut entry = match position {
        Some(index) => list[index].as_object().cloned().unwrap_or_default(),
        None => json!({"id": ext.id, "strip_digits": null, "external_prefix": null, "prefix": null, "caller_id": null})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    };
    for key in ["strip_digits", "external_prefix", "prefix", "caller_id"] {
        if let Some(value) = input.get(key) {
            if key == "strip_digits" && value.is_null() {
                return Err(ApiError::field("strip_digits", "Field may not be null."));
            }
            entry.insert(key.into(), value.clone());
        }
    }
    let entry = Value::Object(entry);
    let typed_entry: OutcallExtension = typed(&entry)?;
    ok_or_400(validate::outcall_extension(&typed_entry))?;
    match position {
        Some(index) => list[index] = entry,
        None => list.push(entry),
    }
    let mut body = outcall.body.clone();
    body["extensions"] = Value::Array(list);
    OUTCALLS.spec.replace(tx, caller, &outcall, body)
}

pub async fn outcall_extension_put(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, ext_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let input = body_object(&body)?;
    state.store.write(|tx| outcall_extension_in(tx, &caller, &id, &ext_id, &input))?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn outcall_extension_delete(State(state): State<AppState>, caller: Caller, Path((id, ext_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let outcall = OUTCALLS.find(tx, &caller, &id)?;
        let ext = EXTENSIONS.find(tx, &caller, &ext_id)?;
        let mut body = outcall.body.clone();
        let list = outcall.body["extensions"].as_array().cloned().unwrap_or_default();
        let kept: Vec<Value> = list.iter().filter(|e| e["id"].as_i64() != Some(ext.id)).cloned().collect();
        if kept.len() != list.len() {
            body["extensions"] = Value::Array(kept);
            OUTCALLS.spec.replace(tx, &caller, &outcall, body)?;
        }
        Ok::<_, ApiError>(())
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}
