//! Generic confd resources stored as documents: list/get/create/update/delete
//! with validation through `patchbay_shared::validate` (the document must
//! deserialize into the shared model type and pass its checks).

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::listing::ListQuery;
use super::resource::{Spec, body_object};
use crate::api::AppState;
use crate::store::{Kind, ObjectRow, objects};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use patchbay_shared::validate::FieldError;
use crate::store::Connection;
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
    /// Completes a document before its checks, on create and update (the
    /// defaults Wazo derives from other fields, e.g. a user's `caller_id`).
    pub fill: fn(&mut Map<String, Value>),
}

pub fn no_fill(_: &mut Map<String, Value>) {}

pub fn plain_present(_: &Connection, res: &Resource, row: &ObjectRow) -> ApiResult<Value> {
    Ok(res.spec.present(row))
}

pub fn no_hook(_: &Connection, _: &Caller, _: &ObjectRow) -> ApiResult<()> {
    Ok(())
}

pub use super::error::{field_errors, ok_or_400, schema_messages};
use super::error::top_field;

/// Deserializes a document into a shared model type; every field of the
/// wrong type is named at once, in marshmallow's words.
pub fn typed<T: DeserializeOwned>(doc: &Value) -> ApiResult<T> {
    type_checked(doc).map_err(field_errors)
}

/// The value, or one error per top-level field that does not fit `T`: each
/// failing field is taken out and the rest tried again, so one bad field
/// does not hide the next.
pub fn type_checked<T: DeserializeOwned>(doc: &Value) -> Result<T, Vec<FieldError>> {
    let mut doc = doc.clone();
    let mut errors: Vec<FieldError> = Vec::new();
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(&doc) {
            Ok(value) if errors.is_empty() => return Ok(value),
            Ok(_) => return Err(errors),
            Err(error) => error,
        };
        let path = error.path().to_string();
        let raw = error.inner().to_string();
        let raw = raw.split(" at line ").next().unwrap_or_default().to_string();
        let field = if path == "." || path.is_empty() { unlocated_field::<T>(&doc, &raw) } else { path };
        let top = top_field(&field).to_string();
        if errors.iter().any(|e| top_field(&e.field) == top) {
            return Err(errors);
        }
        errors.push(FieldError::new(field, marshmallow_message(&raw)));
        let removed = doc.as_object_mut().and_then(|map| map.remove(&top));
        if removed.is_none() {
            return Err(errors);
        }
    }
}

/// serde's error text → the message marshmallow gives for the same fault.
pub fn marshmallow_message(raw: &str) -> String {
    if raw.starts_with("missing field") {
        return "Missing data for required field.".into();
    }
    if let Some(rest) = raw.strip_prefix("unknown variant `")
        && let Some((_, expected)) = rest.split_once("expected ")
    {
        let choices: Vec<String> = expected.split(", ").map(|c| c.trim_start_matches("one of ").trim_matches('`').to_string()).collect();
        return format!("Must be one of: {}.", choices.join(", "));
    }
    if let Some((_, expected)) = raw.split_once(", expected ") {
        let expected = expected.trim();
        return match expected {
            e if e.contains("string") || e.starts_with("a character") => "Not a valid string.".into(),
            e if e.contains("bool") => "Not a valid boolean.".into(),
            e if e.starts_with('i') || e.starts_with('u') || e.contains("integer") => "Not a valid integer.".into(),
            e if e.starts_with('f') || e.contains("number") => "Not a valid number.".into(),
            e if e.contains("sequence") || e.contains("tuple") || e.contains("array") => "Not a valid list.".into(),
            e if e.contains("map") || e.starts_with("struct") || e.contains("internally tagged") => "Invalid input type.".into(),
            _ => raw.to_string(),
        };
    }
    raw.to_string()
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
        self.spec.lookup(conn, caller, key)
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
        let missing: Vec<&str> = self.required.iter().copied().filter(|key| !input.contains_key(*key)).collect();
        let mut doc = (self.defaults)();
        self.merge(input, &mut doc);
        (self.fill)(&mut doc);
        if !missing.is_empty() {
            // Every other field is checked too: one 400 names all of them.
            let mut messages: Vec<String> = missing.iter().map(|key| ApiError::schema(key, &["Missing data for required field.".into()])).collect();
            let draft = ObjectRow { id: objects::next_id(tx, self.spec.kind)?, uuid: None, tenant_uuid: Some(caller.tenant_uuid.clone()), body: Value::Object(doc) };
            if let Err(ApiError::BadRequest(more)) = (self.check)(tx, caller, &draft) {
                let about_missing = |m: &String| missing.iter().any(|key| m.starts_with(&format!("Input Error - {key}:")));
                messages.extend(more.into_iter().filter(|m| !about_missing(m)));
            }
            return Err(ApiError::BadRequest(messages));
        }
        let row = match self.spec.insert(tx, caller, Value::Object(doc.clone()), self.tenant_scoped) {
            Ok(row) => row,
            Err(error) => {
                // A constraint of the schema refused the row (an extension
                // taken in its context...): the resource's own check says
                // why in Wazo's words, with the values.
                let draft = ObjectRow { id: objects::next_id(tx, self.spec.kind)?, uuid: None, tenant_uuid: Some(caller.tenant_uuid.clone()), body: Value::Object(doc) };
                (self.check)(tx, caller, &draft)?;
                return Err(error);
            }
        };
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
        (self.fill)(&mut doc);
        let after = ObjectRow { body: Value::Object(doc), ..before.clone() };
        (self.check)(tx, caller, &after)?;
        self.spec.replace(tx, caller, &before, after.body)
    }
}

