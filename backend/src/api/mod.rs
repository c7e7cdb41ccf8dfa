//! The HTTP API: Wazo confd-compatible resources under `/api/confd/1.1/` and
//! `/1.1/`, tokens under `/api/auth/0.1/`, Patchbay's own routes under
//! `/api/patchbay/1.0/`.

pub mod auth;
pub mod contexts;
pub mod endpoints_sip;
pub mod error;
pub mod listing;
pub mod patchbay;
pub mod resource;
mod sip_input;
pub mod trunks;

use crate::server::AppState;
use axum::Router;
use axum::routing::{get, post, put};

/// The confd routes, mounted twice (with and without the `/api/confd` prefix).
fn confd() -> Router<AppState> {
    Router::new()
        .route("/trunks", get(trunks::list).post(trunks::create))
        .route("/trunks/{id}", get(trunks::get).put(trunks::update).delete(trunks::delete))
        .route("/trunks/{id}/endpoints/sip/{uuid}", put(trunks::associate_sip).delete(trunks::dissociate_sip))
        .route("/endpoints/sip", get(endpoints_sip::list).post(endpoints_sip::create))
        .route("/endpoints/sip/{uuid}", get(endpoints_sip::get).put(endpoints_sip::update).delete(endpoints_sip::delete))
        .route("/contexts", get(contexts::list).post(contexts::create))
        .route("/contexts/{id}", get(contexts::get))
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/auth/0.1/token", post(auth::create_token))
        .nest("/api/confd/1.1", confd())
        .nest("/1.1", confd())
        .nest("/api/patchbay/1.0", patchbay::routes())
        // Unknown API paths answer a JSON 404, not the browser app.
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .with_state(state)
}

async fn api_not_found() -> error::ApiError {
    error::ApiError::NotFound("Resource Not Found - no such API route".into())
}
