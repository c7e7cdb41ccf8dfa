//! Tenants and API accounts (`/api/auth/0.1/tenants`, `/api/auth/0.1/users`)
//! and the audit trail (`/api/patchbay/1.0/audit`).

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::resource::body_object;
use crate::api::AppState;
use crate::store::{Account, Role, Tenant, people};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;

fn text_field<'a>(input: &'a serde_json::Map<String, Value>, key: &str, ok: impl Fn(&str) -> bool, rule: &str) -> ApiResult<&'a str> {
    match input.get(key) {
        None => Err(ApiError::input(key, "Missing data for required field.")),
        Some(Value::String(text)) if ok(text) => Ok(text),
        Some(_) => Err(ApiError::input(key, rule)),
    }
}

/// `GET /api/auth/0.1/tenants`: the tenants the caller may see.
pub async fn list_tenants(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let tenants: Vec<Tenant> = state.store.read(people::tenants)?.into_iter().filter(|t| caller.visible.contains(&t.uuid)).collect();
    Ok(Json(json!({"items": tenants, "total": tenants.len()})))
}

/// `POST /api/auth/0.1/tenants` `{"name", "slug"}` (master only): the tenant,
/// its three contexts and its `global` / `registration_trunk` SIP templates.
pub async fn create_tenant(State(state): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_master()?;
    let input = body_object(&body)?;
    let name = text_field(&input, "name", |n| (1..=128).contains(&n.len()) && !n.chars().any(char::is_control), "1 to 128 printable characters")?;
    let slug = match input.get("slug") {
        None => name.to_lowercase().chars().filter(char::is_ascii_alphanumeric).take(10).collect::<String>(),
        Some(_) => text_field(&input, "slug", |s| (1..=10).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "1 to 10 of a-z A-Z 0-9 _")?.to_string(),
    };
    if slug.is_empty() {
        return Err(ApiError::input("slug", "1 to 10 of a-z A-Z 0-9 _"));
    }
    let tenant = Tenant { uuid: uuid::Uuid::new_v4().to_string(), name: name.to_string(), slug, parent_uuid: None };
    state.store.write(|tx| {
        if people::slug_taken(tx, &tenant.slug)? {
            return Err(ApiError::resource(format!("Tenant already exists ('slug': '{}')", tenant.slug)));
        }
        let master = people::master_tenant(tx)?.map(|t| t.uuid);
        let tenant = Tenant { parent_uuid: master, ..tenant.clone() };
        people::insert_tenant(tx, &tenant)?;
        crate::bootstrap::seed_tenant(tx, &tenant.uuid, &tenant.slug, false)?;
        Ok::<_, ApiError>(())
    })?;
    Ok((StatusCode::CREATED, Json(json!({"uuid": tenant.uuid, "name": tenant.name, "slug": tenant.slug}))))
}

/// `POST /api/auth/0.1/users` `{"username", "password", "tenant_uuid", "role"}`.
/// A master admin creates any account; a tenant admin only tenant admins of its tenant.
pub async fn create_account(State(state): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<(StatusCode, Json<Value>)> {
    let input = body_object(&body)?;
    let username = text_field(&input, "username", |u| (1..=64).contains(&u.len()) && u.chars().all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c)), "1 to 64 of a-z A-Z 0-9 . _ - @")?.to_string();
    let password = text_field(&input, "password", |p| (8..=256).contains(&p.chars().count()), "8 to 256 characters")?.to_string();
    let tenant_uuid = match input.get("tenant_uuid") {
        None => caller.tenant_uuid.clone(),
        Some(Value::String(t)) => t.clone(),
        Some(_) => return Err(ApiError::input("tenant_uuid", "must be a tenant uuid")),
    };
    let role = match input.get("role").and_then(Value::as_str) {
        None | Some("tenant_admin") => Role::TenantAdmin,
        Some("master_admin") => Role::MasterAdmin,
        Some(_) => return Err(ApiError::input("role", "Must be one of: master_admin, tenant_admin.")),
    };
    if !caller.visible.contains(&tenant_uuid) {
        return Err(ApiError::input("tenant_uuid", format!("Tenant was not found ('uuid': '{tenant_uuid}')")));
    }
    if role == Role::MasterAdmin {
        caller.require_master()?;
    }
    let account = Account { uuid: uuid::Uuid::new_v4().to_string(), tenant_uuid, username, role };
    let store = state.store.clone();
    let created = account.clone();
    // argon2 hashing is deliberately slow: keep it off the async workers.
    tokio::task::spawn_blocking(move || {
        store.write(|tx| {
            if tx.exists("SELECT 1 FROM accounts WHERE username = ?1", crate::store::params![created.username])? {
                return Err(ApiError::resource(format!("User already exists ('username': '{}')", created.username)));
            }
            people::insert_account(tx, &created, &password)?;
            Ok(())
        })
    })
    .await
    .map_err(|error| ApiError::Internal(error.to_string()))??;
    Ok((StatusCode::CREATED, Json(json!({"uuid": account.uuid, "username": account.username, "tenant_uuid": account.tenant_uuid, "role": account.role}))))
}

