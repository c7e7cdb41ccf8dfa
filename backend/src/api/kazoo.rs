//! Kazoo 4.3's connectivity (trunkstore) API, seed 004, on Patchbay's model:
//!
//! - `PUT /v2/user_auth` `{"data": {"credentials": md5("user:password"),
//!   "account_name": "<tenant name>"}}` → a Patchbay token (accounts created
//!   since migration 2 keep that md5; older ones cannot use it);
//! - `/v2/accounts/{ACCOUNT_ID}/connectivity` (GET list, PUT create) and
//!   `/{CONNECTIVITY_ID}` (GET, POST replace, PATCH merge, DELETE), with the
//!   token in `X-Auth-Token`. `{ACCOUNT_ID}` is a tenant uuid: a tenant
//!   admin reaches only its own.
//!
//! The document is stored as its own kind (Kazoo's `pvt_*` keys hold what it
//! materialized and its revision, never shown) and mapped by
//! `patchbay_shared::kazoo::map` onto ordinary trunks, SIP endpoints,
//! extensions and incalls, replaced on every change and deleted with it, in
//! the same transaction. Answers use Kazoo's envelope
//! `{data, status, revision, request_id, auth_token}`; a bad document is
//! Kazoo's 400 `invalid data` naming the failing key.

use super::auth::{Caller, new_token, now_unix};
use super::error::ApiError;
use crate::api::AppState;
use crate::store::{Kind, ObjectRow, StoreError, objects, people};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use std::net::SocketAddr;
use std::time::Instant;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use patchbay_shared::kazoo::{self, Allocator, Connectivity, KazooError, Tenancy};
use patchbay_shared::model::*;
use crate::store::Connection;
use serde_json::{Map, Value, json};

/// Token lifetime of `user_auth`, as Kazoo's default (1 hour).
const USER_AUTH_SECS: i64 = 3600;

/// An error in Kazoo's envelope.
pub struct KzError {
    code: StatusCode,
    message: String,
    data: Value,
    token: Option<String>,
}

impl KzError {
    fn new(code: StatusCode, message: &str, data: Value) -> KzError {
        KzError { code, message: message.into(), data, token: None }
    }
    fn invalid(errors: &[KazooError]) -> KzError {
        KzError::new(StatusCode::BAD_REQUEST, "invalid data", kazoo::errors_data(errors))
    }
    fn invalid_one(path: &str, rule: &str, message: &str, target: Value) -> KzError {
        KzError::invalid(&[KazooError::new(path, rule, message, target)])
    }
    fn not_found(id: &str) -> KzError {
        KzError::new(StatusCode::NOT_FOUND, "bad_identifier", json!({"message": "bad identifier", "not_found": format!("The path segment '{id}' is not a known connectivity")}))
    }
    fn with_token(mut self, token: &str) -> KzError {
        self.token = Some(token.to_owned());
        self
    }
}

impl From<StoreError> for KzError {
    fn from(error: StoreError) -> KzError {
        ApiError::from(error).into()
    }
}

impl From<ApiError> for KzError {
    fn from(error: ApiError) -> KzError {
        match error {
            ApiError::Unauthorized(message) => KzError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", json!({"message": message})),
            ApiError::NotFound(message) => KzError::new(StatusCode::NOT_FOUND, "bad_identifier", json!({"message": message})),
            ApiError::BadRequest(messages) => KzError::new(StatusCode::BAD_REQUEST, "invalid data", json!({"message": messages.join("; ")})),
            ApiError::Internal(message) => {
                tracing::error!(%message, "internal error");
                KzError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_server_error", json!({"message": "Unexpected error: see the server log"}))
            }
        }
    }
}

fn request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl IntoResponse for KzError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "data": self.data,
            "error": self.code.as_u16().to_string(),
            "message": self.message,
            "status": "error",
            "request_id": request_id(),
        });
        if let Some(token) = self.token {
            body["auth_token"] = json!(token);
        }
        (self.code, axum::Json(body)).into_response()
    }
}

type KzResult<T> = Result<T, KzError>;

/// Kazoo's success envelope.
fn envelope(code: StatusCode, data: Value, token: &str, revision: Option<String>) -> Response {
    let mut body = json!({"data": data, "status": "success", "request_id": request_id(), "auth_token": token});
    if let Some(revision) = revision {
        body["revision"] = json!(revision);
    }
    (code, axum::Json(body)).into_response()
}

