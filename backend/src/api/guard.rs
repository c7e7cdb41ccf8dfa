//! What wraps every API answer: request bodies are bounded (a clear 400 in
//! Wazo's shape, nothing read past the bound), and a tenant admin never reads
//! a secret, whichever route answered (resources, Kazoo documents, the
//! snapshot, the config preview, the audit log).

use super::auth::{Caller, HeaderCaller, now_unix, wanted_tenant_of};
use super::error::ApiError;
use crate::api::AppState;
use crate::store::{Role, people};
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// The largest request body the API reads. A whole trunk with every option
/// list and a Kazoo document with a few hundred DIDs fit well below it.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Answers are buffered to be redacted; none is near this size, and one
/// that is gets refused rather than shown unredacted.
const MAX_REDACTED_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// Refuses a body longer than [`MAX_BODY_BYTES`] before any handler reads it
/// (by `Content-Length`; a chunked body is cut at the same size).
/// Every answer to a write carries `Patchbay-Revision`: the store's revision
/// after it, which `GET /api/patchbay/1.0/status?wait_for=` waits for.
pub async fn revision_header(axum::extract::State(state): axum::extract::State<crate::api::AppState>, request: Request, next: Next) -> Response {
    let write = !matches!(*request.method(), axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS);
    let mut response = next.run(request).await;
    if write
        && response.status().is_success()
        && let Ok(revision) = state.store.revision()
    {
        response.headers_mut().insert("patchbay-revision", revision.into());
    }
    response
}

pub async fn bounded_body(request: Request, next: Next) -> Response {
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(_) => too_large(),
    }
}

/// The 400 for an oversized body. The rest of the body stays unread, so the
/// connection cannot carry another request: `Connection: close` tells the
/// client not to reuse it (without it, a pooled client sends its next
/// request on a connection the server is closing).
fn too_large() -> Response {
    let mut response = ApiError::input("body", format!("too large: at most {MAX_BODY_BYTES} bytes")).into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The role behind the request's token (`X-Auth-Token`, or `?token=` where
/// the event stream takes it); `None` without a valid token.
fn role_of(state: &AppState, request: &Request) -> Option<Role> {
    let token = request.headers().get("x-auth-token").and_then(|v| v.to_str().ok()).map(str::to_owned).or_else(|| {
        axum::extract::Query::<HashMap<String, String>>::try_from_uri(request.uri()).ok().and_then(|q| q.0.get("token").cloned())
    })?;
    state.store.read(|conn| people::account_for_token(conn, &token, now_unix())).ok().flatten().map(|account| account.role)
}

/// A tenant admin's JSON answers pass through [`crate::secrets::redact`].
pub async fn redact_for_tenant_admins(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    // The header's token is resolved here once, for this middleware and the
    // handler's `Caller` (one token lookup per request, not two).
    let header_token = request.headers().get("x-auth-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let resolved = header_token.and_then(|token| Caller::resolve(&state, &token, wanted_tenant_of(request.headers())).ok());
    let role = match resolved {
        Some(caller) => {
            let role = Some(caller.account.role);
            request.extensions_mut().insert(HeaderCaller(caller));
            role
        }
        None => role_of(&state, &request),
    };
    let response = next.run(request).await;
    if role != Some(Role::TenantAdmin) {
        return response;
    }
    let is_json = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_REDACTED_ANSWER_BYTES).await else {
        return ApiError::Internal("an answer too large to redact".into()).into_response();
    };
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    crate::secrets::redact(&mut value);
    let redacted = value.to_string();
    parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(redacted.len()));
    Response::from_parts(parts, Body::from(redacted))
}