/// `GET /api/patchbay/1.0/audit?limit=&offset=&kind=`: newest first, only the caller's tenants.
pub async fn audit(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> ApiResult<Json<Value>> {
    let limit: i64 = params.get("limit").map(|l| l.parse().map_err(|_| ApiError::input("limit", "must be a positive number"))).transpose()?.unwrap_or(100);
    let offset: i64 = params.get("offset").map(|o| o.parse().map_err(|_| ApiError::input("offset", "must be a number >= 0"))).transpose()?.unwrap_or(0);
    let kind = params.get("kind").cloned();
    let master = caller.is_master() && caller.tenant_uuid == caller.account.tenant_uuid;
    state.store.read(|conn| {
        let rows = conn.query_all("SELECT id, at, account, tenant_uuid, action, kind, object_id, before, after, change_set FROM audit ORDER BY id DESC", &[], |r| {
            Ok((
                r.get::<i64>(0)?, r.get::<i64>(1)?, r.get::<String>(2)?, r.get::<Option<String>>(3)?,
                r.get::<String>(4)?, r.get::<String>(5)?, r.get::<String>(6)?, r.get::<Option<String>>(7)?, r.get::<Option<String>>(8)?, r.get::<Option<i64>>(9)?,
            ))
        })?;
        let mut items = Vec::new();
        for row in rows {
            let (id, at, account, tenant, action, row_kind, object_id, before, after, change_set) = row;
            let visible = match &tenant {
                Some(t) => caller.visible.contains(t),
                None => master,
            };
            if !visible || kind.as_ref().is_some_and(|k| k != &row_kind) {
                continue;
            }
            let parse = |text: Option<String>| text.and_then(|t| serde_json::from_str::<Value>(&t).ok());
            let (before, after) = (parse(before), parse(after));
            let object_name = audit_name(conn, &row_kind, &object_id, after.as_ref().or(before.as_ref()));
            items.push(json!({"id": id, "at": at, "account": account, "tenant_uuid": tenant, "action": action, "kind": row_kind,
                              "object_id": object_id, "object_name": object_name, "before": before, "after": after, "change_set": change_set}));
        }
        let total = items.len();
        let page: Vec<Value> = items.into_iter().skip(offset.max(0) as usize).take(limit.max(0) as usize).collect();
        Ok(Json(json!({"items": page, "total": total})))
    })
}

/// What a person calls the object of an audit line: its name, the user's
/// full name, `exten@context`, the custom interface; a trunk by its
/// endpoint's name and an incall by its DID while they exist; else `None`.
fn audit_name(conn: &crate::store::Connection, kind: &str, object_id: &str, body: Option<&Value>) -> Option<String> {
    use crate::store::{Kind, objects};
    let body = body?;
    let text = |key: &str| body.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    match kind {
        "user" => Some(format!("{} {}", text("firstname")?, text("lastname").unwrap_or_default()).trim().to_string()),
        "extension" => Some(format!("{}@{}", text("exten")?, text("context")?)),
        "endpoint_custom" => Some(format!("{}{}", text("interface")?, text("interface_suffix").unwrap_or_default())),
        "trunk" => {
            // A trunk is created before its endpoint is attached: else the trunk as it is now.
            let current = || objects::get(conn, Kind::Trunk, object_id.parse().ok()?, None).ok()?;
            let now = if body["endpoint_sip"].is_object() || body["endpoint_iax"].is_object() { None } else { current() };
            let trunk = now.as_ref().map_or(body, |row| &row.body);
            if let Some(uuid) = trunk["endpoint_sip"]["uuid"].as_str() {
                return objects::get_by_uuid(conn, Kind::EndpointSip, uuid, None).ok()??.body.get("name")?.as_str().map(str::to_string);
            }
            let (kind, key) = if trunk["endpoint_iax"].is_object() { (Kind::EndpointIax, "name") } else { (Kind::EndpointCustom, "interface") };
            let id = trunk["endpoint_iax"]["id"].as_i64().or(trunk["endpoint_custom"]["id"].as_i64())?;
            objects::get(conn, kind, id, None).ok()??.body.get(key)?.as_str().map(str::to_string)
        }
        "incall" => {
            // The line's own `extension_id`, else the incall's as it is now.
            let current = || objects::get(conn, Kind::Incall, object_id.parse().ok()?, None).ok()?;
            let ext = body["extension_id"].as_i64().or_else(|| current()?.body["extension_id"].as_i64())?;
            let ext = objects::get(conn, Kind::Extension, ext, None).ok()??;
            Some(format!("DID {}", ext.body.get("exten")?.as_str()?))
        }
        _ => text("name").or_else(|| text("label")),
    }
}