/// The request's `data` object (a missing or empty body is `{}`).
fn request_data(bytes: &[u8]) -> KzResult<Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let body: Value = serde_json::from_slice(bytes)
        .map_err(|error| KzError::new(StatusCode::BAD_REQUEST, "invalid request body", json!({"message": format!("the body is not valid JSON: {error}")})))?;
    match body.get("data").unwrap_or(&body) {
        Value::Object(map) => Ok(map.clone()),
        _ => Err(KzError::invalid_one("data", "type", "Value did not match type(s): object", json!("object"))),
    }
}

/// `PUT /v2/user_auth`.
pub async fn user_auth(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, body: Bytes) -> KzResult<Response> {
    let data = request_data(&body)?;
    let text = |key: &str| -> KzResult<String> {
        match data.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(_) => Err(KzError::invalid_one(key, "type", "Value did not match type(s): string", json!("string"))),
            None => Err(KzError::invalid_one(key, "required", "Field is required but missing", json!(true))),
        }
    };
    let credentials = text("credentials")?;
    let account_name = text("account_name")?;
    // The same throttle as wazo-auth's token route, keyed by the Kazoo
    // account: the md5 check is cheap, but guessing must stay slow.
    let throttle_key = format!("kazoo:{account_name}");
    if let Err(wait) = state.login.throttle().check(&throttle_key, peer.ip(), Instant::now()) {
        let secs = super::login_throttle::retry_after_secs(wait);
        let mut response = KzError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", json!({"message": format!("too many failed logins: retry in {secs} s")})).into_response();
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        return Ok(response);
    }
    let found = state.store.read(|conn| people::account_for_kazoo_credentials(conn, &account_name, &credentials))?;
    let Some(account) = found else {
        state.login.throttle().record_failure(&throttle_key, peer.ip(), Instant::now());
        return Err(KzError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", json!({"message": "invalid credentials"})));
    };
    state.login.throttle().record_success(&throttle_key);
    let token = new_token();
    state.store.write(|tx| people::insert_token(tx, &token, &account.uuid, now_unix() + USER_AUTH_SECS))?;
    let data = json!({"account_id": account.tenant_uuid, "owner_id": account.uuid, "account_name": account_name, "is_reseller": false});
    Ok(envelope(StatusCode::CREATED, data, &token, None))
}

