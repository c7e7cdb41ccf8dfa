//! `/lines`: a line's SIP endpoint, extension and user, and their associations.

use super::auth::Caller;
use super::docs::{Resource, no_fill, no_hook, ok_or_400, same_tenant, typed};
use super::error::{ApiError, ApiResult};
use crate::api::AppState;
use crate::store::ObjectRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use crate::store::Connection;
use serde_json::{Value, json};
use super::contexts::find_named;
use super::extensions::{EXTENSIONS, extension_summary, require_context_type, require_free, require_in_range};
use super::specs;
use patchbay_shared::model::{ContextKind, Extension, Line, RangeUse};
use patchbay_shared::validate;

fn doc(row: &ObjectRow) -> Value {
    super::docs::document(&LINES, row)
}

pub static LINES: Resource = Resource {
    spec: super::specs::LINE,
    columns: &["id"],
    default_order: "id",
    writable: &[],
    required: &[],
    defaults: || json!({"user_id": null, "endpoint_sip": null, "extension_id": null}).as_object().cloned().unwrap_or_default(),
    check: |_, _, row| {
        let line: Line = typed(&doc(row))?;
        ok_or_400(validate::line(&line))
    },
    present: present_line,
    before_delete: no_hook,
    tenant_scoped: true,
    master_write: false,
    fill: no_fill,
};

pub(super) fn present_line(conn: &Connection, res: &Resource, row: &ObjectRow) -> ApiResult<Value> {
    let mut body = res.spec.present(row);
    // A line is named after its endpoint, as in Wazo.
    let endpoint = crate::store::lines::endpoint(conn, row)?;
    body["name"] = endpoint.as_ref().map(|e| e.body["name"].clone()).unwrap_or(Value::Null);
    body["endpoint_sip"] = match &endpoint {
        Some(e) => json!({"uuid": e.uuid, "label": e.body["label"], "name": e.body["name"], "links": super::endpoints_sip::ENDPOINT_SIP.links(e)}),
        None => Value::Null,
    };
    body["extensions"] = match row.body["extension_id"].as_i64() {
        Some(id) => json!([extension_summary(conn, id)?]),
        None => json!([]),
    };
    body["users"] = match row.body["user_id"].as_i64().and_then(|id| crate::store::users::by_id(conn, id).ok().flatten()) {
        Some(user) => json!([{"id": user.id, "uuid": user.uuid, "firstname": user.body["firstname"], "links": specs::USER.links(&user)}]),
        None => json!([]),
    };
    Ok(body)
}

pub async fn line_endpoint_put(State(state): State<AppState>, caller: Caller, Path((id, uuid)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let line = LINES.find(tx, &caller, &id)?;
        let endpoint = super::endpoints_sip::ENDPOINT_SIP.find(tx, &caller, &uuid)?;
        same_tenant("line", &line, "endpoint", &endpoint)?;
        if line.body["endpoint_sip"]["uuid"].as_str() == Some(uuid.as_str()) {
            return Ok(());
        }
        if !line.body["endpoint_sip"].is_null() {
            return Err(ApiError::resource(format!("Line is associated with a Endpoint ('line_id': {})", line.id)));
        }
        if crate::store::lines::of_endpoint(tx, &uuid)?.is_some() || crate::store::trunks::of_sip_endpoint(tx, &uuid)?.is_some() {
            return Err(ApiError::resource(format!("Endpoint is associated with a Line or Trunk ('endpoint_id': '{uuid}')")));
        }
        let mut body = line.body.clone();
        body["endpoint_sip"] = json!({"uuid": uuid});
        LINES.spec.replace(tx, &caller, &line, body)
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn line_endpoint_delete(State(state): State<AppState>, caller: Caller, Path((id, uuid)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let line = LINES.find(tx, &caller, &id)?;
        super::endpoints_sip::ENDPOINT_SIP.find(tx, &caller, &uuid)?;
        if line.body["endpoint_sip"]["uuid"].as_str() == Some(uuid.as_str()) {
            let mut body = line.body.clone();
            body["endpoint_sip"] = Value::Null;
            LINES.spec.replace(tx, &caller, &line, body)?;
        }
        Ok::<_, ApiError>(())
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

/// `line_extension_put`'s work inside a transaction (also used by the CSV import).
pub fn line_extension_in(tx: &Connection, caller: &Caller, id: &str, ext_id: &str) -> ApiResult<()> {
    let line = LINES.find(tx, caller, id)?;
    let ext = EXTENSIONS.find(tx, caller, ext_id)?;
    same_tenant("line", &line, "extension", &ext)?;
    if line.body["extension_id"].as_i64() == Some(ext.id) {
        return Ok(());
    }
    require_context_type(tx, &ext, ContextKind::Internal)?;
    require_free(tx, &ext, ("line", line.id))?;
    let extension: Extension = typed(&super::docs::document(&EXTENSIONS, &ext))?;
    if let Some(context) = find_named(tx, caller, &extension.context)? {
        require_in_range(&context, &extension, RangeUse::User)?;
    }
    let mut body = line.body.clone();
    body["extension_id"] = json!(ext.id);
    LINES.spec.replace(tx, caller, &line, body)
}

pub async fn line_extension_put(State(state): State<AppState>, caller: Caller, Path((id, ext_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| line_extension_in(tx, &caller, &id, &ext_id))?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn line_extension_delete(State(state): State<AppState>, caller: Caller, Path((id, ext_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let line = LINES.find(tx, &caller, &id)?;
        let ext = EXTENSIONS.find(tx, &caller, &ext_id)?;
        if line.body["extension_id"].as_i64() == Some(ext.id) {
            let mut body = line.body.clone();
            body["extension_id"] = Value::Null;
            LINES.spec.replace(tx, &caller, &line, body)?;
        }
        Ok::<_, ApiError>(())
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

/// `user_line_put`'s work inside a transaction (also used by the CSV import).
pub fn user_line_in(tx: &Connection, caller: &Caller, id: &str, line_id: &str) -> ApiResult<()> {
    let user = specs::USER.lookup(tx, caller, id)?;
    let line = LINES.find(tx, caller, line_id)?;
    same_tenant("user", &user, "line", &line)?;
    match line.body["user_id"].as_i64() {
        Some(current) if current == user.id => return Ok(()),
        Some(current) => return Err(ApiError::resource(format!("Line is associated with a User ('line_id': {}, 'user_id': {current})", line.id))),
        None => {}
    }
    let mut body = line.body.clone();
    body["user_id"] = json!(user.id);
    LINES.spec.replace(tx, caller, &line, body)
}

pub async fn user_line_put(State(state): State<AppState>, caller: Caller, Path((id, line_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| user_line_in(tx, &caller, &id, &line_id))?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn user_line_delete(State(state): State<AppState>, caller: Caller, Path((id, line_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let user = specs::USER.lookup(tx, &caller, &id)?;
        let line = LINES.find(tx, &caller, &line_id)?;
        if line.body["user_id"].as_i64() == Some(user.id) {
            let mut body = line.body.clone();
            body["user_id"] = Value::Null;
            LINES.spec.replace(tx, &caller, &line, body)?;
        }
        Ok::<_, ApiError>(())
    })?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}
