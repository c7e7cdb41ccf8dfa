//! Binding, shared state, the router and graceful shutdown.

use crate::api;
use crate::store::Store;
use axum::Router;
use std::net::SocketAddr;
use std::path::PathBuf;
use tower_http::services::{ServeDir, ServeFile};

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub asterisk: crate::sync::AsteriskLink,
    /// The failed-login throttle and the bound on password hashes at once.
    pub login: std::sync::Arc<api::auth::LoginGuard>,
}

pub struct ServeOptions {
    pub listen: SocketAddr,
    /// The built browser app (Trunk's `dist/`); `None` serves the API only.
    pub dist: Option<PathBuf>,
}

pub fn router(state: AppState, dist: Option<PathBuf>) -> Router {
    let app = api::router(state.clone()).merge(crate::metrics::routes(state));
    let app = match dist {
        Some(dist) => {
            // Unknown paths outside /api get the app (client-side routing); the
            // API keeps its own JSON 404 (see api::router).
            let index = dist.join("index.html");
            app.fallback_service(ServeDir::new(dist).fallback(ServeFile::new(index)))
        }
        None => app,
    };
    // Outermost, so every answer is counted under its route template.
    app.layer(axum::middleware::from_fn(crate::metrics::track_http))
}

pub async fn serve(state: AppState, options: ServeOptions) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    tracing::info!(address = %listener.local_addr()?, "Patchbay listening");
    // The peer address feeds the per-address login throttle (the TCP peer:
    // forwarded-for headers are not trusted, anyone can send them).
    let app = router(state, options.dist).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
