//! The HTTP API: Wazo confd-compatible resources under `/api/confd/1.1/` and
//! `/1.1/`, tokens under `/api/auth/0.1/`, Patchbay's own routes under
//! `/api/patchbay/1.0/`.

pub mod accounts;
pub mod auth;
pub mod change_sets;
pub mod config_code;
pub mod contexts;
pub mod csv_io;
pub mod docs;
pub mod endpoints_sip;
pub mod extensions;
pub mod groups;
pub mod error;
pub mod guard;
pub mod incalls;
pub mod interconnect;
pub mod kazoo;
pub mod lines;
pub mod listing;
pub mod login_throttle;
pub mod nodes;
pub mod openapi;
pub mod outcalls;
pub mod patchbay;
pub mod probes;
pub mod resource;
pub mod sip_sections;
pub mod specs;
pub mod trunk_ops;
pub mod trunks;
pub mod users;
pub mod visible;

use crate::store::Store;
use axum::Router;
use axum::routing::{get, post, put};
use interconnect as ic;

/// What every handler can reach. Cheap to clone. (Here rather than in
/// `server`, so that the API does not depend on the module that serves it.)
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The default node's link (or a link to no Asterisk).
    pub asterisk: crate::sync::AsteriskLink,
    /// Every node's driver (`None`: no fleet, as in the router tests).
    pub fleet: Option<crate::fleet::Fleet>,
    /// The failed-login throttle and the bound on password hashes at once.
    pub login: std::sync::Arc<auth::LoginGuard>,
}

impl AppState {
    /// A change was committed: every node's driver passes soon (the
    /// default node's link alone without a fleet). Several requests in a
    /// row collapse into one apply per node.
    pub fn request_apply(&self) {
        self.asterisk.request_apply();
        if let Some(fleet) = &self.fleet {
            fleet.wake_all();
        }
    }
}

/// The confd routes, mounted twice (with and without the `/api/confd` prefix).
/// Every path here is listed in [`openapi::CONFD_ROUTES`].
fn confd() -> Router<AppState> {
    let router = Router::new()
        .route("/trunks", get(trunks::list).post(trunks::create))
        .route("/trunks/{id}", get(trunks::get).put(trunks::update).delete(trunks::delete))
        .route("/trunks/{id}/endpoints/sip/{uuid}", put(trunks::associate_sip).delete(trunks::dissociate_sip))
        .route("/trunks/{id}/endpoints/iax/{endpoint_id}", put(ic::trunk_iax_put).delete(ic::trunk_iax_delete))
        .route("/trunks/{id}/endpoints/custom/{endpoint_id}", put(ic::trunk_custom_put).delete(ic::trunk_custom_delete))
        .route("/trunks/{id}/registers/sip/{register_id}", put(ic::trunk_register_put).delete(ic::trunk_register_delete))
        .route("/trunks/{id}/registers/iax/{register_id}", put(ic::trunk_register_iax_put).delete(ic::trunk_register_iax_delete))
        .route("/endpoints/sip", get(endpoints_sip::list).post(endpoints_sip::create))
        .route("/endpoints/sip/{uuid}", get(endpoints_sip::get).put(endpoints_sip::update).delete(endpoints_sip::delete))
        .route("/contexts", get(contexts::list).post(contexts::create))
        .route("/contexts/{id}", get(contexts::get).put(contexts::update).delete(contexts::delete))
        .route("/contexts/{id}/contexts", put(contexts::set_includes))
        .route("/outcalls/{id}/trunks", put(outcalls::outcall_trunks))
        .route("/outcalls/{id}/extensions/{extension_id}", put(outcalls::outcall_extension_put).delete(outcalls::outcall_extension_delete))
        .route("/incalls/{id}/extensions/{extension_id}", put(incalls::incall_extension_put).delete(incalls::incall_extension_delete))
        .route("/lines/{id}/endpoints/sip/{uuid}", put(lines::line_endpoint_put).delete(lines::line_endpoint_delete))
        .route("/lines/{id}/extensions/{extension_id}", put(lines::line_extension_put).delete(lines::line_extension_delete))
        .route("/users/{id}/lines/{line_id}", put(lines::user_line_put).delete(lines::user_line_delete))
        .route("/users/{id}/callerids/outgoing", get(users::user_outgoing_callerids))
        .route("/groups", get(groups::list).post(groups::create))
        .route("/groups/{id}", get(groups::get).put(groups::update).delete(groups::delete))
        .route("/groups/{id}/members/users", put(groups::members_users_put))
        .route("/groups/{id}/extensions/{extension_id}", put(groups::group_extension_put).delete(groups::group_extension_delete))
        .route("/asterisk/pjsip/global", get(ic::global_get).put(ic::global_put))
        .route("/asterisk/pjsip/system", get(ic::system_get).put(ic::system_put))
        .route("/asterisk/sip/general", get(ic::sip_general_get).put(ic::sip_general_put));
    [
        &extensions::EXTENSIONS,
        &outcalls::OUTCALLS,
        &incalls::INCALLS,
        &users::USERS,
        &lines::LINES,
        &ic::SIP_TEMPLATES,
        &ic::TRANSPORTS,
        &ic::IAX,
        &ic::CUSTOM,
        &ic::REGISTERS_SIP,
        &ic::REGISTERS_IAX,
    ]
    .into_iter()
    .fold(router, docs::mount)
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/auth/0.1/token", post(auth::create_token))
        .route("/api/auth/0.1/token/{token}", get(auth::get_token).head(auth::check_token).delete(auth::revoke_token))
        .route("/api/auth/0.1/tenants", get(accounts::list_tenants).post(accounts::create_tenant))
        .route("/api/auth/0.1/users", post(accounts::create_account))
        .route("/api/patchbay/1.0/audit", get(accounts::audit))
        .route("/api/patchbay/1.0/openapi.json", get(openapi::document))
        .nest("/api/confd/1.1", confd())
        .nest("/1.1", confd())
        .nest("/api/patchbay/1.0", patchbay::routes())
        // Kazoo 4.3 connectivity (trunkstore), seed 004.
        .merge(kazoo::routes())
        // Unknown API paths answer a JSON 404, not the browser app.
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::redact_for_tenant_admins))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::revision_header))
        .layer(axum::middleware::from_fn(guard::bounded_body))
        .with_state(state)
}

async fn api_not_found() -> error::ApiError {
    error::ApiError::NotFound("Resource Not Found - no such API route".into())
}
