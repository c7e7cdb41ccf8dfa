//! What every confd resource handler needs: tenant-scoped lookup with Wazo's
//! 404 wording, `Location` + 201 on create, links, and the audit trail.

use super::auth::{Caller, now_unix};
use super::error::{ApiError, ApiResult};
use crate::store::{Kind, ObjectRow, objects};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rusqlite::Connection;
use serde_json::{Value, json};

/// How a resource is named in URLs and messages.
pub struct Spec {
    pub kind: Kind,
    /// Singular name used in messages: `Trunk was not found`.
    pub noun: &'static str,
    /// Path under `/1.1/`: `trunks`, `endpoints/sip`.
    pub path: &'static str,
    /// `links[].rel`.
    pub rel: &'static str,
    /// Addressed by `uuid` in URLs (SIP endpoints, transports) rather than `id`.
    pub by_uuid: bool,
}

impl Spec {
    pub fn href(&self, row: &ObjectRow) -> String {
        match (&row.uuid, self.by_uuid) {
            (Some(uuid), true) => format!("/api/confd/1.1/{}/{}", self.path, uuid),
            _ => format!("/api/confd/1.1/{}/{}", self.path, row.id),
        }
    }

    pub fn links(&self, row: &ObjectRow) -> Value {
        json!([{"rel": self.rel, "href": self.href(row)}])
    }

    /// The stored document with its read-only keys and links filled in.
    /// Objects that carry both an `id` and a `uuid` (users, as in Wazo) show both.
    pub fn present(&self, row: &ObjectRow) -> Value {
        let mut body = crate::snapshot::document(row, self.by_uuid);
        if let Value::Object(map) = &mut body {
            map.insert("links".into(), self.links(row));
        }
        body
    }

    /// One object the caller may see, or Wazo's 404.
    pub fn find(&self, conn: &Connection, caller: &Caller, key: &str) -> ApiResult<ObjectRow> {
        let visible = Some(caller.visible.as_slice());
        let found = if self.by_uuid {
            objects::get_by_uuid(conn, self.kind, key, visible)?
        } else {
            match key.parse::<i64>() {
                Ok(id) => objects::get(conn, self.kind, id, visible)?,
                Err(_) => None,
            }
        };
        let key_name = if self.by_uuid { "uuid" } else { "id" };
        found.ok_or_else(|| ApiError::not_found(self.noun, key_name, format!("'{key}'")))
    }

    /// The objects of the acting tenant (or every visible one with `recurse`).
    pub fn list_visible(&self, conn: &Connection, caller: &Caller, recurse: bool) -> ApiResult<Vec<ObjectRow>> {
        let tenants = if recurse { caller.visible.clone() } else { vec![caller.tenant_uuid.clone()] };
        Ok(objects::list(conn, self.kind, Some(&tenants))?)
    }

    /// Stores a new object for the acting tenant and writes the audit line.
    pub fn insert(&self, conn: &Connection, caller: &Caller, mut body: Value, tenant_scoped: bool) -> ApiResult<ObjectRow> {
        let id = objects::next_id(conn, self.kind)?;
        // A uuid comes from the resource's defaults (users: never from the client,
        // `uuid` is not writable) or is generated for uuid-keyed objects.
        let from_defaults = body.get("uuid").and_then(Value::as_str).map(str::to_string);
        let uuid = from_defaults.or_else(|| self.by_uuid.then(|| uuid::Uuid::new_v4().to_string()));
        strip_read_only(&mut body);
        let row = ObjectRow { id, uuid, tenant_uuid: tenant_scoped.then(|| caller.tenant_uuid.clone()), body };
        objects::insert(conn, self.kind, &row)?;
        audit(conn, caller, "create", self, &row, None, Some(&row.body))?;
        Ok(row)
    }

    pub fn replace(&self, conn: &Connection, caller: &Caller, before: &ObjectRow, mut body: Value) -> ApiResult<()> {
        strip_read_only(&mut body);
        objects::update_body(conn, self.kind, before.id, &body)?;
        audit(conn, caller, "update", self, before, Some(&before.body), Some(&body))?;
        Ok(())
    }

    pub fn remove(&self, conn: &Connection, caller: &Caller, before: &ObjectRow) -> ApiResult<()> {
        objects::delete(conn, self.kind, before.id)?;
        audit(conn, caller, "delete", self, before, Some(&before.body), None)?;
        Ok(())
    }

    /// 201 with the object and a `Location` header.
    pub fn created(&self, row: &ObjectRow, body: Value) -> Response {
        let mut headers = HeaderMap::new();
        if let Ok(location) = HeaderValue::from_str(&self.href(row)) {
            headers.insert(header::LOCATION, location);
        }
        (StatusCode::CREATED, headers, axum::Json(body)).into_response()
    }
}

/// Keys a client may send but never sets (Wazo ignores them on input).
fn strip_read_only(body: &mut Value) {
    if let Value::Object(map) = body {
        for key in ["id", "uuid", "tenant_uuid", "links"] {
            map.remove(key);
        }
    }
}

fn audit(conn: &Connection, caller: &Caller, action: &str, spec: &Spec, row: &ObjectRow, before: Option<&Value>, after: Option<&Value>) -> ApiResult<()> {
    let object_id = match (&row.uuid, spec.by_uuid) {
        (Some(uuid), true) => uuid.clone(),
        _ => row.id.to_string(),
    };
    conn.execute(
        "INSERT INTO audit (at, account, tenant_uuid, action, kind, object_id, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params![
            now_unix(),
            caller.account.username,
            row.tenant_uuid,
            action,
            spec.kind.as_str(),
            object_id,
            before.map(|value| value.to_string()),
            after.map(|value| value.to_string()),
        ],
    )
    .map_err(crate::store::StoreError::from)?;
    Ok(())
}

/// A JSON body that may be missing or empty: the seed scripts send
/// `POST /trunks` and association PUTs without one. It must be an object.
pub fn body_object(bytes: &[u8]) -> ApiResult<serde_json::Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::input("body", "must be a JSON object")),
        Err(error) => Err(ApiError::input("body", format!("is not valid JSON: {error}"))),
    }
}
