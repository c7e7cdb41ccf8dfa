//! Tokens, the Wazo way: `POST /api/auth/0.1/token` with HTTP Basic gives a
//! token; every confd route wants it in `X-Auth-Token`. The `Wazo-Tenant`
//! header picks the tenant a master admin acts for. Failed logins are
//! throttled per username and per address (`login_throttle`) before any hash
//! is computed; `/token/{token}` checks and revokes a token, as wazo-auth.

use super::error::{ApiError, ApiResult};
use super::login_throttle::{LoginThrottle, ThrottlePolicy, retry_after_secs};
use crate::api::AppState;
use crate::store::{Account, Role, people};
use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Default token lifetime, as wazo-auth.
const DEFAULT_EXPIRATION_SECS: i64 = 7200;
const MAX_EXPIRATION_SECS: i64 = 10 * 365 * 24 * 3600;

pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0)
}

/// HTTP Basic credentials; Debug never shows the password.
struct Credentials {
    username: String,
    password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, password hidden)", self.username)
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<Credentials> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (username, password) = text.split_once(':')?;
    Some(Credentials { username: username.to_string(), password: password.to_string() })
}

pub fn new_token() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The environment variable that sets the failed-login window, in seconds.
pub const LOCKOUT_SECS_ENV: &str = "PATCHBAY_LOGIN_LOCKOUT_SECS";

/// `POST /api/auth/0.1/users` takes usernames of 1 to 64 ASCII characters:
/// a longer one names no account, and is refused before it costs a hash or
/// a place in the throttle's tables.
const MAX_USERNAME_BYTES: usize = 64;

/// Logins past the ones hashing that may wait for a hashing slot; more are
/// told to come back rather than queued without bound.
const LOGINS_WAITING_TO_HASH: usize = 8;

/// What stands between a login and its password check: the failed-login
/// throttle, and bounds on the argon2 hashes computed at once and on the
/// logins waiting for one, so that guessing can neither run freely nor take
/// the CPU from the rest of the API.
pub struct LoginGuard {
    throttle: Mutex<LoginThrottle>,
    hashing: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
}

impl LoginGuard {
    pub fn new(policy: ThrottlePolicy, hashing_at_once: usize, waiting: usize) -> LoginGuard {
        LoginGuard {
            throttle: Mutex::new(LoginThrottle::new(policy)),
            hashing: Arc::new(Semaphore::new(hashing_at_once)),
            admitted: Arc::new(Semaphore::new(hashing_at_once + waiting)),
        }
    }

