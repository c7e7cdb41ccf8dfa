//! Patchbay's own routes: Asterisk status, simulate, lint, config preview.

use super::auth::Caller;
use super::error::ApiResult;
use crate::server::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

pub fn routes() -> Router<AppState> {
    Router::new().route("/status", get(status))
}

/// Whether an Asterisk is connected, and which endpoints it really has.
async fn status(State(state): State<AppState>, _caller: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(state.asterisk.status_json()))
}
