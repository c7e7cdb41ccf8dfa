//! What every confd resource handler needs: tenant-scoped lookup with Wazo's
//! 404 wording, `Location` + 201 on create, links, and the audit trail.

use super::auth::{Caller, now_unix};
use super::error::{ApiError, ApiResult};
use crate::store::directory::StoreDirectory;
use crate::store::{Kind, ObjectRow, objects};
use patchbay_shared::validate::FieldError;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use crate::store::Connection;
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

    /// The links of an integer-keyed object known only by its id.
    pub fn links_by_id(&self, id: i64) -> Value {
        debug_assert!(!self.by_uuid);
        json!([{"rel": self.rel, "href": format!("/api/confd/1.1/{}/{id}", self.path)}])
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
        found.ok_or_else(|| ApiError::not_found_key(self.noun, key_name, key))
    }

    /// By id (or uuid); integer-keyed objects with a uuid in their body
    /// (users) also by uuid.
    pub fn lookup(&self, conn: &Connection, caller: &Caller, key: &str) -> ApiResult<ObjectRow> {
        if !self.by_uuid && key.parse::<i64>().is_err() {
            let found = objects::get_by_uuid(conn, self.kind, key, Some(&caller.visible))?;
            return found.ok_or_else(|| ApiError::not_found_key(self.noun, "uuid", key));
        }
        self.find(conn, caller, key)
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
        keep_secrets(&mut body, &Value::Null)?;
        let row = ObjectRow { id, uuid, tenant_uuid: tenant_scoped.then(|| caller.tenant_uuid.clone()), body };
        references_resolve(conn, self.kind, &row, self.by_uuid)?;
        objects::insert(conn, self.kind, &row)?;
        audit(conn, caller, "create", self, &row, None, Some(&row.body))?;
        Ok(row)
    }

    pub fn replace(&self, conn: &Connection, caller: &Caller, before: &ObjectRow, mut body: Value) -> ApiResult<()> {
        strip_read_only(&mut body);
        keep_secrets(&mut body, &before.body)?;
        let after = ObjectRow { body, ..before.clone() };
        references_resolve(conn, self.kind, &after, self.by_uuid)?;
        let body = after.body;
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

/// A secret sent back as the placeholder a tenant admin read keeps its
/// stored value; a placeholder with no stored value is refused.
fn keep_secrets(body: &mut Value, stored: &Value) -> ApiResult<()> {
    crate::secrets::keep_placeholders(body, stored)
        .map_err(|path| ApiError::input(&path, "is the hidden-secret placeholder but no secret is stored here: send the secret itself"))
}

/// Every id and name `row` points at resolves inside its own tenant, by the
/// one rule of `patchbay_shared::tenancy`; else Wazo's 400 naming each field
/// (a foreign target reads exactly like a missing one). Every create and
/// update of a stored object passes here, whichever handler made it.
pub fn references_resolve(conn: &Connection, kind: Kind, row: &ObjectRow, by_uuid: bool) -> ApiResult<()> {
    use patchbay_shared::model as m;
    use patchbay_shared::tenancy::{Object, unresolved};
    let Some(_) = &row.tenant_uuid else { return Ok(()) };
    let doc = crate::snapshot::document(row, by_uuid);
    let directory = StoreDirectory::new(conn);
    // A document that does not deserialize is refused by its resource's own
    // checks, which name the field; there is nothing to resolve in it yet.
    fn check<T: serde::de::DeserializeOwned>(doc: Value, f: impl FnOnce(&T) -> Vec<FieldError>) -> Vec<FieldError> {
        serde_json::from_value::<T>(doc).map(|object| f(&object)).unwrap_or_default()
    }
    let errors = match kind {
        Kind::Context => check::<m::Context>(doc, |o| unresolved(Object::Context(o), &directory)),
        Kind::Extension => check::<m::Extension>(doc, |o| unresolved(Object::Extension(o), &directory)),
        Kind::Trunk => check::<m::Trunk>(doc, |o| unresolved(Object::Trunk(o), &directory)),
        Kind::EndpointSip => check::<m::EndpointSip>(doc, |o| unresolved(Object::EndpointSip(o), &directory)),
        Kind::SipTemplate => check::<m::SipTemplate>(doc, |o| unresolved(Object::SipTemplate(o), &directory)),
        Kind::EndpointIax => check::<m::EndpointIax>(doc, |o| unresolved(Object::EndpointIax(o), &directory)),
        Kind::EndpointCustom => check::<m::EndpointCustom>(doc, |o| unresolved(Object::EndpointCustom(o), &directory)),
        Kind::Outcall => check::<m::Outcall>(doc, |o| unresolved(Object::Outcall(o), &directory)),
        Kind::Incall => check::<m::Incall>(doc, |o| unresolved(Object::Incall(o), &directory)),
        Kind::Line => check::<m::Line>(doc, |o| unresolved(Object::Line(o), &directory)),
        Kind::Group => check::<m::Group>(doc, |o| unresolved(Object::Group(o), &directory)),
        Kind::User | Kind::RegisterSip | Kind::RegisterIax | Kind::Transport | Kind::Settings | Kind::KazooConnectivity => Vec::new(),
    };
    super::error::ok_or_400(errors)
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
    write_audit(conn, caller, row.tenant_uuid.as_deref(), action, spec.kind, &object_id, before, after)?;
    Ok(())
}

/// The one writer of audit lines. Secrets never reach the table: the line
/// says a secret changed, not what it is ([`crate::secrets::for_audit`]).
#[allow(clippy::too_many_arguments)]
pub fn write_audit(
    conn: &Connection,
    caller: &Caller,
    tenant_uuid: Option<&str>,
    action: &str,
    kind: Kind,
    object_id: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<(), crate::store::StoreError> {
    let (before, after) = crate::secrets::for_audit(before, after);
    conn.execute(
        "INSERT INTO audit (at, account, tenant_uuid, action, kind, object_id, before, after, change_set) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        crate::store::params![
            now_unix(),
            caller.account.username,
            tenant_uuid,
            action,
            kind.as_str(),
            object_id,
            before.map(|value| value.to_string()),
            after.map(|value| value.to_string()),
            caller.change_set,
        ],
    )?;
    Ok(())
}

/// The body of a create (`POST`): Wazo parses it as JSON whatever its
/// Content-Type, so a missing body is Flask's JSON decoding 400.
pub fn body_required(bytes: &[u8]) -> ApiResult<serde_json::Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(vec![NO_BODY.to_string()]));
    }
    body_object(bytes)
}

/// What Wazo answers to a `POST` without a body.
pub const NO_BODY: &str = "Failed to decode JSON object: Expecting value: line 1 column 1 (char 0)";

/// A JSON body that may be missing or empty: association PUTs (seed 001's
/// `PUT /outcalls/{id}/extensions/{id}`) and partial updates are sent
/// without one. It must be an object.
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