pub async fn list(res: &'static Resource, state: AppState, caller: Caller, params: HashMap<String, String>) -> ApiResult<Json<Value>> {
    let query = ListQuery::parse(&params, res.columns)?;
    let tenants = if query.recurse { caller.visible.clone() } else { vec![caller.tenant_uuid.clone()] };
    let visible = res.tenant_scoped.then_some(tenants.as_slice());
    state.store.read(|conn| {
        let kind = res.spec.kind;
        if let Some(page) = query.sql_page(res.columns, res.default_order, |column| sql_column(kind, column), visible) {
            let (rows, total) = objects::page(conn, kind, &page)?;
            let items = rows.iter().map(|row| (res.present)(conn, res, row)).collect::<ApiResult<Vec<_>>>()?;
            return Ok(Json(json!({"items": items, "total": total})));
        }
        let rows = objects::list(conn, kind, visible)?;
        let items = rows.iter().map(|row| (res.present)(conn, res, row)).collect::<ApiResult<Vec<_>>>()?;
        Ok(Json(query.apply(items, res.columns, res.default_order)))
    })
}

pub async fn get(res: &'static Resource, state: AppState, caller: Caller, key: String, params: HashMap<String, String>) -> ApiResult<Json<Value>> {
    // SIP templates answer `?view=merged` as SIP endpoints do.
    let merged = res.spec.kind == Kind::SipTemplate && super::sip_sections::wants_merged_view(&params)?;
    state.store.read(|conn| {
        let row = res.find(conn, &caller, &key)?;
        let mut body = (res.present)(conn, res, &row)?;
        if merged {
            super::sip_sections::merge_templates_into(conn, &row, &mut body)?;
        }
        Ok(Json(body))
    })
}

pub async fn create(res: &'static Resource, state: AppState, caller: Caller, body: Bytes) -> ApiResult<Response> {
    // No body: a 400 naming the required fields, as Wazo's schema answers an
    // empty form (seed 000's bare `POST /outcalls`), else the decoding error.
    if body.iter().all(u8::is_ascii_whitespace) && !res.required.is_empty() {
        return Err(ApiError::BadRequest(res.required.iter().map(|key| ApiError::schema(key, &["Missing data for required field.".into()])).collect()));
    }
    let input = super::resource::body_required(&body)?;
    let response = state.store.write(|tx| {
        let row = res.create_in(tx, &caller, &input)?;
        Ok::<_, ApiError>(res.spec.created(&row, (res.present)(tx, res, &row)?))
    })?;
    state.request_apply();
    Ok(response)
}

