//! Generic confd resources stored as documents: list/get/create/update/delete
//! with validation through `patchbay_shared::validate` (the document must
//! deserialize into the shared model type and pass its checks).

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::listing::ListQuery;
use super::resource::{Spec, body_object};
use crate::server::AppState;
use crate::store::{Kind, ObjectRow, objects};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use patchbay_shared::validate::FieldError;
use rusqlite::Connection;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

pub type Check = fn(&Connection, &Caller, &ObjectRow) -> ApiResult<()>;
pub type Present = fn(&Connection, &Resource, &ObjectRow) -> ApiResult<Value>;
pub type Hook = fn(&Connection, &Caller, &ObjectRow) -> ApiResult<()>;

pub struct Resource {
    pub spec: Spec,
    pub columns: &'static [&'static str],
    pub default_order: &'static str,
    /// Keys a client may set; others are ignored (as Wazo does).
    pub writable: &'static [&'static str],
    /// Keys that must be present on create.
    pub required: &'static [&'static str],
    pub defaults: fn() -> Map<String, Value>,
    /// Validates the full document (with id/uuid/tenant folded in) inside the write transaction.
    pub check: Check,
    pub present: Present,
    /// Runs before delete (refuse while associated, or cascade).
    pub before_delete: Hook,
    pub tenant_scoped: bool,
    pub master_write: bool,
}

pub fn plain_present(_: &Connection, res: &Resource, row: &ObjectRow) -> ApiResult<Value> {
    Ok(res.spec.present(row))
}

pub fn no_hook(_: &Connection, _: &Caller, _: &ObjectRow) -> ApiResult<()> {
    Ok(())
}

/// Field errors from the shared validation → Wazo's 400.
pub fn field_errors(errors: Vec<FieldError>) -> ApiError {
    ApiError::BadRequest(errors.into_iter().map(|error| format!("Input Error - {}: {}", error.field, error.message)).collect())
}

pub fn ok_or_400(errors: Vec<FieldError>) -> ApiResult<()> {
    if errors.is_empty() { Ok(()) } else { Err(field_errors(errors)) }
}

/// Deserializes a document into a shared model type; a type error names the field.
pub fn typed<T: DeserializeOwned>(doc: &Value) -> ApiResult<T> {
    serde_path_to_error::deserialize(doc).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        let message = message.split(" at line ").next().unwrap_or_default().to_string();
        let field = if path == "." || path.is_empty() { unlocated_field::<T>(doc, &message) } else { path };
        ApiError::input(&field, message)
    })
}

/// The field an error without a path is about. serde loses the path inside
/// `#[serde(flatten)]` (the SIP option lists) and for missing fields, so: the
/// field named in backquotes by the message, else the first top-level key
/// whose removal makes the document deserialize, else `body`.
fn unlocated_field<T: DeserializeOwned>(doc: &Value, message: &str) -> String {
    for prefix in ["missing field `", "unknown field `"] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((field, _)) = rest.split_once('`')
        {
            return field.to_string();
        }
    }
    if let Value::Object(map) = doc {
        for key in map.keys() {
            let mut without = map.clone();
            without.remove(key);
            if serde_json::from_value::<T>(Value::Object(without)).is_ok() {
                return key.clone();
            }
        }
    }
    "body".to_string()
}

/// The document as the shared model reads it (key columns folded in).
pub fn document(res: &Resource, row: &ObjectRow) -> Value {
    crate::snapshot::document(row, res.spec.by_uuid)
}

impl Resource {
    /// By id (or uuid); integer-keyed objects with a uuid in their body (users) also by uuid.
    pub fn find(&self, conn: &Connection, caller: &Caller, key: &str) -> ApiResult<ObjectRow> {
        if !self.spec.by_uuid && key.parse::<i64>().is_err() {
            let found = objects::get_by_uuid(conn, self.spec.kind, key, Some(&caller.visible))?;
            return found.ok_or_else(|| ApiError::not_found(self.spec.noun, "uuid", format!("'{key}'")));
        }
        self.spec.find(conn, caller, key)
    }

    fn merge(&self, input: &Map<String, Value>, doc: &mut Map<String, Value>) {
        for (key, value) in input {
            if self.writable.contains(&key.as_str()) {
                doc.insert(key.clone(), value.clone());
            }
        }
    }

    pub fn create_in(&self, tx: &Connection, caller: &Caller, input: &Map<String, Value>) -> ApiResult<ObjectRow> {
        if self.master_write {
            caller.require_master()?;
        }
        let missing: Vec<String> =
            self.required.iter().filter(|key| !input.contains_key(**key)).map(|key| format!("Input Error - {key}: Missing data for required field.")).collect();
        if !missing.is_empty() {
            return Err(ApiError::BadRequest(missing));
        }
        let mut doc = (self.defaults)();
        self.merge(input, &mut doc);
        let row = self.spec.insert(tx, caller, Value::Object(doc), self.tenant_scoped)?;
        (self.check)(tx, caller, &row)?;
        Ok(row)
    }