    /// The default policy, its window from [`LOCKOUT_SECS_ENV`] if set; half
    /// the cores (at least one) hash at once, the rest stay with the API.
    pub fn from_env() -> anyhow::Result<LoginGuard> {
        let mut policy = ThrottlePolicy::default();
        if let Ok(text) = std::env::var(LOCKOUT_SECS_ENV) {
            let secs: u64 = text
                .trim()
                .parse()
                .ok()
                .filter(|secs| *secs >= 1)
                .ok_or_else(|| anyhow::anyhow!("{LOCKOUT_SECS_ENV} must be a whole number of seconds, at least 1 (got `{text}`)"))?;
            policy.window = Duration::from_secs(secs);
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(LoginGuard::new(policy, (cores / 2).max(1), LOGINS_WAITING_TO_HASH))
    }

    /// A place among the logins hashing or waiting to, if one is free.
    fn admit(&self) -> Option<OwnedSemaphorePermit> {
        self.admitted.clone().try_acquire_owned().ok()
    }

    async fn hashing_slot(&self) -> ApiResult<OwnedSemaphorePermit> {
        self.hashing.clone().acquire_owned().await.map_err(|error| ApiError::Internal(error.to_string()))
    }

    pub fn throttle(&self) -> std::sync::MutexGuard<'_, LoginThrottle> {
        self.throttle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An answer with `Retry-After`, the Wazo error list as body.
fn retry_later(status: StatusCode, retry_after_secs: u64, message: String) -> Response {
    (status, [(header::RETRY_AFTER, retry_after_secs.to_string())], Json(vec![message])).into_response()
}

fn login_failed() -> ApiError {
    ApiError::Unauthorized("Authentication failed: wrong username or password".into())
}

fn token_data(token: &str, expires_at: i64, account: &Account) -> Value {
    json!({
        "token": token,
        "expires_at": expires_at,
        "utc_expires_at": expires_at,
        "metadata": {
            "uuid": account.uuid,
            "username": account.username,
            "tenant_uuid": account.tenant_uuid,
            "role": account.role,
        },
    })
}

/// `POST /api/auth/0.1/token` → 201 `{"data": {"token", "expires_at", "metadata"}}`.
/// 429 with `Retry-After` while the username or the address is locked by
/// failed logins (no hash is computed then), 503 with `Retry-After` while too
/// many logins already wait for a hash.
pub async fn create_token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> ApiResult<Response> {
    let Credentials { username, password } = basic_credentials(&headers)
        .ok_or_else(|| ApiError::Unauthorized("Authentication required: HTTP Basic credentials".into()))?;
    let expiration = match body.as_ref().and_then(|Json(body)| body.get("expiration")) {
        None => DEFAULT_EXPIRATION_SECS,
        Some(value) => value
            .as_i64()
            .filter(|secs| (1..=MAX_EXPIRATION_SECS).contains(secs))
            .ok_or_else(|| ApiError::input("expiration", format!("must be a whole number of seconds from 1 to {MAX_EXPIRATION_SECS}")))?,
    };
    if username.len() > MAX_USERNAME_BYTES {
        return Err(login_failed());
    }
    let guard = &state.login;
    if let Err(wait) = guard.throttle().check(&username, peer.ip(), Instant::now()) {
        let secs = retry_after_secs(wait);
        let message = format!("Too many failed logins for this user or from this address: retry in {secs} s");
        return Ok(retry_later(StatusCode::TOO_MANY_REQUESTS, secs, message));
    }
    let Some(admitted) = guard.admit() else {
        return Ok(retry_later(StatusCode::SERVICE_UNAVAILABLE, 1, "Too many logins in progress: retry in 1 s".into()));
    };
    let hashing = guard.hashing_slot().await?;
    let candidate = state.store.read(|conn| people::login_candidate(conn, &username))?;
    // argon2 is deliberately slow: off the async workers, outside the
    // database lock, and the permits go with it so that a client hanging up
    // does not free a hashing slot while its hash still runs.
    let account = tokio::task::spawn_blocking(move || {
        let _permits = (admitted, hashing);
        let matches = people::password_matches(candidate.as_ref().map(|(_, hash)| hash), &password);
        candidate.filter(|_| matches).map(|(account, _)| account)
    })
    .await
    .map_err(|error| ApiError::Internal(error.to_string()))?;
    let Some(account) = account else {
        guard.throttle().record_failure(&username, peer.ip(), Instant::now());
        tracing::info!(address = %peer.ip(), "failed login");
        return Err(login_failed());
    };
    guard.throttle().record_success(&username);
    let token = new_token();
    let expires_at = now_unix() + expiration;
    state.store.write(|tx| people::insert_token(tx, &token, &account.uuid, expires_at))?;
    Ok((StatusCode::CREATED, Json(json!({"data": token_data(&token, expires_at, &account)}))).into_response())
}

/// What a token path parameter names.
enum TokenLookup {
    Live { account: Account, expires_at: i64 },
    /// Unknown, expired or revoked.
    Unknown,
    /// Live, but `?tenant=` names a tenant it cannot act for.
    OtherTenant,
}

/// wazo-auth's checks of `/token/{token}`: the token itself is the
/// credential, and `?tenant=` asks whether it may act for that tenant.
fn look_up_token(state: &AppState, token: &str, params: &HashMap<String, String>) -> ApiResult<TokenLookup> {
    let Some((account, expires_at)) = state.store.read(|conn| people::token_info(conn, token, now_unix()))? else {
        return Ok(TokenLookup::Unknown);
    };
    if let Some(tenant) = params.get("tenant") {
        match Caller::resolve(state, token, Some(tenant.clone())) {
            Ok(_) => {}
            Err(ApiError::Unauthorized(_)) => return Ok(TokenLookup::OtherTenant),
            Err(error) => return Err(error),
        }
    }
    Ok(TokenLookup::Live { account, expires_at })
}

fn token_not_found() -> ApiError {
    // Never quotes the token: it is a secret, even a dead one.
    ApiError::NotFound("Resource Not Found - No such token".into())
}

fn token_forbidden() -> Response {
    (StatusCode::FORBIDDEN, Json(vec!["Forbidden: this token may not act for that tenant".to_string()])).into_response()
}

/// `GET /api/auth/0.1/token/{token}` → 200 `{"data": ...}` as at creation,
/// 404 for an unknown, expired or revoked token, 403 for `?tenant=` it may
/// not act for.
pub async fn get_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    match look_up_token(&state, &token, &params)? {
        TokenLookup::Live { account, expires_at } => Ok(Json(json!({"data": token_data(&token, expires_at, &account)})).into_response()),
        TokenLookup::Unknown => Err(token_not_found()),
        TokenLookup::OtherTenant => Ok(token_forbidden()),
    }
}

/// `HEAD /api/auth/0.1/token/{token}` → 204, 404 or 403, as `GET`.
pub async fn check_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    match look_up_token(&state, &token, &params)? {
        TokenLookup::Live { .. } => Ok(StatusCode::NO_CONTENT.into_response()),
        TokenLookup::Unknown => Err(token_not_found()),
        TokenLookup::OtherTenant => Ok(token_forbidden()),
    }
}