fn token_of(headers: &HeaderMap) -> String {
    headers.get("x-auth-token").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// The caller, allowed to act on account (tenant) `account`.
fn authorize(caller: Result<Caller, ApiError>, account: &str, token: &str) -> KzResult<Caller> {
    let caller = caller.map_err(KzError::from)?;
    if !caller.visible.iter().any(|t| t == account) {
        return Err(KzError::new(StatusCode::FORBIDDEN, "forbidden", json!({"message": "You do not have access to this account"})).with_token(token));
    }
    Ok(caller)
}

/// The document as shown: no `pvt_*` keys, with its `id`.
fn present(row: &ObjectRow) -> Value {
    let mut doc = row.body.as_object().cloned().unwrap_or_default();
    doc.retain(|key, _| !key.starts_with("pvt_"));
    doc.insert("id".into(), json!(row.uuid));
    Value::Object(doc)
}

/// `<n>-<md5 of the document>`, as Kazoo's CouchDB revisions.
fn revision(row: &ObjectRow) -> String {
    let n = row.body.get("pvt_revision").and_then(Value::as_i64).unwrap_or(1);
    format!("{n}-{}", kazoo::md5::md5_hex(present(row).to_string().as_bytes()))
}

fn find(conn: &Connection, account: &str, id: &str) -> KzResult<ObjectRow> {
    objects::get_by_uuid(conn, Kind::KazooConnectivity, id, Some(&[account.to_owned()]))?.ok_or_else(|| KzError::not_found(id))
}

/// Validates a client document (client-only keys dropped) and fills the defaults.
fn checked(mut doc: Map<String, Value>) -> KzResult<(Value, Connectivity)> {
    doc.retain(|key, _| key != "id" && !key.starts_with("pvt_") && !key.starts_with('_'));
    let mut doc = Value::Object(doc);
    kazoo::validate(&doc).map_err(|errors| KzError::invalid(&errors))?;
    kazoo::fill_defaults(&mut doc);
    let typed = Connectivity::from_value(&doc).map_err(|message| KzError::invalid_one("data", "type", &message, json!("object")))?;
    Ok((doc, typed))
}

struct Ids {
    trunk: u64,
    extension: u64,
    incall: u64,
}

impl Allocator for Ids {
    fn trunk_id(&mut self) -> TrunkId {
        self.trunk += 1;
        TrunkId(self.trunk - 1)
    }
    fn extension_id(&mut self) -> ExtensionId {
        self.extension += 1;
        ExtensionId(self.extension - 1)
    }
    fn incall_id(&mut self) -> IncallId {
        self.incall += 1;
        IncallId(self.incall - 1)
    }
    fn endpoint_uuid(&mut self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// The first enabled context of `kind` of the tenant, by id.
fn context_of(conn: &Connection, tenant: &str, kinds: &[&str]) -> KzResult<Option<String>> {
    let contexts = objects::list(conn, Kind::Context, Some(&[tenant.to_owned()]))?;
    for kind in kinds {
        let found = contexts.iter().find(|c| c.body["type"] == json!(kind) && c.body["enabled"] != json!(false));
        if let Some(c) = found {
            return Ok(c.body["name"].as_str().map(str::to_owned));
        }
    }
    Ok(None)
}

/// The stored body of a model object: its key columns are not in it.
fn body_of(value: impl serde::Serialize) -> KzResult<Value> {
    let mut body = serde_json::to_value(value).map_err(|e| KzError::from(ApiError::Internal(e.to_string())))?;
    if let Value::Object(map) = &mut body {
        for key in ["id", "uuid", "tenant_uuid"] {
            map.remove(key);
        }
    }
    Ok(body)
}

/// Deletes what a stored document materialized.
fn dematerialize(conn: &Connection, row: &ObjectRow) -> KzResult<()> {
    let made = &row.body["pvt_materialized"];
    let ids = |key: &str| made[key].as_array().cloned().unwrap_or_default();
    for (key, kind) in [("incalls", Kind::Incall), ("extensions", Kind::Extension), ("trunks", Kind::Trunk)] {
        for id in ids(key).iter().filter_map(Value::as_i64) {
            objects::delete(conn, kind, id)?;
        }
    }
    for uuid in ids("endpoints_sip").iter().filter_map(Value::as_str) {
        if let Some(ep) = objects::get_by_uuid(conn, Kind::EndpointSip, uuid, None)? {
            objects::delete(conn, Kind::EndpointSip, ep.id)?;
        }
    }
    Ok(())
}

/// Maps the document and stores the trunks, endpoints, extensions and
/// incalls; answers what was made (for `pvt_materialized`).
fn materialize(conn: &Connection, tenant: &str, doc_id: &str, doc: &Connectivity) -> KzResult<Value> {
    let incall_context = context_of(conn, tenant, &["incall"])?;
    let outbound_context = context_of(conn, tenant, &["outcall", "internal"])?;
    let has_dids = doc.servers.iter().any(|s| !s.dids.is_empty());
    if has_dids && incall_context.is_none() {
        return Err(KzError::invalid_one("servers", "context", "The account has no incall context for the DIDs", json!("incall")));
    }
    let tenancy = Tenancy { tenant_uuid: tenant, incall_context: incall_context.as_deref().unwrap_or(""), outbound_context: outbound_context.as_deref() };
    let mut ids = Ids {
        trunk: objects::next_id(conn, Kind::Trunk)? as u64,
        extension: objects::next_id(conn, Kind::Extension)? as u64,
        incall: objects::next_id(conn, Kind::Incall)? as u64,
    };
    let mapped = kazoo::map(doc_id, doc, &tenancy, &mut ids).map_err(|errors| KzError::invalid(&errors))?;
    // The DIDs' keys, in the order the mapping made their extensions.
    let did_paths: Vec<String> =
        doc.servers.iter().enumerate().flat_map(|(i, s)| s.dids.keys().map(move |k| format!("servers.{i}.DIDs.{k}"))).collect();
    let existing = objects::list(conn, Kind::Extension, None)?;
    for (ext, path) in mapped.extensions.iter().zip(&did_paths) {
        let taken = existing.iter().any(|row| row.body["context"] == json!(ext.context) && row.body["exten"] == json!(ext.exten));
        if taken {
            return Err(KzError::invalid_one(path, "unique", &format!("The DID is already an extension of context {}", ext.context), json!(ext.exten)));
        }
        let problems = patchbay_shared::validate::extension(ext, ContextKind::Incall);
        if let Some(problem) = problems.first() {
            return Err(KzError::invalid_one(path, "format", &format!("{}: {}", problem.field, problem.message), json!(ext.exten)));
        }
    }
    for (i, ep) in mapped.endpoints_sip.iter().enumerate() {
        if let Some(problem) = patchbay_shared::validate::endpoint_sip(ep).first() {
            return Err(KzError::invalid_one(&format!("servers.{i}"), "format", &format!("{}: {}", problem.field, problem.message), json!(null)));
        }
    }
    for (incall, path) in mapped.incalls.iter().zip(&did_paths) {
        if let Some(problem) = patchbay_shared::validate::incall(incall).first() {
            return Err(KzError::invalid_one(path, "format", &format!("{}: {}", problem.field, problem.message), json!(null)));
        }
    }
    let tenant_owned = Some(tenant.to_owned());
    let row = |id: i64, uuid: Option<String>, body: Value| ObjectRow { id, uuid, tenant_uuid: tenant_owned.clone(), body };
    for ep in &mapped.endpoints_sip {
        objects::insert(conn, Kind::EndpointSip, &row(objects::next_id(conn, Kind::EndpointSip)?, Some(ep.uuid.clone()), body_of(ep)?))?;
    }
    for trunk in &mapped.trunks {
        objects::insert(conn, Kind::Trunk, &row(trunk.id.0 as i64, None, body_of(trunk)?))?;
    }
    for ext in &mapped.extensions {
        objects::insert(conn, Kind::Extension, &row(ext.id.0 as i64, None, body_of(ext)?))?;
    }
    for incall in &mapped.incalls {
        objects::insert(conn, Kind::Incall, &row(incall.id.0 as i64, None, body_of(incall)?))?;
    }
    let made = json!({
        "trunks": mapped.trunks.iter().map(|t| t.id.0).collect::<Vec<_>>(),
        "endpoints_sip": mapped.endpoints_sip.iter().map(|e| e.uuid.clone()).collect::<Vec<_>>(),
        "extensions": mapped.extensions.iter().map(|e| e.id.0).collect::<Vec<_>>(),
        "incalls": mapped.incalls.iter().map(|i| i.id.0).collect::<Vec<_>>(),
    });
    Ok(made)
}

fn audit(conn: &Connection, caller: &Caller, tenant: &str, action: &str, id: &str, before: Option<&Value>, after: Option<&Value>) -> KzResult<()> {
    super::resource::write_audit(conn, caller, Some(tenant), action, Kind::KazooConnectivity, id, before, after)?;
    Ok(())
}

/// `GET /v2/accounts/{ACCOUNT_ID}/connectivity`: the documents' ids.
pub async fn list(State(state): State<AppState>, headers: HeaderMap, caller: Result<Caller, ApiError>, Path(account): Path<String>) -> KzResult<Response> {
    let token = token_of(&headers);
    authorize(caller, &account, &token)?;
    let rows = state.store.read(|conn| objects::list(conn, Kind::KazooConnectivity, Some(std::slice::from_ref(&account))))?;
    let ids: Vec<Value> = rows.iter().map(|row| json!(row.uuid)).collect();
    Ok(envelope(StatusCode::OK, json!(ids), &token, None))
}

/// `PUT /v2/accounts/{ACCOUNT_ID}/connectivity`.
pub async fn create(State(state): State<AppState>, headers: HeaderMap, caller: Result<Caller, ApiError>, Path(account): Path<String>, body: Bytes) -> KzResult<Response> {
    let token = token_of(&headers);
    let caller = authorize(caller, &account, &token)?;
    let (doc, typed) = checked(request_data(&body)?).map_err(|e| e.with_token(&token))?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let row = state
        .store
        .write(|tx| {
            let made = materialize(tx, &account, &id, &typed)?;
            let mut body = doc.clone();
            body["pvt_materialized"] = made;
            body["pvt_revision"] = json!(1);
            let row = ObjectRow { id: objects::next_id(tx, Kind::KazooConnectivity)?, uuid: Some(id.clone()), tenant_uuid: Some(account.clone()), body };
            objects::insert(tx, Kind::KazooConnectivity, &row)?;
            audit(tx, &caller, &account, "create", &id, None, Some(&doc))?;
            Ok::<_, KzError>(row)
        })
        .map_err(|e| e.with_token(&token))?;
    state.request_apply();
    Ok(envelope(StatusCode::CREATED, present(&row), &token, Some(revision(&row))))
}

/// `GET /v2/accounts/{ACCOUNT_ID}/connectivity/{CONNECTIVITY_ID}`.
pub async fn get(State(state): State<AppState>, headers: HeaderMap, caller: Result<Caller, ApiError>, Path((account, id)): Path<(String, String)>) -> KzResult<Response> {
    let token = token_of(&headers);
    authorize(caller, &account, &token)?;
    let row = state.store.read(|conn| find(conn, &account, &id)).map_err(|e| e.with_token(&token))?;
    Ok(envelope(StatusCode::OK, present(&row), &token, Some(revision(&row))))
}

/// POST (replace) and PATCH (merge): the new document replaces what the old
/// one materialized.
async fn change(state: AppState, token: String, caller: Caller, account: String, id: String, body: Bytes, merge: bool) -> KzResult<Response> {
    let input = request_data(&body).map_err(|e| e.with_token(&token))?;
    let row = state
        .store
        .write(|tx| {
            let before = find(tx, &account, &id)?;
            let shown_before = present(&before);
            let input = if merge {
                let mut doc = shown_before.clone();
                kazoo::merge_patch(&mut doc, &Value::Object(input.clone()));
                doc.as_object().cloned().unwrap_or_default()
            } else {
                input.clone()
            };
            let (doc, typed) = checked(input)?;
            dematerialize(tx, &before)?;
            let made = materialize(tx, &account, &id, &typed)?;
            let mut body = doc.clone();
            body["pvt_materialized"] = made;
            body["pvt_revision"] = json!(before.body["pvt_revision"].as_i64().unwrap_or(1) + 1);
            objects::update_body(tx, Kind::KazooConnectivity, before.id, &body)?;
            audit(tx, &caller, &account, "update", &id, Some(&shown_before), Some(&doc))?;
            Ok::<_, KzError>(ObjectRow { body, ..before })
        })
        .map_err(|e| e.with_token(&token))?;
    state.request_apply();
    Ok(envelope(StatusCode::OK, present(&row), &token, Some(revision(&row))))
}

/// `POST /v2/accounts/{ACCOUNT_ID}/connectivity/{CONNECTIVITY_ID}`.
pub async fn replace(State(state): State<AppState>, headers: HeaderMap, caller: Result<Caller, ApiError>, Path((account, id)): Path<(String, String)>, body: Bytes) -> KzResult<Response> {
    let token = token_of(&headers);
    let caller = authorize(caller, &account, &token)?;
    change(state, token, caller, account, id, body, false).await
}

/// `PATCH /v2/accounts/{ACCOUNT_ID}/connectivity/{CONNECTIVITY_ID}`.
pub async fn patch(State(state): State<AppState>, headers: HeaderMap, caller: Result<Caller, ApiError>, Path((account, id)): Path<(String, String)>, body: Bytes) -> KzResult<Response> {
    let token = token_of(&headers);
    let caller = authorize(caller, &account, &token)?;
    change(state, token, caller, account, id, body, true).await
}

/// `DELETE /v2/accounts/{ACCOUNT_ID}/connectivity/{CONNECTIVITY_ID}`: the
/// document and everything it materialized.
pub async fn delete(State(state): State<AppState>, headers: HeaderMap, caller: Result<Caller, ApiError>, Path((account, id)): Path<(String, String)>) -> KzResult<Response> {
    let token = token_of(&headers);
    let caller = authorize(caller, &account, &token)?;
    let row = state
        .store
        .write(|tx| {
            let before = find(tx, &account, &id)?;
            dematerialize(tx, &before)?;
            objects::delete(tx, Kind::KazooConnectivity, before.id)?;
            audit(tx, &caller, &account, "delete", &id, Some(&present(&before)), None)?;
            Ok::<_, KzError>(before)
        })
        .map_err(|e| e.with_token(&token))?;
    state.request_apply();
    let mut shown = present(&row);
    shown["pvt_deleted"] = json!(true);
    Ok(envelope(StatusCode::OK, shown, &token, Some(revision(&row))))
}

/// The routes, mounted at the root (Kazoo's `/v2/...`).
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get as route_get, put};
    axum::Router::new()
        .route("/v2/user_auth", put(user_auth))
        .route("/v2/accounts/{account_id}/connectivity", route_get(list).put(create))
        .route("/v2/accounts/{account_id}/connectivity/{connectivity_id}", route_get(get).post(replace).patch(patch).delete(delete))
}
