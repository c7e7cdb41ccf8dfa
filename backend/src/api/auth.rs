//! Tokens, the Wazo way: `POST /api/auth/0.1/token` with HTTP Basic gives a
//! token; every confd route wants it in `X-Auth-Token`. The `Wazo-Tenant`
//! header picks the tenant a master admin acts for.

use super::error::{ApiError, ApiResult};
use crate::server::AppState;
use crate::store::{Account, Role, people};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::{HeaderMap, StatusCode, request::Parts};
use axum::Json;
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Default token lifetime, as wazo-auth.
const DEFAULT_EXPIRATION_SECS: i64 = 7200;
const MAX_EXPIRATION_SECS: i64 = 10 * 365 * 24 * 3600;

pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0)
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

pub fn new_token() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `POST /api/auth/0.1/token` → 201 `{"data": {"token", "expires_at", "metadata"}}`.
pub async fn create_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (username, password) = basic_credentials(&headers)
        .ok_or_else(|| ApiError::Unauthorized("Authentication required: HTTP Basic credentials".into()))?;
    let expiration = match body.as_ref().and_then(|Json(body)| body.get("expiration")) {
        None => DEFAULT_EXPIRATION_SECS,
        Some(value) => value
            .as_i64()
            .filter(|secs| (1..=MAX_EXPIRATION_SECS).contains(secs))
            .ok_or_else(|| ApiError::input("expiration", format!("must be a whole number of seconds from 1 to {MAX_EXPIRATION_SECS}")))?,
    };
    let store = state.store.clone();
    // argon2 verification is deliberately slow: keep it off the async workers.
    let account = tokio::task::spawn_blocking(move || store.read(|conn| people::verify_login(conn, &username, &password)))
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))??
        .ok_or_else(|| ApiError::Unauthorized("Authentication failed: wrong username or password".into()))?;
    let token = new_token();
    let expires_at = now_unix() + expiration;
    state.store.write(|tx| people::insert_token(tx, &token, &account.uuid, expires_at))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"data": {
            "token": token,
            "expires_at": expires_at,
            "utc_expires_at": expires_at,
            "metadata": {
                "uuid": account.uuid,
                "username": account.username,
                "tenant_uuid": account.tenant_uuid,
                "role": account.role,
            },
        }})),
    ))
}

/// The authenticated caller of a confd route and the tenant it acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: Account,
    /// The tenant new objects go to and lists show (`Wazo-Tenant`, else the token's).
    pub tenant_uuid: String,
    /// Every tenant this caller may read or change one object of.
    pub visible: Vec<String>,
}

impl Caller {
    pub fn is_master(&self) -> bool {
        self.account.role == Role::MasterAdmin
    }

    pub fn require_master(&self) -> ApiResult<()> {
        if self.is_master() { Ok(()) } else { Err(ApiError::Unauthorized("Unauthorized: master tenant only".into())) }
    }
}

impl Caller {
    /// The caller behind `token`, acting for `wanted_tenant` (else its own).
    fn resolve(state: &AppState, token: &str, wanted_tenant: Option<String>) -> Result<Caller, ApiError> {
        state.store.read(|conn| {
            let account = people::account_for_token(conn, token, now_unix())?
                .ok_or_else(|| ApiError::Unauthorized("Unauthorized: invalid or expired token".into()))?;
            let tenants = people::tenants(conn)?;
            let visible: Vec<String> = match account.role {
                Role::MasterAdmin => tenants.iter().map(|tenant| tenant.uuid.clone()).collect(),
                Role::TenantAdmin => vec![account.tenant_uuid.clone()],
            };
            let tenant_uuid = match wanted_tenant {
                Some(wanted) if visible.contains(&wanted) => wanted,
                Some(_) => return Err(ApiError::Unauthorized("Unauthorized tenant".into())),
                None => account.tenant_uuid.clone(),
            };
            // A master acting for a sub-tenant sees that sub-tenant (and not its siblings).
            let visible = if tenant_uuid == account.tenant_uuid { visible } else { vec![tenant_uuid.clone()] };
            Ok(Caller { account, tenant_uuid, visible })
        })
    }
}

fn wanted_tenant(parts: &Parts) -> Option<String> {
    parts.headers.get("wazo-tenant").and_then(|value| value.to_str().ok()).map(str::to_string)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let token = parts
            .headers
            .get("x-auth-token")
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| ApiError::Unauthorized("Unauthorized: X-Auth-Token is required".into()))?;
        Caller::resolve(state, token, wanted_tenant(parts))
    }
}

/// The caller of an event stream: `X-Auth-Token`, or else the `token` query
/// parameter. Only for `GET /api/patchbay/1.0/events`: a browser's
/// `EventSource` cannot send headers, so the token has to ride in the URL.
/// Nothing in Patchbay logs request URIs (there is no request-logging layer,
/// and errors never quote the query), so the token does not reach the logs;
/// every other route keeps to the header, where URLs (history, proxies,
/// `Referer`) cannot leak it.
#[derive(Debug, Clone)]
pub struct StreamCaller(pub Caller);

impl FromRequestParts<AppState> for StreamCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<StreamCaller, ApiError> {
        if parts.headers.contains_key("x-auth-token") {
            return Caller::from_request_parts(parts, state).await.map(StreamCaller);
        }
        let token = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|Query(mut params)| params.remove("token"))
            .ok_or_else(|| ApiError::Unauthorized("Unauthorized: X-Auth-Token or ?token= is required".into()))?;
        Caller::resolve(state, &token, wanted_tenant(parts)).map(StreamCaller)
    }
}
