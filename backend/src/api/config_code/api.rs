//! `GET /api/patchbay/1.0/export`, `POST .../plan`, `POST .../apply`: the
//! CLI's commands for a CI pipeline. The document comes as the body, YAML
//! unless the Content-Type says JSON or TOML. A tenant admin exports, plans
//! and applies only its own tenant.

use super::doc::{ConfigDoc, Format};
use super::Report;
use crate::api::auth::Caller;
use crate::api::error::{ApiError, ApiResult};
use crate::api::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// `?tenant=SLUG` (one the caller may see; `*` for all of them), else the
/// caller's tenant; `?format=yaml|toml|json`.
pub async fn export(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> ApiResult<Response> {
    let format = match params.get("format") {
        None => Format::Yaml,
        Some(name) => Format::parse_name(name).ok_or_else(|| ApiError::input("format", "Must be one of: yaml, toml, json."))?,
    };
    let tenants = match params.get("tenant").map(String::as_str) {
        None => vec![caller.tenant_uuid.clone()],
        Some("*") => caller.visible.clone(),
        Some(slug) => {
            let found = state.store.read(crate::store::people::tenants)?.into_iter().find(|t| t.slug == slug && caller.visible.contains(&t.uuid));
            vec![found.ok_or_else(|| ApiError::input("tenant", format!("Tenant was not found ('slug': '{slug}')")))?.uuid]
        }
    };
    let doc = state.store.read(|conn| super::export(conn, &tenants))?;
    let text = doc.to_text(format).map_err(ApiError::Internal)?;
    Ok(([(header::CONTENT_TYPE, format.content_type())], text).into_response())
}

fn document(headers: &HeaderMap, body: &Bytes) -> ApiResult<ConfigDoc> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let text = std::str::from_utf8(body).map_err(|_| ApiError::input("body", "must be UTF-8 text"))?;
    ConfigDoc::from_text(text, Format::of_content_type(content_type)).map_err(|error| ApiError::input("body", error))
}

pub async fn plan(State(state): State<AppState>, caller: Caller, headers: HeaderMap, body: Bytes) -> ApiResult<Json<Report>> {
    let doc = document(&headers, &body)?;
    Ok(Json(super::run(&state.store, &caller, &doc, true, &super::process_env)?))
}

pub async fn apply(State(state): State<AppState>, caller: Caller, headers: HeaderMap, body: Bytes) -> ApiResult<Json<Report>> {
    let doc = document(&headers, &body)?;
    let report = super::run(&state.store, &caller, &doc, false, &super::process_env)?;
    if !report.is_empty() {
        state.request_apply();
    }
    Ok(Json(report))
}
