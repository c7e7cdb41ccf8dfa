//! `/incalls`: incoming routes (a DID's extension and its destination).

use super::auth::Caller;
use super::docs::{Resource, no_fill, no_hook, ok_or_400, same_tenant, typed};
use super::error::{ApiError, ApiResult};
use crate::api::AppState;
use crate::store::{Kind, ObjectRow, objects};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use crate::store::Connection;
use serde_json::{Value, json};
use super::extensions::{EXTENSIONS, extension_summary, require_context_type, require_free};
use patchbay_shared::model::{ContextKind, Incall};
use patchbay_shared::validate;

fn doc(row: &ObjectRow) -> Value {
    super::docs::document(&INCALLS, row)
}

pub static INCALLS: Resource = Resource {
    spec: super::specs::INCALL,
    columns: &["id", "exten", "description", "user_id"],
    default_order: "id",
    writable: &["destination", "caller_id_mode", "caller_id_name", "description"],
    required: &["destination"],
    defaults: || {
        json!({"caller_id_mode": null, "caller_id_name": null, "description": null, "extension_id": null})
            .as_object()
            .cloned()
            .unwrap_or_default()
    },
    check: check_incall,
    present: present_incall,
    before_delete: no_hook,
    tenant_scoped: true,
    master_write: false,
    fill: no_fill,
};

fn check_incall(conn: &Connection, caller: &Caller, row: &ObjectRow) -> ApiResult<()> {
    let incall: Incall = typed(&doc(row))?;
    ok_or_400(validate::incall(&incall))?;
    if let patchbay_shared::model::Destination::User { user_id, .. } = &incall.destination {
        let user = objects::get(conn, Kind::User, user_id.0 as i64, Some(&caller.visible))?
            .ok_or_else(|| ApiError::input("field 'destination'", format!("User was not found ('user_id': {})", user_id.0)))?;
        same_tenant("incall", row, "user", &user)?;
    }
    Ok(())
}

fn present_incall(conn: &Connection, res: &Resource, row: &ObjectRow) -> ApiResult<Value> {
    let mut body = res.spec.present(row);
    let extensions = match row.body["extension_id"].as_i64() {
        Some(id) => vec![extension_summary(conn, id)?],
        None => vec![],
    };
    if body["destination"]["type"] == "group"
        && let Some(group) = row.body["destination"]["group_id"].as_i64().and_then(|id| crate::store::objects::get(conn, Kind::Group, id, None).ok().flatten())
    {
        // Wazo's GroupDestinationSchema flattens the group's name alone.
        body["destination"]["group_name"] = group.body["name"].clone();
    }
    if body["destination"]["type"] == "group" && body["destination"].get("ring_time").is_none() {
        body["destination"]["ring_time"] = Value::Null;
    }
    if let Some(user_id) = row.body["destination"]["user_id"].as_i64()
        && let Some(user) = objects::get(conn, Kind::User, user_id, None)?
    {
        body["destination"]["user_firstname"] = user.body["firstname"].clone();
        body["destination"]["user_lastname"] = user.body["lastname"].clone();
    }
    // busy/congestion hang-ups always show their timeout, as Wazo dumps it.
    if body["destination"]["type"] == "hangup" && matches!(body["destination"]["cause"].as_str(), Some("busy" | "congestion")) {
        let timeout = body["destination"].get("timeout").cloned().unwrap_or(Value::Null);
        body["destination"]["timeout"] = timeout;
    }
    if body["destination"]["type"] == "hangup" && body["destination"].get("cause").is_none() {
        body["destination"]["cause"] = json!("normal");
    }
    body["exten"] = extensions.first().map(|e| e["exten"].clone()).unwrap_or(Value::Null);
    body["user_id"] = row.body["destination"]["user_id"].clone();
    body["extensions"] = Value::Array(extensions);
    body["schedules"] = json!([]);
    Ok(body)
}

/// `incall_extension_put`'s work inside a transaction (also used by the CSV import).
pub fn incall_extension_in(tx: &Connection, caller: &Caller, id: &str, ext_id: &str) -> ApiResult<()> {
    let incall = INCALLS.find(tx, caller, id)?;
    let ext = EXTENSIONS.find(tx, caller, ext_id)?;
    same_tenant("incall", &incall, "extension", &ext)?;
    match incall.body["extension_id"].as_i64() {
        Some(current) if current == ext.id => return Ok(()),
        Some(current) => {
            return Err(ApiError::resource(format!("Incall is associated with a Extension ('incall_id': {}, 'extension_id': {current})", incall.id)));
        }
        None => {}
    }
    require_context_type(tx, &ext, ContextKind::Incall)?;
    require_free(tx, &ext, ("incall", incall.id))?;
    let mut body = incall.body.clone();
    body["extension_id"] = json!(ext.id);
    INCALLS.spec.replace(tx, caller, &incall, body)
}

pub async fn incall_extension_put(State(state): State<AppState>, caller: Caller, Path((id, ext_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| incall_extension_in(tx, &caller, &id, &ext_id))?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn incall_extension_delete(State(state): State<AppState>, caller: Caller, Path((id, ext_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let incall = INCALLS.find(tx, &caller, &id)?;
        let ext = EXTENSIONS.find(tx, &caller, &ext_id)?;
        if incall.body["extension_id"].as_i64() == Some(ext.id) {
            let mut body = incall.body.clone();
            body["extension_id"] = Value::Null;
            INCALLS.spec.replace(tx, &caller, &incall, body)?;
        }
        Ok::<_, ApiError>(())
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}