pub async fn update(res: &'static Resource, state: AppState, caller: Caller, key: String, body: Bytes) -> ApiResult<StatusCode> {
    let input = body_object(&body)?;
    state.store.write(|tx| res.update_in(tx, &caller, &key, &input))?;
    state.request_apply();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(res: &'static Resource, state: AppState, caller: Caller, key: String, params: HashMap<String, String>) -> ApiResult<StatusCode> {
    state.store.write(|tx| {
        let before = res.find(tx, &caller, &key)?;
        if res.master_write {
            caller.require_master()?;
        }
        // `DELETE /sip/transports/{uuid}?fallback=<uuid>`: what used the
        // transport moves to the fallback first (Wazo's delete_with_fallback).
        if res.spec.kind == Kind::Transport
            && let Some(fallback) = params.get("fallback").filter(|f| !f.is_empty())
        {
            let fallback = res.find(tx, &caller, fallback)?;
            super::sip_sections::move_transport_users(tx, &caller, &before, &fallback)?;
        }
        (res.before_delete)(tx, &caller, &before)?;
        res.spec.remove(tx, &caller, &before)
    })?;
    state.request_apply();
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
            route_get(move |State(s): State<AppState>, c: Caller, Path(k): Path<String>, Query(q): Query<HashMap<String, String>>| get(res, s, c, k, q))
                .put(move |State(s): State<AppState>, c: Caller, Path(k): Path<String>, b: Bytes| update(res, s, c, k, b))
                .delete(move |State(s): State<AppState>, c: Caller, Path(k): Path<String>, Query(q): Query<HashMap<String, String>>| delete(res, s, c, k, q)),
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
/// The SQL expression of a list column, for the resources whose presented
/// value of that column is the stored one (or, for an extension's `type`,
/// its context's type); `None` sends the list through the in-memory path.
fn sql_column(kind: Kind, column: &str) -> Option<String> {
    let stored = match kind {
        Kind::Extension if column == "type" => return Some("(SELECT c.type FROM contexts c WHERE c.name = extensions.context)".into()),
        Kind::Extension => ["id", "exten", "context"].contains(&column),
        Kind::Outcall => ["id", "name", "description", "preprocess_subroutine"].contains(&column),
        Kind::User => ["id", "uuid", "firstname", "lastname"].contains(&column),
        Kind::Line => column == "id",
        _ => false,
    };
    stored.then(|| kind.column_sql(column))
}

pub fn taken(conn: &Connection, kind: Kind, field: &str, value: &Value, except: i64) -> ApiResult<bool> {
    Ok(objects::taken(conn, kind, field, value, except)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_nest_as_marshmallow_prints_them() {
        let errors = vec![
            FieldError::new("user_ranges[0].start", "Invalid input."),
            FieldError::new("name", "Not a valid string."),
            FieldError::new("user_ranges[1]", "Start and end must be of the same length"),
            FieldError::new("field 'context'", "Context was not found ('context': 'x')"),
            FieldError::new("name", "Longer than maximum length 128."),
        ];
        assert_eq!(
            schema_messages(errors),
            vec![
                "Input Error - user_ranges: {0: {'start': ['Invalid input.']}, 1: ['Start and end must be of the same length']}",
                "Input Error - name: ['Not a valid string.', 'Longer than maximum length 128.']",
                "Input Error - field 'context': Context was not found ('context': 'x')",
            ]
        );
    }

    #[test]
    fn every_field_of_the_wrong_type_is_named() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Doc {
            name: String,
            port: u16,
            enabled: bool,
        }
        let errors = type_checked::<Doc>(&json!({"name": 1, "port": "x", "enabled": true})).unwrap_err();
        let named: Vec<(String, String)> = errors.into_iter().map(|e| (e.field, e.message)).collect();
        assert_eq!(named, vec![("name".into(), "Not a valid string.".into()), ("port".into(), "Not a valid integer.".into())]);
        assert!(type_checked::<Doc>(&json!({"name": "a", "port": 1, "enabled": true})).is_ok());
    }
}