    pub fn update_in(&self, tx: &Connection, caller: &Caller, key: &str, input: &Map<String, Value>) -> ApiResult<()> {
        let before = self.find(tx, caller, key)?;
        if self.master_write {
            caller.require_master()?;
        }
        let mut doc = before.body.as_object().cloned().unwrap_or_default();
        self.merge(input, &mut doc);
        let after = ObjectRow { body: Value::Object(doc), ..before.clone() };
        (self.check)(tx, caller, &after)?;
        self.spec.replace(tx, caller, &before, after.body)
    }
}

pub async fn list(res: &'static Resource, state: AppState, caller: Caller, params: HashMap<String, String>) -> ApiResult<Json<Value>> {
    let query = ListQuery::parse(&params, res.columns)?;
    state.store.read(|conn| {
        let rows = if res.tenant_scoped { res.spec.list_visible(conn, &caller, query.recurse)? } else { objects::list(conn, res.spec.kind, None)? };
        let items = rows.iter().map(|row| (res.present)(conn, res, row)).collect::<ApiResult<Vec<_>>>()?;
        Ok(Json(query.apply(items, res.columns, res.default_order)))
    })
}

pub async fn get(res: &'static Resource, state: AppState, caller: Caller, key: String) -> ApiResult<Json<Value>> {
    state.store.read(|conn| Ok(Json((res.present)(conn, res, &res.find(conn, &caller, &key)?)?)))
}

pub async fn create(res: &'static Resource, state: AppState, caller: Caller, body: Bytes) -> ApiResult<Response> {
    let input = body_object(&body)?;
    let response = state.store.write(|tx| {
        let row = res.create_in(tx, &caller, &input)?;
        Ok::<_, ApiError>(res.spec.created(&row, (res.present)(tx, res, &row)?))
    })?;
    state.asterisk.request_apply();
    Ok(response)
}

pub async fn update(res: &'static Resource, state: AppState, caller: Caller, key: String, body: Bytes) -> ApiResult<StatusCode> {
    let input = body_object(&body)?;
    state.store.write(|tx| res.update_in(tx, &caller, &key, &input))?;
    state.asterisk.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(res: &'static Resource, state: AppState, caller: Caller, key: String) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let before = res.find(tx, &caller, &key)?;
        if res.master_write {
            caller.require_master()?;
        }
        (res.before_delete)(tx, &caller, &before)?;
        res.spec.remove(tx, &caller, &before)
    })?;
    state.asterisk.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

/// Mounts list/create and get/update/delete of `res` on `router`.
pub fn mount(router: axum::Router<AppState>, res: &'static Resource) -> axum::Router<AppState> {
    use axum::routing::get as route_get;
    let key = if res.spec.by_uuid { "uuid" } else { "id" };
    router
        .route(
            &format!("/{}", res.spec.path),
            route_get(move |State(s): State<AppState>, c: Caller, Query(q): Query<HashMap<String, String>>| list(res, s, c, q))
                .post(move |State(s): State<AppState>, c: Caller, b: Bytes| create(res, s, c, b)),
        )
        .route(
            &format!("/{}/{{{key}}}", res.spec.path),
            route_get(move |State(s): State<AppState>, c: Caller, Path(k): Path<String>| get(res, s, c, k))
                .put(move |State(s): State<AppState>, c: Caller, Path(k): Path<String>, b: Bytes| update(res, s, c, k, b))
                .delete(move |State(s): State<AppState>, c: Caller, Path(k): Path<String>| delete(res, s, c, k)),
        )
}

/// 400 `different tenants` unless both rows are in the same tenant.
pub fn same_tenant(a_name: &str, a: &ObjectRow, b_name: &str, b: &ObjectRow) -> ApiResult<()> {
    if a.tenant_uuid == b.tenant_uuid {
        return Ok(());
    }
    Err(ApiError::resource(format!(
        "different tenants ('{a_name}_tenant_uuid': '{}', '{b_name}_tenant_uuid': '{}')",
        a.tenant_uuid.as_deref().unwrap_or(""),
        b.tenant_uuid.as_deref().unwrap_or("")
    )))
}

/// `{id, links}` summary of a row.
pub fn summary(spec: &Spec, row: &ObjectRow) -> Value {
    json!({"id": row.id, "links": spec.links(row)})
}

/// Whether another document of `kind` has `field == value`.
pub fn taken(conn: &Connection, kind: Kind, field: &str, value: &Value, except: i64) -> ApiResult<bool> {
    Ok(objects::list(conn, kind, None)?.iter().any(|row| row.id != except && row.body.get(field) == Some(value)))
}