/// `DELETE /api/auth/0.1/token/{token}` → 200 `{"data": {"message": "success"}}`,
/// as wazo-auth (which answers the same for a token it does not know): from
/// then on the token is refused everywhere, as every route looks it up in
/// the store.
pub async fn revoke_token(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Json<Value>> {
    state.store.write(|tx| people::delete_token(tx, &token))?;
    Ok(Json(json!({"data": {"message": "success"}})))
}

/// The authenticated caller of a confd route and the tenant it acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: Account,
    /// The tenant new objects go to and lists show (`Wazo-Tenant`, else the token's).
    pub tenant_uuid: String,
    /// Every tenant this caller may read or change one object of.
    pub visible: Vec<String>,
    /// The change set this request's writes belong to (each audit line
    /// carries it; a rollback undoes one change set as a whole).
    pub change_set: i64,
}

/// A new change-set number: microseconds since the epoch, strictly
/// increasing within this process (so unique across restarts too).
pub fn new_change_set() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
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
    pub(crate) fn resolve(state: &AppState, token: &str, wanted_tenant: Option<String>) -> Result<Caller, ApiError> {
        state.store.read(|conn| {
            let account = people::account_for_token(conn, token, now_unix())?
                .ok_or_else(|| ApiError::Unauthorized("Unauthorized: invalid or expired token".into()))?;
            let acting_for_itself = wanted_tenant.as_ref().is_none_or(|wanted| *wanted == account.tenant_uuid);
            let visible: Vec<String> = match (account.role, wanted_tenant) {
                // A master acting for itself sees every tenant.
                (Role::MasterAdmin, _) if acting_for_itself => people::tenants(conn)?.into_iter().map(|tenant| tenant.uuid).collect(),
                // A master acting for a sub-tenant sees that sub-tenant (and
                // not its siblings): one row read, not every tenant, since
                // most requests at scale are made so.
                (Role::MasterAdmin, Some(wanted)) if people::tenant_exists(conn, &wanted)? => vec![wanted],
                (Role::TenantAdmin, _) if acting_for_itself => vec![account.tenant_uuid.clone()],
                _ => return Err(ApiError::Unauthorized("Unauthorized tenant".into())),
            };
            let tenant_uuid = if acting_for_itself { account.tenant_uuid.clone() } else { visible[0].clone() };
            Ok(Caller { account, tenant_uuid, visible, change_set: new_change_set() })
        })
    }
}

/// The caller of a request's `X-Auth-Token` header, resolved by the API's
/// outer middleware and handed to the [`Caller`] extractor through the
/// request's extensions, so a request looks its token up once. Only ever
/// made from the header (never from `?token=`, which only the event stream
/// accepts).
#[derive(Clone)]
pub(crate) struct HeaderCaller(pub Caller);

pub(crate) fn wanted_tenant_of(headers: &axum::http::HeaderMap) -> Option<String> {
    headers.get("wazo-tenant").and_then(|value| value.to_str().ok()).map(str::to_string)
}

fn wanted_tenant(parts: &Parts) -> Option<String> {
    wanted_tenant_of(&parts.headers)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        // Resolved once per request by the outermost API middleware
        // (`guard::redact_for_tenant_admins`), from this same header.
        if let Some(HeaderCaller(caller)) = parts.extensions.remove::<HeaderCaller>() {
            return Ok(caller);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn logins_past_the_hashing_and_waiting_places_are_turned_away() {
        let guard = LoginGuard::new(ThrottlePolicy::default(), 2, 3);
        let admitted: Vec<_> = (0..5).map(|_| guard.admit().expect("a place")).collect();
        assert!(guard.admit().is_none(), "2 hashing + 3 waiting, the sixth is told to retry");
        let hashing = [guard.hashing_slot().await.unwrap(), guard.hashing_slot().await.unwrap()];
        assert!(guard.hashing.try_acquire().is_err(), "only 2 hashes at once: a third waits");
        drop(hashing);
        drop(admitted);
        assert!(guard.admit().is_some());
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        let credentials = Credentials { username: "admin".into(), password: "s3cret-pass".into() };
        let shown = format!("{credentials:?}");
        assert!(shown.contains("admin") && !shown.contains("s3cret"), "{shown}");
    }
}
